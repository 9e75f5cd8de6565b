"""Entry point of the JSON API example: ``microframe --app examples/api run``.

The app lives in the :mod:`itemsapi` package beside this file; the
``microframe`` command finds the :func:`~itemsapi.create_app` factory here.
Try it with ``curl http://127.0.0.1:5000/api/v1/items``.
"""

from __future__ import annotations

from itemsapi import create_app

__all__ = ["create_app"]

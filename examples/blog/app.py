"""Entry point of the blog example: ``microframe --app examples/blog run``.

The app itself lives in the :mod:`microblog` package beside this file; the
``microframe`` command finds the :func:`~microblog.create_app` factory here and
calls it. Create the database first with
``microframe --app examples/blog init-db`` (or let the first start do it).
"""

from __future__ import annotations

from microblog import create_app

__all__ = ["create_app"]

"""pytest plugin: serve ``import flask`` from microframe for the whole run.

Loaded with ``-p conformance.pytest_shim`` so that it runs before any
conftest or test module imports ``flask``.
"""

from __future__ import annotations

from microframe import flask_compat

flask_compat.install()

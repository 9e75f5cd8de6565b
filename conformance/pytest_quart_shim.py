"""pytest plugin: serve ``import quart`` from microframe for the whole run.

Loaded with ``-p conformance.pytest_quart_shim`` so that it runs before any
conftest or test module imports ``quart``.
"""

from __future__ import annotations

from microframe import quart_compat

quart_compat.install()

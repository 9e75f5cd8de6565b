"""ASGI middleware that ships with microframe.

Middleware wraps the app's ASGI callable, :meth:`Microframe.asgi_app
<microframe.app.Microframe.asgi_app>`, so that the app object itself (its
routes, ``app.config``, the ``microframe`` command) stays the same::

    from microframe.middleware.proxy_fix import ProxyFixMiddleware

    app.asgi_app = ProxyFixMiddleware(app.asgi_app, x_for=1, x_proto=1)
"""

from __future__ import annotations

from .proxy_fix import ProxyFixMiddleware

__all__ = ["ProxyFixMiddleware"]

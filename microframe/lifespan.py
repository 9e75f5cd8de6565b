"""The app's startup and shutdown under a server, by their older names.

The ASGI lifespan protocol is served by :class:`microframe.asgi.ASGILifespan`
(the app's ``asgi_lifespan_class``), which calls the app's
:meth:`~microframe.app.Microframe.startup`,
:meth:`~microframe.app.Microframe.freeze_gc` and
:meth:`~microframe.app.Microframe.shutdown`; these functions do the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .typing import ASGIReceiveCallable, ASGISendCallable

if TYPE_CHECKING:
    from .app import Microframe


async def handle_lifespan(app: Microframe, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """Serve the ASGI lifespan protocol with the app's ``asgi_lifespan_class``."""
    await app.asgi_lifespan_class(app, {"type": "lifespan"})(receive, send)


async def run_startup(app: Microframe) -> None:
    """``await app.startup()``."""
    await app.startup()


async def run_shutdown(app: Microframe) -> None:
    """``await app.shutdown()``."""
    await app.shutdown()


__all__ = ["handle_lifespan", "run_shutdown", "run_startup"]

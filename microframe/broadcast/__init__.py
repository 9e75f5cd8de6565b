"""Broadcast channels: publish a message once, every subscriber gets it, in
every worker process and on every machine.

::

    from microframe import Microframe, request, websocket
    from microframe.broadcast import Broadcast

    app = Microframe(__name__)
    app.config.from_prefixed_env()  # MICROFRAME_BROADCAST_URL=redis://...
    broadcast = Broadcast(app)

    @app.websocket("/ws")
    async def ws():
        async with broadcast.subscribe("room") as subscriber:
            async for message in subscriber:
                await websocket.send(message)

    @app.post("/say")
    async def say():
        await broadcast.publish("room", await request.get_data(as_text=True))
        return "", 204

The backend is chosen by the ``BROADCAST_URL`` config key: ``memory://``
(the default: one process, no dependency, for development and tests), or
``redis://host:port/db`` and ``rediss://...`` (Redis pub/sub through the
``redis`` package: ``pip install 'microframe-asgi[redis]'``). It connects at
startup and closes at shutdown, through the app's lifespan. Each subscriber
has a queue of ``BROADCAST_QUEUE_SIZE`` messages (1000); one that falls
further behind is dropped with :class:`SubscriberOverflowError`. Messages
are text; send JSON with :func:`json.dumps`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..globals import current_app
from ..sync import dual
from .local import Backend, BroadcastError, BroadcastUnavailableError, Subscriber, SubscriberOverflowError
from .memory import MemoryBackend

if TYPE_CHECKING:
    import redis.asyncio

    from ..app import Microframe

#: The key of the broadcast's state in ``app.extensions``.
EXTENSION_KEY = "broadcast"
#: The URL schemes of the Redis backend.
REDIS_SCHEMES = ("redis", "rediss")


class _State:
    """One app's broadcast: its backend while connected (or in use in memory)."""

    def __init__(self, app: Microframe) -> None:
        self.app = app
        self.backend: Backend | None = None

    def url(self) -> str:
        return str(self.app.config["BROADCAST_URL"])

    def make_backend(self) -> Backend:
        url = self.url()
        scheme = urlsplit(url).scheme
        if scheme == "memory":
            return MemoryBackend(url, self.app.logger)
        if scheme in REDIS_SCHEMES:
            try:
                from .redis import RedisBackend
            except ImportError as error:
                raise RuntimeError(
                    f"BROADCAST_URL is a Redis URL, but the redis package is missing ({error});"
                    " install it with: pip install 'microframe-asgi[redis]'"
                ) from error
            return RedisBackend(url, self.app.logger)
        raise ValueError(
            f"BROADCAST_URL {url!r} has an unknown scheme; use memory:// or"
            " redis://host:port/db (rediss:// for TLS)."
        )

    def current(self) -> Backend:
        if self.backend is None:
            if urlsplit(self.url()).scheme != "memory":
                raise RuntimeError(
                    "The broadcast is not connected: it connects when the app starts serving."
                    " In tests, run the app's startup and shutdown around the test with"
                    " 'async with app.test_app():', or call 'await broadcast.connect()'."
                )
            # memory:// needs no connection, so that the test client works
            # without running the app's startup.
            self.backend = self.make_backend()
        return self.backend

    async def connect(self) -> None:
        if self.backend is not None:
            if self.backend.url == self.url():
                return
            # A memory:// backend made on first use, before BROADCAST_URL
            # was changed (in tests): the configured one replaces it.
            await self.disconnect()
        backend = self.make_backend()
        await backend.connect()
        self.backend = backend

    async def disconnect(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            await backend.close()


class Broadcast:
    """Publish messages to channels and subscribe to them, across processes.

    A Flask-style extension: ``Broadcast(app)``, or ``broadcast = Broadcast()``
    and ``broadcast.init_app(app)`` in an app factory (then the app is
    :data:`~microframe.current_app`). It sets the config defaults
    ``BROADCAST_URL = "memory://"`` and ``BROADCAST_QUEUE_SIZE = 1000``, and
    connects and disconnects through the app's ``while_serving``.

    :param app: the app to set up now.
    """

    def __init__(self, app: Microframe | None = None) -> None:
        self._app = app
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Microframe) -> None:
        """Set up ``app``: config defaults, and connecting while it serves."""
        app.config.setdefault("BROADCAST_URL", "memory://")
        app.config.setdefault("BROADCAST_QUEUE_SIZE", 1000)
        state = _State(app)
        app.extensions[EXTENSION_KEY] = state

        async def serving() -> AsyncGenerator[None, None]:
            await state.connect()
            yield
            await state.disconnect()

        app.while_serving(serving)

    def _state(self) -> _State:
        app: Any = self._app if self._app is not None else current_app
        state = app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, _State):
            raise RuntimeError("The broadcast is not set up on this app; call 'broadcast.init_app(app)'.")
        return state

    async def connect(self) -> None:
        """Connect now (the app's startup does this; scripts and tests may).

        :raises BroadcastUnavailableError: Redis cannot be reached.
        :raises ValueError: ``BROADCAST_URL`` has an unknown scheme.
        """
        await self._state().connect()

    async def disconnect(self) -> None:
        """Disconnect (the app's shutdown does this): subscribers' iterations end."""
        await self._state().disconnect()

    def publish(self, channel: str, message: str) -> Any:
        """Send ``message`` to every subscriber to ``channel``, in every process.

        Awaited in async code, direct in a plain ``def`` view. Messages from
        one publisher reach each subscriber in the order they were published.

        :raises BroadcastUnavailableError: Redis cannot be reached (after
            retrying for up to a second, or at once while the broadcast
            knows Redis is down); the message is not published.
        :raises TypeError: ``message`` is not a ``str``.
        """
        if not isinstance(message, str):
            raise TypeError(
                f"A broadcast message is text, not {type(message).__name__};"
                " send JSON with json.dumps(...)."
            )
        return dual(self._state().current().publish(channel, message))

    @asynccontextmanager
    async def subscribe(self, channel: str, max_queue: int | None = None) -> AsyncIterator[Subscriber]:
        """Subscribe to ``channel`` for the ``async with`` block.

        Every message published once the block is entered reaches the
        :class:`Subscriber` it gives; iterate it with ``async for``.

        :param max_queue: how many unread messages may wait before the
            subscriber is dropped; ``BROADCAST_QUEUE_SIZE`` by default.
        """
        state = self._state()
        size = int(max_queue if max_queue is not None else state.app.config["BROADCAST_QUEUE_SIZE"])
        if size < 1:
            raise ValueError("A subscriber's queue must hold at least one message.")
        backend = state.current()
        subscriber = Subscriber(channel, size)
        try:
            await backend.join(subscriber)
            yield subscriber
        finally:
            backend.leave(subscriber)

    def subscribers(self, channel: str) -> int:
        """How many subscribers ``channel`` has in this process."""
        backend = self._state().backend
        return 0 if backend is None else backend.hub.count(channel)

    @property
    def redis(self) -> redis.asyncio.Redis | None:
        """The Redis client the broadcast publishes with, for the app's own
        commands (``await broadcast.redis.incr("hits")``); ``None`` on ``memory://``.

        It shares the broadcast's connection pool and lifetime: usable while
        the app serves.
        """
        backend = self._state().current()
        if urlsplit(backend.url).scheme not in REDIS_SCHEMES:
            return None
        from .redis import RedisBackend

        assert isinstance(backend, RedisBackend)
        return backend.client


__all__ = [
    "Backend",
    "Broadcast",
    "BroadcastError",
    "BroadcastUnavailableError",
    "Subscriber",
    "SubscriberOverflowError",
]

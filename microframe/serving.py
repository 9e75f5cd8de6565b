"""The development server: Microframe apps served by Hypercorn.

:func:`run_simple` is what ``microframe run`` and :meth:`Microframe.run`
call. It binds the socket itself, so that a taken port is reported in one
line before anything else starts, then hands the bound socket to Hypercorn:
in this process when there is one worker and no reloader, or through
Hypercorn's supervisor (``hypercorn.run.run``) otherwise, which spawns fresh
worker processes that import the app again.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import importlib.util
import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hypercorn.config import Config as HypercornConfig

if TYPE_CHECKING:
    from .app import Microframe

#: The environment variable naming the app for spawned worker processes.
SERVED_APP_ENV = "MICROFRAME_SERVED_APP"

#: Hypercorn imports this in each worker process to load the app again; the
#: loader reads :data:`SERVED_APP_ENV`.
WORKER_APP_PATH = "microframe.cli:load_served_app()"


class ServingError(RuntimeError):
    """The server could not start; the message is one line saying why."""


def run_simple(
    app: Microframe,
    host: str = "127.0.0.1",
    port: int = 5000,
    use_reloader: bool = False,
    certfile: str | None = None,
    keyfile: str | None = None,
    workers: int = 1,
    *,
    use_uvloop: bool = False,
    app_import_path: str | None = None,
    graceful_timeout: float | None = None,
    echo: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` with Hypercorn until Ctrl-C or SIGTERM.

    A signal stops the server gracefully: it stops accepting connections,
    lets in-flight requests finish (up to ``graceful_timeout`` seconds) and
    runs the app's ``after_serving`` functions. ::

        from microframe.serving import run_simple

        run_simple(app, "127.0.0.1", 8000, use_reloader=True)

    :param app: the app to serve.
    :param host: the interface to listen on; ``0.0.0.0`` for all of them.
    :param port: the TCP port; ``0`` picks a free one.
    :param use_reloader: restart the worker when a loaded module changes.
    :param certfile: a TLS certificate file, to serve HTTPS.
    :param keyfile: the TLS key file for ``certfile``.
    :param workers: how many worker processes to run.
    :param use_uvloop: run the event loop on uvloop (it must be installed).
    :param app_import_path: where a new worker process finds the app (the
        ``--app`` syntax); found from the loaded modules when not given.
    :param graceful_timeout: how long in-flight requests may run on shutdown.
    :param echo: where the startup lines go; standard error by default.
    :raises ServingError: the port is taken, the host is unknown, or the
        options do not fit together.
    """
    say = echo or _echo_stderr
    if keyfile and not certfile:
        raise ServingError("a key file needs a certificate file; pass certfile too")
    if use_uvloop and importlib.util.find_spec("uvloop") is None:
        raise ServingError("uvloop is not installed; install it with 'pip install uvloop'")
    config = _make_config(certfile, keyfile, workers, use_reloader, use_uvloop, graceful_timeout)
    multiprocess = workers > 1 or use_reloader
    import_path = None
    if multiprocess:
        import_path = app_import_path or find_import_path(app)
        if import_path is None:
            say(
                " * Warning: the app is not importable from a module, so it cannot be"
                " reloaded or run in several workers; serving it in this process."
            )
            multiprocess = use_reloader = False
            config.workers = 1
            config.use_reloader = False
    sock = bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config.bind = [f"fd://{sock.detach()}"]
    scheme = "https" if certfile else "http"
    shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
    say(
        f" * Serving Microframe app '{app.name}' (debug mode: {'on' if app.debug else 'off'},"
        f" reloader: {'on' if use_reloader else 'off'}, workers: {workers})"
    )
    say(f" * Running on {scheme}://{shown_host}:{bound_port} (CTRL + C to quit)")
    if multiprocess:
        assert import_path is not None
        _serve_in_workers(config, import_path)
    else:
        _serve_in_process(app, config, use_uvloop)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on ``host:port``, or say in one line why not.

    The socket is bound here rather than by Hypercorn so that a taken port
    fails fast with a clear message, and so that port ``0`` reports the
    port actually chosen.

    :raises ServingError: the address is in use, forbidden, or unknown.
    """
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror:
        raise ServingError(f"cannot resolve the host {host!r}; use a name or an IP address")
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # SO_REUSEADDR allows a restart while old connections linger in
        # TIME_WAIT, yet still refuses a port another server listens on.
        # SO_REUSEPORT is left off on purpose: it would hide that conflict.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
        sock.listen(socket.SOMAXCONN)
    except OSError as error:
        sock.close()
        raise ServingError(_describe_bind_error(error, host, port))
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


def _describe_bind_error(error: OSError, host: str, port: int) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is in use; stop the other server or"
            " choose another port with --port"
        )
    if error.errno == errno.EACCES:
        return (
            f"permission denied to listen on port {port} on {host}; ports below 1024"
            " need privileges, choose a higher one with --port"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return f"the address {host} is not on this machine; choose another with --host"
    return f"cannot listen on port {port} on {host}: {error.strerror or error}"


def find_import_path(app: Microframe) -> str | None:
    """Return where a new process can import ``app`` from (``module:name``).

    A script run as ``__main__`` is named by its file path, so a worker
    imports it as a plain module and skips its ``if __name__ ==
    "__main__"`` block. Returns ``None`` when no loaded module holds the app.
    """
    candidates = [sys.modules.get("__main__"), sys.modules.get(app.import_name)]
    candidates += list(sys.modules.values())
    for module in candidates:
        if module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is not app:
                continue
            if module.__name__ == "__main__":
                filename = getattr(module, "__file__", None)
                if filename is None:
                    break
                return f"{os.path.abspath(filename)}:{name}"
            return f"{module.__name__}:{name}"
    return None


def _make_config(
    certfile: str | None,
    keyfile: str | None,
    workers: int,
    use_reloader: bool,
    use_uvloop: bool,
    graceful_timeout: float | None,
) -> HypercornConfig:
    config = HypercornConfig()
    config.certfile = certfile
    config.keyfile = keyfile
    config.workers = workers
    config.use_reloader = use_reloader
    config.worker_class = "uvloop" if use_uvloop else "asyncio"
    if graceful_timeout is not None:
        config.graceful_timeout = graceful_timeout
    # Hypercorn's own "Running on" lines are INFO; this module prints one
    # line of its own, which also shows the port chosen for port 0.
    config.loglevel = "WARNING"
    config.accesslog = None
    return config


def _serve_in_process(app: Microframe, config: HypercornConfig, use_uvloop: bool) -> None:
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if use_uvloop:
        uvloop: Any = importlib.import_module("uvloop")
        loop_factory = uvloop.new_event_loop
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_serve(app, config))
    except KeyboardInterrupt:
        # A second Ctrl-C while shutting down gracefully: stop now, quietly.
        pass


async def _serve(app: Microframe, config: HypercornConfig) -> None:
    from hypercorn.asyncio import serve

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = [signal.SIGINT, signal.SIGTERM]

    def on_signal() -> None:
        stop.set()
        # Only the first signal is graceful; restoring the default handler
        # lets a second Ctrl-C interrupt a shutdown that hangs.
        for signum in signals:
            loop.remove_signal_handler(signum)

    for signum in signals:
        loop.add_signal_handler(signum, on_signal)
    try:
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def _serve_in_workers(config: HypercornConfig, import_path: str) -> None:
    from hypercorn.run import run

    # Spawned workers inherit the environment, and the loader named by
    # WORKER_APP_PATH reads the app's location from it.
    os.environ[SERVED_APP_ENV] = import_path
    config.application_path = WORKER_APP_PATH
    exit_code = run(config)
    if exit_code:
        raise SystemExit(exit_code)


def _echo_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


__all__ = ["SERVED_APP_ENV", "ServingError", "bind_socket", "find_import_path", "run_simple"]

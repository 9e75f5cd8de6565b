"""The development server: Microframe apps served by Hypercorn, and the ``run`` command.

:func:`run_simple` is what ``microframe run`` and :meth:`Microframe.run`
call. It binds the socket itself, so that a taken port is reported in one
line before anything else starts, then hands the bound socket to Hypercorn:
in this process when there is one worker and no reloader, or through
Hypercorn's supervisor (``hypercorn.run.run``) otherwise, which spawns fresh
worker processes that import the app again. The reloader
(:mod:`microframe.reloader`) watches the files from the supervising process
and has Hypercorn replace its workers (its ``SIGHUP`` reload) when one
changes.

Hypercorn's own loggers report what happens: :class:`DevServerLogger` prints
a line per request in werkzeug's format, as ``flask run`` does, and the
tracebacks Hypercorn's error log receives.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
import importlib.util
import logging
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any, Literal

import click
from hypercorn.config import Config as HypercornConfig
from werkzeug.utils import import_string

from .app import Microframe
from .debugger import serve_with_debugger
from .discovery import SERVED_APP_ENV, EnvOption, ScriptInfo, pass_script_info
from .helpers import get_debug_flag
from .reloader import RELOAD_INTERVAL, RELOADING_ENV, FileWatch, Reloader, watch_for
from .server_logging import ACCESS_LOG_FORMAT, DevServerLogger
from .typing import ASGIApp

if TYPE_CHECKING:
    import ssl


#: Hypercorn imports this in each worker process to load the app again; the
#: loader reads :data:`SERVED_APP_ENV`.
WORKER_APP_PATH = "microframe.reloader:load_worker_app()"



class ServingError(RuntimeError):
    """The server could not start; the message is one line saying why."""


def run_app(
    app: Microframe,
    host: str | None,
    port: int | None,
    debug: bool | None,
    use_reloader: bool | None,
    certfile: str | None,
    keyfile: str | None,
    **options: Any,
) -> None:
    """What :meth:`Microframe.run <microframe.app.Microframe.run>` does: serve
    ``app`` with :func:`run_simple`, the debugger and reloader on in debug
    mode, unless the ``microframe`` command serves it already."""
    if os.environ.get("MICROFRAME_RUN_FROM_CLI") == "true":
        print(
            " * Ignoring app.run(): the 'microframe' command is serving the app."
            " Call app.run() only under 'if __name__ == \"__main__\":'.",
            file=sys.stderr,
        )
        return
    if debug is not None:
        app.debug = debug
    # As in Flask: the interactive debugger in debug mode.
    options.setdefault("use_debugger", app.debug)
    run_simple(
        app,
        host=host or "127.0.0.1",
        port=port or 5000,
        use_reloader=app.debug if use_reloader is None else use_reloader,
        certfile=certfile,
        keyfile=keyfile,
        **options,
    )


async def serve_task(
    app: Microframe,
    host: str,
    port: int,
    debug: bool | None,
    ca_certs: str | None,
    certfile: str | None,
    keyfile: str | None,
    shutdown_trigger: Callable[..., Awaitable[object]] | None,
) -> None:
    """What :meth:`Microframe.run_task <microframe.app.Microframe.run_task>`
    does: serve ``app`` with Hypercorn on the running loop, logging each
    request, until ``shutdown_trigger`` returns (or the task is cancelled)."""
    from hypercorn.asyncio import serve

    if debug is not None:
        app.debug = debug
    config = _make_config(1, False, None, access_log=True)
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.ca_certs, config.certfile, config.keyfile = ca_certs, certfile, keyfile
    await serve(app, config, shutdown_trigger=shutdown_trigger)  # type: ignore[arg-type]


def run_simple(
    app: Microframe,
    host: str = "127.0.0.1",
    port: int = 5000,
    use_reloader: bool = False,
    certfile: str | None = None,
    keyfile: str | None = None,
    workers: int = 1,
    *,
    ssl_context: ssl.SSLContext | tuple[str, str | None] | Literal["adhoc"] | None = None,
    extra_files: Iterable[str] | None = None,
    exclude_patterns: Iterable[str] | None = None,
    use_uvloop: bool = False,
    app_import_path: str | None = None,
    graceful_timeout: float | None = None,
    echo: Callable[[str], None] | None = None,
    access_log: bool = True,
    use_debugger: bool = False,
    threaded: bool = True,
) -> None:
    """Serve ``app`` with Hypercorn until Ctrl-C or SIGTERM.

    A signal stops the server gracefully: it stops accepting connections,
    lets in-flight requests finish (up to ``graceful_timeout`` seconds) and
    runs the app's ``after_serving`` functions. Each request is logged on
    standard error in werkzeug's format, as ``flask run`` logs it. ::

        from microframe.serving import run_simple

        run_simple(app, "127.0.0.1", 8000, use_reloader=True)
        run_simple(app, ssl_context=("cert.pem", "key.pem"))

    :param app: the app to serve.
    :param host: the interface to listen on; ``0.0.0.0`` for all of them.
    :param port: the TCP port; ``0`` picks a free one.
    :param use_reloader: replace the workers when a watched file changes
        (see :func:`microframe.reloader.watch_for`).
    :param certfile: a TLS certificate file, to serve HTTPS (and HTTP/2).
    :param keyfile: the TLS key file for ``certfile`` (if not in it).
    :param workers: how many worker processes to run.
    :param ssl_context: serve HTTPS, as Flask's ``app.run(ssl_context=...)``
        takes it: a ``(certfile, keyfile)`` pair, ``"adhoc"`` for a
        throwaway self-signed certificate (needs the cryptography package),
        or an :class:`ssl.SSLContext` (served in this process only).
    :param extra_files: more files (or folders) whose change reloads the workers.
    :param exclude_patterns: :mod:`fnmatch` patterns of files whose change
        does not reload them.
    :param use_uvloop: run the event loop on uvloop (it must be installed).
    :param app_import_path: where a new worker process finds the app (the
        ``--app`` syntax); found from the loaded modules when not given.
    :param graceful_timeout: how long in-flight requests may run on shutdown.
    :param echo: where the startup lines go; standard error by default.
    :param access_log: print a line per request.
    :param use_debugger: serve werkzeug's interactive debugger when the
        app is in debug mode (see :mod:`microframe.debugger`).
    :param threaded: accepted, as Flask's ``app.run`` passes it; sync views
        always run on worker threads.
    :raises ServingError: the port is taken, the host is unknown, or the
        options do not fit together.
    """
    say = echo or _echo_stderr
    if use_uvloop and importlib.util.find_spec("uvloop") is None:
        raise ServingError("uvloop is not installed; install it with 'pip install uvloop'")
    with ExitStack() as stack:
        config = _make_config(workers, use_uvloop, graceful_timeout, access_log)
        _configure_tls(config, certfile, keyfile, ssl_context, host, stack)
        import_path = None
        if workers > 1 or use_reloader:
            import_path = _worker_import_path(app, app_import_path, config, say)
        if import_path is None:
            use_reloader = False
            config.workers = 1
        sock = bind_socket(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        config.bind = [f"fd://{sock.detach()}"]
        watch = watch_for(app, extra_files or (), exclude_patterns or ()) if use_reloader else None
        for line in startup_lines(app, config, bound_host, bound_port, watch):
            say(line)
        served = serve_with_debugger(app, use_debugger, say)
        if import_path is None:
            _serve_in_process(served, config, use_uvloop)
        else:
            # The workers load the app again: in this process's debug mode,
            # which app.run(debug=True) sets on the app only.
            os.environ["MICROFRAME_DEBUG"] = "1" if app.debug else "0"
            _serve_in_workers(config, import_path, watch, say)


def startup_lines(
    app: Microframe, config: HypercornConfig, host: str, port: int, watch: FileWatch | None
) -> list[str]:
    """What the server says when it starts: the app, debug mode, where it listens.

    The first lines are those ``flask run`` prints; the reloader and the
    workers are named when they are used.
    """
    scheme = "https" if config.ssl_enabled else "http"
    lines = [f" * Serving Microframe app '{app.name}'", f" * Debug mode: {'on' if app.debug else 'off'}"]
    if host in ("0.0.0.0", "::"):
        lines.append(f" * Running on all addresses ({host})")
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    shown_host = f"[{host}]" if ":" in host else host
    lines.append(f" * Running on {scheme}://{shown_host}:{port} (CTRL + C to quit)")
    if watch is not None:
        lines.append(f" * Reloader: on, watching {len(watch)} files")
    if config.workers > 1:
        lines.append(f" * Workers: {config.workers}")
    return lines


def _worker_import_path(
    app: Microframe, given: str | None, config: _HypercornConfig, say: Callable[[str], None]
) -> str | None:
    """Where worker processes import the app from, or ``None`` to serve in this process."""
    if config.ssl_context is not None:
        say(
            " * Warning: an ssl.SSLContext cannot be handed to worker processes, so the"
            " app is not reloaded nor run in several workers; serving it in this process."
            " Use certificate and key files for those."
        )
        return None
    import_path = given or find_import_path(app)
    if import_path is None:
        say(
            " * Warning: the app is not importable from a module, so it cannot be"
            " reloaded or run in several workers; serving it in this process."
        )
    return import_path


class _HypercornConfig(HypercornConfig):
    """Hypercorn's configuration, able to serve TLS with a ready :class:`ssl.SSLContext`."""

    ssl_context: ssl.SSLContext | None = None

    @property
    def ssl_enabled(self) -> bool:
        """Whether TLS is served: a context, or certificate and key files."""
        return self.ssl_context is not None or super().ssl_enabled

    def create_ssl_context(self) -> ssl.SSLContext | None:
        """The context given, or one Hypercorn makes from the files."""
        return self.ssl_context if self.ssl_context is not None else super().create_ssl_context()


def _configure_tls(
    config: _HypercornConfig,
    certfile: str | None,
    keyfile: str | None,
    ssl_context: Any,
    host: str,
    stack: ExitStack,
) -> None:
    if ssl_context is not None and (certfile or keyfile):
        raise ServingError("pass either ssl_context or certfile and keyfile, not both")
    if isinstance(ssl_context, tuple):
        certfile, keyfile = ssl_context
    elif ssl_context == "adhoc":
        certfile, keyfile = _adhoc_certificate(stack.enter_context(tempfile.TemporaryDirectory()), host)
    elif ssl_context is not None:
        if not _is_ssl_context(ssl_context):
            raise ServingError(
                f"ssl_context must be a (certfile, keyfile) pair, 'adhoc' or an"
                f" ssl.SSLContext, not {ssl_context!r}"
            )
        config.ssl_context = ssl_context
        return
    if keyfile and not certfile:
        raise ServingError("a key file needs a certificate file; pass certfile too")
    # A certificate without a key file is a PEM file holding both, as for
    # ssl.SSLContext.load_cert_chain.
    config.certfile = certfile
    config.keyfile = keyfile or certfile


def _adhoc_certificate(folder: str, host: str) -> tuple[str, str]:
    from werkzeug.serving import make_ssl_devcert

    try:
        return make_ssl_devcert(os.path.join(folder, "adhoc"), host=host or "localhost")
    except TypeError:
        # Werkzeug's way of saying that cryptography is missing.
        raise ServingError(
            "an 'adhoc' certificate needs the cryptography package: 'pip install cryptography'"
        ) from None


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
    workers: int, use_uvloop: bool, graceful_timeout: float | None, access_log: bool
) -> _HypercornConfig:
    config = _HypercornConfig()
    config.workers = workers
    config.worker_class = "uvloop" if use_uvloop else "asyncio"
    if graceful_timeout is not None:
        config.graceful_timeout = graceful_timeout
    # Hypercorn's loggers by name: a logger is pickled by its name, so each
    # spawned worker gets its own, which DevServerLogger gives a handler.
    config.logger_class = DevServerLogger
    config.accesslog = logging.getLogger("hypercorn.access") if access_log else None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.access_log_format = ACCESS_LOG_FORMAT
    return config


def _serve_in_process(app: ASGIApp, config: HypercornConfig, use_uvloop: bool) -> None:
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


async def _serve(app: ASGIApp, config: HypercornConfig) -> None:
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


def _serve_in_workers(
    config: HypercornConfig, import_path: str, watch: FileWatch | None, say: Callable[[str], None]
) -> None:
    from hypercorn.run import run

    # Spawned workers inherit the environment, and the loader named by
    # WORKER_APP_PATH reads the app's location from it.
    os.environ[SERVED_APP_ENV] = import_path
    config.application_path = WORKER_APP_PATH
    if watch is not None and not hasattr(signal, "SIGHUP"):
        # No SIGHUP (Windows): Hypercorn's own reloader, which watches the
        # loaded modules only.
        config.use_reloader = True
        watch = None
    exit_code = run(config) if watch is None else _run_reloading(config, watch, say)
    if exit_code:
        raise SystemExit(exit_code)


def _run_reloading(config: HypercornConfig, watch: FileWatch, say: Callable[[str], None]) -> int:
    from hypercorn.run import run

    def reload(path: str) -> None:
        say(f" * Detected change in {path!r}, reloading")
        # Hypercorn's supervisor replaces its workers on SIGHUP.
        os.kill(os.getpid(), signal.SIGHUP)

    reloader = Reloader(watch, reload)
    # Until Hypercorn installs its SIGHUP handler, a change must not kill
    # the process (SIGHUP's default action).
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: None)
    # A worker that fails to import the app now serves the error instead of
    # ending the server (microframe.reloader.load_worker_app).
    os.environ[RELOADING_ENV] = "1"
    reloader.start()
    try:
        return run(config)
    finally:
        reloader.stop()
        os.environ.pop(RELOADING_ENV, None)
        signal.signal(signal.SIGHUP, previous)


# -- the run command ------------------------------------------------------------------


def _is_ssl_context(value: object) -> bool:
    try:
        import ssl
    except ImportError:
        return False
    return isinstance(value, ssl.SSLContext)


# click >= 8.3 makes ParamType generic; subscripting it would fail on 8.1 and 8.2.
class CertParamType(click.ParamType):  # type: ignore[type-arg]
    """The type of ``run --cert``: a certificate file, ``adhoc``, or an :class:`ssl.SSLContext`.

    ``adhoc`` serves a throwaway self-signed certificate (it needs the
    cryptography package). A value that is neither a file nor ``adhoc`` is
    imported (``module:name`` or ``module.name``) and must be an
    :class:`ssl.SSLContext`.
    """

    name = "path"

    def __init__(self) -> None:
        self.path_type = click.Path(exists=True, dir_okay=False, resolve_path=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the file's absolute path, ``"adhoc"``, or the imported context."""
        try:
            import ssl
        except ImportError:
            self.fail("serving HTTPS needs Python built with SSL support.", param, ctx)
        if isinstance(value, ssl.SSLContext):
            return value
        try:
            return self.path_type.convert(value, param, ctx)
        except click.BadParameter:
            pass
        text = str(value)
        if text.lower() == "adhoc":
            try:
                importlib.import_module("cryptography")
            except ImportError:
                self.fail(
                    "an 'adhoc' certificate needs the cryptography package:"
                    " 'pip install cryptography'.",
                    param,
                    ctx,
                )
            return "adhoc"
        try:
            found = import_string(text, silent=True)
        except (ImportError, ValueError):
            found = None
        if isinstance(found, ssl.SSLContext):
            return found
        self.fail(
            f"{text!r} is not a certificate file, 'adhoc', or the import path of an ssl.SSLContext.",
            param,
            ctx,
        )


def _validate_key(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    # --cert is eager, so it is known here; a file pairs with the key.
    cert = ctx.params.get("cert")
    if value is not None:
        if cert == "adhoc":
            raise click.BadParameter('not used when "--cert" is "adhoc".', ctx, param)
        if _is_ssl_context(cert):
            raise click.BadParameter('not used when "--cert" is an SSLContext.', ctx, param)
        if not cert:
            raise click.BadParameter('"--cert" must be given too.', ctx, param)
        ctx.params["cert"] = (cert, value)
    elif cert and cert != "adhoc" and not _is_ssl_context(cert):
        raise click.BadParameter('required when "--cert" is a certificate file.', ctx, param)
    return value


class SeparatedPathType(click.Path):
    """A list of paths in one value, separated by :data:`os.pathsep` (``:``; ``;`` on Windows).

    Each one is checked as :class:`click.Path` checks a single path.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Return the list of converted paths."""
        convert_one = super().convert
        return [convert_one(item, param, ctx) for item in self.split_envvar_value(value)]


@click.command("run", short_help="Serve the app with Hypercorn (for development).")
@click.option("--debug/--no-debug", default=None, cls=EnvOption, help="Set debug mode.")
@click.option(
    "--host", "-h", default="127.0.0.1", show_default=True, cls=EnvOption, help="The interface to bind."
)
@click.option(
    "--port", "-p", default=5000, show_default=True, type=int, cls=EnvOption, help="The port to bind."
)
@click.option(
    "--cert",
    "--certfile",
    "cert",
    type=CertParamType(),
    is_eager=True,
    cls=EnvOption,
    help="A certificate file, to serve HTTPS (with --key); 'adhoc' for a throwaway one,"
    " or the import path of an ssl.SSLContext.",
)
@click.option(
    "--key",
    "--keyfile",
    "key",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    callback=_validate_key,
    expose_value=False,
    cls=EnvOption,
    help="The key file of the --cert certificate.",
)
@click.option(
    "--reload/--no-reload",
    default=None,
    cls=EnvOption,
    help="Restart when the code changes; on by default in debug mode.",
)
@click.option(
    "--debugger/--no-debugger",
    default=None,
    cls=EnvOption,
    help="Serve werkzeug's interactive debugger for errors; on in debug mode.",
)
@click.option(
    "--with-threads/--without-threads",
    default=True,
    cls=EnvOption,
    help="Accepted as Flask's command takes it; sync views always run on worker threads.",
)
@click.option(
    "--extra-files",
    type=SeparatedPathType(),
    cls=EnvOption,
    help=f"More files whose change reloads the server, separated by {os.pathsep!r}.",
)
@click.option(
    "--exclude-patterns",
    type=SeparatedPathType(),
    cls=EnvOption,
    help=f"fnmatch patterns of files whose change does not reload, separated by {os.pathsep!r}.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    cls=EnvOption,
    help="Print a line per request.",
)
@click.option(
    "--workers", "-w", default=1, show_default=True, type=click.IntRange(min=1), cls=EnvOption
)
@click.option("--uvloop/--no-uvloop", default=False, cls=EnvOption, help="Run the event loop on uvloop.")
@pass_script_info
def run_command(
    info: ScriptInfo,
    debug: bool | None,
    host: str,
    port: int,
    cert: Any,
    reload: bool | None,
    debugger: bool | None,
    with_threads: bool,
    extra_files: list[str] | None,
    exclude_patterns: list[str] | None,
    access_log: bool,
    workers: int,
    uvloop: bool,
) -> None:
    """Serve the app with Hypercorn, the development way.

    Ctrl-C or SIGTERM stops it gracefully. For production, run Hypercorn
    (or another ASGI server) on the app directly.
    """
    if debug is not None:
        os.environ["MICROFRAME_DEBUG"] = "1" if debug else "0"
    app = info.load_app()
    try:
        run_simple(
            app,
            host,
            port,
            use_reloader=get_debug_flag() if reload is None else reload,
            ssl_context=cert,
            extra_files=extra_files,
            exclude_patterns=exclude_patterns,
            workers=workers,
            use_uvloop=uvloop,
            app_import_path=info.app_locator,
            use_debugger=get_debug_flag() if debugger is None else debugger,
            access_log=access_log,
        )
    except ServingError as error:
        raise click.ClickException(str(error)) from None


def _echo_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


__all__ = [
    "RELOAD_INTERVAL",
    "SERVED_APP_ENV",
    "CertParamType",
    "SeparatedPathType",
    "ServingError",
    "bind_socket",
    "find_import_path",
    "run_app",
    "run_command",
    "run_simple",
    "serve_task",
    "startup_lines",
]

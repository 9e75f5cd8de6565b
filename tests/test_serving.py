"""The development server glue: binding, finding the app for workers, options."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from microframe import Microframe, serving
from microframe.debugger import DEBUGGER_ENV, DebuggerMiddleware
from microframe.server_logging import DevServerLogger
from microframe.serving import (
    SERVED_APP_ENV,
    ServingError,
    bind_socket,
    find_import_path,
    run_simple,
)


def test_bind_socket_reports_a_taken_port() -> None:
    taken = bind_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ServingError) as info:
            bind_socket("127.0.0.1", port)
    finally:
        taken.close()
    assert str(info.value) == (
        f"port {port} on 127.0.0.1 is in use; stop the other server or choose another port with --port"
    )


def test_bind_socket_listens_on_a_chosen_port() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        assert sock.getblocking() is False
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_bind_socket_unknown_host() -> None:
    with pytest.raises(ServingError, match=r"cannot resolve the host 'no-such-host\.invalid'"):
        bind_socket("no-such-host.invalid", 0)


module_app = Microframe("serving_test_app")


def test_find_import_path() -> None:
    assert find_import_path(module_app) == f"{__name__}:module_app"
    assert find_import_path(Microframe("nowhere")) is None


def test_find_import_path_for_a_script(monkeypatch: pytest.MonkeyPatch) -> None:
    script = type(sys)("__main__")
    script.__file__ = "/srv/site/serve.py"
    app = Microframe("scripted")
    script.web = app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert find_import_path(app) == "/srv/site/serve.py:web"


def test_key_without_certificate() -> None:
    with pytest.raises(ServingError, match="needs a certificate"):
        run_simple(module_app, "127.0.0.1", 0, keyfile="key.pem")


@pytest.mark.skipif(importlib.util.find_spec("uvloop") is not None, reason="uvloop is installed")
def test_uvloop_missing() -> None:
    with pytest.raises(ServingError, match="uvloop is not installed"):
        run_simple(module_app, "127.0.0.1", 0, use_uvloop=True)


# -- TLS, workers and the reloader, without serving ---------------------------------------


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Record how run_simple would serve, instead of serving; close the bound sockets."""
    calls: list[dict[str, Any]] = []
    # What run_simple tells worker processes through the environment.
    for name in (SERVED_APP_ENV, DEBUGGER_ENV, "MICROFRAME_DEBUG"):
        monkeypatch.delenv(name, raising=False)

    def in_process(app: Any, config: Any, use_uvloop: bool) -> None:
        calls.append({"config": config, "workers": None, "app": app})

    def in_workers(config: Any, import_path: str, watch: Any, say: Any) -> None:
        calls.append({"config": config, "workers": import_path, "watch": watch})

    monkeypatch.setattr(serving, "_serve_in_process", in_process)
    monkeypatch.setattr(serving, "_serve_in_workers", in_workers)
    yield calls
    for call in calls:
        for bind in call["config"].bind:
            os.close(int(bind.removeprefix("fd://")))


def serve(*args: Any, **kwargs: Any) -> list[str]:
    """Call run_simple on port 0; return what it said."""
    said: list[str] = []
    run_simple(module_app, "127.0.0.1", 0, *args, echo=said.append, **kwargs)
    return said


def test_certificate_pair_and_combined_pem(started: list[dict[str, Any]]) -> None:
    said = serve(ssl_context=("cert.pem", "key.pem"))
    config = started[-1]["config"]
    assert (config.certfile, config.keyfile, config.ssl_enabled) == ("cert.pem", "key.pem", True)
    assert said[-1].startswith(" * Running on https://127.0.0.1:")
    # A certificate alone is a PEM file holding the key too.
    serve(certfile="both.pem")
    assert (started[-1]["config"].certfile, started[-1]["config"].keyfile) == ("both.pem", "both.pem")
    serve(ssl_context=("both.pem", None))
    assert started[-1]["config"].keyfile == "both.pem"
    said = serve()
    assert said[-1].startswith(" * Running on http://127.0.0.1:")
    assert started[-1]["config"].ssl_enabled is False


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ssl_context": ("c.pem", "k.pem"), "certfile": "c.pem"}, "either ssl_context or certfile"),
        ({"ssl_context": "self-signed"}, "ssl_context must be a (certfile, keyfile) pair"),
        ({"keyfile": "k.pem"}, "needs a certificate"),
    ],
)
def test_tls_options_that_do_not_fit(
    started: list[dict[str, Any]], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ServingError) as info:
        serve(**kwargs)
    assert message in str(info.value)
    assert started == []


def test_adhoc_certificate_without_cryptography(
    started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ServingError, match="needs the cryptography package"):
        serve(ssl_context="adhoc")


def test_adhoc_certificate_lives_while_serving(
    started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import werkzeug.serving

    def fake_devcert(base_path: str, host: str | None = None, cn: str | None = None) -> tuple[str, str]:
        Path(base_path + ".crt").write_text("cert")
        Path(base_path + ".key").write_text("key")
        return base_path + ".crt", base_path + ".key"

    seen: list[bool] = []
    monkeypatch.setattr(werkzeug.serving, "make_ssl_devcert", fake_devcert)
    monkeypatch.setattr(
        serving, "_serve_in_process", lambda app, config, uvloop: seen.append(os.path.exists(config.certfile))
    )
    serve(ssl_context="adhoc")
    assert seen == [True]


def test_ssl_context_is_served_in_this_process(
    started: list[dict[str, Any]]
) -> None:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    said = serve(use_reloader=True, workers=2, ssl_context=context)
    config = started[-1]["config"]
    assert started[-1]["workers"] is None
    assert config.create_ssl_context() is context and config.ssl_enabled
    assert "an ssl.SSLContext cannot be handed to worker processes" in said[0]
    assert not any("Reloader" in line or "Workers" in line for line in said)


def test_reloader_watches_extra_files_minus_excluded(
    started: list[dict[str, Any]], tmp_path: Path
) -> None:
    serve(use_reloader=True, extra_files=["settings.toml"], exclude_patterns=["*/site-packages/*"])
    call = started[-1]
    assert call["workers"] == f"{__name__}:module_app"
    files = call["watch"].files()
    assert os.path.abspath("settings.toml") in files
    assert os.path.abspath(__file__) in files
    assert not any("/site-packages/" in path for path in files)
    serve(workers=2)
    assert started[-1]["watch"] is None


def test_debug_mode_serves_the_debugger_and_prints_its_pin(
    started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(module_app.config, "DEBUG", True)
    monkeypatch.setenv("WERKZEUG_DEBUG_PIN", "246813579")
    said = serve(use_debugger=True)
    served = started[-1]["app"]
    assert isinstance(served, DebuggerMiddleware) and served.app is module_app
    assert said[-2:] == [" * Debugger is active!", " * Debugger PIN: 246-813-579"]
    # Without the debugger, or outside debug mode, the app is served as it is.
    said = serve(use_debugger=False)
    assert started[-1]["app"] is module_app
    assert not any("Debugger" in line for line in said)
    monkeypatch.setitem(module_app.config, "DEBUG", False)
    said = serve(use_debugger=True)
    assert started[-1]["app"] is module_app
    assert said[-1] == " * Debugger not started: it is on in debug mode only (--debug)."


def test_workers_load_the_app_in_debug_mode_with_the_debugger(
    started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # app.run(debug=True) sets debug mode on the app only; the workers (the
    # reloader's) import it again.
    monkeypatch.setitem(module_app.config, "DEBUG", True)
    serve(use_reloader=True, use_debugger=True)
    assert started[-1]["workers"] == f"{__name__}:module_app"
    assert (os.environ["MICROFRAME_DEBUG"], os.environ[DEBUGGER_ENV]) == ("1", "1")
    monkeypatch.setitem(module_app.config, "DEBUG", False)
    serve(use_reloader=True, use_debugger=True)
    assert os.environ["MICROFRAME_DEBUG"] == "0" and DEBUGGER_ENV not in os.environ


def test_app_run_serves_the_debugger_in_debug_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serving, "run_simple", lambda app, **kwargs: calls.append(kwargs))
    monkeypatch.delenv("MICROFRAME_RUN_FROM_CLI", raising=False)
    app = Microframe("run_test_app")
    app.run(debug=True)
    app.run(debug=True, use_debugger=False)
    app.run(debug=False)
    assert [call["use_debugger"] for call in calls] == [True, False, False]


def test_startup_lines(started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    said = serve()
    assert said[:2] == [" * Serving Microframe app 'serving_test_app'", " * Debug mode: off"]
    assert re.fullmatch(r" \* Running on http://127\.0\.0\.1:\d+ \(CTRL \+ C to quit\)", said[2])
    assert len(said) == 3
    monkeypatch.setattr(module_app, "debug", True)
    said = serve(use_reloader=True, workers=3)
    assert said[1] == " * Debug mode: on"
    assert re.fullmatch(r" \* Reloader: on, watching \d+ files", said[3])
    assert said[4] == " * Workers: 3"


def test_startup_lines_for_all_addresses(started: list[dict[str, Any]]) -> None:
    said: list[str] = []
    run_simple(module_app, "0.0.0.0", 0, echo=said.append)
    assert said[2] == " * Running on all addresses (0.0.0.0)"
    assert said[3].startswith(" * Running on http://127.0.0.1:")


def test_hypercorn_logs_through_the_dev_server_logger(started: list[dict[str, Any]]) -> None:
    serve()
    config = started[-1]["config"]
    assert config.logger_class is DevServerLogger
    assert config.accesslog is logging.getLogger("hypercorn.access")
    assert config.errorlog is logging.getLogger("hypercorn.error")
    serve(access_log=False)
    assert started[-1]["config"].accesslog is None


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        ([], {}, True),
        (["--no-access-log"], {}, False),
        ([], {"MICROFRAME_RUN_ACCESS_LOG": "0"}, False),
        ([], {"FLASK_RUN_ACCESS_LOG": "false"}, False),
        (["--access-log"], {"MICROFRAME_RUN_ACCESS_LOG": "0"}, True),
    ],
)
def test_run_access_log_option(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    env: dict[str, str],
    expected: bool,
) -> None:
    from click.testing import CliRunner

    from microframe.cli import cli

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(serving, "run_simple", lambda app, host, port, **kwargs: calls.append(kwargs))
    (tmp_path / "app.py").write_text("from microframe import Microframe\napp = Microframe(__name__)\n")
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(cli, ["run", *args])
    assert result.exit_code == 0, result.output
    assert calls[-1]["access_log"] is expected


# -- app.run_task: serving on the running loop (Quart's) -------------------------------------


async def test_run_task_serves_on_the_running_loop_until_triggered() -> None:
    import asyncio

    import httpx
    from live_server import free_port

    app = Microframe(__name__)
    events: list[str] = []

    @app.before_serving
    async def started() -> None:
        events.append("started")

    @app.after_serving
    async def stopped() -> None:
        events.append("stopped")

    @app.get("/")
    async def index() -> dict[str, str]:
        return {"served": "yes"}

    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(app.run_task(port=port, shutdown_trigger=stop.wait))
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):  # at most 5 s for the server to listen
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/", timeout=2)
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.05)
            else:
                pytest.fail("run_task never served")
        assert response.status_code == 200
        assert response.json() == {"served": "yes"}
        assert events == ["started"]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert events == ["started", "stopped"]

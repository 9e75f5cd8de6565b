"""The development server glue: binding, finding the app for workers, options."""

from __future__ import annotations

import importlib.util
import socket
import sys

import pytest

from microframe import Microframe
from microframe.serving import ServingError, bind_socket, find_import_path, run_simple


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

"""A ported Flask app found by ``microframe run`` through Flask's names only.

The app's module is not one of the default names (``app.py``, ...); it is
named by ``FLASK_APP``, in the environment or in a ``.flaskenv`` file, as
under ``flask run``, and ``FLASK_RUN_PORT`` chooses the port. Each server
runs in a process group of its own, killed whole at the end.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

STARTUP_SECONDS = 20.0

PORTED_APP = """
from microframe import Microframe as Flask

app = Flask(__name__)

@app.get("/")
def index():
    return "notes, found through Flask's names"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def run_in(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Path]]:
    """Start ``microframe run`` (no --app, no --port) in ``tmp_path`` with ``env``."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str]) -> Path:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROFRAME_", "FLASK_"))}
        full_env.update(env)
        log = tmp_path / "server.log"
        with log.open("wb") as output:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "microframe", "run"],
                    cwd=tmp_path,
                    env=full_env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return log

    try:
        yield start
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def answer(port: int, log: Path) -> str:
    """GET / on ``port`` once the server listens; fail with its log if it never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                assert response.status == 200
                return response.read().decode()
            finally:
                connection.close()
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing answered on port {port}:\n{log.read_text()}")


def test_flaskenv_names_the_app_and_port(tmp_path: Path, run_in: Callable[[dict[str, str]], Path]) -> None:
    pytest.importorskip("dotenv")
    (tmp_path / "notes.py").write_text(PORTED_APP)
    port = free_port()
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP=notes\nFLASK_RUN_PORT={port}\n")
    log = run_in({})  # nothing in the environment: the file says it all
    assert answer(port, log) == "notes, found through Flask's names"


def test_flask_app_variable_names_the_app(tmp_path: Path, run_in: Callable[[dict[str, str]], Path]) -> None:
    (tmp_path / "notes.py").write_text(PORTED_APP)
    port = free_port()
    log = run_in({"FLASK_APP": "notes.py", "FLASK_RUN_PORT": str(port)})
    assert answer(port, log) == "notes, found through Flask's names"

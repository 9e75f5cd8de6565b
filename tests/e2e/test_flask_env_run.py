"""A ported Flask app found by ``microframe run`` through Flask's names only.

The app's module is not one of the default names (``app.py``, ...); it is
named by ``FLASK_APP``, in the environment or in a ``.flaskenv`` file, as
under ``flask run``, and ``FLASK_RUN_PORT`` chooses the port. Each server
runs in a process group of its own, killed whole at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import LiveServer, free_port

PORTED_APP = """
from microframe import Microframe as Flask

app = Flask(__name__)

@app.get("/")
def index():
    return "notes, found through Flask's names"
"""


def serve(folder: Path, port: int, env: dict[str, str]) -> str:
    """Run ``microframe run`` (no --app, no --port) in ``folder`` and GET / from it."""
    server = LiveServer(
        "",
        [],
        env=env,
        command=["-m", "microframe", "run"],
        log=folder / "server.log",
        cwd=folder,
        port=port,
        drop_env=("MICROFRAME_", "FLASK_"),
    )
    try:
        server.wait_until_ready()
        response, body = server.request("GET", "/")
        assert response.status == 200, server.output()
        return body.decode()
    finally:
        server.stop()


def test_flaskenv_names_the_app_and_port(tmp_path: Path) -> None:
    pytest.importorskip("dotenv")
    (tmp_path / "notes.py").write_text(PORTED_APP)
    port = free_port()
    (tmp_path / ".flaskenv").write_text(f"FLASK_APP=notes\nFLASK_RUN_PORT={port}\n")
    # Nothing in the environment: the file says it all.
    assert serve(tmp_path, port, {}) == "notes, found through Flask's names"


def test_flask_app_variable_names_the_app(tmp_path: Path) -> None:
    (tmp_path / "notes.py").write_text(PORTED_APP)
    port = free_port()
    served = serve(tmp_path, port, {"FLASK_APP": "notes.py", "FLASK_RUN_PORT": str(port)})
    assert served == "notes, found through Flask's names"

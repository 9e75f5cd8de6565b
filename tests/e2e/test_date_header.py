"""One ``Date`` header per response under real ASGI servers.

Hypercorn and Uvicorn add a ``Date`` to every response without looking for
one from the app, so the app must not send its own: static files and
``send_file`` once sent two (werkzeug's ``make_conditional`` adds one, for
WSGI servers, which keep it).
"""

from __future__ import annotations

import importlib.util
import textwrap
from collections.abc import Iterator

import pytest
from live_server import LiveServer

APP_SOURCE = textwrap.dedent(
    """
    import os

    from microframe import Microframe, Response, request, send_file

    app = Microframe(__name__)
    HERE = os.path.dirname(os.path.abspath(__file__))


    @app.get("/")
    async def index():
        return "plain"


    @app.get("/file")
    async def file():
        return await send_file(os.path.join(HERE, "static", "hello.txt"))


    @app.get("/conditional")
    async def conditional():
        response = Response(b"0123456789")
        response.add_etag()
        return await response.make_conditional(request, accept_ranges=True)
    """
)

SERVERS = {
    "hypercorn": ["-m", "hypercorn", "date_app:app", "--bind", "127.0.0.1:{port}"],
    "uvicorn": [
        "-m", "uvicorn", "date_app:app", "--host", "127.0.0.1", "--port", "{port}",
        "--log-level", "warning",
    ],
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    name: str = request.param
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed")
    folder = tmp_path_factory.mktemp(f"date_{name}")
    (folder / "date_app.py").write_text(APP_SOURCE)
    (folder / "static").mkdir()
    (folder / "static" / "hello.txt").write_text("hello")
    running = LiveServer("", [folder], command=SERVERS[name], log=folder / "server.log")
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/", {}, 200),
        ("/static/hello.txt", {}, 200),
        ("/static/hello.txt", {"Range": "bytes=0-1"}, 206),
        ("/file", {}, 200),
        ("/conditional", {}, 200),
        ("/conditional", {"If-None-Match": "*"}, 304),
        ("/nowhere", {}, 404),
    ],
)
def test_one_date_header(server: LiveServer, path: str, headers: dict[str, str], status: int) -> None:
    response, _ = server.request("GET", path, headers=headers)
    assert response.status == status
    dates = response.msg.get_all("Date") or []
    assert len(dates) == 1, dates
    assert dates[0].endswith(" GMT")


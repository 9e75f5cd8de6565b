"""Behaviours a differential run against Flask found, checked under Hypercorn.

The test client reads the app's response as the app sends it; these check
what a client receives: headers the server frames the body by, and limits
on a body the server has already read ahead for a sync view.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest
from live_server import LiveServer

APP_SOURCE = textwrap.dedent(
    """
    from microframe import Microframe, request, session, url_for

    app = Microframe(__name__)
    app.secret_key = "key"
    app.config["SERVER_NAME"] = "example.test"


    @app.get("/no-content")
    async def no_content():
        return "not empty", 204


    @app.get("/external")
    async def external():
        return url_for("external", _external=True)


    @app.post("/limited")
    def limited():
        request.max_content_length = 5
        return str(len(request.get_data()))


    @app.post("/json")
    def json_view():
        return {"v": request.json}


    @app.get("/has-user")
    def has_user():
        return str("user" in session)
    """
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("parity")
    (folder / "parity_app.py").write_text(APP_SOURCE)
    running = LiveServer("parity_app:app", [folder], log=folder / "server.log")
    try:
        running.wait_until_ready()
        yield running
    finally:
        running.stop()


def test_a_204_carries_no_content_length(server: LiveServer) -> None:
    raw = server.raw(b"GET /no-content HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 204")
    assert b"content-length" not in head.lower()
    assert body == b""


def test_external_urls_name_server_name_behind_another_host(server: LiveServer) -> None:
    response, body = server.request("GET", "/external", headers={"Host": "internal:8000"})
    assert response.status == 200
    assert body == b"http://example.test/external"


def test_a_limit_lowered_by_a_sync_view_refuses_a_body_read_ahead(server: LiveServer) -> None:
    response, _ = server.request("POST", "/limited", body=b"x" * 50)
    assert response.status == 413
    response, body = server.request("POST", "/limited", body=b"xyz")
    assert (response.status, body) == (200, b"3")


def test_invalid_json_in_request_json_is_a_400(server: LiveServer) -> None:
    headers = {"Content-Type": "application/json"}
    response, _ = server.request("POST", "/json", body=b"{bad", headers=headers)
    assert response.status == 400


def test_a_keys_only_session_read_varies_on_cookie(server: LiveServer) -> None:
    response, body = server.request("GET", "/has-user")
    assert body == b"False"
    assert response.getheader("Vary") == "Cookie"

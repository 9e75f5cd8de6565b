"""The test client's responses: the app's response class plus werkzeug's test additions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from microframe import Microframe, Response, redirect
from microframe.testing import TestResponse
from microframe.testing.response import wrap_response_class


def _routes(app: Microframe) -> None:
    @app.route("/text", methods=["GET", "POST"])
    def text() -> str:
        return "hello"

    @app.get("/json")
    def json() -> Any:
        return {"a": 1}

    @app.get("/stream")
    def stream() -> Any:
        def parts() -> Iterator[str]:
            yield "one "
            yield "two"

        return parts()

    @app.get("/hop")
    def hop() -> Any:
        return redirect("/text")


def test_response_carries_the_request_made(app: Microframe) -> None:
    _routes(app)
    response = app.test_client().post("/text?x=1", data="body", headers={"X-A": "b"})
    assert isinstance(response, app.response_class)
    assert isinstance(response, TestResponse)
    made = response.request
    assert isinstance(made, app.request_class)
    assert made.method == "POST"
    assert made.url == "http://localhost/text?x=1"
    assert made.headers["X-A"] == "b"
    assert made.get_data() == b"body"
    assert made.remote_addr == "127.0.0.1"


def test_text_json_and_data_in_sync_tests(app: Microframe) -> None:
    _routes(app)
    client = app.test_client()
    response = client.get("/json")
    assert response.json == {"a": 1}
    assert response.get_json() == {"a": 1}
    assert response.is_json
    assert client.get("/text").text == "hello"
    assert client.get("/text").data == b"hello"
    assert client.get("/text").get_data(as_text=True) == "hello"


async def test_body_is_awaited_in_async_tests(app: Microframe) -> None:
    _routes(app)
    client = app.test_client()
    response = await client.get("/json")
    assert await response.get_json() == {"a": 1}
    assert await response.get_data() == b'{"a":1}\n'
    assert await (await client.get("/text")).get_data(as_text=True) == "hello"


def test_is_streamed_tells_whether_the_app_streamed(app: Microframe) -> None:
    _routes(app)
    client = app.test_client()
    streamed = client.get("/stream")
    assert streamed.is_streamed
    assert streamed.data == b"one two"
    assert not client.get("/text").is_streamed


def test_close_and_with_block(app: Microframe) -> None:
    _routes(app)
    client = app.test_client()
    with client.get("/text") as response:
        assert response.status_code == 200
    response.close()


def test_history_of_followed_redirects(app: Microframe) -> None:
    _routes(app)
    client = app.test_client()
    response = client.get("/hop", follow_redirects=True)
    assert response.text == "hello"
    assert [r.status_code for r in response.history] == [302]
    assert response.history[0].request.path == "/hop"
    assert response.request.path == "/text"
    assert client.get("/hop").history == ()


def test_custom_response_class_is_kept(app: Microframe) -> None:
    class MyResponse(Response):
        def shout(self) -> str:
            return str(self.get_data(as_text=True)).upper()

    app.response_class = MyResponse
    _routes(app)
    response = app.test_client().get("/text")
    assert isinstance(response, MyResponse)
    assert response.shout() == "HELLO"
    assert wrap_response_class(MyResponse) is type(response)
    assert wrap_response_class(type(response)) is type(response)


def test_head_response_keeps_its_content_length(app: Microframe) -> None:
    _routes(app)
    response = app.test_client().head("/text")
    assert response.headers["Content-Length"] == "5"
    assert response.data == b""

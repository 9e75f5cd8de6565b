"""Typing regression file: the test client in sync (Flask-style) and async
(Quart-style) tests.

Checked by ``mypy --strict`` in tests/test_typing.py, which also runs these
functions as tests.
"""

from __future__ import annotations

from typing import Any, assert_type

from click.testing import Result

from microframe import Microframe, request, session, websocket
from microframe.sessions import SessionMixin
from microframe.testing import MicroframeClient, MicroframeCliRunner, TestResponse

app = Microframe(__name__)
app.secret_key = "typing"


@app.post("/echo")
async def echo() -> dict[str, Any]:
    session["posted"] = True
    return {"json": await request.get_json()}


@app.get("/hello")
def hello() -> str:
    return "hello"


@app.websocket("/ws")
async def ws() -> None:
    await websocket.send(f"got {await websocket.receive()!r}")


@app.cli.command("greet")
def greet() -> None:
    print("hi")


def sync_test() -> None:
    client = app.test_client()
    assert_type(client, MicroframeClient)
    response = client.get("/hello", query_string={"q": "1"})
    status: int = response.status_code
    body: bytes = response.data
    text: str = response.get_data(as_text=True)
    also_text: str = response.text
    request_path: str = response.request.path
    assert (status, body, text, also_text, request_path) == (200, b"hello", "hello", "hello", "/hello")
    posted = client.post("/echo", json={"a": 1})
    assert posted.json == {"json": {"a": 1}}
    history: tuple[TestResponse, ...] = client.get("/hello", follow_redirects=True).history
    assert history == ()
    with client.session_transaction() as sess:
        assert_type(sess, SessionMixin)
        sess["user"] = "ada"
    with client:
        client.get("/hello")


async def async_test() -> None:
    client = app.test_client()
    response = await client.get("/hello")
    assert_type(response, TestResponse)
    body = await response.get_data()
    assert_type(body, bytes)
    text = await response.get_data(as_text=True)
    assert_type(text, str)
    also_text = await response.text
    assert_type(also_text, str)
    data = await response.data
    assert_type(data, bytes)
    assert (response.status_code, body, text, also_text, data) == (200, b"hello", "hello", "hello", b"hello")
    posted = await client.post("/echo", json={"a": 1})
    assert await posted.get_json() == {"json": {"a": 1}}
    async with client.session_transaction() as sess:
        assert_type(sess, SessionMixin)
        sess["user"] = "ada"
    async with client.websocket("/ws") as connection:
        await connection.send("hi")
        received = await connection.receive()
        assert_type(received, str | bytes)
        assert received == "got 'hi'"
    async with app.test_app() as test_app:
        test_client: MicroframeClient = test_app.test_client()
        assert (await test_client.get("/hello")).status_code == 200


def cli_test() -> None:
    runner = app.test_cli_runner()
    assert_type(runner, MicroframeCliRunner)
    result = runner.invoke(args=["greet"])
    assert_type(result, Result)
    assert result.output == "hi\n"

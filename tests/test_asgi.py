"""The ASGI protocol: driving the app with raw scopes and messages."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest

from microframe import Microframe, Response, request, url_for
from microframe.testing import MicroframeClient


def http_scope(
    path: str = "/",
    method: str = "GET",
    *,
    root_path: str = "",
    query_string: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Any:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query_string,
        "root_path": root_path,
        "headers": [(b"host", b"example.com"), *(headers or [])],
        "client": ("10.0.0.1", 5555),
        "server": ("example.com", 80),
    }


class Recorder:
    """An ASGI ``send`` that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def start(self) -> dict[str, Any]:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1
        return starts[0]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.start["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )


def empty_body_receive() -> Any:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(30)  # the client stays connected
        return {"type": "http.disconnect"}

    return receive


async def serve(app: Any, scope: dict[str, Any], receive: Any = None) -> Recorder:
    send = Recorder()
    await asyncio.wait_for(app(scope, receive or empty_body_receive(), send), 5)
    return send


@pytest.fixture
def app() -> Microframe:
    app = Microframe(__name__)

    @app.route("/hello", methods=["GET", "POST"])
    async def hello() -> Any:
        return {
            "path": request.path,
            "root_path": request.root_path,
            "url": request.url,
            "self": url_for("hello"),
            "external": url_for("hello", _external=True),
            "remote_addr": request.remote_addr,
        }

    @app.get("/text")
    async def text() -> str:
        return "some text"

    @app.get("/empty")
    async def empty() -> Any:
        return "", 204

    return app


async def test_app_is_an_asgi3_callable(app: Microframe) -> None:
    assert inspect.iscoroutinefunction(app.__call__)
    assert list(inspect.signature(app).parameters) == ["scope", "receive", "send"]


async def test_one_start_then_body(app: Microframe) -> None:
    send = await serve(app, http_scope("/text"))
    assert send.messages[0]["type"] == "http.response.start"
    assert all(m["type"] == "http.response.body" for m in send.messages[1:])
    assert send.start["status"] == 200
    assert send.headers[b"content-type"] == b"text/html; charset=utf-8"
    assert send.headers[b"content-length"] == b"9"
    assert send.body == b"some text"
    assert send.messages[-1].get("more_body", False) is False
    # Header names are lower-case bytes, as ASGI requires.
    assert all(name == name.lower() for name, _ in send.start["headers"])


async def test_a_middleware_appending_to_the_headers_changes_only_its_response(
    app: Microframe,
) -> None:
    # Encoded header lists are remembered per header list: each response
    # must still get a list of its own, as middleware appends in place.
    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        async def add_header(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"].append((b"x-middleware", b"1"))
            await send(message)

        await app(scope, receive, add_header)

    for _ in range(3):
        send = await serve(middleware, http_scope("/text"))
        assert send.start["headers"] == [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", b"9"),
            (b"x-middleware", b"1"),
        ]
    plain = await serve(app, http_scope("/text"))
    assert plain.start["headers"] == [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"9"),
    ]


async def test_scope_values_reach_the_request(app: Microframe) -> None:
    send = await serve(app, http_scope("/hello"))
    assert send.start["status"] == 200
    assert b'"remote_addr":"10.0.0.1"' in send.body
    assert b'"url":"http://example.com/hello"' in send.body


async def test_root_path_is_honoured(app: Microframe) -> None:
    send = await serve(app, http_scope("/prefix/hello", root_path="/prefix"))
    assert send.start["status"] == 200
    info = json.loads(send.body)
    assert info == {
        "path": "/hello",
        "root_path": "/prefix",
        "url": "http://example.com/prefix/hello",
        "self": "/prefix/hello",
        "external": "http://example.com/prefix/hello",
        "remote_addr": "10.0.0.1",
    }


async def test_root_path_through_the_test_client(app: Microframe) -> None:
    response = await app.test_client().get("/prefix/hello", root_path="/prefix")
    assert response.status_code == 200
    info = await response.get_json()
    assert info["path"] == "/hello"
    assert info["self"] == "/prefix/hello"


async def test_head_sends_no_body(app: Microframe) -> None:
    send = await serve(app, http_scope("/text", method="HEAD"))
    assert send.start["status"] == 200
    assert send.headers[b"content-length"] == b"9"
    assert send.body == b""


async def test_no_body_for_204(app: Microframe) -> None:
    send = await serve(app, http_scope("/empty"))
    assert send.start["status"] == 204
    assert send.body == b""


async def test_a_204_with_a_body_sends_no_content_length() -> None:
    # Flask (werkzeug) drops it: a 204 or 1xx must not carry one (RFC 9110 8.6).
    app = Microframe(__name__)

    @app.get("/")
    async def index() -> Any:
        return "not empty", 204

    send = await serve(app, http_scope("/"))
    assert send.start["status"] == 204
    assert b"content-length" not in send.headers
    assert send.body == b""


async def test_head_on_a_streamed_response_closes_the_generator() -> None:
    app = Microframe(__name__)
    made: list[Any] = []
    started: list[bool] = []

    @app.get("/stream")
    async def stream() -> Any:
        async def gen() -> AsyncIterator[bytes]:
            started.append(True)
            yield b"never sent"

        made.append(gen())
        return made[0]

    send = await serve(app, http_scope("/stream", method="HEAD"))
    assert send.start["status"] == 200
    assert send.body == b""
    assert started == []  # the body was never produced
    assert made[0].ag_frame is None  # and the generator was closed


async def test_streamed_response_sends_chunks() -> None:
    app = Microframe(__name__)

    @app.get("/stream")
    async def stream() -> Any:
        async def gen() -> AsyncIterator[str]:
            for i in range(3):
                yield f"chunk{i};"

        return gen(), {"Content-Type": "text/plain"}

    send = await serve(app, http_scope("/stream"))
    assert send.start["status"] == 200
    assert b"content-length" not in send.headers
    bodies = [m for m in send.messages if m["type"] == "http.response.body"]
    assert [m["body"] for m in bodies if m["body"]] == [b"chunk0;", b"chunk1;", b"chunk2;"]
    assert bodies[-1].get("more_body", False) is False
    assert all(m["more_body"] for m in bodies[:-1])


async def test_sync_generator_response() -> None:
    app = Microframe(__name__)

    @app.get("/stream")
    def stream() -> Any:
        def gen() -> Any:
            yield "a"
            yield "b"

        return gen()

    send = await serve(app, http_scope("/stream"))
    assert send.start["status"] == 200
    assert send.body == b"ab"


async def test_disconnect_mid_stream_closes_the_generator_and_tears_down() -> None:
    app = Microframe(__name__)
    events: list[str] = []
    first_chunk_sent = asyncio.Event()

    @app.get("/stream")
    async def stream() -> Any:
        async def gen() -> AsyncIterator[bytes]:
            try:
                for i in range(1000):
                    yield f"{i}".encode()
                    await asyncio.sleep(0.01)
            finally:
                events.append("generator closed")

        return gen()

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    state = {"request_sent": False}

    async def receive() -> dict[str, Any]:
        if not state["request_sent"]:
            state["request_sent"] = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await first_chunk_sent.wait()
        return {"type": "http.disconnect"}

    send = Recorder()

    async def recording_send(message: dict[str, Any]) -> None:
        await send(message)
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk_sent.set()

    await asyncio.wait_for(app(http_scope("/stream"), receive, recording_send), 5)
    assert send.start["status"] == 200
    chunks = [m for m in send.messages if m["type"] == "http.response.body"]
    assert 1 <= len(chunks) < 100  # stopped long before the generator's end
    assert events == ["generator closed", "teardown"]


async def test_response_timeout_ends_a_slow_stream(caplog: pytest.LogCaptureFixture) -> None:
    app = Microframe(__name__)
    app.config["RESPONSE_TIMEOUT"] = 0.2
    events: list[str] = []

    @app.get("/slow")
    async def slow() -> Any:
        async def gen() -> AsyncIterator[bytes]:
            try:
                yield b"first"
                await asyncio.sleep(30)
                yield b"too late"
            finally:
                events.append("generator closed")

        return gen()

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        events.append("teardown")

    loop = asyncio.get_running_loop()
    started = loop.time()
    with caplog.at_level(logging.WARNING):
        send = await serve(app, http_scope("/slow"))
    assert loop.time() - started < 2
    assert send.start["status"] == 200
    assert send.body == b"first"
    assert events == ["generator closed", "teardown"]
    assert "exceeded its timeout" in caplog.text


async def test_per_response_timeout_overrides_config() -> None:
    app = Microframe(__name__)
    app.config["RESPONSE_TIMEOUT"] = 30

    @app.get("/slow")
    async def slow() -> Any:
        async def gen() -> AsyncIterator[bytes]:
            yield b"a"
            await asyncio.sleep(30)

        response = Response(gen())
        response.timeout = 0.1
        return response

    send = await serve(app, http_scope("/slow"))
    assert send.body == b"a"


async def test_error_in_a_stream_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    app = Microframe(__name__)

    @app.get("/broken")
    async def broken() -> Any:
        async def gen() -> AsyncIterator[bytes]:
            yield b"partial"
            raise ValueError("stream broke")

        return gen()

    with caplog.at_level(logging.ERROR):
        send = await serve(app, http_scope("/broken"))
    assert send.start["status"] == 200
    assert send.body == b"partial"
    assert "stream broke" in caplog.text


async def test_unhandled_error_is_500(caplog: pytest.LogCaptureFixture) -> None:
    app = Microframe(__name__)

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.ERROR):
        send = await serve(app, http_scope("/boom"))
    assert send.start["status"] == 500
    assert b"Internal Server Error" in send.body
    assert b"kaboom" not in send.body  # no details leak outside debug mode
    assert "kaboom" in caplog.text


async def test_unhandled_error_in_testing_mode_propagates() -> None:
    app = Microframe(__name__)
    app.config["TESTING"] = True

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("kaboom")

    send = Recorder()
    with pytest.raises(RuntimeError, match="kaboom"):
        await app(http_scope("/boom"), empty_body_receive(), send)
    assert send.start["status"] == 500


async def test_bad_content_length_is_ignored(app: Microframe) -> None:
    send = await serve(
        app, http_scope("/hello", method="POST", headers=[(b"content-length", b"abc")])
    )
    assert send.start["status"] == 200


# -- lifespan ------------------------------------------------------------------------------


async def run_lifespan(app: Any, *kinds: str) -> list[dict[str, Any]]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait({"type": kind})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    await asyncio.wait_for(app(scope, queue.get, send), 5)
    return sent


@pytest.mark.parametrize(
    ("settings", "frozen"),
    [({}, True), ({"TESTING": True}, False), ({"GC_FREEZE_AFTER_STARTUP": False}, False)],
)
async def test_lifespan_freezes_the_gc_while_serving(settings: dict[str, Any], frozen: bool) -> None:
    import gc

    app = Microframe(__name__)
    app.config.update(settings)
    seen: list[int] = []

    @app.get("/")
    async def index() -> str:
        seen.append(gc.get_freeze_count())
        return "ok"

    assert gc.get_freeze_count() == 0
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
    serving = asyncio.create_task(app(scope, queue.get, send))
    queue.put_nowait({"type": "lifespan.startup"})
    for _ in range(100):
        if sent:
            break
        await asyncio.sleep(0.01)
    assert sent == [{"type": "lifespan.startup.complete"}]
    await app.test_client().get("/")
    queue.put_nowait({"type": "lifespan.shutdown"})
    await asyncio.wait_for(serving, 5)
    assert (seen[0] > 0) is frozen
    assert gc.get_freeze_count() == 0  # undone at shutdown


async def test_lifespan_startup_and_shutdown() -> None:
    app = Microframe(__name__)
    events: list[str] = []

    @app.before_serving
    async def start() -> None:
        events.append("before_serving")

    @app.before_serving
    def start_sync() -> None:
        events.append("before_serving sync")

    @app.while_serving
    async def around() -> AsyncGenerator[None, None]:
        events.append("while_serving enter")
        yield
        events.append("while_serving exit")

    @app.after_serving
    async def stop() -> None:
        events.append("after_serving")

    sent = await run_lifespan(app, "lifespan.startup", "lifespan.shutdown")
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert events == [
        "before_serving",
        "before_serving sync",
        "while_serving enter",
        "while_serving exit",
        "after_serving",
    ]


async def test_lifespan_startup_failure(caplog: pytest.LogCaptureFixture) -> None:
    app = Microframe(__name__)

    @app.before_serving
    async def start() -> None:
        raise ConnectionError("database unreachable")

    with caplog.at_level(logging.ERROR):
        sent = await run_lifespan(app, "lifespan.startup")
    assert len(sent) == 1
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "database unreachable" in sent[0]["message"]


async def test_lifespan_shutdown_failure(caplog: pytest.LogCaptureFixture) -> None:
    app = Microframe(__name__)

    @app.after_serving
    async def stop() -> None:
        raise RuntimeError("cannot close")

    with caplog.at_level(logging.ERROR):
        sent = await run_lifespan(app, "lifespan.startup", "lifespan.shutdown")
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.failed"]
    assert "cannot close" in sent[1]["message"]


async def test_unknown_scope_type_is_refused(app: Microframe) -> None:
    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: dict[str, Any]) -> None:
        pass

    with pytest.raises(ValueError, match="scope type"):
        scope: Any = {"type": "carrier-pigeon"}
        await app(scope, receive, send)


async def test_request_cancelled_by_the_server_is_answered_503() -> None:
    import asyncio

    from microframe import Microframe

    app = Microframe(__name__)
    started = asyncio.Event()
    torn_down: list[BaseException | None] = []

    @app.get("/slow")
    async def slow() -> str:
        started.set()
        await asyncio.sleep(30)
        return "late"

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        await asyncio.sleep(60)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/slow", "raw_path": b"/slow", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1),
        "server": ("localhost", 80),
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"1") in sent[0]["headers"]  # type: ignore[operator]
    assert sent[-1]["more_body"] is False
    assert len(torn_down) == 1 and isinstance(torn_down[0], asyncio.CancelledError)



async def test_a_cancelled_error_out_of_the_view_is_a_logged_500(
    app: Microframe, client: MicroframeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The view awaited a task someone else cancelled: the request itself was
    # not cancelled, so it is answered (a 500, logged) and torn down, and the
    # caller goes on (Quart-DB releases its connection in teardown).
    torn_down: list[BaseException | None] = []

    @app.get("/")
    async def index() -> str:
        other = asyncio.get_running_loop().create_task(asyncio.sleep(30))
        other.cancel()
        await other
        return "never"

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(exc)

    response = await client.get("/")
    assert response.status_code == 500
    assert await response.get_data() == b"Internal Server Error"
    assert len(torn_down) == 1 and isinstance(torn_down[0], asyncio.CancelledError)
    assert "Exception on / [GET]" in caplog.text


# -- a body the app leaves unread -----------------------------------------------------


class QueueingServer:
    """A server that, as Hypercorn does, holds at most ``room`` body messages
    for the app, and as the response ends waits for room to tell the app the
    request is over."""

    def __init__(self, chunks: int, room: int = 3) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(room)
        self.chunks = chunks
        self.sent = Recorder()
        self.ended = False

    async def feed(self) -> None:
        for _ in range(self.chunks):
            await self.queue.put({"type": "http.request", "body": b"x" * 1000, "more_body": True})
        await self.queue.put({"type": "http.request", "body": b"", "more_body": False})

    async def receive(self) -> dict[str, Any]:
        return await self.queue.get()

    async def send(self, message: dict[str, Any]) -> None:
        await self.sent(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            await self.queue.put({"type": "http.disconnect"})  # waits for room
            self.ended = True


@pytest.mark.parametrize("view", ["refuse", "read-part", "refuse-streamed", "too-large"])
async def test_an_unread_body_does_not_hold_the_end_of_the_response(view: str) -> None:
    app = Microframe(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 5000
    torn_down: list[str] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        torn_down.append(request.path)

    @app.post("/refuse")
    async def refuse() -> Any:
        return "no", 401

    @app.post("/read-part")
    async def read_part() -> Any:
        async for _chunk in request.body:
            break
        return "enough"

    @app.post("/refuse-streamed")
    async def refuse_streamed() -> Any:
        async def gen() -> AsyncIterator[str]:
            yield "a"
            yield "b"

        return gen()

    @app.post("/too-large")
    async def too_large() -> Any:
        return await request.get_data()  # 413: more than MAX_CONTENT_LENGTH arrives

    server = QueueingServer(chunks=20)
    feeding = asyncio.create_task(server.feed())
    scope = http_scope(f"/{view}", "POST", headers=[(b"transfer-encoding", b"chunked")])
    try:
        await asyncio.wait_for(app(scope, server.receive, server.send), timeout=5)
    finally:
        feeding.cancel()
    assert server.ended
    assert server.sent.start["status"] in {200, 401, 413}
    assert torn_down == [f"/{view}"]


async def test_a_body_read_to_its_end_is_not_read_again() -> None:
    app = Microframe(__name__)
    reads = 0

    @app.post("/")
    async def index() -> Any:
        return str(len(await request.get_data()))

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        if reads == 1:
            return {"type": "http.request", "body": b"abc", "more_body": False}
        raise AssertionError("the body was over")

    sent = Recorder()
    await app(http_scope("/", "POST", headers=[(b"content-length", b"3")]), receive, sent)
    assert sent.body == b"3" and reads == 1

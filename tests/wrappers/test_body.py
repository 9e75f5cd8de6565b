"""The request body's fast paths: a body already at hand is read without a
timer or a stream, and every limit and error still applies to it.

Each behaviour is checked with a ``receive`` that answers at once (the fast
path) and one that makes the caller wait first (the general path).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any
from unittest import mock

import pytest
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge, RequestTimeout

from microframe import Microframe, request
from microframe.wrappers import body as body_module
from microframe.wrappers import request as request_module
from microframe.wrappers.body import Body, BodyConsumedError, ClientDisconnected

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]


def _request(body: bytes, more_body: bool = False) -> Message:
    return {"type": "http.request", "body": body, "more_body": more_body}


def _receiver(messages: list[Message], *, wait: bool, stall: bool = False) -> Receive:
    """Give ``messages`` in turn, each at once or after a turn of the loop.

    Once they are used up, wait forever (``stall``) or report a disconnect.
    """
    queue = list(messages)

    async def receive() -> Message:
        if wait:
            await asyncio.sleep(0)
        if queue:
            return queue.pop(0)
        if stall:
            await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    return receive


both_paths = pytest.mark.parametrize("wait", [False, True], ids=["at-once", "after-wait"])


def _chunked(data: bytes, size: int) -> list[Message]:
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return [_request(chunk, i < len(chunks) - 1) for i, chunk in enumerate(chunks)]


# -- reading ---------------------------------------------------------------------------


@both_paths
@pytest.mark.parametrize("size", [100, 3, 1])
async def test_read_gives_the_whole_body(wait: bool, size: int) -> None:
    data = b"0123456789"
    body = Body(_receiver(_chunked(data, size), wait=wait), len(data), timeout=5)
    assert await body.read() == data
    assert await body == data  # kept
    assert body.is_complete


@both_paths
@pytest.mark.parametrize("size", [100, 3])
async def test_streaming_gives_the_chunks(wait: bool, size: int) -> None:
    data = b"0123456789"
    body = Body(_receiver(_chunked(data, size), wait=wait), timeout=5)
    chunks = [chunk async for chunk in body]
    assert b"".join(chunks) == data
    assert all(chunks)
    with pytest.raises(BodyConsumedError):
        await body.read()


async def test_messages_of_other_types_are_skipped() -> None:
    messages = [{"type": "http.other"}, _request(b"ab", True), {"type": "x"}, _request(b"c")]
    for wait in (False, True):
        assert await Body(_receiver(messages, wait=wait), timeout=5).read() == b"abc"


async def test_a_bytearray_body_is_read_as_bytes() -> None:
    data = await Body(_receiver([_request(bytearray(b"ab"))], wait=False)).read()  # type: ignore[arg-type]
    assert data == b"ab"
    assert type(data) is bytes


async def test_a_future_as_receive_result() -> None:
    # ASGI's receive returns an awaitable, not necessarily a coroutine.
    loop = asyncio.get_running_loop()

    def receive() -> asyncio.Future[Message]:
        future: asyncio.Future[Message] = loop.create_future()
        loop.call_soon(future.set_result, _request(b"later"))
        return future

    assert await Body(receive, timeout=5).read() == b"later"


class _NextOnlyAwaitable:
    """A server's own awaitable as Granian gives: ``__await__`` returns an
    iterator with ``__next__`` only (no ``send``/``throw``), which yields an
    asyncio future until the message is there."""

    def __init__(self, future: asyncio.Future[Message]) -> None:
        self._future = future

    def __await__(self) -> _NextOnlyAwaitable:
        return self

    def __iter__(self) -> _NextOnlyAwaitable:
        return self

    def __next__(self) -> asyncio.Future[Message]:
        if self._future.done():
            raise StopIteration(self._future.result())
        self._future._asyncio_future_blocking = True  # what asyncio's Task expects of a future
        return self._future


def _next_only_receiver(messages: list[Message], *, stall: bool = False) -> Any:
    loop = asyncio.get_running_loop()
    queue = list(messages)

    def receive() -> _NextOnlyAwaitable:
        future: asyncio.Future[Message] = loop.create_future()
        if queue:
            loop.call_soon(future.set_result, queue.pop(0))
        elif not stall:
            loop.call_soon(future.set_result, {"type": "http.disconnect"})
        return _NextOnlyAwaitable(future)

    return receive


@pytest.mark.parametrize("size", [100, 3])
async def test_a_receive_awaitable_without_send(size: int) -> None:
    data = b"0123456789"
    body = Body(_next_only_receiver(_chunked(data, size)), len(data), timeout=5)
    assert await body.read() == data
    streamed = Body(_next_only_receiver(_chunked(data, size)), len(data), timeout=5)
    assert [chunk async for chunk in streamed] == [
        data[i : i + size] for i in range(0, len(data), size)
    ]


async def test_a_receive_awaitable_without_send_times_out() -> None:
    body = Body(_next_only_receiver([_request(b"a", more_body=True)], stall=True), timeout=0.05)
    with pytest.raises(RequestTimeout):
        await body.read()


# -- whole_if_ready ----------------------------------------------------------------------


async def test_whole_if_ready_takes_a_single_message_at_once() -> None:
    body = Body(_receiver([_request(b"abc")], wait=False), 3)
    assert body.whole_if_ready() == b"abc"
    assert body.is_complete
    assert await body.read() == b"abc"


@pytest.mark.parametrize("messages", [[_request(b"ab", True), _request(b"c")]])
@both_paths
async def test_whole_if_ready_leaves_a_longer_body_to_the_stream(
    messages: list[Message], wait: bool
) -> None:
    body = Body(_receiver(messages, wait=wait))
    assert body.whole_if_ready() is None
    assert body.whole_if_ready() is None  # asking again changes nothing
    assert not body.is_complete
    assert await body.read() == b"abc"


async def test_whole_if_ready_then_streaming() -> None:
    body = Body(_receiver([_request(b"ab", True), _request(b"c")], wait=True))
    assert body.whole_if_ready() is None
    assert [chunk async for chunk in body] == [b"ab", b"c"]
    assert body.whole_if_ready() is None  # streamed: gone


async def test_whole_if_ready_after_streaming_is_none() -> None:
    body = Body(_receiver([_request(b"abc")], wait=False))
    assert [chunk async for chunk in body] == [b"abc"]
    assert body.whole_if_ready() is None


# -- limits and errors -------------------------------------------------------------------


@both_paths
async def test_declared_length_over_the_limit_reads_nothing(wait: bool) -> None:
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        return _request(b"x" * 20)

    body = Body(receive, 20, max_content_length=10)
    with pytest.raises(RequestEntityTooLarge):
        await body.read()
    assert calls == 0


@both_paths
@pytest.mark.parametrize("size", [100, 4])
async def test_body_over_the_limit_without_length(wait: bool, size: int) -> None:
    messages = _chunked(b"x" * 20, size)
    with pytest.raises(RequestEntityTooLarge):
        await Body(_receiver(messages, wait=wait), max_content_length=10).read()
    with pytest.raises(RequestEntityTooLarge):
        [chunk async for chunk in Body(_receiver(messages, wait=wait), max_content_length=10)]
    if size > 20:  # one message: found too large without waiting, or left to the stream
        ready = Body(_receiver(messages, wait=wait), max_content_length=10)
        if wait:
            assert ready.whole_if_ready() is None
            with pytest.raises(RequestEntityTooLarge):
                await ready.read()
        else:
            with pytest.raises(RequestEntityTooLarge):
                ready.whole_if_ready()


@both_paths
async def test_disconnect_before_the_body(wait: bool) -> None:
    with pytest.raises(ClientDisconnected):
        await Body(_receiver([], wait=wait)).read()
    with pytest.raises(ClientDisconnected):
        Body(_receiver([], wait=False)).whole_if_ready()


@both_paths
async def test_disconnect_in_the_middle(wait: bool) -> None:
    receive = _receiver([_request(b"part", True)], wait=wait)
    with pytest.raises(ClientDisconnected):
        await Body(receive).read()


async def test_a_stalled_first_message_times_out() -> None:
    body = Body(_receiver([], wait=True, stall=True), timeout=0.05)
    with pytest.raises(RequestTimeout):
        await asyncio.wait_for(body.read(), 5)


async def test_a_stall_after_messages_given_at_once_times_out() -> None:
    # No timer runs while messages come at once; the first wait must start one.
    receive = _receiver([_request(b"a", True), _request(b"b", True)], wait=False, stall=True)
    with pytest.raises(RequestTimeout):
        await asyncio.wait_for(Body(receive, timeout=0.05).read(), 5)
    receive = _receiver([_request(b"a", True)], wait=False, stall=True)
    with pytest.raises(RequestTimeout):
        await asyncio.wait_for(_drain(Body(receive, timeout=0.05)), 5)


async def _drain(body: Body) -> None:
    async for _ in body:
        pass


async def test_a_timed_out_receive_is_cancelled_inside() -> None:
    events: list[str] = []

    async def receive() -> Message:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        finally:
            events.append("finally")
        return _request(b"never")

    with pytest.raises(RequestTimeout):
        await Body(receive, timeout=0.05).read()
    assert events == ["cancelled", "finally"]


async def test_a_waiting_read_can_be_cancelled() -> None:
    events: list[str] = []

    async def receive() -> Message:
        try:
            await asyncio.Event().wait()
        finally:
            events.append("finally")
        return _request(b"never")

    task = asyncio.create_task(Body(receive, timeout=60).read())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["finally"]


async def test_an_error_raised_after_waiting_is_passed_on() -> None:
    async def receive() -> Message:
        await asyncio.sleep(0)
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        await Body(receive, timeout=60).read()


# -- through the app -----------------------------------------------------------------------


def _app() -> Microframe:
    app = Microframe(__name__)

    @app.post("/json")
    async def json_view() -> Any:
        return {"got": await request.get_json()}

    @app.post("/form")
    async def form_view() -> Any:
        form = await request.form
        return {"form": form.to_dict(flat=False), "data": (await request.get_data()).decode()}

    @app.post("/sync-json")
    def sync_json() -> Any:
        return {"got": request.get_json()}

    @app.post("/sync-form")
    def sync_form() -> Any:
        return {"form": request.form.to_dict(flat=False)}

    @app.post("/sync-ignore")
    def sync_ignore() -> Any:
        return {"ignored": True}

    @app.post("/files")
    async def files_view() -> Any:
        files = await request.files
        return {
            "form": (await request.form).to_dict(flat=False),
            "files": {name: storage.read().decode() for name, storage in files.items()},
            "data": (await request.get_data()).decode(),
        }

    return app


async def _call(
    app: Microframe,
    path: str,
    content_type: str,
    messages: list[Message],
    *,
    wait: bool,
    length: int | None = None,
) -> tuple[int, Any]:
    scope: Any = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"content-type", content_type.encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("localhost", 80),
    }
    if length is not None:
        scope["headers"].append((b"content-length", str(length).encode()))
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, _receiver(messages, wait=wait, stall=True), send), 5)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body


@both_paths
@pytest.mark.parametrize("path", ["/json", "/sync-json"])
@pytest.mark.parametrize("size", [100, 3])
async def test_json_body(wait: bool, path: str, size: int) -> None:
    app = _app()
    status, body = await _call(app, path, "application/json", _chunked(b'{"a": [1, 2]}', size), wait=wait)
    assert (status, body) == (200, b'{"got":{"a":[1,2]}}\n')
    status, _ = await _call(app, path, "application/json", _chunked(b'{"a": ', size), wait=wait)
    assert status == 400
    status, _ = await _call(app, path, "text/plain", _chunked(b"{}", size), wait=wait)
    assert status == 415
    await app.shutdown()


@both_paths
@pytest.mark.parametrize("size", [100, 3])
async def test_form_body_reads_as_empty_afterwards(wait: bool, size: int) -> None:
    # As in Flask: the form parser consumed the stream, the raw body is gone.
    app = _app()
    messages = _chunked(b"a=1&b=x+y&a=%C3%A9", size)
    status, body = await _call(
        app, "/form", "application/x-www-form-urlencoded", messages, wait=wait
    )
    assert status == 200
    assert body == b'{"data":"","form":{"a":["1","\\u00e9"],"b":["x y"]}}\n'
    status, body = await _call(
        app, "/sync-form", "application/x-www-form-urlencoded", messages, wait=wait
    )
    assert (status, body) == (200, b'{"form":{"a":["1","\\u00e9"],"b":["x y"]}}\n')
    await app.shutdown()


_MULTIPART = (
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="title"\r\n\r\n'
    b"Hello\r\n"
    b"--XyZ\r\n"
    b'Content-Disposition: form-data; name="doc"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
    b"file body\r\n"
    b"--XyZ--\r\n"
)


@both_paths
@pytest.mark.parametrize("size", [1000, 7])
async def test_forms_with_a_declared_length(wait: bool, size: int) -> None:
    # A small body the server hands over late (Granian's receive always
    # waits) is read whole before parsing: the same form, files and limits.
    app = _app()
    urlencoded = b"a=1&b=x+y&a=%C3%A9"
    status, body = await _call(
        app, "/form", "application/x-www-form-urlencoded", _chunked(urlencoded, size),
        wait=wait, length=len(urlencoded),
    )
    assert (status, body) == (200, b'{"data":"","form":{"a":["1","\\u00e9"],"b":["x y"]}}\n')
    status, body = await _call(
        app, "/files", "multipart/form-data; boundary=XyZ", _chunked(_MULTIPART, size),
        wait=wait, length=len(_MULTIPART),
    )
    assert status == 200
    assert body == b'{"data":"","files":{"doc":"file body"},"form":{"title":["Hello"]}}\n'
    app.config["MAX_FORM_PARTS"] = 1
    status, _ = await _call(
        app, "/files", "multipart/form-data; boundary=XyZ", _chunked(_MULTIPART, size),
        wait=wait, length=len(_MULTIPART),
    )
    assert status == 413
    app.config["MAX_FORM_PARTS"] = None
    app.config["MAX_FORM_MEMORY_SIZE"] = 5
    status, _ = await _call(
        app, "/form", "application/x-www-form-urlencoded", _chunked(urlencoded, size),
        wait=wait, length=len(urlencoded),
    )
    assert status == 413
    await app.shutdown()


async def test_a_form_declared_larger_than_the_spool_is_streamed() -> None:
    # Past SPOOL_MAX_SIZE the parser spools file parts to disk: such a body
    # is never read whole into memory first.
    from microframe import formparser

    app = _app()
    data = b"x" * (formparser.SPOOL_MAX_SIZE + 1)
    multipart = (
        b"--XyZ\r\n"
        b'Content-Disposition: form-data; name="doc"; filename="big.bin"\r\n\r\n'
        + data
        + b"\r\n--XyZ--\r\n"
    )
    read_whole: list[int] = []
    real_read = Body.read

    async def spy(self: Body) -> bytes:
        read_whole.append(len(self._data or b""))
        return await real_read(self)

    with mock.patch.object(Body, "read", spy):
        status, _ = await _call(
            app, "/sync-form", "multipart/form-data; boundary=XyZ",
            _chunked(multipart, 64 * 1024), wait=True, length=len(multipart),
        )
        assert status == 200
        assert read_whole == []
        small = b"a=1"
        status, _ = await _call(
            app, "/sync-form", "application/x-www-form-urlencoded", [_request(small)],
            wait=True, length=len(small),
        )
        assert status == 200
        assert read_whole == [0]  # the small one was
    await app.shutdown()


@both_paths
async def test_form_limits(wait: bool) -> None:
    app = _app()
    app.config["MAX_FORM_PARTS"] = 2
    urlencoded = "application/x-www-form-urlencoded"
    status, _ = await _call(app, "/form", urlencoded, [_request(b"a=1&b=2&c=3")], wait=wait)
    assert status == 413
    app.config["MAX_FORM_PARTS"] = None
    app.config["MAX_FORM_MEMORY_SIZE"] = 5
    status, _ = await _call(app, "/form", urlencoded, [_request(b"a=123456")], wait=wait)
    assert status == 413
    app.config["MAX_FORM_MEMORY_SIZE"] = None
    app.config["MAX_CONTENT_LENGTH"] = 5
    status, _ = await _call(app, "/form", urlencoded, [_request(b"a=123456")], wait=wait)
    assert status == 413
    status, _ = await _call(app, "/json", "application/json", [_request(b"[1, 2, 3]")], wait=wait)
    assert status == 413


async def test_bad_request_is_still_raised_from_get_json() -> None:
    app = _app()
    async with app.test_request_context(
        "/", method="POST", data=b"{", headers={"Content-Type": "application/json"}
    ):
        with pytest.raises(BadRequest):
            await request.get_json()
        assert await request.get_json(silent=True) is None


# -- no timer for a body at hand ---------------------------------------------------------------


@both_paths
async def test_the_timeout_is_armed_only_when_receive_waits(wait: bool) -> None:
    # A timer per request costs more than reading a small body; the client
    # cannot stall a message that is already there.
    armed: list[float | None] = []
    real = body_module._deadline

    def spy(seconds: float | None) -> Any:
        armed.append(seconds)
        return real(seconds)

    messages = [_request(b"a", True), _request(b"b")]
    with mock.patch.object(body_module, "_deadline", spy):
        assert await Body(_receiver(messages, wait=wait), timeout=5).read() == b"ab"
        assert [c async for c in Body(_receiver(messages, wait=wait), timeout=5)] == [b"a", b"b"]
    assert armed == ([5, 5] if wait else [])


# -- the deadline: asyncio.timeout's behaviour, with a timer that keeps no context ---------------


async def test_the_deadline_answers_408_when_the_time_is_up() -> None:
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        async with body_module._deadline(0.05):
            await asyncio.sleep(10)
    assert time.monotonic() - started < 5
    # The task is not left cancelled: it goes on awaiting as usual.
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0)


async def test_the_deadline_lets_a_prompt_body_through() -> None:
    loop = asyncio.get_running_loop()
    async with body_module._deadline(5):
        await asyncio.sleep(0)
    async with body_module._deadline(None):  # no limit
        await asyncio.sleep(0.01)
    assert all(timer.cancelled() for timer in loop._scheduled)  # type: ignore[attr-defined]


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    # Cancelled by the server while the deadline also passes: the request
    # ends as cancelled, not as a 408, as with asyncio.timeout.
    entered = asyncio.Event()

    async def wait_for_body() -> None:
        async with body_module._deadline(0.01):
            entered.set()
            try:
                await asyncio.sleep(10)
            finally:
                await asyncio.sleep(0.05)  # the deadline passes meanwhile

    task = asyncio.create_task(wait_for_body())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_the_timer_holds_none_of_the_requests_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("request")
    loop = asyncio.get_running_loop()
    async with body_module._deadline(60):
        (timer,) = [t for t in loop._scheduled if not t.cancelled()]  # type: ignore[attr-defined]
        assert var not in timer._context  # what a cancelled timer keeps until it is due


# -- sync code reads a body at hand in place ------------------------------------------------------


@both_paths
@pytest.mark.parametrize("path", ["/sync-json", "/sync-form"])
@pytest.mark.parametrize("split", [False, True], ids=["one-message", "data-then-end"])
async def test_sync_views_read_a_body_at_hand_in_place(wait: bool, path: str, split: bool) -> None:
    # A body the server already holds is taken before the sync view runs,
    # so reading it does not hand the read back to the loop; a body the
    # server has yet to hand over is read through the loop as before. The
    # body may come whole or, as Hypercorn sends it, as its data then an
    # empty last message.
    app = _app()
    handed_back: list[object] = []
    real = request_module.run_async

    def spy(coro: Any) -> Any:
        handed_back.append(coro)
        return real(coro)

    data, kind = (
        (b'{"a": [1, 2]}', "application/json")
        if path == "/sync-json"
        else (b"a=1&b=x+y", "application/x-www-form-urlencoded")
    )
    sent = [_request(data, True), _request(b"")] if split else [_request(data)]
    with mock.patch.object(request_module, "run_async", spy):
        status, body = await _call(app, path, kind, sent, wait=wait, length=len(data))
    assert status == 200
    expected = {"/sync-json": b'{"got":{"a":[1,2]}}\n', "/sync-form": b'{"form":{"a":["1"],"b":["x y"]}}\n'}
    assert body == expected[path]
    assert len(handed_back) == (1 if wait else 0)
    await app.shutdown()


async def test_a_body_taken_early_reports_its_errors_when_read() -> None:
    # Taking the body before sync code runs refuses nothing by itself: a
    # view that ignores an over-long body answers as in Flask, one that
    # reads it gets the 413, and a client gone before its body is noticed
    # only by a read.
    app = _app()
    app.config["MAX_CONTENT_LENGTH"] = 4
    data = b'{"a": [1, 2]}'
    sent = [_request(data)]
    status, body = await _call(app, "/sync-ignore", "application/json", sent, wait=False, length=13)
    assert (status, body) == (200, b'{"ignored":true}\n')
    status, _ = await _call(app, "/sync-json", "application/json", sent, wait=False, length=13)
    assert status == 413
    # Declared within the limit, sent longer: the chunk itself is refused.
    status, _ = await _call(app, "/sync-json", "application/json", sent, wait=False, length=3)
    assert status == 413
    app.config["MAX_CONTENT_LENGTH"] = None
    status, body = await _call(
        app, "/sync-ignore", "application/json", [{"type": "http.disconnect"}], wait=False, length=8
    )
    assert (status, body) == (200, b'{"ignored":true}\n')
    await app.shutdown()


@pytest.mark.parametrize(
    ("messages", "whole"),
    [
        ([b"abc", b""], True),  # Hypercorn's way: the data, then an empty last message
        ([b"ab", b"c"], True),
        ([b"a", b"b", b"c"], False),  # longer: left to the stream, in order
    ],
    ids=["data-then-end", "two-parts", "three-parts"],
)
async def test_taking_a_body_at_hand_looks_one_message_ahead(messages: list[bytes], whole: bool) -> None:
    sent = [_request(chunk, i < len(messages) - 1) for i, chunk in enumerate(messages)]
    body = Body(_receiver(sent, wait=False), len(b"abc"))
    body.take_at_hand()
    assert body.is_complete is whole
    assert await body.read() == b"abc"
    streamed = Body(_receiver(sent, wait=False), len(b"abc"))
    streamed.take_at_hand()
    assert [chunk async for chunk in streamed] == ([b"abc"] if whole else [b"a", b"b", b"c"])


async def test_a_look_ahead_keeps_what_the_read_must_report() -> None:
    # A disconnect after the first part, or a body over the limit, is
    # reported by the read, not by taking the body early.
    body = Body(_receiver([_request(b"ab", True)], wait=False))  # then the client is gone
    body.take_at_hand()
    with pytest.raises(ClientDisconnected):
        await body.read()
    body = Body(_receiver([_request(b"ab", True), _request(b"cd")], wait=False), max_content_length=3)
    body.take_at_hand()
    assert not body.is_complete
    with pytest.raises(RequestEntityTooLarge):
        await body.read()
    # The part after the first still waits: the stream resumes with it.
    body = Body(_receiver([_request(b"ab", True), _request(b"cd")], wait=True))
    body.take_at_hand()
    assert await body.read() == b"abcd"

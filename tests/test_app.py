from __future__ import annotations

import asyncio
import gc
import http.client
import logging
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import werkzeug.exceptions
import werkzeug.wrappers
from asgi_driver import Req, check_messages, make_scope
from werkzeug.datastructures import Headers
from werkzeug.exceptions import (
    BadRequest,
    BadRequestKeyError,
    Forbidden,
    HTTPException,
    InternalServerError,
    NotFound,
)

from microframe import (
    Microframe,
    Response,
    abort,
    after_this_request,
    current_app,
    g,
    request,
)

# -- return values ------------------------------------------------------------


async def _get(app: Microframe, path: str = "/") -> tuple[int, Headers, bytes]:
    response = await app.test_client().get(path)
    return response.status_code, response.headers, await response.get_data()


async def test_return_str_and_bytes(app: Microframe) -> None:
    @app.get("/str")
    async def text() -> str:
        return "héllo"

    @app.get("/bytes")
    def raw() -> bytes:
        return b"\x00\xff"

    status, headers, body = await _get(app, "/str")
    assert (status, body) == (200, "héllo".encode())
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Length"] == str(len("héllo".encode()))
    status, headers, body = await _get(app, "/bytes")
    assert (status, body) == (200, b"\x00\xff")


async def test_return_dict_and_list_as_json(app: Microframe) -> None:
    @app.get("/dict")
    async def as_dict() -> dict[str, Any]:
        return {"a": 1, "b": [True, None]}

    @app.get("/list")
    def as_list() -> list[Any]:
        return [1, "two"]

    client = app.test_client()
    response = await client.get("/dict")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert await response.get_json() == {"a": 1, "b": [True, None]}
    response = await client.get("/list")
    assert response.mimetype == "application/json"
    assert await response.get_json() == [1, "two"]


async def test_return_tuples(app: Microframe) -> None:
    @app.get("/status")
    async def with_status() -> Any:
        return "created", 201

    @app.get("/status-text")
    async def with_status_text() -> Any:
        return "teapot", "418 I'm a teapot"

    @app.get("/headers")
    async def with_headers() -> Any:
        return "h", {"X-A": "1"}

    @app.get("/headers-list")
    async def with_header_list() -> Any:
        return "h", [("X-B", "2")]

    @app.get("/all")
    def with_all() -> Any:
        return {"ok": True}, 202, Headers({"X-C": "3"})

    client = app.test_client()
    response = await client.get("/status")
    assert (response.status_code, await response.get_data()) == (201, b"created")
    response = await client.get("/status-text")
    assert response.status_code == 418
    response = await client.get("/headers")
    assert (response.status_code, response.headers["X-A"]) == (200, "1")
    response = await client.get("/headers-list")
    assert response.headers["X-B"] == "2"
    response = await client.get("/all")
    assert response.status_code == 202
    assert response.headers["X-C"] == "3"
    assert await response.get_json() == {"ok": True}


async def test_return_response_objects(app: Microframe) -> None:
    @app.get("/own")
    async def own() -> Response:
        response = Response("own", 203, mimetype="text/plain")
        response.set_cookie("k", "v")
        return response

    @app.get("/werkzeug")
    def wz() -> werkzeug.wrappers.Response:
        return werkzeug.wrappers.Response("from werkzeug", 202, {"X-Wz": "1"}, mimetype="text/csv")

    @app.get("/tuple")
    async def response_tuple() -> Any:
        return Response("r"), 404, {"X-T": "t"}

    client = app.test_client()
    response = await client.get("/own")
    assert response.status_code == 203
    assert response.mimetype == "text/plain"
    assert "k=v" in response.headers["Set-Cookie"]
    assert await response.get_data() == b"own"
    response = await client.get("/werkzeug")
    assert response.status_code == 202
    assert response.headers["X-Wz"] == "1"
    assert response.mimetype == "text/csv"
    assert await response.get_data() == b"from werkzeug"
    response = await client.get("/tuple")
    assert (response.status_code, response.headers["X-T"]) == (404, "t")


async def test_return_generators_are_streamed(app: Microframe, raw_request: Any) -> None:
    @app.get("/async")
    async def agen() -> Any:
        async def generate() -> AsyncIterator[str]:
            yield "a"
            yield request.args.get("x", "b")
            yield b"c"  # type: ignore[misc]

        return generate(), {"X-Stream": "yes"}

    @app.get("/sync")
    def sgen() -> Any:
        def generate() -> Iterator[str]:
            yield "1"
            yield request.args.get("x", "2")

        return generate()

    client = app.test_client()
    response = await client.get("/async", query_string={"x": "B"})
    assert response.status_code == 200
    assert response.headers["X-Stream"] == "yes"
    assert await response.get_data() == b"aBc"
    # Sync generators go through raw ASGI: through the test client, the
    # generator's close() can be cancelled by the client's disconnect and
    # finish on the worker after the test's loop is closed (a known race).
    raw = await raw_request(app, "GET", "/sync", query_string=b"x=two")
    assert (raw.status, raw.body) == (200, b"1two")
    raw = await raw_request(app, "GET", "/async")
    assert "content-length" not in raw.headers
    assert raw.body == b"abc"


async def test_return_none_names_the_view(app: Microframe) -> None:
    @app.get("/")
    async def forgot_return() -> None:
        pass

    with pytest.raises(TypeError, match="'forgot_return' did not return a valid response"):
        await app.test_client().get("/")


@pytest.mark.parametrize(
    "value",
    [42, 3.5, object(), {1, 2}, ("a", 200, {}, "extra"), ("only",)],
    ids=["int", "float", "object", "set", "4-tuple", "1-tuple"],
)
async def test_bad_return_types(app: Microframe, value: Any) -> None:
    @app.get("/")
    def bad() -> Any:
        return value

    with pytest.raises(TypeError) as info:
        await app.test_client().get("/")
    message = str(info.value)
    assert "'bad'" in message or "tuple" in message


async def test_bad_return_is_500_when_not_testing(app: Microframe, caplog: Any) -> None:
    app.config["TESTING"] = False

    @app.get("/")
    async def bad() -> Any:
        return 42

    response = await app.test_client().get("/")
    assert response.status_code == 500
    assert "Traceback" not in await response.get_data(as_text=True)
    assert any("'bad'" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


# -- hooks --------------------------------------------------------------------


async def test_before_request_short_circuits(app: Microframe) -> None:
    called: list[str] = []

    @app.before_request
    async def guard() -> Any:
        if request.args.get("blocked"):
            return "blocked", 403
        return None

    @app.before_request
    def second() -> None:
        called.append("second")

    @app.get("/")
    async def index() -> str:
        called.append("view")
        return "open"

    @app.after_request
    async def after(response: Response) -> Response:
        response.headers["X-After"] = "ran"
        return response

    client = app.test_client()
    response = await client.get("/", query_string={"blocked": "1"})
    assert (response.status_code, await response.get_data()) == (403, b"blocked")
    assert response.headers["X-After"] == "ran"
    assert called == []
    response = await client.get("/")
    assert await response.get_data() == b"open"
    assert called == ["second", "view"]


async def test_after_request_can_replace_response(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        return "original"

    @app.after_request
    async def replace(response: Response) -> Response:
        new = Response(f"wrapped({await response.get_data(as_text=True)})", 299)
        return new

    response = await app.test_client().get("/")
    assert response.status_code == 299
    assert await response.get_data() == b"wrapped(original)"


async def test_teardown_request_receives_exception(app: Microframe) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    app.config["TESTING"] = False
    seen: list[Any] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.teardown_appcontext
    async def teardown_app(exc: BaseException | None) -> None:
        seen.append(("app", exc))

    @app.get("/fail")
    async def fail() -> str:
        raise KeyError("boom")

    @app.get("/ok")
    async def ok() -> str:
        return "ok"

    client = app.test_client()
    response = await client.get("/fail")
    assert response.status_code == 500
    assert isinstance(seen[0], KeyError)
    assert seen[1][0] == "app" and isinstance(seen[1][1], KeyError)
    seen.clear()
    await client.get("/ok")
    assert seen == [None, ("app", None)]


async def test_should_ignore_error_hides_an_error_from_teardown() -> None:
    # Flask's hook: an app may keep some errors (here, a client leaving or
    # a lookup error) from its teardown functions, which then get None.
    class QuietApp(Microframe):
        def should_ignore_error(self, error: BaseException | None) -> bool:
            return isinstance(error, LookupError)

    app = QuietApp(__name__)
    seen: list[Any] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        seen.append(type(exc).__name__)

    @app.get("/lookup")
    async def lookup() -> str:
        raise KeyError("boom")

    @app.get("/value")
    async def value() -> str:
        raise ValueError("boom")

    client = app.test_client()
    assert (await client.get("/lookup")).status_code == 500
    assert (await client.get("/value")).status_code == 500
    assert seen == ["NoneType", "ValueError"]
    assert Microframe(__name__).should_ignore_error(KeyError()) is False


async def test_make_shell_context(app: Microframe) -> None:
    @app.shell_context_processor
    def models() -> dict[str, Any]:
        return {"User": "the model"}

    @app.shell_context_processor
    async def more() -> dict[str, Any]:
        return {"answer": 42}

    names = await asyncio.to_thread(app.make_shell_context)  # sync code, as the shell's
    assert names == {"app": app, "g": g, "User": "the model", "answer": 42}


async def test_teardown_runs_when_exception_propagates(app: Microframe) -> None:
    seen: list[Any] = []

    @app.teardown_request
    async def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.get("/")
    async def fail() -> str:
        raise ValueError("propagated")

    with pytest.raises(ValueError, match="propagated"):
        await app.test_client().get("/")
    assert len(seen) == 1 and isinstance(seen[0], ValueError)


async def test_handled_error_is_not_given_to_teardown(app: Microframe) -> None:
    seen: list[Any] = []

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        seen.append(exc)

    @app.errorhandler(ValueError)
    async def handle(error: ValueError) -> Any:
        return "handled", 400

    @app.get("/")
    async def fail() -> str:
        raise ValueError()

    response = await app.test_client().get("/")
    assert response.status_code == 400
    assert seen == [None]


async def test_failing_teardown_request_still_tears_down_app_context(
    app: Microframe, caplog: Any
) -> None:
    seen: list[str] = []

    @app.teardown_request
    def broken(exc: BaseException | None) -> None:
        raise RuntimeError("teardown broke")

    @app.teardown_appcontext
    def close(exc: BaseException | None) -> None:
        seen.append("app teardown")

    @app.get("/")
    async def index() -> str:
        return "ok"

    response = await app.test_client().get("/")
    assert (response.status_code, await response.get_data()) == (200, b"ok")
    assert seen == ["app teardown"]
    assert any(
        r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in caplog.records
    )


def test_failing_teardown_request_pops_app_context_sync(app: Microframe) -> None:
    seen: list[str] = []

    @app.teardown_request
    def broken(exc: BaseException | None) -> None:
        raise RuntimeError("teardown broke")

    app.teardown_appcontext(lambda exc: seen.append("app teardown"))
    with pytest.raises(RuntimeError, match="teardown broke"), app.test_request_context("/"):
        pass
    assert seen == ["app teardown"]


async def test_hooks_have_contexts_sync_and_async(app: Microframe) -> None:
    seen: list[str] = []

    def record(label: str) -> None:
        seen.append(f"{label}:{current_app.name}:{request.path}:{g.get('mark')}")

    @app.before_request
    async def before_async() -> None:
        g.mark = "m"
        record("before_async")

    @app.before_request
    def before_sync() -> None:
        record("before_sync")

    @app.after_request
    async def after_async(response: Response) -> Response:
        record("after_async")
        return response

    @app.after_request
    def after_sync(response: Response) -> Response:
        record("after_sync")
        return response

    @app.teardown_request
    def teardown_sync(exc: BaseException | None) -> None:
        record("teardown_sync")

    @app.teardown_request
    async def teardown_async(exc: BaseException | None) -> None:
        record("teardown_async")

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        seen.append(f"teardown_app:{current_app.name}:{g.get('mark')}")

    @app.get("/x")
    async def index() -> str:
        return "x"

    await app.test_client().get("/x")
    name = app.name
    assert seen == [
        f"before_async:{name}:/x:m",
        f"before_sync:{name}:/x:m",
        f"after_sync:{name}:/x:m",
        f"after_async:{name}:/x:m",
        f"teardown_async:{name}:/x:m",
        f"teardown_sync:{name}:/x:m",
        f"teardown_app:{name}:m",
    ]


async def test_after_this_request(app: Microframe) -> None:
    order: list[str] = []

    @app.after_request
    def app_after(response: Response) -> Response:
        order.append("app")
        return response

    @app.get("/async")
    async def async_view() -> str:
        @after_this_request
        async def add_header(response: Response) -> Response:
            order.append("this")
            response.headers["X-This"] = "async"
            return response

        return "a"

    @app.get("/sync")
    def sync_view() -> str:
        @after_this_request
        def add_header(response: Response) -> Response:
            response.headers["X-This"] = "sync"
            return response

        return "s"

    client = app.test_client()
    response = await client.get("/async")
    assert response.headers["X-This"] == "async"
    assert order == ["this", "app"]
    response = await client.get("/sync")
    assert response.headers["X-This"] == "sync"
    # Only for the request that registered it.
    response = await client.get("/")
    assert "X-This" not in response.headers


async def test_after_this_request_functions_run_in_the_order_added(app: Microframe) -> None:
    # As Flask's and Quart's process_response: the first added runs first,
    # so the last one to set a header has the last word.
    @app.get("/")
    async def index() -> str:
        @after_this_request
        def first(response: Response) -> Response:
            response.headers["X-Order"] = "first"
            response.headers.add("X-Seen", "first")
            return response

        @after_this_request
        async def second(response: Response) -> Response:
            response.headers["X-Order"] = "second"
            response.headers.add("X-Seen", "second")
            return response

        return "ok"

    response = await app.test_client().get("/")
    assert response.headers["X-Order"] == "second"
    assert response.headers.getlist("X-Seen") == ["first", "second"]


def test_after_this_request_outside_request() -> None:
    with pytest.raises(RuntimeError, match="request context"):
        after_this_request(lambda r: r)


# -- errors -------------------------------------------------------------------


async def test_errorhandler_for_code(app: Microframe) -> None:
    @app.errorhandler(404)
    async def not_found(error: NotFound) -> Any:
        return {"error": "nope", "code": error.code}, 404

    @app.errorhandler(403)
    def forbidden(error: Forbidden) -> Any:
        return f"forbidden: {error.description}", 403

    @app.get("/secret")
    async def secret() -> str:
        abort(403, description="members only")

    client = app.test_client()
    response = await client.get("/missing")
    assert response.status_code == 404
    assert await response.get_json() == {"error": "nope", "code": 404}
    response = await client.get("/secret")
    assert response.status_code == 403
    assert await response.get_data(as_text=True) == "forbidden: members only"


async def test_errorhandler_most_specific_class_wins(app: Microframe) -> None:
    class AppError(Exception):
        pass

    class NotAllowed(AppError):
        pass

    @app.errorhandler(Exception)
    async def any_error(error: Exception) -> Any:
        return "exception", 500

    @app.errorhandler(AppError)
    async def app_error(error: AppError) -> Any:
        return "app error", 400

    @app.errorhandler(NotAllowed)
    def not_allowed(error: NotAllowed) -> Any:
        return "not allowed", 403

    @app.get("/<kind>")
    async def raise_(kind: str) -> str:
        raise {"app": AppError, "not": NotAllowed, "other": RuntimeError}[kind]()

    client = app.test_client()
    for path, expected in [("/app", (400, b"app error")), ("/not", (403, b"not allowed")),
                           ("/other", (500, b"exception"))]:
        response = await client.get(path)
        assert (response.status_code, await response.get_data()) == expected


async def test_errorhandler_for_http_exception_classes(app: Microframe) -> None:
    @app.errorhandler(HTTPException)
    async def any_http(error: HTTPException) -> Any:
        return f"http {error.code}", error.code

    @app.errorhandler(NotFound)
    async def not_found(error: NotFound) -> Any:
        return "custom 404", 404

    @app.get("/bad")
    async def bad() -> str:
        raise BadRequest()

    client = app.test_client()
    response = await client.get("/missing")
    assert await response.get_data() == b"custom 404"
    response = await client.get("/bad")
    assert (response.status_code, await response.get_data()) == (400, b"http 400")
    response = await client.post("/bad")
    assert (response.status_code, await response.get_data()) == (405, b"http 405")


def test_errorhandler_registration_errors(app: Microframe) -> None:
    with pytest.raises(ValueError, match="not a recognized HTTP error code"):
        app.errorhandler(999)(lambda e: "x")
    with pytest.raises(TypeError, match="instance, not a class"):
        app.register_error_handler(ValueError(), lambda e: "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a subclass of Exception"):
        app.register_error_handler(int, lambda e: "x")  # type: ignore[arg-type]


async def test_http_exceptions_answered_with_status(app: Microframe) -> None:
    @app.get("/<int:code>")
    async def fail(code: int) -> str:
        abort(code)

    client = app.test_client()
    for code in (400, 401, 403, 404, 409, 410, 418, 429, 503):
        response = await client.get(f"/{code}")
        assert response.status_code == code
        assert "Traceback" not in await response.get_data(as_text=True)


async def test_abort_with_response(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        abort(Response("custom body", 402, {"X-Abort": "yes"}))

    response = await app.test_client().get("/")
    assert response.status_code == 402
    assert response.headers["X-Abort"] == "yes"
    assert await response.get_data() == b"custom body"


async def test_unhandled_exception_is_500_without_traceback(app: Microframe, caplog: Any) -> None:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/")
    async def fail() -> str:
        raise RuntimeError("secret detail")

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        response = await app.test_client().get("/")
    assert response.status_code == 500
    body = await response.get_data(as_text=True)
    assert "Traceback" not in body
    assert "secret detail" not in body
    assert "Internal Server Error" in body
    records = [r for r in caplog.records if r.name == app.logger.name]
    assert len(records) == 1
    assert "Exception on / [GET]" in records[0].getMessage()
    assert records[0].exc_info is not None and isinstance(records[0].exc_info[1], RuntimeError)


async def test_500_handler_gets_original_exception(app: Microframe) -> None:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.errorhandler(500)
    async def server_error(error: InternalServerError) -> Any:
        original = error.original_exception
        return f"sorry: {type(original).__name__}", 500

    @app.get("/")
    def fail() -> str:
        raise ZeroDivisionError()

    response = await app.test_client().get("/")
    assert response.status_code == 500
    assert await response.get_data() == b"sorry: ZeroDivisionError"


async def test_debug_mode_raises_in_tests_and_shows_the_server_a_traceback(app: Microframe) -> None:
    # As in Flask, DEBUG propagates the error: the test client raises it, and
    # a server gets the traceback page, then the error to log.
    app.config.update(TESTING=False, DEBUG=True)

    @app.get("/")
    async def fail() -> str:
        raise RuntimeError("visible <detail>")

    with pytest.raises(RuntimeError, match="visible"):
        await app.test_client().get("/")

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with pytest.raises(RuntimeError, match="visible"):
        await app(make_scope(Req()), receive, send)
    result = check_messages(sent)
    assert result.status == 500
    body = result.body.decode()
    assert "Traceback" in body
    assert "visible &lt;detail&gt;" in body
    assert "<detail>" not in body


async def test_propagate_exceptions(app: Microframe) -> None:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=True)

    @app.get("/")
    async def fail() -> str:
        raise LookupError("up")

    with pytest.raises(LookupError, match="up"):
        await app.test_client().get("/")


async def test_testing_propagates_by_default(app: Microframe) -> None:
    @app.get("/")
    def fail() -> str:
        raise LookupError("sync up")

    with pytest.raises(LookupError, match="sync up"):
        await app.test_client().get("/")


async def test_error_handler_that_raises(app: Microframe, caplog: Any) -> None:
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.errorhandler(ValueError)
    async def broken_handler(error: ValueError) -> Any:
        raise RuntimeError("handler broke")

    @app.errorhandler(404)
    async def broken_404(error: NotFound) -> Any:
        raise KeyError("404 handler broke")

    @app.get("/")
    async def fail() -> str:
        raise ValueError("first")

    client = app.test_client()
    response = await client.get("/")
    assert response.status_code == 500
    assert "Traceback" not in await response.get_data(as_text=True)
    response = await client.get("/missing")
    assert response.status_code == 500
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert any(isinstance(e, RuntimeError) for e in logged)
    assert any(isinstance(e, KeyError) for e in logged)


async def test_error_handler_that_raises_http_exception(app: Microframe) -> None:
    @app.errorhandler(ValueError)
    async def to_http(error: ValueError) -> Any:
        abort(400)

    @app.get("/")
    async def fail() -> str:
        raise ValueError()

    # Flask does not handle an HTTPException raised by an error handler:
    # with TESTING it propagates.
    with pytest.raises(BadRequest):
        await app.test_client().get("/")


async def test_exception_in_before_request_is_handled(app: Microframe) -> None:
    @app.before_request
    def fail() -> None:
        raise PermissionError("no")

    @app.errorhandler(PermissionError)
    def handle(error: PermissionError) -> Any:
        return f"handled {error}", 403

    @app.get("/")
    async def index() -> str:
        return "never"

    response = await app.test_client().get("/")
    assert (response.status_code, await response.get_data()) == (403, b"handled no")


async def test_exception_in_after_request_propagates_in_testing(app: Microframe) -> None:
    @app.after_request
    async def fail(response: Response) -> Response:
        raise RuntimeError("after failed")

    @app.get("/")
    async def index() -> str:
        return "x"

    with pytest.raises(RuntimeError, match="after failed"):
        await app.test_client().get("/")


# -- lifespan -----------------------------------------------------------------


async def test_lifespan_through_test_app(app: Microframe) -> None:
    events: list[str] = []

    @app.before_serving
    async def start() -> None:
        events.append(f"before_serving {current_app.name}")

    @app.before_serving
    def start_sync() -> None:
        events.append("before_serving sync")

    @app.while_serving
    async def around() -> AsyncIterator[None]:
        events.append("while_serving enter")
        yield
        events.append("while_serving exit")

    @app.after_serving
    async def stop() -> None:
        events.append("after_serving")

    @app.get("/")
    async def index() -> str:
        return "serving"

    async with app.test_app() as test_app:
        assert events == ["before_serving " + app.name, "before_serving sync", "while_serving enter"]
        response = await test_app.test_client().get("/")
        assert await response.get_data() == b"serving"
    assert events[3:] == ["while_serving exit", "after_serving"]


async def _lifespan(app: Microframe, *messages: str) -> list[dict[str, Any]]:
    incoming = [{"type": m} for m in messages]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)  # type: ignore[arg-type]
    return sent


async def test_raw_lifespan_messages(app: Microframe) -> None:
    events: list[str] = []
    app.before_serving(lambda: events.append("start"))
    app.after_serving(lambda: events.append("stop"))
    sent = await _lifespan(app, "lifespan.startup", "lifespan.shutdown")
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    assert events == ["start", "stop"]


async def test_raw_lifespan_startup_failure(app: Microframe, caplog: Any) -> None:
    @app.before_serving
    async def broken() -> None:
        raise ConnectionError("database unreachable")

    sent = await _lifespan(app, "lifespan.startup")
    assert len(sent) == 1
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "ConnectionError" in sent[0]["message"]
    assert "database unreachable" in sent[0]["message"]


async def test_raw_lifespan_shutdown_failure(app: Microframe, caplog: Any) -> None:
    @app.after_serving
    async def broken() -> None:
        raise OSError("flush failed")

    sent = await _lifespan(app, "lifespan.startup", "lifespan.shutdown")
    assert sent[0] == {"type": "lifespan.startup.complete"}
    assert sent[1]["type"] == "lifespan.shutdown.failed"
    assert "flush failed" in sent[1]["message"]


async def test_while_serving_that_does_not_stop(app: Microframe) -> None:
    @app.while_serving
    async def forever() -> AsyncIterator[None]:
        yield
        yield

    await app.startup()
    with pytest.raises(RuntimeError, match="didn't terminate"):
        await app.shutdown()


def test_unknown_scope_type(app: Microframe) -> None:
    import asyncio

    async def nothing() -> dict[str, Any]:
        return {}

    async def ignore(message: Any) -> None:
        return None

    with pytest.raises(ValueError, match="scope type"):
        asyncio.run(app({"type": "nonsense"}, nothing, ignore))  # type: ignore[arg-type,typeddict-item]


# -- app basics ---------------------------------------------------------------


def test_app_name_and_repr(app: Microframe) -> None:
    assert app.name == "conftest"
    assert repr(app) == "<Microframe 'conftest'>"
    assert app.testing is True
    assert app.secret_key == "test secret key"


async def test_sync_with_context_in_async_code_says_what_to_do(app: Microframe) -> None:
    with pytest.raises(RuntimeError, match=r"async with app\.app_context"), app.app_context():
        pass
    with pytest.raises(RuntimeError, match="async with"), app.test_request_context("/"):
        pass


def test_contexts_in_sync_code(app: Microframe) -> None:
    torn_down: list[Any] = []
    app.teardown_appcontext(torn_down.append)
    with app.test_request_context("/path?q=1"):
        assert request.args["q"] == "1"
        assert current_app.name == app.name
    assert torn_down == [None]


def test_instance_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must be absolute"):
        Microframe(__name__, instance_path="relative")


async def test_sync_test_client(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        return "hi"

    response = await app.test_client().get("/")
    assert response.status_code == 200


def test_sync_test_client_in_def_test(app: Microframe) -> None:
    @app.get("/")
    def index() -> dict[str, str]:
        return {"q": request.args["q"]}

    response = app.test_client().get("/", query_string={"q": "a"})
    assert response.status_code == 200
    assert response.get_json() == {"q": "a"}


async def test_missing_form_or_arg_key_is_400(app: Microframe) -> None:
    @app.get("/async")
    async def async_view() -> str:
        return request.args["missing"]

    @app.post("/sync")
    def sync_view() -> str:
        return request.form["missing"]

    client = app.test_client()
    response = await client.get("/async")
    assert response.status_code == 400
    assert "Bad Request" in await response.get_data(as_text=True)
    response = await client.post("/sync", form={"other": "1"})
    assert response.status_code == 400


async def test_missing_key_is_trapped_in_debug(app: Microframe) -> None:
    app.config.update(TESTING=False, DEBUG=True)

    @app.get("/")
    async def index() -> str:
        return request.args["missing"]

    # Trapped: raised like any other error (to the test here), naming the key.
    with pytest.raises(BadRequestKeyError) as info:
        await app.test_client().get("/")
    assert "missing" in info.value.get_description()


def test_instance_path_is_beside_a_package(tmp_path: Any, monkeypatch: Any) -> None:
    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from microframe import Microframe\napp = Microframe(__name__)\n"
    )
    (tmp_path / "mymod.py").write_text(
        "from microframe import Microframe\napp = Microframe(__name__)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    pkg = importlib.import_module("mypkg")
    mod = importlib.import_module("mymod")
    try:
        assert pkg.app.instance_path == str(tmp_path / "instance")
        assert mod.app.instance_path == str(tmp_path / "instance")
        assert pkg.app.root_path == str(package)
    finally:
        import sys

        sys.modules.pop("mypkg", None)
        sys.modules.pop("mymod", None)


def test_open_resource_in_sync_and_async_code(tmp_path: Any) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE t (x);\n")
    (tmp_path / "instance").mkdir()
    app = Microframe(__name__, root_path=str(tmp_path), instance_path=str(tmp_path / "instance"))
    with app.open_resource("schema.sql") as f:
        assert f.read() == b"CREATE TABLE t (x);\n"
    with app.open_resource("schema.sql", "r", encoding="utf-8") as f:
        assert f.read().startswith("CREATE")
    for mode in ("w", "a", "r+", "x"):
        with pytest.raises(ValueError, match="only be opened for reading"):
            app.open_resource("schema.sql", mode)
    with pytest.raises(FileNotFoundError):
        app.open_resource("missing.sql")
    with app.open_instance_resource("notes.txt", "w") as f:
        f.write("kept")
    assert (tmp_path / "instance" / "notes.txt").read_text() == "kept"

    async def read_async() -> tuple[bytes, bytes, str]:
        async with await app.open_resource("schema.sql") as f:  # Quart's form
            first = await f.read()
        async with app.open_resource("schema.sql") as f:
            second = await f.read()
        async with await app.open_instance_resource("notes.txt", "r") as f:
            third = await f.read()
        return first, second, third

    assert asyncio.run(read_async()) == (b"CREATE TABLE t (x);\n",) * 2 + ("kept",)


def test_abort_uses_the_apps_aborter() -> None:
    class Teapot(HTTPException):
        code = 418
        description = "short and stout"

    class MyAborter(werkzeug.exceptions.Aborter):
        pass

    class App(Microframe):
        aborter_class = MyAborter

    app = App(__name__)
    assert isinstance(app.aborter, MyAborter)
    app.aborter.mapping[418] = Teapot

    @app.get("/")
    def index() -> str:
        abort(418)

    response = app.test_client().get("/")
    assert response.status_code == 418
    assert "short and stout" in response.text


@pytest.mark.parametrize(
    ("debug", "trap", "key_error_raised", "abort_raised"),
    [
        (False, None, False, False),
        (True, None, True, False),
        (False, True, True, True),
        (True, False, False, False),
    ],
)
def test_trap_bad_request_errors(
    debug: bool, trap: bool | None, key_error_raised: bool, abort_raised: bool
) -> None:
    app = Microframe(__name__)
    app.config.update(TESTING=True, DEBUG=debug, TRAP_BAD_REQUEST_ERRORS=trap)

    @app.get("/key")
    def key() -> str:
        return request.form["missing"]

    @app.get("/abort")
    def bad() -> str:
        abort(400)

    client = app.test_client()
    if key_error_raised:
        with pytest.raises(BadRequestKeyError, match="missing"):
            client.get("/key")
    else:
        response = client.get("/key")
        assert response.status_code == 400
        # The missing key is named on the page in debug mode only.
        assert ("missing" in response.text) == debug
    if abort_raised:
        with pytest.raises(BadRequest):
            client.get("/abort")
    else:
        assert client.get("/abort").status_code == 400


def test_an_app_is_freed_when_its_last_reference_goes() -> None:
    gc.disable()
    try:
        app = Microframe(__name__)
        assert app.view_functions["static"]
        ref = weakref.ref(app)
        del app
        assert ref() is None
    finally:
        gc.enable()


TUPLE_HEADERS_APP = '''
from microframe import Microframe

app = Microframe(__name__)


@app.get("/replace")
def replace():
    return "text", 200, {"Content-Type": "text/plain", "X-Several": ["a", "b"], "X-Number": 7}


@app.get("/lowercase")
def lowercase():
    return "text", {"content-type": "text/csv", "Content-Length": "4"}


@app.get("/newline")
def newline():
    return "text", {"X-Bad": "a\\r\\nSet-Cookie: injected=1"}
'''


def _check_tuple_headers(pairs: list[tuple[str, str]], body: bytes) -> None:
    # In Flask's order (checked against Flask 3.1): the dict's headers, its
    # Content-Type replacing the default one, then the body's length.
    assert pairs == [
        ("content-type", "text/plain"),
        ("x-several", "a"),
        ("x-several", "b"),
        ("x-number", "7"),
        ("content-length", "4"),
    ]
    assert body == b"text"


async def test_tuple_header_dicts_replace_in_place(tmp_path: Any) -> None:
    (tmp_path / "tuple_headers_app.py").write_text(TUPLE_HEADERS_APP)
    namespace: dict[str, Any] = {}
    exec(TUPLE_HEADERS_APP, namespace)
    client = namespace["app"].test_client()
    for _ in range(2):  # the same dict again: its checked form is remembered
        response = await client.get("/replace")
        pairs = [(k.lower(), v) for k, v in response.headers.items()]
        _check_tuple_headers(pairs, await response.get_data())
        response = await client.get("/lowercase")
        assert response.headers.getlist("Content-Type") == ["text/csv"]
        assert response.headers.getlist("Content-Length") == ["4"]
        response = await client.get("/newline")  # refused every time, not once
        assert response.status_code == 500
        assert "injected" not in response.headers.get("Set-Cookie", "")


def test_tuple_header_dicts_on_a_real_server(tmp_path: Any) -> None:
    from live_server import LiveServer

    (tmp_path / "tuple_headers_app.py").write_text(TUPLE_HEADERS_APP)
    server = LiveServer("tuple_headers_app:app", [tmp_path], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("GET", "/replace")
            answer = conn.getresponse()
            pairs = [(k.lower(), v) for k, v in answer.getheaders() if k.lower() not in ("date", "server")]
            _check_tuple_headers(pairs, answer.read())
            conn.request("GET", "/newline")
            answer = conn.getresponse()
            assert answer.status == 500
            assert answer.getheader("Set-Cookie") is None
            answer.read()
        finally:
            conn.close()
    finally:
        server.stop()

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import RequestRedirect

from microframe import Blueprint, Microframe, Response, current_app, g, request


async def test_async_view_runs_on_loop_thread(app: Microframe) -> None:
    seen: list[int] = []

    @app.get("/")
    async def index() -> str:
        seen.append(threading.get_ident())
        return "ok"

    await app.test_client().get("/")
    assert seen == [threading.get_ident()]


async def test_sync_view_runs_on_worker_thread(app: Microframe) -> None:
    seen: dict[str, Any] = {}

    @app.get("/")
    def index() -> str:
        seen["thread"] = threading.get_ident()
        seen["app"] = current_app.name
        seen["path"] = request.path
        return "sync"

    response = await app.test_client().get("/")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "sync"
    assert seen["thread"] != threading.get_ident()
    assert seen["app"] == app.name
    assert seen["path"] == "/"


async def test_all_sync_code_of_a_request_shares_one_thread(app: Microframe) -> None:
    threads: dict[str, int] = {}

    @app.before_request
    def before() -> None:
        threads["before"] = threading.get_ident()
        g.db = sqlite3.connect(":memory:")

    @app.get("/")
    def index() -> str:
        threads["view"] = threading.get_ident()
        # sqlite3 objects refuse to be used from another thread.
        return str(g.db.execute("select 40 + 2").fetchone()[0])

    @app.after_request
    def after(response: Response) -> Response:
        threads["after"] = threading.get_ident()
        g.db.execute("select 1")
        return response

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        threads["teardown_request"] = threading.get_ident()
        g.db.execute("select 1")

    @app.teardown_appcontext
    def teardown_appcontext(exc: BaseException | None) -> None:
        threads["teardown_appcontext"] = threading.get_ident()
        g.db.close()

    response = await app.test_client().get("/")
    assert await response.get_data(as_text=True) == "42"
    assert set(threads) == {"before", "view", "after", "teardown_request", "teardown_appcontext"}
    assert len(set(threads.values())) == 1
    assert threads["view"] != threading.get_ident()


async def test_blocking_sync_view_does_not_block_async_requests(app: Microframe) -> None:
    finished: list[str] = []

    @app.get("/slow")
    def slow() -> str:
        time.sleep(0.3)
        finished.append("slow")
        return "slow"

    @app.get("/fast")
    async def fast() -> str:
        finished.append("fast")
        return "fast"

    client = app.test_client()

    async def fast_later() -> Any:
        await asyncio.sleep(0.02)  # let the slow request start first
        started = time.perf_counter()
        response = await client.get("/fast")
        return response, time.perf_counter() - started

    start = time.perf_counter()
    slow_response, (fast_response, fast_time) = await asyncio.gather(client.get("/slow"), fast_later())
    assert await slow_response.get_data(as_text=True) == "slow"
    assert await fast_response.get_data(as_text=True) == "fast"
    assert finished == ["fast", "slow"]
    assert fast_time < 0.25
    assert time.perf_counter() - start >= 0.3


async def test_concurrent_sync_views_run_in_parallel(app: Microframe) -> None:
    @app.get("/sleep")
    def sleep() -> str:
        time.sleep(0.2)
        return str(threading.get_ident())

    client = app.test_client()
    start = time.perf_counter()
    responses = await asyncio.gather(*(client.get("/sleep") for _ in range(4)))
    elapsed = time.perf_counter() - start
    assert elapsed < 0.7
    threads = {await r.get_data(as_text=True) for r in responses}
    assert len(threads) == 4


async def test_sync_view_reads_request_directly(app: Microframe) -> None:
    @app.post("/form")
    def form() -> dict[str, Any]:
        return {"form": request.form.to_dict(), "args": request.args.to_dict()}

    @app.post("/json")
    def json_view() -> dict[str, Any]:
        return {"json": request.get_json(), "is_json": request.is_json, "prop": request.json}

    @app.post("/data")
    def data() -> bytes:
        return request.data[::-1]

    @app.post("/values")
    def values() -> dict[str, Any]:
        return {"values": request.values.to_dict()}

    client = app.test_client()
    response = await client.post("/form", form={"a": "1", "b": "two"}, query_string={"q": "x"})
    assert await response.get_json() == {"form": {"a": "1", "b": "two"}, "args": {"q": "x"}}
    response = await client.post("/json", json={"k": [1, 2, None]})
    assert await response.get_json() == {
        "json": {"k": [1, 2, None]},
        "is_json": True,
        "prop": {"k": [1, 2, None]},
    }
    response = await client.post("/data", data=b"abc")
    assert await response.get_data() == b"cba"
    response = await client.post("/values", form={"f": "1"}, query_string={"q": "2"})
    assert await response.get_json() == {"values": {"f": "1", "q": "2"}}


async def test_sync_view_bad_json_is_400(app: Microframe) -> None:
    @app.post("/json")
    def json_view() -> Any:
        return {"json": request.get_json()}

    client = app.test_client()
    response = await client.post("/json", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    response = await client.post("/json", data=b"plain", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


async def test_async_view_reads_request_awaiting(app: Microframe) -> None:
    @app.post("/")
    async def index() -> dict[str, Any]:
        form = await request.form
        return {"form": form.to_dict(), "args": request.args.to_dict()}

    @app.post("/json")
    async def json_view() -> dict[str, Any]:
        return {"json": await request.get_json(), "data": await request.get_data(as_text=True)}

    client = app.test_client()
    response = await client.post("/", form={"a": "b"}, query_string={"q": "1"})
    assert await response.get_json() == {"form": {"a": "b"}, "args": {"q": "1"}}
    response = await client.post("/json", json=[1])
    assert await response.get_json() == {"json": [1], "data": "[1]"}


async def test_sync_hooks_and_handlers_see_contexts(app: Microframe) -> None:
    log: list[str] = []

    @app.before_request
    def before() -> None:
        g.user = "ada"
        log.append(f"before {request.path}")

    @app.get("/")
    async def index() -> str:
        return f"user {g.user}"

    @app.after_request
    def after(response: Response) -> Response:
        log.append(f"after {g.user} {request.endpoint}")
        response.headers["X-User"] = g.user
        return response

    @app.teardown_request
    def teardown(exc: BaseException | None) -> None:
        log.append(f"teardown {request.path} {exc!r}")

    response = await app.test_client().get("/")
    assert await response.get_data(as_text=True) == "user ada"
    assert response.headers["X-User"] == "ada"
    assert log == ["before /", "after ada index", "teardown / None"]


async def test_hook_order_with_nested_blueprints(app: Microframe) -> None:
    log: list[str] = []
    parent = Blueprint("parent", __name__, url_prefix="/p")
    child = Blueprint("child", __name__, url_prefix="/c")

    def hooks(scaffold: Any, label: str) -> None:
        @scaffold.before_request
        async def before() -> None:
            log.append(f"before {label}")

        @scaffold.after_request
        def after(response: Response) -> Response:
            log.append(f"after {label}")
            return response

        @scaffold.teardown_request
        async def teardown(exc: BaseException | None) -> None:
            log.append(f"teardown {label}")

    hooks(app, "app")
    hooks(parent, "parent")
    hooks(child, "child")

    @child.get("/")
    async def index() -> str:
        log.append("view")
        return "ok"

    parent.register_blueprint(child)
    app.register_blueprint(parent)
    response = await app.test_client().get("/p/c/")
    assert response.status_code == 200
    assert log == [
        "before app",
        "before parent",
        "before child",
        "view",
        "after child",
        "after parent",
        "after app",
        "teardown child",
        "teardown parent",
        "teardown app",
    ]


async def test_hooks_of_one_scaffold_run_in_registration_order(app: Microframe) -> None:
    log: list[str] = []

    @app.before_request
    def b1() -> None:
        log.append("b1")

    @app.before_request
    async def b2() -> None:
        log.append("b2")

    @app.after_request
    def a1(response: Response) -> Response:
        log.append("a1")
        return response

    @app.after_request
    def a2(response: Response) -> Response:
        log.append("a2")
        return response

    @app.get("/")
    async def index() -> str:
        return "x"

    await app.test_client().get("/")
    # before: registration order; after: reverse registration order (as Flask).
    assert log == ["b1", "b2", "a2", "a1"]


async def test_unrouted_requests_leave_no_cyclic_garbage(app: Microframe) -> None:
    import gc

    @app.get("/here")
    async def here() -> str:
        return "here"

    @app.errorhandler(404)
    async def missing(error: Exception) -> tuple[str, int]:
        return "custom missing", 404

    client = app.test_client()
    for _ in range(3):  # warm caches
        await client.get("/nowhere")
        await client.post("/here")
    gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            response = await client.get("/nowhere")
            assert response.status_code == 404
            assert await response.get_data(as_text=True) == "custom missing"
            assert (await client.post("/here")).status_code == 405
        # The test client's own bookkeeping may make some; a request whose
        # error tied it to itself would make dozens each.
        assert gc.collect() < 20
    finally:
        gc.enable()


async def test_overridden_dispatch_request_still_sees_routing_errors() -> None:
    seen: list[str] = []

    class Traced(Microframe):  # Quart's style: async, the context optional
        async def dispatch_request(self, request_context: Any = None) -> Any:
            seen.append(request.path)
            return await super().dispatch_request(request_context)

    app = Traced(__name__)
    response = await app.test_client().get("/missing")
    assert response.status_code == 404
    assert seen == ["/missing"]


def test_a_sync_override_in_flasks_style_runs_on_the_requests_thread() -> None:
    threads: list[str] = []

    class Traced(Microframe):  # Flask's style: a plain method calling super()
        def dispatch_request(self) -> Any:
            threads.append(threading.current_thread().name)
            return super().dispatch_request()

    app = Traced(__name__)

    @app.get("/")
    def index() -> str:
        threads.append(threading.current_thread().name)
        return "ok"

    response = app.test_client().get("/")
    assert response.text == "ok"
    # The view ran nested on the override's thread: a thread-bound resource
    # opened by either is usable by the other, as under Flask.
    assert len(threads) == 2
    assert threads[0] == threads[1]
    assert threads[0].startswith("microframe-sync-worker")


async def test_overridden_finalize_request_is_still_called() -> None:
    class Stamped(Microframe):
        async def finalize_request(
            self, rv: Any, request_context: Any = None, from_error_handler: bool = False
        ) -> Any:
            response = await super().finalize_request(rv, request_context, from_error_handler)
            response.headers["X-Finalized"] = "yes"
            return response

    app = Stamped(__name__)

    @app.get("/")
    async def index() -> str:
        return "ok"

    client = app.test_client()
    for path, status in (("/", 200), ("/missing", 404)):
        response = await client.get(path)
        assert response.status_code == status
        assert response.headers["X-Finalized"] == "yes"


def test_a_hook_added_during_a_request_runs_from_that_request_on() -> None:
    # Flask-Caching's pattern: a view appends an after_request hook.
    app = Microframe(__name__)

    def stamp(response: Response) -> Response:
        response.headers["X-Stamped"] = "yes"
        return response

    @app.get("/")
    def index() -> str:
        funcs = app.after_request_funcs[None]
        if stamp not in funcs:
            funcs.append(stamp)
        return "ok"

    client = app.test_client()
    assert client.get("/").headers["X-Stamped"] == "yes"
    assert client.get("/").headers["X-Stamped"] == "yes"
    app.after_request_funcs[None].remove(stamp)
    app.before_request_funcs.setdefault(None, []).append(lambda: "from a hook")
    response = client.get("/")
    assert "X-Stamped" not in response.headers
    assert response.text == "from a hook"


def test_an_extension_wrapping_handle_exception_in_a_sync_function() -> None:
    # Flask-Cors' pattern: app.handle_exception and app.handle_user_exception
    # replaced by plain functions that call the originals and make responses.
    app = Microframe(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def wrap(original: Any) -> Any:
        def wrapped(error: Exception) -> Response:
            response = app.make_response(original(error))
            response.headers["X-Wrapped"] = type(error).__name__
            return response

        return wrapped

    app.handle_exception = wrap(app.handle_exception)  # type: ignore[method-assign]
    app.handle_user_exception = wrap(app.handle_user_exception)  # type: ignore[method-assign]

    @app.get("/boom")
    async def boom() -> str:
        raise RuntimeError("boom")

    @app.get("/gone")
    def gone() -> str:
        raise NotFound()

    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.headers["X-Wrapped"] == "RuntimeError"
    response = client.get("/gone")
    assert response.status_code == 404
    assert response.headers["X-Wrapped"] == "NotFound"
    response = client.get("/missing")  # routing errors take the same way
    assert response.status_code == 404
    assert response.headers["X-Wrapped"] == "NotFound"


def test_a_make_response_override_in_flasks_style() -> None:
    class Lenient(Microframe):
        def make_response(self, rv: Any) -> Any:
            if rv is None:
                rv = ""
            return super().make_response(rv)

    app = Lenient(__name__)

    @app.get("/")
    def index() -> None:
        return None

    response = app.test_client().get("/")
    assert response.status_code == 200
    assert response.data == b""


async def test_user_exception_and_logging_overrides_in_both_styles(caplog: Any) -> None:
    logged: list[Any] = []

    class Custom(Microframe):
        async def handle_user_exception(self, error: Exception) -> Any:
            if isinstance(error, KeyError):
                return "handled by the override", 418
            return await super().handle_user_exception(error)

        def log_exception(self, exc_info: Any) -> None:  # Flask's signature
            logged.append(exc_info[0])

    app = Custom(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/key")
    async def key() -> str:
        raise KeyError("x")

    @app.get("/zero")
    async def zero() -> str:
        raise ZeroDivisionError()

    client = app.test_client()
    response = await client.get("/key")
    assert response.status_code == 418
    assert await response.get_data() == b"handled by the override"
    response = await client.get("/zero")
    assert response.status_code == 500
    assert logged == [ZeroDivisionError]


def test_default_options_response_from_a_sync_view() -> None:
    # Flask-Cors' cross_origin decorator answers OPTIONS itself this way.
    app = Microframe(__name__)

    @app.route("/items", methods=["GET", "POST", "OPTIONS"])
    def items() -> Any:
        if request.method == "OPTIONS":
            response = current_app.make_default_options_response()
            response.headers["X-Preflight"] = "1"
            return response
        return "items"

    response = app.test_client().options("/items")
    assert response.status_code == 200
    assert response.headers["X-Preflight"] == "1"
    assert set(response.allow) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_debug_mode_explains_a_redirect_that_would_drop_a_form(monkeypatch: Any) -> None:
    app = Microframe(__name__)
    app.config.update(DEBUG=True, TESTING=True)

    @app.post("/items/")
    def items() -> str:
        return request.form["name"]

    client = app.test_client()
    # werkzeug's slash redirect is a 308, which keeps the method and body.
    response = client.post("/items", data={"name": "kept"})
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/items/"
    # A redirect code that loses the body is refused in debug mode, with why.
    monkeypatch.setattr(RequestRedirect, "code", 301)
    with pytest.raises(AssertionError, match="canonical URL 'http://localhost/items/'"):
        client.post("/items", data={"name": "lost"})
    app.config["DEBUG"] = False
    assert client.post("/items", data={"name": "lost"}).status_code == 301


REPLACED_VIEWS_APP = '''
import functools

from microframe import Microframe, g

app = Microframe(__name__)
torn_down = []
swaps = []


@app.get("/page")
async def page():
    return "original"


@app.get("/swap")
async def swap():
    # A decorator applied to a registered view, as extensions do: the sync
    # replacement runs on the worker thread, the async one on the loop.
    swaps.append(1)
    if len(swaps) % 2:
        def page_sync():
            return "replaced, sync"
        app.view_functions["page"] = page_sync
    else:
        async def page_async():
            return "replaced, async"
        app.view_functions["page"] = page_async
    return "swapped"


@app.get("/teardown")
async def add_teardown():
    # A teardown hook appended to the app's list after serving began.
    def record(exc):
        torn_down.append(g.get("mark", "none"))
    app.teardown_request_funcs.setdefault(None, []).append(record)
    return "added"


@app.get("/torn")
async def torn():
    g.mark = "seen"
    return ",".join(torn_down)
'''


def _check_replaced_views(get: Any) -> None:
    # Each call of get(path) returns (status, body) of one request.
    assert get("/page") == (200, "original")
    assert get("/swap") == (200, "swapped")
    assert get("/page") == (200, "replaced, sync")
    assert get("/teardown") == (200, "added")  # its own teardown runs it
    assert get("/torn") == (200, "none")  # after the response: not "seen" yet
    assert get("/torn") == (200, "none,seen")
    assert get("/swap") == (200, "swapped")
    assert get("/page") == (200, "replaced, async")


def test_views_replaced_and_teardown_added_while_serving(tmp_path: Any) -> None:
    # What the request cycle works out once per endpoint (its view, its
    # hooks) follows the app when a view or hook list changes later.
    namespace: dict[str, Any] = {}
    exec(compile(REPLACED_VIEWS_APP, "replaced_views_app", "exec"), namespace)
    client = namespace["app"].test_client()

    def get(path: str) -> tuple[int, str]:
        response = client.get(path)
        return response.status_code, response.text

    _check_replaced_views(get)


def test_views_replaced_and_teardown_added_on_a_real_server(tmp_path: Any) -> None:
    from live_server import LiveServer

    (tmp_path / "replaced_views_app.py").write_text(REPLACED_VIEWS_APP)
    server = LiveServer("replaced_views_app:app", [tmp_path], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()

        def get(path: str) -> tuple[int, str]:
            response, body = server.request("GET", path)
            return response.status, body.decode()

        _check_replaced_views(get)
    finally:
        server.stop()

"""Application and request contexts."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from microframe import (
    Microframe,
    after_this_request,
    copy_current_app_context,
    copy_current_request_context,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
)


@pytest.fixture
def app() -> Microframe:
    return Microframe(__name__)


def test_nothing_pushed() -> None:
    assert not has_app_context()
    assert not has_request_context()


def test_app_context_with(app: Microframe) -> None:
    torn: list[Any] = []
    app.teardown_appcontext(torn.append)
    with app.app_context() as ctx:
        assert has_app_context()
        assert not has_request_context()
        assert ctx.app is app
        assert current_app.name == app.name
    assert not has_app_context()
    assert torn == [None]


async def test_app_context_async_with(app: Microframe) -> None:
    torn: list[Any] = []

    @app.teardown_appcontext
    async def teardown(exc: BaseException | None) -> None:
        torn.append(exc)

    async with app.app_context():
        assert has_app_context()
        g.x = 1
    assert not has_app_context()
    assert torn == [None]


def test_app_context_teardown_gets_the_error(app: Microframe) -> None:
    torn: list[Any] = []
    app.teardown_appcontext(torn.append)
    with pytest.raises(ValueError, match="boom"), app.app_context():
        raise ValueError("boom")
    assert len(torn) == 1
    assert isinstance(torn[0], ValueError)
    assert not has_app_context()


def test_nested_app_context_tears_down_once_each(app: Microframe) -> None:
    torn: list[Any] = []
    app.teardown_appcontext(torn.append)
    ctx = app.app_context()
    with ctx:
        with ctx:
            assert has_app_context()
        assert torn == []
        assert has_app_context()
    assert torn == [None]


def test_popping_the_wrong_context_is_an_error(app: Microframe) -> None:
    outer = app.app_context()
    inner = app.app_context()
    outer.push()
    inner.push()
    # As in Flask: the error names the mix-up, and the app context is gone.
    with pytest.raises(AssertionError, match="Popped wrong app context"):
        outer.pop()
    assert not has_app_context()


def test_test_request_context_with(app: Microframe) -> None:
    torn: list[Any] = []

    @app.get("/item/<int:id>")
    def item(id: int) -> str:
        return str(id)

    app.teardown_request(torn.append)
    with app.test_request_context("/item/3", method="GET", headers={"X-A": "b"}):
        assert has_request_context()
        assert has_app_context()
        assert request.path == "/item/3"
        assert request.headers["X-A"] == "b"
        assert request.endpoint == "item"
        assert request.view_args == {"id": 3}
    assert not has_request_context()
    assert not has_app_context()
    assert torn == [None]


async def test_test_request_context_async_with(app: Microframe) -> None:
    async with app.test_request_context("/x", method="POST", json={"a": 1}):
        assert has_request_context()
        assert request.method == "POST"
        assert await request.get_json() == {"a": 1}
    assert not has_request_context()
    assert not has_app_context()


def test_request_context_reuses_an_app_context(app: Microframe) -> None:
    with app.app_context():
        g.kept = "yes"
        with app.test_request_context("/"):
            assert g.kept == "yes"
        assert has_app_context()
        assert g.kept == "yes"


def test_unmatched_request_context_keeps_the_error(app: Microframe) -> None:
    with app.test_request_context("/missing"):
        assert request.endpoint is None
        assert request.routing_exception is not None
        assert request.routing_exception.code == 404


async def test_copy_current_request_context_after_the_request(app: Microframe) -> None:
    results: list[Any] = []
    started = asyncio.Event()
    release = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    @app.get("/work")
    async def work() -> str:
        @copy_current_request_context
        async def background() -> None:
            started.set()
            await release.wait()
            results.append((request.path, request.args["n"], current_app.name))

        # An empty contextvars context: only the decorator can supply the request.
        tasks.append(asyncio.create_task(background(), context=contextvars.Context()))
        return "queued"

    response = await app.test_client().get("/work?n=7")
    assert response.status_code == 200
    assert await response.get_data() == b"queued"
    await asyncio.wait_for(started.wait(), 2)
    release.set()  # the request is over; the copy still sees its request
    await asyncio.wait_for(tasks[0], 2)
    assert results == [("/work", "7", app.name)]
    assert not has_request_context()


async def test_copy_current_app_context_in_a_task(app: Microframe) -> None:
    results: list[Any] = []
    tasks: list[asyncio.Task[None]] = []

    @app.get("/")
    async def index() -> str:
        g.token = "t"

        @copy_current_app_context
        async def background() -> None:
            await asyncio.sleep(0)
            results.append((current_app.name, g.token, has_request_context()))

        tasks.append(asyncio.create_task(background(), context=contextvars.Context()))
        return "ok"

    response = await app.test_client().get("/")
    assert response.status_code == 200
    await asyncio.wait_for(tasks[0], 2)
    assert results == [(app.name, "t", False)]


def test_copy_current_context_sync_function(app: Microframe) -> None:
    with app.test_request_context("/sync"):

        @copy_current_request_context
        def read_path() -> str:
            return request.path

        @copy_current_app_context
        def read_name() -> str:
            return current_app.name

    assert not has_request_context()
    assert read_path() == "/sync"
    assert read_name() == app.name
    assert not has_app_context()


async def test_a_copied_request_context_tears_down_in_its_thread(app: Microframe) -> None:
    # As Flask's copy: pushed and popped around the call, so what the
    # function opened in its thread (here on g) is torn down there, and the
    # copy shares the request's session.
    import threading

    app.secret_key = "copied"
    torn: list[tuple[str, str, int]] = []

    @app.teardown_request
    def request_done(exc: BaseException | None) -> None:
        torn.append(("request", request.path, threading.get_ident()))

    @app.teardown_appcontext
    def app_done(exc: BaseException | None) -> None:
        if g.get("opened"):
            torn.append(("app", g.opened, threading.get_ident()))

    @app.get("/spawn")
    def spawn() -> str:
        seen: dict[str, int] = {}

        @copy_current_request_context
        def work() -> None:
            seen["thread"] = threading.get_ident()
            g.opened = "in the thread"
            session["from_thread"] = request.args["n"]

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(5)
        torn.append(("joined", "", seen["thread"]))
        return "ok"

    client = app.test_client()
    response = await client.get("/spawn?n=3")
    assert response.status_code == 200
    assert [kind for kind, _, _ in torn] == ["request", "app", "joined", "request"]
    thread = torn[2][2]
    assert torn[0] == ("request", "/spawn", thread)  # the copy's teardown, in the thread
    assert torn[1] == ("app", "in the thread", thread)  # its own app context's
    assert torn[3][:2] == ("request", "/spawn") and torn[3][2] != thread  # the request's own
    async with client.session_transaction() as saved:
        assert saved["from_thread"] == "3"  # the copy's session is the request's


async def test_a_copied_request_context_in_a_task_tears_down(app: Microframe) -> None:
    torn: list[str] = []

    @app.teardown_request
    async def done(exc: BaseException | None) -> None:
        torn.append(request.args.get("who", ""))

    @app.get("/")
    async def index() -> str:
        @copy_current_request_context
        async def side() -> str:
            await asyncio.sleep(0)
            return request.args["who"]

        return await asyncio.create_task(side(), context=contextvars.Context())

    response = await app.test_client().get("/?who=task")
    assert await response.get_data() == b"task"
    assert torn == ["task", "task"]  # the copy's, then the request's


def test_copy_helpers_need_a_context() -> None:
    with pytest.raises(RuntimeError, match="request context is active"):
        copy_current_request_context(lambda: None)
    with pytest.raises(RuntimeError, match="application context is active"):
        copy_current_app_context(lambda: None)
    with pytest.raises(RuntimeError, match="request"):
        after_this_request(lambda response: response)


async def test_after_this_request(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        @after_this_request
        def add_header(response: Any) -> Any:
            response.headers["X-Foo"] = "Parachute"
            return response

        return "hello"

    @app.get("/plain")
    async def plain() -> str:
        return "plain"

    client = app.test_client()
    response = await client.get("/")
    assert response.headers["X-Foo"] == "Parachute"
    response = await client.get("/plain")
    assert "X-Foo" not in response.headers


def test_g_methods(app: Microframe) -> None:
    with app.app_context():
        assert g.get("missing") is None
        assert g.get("missing", 5) == 5
        g.a = 1
        assert g.get("a") == 1
        assert "a" in g
        assert "b" not in g
        assert g.setdefault("b", 2) == 2
        assert g.setdefault("b", 3) == 2
        assert sorted(g) == ["a", "b"]
        assert g.pop("a") == 1
        assert "a" not in g
        assert g.pop("a", "gone") == "gone"
        with pytest.raises(KeyError):
            g.pop("a")
        with pytest.raises(AttributeError):
            g.nothing  # noqa: B018
        del g.b
        assert list(g) == []
        with pytest.raises(AttributeError):
            del g.b
        assert app.name in repr(g)


async def test_g_is_fresh_for_each_request(app: Microframe) -> None:
    @app.get("/")
    async def index() -> Any:
        before = g.get("count")
        g.count = 1
        return {"before": before}

    client = app.test_client()
    for _ in range(2):
        response = await client.get("/")
        assert await response.get_json() == {"before": None}


async def test_teardown_runs_after_a_failing_view(app: Microframe) -> None:
    torn: list[Any] = []

    @app.get("/fail")
    async def fail() -> str:
        raise KeyError("nope")

    @app.teardown_request
    def teardown_request(exc: BaseException | None) -> None:
        torn.append(("request", type(exc).__name__))

    @app.teardown_appcontext
    def teardown_app(exc: BaseException | None) -> None:
        torn.append(("app", type(exc).__name__))

    response = await app.test_client().get("/fail")
    assert response.status_code == 500
    # As in Flask: teardown sees the unhandled error although a 500 was sent.
    assert torn == [("request", "KeyError"), ("app", "KeyError")]
    assert not has_request_context()

from __future__ import annotations

import inspect
import threading
from typing import Any

import pytest

from microframe import Microframe, request
from microframe.views import MethodView, View


def _loop_thread() -> int:
    return threading.get_ident()


async def test_view_async_dispatch(app: Microframe) -> None:
    class Hello(View):
        methods = ["GET", "POST"]

        def __init__(self, greeting: str) -> None:
            self.greeting = greeting

        async def dispatch_request(self, name: str) -> str:
            return f"{self.greeting}, {name} ({request.method})"

    view = Hello.as_view("hello", "Hi")
    assert inspect.iscoroutinefunction(view)
    assert view.__name__ == "hello"
    assert view.view_class is Hello  # type: ignore[attr-defined]
    app.add_url_rule("/hello/<name>", view_func=view)
    client = app.test_client()
    response = await client.get("/hello/ada")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "Hi, ada (GET)"
    response = await client.post("/hello/bob")
    assert await response.get_data(as_text=True) == "Hi, bob (POST)"
    response = await client.put("/hello/bob")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}


async def test_view_sync_dispatch_runs_on_worker_thread(app: Microframe) -> None:
    seen: dict[str, Any] = {}

    class Form(View):
        methods = ["POST"]

        def dispatch_request(self) -> str:
            seen["thread"] = threading.get_ident()
            return f"name={request.form['name']}"

    view = Form.as_view("form")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/form", view_func=view)
    response = await app.test_client().post("/form", form={"name": "ada"})
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "name=ada"
    assert seen["thread"] != _loop_thread()


async def test_view_not_implemented(app: Microframe) -> None:
    class Empty(View):
        pass

    app.add_url_rule("/", view_func=Empty.as_view("empty"))
    with pytest.raises(NotImplementedError, match="dispatch_request"):
        await app.test_client().get("/")


async def test_init_every_request(app: Microframe) -> None:
    instances: list[int] = []

    class Counter(View):
        def __init__(self) -> None:
            instances.append(id(self))
            self.count = 0

        async def dispatch_request(self) -> str:
            self.count += 1
            return str(self.count)

    class Shared(Counter):
        init_every_request = False

    app.add_url_rule("/every", view_func=Counter.as_view("every"))
    app.add_url_rule("/shared", view_func=Shared.as_view("shared"))
    assert len(instances) == 1  # Shared is created once, by as_view
    client = app.test_client()
    bodies = [await (await client.get("/every")).get_data(as_text=True) for _ in range(3)]
    assert bodies == ["1", "1", "1"]
    bodies = [await (await client.get("/shared")).get_data(as_text=True) for _ in range(3)]
    assert bodies == ["1", "2", "3"]
    assert len(instances) == 4


async def test_decorators_applied_in_order(app: Microframe) -> None:
    calls: list[str] = []

    def tag(label: str) -> Any:
        def decorator(func: Any) -> Any:
            async def wrapper(**kwargs: Any) -> Any:
                calls.append(label)
                return await func(**kwargs)

            return wrapper

        return decorator

    class Decorated(View):
        decorators = [tag("inner"), tag("outer")]

        async def dispatch_request(self) -> str:
            calls.append("view")
            return "ok"

    view = Decorated.as_view("decorated")
    assert view.__name__ == "decorated"
    assert view.view_class is Decorated  # type: ignore[attr-defined]
    app.add_url_rule("/", view_func=view)
    response = await app.test_client().get("/")
    assert await response.get_data(as_text=True) == "ok"
    assert calls == ["outer", "inner", "view"]


async def test_method_view_methods_from_handlers(app: Microframe) -> None:
    class Items(MethodView):
        async def get(self) -> str:
            return "list"

        async def post(self) -> tuple[str, int]:
            return "created", 201

    assert Items.methods == {"GET", "POST"}

    class MoreItems(Items):
        async def delete(self) -> tuple[str, int]:
            return "", 204

    assert MoreItems.methods == {"GET", "POST", "DELETE"}

    app.add_url_rule("/items", view_func=MoreItems.as_view("items"))
    client = app.test_client()
    response = await client.get("/items")
    assert (response.status_code, await response.get_data(as_text=True)) == (200, "list")
    response = await client.post("/items")
    assert (response.status_code, await response.get_data(as_text=True)) == (201, "created")
    response = await client.delete("/items")
    assert response.status_code == 204
    response = await client.put("/items")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "DELETE", "OPTIONS"}


async def test_method_view_head_falls_back_to_get(app: Microframe) -> None:
    class Page(MethodView):
        async def get(self) -> tuple[str, dict[str, str]]:
            return "page body", {"X-Method": request.method}

    app.add_url_rule("/", view_func=Page.as_view("page"))
    client = app.test_client()
    get = await client.get("/")
    head = await client.head("/")
    assert get.headers["X-Method"] == "GET"
    assert await get.get_data() == b"page body"
    assert head.status_code == 200
    assert head.headers["X-Method"] == "HEAD"
    assert await head.get_data() == b""


async def test_method_view_explicit_head(app: Microframe) -> None:
    class Page(MethodView):
        async def get(self) -> str:
            return "body"

        async def head(self) -> tuple[str, dict[str, str]]:
            return "", {"X-Head": "own"}

    app.add_url_rule("/", view_func=Page.as_view("page"))
    response = await app.test_client().head("/")
    assert response.headers["X-Head"] == "own"


async def test_method_view_all_sync_is_a_sync_view(app: Microframe) -> None:
    threads: list[int] = []

    class Api(MethodView):
        def get(self, item_id: int) -> dict[str, Any]:
            threads.append(threading.get_ident())
            return {"id": item_id, "q": request.args.get("q")}

        def post(self, item_id: int) -> dict[str, Any]:
            threads.append(threading.get_ident())
            return {"id": item_id, "json": request.get_json()}

    view = Api.as_view("api")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/api/<int:item_id>", view_func=view)
    client = app.test_client()
    response = await client.get("/api/3", query_string={"q": "x"})
    assert await response.get_json() == {"id": 3, "q": "x"}
    response = await client.post("/api/4", json={"a": [1, 2]})
    assert await response.get_json() == {"id": 4, "json": {"a": [1, 2]}}
    assert threads and all(t != _loop_thread() for t in threads)


async def test_method_view_mixed_handlers(app: Microframe) -> None:
    threads: dict[str, int] = {}

    class Mixed(MethodView):
        async def get(self) -> str:
            threads["get"] = threading.get_ident()
            return "async get"

        def post(self) -> str:
            threads["post"] = threading.get_ident()
            return f"sync post {request.form['x']}"

    view = Mixed.as_view("mixed")
    assert inspect.iscoroutinefunction(view)
    app.add_url_rule("/", view_func=view)
    client = app.test_client()
    response = await client.get("/")
    assert await response.get_data(as_text=True) == "async get"
    response = await client.post("/", form={"x": "1"})
    assert await response.get_data(as_text=True) == "sync post 1"
    assert threads["get"] == _loop_thread()
    assert threads["post"] != _loop_thread()


async def test_method_view_sync_handler_shares_request_thread(app: Microframe) -> None:
    threads: list[int] = []

    @app.before_request
    def before() -> None:
        threads.append(threading.get_ident())

    class Mixed(MethodView):
        async def get(self) -> str:
            return "a"

        def post(self) -> str:
            threads.append(threading.get_ident())
            return "s"

    app.add_url_rule("/", view_func=Mixed.as_view("mixed"))
    await app.test_client().post("/")
    assert len(threads) == 2 and threads[0] == threads[1] != _loop_thread()


async def test_method_view_async_dispatch_override(app: Microframe) -> None:
    class Logged(MethodView):
        async def dispatch_request(self, **kwargs: Any) -> Any:
            rv = await super().dispatch_request(**kwargs)
            return f"[{rv}]"

        def get(self) -> str:
            return "sync get"

    app.add_url_rule("/", view_func=Logged.as_view("logged"))
    response = await app.test_client().get("/")
    assert await response.get_data(as_text=True) == "[sync get]"


async def test_method_view_sync_dispatch_override(app: Microframe) -> None:
    class Logged(MethodView):
        def dispatch_request(self, **kwargs: Any) -> Any:
            return f"<{super().dispatch_request(**kwargs)}>"

        async def get(self) -> str:
            return "async get"

    view = Logged.as_view("logged")
    assert not inspect.iscoroutinefunction(view)
    app.add_url_rule("/", view_func=view)
    response = await app.test_client().get("/")
    assert await response.get_data(as_text=True) == "<async get>"


async def test_method_view_provide_automatic_options(app: Microframe) -> None:
    class NoOptions(MethodView):
        provide_automatic_options = False

        async def get(self) -> str:
            return "x"

    class WithOptions(MethodView):
        async def get(self) -> str:
            return "x"

    app.add_url_rule("/no", view_func=NoOptions.as_view("no"))
    app.add_url_rule("/yes", view_func=WithOptions.as_view("yes"))
    client = app.test_client()
    response = await client.options("/no")
    assert response.status_code == 405
    response = await client.options("/yes")
    assert response.status_code == 200
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


async def test_method_view_explicit_methods_kept(app: Microframe) -> None:
    class Limited(MethodView):
        methods = ["GET"]

        async def get(self) -> str:
            return "g"

        async def post(self) -> str:
            return "p"

    app.add_url_rule("/", view_func=Limited.as_view("limited"))
    client = app.test_client()
    assert (await client.get("/")).status_code == 200
    assert (await client.post("/")).status_code == 405


async def test_method_view_unimplemented_method(app: Microframe) -> None:
    class OnlyGet(MethodView):
        async def get(self) -> str:
            return "g"

    app.add_url_rule("/", view_func=OnlyGet.as_view("only"), methods=["GET", "POST"])
    with pytest.raises(AssertionError, match="Unimplemented method 'POST'"):
        await app.test_client().post("/")


async def test_method_view_url_for_and_blueprint(app: Microframe) -> None:
    from microframe import Blueprint, url_for

    bp = Blueprint("api", __name__, url_prefix="/api")

    class User(MethodView):
        async def get(self, user_id: int) -> str:
            return url_for(".user", user_id=user_id + 1)

    bp.add_url_rule("/users/<int:user_id>", view_func=User.as_view("user"))
    app.register_blueprint(bp)
    response = await app.test_client().get("/api/users/1")
    assert await response.get_data(as_text=True) == "/api/users/2"


def test_view_in_sync_test_client(app: Microframe) -> None:
    class Sync(MethodView):
        def get(self) -> str:
            return "sync client"

    app.add_url_rule("/", view_func=Sync.as_view("sync"))
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "sync client"


@pytest.mark.parametrize("is_async", [False, True])
def test_the_view_function_closes_over_class_args_and_kwargs(is_async: bool) -> None:
    # Flask-Injector reads them from the view's closure to build the class
    # itself (with its injections), as it does with Flask's as_view.
    class Sync(View):
        def dispatch_request(self) -> str:
            return "sync"

    class Async(View):
        async def dispatch_request(self) -> str:
            return "async"

    view = (Async if is_async else Sync).as_view("v", 1, a=2)
    cells = (cell.cell_contents for cell in view.__closure__ or ())
    closure = dict(zip(view.__code__.co_freevars, cells, strict=True))
    assert closure["class_args"] == (1,)
    assert closure["class_kwargs"] == {"a": 2}

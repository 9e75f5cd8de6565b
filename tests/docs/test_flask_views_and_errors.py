"""Flask's pages on class-based views and on handling errors, as a user
following them writes them, in the sync style and the async one."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import pytest
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError

from microframe import Blueprint, Microframe, abort, jsonify, render_template_string, request
from microframe.views import MethodView, View

# -- class-based views ---------------------------------------------------------------------

USERS: dict[int, dict[str, Any]] = {}


class User:
    """A small model for the page's generic API views."""

    @staticmethod
    def get(id: int) -> dict[str, Any]:
        if id not in USERS:
            abort(404)
        return USERS[id]

    @staticmethod
    def all() -> list[dict[str, Any]]:
        return list(USERS.values())


class ItemAPI(MethodView):
    init_every_request = False

    def __init__(self, model: Any) -> None:
        self.model = model

    def get(self, id: int) -> Any:
        return jsonify(self.model.get(id))

    def patch(self, id: int) -> Any:
        item = self.model.get(id)
        item.update(request.get_json())
        return jsonify(item)

    async def delete(self, id: int) -> Any:
        self.model.get(id)
        del USERS[id]
        return "", 204


class GroupAPI(MethodView):
    init_every_request = False

    def __init__(self, model: Any) -> None:
        self.model = model

    def get(self) -> Any:
        return jsonify(self.model.all())

    async def post(self) -> Any:
        data = await request.get_json()
        if "name" not in data:
            abort(400)
        new_id = max(USERS, default=0) + 1
        USERS[new_id] = {"id": new_id, **data}
        return jsonify(USERS[new_id]), 201


def register_api(app: Microframe | Blueprint, model: Any, name: str) -> None:
    item = ItemAPI.as_view(f"{name}-item", model)
    group = GroupAPI.as_view(f"{name}-group", model)
    app.add_url_rule(f"/{name}/<int:id>", view_func=item)
    app.add_url_rule(f"/{name}/", view_func=group)


@pytest.fixture
def api() -> Microframe:
    USERS.clear()
    app = Microframe(__name__)
    register_api(app, User, "users")
    return app


def test_the_rest_api_of_method_views(api: Microframe) -> None:
    client = api.test_client()
    assert client.get("/users/").json == []
    created = client.post("/users/", json={"name": "ann"})
    assert (created.status_code, created.json) == (201, {"id": 1, "name": "ann"})
    assert client.get("/users/1").json == {"id": 1, "name": "ann"}
    assert client.patch("/users/1", json={"name": "bo"}).json == {"id": 1, "name": "bo"}
    assert client.delete("/users/1").status_code == 204
    assert client.get("/users/1").status_code == 404
    # Bad input and methods the view has no handler for.
    assert client.post("/users/", json={}).status_code == 400
    assert client.post("/users/", data="{", content_type="application/json").status_code == 400
    refused = client.put("/users/1")
    assert refused.status_code == 405
    assert set(refused.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PATCH", "DELETE"}
    assert client.post("/users/1").status_code == 405
    options = client.options("/users/")
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_a_view_class_with_arguments_decorators_and_methods() -> None:
    calls: list[str] = []

    def login_required(f: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if request.headers.get("X-User") is None:
                abort(401)
            return f(*args, **kwargs)

        return wrapper

    def counted(f: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            calls.append("counted")
            return f(*args, **kwargs)

        return wrapper

    class ListView(View):
        methods = ["GET", "POST"]
        decorators = [counted, login_required]

        def __init__(self, template: str) -> None:
            self.template = template
            calls.append("init")

        def dispatch_request(self) -> str:
            items = ["a", "b"] if request.method == "GET" else ["posted"]
            return render_template_string(self.template, items=items)

    app = Microframe(__name__)
    app.add_url_rule(
        "/items/", view_func=ListView.as_view("item_list", "{{ items|join(',') }}")
    )
    client = app.test_client()
    assert client.get("/items/").status_code == 401
    user = {"X-User": "ann"}
    assert client.get("/items/", headers=user).text == "a,b"
    assert client.post("/items/", headers=user).text == "posted"
    assert client.delete("/items/", headers=user).status_code == 405
    # Decorators apply in order (login_required outermost, so the refused
    # request never reached counted); init_every_request defaults to True:
    # a view instance per request served; the 405 never reached the view.
    assert calls == ["counted", "init", "counted", "init"]


async def test_an_async_dispatch_request(app: Microframe) -> None:
    class Echo(View):
        methods = ["POST"]

        async def dispatch_request(self, name: str) -> Any:
            return {"name": name, "body": await request.get_json()}

    app.add_url_rule("/echo/<name>", view_func=Echo.as_view("echo"))
    response = await app.test_client().post("/echo/x", json=[1])
    assert await response.get_json() == {"name": "x", "body": [1]}


# -- handling application errors -------------------------------------------------------------


class InvalidAPIUsage(Exception):
    status_code = 400

    def __init__(self, message: str, status_code: int | None = None, payload: Any = None) -> None:
        super().__init__()
        self.message = message
        if status_code is not None:
            self.status_code = status_code
        self.payload = payload

    def to_dict(self) -> dict[str, Any]:
        rv = dict(self.payload or ())
        rv["message"] = self.message
        return rv


def test_an_api_exception_with_its_own_handler() -> None:
    app = Microframe(__name__)

    @app.errorhandler(InvalidAPIUsage)
    def invalid_api_usage(e: InvalidAPIUsage) -> Any:
        return jsonify(e.to_dict()), e.status_code

    @app.route("/api/user")
    def user_api() -> Any:
        user_id = request.args.get("user_id")
        if not user_id:
            raise InvalidAPIUsage("No user id provided!")
        if user_id != "420":
            raise InvalidAPIUsage("No such user!", status_code=404, payload={"id": user_id})
        return jsonify({"id": 420})

    client = app.test_client()
    missing = client.get("/api/user")
    assert (missing.status_code, missing.json) == (400, {"message": "No user id provided!"})
    unknown = client.get("/api/user?user_id=1")
    assert (unknown.status_code, unknown.json) == (404, {"message": "No such user!", "id": "1"})
    assert client.get("/api/user?user_id=420").json == {"id": 420}


@pytest.mark.parametrize("style", ["sync", "async"])
def test_generic_http_exceptions_as_json(style: str) -> None:
    app = Microframe(__name__)

    def handle_exception(e: HTTPException) -> Any:
        response = e.get_response()
        response.data = json.dumps({"code": e.code, "name": e.name, "description": e.description})
        response.content_type = "application/json"
        return response

    if style == "sync":
        app.errorhandler(HTTPException)(handle_exception)
    else:

        async def async_handle(e: HTTPException) -> Any:
            return handle_exception(e)

        app.errorhandler(HTTPException)(async_handle)

    @app.route("/form", methods=["POST"])
    def form() -> str:
        return request.form["name"]

    client = app.test_client()
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert missing.mimetype == "application/json"
    assert missing.json["name"] == "Not Found"
    wrong_method = client.get("/form")
    assert (wrong_method.status_code, wrong_method.json["code"]) == (405, 405)
    assert "POST" in wrong_method.headers["Allow"]
    bad = client.post("/form", data={})
    assert (bad.status_code, bad.json["name"]) == (400, "Bad Request")


def test_a_catch_all_handler_passes_http_errors_through() -> None:
    app = Microframe(__name__)

    @app.errorhandler(Exception)
    def handle_exception(e: Exception) -> Any:
        if isinstance(e, HTTPException):
            return e
        return render_template_string("500 {{ e.__class__.__name__ }}", e=e), 500

    @app.route("/boom")
    def boom() -> str:
        raise ValueError("boom")

    client = app.test_client()
    assert client.get("/nope").status_code == 404
    boom_response = client.get("/boom")
    assert (boom_response.status_code, boom_response.text) == (500, "500 ValueError")


def test_register_error_handler_and_unhandled_errors() -> None:
    app = Microframe(__name__)
    seen: list[Any] = []

    def handle_bad_request(e: BadRequest) -> tuple[str, int]:
        return "bad request!", 400

    app.register_error_handler(400, handle_bad_request)

    @app.errorhandler(InternalServerError)
    def handle_500(e: InternalServerError) -> tuple[str, int]:
        seen.append(type(e.original_exception).__name__)
        return "something broke", 500

    @app.route("/json", methods=["POST"])
    def data() -> Any:
        return request.get_json()

    @app.route("/broken")
    async def broken() -> str:
        raise KeyError("x")

    client = app.test_client()
    assert client.post("/json", data="{", content_type="application/json").text == "bad request!"
    broken_response = client.get("/broken")
    assert (broken_response.status_code, broken_response.text) == (500, "something broke")
    assert seen == ["KeyError"]
    with pytest.raises(KeyError):
        app.testing = True
        client.get("/broken")


def test_blueprint_errors_and_app_404_by_path() -> None:
    app = Microframe(__name__)
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.errorhandler(403)
    def forbidden(e: Any) -> Any:
        return {"error": "forbidden"}, 403

    @api.route("/secret")
    def secret() -> str:
        abort(403)

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _handle_api_error(ex: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return jsonify(error=str(ex)), ex.code
        return f"page: {ex.code}", ex.code

    app.register_blueprint(api)
    client = app.test_client()
    assert client.get("/api/secret").json == {"error": "forbidden"}
    api_missing = client.get("/api/nothing")
    assert api_missing.status_code == 404
    assert api_missing.json["error"].startswith("404 Not Found")
    assert client.get("/nothing").text == "page: 404"
    assert client.post("/api/secret").status_code == 405
    assert client.post("/api/secret").is_json

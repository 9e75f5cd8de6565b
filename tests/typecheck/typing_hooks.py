"""Typing regression file: hooks, error handlers, template functions,
blueprints, websockets and lifespan functions, sync and async.

Checked by ``mypy --strict`` in tests/test_typing.py, which also serves the
routes and checks that every hook ran.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from werkzeug.exceptions import HTTPException

from microframe import (
    Blueprint,
    Microframe,
    Response,
    g,
    jsonify,
    render_template_string,
    request,
    url_for,
    websocket,
)
from microframe.typing import ResponseReturnValue

app = Microframe(__name__)
bp = Blueprint("shop", __name__, url_prefix="/shop")


class OutOfStock(Exception):
    def __init__(self, item: str) -> None:
        super().__init__(item)
        self.item = item


# -- request hooks ----------------------------------------------------------------


@app.before_request
def sync_before() -> None:
    g.seen = ["before"]


@app.before_request
async def async_before() -> ResponseReturnValue | None:
    if request.args.get("stop"):
        return "stopped early", 203
    g.seen.append("async-before")
    return None


@app.after_request
def sync_after(response: Response) -> Response:
    response.headers["X-Seen"] = ",".join(g.get("seen", []))
    return response


@app.after_request
async def async_after(response: Response) -> Response:
    response.headers["X-Async-After"] = "yes"
    return response


@app.teardown_request
def sync_teardown(error: BaseException | None) -> None:
    g.pop("seen", None)


@app.teardown_request
async def async_teardown(error: BaseException | None) -> None:
    pass


@app.teardown_appcontext
def close_resources(error: BaseException | None) -> None:
    pass


@app.url_value_preprocessor
def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if values is not None:
        g.lang = values.pop("lang", "en")


@app.url_defaults
def add_lang(endpoint: str, values: dict[str, Any]) -> None:
    if "lang" in values or not app.url_map.is_endpoint_expecting(endpoint, "lang"):
        return
    values["lang"] = g.get("lang", "en")


# -- error handlers ------------------------------------------------------------------


@app.errorhandler(404)
def not_found(error: HTTPException) -> tuple[str, int]:
    return f"missing: {error.code}", 404


@app.errorhandler(HTTPException)
async def other_http_errors(error: HTTPException) -> ResponseReturnValue:
    return f"http error {error.code}", error.code or 500


@app.errorhandler(OutOfStock)
async def out_of_stock(error: OutOfStock) -> tuple[Response, int]:
    return jsonify(item=error.item), 409


def teapot(error: Exception) -> tuple[str, int]:
    return "teapot", 418


app.register_error_handler(ValueError, teapot)


# -- templates -----------------------------------------------------------------------


@app.template_filter("shout")
def shout(value: str) -> str:
    return value.upper() + "!"


@app.template_test("even")
def is_even(value: int) -> bool:
    return value % 2 == 0


@app.template_global()
def site_name() -> str:
    return "Shop"


@app.context_processor
def inject_user() -> dict[str, Any]:
    return {"user": "ada"}


@app.context_processor
async def inject_cart() -> dict[str, Any]:
    return {"cart": 3}


# -- a blueprint ---------------------------------------------------------------------


@bp.before_request
async def bp_before() -> None:
    g.seen.append("bp-before")


@bp.after_request
def bp_after(response: Response) -> Response:
    response.headers["X-Blueprint"] = "shop"
    return response


@bp.before_app_request
def bp_before_app() -> None:
    g.app_wide = True


@bp.app_errorhandler(KeyError)
def key_error(error: KeyError) -> tuple[str, int]:
    return f"no key {error}", 400


@bp.app_template_filter()
def cents(value: int) -> str:
    return f"{value / 100:.2f}"


@bp.route("/<lang>/item/<name>")
async def item(name: str) -> str:
    if name == "gone":
        raise OutOfStock(name)
    if name == "teapot":
        raise ValueError(name)
    if name == "nokey":
        raise KeyError(name)
    html = await render_template_string(
        "{{ site_name() }} {{ user }} {{ cart }} {{ name | shout }} {{ 250 | cents }}"
        " {{ 'even' if cart is even else 'odd' }} {{ url }}",
        name=name,
        url=url_for("shop.item", name="other"),
    )
    return f"{html} {','.join(g.seen)} {g.lang}"


app.register_blueprint(bp)


# -- websockets and lifespan -----------------------------------------------------------


@app.websocket("/ws")
async def echo() -> None:
    message = await websocket.receive()
    await websocket.send(f"echo {message!r}")


@app.before_websocket
async def before_ws() -> None:
    g.ws = True


@app.after_websocket
async def after_ws(response: Response | None) -> Response | None:
    return response


@app.before_serving
async def startup() -> None:
    app.config["STARTED"] = True


@app.after_serving
def shutdown() -> None:
    app.config["STARTED"] = False


@app.while_serving
async def lifespan() -> AsyncGenerator[None, None]:
    app.config["SERVING"] = True
    yield
    app.config["SERVING"] = False


@app.shell_context_processor
def shell_context() -> dict[str, Any]:
    return {"app": app}


# -- the request cycle, overridden Flask's way and Quart's way -------------------------
#
# Both styles must type-check: a plain ``def`` override returning the value
# and an ``async def`` one awaiting the stock method.


class FlaskStyleApp(Microframe):
    def handle_exception(self, error: Exception) -> Response:
        response: Response = super().handle_exception(error)
        response.headers["X-Handled"] = "flask-style"
        return response

    def process_response(self, response: Response, request_context: Any = None) -> Response:
        response = super().process_response(response, request_context)
        response.headers["X-Processed"] = "sync"
        return response


class QuartStyleApp(Microframe):
    async def full_dispatch_request(self, request_context: Any = None) -> Response:
        response: Response = await super().full_dispatch_request(request_context)
        response.headers["X-Dispatched"] = "async"
        return response

    async def make_response(self, rv: Any) -> Response:
        response: Response = await super().make_response(rv)
        return response


flask_style = FlaskStyleApp(__name__)
quart_style = QuartStyleApp(__name__)


@flask_style.get("/")
@quart_style.get("/")
def index() -> str:
    return "index"


@flask_style.get("/boom")
def boom() -> str:
    raise RuntimeError("boom")

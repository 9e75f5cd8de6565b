"""Typing regression file: mistakes mypy must report.

Each line marked ``# E: <code>`` must get exactly that mypy error, and no
other line may get one (tests/test_typing.py). This file is only
type-checked, never run.
"""

from __future__ import annotations

from werkzeug.exceptions import HTTPException

from microframe import Blueprint, Microframe, Response, make_response, render_template, request

app = Microframe(__name__)
bp = Blueprint("bp", __name__)


@app.route("/int")  # E: type-var
def returns_int() -> int:
    return 1


@bp.get("/float")  # E: type-var
async def returns_float() -> float:
    return 1.0


@app.before_request  # E: type-var
def before_returns_int() -> int:
    return 1


@app.after_request  # E: type-var
def after_takes_int(value: int) -> int:
    return value


@app.after_request  # E: type-var
def after_returns_str(response: Response) -> str:
    return "no"


@app.teardown_request  # E: type-var
def teardown_takes_nothing() -> None:
    pass


@app.errorhandler(404)  # E: type-var
def handler_returns_int(error: HTTPException) -> int:
    return 404


@app.context_processor  # E: type-var
def processor_returns_list() -> list[str]:
    return []


def sync_view() -> str:
    text: str = request.get_data()  # E: assignment
    number: int = request.form["n"]  # E: assignment
    html: bytes = render_template("page.html")  # E: assignment
    return text + html.decode() + str(number)


async def async_view() -> str:
    data = await request.get_data()
    text: str = data  # E: assignment
    form = await request.form
    number: int = form["n"]  # E: assignment
    response = await make_response("hi")
    response.no_such_method()  # E: attr-defined
    return text + str(number)


async def async_client_test() -> None:
    response = await app.test_client().get("/")
    status: str = response.status_code  # E: assignment
    body: str = await response.get_data()  # E: assignment
    print(status, body)

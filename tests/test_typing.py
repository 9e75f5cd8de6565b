"""The types users see: the typing regression files in tests/typecheck pass
``mypy --strict`` (and the mistakes in typing_errors.py are reported), and
the code in them runs, through the test client and under a real server.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from live_server import LiveServer
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

HERE = Path(__file__).parent
TYPECHECK = HERE / "typecheck"
ROOT = HERE.parent
FILES = sorted(TYPECHECK.glob("typing_*.py"))
ERROR_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*?)\s+\[(?P<code>[a-z-]+)\]$")
MYPY_SECONDS = 300


@pytest.fixture(scope="module")
def mypy_errors(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, int, str, str]]:
    """The errors ``mypy --strict`` reports for the regression files:
    (file name, line, error code, message)."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--strict", "--show-error-codes", "--no-error-summary",
            "--hide-error-context", "--no-pretty", "--no-color-output", "--cache-dir", str(cache),
            *(str(path.relative_to(ROOT)) for path in FILES),
        ],
        cwd=ROOT,  # the project's mypy settings, and microframe from this checkout
        capture_output=True,
        text=True,
        timeout=MYPY_SECONDS,
    )
    errors = []
    for line in result.stdout.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            errors.append(
                (Path(match["path"]).name, int(match["line"]), match["code"], match["message"])
            )
        else:
            assert ": note: " in line, f"unexpected mypy output: {line}\n{result.stderr}"
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return errors


def expected_errors() -> set[tuple[str, int, str]]:
    """The ``# E: <code>`` markers of the regression files."""
    expected = set()
    for path in FILES:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            marker = re.search(r"# E: ([a-z-]+)$", line)
            if marker:
                expected.add((path.name, number, marker[1]))
    return expected


def test_the_regression_files_cover_the_api() -> None:
    names = {path.name for path in FILES}
    assert {
        "typing_views.py", "typing_dual.py", "typing_hooks.py", "typing_client.py", "typing_errors.py"
    } <= names
    assert len(expected_errors()) >= 15


def test_valid_code_type_checks(mypy_errors: list[tuple[str, int, str, str]]) -> None:
    expected = expected_errors()
    unexpected = [error for error in mypy_errors if error[:3] not in expected]
    assert unexpected == []


def test_mistakes_are_reported(mypy_errors: list[tuple[str, int, str, str]]) -> None:
    reported = {error[:3] for error in mypy_errors}
    missing = sorted(expected_errors() - reported)
    assert missing == []


def test_dual_apis_are_typed_as_values_in_sync_code(
    mypy_errors: list[tuple[str, int, str, str]],
) -> None:
    # What mypy says about a sync view's misuse names the value's type.
    messages = {(name, line): message for name, line, _, message in mypy_errors}
    source = (TYPECHECK / "typing_errors.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "text: str = request.get_data()" in text)
    assert messages[("typing_errors.py", line)] == (
        'Incompatible types in assignment (expression has type "DualBytes", variable has type "str")'
    )


# -- the same code runs ----------------------------------------------------------------


def load(name: str) -> ModuleType:
    """Import a regression file as a module of its own."""
    path = TYPECHECK / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # the app finds its root path through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def views() -> Iterator[ModuleType]:
    yield load("typing_views")
    sys.modules.pop("typing_views", None)


@pytest.fixture(scope="module")
def dual() -> Iterator[ModuleType]:
    yield load("typing_dual")
    sys.modules.pop("typing_dual", None)


@pytest.fixture(scope="module")
def hooks() -> Iterator[ModuleType]:
    yield load("typing_hooks")
    sys.modules.pop("typing_hooks", None)


@pytest.fixture(scope="module")
def client_module() -> Iterator[ModuleType]:
    yield load("typing_client")
    sys.modules.pop("typing_client", None)


def test_every_view_return_type_answers(views: ModuleType) -> None:
    client = views.app.test_client()
    for path, method, status, body in views.EXPECTED:
        response = client.open(path, method=method)
        assert (path, response.status_code) == (path, status)
        if body is not None:
            assert (path, response.data) == (path, body)
    assert client.get("/headers-dict").headers["X-Answer"] == "42"
    assert client.get("/headers-object").headers["X-Answer"] == "42"
    assert client.get("/redirect").headers["Location"] == "/str"


async def test_dual_apis_answer_in_sync_and_async_views(dual: ModuleType) -> None:
    client = dual.app.test_client()
    for method, path, arguments, status, body in dual.expected():
        response = await client.open(path, method=method, **arguments)
        assert (path, response.status_code, await response.get_data()) == (path, status, body)


def test_dual_apis_answer_under_a_real_server(tmp_path: Path) -> None:
    server = LiveServer("typing_dual:app", [TYPECHECK], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()
        for kind in ("sync", "async"):
            response, body = server.request("POST", f"/{kind}/body", b"abc")
            assert (kind, response.status, body) == (kind, 200, b"3 abc ABC")
            response, body = server.request(
                "POST", f"/{kind}/json", b"[1]", {"Content-Type": "application/json"}
            )
            assert (kind, body) == (kind, b'{"again":[1],"got":[1]}\n')
            upload = FileStorage(io.BytesIO(b"x"), "a.txt")
            boundary, form = encode_multipart({"name": "Ada", "upload": upload})
            response, body = server.request(
                "POST",
                f"/{kind}/form?q=query",
                form,
                {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
            assert (kind, response.status, body) == (kind, 200, b"Ada a.txt query")
            for name, expected in (("template", b"<b>Ada</b>"), ("stream", b"12"), ("file", b"file")):
                response, body = server.request("GET", f"/{kind}/{name}")
                assert (kind, name, response.status, body) == (kind, name, 200, expected)
            response, body = server.request("GET", f"/{kind}/make-response")
            assert response.getheader("Set-Cookie", "").startswith("flavour=oat")
            assert response.getheader("X-Length") == "4"
    finally:
        server.stop()


def test_hooks_handlers_and_blueprints_run(hooks: ModuleType) -> None:
    client = hooks.app.test_client()
    response = client.get("/shop/en/item/widget")
    assert response.status_code == 200
    assert response.text == (
        "Shop ada 3 WIDGET! 2.50 odd /shop/en/item/other before,async-before,bp-before en"
    )
    assert response.headers["X-Seen"] == "before,async-before,bp-before"
    assert response.headers["X-Async-After"] == "yes"
    assert response.headers["X-Blueprint"] == "shop"
    stopped = client.get("/shop/en/item/widget?stop=1")
    assert (stopped.status_code, stopped.text) == (203, "stopped early")
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.text) == (404, "missing: 404")
    not_allowed = client.post("/shop/en/item/widget")
    assert (not_allowed.status_code, not_allowed.text) == (405, "http error 405")
    gone = client.get("/shop/en/item/gone")
    assert (gone.status_code, gone.json) == (409, {"item": "gone"})
    assert client.get("/shop/en/item/teapot").status_code == 418
    no_key = client.get("/shop/en/item/nokey")
    assert (no_key.status_code, no_key.text) == (400, "no key 'nokey'")


async def test_websocket_and_lifespan_hooks_run(hooks: ModuleType) -> None:
    app = hooks.app
    async with app.test_app() as test_app:
        assert (app.config["STARTED"], app.config["SERVING"]) == (True, True)
        async with test_app.test_client().websocket("/ws") as connection:
            await connection.send("hi")
            assert await connection.receive() == "echo 'hi'"
    assert (app.config["STARTED"], app.config["SERVING"]) == (False, False)


def test_overrides_in_both_styles_run(hooks: ModuleType) -> None:
    quart_style = hooks.quart_style.test_client().get("/")
    assert (quart_style.text, quart_style.headers["X-Dispatched"]) == ("index", "async")
    flask_style = hooks.flask_style.test_client()
    assert flask_style.get("/").headers["X-Processed"] == "sync"
    failed = flask_style.get("/boom")
    assert (failed.status_code, failed.headers["X-Handled"]) == (500, "flask-style")


def test_the_client_examples_run(client_module: ModuleType) -> None:
    client_module.sync_test()
    client_module.cli_test()


async def test_the_async_client_example_runs(client_module: ModuleType) -> None:
    await asyncio.wait_for(client_module.async_test(), 30)

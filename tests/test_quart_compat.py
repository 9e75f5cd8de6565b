"""microframe.quart_compat: a Quart app and Quart's extensions run on microframe.

Written from Quart's documentation (quart.palletsprojects.com): the names a
Quart app and its extensions import, and the test client they drive.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import LiveServer

import microframe.typing
from microframe import Microframe, quart_compat, request
from microframe.compat_shim import ShimModule
from microframe.testing import MicroframeClient
from microframe.testing.utils import sentinel


@pytest.fixture
def shim() -> Iterator[None]:
    with quart_compat.installed(purge=["quart_ext"]):
        yield


def test_import_quart_serves_microframe(shim: None) -> None:
    import quart
    import quart.testing.utils
    from quart import Quart, websocket
    from quart.datastructures import FileStorage
    from quart.testing import QuartClient
    from quart.typing import ResponseReturnValue, ResponseValue

    import microframe
    import microframe.datastructures

    assert Quart is Microframe
    assert QuartClient is MicroframeClient
    assert websocket is microframe.websocket
    assert FileStorage is microframe.datastructures.FileStorage
    assert quart.testing.utils.sentinel is sentinel
    assert ResponseReturnValue is microframe.typing.ResponseReturnValue
    assert ResponseValue is microframe.typing.ResponseValue
    assert quart.__version__ == quart_compat.QUART_VERSION


async def test_quarts_utils_and_push_helpers(shim: None) -> None:
    # What Quart's documentation has apps import besides the top level:
    # quart.utils.run_sync for blocking code, quart.make_push_promise,
    # quart.ctx.after_this_websocket.
    import threading

    from quart import Quart, make_push_promise, websocket
    from quart.ctx import after_this_websocket
    from quart.utils import run_sync, run_sync_iterable

    app = Quart(__name__)
    seen: list[str] = []

    @app.route("/")
    async def index() -> str:
        await make_push_promise("/style.css")
        thread = await run_sync(threading.get_ident)()
        chunks = [chunk async for chunk in run_sync_iterable(iter(["a", "b"]))]
        return f"{thread != threading.get_ident()} {''.join(chunks)}"

    @app.websocket("/ws")
    async def ws() -> None:
        @after_this_websocket
        async def after(response: Any) -> Any:
            seen.append("after")
            return response

        await websocket.send("hi")

    client = app.test_client()
    response = await client.get("/", http_version="2")
    assert await response.get_data(as_text=True) == "True ab"
    assert [path for path, _ in client.push_promises] == ["/style.css"]
    async with client.websocket("/ws") as connection:
        assert await connection.receive() == "hi"
    assert seen == ["after"]


def test_a_name_microframe_lacks_says_so(shim: None) -> None:
    import quart

    with pytest.raises(AttributeError, match=r"no equivalent of 'quart.no_such_name'"):
        quart.no_such_name  # noqa: B018
    with pytest.raises(ModuleNotFoundError):
        import quart.no_such_module


def test_uninstall_puts_things_back() -> None:
    assert Microframe.test_client_class is None
    with quart_compat.installed():
        assert quart_compat.is_installed()
        # Quart names its test client class; extensions derive from it.
        assert Microframe.test_client_class is MicroframeClient
    assert not quart_compat.is_installed()
    assert not isinstance(sys.modules.get("quart"), ShimModule)
    assert Microframe.test_client_class is None


def test_typing_has_quarts_names() -> None:
    # quart.typing's public names, as Quart-Schema and Quart-CORS import them.
    names = {
        "FilePath", "ResponseValue", "StatusCode", "HeaderName", "HeaderValue", "HeadersValue",
        "ResponseReturnValue", "ResponseTypes", "AppOrBlueprintKey", "AfterRequestCallable",
        "AfterServingCallable", "AfterWebsocketCallable", "BeforeRequestCallable",
        "BeforeServingCallable", "BeforeWebsocketCallable", "ErrorHandlerCallable",
        "ShellContextProcessorCallable", "TeardownCallable", "TemplateContextProcessorCallable",
        "TemplateFilterCallable", "TemplateGlobalCallable", "TemplateTestCallable",
        "URLDefaultCallable", "URLValuePreprocessorCallable", "WhileServingCallable",
        "RouteCallable", "WebsocketCallable", "ASGIHTTPProtocol", "ASGILifespanProtocol",
        "ASGIWebsocketProtocol", "TestClientProtocol", "TestAppProtocol", "Event",
        "HTTPScope", "WebsocketScope", "LifespanScope",
    }
    missing = sorted(name for name in names if not hasattr(microframe.typing, name))
    assert missing == []
    assert set(names) <= set(microframe.typing.__all__)


EXTENSION = '''
from quart import Quart, current_app, request
from quart.testing import QuartClient
from quart.testing.utils import sentinel


class Model:
    def __init__(self, name):
        self.name = name


class ModelClientMixin:
    """As Quart-Schema's TestClientMixin: converts models before sending."""

    async def _make_request(self, path, method, headers, data, form, files, query_string,
                            json, scheme, root_path, http_version, scope_base, auth=None,
                            subdomain=None):
        if isinstance(json, Model):
            json = {"name": json.name}
        return await super()._make_request(path, method, headers, data, form, files,
                                           query_string, json, scheme, root_path,
                                           http_version, scope_base, auth, subdomain)


def init_app(app):
    app.test_client_class = type("TestClient", (ModelClientMixin, app.test_client_class), {})
'''


@pytest.fixture
def extension(shim: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    (tmp_path / "quart_ext.py").write_text(EXTENSION)
    monkeypatch.syspath_prepend(str(tmp_path))
    import quart_ext

    return quart_ext


async def test_an_extensions_client_mixin_converts_arguments(extension: Any) -> None:
    app = Microframe(__name__)

    @app.post("/echo")
    async def echo() -> Any:
        return {"got": await request.get_json(), "method": request.method}

    extension.init_app(app)
    client = app.test_client()
    assert isinstance(client, MicroframeClient)
    response = await client.post("/echo", json=extension.Model("ada"))
    assert response.status_code == 200
    assert await response.get_json() == {"got": {"name": "ada"}, "method": "POST"}
    # Arguments the hook does not know (Flask's) take the usual way.
    response = await client.post("/echo", json={"x": 1}, content_type="application/json")
    assert await response.get_json() == {"got": {"x": 1}, "method": "POST"}


async def test_the_hook_follows_redirects(extension: Any) -> None:
    app = Microframe(__name__)

    @app.route("/old")
    async def old() -> Any:
        from microframe import redirect

        return redirect("/new")

    @app.route("/new")
    async def new() -> str:
        return "moved"

    extension.init_app(app)
    client = app.test_client()
    response = await client.get("/old", follow_redirects=True)
    assert response.status_code == 200
    assert await response.get_data() == b"moved"
    assert (await client.get("/old")).status_code == 302


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"])
async def test_every_method_has_its_helper(method: str) -> None:
    app = Microframe(__name__)

    @app.route("/", methods=[method])
    async def index() -> Any:
        return "", 200, {"X-Method": request.method}

    client = app.test_client()
    helper = getattr(client, method.lower())
    response = await helper("/")
    assert response.status_code == 200
    assert response.headers["X-Method"] == method
    response = await client.open("/", method=method)
    assert response.headers["X-Method"] == method


async def test_quart_set_cookie_without_server_name_goes_to_the_default_host() -> None:
    # Quart-Auth's authenticated_client: set_cookie(None, name, value, ...).
    app = Microframe(__name__)

    @app.route("/")
    async def index() -> str:
        return request.cookies.get("token", "none")

    client = app.test_client()
    client.set_cookie(None, "token", "abc", path="/", domain=None, httponly=True)
    assert await (await client.get("/")).get_data() == b"abc"
    assert [cookie.name for cookie in client.cookie_jar] == ["token"]
    client.delete_cookie(None, "token", path="/", domain=None)
    assert await (await client.get("/")).get_data() == b"none"


QUART_APP = '''
from microframe import quart_compat

quart_compat.install()

from quart import Quart, request, websocket
from quart.typing import ResponseReturnValue

app = Quart(__name__)


@app.route("/hello")
async def hello() -> ResponseReturnValue:
    return {"hello": request.args.get("name", "world")}, 201, {"X-App": type(app).__name__}
'''


def test_a_quart_app_served_for_real(tmp_path: Path) -> None:
    (tmp_path / "quart_app.py").write_text(textwrap.dedent(QUART_APP))
    server = LiveServer("quart_app:app", [tmp_path], log=tmp_path / "server.log")
    try:
        server.wait_until_ready()
        response, body = server.request("GET", "/hello?name=ada")
        assert response.status == 201
        assert response.getheader("X-App") == "Microframe"
        assert body == b'{"hello":"ada"}\n'
    finally:
        server.stop()


def test_make_test_headers_path_and_query_string_as_quarts() -> None:
    from microframe.testing import make_test_headers_path_and_query_string

    app = Microframe(__name__)
    headers, path, query_string = make_test_headers_path_and_query_string(app, "/a%20b?x=1")
    assert headers["User-Agent"] == "Microframe"
    assert headers["Host"] == "localhost"
    assert path == "/a b"
    assert query_string == b"x=1"
    headers, _, _ = make_test_headers_path_and_query_string(app, "/", headers={"User-Agent": "me"})
    assert headers["User-Agent"] == "me"


async def test_a_websocket_the_app_closes_raises_quarts_disconnect_error(shim: None) -> None:
    # Quart's test connection raises quart.testing.connections'
    # WebsocketDisconnectError, an Exception, once the app has closed.
    from quart import Quart, websocket
    from quart.testing.connections import WebsocketDisconnectError

    app = Quart(__name__)

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.accept()
        await websocket.send("hi")
        await websocket.close(4001, "done")

    async with app.test_client().websocket("/ws") as connection:
        assert await connection.receive() == "hi"
        with pytest.raises(Exception) as caught:  # what Quart's tests may catch
            await connection.receive()
    assert isinstance(caught.value, WebsocketDisconnectError)
    assert caught.value.code == 4001

"""EnvironBuilder and test_request_context: test requests built as Flask builds them."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder as WerkzeugEnvironBuilder

from microframe import Blueprint, Microframe, request, url_for
from microframe.testing import EnvironBuilder, make_test_request
from microframe.testing.builder import scope_from_environ


def test_builder_takes_defaults_from_config(app: Microframe) -> None:
    app.config.update(
        SERVER_NAME="example.com:1234", APPLICATION_ROOT="/foo", PREFERRED_URL_SCHEME="https"
    )
    builder = EnvironBuilder(app, "/page")
    assert builder.base_url == "https://example.com:1234/foo/"
    assert builder.path == "/page"
    builder = EnvironBuilder(app, "/page", subdomain="api", url_scheme="http")
    assert builder.base_url == "http://api.example.com:1234/foo/"


def test_builder_path_may_be_a_full_url(app: Microframe) -> None:
    builder = EnvironBuilder(app, "https://example.com/x?q=1")
    assert builder.url_scheme == "https"
    assert builder.host == "example.com"
    assert builder.script_root == ""
    assert builder.path == "/x"
    assert builder.query_string == "q=1"


def test_builder_refuses_base_url_with_subdomain(app: Microframe) -> None:
    with pytest.raises(ValueError, match="base_url"):
        EnvironBuilder(app, "/", "http://example.com/", subdomain="api")


def test_builder_dumps_json_with_the_app_provider(app: Microframe) -> None:
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    builder = EnvironBuilder(app, json="\u20ac")
    assert builder.input_stream is not None
    assert builder.input_stream.read().decode() == '"\u20ac"'
    assert builder.content_type == "application/json"


def test_environ_becomes_the_scope_a_server_makes() -> None:
    environ = WerkzeugEnvironBuilder(
        "/a b",
        "https://example.com:8443/root/",
        query_string="x=1",
        method="post",
        headers={"X-Test": "yes"},
        data=b"body",
        content_type="text/plain",
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    ).get_environ()
    scope, body = scope_from_environ(environ)
    assert body == b"body"
    assert scope["method"] == "POST"
    assert scope["scheme"] == "https"
    assert scope["root_path"] == "/root"
    assert scope["path"] == "/root/a b"
    assert scope["raw_path"] == b"/root/a%20b"
    assert scope["query_string"] == b"x=1"
    assert scope["client"] == ("10.0.0.1", 0)
    assert scope["server"] == ("example.com", 8443)
    headers = dict(scope["headers"])
    assert headers[b"host"] == b"example.com:8443"
    assert headers[b"x-test"] == b"yes"
    assert headers[b"content-type"] == b"text/plain"
    assert headers[b"content-length"] == b"4"
    websocket, _ = scope_from_environ(environ, "websocket")
    assert websocket["scheme"] == "wss"
    assert "method" not in websocket


def test_test_request_context_takes_environ_builder_arguments(app: Microframe) -> None:
    with app.test_request_context(
        "/search",
        "https://example.com/app/",
        query_string={"q": "ada", "page": None},
        method="POST",
        headers={"X-Test": "1"},
        data="raw",
        content_type="text/plain",
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
        environ_overrides={"HTTP_X_FORWARDED_FOR": "10.0.0.3"},
    ):
        assert request.url == "https://example.com/app/search?q=ada"
        assert request.root_path == "/app"
        assert request.method == "POST"
        assert request.args.to_dict() == {"q": "ada"}
        assert request.headers["X-Test"] == "1"
        assert request.headers["X-Forwarded-For"] == "10.0.0.3"
        assert request.remote_addr == "10.0.0.2"
        assert request.content_type == "text/plain"
        assert request.get_data() == b"raw"


def test_test_request_context_environ_overrides_win(app: Microframe) -> None:
    overrides = {"wsgi.url_scheme": "https", "HTTP_HOST": "over.example", "REMOTE_ADDR": "1.2.3.4"}
    with app.test_request_context(environ_overrides=overrides):
        assert request.url == "https://over.example/"
        assert request.is_secure
        assert request.remote_addr == "1.2.3.4"


def test_test_request_context_without_a_client_address(app: Microframe) -> None:
    # As in Flask: only the test client sends REMOTE_ADDR and a User-Agent.
    with app.test_request_context():
        assert request.url == "http://localhost/"
        assert request.remote_addr is None
        assert "User-Agent" not in request.headers


def test_test_request_context_subdomain_and_url_scheme() -> None:
    app = Microframe(__name__, subdomain_matching=True)
    app.config.update(SERVER_NAME="example.com:1234", APPLICATION_ROOT="/foo")
    bp = Blueprint("company", __name__, subdomain="xxx")

    @bp.route("/")
    def index() -> str:
        return request.url

    app.register_blueprint(bp)
    with app.test_request_context("/", subdomain="xxx") as ctx:
        assert ctx.request.url == "http://xxx.example.com:1234/foo/"
        assert request.blueprint == "company"
    with app.test_request_context(url_scheme="https"):
        assert url_for("company.index", _external=True) == "https://xxx.example.com:1234/foo/"


def test_test_request_context_takes_a_builder_or_an_environ(app: Microframe) -> None:
    builder = EnvironBuilder(app, "/b", method="PUT", json={"a": 1})
    with app.test_request_context(builder):
        assert request.method == "PUT"
        assert request.get_json() == {"a": 1}
    environ = EnvironBuilder(app, "/e", query_string="x=1").get_environ()
    with app.test_request_context(environ):
        assert request.full_path == "/e?x=1"
    with app.request_context(environ):
        assert request.path == "/e"
    with pytest.raises(TypeError, match="no other arguments"):
        app.test_request_context(builder, method="GET")


def test_test_request_context_data_forms_and_files(app: Microframe) -> None:
    data: dict[str, Any] = {"name": "ada", "tags": ["a", "b"], "f": (io.BytesIO(b"abc"), "a.txt")}
    with app.test_request_context(method="POST", data=data):
        assert request.form.getlist("tags") == ["a", "b"]
        assert request.form["name"] == "ada"
        assert request.files["f"].filename == "a.txt"
    with app.test_request_context(method="POST", data=b"\x00\x01"):
        assert request.get_data() == b"\x00\x01"


async def test_test_request_context_in_async_code(app: Microframe) -> None:
    async with app.test_request_context(
        "/notes", method="POST", form={"a": "1"}, files={"f": (io.BytesIO(b"x"), "x.txt")}
    ):
        assert (await request.form)["a"] == "1"
        assert (await request.files)["f"].filename == "x.txt"
    async with app.test_request_context("/p", scheme="https", root_path="/mount"):
        assert request.url == "https://localhost/mount/p"
    async with app.test_request_context("/mount/p", root_path="/mount", http_version="2"):
        assert request.path == "/p"
        assert request.http_version == "2"
        assert request.scope["http_version"] == "2"


def test_scope_base_is_laid_over_the_scope(app: Microframe) -> None:
    with app.test_request_context("/", scope_base={"client": ("192.0.2.1", 5)}):
        assert request.remote_addr == "192.0.2.1"


def test_make_test_request_builds_the_apps_request(app: Microframe) -> None:
    built = make_test_request(app, "/x", json=[1, 2])
    assert isinstance(built, app.request_class)
    assert built.get_json() == [1, 2]


# "%" would start an escape, "?" a query and "#" a fragment, as in any URL.
_PATH_TEXT = st.text(
    st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="%?#"), max_size=20
)


@given(segment=_PATH_TEXT, value=st.text(st.characters(exclude_categories=("Cs",)), max_size=20))
def test_paths_and_arguments_arrive_as_given(segment: str, value: str) -> None:
    # "//host/path" names a host, as in any URL.
    assume(not segment.startswith("/"))
    app = Microframe(__name__)
    built = make_test_request(app, "/" + segment, query_string={"v": value})
    assert built.path == "/" + segment
    assert built.args["v"] == value

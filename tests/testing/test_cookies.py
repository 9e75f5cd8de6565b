"""The test client's cookie jar, as werkzeug's client keeps cookies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.http import dump_cookie, parse_cookie

from microframe import Microframe, Response, request
from microframe.testing.cookies import Cookie, CookieJar, cookie_origin


@pytest.fixture
def app(app: Microframe) -> Microframe:
    @app.get("/cookies")
    @app.get("/sub/cookies")
    def cookies() -> Any:
        return request.cookies.to_dict()

    @app.get("/set")
    def set_cookie() -> Any:
        response = Response("set")
        options: dict[str, Any] = {
            key: request.args[key] for key in ("domain", "path", "samesite") if key in request.args
        }
        if "max_age" in request.args:
            options["max_age"] = int(request.args["max_age"])
        response.set_cookie(
            request.args.get("key", "k"), request.args.get("value", "v"),
            secure="secure" in request.args, httponly="httponly" in request.args, **options,
        )
        return response

    @app.get("/set-raw")
    def set_raw() -> Any:
        response = Response("raw")
        response.headers.add("Set-Cookie", request.args["header"])
        return response

    return app


def test_get_cookie_has_werkzeugs_attributes(app: Microframe) -> None:
    client = app.test_client()
    client.get("/set?key=user&value=ada&max_age=60&secure&httponly&samesite=Lax")
    cookie = client.get_cookie("user")
    assert cookie is not None
    assert (cookie.key, cookie.value) == ("user", "ada")
    assert (cookie.decoded_key, cookie.decoded_value) == ("user", "ada")
    assert cookie.max_age == 60
    assert isinstance(cookie.expires, datetime)
    assert timedelta(seconds=55) < cookie.expires - datetime.now(UTC) <= timedelta(seconds=60)
    assert (cookie.domain, cookie.path, cookie.origin_only) == ("localhost", "/", True)
    assert (cookie.secure, cookie.http_only, cookie.same_site) == (True, True, "Lax")
    assert client.get_cookie("user", path="/other") is None
    assert client.get_cookie("other") is None


async def test_quoted_values_stay_quoted(app: Microframe) -> None:
    client = app.test_client()
    await client.get("/set", query_string={"key": "name", "value": "Ada Lovelace, \u00e9"})
    cookie = client.get_cookie("name")
    assert cookie is not None
    assert cookie.value.startswith('"')
    assert cookie.decoded_value == "Ada Lovelace, \u00e9"
    assert await (await client.get("/cookies")).get_json() == {"name": "Ada Lovelace, \u00e9"}


def test_cookie_for_a_domain_goes_to_its_subdomains(app: Microframe) -> None:
    client = app.test_client()
    client.get("/set?key=wide&domain=.example.com", "http://www.example.com/")
    client.get("/set?key=narrow", "http://www.example.com/")
    assert client.get_cookie("wide", domain="example.com") is not None
    assert client.get_cookie("wide", domain=".example.com") is not None
    assert client.get("/cookies", "http://api.example.com/").json == {"wide": "v"}
    assert client.get("/cookies", "http://www.example.com/").json == {"wide": "v", "narrow": "v"}
    assert client.get("/cookies", "http://example.org/").json == {}
    assert client.get("/cookies", "http://notexample.com/").json == {}


def test_cookie_path_matching(app: Microframe) -> None:
    client = app.test_client()
    client.get("/set?key=scoped&path=/sub")
    assert client.get("/cookies").json == {}
    assert client.get("/sub/cookies").json == {"scoped": "v"}
    # "/sub" does not cover "/subway".
    jar = CookieJar()
    jar.update_from(["a=1; Path=/sub"], "localhost", "/")
    assert jar.header_for("localhost", "/sub") == "a=1"
    assert jar.header_for("localhost", "/subway") is None
    # Without a Path, the directory of the request path.
    jar.update_from(["b=2"], "localhost", "/dir/page")
    assert jar.get("b", "localhost", "/dir") is not None


def test_expired_cookies_are_dropped(app: Microframe) -> None:
    client = app.test_client()
    client.get("/set?key=gone&max_age=60")
    assert client.get("/cookies").json == {"gone": "v"}
    client.get("/set?key=gone&max_age=0")
    assert client.get_cookie("gone") is None
    client.get(
        "/set-raw", query_string={"header": "old=1; Expires=Thu, 01 Jan 2015 00:00:00 GMT"}
    )
    assert client.get_cookie("old") is None
    jar = CookieJar()
    jar.update_from(["soon=1; Max-Age=10"], "localhost", "/")
    cookie = jar.cookies[("localhost", "/", "soon")]
    assert not cookie.expired()
    assert cookie.expired(datetime.now(UTC) + timedelta(seconds=11))


def test_set_and_delete_cookie_in_flask_and_quart_orders(app: Microframe) -> None:
    client = app.test_client()
    client.set_cookie("flask", "1")
    client.set_cookie("flask_max", "2", max_age=60, path="/")
    client.set_cookie("localhost", "quart", "3")
    client.set_cookie(server_name="localhost", key="quart_kw", value="4")
    client.set_cookie("wide", "5", domain="example.com", origin_only=False)
    assert client.get("/cookies").json == {"flask": "1", "flask_max": "2", "quart": "3", "quart_kw": "4"}
    assert client.get("/cookies", "http://www.example.com/").json == {"wide": "5"}
    assert client.get_cookie("flask_max").max_age == 60  # type: ignore[union-attr]
    client.delete_cookie("flask")
    client.delete_cookie("localhost", "quart")
    client.delete_cookie("wide", domain="example.com")
    assert client.get("/cookies").json == {"flask_max": "2", "quart_kw": "4"}
    assert client.get("/cookies", "http://www.example.com/").json == {}


def test_a_cookie_header_given_by_the_test_is_sent_too(app: Microframe) -> None:
    client = app.test_client()
    client.set_cookie("jar", "1")
    assert client.get("/cookies", headers={"Cookie": "given=2"}).json == {"given": "2", "jar": "1"}


def test_cookie_from_set_cookie_header() -> None:
    cookie = Cookie.from_set_cookie(
        'id="a b"; Domain=.Example.com; Path=/p; HttpOnly; SameSite=Strict', "www.example.com", "/"
    )
    assert (cookie.key, cookie.value, cookie.decoded_value) == ("id", '"a b"', "a b")
    assert (cookie.domain, cookie.origin_only, cookie.path) == ("example.com", False, "/p")
    assert (cookie.http_only, cookie.secure, cookie.same_site) == (True, False, "Strict")
    assert cookie.request_pair() == 'id="a b"'


def test_cookie_origin_of_an_environ() -> None:
    assert cookie_origin({"HTTP_HOST": "Example.com:8080", "PATH_INFO": "/x"}) == ("example.com", "/x")
    assert cookie_origin({"HTTP_HOST": "[::1]:80", "SCRIPT_NAME": "/r", "PATH_INFO": "/x"}) == (
        "::1",
        "/r/x",
    )
    assert cookie_origin({"SERVER_NAME": "srv"}) == ("srv", "/")
    assert cookie_origin({"SERVER_NAME": "srv", "PATH_INFO": "login"}) == ("srv", "/login")
    assert cookie_origin({"SERVER_NAME": "srv", "SCRIPT_NAME": "/r/", "PATH_INFO": "x"}) == ("srv", "/r/x")


def test_a_relative_path_gets_the_cookies_of_the_root(app: Microframe) -> None:
    # client.post("login"), without the slash, is the request for /login, as
    # in werkzeug's client: the session cookie (Path=/) goes with it.
    client = app.test_client()
    client.set_cookie("session", "1", path="/")
    assert client.get("cookies").json == {"session": "1"}


_TOKEN = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=';=,"\\')


@given(key=st.text(alphabet=_TOKEN, min_size=1), value=st.text())
def test_any_value_survives_the_round_trip(key: str, value: str) -> None:
    # What the app sets is what the app reads back, whatever the quoting.
    cookie = Cookie.from_set_cookie(dump_cookie(key, value), "localhost", "/")
    assert (cookie.decoded_key, cookie.decoded_value) == (key, value)
    assert parse_cookie(cookie.request_pair()).get(key) == value

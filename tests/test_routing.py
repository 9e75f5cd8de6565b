from __future__ import annotations

import uuid
from typing import Any

import pytest
from asgi_driver import Req, run_asgi
from werkzeug.routing import BaseConverter

from microframe import Microframe, g, request, url_for


def _allow(response: Any) -> set[str]:
    return set(response.headers["Allow"].split(", "))


async def test_route_and_method_shortcuts(app: Microframe) -> None:
    @app.route("/both", methods=["GET", "POST"])
    async def both() -> str:
        return f"both {request.method}"

    @app.get("/r")
    async def read() -> str:
        return "get"

    @app.post("/r")
    async def create() -> str:
        return "post"

    @app.put("/r")
    async def replace() -> str:
        return "put"

    @app.patch("/r")
    async def update() -> str:
        return "patch"

    @app.delete("/r")
    async def remove() -> str:
        return "delete"

    client = app.test_client()
    for method in ("get", "post", "put", "patch", "delete"):
        response = await getattr(client, method)("/r")
        assert response.status_code == 200
        assert await response.get_data(as_text=True) == method
    assert await (await client.post("/both")).get_data(as_text=True) == "both POST"
    assert await (await client.get("/both")).get_data(as_text=True) == "both GET"
    response = await client.put("/both")
    assert response.status_code == 405
    assert _allow(response) == {"GET", "HEAD", "POST", "OPTIONS"}


def test_shortcut_refuses_methods(app: Microframe) -> None:
    with pytest.raises(TypeError, match="route"):
        app.get("/", methods=["POST"])


def test_methods_must_not_be_a_string(app: Microframe) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        app.add_url_rule("/", "index", lambda: "x", methods="POST")


async def test_add_url_rule_and_endpoint_decorator(app: Microframe) -> None:
    def plain() -> str:
        return "plain"

    app.add_url_rule("/plain", view_func=plain)
    app.add_url_rule("/named", "named_endpoint", plain)
    app.add_url_rule("/late", "late")

    @app.endpoint("late")
    async def late() -> str:
        return "late view"

    client = app.test_client()
    assert await (await client.get("/plain")).get_data(as_text=True) == "plain"
    assert await (await client.get("/named")).get_data(as_text=True) == "plain"
    assert await (await client.get("/late")).get_data(as_text=True) == "late view"
    async with app.test_request_context("/"):
        assert url_for("named_endpoint") == "/named"
        assert url_for("plain") == "/plain"


async def test_unknown_route_is_404(client: Any) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert "Not Found" in await response.get_data(as_text=True)


async def test_converters(app: Microframe) -> None:
    @app.get("/int/<int:n>")
    async def int_view(n: int) -> str:
        return f"{type(n).__name__}:{n + 1}"

    @app.get("/float/<float:x>")
    async def float_view(x: float) -> str:
        return f"{type(x).__name__}:{x * 2}"

    @app.get("/path/<path:rest>")
    async def path_view(rest: str) -> str:
        return rest

    @app.get("/uuid/<uuid:u>")
    async def uuid_view(u: uuid.UUID) -> str:
        return f"{type(u).__name__}:{u.hex}"

    @app.get("/any/<any(red, green):colour>")
    async def any_view(colour: str) -> str:
        return colour

    client = app.test_client()

    async def body(path: str) -> tuple[int, str]:
        response = await client.get(path)
        return response.status_code, await response.get_data(as_text=True)

    assert await body("/int/41") == (200, "int:42")
    assert (await client.get("/int/abc")).status_code == 404
    assert (await client.get("/int/-1")).status_code == 404
    assert await body("/float/1.5") == (200, "float:3.0")
    assert (await client.get("/float/1")).status_code == 404
    assert await body("/path/a/b/c.txt") == (200, "a/b/c.txt")
    value = uuid.uuid4()
    assert await body(f"/uuid/{value}") == (200, f"UUID:{value.hex}")
    assert (await client.get("/uuid/not-a-uuid")).status_code == 404
    assert await body("/any/green") == (200, "green")
    assert (await client.get("/any/blue")).status_code == 404


async def test_custom_converter(app: Microframe) -> None:
    class ListConverter(BaseConverter):
        def to_python(self, value: str) -> list[str]:
            return value.split("+")

        def to_url(self, value: list[str]) -> str:
            return "+".join(BaseConverter.to_url(self, item) for item in value)

    app.url_map.converters["list"] = ListConverter

    @app.get("/tags/<list:tags>")
    async def tags(tags: list[str]) -> dict[str, Any]:
        return {"tags": tags, "url": url_for("tags", tags=["x", "y z"])}

    response = await app.test_client().get("/tags/a+b+c")
    assert response.status_code == 200
    assert await response.get_json() == {"tags": ["a", "b", "c"], "url": "/tags/x+y%20z"}


async def test_defaults(app: Microframe) -> None:
    @app.get("/page/", defaults={"n": 1})
    @app.get("/page/<int:n>")
    async def page(n: int) -> str:
        return f"page {n}"

    client = app.test_client()
    assert await (await client.get("/page/")).get_data(as_text=True) == "page 1"
    assert await (await client.get("/page/7")).get_data(as_text=True) == "page 7"
    # The default's own URL is canonical: /page/1 redirects to /page/.
    response = await client.get("/page/1")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/page/")


async def test_strict_slashes_redirect(app: Microframe) -> None:
    @app.get("/folder/")
    async def folder() -> str:
        return "folder"

    @app.get("/file", strict_slashes=False)
    async def file() -> str:
        return "file"

    @app.post("/submit/")
    async def submit() -> str:
        return await request.get_data(as_text=True)

    client = app.test_client()
    response = await client.get("/folder", query_string={"a": "1"})
    assert response.status_code == 308
    assert response.headers["Location"] in ("http://localhost/folder/?a=1", "/folder/?a=1")
    response = await client.get("/folder", follow_redirects=True)
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "folder"
    assert (await client.get("/file/")).status_code == 200
    # 308 keeps the method and body when followed.
    response = await client.post("/submit", data=b"payload", follow_redirects=True)
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "payload"


async def test_automatic_head(app: Microframe, raw_request: Any) -> None:
    @app.get("/")
    async def index() -> tuple[str, dict[str, str]]:
        return "hello world", {"X-Custom": request.method}

    get = await raw_request(app, "GET", "/")
    head = await raw_request(app, "HEAD", "/")
    assert get.status == head.status == 200
    assert get.body == b"hello world"
    assert head.body == b""
    assert head.headers["content-length"] == get.headers["content-length"] == "11"
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["x-custom"] == "HEAD"
    response = await app.test_client().head("/")
    assert response.status_code == 200
    assert await response.get_data() == b""


async def test_head_of_streamed_response_has_no_body(app: Microframe, raw_request: Any) -> None:
    closed: list[bool] = []

    @app.get("/stream")
    async def stream() -> Any:
        async def gen() -> Any:
            try:
                yield b"chunk"
            finally:
                closed.append(True)

        return gen()

    head = await raw_request(app, "HEAD", "/stream")
    assert head.status == 200
    assert head.body == b""


async def test_automatic_options(app: Microframe) -> None:
    @app.route("/", methods=["GET", "POST"])
    async def index() -> str:
        return "index"

    @app.route("/own", methods=["GET", "OPTIONS"])
    async def own() -> tuple[str, dict[str, str]]:
        if request.method == "OPTIONS":
            return "", {"X-Own": "yes"}
        return "own"

    @app.get("/none", provide_automatic_options=False)
    async def none() -> str:
        return "none"

    client = app.test_client()
    response = await client.options("/")
    assert response.status_code == 200
    assert _allow(response) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert await response.get_data() == b""
    response = await client.options("/own")
    assert response.headers["X-Own"] == "yes"
    response = await client.options("/none")
    assert response.status_code == 405
    assert _allow(response) == {"GET", "HEAD"}


async def test_automatic_options_config(app: Microframe) -> None:
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False

    @app.get("/")
    async def index() -> str:
        return "index"

    response = await app.test_client().options("/")
    assert response.status_code == 405


async def test_405_has_allow_header(app: Microframe) -> None:
    @app.get("/thing")
    async def get_thing() -> str:
        return "thing"

    @app.delete("/thing")
    async def delete_thing() -> str:
        return "gone"

    response = await app.test_client().post("/thing", data=b"x")
    assert response.status_code == 405
    assert _allow(response) == {"GET", "HEAD", "DELETE", "OPTIONS"}
    assert "Method Not Allowed" in await response.get_data(as_text=True)


async def test_host_matching() -> None:
    app = Microframe(__name__, host_matching=True, static_host="static.test")
    app.config["TESTING"] = True

    @app.get("/", host="example.test")
    async def main() -> str:
        return "main"

    @app.get("/", host="<user>.users.test")
    async def user(user: str) -> str:
        return f"user {user} {url_for('main', _external=True)}"

    client = app.test_client()
    response = await client.get("/", headers={"Host": "example.test"})
    assert await response.get_data(as_text=True) == "main"
    response = await client.get("/", headers={"Host": "ada.users.test"})
    assert await response.get_data(as_text=True) == "user ada http://example.test/"
    response = await client.get("/", headers={"Host": "other.test"})
    assert response.status_code == 404


async def test_subdomain_matching() -> None:
    app = Microframe(__name__, subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")

    @app.get("/")
    async def index() -> str:
        return "root"

    @app.get("/", subdomain="api")
    async def api() -> str:
        return "api"

    @app.get("/", subdomain="<account>")
    async def account(account: str) -> str:
        return f"account {account} {url_for('api')}"

    client = app.test_client()
    response = await client.get("/", headers={"Host": "example.test"})
    assert await response.get_data(as_text=True) == "root"
    response = await client.get("/", headers={"Host": "api.example.test"})
    assert await response.get_data(as_text=True) == "api"
    response = await client.get("/", subdomain="ada")
    assert await response.get_data(as_text=True) == "account ada http://api.example.test/"
    async with app.app_context():
        assert url_for("account", account="bob") == "http://bob.example.test/"


async def test_subdomain_matching_other_host_is_404() -> None:
    app = Microframe(__name__, subdomain_matching=True)
    app.config.update(TESTING=True, SERVER_NAME="example.test")

    @app.get("/")
    async def index() -> str:
        return "root"

    @app.get("/", subdomain="api")
    async def api() -> str:
        return "api"

    client = app.test_client()
    # As werkzeug does, a host outside SERVER_NAME is warned about.
    with pytest.warns(UserWarning, match="'unrelated.test' doesn't match configured server name"):
        response = await client.get("/", headers={"Host": "unrelated.test"})
    assert response.status_code == 404
    assert (await client.get("/", headers={"Host": "x.example.test"})).status_code == 404
    response = await client.get("/", headers={"Host": "EXAMPLE.test"})
    assert await response.get_data(as_text=True) == "root"


async def test_subdomain_without_subdomain_matching_ignores_host(app: Microframe) -> None:
    app.config["SERVER_NAME"] = "example.test"

    @app.get("/")
    async def index() -> str:
        return "index"

    # Without subdomain_matching, SERVER_NAME does not restrict the host.
    response = await app.test_client().get("/", headers={"Host": "other.test"})
    assert response.status_code == 200


@pytest.mark.parametrize("subdomain_matching", [False, True])
async def test_external_urls_in_a_request_name_server_name(subdomain_matching: bool) -> None:
    # As in Flask and Quart: with SERVER_NAME set, an external URL built in a
    # request names it, whatever Host the request came with (a proxy's, say).
    app = Microframe(__name__, subdomain_matching=subdomain_matching)
    app.config["SERVER_NAME"] = "example.test:80"

    @app.get("/")
    async def index() -> str:
        return url_for("index", _external=True)

    client = app.test_client()
    if subdomain_matching:  # a host on another port is outside SERVER_NAME: a 404
        with pytest.warns(UserWarning, match="doesn't match configured server name"):
            response = await client.get("/", base_url="http://example.test:8080")
        assert response.status_code == 404
        response = await client.get("/", base_url="http://example.test")
    else:
        response = await client.get("/", base_url="http://example.test:8080")
    assert await response.get_data(as_text=True) == "http://example.test/"
    if not subdomain_matching:
        response = await client.get("/", base_url="https://internal:8443")
        assert await response.get_data(as_text=True) == "https://example.test:80/"


async def test_url_value_preprocessor_and_url_defaults(app: Microframe) -> None:
    @app.url_defaults
    def add_lang(endpoint: str, values: dict[str, Any]) -> None:
        if "lang" in values or not app.url_map.is_endpoint_expecting(endpoint, "lang"):
            return
        values["lang"] = g.lang

    @app.url_value_preprocessor
    def pull_lang(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        g.lang = values.pop("lang")

    @app.get("/<lang>/")
    async def index() -> str:
        return f"{g.lang} {url_for('about')} {url_for('about', lang='fr')}"

    @app.get("/<lang>/about")
    async def about() -> str:
        return "about"

    response = await app.test_client().get("/de/")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "de /de/about /fr/about"


async def test_async_url_value_preprocessor(app: Microframe) -> None:
    @app.url_value_preprocessor
    async def convert(endpoint: str | None, values: dict[str, Any] | None) -> None:
        assert values is not None
        values["n"] = values["n"] * 10

    @app.get("/<int:n>")
    async def index(n: int) -> str:
        return str(n)

    response = await app.test_client().get("/4")
    assert await response.get_data(as_text=True) == "40"


def test_duplicate_endpoint_with_other_function(app: Microframe) -> None:
    @app.get("/a")
    async def view() -> str:
        return "a"

    async def other() -> str:
        return "b"

    # The same function twice is fine.
    app.add_url_rule("/a2", "view", view)
    with pytest.raises(AssertionError, match="overwriting an existing endpoint function: view"):
        app.add_url_rule("/b", "view", other)


async def test_setup_after_first_request(app: Microframe) -> None:
    @app.get("/")
    async def index() -> str:
        return "index"

    await app.test_client().get("/")
    with pytest.raises(AssertionError, match="'add_url_rule' can no longer be called") as info:
        app.add_url_rule("/late", "late", index)
    assert "already handled its first request" in str(info.value)
    with pytest.raises(AssertionError, match="'before_request'"):
        app.before_request(lambda: None)
    with pytest.raises(AssertionError, match="'route'"):
        app.route("/x")
    with pytest.raises(AssertionError, match="'errorhandler'"):
        app.errorhandler(404)


async def test_request_routing_attributes(app: Microframe) -> None:
    @app.get("/item/<int:item_id>")
    async def item(item_id: int) -> dict[str, Any]:
        assert request.url_rule is not None
        return {
            "endpoint": request.endpoint,
            "rule": request.url_rule.rule,
            "view_args": request.view_args,
            "blueprint": request.blueprint,
        }

    response = await app.test_client().get("/item/5")
    assert await response.get_json() == {
        "endpoint": "item",
        "rule": "/item/<int:item_id>",
        "view_args": {"item_id": 5},
        "blueprint": None,
    }


# -- the match cache: once serving, routing results are remembered --------------


async def test_cached_routing_results_stay_right(app: Microframe) -> None:
    @app.route("/item/<int:n>", methods=["GET", "POST"])
    async def item(n: int) -> str:
        return f"item {n} {url_for('item', n=n + 1)}"

    client = app.test_client()
    for _ in range(3):  # the first request fills the cache; the others hit it
        assert await (await client.get("/item/1")).get_data(as_text=True) == "item 1 /item/2"
        assert await (await client.get("/item/2")).get_data(as_text=True) == "item 2 /item/3"
        missing = await client.get("/nothing")
        assert missing.status_code == 404
        wrong = await client.put("/item/1")
        assert wrong.status_code == 405
        assert _allow(wrong) == {"GET", "HEAD", "POST", "OPTIONS"}
        options = await client.options("/item/1")
        assert _allow(options) == {"GET", "HEAD", "POST", "OPTIONS"}
        # A redirect depends on the query string: it is never cached.
    assert len(app._cycle.match_cache) >= 3


async def test_slash_redirect_keeps_each_query_string(app: Microframe) -> None:
    @app.get("/folder/")
    async def folder() -> str:
        return "folder"

    client = app.test_client()
    for query in ("a=1", "b=2"):
        response = await client.get(f"/folder?{query}")
        assert response.status_code == 308
        assert response.headers["Location"].endswith(f"/folder/?{query}")


@pytest.fixture
def two_hosts(app: Microframe) -> Microframe:
    """An app matching by host: ``/`` on a.test answers "a", on b.test "b"."""
    app.url_map.host_matching = True

    @app.get("/", host="a.test")
    async def on_a() -> str:
        return "a"

    @app.get("/", host="b.test", endpoint="on_b")
    async def on_b() -> str:
        return "b"

    return app


async def test_match_cache_is_keyed_by_host(two_hosts: Microframe) -> None:
    client = two_hosts.test_client()
    for _ in range(2):
        for host, expected in (("a.test", "a"), ("b.test", "b")):
            response = await client.get("/", headers={"Host": host})
            assert await response.get_data(as_text=True) == expected
        assert (await client.get("/", headers={"Host": "c.test"})).status_code == 404


async def test_repeated_host_headers_route_by_the_first_and_spoil_no_match(
    two_hosts: Microframe,
) -> None:
    # werkzeug reads the first Host header; a request sending two must be
    # routed by it, and must not leave its result remembered for the second.
    # As a server hands them over (a test client's environ holds one Host).
    twice = Req("GET", "/", host=b"a.test", headers=((b"host", b"b.test"),))
    once = Req("GET", "/", host=b"b.test")
    for _ in range(2):
        assert (await run_asgi(two_hosts, twice)).body == b"a"
        assert (await run_asgi(two_hosts, once)).body == b"b"


async def test_match_cache_follows_server_name(app: Microframe) -> None:
    app.subdomain_matching = True

    @app.get("/", subdomain="api")
    async def api() -> str:
        return "api"

    client = app.test_client()
    app.config["SERVER_NAME"] = "example.test"
    response = await client.get("/", headers={"Host": "api.example.test"})
    assert await response.get_data(as_text=True) == "api"
    app.config["SERVER_NAME"] = "other.test"
    with pytest.warns(UserWarning, match="doesn't match configured server name 'other.test'"):
        response = await client.get("/", headers={"Host": "api.example.test"})
    assert response.status_code == 404


async def test_match_cache_is_bounded(app: Microframe) -> None:
    from microframe.routing import MATCH_CACHE_SIZE

    @app.get("/known")
    async def known() -> str:
        return "known"

    client = app.test_client()
    for number in range(MATCH_CACHE_SIZE + 10):
        # Paths chosen by clients must not grow the cache without limit.
        app_request = app.test_request_context(f"/missing/{number}")
        async with app_request:
            pass
    assert (await client.get("/missing/x")).status_code == 404
    assert len(app._cycle.match_cache) <= MATCH_CACHE_SIZE
    assert await (await client.get("/known")).get_data(as_text=True) == "known"


async def test_bad_host_is_refused_on_every_request(app: Microframe) -> None:
    app.config["TRUSTED_HOSTS"] = ["good.test"]

    @app.get("/")
    async def index() -> str:
        return "ok"

    client = app.test_client()
    for _ in range(2):
        assert (await client.get("/", headers={"Host": "good.test"})).status_code == 200
        assert (await client.get("/", headers={"Host": "evil.test"})).status_code == 400


# -- the build cache: once serving, URLs built without values are remembered ------


async def test_remembered_urls_follow_the_request(app: Microframe) -> None:
    app.subdomain_matching = True
    app.config["SERVER_NAME"] = "example.test"

    @app.get("/")
    async def index() -> str:
        return "index"

    @app.get("/api", subdomain="api")
    async def api() -> str:
        return "api"

    @app.get("/item")
    @app.post("/item/new")
    async def item() -> str:
        return "item"

    @app.route("/urls", methods=["GET", "POST"])
    @app.route("/urls", methods=["GET", "POST"], subdomain="api", endpoint="api_urls")
    async def urls() -> str:
        return " ".join(
            [
                url_for("index"),
                url_for("api"),
                url_for("index", _external=True),
                url_for("index", _external=True, _scheme="https"),
                url_for("item"),
                url_for("item", _method="POST"),
                url_for("index", _anchor="top"),
            ]
        )

    client = app.test_client()
    for _ in range(3):  # the first request fills the cache; the others hit it
        # Each request differs from another in one thing the URLs depend on.
        for sub, root, scheme, method in (
            ("", "", "http", "GET"),
            ("", "/mount", "http", "GET"),
            ("", "", "https", "GET"),
            ("", "", "http", "POST"),
            ("api.", "", "http", "GET"),
        ):
            response = await client.open(
                "/urls",
                method=method,
                headers={"Host": f"{sub}example.test"},
                root_path=root,
                scheme=scheme,
            )
            site = f"{scheme}://example.test{root}"
            # From the api subdomain, the other rules' URLs are external.
            here = site if sub else root
            assert (await response.get_data(as_text=True)).split() == [
                f"{here}/",
                f"{root}/api" if sub else f"{scheme}://api.example.test{root}/api",
                f"{site}/",
                f"https://example.test{root}/",
                f"{here}/item" if method == "GET" else f"{here}/item/new",
                f"{here}/item/new",
                f"{here}/#top",
            ]
    assert len(app._cycle.build_cache) >= 6


async def test_url_defaults_and_build_errors_are_not_remembered(app: Microframe) -> None:
    @app.get("/page/<lang>")
    async def page(lang: str) -> str:
        return "page"

    @app.url_defaults
    def language(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "page" and "lang" not in values:
            values["lang"] = g.lang

    calls: list[str] = []

    @app.url_build_error_handlers.append
    def fallback(error: Exception, endpoint: str, values: dict[str, Any]) -> str:
        calls.append(endpoint)
        return f"/fallback/{endpoint}"

    @app.get("/urls/<lang>")
    async def urls(lang: str) -> str:
        g.lang = lang
        return f"{url_for('page')} {url_for('missing')}"

    client = app.test_client()
    for lang in ("en", "fr", "en"):
        response = await client.get(f"/urls/{lang}")
        assert await response.get_data(as_text=True) == f"/page/{lang} /fallback/missing"
    assert calls == ["missing"] * 3


async def test_build_cache_is_bounded(app: Microframe) -> None:
    from microframe.routing import BUILD_CACHE_SIZE

    @app.get("/")
    async def index() -> str:
        return "index"

    client = app.test_client()
    await client.get("/")
    for number in range(BUILD_CACHE_SIZE + 10):
        # A Host header chosen by clients is part of each remembered URL.
        async with app.test_request_context("/", headers={"Host": f"h{number}.test"}):
            assert url_for("index", _external=True) == f"http://h{number}.test/"
    assert len(app._cycle.build_cache) <= BUILD_CACHE_SIZE

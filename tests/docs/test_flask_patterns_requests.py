"""Flask's patterns about requests and responses, as a user following them
writes them: view decorators, caching, deferred callbacks, method overrides,
request checksums, file uploads, streaming, message flashing and JSON for
JavaScript clients. Each in Flask's sync style and, where Quart's docs would
write it so, in the async style."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

import pytest
from cachelib import SimpleCache
from werkzeug.routing import Rule
from werkzeug.utils import secure_filename

from microframe import (
    Microframe,
    after_this_request,
    flash,
    g,
    get_flashed_messages,
    jsonify,
    redirect,
    render_template,
    render_template_string,
    request,
    send_from_directory,
    stream_template_string,
    stream_with_context,
    url_for,
)


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    (folder / "shop").mkdir(parents=True)
    (folder / "index.html").write_text("value={{ value }}")
    (folder / "shop" / "cart.html").write_text("cart of {{ n }}")
    return folder


# -- view decorators --------------------------------------------------------------------


def login_required(f: Callable[..., Any]) -> Callable[..., Any]:
    """The page's decorator, for sync views."""

    @wraps(f)
    def decorated_function(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("login", next=request.url))
        return f(*args, **kwargs)

    return decorated_function


def async_login_required(f: Callable[..., Any]) -> Callable[..., Any]:
    """The same decorator for async views, as Quart's docs write decorators."""

    @wraps(f)
    async def decorated_function(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            return redirect(url_for("login", next=request.url))
        return await f(*args, **kwargs)

    return decorated_function


def _login_app() -> Microframe:
    app = Microframe(__name__)

    @app.before_request
    def load_user() -> None:
        g.user = request.headers.get("X-User")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str:
        if request.method == "POST":
            return f"logged in, going to {request.form['next']}"
        return f'<input type="hidden" value="{request.args.get("next", "")}"/>'

    @app.route("/secret_page")
    @login_required
    def secret_page() -> str:
        return f"secret for {g.user}"

    @app.route("/async_secret/<int:n>")
    @async_login_required
    async def async_secret(n: int) -> str:
        return f"async secret {n} for {g.user}"

    return app


def test_login_required_redirects_with_next_then_serves() -> None:
    client = _login_app().test_client()
    for path in ("/secret_page", "/async_secret/7?x=1"):
        response = client.get(path)
        assert response.status_code == 302
        # As Flask builds it: the query's "=" quoted, its "?" kept.
        assert response.headers["Location"] == "/login?next=http://localhost" + path.replace(
            "=", "%3D"
        )
    page = client.get("/secret_page", follow_redirects=True)
    assert page.text == '<input type="hidden" value="http://localhost/secret_page"/>'
    assert client.post("/login", data={"next": "/secret_page"}).text == (
        "logged in, going to /secret_page"
    )
    # A login form without its hidden field is a bad request.
    assert client.post("/login", data={}).status_code == 400
    assert client.get("/secret_page", headers={"X-User": "ann"}).text == "secret for ann"
    assert client.get("/async_secret/7", headers={"X-User": "ann"}).text == "async secret 7 for ann"
    # functools.wraps keeps the endpoints named after the views.
    assert {"secret_page", "async_secret"} <= set(_login_app().view_functions)


def test_the_caching_decorator_with_cachelib() -> None:
    cache = SimpleCache()
    calls: list[str] = []

    def cached(timeout: int = 5 * 60, key: str = "view/{}") -> Callable[..., Any]:
        def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(f)
            def decorated_function(*args: Any, **kwargs: Any) -> Any:
                cache_key = key.format(request.path)
                rv = cache.get(cache_key)
                if rv is not None:
                    return rv
                rv = f(*args, **kwargs)
                cache.set(cache_key, rv, timeout=timeout)
                return rv

            return decorated_function

        return decorator

    app = Microframe(__name__)

    @app.route("/expensive/<int:n>")
    @cached()
    def expensive(n: int) -> str:
        calls.append(request.path)
        return f"result {n * n}"

    client = app.test_client()
    assert [client.get("/expensive/3").text for _ in range(3)] == ["result 9"] * 3
    assert client.get("/expensive/4").text == "result 16"
    assert calls == ["/expensive/3", "/expensive/4"]


def test_the_templating_decorator(templates: Path) -> None:
    def templated(template: str | None = None) -> Callable[..., Any]:
        def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(f)
            def decorated_function(*args: Any, **kwargs: Any) -> Any:
                template_name = template
                if template_name is None:
                    template_name = f"{request.endpoint.replace('.', '/')}.html"
                ctx = f(*args, **kwargs)
                if ctx is None:
                    ctx = {}
                elif not isinstance(ctx, dict):
                    return ctx
                return render_template(template_name, **ctx)

            return decorated_function

        return decorator

    from microframe import Blueprint

    app = Microframe(__name__, template_folder=str(templates))
    shop = Blueprint("shop", __name__)

    @app.route("/")
    @templated("index.html")
    def index() -> dict[str, int]:
        return dict(value=42)

    @app.route("/elsewhere")
    @templated()
    def elsewhere() -> Any:
        return redirect("/")

    @shop.route("/cart")
    @templated()
    def cart() -> dict[str, int]:
        return dict(n=3)

    app.register_blueprint(shop)
    client = app.test_client()
    assert client.get("/").text == "value=42"
    assert client.get("/elsewhere").status_code == 302
    assert client.get("/cart").text == "cart of 3"


def test_the_endpoint_decorator() -> None:
    app = Microframe(__name__)
    app.url_map.add(Rule("/", endpoint="index"))

    @app.endpoint("index")
    def my_index() -> str:
        return "Hello world"

    client = app.test_client()
    assert client.get("/").text == "Hello world"
    assert client.post("/").status_code == 200  # a bare Rule allows every method


# -- deferred callbacks -------------------------------------------------------------------


@pytest.mark.parametrize("style", ["sync", "async"])
def test_after_this_request_sets_the_language_cookie(style: str) -> None:
    app = Microframe(__name__)

    def detect_user_language() -> None:
        language = request.cookies.get("user_lang")
        if language is None:
            language = request.accept_languages.best_match(["de", "fr", "en"]) or "en"

            @after_this_request
            def remember_language(response: Any) -> Any:
                response.set_cookie("user_lang", language)
                return response

        g.language = language

    if style == "sync":
        app.before_request(detect_user_language)
    else:

        async def async_detect() -> None:
            detect_user_language()

        app.before_request(async_detect)

    @app.route("/")
    def index() -> str:
        return g.language

    client = app.test_client()
    first = client.get("/", headers={"Accept-Language": "fr;q=0.9, de;q=0.5"})
    assert first.text == "fr"
    assert "user_lang=fr" in first.headers["Set-Cookie"]
    again = client.get("/", headers={"Accept-Language": "de"})
    assert again.text == "fr"  # the cookie wins now
    assert "Set-Cookie" not in again.headers


# -- method overrides ----------------------------------------------------------------------


class HTTPMethodOverrideMiddleware:
    """The page's WSGI middleware, as typed from it."""

    allowed_methods = frozenset(["GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"])
    bodyless_methods = frozenset(["GET", "HEAD", "OPTIONS", "DELETE"])

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").upper()
        if method in self.allowed_methods:
            environ["REQUEST_METHOD"] = method
        if method in self.bodyless_methods:
            environ["CONTENT_LENGTH"] = "0"
        return self.app(environ, start_response)


def test_method_override_middleware() -> None:
    app = Microframe(__name__)
    app.wsgi_app = HTTPMethodOverrideMiddleware(app.wsgi_app)  # type: ignore[method-assign]

    @app.route("/item", methods=["POST", "PATCH", "DELETE"])
    async def item() -> dict[str, Any]:
        return {"method": request.method, "body": (await request.get_data()).decode()}

    client = app.test_client()
    override = {"X-HTTP-Method-Override": "patch"}
    assert client.post("/item", data="x=1", headers=override).json == {"method": "PATCH", "body": "x=1"}
    deleted = client.post("/item", data="ignored", headers={"X-HTTP-Method-Override": "DELETE"})
    assert deleted.json == {"method": "DELETE", "body": ""}
    assert client.post("/item", data="y").json == {"method": "POST", "body": "y"}
    # Overridden to a method the route does not allow: 405, with Allow.
    refused = client.post("/item", headers={"X-HTTP-Method-Override": "PUT"})
    assert refused.status_code == 405
    assert set(refused.headers["Allow"].split(", ")) >= {"POST", "PATCH", "DELETE"}


# -- request checksums ------------------------------------------------------------------------


class ChecksumCalcStream:
    """The page's stream wrapper."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._hash = hashlib.sha1()

    def read(self, bytes: int = -1) -> bytes:
        rv = self._stream.read(bytes)
        self._hash.update(rv)
        return rv

    def readline(self, size_hint: int = -1) -> bytes:
        rv = self._stream.readline(size_hint)
        self._hash.update(rv)
        return rv


def test_request_checksum_in_wsgi_middleware() -> None:
    # The page wraps environ["wsgi.input"]; a WSGI middleware around
    # app.wsgi_app sees the same environ and hands the wrapped stream on.
    hashes: list[Any] = []

    def checksum_middleware(wsgi_app: Any) -> Any:
        def middleware(environ: dict[str, Any], start_response: Any) -> Any:
            stream = ChecksumCalcStream(environ["wsgi.input"])
            environ["wsgi.input"] = stream
            hashes.append(stream._hash)
            return wsgi_app(environ, start_response)

        return middleware

    app = Microframe(__name__)
    app.wsgi_app = checksum_middleware(app.wsgi_app)  # type: ignore[method-assign]

    @app.route("/special-api", methods=["POST"])
    def special_api() -> str:
        files = request.files
        return f"{files['f'].read().decode()} hash was: {hashes[-1].hexdigest()}"

    body = io.BytesIO(b"payload")
    response = app.test_client().post(
        "/special-api", data={"f": (body, "f.txt")}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    sent = response.request.get_data()
    assert response.text == f"payload hash was: {hashlib.sha1(sent).hexdigest()}"


async def test_request_checksum_from_the_cached_body(app: Microframe) -> None:
    # The async form: the body is read once, hashed, and still parsed after.
    @app.route("/special-api", methods=["POST"])
    async def special_api() -> str:
        checksum = hashlib.sha1(await request.get_data(cache=True)).hexdigest()
        form = await request.form
        return f"{form['a']} {checksum}"

    response = await app.test_client().post("/special-api", data={"a": "b"})
    assert await response.get_data(as_text=True) == f"b {hashlib.sha1(b'a=b').hexdigest()}"


# -- file uploads -------------------------------------------------------------------------------

ALLOWED_EXTENSIONS = {"txt", "pdf", "png", "jpg", "jpeg", "gif"}


def allowed_file(filename: str) -> bool:
    return "." in filename and filename.rsplit(".", 1)[1].lower() in ALLOWED_EXTENSIONS


def _upload_app(folder: Path, style: str) -> Microframe:
    app = Microframe(__name__)
    app.config.update(UPLOAD_FOLDER=str(folder), SECRET_KEY="dev", MAX_CONTENT_LENGTH=16 * 1000)

    if style == "sync":

        @app.route("/", methods=["GET", "POST"])
        def upload_file() -> Any:
            if request.method == "POST":
                if "file" not in request.files:
                    flash("No file part")
                    return redirect(request.url)
                file = request.files["file"]
                if file.filename == "":
                    flash("No selected file")
                    return redirect(request.url)
                if file and allowed_file(file.filename):
                    filename = secure_filename(file.filename)
                    file.save(os.path.join(app.config["UPLOAD_FOLDER"], filename))
                    return redirect(url_for("download_file", name=filename))
            return "<form method=post enctype=multipart/form-data>" + " ".join(
                get_flashed_messages()
            )

    else:

        @app.route("/", methods=["GET", "POST"])
        async def upload_file() -> Any:
            if request.method == "POST":
                files = await request.files
                if "file" not in files:
                    flash("No file part")
                    return redirect(request.url)
                file = files["file"]
                if file.filename == "":
                    flash("No selected file")
                    return redirect(request.url)
                if file and allowed_file(file.filename):
                    filename = secure_filename(file.filename)
                    await file.save(os.path.join(app.config["UPLOAD_FOLDER"], filename))
                    return redirect(url_for("download_file", name=filename))
            return "<form method=post enctype=multipart/form-data>" + " ".join(
                get_flashed_messages()
            )

    @app.route("/uploads/<name>")
    def download_file(name: str) -> Any:
        return send_from_directory(app.config["UPLOAD_FOLDER"], name)

    return app


@pytest.mark.parametrize("style", ["sync", "async"])
def test_the_upload_page(tmp_path: Path, style: str) -> None:
    client = _upload_app(tmp_path, style).test_client()
    assert "<form" in client.get("/").text

    uploaded = client.post("/", data={"file": (io.BytesIO(b"hello"), "../../etc/notes.txt")})
    assert uploaded.status_code == 302
    assert uploaded.headers["Location"] == "/uploads/etc_notes.txt"
    assert (tmp_path / "etc_notes.txt").read_bytes() == b"hello"
    download = client.get("/uploads/etc_notes.txt")
    assert download.data == b"hello"
    assert download.mimetype == "text/plain"
    assert client.get("/uploads/missing.txt").status_code == 404
    assert client.get("/uploads/..%2F..%2Fsecret").status_code == 404

    no_part = client.post("/", data={"other": "x"}, follow_redirects=True)
    assert no_part.text.endswith("No file part")
    empty = client.post("/", data={"file": (io.BytesIO(b""), "")}, follow_redirects=True)
    assert empty.text.endswith("No selected file")
    # A disallowed extension falls through to the form again, nothing saved.
    refused = client.post("/", data={"file": (io.BytesIO(b"<?php"), "x.php")})
    assert refused.status_code == 200
    assert not (tmp_path / "x.php").exists()


@pytest.mark.parametrize("style", ["sync", "async"])
def test_an_upload_over_max_content_length_is_413(tmp_path: Path, style: str) -> None:
    client = _upload_app(tmp_path, style).test_client()
    big = client.post("/", data={"file": (io.BytesIO(b"x" * 20_000), "big.txt")})
    assert big.status_code == 413
    assert not (tmp_path / "big.txt").exists()


# -- streaming ------------------------------------------------------------------------------


def test_streaming_from_a_generator_with_context() -> None:
    app = Microframe(__name__)

    @app.route("/large.csv")
    def generate_large_csv() -> Any:
        def generate() -> Iterator[str]:
            for row in range(3):
                yield f"{row},{row * 2}\n"

        return generate(), {"Content-Type": "text/csv"}

    @app.route("/stream")
    def streamed_response() -> Any:
        @stream_with_context
        def generate() -> Iterator[str]:
            yield "Hello "
            yield request.args["name"]
            yield "!"

        return generate()

    @app.route("/async-stream")
    async def async_streamed() -> Any:
        async def generate() -> Any:
            yield "Hi "
            yield request.args.get("name", "nobody")

        return generate()

    @app.get("/timeline")
    def timeline() -> Any:
        return stream_template_string("{% for m in messages %}{{ m }};{% endfor %}", messages=["a", "b"])

    client = app.test_client()
    csv = client.get("/large.csv")
    assert csv.mimetype == "text/csv"
    assert csv.text == "0,0\n1,2\n2,4\n"
    assert csv.is_streamed
    assert client.get("/stream?name=Ann").text == "Hello Ann!"
    assert client.get("/async-stream?name=Bo").text == "Hi Bo"
    assert client.get("/timeline").text == "a;b;"
    # A missing query argument in the streamed generator ends the stream:
    # the status was sent already, so the body is cut short.
    broken = client.get("/stream")
    assert broken.status_code == 200


# -- message flashing ---------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["sync", "async"])
def test_flashing_with_categories(style: str) -> None:
    app = Microframe(__name__)
    app.secret_key = b"_5#y2L\"F4Q8z\n\xec]/"

    page = (
        "{% with errors = get_flashed_messages(category_filter=['error']) %}"
        "{% for e in errors %}[E:{{ e }}]{% endfor %}{% endwith %}"
        "{% for c, m in get_flashed_messages(with_categories=true) %}[{{ c }}:{{ m }}]{% endfor %}"
    )

    if style == "sync":

        @app.route("/login", methods=["GET", "POST"])
        def login() -> Any:
            error = None
            if request.method == "POST":
                if request.form["username"] != "admin":
                    error = "Invalid credentials"
                    flash(error, "error")
                else:
                    flash("You were successfully logged in")
                    return redirect(url_for("index"))
            return render_template_string(page)

    else:

        @app.route("/login", methods=["GET", "POST"])
        async def login() -> Any:
            if request.method == "POST":
                if (await request.form)["username"] != "admin":
                    flash("Invalid credentials", "error")
                else:
                    flash("You were successfully logged in")
                    return redirect(url_for("index"))
            from microframe import render_template_string as render

            return await render(page)

    @app.route("/")
    def index() -> Any:
        return render_template_string(page)

    client = app.test_client()
    assert client.post("/login", data={"username": "x"}).text == (
        "[E:Invalid credentials][error:Invalid credentials]"
    )
    done = client.post("/login", data={"username": "admin"}, follow_redirects=True)
    assert done.text == "[message:You were successfully logged in]"
    assert client.get("/").text == ""  # shown once only
    assert client.post("/login", data={}).status_code == 400


# -- JavaScript, fetch and JSON ---------------------------------------------------------------


def _json_app() -> Microframe:
    app = Microframe(__name__)
    users = {1: {"id": 1, "name": "ann"}}

    @app.route("/user/<int:id>")
    def user_detail(id: int) -> Any:
        return users[id]

    @app.route("/users")
    def user_list() -> Any:
        return jsonify(list(users.values()))

    @app.post("/user/<int:id>")
    def user_update(id: int) -> Any:
        users[id].update(request.get_json())
        return users[id]

    @app.post("/async-user/<int:id>")
    async def async_user_update(id: int) -> Any:
        users[id].update(await request.get_json())
        return users[id]

    @app.get("/data")
    def data() -> Any:
        return render_template_string(
            "<script>const chart_data = {{ chart_data|tojson }}</script>",
            chart_data={"a": "</script>"},
        )

    return app


@pytest.mark.parametrize("path", ["/user/1", "/async-user/1"])
def test_fetch_posting_json(path: str) -> None:
    client = _json_app().test_client()
    assert client.get("/user/1").json == {"id": 1, "name": "ann"}
    assert client.get("/users").json == [{"id": 1, "name": "ann"}]
    updated = client.post(path, json={"name": "bob"})
    assert updated.status_code == 200
    assert updated.json == {"id": 1, "name": "bob"}
    assert updated.mimetype == "application/json"
    # The page: without the JSON content type, Flask answers 415.
    assert client.post(path, data='{"name": "x"}').status_code == 415
    bad = client.post(path, data="{not json", content_type="application/json")
    assert bad.status_code == 400


def test_tojson_in_a_script_tag_is_safe() -> None:
    text = _json_app().test_client().get("/data").text
    assert "</script>" not in text[len("<script>") : -len("</script>")]
    assert text == '<script>const chart_data = {"a": "\\u003c/script\\u003e"}</script>'

"""Flask's patterns for templates and data, as a user following them writes
them: template inheritance, sqlite3 with the connection on ``g``, and
WTForms in the view (sync, and async with the form data awaited)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from wtforms import BooleanField, Form, PasswordField, StringField, validators

from microframe import (
    Microframe,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)

# -- template inheritance -----------------------------------------------------------------

LAYOUT = """<!doctype html>
<html><head>{% block head %}<title>{% block title %}{% endblock %} - My Webpage</title>{% endblock %}</head>
<body><div id="content">{% block content %}{% endblock %}</div>
<div id="footer">{% block footer %}&copy; Copyright 2008{% endblock %}</div></body></html>"""

CHILD = """{% extends "layout.html" %}
{% block title %}Index{% endblock %}
{% block head %}{{ super() }}<style>.important { color: #336699; }</style>{% endblock %}
{% block content %}<h1>Index</h1><p class="important">Welcome {{ name }}</p>{% endblock %}"""


@pytest.fixture
def site(tmp_path: Path) -> Microframe:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "layout.html").write_text(LAYOUT)
    (tmp_path / "templates" / "index.html").write_text(CHILD)
    return Microframe(__name__, root_path=str(tmp_path))


@pytest.mark.parametrize("style", ["sync", "async"])
def test_a_child_template_fills_the_layouts_blocks(site: Microframe, style: str) -> None:
    if style == "sync":

        @site.route("/")
        def index() -> str:
            return render_template("index.html", name="<ann>")

    else:

        @site.route("/")
        async def index() -> str:
            return await render_template("index.html", name="<ann>")

    text = site.test_client().get("/").text
    assert "<title>Index - My Webpage</title><style>" in text
    assert '<p class="important">Welcome &lt;ann&gt;</p>' in text
    assert "&copy; Copyright 2008" in text


def test_a_missing_template_is_a_500(site: Microframe) -> None:
    from jinja2 import TemplateNotFound

    @site.route("/missing")
    def missing() -> str:
        return render_template("nope.html")

    assert site.test_client().get("/missing").status_code == 500
    site.testing = True
    with pytest.raises(TemplateNotFound):
        site.test_client().get("/missing")


# -- sqlite3 -----------------------------------------------------------------------------------


def _sqlite_app(database: Path, style: str) -> Microframe:
    app = Microframe(__name__)

    def get_db() -> sqlite3.Connection:
        db = getattr(g, "_database", None)
        if db is None:
            db = g._database = sqlite3.connect(database)
            db.row_factory = sqlite3.Row
        return db

    @app.teardown_appcontext
    def close_connection(exception: BaseException | None) -> None:
        db = getattr(g, "_database", None)
        if db is not None:
            db.close()

    def query_db(query: str, args: tuple[Any, ...] = (), one: bool = False) -> Any:
        cur = get_db().execute(query, args)
        rv = cur.fetchall()
        cur.close()
        return (rv[0] if rv else None) if one else rv

    def init_db() -> None:
        with app.app_context():
            db = get_db()
            db.cursor().executescript(
                "create table users (id integer primary key, username text unique);"
                "insert into users (username) values ('ann'), ('bob');"
            )
            db.commit()

    app.init_db = init_db  # type: ignore[attr-defined]

    if style == "sync":

        @app.route("/users/<the_username>")
        def user(the_username: str) -> Any:
            found = query_db("select * from users where username = ?", [the_username], one=True)
            if found is None:
                return "No such user", 404
            return {"id": found["id"], "username": found["username"]}

        @app.post("/users")
        def add_user() -> Any:
            try:
                get_db().execute("insert into users (username) values (?)", (request.form["username"],))
                get_db().commit()
            except sqlite3.IntegrityError:
                return "taken", 409
            return "", 201

    else:

        @app.route("/users/<the_username>")
        async def user(the_username: str) -> Any:
            found = query_db("select * from users where username = ?", [the_username], one=True)
            if found is None:
                return "No such user", 404
            return {"id": found["id"], "username": found["username"]}

        @app.post("/users")
        async def add_user() -> Any:
            name = (await request.form)["username"]
            try:
                get_db().execute("insert into users (username) values (?)", (name,))
                get_db().commit()
            except sqlite3.IntegrityError:
                return "taken", 409
            return "", 201

    return app


@pytest.mark.parametrize("style", ["sync", "async"])
def test_the_sqlite3_pattern(tmp_path: Path, style: str) -> None:
    app = _sqlite_app(tmp_path / "app.db", style)
    app.init_db()  # type: ignore[attr-defined]
    client = app.test_client()
    assert client.get("/users/ann").json == {"id": 1, "username": "ann"}
    assert client.get("/users/zed").status_code == 404
    assert client.post("/users", data={"username": "cy"}).status_code == 201
    assert client.get("/users/cy").json["id"] == 3
    assert client.post("/users", data={"username": "cy"}).status_code == 409
    assert client.post("/users", data={}).status_code == 400


# -- WTForms -----------------------------------------------------------------------------------


class RegistrationForm(Form):
    username = StringField("Username", [validators.Length(min=4, max=25)])
    email = StringField("Email Address", [validators.Length(min=6, max=35)])
    password = PasswordField(
        "New Password",
        [validators.DataRequired(), validators.EqualTo("confirm", message="Passwords must match")],
    )
    confirm = PasswordField("Repeat Password")
    accept_tos = BooleanField("I accept the TOS", [validators.DataRequired()])


PAGE = (
    "{% for field in form %}{% for e in field.errors %}[{{ field.name }}: {{ e }}]"
    "{% endfor %}{% endfor %}{{ form.username(size=10) }}"
)


def _register_app(tmp_path: Path, style: str) -> tuple[Microframe, list[str]]:
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "register.html").write_text(PAGE)
    app = Microframe(__name__, root_path=str(tmp_path))
    app.secret_key = "dev"
    users: list[str] = []

    @app.route("/login")
    def login() -> str:
        return " ".join(get_flashed_messages())

    if style == "sync":

        @app.route("/register", methods=["GET", "POST"])
        def register() -> Any:
            form = RegistrationForm(request.form)
            if request.method == "POST" and form.validate():
                users.append(form.username.data)
                flash("Thanks for registering")
                return redirect(url_for("login"))
            return render_template("register.html", form=form)

    else:

        @app.route("/register", methods=["GET", "POST"])
        async def register() -> Any:
            form = RegistrationForm(await request.form)
            if request.method == "POST" and form.validate():
                users.append(form.username.data)
                flash("Thanks for registering")
                return redirect(url_for("login"))
            return await render_template("register.html", form=form)

    return app, users


@pytest.mark.parametrize("style", ["sync", "async"])
def test_the_wtforms_registration(tmp_path: Path, style: str) -> None:
    app, users = _register_app(tmp_path, style)
    client = app.test_client()
    page = client.get("/register")
    assert page.status_code == 200
    assert 'name="username" size="10" type="text" value="">' in page.text
    invalid = client.post(
        "/register",
        data={"username": "ab", "email": "a@b.cd", "password": "x", "confirm": "y"},
    )
    assert invalid.status_code == 200
    assert "[username: Field must be between 4 and 25 characters long.]" in invalid.text
    assert "[password: Passwords must match]" in invalid.text
    assert "[accept_tos: This field is required.]" in invalid.text
    assert users == []
    done = client.post(
        "/register",
        data={
            "username": "annie",
            "email": "ann@example.com",
            "password": "pw",
            "confirm": "pw",
            "accept_tos": "y",
        },
        follow_redirects=True,
    )
    assert done.text == "Thanks for registering"
    assert users == ["annie"]

"""The notes app of ``../sync_app``, ported to async views.

What changed from the sync version (see ``docs/porting.md``):

- ``Microframe`` is imported under its own name;
- views and hooks are ``async def``; the request body is awaited
  (``await request.form``, ``await request.get_json()``) and so is
  rendering (``await render_template(...)``);
- ``login_required`` wraps async views;
- ``close_db`` is ``async def`` too, so it runs on the event loop's thread,
  the thread that opened the connection in the async views.

The ``sqlite3`` calls still block the event loop while they run; they are
short here. A real app would move to an async driver (``aiosqlite``,
``asyncpg``) as its next step.
"""

import functools
import os
import sqlite3

import click
from werkzeug.security import check_password_hash, generate_password_hash

from microframe import (
    Blueprint,
    Microframe,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

SCHEMA = """
DROP TABLE IF EXISTS user;
DROP TABLE IF EXISTS note;
CREATE TABLE user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT UNIQUE NOT NULL,
    password TEXT NOT NULL
);
CREATE TABLE note (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id INTEGER NOT NULL REFERENCES user (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL
);
"""

# Cheap hashing keeps the example's tests fast; use the default in real apps.
HASH_METHOD = "pbkdf2:sha256:1000"


# -- the database: one sqlite3 connection per request, on g -------------------------


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
    return g.db


async def close_db(exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_db():
    get_db().executescript(SCHEMA)


@click.command("init-db")
def init_db_command():
    """Create the tables (dropping existing ones)."""
    init_db()
    click.echo("Initialized the database.")


# -- auth: login through the session --------------------------------------------------

auth = Blueprint("auth", __name__, url_prefix="/auth")


@auth.before_app_request
async def load_logged_in_user():
    user_id = session.get("user_id")
    if user_id is None:
        g.user = None
    else:
        g.user = get_db().execute("SELECT * FROM user WHERE id = ?", (user_id,)).fetchone()


def login_required(view):
    @functools.wraps(view)
    async def wrapped_view(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login"))
        return await view(**kwargs)

    return wrapped_view


@auth.route("/register", methods=("GET", "POST"))
async def register():
    if request.method == "POST":
        form = await request.form
        username = form["username"]
        password = form["password"]
        error = None
        if not username:
            error = "Username is required."
        elif not password:
            error = "Password is required."
        if error is None:
            try:
                db = get_db()
                db.execute(
                    "INSERT INTO user (username, password) VALUES (?, ?)",
                    (username, generate_password_hash(password, HASH_METHOD)),
                )
                db.commit()
            except db.IntegrityError:
                error = f"User {username} is already registered."
            else:
                flash("Registered. Please log in.")
                return redirect(url_for("auth.login"))
        flash(error, "error")
    return await render_template("auth/register.html")


@auth.route("/login", methods=("GET", "POST"))
async def login():
    if request.method == "POST":
        form = await request.form
        username = form["username"]
        password = form["password"]
        user = get_db().execute("SELECT * FROM user WHERE username = ?", (username,)).fetchone()
        error = None
        if user is None:
            error = "Incorrect username."
        elif not check_password_hash(user["password"], password):
            error = "Incorrect password."
        if error is None:
            session.clear()
            session["user_id"] = user["id"]
            flash(f"Welcome, {user['username']}!")
            return redirect(url_for("notes.index"))
        flash(error, "error")
    return await render_template("auth/login.html")


@auth.route("/logout")
async def logout():
    session.clear()
    return redirect(url_for("notes.index"))


# -- notes: templates and a form --------------------------------------------------------

notes = Blueprint("notes", __name__)


def get_note(note_id):
    note = get_db().execute(
        "SELECT n.id, title, body, author_id, username"
        " FROM note n JOIN user u ON n.author_id = u.id WHERE n.id = ?",
        (note_id,),
    ).fetchone()
    if note is None:
        abort(404, f"Note {note_id} doesn't exist.")
    if note["author_id"] != g.user["id"]:
        abort(403)
    return note


@notes.route("/")
async def index():
    rows = []
    if g.user is not None:
        rows = get_db().execute(
            "SELECT id, title, body FROM note WHERE author_id = ? ORDER BY id DESC",
            (g.user["id"],),
        ).fetchall()
    return await render_template("notes/index.html", notes=rows)


@notes.route("/create", methods=("GET", "POST"))
@login_required
async def create():
    form = await request.form
    if request.method == "POST":
        title = form["title"].strip()
        body = form.get("body", "")
        if not title:
            flash("Title is required.", "error")
        else:
            db = get_db()
            db.execute(
                "INSERT INTO note (author_id, title, body) VALUES (?, ?, ?)",
                (g.user["id"], title, body),
            )
            db.commit()
            flash("Note saved.")
            return redirect(url_for("notes.index"))
    return await render_template("notes/create.html", form=form)


@notes.route("/<int:note_id>/delete", methods=("POST",))
@login_required
async def delete(note_id):
    get_note(note_id)
    db = get_db()
    db.execute("DELETE FROM note WHERE id = ?", (note_id,))
    db.commit()
    flash("Note deleted.")
    return redirect(url_for("notes.index"))


# -- a JSON API ---------------------------------------------------------------------------

api = Blueprint("api", __name__, url_prefix="/api")


@api.route("/notes", methods=("GET",))
@login_required
async def list_notes():
    rows = get_db().execute(
        "SELECT id, title, body FROM note WHERE author_id = ? ORDER BY id", (g.user["id"],)
    ).fetchall()
    return {"notes": [dict(row) for row in rows]}


@api.route("/notes", methods=("POST",))
@login_required
async def create_note():
    data = await request.get_json()
    if not isinstance(data, dict) or not data.get("title"):
        return {"error": "title is required"}, 400
    db = get_db()
    cursor = db.execute(
        "INSERT INTO note (author_id, title, body) VALUES (?, ?, ?)",
        (g.user["id"], data["title"], data.get("body", "")),
    )
    db.commit()
    return {"id": cursor.lastrowid, "title": data["title"]}, 201


# -- the application factory ------------------------------------------------------------


def create_app(test_config=None):
    app = Microframe(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "notes.sqlite"),
    )
    if test_config is not None:
        app.config.from_mapping(test_config)
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    app.register_blueprint(auth)
    app.register_blueprint(notes)
    app.register_blueprint(api)
    return app

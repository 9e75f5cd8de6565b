"""The app of the threading-model tests (``threads_app:app``).

The porting guide's pattern: an ``sqlite3`` connection opened on ``g`` by
``get_db()`` and closed by a teardown function, from every kind of code
(sync and async views, hooks and teardowns). sqlite3 refuses to use a
connection from a thread other than the one that opened it, so any thread
mix-up shows. Each teardown records what happened in :data:`EVENTS`, which
``/events`` hands out, so a test sees teardown that runs after the response.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from microframe import Blueprint, Microframe, g, jsonify, request
from microframe.views import MethodView

app = Microframe(__name__)
EVENTS: list[str] = []
_lock = threading.Lock()


def record(event: str) -> None:
    with _lock:
        EVENTS.append(event)


def get_db() -> sqlite3.Connection:
    """The request's connection, opened on first use (check_same_thread on)."""
    if "db" not in g:
        g.db = sqlite3.connect(":memory:")
    db: sqlite3.Connection = g.db
    return db


def get_async_db() -> sqlite3.Connection:
    """A second connection, closed by an ``async def`` teardown."""
    if "async_db" not in g:
        g.async_db = sqlite3.connect(":memory:")
    db: sqlite3.Connection = g.async_db
    return db


def query(db: sqlite3.Connection) -> str:
    return str(db.execute("select 40 + 2").fetchone()[0])


@app.teardown_appcontext
def close_db(exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is None:
        return
    try:
        db.close()
    except Exception as error:
        record(f"close_db failed: {type(error).__name__}")
        raise
    record("close_db closed")


@app.teardown_appcontext
async def close_async_db(exc: BaseException | None) -> None:
    db = g.pop("async_db", None)
    if db is None:
        return
    try:
        db.close()
    except Exception as error:
        record(f"close_async_db failed: {type(error).__name__}")
        raise
    record("close_async_db closed")


@app.teardown_request
def check_db(exc: BaseException | None) -> None:
    # teardown_request runs where teardown_appcontext does: still usable.
    db = g.get("db")
    if db is not None:
        try:
            query(db)
        except Exception as error:
            record(f"check_db failed: {type(error).__name__}")
            raise


@app.get("/sync")
def sync_view() -> str:
    return query(get_db())


@app.post("/echo")
def echo() -> str:
    # Reading the form from sync code waits for the event loop.
    return f"{request.form['name']} {query(get_db())}"


@app.get("/async")
async def async_view() -> str:
    return query(get_db())


@app.get("/async-teardown")
async def async_view_async_teardown() -> str:
    return query(get_async_db())


# A sync hook in front of async views: it uses the worker thread (as
# Flask-CORS's or Flask-WTF's hooks do), the views stay on the loop.
hooked = Blueprint("hooked", __name__, url_prefix="/hooked")


@hooked.before_request
def sync_hook() -> None:
    g.hook_ran = True


@hooked.after_request
def sync_after(response: Any) -> Any:
    response.headers["X-Hook"] = "ran" if g.get("hook_ran") else "missing"
    return response


@hooked.get("/async")
async def hooked_async_view() -> str:
    return query(get_db())


@hooked.get("/sync")
def hooked_sync_view() -> str:
    return query(get_db())


# The one mix that cannot work without blocking the event loop: a sync hook
# opens the connection (on the worker thread), an async view uses it (on the
# loop's thread). It fails under the test client as under the server, and
# the error says what to do.
opened_in_hook = Blueprint("opened_in_hook", __name__, url_prefix="/opened-in-hook")


@opened_in_hook.before_request
def open_in_hook() -> None:
    get_db()


@opened_in_hook.get("/async")
async def uses_hook_db() -> str:
    return query(get_db())


class Items(MethodView):
    """A class-based view with a sync GET and an async POST."""

    def get(self) -> str:
        return query(get_db())

    async def post(self) -> str:
        return query(get_db())


app.add_url_rule("/items", view_func=Items.as_view("items"))
app.register_blueprint(hooked)
app.register_blueprint(opened_in_hook)


@app.get("/events")
async def events() -> Any:
    """Hand out (and forget) what teardown functions recorded so far."""
    with _lock:
        taken = list(EVENTS)
        EVENTS.clear()
    return jsonify(taken)

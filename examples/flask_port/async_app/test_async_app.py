"""The async notes app's tests: the sync suite, ported to async tests.

``await`` the client and the response body; use ``async with`` for the
client and for contexts whose teardown is async.
"""

import sqlite3

import pytest

from microframe import g, request, session

from . import app as notes_module
from .app import create_app, get_db


def test_config():
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


async def test_get_close_db(app):
    async with app.app_context():
        db = get_db()
        assert db is get_db()
    with pytest.raises(sqlite3.ProgrammingError) as e:
        db.execute("SELECT 1")
    assert "closed" in str(e.value)


def test_init_db_command(runner, monkeypatch):
    called = []
    monkeypatch.setattr(notes_module, "init_db", lambda: called.append(True))
    result = runner.invoke(args=["init-db"])
    assert "Initialized" in result.output
    assert called


async def test_register(client, app):
    assert (await client.get("/auth/register")).status_code == 200
    response = await client.post("/auth/register", form={"username": "a", "password": "a"})
    assert response.headers["Location"] == "/auth/login"
    async with app.app_context():
        assert get_db().execute("SELECT * FROM user WHERE username = 'a'").fetchone() is not None


@pytest.mark.parametrize(
    ("username", "password", "message"),
    (
        ("", "", b"Username is required."),
        ("a", "", b"Password is required."),
        ("test", "test", b"already registered"),
    ),
)
async def test_register_validate_input(client, username, password, message):
    response = await client.post(
        "/auth/register", form={"username": username, "password": password}
    )
    assert message in await response.get_data()


async def test_login(client, auth):
    response = await auth.login()
    assert response.headers["Location"] == "/"
    async with client:
        response = await client.get("/")
        assert session["user_id"] == 1
        assert g.user["username"] == "test"
        assert request.path == "/"
    page = await response.get_data(as_text=True)
    assert "Welcome, test!" in page
    assert "first note" in page


async def test_logout(client, auth):
    await auth.login()
    async with client:
        await auth.logout()
        assert "user_id" not in session


async def test_session_transaction(client):
    async with client.session_transaction() as sess:
        sess["user_id"] = 2
    page = await (await client.get("/")).get_data(as_text=True)
    assert "other" in page
    assert "first note" not in page


@pytest.mark.parametrize("path", ("/create", "/api/notes"))
async def test_login_required(client, path):
    response = await client.get(path)
    assert response.headers["Location"] == "/auth/login"


async def test_create(client, auth, app):
    await auth.login()
    response = await client.post("/create", form={"title": "created", "body": "text"})
    assert response.status_code == 302
    page = await (await client.get("/")).get_data(as_text=True)
    assert "Note saved." in page
    assert "created" in page


async def test_create_validate(client, auth):
    await auth.login()
    response = await client.post("/create", form={"title": " ", "body": "kept"})
    page = await response.get_data(as_text=True)
    assert "Title is required." in page
    assert "kept" in page


async def test_delete(client, auth):
    await auth.login()
    response = await client.post("/1/delete", follow_redirects=True)
    assert b"No notes yet." in await response.get_data()
    await auth.login("other", "other")
    assert (await client.post("/9/delete")).status_code == 404


async def test_api(client, auth):
    await auth.login()
    created = await client.post("/api/notes", json={"title": "from json"})
    assert created.status_code == 201
    assert await created.get_json() == {"id": 2, "title": "from json"}
    listed = await (await client.get("/api/notes")).get_json()
    assert [note["title"] for note in listed["notes"]] == ["first note", "from json"]
    assert (await client.post("/api/notes", json={})).status_code == 400

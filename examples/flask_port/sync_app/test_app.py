"""The notes app's tests, written for Flask's test client.

They run unchanged on microframe and on Flask (see ../test_port_check.py).
"""

import io
import sqlite3

import pytest

from microframe import g, request, session

from . import app as notes_module
from .app import create_app, get_db


def test_config():
    assert not create_app().testing
    assert create_app({"TESTING": True}).testing


def test_get_close_db(app):
    with app.app_context():
        db = get_db()
        assert db is get_db()
    with pytest.raises(sqlite3.ProgrammingError) as e:
        db.execute("SELECT 1")
    assert "closed" in str(e.value)


def test_init_db_command(runner, monkeypatch):
    class Recorder:
        called = False

    def fake_init_db():
        Recorder.called = True

    monkeypatch.setattr(notes_module, "init_db", fake_init_db)
    result = runner.invoke(args=["init-db"])
    assert "Initialized" in result.output
    assert Recorder.called


def test_register(client, app):
    assert client.get("/auth/register").status_code == 200
    response = client.post("/auth/register", data={"username": "a", "password": "a"})
    assert response.headers["Location"] == "/auth/login"
    with app.app_context():
        assert get_db().execute("SELECT * FROM user WHERE username = 'a'").fetchone() is not None


@pytest.mark.parametrize(
    ("username", "password", "message"),
    (
        ("", "", b"Username is required."),
        ("a", "", b"Password is required."),
        ("test", "test", b"already registered"),
    ),
)
def test_register_validate_input(client, username, password, message):
    response = client.post(
        "/auth/register", data={"username": username, "password": password}
    )
    assert message in response.data


def test_login(client, auth):
    assert client.get("/auth/login").status_code == 200
    response = auth.login()
    assert response.headers["Location"] == "/"
    with client:
        response = client.get("/")
        assert session["user_id"] == 1
        assert g.user["username"] == "test"
        assert request.path == "/"
    assert b"Welcome, test!" in response.data
    assert b"first note" in response.data


@pytest.mark.parametrize(
    ("username", "password", "message"),
    (("a", "test", b"Incorrect username."), ("test", "a", b"Incorrect password.")),
)
def test_login_validate_input(auth, username, password, message):
    response = auth.login(username, password)
    assert message in response.data


def test_logout(client, auth):
    auth.login()
    with client:
        auth.logout()
        assert "user_id" not in session


def test_session_transaction(client):
    with client.session_transaction() as sess:
        sess["user_id"] = 2
    response = client.get("/")
    assert b"other" in response.data
    assert b"first note" not in response.data


@pytest.mark.parametrize("path", ("/create", "/1/delete", "/api/notes"))
def test_login_required(client, path):
    response = client.post(path) if path.endswith("delete") else client.get(path)
    assert response.headers["Location"] == "/auth/login"


def test_create(client, auth, app):
    auth.login()
    assert client.get("/create").status_code == 200
    response = client.post("/create", data={"title": "created", "body": "text"})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Note saved." in page
    assert "created" in page
    with app.app_context():
        assert get_db().execute("SELECT count(id) FROM note").fetchone()[0] == 2


def test_create_validate(client, auth):
    auth.login()
    response = client.post("/create", data={"title": " ", "body": "kept"})
    assert b"Title is required." in response.data
    assert b"kept" in response.data


def test_delete(client, auth, app):
    auth.login()
    response = client.post("/1/delete", follow_redirects=True)
    assert b"Note deleted." in response.data
    assert b"No notes yet." in response.data
    with app.app_context():
        assert get_db().execute("SELECT * FROM note WHERE id = 1").fetchone() is None


def test_delete_someone_elses_note(client, auth):
    auth.login("other", "other")
    assert client.post("/1/delete").status_code == 403
    assert client.post("/9/delete").status_code == 404


def test_api_list(client, auth):
    auth.login()
    response = client.get("/api/notes")
    assert response.status_code == 200
    assert response.is_json
    assert response.json == {"notes": [{"id": 1, "title": "first note", "body": "hello"}]}


def test_api_create(client, auth):
    auth.login()
    response = client.post("/api/notes", json={"title": "from json", "body": "b"})
    assert response.status_code == 201
    assert response.get_json() == {"id": 2, "title": "from json"}
    assert len(client.get("/api/notes").json["notes"]) == 2


def test_api_create_validates(client, auth):
    auth.login()
    assert client.post("/api/notes", json={"body": "x"}).status_code == 400
    assert client.post("/api/notes", json=[1]).status_code == 400
    bad = client.post("/api/notes", data="{", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400


def test_request_context(app):
    with app.test_request_context("/create?next=1", method="POST", data={"title": "t"}):
        assert request.args["next"] == "1"
        assert request.form["title"] == "t"
        assert request.endpoint == "notes.create"


def test_files_in_a_test_request(app):
    data = {"upload": (io.BytesIO(b"content"), "a.txt")}
    with app.test_request_context("/", method="POST", data=data):
        assert request.files["upload"].filename == "a.txt"
        assert request.files["upload"].read() == b"content"

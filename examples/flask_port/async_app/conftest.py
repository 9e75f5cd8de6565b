"""Fixtures for the async notes app: async with where a context has async teardown."""

import os
import tempfile

import pytest
from werkzeug.security import generate_password_hash

from .app import HASH_METHOD, create_app, get_db, init_db


@pytest.fixture
def app():
    db_fd, db_path = tempfile.mkstemp()
    app = create_app({"TESTING": True, "DATABASE": db_path, "SECRET_KEY": "test"})
    with app.app_context():
        init_db()
        db = get_db()
        db.executemany(
            "INSERT INTO user (username, password) VALUES (?, ?)",
            [
                ("test", generate_password_hash("test", HASH_METHOD)),
                ("other", generate_password_hash("other", HASH_METHOD)),
            ],
        )
        db.execute(
            "INSERT INTO note (author_id, title, body) VALUES (1, 'first note', 'hello')"
        )
        db.commit()
    yield app
    os.close(db_fd)
    os.unlink(db_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    async def login(self, username="test", password="test"):
        return await self._client.post(
            "/auth/login", data={"username": username, "password": password}
        )

    async def logout(self):
        return await self._client.get("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)

"""Tests for the blog example, through the test client, with a fresh database each."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from microblog import create_app

from microframe import Microframe
from microframe.testing import MicroframeClient


@pytest.fixture
def app(tmp_path: Path) -> Microframe:
    """The blog with its database in ``tmp_path``, holding one user with one post."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE": str(tmp_path / "blog.sqlite")}
    )
    return app


@pytest.fixture
def client(app: Microframe) -> MicroframeClient:
    """A test client for :func:`app`."""
    return app.test_client()


async def text(response: Any) -> str:
    """Return a response's body as text."""
    body: str = await response.get_data(as_text=True)
    return body


async def register(client: MicroframeClient, username: str = "ada", password: str = "s3cret-pass") -> Any:
    """Create an account through the form."""
    return await client.post("/auth/register", form={"username": username, "password": password})


async def login(client: MicroframeClient, username: str = "ada", password: str = "s3cret-pass") -> Any:
    """Log in through the form."""
    return await client.post("/auth/login", form={"username": username, "password": password})


async def signed_in(client: MicroframeClient, username: str = "ada") -> None:
    """Register ``username`` and log in as them."""
    await register(client, username)
    response = await login(client, username)
    assert response.status_code == 302


async def publish(client: MicroframeClient, title: str = "Hello", body: str = "First post") -> Any:
    """Publish a post as the logged-in user."""
    return await client.post("/create", form={"title": title, "body": body})


def query(app: Microframe, sql: str, *args: Any) -> list[sqlite3.Row]:
    """Run ``sql`` on the app's database directly."""
    with sqlite3.connect(app.config["DATABASE"]) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(sql, args).fetchall()
    connection.close()
    return rows


async def test_database_created_on_first_run(app: Microframe) -> None:
    assert Path(app.config["DATABASE"]).is_file()
    assert query(app, "SELECT count(*) AS n FROM post")[0]["n"] == 0


async def test_index_without_posts(client: MicroframeClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    page = await text(response)
    assert "No posts yet." in page
    assert 'href="/auth/login"' in page


async def test_register_stores_a_password_hash(app: Microframe, client: MicroframeClient) -> None:
    response = await register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/login")
    [user] = query(app, "SELECT username, password FROM user")
    assert user["username"] == "ada"
    assert user["password"] != "s3cret-pass"
    assert user["password"].startswith(("scrypt:", "pbkdf2:"))
    page = await text(await client.get("/auth/login"))
    assert "Account created. Please log in." in page


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("", "s3cret-pass", "Use 3 to 32 letters"),
        ("a b", "s3cret-pass", "Use 3 to 32 letters"),
        ("ada", "short", "Use at least 8 characters."),
    ],
)
async def test_register_validation(
    client: MicroframeClient, username: str, password: str, message: str
) -> None:
    response = await register(client, username, password)
    assert response.status_code == 400
    assert message in await text(response)


async def test_register_taken_name(client: MicroframeClient) -> None:
    await register(client)
    response = await register(client)
    assert response.status_code == 400
    assert "The name &#39;ada&#39; is taken." in await text(response)


async def test_login_and_logout(client: MicroframeClient) -> None:
    await register(client)
    response = await login(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = await text(await client.get("/"))
    assert "Welcome back, ada!" in page
    assert 'data-testid="current-user">ada<' in page

    response = await client.post("/auth/logout", follow_redirects=True)
    page = await text(response)
    assert "You have been logged out." in page
    assert "current-user" not in page


async def test_login_wrong_password(client: MicroframeClient) -> None:
    await register(client)
    response = await login(client, password="wrong-password")
    assert response.status_code == 400
    page = await text(response)
    assert "Incorrect username or password." in page
    assert 'value="ada"' in page


async def test_login_follows_only_local_next(client: MicroframeClient) -> None:
    await register(client)
    form = {"username": "ada", "password": "s3cret-pass"}
    response = await client.post("/auth/login?next=/create", form=form)
    assert response.headers["Location"] == "/create"
    response = await client.post("/auth/login?next=//evil.example/", form=form)
    assert response.headers["Location"] == "/"


async def test_create_needs_login(client: MicroframeClient) -> None:
    response = await client.get("/create")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/create"


async def test_create_post(app: Microframe, client: MicroframeClient) -> None:
    await signed_in(client)
    assert (await client.get("/create")).status_code == 200
    response = await publish(client, "Hello", "Line one\nLine <two>")
    assert response.status_code == 302
    assert response.headers["Location"] == "/1"

    page = await text(await client.get("/1"))
    assert "Published &#39;Hello&#39;." in page
    assert "Line one\nLine &lt;two&gt;" in page
    assert 'href="/1/update"' in page
    index = await text(await client.get("/"))
    assert "Hello" in index and "by ada" in index
    assert query(app, "SELECT title FROM post")[0]["title"] == "Hello"


@pytest.mark.parametrize(
    ("title", "body", "messages"),
    [
        ("", "text", ["A title is required."]),
        ("x" * 121, "text", ["Keep the title under 120 characters."]),
        ("Title", "   ", ["Write something in the post."]),
        ("", "", ["A title is required.", "Write something in the post."]),
    ],
)
async def test_create_validation(
    app: Microframe, client: MicroframeClient, title: str, body: str, messages: list[str]
) -> None:
    await signed_in(client)
    response = await publish(client, title, body)
    assert response.status_code == 400
    page = await text(response)
    for message in messages:
        assert message in page
    assert 'aria-invalid="true"' in page
    assert query(app, "SELECT count(*) AS n FROM post")[0]["n"] == 0


async def test_invalid_form_keeps_what_was_typed(client: MicroframeClient) -> None:
    await signed_in(client)
    response = await publish(client, "", "Keep <this> text")
    assert "Keep &lt;this&gt; text</textarea>" in await text(response)


async def test_update_post(app: Microframe, client: MicroframeClient) -> None:
    await signed_in(client)
    await publish(client)
    page = await text(await client.get("/1/update"))
    assert 'value="Hello"' in page
    response = await client.post("/1/update", form={"title": "Changed", "body": "New body"})
    assert response.status_code == 302
    page = await text(await client.get("/1"))
    assert "Post updated." in page and "Changed" in page
    response = await client.post("/1/update", form={"title": "", "body": "New body"})
    assert response.status_code == 400
    assert query(app, "SELECT title FROM post")[0]["title"] == "Changed"


async def test_only_the_author_may_edit(app: Microframe, client: MicroframeClient) -> None:
    await signed_in(client, "ada")
    await publish(client)
    other = app.test_client()
    await signed_in(other, "grace")
    assert (await other.get("/1/update")).status_code == 403
    assert (await other.post("/1/delete")).status_code == 403
    page = await text(await other.get("/1"))
    assert 'href="/1/update"' not in page


async def test_delete_post(app: Microframe, client: MicroframeClient) -> None:
    await signed_in(client)
    await publish(client)
    response = await client.post("/1/delete", follow_redirects=True)
    assert "Post deleted." in await text(response)
    assert query(app, "SELECT count(*) AS n FROM post")[0]["n"] == 0


@pytest.mark.parametrize("path", ["/nowhere", "/99", "/99/update"])
async def test_custom_not_found_page(client: MicroframeClient, path: str) -> None:
    if path.endswith("/update"):
        await signed_in(client)
    response = await client.get(path)
    assert response.status_code == 404
    page = await text(response)
    assert "Nothing here" in page
    assert f"There is no page at <code>{path}</code>." in page


async def test_static_stylesheet(client: MicroframeClient) -> None:
    response = await client.get("/static/style.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    assert "--accent" in await text(response)


async def test_concurrent_requests_each_use_their_own_connection(client: MicroframeClient) -> None:
    await signed_in(client)
    for number in range(5):
        await publish(client, f"Post {number}", "body")
    responses = await asyncio.gather(*(client.get(f"/{n}") for n in range(1, 6)))
    assert [r.status_code for r in responses] == [200] * 5


def test_init_db_command(app: Microframe) -> None:
    query(app, "INSERT INTO user (username, password) VALUES ('x', 'y')")
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "Initialized the database" in result.output
    assert query(app, "SELECT count(*) AS n FROM user")[0]["n"] == 0

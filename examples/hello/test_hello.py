"""Tests for the hello example, through the test client."""

from __future__ import annotations

from app import app


async def test_index() -> None:
    response = await app.test_client().get("/")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "Hello, World!"


async def test_hello_name() -> None:
    response = await app.test_client().get("/hello/Ada")
    assert response.status_code == 200
    assert await response.get_json() == {"greeting": "Hello, Ada!"}


async def test_unknown_path() -> None:
    response = await app.test_client().get("/nowhere")
    assert response.status_code == 404

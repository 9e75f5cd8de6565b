"""Tests for the JSON API example, through the test client."""

from __future__ import annotations

from typing import Any

import pytest
from itemsapi import create_app

from microframe import Microframe
from microframe.testing import MicroframeClient

ITEMS = "/api/v1/items"


@pytest.fixture
def app() -> Microframe:
    """The API with an empty store."""
    return create_app({"TESTING": True, "SEED_ITEMS": False})


@pytest.fixture
def client(app: Microframe) -> MicroframeClient:
    """A test client for :func:`app`."""
    return app.test_client()


async def add_items(client: MicroframeClient, count: int) -> None:
    """Create ``count`` items named ``item 1``, ``item 2``, ..."""
    for number in range(1, count + 1):
        response = await client.post(ITEMS, json={"name": f"item {number}", "price": number})
        assert response.status_code == 201


async def json_of(response: Any) -> Any:
    """Return a response's JSON body."""
    return await response.get_json()


def assert_error(body: dict[str, Any], status: int, error: str) -> None:
    """Check the API's error shape."""
    assert body["status"] == status
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]


async def test_seeded_by_default() -> None:
    response = await create_app({"TESTING": True}).test_client().get(ITEMS)
    body = await json_of(response)
    assert [item["name"] for item in body["items"]] == ["Teapot", "Lamp", "Notebook"]


async def test_create_and_get(client: MicroframeClient) -> None:
    response = await client.post(
        ITEMS, json={"name": "  Kettle ", "price": 25, "tags": ["kitchen"], "description": "Whistles."}
    )
    assert response.status_code == 201
    assert response.headers["Location"] == f"{ITEMS}/1"
    created = await json_of(response)
    assert created["id"] == 1
    assert created["name"] == "Kettle"
    assert created["tags"] == ["kitchen"]

    response = await client.get(f"{ITEMS}/1")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert await json_of(response) == created


async def test_create_defaults(client: MicroframeClient) -> None:
    body = await json_of(await client.post(ITEMS, json={"name": "Cup", "price": 2.5}))
    assert body["description"] == ""
    assert body["tags"] == []


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"name": "This field is required.", "price": "This field is required."}),
        ({"name": "", "price": 1}, {"name": "Must be a non-empty string."}),
        ({"name": "x" * 101, "price": 1}, {"name": "Must be at most 100 characters."}),
        ({"name": "x", "price": "1"}, {"price": "Must be a number."}),
        ({"name": "x", "price": True}, {"price": "Must be a number."}),
        ({"name": "x", "price": -1}, {"price": "Must be between 0 and 1000000."}),
        ({"name": "x", "price": 1, "tags": "a"}, {"tags": "Must be a list of strings."}),
        ({"name": "x", "price": 1, "tags": [""]}, {"tags": "Each tag must have 1 to 30 characters."}),
        ({"name": "x", "price": 1, "description": 3}, {"description": "Must be a string."}),
        ({"name": "x", "price": 1, "colour": "red"}, {"colour": "Unknown field."}),
    ],
)
async def test_create_validation(
    client: MicroframeClient, payload: dict[str, Any], fields: dict[str, str]
) -> None:
    response = await client.post(ITEMS, json=payload)
    assert response.status_code == 400
    body = await json_of(response)
    assert_error(body, 400, "Bad Request")
    assert body["fields"] == fields
    assert (await json_of(await client.get(ITEMS)))["pagination"]["total"] == 0


async def test_body_must_be_an_object(client: MicroframeClient) -> None:
    response = await client.post(ITEMS, json=["name", "price"])
    assert response.status_code == 400
    body = await json_of(response)
    assert body["message"] == "The body must be a JSON object."
    assert body["fields"] == {}


async def test_malformed_json_is_a_json_400(client: MicroframeClient) -> None:
    response = await client.post(ITEMS, data="{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert_error(await json_of(response), 400, "Bad Request")


async def test_not_json_is_a_json_415(client: MicroframeClient) -> None:
    response = await client.post(ITEMS, form={"name": "x", "price": "1"})
    assert response.status_code == 415
    assert_error(await json_of(response), 415, "Unsupported Media Type")


async def test_unknown_item_is_a_json_404(client: MicroframeClient) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = await client.open(f"{ITEMS}/42", method=method, json={"name": "x", "price": 1})
        assert response.status_code == 404, method
        body = await json_of(response)
        assert_error(body, 404, "Not Found")
        assert body["message"] == "There is no item with id 42."


async def test_unknown_url_is_a_json_404(client: MicroframeClient) -> None:
    response = await client.get("/api/v2/items")
    assert response.status_code == 404
    assert_error(await json_of(response), 404, "Not Found")


async def test_wrong_method_is_a_json_405_with_allow(client: MicroframeClient) -> None:
    response = await client.delete(ITEMS)
    assert response.status_code == 405
    assert_error(await json_of(response), 405, "Method Not Allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "POST"}


async def test_crash_is_a_json_500() -> None:
    app = create_app({"TESTING": True, "SEED_ITEMS": False, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/api/v1/crash")
    async def crash() -> str:
        raise RuntimeError("secret detail")

    response = await app.test_client().get("/api/v1/crash")
    assert response.status_code == 500
    body = await json_of(response)
    assert_error(body, 500, "Internal Server Error")
    assert "secret detail" not in await response.get_data(as_text=True)


async def test_replace(client: MicroframeClient) -> None:
    await client.post(ITEMS, json={"name": "Cup", "price": 2, "tags": ["a"], "description": "d"})
    response = await client.put(f"{ITEMS}/1", json={"name": "Mug", "price": 3})
    assert response.status_code == 200
    body = await json_of(response)
    assert (body["name"], body["price"], body["tags"], body["description"]) == ("Mug", 3, [], "")
    response = await client.put(f"{ITEMS}/1", json={"name": "Mug"})
    assert response.status_code == 400
    assert (await json_of(response))["fields"] == {"price": "This field is required."}


async def test_patch(client: MicroframeClient) -> None:
    await client.post(ITEMS, json={"name": "Cup", "price": 2, "tags": ["a"]})
    response = await client.patch(f"{ITEMS}/1", json={"price": 4.5})
    assert response.status_code == 200
    body = await json_of(response)
    assert (body["name"], body["price"], body["tags"]) == ("Cup", 4.5, ["a"])
    response = await client.patch(f"{ITEMS}/1", json={"price": None})
    assert (await json_of(response))["fields"] == {"price": "Must be a number."}
    response = await client.patch(f"{ITEMS}/1", json={})
    assert response.status_code == 400


async def test_delete(client: MicroframeClient) -> None:
    await add_items(client, 2)
    response = await client.delete(f"{ITEMS}/1")
    assert response.status_code == 204
    assert await response.get_data() == b""
    assert (await client.get(f"{ITEMS}/1")).status_code == 404
    body = await json_of(await client.get(ITEMS))
    assert [item["id"] for item in body["items"]] == [2]


async def test_empty_list(client: MicroframeClient) -> None:
    body = await json_of(await client.get(ITEMS))
    assert body["items"] == []
    assert body["pagination"] == {"page": 1, "per_page": 10, "total": 0, "pages": 1}
    assert body["links"]["next"] is None and body["links"]["prev"] is None


async def test_pagination(client: MicroframeClient) -> None:
    await add_items(client, 7)
    body = await json_of(await client.get(ITEMS, query_string={"page": 2, "per_page": 3}))
    assert [item["name"] for item in body["items"]] == ["item 4", "item 5", "item 6"]
    assert body["pagination"] == {"page": 2, "per_page": 3, "total": 7, "pages": 3}
    assert body["links"] == {
        "self": f"{ITEMS}?page=2&per_page=3",
        "first": f"{ITEMS}?page=1&per_page=3",
        "last": f"{ITEMS}?page=3&per_page=3",
        "prev": f"{ITEMS}?page=1&per_page=3",
        "next": f"{ITEMS}?page=3&per_page=3",
    }
    last = await json_of(await client.get(body["links"]["last"]))
    assert [item["name"] for item in last["items"]] == ["item 7"]
    assert last["links"]["next"] is None


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("page=0", {"page": "Must be 1 or more."}),
        ("page=-3", {"page": "Must be 1 or more."}),
        ("page=two", {"page": "Must be a whole number."}),
        ("per_page=0", {"per_page": "Must be 1 or more."}),
        ("per_page=101", {"per_page": "Must be at most 100."}),
        ("page=x&per_page=1000", {"page": "Must be a whole number.", "per_page": "Must be at most 100."}),
    ],
)
async def test_pagination_bounds(client: MicroframeClient, query: str, fields: dict[str, str]) -> None:
    response = await client.get(f"{ITEMS}?{query}")
    assert response.status_code == 400
    body = await json_of(response)
    assert_error(body, 400, "Bad Request")
    assert body["fields"] == fields


async def test_page_past_the_end(client: MicroframeClient) -> None:
    await add_items(client, 3)
    assert (await client.get(f"{ITEMS}?page=1&per_page=3")).status_code == 200
    response = await client.get(f"{ITEMS}?page=2&per_page=3")
    assert response.status_code == 404
    assert (await json_of(response))["message"] == "There is no page 2; the last page is 1."

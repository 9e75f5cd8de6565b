"""The JSON API example seen from a browser page: fetch() calls against the dev server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

FETCH = """async ([method, path, body]) => {
    const init = {method, headers: {}};
    if (body !== null) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    const text = await response.text();
    return {status: response.status, type: response.headers.get("Content-Type"),
            body: text ? JSON.parse(text) : null};
}"""


def call(page: Page, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """Call the API with ``fetch`` from inside ``page``; return status, type and JSON body."""
    result: dict[str, Any] = page.evaluate(FETCH, [method, path, body])
    return result


def test_api_from_the_browser(
    page: Page, serve: Callable[..., str], screenshot: Callable[[Page, str], Path]
) -> None:
    base = serve("api")
    response = page.goto(f"{base}/api/v1/items?per_page=2")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "application/json"
    screenshot(page, "items")

    listing = call(page, "GET", "/api/v1/items?per_page=2")
    assert listing["body"]["pagination"]["total"] == 3
    assert listing["body"]["links"]["next"] == "/api/v1/items?page=2&per_page=2"

    created = call(page, "POST", "/api/v1/items", {"name": "Browser", "price": 1.5})
    assert created["status"] == 201
    item_url = f"/api/v1/items/{created['body']['id']}"
    assert call(page, "GET", item_url)["body"]["name"] == "Browser"

    invalid = call(page, "POST", "/api/v1/items", {"price": "free"})
    assert invalid["status"] == 400
    assert invalid["type"] == "application/json"
    assert set(invalid["body"]["fields"]) == {"name", "price"}

    assert call(page, "DELETE", item_url)["status"] == 204
    missing = call(page, "GET", item_url)
    assert (missing["status"], missing["body"]["error"]) == (404, "Not Found")

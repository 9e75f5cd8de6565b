"""Request attributes compared with Flask's and Quart's behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from microframe import Microframe, request


def _json_app() -> Microframe:
    app = Microframe(__name__)

    @app.post("/sync")
    def sync_view() -> dict[str, Any]:
        return {"v": request.json}

    @app.post("/async")
    async def async_view() -> dict[str, Any]:
        return {"v": await request.json}

    return app


@pytest.mark.parametrize("path", ["/sync", "/async"])
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{bad", "application/json", 400),
        (b"", "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        (b'{"a": 1}', "text/plain", 415),
    ],
)
async def test_request_json_raises_as_get_json_does(
    path: str, body: bytes, content_type: str, status: int
) -> None:
    # Flask's and Quart's request.json is get_json(): no silent None.
    client = _json_app().test_client()
    response = await client.post(path, data=body, headers={"Content-Type": content_type})
    assert response.status_code == status


@pytest.mark.parametrize("path", ["/sync", "/async"])
async def test_request_json_parses_a_json_body(path: str) -> None:
    client = _json_app().test_client()
    response = await client.post(path, json={"a": [1, None]})
    assert response.status_code == 200
    assert await response.get_json() == {"v": {"a": [1, None]}}


@pytest.mark.parametrize("sync", [True, False])
async def test_max_content_length_set_by_the_view(sync: bool) -> None:
    # Flask 3.1: a view may lower the limit for its own request; reading a
    # body over it is then a 413, though the server had it all at hand.
    app = Microframe(__name__)

    if sync:

        @app.post("/")
        def sync_view() -> dict[str, int]:
            request.max_content_length = 5
            return {"len": len(request.get_data())}

    else:

        @app.post("/")
        async def async_view() -> dict[str, int]:
            request.max_content_length = 5
            return {"len": len(await request.get_data())}

    client = app.test_client()
    assert (await client.post("/", data=b"x" * 50)).status_code == 413
    response = await client.post("/", data=b"x" * 3)
    assert await response.get_json() == {"len": 3}


async def test_request_stream_is_a_file_object_of_the_body() -> None:
    # werkzeug's request.stream, which Flask views read uploads from.
    app = Microframe(__name__)

    @app.post("/sync")
    def sync_view() -> dict[str, Any]:
        stream = request.stream
        return {"head": stream.read(2).decode(), "rest": stream.read().decode()}

    @app.post("/async")
    async def async_view() -> dict[str, Any]:
        stream = await request.stream
        return {"head": stream.read(2).decode(), "rest": stream.read().decode()}

    client = app.test_client()
    for path in ("/sync", "/async"):
        response = await client.post(path, data=b"abcdef")
        assert await response.get_json() == {"head": "ab", "rest": "cdef"}

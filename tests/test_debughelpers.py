"""Debug mode's explanations of common mistakes (Flask's ``flask.debughelpers``)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from werkzeug.exceptions import BadRequestKeyError

from microframe import Microframe, request
from microframe.debughelpers import DebugFilesKeyError, FormDataRoutingRedirect


@pytest.fixture
def upload_app(app: Microframe) -> Microframe:
    @app.post("/sync")
    def sync_upload() -> str:
        return str(request.files["doc"].filename)

    @app.post("/async")
    async def async_upload() -> str:
        return str((await request.files)["doc"].filename)

    return app


@pytest.mark.parametrize("path", ["/sync", "/async"])
async def test_file_read_from_a_urlencoded_form_explains_enctype(
    upload_app: Microframe, path: str
) -> None:
    upload_app.debug = True
    with pytest.raises(DebugFilesKeyError) as info:
        await upload_app.test_client().post(path, form={"doc": "report.pdf"})
    message = str(info.value)
    assert "no file contents were transmitted" in message
    assert 'enctype="multipart/form-data"' in message
    assert "This was submitted: 'report.pdf'" in message
    assert isinstance(info.value, KeyError)


async def test_without_debug_a_missing_file_is_a_400(upload_app: Microframe) -> None:
    response = await upload_app.test_client().post("/sync", form={"doc": "report.pdf"})
    assert response.status_code == 400


async def test_debug_keeps_other_missing_keys_and_real_uploads(upload_app: Microframe) -> None:
    upload_app.debug = True
    client = upload_app.test_client()
    # A key the form does not have either: the usual error.
    with pytest.raises(BadRequestKeyError):
        await client.post("/sync", form={"other": "x"})
    response = await client.post("/sync", files={"doc": (io.BytesIO(b"%PDF"), "report.pdf")})
    assert await response.get_data() == b"report.pdf"


@pytest.fixture
def slash_app(app: Microframe) -> Microframe:
    @app.route("/user/", methods=["GET", "POST"])
    def user() -> Any:
        return request.method

    return app


async def test_redirect_that_drops_a_post_body_raises_in_debug(
    slash_app: Microframe, monkeypatch: pytest.MonkeyPatch
) -> None:
    from werkzeug.routing import RequestRedirect

    slash_app.debug = True
    client = slash_app.test_client()
    # The default code (308) keeps the body: no error.
    response = await client.post("/user", form={"a": "1"})
    assert response.status_code == 308
    monkeypatch.setattr(RequestRedirect, "code", 301)
    assert (await client.get("/user")).status_code == 301
    with pytest.raises(FormDataRoutingRedirect) as info:
        await client.post("/user", form={"a": "1"})
    message = str(info.value)
    assert "canonical URL 'http://localhost/user/'" in message
    assert "trailing slash" in message
    slash_app.debug = False
    assert (await client.post("/user")).status_code == 301


def test_flask_module_path() -> None:
    from microframe import flask_compat

    with flask_compat.installed():
        from flask.debughelpers import DebugFilesKeyError as FlaskName

        assert FlaskName is DebugFilesKeyError

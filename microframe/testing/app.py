"""The test app (lifespan around tests), the CLI runner and test requests."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner, Result

from ..asgi import make_request
from ..wrappers.request import Body
from .utils import (
    make_test_request_parts,
    make_test_scope,
    sentinel,
)

if TYPE_CHECKING:
    from ..app import Microframe
    from ..wrappers import Request
    from .client import MicroframeClient


def make_test_request(
    app: Microframe,
    path: str = "/",
    method: str = "GET",
    *,
    headers: Any = None,
    query_string: Any = None,
    data: Any = None,
    form: Any = None,
    files: Any = None,
    json: Any = sentinel,
    scheme: str = "http",
    root_path: str = "",
    http_version: str = "1.1",
    scope_base: dict[str, Any] | None = None,
    auth: tuple[str, str] | None = None,
    subdomain: str | None = None,
    base_url: str | None = None,
    url_scheme: str | None = None,
) -> Request:
    """Build a request for ``app`` with its whole body in memory.

    ``base_url`` (``"https://example.com/prefix"``) sets the scheme, the
    ``Host`` header and the root path at once, and ``url_scheme`` the scheme,
    as with Flask's ``test_request_context``.
    """
    if url_scheme is not None:
        scheme = url_scheme
    request_headers, path, query, body, scheme, root_path = make_test_request_parts(
        app, path, headers=headers, query_string=query_string, data=data, form=form,
        files=files, json=json, auth=auth, subdomain=subdomain, base_url=base_url,
        scheme=scheme, root_path=root_path,
    )
    if body:
        request_headers["Content-Length"] = str(len(body))
    scope = make_test_scope(
        "http", path, method.upper(), request_headers, query, scheme, root_path,
        http_version, scope_base,
    )
    request = make_request(app, scope, _no_receive)  # type: ignore[arg-type]
    request.body = Body(
        None, data=body, max_content_length=app.config["MAX_CONTENT_LENGTH"]
    )
    return request


async def _no_receive() -> dict[str, Any]:
    raise RuntimeError("A test request's body is in memory; nothing is received.")


class TestApp:
    """Runs the app's startup and shutdown around a block of tests.

    ::

        async with app.test_app() as test_app:
            client = test_app.test_client()
            await client.get("/")
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: Microframe) -> None:
        self.app = app

    def test_client(self) -> MicroframeClient:
        """Return a test client for the app."""
        return self.app.test_client()

    async def startup(self) -> None:
        """Run the app's serving startup."""
        await self.app.startup()

    async def shutdown(self) -> None:
        """Run the app's serving shutdown."""
        await self.app.shutdown()

    async def __aenter__(self) -> TestApp:
        await self.startup()
        return self

    async def __aexit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.shutdown()


class MicroframeCliRunner(CliRunner):
    """A click test runner that invokes the app's commands::

        runner = app.test_cli_runner()
        result = runner.invoke(args=["hello"])
        assert "Hello" in result.output

    Without a ``cli`` argument the command line is the ``microframe`` one for
    this app: its own commands plus ``routes``, ``run`` and ``shell``.
    """

    def __init__(self, app: Microframe, **kwargs: Any) -> None:
        self.app = app
        super().__init__(**kwargs)

    def invoke(  # type: ignore[override]
        self, cli: Any = None, args: Any = None, **kwargs: Any
    ) -> Result:
        """Invoke ``cli`` (the app's command line by default) with ``args``."""
        from ..cli import MicroframeGroup, ScriptInfo

        if cli is None:
            cli = MicroframeGroup(
                create_app=lambda: self.app,
                load_dotenv=False,
                add_version_option=False,
                name=self.app.cli.name,
            )
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app, load_dotenv_defaults=False)
        return super().invoke(cli, args, **kwargs)


__all__ = ["MicroframeCliRunner", "TestApp", "make_test_request"]

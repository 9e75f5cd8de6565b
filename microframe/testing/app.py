"""The test app (lifespan around tests), the CLI runner and test requests."""

from __future__ import annotations

import os
from types import TracebackType
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner, Result

from ..app import Microframe
from ..cli import MicroframeGroup, ScriptInfo
from ..wrappers import Request
from ..wsgi import request_from_scope
from .builder import build_environ, scope_from_environ

if TYPE_CHECKING:
    from .client import MicroframeClient


def make_test_request(app: Microframe, *args: object, **kwargs: object) -> Request:
    """Build a request for ``app`` from :class:`~microframe.testing.EnvironBuilder`'s arguments.

    What :meth:`~microframe.app.Microframe.test_request_context` serves:
    ``path`` (or a full URL), ``base_url``, ``subdomain``, ``url_scheme``,
    ``method``, ``headers``, ``query_string``, ``data``, ``json``,
    ``content_type``, ``environ_base``, ``environ_overrides``, ``auth``
    (and Quart's ``form``, ``files``, ``scheme``, ``root_path``,
    ``scope_base``), or one ready ``EnvironBuilder`` or WSGI environ. The
    body is in memory::

        request = make_test_request(app, "/search", query_string={"q": "ada"})
    """
    environ, scope_base = build_environ(app, args, kwargs)
    scope, body = scope_from_environ(environ, "http", scope_base)
    return request_from_scope(app, scope, body)


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


#: The variable the ``microframe`` command sets for the process it serves.
_RUN_FROM_CLI = "MICROFRAME_RUN_FROM_CLI"


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
        if cli is None:
            cli = MicroframeGroup(
                create_app=lambda: self.app,
                load_dotenv=False,
                add_version_option=False,
                name=self.app.cli.name,
            )
        if "obj" not in kwargs:
            kwargs["obj"] = ScriptInfo(create_app=lambda: self.app, load_dotenv_defaults=False)
        # The command line marks the process as served by the command (an
        # app.run() not under a __main__ guard is then skipped); click's
        # isolation gives the variable back as it was once the command ends,
        # as under Flask, whose runner does not set it.
        kwargs["env"] = {_RUN_FROM_CLI: os.environ.get(_RUN_FROM_CLI), **(kwargs.get("env") or {})}
        return super().invoke(cli, args, **kwargs)


__all__ = ["MicroframeCliRunner", "TestApp", "make_test_request", "request_from_scope"]

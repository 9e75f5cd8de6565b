"""The test client's responses: the app's response class plus what werkzeug's test response adds.

A response of the test client is an instance of the app's
``response_class`` (so its own methods and properties work), extended as
werkzeug extends it for Flask's client: ``request`` is the request that was
made, ``history`` the redirects followed on the way, and ``close()`` (or a
``with`` block) releases it. The client reads the whole body before it
returns, so the data is in memory; ``is_streamed`` tells whether the app
sent it in parts (a generator, a file), as under a server.
"""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from ..app import Microframe
from ..wrappers import Request, Response
from ..wsgi import request_from_scope

if TYPE_CHECKING:
    from werkzeug.datastructures import Headers


class TestResponse(Response):
    """A response of the test client; see the module docstring.

    The test client makes a subclass of this and the app's response class
    for each response class (:func:`wrap_response_class`).
    """

    __test__ = False  # not a pytest test class

    #: The responses of the redirects followed to get here, oldest first.
    history: tuple[TestResponse, ...] = ()
    _sent_in_parts = False
    _request: Request | None = None
    _request_scope: dict[str, Any] | None = None
    _request_body = b""
    _app: Microframe | None = None

    def attach_request(self, app: Microframe, scope: dict[str, Any], body: bytes) -> None:
        """Note the request that was made, built as :attr:`request` when first read."""
        self._app, self._request_scope, self._request_body = app, scope, body

    @property
    def request(self) -> Request:
        """The request that was made: the app's request class, its body in memory."""
        if self._request is None:

            assert self._app is not None and self._request_scope is not None
            self._request = request_from_scope(self._app, self._request_scope, self._request_body)
        return self._request

    @request.setter
    def request(self, value: Request) -> None:
        self._request = value

    @property
    def is_streamed(self) -> bool:
        """``True`` when the app sent the body in parts (a generator, a file)."""
        return self._sent_in_parts

    def close(self) -> None:
        """Release the response (the body is already read; the app's hooks run)."""
        parent = getattr(super(), "close", None)
        if parent is not None:
            parent()

    def __enter__(self) -> TestResponse:
        return self

    def __exit__(
        self, exc_type: type | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class DualTestResponse(TestResponse):
    """A test response from the client: the response in a ``def`` test,
    ``await`` it in an ``async def`` test.

    The type of :meth:`~microframe.testing.MicroframeClient.open`,
    ``client.get(...)`` and the other request methods, for type checkers
    (see :mod:`microframe.sync`).
    """

    __test__ = False  # not a pytest test class

    def __await__(self) -> Generator[None, None, TestResponse]:
        return self
        yield  # a generator that finishes at once


_classes: WeakKeyDictionary[type[Response], type[TestResponse]] = WeakKeyDictionary()


def wrap_response_class(response_class: type[Response]) -> type[TestResponse]:
    """Return the test response class for the app's ``response_class``."""
    if issubclass(response_class, TestResponse):
        return response_class
    cls = _classes.get(response_class)
    if cls is None:
        cls = type(f"Test{response_class.__name__}", (TestResponse, response_class), {})
        _classes[response_class] = cls
    return cls


def make_test_response(
    app: Microframe,
    response_class: type[Response],
    status: int,
    headers: Headers,
    body: bytes,
    sent_in_parts: bool,
) -> TestResponse:
    """Return the test response for what ``app`` sent, as a ``response_class``."""
    response = wrap_response_class(response_class)(body, status)
    response.json_provider = app.json
    # The headers as sent: the constructor would recompute Content-Length
    # from the body, which is wrong for a HEAD response (no body, real length).
    response.headers = headers
    response._sent_in_parts = sent_in_parts
    return response


__all__ = ["DualTestResponse", "TestResponse", "make_test_response", "wrap_response_class"]

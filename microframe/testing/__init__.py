"""Testing helpers: the test client, the test app and request builders."""

from __future__ import annotations

from .app import MicroframeCliRunner, TestApp, make_test_request
from .builder import EnvironBuilder
from .client import MicroframeClient, SessionTransaction
from .cookies import Cookie, CookieJar
from .response import TestResponse
from .utils import (
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
    no_op_push,
)
from .websocket import WebsocketResponseError

__all__ = [
    "Cookie",
    "CookieJar",
    "EnvironBuilder",
    "MicroframeCliRunner",
    "MicroframeClient",
    "SessionTransaction",
    "TestApp",
    "TestResponse",
    "WebsocketResponseError",
    "make_test_body_with_headers",
    "make_test_headers_path_and_query_string",
    "make_test_request",
    "make_test_scope",
    "no_op_push",
]

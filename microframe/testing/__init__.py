"""Testing helpers: the test client, the test app and request builders."""

from __future__ import annotations

from .app import MicroframeCliRunner, TestApp, make_test_request
from .client import MicroframeClient
from .utils import (
    make_test_body_with_headers,
    make_test_headers_path_and_query_string,
    make_test_scope,
    no_op_push,
)
from .websocket import WebsocketResponseError

__all__ = [
    "MicroframeCliRunner",
    "MicroframeClient",
    "TestApp",
    "WebsocketResponseError",
    "make_test_body_with_headers",
    "make_test_headers_path_and_query_string",
    "make_test_request",
    "make_test_scope",
    "no_op_push",
]

"""Request, response and websocket wrappers."""

from __future__ import annotations

from .request import Body, Request
from .response import DualResponse, Response
from .websocket import Websocket, WebsocketDisconnect

__all__ = ["Body", "DualResponse", "Request", "Response", "Websocket", "WebsocketDisconnect"]

"""JSON error responses: every HTTP error, validation errors, and crashes."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import HTTPException, InternalServerError

from microframe import Microframe, Response, jsonify


class ValidationError(Exception):
    """The request's data is not valid; answered with 400 and a message per field.

    :param fields: what is wrong, by field name.
    :param message: a summary for the whole request.
    """

    def __init__(self, fields: dict[str, str], message: str = "The data sent is not valid.") -> None:
        super().__init__(message)
        self.fields = fields
        self.message = message


def error_response(status: int, message: str, **extra: Any) -> Response:
    """Return the JSON error body used for every error of the API.

    ``{"error": "Not Found", "status": 404, "message": "...", ...extra}``
    """
    body = {"error": HTTPStatus(status).phrase, "status": status, "message": message, **extra}
    response: Response = jsonify(body)
    response.status_code = status
    return response


def handle_http_exception(error: HTTPException) -> Response:
    """Answer any HTTP error (404, 405, 415, ...) in JSON, keeping its headers.

    The headers matter: a 405 must still say which methods are ``Allow``-ed.
    """
    status = error.code or 500
    response = error_response(status, error.description or "")
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_validation_error(error: ValidationError) -> Response:
    """Answer a :class:`ValidationError` with 400 and the field messages."""
    return error_response(400, error.message, fields=error.fields)


def handle_server_error(error: InternalServerError) -> Response:
    """Answer an unhandled exception with a JSON 500 that reveals nothing inside.

    The app has already logged the original exception (``error.original_exception``).
    """
    return error_response(500, "The server failed to handle the request.")


def register_error_handlers(app: Microframe) -> None:
    """Make every error of ``app`` a JSON response."""
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(InternalServerError, handle_server_error)
    app.register_error_handler(HTTPException, handle_http_exception)

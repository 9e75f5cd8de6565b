"""Errors that explain a mistake, raised in debug mode instead of a puzzling one.

Served to Flask code as ``flask.debughelpers``.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import RequestRedirect


class FormDataRoutingRedirect(AssertionError):
    """Raised in debug mode when routing would redirect a request that sends a
    body (a ``POST`` to ``/items`` for the rule ``/items/``): the client
    would follow the redirect with a ``GET`` and drop the form."""

    def __init__(self, request: Any) -> None:
        error = request.routing_exception
        message = [
            f"A request was sent to {request.url!r}, but routing issued a redirect"
            f" to the canonical URL {getattr(error, 'new_url', '?')!r}."
        ]
        if isinstance(error, RequestRedirect) and f"{request.base_url}/" == error.new_url.partition("?")[0]:
            message.append(
                " The URL was defined with a trailing slash. The redirect adds it,"
                " but browsers follow a 301 or 302 redirect with a GET and drop"
                " the form data."
            )
        message.append(
            " Make the request to the canonical URL, or answer it with a 307 or"
            " 308 redirect, which keeps the method and body. This check is"
            " made in debug mode only."
        )
        super().__init__("".join(message))


__all__ = ["FormDataRoutingRedirect"]

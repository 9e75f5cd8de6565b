"""The benchmark apps: one per framework, with identical endpoints and semantics.

Every module in this package exposes ``app``, an ASGI callable (a WSGI one
for ``flask_app``, the baseline that runs under gunicorn) serving:

=====================  ======  ==================================================
path                   method  answer
=====================  ======  ==================================================
``/text``              GET     ``Hello, World!`` as ``text/plain``
``/json``              GET     ``{"hello": "world"}``
``/users/<int:id>``    GET     ``{"id": id}``; a non-integer id is a 404
``/template?name=``    GET     ``page.html`` from ``benchmarks/templates``
``/template-string``   GET     :data:`PAGE_SOURCE` through ``render_template_string``
``/form``              POST    urlencoded ``name`` and ``count``: ``"<name> <count>"``
``/echo``              POST    the JSON body, echoed as JSON
``/hooks/``            GET     a before hook sets a value the view returns; an
                               after hook adds ``X-Hooked: yes``
``/session``           GET     reads ``count`` from a signed cookie session,
                               increments it, answers ``count <n>``
``/stream``            GET     ten chunks ``chunk <i>\\n`` streamed
``/ws``                WS      echoes each text message
``/tuple``             GET     ``("Hello, World!", 200, {"Content-Type": "text/plain"})``
``/jsonify``           GET     ``jsonify(message="Hello, World!")``
``/cookie``            GET     ``make_response("cookie set")`` with ``set_cookie("seen", "yes")``
``/links``             GET     ``links.html``: ten ``url_for("user", user_id=i)`` links
``/redirect``          GET     ``redirect(url_for("text"))``: 302 to ``/text``
``/upload``            POST    a multipart form of 20 fields and a 1 KiB file:
                               ``"20 fields, file report.txt 1024 bytes"``
anything else          any     404
=====================  ======  ==================================================

The last six are the idioms Flask and Quart code is written in (a tuple
with a header dict, ``jsonify``, ``make_response`` and ``set_cookie``,
``url_for`` in a template, ``redirect(url_for(...))``, a form with a file);
Starlette's app does the same with its own idioms.

The hooks apply to ``/hooks/`` only (a blueprint in Flask-style frameworks, a
route middleware in Starlette) so they do not tax the other endpoints.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

#: The ASGI frameworks, in the order tables list them. Flask (``flask_app``, a
#: WSGI app) is the baseline :mod:`benchmarks.servers` serves with gunicorn.
FRAMEWORKS: tuple[str, ...] = ("raw", "microframe", "quart", "starlette")
#: Module of each framework's app, below this package.
MODULES: dict[str, str] = {
    "raw": "raw",
    "microframe": "microframe_app",
    "quart": "quart_app",
    "starlette": "starlette_app",
    "flask": "flask_app",
}
#: The distribution each app needs; a framework whose package is missing is skipped.
REQUIRES: dict[str, str | None] = {
    "raw": None,
    "microframe": "microframe",
    "quart": "quart",
    "starlette": "starlette",
    "flask": "flask",
}

TEMPLATE_FOLDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")
TEMPLATE_NAME = "page.html"
with open(os.path.join(TEMPLATE_FOLDER, TEMPLATE_NAME), encoding="utf-8") as _file:
    #: The template's source, also used by the ``/template-string`` endpoint.
    PAGE_SOURCE: str = _file.read()

#: The signing key of every app's session cookie.
SECRET_KEY = "benchmark secret key, not a secret"
TEXT = "Hello, World!"
JSON_DOC: dict[str, str] = {"hello": "world"}
PAGE_TITLE = "Benchmark"
PAGE_ITEMS: tuple[str, ...] = tuple(f"item {i}" for i in range(10))
STREAM_CHUNKS: tuple[str, ...] = tuple(f"chunk {i}\n" for i in range(10))
HOOK_VALUE = "set by before_request"
LINKS_NAME = "links.html"
LINK_IDS: tuple[int, ...] = tuple(range(10))
COOKIE_BODY = "cookie set"


def page_context(name: str) -> dict[str, Any]:
    """Return the template context for a request with ``?name=<name>``."""
    return {"title": PAGE_TITLE, "name": name, "items": PAGE_ITEMS}


def load(framework: str) -> Any:
    """Import and return the ASGI app of ``framework`` (raises ``ImportError`` if absent)."""
    module = importlib.import_module(f"{__name__}.{MODULES[framework]}")
    return module.app


def app_path(framework: str) -> str:
    """Return ``module:attribute`` of the app, for an ASGI server's command line."""
    return f"{__name__}.{MODULES[framework]}:app"

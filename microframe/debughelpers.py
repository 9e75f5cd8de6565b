"""Errors and explanations that only debug mode gives, to catch common mistakes.

- Reading ``request.files[key]`` from a form that was not sent as
  ``multipart/form-data`` raises :class:`DebugFilesKeyError`, which says that
  the form lacks ``enctype="multipart/form-data"``, instead of a bare 400.
- A routing redirect (``/user`` to ``/user/``) of a ``POST`` with a code that
  makes browsers drop the body raises :class:`FormDataRoutingRedirect`.
- With ``EXPLAIN_TEMPLATE_LOADING``, every template lookup is logged by
  :func:`explain_template_loading_attempts`: each folder tried, in order.

This module sits low in the package: it uses only the context globals, so
the request and the template loader can call it.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from jinja2.loaders import BaseLoader
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import RequestRedirect

from .datastructures import FileStorage
from .globals import _cv_request

if TYPE_CHECKING:
    from .app import Microframe
    from .wrappers import Request

#: What a loader found: Jinja's ``(source, filename, uptodate)``.
TemplateSource = tuple[str, str | None, Callable[[], bool] | None]


class UnexpectedUnicodeError(AssertionError, UnicodeError):
    """Raised where text or bytes of the wrong kind show a programming error."""


class DebugFilesKeyError(KeyError, AssertionError):
    """``request.files[key]`` found no file, but the form has a field ``key``.

    The browser sent the form urlencoded, so only the file's name arrived:
    the ``<form>`` needs ``enctype="multipart/form-data"``. Raised in debug
    mode only; otherwise the missing key is a 400 Bad Request.

    :param request: the request whose files were read.
    :param key: the missing key.
    :param form: the request's parsed form (read from ``request`` if not given).
    """

    def __init__(
        self, request: Request, key: str, form: MultiDict[str, str] | None = None
    ) -> None:
        if form is None:
            form = request.form
        submitted = form.getlist(key)
        message = (
            f"You tried to access the file {key!r} in the request.files dictionary but it"
            f" does not exist. The mimetype for the request is {request.mimetype!r} instead"
            " of 'multipart/form-data' which means that no file contents were transmitted."
            ' To fix this error you should provide enctype="multipart/form-data" in your form.'
        )
        if submitted:
            names = ", ".join(repr(name) for name in submitted)
            message += (
                "\n\nThe browser instead transmitted some file names."
                f" This was submitted: {names}"
            )
        super().__init__(key)
        self.msg = message

    def __str__(self) -> str:
        return self.msg


class FormDataRoutingRedirect(AssertionError):
    """A routing redirect would make the browser drop the request's body.

    Raised in debug mode when the URL of a request that is not ``GET``,
    ``HEAD`` or ``OPTIONS`` is answered with a redirect to its canonical URL
    (usually the same URL with a trailing slash) using a code other than 307
    or 308: browsers repeat such a request as a ``GET`` without the form.

    :param request: the request; its ``routing_exception`` is the redirect.
    """

    def __init__(self, request: Request) -> None:
        redirect = request.routing_exception
        assert isinstance(redirect, RequestRedirect)
        message = (
            f"A request was sent to '{request.url}', but routing issued a redirect to"
            f" the canonical URL '{redirect.new_url}'."
        )
        if redirect.new_url.partition("?")[0] == f"{request.base_url}/":
            message += (
                " The URL was defined with a trailing slash. The app redirects to the"
                " URL with a trailing slash if it was accessed without one."
            )
        message += (
            " Send requests to the canonical URL, or use 307 or 308 for routing"
            " redirects. Otherwise, browsers will drop form data.\n\n"
            "This exception is only raised in debug mode."
        )
        super().__init__(message)


def traceback_page(error: BaseException) -> str:
    """The page ``app.debug_response`` answers an unhandled error with in
    debug mode (without the interactive debugger): the escaped traceback."""
    text = "".join(traceback.format_exception(error))
    return (
        "<!doctype html><title>500 Internal Server Error</title>"
        f"<h1>{html.escape(type(error).__name__)}: {html.escape(str(error))}</h1>"
        f"<pre>{html.escape(text)}</pre>"
        "<p>This page is shown because the app runs in debug mode.</p>"
    )


def routing_error(request: Request, debug: bool) -> Exception:
    """Return the error to raise for ``request.routing_exception``.

    That is the routing exception itself, except in debug mode for a
    redirect that would lose the body (see :class:`FormDataRoutingRedirect`).
    """
    error = request.routing_exception
    assert error is not None
    if (
        debug
        and isinstance(error, RequestRedirect)
        and error.code not in (307, 308)
        and request.method not in ("GET", "HEAD", "OPTIONS")
    ):
        return FormDataRoutingRedirect(request)
    return error


class _DebugFiles(ImmutableMultiDict[str, "FileStorage"]):
    """The empty ``request.files`` of a urlencoded form in debug mode."""

    def __init__(self, request: Request, form: MultiDict[str, str]) -> None:
        super().__init__()
        self._request = request
        self._form = form

    def __getitem__(self, key: str) -> FileStorage:
        try:
            return super().__getitem__(key)
        except KeyError as error:
            if key not in self._form:
                raise
            raise DebugFilesKeyError(self._request, key, self._form).with_traceback(
                error.__traceback__
            ) from None


def debug_files(request: Request, form: MultiDict[str, str]) -> MultiDict[str, FileStorage]:
    """Return the (empty) files of a form not sent as multipart, for debug mode.

    Reading a key of it that the form has as a field raises
    :class:`DebugFilesKeyError`; any other key raises the usual error.
    """
    return _DebugFiles(request, form)


def _loader_details(loader: BaseLoader) -> Iterator[str]:
    yield f"class: {type(loader).__module__}.{type(loader).__name__}"
    for key, value in sorted(vars(loader).items()):
        if key.startswith("_"):
            continue
        if isinstance(value, (tuple, list)):
            if all(isinstance(item, str) for item in value):
                yield f"{key}:"
                yield from (f"  - {item}" for item in value)
        elif isinstance(value, (str, int, float, bool)):
            yield f"{key}: {value!r}"


def _describe_source(app: Microframe, source: object) -> str:
    if source is app:
        return f"application {app.import_name!r}"
    name = getattr(source, "name", None)
    if name is not None and hasattr(source, "import_name"):
        return f"blueprint {name!r} ({source.import_name})"
    return repr(source)


def explain_template_loading_attempts(
    app: Microframe,
    template: str,
    attempts: list[tuple[BaseLoader, object, TemplateSource | None]],
) -> None:
    """Log, at ``INFO`` on ``app.logger``, how ``template`` was looked for.

    Called by the app's template loader when ``EXPLAIN_TEMPLATE_LOADING`` is
    set, with one ``(loader, app or blueprint, found source or None)`` per
    loader tried. No match, or more than one, is flagged.
    """
    lines = [f"Locating template {template!r}:"]
    found = 0
    for number, (loader, source, result) in enumerate(attempts, 1):
        lines.append(f"{number:5}: trying loader of {_describe_source(app, source)}")
        lines.extend(f"       {line}" for line in _loader_details(loader))
        if result is None:
            lines.append("       -> no match")
        else:
            found += 1
            lines.append(f"       -> found ({result[1] or '<string>'!r})")
    if found == 0:
        lines.append("Error: the template could not be found.")
    elif found > 1:
        lines.append("Warning: multiple loaders returned a match for the template.")
    ctx = _cv_request.get(None)
    blueprint = ctx.request.blueprint if ctx is not None else None
    if blueprint is not None and found != 1:
        lines.append(
            "  The template was looked up from an endpoint that belongs to the"
            f" blueprint {blueprint!r}."
        )
        lines.append("  Maybe you did not place a template in the right folder?")
        lines.append("  See https://flask.palletsprojects.com/blueprints/#templates")
    app.logger.info("\n".join(lines))


__all__ = [
    "DebugFilesKeyError",
    "FormDataRoutingRedirect",
    "UnexpectedUnicodeError",
    "debug_files",
    "explain_template_loading_attempts",
    "routing_error",
    "traceback_page",
]

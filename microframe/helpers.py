"""Helpers used in views: URLs, redirects, aborts, responses, streaming,
flashing; and the environment flags and paths the app and command line read."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, ParamSpec, TypeVar, overload

from werkzeug.datastructures import Headers
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.exceptions import abort as _werkzeug_abort
from werkzeug.routing import RequestRedirect
from werkzeug.sansio.response import Response as SansIOResponse
from werkzeug.urls import iri_to_uri
from werkzeug.utils import redirect as _werkzeug_redirect

from . import signals
from .caches import BoundedCache
from .config import env_value
from .ctx import RequestContext, _reset_only, _set_only
from .globals import _cv_app, _cv_request, current_app
from .sending import send_file, send_from_directory
from .sync import in_sync_code, unawaited_error
from .wrappers import DualResponse, Response
from .wrappers.response_body import body_from

if TYPE_CHECKING:
    from .app import Microframe

#: ``redirect``'s default class, outside an app context (its argument is
#: named ``Response``, as Flask's is).
_Response = Response

T = TypeVar("T")
P = ParamSpec("P")


def get_root_path(import_name: str) -> str:
    """Return the folder of the module or package ``import_name``.

    Resources (templates, static files, ``open_resource``) are found
    relative to it. Falls back to the current working directory for a module
    that cannot be located (``__main__`` in an interactive session), as
    Flask does.
    """
    module = sys.modules.get(import_name)
    if module is not None and getattr(module, "__file__", None):
        return os.path.dirname(os.path.abspath(str(module.__file__)))
    try:
        spec = importlib.util.find_spec(import_name)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin in (None, "namespace", "built-in"):
        if spec is not None and spec.submodule_search_locations:
            return os.path.abspath(next(iter(spec.submodule_search_locations)))
        return os.getcwd()
    return os.path.dirname(os.path.abspath(spec.origin))


def app_name(import_name: str) -> str:
    """An app's name: ``import_name``, or the script's name for ``__main__``."""
    if import_name == "__main__":
        main_file = getattr(sys.modules["__main__"], "__file__", None)
        if main_file is None:
            return "__main__"
        return os.path.splitext(os.path.basename(str(main_file)))[0]
    return import_name


def instance_folder(import_name: str, name: str) -> str:
    """An app's instance folder, as Flask finds it (``app.auto_find_instance_path``)."""
    prefix, folder = find_package(import_name)
    if prefix is None:
        return os.path.join(folder, "instance")
    return os.path.join(prefix, "var", f"{name}-instance")


def find_package(import_name: str) -> tuple[str | None, str]:
    """Return the install prefix of ``import_name``'s top package, and its import folder.

    The folder is the :data:`sys.path` entry the package or module is
    imported from. The prefix is the folder holding ``lib/``, ``bin/`` and
    so on when the package is installed, under :data:`sys.prefix` or a
    ``site-packages`` folder, and ``None`` when it is not, for example when
    it is imported from the project folder. An unknown name is taken to be
    imported from the current folder.
    """
    folder = _import_folder(import_name)
    prefix = os.path.abspath(sys.prefix)
    if os.path.commonpath([prefix, os.path.abspath(folder)]) == prefix:
        return prefix, folder
    parent, name = os.path.split(folder)
    if name.lower() != "site-packages":
        return None, folder
    # prefix/lib/site-packages (Windows), prefix/lib/pythonX.Y/site-packages
    # (POSIX), or prefix/site-packages.
    above, above_name = os.path.split(parent)
    if above_name.lower() == "lib":
        return above, folder
    if os.path.basename(above).lower() == "lib":
        return os.path.dirname(above), folder
    return parent, folder


def _import_folder(import_name: str) -> str:
    top = import_name.partition(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        # ValueError: __main__, or a module in sys.modules without a spec.
        spec = None
    if spec is None:
        return os.getcwd()
    locations = list(spec.submodule_search_locations or ())
    if not locations:
        return os.path.dirname(str(spec.origin))
    if spec.origin not in (None, "namespace"):
        # A regular package: the folder that holds it.
        return os.path.dirname(os.path.dirname(spec.origin))
    # A namespace package spans folders: pick the one holding this module.
    inner = importlib.util.find_spec(import_name) if "." in import_name else None
    inner_locations = list(inner.submodule_search_locations or ()) if inner else []
    if inner_locations:
        own = os.path.commonpath(inner_locations)
        for location in locations:
            if os.path.commonpath([location, own]) == os.path.abspath(location):
                return os.path.dirname(location)
    return os.path.dirname(locations[0])


def get_debug_flag() -> bool:
    """Return whether ``MICROFRAME_DEBUG`` (or Flask's ``FLASK_DEBUG``) asks for debug mode.

    A value other than ``0``, ``false`` or ``no`` (in any case) turns it on, as in
    Flask; unset or empty leaves it off.
    """
    value = env_value("DEBUG")
    return bool(value and value.lower() not in {"0", "false", "no"})


def get_load_dotenv(default: bool = True) -> bool:
    """Return whether default dotenv files should be loaded.

    ``MICROFRAME_SKIP_DOTENV`` (or Flask's ``FLASK_SKIP_DOTENV``) set to
    anything but ``0``, ``false`` or ``no`` turns loading off.

    :param default: the answer when the variable is unset.
    """
    value = env_value("SKIP_DOTENV")
    if not value:
        return default
    return value.lower() in {"0", "false", "no"}


def url_for(
    endpoint: str,
    /,
    *,
    _anchor: str | None = None,
    _method: str | None = None,
    _scheme: str | None = None,
    _external: bool | None = None,
    **values: object,
) -> str:
    """Build the URL of ``endpoint`` with ``values`` for its rule.

    Values that the rule does not use become the query string. ``.name``
    refers to an endpoint of the current blueprint::

        url_for("user", user_id=3)            # "/user/3"
        url_for("search", q="a b")            # "/search?q=a+b"
        url_for("index", _external=True)      # "http://localhost/"

    :param _anchor: a ``#fragment`` to append.
    :param _method: the method the URL is for, when rules differ by method.
    :param _scheme: the scheme of an external URL.
    :param _external: build an absolute URL (the default outside requests).
    :raises werkzeug.routing.BuildError: naming the endpoint that cannot be built.
    """
    app_ctx = _cv_app.get(None)
    # Outside an app context the proxy raises its "push an app context" error.
    app = app_ctx.app if app_ctx is not None else current_app
    return app.url_for(
        endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme, _external=_external, **values
    )


def make_redirect(response_class: type[Response], location: str, code: int = 302) -> Response:
    """Build a redirect to ``location`` with :func:`werkzeug.utils.redirect`,
    as a ``response_class`` instance.

    A location containing CR, LF or NUL is refused with 400 Bad Request:
    such a target usually comes from user input and would split the headers.
    So is one that is not a URL at all (``http://[::1``).
    """
    uri = _redirect_uris.get(location)
    if uri is None:
        uri = _redirect_uris.put(location, _location_uri(location))
    # werkzeug types its result as its own response class, which ours
    # subclasses; it returns an instance of response_class.
    # (Ignored rather than cast(): typing.cast is a call on every redirect.)
    response: Response = _werkzeug_redirect(location, code, response_class)  # type: ignore[assignment]
    if uri != location:
        # werkzeug makes the header a URI only when its WSGI layer sends
        # the response (get_wsgi_headers), which microframe does not use.
        response.headers["Location"] = uri
    return response


def _location_uri(location: str) -> str:
    """Return ``location`` as the URI a ``Location`` header carries; 400 for
    a target that is not one (see :func:`make_redirect`)."""
    if "\r" in location or "\n" in location or "\0" in location:
        raise BadRequest("The redirect target contains a newline or NUL character.")
    try:
        return iri_to_uri(location)
    except ValueError:
        # urlsplit refuses some targets ("http://[::1", lone surrogates);
        # like a newline, such a target comes from user input, not the app.
        raise BadRequest("The redirect target is not a valid URL.") from None


#: Redirect targets checked and made URIs (iri_to_uri parses the URL, a
#: third of a redirect's cost): an app redirects to the same few URLs, but a
#: target may come from the client (``?next=``), so the oldest go when full.
_redirect_uris: BoundedCache[str, str] = BoundedCache(1024)


def redirect(location: str, code: int = 302, Response: type[Response] | None = None) -> Response:
    """Return a response redirecting the client to ``location``.

    Uses the current app's ``redirect`` (so apps can customise it)::

        return redirect(url_for("index"))
    """
    if Response is None:
        ctx = _cv_app.get(None)
        if ctx is not None:
            return ctx.app.redirect(location, code)
        Response = _Response
    return make_redirect(Response, location, code)


def abort(code: int | Response, *args: object, **kwargs: object) -> NoReturn:
    """Raise an :class:`~werkzeug.exceptions.HTTPException` for ``code``.

    ::

        abort(404)
        abort(403, description="Members only")
        abort(make_response_obj)  # ends the request with that response
    """
    if not isinstance(code, int):
        error = HTTPException(response=code)
        raise error
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        app_ctx.app.aborter(code, *args, **kwargs)
    _werkzeug_abort(code, *args, **kwargs)


def make_response(*args: object) -> DualResponse:
    """Turn view return values into a response object, to set headers on it.

    Takes what a view may return (``body``, ``(body, status)``, ...). In
    async code it is awaited, as in Quart; in sync code it returns the
    response, as in Flask::

        response = await make_response("hello", 201)   # async view
        response = make_response("hello", 201)         # sync view
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not args:
        rv: object = app.response_class()
    elif len(args) == 1:
        rv = args[0]
    else:
        rv = args
    # The app's request cycle itself: app.make_response_sync would be one
    # more call for every response made here.
    response = app._cycle.make_response(rv)
    # The response, or a coroutine giving it: DualResponse describes both.
    return response if in_sync_code() else _ready(response)  # type: ignore[return-value]


async def _ready(value: T) -> T:
    return value


async def make_push_promise(path: str) -> None:
    """Ask the server to push ``path`` to the client with this response
    (HTTP/2 server push), as Quart's ``make_push_promise``::

        @app.get("/")
        async def index():
            await make_push_promise(url_for("static", filename="app.css"))
            return await render_template("index.html")

    The same as ``await request.send_push_promise(path)``: nothing happens
    where the server or the protocol cannot push (HTTP/1.1).
    """
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            "'make_push_promise' pushes with the current response, so it works only"
            " in a request: call it in a view."
        )
    await ctx.request.send_push_promise(path)


@overload
def stream_with_context(generator_or_function: Iterator[T]) -> Iterator[T]: ...


@overload
def stream_with_context(generator_or_function: AsyncIterator[T]) -> AsyncIterator[T]: ...


@overload
def stream_with_context(
    generator_or_function: Callable[P, Iterator[T]],
) -> Callable[P, Iterator[T]]: ...


@overload
def stream_with_context(
    generator_or_function: Callable[P, AsyncIterator[T]],
) -> Callable[P, AsyncIterator[T]]: ...


def stream_with_context(generator_or_function: Any) -> Any:
    """Keep the request context available while a streamed body is produced.

    Wraps a sync or async generator (or a function returning one, used as a
    decorator). microframe sends the body while the request context is
    still pushed, so this matters when a generator is consumed elsewhere,
    e.g. in a background task; it is accepted everywhere for Flask and Quart
    compatibility::

        @app.get("/stream")
        async def stream():
            @stream_with_context
            async def generate():
                yield request.args["name"]
            return generate()
    """
    ctx = _cv_request.get(None)
    if callable(generator_or_function) and not hasattr(generator_or_function, "__next__") and (
        not hasattr(generator_or_function, "__anext__")
    ):
        func: Callable[..., Any] = generator_or_function

        @functools.wraps(func)
        def decorator(*args: object, **kwargs: object) -> object:
            return stream_with_context(func(*args, **kwargs))

        return decorator
    if ctx is None:
        raise RuntimeError(
            "'stream_with_context' can only be used when a request"
            " context is active, such as in a view function."
        )
    copy = ctx.copy()
    if hasattr(generator_or_function, "__anext__"):
        return _async_with_context(copy, generator_or_function)
    return _sync_with_context(copy, generator_or_function)


async def _async_with_context(ctx: RequestContext, gen: AsyncIterator[T]) -> AsyncIterator[T]:
    tokens = _set_only(ctx)
    try:
        async for item in gen:
            yield item
    finally:
        aclose = getattr(gen, "aclose", None)
        if aclose is not None:
            await aclose()
        _reset_only(ctx, tokens)


class _sync_with_context(Generic[T]):
    """Iterate a sync generator with a request context pushed around each step.

    Each step may run in a different copy of the context (on the worker
    thread), so the context is set and reset within the step.
    """

    def __init__(self, ctx: RequestContext, gen: Iterator[T]) -> None:
        self._ctx = ctx
        self._gen = gen

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        tokens = _set_only(self._ctx)
        try:
            return next(self._gen)
        finally:
            _reset_only(self._ctx, tokens)

    def close(self) -> None:
        """Close the wrapped generator."""
        close = getattr(self._gen, "close", None)
        if close is not None:
            close()


def flash(message: str, category: str = "message") -> Awaitable[None]:
    """Keep ``message`` for the next request's :func:`get_flashed_messages`.

    The message is stored in the session at once and the
    ``message_flashed`` signal is sent. In sync code that is all, as in
    Flask; in async code ``flash`` returns an awaitable that finishes when
    the signal's receivers have run, so Quart's ``await flash(...)`` works.
    Not awaiting it is fine too: the receivers still run, in a task::

        flash("Saved.")                        # sync view
        await flash("Saved.", "success")       # async view

    :param message: the message (any value the session can store).
    :param category: a free-form category such as ``"error"`` or ``"info"``.
    """
    session = _request_ctx("flash").session
    flashes = session.get("_flashes", [])
    flashes.append((category, message))
    session["_flashes"] = flashes
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if in_sync_code():
        signals.send_sync(signals.message_flashed, app, message=message, category=category)
        # None, as Flask's; typed by the async result, the one a checker can use.
        return None  # type: ignore[return-value]
    if not signals.message_flashed.receivers:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done
    # A task rather than a bare coroutine: a Flask-style ``flash()`` without
    # ``await`` in an async view must still reach the receivers, and must
    # not leave a never-awaited coroutine behind.
    return asyncio.ensure_future(
        signals.send_async(signals.message_flashed, app, message=message, category=category)
    )


def get_flashed_messages(
    with_categories: bool = False, category_filter: Iterable[str] = ()
) -> list[Any]:
    """Return the flashed messages and remove them from the session.

    Within one request, later calls return the same messages::

        {% for category, message in get_flashed_messages(with_categories=true) %}
          <p class="{{ category }}">{{ message }}</p>
        {% endfor %}

    :param with_categories: return ``(category, message)`` pairs instead of
        messages.
    :param category_filter: return only messages of these categories.
    """
    ctx = _request_ctx("get_flashed_messages")
    flashes = ctx.flashes
    if flashes is None:
        session = ctx.session
        flashes = session.pop("_flashes") if "_flashes" in session else []
        ctx.flashes = flashes
    if category_filter:
        wanted = set(category_filter)
        flashes = [item for item in flashes if item[0] in wanted]
    if with_categories:
        return [tuple(item) for item in flashes]
    return [item[1] for item in flashes]


def get_template_attribute(template_name: str, attribute: str) -> Any:
    """Return a macro or variable defined by a template, to use from Python.

    Macros come from the sync compilation of the template, so they are
    called directly in sync and async code alike::

        hello = get_template_attribute("_macros.html", "hello")
        return hello("World")
    """
    env = current_app.jinja_env.sync_twin
    return getattr(env.get_template(template_name).module, attribute)


def _request_ctx(name: str) -> RequestContext:
    ctx = _cv_request.get(None)
    if ctx is None:
        raise RuntimeError(
            f"'{name}' needs the session, which is only available in a request:"
            " call it in a view, or push a request context with"
            " 'app.test_request_context()'."
        )
    return ctx


# -- a view's return value as a response (the request cycle's make_response) --------

#: The stock error page of each (code, description): the same few are sent
#: again and again.
_error_pages: BoundedCache[tuple[int | None, str | None], str] = BoundedCache(256)


def coerce_response(
    app: Microframe,
    rv: object,
    view_name: str | None,
    status: int | str | None = None,
    headers: Any = None,
) -> Response:
    """Turn a view's return value and a tuple's ``status`` and ``headers``
    into a response of the app's class, for
    :meth:`~microframe.app.Microframe.make_response`."""
    response_class = app.response_class
    if isinstance(rv, response_class):
        response = rv
    elif isinstance(rv, (str, bytes, bytearray)):
        # As in Flask, a new response is given the status and headers when it
        # is made: set once, rather than set to defaults and then replaced.
        return response_class(rv, status=status, headers=headers or None)
    else:
        response = _coerce_body(app, rv, view_name)
    if status is not None:
        response.status = status
    if headers:
        _apply_headers(response.headers, headers)
    return response


def _apply_headers(target: Headers, headers: Any) -> None:
    # A tuple's headers replace the response's, as Headers.update does. A
    # plain dict (the usual form) is given to update's own per-item calls
    # (set, or setlist for several values) directly: update first tests its
    # argument against the MultiDict class and the Mapping ABC, about a
    # third of its cost for a one-header dict.
    if type(headers) is not dict:
        target.update(headers)
        return
    for key, value in headers.items():
        if isinstance(value, (list, tuple, set)):
            target.setlist(key, value)
        else:
            target.set(key, value)


def _coerce_body(app: Microframe, rv: object, view_name: str | None) -> Response:
    # Neither a response of the app's class nor text or bytes.
    response_class = app.response_class
    if isinstance(rv, (dict, list)):
        return app.json.response(rv)
    if isinstance(rv, HTTPException):
        return _http_exception_response(app, rv)
    if isinstance(rv, SansIOResponse):
        return _from_werkzeug_response(app, rv)
    if isinstance(rv, Response):
        return rv
    if isinstance(rv, BaseException):
        raise TypeError(f"The view function for {view_name!r} returned an exception: {rv!r}")
    if hasattr(rv, "__await__"):
        raise unawaited_error(rv, f"The view function for {view_name!r}")
    if hasattr(rv, "__aiter__") or (
        isinstance(rv, Iterable) and not isinstance(rv, (set, frozenset))
    ):
        # A sync iterable is read on the request's worker thread.
        ctx = _cv_request.get(None) if not hasattr(rv, "__aiter__") else None
        return response_class(body_from(rv, ctx.lease if ctx else None))
    raise TypeError(
        f"The view function for {view_name!r} did not return a valid response."
        " The return type must be a string, dict, list, tuple with headers or"
        " status, Response instance, or an async or sync generator, but it was"
        f" a {type(rv).__name__}."
    )


def _http_exception_response(app: Microframe, error: HTTPException) -> Response:
    if error.response is not None:
        return coerce_response(app, error.response, None)
    if isinstance(error, RequestRedirect):
        try:
            return app.redirect(error.new_url, error.code)
        except HTTPException as refused:  # the URL the client sent cannot be redirected to
            return _http_exception_response(app, refused)
    cls = type(error)
    if cls.get_headers is HTTPException.get_headers and cls.get_body is HTTPException.get_body:
        # The stock error page: rendered once per code and description.
        key = (error.code, error.description)
        body = _error_pages.get(key)
        if body is None:
            body = _error_pages.put(key, error.get_body())
        return app.response_class(body, error.code)
    return app.response_class(error.get_body(), error.code, error.get_headers())


def _from_werkzeug_response(app: Microframe, rv: SansIOResponse) -> Response:
    body: object = getattr(rv, "response", b"")
    if getattr(rv, "is_sequence", False):
        body = rv.get_data()  # type: ignore[attr-defined]
    return app.response_class(body, rv.status_code, Headers(rv.headers))


__all__ = [
    "abort",
    "app_name",
    "coerce_response",
    "find_package",
    "flash",
    "get_debug_flag",
    "get_flashed_messages",
    "get_load_dotenv",
    "get_root_path",
    "get_template_attribute",
    "instance_folder",
    "make_push_promise",
    "make_redirect",
    "make_response",
    "redirect",
    "send_file",
    "send_from_directory",
    "stream_with_context",
    "url_for",
]

"""Jinja templates: the app's environment and the render functions (its loader is in
:mod:`microframe.template_loader`).

Each app has one Jinja environment, :attr:`Microframe.jinja_env
<microframe.app.Microframe.jinja_env>`, created on first use with
``enable_async=True`` so templates may call coroutine functions and loop over
async generators. Most templates need neither, and Jinja renders a template
compiled for sync use about twice as fast, so the environment keeps a sync
twin (an overlay sharing its loader, filters, tests, globals and policies)
and renders through the twin whenever nothing in the template's reach is
async.

The render functions follow the house rule for sync and async callers::

    @app.get("/")
    async def index():
        return await render_template("index.html", name="Ada")

    @app.get("/sync")
    def sync_index():
        return render_template("index.html", name="Ada")
"""

from __future__ import annotations

import inspect
import threading
from collections import ChainMap
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, MutableMapping
from functools import partial, wraps
from types import AsyncGeneratorType, FunctionType, MethodType
from typing import TYPE_CHECKING, Any, cast

import jinja2
import jinja2.nodes
from jinja2 import Template, TemplatesNotFound
from jinja2.ext import Extension
from jinja2.runtime import Context, new_context
from jinja2.utils import LRUCache

from . import signals
from .globals import _cv_app, _cv_request, current_app, g, request, session
from .helpers import get_flashed_messages, get_template_attribute, stream_with_context
from .sync import (
    AwaitableValue,
    DualIterator,
    DualStr,
    WorkerLease,
    in_sync_code,
    run_async,
)
from .template_loader import DispatchingJinjaLoader, not_found_message

if TYPE_CHECKING:
    from .app import Microframe
    from .plans import Hook

TemplateNames = str | Template | list[str | Template]

AUTOESCAPE_EXTENSIONS = (".html", ".htm", ".xml", ".xhtml", ".svg")

# Attributes that belong to one environment only and must not be copied to
# the sync twin when set on the async environment.
_OWN_ATTRIBUTES = frozenset(
    {
        "is_async",
        "cache",
        "linked_to",
        "overlayed",
        "extensions",
        "_sync_twin",
        "_string_cache",
        "_async_tables",
    }
)
_twin_lock = threading.Lock()


_MAYBE_ASYNC = frozenset({partial, FunctionType, MethodType, AsyncGeneratorType})


def _needs_loop(value: Any) -> bool:
    """Return ``True`` if a template can only use ``value`` when rendered async.

    Types are compared exactly so that a :class:`~werkzeug.local.LocalProxy`
    (``request``, ``session``) is never resolved by the check.
    """
    kind = type(value)
    if kind is partial:
        return _needs_loop(value.func)
    if kind is FunctionType or kind is MethodType:
        return inspect.iscoroutinefunction(value) or inspect.isasyncgenfunction(value)
    return kind is AsyncGeneratorType


class _Table(dict[str, Any]):
    """A filters, tests or globals table that notes whether it holds async values.

    Whether a render must be async is decided when the table changes (a
    filter registered, a global replaced under the same name), not on every
    render; the table answers :attr:`has_async` from that decision.
    """

    __slots__ = ("_has_async",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._has_async: bool | None = None

    @property
    def has_async(self) -> bool:
        """Whether a value needs an async render (see :func:`_needs_loop`)."""
        found = self._has_async
        if found is None:
            found = self._has_async = any(_needs_loop(value) for value in self.values())
        return found


def _noting_change(name: str) -> Callable[..., object]:
    # The dict method ``name``, followed by forgetting the table's decision.
    method = getattr(dict, name)

    @wraps(method)
    def changing(self: _Table, *args: object, **kwargs: object) -> object:
        result = method(self, *args, **kwargs)
        self._has_async = None
        return result

    return changing


for _name in ("__setitem__", "__delitem__", "__ior__", "update", "setdefault", "pop", "popitem", "clear"):
    setattr(_Table, _name, _noting_change(_name))


_TABLES = ("filters", "tests", "globals")


class AppTemplate(Template):
    """A template of the app's environment.

    Jinja reads a template's globals through a :class:`~collections.ChainMap`
    (its own globals over the environment's) for every render, which costs
    more than rendering a small page. A template without globals of its own,
    the usual case, is given the environment's globals dict directly: the
    same values, read the fast way.

    The app's environment is async-enabled, where Jinja's sync
    :meth:`render` would start an event loop of its own (``asyncio.run``),
    which fails inside a running loop or another render. Code written for
    Flask calls it all the same (``app.jinja_env.get_template("mail.txt")
    .render(...)``, a widget rendering a template while the page renders),
    so here :meth:`render`, :meth:`generate` and :meth:`stream` render
    through the sync twin's compilation of the same template, as
    :func:`render_template` does, unless the render needs something async.
    """

    #: The source of a template compiled from a string (for the sync twin).
    _source: str | None = None
    _for_sync: Template | None = None

    def render(self, *args: Any, **kwargs: Any) -> str:
        """Render the template with the variables given (Jinja's sync render)."""
        if not self.environment.is_async:
            return super().render(*args, **kwargs)
        context = dict(*args, **kwargs)
        if self._needs_async(context):
            return run_async(self.render_async(context))
        return self._sync_template().render(context)

    def generate(self, *args: Any, **kwargs: Any) -> Iterator[str]:
        """Render the template piece by piece (Jinja's sync generator)."""
        if not self.environment.is_async:
            return super().generate(*args, **kwargs)
        context = dict(*args, **kwargs)
        if self._needs_async(context):
            return iter((run_async(self.render_async(context)),))
        return self._sync_template().generate(context)

    def _needs_async(self, context: dict[str, Any]) -> bool:
        environment = self.environment
        if not (isinstance(environment, Environment) and environment.needs_async(context)):
            return False
        if not in_sync_code():
            raise RuntimeError(
                "This template calls async functions, so async code must render it"
                " with 'await template.render_async(...)' rather than render()."
            )
        return True

    def _sync_template(self) -> Template:
        # The same template compiled by the sync twin, with its own globals.
        compiled = self._for_sync
        if compiled is None:
            environment = cast("Environment", self.environment)
            twin = environment.sync_twin
            own = self.globals.maps[0] if type(self.globals) is ChainMap else None
            if self._source is not None:
                compiled = twin.from_string(self._source, globals=own)
            elif self.name is not None:
                compiled = twin.get_template(self.name, globals=own)
            else:
                raise RuntimeError("This template has no name or source to render it from.")
            self._for_sync = compiled
        return compiled

    def new_context(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> Context:
        """Create a render context, as :meth:`jinja2.Template.new_context`."""
        globals = self.globals
        if type(globals) is ChainMap:
            maps = globals.maps
            if len(maps) == 2 and not maps[0] and type(maps[1]) is _Table:
                globals = maps[1]
        return new_context(self.environment, self.name, self.blocks, vars, shared, globals, locals)


class Environment(jinja2.Environment):
    """The Jinja environment of an app, async-enabled, with a sync twin.

    Created by :meth:`Microframe.create_jinja_environment`; ``options`` are
    the app's :attr:`~TemplatingMixin.jinja_options`. Attributes set on this
    environment (``undefined``, ``trim_blocks``, ...) and extensions added
    with :meth:`add_extension` are applied to the twin as well.

    :param app: the app whose templates, config and globals are used.
    :param options: keyword arguments for :class:`jinja2.Environment`.
    """

    #: Render through the sync twin when the template needs nothing async.
    #: Set to ``False`` if templates call coroutine functions reached only
    #: through objects (``{{ obj.fetch() }}``), which cannot be detected.
    sync_render: bool = True
    #: How many compiled ``render_template_string`` sources are kept.
    string_cache_size: int = 256
    template_class = AppTemplate

    app: Microframe
    _sync_twin: Environment | None
    _string_cache: LRUCache
    _auto_reload: bool | None
    filters: _Table
    tests: _Table
    globals: _Table

    def __init__(self, app: Microframe, **options: Any) -> None:
        # Set first: __setattr__ consults these while Jinja initialises.
        self.__dict__.update(_sync_twin=None, _auto_reload=None)
        options.setdefault("loader", app.create_global_jinja_loader())
        options.setdefault("autoescape", app.select_jinja_autoescape)
        options.setdefault("auto_reload", None)
        options.setdefault("enable_async", True)
        super().__init__(**options)
        self.app = app
        self._string_cache: LRUCache = LRUCache(self.string_cache_size)
        self.globals.update(
            url_for=app.url_for,
            get_flashed_messages=get_flashed_messages,
            config=app.config,
            request=request,
            session=session,
            g=g,
        )
        self.policies["json.dumps_function"] = app.json.dumps

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _TABLES and type(value) is not _Table:
            # Jinja's initial tables, or ones a user assigns: watched, so
            # that replacing a value is noticed (see needs_async).
            value = _Table(value)
        super().__setattr__(name, value)
        twin = self.__dict__.get("_sync_twin")
        if twin is not None and twin is not self and name not in _OWN_ATTRIBUTES:
            setattr(twin, name, value)

    @property
    def auto_reload(self) -> bool:
        """Whether templates are re-read when their file changes.

        Follows the app's ``TEMPLATES_AUTO_RELOAD`` (``None``: on in debug)
        unless set explicitly on the environment.
        """
        value: bool | None = self._auto_reload
        if value is None:
            return self.app.templates_auto_reload
        return value

    @auto_reload.setter
    def auto_reload(self, value: bool | None) -> None:
        self._auto_reload = value

    def add_extension(self, extension: str | type[Extension]) -> None:
        """Add a Jinja extension to this environment and its sync twin."""
        super().add_extension(extension)
        twin = self._sync_twin
        if twin is not None and twin is not self:
            twin.add_extension(extension)

    @property
    def sync_twin(self) -> Environment:
        """The environment compiling the same templates for sync rendering."""
        twin: Environment | None = self._sync_twin
        if twin is None:
            with _twin_lock:
                twin = self._sync_twin
                if twin is None:
                    twin = self.overlay(enable_async=False) if self.is_async else self
                    twin._string_cache = LRUCache(self.string_cache_size)
                    twin._sync_twin = twin
                    self._sync_twin = twin
        return twin

    def from_string(
        self,
        source: str | jinja2.nodes.Template,
        globals: MutableMapping[str, Any] | None = None,
        template_class: type[Template] | None = None,
    ) -> Template:
        """Compile ``source`` into a template, as Jinja does; the template
        keeps a text source for the sync twin (see :class:`AppTemplate`)."""
        template = super().from_string(source, globals, template_class)
        if isinstance(source, str) and isinstance(template, AppTemplate):
            template._source = source
        return template

    def from_string_cached(self, source: str) -> Template:
        """Return ``source`` compiled, compiling each source only once.

        Keeps the :attr:`string_cache_size` most recently used templates.
        """
        template: Template | None = self._string_cache.get(source)
        if template is None:
            template = self.from_string(source)
            self._string_cache[source] = template
        return template

    def needs_async(self, context: Mapping[str, Any]) -> bool:
        """Return ``True`` when a render with ``context`` must be async.

        That is when a filter, test, global or context value is a coroutine
        function, an async generator function or an async generator. For the
        filters, tests and globals it was decided when they last changed.
        """
        if not self.is_async:
            return False
        if not self.sync_render:
            return True
        if self.filters.has_async or self.tests.has_async or self.globals.has_async:
            return True
        values = context.values()
        # Most contexts hold no function at all: one pass over their types in C.
        if _MAYBE_ASYNC.isdisjoint(map(type, values)):
            return False
        return any(type(value) in _MAYBE_ASYNC and _needs_loop(value) for value in values)


def _get_template(env: Environment, names: TemplateNames) -> Template:
    if isinstance(names, (str, Template)):
        return env.get_template(names)
    try:
        return env.select_template(names)
    except TemplatesNotFound as error:
        loader = env.loader
        if not isinstance(loader, DispatchingJinjaLoader):
            raise
        tried = list(loader.iter_loaders())
        names_tried = [str(name) for name in error.templates]
        raise TemplatesNotFound(names_tried, not_found_message(names_tried, tried)) from None


def _load(env: Environment, names: TemplateNames | None, source: str | None) -> Template:
    if source is not None:
        return env.from_string_cached(source)
    return _get_template(env, cast(TemplateNames, names))


# -- the template context ------------------------------------------------------


def _context_processors(app: Microframe) -> tuple[Hook, ...]:
    # Those of the current request's blueprint chain (taken once per chain),
    # else the app's own.
    cycle = app._cycle
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        return cycle.ctx_hooks(req_ctx).context_processors
    return cycle.hooks_for(None).context_processors


def _default_template_ctx_processor() -> dict[str, object]:
    """The app's first context processor, as Flask lists it: ``g`` and
    ``request`` for templates.

    ``session`` is left to the environment's global, the proxy, so that a
    render does not open the session (and touch the cookie) unless the
    template uses it. Being a plain read of the contexts, it runs where the
    render runs, never on a worker thread.
    """
    extra: dict[str, object] = {}
    app_ctx = _cv_app.get(None)
    if app_ctx is not None:
        extra["g"] = app_ctx.g
    req_ctx = _cv_request.get(None)
    if req_ctx is not None:
        extra["request"] = req_ctx.request
    return extra


def _merge(context: dict[str, object], extra: dict[str, object]) -> None:
    # Values passed to the render call win over context processors.
    for key, value in extra.items():
        context.setdefault(key, value)


def update_context_sync(app: Microframe, context: dict[str, object]) -> None:
    """Fill ``context`` from sync code with the context processors' values."""
    extra: dict[str, object] = {}
    for func, _ in _context_processors(app):
        result = func()
        if inspect.isawaitable(result):
            result = run_async(result)
        extra.update(result)
    _merge(context, extra)


async def update_context_async(app: Microframe, context: dict[str, object]) -> None:
    """Fill ``context`` from async code, awaiting async context processors.

    Sync processors run on the request's worker thread, like every sync
    function of a request, so they may use thread-bound resources on ``g``.
    """
    extra: dict[str, object] = {}
    lease: WorkerLease | None = None
    for func, is_async in _context_processors(app):
        result: Any
        if func is _default_template_ctx_processor:
            result = func()
        elif is_async:
            result = await cast("Callable[[], Any]", func)()
        else:
            if lease is None:
                req_ctx = _cv_request.get(None)
                lease = req_ctx.lease if req_ctx is not None else WorkerLease(None)
            result = await lease.run(func)
        extra.update(result)
    _merge(context, extra)


# -- rendering -------------------------------------------------------------------


def _current_app() -> Microframe:
    return cast("Microframe", current_app._get_current_object())  # type: ignore[attr-defined]


def _pick(
    env: Environment, names: TemplateNames | None, source: str | None, context: dict[str, object]
) -> tuple[Template, bool]:
    """Return the template to render and whether it must be rendered async."""
    if isinstance(names, Template):
        return names, names.environment.is_async
    use_async = env.needs_async(context)
    return _load(env if use_async else env.sync_twin, names, source), use_async


def _render_sync(
    app: Microframe, names: TemplateNames | None, source: str | None, context: dict[str, object]
) -> str:
    app.update_template_context(context)
    template, use_async = _pick(app.jinja_env, names, source, context)
    _send_sync(signals.before_render_template, app, template, context)
    rv = run_async(template.render_async(context)) if use_async else template.render(context)
    _send_sync(signals.template_rendered, app, template, context)
    return rv


async def _render_async(
    app: Microframe, names: TemplateNames | None, source: str | None, context: dict[str, object]
) -> str:
    await app.update_template_context(context)
    template, use_async = _pick(app.jinja_env, names, source, context)
    await _send_async(signals.before_render_template, app, template, context)
    if use_async:
        rv = await template.render_async(context)
    else:
        # Compiled for sync use: about twice as fast, and nothing here awaits.
        rv = template.render(context)
    await _send_async(signals.template_rendered, app, template, context)
    return rv


def _send_sync(signal: Any, app: Microframe, template: Template, context: dict[str, object]) -> None:
    if signal.receivers:
        signals.send_sync(signal, app, template=template, context=context)


async def _send_async(signal: Any, app: Microframe, template: Template, context: dict[str, object]) -> None:
    if signal.receivers:
        await signals.send_async(signal, app, template=template, context=context)


# The render and stream functions return the value in sync code and an
# AwaitableValue in async code; DualStr and DualIterator describe both (see
# microframe.sync), hence the ignores.


def render_template(template_name_or_list: TemplateNames, **context: object) -> DualStr:
    """Render a template from the app's or a blueprint's template folder.

    Awaited in async code (as in Quart); returns the string directly in sync
    code (as in Flask). Given a list, the first template that exists is used::

        return await render_template("hello.html", name="Ada")   # async view
        return render_template("hello.html", name="Ada")         # sync view

    :param template_name_or_list: a template name, or a list of names to try.
    :param context: variables for the template; they win over context
        processors.
    :raises jinja2.TemplateNotFound: listing the folders searched.
    """
    app = _current_app()
    if in_sync_code():
        return _render_sync(app, template_name_or_list, None, context)  # type: ignore[return-value]
    return AwaitableValue(  # type: ignore[return-value]
        _render_async(app, template_name_or_list, None, context), "render_template(...)"
    )


def render_template_string(source: str, **context: object) -> DualStr:
    """Render a template given as a string; autoescaped like an ``.html`` file.

    Awaited in async code, direct in sync code. Each source is compiled once
    and kept in a small LRU cache::

        return await render_template_string("Hello {{ name }}", name=name)
    """
    app = _current_app()
    if in_sync_code():
        return _render_sync(app, None, source, context)  # type: ignore[return-value]
    return AwaitableValue(  # type: ignore[return-value]
        _render_async(app, None, source, context), "render_template_string(...)"
    )


def _stream_sync(
    app: Microframe, names: TemplateNames | None, source: str | None, context: dict[str, object]
) -> Iterator[str]:
    app.update_template_context(context)
    template, use_async = _pick(app.jinja_env, names, source, context)
    _send_sync(signals.before_render_template, app, template, context)

    def generate() -> Iterator[str]:
        if use_async:
            chunks = template.generate_async(context)
            try:
                while True:
                    try:
                        yield run_async(chunks.__anext__())
                    except StopAsyncIteration:
                        break
            finally:
                run_async(chunks.aclose())
        else:
            yield from template.generate(context)
        _send_sync(signals.template_rendered, app, template, context)

    return cast("Iterator[str]", _with_request_context(generate()))


async def _stream_async(
    app: Microframe, names: TemplateNames | None, source: str | None, context: dict[str, object]
) -> AsyncIterator[str]:
    await app.update_template_context(context)
    template, use_async = _pick(app.jinja_env, names, source, context)
    await _send_async(signals.before_render_template, app, template, context)

    async def generate() -> AsyncIterator[str]:
        if use_async:
            async for chunk in template.generate_async(context):
                yield chunk
        else:
            for chunk in template.generate(context):
                yield chunk
        await _send_async(signals.template_rendered, app, template, context)

    return cast("AsyncIterator[str]", _with_request_context(generate()))


def _with_request_context(chunks: Any) -> object:
    if _cv_request.get(None) is None:
        return chunks
    return stream_with_context(chunks)


def stream_template(template_name_or_list: TemplateNames, **context: object) -> DualIterator[str]:
    """Render a template as a stream of strings, to send as it is produced.

    Awaited in async code, giving an async iterator; direct in sync code,
    giving an iterator. Return it from a view (or wrap it in a response)::

        @app.get("/report")
        async def report():
            return await stream_template("report.html", rows=rows())

    The request context stays available while the template renders.
    """
    app = _current_app()
    if in_sync_code():
        return _stream_sync(app, template_name_or_list, None, context)  # type: ignore[return-value]
    return AwaitableValue(
        _stream_async(app, template_name_or_list, None, context), "stream_template(...)"
    )


def stream_template_string(source: str, **context: object) -> DualIterator[str]:
    """Render a template given as a string as a stream; see :func:`stream_template`."""
    app = _current_app()
    if in_sync_code():
        return _stream_sync(app, None, source, context)  # type: ignore[return-value]
    return AwaitableValue(
        _stream_async(app, None, source, context), "stream_template_string(...)"
    )


__all__ = [
    "DispatchingJinjaLoader",
    "Environment",
    "get_template_attribute",
    "render_template",
    "render_template_string",
    "stream_template",
    "stream_template_string",
]

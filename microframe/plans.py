"""What the request cycle works out once rather than per request.

The hooks that apply to a blueprint chain (:class:`ChainHooks`) and the
plan of an endpoint (:class:`Endpoint`: those hooks, its view and what they
mean for a request) are taken from the app's registries when first needed
and kept by the app's :class:`~microframe.dispatch.RequestCycle` until a
hook list changes (:class:`~microframe.scaffold.HooksVersion`) or, for a
plan, until its view is replaced in ``view_functions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .scaffold import Key
from .sync import is_async_callable
from .wrappers.base import blueprint_chain

if TYPE_CHECKING:
    from .scaffold import Scaffold

#: A hook or view and whether it is a coroutine function.
Hook = tuple[Callable[..., Any], bool]


def _hooks(funcs: dict[Key, list[Any]], names: tuple[Key, ...], reverse: bool) -> tuple[Hook, ...]:
    out: list[Hook] = []
    for name in names:
        found = funcs.get(name)
        if found:
            items = reversed(found) if reverse else found
            out.extend((func, is_async_callable(func)) for func in items)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class ChainHooks:
    """The hooks that apply to one blueprint chain, in calling order."""

    #: The app's :attr:`~microframe.scaffold.Scaffold.hooks_version` they were
    #: taken at: the hooks are taken again once a hook list has changed.
    version: int
    blueprints: tuple[str, ...]
    url_value_preprocessors: tuple[Hook, ...]
    before: tuple[Hook, ...]
    after: tuple[Hook, ...]
    teardown: tuple[Hook, ...]
    before_websocket: tuple[Hook, ...]
    after_websocket: tuple[Hook, ...]
    teardown_websocket: tuple[Hook, ...]
    #: Template context processors, the app's first (outermost blueprint next).
    context_processors: tuple[Hook, ...]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What the request cycle works out once per endpoint: the hooks of its
    blueprint chain and its view, and what they mean for a request."""

    #: The hooks version they were taken at (see :class:`ChainHooks`).
    version: int
    hooks: ChainHooks
    #: The view, as registered when the plan was made (``None`` if none was),
    #: and whether it is a coroutine function.
    view: Callable[..., Any] | None
    view_is_async: bool
    #: Whether a request runs URL value preprocessors or ``before_request`` hooks.
    preprocesses: bool
    #: Whether popping a request runs request teardown (hooks or a replaced
    #: ``do_teardown_request``); signal receivers are checked on each pop.
    tears_down: bool


def chain_hooks(app: Scaffold, blueprint: str | None, version: int) -> ChainHooks:
    """Take the hooks of ``blueprint``'s chain (``None``: the app's own)
    from ``app``'s registries, in calling order: the app's first for the
    ``before`` kinds, innermost first for the ``after`` and teardown kinds."""
    inner = blueprint_chain(blueprint)
    outer: tuple[Key, ...] = (None, *reversed(inner))
    innermost: tuple[Key, ...] = (*inner, None)
    return ChainHooks(
        version=version,
        blueprints=inner,
        url_value_preprocessors=_hooks(app.url_value_preprocessors, outer, False),
        before=_hooks(app.before_request_funcs, outer, False),
        after=_hooks(app.after_request_funcs, innermost, True),
        teardown=_hooks(app.teardown_request_funcs, innermost, True),
        before_websocket=_hooks(app.before_websocket_funcs, outer, False),
        after_websocket=_hooks(app.after_websocket_funcs, innermost, True),
        teardown_websocket=_hooks(app.teardown_websocket_funcs, innermost, True),
        context_processors=_hooks(app.template_context_processors, outer, False),
    )


def endpoint_plan(hooks: ChainHooks, view: Callable[..., Any] | None, replaced_teardown: bool) -> Endpoint:
    """The plan of an endpoint whose chain has ``hooks`` and whose view is
    ``view`` (``None``: no view, or no endpoint matched);
    ``replaced_teardown``: the app replaces ``do_teardown_request``."""
    return Endpoint(
        version=hooks.version,
        hooks=hooks,
        view=view,
        view_is_async=view is not None and is_async_callable(view),
        preprocesses=bool(hooks.url_value_preprocessors or hooks.before),
        tears_down=bool(hooks.teardown) or replaced_teardown,
    )


__all__ = ["ChainHooks", "Endpoint", "Hook", "chain_hooks", "endpoint_plan"]

"""Class-based views: :class:`View` and :class:`MethodView`.

A class-based view becomes a view function with :meth:`View.as_view`. The
function it returns is a coroutine function when the class's code is async,
and a plain function when it is all sync, so the app runs sync views on the
request's worker thread just as it runs plain ``def`` views.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from inspect import isawaitable
from typing import Any, ClassVar

from .globals import request, request_ctx
from .sync import in_sync_code, is_async_callable, run_async
from .typing import ResponseReturnValue, RouteCallable

http_method_funcs: frozenset[str] = frozenset(
    ["get", "post", "head", "options", "delete", "put", "trace", "patch"]
)
"""The handler names :class:`MethodView` looks for, one per HTTP method."""


class View:
    """A view as a class: subclass it and implement :meth:`dispatch_request`.

    ::

        class Hello(View):
            methods = ["GET"]

            def __init__(self, greeting):
                self.greeting = greeting

            async def dispatch_request(self, name):
                return f"{self.greeting}, {name}"

        app.add_url_rule("/hello/<name>", view_func=Hello.as_view("hello", "Hi"))

    ``dispatch_request`` may be ``async def`` (awaited on the event loop) or a
    plain ``def`` (run on the request's worker thread, like a sync view).
    """

    #: The methods the view answers; ``None`` means the rule's default (GET).
    methods: ClassVar[Collection[str] | None] = None

    #: Whether ``OPTIONS`` is answered automatically; ``None`` follows the app.
    provide_automatic_options: ClassVar[bool | None] = None

    #: Decorators applied, in order, to the function :meth:`as_view` returns.
    decorators: ClassVar[list[Callable[..., Any]]] = []

    #: Create a new instance for each request (``True``, the default), or
    #: one instance shared by all requests (``False``, faster, but the
    #: instance must not keep per-request state).
    init_every_request: ClassVar[bool] = True

    def dispatch_request(self, **kwargs: Any) -> ResponseReturnValue | Awaitable[ResponseReturnValue]:
        """Handle the request; override this. ``kwargs`` are the URL values.

        :raises NotImplementedError: when not overridden.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'dispatch_request' to be used as a view."
        )

    @classmethod
    def _view_is_async(cls) -> bool:
        """Whether the function made by :meth:`as_view` must be a coroutine function."""
        return is_async_callable(cls.dispatch_request)

    @classmethod
    def _runs_async(cls, method: str) -> bool:
        """Whether a ``method`` request is handled by ``async def`` code."""
        return cls._view_is_async()

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> RouteCallable:
        """Return a view function for this class, to pass to ``add_url_rule``.

        :param name: the view function's name, the default endpoint.
        :param class_args: positional arguments for the class constructor.
        :param class_kwargs: keyword arguments for the class constructor.
        :return: an ``async def`` function if the class's code is async, a
            plain function if it is all sync.
        """
        view: Callable[..., Any]
        shared: View | None = None
        if not cls.init_every_request:
            shared = cls(*class_args, **class_kwargs)

        # The function the app sees: its ``view_class`` is looked up on each
        # call, so a test may swap the class, as with Flask.
        made: list[Any] = []

        def instance(args: tuple[Any, ...], kwargs: dict[str, Any]) -> View:
            if shared is not None:
                return shared
            view_class: type[View] = made[0].view_class
            return view_class(*args, **kwargs)

        # The views name class_args and class_kwargs, as Flask's do: extensions
        # read them from the closure (Flask-Injector, to build the class itself).
        if cls._view_is_async():

            async def async_view(**kwargs: object) -> Any:
                rv = instance(class_args, class_kwargs).dispatch_request(**kwargs)
                if isawaitable(rv):
                    rv = await rv
                return rv

            view = async_view
        else:

            def sync_view(**kwargs: object) -> Any:
                # Runs on the request's worker thread: no loop to await on.
                return instance(class_args, class_kwargs).dispatch_request(**kwargs)

            view = sync_view

        if cls.decorators:
            view.__name__ = name
            view.__module__ = cls.__module__
            for decorator in cls.decorators:
                view = decorator(view)

        # Set after decorating so the function the app sees carries them.
        result: Any = view
        result.view_class = cls
        result.__name__ = name
        result.__doc__ = cls.__doc__
        result.__module__ = cls.__module__
        result.methods = cls.methods
        result.provide_automatic_options = cls.provide_automatic_options
        made.append(result)
        return view


class MethodView(View):
    """A view that dispatches to a method named after the request's method.

    ::

        class UserAPI(MethodView):
            async def get(self, user_id):
                return await load_user(user_id)

            def delete(self, user_id):        # sync: runs on the worker thread
                remove_user(user_id)
                return "", 204

        app.add_url_rule("/users/<int:user_id>", view_func=UserAPI.as_view("user"))

    :attr:`methods` is derived from the handlers defined (here GET and
    DELETE), and a ``HEAD`` request is answered by ``get`` unless ``head``
    is defined. Handlers may be async, sync, or a mix of both.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "methods" in cls.__dict__:
            return
        methods: set[str] = set()
        for base in cls.__bases__:
            base_methods = getattr(base, "methods", None)
            if base_methods:
                methods.update(base_methods)
        for key in http_method_funcs:
            if hasattr(cls, key):
                methods.add(key.upper())
        if methods:
            cls.methods = methods

    @classmethod
    def _handlers(cls) -> list[Callable[..., object]]:
        return [getattr(cls, key) for key in http_method_funcs if hasattr(cls, key)]

    @classmethod
    def _view_is_async(cls) -> bool:
        if cls.dispatch_request is not MethodView.dispatch_request:
            return is_async_callable(cls.dispatch_request)
        # With any async handler the view is async; sync handlers of a mixed
        # class are then run on the worker thread by dispatch_request.
        return any(is_async_callable(handler) for handler in cls._handlers())

    @classmethod
    def _runs_async(cls, method: str) -> bool:
        if cls.dispatch_request is not MethodView.dispatch_request:
            return is_async_callable(cls.dispatch_request)
        handler = getattr(cls, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(cls, "get", None)
        return handler is not None and is_async_callable(handler)

    def _handler_for(self, method: str) -> Callable[..., object]:
        handler: Callable[..., object] | None = getattr(self, method.lower(), None)
        if handler is None and method == "HEAD":
            handler = getattr(self, "get", None)
        if handler is None:
            raise AssertionError(f"Unimplemented method {method!r}")
        return handler

    def dispatch_request(self, **kwargs: Any) -> Any:
        """Call the handler for the request's method with the URL values.

        From sync code it returns the handler's result; from async code it
        returns an awaitable (so ``await super().dispatch_request(**kwargs)``
        works in an async override, as in Quart).
        """
        handler = self._handler_for(request.method)
        if in_sync_code():
            rv = handler(**kwargs)
            if isawaitable(rv):
                rv = run_async(rv)
            return rv
        return _call_handler(handler, kwargs)


async def _call_handler(handler: Callable[..., Any], kwargs: dict[str, object]) -> object:
    if is_async_callable(handler):
        return await handler(**kwargs)
    # A sync handler must not block the loop: run it on the request's thread.
    return await request_ctx.lease.run(handler, **kwargs)


__all__ = ["MethodView", "View", "http_method_funcs"]

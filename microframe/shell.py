"""The console of ``microframe shell``: Python's own, with top-level ``await``.

As in ``python -m asyncio``, a line may ``await`` (``response = await
client.get("/")``), so the async samples of the docs run as written. Sync
lines run as in a script, outside any event loop, where microframe's dual
APIs give values directly (``client.get("/")``, ``render_template(...)``).

All lines, sync and awaiting, run in one :mod:`contextvars` context, copied
from the command's (where the app context is pushed): a context pushed on
one line is there on the next, whichever kind each line is. Awaiting lines
run on one event loop kept for the whole session, so objects tied to a loop
(a client session, a queue) outlive the line that made them.
"""

from __future__ import annotations

import ast
import asyncio
import code
import contextvars
import inspect
import sys
import traceback
from types import CodeType

#: Added to the banner, as ``python -m asyncio`` says it.
AWAIT_HINT = 'Use "await" directly, as in "python -m asyncio".'


class AsyncConsole(code.InteractiveConsole):
    """An interactive console whose lines may use ``await``.

    :param namespace: the console's globals.
    :param filename: the name shown in tracebacks.
    """

    def __init__(self, namespace: dict[str, object], filename: str = "<console>") -> None:
        super().__init__(namespace, filename)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.context = contextvars.copy_context()
        self._runner = asyncio.Runner()

    def runcode(self, code: CodeType) -> None:
        """Run one compiled line (or block); an awaiting one on the session's loop.

        Exceptions are shown as the standard console shows them, Ctrl-C
        included: it cancels what the line awaits.
        """
        try:
            if code.co_flags & inspect.CO_COROUTINE:
                # eval gives the coroutine of a line compiled with top-level await.
                self._runner.run(eval(code, self.locals), context=self.context)
            else:
                self.context.run(exec, code, self.locals)
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()

    def showtraceback(self) -> None:
        """Show the exception being handled from the first frame of the typed code.

        The frames above it (this console's, and the event loop's for an
        awaiting line) say nothing about the user's code.
        """
        error = sys.exc_info()[1]
        if error is None:
            return
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != self.filename:
            tb = tb.tb_next
        error = error.with_traceback(tb)
        sys.last_type, sys.last_value, sys.last_traceback = type(error), error, tb
        if sys.excepthook is sys.__excepthook__:
            self.write("".join(traceback.format_exception(error)))
        else:
            sys.excepthook(type(error), error, tb)

    def close(self) -> None:
        """Close the session's event loop (its async generators, its executor)."""
        self._runner.close()


def interact(banner: str, namespace: dict[str, object]) -> None:
    """Run an :class:`AsyncConsole` on ``namespace`` until end of input or ``exit()``."""
    console = AsyncConsole(namespace)
    try:
        console.interact(banner=f"{banner}\n{AWAIT_HINT}", exitmsg="")
    finally:
        console.close()


__all__ = ["AWAIT_HINT", "AsyncConsole", "interact"]

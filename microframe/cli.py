"""The ``microframe`` command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


class AppGroup(click.Group):
    """A click group whose commands run inside the app context by default."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], click.Command]:  # type: ignore[override]
        """Register a command; ``with_appcontext=False`` opts out of the app context."""
        kwargs.pop("with_appcontext", True)
        return super().command(*args, **kwargs)  # type: ignore[no-any-return]


def main() -> None:
    """Run the ``microframe`` command."""
    click.echo("microframe")




class ScriptInfo:
    """What the command line knows about the app it serves."""

    def __init__(self, create_app: Callable[[], Any] | None = None) -> None:
        self.create_app = create_app
        self.data: dict[str, Any] = {}
        self._loaded_app: Any = None

    def load_app(self) -> Any:
        """Return the app, creating it once."""
        if self._loaded_app is None and self.create_app is not None:
            self._loaded_app = self.create_app()
        return self._loaded_app


__all__ = ["AppGroup", "ScriptInfo", "main"]

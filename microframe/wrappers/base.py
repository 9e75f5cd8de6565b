"""What HTTP requests and websocket connections share: their routing result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.sansio.request import Request as SansIORequest

if TYPE_CHECKING:
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import Rule
    from werkzeug.routing.exceptions import RequestRedirect


def blueprint_chain(blueprint: str | None) -> tuple[str, ...]:
    """Return ``"a.b.c"`` as ``("a.b.c", "a.b", "a")``: innermost first."""
    if blueprint is None:
        return ()
    parts = blueprint.split(".")
    return tuple(".".join(parts[:i]) for i in range(len(parts), 0, -1))


class RoutedRequest(SansIORequest):
    """werkzeug's sans-io request plus the URL rule it matched."""

    #: The error raised while matching the URL (404, 405, a redirect), if any.
    routing_exception: HTTPException | RequestRedirect | None = None
    #: The rule that matched, or ``None``.
    url_rule: Rule | None = None
    #: The values the rule's converters produced, or ``None``.
    view_args: dict[str, Any] | None = None

    @property
    def endpoint(self) -> str | None:
        """The endpoint that matched, or ``None``."""
        return self.url_rule.endpoint if self.url_rule is not None else None

    @property
    def blueprint(self) -> str | None:
        """The (dotted) name of the blueprint of the matched endpoint."""
        endpoint = self.endpoint
        if endpoint is not None and "." in endpoint:
            return endpoint.rpartition(".")[0]
        return None

    @property
    def blueprints(self) -> list[str]:
        """The current blueprint and its parents, innermost first."""
        return list(blueprint_chain(self.blueprint))


__all__ = ["RoutedRequest", "blueprint_chain"]

"""A JSON API for a catalogue of items: CRUD under ``/api/v1/items``.

Every response is JSON, errors included: handlers for HTTP errors and for
validation errors turn them into ``{"error": ..., "status": ..., ...}``.
Views are ``async def``; the items live in memory, one store per app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from microframe import Blueprint, Microframe

from .errors import register_error_handlers
from .items import bp as items_bp
from .store import ItemStore


def create_app(test_config: Mapping[str, Any] | None = None) -> Microframe:
    """Create the API app.

    :param test_config: settings that win over the defaults and the
        ``MICROFRAME_*`` environment variables. ``SEED_ITEMS`` (default
        ``True``) fills the store with a few items to play with.
    """
    app = Microframe(__name__)
    app.config.from_mapping(SEED_ITEMS=True, MAX_PER_PAGE=100, DEFAULT_PER_PAGE=10)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)

    store = ItemStore()
    if app.config["SEED_ITEMS"]:
        store.seed()
    app.extensions["items"] = store

    api_v1 = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    api_v1.register_blueprint(items_bp)
    app.register_blueprint(api_v1)
    register_error_handlers(app)
    return app


__all__ = ["create_app"]

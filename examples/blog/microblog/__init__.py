"""A small blog: posts in SQLite, accounts with hashed passwords, flash messages.

The Flask tutorial's shape, on microframe: an app factory, blueprints for
accounts and posts, and plain ``def`` views that use an ``sqlite3``
connection kept on ``g``. microframe runs all sync code of a request on one
worker thread, so the connection is used from the thread that opened it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from microframe import Microframe, render_template

from . import auth, db, posts


def create_app(test_config: Mapping[str, Any] | None = None) -> Microframe:
    """Create and configure the blog app.

    Configuration comes from, in order: the defaults below, ``config.py`` in
    the instance folder, ``MICROFRAME_*`` environment variables (for example
    ``MICROFRAME_DATABASE=/tmp/blog.sqlite``), then ``test_config``. The
    database is created on first use if it does not exist yet.

    :param test_config: settings that win over every other source; tests
        pass ``{"TESTING": True, "DATABASE": ...}``.
    """
    app = Microframe(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev",
        DATABASE=os.path.join(app.instance_path, "blog.sqlite"),
        POSTS_PER_PAGE=20,
    )
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env()
    if test_config is not None:
        app.config.from_mapping(test_config)

    db.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(posts.bp)

    @app.errorhandler(404)
    def page_not_found(error: Exception) -> tuple[str, int]:
        """Show the blog's own "not found" page."""
        return render_template("404.html"), 404

    return app


__all__ = ["create_app"]

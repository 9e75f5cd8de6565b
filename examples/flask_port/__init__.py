"""The notes app before and after porting from Flask, to serve on the dev server.

``microframe --app examples/flask_port run`` serves the async port
(``async_app``); ``microframe --app 'examples/flask_port:create_app("sync")' run``
serves the Flask-style original (``sync_app``). The first run makes the
database in the instance folder, as ``init-db`` would (``MICROFRAME_DATABASE``
puts it elsewhere: ``MICROFRAME_*`` variables set the config).

This factory is the example's own: the two apps stay as they are, the sync
one differing from a Flask app only in its import lines.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from microframe import Microframe

VARIANTS = ("async", "sync")


def create_app(variant: str = "async") -> Microframe:
    """Create the ``"async"`` or ``"sync"`` notes app, with its database made if missing."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    module = importlib.import_module(f"{__name__}.{variant}_app.app")
    app: Microframe = module.create_app()
    app.config.from_prefixed_env()
    database = app.config["DATABASE"]
    if not os.path.exists(database):
        os.makedirs(os.path.dirname(database), exist_ok=True)
        with contextlib.closing(sqlite3.connect(database)) as db:
            db.executescript(module.SCHEMA)
    return app

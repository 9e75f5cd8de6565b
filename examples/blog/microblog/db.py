"""The SQLite database: a connection per request on ``g``, and ``init-db``.

Views are plain ``def`` functions, so the blocking ``sqlite3`` calls run on
microframe's worker thread for the request, never on the event loop.
"""

from __future__ import annotations

import os
import sqlite3
from importlib import resources

import click

from microframe import Microframe, current_app, g
from microframe.cli import with_appcontext


def get_db() -> sqlite3.Connection:
    """Return this request's connection, opening it on first use.

    Rows come back as :class:`sqlite3.Row`, so columns can be read by name.
    """
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
        g.db.execute("PRAGMA foreign_keys = ON")
    connection: sqlite3.Connection = g.db
    return connection


def close_db(error: BaseException | None = None) -> None:
    """Close the connection opened by :func:`get_db`, if any."""
    connection = g.pop("db", None)
    if connection is not None:
        connection.close()


def create_schema(path: str) -> None:
    """Create (or recreate, emptied) the blog's tables in the database at ``path``."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    schema = resources.files(__package__).joinpath("schema.sql").read_text(encoding="utf-8")
    with sqlite3.connect(path) as connection:
        connection.executescript(schema)
    connection.close()


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Drop the blog's tables and create them again, empty."""
    create_schema(current_app.config["DATABASE"])
    click.echo(f"Initialized the database in {current_app.config['DATABASE']}.")


def init_app(app: Microframe) -> None:
    """Wire the database into ``app``: teardown, the command, first-run setup."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    if not os.path.exists(app.config["DATABASE"]):
        create_schema(app.config["DATABASE"])

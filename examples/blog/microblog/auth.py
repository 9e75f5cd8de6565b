"""Accounts: register, log in and out, with the user id kept in the session."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar, cast

from werkzeug.security import check_password_hash, generate_password_hash

from microframe import (
    Blueprint,
    ResponseReturnValue,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .db import get_db

bp = Blueprint("auth", __name__, url_prefix="/auth")

F = TypeVar("F", bound=Callable[..., Any])

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{3,32}")
MIN_PASSWORD_LENGTH = 8


def login_required(view: F) -> F:
    """Send visitors who are not logged in to the login page first."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None:
            flash("Please log in first.", "error")
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


@bp.before_app_request
def load_logged_in_user() -> None:
    """Put the logged-in user's row (or ``None``) on ``g.user`` for every request."""
    user_id = session.get("user_id")
    g.user = None
    if user_id is not None:
        g.user = get_db().execute(
            "SELECT id, username FROM user WHERE id = ?", (user_id,)
        ).fetchone()


def _credentials() -> tuple[str, str]:
    form = request.form
    return form.get("username", "").strip(), form.get("password", "")


@bp.route("/register", methods=("GET", "POST"))
def register() -> ResponseReturnValue:
    """Show the sign-up form; create the account on a valid POST."""
    errors: dict[str, str] = {}
    username = ""
    if request.method == "POST":
        username, password = _credentials()
        if not USERNAME_PATTERN.fullmatch(username):
            errors["username"] = "Use 3 to 32 letters, digits, '.', '_' or '-'."
        if len(password) < MIN_PASSWORD_LENGTH:
            errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
        if not errors:
            db = get_db()
            try:
                db.execute(
                    "INSERT INTO user (username, password) VALUES (?, ?)",
                    (username, generate_password_hash(password)),
                )
                db.commit()
            except sqlite3.IntegrityError:
                errors["username"] = f"The name {username!r} is taken."
            else:
                flash("Account created. Please log in.", "success")
                return redirect(url_for("auth.login"))
    status = 400 if errors else 200
    return render_template("auth/register.html", errors=errors, username=username), status


@bp.route("/login", methods=("GET", "POST"))
def login() -> ResponseReturnValue:
    """Show the login form; start a session on correct credentials."""
    error = None
    username = ""
    if request.method == "POST":
        username, password = _credentials()
        user = get_db().execute(
            "SELECT id, password FROM user WHERE username = ?", (username,)
        ).fetchone()
        if user is None or not check_password_hash(user["password"], password):
            error = "Incorrect username or password."
        else:
            session.clear()
            session["user_id"] = user["id"]
            flash(f"Welcome back, {username}!", "success")
            return redirect(_safe_next(request.args.get("next")))
    status = 400 if error else 200
    return render_template("auth/login.html", error=error, username=username), status


def _safe_next(target: str | None) -> str:
    # Only follow local paths, so the login form cannot redirect off-site.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("posts.index")


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session."""
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("posts.index"))

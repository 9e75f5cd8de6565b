"""Posts: the front page, and writing, editing and deleting one's own posts."""

from __future__ import annotations

import sqlite3

from microframe import (
    Blueprint,
    ResponseReturnValue,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from .auth import login_required
from .db import get_db

bp = Blueprint("posts", __name__)

MAX_TITLE_LENGTH = 120

_POST_QUERY = (
    "SELECT p.id, p.title, p.body, p.author_id, u.username,"
    " strftime('%Y-%m-%d %H:%M', p.created) AS created"
    " FROM post p JOIN user u ON p.author_id = u.id"
)


def get_post(post_id: int, check_author: bool = True) -> sqlite3.Row:
    """Return the post ``post_id``, or abort with 404 (none) or 403 (not yours).

    :param check_author: require the logged-in user to be the author.
    """
    post: sqlite3.Row | None = get_db().execute(
        f"{_POST_QUERY} WHERE p.id = ?", (post_id,)
    ).fetchone()
    if post is None:
        abort(404)
    if check_author and (g.user is None or post["author_id"] != g.user["id"]):
        abort(403)
    return post


def validate_post() -> tuple[dict[str, str], dict[str, str]]:
    """Read the post form; return its values and the errors, by field."""
    values = {
        "title": request.form.get("title", "").strip(),
        "body": request.form.get("body", "").strip(),
    }
    errors: dict[str, str] = {}
    if not values["title"]:
        errors["title"] = "A title is required."
    elif len(values["title"]) > MAX_TITLE_LENGTH:
        errors["title"] = f"Keep the title under {MAX_TITLE_LENGTH} characters."
    if not values["body"]:
        errors["body"] = "Write something in the post."
    return values, errors


@bp.get("/")
def index() -> str:
    """List the newest posts first."""
    posts = get_db().execute(
        f"{_POST_QUERY} ORDER BY p.created DESC, p.id DESC LIMIT 50"
    ).fetchall()
    result: str = render_template("posts/index.html", posts=posts)
    return result


@bp.get("/<int:post_id>")
def show(post_id: int) -> str:
    """Show one post."""
    result: str = render_template("posts/show.html", post=get_post(post_id, check_author=False))
    return result


@bp.route("/create", methods=("GET", "POST"))
@login_required
def create() -> ResponseReturnValue:
    """Write a new post; invalid input shows the form again with a 400."""
    values = {"title": "", "body": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = validate_post()
        if not errors:
            db = get_db()
            cursor = db.execute(
                "INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)",
                (values["title"], values["body"], g.user["id"]),
            )
            db.commit()
            flash(f"Published {values['title']!r}.", "success")
            return redirect(url_for("posts.show", post_id=cursor.lastrowid))
    page = render_template("posts/form.html", values=values, errors=errors, post=None)
    return page, 400 if errors else 200


@bp.route("/<int:post_id>/update", methods=("GET", "POST"))
@login_required
def update(post_id: int) -> ResponseReturnValue:
    """Edit one of your posts; invalid input shows the form again with a 400."""
    post = get_post(post_id)
    values = {"title": post["title"], "body": post["body"]}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = validate_post()
        if not errors:
            db = get_db()
            db.execute(
                "UPDATE post SET title = ?, body = ? WHERE id = ?",
                (values["title"], values["body"], post_id),
            )
            db.commit()
            flash("Post updated.", "success")
            return redirect(url_for("posts.show", post_id=post_id))
    page = render_template("posts/form.html", values=values, errors=errors, post=post)
    return page, 400 if errors else 200


@bp.post("/<int:post_id>/delete")
@login_required
def delete(post_id: int) -> ResponseReturnValue:
    """Delete one of your posts."""
    get_post(post_id)
    db = get_db()
    db.execute("DELETE FROM post WHERE id = ?", (post_id,))
    db.commit()
    flash("Post deleted.", "info")
    return redirect(url_for("posts.index"))

"""The blog example in a real browser: register, log in, post, log out."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

Screenshot = Callable[["Page", str], Path]


@pytest.fixture
def blog(serve: Callable[..., str], tmp_path: Path) -> str:
    """The blog on a dev server, with its database in ``tmp_path``."""
    return serve(
        "blog",
        env={
            "MICROFRAME_DATABASE": str(tmp_path / "blog.sqlite"),
            "MICROFRAME_SECRET_KEY": "browser-test",
        },
    )


def flashes(page: Page) -> list[str]:
    """Return the flashed messages shown on the page."""
    return [text.strip() for text in page.locator(".flash").all_inner_texts()]


def test_register_log_in_post_and_log_out(page: Page, blog: str, screenshot: Screenshot) -> None:
    page.goto(blog)
    assert page.title() == "Posts · Microblog"
    assert "No posts yet." in page.inner_text("main")
    # The stylesheet is served and applied: the header takes the accent colour.
    header_colour = page.eval_on_selector(".site-header", "e => getComputedStyle(e).backgroundColor")
    assert header_colour == "rgb(52, 84, 209)"
    screenshot(page, "1-empty")

    page.click("text=Register")
    page.fill("#username", "ada")
    page.fill("#password", "short")
    page.click("button[type=submit]")
    assert page.inner_text("#password-error") == "Use at least 8 characters."
    screenshot(page, "2-register-invalid")
    page.fill("#password", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(f"{blog}/auth/login")
    assert flashes(page) == ["Account created. Please log in."]
    screenshot(page, "3-login")

    page.fill("#username", "ada")
    page.fill("#password", "wrong password")
    page.click("main button[type=submit]")
    assert page.inner_text(".form-error") == "Incorrect username or password."
    page.fill("#password", "correct horse")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{blog}/")
    assert flashes(page) == ["Welcome back, ada!"]
    assert page.inner_text("[data-testid=current-user]") == "ada"

    page.click("text=New post")
    page.click("main button[type=submit]")
    assert page.inner_text("#title-error") == "A title is required."
    assert page.inner_text("#body-error") == "Write something in the post."
    screenshot(page, "4-invalid-post")

    page.fill("#title", "Hello from Chromium")
    page.fill("#body", "Posted by a real browser\nover a real socket.")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/\d+$"))
    assert flashes(page) == ["Published 'Hello from Chromium'."]
    assert page.inner_text("h1") == "Hello from Chromium"
    assert "over a real socket." in page.inner_text("article")
    screenshot(page, "5-published")

    page.click("text=Microblog")
    assert page.locator("article h2").all_inner_texts() == ["Hello from Chromium"]
    assert "by ada" in page.inner_text("article .meta")
    assert flashes(page) == []  # shown once only

    page.click("text=Log out")
    page.wait_for_url(f"{blog}/")
    assert flashes(page) == ["You have been logged out."]
    assert page.locator("[data-testid=current-user]").count() == 0
    assert page.locator("article h2").all_inner_texts() == ["Hello from Chromium"]
    screenshot(page, "6-logged-out")


def test_edit_needs_login_then_returns_to_the_page(page: Page, blog: str) -> None:
    page.goto(f"{blog}/auth/register")
    page.fill("#username", "grace")
    page.fill("#password", "hopper1906")
    page.click("main button[type=submit]")
    page.goto(f"{blog}/create")
    page.wait_for_url(f"{blog}/auth/login?next=/create")
    assert flashes(page) == ["Please log in first."]
    page.fill("#username", "grace")
    page.fill("#password", "hopper1906")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{blog}/create")
    assert page.inner_text("h1") == "New post"


def test_custom_not_found_page(page: Page, blog: str, screenshot: Screenshot) -> None:
    response = page.goto(f"{blog}/no/such/page")
    assert response is not None and response.status == 404
    assert page.inner_text("h1") == "Nothing here"
    assert "There is no page at /no/such/page." in page.inner_text("main")
    screenshot(page, "404")

"""Fixtures for the browser tests: a real dev server per example, headless Chromium.

The examples are served by ``microframe --app examples/<name> run`` in a
subprocess, as a user would run them, and driven by Debian's Chromium
through Playwright's Python package. Without ``/usr/bin/chromium`` or
``playwright`` every test here is skipped: ``.ci/system-deps`` installs
Chromium, and the ``test`` extra installs playwright.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from live_server import end_process_group

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long a dev server may take to print its URL, in seconds.
STARTUP_TIMEOUT = 30.0
#: How long a dev server may take to stop after SIGTERM, in seconds.
SHUTDOWN_TIMEOUT = 10.0

_URL_LINE = re.compile(r"Running on (http://\S+)")


def _missing_dependency() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing; run '.ci/system-deps' to install Chromium"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed; install the test extra: pip install -e '.[test]'"
    return None


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    """Skip every browser test when Chromium or Playwright is not installed."""
    reason = _missing_dependency()
    if reason is not None:
        pytest.skip(reason)


def require_example(name: str) -> Path:
    """Return ``examples/<name>``, or skip the test if that example does not exist."""
    folder = EXAMPLES / name
    if not (folder / "app.py").is_file():
        pytest.skip(f"examples/{name}/app.py does not exist (yet)")
    return folder


class DevServer:
    """A ``microframe run`` subprocess serving one example on 127.0.0.1.

    :param folder: the example's folder, for ``--app``.
    :param env: extra environment variables for the server.
    """

    def __init__(self, folder: Path, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.extra_env = env or {}
        self.url = ""
        self.output: list[str] = []
        self._process: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None

    def start(self) -> str:
        """Start the server and return its base URL once it prints it.

        Port 0 lets the server pick a free port and report it, so two
        test runs never race for the same port.

        :raises RuntimeError: the server exited or printed no URL in time.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROFRAME_", "FLASK_"))}
        env.update(MICROFRAME_SKIP_DOTENV="1", PYTHONUNBUFFERED="1", **self.extra_env)
        script = Path(sys.executable).with_name("microframe")
        launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "microframe"]
        command = [
            *launcher, "--app", os.path.relpath(self.folder, REPO),
            "run", "--host", "127.0.0.1", "--port", "0",
        ]
        self._process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group: stop() ends the server's workers with it.
            start_new_session=True,
        )
        # A thread keeps reading the output, so the server never blocks on a
        # full pipe, and the log is there to show when a test fails.
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        while True:
            try:
                line = self._lines.get(timeout=STARTUP_TIMEOUT)
            except queue.Empty:
                raise RuntimeError(self._failure(f"printed no URL in {STARTUP_TIMEOUT:.0f} s")) from None
            if line is None:
                raise RuntimeError(self._failure("exited before printing its URL"))
            match = _URL_LINE.search(line)
            if match:
                self.url = match.group(1)
                return self.url

    def _read_output(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def _failure(self, what: str) -> str:
        log = "".join(self.output) or "(no output)\n"
        return f"'microframe --app {self.folder} run' {what}; its output:\n{log}"

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM), then kill its whole process
        group, so that nothing it started (workers, a reloader's child) is left."""
        process = self._process
        if process is None:
            return
        end_process_group(process, grace=SHUTDOWN_TIMEOUT)
        if self._reader is not None:
            self._reader.join(timeout=SHUTDOWN_TIMEOUT)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """Start examples on real dev servers: ``base_url = serve("blog", env={...})``.

    Every server started is stopped when the test ends, pass or fail.
    """
    servers: list[DevServer] = []

    def start(example: str, env: dict[str, str] | None = None) -> str:
        server = DevServer(require_example(example), env)
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium, shared by the tests of one module."""
    if _missing_dependency() is not None:
        pytest.skip(_missing_dependency() or "")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (its own cookies), closed after the test."""
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot to ``artifacts/screenshots/<test>-<step>.png``."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{test_name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take

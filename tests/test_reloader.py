"""The reloader's file watch, its thread, and the worker loader that survives a broken app."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from microframe import Blueprint, Microframe
from microframe.discovery import SERVED_APP_ENV
from microframe.reloader import (
    RELOADING_ENV,
    FileWatch,
    LoadFailure,
    Reloader,
    load_worker_app,
    watch_for,
)


def touch(path: Path, text: str | None = None) -> None:
    """Write ``text`` (if given) and move the modification time 5 s on."""
    if text is not None:
        path.write_text(text)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))


def test_a_changed_file_is_reported_once(tmp_path: Path) -> None:
    watched = tmp_path / "watched.cfg"
    watched.write_text("a")
    ignored = tmp_path / "ignored.tmp"
    ignored.write_text("a")
    watch = FileWatch(files=[str(watched), str(ignored)], exclude_patterns=["*.tmp"])
    assert watch.files() == {str(watched)}
    assert watch.changed() is None
    touch(watched)
    touch(ignored)
    assert watch.changed() == str(watched)
    assert watch.changed() is None


def test_an_older_time_is_a_change_too(tmp_path: Path) -> None:
    # A file restored from version control may get an older time.
    watched = tmp_path / "app.py"
    watched.write_text("a")
    watch = FileWatch(files=[str(watched)])
    stat = watched.stat()
    os.utime(watched, (stat.st_atime, stat.st_mtime - 100))
    assert watch.changed() == str(watched)


def test_a_named_file_that_appears_is_a_change(tmp_path: Path) -> None:
    later = tmp_path / "later.toml"
    watch = FileWatch(files=[str(later)])
    assert watch.changed() is None
    later.write_text("x")
    assert watch.changed() == str(later)


def test_python_folders_watch_python_files_and_new_ones(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "notes.txt").write_text("")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text("")
    for skipped in ("__pycache__", ".git", "node_modules", "env"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "x.py").write_text("")
    # A virtual environment under the project is not the project's code.
    (tmp_path / "env" / "pyvenv.cfg").write_text("")
    watch = FileWatch(python_folders=[str(tmp_path)])
    assert watch.files() == {str(tmp_path / "app.py"), str(package / "mod.py")}
    # A new module is watched from the next look on, without a reload of its own.
    new = package / "helpers.py"
    new.write_text("")
    touch(package)
    assert watch.changed() is None
    assert str(new) in watch.files()
    touch(new)
    assert watch.changed() == str(new)


def test_python_folders_are_not_entered_far_from_python_files(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    deep = tmp_path / "data" / "raw" / "more"
    deep.mkdir(parents=True)
    (deep / "gen.py").write_text("")
    (tmp_path / "data" / "near.py").write_text("")
    watch = FileWatch(python_folders=[str(tmp_path)])
    # Entered: the root, data (it holds Python), raw (its parent does), more (it does).
    assert {str(tmp_path / "data" / "near.py"), str(deep / "gen.py")} <= watch.files()
    shallow = tmp_path / "assets" / "img" / "x"
    shallow.mkdir(parents=True)
    (shallow / "tool.py").write_text("")
    watch = FileWatch(python_folders=[str(tmp_path)])
    assert str(shallow / "tool.py") not in watch.files()


def test_folders_watch_every_file_minus_excluded(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    (templates / "drafts").mkdir(parents=True)
    (templates / "index.html").write_text("")
    (templates / "drafts" / "wip.html").write_text("")
    watch = FileWatch(folders=[str(templates)], exclude_patterns=["*/drafts"])
    assert watch.files() == {str(templates / "index.html")}
    touch(templates / "drafts" / "wip.html")
    assert watch.changed() is None
    touch(templates / "index.html")
    assert watch.changed() == str(templates / "index.html")


def test_watch_for_an_app(tmp_path: Path) -> None:
    for folder in ("templates", "bp/templates", "extra"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "templates" / "index.html").write_text("")
    (tmp_path / "bp" / "templates" / "part.html").write_text("")
    (tmp_path / "extra" / "data.json").write_text("")
    (tmp_path / "settings.toml").write_text("")
    app = Microframe("watched", root_path=str(tmp_path))
    blueprint = Blueprint("bp", __name__, root_path=str(tmp_path / "bp"), template_folder="templates")
    app.register_blueprint(blueprint)
    watch = watch_for(
        app,
        extra_files=[str(tmp_path / "settings.toml"), str(tmp_path / "extra")],
        exclude_patterns=["*/site-packages/*"],
    )
    files = watch.files()
    assert {
        str(tmp_path / "templates" / "index.html"),
        str(tmp_path / "bp" / "templates" / "part.html"),
        str(tmp_path / "extra" / "data.json"),
        str(tmp_path / "settings.toml"),
    } <= files
    # The loaded modules, this one among them; the standard library is not watched.
    assert os.path.abspath(__file__) in files
    assert os.__file__ not in files
    assert not any("/site-packages/" in path for path in files)


def test_reloader_thread_reports_a_change(tmp_path: Path) -> None:
    watched = tmp_path / "app.py"
    watched.write_text("")
    seen: list[str] = []
    changed = threading.Event()

    def on_change(path: str) -> None:
        seen.append(path)
        changed.set()

    reloader = Reloader(FileWatch(files=[str(watched)]), on_change, interval=0.05)
    reloader.start()
    try:
        touch(watched)
        assert changed.wait(timeout=5)
    finally:
        reloader.stop()
    assert seen == [str(watched)]


# -- the worker loader ------------------------------------------------------------------


@pytest.fixture
def broken_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "broken_app_mod.py"
    source.write_text('from microframe import Microframe\napp = Microframe(__name__)\nx = "v3" +\n')
    monkeypatch.setenv(SERVED_APP_ENV, str(source))
    # Loading puts the module's folder on sys.path; the test gives it back.
    monkeypatch.setattr(sys, "path", list(sys.path))
    return source


def test_a_broken_app_ends_a_worker_not_started_by_the_reloader(
    broken_app: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RELOADING_ENV, raising=False)
    with pytest.raises(Exception, match="SyntaxError was raised"):
        load_worker_app()


@pytest.mark.parametrize("debug", ["1", "0"])
async def test_a_reloaded_worker_serves_the_load_error(
    broken_app: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    debug: str,
) -> None:
    monkeypatch.setenv(RELOADING_ENV, "1")
    monkeypatch.setenv("MICROFRAME_DEBUG", debug)
    served = load_worker_app()
    assert isinstance(served, LoadFailure)
    err = capsys.readouterr().err
    # The error with its file and line, then what happens now.
    assert f'File "{broken_app}", line 3' in err
    assert "SyntaxError" in err
    assert "Error: While importing 'broken_app_mod', SyntaxError was raised" in err
    assert err.rstrip().endswith(" * Serving an error page until the next change.")
    status, headers, body = await call_http(served)
    assert status == 500
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"content-length"] == str(len(body)).encode()
    if debug == "1":
        assert body.startswith(b"The app failed to load; save a fix and reload this page.")
        assert b"line 3" in body and b"SyntaxError" in body
    else:
        assert body == b"Internal Server Error: the app failed to load; the server's output says why.\n"


async def call_http(app: Any) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send)
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


async def test_load_failure_speaks_lifespan_and_refuses_websockets() -> None:
    failure = LoadFailure("report", show=False)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await failure({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]
    sent.clear()
    await failure({"type": "websocket", "path": "/ws"}, receive, send)  # type: ignore[arg-type]
    assert sent == [{"type": "websocket.close", "code": 1011}]


def test_reloader_costs_little_when_idle(tmp_path: Path) -> None:
    for index in range(300):
        (tmp_path / f"mod{index}.py").write_text("")
    watch = FileWatch(python_folders=[str(tmp_path)])
    started = time.process_time()
    for _ in range(20):
        assert watch.changed() is None
    # 20 looks (20 s of watching) at 300 files: well under a second of CPU.
    assert time.process_time() - started < 0.5


def test_a_template_folder_inside_a_python_folder_watches_every_file(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "templates" / "parts").mkdir(parents=True)
    (tmp_path / "templates" / "index.html").write_text("")
    (tmp_path / "templates" / "parts" / "nav.html").write_text("")
    watch = FileWatch(python_folders=[str(tmp_path)], folders=[str(tmp_path / "templates")])
    assert watch.files() == {
        str(tmp_path / "app.py"),
        str(tmp_path / "templates" / "index.html"),
        str(tmp_path / "templates" / "parts" / "nav.html"),
    }

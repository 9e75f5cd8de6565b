"""The documentation cannot rot: every Python sample in docs/ runs, and the docs build.

Each Markdown page under ``docs/`` is one test. Its fenced code blocks are
taken in order, in a fresh temporary folder that is the working directory
and first on ``sys.path``:

- a block after a ``<!-- file: PATH -->`` line is written to ``PATH`` (any
  language; a second block for the same path is appended), so a page can
  build a small project, templates included;
- every other ``python`` block is run, all blocks of a page in one namespace
  so that later blocks build on earlier ones. A block may use top-level
  ``await`` (as in ``python -m asyncio``); the page has one event loop for
  those, and the sync blocks run outside it, as a script would;
- a block after a ``<!-- no-test -->`` line is shown only. Keep those few:
  shell sessions and fragments that need a server or a whole project.

After the blocks, the page's own ``test_*`` functions without parameters are
called, and if the page wrote ``test_*.py`` files, pytest runs them in a
subprocess.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from microframe import flask_compat

DOCS = Path(__file__).resolve().parent.parent / "docs"

_FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<info>[^\n`]*)$")
_FILE_MARKER = re.compile(r"^<!--\s*file:\s*(?P<path>\S+)\s*-->$")
_NO_TEST = re.compile(r"^<!--\s*no-test\s*-->$")

_PYTEST_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@dataclass
class Block:
    """A fenced code block of a page."""

    language: str
    code: str
    line: int
    file: str | None = None
    no_test: bool = False


def extract_blocks(text: str) -> list[Block]:
    """Return the fenced code blocks of Markdown ``text``, with their markers."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    marker = ""
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line.strip()) if not line.startswith("    ") else None
        if match is None:
            if line.strip():
                marker = line.strip()
            index += 1
            continue
        fence = match["fence"]
        info = match["info"].strip()
        language = info.split()[0].strip("{}") if info else ""
        start = index + 1
        index = start
        while index < len(lines) and not lines[index].strip().startswith(fence):
            index += 1
        indent = len(line) - len(line.lstrip())
        code = "\n".join(body[indent:] for body in lines[start:index]) + "\n"
        file_match = _FILE_MARKER.match(marker)
        blocks.append(
            Block(
                language=language,
                code=code,
                line=start,
                file=file_match["path"] if file_match else None,
                no_test=bool(_NO_TEST.match(marker)),
            )
        )
        marker = ""
        index += 1
    return blocks


def _pages() -> list[Path]:
    pages = sorted(path for path in DOCS.rglob("*.md") if "_build" not in path.parts)
    return [DOCS.parent / "README.md", *pages]


def _runs(code: str, namespace: dict[str, Any], loop: asyncio.AbstractEventLoop, name: str) -> None:
    compiled = compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if compiled.co_flags & inspect.CO_COROUTINE:
        loop.run_until_complete(eval(compiled, namespace))
    else:
        exec(compiled, namespace)


def run_page(page: Path, folder: Path) -> None:
    """Run the code of ``page`` in ``folder``; see the module docstring."""
    blocks = extract_blocks(page.read_text(encoding="utf-8"))
    relative = page.relative_to(DOCS.parent)
    namespace: dict[str, Any] = {"__name__": "docs_" + re.sub(r"\W", "_", str(relative))}
    written: set[str] = set()
    loop = asyncio.new_event_loop()
    try:
        for block in blocks:
            if block.no_test:
                continue
            if block.file is not None:
                target = folder / block.file
                target.parent.mkdir(parents=True, exist_ok=True)
                mode = "a" if block.file in written else "w"
                with target.open(mode, encoding="utf-8") as file:
                    file.write(("\n" if mode == "a" else "") + block.code)
                written.add(block.file)
                continue
            if block.language not in ("python", "py", "python3"):
                continue
            try:
                _runs(block.code, namespace, loop, f"{relative}:{block.line}")
            except BaseException as error:
                raise AssertionError(
                    f"The python block at {relative} line {block.line + 1} failed:"
                    f" {error!r}\n\n{block.code}"
                ) from error
        for name, value in list(namespace.items()):
            if (
                name.startswith("test_")
                and inspect.isfunction(value)
                and value.__module__ == namespace["__name__"]
                and not inspect.signature(value).parameters
            ):
                result = value()
                if inspect.isawaitable(result):
                    loop.run_until_complete(result)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    test_files = [name for name in written if Path(name).name.startswith("test_")]
    if test_files:
        if not (folder / "pytest.ini").exists():
            (folder / "pytest.ini").write_text(_PYTEST_INI, encoding="utf-8")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *sorted(test_files)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (
            f"The tests written by {relative} failed:\n{result.stdout}\n{result.stderr}"
        )


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run in ``tmp_path`` (cwd and ``sys.path``); forget modules imported from it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(sys.modules)
    monkeypatch.delenv("MICROFRAME_APP", raising=False)
    try:
        yield tmp_path
    finally:
        # The porting page installs the flask shim; put the real Flask back.
        flask_compat.uninstall()
        # A page's modules (app.py, ...) must not shadow those of other tests.
        for name, module in list(sys.modules.items()):
            if (getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
                del sys.modules[name]
        sys.modules.update(before)


@pytest.mark.parametrize("page", _pages(), ids=lambda page: str(page.relative_to(DOCS.parent)))
def test_page_samples_run(page: Path, isolated: Path) -> None:
    run_page(page, isolated)


def test_every_page_is_found() -> None:
    names = {str(page.relative_to(DOCS.parent)) for page in _pages()}
    assert {"README.md", "docs/index.md", "docs/quickstart.md", "docs/tutorial.md"} <= names


def test_readme_tests_run_with_the_pytest_settings_it_shows(tmp_path: Path) -> None:
    # The README's async test needs pytest-asyncio's auto mode; the page's
    # own run (test_page_samples_run) uses the pytest.ini the README shows,
    # so the settings must be shown, and be enough, not only be ours.
    blocks = extract_blocks((DOCS.parent / "README.md").read_text(encoding="utf-8"))
    files = {block.file: block.code for block in blocks if block.file is not None}
    assert "asyncio_mode = auto" in files.get("pytest.ini", ""), "the README must show asyncio_mode = auto"
    assert "async def test_" in files.get("test_app.py", "")
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "test_app.py"],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_extract_blocks_markers() -> None:
    text = (
        "Intro\n\n<!-- no-test -->\n```python\nraise SystemExit\n```\n\n"
        "<!-- file: pkg/mod.py -->\n```python\nX = 1\n```\n\n```sh\nls\n```\n"
        "- item\n\n  ```python\n  y = 2\n  ```\n"
    )
    blocks = extract_blocks(text)
    assert [(b.language, b.no_test, b.file) for b in blocks] == [
        ("python", True, None),
        ("python", False, "pkg/mod.py"),
        ("sh", False, None),
        ("python", False, None),
    ]
    assert blocks[3].code == "y = 2\n"


def test_docs_build_without_warnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    result = subprocess.run(
        [
            sys.executable, "-m", "sphinx", "-q", "-W", "--keep-going", "-b", "html",
            "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "html" / "index.html").exists()

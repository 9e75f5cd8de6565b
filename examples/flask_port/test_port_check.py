"""Prove that the sync app and its tests differ from a Flask app only in imports.

The sync app's files are copied with their ``microframe`` import lines turned
into ``flask`` ones, and nothing else touched; the copied suite must then
pass on the real Flask, as the original passes on microframe.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SYNC_APP = Path(__file__).parent / "sync_app"

_IMPORT = re.compile(r"^(from|import) microframe\b")


def to_flask(source: str) -> str:
    """Rewrite the ``microframe`` import lines of ``source`` for Flask."""
    lines = []
    for line in source.splitlines(keepends=True):
        if _IMPORT.match(line):
            line = line.replace("Microframe as Flask", "Flask")
            line = line.replace("microframe", "flask", 1)
        lines.append(line)
    return "".join(lines)


def test_only_import_lines_change() -> None:
    source = (SYNC_APP / "app.py").read_text()
    changed = [
        (old, new)
        for old, new in zip(source.splitlines(), to_flask(source).splitlines(), strict=True)
        if old != new
    ]
    assert changed == [
        ("from microframe import (", "from flask import ("),
        ("from microframe import Microframe as Flask", "from flask import Flask"),
    ]


def test_same_suite_passes_on_flask(tmp_path: Path) -> None:
    pytest.importorskip("flask")
    package = tmp_path / "notes_on_flask"
    shutil.copytree(SYNC_APP, package, ignore=shutil.ignore_patterns("__pycache__"))
    for path in package.glob("*.py"):
        path.write_text(to_flask(path.read_text()))
        code = "\n".join(
            line for line in path.read_text().splitlines() if line.startswith(("from ", "import "))
        )
        assert "microframe" not in code
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings =\n    error\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio",
         str(package)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    assert "failed" not in result.stdout

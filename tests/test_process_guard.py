"""The suite's session-end check (tests/conftest.py): a test run that leaves a
process running fails, names the process, and kills it."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from live_server import run_in_own_group

HERE = Path(__file__).parent

LEAKY_TESTS = r'''
import subprocess


def test_starts_a_server_in_its_own_group_and_forgets_it():
    subprocess.Popen(["sleep", "300"], start_new_session=True)


def test_kills_a_parent_whose_child_lives_on():
    parent = subprocess.Popen(
        ["sh", "-c", "sleep 301 & echo started; wait"], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout.readline() == "started\n"
    parent.kill()
    parent.wait()
    parent.stdout.close()
'''

TIDY_TESTS = r'''
import os
import signal
import subprocess


def test_ends_the_whole_group():
    parent = subprocess.Popen(
        ["sh", "-c", "sleep 302 & echo started; wait"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout.readline() == "started\n"
    os.killpg(parent.pid, signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
'''


def run_suite(tmp_path: Path, tests: str) -> tuple[int, str]:
    """Run ``tests`` with a copy of the real conftest, in a pytest of its own."""
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_sample.py").write_text(tests)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    done = run_in_own_group(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_sample.py"],
        120,
        cwd=tmp_path,
    )
    return done.returncode, done.stdout + done.stderr


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_run_that_leaves_processes_fails_and_kills_them(tmp_path: Path) -> None:
    code, output = run_suite(tmp_path, LEAKY_TESTS)
    assert code == 1, output
    assert "2 passed" in output
    assert "processes the tests left running (now killed)" in output
    # Both the forgotten server and the orphan of a killed parent (re-parented
    # to pytest, a child subreaper) are named.
    leftovers = dict(re.findall(r"^(\d+): (.*)$", output, re.MULTILINE))
    assert sorted(leftovers.values()) == ["sleep 300", "sleep 301"], output
    deadline = time.monotonic() + 5
    while any(alive(int(pid)) for pid in leftovers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(int(pid)) for pid in leftovers)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_run_that_ends_its_process_groups_passes(tmp_path: Path) -> None:
    code, output = run_suite(tmp_path, TIDY_TESTS)
    assert code == 0, output
    assert "left running" not in output

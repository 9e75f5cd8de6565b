"""A short run of ``benchmarks/load.py --smoke``: the load script still works."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from live_server import run_in_own_group

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_load_smoke(tmp_path: Path) -> None:
    figures = tmp_path / "load.json"
    # In a group of its own that ends with it: the script starts a server.
    done = run_in_own_group([sys.executable, str(SCRIPT), "--smoke", "--json", str(figures)], 120)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(figures.read_text())
    assert report["mixed"]["requests"] > 0
    assert report["mixed"]["non_2xx"] == 0
    assert report["rss_late"][0] >= 2_000
    if report["websocket_clients"]:
        assert report["websocket_lost"] == 0
        assert report["websocket_messages"] == report["websocket_clients"] * 10

"""The benchmark suite still runs and every app still answers correctly.

Only correctness is checked here (a few hundred requests); figures are never
asserted. Quart and Starlette are optional (the ``bench`` extra): their apps
are skipped when not installed; microframe's always runs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # ``benchmarks`` lives beside the package, not inside it
    sys.path.insert(0, ROOT)

from benchmarks import broadcast, e2e, inprocess  # noqa: E402
from benchmarks.apps import FRAMEWORKS, REQUIRES  # noqa: E402
from benchmarks.cases import CASES, CASES_BY_NAME  # noqa: E402


def _installed(framework: str) -> bool:
    package = REQUIRES[framework]
    if framework == "starlette" and importlib.util.find_spec("python_multipart") is None:
        return False  # Starlette parses forms with python-multipart
    return package is None or importlib.util.find_spec(package) is not None


@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_every_endpoint_answers_correctly(framework: str) -> None:
    """Each app answers every benchmark request as the checks expect."""
    if framework != "microframe" and not _installed(framework):
        pytest.skip(f"{framework} is not installed (pip install -e '.[bench]')")
    skipped = await inprocess.smoke([framework], CASES, repeat=4)
    assert framework in skipped
    allowed = {"websocket"} if framework == "microframe" else set()
    assert set(skipped[framework]) <= allowed


async def test_timing_and_table() -> None:
    """A tiny timed run of microframe produces a table with one row per case."""
    cases = [CASES_BY_NAME["text"], CASES_BY_NAME["404"]]
    results = await inprocess.bench(["microframe"], cases, rounds=1, round_time=0.005)
    text = inprocess.table(results, cases)
    assert "| text |" in text and "| 404 |" in text
    assert all(series.per_request_us for series in results["microframe"].values())


def test_wrk_output_is_parsed() -> None:
    """The end-to-end runner reads requests per second and latency percentiles from wrk."""
    output = """Running 10s test @ http://127.0.0.1:8001/text
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     9.10ms    1.02ms  30.00ms   90.00%
  Latency Distribution
     50%    8.95ms
     75%    9.20ms
     90%    9.80ms
     99%    1.20s
  54321 requests in 10.00s, 7.00MB read
Requests/sec:   5432.10
Transfer/sec:    700.00KB
"""
    result = e2e.parse_wrk(output)
    assert result.requests_per_second == pytest.approx(5432.10)
    assert result.p50_ms == pytest.approx(8.95)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.errors == 0


async def test_broadcast_fan_out_smoke() -> None:
    """The fan-out benchmark delivers every message to every subscriber (it
    exits when one is missing), on memory and, with redis-server, on Redis."""
    with_redis = shutil.which("redis-server") is not None
    results = await broadcast.run(
        subscribers=20, processes=2, messages=50, paced=10, rate=200, redis=with_redis
    )
    backends = ["memory", "redis"] if with_redis else ["memory"]
    assert [(r.backend, r.phase) for r in results] == [(b, p) for b in backends for p in ("burst", "200/s")]
    assert all(r.deliveries_per_second > 0 and r.p99_ms >= r.p50_ms for r in results)
    assert "| memory | burst | 20 (1) | 50 |" in broadcast.table(results)

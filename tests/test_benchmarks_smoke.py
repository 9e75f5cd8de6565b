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
from pathlib import Path
from typing import Any

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # ``benchmarks`` lives beside the package, not inside it
    sys.path.insert(0, ROOT)

from benchmarks import broadcast, e2e, inprocess, servers  # noqa: E402
from benchmarks.apps import FRAMEWORKS, REQUIRES  # noqa: E402
from benchmarks.cases import CASES, CASES_BY_NAME, Answer, Case, session_cookie  # noqa: E402


def _installed(framework: str) -> bool:
    package = REQUIRES[framework]
    if framework == "starlette" and importlib.util.find_spec("python_multipart") is None:
        return False  # Starlette parses forms with python-multipart
    return package is None or importlib.util.find_spec(package) is not None


@pytest.mark.parametrize("receive_waits", [False, True], ids=["body-at-hand", "receive-waits"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
async def test_every_endpoint_answers_correctly(framework: str, receive_waits: bool) -> None:
    """Each app answers every benchmark request as the checks expect, with
    the body at hand and with a receive() that waits (as Granian's does)."""
    if framework != "microframe" and not _installed(framework):
        pytest.skip(f"{framework} is not installed (pip install -e '.[bench]')")
    skipped = await inprocess.smoke([framework], CASES, repeat=4, receive_waits=receive_waits)
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


def _ask_flask(client: Any, case: Case, cookie: str | None) -> Answer:
    headers = {"Content-Type": case.content_type} if case.content_type else {}
    if cookie:
        headers["Cookie"] = cookie
    response = client.open(case.url_path, method=case.method, data=case.body, headers=headers)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    return Answer(response.status_code, raw, response.get_data())


def test_flask_baseline_answers_every_http_case() -> None:
    """The Flask app gunicorn serves in the per-server benchmark gives the same answers."""
    from benchmarks.apps.flask_app import app

    client = app.test_client(use_cookies=False)
    for case in CASES:
        if case.websocket:
            continue
        cookie = session_cookie(_ask_flask(client, case, None)) if case.session else None
        case.check(_ask_flask(client, case, cookie))


def test_wrk_script_makes_the_case_request(tmp_path: Path) -> None:
    """A POST route is loaded with a Lua script that sends its method, body and type; a GET needs none."""
    echo = CASES_BY_NAME["json-echo"]
    path = servers.wrk_script(echo, str(tmp_path))
    assert path is not None
    script = Path(path).read_text()
    assert 'wrk.method = "POST"' in script
    assert f"wrk.body = [==[{echo.body.decode()}]==]" in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script
    assert servers.wrk_script(CASES_BY_NAME["tuple"], str(tmp_path)) is None


def test_server_commands_pin_one_worker() -> None:
    """Every server runs one worker of the chosen app, bound to 127.0.0.1."""
    for server in servers.SERVERS:
        framework = "flask" if server.interface == "wsgi" else "microframe"
        command = servers.Target(framework, server).command(8123)
        joined = " ".join(command)
        assert f"benchmarks.apps.{framework}" in joined, joined
        assert "127.0.0.1" in joined and "8123" in joined, joined
        assert "--workers 1" in joined, joined
        if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
            assert command[:3] == ["taskset", "-c", e2e.SERVER_CPU]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)")
def test_quick_run_per_server(capsys: pytest.CaptureFixture[str]) -> None:
    """``--quick`` serves microframe under a fast server and Flask under gunicorn,
    checks every answer, loads each route for a second and prints the tables."""
    wanted = {"uvicorn-fast", "gunicorn-gthread"}
    if any(not servers._importable(m) for s in servers.SERVERS if s.name in wanted for m in s.needs):
        pytest.skip("needs uvicorn[standard] and gunicorn (pip install -e '.[test]')")
    results = servers.main(
        ["--quick", "--servers", ",".join(sorted(wanted)), "--frameworks", "microframe,flask",
         "--routes", "tuple,json-echo"]
    )  # fmt: skip
    assert not results.failures
    assert sorted(f"{t.framework} {t.server.name}" for t in results.runs) == [
        "flask gunicorn-gthread", "microframe uvicorn-fast"
    ]  # fmt: skip
    for runs in results.runs.values():
        assert [len(runs[route].results) for route in ("tuple", "json-echo")] == [1, 1]
        assert all(run.requests_per_second > 0 for r in runs.values() for run in r.results)
    out = capsys.readouterr().out
    assert "**Uvicorn (uvloop + httptools)**" in out and "**gunicorn (gthread, 4 threads)**" in out
    assert "| server (tuple) | flask | microframe |" in out
    assert "load average" in out

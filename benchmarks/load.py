"""Load test: a mixed microframe app under Hypercorn, driven by wrk.

Three figures, all on 127.0.0.1:

1. 512 concurrent connections for 30 s on a mix of JSON, a template, a
   session and a streamed response: requests per second, latency, non-2xx
   answers and socket errors (from wrk).
2. Memory: the server's RSS after the first 10,000 requests and after
   200,000 (wrk keeps running until the server has counted that many).
3. 1,000 concurrent WebSocket connections each echoing 10 messages, with
   none lost (skipped if the app has no ``websocket`` route support).

::

    python benchmarks/load.py            # the full run (about two minutes)
    python benchmarks/load.py --smoke    # a few seconds, small numbers
    python benchmarks/load.py --json out.json

wrk is installed with ``apt-get install -y wrk`` when missing and running as
root; otherwise the run is skipped with a message (exit status 0). The exit
status is 1 when a request failed, a socket error occurred (other than wrk's
own timeouts) or a WebSocket message was lost.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

APP_SOURCE = textwrap.dedent(
    '''
    import os
    from microframe import Microframe, render_template_string, request, session, websocket

    app = Microframe(__name__)
    app.config["SECRET_KEY"] = "load test"
    COUNT = [0]
    PAGE = """<ul>{% for item in items %}<li>{{ item.name }}: {{ item.price }}</li>{% endfor %}</ul>"""


    @app.before_request
    async def count():
        COUNT[0] += 1


    @app.get("/json")
    async def json_view():
        return {"items": [{"id": i, "name": f"item {i}"} for i in range(10)]}


    @app.get("/template")
    async def template():
        items = [{"name": f"item {i}", "price": i * 3} for i in range(20)]
        return await render_template_string(PAGE, items=items)


    @app.get("/session")
    async def session_view():
        session["visits"] = session.get("visits", 0) + 1
        return {"visits": session["visits"]}


    @app.get("/stream")
    async def stream():
        async def gen():
            for i in range(5):
                yield f"chunk {i}\\n"
        return gen(), {"Content-Type": "text/plain"}


    @app.websocket("/ws")
    async def echo():
        while True:
            await websocket.send(await websocket.receive())


    @app.get("/_stats")
    async def stats():
        with open("/proc/self/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        return {"requests": COUNT[0], "rss_kib": rss}
    '''
)

LUA_SCRIPT = textwrap.dedent(
    """
    local paths = {"/json", "/template", "/session", "/stream"}
    local i = 0
    request = function()
      i = i + 1
      return wrk.format("GET", paths[(i % #paths) + 1], {["Cookie"] = "%s"})
    end
    """
)


@dataclass
class WrkResult:
    """What wrk reported for one run."""

    connections: int
    seconds: float
    requests: int = 0
    requests_per_second: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)


@dataclass
class Report:
    """Every figure of a load run."""

    machine: str
    smoke: bool
    mixed: WrkResult | None = None
    extra_runs: list[WrkResult] = field(default_factory=list)
    rss_early: tuple[int, int] | None = None  # (requests counted, RSS KiB)
    rss_late: tuple[int, int] | None = None
    websocket_clients: int = 0
    websocket_messages: int = 0
    websocket_lost: int = 0
    websocket_failed_clients: int = 0
    websocket_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def ensure_wrk() -> str | None:
    """Return the path of wrk, installing it as root if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        print("wrk is not installed and this is not root: skipping the load test.")
        print("Install it with: sudo apt-get install -y wrk")
        return None
    print("wrk is missing; installing it with apt-get ...")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        print("apt-get could not install wrk: skipping the load test.")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Server:
    """Hypercorn serving the load app, in a process group that stop() ends."""

    def __init__(self, folder: Path) -> None:
        (folder / "load_app.py").write_text(APP_SOURCE)
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
        self.log = open(folder / "server.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hypercorn",
                "load_app:app",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "2048",
            ],
            cwd=folder,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # A group of its own: stop() ends Hypercorn's worker with it.
            start_new_session=True,
        )
        self.folder = folder
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError((folder / "server.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("the server did not start within 15 s")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def stats(self) -> tuple[int, int]:
        _, _, body = self.get("/_stats")
        data = json.loads(body)
        return int(data["requests"]), int(data["rss_kib"])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of the group: a worker of a killed parent
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=5)
        self.log.close()


_NUMBER = r"([\d.]+)(us|ms|s)"


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(wrk: str, url: str, script: Path, connections: int, seconds: float) -> WrkResult:
    """Run wrk and parse its report."""
    threads = min(2, connections)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    result = WrkResult(connections=connections, seconds=seconds)
    if match := re.search(r"(\d+) requests in", output):
        result.requests = int(match.group(1))
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        result.requests_per_second = float(match.group(1))
    if match := re.search(r"\s50%\s+" + _NUMBER, output):
        result.latency_p50_ms = _ms(*match.groups())
    if match := re.search(r"\s99%\s+" + _NUMBER, output):
        result.latency_p99_ms = _ms(*match.groups())
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        result.non_2xx = int(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        names = ("connect", "read", "write", "timeout")
        result.socket_errors = dict(zip(names, map(int, match.groups()), strict=True))
    if not result.requests:
        raise RuntimeError(f"wrk reported nothing:\n{output}")
    return result


class Sampler(threading.Thread):
    """Polls the server's request count and RSS while wrk runs."""

    def __init__(self, server: Server, early: int) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.early = early
        self.first_past_early: tuple[int, int] | None = None
        self.latest: tuple[int, int] = (0, 0)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            try:
                sample = self.server.stats()
            except OSError:
                continue
            self.latest = sample
            if self.first_past_early is None and sample[0] >= self.early:
                self.first_past_early = sample


async def websocket_echo(port: int, clients: int, messages: int) -> tuple[int, int, int]:
    """Open ``clients`` connections at once, each echoing ``messages``; return
    (messages echoed, messages lost, clients that failed)."""
    import websockets

    ready = asyncio.Event()
    opened = 0

    async def client(index: int) -> tuple[int, int]:
        nonlocal opened
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=30) as ws:
            opened += 1
            if opened == clients:
                ready.set()
            # All connections are open before any message is sent.
            await asyncio.wait_for(ready.wait(), 60)
            echoed = 0
            for n in range(messages):
                text = f"client {index} message {n}"
                await ws.send(text)
                if await asyncio.wait_for(ws.recv(), 30) == text:
                    echoed += 1
            return echoed, messages - echoed

    results = await asyncio.gather(*(client(i) for i in range(clients)), return_exceptions=True)
    echoed = sum(r[0] for r in results if isinstance(r, tuple))
    lost = sum(r[1] for r in results if isinstance(r, tuple))
    failed = sum(1 for r in results if not isinstance(r, tuple))
    lost += failed * messages
    return echoed, lost, failed


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def run(args: argparse.Namespace, wrk: str) -> Report:
    report = Report(machine=machine(), smoke=args.smoke)
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder))
        try:
            status, headers, _ = server.get("/session")
            cookie = headers.get("set-cookie", "").split(";")[0]
            if status != 200 or not cookie:
                raise RuntimeError("could not get a session cookie from /session")
            script = Path(folder) / "mixed.lua"
            script.write_text(LUA_SCRIPT.replace("%s", cookie))
            url = f"http://127.0.0.1:{server.port}"

            sampler = Sampler(server, args.early)
            sampler.start()
            report.mixed = run_wrk(wrk, url, script, args.connections, args.duration)
            # More runs until the server has counted the late figure's requests.
            deadline = time.monotonic() + args.max_extra_seconds
            while sampler.latest[0] < args.late and time.monotonic() < deadline:
                report.extra_runs.append(
                    run_wrk(wrk, url, script, args.extra_connections, args.extra_duration)
                )
            sampler.done.set()
            sampler.join()
            report.rss_early = sampler.first_past_early
            report.rss_late = server.stats()

            if args.ws_clients:
                started = time.monotonic()
                echoed, lost, failed = asyncio.run(
                    websocket_echo(server.port, args.ws_clients, args.ws_messages)
                )
                report.websocket_seconds = round(time.monotonic() - started, 2)
                report.websocket_clients = args.ws_clients
                report.websocket_messages = echoed
                report.websocket_lost = lost
                report.websocket_failed_clients = failed
            server_log = (Path(folder) / "server.log").read_text(errors="replace")
            if "Traceback" in server_log:
                report.problems.append("the server logged a traceback:\n" + server_log[-2000:])
        finally:
            server.stop()
    for result in [report.mixed, *report.extra_runs]:
        assert result is not None
        if result.non_2xx:
            report.problems.append(f"{result.non_2xx} non-2xx answers at {result.connections} connections")
        errors = {k: v for k, v in result.socket_errors.items() if k != "timeout" and v}
        if errors:
            report.problems.append(f"socket errors at {result.connections} connections: {errors}")
    if report.websocket_lost:
        report.problems.append(f"{report.websocket_lost} WebSocket messages lost")
    if report.rss_late is not None and report.rss_late[0] < args.late:
        report.problems.append(f"only {report.rss_late[0]} requests counted, wanted {args.late}")
    return report


def show(report: Report) -> None:
    print(f"machine: {report.machine}{' (smoke run)' if report.smoke else ''}")
    mixed = report.mixed
    assert mixed is not None
    print(
        f"mixed load, {mixed.connections} connections, {mixed.seconds:g} s: {mixed.requests} requests,"
        f" {mixed.requests_per_second:.0f} req/s, p50 {mixed.latency_p50_ms:.1f} ms,"
        f" p99 {mixed.latency_p99_ms:.1f} ms, non-2xx {mixed.non_2xx},"
        f" socket errors {mixed.socket_errors or 'none'}"
    )
    for extra in report.extra_runs:
        print(
            f"  more load, {extra.connections} connections: {extra.requests} requests,"
            f" non-2xx {extra.non_2xx}, socket errors {extra.socket_errors or 'none'}"
        )
    if report.rss_early and report.rss_late:
        early, late = report.rss_early, report.rss_late
        print(
            f"RSS: {early[1] / 1024:.1f} MiB after {early[0]} requests,"
            f" {late[1] / 1024:.1f} MiB after {late[0]} requests ({(late[1] - early[1]) / 1024:+.1f} MiB)"
        )
    if report.websocket_clients:
        print(
            f"websockets: {report.websocket_clients} concurrent clients x 10 messages:"
            f" {report.websocket_messages} echoed, {report.websocket_lost} lost,"
            f" {report.websocket_failed_clients} clients failed, in {report.websocket_seconds} s"
        )
    for problem in report.problems:
        print(f"PROBLEM: {problem}")
    print("OK" if not report.problems else "FAILED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a few seconds with small numbers")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.connections, args.duration = 32, 2.0
        args.extra_connections, args.extra_duration, args.max_extra_seconds = 32, 1.0, 10.0
        args.early, args.late = 500, 2_000
        args.ws_clients, args.ws_messages = 50, 10
    else:
        args.connections, args.duration = 512, 30.0
        args.extra_connections, args.extra_duration, args.max_extra_seconds = 128, 10.0, 300.0
        args.early, args.late = 10_000, 200_000
        args.ws_clients, args.ws_messages = 1_000, 10
    wrk = ensure_wrk()
    if wrk is None:
        return 0
    report = run(args, wrk)
    show(report)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""End to end: each benchmark app under a real server, loaded with wrk.

Each app of :mod:`benchmarks.apps` is served by Hypercorn on 127.0.0.1 with
one worker, and microframe's also by Uvicorn for reference. The server is
pinned to CPU 0 and wrk to CPU 1 (``taskset``), so they do not compete.
Every answer is checked once, then each endpoint (plain text, JSON, template)
is loaded for ``--duration`` seconds per run, the servers interleaved
(A B C D, A B C D, ...). Requests per second and the p50 and p99 latencies
(``wrk --latency``) are the medians over the rounds.

::

    python -m benchmarks.e2e                      # 10 s per run, 2 rounds
    python -m benchmarks.e2e --duration 3 --rounds 1

wrk is installed from Debian (``apt-get install -y wrk``) when it is missing
and the script runs as root.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

from .apps import FRAMEWORKS, REQUIRES, app_path
from .cases import CASES, Answer, Case

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
E2E_CASES: tuple[Case, ...] = tuple(case for case in CASES if case.e2e)
SERVER_CPU = "0"
CLIENT_CPU = "1"


@dataclass(frozen=True)
class Target:
    """One app under one server."""

    framework: str
    server: str  # "hypercorn" or "uvicorn"

    @property
    def label(self) -> str:
        """The name in tables: the framework, plus the server when not Hypercorn."""
        return self.framework if self.server == "hypercorn" else f"{self.framework} (uvicorn)"


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


@dataclass
class Runs:
    """The wrk results of one target on one case, over the rounds."""

    results: list[WrkResult] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        """The median of ``attribute`` over the rounds."""
        return statistics.median(getattr(result, attribute) for result in self.results)


# -- wrk ----------------------------------------------------------------------------

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _to_ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if match is None:
        raise ValueError(f"unreadable wrk latency {value!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Read requests per second, p50, p99 and the error count from ``wrk --latency`` output."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rps is None or p50 is None or p99 is None:
        raise ValueError(f"unreadable wrk output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(group) for group in socket_errors.groups())
    return WrkResult(float(rps.group(1)), _to_ms(p50.group(1)), _to_ms(p99.group(1)), errors)


def ensure_wrk() -> str:
    """Return wrk's path, installing it from Debian when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit("wrk is not installed: install it (apt-get install wrk) and run again.")
    print("installing wrk: apt-get install -y wrk", file=sys.stderr)
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


def pinned(cpu: str, command: list[str]) -> list[str]:
    """Prefix ``command`` with ``taskset -c cpu`` when there are two CPUs to pin to."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", cpu, *command]
    return command


def run_wrk(wrk: str, url: str, duration: float, connections: int, script: str | None = None) -> WrkResult:
    """Load ``url`` with one wrk thread for ``duration`` seconds.

    :param script: a wrk Lua script (for a request other than a plain GET).
    """
    options = ["-s", script] if script else []
    command = pinned(
        CLIENT_CPU,
        [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", *options, url],
    )
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 60)
    return parse_wrk(done.stdout)


# -- servers ------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command(target: Target, port: int, app: str | None = None) -> list[str]:
    """The command serving ``target`` on ``port`` with one worker, pinned to the server CPU."""
    app = app or app_path(target.framework)
    if target.server == "uvicorn":
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            app,
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "hypercorn",
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "WARNING",
            app,
        ]
    return pinned(SERVER_CPU, command)


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something accepts connections on ``port``; fail if the server died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"no server listening on port {port} after {timeout:.0f}s")


@contextmanager
def serve(command: list[str], port: int, cwd: str = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server for the duration of the block; stop it (and its workers) afterwards."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    # A session of its own, so the server and the workers it forks stop together.
    process = subprocess.Popen(command, cwd=cwd, env=env, start_new_session=True)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def fetch(port: int, case: Case) -> Answer:
    """Make ``case``'s request over HTTP and return the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": case.content_type} if case.content_type else {}
        connection.request(case.method, case.url_path, body=case.body or None, headers=headers)
        response = connection.getresponse()
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.getheaders()]
        return Answer(response.status, raw_headers, response.read())
    finally:
        connection.close()


# -- the run --------------------------------------------------------------------------


def targets(frameworks: Sequence[str], uvicorn: bool) -> list[Target]:
    """The targets to run: installed frameworks under Hypercorn, microframe under Uvicorn."""
    import importlib.util

    chosen: list[Target] = []
    for name in frameworks:
        package = REQUIRES[name]
        if name != "microframe" and package and importlib.util.find_spec(package) is None:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        chosen.append(Target(name, "hypercorn"))
    if uvicorn and "microframe" in frameworks:
        if importlib.util.find_spec("uvicorn") is None:
            print("uvicorn: not installed, microframe under Uvicorn skipped", file=sys.stderr)
        else:
            chosen.append(Target("microframe", "uvicorn"))
    return chosen


def bench(
    chosen: Sequence[Target],
    cases: Sequence[Case],
    duration: float,
    warmup: float,
    rounds: int,
    connections: int,
) -> dict[Target, dict[str, Runs]]:
    """Serve every target at once (idle servers cost nothing) and load them in turn."""
    wrk = ensure_wrk()
    results: dict[Target, dict[str, Runs]] = {t: {c.name: Runs() for c in cases} for t in chosen}
    with ExitStack() as stack:
        ports: dict[Target, int] = {}
        for target in chosen:
            port = free_port()
            stack.enter_context(serve(server_command(target, port), port))
            ports[target] = port
            for case in cases:
                case.check(fetch(port, case))
            print(f"{target.label}: serving on {port}, answers checked", file=sys.stderr)
        if warmup > 0:
            for case in cases:
                for target in chosen:
                    run_wrk(wrk, f"http://127.0.0.1:{ports[target]}{case.url_path}", warmup, connections)
        for round_number in range(rounds):
            for case in cases:
                order = list(chosen) if round_number % 2 == 0 else list(reversed(chosen))
                for target in order:
                    url = f"http://127.0.0.1:{ports[target]}{case.url_path}"
                    result = run_wrk(wrk, url, duration, connections)
                    if result.errors:
                        raise RuntimeError(f"{target.label} {case.name}: {result.errors} errors under load")
                    results[target][case.name].results.append(result)
                    print(
                        f"round {round_number + 1} {case.name:<9} {target.label:<22}"
                        f" {result.requests_per_second:9.0f} req/s  p50 {result.p50_ms:.2f} ms"
                        f"  p99 {result.p99_ms:.2f} ms",
                        file=sys.stderr,
                    )
            # The answers are checked again after the load, not only before.
            for target in chosen:
                for case in cases:
                    case.check(fetch(ports[target], case))
    return results


def table(results: dict[Target, dict[str, Runs]], cases: Sequence[Case]) -> str:
    """Format the medians and microframe's throughput ratios as Markdown tables."""
    lines = [
        "| endpoint | server | req/s | p50 ms | p99 ms |",
        "|---|---|---:|---:|---:|",
    ]
    for case in cases:
        for target, runs_by_case in results.items():
            runs = runs_by_case[case.name]
            lines.append(
                f"| {case.name} | {target.label} | {runs.median('requests_per_second'):.0f}"
                f" | {runs.median('p50_ms'):.2f} | {runs.median('p99_ms'):.2f} |"
            )
    by_label = {target.label: runs for target, runs in results.items()}
    others = [name for name in ("raw", "quart", "starlette") if name in by_label]
    if "microframe" in by_label and others:
        lines += [
            "",
            "microframe's requests per second divided by the other's (above 1: microframe serves more):",
            "",
        ]
        lines.append("| endpoint | " + " | ".join(f"mf/{name}" for name in others) + " |")
        lines.append("|---|" + "---:|" * len(others))
        for case in cases:
            mine = by_label["microframe"][case.name].median("requests_per_second")
            cells = [
                f"{mine / by_label[name][case.name].median('requests_per_second'):.2f}" for name in others
            ]
            lines.append(f"| {case.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.e2e", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of warm-up per server and endpoint (2)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="runs per server and endpoint (2)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (50)")
    parser.add_argument(
        "--frameworks", default=",".join(FRAMEWORKS), help="comma-separated, from: " + ", ".join(FRAMEWORKS)
    )
    parser.add_argument("--no-uvicorn", action="store_true", help="skip microframe under Uvicorn")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the end-to-end benchmark and print its tables."""
    args = parse_args(argv)
    frameworks = [name.strip() for name in args.frameworks.split(",") if name.strip()]
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        raise SystemExit(f"unknown frameworks: {', '.join(unknown)}")
    chosen = targets(frameworks, not args.no_uvicorn)
    results = bench(chosen, E2E_CASES, args.duration, args.warmup, args.rounds, args.connections)
    print(table(results, E2E_CASES))


if __name__ == "__main__":
    main()

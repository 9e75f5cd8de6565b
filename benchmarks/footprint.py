"""Footprint: the hello example's memory under Hypercorn, and import times.

::

    python -m benchmarks.footprint                 # both
    python -m benchmarks.footprint --no-rss        # import times only

Memory: ``examples/hello/app.py`` is served by Hypercorn (one worker, pinned
to CPU 0) and the resident set size (RSS) of the worker process is read from
``/proc`` after 1,000 and after 100,000 keep-alive requests made by a small
HTTP client loop pinned to CPU 1, alternating ``/`` and ``/hello/<name>``.

Import time: ``python -X importtime -c "import <package>"``, the cumulative
time of the package's own line (everything it imports), median of several
runs, for microframe and the frameworks it is compared with.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

from .e2e import CLIENT_CPU, ROOT, Target, free_port, serve, server_command

HELLO_FOLDER = os.path.join(ROOT, "examples", "hello")


def rss_kib(pid: int) -> int:
    """Return the resident set size of process ``pid`` in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def worker_pid(supervisor: int) -> int:
    """Return the pid of the Hypercorn worker forked by ``supervisor`` (the one serving)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except OSError:
            continue
        if parent == supervisor and b"spawn_main" in command:
            return int(entry)
    return supervisor  # no worker process: the server serves itself


def request_loop(port: int, count: int) -> None:
    """Make ``count`` keep-alive requests, alternating the hello example's two routes."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for number in range(count):
            connection.request("GET", "/" if number % 2 else "/hello/Ada")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"request {number} answered {response.status}")
    finally:
        connection.close()


def measure_rss(checkpoints: Sequence[int]) -> list[tuple[int, int]]:
    """Serve the hello example; return ``(requests made, worker RSS KiB)`` at each checkpoint."""
    port = free_port()
    command = server_command(Target("microframe", "hypercorn"), port, app="app:app")
    readings: list[tuple[int, int]] = []
    affinity = os.sched_getaffinity(0)
    if (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {int(CLIENT_CPU)})
    try:
        with serve(command, port, cwd=HELLO_FOLDER) as process:
            worker = worker_pid(process.pid)
            readings.append((0, rss_kib(worker)))
            made = 0
            for checkpoint in checkpoints:
                request_loop(port, checkpoint - made)
                made = checkpoint
                readings.append((made, rss_kib(worker)))
    finally:
        os.sched_setaffinity(0, affinity)
    return readings


def import_time_us(package: str, runs: int = 7) -> tuple[float, int]:
    """Return the median cumulative import time of ``package`` (µs) and the modules it loads."""
    pattern = re.compile(rf"^import time:\s+\d+ \|\s+(\d+) \| {re.escape(package)}$")
    times: list[int] = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {package}"],
            capture_output=True,
            text=True,
            check=True,
        )
        found = [int(m.group(1)) for line in done.stderr.splitlines() if (m := pattern.match(line))]
        if not found:
            raise RuntimeError(f"no import time line for {package}")
        times.append(found[-1])
    count = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; before = set(sys.modules); import {package}; print(len(set(sys.modules) - before))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return statistics.median(times), int(count.stdout)


def main(argv: Sequence[str] | None = None) -> None:
    """Measure and print the footprint tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.footprint", description=__doc__)
    parser.add_argument("--no-rss", action="store_true", help="skip the memory measurement")
    parser.add_argument("--no-import", action="store_true", help="skip the import times")
    parser.add_argument(
        "--packages", default="microframe,quart,starlette.applications", help="modules whose import is timed"
    )
    args = parser.parse_args(argv)
    if not args.no_rss:
        print("| requests served | worker RSS MiB |\n|---:|---:|")
        for made, kib in measure_rss([1_000, 100_000]):
            print(f"| {made:,} | {kib / 1024:.1f} |")
        print()
    if not args.no_import:
        print("| package | import time ms | modules loaded |\n|---|---:|---:|")
        for package in args.packages.split(","):
            try:
                microseconds, modules = import_time_us(package.strip())
            except subprocess.CalledProcessError:
                print(f"| {package} | not installed | - |")
                continue
            print(f"| {package} | {microseconds / 1000:.0f} | {modules} |")


if __name__ == "__main__":
    main()

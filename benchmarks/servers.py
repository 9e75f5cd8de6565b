"""End to end, per server: every ASGI framework under every production server.

For each ASGI server (Hypercorn with asyncio and with uvloop, Uvicorn with h11
and with uvloop + httptools, Granian) the raw ASGI app, Starlette, microframe
and Quart run side by side; Flask runs under gunicorn (sync and gthread
workers) as the baseline of not porting at all. The routes are the ones Flask
code is written with: a text tuple with a header dict, ``jsonify``, a
template page and a JSON echo (POST).

Each server runs one worker pinned to CPU 0 (``taskset -c 0``); wrk runs one
thread with ``--connections`` connections on CPU 1. All servers start first
(an idle server costs nothing) and every answer is checked; then each round
loads every route on every server in turn, in one order and then the
reverse; after the load every answer is checked again. A non-2xx answer or a
socket error under load fails the run. Requests per second and the p99
latency are the medians over the rounds.

::

    python -m benchmarks.servers                  # 5 s per run, 2 rounds (about 16 minutes)
    python -m benchmarks.servers --quick          # 1 s, 1 round, no warm-up: checks the set-up
    python -m benchmarks.servers --servers granian --frameworks microframe,starlette,quart
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

from .apps import FRAMEWORKS, REQUIRES, app_path
from .cases import CASES_BY_NAME, Case
from .e2e import SERVER_CPU, Runs, WrkResult, ensure_wrk, fetch, free_port, pinned, run_wrk, serve

#: The routes loaded, by case name (see :mod:`benchmarks.cases`).
ROUTES: tuple[str, ...] = ("tuple", "jsonify", "template", "json-echo")
#: The WSGI baseline, run only under the WSGI servers.
WSGI_FRAMEWORKS: tuple[str, ...] = ("flask",)
#: The ASGI frameworks in table order: the floor, the toolkit, us, the async Flask.
ASGI_ORDER: tuple[str, ...] = ("raw", "starlette", "microframe", "quart")


@dataclass(frozen=True)
class Server:
    """A way to serve an app: a server and its settings, one worker.

    :param name: the name on the command line.
    :param title: the name in tables.
    :param interface: ``"asgi"`` or ``"wsgi"``: which apps it serves.
    :param needs: modules that must be importable for it to run.
    :param command: the command serving ``module:app`` on a port (unpinned).
    """

    name: str
    title: str
    interface: str
    needs: tuple[str, ...]
    command: Callable[[str, int], list[str]]


def _hypercorn(worker_class: str) -> Callable[[str, int], list[str]]:
    def command(app: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "hypercorn", "--workers", "1", "--worker-class", worker_class,
            "--bind", f"127.0.0.1:{port}", "--log-level", "WARNING", app,
        ]  # fmt: skip

    return command


def _uvicorn(loop: str, http: str) -> Callable[[str, int], list[str]]:
    def command(app: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", "--workers", "1", "--loop", loop, "--http", http,
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning", app,
        ]  # fmt: skip

    return command


def _granian(app: str, port: int) -> list[str]:
    # Granian's default loop ("auto") is uvloop when it is installed, as it is
    # with the [granian] and [uvicorn] extras; one worker, one runtime thread.
    return [
        sys.executable, "-m", "granian", "--interface", "asgi", "--workers", "1",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", app,
    ]  # fmt: skip


def _gunicorn(worker_class: str, threads: int) -> Callable[[str, int], list[str]]:
    def command(app: str, port: int) -> list[str]:
        return [
            sys.executable, "-m", "gunicorn", "--workers", "1", "--worker-class", worker_class,
            "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app,
        ]  # fmt: skip

    return command


SERVERS: tuple[Server, ...] = (
    Server("hypercorn", "Hypercorn (asyncio)", "asgi", ("hypercorn",), _hypercorn("asyncio")),
    Server("hypercorn-uvloop", "Hypercorn (uvloop)", "asgi", ("hypercorn", "uvloop"), _hypercorn("uvloop")),
    Server("uvicorn", "Uvicorn (h11)", "asgi", ("uvicorn",), _uvicorn("asyncio", "h11")),
    Server(
        "uvicorn-fast",
        "Uvicorn (uvloop + httptools)",
        "asgi",
        ("uvicorn", "uvloop", "httptools"),
        _uvicorn("uvloop", "httptools"),
    ),
    Server("granian", "Granian", "asgi", ("granian",), _granian),
    Server("gunicorn-sync", "gunicorn (sync)", "wsgi", ("gunicorn",), _gunicorn("sync", 1)),
    # gthread: gunicorn's threaded worker, with keep-alive; 4 threads for one core.
    Server(
        "gunicorn-gthread", "gunicorn (gthread, 4 threads)", "wsgi", ("gunicorn",), _gunicorn("gthread", 4)
    ),
)
SERVERS_BY_NAME: dict[str, Server] = {server.name: server for server in SERVERS}


@dataclass(frozen=True)
class Target:
    """One framework's app under one server."""

    framework: str
    server: Server

    @property
    def label(self) -> str:
        """The name in progress lines."""
        return f"{self.framework} on {self.server.name}"

    def command(self, port: int) -> list[str]:
        """The pinned command serving this target on ``port``."""
        return pinned(SERVER_CPU, self.server.command(app_path(self.framework), port))


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def targets(servers: Sequence[Server], frameworks: Sequence[str]) -> list[Target]:
    """Every chosen framework under every chosen server that can serve it.

    A server or framework that is not installed is skipped with a note;
    microframe never is.
    """
    chosen: list[Target] = []
    for server in servers:
        missing = [module for module in server.needs if not _importable(module)]
        if missing:
            print(f"{server.name}: {', '.join(missing)} not installed, skipped", file=sys.stderr)
            continue
        kind = WSGI_FRAMEWORKS if server.interface == "wsgi" else ASGI_ORDER
        for framework in kind:
            if framework not in frameworks:
                continue
            package = REQUIRES[framework]
            if framework != "microframe" and package and not _importable(package):
                print(f"{framework}: not installed, skipped on {server.name}", file=sys.stderr)
                continue
            chosen.append(Target(framework, server))
    return chosen


def wrk_script(case: Case, folder: str) -> str | None:
    """Write the wrk Lua script that makes ``case``'s request, if not a plain GET."""
    if case.method == "GET" and not case.body:
        return None
    # A Lua long string needs no escaping as long as its closing bracket is absent.
    assert b"]==]" not in case.body
    lines = [f'wrk.method = "{case.method}"', f"wrk.body = [==[{case.body.decode()}]==]"]
    if case.content_type:
        lines.append(f'wrk.headers["Content-Type"] = "{case.content_type}"')
    path = os.path.join(folder, f"{case.name}.lua")
    with open(path, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return path


def check_all(ports: dict[Target, int], cases: Sequence[Case]) -> dict[tuple[Target, str], str]:
    """Make every case's request to every target once and check the answer.

    :returns: what was wrong, by target and case name (empty when all is well).
    """
    failures: dict[tuple[Target, str], str] = {}
    for target, port in ports.items():
        for case in cases:
            try:
                case.check(fetch(port, case))
            except (AssertionError, OSError) as error:
                failures[target, case.name] = str(error)
                print(f"{target.label}: WRONG ANSWER: {error}", file=sys.stderr)
    return failures


@dataclass
class Results:
    """What a run measured, and the routes that answered wrongly before the load."""

    runs: dict[Target, dict[str, Runs]]
    #: Wrong answers found before the load, by target and case name: those
    #: are not loaded (a fast error page is no result) and the run fails.
    failures: dict[tuple[Target, str], str] = field(default_factory=dict)


def bench(
    chosen: Sequence[Target],
    cases: Sequence[Case],
    duration: float,
    warmup: float,
    rounds: int,
    connections: int,
) -> Results:
    """Serve every target at once and load each route on each target in turn."""
    wrk = ensure_wrk()
    results = Results({target: {case.name: Runs() for case in cases} for target in chosen})
    with ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-servers-"))
        scripts = {case.name: wrk_script(case, folder) for case in cases}
        ports: dict[Target, int] = {}
        for target in chosen:
            port = free_port()
            stack.enter_context(serve(target.command(port), port))
            ports[target] = port
        results.failures = check_all(ports, cases)
        print(f"{len(ports)} servers up, answers checked", file=sys.stderr)
        loaded = [
            (case, target)
            for case in cases
            for target in chosen
            if (target, case.name) not in results.failures
        ]

        def load(target: Target, case: Case, seconds: float) -> WrkResult:
            url = f"http://127.0.0.1:{ports[target]}{case.url_path}"
            result = run_wrk(wrk, url, seconds, connections, scripts[case.name])
            if result.errors or result.requests_per_second <= 0:
                raise RuntimeError(f"{target.label} {case.name}: {result.errors} errors under load")
            return result

        if warmup > 0:
            for case, target in loaded:
                load(target, case, warmup)
        for round_number in range(rounds):
            for case, target in loaded if round_number % 2 == 0 else reversed(loaded):
                result = load(target, case, duration)
                results.runs[target][case.name].results.append(result)
                print(
                    f"round {round_number + 1} {case.name:<9} {target.label:<32}"
                    f" {result.requests_per_second:9.0f} req/s  p99 {result.p99_ms:7.2f} ms",
                    file=sys.stderr,
                )
        # The answers are checked again after the load, not only before: a
        # route that answered right before and wrong now fails the run at once.
        after = check_all(ports, cases)
        broken = sorted(f"{t.label} {name}" for t, name in set(after) - set(results.failures))
        if broken:
            raise RuntimeError("wrong answers after the load: " + ", ".join(broken))
    return results


def _rps(results: Results, target: Target, case: str) -> float | None:
    runs = results.runs[target][case]
    return runs.median("requests_per_second") if runs.results else None


def _cell(results: Results, target: Target, case: str) -> str:
    if (target, case) in results.failures:
        return "wrong answer"
    runs = results.runs[target][case]
    return f"{runs.median('requests_per_second'):,.0f} ({runs.median('p99_ms'):.1f})"


def _ratio(results: Results, server: Server, case: str, other: str) -> str:
    by_framework = {t.framework: t for t in results.runs if t.server == server}
    ours = _rps(results, by_framework["microframe"], case)
    theirs = _rps(results, by_framework[other], case)
    return f"{ours / theirs:.2f}" if ours and theirs else ""


def table(results: Results, cases: Sequence[Case]) -> str:
    """One Markdown table per server: req/s (p99 ms) of each framework on each
    route, and microframe's throughput over Starlette's and Quart's."""
    sections: list[str] = []
    for server in dict.fromkeys(target.server for target in results.runs):
        served = [t for t in results.runs if t.server == server]
        frameworks = [t.framework for t in served]
        others = [
            name for name in ("starlette", "quart") if "microframe" in frameworks and name in frameworks
        ]
        lines = [
            f"**{server.title}**: requests per second (p99 latency, ms)",
            "",
            "| route | " + " | ".join([*frameworks, *(f"mf/{name}" for name in others)]) + " |",
            "|---|" + "---:|" * (len(frameworks) + len(others)),
        ]
        for case in cases:
            cells = [_cell(results, target, case.name) for target in served]
            cells += [_ratio(results, server, case.name, other) for other in others]
            lines.append(f"| {case.name} | " + " | ".join(cells) + " |")
        sections.append("\n".join(lines))
    return "\n\n".join(sections)


def summary(results: Results, case: str) -> str:
    """The overview: requests per second of each framework under each server on one route."""
    columns = [name for name in ("flask", *ASGI_ORDER) if any(t.framework == name for t in results.runs)]
    lines = [
        f"| server ({case}) | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for server in dict.fromkeys(target.server for target in results.runs):
        cells = []
        for name in columns:
            target = Target(name, server)
            if target not in results.runs:
                cells.append("")
            elif (target, case) in results.failures:
                cells.append("wrong answer")
            else:
                cells.append(f"{_rps(results, target, case):,.0f}")
        lines.append(f"| {server.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def environment() -> str:
    """The versions and the machine's load, for the record that goes with the figures."""
    names = (
        "microframe-asgi", "starlette", "quart", "flask", "hypercorn", "uvicorn", "uvloop",
        "httptools", "granian", "gunicorn",
    )  # fmt: skip
    versions = ", ".join(f"{name} {_version(name)}" for name in names)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"Python {platform.python_version()}; {versions}; load average {load}"


def _names(value: str, known: Sequence[str], what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.servers", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (5)")
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of warm-up per target and route (1)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="runs per target and route (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--quick", action="store_true", help="1 s runs, 1 round, no warm-up: checks the set-up, not the speed"
    )
    parser.add_argument("--servers", default=",".join(SERVERS_BY_NAME), help="comma-separated server names")
    all_frameworks = (*WSGI_FRAMEWORKS, *FRAMEWORKS)
    parser.add_argument("--frameworks", default=",".join(all_frameworks), help="comma-separated")
    parser.add_argument("--routes", default=",".join(ROUTES), help="comma-separated case names")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds, args.warmup = 1.0, 1, 0.0
    args.servers = [SERVERS_BY_NAME[name] for name in _names(args.servers, list(SERVERS_BY_NAME), "servers")]
    args.frameworks = _names(args.frameworks, all_frameworks, "frameworks")
    args.routes = [CASES_BY_NAME[name] for name in _names(args.routes, list(CASES_BY_NAME), "routes")]
    return args


def main(argv: Sequence[str] | None = None) -> Results:
    """Run the benchmark and print its tables; exit with status 1 after a wrong answer."""
    args = parse_args(argv)
    chosen = targets(args.servers, args.frameworks)
    if not chosen:
        raise SystemExit("nothing to run: no chosen server and framework is installed")
    before = environment()
    started = time.monotonic()
    results = bench(chosen, args.routes, args.duration, args.warmup, args.rounds, args.connections)
    load_after = environment().split("; ")[-1]
    print(f"Before: {before}\n\nAfter {time.monotonic() - started:.0f} s: {load_after}\n")
    print(table(results, args.routes))
    for case in args.routes:
        if case.name in ("tuple", "jsonify"):
            print("\n" + summary(results, case.name))
    if results.failures:
        print("\nWrong answers (not loaded):", file=sys.stderr)
        for (target, case_name), error in results.failures.items():
            print(f"- {target.label} {case_name}: {error}", file=sys.stderr)
        raise SystemExit(1)
    return results


if __name__ == "__main__":
    main()

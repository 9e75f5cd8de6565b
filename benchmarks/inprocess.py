"""In-process ASGI overhead: microframe against raw ASGI, Quart and Starlette.

Each app of :mod:`benchmarks.apps` is called directly with a synthetic scope,
receive and send (no network, no server). Every answer is checked; then the
median time per request over several rounds is reported, with the ratio of
microframe's time to raw ASGI's, Quart's and Starlette's. Frameworks are
interleaved within each round so that machine drift hits them all alike.

::

    python -m benchmarks.inprocess                    # full run (about a minute)
    python -m benchmarks.inprocess --smoke            # a few hundred requests, checks only
    python -m benchmarks.inprocess --cases text,json  # some endpoints only
    python -m benchmarks.inprocess --profile template,session   # cProfile microframe
    python -m benchmarks.inprocess --receive-waits    # receive() waits, as Granian's does

Quart and Starlette come from the ``bench`` extra (Starlette's form parsing
also needs ``python-multipart``); a framework that is not installed is skipped,
except microframe, which always runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib.util
import os
import pstats
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"

from .apps import FRAMEWORKS, REQUIRES, load
from .cases import CASES, CASES_BY_NAME, Answer, Case, CheckFailed, session_cookie

ASGIApp = Callable[..., Awaitable[None]]
Call = Callable[[], Awaitable[Answer]]
_BASE_HEADERS: list[tuple[bytes, bytes]] = [
    (b"host", b"localhost:8000"),
    (b"user-agent", b"microframe-bench/1.0"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
]

# -- driving an ASGI app ------------------------------------------------------------


def http_scope(case: Case, cookie: str | None) -> dict[str, Any]:
    """Return the ASGI HTTP scope of ``case``'s request, as a server would build it."""
    headers = list(_BASE_HEADERS)
    if case.body:
        headers.append((b"content-length", str(len(case.body)).encode()))
    if case.content_type:
        headers.append((b"content-type", case.content_type.encode()))
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": case.method,
        "scheme": "http",
        "path": case.path,
        "raw_path": case.path.encode(),
        "query_string": case.query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
        "state": {},
    }


class _Later:
    """What ``receive()`` returns for a message a server has yet to hand
    over: an awaitable, not a coroutine, that resolves on the next turn of
    the event loop, as Granian's ``receive()`` does for every message."""

    __slots__ = ("_message",)

    def __init__(self, message: dict[str, Any]) -> None:
        self._message = message

    def __await__(self) -> Generator[Any, None, dict[str, Any]]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        loop.call_soon(_resolve, future, self._message)
        return (yield from future)


def _resolve(future: asyncio.Future[dict[str, Any]], message: dict[str, Any]) -> None:
    if not future.done():  # not cancelled by a framework's disconnect listener
        future.set_result(message)


async def _at_hand(message: dict[str, Any]) -> dict[str, Any]:
    return message


async def call_http(
    app: ASGIApp, scope: dict[str, Any], body: bytes, *, receive_waits: bool = False
) -> Answer:
    """Make one HTTP request to ``app``.

    ``receive`` returns the body once, then waits for the response to finish
    and reports a disconnect, as a server does when the client goes away.
    With ``receive_waits`` the body is handed over on the next turn of the
    event loop (see :class:`_Later`) rather than at once.
    """
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []
    body_sent = False
    finished = asyncio.Event()

    async def disconnect() -> dict[str, Any]:
        await finished.wait()
        return {"type": "http.disconnect"}

    def receive() -> Awaitable[dict[str, Any]]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            message = {"type": "http.request", "body": body, "more_body": False}
            return _Later(message) if receive_waits else _at_hand(message)
        return disconnect()

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    # Copies, because apps may add to the scope (Starlette adds routing keys).
    await app(dict(scope, headers=list(scope["headers"]), state={}), receive, send)
    # One turn of the event loop, as between requests under a server: without
    # it, cancelled timers (``asyncio.timeout``) are never purged and pile up.
    await asyncio.sleep(0)
    return Answer(status, headers, b"".join(parts))


async def call_websocket(app: ASGIApp, scope: dict[str, Any], text: str) -> Answer:
    """Open a WebSocket, send ``text``, wait for the echo, then close.

    The answer's status is 101 once accepted (403 if refused) and its body the
    text echoed back.
    """
    accepted = asyncio.Event()
    echoed = asyncio.Event()
    status = 0
    parts: list[bytes] = []
    step = 0

    async def receive() -> dict[str, Any]:
        nonlocal step
        step += 1
        if step == 1:
            return {"type": "websocket.connect"}
        if step == 2:
            await accepted.wait()
            return {"type": "websocket.receive", "text": text}
        await echoed.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        kind = message["type"]
        if kind == "websocket.accept":
            status = 101
            accepted.set()
        elif kind == "websocket.send":
            data = message.get("text")
            parts.append(data.encode() if data is not None else message.get("bytes") or b"")
            echoed.set()
        elif kind in ("websocket.close", "websocket.http.response.start"):
            if status != 101:
                status = 403
            accepted.set()
            echoed.set()

    await app(dict(scope, state={}), receive, send)
    await asyncio.sleep(0)  # a turn of the event loop, as in call_http
    return Answer(status, [], b"".join(parts))


def websocket_scope(case: Case) -> dict[str, Any]:
    """Return the ASGI WebSocket scope of ``case``."""
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": case.path,
        "raw_path": case.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [*_BASE_HEADERS, (b"upgrade", b"websocket"), (b"connection", b"Upgrade")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "extensions": {},
        "state": {},
    }


async def make_call(app: ASGIApp, case: Case, receive_waits: bool = False) -> Call:
    """Return a function making ``case``'s request to ``app``.

    For a session case a first request gets the app's cookie (a session with
    ``count`` 1), and every later request carries it. ``receive_waits``: see
    :func:`call_http`.
    """
    if case.websocket:
        ws_scope = websocket_scope(case)
        from .cases import WS_MESSAGE

        return lambda: call_websocket(app, ws_scope, WS_MESSAGE)
    cookie: str | None = None
    if case.session:
        first = await call_http(app, http_scope(case, None), case.body)
        cookie = session_cookie(first)
        if cookie is None:
            raise CheckFailed(f"{case.name}: the first request set no session cookie")
    scope = http_scope(case, cookie)
    return lambda: call_http(app, scope, case.body, receive_waits=receive_waits)


def supports(framework: str, app: Any, case: Case) -> bool:
    """Whether ``framework``'s app can serve ``case`` here.

    microframe's websockets may not exist yet; Starlette parses forms only
    with python-multipart installed.
    """
    if case.websocket and framework == "microframe":
        return hasattr(app, "websocket")
    if case.name == "form" and framework == "starlette":
        return importlib.util.find_spec("python_multipart") is not None  # Starlette's form parser
    return True


def load_apps(names: Sequence[str]) -> dict[str, ASGIApp]:
    """Import the apps of ``names``, skipping frameworks that are not installed.

    microframe is never skipped: an error importing it is raised.
    """
    apps: dict[str, ASGIApp] = {}
    for name in names:
        package = REQUIRES[name]
        if name != "microframe" and package and importlib.util.find_spec(package) is None:
            print(f"{name}: not installed, skipped", file=sys.stderr)
            continue
        try:
            apps[name] = load(name)
        except ImportError as error:
            if name == "microframe":
                raise
            print(f"{name}: cannot be imported ({error}), skipped", file=sys.stderr)
    return apps


# -- smoke run ------------------------------------------------------------------------


async def smoke(
    frameworks: Sequence[str] = FRAMEWORKS,
    cases: Sequence[Case] = CASES,
    repeat: int = 8,
    receive_waits: bool = False,
) -> dict[str, list[str]]:
    """Make every request ``repeat`` times to every app and check every answer.

    :returns: for each framework run, the cases it skipped (unsupported).
    :raises CheckFailed: on the first wrong answer.
    """
    apps = load_apps(frameworks)
    skipped: dict[str, list[str]] = {}
    for name, app in apps.items():
        skipped[name] = []
        for case in cases:
            if not supports(name, app, case):
                skipped[name].append(case.name)
                continue
            call = await make_call(app, case, receive_waits)
            for _ in range(repeat):
                try:
                    case.check(await call())
                except CheckFailed as error:
                    raise CheckFailed(f"{name} {error}") from None
    return skipped


# -- timing -------------------------------------------------------------------------


@dataclass
class Series:
    """The timings of one framework on one case."""

    count: int = 0
    per_request_us: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median time per request over the rounds, in microseconds."""
        return statistics.median(self.per_request_us)


async def timed(call: Call, case: Case, count: int) -> float:
    """Make ``count`` requests; return microseconds per request.

    The first and last answers are checked; the rest are not, to keep the
    check's cost out of the figure.
    """
    gc.collect()
    case.check(await call())
    start = time.perf_counter()
    for _ in range(count):
        answer = await call()
    elapsed = time.perf_counter() - start
    case.check(answer)
    return elapsed / count * 1e6


async def calibrate(call: Call, case: Case, round_time: float) -> int:
    """Warm ``call`` up (caches, compiled templates) and pick a count lasting ``round_time``."""
    for _ in range(20):
        case.check(await call())
    count, elapsed = 0, 0.0
    start = time.perf_counter()
    while elapsed < round_time / 2 or count < 50:
        await call()
        count += 1
        elapsed = time.perf_counter() - start
    return max(50, int(round_time / (elapsed / count)))


async def bench(
    frameworks: Sequence[str],
    cases: Sequence[Case],
    rounds: int,
    round_time: float,
    receive_waits: bool = False,
) -> dict[str, dict[str, Series]]:
    """Time every framework on every case; frameworks are interleaved within a round."""
    apps = load_apps(frameworks)
    calls: dict[tuple[str, str], Call] = {}
    results: dict[str, dict[str, Series]] = {name: {} for name in apps}
    for case in cases:
        for name, app in apps.items():
            if not supports(name, app, case):
                continue
            call = calls[name, case.name] = await make_call(app, case, receive_waits)
            series = results[name][case.name] = Series()
            series.count = await calibrate(call, case, round_time)
    for round_number in range(rounds):
        for case in cases:
            # Alternate the order too, so no framework always runs right after another.
            names = list(apps) if round_number % 2 == 0 else list(reversed(apps))
            for name in names:
                if (name, case.name) in calls:
                    series = results[name][case.name]
                    series.per_request_us.append(await timed(calls[name, case.name], case, series.count))
        print(f"round {round_number + 1}/{rounds} done", file=sys.stderr)
    return results


def table(results: dict[str, dict[str, Series]], cases: Sequence[Case]) -> str:
    """Format the medians and microframe's ratios as a Markdown table."""
    names = list(results)
    others = [name for name in ("raw", "quart", "starlette") if name in results and "microframe" in results]
    head = ["endpoint", *(f"{name} µs" for name in names), *(f"mf/{other}" for other in others)]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---:" if i else "---" for i in range(len(head))) + "|",
    ]
    for case in cases:
        cells = [case.name]
        medians: dict[str, float] = {}
        for name in names:
            series = results[name].get(case.name)
            if series is None or not series.per_request_us:
                cells.append("skipped")
                continue
            medians[name] = series.median
            cells.append(f"{series.median:.1f}")
        for other in others:
            if "microframe" in medians and other in medians:
                cells.append(f"{medians['microframe'] / medians[other]:.2f}")
            else:
                cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# -- profiling ------------------------------------------------------------------------


def _where(entry: tuple[str, int, str]) -> str:
    filename, line, function = entry
    for marker in ("site-packages" + os.sep, "lib" + os.sep + "python3."):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if filename.startswith(root):
            filename = os.path.relpath(filename, root)
    return f"{function} ({filename}:{line})"


async def profile(framework: str, case: Case, count: int, top: int) -> str:
    """Profile ``count`` requests of ``case`` with cProfile; return the top functions.

    Two lists: by own time (where the time is spent) and, for the framework's
    own functions, by cumulative time (which steps cost most).
    """
    app = load_apps([framework])[framework]
    call = await make_call(app, case)
    for _ in range(50):
        case.check(await call())
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        await call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw_stats: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw_stats.values())
    by_own = sorted(raw_stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    package = framework if framework != "raw" else "benchmarks"
    own_code = [
        item
        for item in raw_stats.items()
        if f"{os.sep}{package}{os.sep}" in item[0][0] or item[0][0].startswith(package + os.sep)
    ]
    by_cumulative = sorted(own_code, key=lambda item: item[1][3], reverse=True)[:top]
    lines = [
        f"## {framework} {case.name}: {count} requests, {total / count * 1e6:.1f} µs each under the profiler",
        "",
        "By own time:",
    ]
    lines.extend(f"  {entry[2] / total:6.1%}  {_where(key)}" for key, entry in by_own)
    lines.append(f"{framework}'s functions by cumulative time:")
    lines.extend(f"  {entry[3] / total:6.1%}  {_where(key)}" for key, entry in by_cumulative)
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------


def _names(value: str, known: Sequence[str], what: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.inprocess", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--smoke", action="store_true", help="a few hundred requests, checks only")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds; the median is reported (5)")
    parser.add_argument(
        "--round-time", type=float, default=0.2, help="seconds per framework, case and round (0.2)"
    )
    parser.add_argument(
        "--frameworks",
        type=lambda v: _names(v, FRAMEWORKS, "framework"),
        default=list(FRAMEWORKS),
        help="comma-separated, from: " + ", ".join(FRAMEWORKS),
    )
    parser.add_argument(
        "--cases",
        type=lambda v: _names(v, list(CASES_BY_NAME), "case"),
        default=[case.name for case in CASES],
        help="comma-separated, from: " + ", ".join(CASES_BY_NAME),
    )
    parser.add_argument(
        "--profile",
        type=lambda v: _names(v, list(CASES_BY_NAME), "case"),
        metavar="CASES",
        help="profile these cases with cProfile instead of timing ('all' is not accepted; list them)",
    )
    parser.add_argument("--profile-framework", default="microframe", choices=FRAMEWORKS)
    parser.add_argument("--profile-count", type=int, default=3000, help="requests per profile (3000)")
    parser.add_argument("--top", type=int, default=12, help="functions listed per profile (12)")
    parser.add_argument(
        "--receive-waits",
        action="store_true",
        help="receive() hands the body over on the next turn of the event loop, as Granian's does",
    )
    return parser.parse_args(argv)


async def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark, the smoke checks or the profiles the command line asks for."""
    args = parse_args(argv)
    cases = [CASES_BY_NAME[name] for name in args.cases]
    if args.profile:
        for name in args.profile:
            print(await profile(args.profile_framework, CASES_BY_NAME[name], args.profile_count, args.top))
            print()
        return
    if args.smoke:
        skipped = await smoke(args.frameworks, cases, receive_waits=args.receive_waits)
        for name, missing in skipped.items():
            note = f" (skipped: {', '.join(missing)})" if missing else ""
            print(f"{name}: {len(cases) - len(missing)} endpoints checked{note}")
        return
    results = await bench(args.frameworks, cases, args.rounds, args.round_time, args.receive_waits)
    print(table(results, cases))
    for name, series_by_case in results.items():
        missing = [case.name for case in cases if case.name not in series_by_case]
        if missing:
            print(f"\n{name} skipped: {', '.join(missing)} (not supported yet)")


if __name__ == "__main__":
    asyncio.run(main())

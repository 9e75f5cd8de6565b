"""Every example in the README's table runs as the README says:
``microframe --app examples/NAME run``, from the repository's root.

Each is served by a real ``microframe run`` process, in a process group of
its own that is killed whole at the end, and answers a request.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 20.0

#: For each example: a path to request, and text the answer must hold.
CHECKS = {
    "hello": ("/", "Hello, World!"),
    "blog": ("/", "Microblog"),
    "api": ("/api/v1/items", '"items"'),
    "chat": ("/", "data-ws-url="),
    "sse": ("/", "data-events="),
    "flask_port": ("/", "Notes"),
    "deploy": ("/healthz", "ok"),
}


def readme_examples() -> list[str]:
    """The example names in the README's table (rows starting ``| `name` |``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.partition("## Examples")[2].partition("\n## ")[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_the_readme_promises_what_is_tested() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").partition("## Examples")[2]
    assert "Each runs with `microframe --app examples/NAME run`" in " ".join(section.split())
    folders = {path.parent.name for path in (ROOT / "examples").glob("*/README.md")}
    folders |= {path.parent.name for path in (ROOT / "examples").glob("*/app.py")}
    assert sorted(readme_examples()) == sorted(folders) == sorted(CHECKS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by the test; each one's whole process group is killed after."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        yield processes
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


@pytest.mark.parametrize("name", readme_examples())
def test_example_runs_as_the_readme_says(
    name: str, started: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROFRAME_", "FLASK_"))}
    # The examples with a database make it here, not in the checkout.
    env.update(
        MICROFRAME_SKIP_DOTENV="1",
        MICROFRAME_DATABASE=str(tmp_path / "example.sqlite"),
        PROXY_HOPS="0",
    )
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "microframe", "--app", f"examples/{name}", "run", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started.append(process)
    path, expected = CHECKS[name]
    deadline = time.monotonic() + STARTUP_SECONDS
    answer: tuple[int, str] | None = None
    while answer is None and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"'microframe --app examples/{name} run' exited:\n{log.read_text()}")
        try:
            answer = get(port, path)
        except OSError:
            time.sleep(0.1)
    assert answer is not None, f"no answer within {STARTUP_SECONDS}s:\n{log.read_text()}"
    status, body = answer
    assert status == 200, body[:500]
    assert expected in body
    assert "Traceback" not in log.read_text()

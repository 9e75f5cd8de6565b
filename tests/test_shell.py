"""``microframe shell``: Python's console with top-level ``await``, in the app context."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from live_server import end_process_group

from microframe import Microframe, request
from microframe.shell import AWAIT_HINT, AsyncConsole

APP_SOURCE = """
from microframe import Microframe, request

app = Microframe(__name__)

@app.get("/")
async def index():
    return "home"

@app.post("/echo")
def echo():
    return {"got": request.get_json()}
"""


@pytest.fixture
def shell_app(app: Microframe, monkeypatch: pytest.MonkeyPatch) -> Microframe:
    # The plain console, whatever is installed; no startup file of the user's.
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.delenv("PYTHONSTARTUP", raising=False)

    @app.get("/")
    async def index() -> str:
        return "home"

    @app.shell_context_processor
    def names() -> dict[str, Any]:
        return {"request": request}

    return app


def run_shell(app: Microframe, lines: str) -> str:
    result = app.test_cli_runner().invoke(args=["shell"], input=textwrap.dedent(lines))
    assert result.exit_code == 0, result.output
    return result.output


def test_lines_may_await(shell_app: Microframe) -> None:
    output = run_shell(
        shell_app,
        """
        client = app.test_client()
        response = await client.get("/")
        print("status", response.status_code, await response.get_data(as_text=True))
        print("sync", client.get("/").text)
        """,
    )
    assert AWAIT_HINT in output
    assert "status 200 home" in output
    assert "sync home" in output


def test_lines_share_one_context(shell_app: Microframe) -> None:
    # Pushed on a sync line, used on an awaiting one, popped on a sync one.
    output = run_shell(
        shell_app,
        """
        ctx = app.test_request_context("/?q=shared", data=b"body")
        ctx.push()
        print("awaited", request.args["q"], await request.get_data(as_text=True))
        g.seen = request.path
        ctx.pop()
        print("app context kept", g.get("seen"), app.name)
        """,
    )
    assert "awaited shared body" in output
    assert f"app context kept / {shell_app.name}" in output


def test_errors_show_the_typed_code_and_the_shell_goes_on(shell_app: Microframe) -> None:
    output = run_shell(
        shell_app,
        """
        async def boom():
            raise ValueError("inner")

        await boom()
        1 / 0
        print("still", "here")
        """,
    )
    first, _, rest = output.partition("ValueError: inner")
    assert 'File "<console>", line 2, in boom' in first
    traceback_text = first[first.index("Traceback") :]
    assert "asyncio" not in traceback_text and "shell.py" not in traceback_text
    assert "ZeroDivisionError: division by zero" in rest
    assert "still here" in rest


def test_console_loop_is_kept_between_lines() -> None:
    console = AsyncConsole({})
    try:
        for line in (
            "import asyncio",
            "queue = asyncio.Queue()",
            "await queue.put(1)",
            "loop = asyncio.get_running_loop()",
            "value = await queue.get()",
            "same = loop is asyncio.get_running_loop()",
        ):
            assert console.push(line) is False
        assert console.locals["value"] == 1
        # The queue made on one line is used on the next: one loop throughout.
        assert console.push("assert same and loop.is_running()") is False
    finally:
        console.close()


def test_ctrl_c_cancels_the_awaited_line_in_a_real_shell(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP_SOURCE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROFRAME_", "FLASK_", "PYTHON"))}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "microframe", "shell"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        assert process.stdin is not None
        process.stdin.write('import asyncio\nr = await app.test_client().post("/echo", json=[1])\n')
        process.stdin.write("print('echoed', await r.get_json())\n")
        process.stdin.write("print('sleeping'); await asyncio.sleep(60)\n")
        process.stdin.flush()
        deadline = time.monotonic() + 20
        while not any("sleeping" in line for line in seen) and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line)
        assert any("sleeping" in line for line in seen), "".join(seen)
        process.send_signal(signal.SIGINT)
        process.stdin.write("print('after', 'interrupt')\n")
        process.stdin.close()
        assert process.wait(timeout=20) == 0
        reader.join(timeout=5)
        while not lines.empty():
            line = lines.get_nowait()
            if line is not None:
                seen.append(line)
    finally:
        if process.stdin is not None and not process.stdin.closed:
            process.stdin.close()
        end_process_group(process)
        reader.join(timeout=5)
        assert process.stdout is not None
        process.stdout.close()
    output = "".join(seen)
    assert "echoed {'got': [1]}" in output
    assert "KeyboardInterrupt" in output
    assert "after interrupt" in output

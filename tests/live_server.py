"""A real Hypercorn server in a subprocess, for the end-to-end, security and fault tests.

The server binds 127.0.0.1 on a free port, in a process group of its own that
stop() kills (Hypercorn's workers included).
Raw socket helpers send bytes no well-behaved client library would.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STARTUP_SECONDS = 15.0


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def end_process_group(process: subprocess.Popen[Any], grace: float | None = None) -> None:
    """End ``process`` and everything in its process group.

    With ``grace``, the process itself is first sent SIGTERM, as a process
    manager would, and given that many seconds to exit; then the whole group
    is killed, so that no worker or child it started outlives the test.
    """
    if grace is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if process.poll() is None:
        process.wait(timeout=5)


class LiveServer:
    """A server process for ``module:app`` found on ``pythonpath``.

    :param command: the command after the interpreter; ``{port}`` is filled
        in. Hypercorn serving ``target`` by default.
    :param cwd: the server's working folder.
    :param port: the port, if the test chose it; a free one by default.
    :param drop_env: prefixes of variables not passed on from this process.
    """

    def __init__(
        self,
        target: str,
        pythonpath: Sequence[Path],
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        log: Path | None = None,
        cwd: Path | None = None,
        port: int | None = None,
        drop_env: tuple[str, ...] = (),
    ) -> None:
        self.port = port or free_port()
        # drop_env: prefixes of inherited variables the server must not see
        # (the developer's own MICROFRAME_APP, say).
        full_env = {key: value for key, value in os.environ.items() if not key.startswith(drop_env)}
        full_env.update(env or {})
        full_env["PYTHONPATH"] = os.pathsep.join(
            [*(str(p) for p in pythonpath), full_env.get("PYTHONPATH", "")]
        )
        args = command or ["-m", "hypercorn", target, "--bind", "127.0.0.1:{port}"]
        args = [arg.replace("{port}", str(self.port)) for arg in args]
        self.log_path = log
        self._log = open(log, "wb") if log is not None else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=full_env,
            stdout=self._log if self._log is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            # Its own process group: Hypercorn's worker processes are killed
            # with it in stop(), never left behind.
            start_new_session=True,
        )
        self.pid = self.process.pid

    def wait_until_ready(self) -> None:
        """Wait until the port accepts connections; fail if the process died.

        On failure the server's group is stopped first, so that a caller
        that never got a ready server leaves nothing running.
        """
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.output()
                self.stop()
                raise RuntimeError(f"the server exited early ({self.process.returncode}):\n{output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server did not listen within {STARTUP_SECONDS}s")

    def output(self) -> str:
        """What the server logged so far (when started with ``log``)."""
        if self.log_path is None:
            return ""
        return self.log_path.read_text(errors="replace")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """Send one request with :mod:`http.client` and read the whole answer."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response, response.read()
        finally:
            conn.close()

    def raw(self, data: bytes, timeout: float = 5, pause: float = 0.0) -> bytes:
        """Send raw bytes, then read until the server closes (or ``timeout``).

        With ``pause``, the bytes are sent, then nothing for that long.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            if pause:
                time.sleep(pause)
            chunks: list[bytes] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    break
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)

    def terminate(self, timeout: float = 15) -> int:
        """SIGTERM the server by its pid and return its exit code.

        Only the server itself is signalled, as a process manager would; call
        :meth:`stop` afterwards (in a ``finally``) to end the rest of its group.
        """
        os.kill(self.pid, signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Kill the server's process group (its workers too); close the log."""
        end_process_group(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None


def run_in_own_group(
    args: Sequence[str], timeout: float, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args, capture_output=True, text=True)`` in a process
    group of its own, which is killed when the command ends or times out:
    whatever it started (a server, its workers) ends with it.
    """
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        end_process_group(process)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def status_of(raw_response: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 response, or ``None`` if there is none."""
    line = raw_response.split(b"\r\n", 1)[0]
    parts = line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        return None
    try:
        return int(parts[1])
    except ValueError:
        return None


def read_until(sock: socket.socket, marker: bytes, seconds: float = 10) -> bytes:
    """Read from ``sock`` until ``marker`` arrives, the peer closes, or
    ``seconds`` pass; return what was read."""
    received = b""
    deadline = time.monotonic() + seconds
    while marker not in received and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    return received

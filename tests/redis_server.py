"""A real Redis for the tests: Debian's ``redis-server`` on 127.0.0.1.

Started on a free port with no persistence, in a process group of its own,
and stopped by its pid (the group killed after), never by name. Tests that
need it skip with a reason when ``redis-server`` is missing:
``.ci/system-deps`` installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import end_process_group, free_port

STARTUP_SECONDS = 10.0
STOP_SECONDS = 10.0


def missing_reason() -> str | None:
    """Why Redis tests cannot run here, or ``None`` when they can."""
    if shutil.which("redis-server") is None:
        return "redis-server is missing; run '.ci/system-deps' (Debian's redis-server package)"
    try:
        import redis  # noqa: F401
    except ImportError:
        return "the redis package is missing; install the test extra: pip install -e '.[test]'"
    return None


class RedisServer:
    """One ``redis-server`` process; :meth:`start` again reuses its port.

    :param folder: its working folder (it writes nothing there: no
        persistence, but Redis wants one).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "redis.log"

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start Redis and wait until it answers ``PING``."""
        executable = shutil.which("redis-server")
        assert executable is not None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    executable, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                    "--daemonize", "no", "--protected-mode", "no",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited early:\n{self.log.read_text()}")
            if self.ping():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {STARTUP_SECONDS} s")

    def ping(self) -> bool:
        """Whether Redis answers ``PING`` right now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """Send one command in Redis's inline form and return the raw reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall((" ".join(args) + "\r\n").encode())
            return sock.recv(65536)

    def stop(self) -> None:
        """Stop Redis (SIGTERM by its pid, then its group is killed)."""
        process, self.process = self.process, None
        if process is not None:
            end_process_group(process, grace=STOP_SECONDS)


def running_redis(folder: Path) -> Iterator[RedisServer]:
    """Yield a started :class:`RedisServer` and stop it after; skip without Redis.

    For fixtures: ``yield from running_redis(tmp_path)``.
    """
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()

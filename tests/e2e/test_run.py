"""``microframe run`` as a real process: serving, signals, and startup errors."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import end_process_group

ROOT = Path(__file__).resolve().parents[2]
MICROFRAME = Path(sys.executable).with_name("microframe")
URL_LINE = re.compile(r" \* Running on (https?://127\.0\.0\.1:\d+) \(CTRL \+ C to quit\)")
STARTUP_TIMEOUT = 15.0

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Server:
    """A ``microframe`` process whose combined output is read on a thread."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MICROFRAME_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, so that kill() also takes the workers.
            start_new_session=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = STARTUP_TIMEOUT) -> re.Match[str]:
        """Return the first output line matching ``pattern``, within ``timeout``."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            self.output.append(line)
            match = pattern.search(line)
            if match:
                return match
        pytest.fail(f"no line matching {pattern.pattern!r}; output so far:\n{''.join(self.output)}")

    def finish(self, timeout: float = 10.0) -> str:
        """Wait for the process to exit; return all of its output."""
        self.process.wait(timeout=timeout)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.output.append(line)
        return "".join(self.output)

    def kill(self) -> None:
        """Kill the process group (the server and its workers), and release the pipe."""
        end_process_group(self.process)
        self.reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        yield started
    finally:
        for server in started:
            server.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


SLOW_APP = """
import asyncio
from microframe import Microframe

app = Microframe(__name__)

@app.after_serving
async def goodbye():
    print("after_serving ran", flush=True)

@app.get("/slow")
async def slow():
    print("slow started", flush=True)
    await asyncio.sleep(0.6)
    return "finished"
"""


@pytest.mark.parametrize(
    "command",
    [[str(MICROFRAME)], [sys.executable, "-m", "microframe"]],
    ids=["console-script", "python-m"],
)
def test_serves_the_hello_example_until_ctrl_c(servers: list[Server], command: list[str]) -> None:
    port = free_port()
    server = Server([*command, "--app", "examples/hello", "run", "--port", str(port)], ROOT)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert url == f"http://127.0.0.1:{port}"
    assert get(url + "/") == "Hello, World!"
    assert json.loads(get(url + "/hello/Ada")) == {"greeting": "Hello, Ada!"}
    server.process.send_signal(signal.SIGINT)
    output = server.finish()
    assert server.process.returncode == 0, output
    assert "Traceback" not in output


def test_sigterm_lets_requests_finish_and_runs_after_serving(
    servers: list[Server], tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(SLOW_APP))
    server = Server([str(MICROFRAME), "run", "--port", "0"], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    answers: list[str] = []
    request = threading.Thread(target=lambda: answers.append(get(url + "/slow")))
    request.start()
    server.wait_for(re.compile("slow started"))
    server.process.send_signal(signal.SIGTERM)
    request.join(timeout=10)
    assert answers == ["finished"]
    output = server.finish()
    assert server.process.returncode == 0, output
    assert "after_serving ran" in output


def test_reloads_on_code_change(servers: list[Server], tmp_path: Path) -> None:
    source = tmp_path / "app.py"
    source.write_text(textwrap.dedent(SLOW_APP) + "\n@app.get('/')\nasync def index():\n    return 'v1'\n")
    server = Server([str(MICROFRAME), "run", "--port", str(free_port()), "--reload"], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    body = ""
    while body != "v1" and time.monotonic() < deadline:
        try:
            body = get(url + "/")
        except OSError:
            time.sleep(0.1)
    assert body == "v1"
    source.write_text(source.read_text().replace("'v1'", "'v2'"))
    stat = source.stat()
    os.utime(source, (stat.st_atime, stat.st_mtime + 5))
    deadline = time.monotonic() + 8
    while body != "v2" and time.monotonic() < deadline:
        try:
            body = get(url + "/")
        except OSError:
            pass
        time.sleep(0.2)
    assert body == "v2"
    server.process.send_signal(signal.SIGINT)
    output = server.finish()
    assert server.process.returncode == 0, output


def wait_for_body(url: str, expected: str, timeout: float) -> str:
    """GET ``url`` until it answers ``expected`` or ``timeout`` passes; return the last body."""
    deadline = time.monotonic() + timeout
    body = ""
    while body != expected and time.monotonic() < deadline:
        try:
            body = get(url)
        except OSError:
            pass
        time.sleep(0.2)
    return body


def test_reloads_when_an_extra_file_changes(servers: list[Server], tmp_path: Path) -> None:
    settings = tmp_path / "greeting.txt"
    settings.write_text("v1")
    (tmp_path / "app.py").write_text(
        "from pathlib import Path\nfrom microframe import Microframe\n"
        "app = Microframe(__name__)\nGREETING = Path(__file__).with_name('greeting.txt').read_text()\n"
        "@app.get('/')\nasync def index():\n    return GREETING\n"
    )
    server = Server(
        [str(MICROFRAME), "run", "--port", str(free_port()), "--reload", "--extra-files", str(settings)],
        tmp_path,
    )
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert wait_for_body(url + "/", "v1", STARTUP_TIMEOUT) == "v1"
    settings.write_text("v2")
    stat = settings.stat()
    os.utime(settings, (stat.st_atime, stat.st_mtime + 5))
    assert wait_for_body(url + "/", "v2", 8) == "v2"
    server.wait_for(re.compile(r"Detected change in '.*greeting\.txt', reloading"))
    server.process.send_signal(signal.SIGINT)
    output = server.finish()
    assert server.process.returncode == 0, output


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_serves_https_with_flask_cert_and_key_options(servers: list[Server], tmp_path: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", "key.pem", "-out", "cert.pem"],
        cwd=tmp_path, check=True, capture_output=True,
    )
    (tmp_path / "app.py").write_text(
        "from microframe import Microframe, request\napp = Microframe(__name__)\n"
        "@app.get('/')\nasync def index():\n    return request.scheme\n"
    )
    args = ["run", "--port", "0", "--cert", "cert.pem", "--key", "key.pem"]
    server = Server([str(MICROFRAME), *args], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert url.startswith("https://")
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    context.check_hostname = False
    with urllib.request.urlopen(url + "/", timeout=5, context=context) as response:
        assert response.read() == b"https"
    server.process.send_signal(signal.SIGINT)
    output = server.finish()
    assert server.process.returncode == 0, output


def _one_line_error(server: Server) -> str:
    output = server.finish(timeout=STARTUP_TIMEOUT)
    assert server.process.returncode not in (0, None), output
    last = output.rstrip().splitlines()[-1]
    assert last.startswith("Error: "), output
    return last


def test_port_in_use(servers: list[Server]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = Server([str(MICROFRAME), "--app", "examples/hello", "run", "--port", str(port)], ROOT)
        servers.append(server)
        output = server.finish(timeout=STARTUP_TIMEOUT)
    assert server.process.returncode == 1, output
    assert output.strip() == (
        f"Error: port {port} on 127.0.0.1 is in use; stop the other server or choose another port"
        " with --port"
    )


def test_missing_app(servers: list[Server], tmp_path: Path) -> None:
    server = Server([str(MICROFRAME), "run", "--port", "0"], tmp_path)
    servers.append(server)
    output = server.finish(timeout=STARTUP_TIMEOUT)
    assert server.process.returncode != 0
    assert len(output.strip().splitlines()) == 1, output
    assert output.startswith("Error: Could not find a Microframe app in")


def test_broken_app_shows_traceback_then_one_line(servers: list[Server], tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import not_a_real_module_xyz\n")
    server = Server([sys.executable, "-m", "microframe", "run", "--port", "0"], tmp_path)
    servers.append(server)
    last = _one_line_error(server)
    assert "Traceback" in "".join(server.output)
    assert last.startswith("Error: While importing 'app', ModuleNotFoundError was raised")
    assert "not_a_real_module_xyz" in last


# -- what the terminal shows: request lines and errors ------------------------------------

REQUEST_LINE = r'127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4} \d\d:\d\d:\d\d\] "%s" %s'

ERROR_APP = """
from microframe import Microframe

app = Microframe(__name__)

@app.get("/")
async def index():
    return "home"

@app.get("/boom")
async def boom():
    return 1 / 0
"""


def request_line(request: str, rest: str) -> re.Pattern[str]:
    """The pattern of a request line for ``request`` (e.g. ``GET / HTTP/1.1``) ending in ``rest``."""
    return re.compile(REQUEST_LINE % (re.escape(request), rest), re.MULTILINE)


def seen(server: Server, pattern: re.Pattern[str]) -> None:
    """Wait until ``pattern`` is in the output, unless it is there already."""
    if not pattern.search("".join(server.output)):
        server.wait_for(pattern)


def get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def stop(server: Server) -> str:
    """Ctrl-C the server; return all it printed."""
    server.process.send_signal(signal.SIGINT)
    output = server.finish(timeout=STARTUP_TIMEOUT)
    assert server.process.returncode == 0, output
    return output


@pytest.mark.parametrize(
    "args",
    [[], ["--workers", "2"], ["--debug"], ["--debug", "--no-reload"]],
    ids=["plain", "two-workers", "debug-reloader", "debug-in-process"],
)
def test_request_lines_and_view_tracebacks(servers: list[Server], tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(ERROR_APP))
    server = Server([str(MICROFRAME), "run", "--port", str(free_port()), *args], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert wait_for_body(url + "/?x=1", "home", STARTUP_TIMEOUT) == "home"
    server.wait_for(request_line("GET /?x=1 HTTP/1.1", "200 4$"))
    assert get_status(url + "/boom") == 500
    assert get_status(url + "/nowhere") == 404
    server.wait_for(request_line("GET /nowhere HTTP/1.1", r"404 \d+$"))
    seen(server, re.compile("ZeroDivisionError: division by zero"))
    output = stop(server)
    assert request_line("GET /boom HTTP/1.1", r"500 \d+$").search(output), output
    # The traceback reaches the terminal once, down to the view's line.
    assert output.count("ZeroDivisionError: division by zero") == 1, output
    assert f'File "{tmp_path / "app.py"}", line 12, in boom' in output
    debug = "--debug" in args
    assert (" * Debug mode: on" if debug else " * Debug mode: off") in output
    # Not a terminal: no colours.
    assert "\x1b[" not in output


def test_no_access_log(servers: list[Server], tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(ERROR_APP))
    server = Server([str(MICROFRAME), "run", "--port", str(free_port()), "--no-access-log"], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert get(url + "/") == "home"
    assert get_status(url + "/boom") == 500
    seen(server, re.compile("ZeroDivisionError"))
    output = stop(server)
    assert '"GET /' not in output, output


# -- the reloader -----------------------------------------------------------------------------

VERSIONED_APP = """
from microframe import Microframe

app = Microframe(__name__)

@app.get("/")
async def index():
    return "{version}"
"""


def save(path: Path, text: str) -> None:
    """Write ``text`` and move the file's time on, as a later save would."""
    path.write_text(text)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))


def read_for(server: Server, seconds: float) -> str:
    """Collect what the server prints during ``seconds``; return it."""
    deadline = time.monotonic() + seconds
    seen: list[str] = []
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = server.lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            break
        server.output.append(line)
        seen.append(line)
    return "".join(seen)


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        ('    return "v3" +\n', r'File ".*app\.py", line 9$'),
        ("import not_a_module_xyz\n", r"ModuleNotFoundError: No module named 'not_a_module_xyz'"),
    ],
    ids=["syntax-error", "import-error"],
)
def test_a_broken_save_under_debug_keeps_the_server(
    servers: list[Server], tmp_path: Path, broken: str, error: str
) -> None:
    source = tmp_path / "app.py"
    good = textwrap.dedent(VERSIONED_APP)
    source.write_text(good.format(version="v1"))
    server = Server([str(MICROFRAME), "run", "--port", str(free_port()), "--debug"], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert wait_for_body(url + "/", "v1", STARTUP_TIMEOUT) == "v1"
    save(source, good.format(version="v2") + broken)
    server.wait_for(re.compile(rf"^ \* Detected change in '{re.escape(str(source))}', reloading$"))
    server.wait_for(re.compile(error))
    server.wait_for(re.compile(r"^ \* Serving an error page until the next change\.$"))
    assert server.process.poll() is None
    # In debug mode the page says what is wrong.
    with pytest.raises(urllib.error.HTTPError) as info:
        get(url + "/")
    assert info.value.code == 500
    assert "The app failed to load" in info.value.read().decode()
    save(source, good.format(version="v3"))
    server.wait_for(re.compile(rf"^ \* Detected change in '{re.escape(str(source))}', reloading$"))
    assert wait_for_body(url + "/", "v3", STARTUP_TIMEOUT) == "v3"
    stop(server)


def test_a_broken_app_at_the_first_start_still_fails_in_one_line(
    servers: list[Server], tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(VERSIONED_APP).format(version="v1") + 'x = "v" +\n')
    server = Server([str(MICROFRAME), "run", "--port", "0", "--debug"], tmp_path)
    servers.append(server)
    last = _one_line_error(server)
    assert server.process.returncode == 1
    assert last.startswith("Error: While importing 'app', SyntaxError was raised")


TEMPLATE_APP = """
from microframe import Microframe, render_template

app = Microframe(__name__)

@app.get("/")
async def index():
    return await render_template("index.html")
"""


def test_template_changes_reload_and_excluded_files_do_not(servers: list[Server], tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(TEMPLATE_APP))
    templates = tmp_path / "templates"
    (templates / "drafts").mkdir(parents=True)
    (templates / "index.html").write_text("t1")
    (templates / "drafts" / "wip.html").write_text("draft")
    notes = tmp_path / "notes.txt"
    notes.write_text("n1")
    # Without debug mode, templates are cached: only a reload shows a change.
    args = ["run", "--port", str(free_port()), "--reload", "--extra-files", str(notes),
            "--exclude-patterns", f"*/drafts/*{os.pathsep}*.txt"]
    server = Server([str(MICROFRAME), *args], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert wait_for_body(url + "/", "t1", STARTUP_TIMEOUT) == "t1"
    save(templates / "drafts" / "wip.html", "draft 2")
    save(notes, "n2")
    # Three looks of the reloader (one a second) see no change worth a reload.
    assert "Detected change" not in read_for(server, 3.5)
    save(templates / "index.html", "t2")
    server.wait_for(
        re.compile(rf"^ \* Detected change in '{re.escape(str(templates / 'index.html'))}', reloading$")
    )
    assert wait_for_body(url + "/", "t2", STARTUP_TIMEOUT) == "t2"
    output = stop(server)
    assert output.count("Detected change") == 1, output


# -- HTTPS and HTTP/2 -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_https_serves_http2(servers: list[Server], tmp_path: Path) -> None:
    httpx = pytest.importorskip("httpx")
    pytest.importorskip("h2", reason="httpx needs h2 for HTTP/2 (pip install 'httpx[http2]')")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"],
        cwd=tmp_path, check=True, capture_output=True,
    )
    (tmp_path / "app.py").write_text(
        "from microframe import Microframe, request\napp = Microframe(__name__)\n"
        "@app.get('/')\nasync def index():\n    return f'{request.scheme} {request.http_version}'\n"
    )
    args = ["run", "--port", str(free_port()), "--cert", "cert.pem", "--key", "key.pem"]
    server = Server([str(MICROFRAME), *args], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert url.startswith("https://")
    context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    with httpx.Client(http2=True, verify=context, timeout=5) as client:
        response = client.get(url + "/")
    assert response.http_version == "HTTP/2"
    assert response.text == "https 2"
    server.wait_for(request_line("GET / HTTP/2", "200 7$"))
    stop(server)


def test_adhoc_certificate(servers: list[Server], tmp_path: Path) -> None:
    pytest.importorskip("cryptography", reason="'--cert adhoc' needs the cryptography package")
    (tmp_path / "app.py").write_text(
        "from microframe import Microframe, request\napp = Microframe(__name__)\n"
        "@app.get('/')\nasync def index():\n    return request.scheme\n"
    )
    server = Server([str(MICROFRAME), "run", "--port", str(free_port()), "--cert", "adhoc"], tmp_path)
    servers.append(server)
    url = server.wait_for(URL_LINE).group(1)
    assert url.startswith("https://")
    # A throwaway certificate: nothing to verify it against.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url + "/", timeout=5, context=context) as response:
        assert response.read() == b"https"
    stop(server)

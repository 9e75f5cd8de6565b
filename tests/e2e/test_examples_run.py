"""Every example in the README's table runs as the README says:
``microframe --app examples/NAME run``, from the repository's root.

Each is served by a real ``microframe run`` process, in a process group of
its own that is killed whole at the end, and answers a request.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]

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


@pytest.mark.parametrize("name", readme_examples())
def test_example_runs_as_the_readme_says(name: str, tmp_path: Path) -> None:
    # The examples with a database make it here, not in the checkout.
    env = {
        "MICROFRAME_SKIP_DOTENV": "1",
        "MICROFRAME_DATABASE": str(tmp_path / "example.sqlite"),
        "PROXY_HOPS": "0",
    }
    log = tmp_path / "server.log"
    server = LiveServer(
        "",
        [],
        env=env,
        command=["-m", "microframe", "--app", f"examples/{name}", "run", "--port", "{port}"],
        log=log,
        cwd=ROOT,
        drop_env=("MICROFRAME_", "FLASK_"),
    )
    try:
        server.wait_until_ready()
        path, expected = CHECKS[name]
        response, body = server.request("GET", path)
        assert response.status == 200, body[:500]
        assert expected in body.decode()
        assert "Traceback" not in server.output()
    finally:
        server.stop()

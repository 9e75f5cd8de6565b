"""Tests for the server-sent events example, through the test client."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from microframe import Microframe
from microframe.testing import MicroframeClient


def _load_example() -> ModuleType:
    # Loaded under a name of its own: other examples have an 'app' module too.
    name = "sse_example_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("app.py"))
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


example = _load_example()


@pytest.fixture
def app(tmp_path: Path) -> Microframe:
    app: Microframe = example.app
    app.config.update(TESTING=True, DOWNLOAD_SIZE=3 * 1024 * 1024 + 5, COUNTER_TICK=60)
    app.instance_path = str(tmp_path)
    example.memory_counter.value = 0
    return app


@pytest.fixture
def client(app: Microframe) -> MicroframeClient:
    return app.test_client()


async def test_page(client: MicroframeClient) -> None:
    response = await client.get("/")
    page = await response.get_data(as_text=True)
    assert 'data-events="/events"' in page
    assert '<output id="value">0</output>' in page
    script = await client.get("/static/counter.js")
    assert "new EventSource(" in await script.get_data(as_text=True)


async def test_events_start_with_current_value(client: MicroframeClient) -> None:
    await client.post("/increment")
    response = await client.get("/events?limit=1")
    assert response.headers["Content-Type"] == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert await response.get_data() == b"event: count\nid: 1\ndata: 1\n\n"


async def test_increment_is_pushed_to_listeners(client: MicroframeClient) -> None:
    listening = asyncio.create_task(client.get("/events?limit=2"))
    for _ in range(100):
        if example.broadcast.subscribers(example.CHANNEL):
            break
        await asyncio.sleep(0.01)
    response = await client.post("/increment")
    assert await response.get_json() == {"value": 1}
    events = await asyncio.wait_for(listening, timeout=5)
    assert await events.get_data(as_text=True) == (
        "event: count\nid: 0\ndata: 0\n\nevent: count\nid: 1\ndata: 1\n\n"
    )
    assert example.broadcast.subscribers(example.CHANNEL) == 0


async def test_counter_ticks_while_watched(app: Microframe, client: MicroframeClient) -> None:
    app.config["COUNTER_TICK"] = 0.02
    response = await client.get("/events?limit=3")
    assert await response.get_data(as_text=True) == "".join(
        f"event: count\nid: {n}\ndata: {n}\n\n" for n in range(3)
    )
    assert example.broadcast.subscribers(example.CHANNEL) == 0


async def test_download(app: Microframe, client: MicroframeClient) -> None:
    size = app.config["DOWNLOAD_SIZE"]
    response = await client.get("/download")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=large.bin"
    data = await response.get_data()
    assert len(data) == size
    assert data[:4] == b"\x00\x01\x02\x03"
    partial = await client.get("/download", headers={"Range": "bytes=256-259"})
    assert partial.status_code == 206
    assert await partial.get_data() == b"\x00\x01\x02\x03"
    assert partial.headers["Content-Range"] == f"bytes 256-259/{size}"


def test_the_download_is_not_committed() -> None:
    # The 256 MiB file the example makes on first use must never be added by
    # a 'git add -A' in a checkout.
    git = shutil.which("git")
    root = Path(__file__).resolve().parents[2]
    if git is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    instance = Path(example.app.auto_find_instance_path())
    assert instance == Path(__file__).resolve().parent / "instance"
    made = instance / f"large-{256 * 1024 * 1024}.bin"  # at the default DOWNLOAD_SIZE
    checked = subprocess.run(
        [git, "check-ignore", "--no-index", "-q", str(made)], cwd=root, timeout=30, check=False
    )
    assert checked.returncode == 0, f"{made} is not ignored by git"

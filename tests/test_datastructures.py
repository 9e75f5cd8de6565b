from __future__ import annotations

import asyncio
import io
from pathlib import Path

import werkzeug.datastructures as wz

from microframe import datastructures
from microframe.datastructures import FileStorage

CONTENT = bytes(range(256)) * 100


def _storage(data: bytes = CONTENT) -> FileStorage:
    return FileStorage(
        io.BytesIO(data), filename="report.bin", name="doc", content_type="application/pdf"
    )


def test_is_a_werkzeug_file_storage() -> None:
    storage = _storage()
    assert isinstance(storage, wz.FileStorage)
    assert storage.filename == "report.bin"
    assert storage.name == "doc"
    assert storage.mimetype == "application/pdf"
    assert storage.read(3) == b"\x00\x01\x02"


def test_reexports_are_werkzeugs() -> None:
    assert datastructures.MultiDict is wz.MultiDict
    assert datastructures.ImmutableMultiDict is wz.ImmutableMultiDict
    assert datastructures.CombinedMultiDict is wz.CombinedMultiDict
    assert datastructures.Headers is wz.Headers
    assert datastructures.FileMultiDict is wz.FileMultiDict
    assert set(datastructures.__all__) == {
        "CombinedMultiDict",
        "DualCombinedMultiDict",
        "DualMultiDict",
        "FileMultiDict",
        "FileStorage",
        "Headers",
        "ImmutableMultiDict",
        "MultiDict",
    }


async def test_save_to_str_path_in_chunks(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    result = await _storage().save(str(target), buffer_size=1000)
    assert result is None
    assert target.read_bytes() == CONTENT


async def test_save_to_pathlike(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    await _storage().save(target)
    assert target.read_bytes() == CONTENT


async def test_save_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old content that is longer" * 1000)
    await _storage(b"new").save(target)
    assert target.read_bytes() == b"new"


async def test_save_empty_file(tmp_path: Path) -> None:
    target = tmp_path / "empty"
    await _storage(b"").save(target)
    assert target.read_bytes() == b""


async def test_save_to_file_object_leaves_it_open() -> None:
    target = io.BytesIO()
    await _storage().save(target, buffer_size=7)
    assert not target.closed
    assert target.getvalue() == CONTENT


async def test_save_starts_at_current_position(tmp_path: Path) -> None:
    storage = _storage(b"header:body")
    storage.read(7)
    target = tmp_path / "out"
    await storage.save(target)
    assert target.read_bytes() == b"body"


async def test_save_is_a_coroutine_in_async_code(tmp_path: Path) -> None:
    pending = _storage().save(tmp_path / "out")
    assert asyncio.iscoroutine(pending)
    await pending


def test_save_is_synchronous_in_sync_code(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    assert _storage().save(target) is None
    assert target.read_bytes() == CONTENT


async def test_save_is_synchronous_on_a_worker_thread(tmp_path: Path) -> None:
    # A plain ``def`` view runs on a worker thread with no event loop, and
    # calls save() the Flask way, without awaiting.
    target = tmp_path / "out.bin"
    result = await asyncio.to_thread(_storage().save, target)
    assert result is None
    assert target.read_bytes() == CONTENT

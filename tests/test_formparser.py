from __future__ import annotations

import asyncio
import io
import itertools
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage as WerkzeugFileStorage
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.test import encode_multipart

from microframe import formparser
from microframe.datastructures import FileStorage
from microframe.formparser import parse_form

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
BOUNDARY = "XbOuNdArYx"


async def _chunks(data: bytes, size: int | None = None) -> AsyncIterator[bytes]:
    size = size or max(len(data), 1)
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _part(headers: str, data: bytes) -> bytes:
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n".encode() + data + b"\r\n"


def _body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def _field(name: str, value: bytes, content_type: str | None = None) -> bytes:
    headers = f'Content-Disposition: form-data; name="{name}"'
    if content_type is not None:
        headers += f"\r\nContent-Type: {content_type}"
    return _part(headers, value)


def _file(name: str, filename: str, data: bytes, content_type: str = "text/plain") -> bytes:
    headers = (
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}"
    )
    return _part(headers, data)


async def _multipart(data: bytes, size: int | None = None, **limits: Any) -> tuple[Any, Any]:
    return await parse_form(_chunks(data, size), MULTIPART, {"boundary": BOUNDARY}, **limits)


async def _urlencoded(data: bytes, size: int | None = None, **limits: Any) -> Any:
    form, files = await parse_form(_chunks(data, size), URLENCODED, {}, **limits)
    assert not files
    return form


def _close(files: MultiDict[str, FileStorage]) -> None:
    # values() would give only the first file of each name.
    for _, storage in files.items(multi=True):
        storage.close()


class _SpoolSpy:
    """Stands in for SpooledTemporaryFile and remembers every file it made."""

    def __init__(self) -> None:
        self.created: list[tempfile.SpooledTemporaryFile[bytes]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> tempfile.SpooledTemporaryFile[bytes]:
        spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            *args, **kwargs
        )
        self.created.append(spool)
        return spool


@contextmanager
def _spy_spools() -> Iterator[_SpoolSpy]:
    spy = _SpoolSpy()
    with mock.patch.object(formparser, "SpooledTemporaryFile", spy):
        yield spy


# -- application/x-www-form-urlencoded ---------------------------------------


async def test_urlencoded_keeps_blank_values_and_repeats() -> None:
    form = await _urlencoded(b"a=1&b=&c&a=2&a=")
    assert isinstance(form, ImmutableMultiDict)
    assert form.getlist("a") == ["1", "2", ""]
    assert form["b"] == ""
    assert form["c"] == ""
    assert list(form.keys()) == ["a", "b", "c"]


async def test_urlencoded_decoding() -> None:
    form = await _urlencoded(b"name=J%C3%B6rg+M%C3%BCller&eq=a%3Db%26c&plus=%2B&sp+ace=x")
    assert form["name"] == "Jörg Müller"
    assert form["eq"] == "a=b&c"
    assert form["plus"] == "+"
    assert form["sp ace"] == "x"


async def test_urlencoded_skips_empty_pieces() -> None:
    form = await _urlencoded(b"&&a=1&&&b=2&")
    assert list(form.items(multi=True)) == [("a", "1"), ("b", "2")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"a=%zz&b=%4", {"a": "%zz", "b": "%4"}),
        (b"a=%ff%fe", {"a": "\ufffd\ufffd"}),
        (b"a=\xff\xc3", {"a": "\ufffd\ufffd"}),
        (b"%80=x", {"\ufffd": "x"}),
        (b"a=%", {"a": "%"}),
    ],
)
async def test_urlencoded_bad_encoding_is_replaced(body: bytes, expected: dict[str, str]) -> None:
    assert (await _urlencoded(body)).to_dict() == expected


async def test_urlencoded_charset() -> None:
    form = await _urlencoded(b"a=%E9t%E9", charset="latin-1")
    assert form["a"] == "été"


@pytest.mark.parametrize("size", [1, 3, None])
async def test_urlencoded_chunking_does_not_matter(size: int | None) -> None:
    form = await _urlencoded(b"a=%C3%A9&b=c+d&a=", size)
    assert form.to_dict(flat=False) == {"a": ["é", ""], "b": ["c d"]}


async def test_urlencoded_empty_body() -> None:
    assert await _urlencoded(b"") == {}


async def test_urlencoded_memory_limit() -> None:
    assert (await _urlencoded(b"a=12345", max_form_memory_size=7))["a"] == "12345"
    with pytest.raises(RequestEntityTooLarge) as info:
        await _urlencoded(b"a=123456", 2, max_form_memory_size=7)
    assert "MAX_FORM_MEMORY_SIZE" in str(info.value.description)


async def test_urlencoded_parts_limit() -> None:
    form = await _urlencoded(b"a=1&&b=2&c=3&", max_form_parts=3)
    assert len(form) == 3
    with pytest.raises(RequestEntityTooLarge) as info:
        await _urlencoded(b"a=1&b=2&c=3&d", max_form_parts=3)
    assert "MAX_FORM_PARTS" in str(info.value.description)


async def test_urlencoded_content_length_limit() -> None:
    with pytest.raises(RequestEntityTooLarge) as info:
        await _urlencoded(b"a=1&b=2", 2, max_content_length=6)
    assert "MAX_CONTENT_LENGTH" in str(info.value.description)


# A body already in memory is given as bytes; it must parse as its stream does.


async def _urlencoded_both(data: bytes, **limits: Any) -> Any:
    """Parse ``data`` as bytes and as a stream; return the form, or the 413 description."""
    results = []
    for source in (data, _chunks(data, 2)):
        try:
            form, files = await parse_form(source, URLENCODED, {}, **limits)
        except RequestEntityTooLarge as error:
            results.append(error.description)
        else:
            assert not files
            results.append(form.to_dict(flat=False))
    assert results[0] == results[1]
    return results[0]


async def test_urlencoded_bytes_parse_as_the_stream() -> None:
    data = b"a=%C3%A9&b=c+d&a=&&x"
    assert await _urlencoded_both(data) == {"a": ["é", ""], "b": ["c d"], "x": [""]}
    assert "MAX_FORM_MEMORY_SIZE" in await _urlencoded_both(data, max_form_memory_size=5)
    assert "MAX_CONTENT_LENGTH" in await _urlencoded_both(data, max_content_length=5)
    assert "MAX_FORM_PARTS" in await _urlencoded_both(data, max_form_parts=3)
    assert await _urlencoded_both(data, max_form_parts=4) == {
        "a": ["é", ""],
        "b": ["c d"],
        "x": [""],
    }
    assert await _urlencoded_both(b"") == {}


async def test_multipart_bytes_parse_as_the_stream() -> None:
    data = _body(_field("a", b"1"), _file("f", "a.txt", b"file data"))
    form, files = await parse_form(data, MULTIPART, {"boundary": BOUNDARY})
    try:
        assert form.to_dict() == {"a": "1"}
        assert files["f"].read() == b"file data"
    finally:
        _close(files)
    with pytest.raises(RequestEntityTooLarge):
        await parse_form(data, MULTIPART, {"boundary": BOUNDARY}, max_content_length=10)
    assert await parse_form(b"", MULTIPART, {"boundary": BOUNDARY}) == ({}, {})


def _unquote_each(data: bytes, charset: str = "utf-8") -> list[tuple[str, str]]:
    # The reference: each name and value unquoted, then decoded, on its own.
    def unquote(piece: bytes) -> str:
        return unquote_to_bytes(piece.replace(b"+", b" ")).decode(charset, "replace")

    pairs = [pair.partition(b"=") for pair in data.split(b"&") if pair]
    return [(unquote(name), unquote(value)) for name, _, value in pairs]


# Separators, escapes, and pieces of valid and invalid UTF-8.
_form_pieces = [b"&", b"=", b"+", b"%", b"%41", b"%c3", b"a", b" ", b"\x00", b"\xff"]
_form_pieces += [b"\xc3", b"\xa9", b"\xe2\x82", b"\xac", b"\xf0\x9f", b"\xed\xa0"]
_form_bytes = st.lists(st.sampled_from(_form_pieces), max_size=16).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(data=_form_bytes)
def test_urlencoded_decoding_matches_unquoting_each_piece(data: bytes) -> None:
    # ASCII bodies and others take different routes through parse_qsl; both
    # must decode each name and value from its bytes, raw and escaped alike.
    for charset in ("utf-8", "latin-1"):
        form = asyncio.run(parse_form(data, URLENCODED, {}, charset=charset))[0]
        expected = ImmutableMultiDict(_unquote_each(data, charset))
        assert form.to_dict(flat=False) == expected.to_dict(flat=False)


async def test_limit_error_closes_the_body() -> None:
    closed = False

    async def body() -> AsyncIterator[bytes]:
        nonlocal closed
        try:
            while True:
                yield b"a=1&"
        finally:
            closed = True

    with pytest.raises(RequestEntityTooLarge):
        await parse_form(body(), URLENCODED, {}, max_form_memory_size=100)
    assert closed


# -- other mimetypes ------------------------------------------------------------


@pytest.mark.parametrize(
    "mimetype", ["application/json", "text/plain", "application/x-url-encoded", ""]
)
async def test_other_mimetypes_are_empty_and_unread(mimetype: str) -> None:
    async def body() -> AsyncIterator[bytes]:
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    form, files = await parse_form(body(), mimetype, {})
    assert form == {} and files == {}
    assert isinstance(form, ImmutableMultiDict) and isinstance(files, ImmutableMultiDict)


# -- multipart/form-data ----------------------------------------------------------


def _werkzeug_body() -> tuple[str, bytes]:
    return encode_multipart(
        MultiDict(
            [
                ("name", "Ada"),
                ("tag", "a"),
                ("tag", ""),
                ("text", "héllo\r\nwörld"),
                ("doc", WerkzeugFileStorage(io.BytesIO(b"%PDF\r\n\x00\xff" * 50), "ré.pdf")),
                ("empty_file", WerkzeugFileStorage(io.BytesIO(b""), "nothing.txt")),
                ("last", ""),
            ]
        )
    )


async def _parse_werkzeug_body(size: int | None) -> tuple[list[Any], list[Any]]:
    boundary, data = _werkzeug_body()
    form, files = await parse_form(_chunks(data, size), MULTIPART, {"boundary": boundary})
    try:
        assert isinstance(form, ImmutableMultiDict) and isinstance(files, ImmutableMultiDict)
        return (
            list(form.items(multi=True)),
            [
                (key, f.filename, f.name, f.content_type, f.read())
                for key, f in files.items(multi=True)
            ],
        )
    finally:
        _close(files)


async def test_multipart_fields_and_files() -> None:
    form, files = await _parse_werkzeug_body(None)
    assert form == [
        ("name", "Ada"),
        ("tag", "a"),
        ("tag", ""),
        ("text", "héllo\r\nwörld"),
        ("last", ""),
    ]
    assert files == [
        ("doc", "ré.pdf", "doc", "application/pdf", b"%PDF\r\n\x00\xff" * 50),
        ("empty_file", "nothing.txt", "empty_file", "text/plain", b""),
    ]


@pytest.mark.parametrize("size", [1, 2, 7, 64, 1000])
async def test_multipart_chunking_does_not_matter(size: int) -> None:
    assert await _parse_werkzeug_body(size) == await _parse_werkzeug_body(None)


async def test_multipart_files_are_microframe_file_storage() -> None:
    _form, files = await _multipart(_body(_file("up", "a.txt", b"data")))
    storage = files["up"]
    assert isinstance(storage, FileStorage)
    assert isinstance(storage.stream, tempfile.SpooledTemporaryFile)
    assert storage.headers["Content-Type"] == "text/plain"
    assert storage.stream.tell() == 0
    _close(files)


async def test_multipart_browser_style_empty_values() -> None:
    # Browsers send an empty value as headers, blank line, then CRLF boundary.
    data = _body(_field("a", b""), _file("f", "", b"", "application/octet-stream"))
    for size in (1, 3, None):
        form, files = await _multipart(data, size)
        assert form.to_dict() == {"a": ""}
        assert files["f"].filename == "" and not files["f"]
        assert files["f"].read() == b""
        _close(files)


async def test_multipart_large_file_rolls_over_to_disk() -> None:
    content = bytes(range(256)) * (5 * 1024 * 4)
    assert len(content) == 5 * 1024 * 1024
    data = _body(_field("title", b"big"), _file("blob", "big.bin", content))
    form, files = await _multipart(data, 64 * 1024)
    try:
        assert form["title"] == "big"
        storage = files["blob"]
        assert storage.stream._rolled  # on disk, not in memory
        assert storage.read() == content
    finally:
        _close(files)


async def test_multipart_one_huge_chunk_is_fine() -> None:
    # A test client may hand the whole body over at once; a file part far
    # larger than max_form_memory_size must still parse.
    content = b"x" * (2 * 1024 * 1024)
    data = _body(_file("blob", "big.bin", content))
    _form, files = await _multipart(data, max_form_memory_size=1000)
    assert files["blob"].read() == content
    _close(files)


async def test_multipart_part_charset() -> None:
    data = _body(
        _field("latin", "été".encode("latin-1"), "text/plain; charset=ISO-8859-1"),
        _field("bogus", "été".encode(), "text/plain; charset=rot13"),
        _field("bad", b"\xff\xfeok"),
    )
    form, _files = await _multipart(data)
    assert form["latin"] == "été"
    assert form["bogus"] == "été"
    assert form["bad"] == "\ufffd\ufffdok"


async def test_multipart_default_charset() -> None:
    form, _ = await parse_form(
        _chunks(_body(_field("a", "é".encode("latin-1")))),
        MULTIPART,
        {"boundary": BOUNDARY},
        charset="latin-1",
    )
    assert form["a"] == "é"


async def test_multipart_preamble_and_epilogue_are_ignored() -> None:
    data = b"This is a preamble.\r\n" + _body(_field("a", b"1")) + b"epilogue" * 10_000
    for size in (5, None):
        form, _ = await _multipart(data, size, max_form_memory_size=100)
        assert form.to_dict() == {"a": "1"}


async def test_multipart_empty_body_is_empty_form() -> None:
    form, files = await _multipart(b"")
    assert form == {} and files == {}


async def test_multipart_empty_form() -> None:
    form, files = await _multipart(f"--{BOUNDARY}--\r\n".encode())
    assert form == {} and files == {}


async def test_multipart_part_without_name_is_dropped() -> None:
    data = _body(
        _part("Content-Disposition: form-data", b"lost"),
        _part('Content-Disposition: form-data; filename="x.txt"', b"lost too"),
        _field("kept", b"yes"),
    )
    with _spy_spools() as spy:
        form, files = await _multipart(data)
    assert form.to_dict() == {"kept": "yes"} and files == {}
    assert spy.created == []


@pytest.mark.parametrize(
    "filename",
    ["../../etc/passwd", "..", "a\x00b.txt", "/etc/shadow", "\u202ecod.exe", "x" * 300],
)
async def test_multipart_odd_filenames_are_kept(filename: str) -> None:
    _form, files = await _multipart(_body(_file("f", filename, b"data")))
    assert files["f"].filename == filename
    assert files["f"].read() == b"data"
    _close(files)


async def test_multipart_percent_encoded_nul_filename() -> None:
    data = _body(
        _part(
            "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''a%00%2F..%2Fb",
            b"data",
        )
    )
    _form, files = await _multipart(data)
    assert files["f"].filename == "a\x00/../b"
    _close(files)


async def test_multipart_nul_bytes_in_names_and_values() -> None:
    form, _files = await _multipart(_body(_field("a\x00b", b"\x00\x00")))
    assert form["a\x00b"] == "\x00\x00"


async def test_multipart_repeated_submissions_parse_alike() -> None:
    # Field headers are remembered from one submission to the next; what a
    # form gives must not depend on what came before.
    data = _body(
        _field("a", b"1"),
        _field("latin", "é".encode("latin-1"), "text/plain; charset=iso-8859-1"),
        _field("a", b"2"),
        _file("f", "f.txt", b"data"),
    )
    results = []
    for size in (None, 3, None):
        form, files = await _multipart(data, size)
        results.append(form.items(multi=True))
        # Each request gets its own headers: changing one changes no other.
        files["f"].headers["X-Seen"] = "yes"
        results.append(list(files["f"].headers.items()))
        _close(files)
    expected_form = [("a", "1"), ("a", "2"), ("latin", "é")]
    expected_headers = [
        ("Content-Disposition", 'form-data; name="f"; filename="f.txt"'),
        ("Content-Type", "text/plain"),
        ("X-Seen", "yes"),
    ]
    assert [list(result) for result in results] == [expected_form, expected_headers] * 3


async def test_multipart_bad_part_headers_fail_every_time() -> None:
    for data in [
        _body(_part("X-Other: 1", b"no disposition")),
        _body(f"--{BOUNDARY}\r\n".encode() + b'Content-Disposition: form-data; name="\xff"\r\n\r\nx\r\n'),
    ]:
        for _ in range(2):
            with pytest.raises(BadRequest):
                await _multipart(data)


async def test_multipart_remembered_headers_stay_bounded() -> None:
    memo = formparser._ChunkSafeDecoder._described
    names = [f"field{i}" for i in range(formparser._PART_MEMO_SIZE * 2)]
    long_name = "n" * formparser._PART_MEMO_BLOCK
    form, _files = await _multipart(_body(*(_field(name, b"v") for name in [*names, long_name])))
    assert list(form) == [*names, long_name]
    assert 0 < len(memo) <= formparser._PART_MEMO_SIZE
    assert all(len(block) <= formparser._PART_MEMO_BLOCK for block in memo)
    # Files' headers, with their varying filenames, are never remembered.
    _form, files = await _multipart(_body(_file("f", "private-name.txt", b"x")))
    _close(files)
    assert not any(b"private-name" in block for block in memo)


# -- multipart limits -----------------------------------------------------------------


async def test_multipart_field_memory_limit() -> None:
    form, _ = await _multipart(_body(_field("a", b"x" * 100)), max_form_memory_size=100)
    assert form["a"] == "x" * 100
    for size in (1, 7, None):
        with _spy_spools() as spy, pytest.raises(RequestEntityTooLarge) as info:
            await _multipart(
                _body(_file("f", "f.txt", b"data"), _field("a", b"x" * 101)),
                size,
                max_form_memory_size=100,
            )
        assert "'a'" in str(info.value.description)
        assert "MAX_FORM_MEMORY_SIZE" in str(info.value.description)
        assert spy.created and all(spool.closed for spool in spy.created)


# However the body arrives: whole (bytes), in one chunk, or trickled.
_ARRIVALS = pytest.mark.parametrize("size", [0, None, 100], ids=["whole", "one-chunk", "trickled"])


async def _multipart_as(data: bytes, size: int | None, **limits: Any) -> tuple[Any, Any]:
    if size == 0:
        return await parse_form(data, MULTIPART, {"boundary": BOUNDARY}, **limits)
    return await _multipart(data, size, **limits)


@_ARRIVALS
async def test_multipart_header_memory_limit(size: int | None) -> None:
    huge = _part('Content-Disposition: form-data; name="a"\r\nX-Pad: ' + "p" * 5000, b"v")
    with pytest.raises(RequestEntityTooLarge):
        await _multipart_as(_body(huge), size, max_form_memory_size=1000)
    # Just within the limit, it is accepted.
    fits = _part('Content-Disposition: form-data; name="a"\r\nX-Pad: ' + "p" * 900, b"v")
    form, _ = await _multipart_as(_body(fits), size, max_form_memory_size=1000)
    assert form.to_dict() == {"a": "v"}


@_ARRIVALS
async def test_multipart_preamble_memory_limit(size: int | None) -> None:
    with pytest.raises(RequestEntityTooLarge):
        await _multipart_as(b"p" * 5000 + _body(_field("a", b"1")), size, max_form_memory_size=1000)
    form, _ = await _multipart_as(b"p" * 900 + _body(_field("a", b"1")), size, max_form_memory_size=1000)
    assert form.to_dict() == {"a": "1"}


async def test_multipart_parts_limit() -> None:
    parts = [_field("a", b"1"), _file("f", "f.txt", b"x"), _field("b", b"2")]
    form, files = await _multipart(_body(*parts), max_form_parts=3)
    assert len(form) == 2 and len(files) == 1
    _close(files)
    with _spy_spools() as spy, pytest.raises(RequestEntityTooLarge) as info:
        await _multipart(_body(*parts, _field("c", b"3")), max_form_parts=3)
    assert "MAX_FORM_PARTS" in str(info.value.description)
    assert len(spy.created) == 1 and spy.created[0].closed


async def test_multipart_content_length_limit() -> None:
    data = _body(_file("f", "f.txt", b"x" * 1000))
    with _spy_spools() as spy, pytest.raises(RequestEntityTooLarge) as info:
        await _multipart(data, 100, max_content_length=500)
    assert "MAX_CONTENT_LENGTH" in str(info.value.description)
    assert all(spool.closed for spool in spy.created)


# -- malformed multipart --------------------------------------------------------------


@pytest.mark.parametrize("options", [{}, {"boundary": ""}, {"boundary": "bö"}])
async def test_multipart_bad_boundary(options: dict[str, str]) -> None:
    with pytest.raises(BadRequest) as info:
        await parse_form(_chunks(_body(_field("a", b"1"))), MULTIPART, options)
    assert "boundary" in str(info.value.description)


async def test_multipart_truncated_bodies() -> None:
    data = _body(_field("a", b"1"), _file("f", "f.txt", b"contents" * 100))
    # Every cut before the closing "--boundary--" leaves the body unfinished.
    for cut in [*range(1, len(data) - 3, 13), len(data) - 3]:
        with _spy_spools() as spy, pytest.raises(BadRequest) as info:
            await _multipart(data[:cut], 7)
        assert "truncated" in str(info.value.description)
        assert all(spool.closed for spool in spy.created)


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"--OtherBoundary\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--OtherBoundary--",
        _body(_part("Content-Type: text/plain", b"no disposition")),
    ],
)
async def test_multipart_malformed_bodies(data: bytes) -> None:
    with pytest.raises(BadRequest) as info:
        await _multipart(data)
    assert "multipart/form-data" in str(info.value.description)


async def test_multipart_non_utf8_header_is_bad_request() -> None:
    data = _body(
        f"--{BOUNDARY}\r\n".encode()
        + b'Content-Disposition: form-data; name="\xff"\r\n\r\nx\r\n'
    )
    for chunk_size in (None, 7):  # whole, as a test client sends it, or trickled
        with pytest.raises(BadRequest) as info:
            await _multipart(data, chunk_size)
        # Said as it is: the body is whole, not cut short.
        assert "truncated" not in str(info.value.description)
        assert "decode" in str(info.value.description)


# -- failures close temporary files ---------------------------------------------------


async def test_temp_files_closed_when_the_client_goes_away() -> None:
    class ClientDisconnected(Exception):
        pass

    async def body() -> AsyncIterator[bytes]:
        yield _file("f", "f.txt", b"x" * 1000)
        yield _file("g", "g.txt", b"y" * 1000)[:300]
        raise ClientDisconnected

    with _spy_spools() as spy, pytest.raises(ClientDisconnected):
        await parse_form(body(), MULTIPART, {"boundary": BOUNDARY})
    assert len(spy.created) == 2 and all(spool.closed for spool in spy.created)


async def test_temp_files_closed_on_cancellation() -> None:
    started = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield _file("f", "f.txt", b"x" * 1000)[:300]
        started.set()
        await asyncio.sleep(3600)
        yield b""  # pragma: no cover

    with _spy_spools() as spy:
        task = asyncio.create_task(parse_form(body(), MULTIPART, {"boundary": BOUNDARY}))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert len(spy.created) == 1 and spy.created[0].closed


# -- properties --------------------------------------------------------------------------

_TOKENS = [
    f"--{BOUNDARY}".encode(),
    f"--{BOUNDARY}--".encode(),
    b"\r\n",
    b"\r",
    b"\n",
    b"--",
    b'Content-Disposition: form-data; name="a"',
    b'Content-Disposition: form-data; name="f"; filename="../x\x00"',
    b"Content-Disposition: form-data; filename*=UTF-8''%ff%00",
    b"Content-Type: text/plain; charset=utf-16",
    b"\r\n\r\n",
    b"%",
    b"=",
    b"&",
    b"+",
]
_bodies = st.one_of(
    st.binary(max_size=300),
    st.lists(st.one_of(st.sampled_from(_TOKENS), st.binary(max_size=12)), max_size=40).map(
        b"".join
    ),
)
_limits = st.one_of(st.none(), st.integers(min_value=0, max_value=200))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=_bodies,
    mimetype=st.sampled_from([MULTIPART, URLENCODED]),
    size=st.integers(min_value=1, max_value=64),
    memory=_limits,
    parts=_limits,
    length=_limits,
)
def test_arbitrary_bodies_only_raise_http_errors(
    data: bytes,
    mimetype: str,
    size: int,
    memory: int | None,
    parts: int | None,
    length: int | None,
) -> None:
    async def parse() -> None:
        form, files = await parse_form(
            _chunks(data, size),
            mimetype,
            {"boundary": BOUNDARY},
            max_form_memory_size=memory,
            max_form_parts=parts,
            max_content_length=length,
        )
        assert all(isinstance(key, str) and isinstance(value, str) for key, value in form.items())
        _close(files)

    with _spy_spools() as spy:
        try:
            asyncio.run(parse())
        except HTTPException as error:
            assert error.code in (400, 413)
            assert all(spool.closed for spool in spy.created)


@settings(max_examples=100, deadline=None)
@given(data=_bodies, size=st.integers(min_value=1, max_value=40))
def test_chunking_never_changes_the_result(data: bytes, size: int) -> None:
    async def parse(chunk_size: int | None) -> tuple[Any, ...]:
        try:
            form, files = await _multipart(data, chunk_size)
        except HTTPException as error:
            return (type(error),)
        result = (list(form.items(multi=True)), [(k, f.read()) for k, f in files.items(multi=True)])
        _close(files)
        return result

    async def both() -> None:
        assert await parse(size) == await parse(None)

    asyncio.run(both())


_content = st.lists(
    st.one_of(
        st.sampled_from([b"\r", b"\n", b"-", b"--", b" ", f"--{BOUNDARY[:5]}".encode()]),
        st.sampled_from([f"--{BOUNDARY}".encode()]),
        st.binary(max_size=8),
    ),
    max_size=12,
).map(b"".join)
_MARKER = f"--{BOUNDARY}".encode()


def _is_unambiguous(content: bytes) -> bool:
    # A real client picks a boundary that cannot be read as a delimiter in
    # the content: not at its start, nor after a line break.
    return not content.startswith(_MARKER) and all(
        lb + _MARKER not in content for lb in (b"\r", b"\n")
    )


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.booleans(), _content.filter(_is_unambiguous)), min_size=1, max_size=4
    ),
    step=st.integers(min_value=1, max_value=80),
    cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=20),
)
def test_valid_forms_survive_any_chunking(
    values: list[tuple[bool, bytes]], step: int, cuts: list[int]
) -> None:
    parts = [
        _file(f"k{i}", f"f{i}", data) if is_file else _field(f"k{i}", data)
        for i, (is_file, data) in enumerate(values)
    ]
    data = _body(*parts)
    bounds = sorted({*range(0, len(data), step), len(data), *(c for c in cuts if c < len(data))})

    async def body() -> AsyncIterator[bytes]:
        for start, end in itertools.pairwise(bounds):
            yield data[start:end]

    async def parse() -> None:
        form, files = await parse_form(body(), MULTIPART, {"boundary": BOUNDARY})
        try:
            for i, (is_file, content) in enumerate(values):
                if is_file:
                    assert files[f"k{i}"].read() == content
                else:
                    assert form[f"k{i}"] == content.decode(errors="replace")
        finally:
            _close(files)

    asyncio.run(parse())


def test_parse_urlencoded_bytes_keeps_the_limits() -> None:
    from werkzeug.exceptions import RequestEntityTooLarge

    from microframe.formparser import parse_urlencoded_bytes

    form = parse_urlencoded_bytes(b"a=1&b=%C3%A9+x&a=2")
    assert form.getlist("a") == ["1", "2"] and form["b"] == "é x"
    with pytest.raises(RequestEntityTooLarge, match="MAX_FORM_MEMORY_SIZE"):
        parse_urlencoded_bytes(b"a=" + b"x" * 100, max_form_memory_size=50)
    with pytest.raises(RequestEntityTooLarge, match="MAX_FORM_PARTS"):
        parse_urlencoded_bytes(b"a=1&b=2&c=3", max_form_parts=2)
    with pytest.raises(RequestEntityTooLarge, match="MAX_CONTENT_LENGTH"):
        parse_urlencoded_bytes(b"a=12345", max_content_length=3)

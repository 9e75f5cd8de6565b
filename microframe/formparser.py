"""Parse request bodies into form fields and uploaded files, without blocking.

:func:`parse_form` reads the body as it arrives from the network. A
``multipart/form-data`` body is decoded incrementally by Werkzeug's sans-io
:class:`~werkzeug.sansio.multipart.MultipartDecoder`; each file part streams
into a :class:`~tempfile.SpooledTemporaryFile` that moves to disk past
:data:`SPOOL_MAX_SIZE`, so a large upload is never held in memory.

Every failure is a Werkzeug HTTP error: :exc:`~werkzeug.exceptions.BadRequest`
(400) for a malformed body, :exc:`~werkzeug.exceptions.RequestEntityTooLarge`
(413) for a body over a limit. Temporary files already created are closed
before the error propagates.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from contextlib import aclosing
from tempfile import SpooledTemporaryFile
from typing import ClassVar, cast
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers, ImmutableMultiDict, MultiDict
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    BLANK_LINE_RE,
    NEED_DATA,
    SEARCH_EXTRA_LENGTH,
    Data,
    Epilogue,
    Event,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    State,
)

from .datastructures import FileStorage

__all__ = ["SPOOL_MAX_SIZE", "parse_form", "parse_multipart", "parse_urlencoded"]

#: File parts up to this many bytes stay in memory; larger ones go to disk.
#: A request's form body declared no larger is read whole before parsing.
SPOOL_MAX_SIZE = 500 * 1024

# Network chunks are fed to the decoder in slices of at most this size, so
# one huge chunk cannot make a single decoding step (or its buffer) huge.
_SLICE_SIZE = 64 * 1024

# Charsets a part may declare. Anything else falls back to UTF-8: the name is
# client input, and not every Python codec is a harmless text encoding.
_PART_CHARSETS = frozenset({"ascii", "us-ascii", "utf-8", "iso-8859-1"})

# Text fields' headers, parsed, are remembered by their raw bytes (see
# _ChunkSafeDecoder._describe): this many at most, of at most this many bytes
# each, so client input cannot grow the memo beyond about half a MiB.
_PART_MEMO_SIZE = 256
_PART_MEMO_BLOCK = 1024

_Source = AsyncIterable[bytes] | bytes
# A part's name, filename, and headers.
_Described = tuple[str | None, str | None, Headers]
_Form = MultiDict[str, str]
_Files = MultiDict[str, FileStorage]


async def parse_form(
    body: _Source,
    mimetype: str,
    options: dict[str, str],
    *,
    charset: str = "utf-8",
    max_form_memory_size: int | None = None,
    max_form_parts: int | None = None,
    max_content_length: int | None = None,
) -> tuple[_Form, _Files]:
    """Parse a request body into ``(form, files)``.

    Both results are :class:`~werkzeug.datastructures.ImmutableMultiDict`,
    as Flask's ``request.form`` and ``request.files`` are. A mimetype other
    than ``application/x-www-form-urlencoded`` or ``multipart/form-data``
    gives two empty dicts and leaves ``body`` unread.

    The caller owns the returned files: close them (``storage.close()``) when
    the request ends.

    :param body: the raw body, in chunks as they arrive, or whole as bytes.
    :param mimetype: the request's mimetype, without parameters.
    :param options: the Content-Type parameters (``boundary`` for multipart).
    :param charset: the encoding of urlencoded data, and of text parts that
        do not declare one.
    :param max_form_memory_size: the most bytes a urlencoded body, a text
        field, or a part's headers may hold in memory (413 beyond).
    :param max_form_parts: the most fields or parts a form may have (413).
    :param max_content_length: the most bytes the body may have (413). The
        caller should already enforce it on the stream; it is checked again
        here so this function is safe on its own.
    :raises werkzeug.exceptions.BadRequest: the body is malformed.
    :raises werkzeug.exceptions.RequestEntityTooLarge: a limit was exceeded.
    """
    if mimetype == "application/x-www-form-urlencoded":
        form = await parse_urlencoded(
            body,
            charset=charset,
            max_form_memory_size=max_form_memory_size,
            max_form_parts=max_form_parts,
            max_content_length=max_content_length,
        )
        return form, ImmutableMultiDict()
    if mimetype == "multipart/form-data":
        return await parse_multipart(
            body,
            options.get("boundary", ""),
            charset=charset,
            max_form_memory_size=max_form_memory_size,
            max_form_parts=max_form_parts,
            max_content_length=max_content_length,
        )
    return ImmutableMultiDict(), ImmutableMultiDict()


async def parse_urlencoded(
    body: _Source,
    *,
    charset: str = "utf-8",
    max_form_memory_size: int | None = None,
    max_form_parts: int | None = None,
    max_content_length: int | None = None,
) -> _Form:
    """Parse an ``application/x-www-form-urlencoded`` body.

    Blank values are kept (``a=&b`` gives ``a`` and ``b`` mapped to ``""``)
    and repeated keys keep every value, in order. Bad percent-escapes are
    kept literally and undecodable bytes become U+FFFD, so a sloppy client
    never causes a server error.

    See :func:`parse_form` for the parameters and errors.
    """
    if isinstance(body, bytes):
        return parse_urlencoded_bytes(
            body,
            charset=charset,
            max_form_memory_size=max_form_memory_size,
            max_form_parts=max_form_parts,
            max_content_length=max_content_length,
        )
    data = await _collect(body, max_content_length, max_form_memory_size)
    return _parse_pairs(data, charset, max_form_parts)


def parse_urlencoded_bytes(
    data: bytes,
    *,
    charset: str = "utf-8",
    max_form_memory_size: int | None = None,
    max_form_parts: int | None = None,
    max_content_length: int | None = None,
) -> _Form:
    """:func:`parse_urlencoded` for a body already in memory, without awaiting."""
    _check_form_size(len(data), max_content_length, max_form_memory_size)
    return _parse_pairs(data, charset, max_form_parts)


async def _collect(
    body: AsyncIterable[bytes], max_content_length: int | None, max_form_memory_size: int | None
) -> bytes:
    # The body is read directly rather than through _slices: slicing only
    # bounds multipart decoding steps, and urlencoded data is kept whole
    # anyway. Each async generator layer costs a few µs on a small form.
    parts: list[bytes] = []
    size = 0
    chunks = aiter(body)
    try:
        async for chunk in chunks:
            size += len(chunk)
            _check_form_size(size, max_content_length, max_form_memory_size)
            parts.append(chunk)
    finally:
        # As in _slices: finalise the body's iterator in this task.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    return b"".join(parts)


def _check_form_size(size: int, max_content_length: int | None, max_form_memory_size: int | None) -> None:
    if max_content_length is not None and size > max_content_length:
        raise _body_too_large(max_content_length)
    if max_form_memory_size is not None and size > max_form_memory_size:
        raise RequestEntityTooLarge(
            f"The form data is larger than the {max_form_memory_size} bytes"
            " allowed (MAX_FORM_MEMORY_SIZE)."
        )


def _parse_pairs(data: bytes, charset: str, max_form_parts: int | None) -> _Form:
    # parse_qsl takes text, and decodes what a percent-escape encodes with
    # ``encoding`` but leaves other non-ASCII characters as they are. So an
    # ASCII body (the usual) has its escapes decoded with the charset; any
    # other is made text byte for byte (latin-1), and each name and value is
    # turned back into bytes and decoded with the charset as a whole, raw
    # bytes and escaped ones alike.
    ascii_only = data.isascii()
    text = data.decode("latin-1")
    encoding = charset if ascii_only else "latin-1"
    try:
        pairs = _split(text, encoding, max_form_parts)
    except ValueError:
        # parse_qsl counts every "&", but the limit is on fields, and empty
        # pieces ("a=1&&b=2") are none: they are counted only when it refuses.
        if max_form_parts is None:
            raise
        if sum(1 for piece in data.split(b"&") if piece) > max_form_parts:
            raise _too_many_parts(max_form_parts) from None
        pairs = _split(text, encoding, None)
    if ascii_only:
        return ImmutableMultiDict(pairs)
    return ImmutableMultiDict(
        [(_from_latin1(name, charset), _from_latin1(value, charset)) for name, value in pairs]
    )


def _split(text: str, encoding: str, max_fields: int | None) -> list[tuple[str, str]]:
    """``name=value`` pairs of ``text``, blank values kept; ``ValueError`` past ``max_fields`` pieces."""
    return parse_qsl(
        text,
        keep_blank_values=True,
        encoding=encoding,
        errors="replace",
        max_num_fields=max_fields,
        separator="&",
    )


def _from_latin1(text: str, charset: str) -> str:
    return text.encode("latin-1").decode(charset, "replace")


async def parse_multipart(
    body: _Source,
    boundary: str,
    *,
    charset: str = "utf-8",
    max_form_memory_size: int | None = None,
    max_form_parts: int | None = None,
    max_content_length: int | None = None,
) -> tuple[_Form, _Files]:
    """Parse a ``multipart/form-data`` body incrementally.

    Parts with a ``filename`` become :class:`~microframe.datastructures.FileStorage`
    objects backed by spooled temporary files; other parts become text
    fields. Parts without a ``name`` are dropped, since no key could reach
    them. An entirely empty body is an empty form, as Flask treats it.

    :param boundary: the ``boundary`` parameter of the Content-Type.

    See :func:`parse_form` for the other parameters and errors.
    """
    if not boundary:
        raise BadRequest(
            "The multipart/form-data request has no boundary in its Content-Type"
            " header. Let the client library build the header instead of setting it."
        )
    try:
        boundary_bytes = boundary.encode("ascii")
    except UnicodeEncodeError:
        raise BadRequest("The multipart/form-data boundary must be ASCII.") from None
    parser = _MultipartParser(
        boundary_bytes,
        charset=charset,
        max_form_memory_size=max_form_memory_size,
        max_form_parts=max_form_parts,
    )
    # BaseException: a cancelled request (client gone, timeout) must close
    # its temporary files too, not only a malformed one.
    try:
        if isinstance(body, bytes):
            _feed_whole(parser, body, max_content_length)
        else:
            await _feed_stream(parser, body, max_content_length)
    except BaseException:
        parser.close()
        raise
    return ImmutableMultiDict(parser.fields), ImmutableMultiDict(parser.files)


def _feed_whole(parser: _MultipartParser, data: bytes, max_content_length: int | None) -> None:
    # A body already in memory is fed without the stream's async machinery,
    # its end known up front. An empty body is an empty form.
    _check_content_length(len(data), max_content_length)
    for start in range(0, len(data), _SLICE_SIZE):
        end = start + _SLICE_SIZE
        parser.feed(data[start:end], last=end >= len(data))


async def _feed_stream(
    parser: _MultipartParser, body: AsyncIterable[bytes], max_content_length: int | None
) -> None:
    received = False
    async with aclosing(_slices(body, max_content_length)) as chunks:
        async for chunk in chunks:
            received = True
            parser.feed(chunk)
    if received:
        parser.finish()



#: How the decoder says a body ended before its closing boundary (werkzeug's
#: words, then ours): any other error is reported as it is.
_ENDED_EARLY = ("the body ends", "Invalid form-data cannot parse beyond")

class _ChunkSafeDecoder(MultipartDecoder):
    """A :class:`MultipartDecoder` whose events do not depend on chunking.

    Werkzeug's decoder can misread a delimiter split across two chunks: it
    decides from what is buffered, and some buffers are undecidable
    (pallets/werkzeug#3285; still so in werkzeug 3.1.9). This reports
    :data:`NEED_DATA` for those until more bytes (or the end of the body)
    arrive. It also drops data after the closing boundary. Drop it once
    werkzeug decides such buffers itself: the chunking tests of
    ``tests/test_formparser.py`` fail with the plain decoder until then.

    It also remembers how the headers of text fields parse, since a form
    sends the same ones on every submission (see :meth:`_part_event`).
    """

    # Shared by every decoder: the same form sends the same part headers on
    # every submission. Emptied when full; a race only costs a re-parse.
    _described: ClassVar[dict[bytes, _Described]] = {}

    def __init__(self, boundary: bytes) -> None:
        super().__init__(boundary)
        self._marker = b"--" + boundary
        self._delimiter_size = len(b"\r\n" + self._marker + b"\r\n")
        self._headers_searched = 0

    def receive_data(self, data: bytes | None) -> None:
        """Buffer ``data``, or mark the end of the body with ``None``."""
        # The epilogue carries no form data; buffering it would only grow
        # memory for as long as a client cares to send.
        if data is not None and self.state is State.EPILOGUE:
            return
        super().receive_data(data)

    def next_event(self) -> Event:
        """Return the next event, or :data:`NEED_DATA` while undecidable.

        :raises werkzeug.exceptions.BadRequest: the body is malformed.
        :raises werkzeug.exceptions.RequestEntityTooLarge: from the decoder's
            own limits (none are set by :class:`_MultipartParser`).
        """
        if not self.complete and self._undecidable():
            return NEED_DATA
        # The decoder is pure parsing over client bytes, so anything it
        # raises besides a 413 means the body is malformed.
        try:
            if self.state is State.PART:
                return self._part_event()
            return super().next_event()
        except HTTPException:
            raise
        except Exception as error:
            if self.complete and str(error).startswith(_ENDED_EARLY):
                raise BadRequest(
                    "The multipart/form-data body is truncated or malformed: it ends"
                    " before its closing boundary."
                ) from error
            raise BadRequest(f"The multipart/form-data body is malformed: {error}") from error

    def _part_event(self) -> Event:
        # The decoder's step for a part's headers, taken over to remember
        # their parse: werkzeug's costs more than all the rest of a small
        # field (parse_options_header on Content-Disposition most of all).
        # Parsing itself is still werkzeug's: _describe calls the decoder's
        # own header-block parser and parse_options_header.
        buffer = self.buffer
        match = BLANK_LINE_RE.search(buffer, self._headers_searched)
        if match is None:
            # The blank line may begin in the bytes already searched.
            self._headers_searched = max(0, len(buffer) - SEARCH_EXTRA_LENGTH)
            if self.complete:
                raise ValueError(f"{_ENDED_EARLY[0]} in the headers of a part")
            return NEED_DATA
        name, filename, headers = self._describe(bytes(buffer[: match.start()]))
        # As werkzeug's step does: the last header's line break is dropped
        # with the headers, the blank line's is left to start the data.
        del buffer[: (match.start() + match.end()) // 2]
        self._headers_searched = 0
        self.state = State.DATA_START
        # A part without a name still makes an event, its name None, as
        # werkzeug's do (_MultipartParser drops it).
        if filename is None:
            return Field(name=cast(str, name), headers=headers)
        return File(name=cast(str, name), filename=filename, headers=headers)

    def _describe(self, block: bytes) -> _Described:
        described = self._described.get(block)
        if described is None:
            headers = self._parse_headers(block)
            if "content-disposition" not in headers:
                raise ValueError("Missing Content-Disposition header")
            _, options = parse_options_header(headers["content-disposition"])
            filename = options.get("filename")
            described = (options.get("name"), filename, headers)
            # Only text fields are remembered: their headers repeat from one
            # submission to the next; a file's carry a filename that varies
            # (and its Headers, unlike a field's, reach the application, in
            # FileStorage.headers, so must be its own). A field's are only
            # read, for the charset, so one Headers serves every submission.
            if filename is None and len(block) <= _PART_MEMO_BLOCK:
                if len(self._described) >= _PART_MEMO_SIZE:
                    self._described.clear()
                self._described[block] = described
        return described

    def _undecidable(self) -> bool:
        state = self.state
        buffer = self.buffer
        if state is State.DATA_START:
            if len(buffer) < self._delimiter_size:
                # A part's data starts after a line break, which the decoder
                # strips before looking for the next delimiter. Werkzeug's
                # test encoder sends an empty value as "headers CRLF CRLF
                # --boundary", the CRLF shared; if it arrives alone,
                # stripping it would hide the delimiter.
                return True
        elif state is not State.DATA:
            return False
        # A buffer ending in "CRLF--boundary-" (or "--boundary" plus up to 16
        # bytes of whitespace) may be a delimiter whose end has not arrived;
        # the decoder would pass its line break on as data. Only the tail is
        # searched: a marker further back has more than 16 bytes after it.
        at = buffer.rfind(self._marker, max(0, len(buffer) - len(self._marker) - 16))
        if at < 1 or buffer[at - 1] not in b"\r\n":
            return False
        tail = bytes(buffer[at + len(self._marker) :])
        partial = tail == b"-" or not tail.strip(b" \t\f\v")
        return partial and self.boundary_re.search(buffer) is None


# The decoder's states while it holds a preamble or a part's headers.
_HEADER_STATES = (State.PREAMBLE, State.PART)


class _MultipartParser:
    """Drive the decoder and collect the fields and files it decodes."""

    def __init__(
        self,
        boundary: bytes,
        *,
        charset: str,
        max_form_memory_size: int | None,
        max_form_parts: int | None,
    ) -> None:
        # The limits are enforced here, not by the decoder: its memory check
        # counts whole network chunks (so a large file chunk would fail) and
        # its errors carry no description.
        self._decoder = _ChunkSafeDecoder(boundary)
        self._charset = charset
        self._max_memory = max_form_memory_size
        self._max_parts = max_form_parts
        self._parts = 0
        self._part: Field | File | None = None
        self._text = bytearray()
        self._spool: SpooledTemporaryFile[bytes] | None = None
        self._spools: list[SpooledTemporaryFile[bytes]] = []
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FileStorage]] = []

    def feed(self, data: bytes, *, last: bool = False) -> None:
        """Decode the next slice of the body; ``last`` if no more follow.

        Saying so with the last slice (rather than by :meth:`finish`) spares
        the decoder from asking, at every event, whether its buffer ends in
        the middle of a delimiter.
        """
        decoder, limit = self._decoder, self._max_memory
        # A preamble or part header is held whole until it ends, so while
        # the decoder reads one it is given no more than the limit allows:
        # one too large is refused however the body was cut into chunks.
        while limit is not None and decoder.state in _HEADER_STATES:
            room = limit + 1 - len(decoder.buffer)
            if len(data) <= room:
                break
            self._decode(data[:room], last=False)
            data = data[room:]
        self._decode(data, last)

    def _decode(self, data: bytes, last: bool) -> None:
        decoder = self._decoder
        decoder.receive_data(data)
        if last:
            decoder.receive_data(None)
        self._drain()
        # In the data states the buffer holds at most a slice plus a few
        # bytes; before them it holds a preamble or headers, which only grow.
        limit = self._max_memory
        if decoder.state in _HEADER_STATES and limit is not None and len(decoder.buffer) > limit:
            raise RequestEntityTooLarge(
                f"A multipart/form-data preamble or part header is larger than the"
                f" {limit} bytes allowed (MAX_FORM_MEMORY_SIZE)."
            )

    def finish(self) -> None:
        """Signal the end of the body; it must have ended with the closing boundary."""
        self._decoder.receive_data(None)
        self._drain()

    def close(self) -> None:
        """Close every temporary file created so far."""
        for spool in self._spools:
            spool.close()

    def _drain(self) -> None:
        # Data first: it is the commonest event (every part has one or more).
        next_event = self._decoder.next_event
        while True:
            event = next_event()
            if isinstance(event, Data):
                if event.more_data:
                    self._write(event.data)
                else:
                    self._end_part(event.data)
            elif isinstance(event, (Field, File)):
                self._start_part(event)
            elif isinstance(event, (NeedData, Epilogue)):
                return

    def _start_part(self, part: Field | File) -> None:
        self._parts += 1
        if self._max_parts is not None and self._parts > self._max_parts:
            raise _too_many_parts(self._max_parts)
        # The decoder's name is None when Content-Disposition has none.
        if not isinstance(part.name, str):
            self._part = None
            return
        self._part = part
        if isinstance(part, File):
            # A file's data is written straight to the spool, never kept
            # whole in memory. The spool outlives this call (FileStorage owns
            # it on success, close() on failure), hence no ``with``.
            self._spool = SpooledTemporaryFile(  # noqa: SIM115
                max_size=SPOOL_MAX_SIZE, mode="w+b"
            )
            self._spools.append(self._spool)

    def _write(self, data: bytes) -> None:
        part = self._part
        if isinstance(part, File):
            assert self._spool is not None
            # A blocking write, on purpose: it lands in memory or in the page
            # cache of a local temp file, far cheaper than a thread hand-off.
            self._spool.write(data)
        elif isinstance(part, Field):
            self._text += data
            self._check_field_size(part, len(self._text))

    def _end_part(self, data: bytes) -> None:
        # ``data`` is the part's last piece; most fields come in one piece,
        # which is decoded as it is, without gathering.
        part = self._part
        if isinstance(part, Field):
            if self._text:
                self._write(data)
                data = bytes(self._text)
                self._text = bytearray()
            else:
                self._check_field_size(part, len(data))
            text = data.decode(_part_charset(part.headers, self._charset), "replace")
            self.fields.append((part.name, text))
        elif isinstance(part, File):
            self._write(data)
            assert self._spool is not None
            self._spool.seek(0)
            storage = FileStorage(
                self._spool, filename=part.filename, name=part.name, headers=part.headers
            )
            self.files.append((part.name, storage))
            self._spool = None
        self._part = None

    def _check_field_size(self, field: Field, size: int) -> None:
        if self._max_memory is not None and size > self._max_memory:
            raise RequestEntityTooLarge(
                f"The form field {field.name!r} is larger than the"
                f" {self._max_memory} bytes allowed (MAX_FORM_MEMORY_SIZE)."
            )


async def _slices(
    body: AsyncIterable[bytes], max_content_length: int | None
) -> AsyncGenerator[bytes, None]:
    """Yield ``body`` in non-empty slices of at most ``_SLICE_SIZE`` bytes, counting them."""
    chunks = aiter(body)
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            _check_content_length(total, max_content_length)
            for start in range(0, len(chunk), _SLICE_SIZE):
                yield chunk[start : start + _SLICE_SIZE]
    finally:
        # When parsing stops early, finalise the body's iterator now, so its
        # cleanup runs in this task rather than whenever it is collected.
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def _check_content_length(size: int, max_content_length: int | None) -> None:
    if max_content_length is not None and size > max_content_length:
        raise _body_too_large(max_content_length)


def _body_too_large(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"The request body is larger than the {limit} bytes allowed (MAX_CONTENT_LENGTH)."
    )


def _part_charset(headers: Headers, default: str) -> str:
    # The decoder requires Content-Disposition, so a part with one header
    # (what browsers send for a text field) declares no charset. getlist,
    # not get: Headers.get finds a missing header by raising and catching a
    # KeyError, which costs more than the rest of a small field.
    if len(headers) < 2:
        return default
    for content_type in headers.getlist("content-type")[:1]:
        declared = parse_options_header(content_type)[1].get("charset", "").lower()
        if declared in _PART_CHARSETS:
            return declared
    return default


def _too_many_parts(limit: int) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(
        f"The form has more than the {limit} fields or parts allowed (MAX_FORM_PARTS)."
    )

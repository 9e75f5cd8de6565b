"""Sending files: :func:`send_file` and :func:`send_from_directory`.

Both build a response whose body is read in chunks while it is sent (a file
on disk through aiofiles), with the headers a browser caches by:
``Content-Type`` guessed from the name, ``Content-Disposition``,
``Last-Modified``, an ``ETag``, ``Cache-Control`` and ``Expires``. The
response then answers the request's conditional and ``Range`` headers, so a
client gets ``304 Not Modified`` for a copy it already has and ``206 Partial
Content`` for a range.

As with the rest of microframe's dual API, they are awaited in async code
(as in Quart) and return the response directly in sync code (as in Flask)::

    @app.get("/report")
    async def report():
        return await send_file("reports/latest.pdf", as_attachment=True)

    @app.get("/logo")
    def logo():
        return send_from_directory(app.config["UPLOADS"], "logo.png")

Both are re-exported by :mod:`microframe.helpers` and :mod:`microframe`.
"""

from __future__ import annotations

import io
import mimetypes
import os
import stat
import time
import unicodedata
import weakref
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from .globals import _cv_request, current_app
from .sync import in_sync_code
from .wrappers import DualResponse, Request, Response
from .wrappers.response_body import BinaryFile, DataBody, FileObjectBody, ResponseBody

if TYPE_CHECKING:
    from .app import Microframe

#: Names longer than this are refused by :func:`send_from_directory` before
#: touching the file system (common file systems allow 255 bytes per name).
MAX_PATH_LENGTH = 4096


@dataclass(slots=True)
class _Options:
    """The arguments of :func:`send_file`, with Quart's older names folded in."""

    mimetype: str | None
    as_attachment: bool
    download_name: str | None
    conditional: bool
    etag: bool | str
    last_modified: datetime | int | float | None
    max_age: int | None
    max_age_given: bool


def _options(
    mimetype: str | None,
    as_attachment: bool,
    download_name: str | None,
    conditional: bool,
    etag: bool | str,
    last_modified: datetime | int | float | None,
    max_age: int | timedelta | None,
    legacy: dict[str, Any],
) -> _Options:
    attachment_filename = legacy.pop("attachment_filename", None)
    cache_timeout = legacy.pop("cache_timeout", None)
    add_etags = legacy.pop("add_etags", None)
    if legacy:
        names = ", ".join(sorted(legacy))
        raise TypeError(f"send_file() got unexpected keyword arguments: {names}")
    if download_name is None:
        download_name = attachment_filename
    if max_age is None:
        max_age = cache_timeout
    if add_etags is not None and etag is True:
        etag = bool(add_etags)
    if isinstance(max_age, timedelta):
        max_age = int(max_age.total_seconds())
    return _Options(
        mimetype=mimetype,
        as_attachment=as_attachment,
        download_name=download_name,
        conditional=conditional,
        etag=etag,
        last_modified=last_modified,
        max_age=max_age,
        max_age_given=max_age is not None,
    )


def send_file(
    path_or_file: str | os.PathLike[str] | BinaryFile,
    mimetype: str | None = None,
    as_attachment: bool = False,
    download_name: str | None = None,
    conditional: bool = True,
    etag: bool | str = True,
    last_modified: datetime | int | float | None = None,
    max_age: int | timedelta | None = None,
    **legacy: object,
) -> DualResponse:
    """Send a file, or a binary file object, to the client.

    Awaited in async code, direct in sync code::

        return await send_file("files/report.pdf")
        return await send_file(io.BytesIO(data), download_name="data.csv")

    A path relative to the app's ``root_path`` is resolved against it. Never
    pass a path taken from the request: use :func:`send_from_directory`.

    :param path_or_file: a path, or a file object opened in binary mode
        (``io.BytesIO`` supports ranges; other objects are streamed as read).
    :param mimetype: the ``Content-Type``; guessed from ``download_name``
        (or the path) when omitted. A file object without a name needs one
        of the two, or :class:`MimetypeNotInferredError` is raised.
    :param as_attachment: ask the browser to save the file rather than show it.
    :param download_name: the file name the browser sees; the path's name
        by default. Non-ASCII names are sent as ``filename*=UTF-8''...``.
    :param conditional: answer ``If-None-Match``, ``If-Modified-Since`` and
        ``Range`` (``304``, ``206`` or ``416``).
    :param etag: compute an ETag for a path (``True``), or the ETag to use
        (a ``str``), or none (``False``).
    :param last_modified: the ``Last-Modified`` time; the file's mtime for
        a path.
    :param max_age: seconds the client may cache the file; by default the
        app's :meth:`~microframe.app.Microframe.get_send_file_max_age`
        (``SEND_FILE_MAX_AGE_DEFAULT``). ``None`` there, Flask's default,
        sends ``Cache-Control: no-cache`` with no ``max-age``, so
        ``max_age=None`` sends no ``max-age`` unless the app sets a default.
    :param legacy: Quart's older names, ``attachment_filename``,
        ``cache_timeout`` and ``add_etags``, are accepted too.
    :raises FileNotFoundError: when the path does not exist (a 500; use
        :func:`send_from_directory` for a 404).
    """
    options = _options(
        mimetype, as_attachment, download_name, conditional, etag, last_modified, max_age, legacy
    )
    # The response, or a coroutine giving it: DualResponse describes both.
    if in_sync_code():
        return _send_sync(path_or_file, options, must_be_file=False)  # type: ignore[return-value]
    return _send_async(path_or_file, options, must_be_file=False)  # type: ignore[return-value]


def send_from_directory(
    directory: str | os.PathLike[str], path: str | os.PathLike[str], **kwargs: Any
) -> DualResponse:
    """Send ``path`` from inside ``directory``, refusing to leave it.

    This is the safe way to send a file named by the request: a path that
    would escape ``directory`` (``..``, an absolute path, a backslash, a
    NUL byte, an over-long name) or does not name a regular file raises
    :class:`~werkzeug.exceptions.NotFound`, never a server error::

        @app.get("/uploads/<path:name>")
        async def upload(name):
            return await send_from_directory(app.config["UPLOAD_FOLDER"], name)

    Awaited in async code, direct in sync code.

    :param directory: the trusted folder, relative to the app's ``root_path``
        when not absolute.
    :param path: the untrusted path of the file within ``directory``.
    :param kwargs: passed to :func:`send_file`.
    """
    full_path = _safe_path(directory, path)
    options = _options(
        kwargs.pop("mimetype", None),
        kwargs.pop("as_attachment", False),
        kwargs.pop("download_name", None),
        kwargs.pop("conditional", True),
        kwargs.pop("etag", True),
        kwargs.pop("last_modified", None),
        kwargs.pop("max_age", None),
        kwargs,
    )
    if in_sync_code():
        return _send_sync(full_path, options, must_be_file=True)  # type: ignore[return-value]
    return _send_async(full_path, options, must_be_file=True)  # type: ignore[return-value]


def _safe_path(directory: str | os.PathLike[str], path: str | os.PathLike[str]) -> str:
    untrusted = os.fspath(path)
    # Backslashes are separators on Windows only; refusing them everywhere
    # keeps an app's behaviour the same on every platform.
    if "\\" in untrusted or "\0" in untrusted or len(untrusted) > MAX_PATH_LENGTH:
        raise NotFound()
    joined = safe_join(os.fspath(directory), untrusted)
    if joined is None:
        raise NotFound()
    return joined


def get_send_file_max_age(app: Microframe, filename: str | None) -> int | None:
    """Return ``SEND_FILE_MAX_AGE_DEFAULT`` of ``app`` in seconds, or ``None``.

    The default of :meth:`Microframe.get_send_file_max_age
    <microframe.app.Microframe.get_send_file_max_age>`.
    """
    value = app.config["SEND_FILE_MAX_AGE_DEFAULT"]
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


# -- building the response ------------------------------------------------------


def _resolve(
    path_or_file: str | os.PathLike[str] | BinaryFile, app: Microframe
) -> tuple[str | None, BinaryFile | None]:
    if isinstance(path_or_file, (str, os.PathLike)):
        path = os.fspath(path_or_file)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        return os.path.join(app.root_path, path), None
    if isinstance(path_or_file, io.TextIOBase):
        raise ValueError("Files must be opened in binary mode or use BytesIO.")
    return None, path_or_file


def _stat(path: str, must_be_file: bool) -> os.stat_result:
    try:
        result = os.stat(path)
    except (OSError, ValueError):
        if must_be_file:
            raise NotFound() from None
        raise
    if must_be_file and not stat.S_ISREG(result.st_mode):
        raise NotFound()
    return result


async def _stat_async(path: str, must_be_file: bool) -> os.stat_result:
    import aiofiles.os

    try:
        result = await aiofiles.os.stat(path)
    except (OSError, ValueError):
        if must_be_file:
            raise NotFound() from None
        raise
    if must_be_file and not stat.S_ISREG(result.st_mode):
        raise NotFound()
    return result


def _send_sync(
    path_or_file: str | os.PathLike[str] | BinaryFile, options: _Options, must_be_file: bool
) -> Response:
    app: Microframe = current_app._get_current_object()  # type: ignore[attr-defined]
    path, file = _resolve(path_or_file, app)
    info = _stat(path, must_be_file) if path is not None else None
    response = _build(app, path, file, info, options)
    request = _request() if options.conditional else None
    if request is not None:
        response.make_conditional(request, **_range_options(response, info))
    return response


async def _send_async(
    path_or_file: str | os.PathLike[str] | BinaryFile, options: _Options, must_be_file: bool
) -> Response:
    app: Microframe = current_app._get_current_object()  # type: ignore[attr-defined]
    path, file = _resolve(path_or_file, app)
    info = await _stat_async(path, must_be_file) if path is not None else None
    response = _build(app, path, file, info, options)
    request = _request() if options.conditional else None
    if request is not None:
        await response.make_conditional(request, **_range_options(response, info))
    return response


def _range_options(response: Response, info: os.stat_result | None) -> dict[str, Any]:
    # Ranges are offered only for bodies that can answer them: a file on disk
    # or bytes in memory, not a stream or a file the front server sends.
    length = response.body.length
    if "X-Sendfile" in response.headers or (not length and info is None):
        return {"accept_ranges": False}
    return {"accept_ranges": True, "complete_length": length}


def _request() -> Request | None:
    ctx = _cv_request.get(None)
    return ctx.request if ctx is not None else None


def _build(
    app: Microframe,
    path: str | None,
    file: BinaryFile | None,
    info: os.stat_result | None,
    options: _Options,
) -> Response:
    download_name = options.download_name
    if download_name is None and path is not None:
        download_name = os.path.basename(path)
    mimetype = options.mimetype
    headers: dict[str, str] = {}
    if mimetype is None:
        if download_name is None:
            raise MimetypeNotInferredError(
                "The mime type cannot be inferred, please set it manually via the"
                " mimetype argument (or name the file with 'download_name', or"
                " pass a path instead of a file object)."
            )
        mimetype, encoding = mimetypes.guess_type(download_name)
        mimetype = mimetype or "application/octet-stream"
        # A Content-Encoding on a download makes browsers decompress saved
        # archives such as .tar.gz, so it is only sent for inline files.
        if encoding is not None and not options.as_attachment:
            headers["Content-Encoding"] = encoding
    if download_name is not None:
        headers["Content-Disposition"] = content_disposition(download_name, options.as_attachment)
    elif options.as_attachment:
        raise TypeError("No name provided for attachment; pass 'download_name'.")

    body = _body(app, path, file, info)
    response = app.response_class(body, mimetype=mimetype, headers=headers)
    response.direct_passthrough = True
    if app.config.get("USE_X_SENDFILE") and path is not None:
        # The front server sends the file; the app sends only the headers.
        response.set_body(DataBody(b""))
        response.headers["X-Sendfile"] = path
        if info is not None:
            response.headers["Content-Length"] = str(info.st_size)

    if options.last_modified is not None:
        response.last_modified = options.last_modified  # type: ignore[assignment]
    elif info is not None:
        response.last_modified = info.st_mtime  # type: ignore[assignment]

    max_age = options.max_age
    if not options.max_age_given:
        max_age = _app_max_age(app, path)
    response.cache_control.no_cache = True
    if max_age is not None:
        if max_age > 0:
            response.cache_control.no_cache = None
            response.cache_control.public = True
        response.cache_control.max_age = max_age
        response.expires = int(time.time() + max_age)  # type: ignore[assignment]

    if isinstance(options.etag, str):
        response.set_etag(options.etag)
    elif options.etag and path is not None and info is not None:
        check = zlib.adler32(path.encode()) & 0xFFFFFFFF
        response.set_etag(f"{info.st_mtime}-{info.st_size}-{check}")
    return response


def _app_max_age(app: Microframe, path: str | None) -> int | None:
    hook = getattr(app, "get_send_file_max_age", None)
    if hook is not None:
        value = hook(path)
        return None if value is None else int(value)
    return get_send_file_max_age(app, path)


def _body(
    app: Microframe, path: str | None, file: BinaryFile | None, info: os.stat_result | None
) -> ResponseBody:
    bodies = app.response_class
    if path is not None:
        return bodies.file_body_class(path, size=info.st_size if info is not None else None)
    if isinstance(file, io.BytesIO):
        # Already in memory: an IOBody answers ranges and knows its length.
        return bodies.io_body_class(file)
    assert file is not None  # _resolve gives a path or a file
    ctx = _cv_request.get(None)
    return FileObjectBody(file, ctx.lease if ctx is not None else None)


class MimetypeNotInferredError(TypeError, ValueError):
    """:func:`send_file` was given a file object with no name and no ``mimetype``.

    Both a :class:`TypeError`, as werkzeug's ``send_file`` (and so Flask's)
    raises, and a :class:`ValueError`, as Quart's raises, so code and tests
    written for either catch it.
    """


_CONTROL_CHARACTERS = dict.fromkeys([*range(32), 127])


def content_disposition(filename: str, as_attachment: bool = False) -> str:
    """Return a ``Content-Disposition`` value for ``filename``.

    ASCII names are quoted as needed; other names get an ASCII fallback and
    the exact name as ``filename*=UTF-8''...`` (RFC 6266)::

        content_disposition("résumé.pdf", True)
        # "attachment; filename=resume.pdf; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    """
    from werkzeug.http import dump_options_header

    kind = "attachment" if as_attachment else "inline"
    # The name may come from users: control characters go (CR and LF would
    # split the header, servers refuse NUL).
    filename = filename.translate(_CONTROL_CHARACTERS)
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
        quoted = quote(filename, safe="!#$&+^`|")
        return dump_options_header(kind, {"filename": fallback, "filename*": f"UTF-8''{quoted}"})
    return dump_options_header(kind, {"filename": filename})


def add_static_route(app: Microframe, static_host: str | None) -> None:
    """Add the app's ``static`` route, serving :meth:`~microframe.app.Microframe.send_static_file`."""
    # Through a weak reference: the app's own bound method in its
    # view_functions would keep it alive in a reference cycle.
    app_ref = weakref.ref(app)

    def static(filename: str) -> Any:
        served = app_ref()
        assert served is not None
        return served.send_static_file(filename)

    # Shares send_static_file's attributes, so a mark an extension sets
    # on it later (Quart-Schema's hide) is seen on the view.
    static.__dict__ = type(app).send_static_file.__dict__

    app.add_url_rule(
        f"{app.static_url_path}/<path:filename>",
        endpoint="static",
        host=static_host,
        view_func=static,
    )


__all__ = [
    "MimetypeNotInferredError",
    "add_static_route",
    "content_disposition",
    "get_send_file_max_age",
    "send_file",
    "send_from_directory",
]

"""The dev server's reloader: which files it watches, and how workers load the app again.

``microframe run --reload`` (on in debug mode) serves the app from worker
processes that Hypercorn's supervisor starts. The supervising process runs
a :class:`Reloader` thread over a :class:`FileWatch`; when a watched file
changes, :mod:`microframe.serving` prints which one and has Hypercorn
replace its workers, which import the app afresh through
:func:`load_worker_app`. A worker whose import fails (a syntax error saved
mid-edit) prints the error and serves :class:`LoadFailure` instead of
exiting, which would end the server; the next save replaces it.

Werkzeug's reloader (``werkzeug._reloader``, private) restarts the whole
process and runs the server on a second thread; Hypercorn's supervisor needs
the main thread for its signals, so the watching is done here, the same
way: module files, Python files under the project's import paths, plus
what Flask users add (``--extra-files``, ``--exclude-patterns``) and the
templates.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterable

from .app import Microframe
from .discovery import AppImportError, NoAppException, load_served_app
from .helpers import get_debug_flag
from .template_loader import folder_of
from .typing import ASGIApp, ASGIReceiveCallable, ASGISendCallable, Scope

#: Seconds between two looks at the watched files.
RELOAD_INTERVAL = 1.0

#: Set (to ``1``) in the environment of worker processes that the reloader
#: replaces: such a worker survives an app that fails to import.
RELOADING_ENV = "MICROFRAME_RELOADING"

# Folders never looked into for new files: caches, version control and
# environments (werkzeug's reloader skips the first two kinds too).
_SKIPPED_FOLDERS = frozenset(
    {
        "__pycache__", ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules", "site-packages",
    }
)
# The interpreter's own files never change under a running server; the
# environment's installed packages are watched only as the modules loaded.
_STANDARD_PREFIXES = tuple({sys.base_prefix, sys.base_exec_prefix})
_INSTALL_PREFIXES = tuple({*_STANDARD_PREFIXES, sys.prefix, sys.exec_prefix})
# The modification time recorded for a watched file that does not exist.
_ABSENT = -1.0


class FileWatch:
    """The files whose change reloads the server, with their modification times.

    :param files: single files to watch (loaded modules, extra files); one
        that does not exist yet is watched for its creation.
    :param python_folders: folders whose ``.py`` files are watched, found
        again when a file is added (the project's import paths). As in
        werkzeug's reloader, a folder is not entered if neither it nor its
        parent holds a Python file.
    :param folders: folders all of whose files are watched (templates,
        extra folders).
    :param exclude_patterns: :mod:`fnmatch` patterns of absolute paths of
        files and folders never watched.

    Each look (:meth:`changed`) stats the watched files and folders; only a
    folder whose modification time moved (a file was added or renamed) is
    listed again. The cost when idle is one ``stat`` per file.
    """

    def __init__(
        self,
        files: Iterable[str] = (),
        python_folders: Iterable[str] = (),
        folders: Iterable[str] = (),
        exclude_patterns: Iterable[str] = (),
    ) -> None:
        self.exclude_patterns = list(exclude_patterns)
        self._mtimes: dict[str, float] = {}
        # folder -> (modification time, Python files only, its parent holds
        # Python files): what listing it again needs.
        self._folders: dict[str, tuple[float, bool, bool]] = {}
        for path in files:
            self._add_file(os.path.abspath(path), absent_too=True)
        for folder in python_folders:
            self._add_folder(os.path.abspath(folder), python_only=True, parent_has_python=True)
        for folder in folders:
            self._add_folder(os.path.abspath(folder), python_only=False, parent_has_python=True)

    def __len__(self) -> int:
        """How many files are watched (named files that do not exist yet included)."""
        return len(self._mtimes)

    def files(self) -> set[str]:
        """The files watched now."""
        return set(self._mtimes)

    def excluded(self, path: str) -> bool:
        """Whether ``path`` matches one of the exclude patterns."""
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.exclude_patterns)

    def changed(self) -> str | None:
        """Return a file changed since the last look, if any (all are looked at)."""
        for folder, (mtime, python_only, parent_has_python) in list(self._folders.items()):
            try:
                now = os.stat(folder).st_mtime
            except OSError:
                continue
            if now != mtime:
                self._folders[folder] = (now, python_only, parent_has_python)
                self._list(folder, python_only, parent_has_python)
        found = None
        for path, mtime in self._mtimes.items():
            try:
                now = os.stat(path).st_mtime
            except OSError:
                # Gone, perhaps for a moment while an editor saves it; it is
                # noticed when it comes back with a new time.
                continue
            if now != mtime:
                self._mtimes[path] = now
                found = found or path
        return found

    def _add_file(self, path: str, absent_too: bool = False) -> None:
        if path in self._mtimes or self.excluded(path):
            return
        try:
            self._mtimes[path] = os.stat(path).st_mtime
        except OSError:
            if absent_too:
                # A file named to be watched that does not exist yet: its
                # appearance is a change.
                self._mtimes[path] = _ABSENT

    def _add_folder(self, folder: str, python_only: bool, parent_has_python: bool) -> None:
        known = self._folders.get(folder)
        # A folder met again is listed again only to watch all its files
        # where it watched its Python files (templates inside the project).
        if (known is not None and (python_only or not known[1])) or self.excluded(folder):
            return
        try:
            mtime = os.stat(folder).st_mtime
        except OSError:
            return
        self._folders[folder] = (mtime, python_only, parent_has_python)
        self._list(folder, python_only, parent_has_python)

    def _list(self, folder: str, python_only: bool, parent_has_python: bool) -> None:
        """Watch the files of ``folder`` not watched yet, and its new subfolders."""
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        subfolders = []
        has_python = False
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subfolders.append(entry.path)
            elif not python_only or entry.name.endswith(".py"):
                has_python = has_python or entry.name.endswith(".py")
                # A file added now is recorded without a reload: the file
                # that imports or renders it changes too.
                self._add_file(entry.path)
        if python_only and not (has_python or parent_has_python):
            return
        for path in subfolders:
            name = os.path.basename(path)
            if name in _SKIPPED_FOLDERS or name.startswith("."):
                continue
            if python_only and (
                path.startswith(_INSTALL_PREFIXES) or os.path.exists(os.path.join(path, "pyvenv.cfg"))
            ):
                continue
            self._add_folder(path, python_only, has_python)


def watch_for(
    app: Microframe, extra_files: Iterable[str] = (), exclude_patterns: Iterable[str] = ()
) -> FileWatch:
    """Return what the reloader watches for ``app``, as loaded in this process.

    That is: the files of the loaded modules (but the standard library's),
    the ``.py`` files under the import paths outside the Python installation
    and its environment (so that a module the app starts importing after a
    reload is watched too), every file of the app's and its blueprints'
    template folders, and ``extra_files`` (a folder: every file in it).
    """
    modules = [
        file
        for module in list(sys.modules.values())
        if isinstance(file := getattr(module, "__file__", None), str)
        and not file.startswith(_STANDARD_PREFIXES)
        and os.path.isfile(file)
    ]
    paths = [os.path.abspath(entry or ".") for entry in sys.path]
    python_folders = [
        path for path in paths if os.path.isdir(path) and not path.startswith(_INSTALL_PREFIXES)
    ]
    templates = [
        folder
        for scaffold in (app, *app.iter_blueprints())
        if (folder := folder_of(scaffold)) is not None and os.path.isdir(folder)
    ]
    extra = [os.path.abspath(path) for path in extra_files]
    return FileWatch(
        files=[*modules, *(path for path in extra if not os.path.isdir(path))],
        python_folders=python_folders,
        folders=[*templates, *(path for path in extra if os.path.isdir(path))],
        exclude_patterns=exclude_patterns,
    )


class Reloader:
    """A thread that looks at a :class:`FileWatch` every ``interval`` seconds.

    :param watch: the files.
    :param on_change: called on the thread with the path of a changed file.
    :param interval: seconds between two looks.
    """

    def __init__(
        self, watch: FileWatch, on_change: Callable[[str], None], interval: float = RELOAD_INTERVAL
    ) -> None:
        self.watch = watch
        self.on_change = on_change
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="microframe-reloader", daemon=True)

    def start(self) -> None:
        """Start looking, on a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop looking, and wait for the thread to end."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            path = self.watch.changed()
            if path is not None:
                self.on_change(path)


# -- in the worker processes ------------------------------------------------------------


def load_worker_app() -> ASGIApp:
    """Load the app in a worker process (Hypercorn calls this in each one).

    In a worker the reloader started (:data:`RELOADING_ENV` is set), an app
    that fails to load is reported on standard error, with the traceback
    (file and line of a syntax error), and the worker serves
    :class:`LoadFailure` until the next change replaces it. Elsewhere the
    error ends the worker, and so the server, as it did at the first start.
    """
    try:
        return load_served_app()
    except Exception as error:
        if os.environ.get(RELOADING_ENV) != "1":
            raise
        report = describe_load_error(error)
        print(f"{report}\n * Serving an error page until the next change.", file=sys.stderr, flush=True)
        return LoadFailure(report, show=get_debug_flag())


def describe_load_error(error: Exception) -> str:
    """The traceback (if any) and the one-line reason the app could not be loaded."""
    if isinstance(error, AppImportError):
        return f"{error.traceback_text.rstrip()}\nError: {error.format_message()}"
    if isinstance(error, NoAppException):
        return f"Error: {error.format_message()}"
    return "".join(traceback.format_exception(error)).rstrip()


class LoadFailure:
    """An ASGI app that answers every request with 500: the real app failed to load.

    :param report: what went wrong (a traceback), shown in the page when
        ``show`` is true (debug mode), and only in the terminal otherwise.
    :param show: put ``report`` in the page.
    """

    def __init__(self, report: str, show: bool) -> None:
        self.report = report
        self.show = show

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        """Serve the scope: lifespan events succeed, requests get the error."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].removeprefix("lifespan.")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        elif scope["type"] == "websocket":
            # Closing before accepting refuses the handshake (403).
            await send({"type": "websocket.close", "code": 1011})
        else:
            text = "Internal Server Error: the app failed to load; the server's output says why.\n"
            if self.show:
                text = f"The app failed to load; save a fix and reload this page.\n\n{self.report}\n"
            body = text.encode("utf-8", "replace")
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})


__all__ = [
    "RELOADING_ENV",
    "RELOAD_INTERVAL",
    "FileWatch",
    "LoadFailure",
    "Reloader",
    "describe_load_error",
    "load_worker_app",
    "watch_for",
]

"""Port Flask's tutorial (flaskr) to microframe, the way docs/porting.md says.

Two ports, applied to the tutorial as fetched from Flask's sdist:

``imports``
    Step 1 of the porting guide and nothing else: every ``from flask import
    ...`` line imports from ``microframe`` instead (``Flask`` as
    ``Microframe as Flask``). No shim is installed.

``async``
    Step 1, then step 2: every view, hook, teardown and view decorator
    becomes ``async def``; what reads the body or renders is awaited;
    ``init_db`` reads its schema with ``await current_app.open_resource``;
    and the tests move to ``async def`` with ``await client.get(...)``,
    ``await response.get_data()``, ``async with client:`` and ``async with
    app.app_context():``.

Each step is a rule that must change the source as many times as stated, so
that a new Flask release that changes the tutorial breaks the port loudly
instead of leaving part of it unported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    """Replace ``pattern`` by ``replacement`` in ``file``, exactly ``count`` times."""

    file: str
    pattern: str
    replacement: str
    count: int

    def apply(self, root: Path) -> None:
        """Rewrite the file, or fail if the rule does not fit the source."""
        path = root / self.file
        source = path.read_text(encoding="utf-8")
        changed, made = re.subn(self.pattern, self.replacement, source, flags=re.MULTILINE)
        if made != self.count:
            raise RuntimeError(
                f"port rule {self.pattern!r} made {made} change(s) in {self.file},"
                f" expected {self.count}: the tutorial changed, update conformance/port.py"
            )
        path.write_text(changed, encoding="utf-8")


def port_imports(root: Path) -> None:
    """Step 1: import from microframe instead of flask, in every module."""
    for path in sorted([*root.glob("flaskr/*.py"), *root.glob("tests/*.py")]):
        source = path.read_text(encoding="utf-8")
        source = re.sub(r"^from flask import Flask$", "from microframe import Microframe as Flask",
                        source, flags=re.MULTILINE)
        source = re.sub(r"^from flask(\.\w+)* import ", r"from microframe\1 import ", source,
                        flags=re.MULTILINE)
        if re.search(r"^\s*(from|import) flask\b", source, flags=re.MULTILINE):
            raise RuntimeError(f"{path}: a flask import is left that step 1 does not cover")
        path.write_text(source, encoding="utf-8")


#: Step 2 for flaskr and its tests. Views, hooks and teardown become async;
#: blocking sqlite3 stays (the guide's step 3 replaces the driver later), and
#: every piece that touches the connection runs on the event loop's thread.
ASYNC_RULES: tuple[Rule, ...] = (
    # The app: views, the hook that loads the user, the teardown, and the
    # view decorator.
    Rule("flaskr/__init__.py", r"^    def hello\(\):", "    async def hello():", 1),
    Rule("flaskr/auth.py", r"^    def wrapped_view\(", "    async def wrapped_view(", 1),
    Rule("flaskr/auth.py", r"return view\(\*\*kwargs\)", "return await view(**kwargs)", 1),
    Rule("flaskr/auth.py", r"^def (load_logged_in_user|register|login|logout)\(",
         r"async def \1(", 4),
    Rule("flaskr/blog.py", r"^def (index|create|update|delete)\(", r"async def \1(", 4),
    Rule("flaskr/auth.py", r"request\.form\[", "(await request.form)[", 4),
    Rule("flaskr/blog.py", r"request\.form\[", "(await request.form)[", 4),
    Rule("flaskr/auth.py", r"return render_template\(", "return await render_template(", 2),
    Rule("flaskr/blog.py", r"return render_template\(", "return await render_template(", 3),
    Rule("flaskr/db.py", r"^def (close_db|init_db)\(", r"async def \1(", 2),
    Rule("flaskr/db.py", r"^    with current_app\.open_resource\(\"schema\.sql\"\) as f:\n"
                         r"        db\.executescript\(f\.read\(\)\.decode\(\"utf8\"\)\)",
         "    async with await current_app.open_resource(\"schema.sql\") as f:\n"
         "        db.executescript((await f.read()).decode(\"utf8\"))", 1),
    # The command awaits the now async init_db: microframe's command line
    # runs async commands.
    Rule("flaskr/db.py", r"^def init_db_command\(\):\n(    \"\"\".*\"\"\"\n)    init_db\(\)",
         "async def init_db_command():\n\\1    await init_db()", 1),
    # The tests: fixtures and tests that use the client or the app context
    # become async and await the client's calls.
    Rule("tests/conftest.py", r"^def app\(\):", "async def app():", 1),
    Rule("tests/conftest.py", r"^    with app\.app_context\(\):\n        init_db\(\)",
         "    async with app.app_context():\n        await init_db()", 1),
    Rule("tests/conftest.py", r"^    def (login|logout)\(", r"    async def \1(", 2),
    Rule("tests/conftest.py", r"return self\._client\.", "return await self._client.", 2),
    Rule("tests/test_auth.py", r"^def test_", "async def test_", 5),
    Rule("tests/test_blog.py", r"^def test_", "async def test_", 8),
    Rule("tests/test_db.py", r"^def test_get_close_db", "async def test_get_close_db", 1),
    Rule("tests/test_db.py", r"^    def fake_init_db", "    async def fake_init_db", 1),
    Rule("tests/test_factory.py", r"^def test_hello", "async def test_hello", 1),
    *(
        Rule(f"tests/{name}", r"(?<![\w.])(client\.(get|post)\(|auth\.(login|logout)\()",
             r"await \1", count)
        for name, count in (("test_auth.py", 9), ("test_blog.py", 20), ("test_factory.py", 1))
    ),
    *(
        Rule(f"tests/{name}", r"^    with (client|app\.app_context\(\)):", r"    async with \1:", count)
        for name, count in (("test_auth.py", 3), ("test_blog.py", 4), ("test_db.py", 1))
    ),
    # Awaited calls bind tighter once parenthesized: (await x).status_code.
    *(
        Rule(f"tests/{name}", r"(await (?:client|self\._client|auth)\.\w+\([^()]*(?:\([^()]*\)[^()]*)*\))"
                              r"\.(status_code|headers|data)",
             r"(\1).\2", count)
        for name, count in (("test_auth.py", 2), ("test_blog.py", 6))
    ),
    *(
        Rule(f"tests/{name}", r"\bresponse\.data\b", "(await response.get_data())", count)
        for name, count in (("test_auth.py", 2), ("test_blog.py", 7), ("test_factory.py", 1))
    ),
    Rule("tests/test_blog.py", r"\((await client\.get\(\"/\"\))\)\.data\b",
         r"(await (\1).get_data())", 1),
)


def port_async(root: Path) -> None:
    """Steps 1 and 2: microframe imports, then async views, hooks and tests."""
    port_imports(root)
    for rule in ASYNC_RULES:
        rule.apply(root)


PORTS = {"imports": port_imports, "async": port_async}


def apply(mode: str, root: Path) -> None:
    """Apply the port called ``mode`` to the tutorial unpacked at ``root``."""
    PORTS[mode](root)

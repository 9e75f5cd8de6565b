"""The suites the conformance harness runs, and where each comes from.

Every suite is other people's code, fetched at run time from the sdist of a
pinned release and run unchanged: Flask's own test suite, Flask's tutorial
(ported twice, see :mod:`conformance.port`), and the test suites of the
extensions Flask and Quart users reach for first. (Quart's sdist ships no
tests, so Quart itself is covered by its extensions' suites.)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    """One test suite taken from one sdist."""

    #: Short name, used on the command line and in the expectations file.
    name: str
    #: The pinned release whose sdist holds the tests (``name==version``).
    requirement: str
    #: The folder inside the sdist that becomes the suite's root (cwd).
    root: str = ""
    #: What to pass to pytest, relative to the root.
    paths: tuple[str, ...] = ("tests",)
    #: How the source is changed before running on microframe: ``"shim"``
    #: (unchanged; ``import flask`` is served by microframe), or a port
    #: defined in :mod:`conformance.port` (``"imports"``, ``"async"``).
    mode: str = "shim"
    #: Extra pytest arguments (plugins the suite does not use are turned off
    #: so that their warnings do not trip the suite's ``error`` filter).
    pytest_args: tuple[str, ...] = ("-p", "no:asyncio")
    #: What the suite is, for the report.
    notes: str = ""
    #: The framework the suite is written for, run as the reference.
    reference: str = "Flask"

    @property
    def distribution(self) -> str:
        """The project name of :attr:`requirement`."""
        return self.requirement.partition("==")[0]

    @property
    def version(self) -> str:
        """The pinned version of :attr:`requirement`."""
        return self.requirement.partition("==")[2]


FLASK = "flask==3.1.3"
#: Quart's extensions' suites run on pytest-asyncio, configured by their
#: pyproject.toml (whose ``addopts`` need pytest-cov installed).
QUART_ARGS: tuple[str, ...] = ()

SUITES: tuple[Suite, ...] = (
    Suite("flask", FLASK, notes="Flask's own test suite"),
    Suite(
        "tutorial",
        FLASK,
        root="examples/tutorial",
        mode="imports",
        notes="Flask's tutorial app (flaskr), import lines changed only",
    ),
    Suite(
        "tutorial-async",
        FLASK,
        root="examples/tutorial",
        mode="async",
        pytest_args=("-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"),
        notes="Flask's tutorial app ported to async as docs/porting.md says",
    ),
    Suite(
        "javascript",
        FLASK,
        root="examples/javascript",
        notes="Flask's JavaScript example (fetch, XHR, jQuery), unchanged through the shim",
    ),
    Suite("flask-login", "flask-login==0.6.3"),
    Suite("flask-wtf", "flask-wtf==1.3.0"),
    Suite("flask-cors", "flask-cors==6.0.5"),
    Suite("flask-sqlalchemy", "flask-sqlalchemy==3.1.1"),
    Suite("flask-caching", "flask-caching==2.5.1"),
    Suite("flask-migrate", "flask-migrate==4.1.0"),
    Suite("flask-httpauth", "flask-httpauth==4.8.1"),
    # Flask-Talisman ships its tests inside the package.
    Suite("flask-talisman", "flask-talisman==1.1.0", paths=("flask_talisman/talisman_test.py",)),
    # Quart's extensions, run on the real Quart and on microframe with
    # 'import quart' served by microframe.quart_compat. Their suites are
    # async (pytest-asyncio, which their pyproject.toml configures).
    Suite("quart-schema", "quart-schema==0.25.0", pytest_args=QUART_ARGS, reference="Quart"),
    Suite("quart-auth", "quart-auth==0.12.0", pytest_args=QUART_ARGS, reference="Quart"),
    Suite("quart-cors", "quart-cors==0.8.0", pytest_args=QUART_ARGS, reference="Quart"),
    Suite("quart-rate-limiter", "quart-rate-limiter==0.12.1", pytest_args=QUART_ARGS,
          reference="Quart"),
    # The API and auth extensions: JSON web tokens, REST resources and
    # schemas (marshmallow, webargs, OpenAPI documents), OAuth, compression,
    # rate limits, time rendering.
    Suite("flask-jwt-extended", "flask-jwt-extended==4.7.4"),
    # Flask-Limiter's redis/memcached/mongo tests want docker's services
    # (lovely-pytest-docker, not installed): they fail on both sides.
    Suite("flask-limiter", "flask-limiter==4.1.1"),
    Suite("flask-restful", "flask-restful==0.3.10"),
    Suite("flask-restx", "flask-restx==1.3.2"),
    Suite("flask-marshmallow", "flask-marshmallow==1.5.0"),
    Suite("flask-smorest", "flask-smorest==0.47.0"),
    Suite("apiflask", "apiflask==3.1.2", paths=("tests", "examples")),
    Suite("flask-openapi3", "flask-openapi3==4.3.2"),
    Suite("flask-dance", "flask-dance==7.1.0"),
    Suite("flask-compress", "flask-compress==1.25"),
    Suite("flask-moment", "flask-moment==1.0.6"),
    # Flask-Admin ships its tests inside the package. 2.2.1 predates WTForms
    # 3.3 (pinned for Flask-WTF), whose deprecation warnings its
    # warnings-as-errors would turn into failures on both sides. Three of its
    # MongoDB tests wait for a server that is not there until the 30 s test
    # timeout, on both sides: not run (90 s a side).
    Suite(
        "flask-admin",
        "flask-admin==2.2.1",
        paths=("flask_admin/tests",),
        pytest_args=(
            "-p", "no:asyncio",
            "--deselect=flask_admin/tests/pymongo/test_basic.py::test_model",
            "--deselect=flask_admin/tests/mongoengine/test_basic.py::test_model",
            "--deselect=flask_admin/tests/mongoengine/test_basic.py::"
            "test_api_file_view_sets_content_disposition",
            "-W", "ignore:Passing SelectField choices as tuples:DeprecationWarning",
            "-W", "ignore:'DateTimeField' renders:DeprecationWarning",
        ),
    ),
    # Security (Flask-Security-Too, published as Flask-Security again since
    # 5.6), dependency injection, uploads, web assets. Flask-Security's whole
    # suite takes over 3 minutes on Flask: its core (login, roles, CSRF,
    # WebAuthn, JSON responses, async views) is run.
    Suite(
        "flask-security",
        "flask-security==5.9.2",
        paths=(
            "tests/test_basic.py", "tests/test_csrf.py", "tests/test_webauthn.py",
            "tests/test_response.py", "tests/test_context_processors.py", "tests/test_async.py",
        ),
    ),
    # Flask-Injector ships its tests inside the package.
    Suite("flask-injector", "flask-injector==0.15.0", paths=("flask_injector/tests.py",)),
    Suite("flask-reuploaded", "flask-reuploaded==1.6.0"),
    Suite("flask-assets", "flask-assets==2.1.0"),
    Suite("quart-tasks", "quart-tasks==0.5.0", pytest_args=QUART_ARGS, reference="Quart"),
    # Quart-DB's tests run on aiosqlite; its PostgreSQL ones need a server.
    Suite("quart-db", "quart-db==0.12.0", pytest_args=QUART_ARGS, reference="Quart"),
)


def by_name(names: list[str]) -> list[Suite]:
    """The suites called ``names`` (all of them when ``names`` is empty)."""
    if not names:
        return list(SUITES)
    known = {suite.name: suite for suite in SUITES}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown suite(s): {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[name] for name in names]

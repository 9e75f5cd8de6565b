"""The distribution: its name on the package index, and every install instruction.

``microframe`` on the package index is an unrelated project, so this one is
published as ``microframe-asgi`` and imported as ``microframe``; no page may
tell a user to ``pip install microframe``.
"""

from __future__ import annotations

import re
import shlex
from importlib import metadata
from pathlib import Path

from click.testing import CliRunner

import microframe
from microframe.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DISTRIBUTION = "microframe-asgi"

_PIP_INSTALL = re.compile(r"\bpip3?\s+install\s+(?P<args>[^`\n;&|#]*)")


def _install_targets(line: str) -> list[str]:
    """The requirement arguments of each ``pip install`` in ``line``."""
    targets: list[str] = []
    for match in _PIP_INSTALL.finditer(line):
        try:
            words = shlex.split(match["args"])
        except ValueError:
            words = match["args"].split()
        targets += [word for word in words if not word.startswith("-")]
    return targets


def _requirement_name(target: str) -> str:
    return re.split(r"[\[<>=!~ ;]", target, maxsplit=1)[0].lower().replace("_", "-")


def _pages() -> list[Path]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pages += sorted((ROOT / "examples").rglob("README.md"))
    pages += sorted((ROOT / "benchmarks").rglob("*.md"))
    return [page for page in pages if "_build" not in page.parts]


def test_installed_under_its_own_name() -> None:
    dist = metadata.distribution(DISTRIBUTION)
    assert dist.version == microframe.__version__
    assert dist.metadata["Summary"] == "A Flask-compatible async web microframework on ASGI"
    assert dist.entry_points.select(group="console_scripts", name="microframe")


def test_version_option_reports_the_running_package() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Microframe {microframe.__version__}"


def test_install_targets_are_read_from_commands() -> None:
    line = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' pytest && ls"
    assert _install_targets(line) == [".[test]", "pytest"]
    assert _install_targets("`pip install microframe`") == ["microframe"]
    assert _requirement_name("microframe[dotenv]>=0.1") == "microframe"


def test_no_page_installs_the_unrelated_package() -> None:
    wrong: list[str] = []
    found_instruction = False
    for page in _pages():
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for target in _install_targets(line):
                name = _requirement_name(target)
                if name == "microframe":
                    wrong.append(f"{page.relative_to(ROOT)}:{number}: {line.strip()}")
                if name == DISTRIBUTION or target.startswith(("-e", ".", "path/to/")):
                    found_instruction = True
    assert not wrong, "'microframe' on the package index is another project:\n" + "\n".join(wrong)
    assert found_instruction


def test_getting_started_pages_say_how_to_install_this_project() -> None:
    for name in ("README.md", "docs/quickstart.md", "docs/tutorial.md"):
        text = " ".join((ROOT / name).read_text(encoding="utf-8").split())
        assert re.search(r"pip install (-q )?-e ", text), name
        assert "not on the package index yet" in text, name


# Dependencies whose internals (or whole API) microframe relies on, and the
# kind of bound setup.cfg gives them: below the next minor or major release.
_CAPPED = {
    "hypercorn": "minor",
    "werkzeug": "minor",
    "jinja2": "minor",
    "blinker": "major",
    "click": "major",
    "itsdangerous": "major",
    "markupsafe": "major",
}


def test_dependencies_are_capped_and_installed_within_their_bounds() -> None:
    from packaging.requirements import Requirement
    from packaging.version import Version

    requirements = {}
    for line in metadata.distribution(DISTRIBUTION).requires or []:
        requirement = Requirement(line)
        if requirement.marker is None:
            requirements[requirement.name.lower()] = requirement
    for name, kind in _CAPPED.items():
        specifier = requirements[name].specifier
        uppers = [Version(spec.version) for spec in specifier if spec.operator == "<"]
        assert len(uppers) == 1, f"{name} needs one upper bound: {specifier}"
        installed = Version(metadata.version(name))
        # What the tests run against is what the bounds allow...
        assert installed in specifier, f"{name} {installed} is outside {specifier}"
        # ...and the bound is the next release of its kind, not a guess.
        if kind == "minor":
            assert uppers[0].release[:2] == (installed.major, installed.minor + 1), name
        else:
            assert uppers[0].release[:1] == (installed.major + 1,), name


# The extras that install a fast production server, and what each must bring.
_SERVER_EXTRAS = {"uvicorn": ("uvicorn", {"standard"}), "granian": ("granian", set())}


def test_server_extras_are_bounded_and_admit_what_the_tests_run() -> None:
    """``[uvicorn]`` is ``uvicorn[standard]`` and ``[granian]`` is ``granian``, each
    below its next major release (only their command lines and ASGI are used)
    and admitting the version the deployment tests ran against."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    declared = metadata.distribution(DISTRIBUTION).requires or []
    for extra, (name, wanted_extras) in _SERVER_EXTRAS.items():
        found = [
            requirement
            for requirement in map(Requirement, declared)
            if requirement.marker is not None
            and requirement.marker.evaluate({"extra": extra})
            and not requirement.marker.evaluate({"extra": "no-such-extra"})
        ]
        assert [r.name for r in found] == [name], f"[{extra}] should install exactly {name}"
        requirement = found[0]
        assert requirement.extras == wanted_extras, extra
        uppers = [Version(spec.version) for spec in requirement.specifier if spec.operator == "<"]
        lowers = [spec for spec in requirement.specifier if spec.operator == ">="]
        assert len(uppers) == 1 and len(lowers) == 1, f"[{extra}] needs a floor and a cap: {requirement}"
        installed = Version(metadata.version(name))
        assert installed in requirement.specifier, f"{name} {installed} is outside {requirement.specifier}"
        assert uppers[0].release[:1] == (installed.major + 1,), name

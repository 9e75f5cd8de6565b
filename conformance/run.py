"""Run other people's test suites against microframe and compare outcomes.

``python -m conformance`` (from the repository root) does, for each suite in
:mod:`conformance.suites`:

1. fetch the pinned sdist once (``pip download --no-binary :all: --no-deps``)
   into the cache folder, ``~/.cache/microframe-conformance/`` by default;
2. unpack it into a fresh work folder and run its tests twice, in a virtual
   environment of their own (``venv`` in that folder, made from
   ``conformance/requirements.txt`` and this checkout of microframe): on the
   real Flask or Quart (the reference), and on microframe, unchanged with the
   ``flask`` and ``quart`` shims installed before anything imports them (or
   ported, for the tutorial, see :mod:`conformance.port`);
3. compare: every test that passes on the reference must pass on microframe, unless
   ``conformance/expectations.toml`` excludes it with a reason.

It exits non-zero when a test that should pass does not. Excluded tests that
pass are reported, so that the list shrinks.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from . import port
from .suites import Suite, by_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
REQUIREMENTS = HERE / "requirements.txt"
EXPECTATIONS = HERE / "expectations.toml"
#: Outside the repository: pytest looks for its configuration in the folders
#: above a suite, and must not find microframe's own.
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "microframe-conformance"
#: How long one test may take (pytest-timeout) before it counts as failed.
TEST_TIMEOUT = 30
#: How long one run of one suite may take before it counts as failed.
SUITE_TIMEOUT = 600


@dataclass
class Outcome:
    """The outcome of one suite on one side (the reference or microframe)."""

    tests: dict[str, dict[str, str]]
    seconds: float
    returncode: int
    log: Path

    def passed(self, test: str) -> bool:
        """Whether ``test`` passed (or xpassed)."""
        return self.tests.get(test, {}).get("outcome") in ("passed", "xpassed")

    def detail(self, test: str) -> str:
        """What went wrong with ``test``, in one line."""
        entry = self.tests.get(test)
        if entry is None:
            failed_parents = [
                node for node, value in self.tests.items()
                if test.startswith(node + "::") or test.startswith(node.rstrip("/") + "/")
                if value["outcome"] == "failed"
            ]
            if failed_parents:
                return f"not collected: {self.tests[failed_parents[0]]['detail']}"
            return "not run"
        return f"{entry['outcome']}: {entry['detail']}" if entry["detail"] else entry["outcome"]


@dataclass
class Comparison:
    """One suite's outcomes on the reference (Flask or Quart) and microframe, judged."""

    suite: Suite
    reference: Outcome
    microframe: Outcome
    expectations: Expectations
    regressions: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    excluded_but_passing: list[str] = field(default_factory=list)
    unused_exclusions: list[str] = field(default_factory=list)

    def judge(self) -> None:
        """Sort the tests that pass on the reference into passing, excluded and regressed."""
        used: set[str] = set()
        exclusions = self.expectations.all
        for test in sorted(self.reference.tests):
            if not self.reference.passed(test):
                continue
            pattern = _matching(test, exclusions)
            if pattern is not None:
                used.add(pattern)
                self.excluded.append(test)
                if self.microframe.passed(test):
                    self.excluded_but_passing.append(test)
            elif not self.microframe.passed(test):
                self.regressions.append(test)
        self.unused_exclusions = sorted(set(exclusions) - used)

    @property
    def reference_passed(self) -> int:
        """How many tests pass on the reference (Flask or Quart)."""
        return sum(self.reference.passed(test) for test in self.reference.tests)

    @property
    def microframe_passed(self) -> int:
        """How many of the tests that pass on the reference pass on microframe."""
        return sum(
            self.microframe.passed(test)
            for test in self.reference.tests
            if self.reference.passed(test)
        )


def _matching(test: str, exclusions: dict[str, str]) -> str | None:
    for pattern in exclusions:
        if test == pattern or fnmatchcase(test, pattern):
            return pattern
    return None


@dataclass(frozen=True)
class Expectations:
    """One suite's exclusions: test id or ``fnmatch`` pattern -> reason."""

    #: Tests that run but are not expected to pass on microframe.
    exclude: dict[str, str] = field(default_factory=dict)
    #: Tests that are not run on microframe at all (they would block).
    deselect: dict[str, str] = field(default_factory=dict)

    @property
    def all(self) -> dict[str, str]:
        """Both kinds together."""
        return {**self.exclude, **self.deselect}


def load_expectations(path: Path = EXPECTATIONS) -> dict[str, Expectations]:
    """Read the expectations file: suite name -> its :class:`Expectations`."""
    if not path.exists():
        return {}
    with path.open("rb") as file:
        data = tomllib.load(file)
    result: dict[str, Expectations] = {}
    for suite, kinds in data.items():
        unknown = set(kinds) - {"exclude", "deselect"}
        if unknown:
            raise SystemExit(f"{path}: [{suite}] has {sorted(unknown)}; use [{suite}.exclude] or"
                             f" [{suite}.deselect]")
        for kind, entries in kinds.items():
            for test, reason in entries.items():
                if not isinstance(reason, str) or not reason.strip():
                    raise SystemExit(f"{path}: [{suite}.{kind}] {test!r} needs a reason")
        result[suite] = Expectations(dict(kinds.get("exclude", {})), dict(kinds.get("deselect", {})))
    return result


# -- the environment ------------------------------------------------------------


def ensure_venv(cache: Path) -> Path:
    """Make (or reuse) the suites' virtual environment; return its python."""
    venv = cache / "venv"
    python = venv / "bin" / "python"
    stamp = venv / "conformance-stamp"
    # Made again for other requirements, or for another checkout of
    # microframe (installed in it, editable).
    wanted = hashlib.sha256(
        REQUIREMENTS.read_bytes() + (REPO / "setup.cfg").read_bytes() + str(REPO).encode()
    ).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    _say(f"making {venv}")
    _quiet([sys.executable, "-m", "venv", str(venv)])
    _quiet([str(python), "-m", "pip", "install", "-q", "-e", str(REPO), "-r", str(REQUIREMENTS)])
    stamp.write_text(wanted)
    return python


def _quiet(command: list[str]) -> None:
    """Run ``command``, showing its output only if it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"conformance: {' '.join(command[:4])} ... failed ({done.returncode})")


def ensure_sdists(cache: Path, python: Path, suites: list[Suite]) -> dict[str, Path]:
    """Download the suites' sdists that are not in the cache yet."""
    folder = cache / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = sorted({suite.requirement for suite in suites})
    found = {requirement: _find_sdist(folder, requirement) for requirement in wanted}
    missing = [requirement for requirement, path in found.items() if path is None]
    if missing:
        _say(f"downloading {', '.join(missing)}")
        _quiet([str(python), "-m", "pip", "download", "-q", "--no-binary", ":all:", "--no-deps",
                "-d", str(folder), *missing])
    result: dict[str, Path] = {}
    for requirement in wanted:
        path = _find_sdist(folder, requirement)
        if path is None:
            raise SystemExit(f"pip downloaded no sdist for {requirement}")
        result[requirement] = path
    return result


def _find_sdist(folder: Path, requirement: str) -> Path | None:
    name, _, version = requirement.partition("==")
    normal = name.lower().replace("-", "_")
    for path in folder.glob("*.tar.gz"):
        stem = path.name[: -len(".tar.gz")]
        dist, _, found_version = stem.rpartition("-")
        if dist.lower().replace("-", "_").replace(".", "_") == normal and found_version == version:
            return path
    return None


def unpack(sdist: Path, into: Path) -> Path:
    """Unpack ``sdist`` into the empty folder ``into``; return the project folder."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (project,) = into.iterdir()
    return project


# -- running --------------------------------------------------------------------


def run_suite(
    suite: Suite, side: str, sdist: Path, python: Path, cache: Path, deselect: list[str]
) -> Outcome:
    """Run ``suite`` on its reference (``side="flask"`` or ``"quart"``) or ``"microframe"``."""
    work = cache / "work" / f"{suite.name}-{side}"
    project = unpack(sdist, work)
    root = project / suite.root
    shim_bin = cache / "work" / f"{suite.name}-{side}-bin"
    env = _clean_env(python)
    args = [str(python), "-m", "pytest", "-q", "--continue-on-collection-errors",
            f"--timeout={TEST_TIMEOUT}", "-p", "conformance.pytest_outcomes", *suite.pytest_args]
    if side == "microframe":
        if suite.mode == "shim" and suite.reference == "Quart":
            args += ["-p", "conformance.pytest_quart_shim"]
        elif suite.mode == "shim":
            args += ["-p", "conformance.pytest_shim"]
            # Suites that run Flask's command line get microframe's, with the shim.
            _write_flask_command(shim_bin, python)
            env["PATH"] = f"{shim_bin}{os.pathsep}{env['PATH']}"
        else:
            port.apply(suite.mode, root)
    outcomes_file = work / "outcomes.json"
    log = work / "pytest.log"
    env["CONFORMANCE_OUTCOMES"] = str(outcomes_file)
    env["CONFORMANCE_DESELECT"] = json.dumps(deselect)
    env["PYTHONPATH"] = str(REPO)
    start = time.monotonic()
    with log.open("w") as out:
        try:
            process = subprocess.run(
                [*args, *suite.paths], cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                timeout=SUITE_TIMEOUT, start_new_session=True,
            )
            returncode = process.returncode
        except subprocess.TimeoutExpired:
            returncode = -1
            out.write(f"\nconformance: timed out after {SUITE_TIMEOUT} s\n")
    seconds = time.monotonic() - start
    tests = json.loads(outcomes_file.read_text()) if outcomes_file.exists() else {}
    return Outcome(tests, seconds, returncode, log)


def _clean_env(python: Path) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "MICROFRAME_", "PYTEST_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(python.parent.parent)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _write_flask_command(folder: Path, python: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    command = folder / "flask"
    command.write_text(f"#!{python}\nfrom microframe.flask_compat import main\nmain()\n")
    command.chmod(0o755)


def compare(
    suite: Suite, sdist: Path, python: Path, cache: Path, expectations: Expectations
) -> Comparison:
    """Run ``suite`` on both sides and judge the outcomes."""
    reference = run_suite(suite, suite.reference.lower(), sdist, python, cache, [])
    microframe = run_suite(suite, "microframe", sdist, python, cache, list(expectations.deselect))
    comparison = Comparison(suite, reference, microframe, expectations)
    comparison.judge()
    return comparison


# -- reporting ------------------------------------------------------------------


def report(comparisons: list[Comparison], verbose: bool) -> bool:
    """Print the table and the problems; return whether the run is good."""
    good = True
    rows = []
    for comparison in comparisons:
        suite = comparison.suite
        rows.append((
            suite.name,
            str(len(comparison.reference.tests)),
            str(comparison.reference_passed),
            str(comparison.microframe_passed),
            str(len(comparison.excluded)),
            str(len(comparison.regressions)),
            f"{comparison.microframe.seconds:.1f}",
        ))
    headers = ("suite", "tests", "pass on reference", "pass on microframe", "excluded", "failing", "seconds")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    for row in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for comparison in comparisons:
        name = comparison.suite.name
        if comparison.reference_passed == 0:
            good = False
            print(f"\n{name}: nothing passed on {comparison.suite.reference}; see {comparison.reference.log}")
        if comparison.regressions:
            good = False
            print(f"\n{name}: {len(comparison.regressions)} test(s) pass on"
                  f" {comparison.suite.reference} but not on microframe"
                  f" (log: {comparison.microframe.log}):")
            shown = comparison.regressions if verbose else comparison.regressions[:40]
            for test in shown:
                print(f"  FAIL {test}\n       {comparison.microframe.detail(test)}")
            if len(shown) < len(comparison.regressions):
                print(f"  ... and {len(comparison.regressions) - len(shown)} more (--verbose)")
        deselected = comparison.expectations.deselect
        for test in comparison.excluded_but_passing:
            if _matching(test, deselected) is not None:
                continue
            print(f"{name}: excluded but passes now, take it off the list: {test}")
        for pattern in comparison.unused_exclusions:
            print(f"{name}: exclusion matches no test that passes on {comparison.suite.reference}: {pattern}")
    return good


def markdown(comparisons: list[Comparison]) -> str:
    """The results as the Markdown table of ``docs/compatibility.md``."""
    lines = [
        "| suite | version | tests | pass on Flask/Quart | pass on microframe | excluded |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for comparison in comparisons:
        suite = comparison.suite
        lines.append(
            f"| {suite.name} | {suite.requirement} | {len(comparison.reference.tests)}"
            f" | {comparison.reference_passed} | {comparison.microframe_passed}"
            f" | {len(comparison.excluded)} |"
        )
    return "\n".join(lines) + "\n"


def _say(message: str) -> None:
    print(f"conformance: {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python -m conformance [SUITE ...]``."""
    parser = argparse.ArgumentParser(prog="python -m conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("suites", nargs="*", help="suites to run (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"where downloads, the venv and work folders live (default: {DEFAULT_CACHE})")
    parser.add_argument("--jobs", type=int, default=2, help="suites run at once (default: 2)")
    parser.add_argument("--json", type=Path, help="also write every outcome to this file")
    parser.add_argument("--verbose", action="store_true", help="list every failing test")
    parser.add_argument("--markdown", action="store_true",
                        help="also print the table for docs/compatibility.md")
    options = parser.parse_args(argv)
    suites = by_name(options.suites)
    cache: Path = options.cache.resolve()
    start = time.monotonic()
    python = ensure_venv(cache)
    sdists = ensure_sdists(cache, python, suites)
    expectations = load_expectations()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        futures = [
            pool.submit(compare, suite, sdists[suite.requirement], python, cache,
                        expectations.get(suite.name, Expectations()))
            for suite in suites
        ]
        comparisons = [future.result() for future in futures]
    good = report(comparisons, options.verbose)
    if options.markdown:
        print("\n" + markdown(comparisons))
    if options.json:
        options.json.write_text(json.dumps({
            comparison.suite.name: {
                "reference": comparison.reference.tests,
                "microframe": comparison.microframe.tests,
                "regressions": comparison.regressions,
                "excluded": comparison.excluded,
            }
            for comparison in comparisons
        }, indent=1))
    _say(f"{'passed' if good else 'FAILED'} in {time.monotonic() - start:.0f} s")
    return 0 if good else 1

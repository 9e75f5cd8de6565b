"""pytest plugin: write each test's outcome to the JSON file named by
``$CONFORMANCE_OUTCOMES``, and leave out the tests that
``$CONFORMANCE_DESELECT`` (a JSON list of ``fnmatch`` patterns) names.

An outcome is ``passed``, ``failed``, ``skipped``, ``xfailed`` or
``xpassed``; a test whose setup or teardown fails is ``failed``. A module
that fails to import is recorded under its own path as ``failed``, with the
error, so that every test it holds counts as failing.
"""

from __future__ import annotations

import json
import os
from fnmatch import fnmatchcase
from typing import Any

import pytest

_outcomes: dict[str, dict[str, str]] = {}


def _record(nodeid: str, outcome: str, longrepr: Any) -> None:
    previous = _outcomes.get(nodeid)
    if previous is not None and previous["outcome"] == "failed":
        return  # a failed setup or call is not undone by its teardown
    detail = ""
    if outcome == "failed" and longrepr is not None:
        crash = getattr(longrepr, "reprcrash", None)
        detail = crash.message if crash is not None else str(longrepr)
        detail = detail.strip().splitlines()[-1][:300] if detail.strip() else ""
    _outcomes[nodeid] = {"outcome": outcome, "detail": detail}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.outcome != "passed":
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        else:
            outcome = report.outcome
        _record(report.nodeid, outcome, report.longrepr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    patterns = json.loads(os.environ.get("CONFORMANCE_DESELECT", "[]"))
    if not patterns:
        return
    keep, drop = [], []
    for item in items:
        deselected = any(fnmatchcase(item.nodeid, pattern) for pattern in patterns)
        (drop if deselected else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _record(report.nodeid, "failed", report.longrepr)


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get("CONFORMANCE_OUTCOMES")
    if path:
        with open(path, "w", encoding="utf-8") as file:
            json.dump(_outcomes, file, indent=1, sort_keys=True)

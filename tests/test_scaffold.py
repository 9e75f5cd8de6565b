"""Where an app's package is, and the instance folder Flask's rules derive from it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from microframe import Microframe
from microframe.scaffold import find_package


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path; modules imported from it are forgotten afterwards."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        del sys.modules[name]


@pytest.fixture
def site_packages(modules: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake ``<prefix>/lib/pythonX.Y/site-packages`` on sys.path, ``modules`` being the prefix."""
    folder = modules / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    folder.mkdir(parents=True)
    monkeypatch.syspath_prepend(str(folder))
    return folder


APP = "from microframe import Microframe\napp = Microframe(__name__)\n"


def test_a_project_module_and_package(modules: Path) -> None:
    (modules / "project_mod.py").write_text(APP)
    (modules / "project_pkg").mkdir()
    (modules / "project_pkg" / "__init__.py").write_text(APP)
    (modules / "project_pkg" / "views.py").write_text("")
    assert find_package("project_mod") == (None, str(modules))
    assert find_package("project_pkg.views") == (None, str(modules))
    from project_mod import app as module_app  # type: ignore[import-not-found]
    from project_pkg import app as package_app  # type: ignore[import-not-found]

    # Beside the module or the package, never inside the code.
    assert module_app.instance_path == str(modules / "instance")
    assert package_app.instance_path == str(modules / "instance")


def test_unknown_names_are_taken_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_package("no_such_module_anywhere") == (None, str(tmp_path))
    assert find_package("__main__") == (None, str(tmp_path))
    assert Microframe("no_such_module_anywhere").instance_path == str(tmp_path / "instance")


def test_installed_in_site_packages(modules: Path, site_packages: Path) -> None:
    (site_packages / "installed_mod.py").write_text(APP)
    (site_packages / "installed_pkg").mkdir()
    (site_packages / "installed_pkg" / "__init__.py").write_text(APP)
    assert find_package("installed_mod") == (str(modules), str(site_packages))
    from installed_mod import app as module_app  # type: ignore[import-not-found]
    from installed_pkg import app as package_app  # type: ignore[import-not-found]

    # <prefix>/var/<name>-instance, as Flask has it.
    assert module_app.instance_path == str(modules / "var" / "installed_mod-instance")
    assert package_app.instance_path == str(modules / "var" / "installed_pkg-instance")


def test_installed_under_the_python_prefix(modules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "prefix", str(modules))
    (modules / "path").mkdir()
    (modules / "path" / "prefixed_pkg").mkdir()
    (modules / "path" / "prefixed_pkg" / "__init__.py").write_text(APP)
    monkeypatch.syspath_prepend(str(modules / "path"))
    assert find_package("prefixed_pkg") == (str(modules), str(modules / "path"))


def test_namespace_package_picks_the_folder_holding_the_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, modules: Path
) -> None:
    for project in ("one", "two"):
        folder = tmp_path / project / "shared_ns" / f"part_{project}"
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text(APP)
        monkeypatch.syspath_prepend(str(tmp_path / project))
    assert find_package("shared_ns.part_two") == (None, str(tmp_path / "two"))
    assert find_package("shared_ns.part_one") == (None, str(tmp_path / "one"))
    assert os.path.basename(find_package("shared_ns")[1]) in {"one", "two"}

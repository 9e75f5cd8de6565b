"""Where templates come from: the app's template folder, then its blueprints'.

:class:`DispatchingJinjaLoader` is the loader of the app's Jinja environment
(see :mod:`microframe.templating`). With ``EXPLAIN_TEMPLATE_LOADING`` every
lookup is logged, folder by folder; a template found nowhere raises
:class:`~jinja2.TemplateNotFound` naming every folder tried.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from jinja2 import BaseLoader, FileSystemLoader, TemplateNotFound

from .debughelpers import TemplateSource, explain_template_loading_attempts

if TYPE_CHECKING:
    import jinja2

    from .app import Microframe
    from .scaffold import Scaffold


def folder_of(scaffold: Scaffold) -> str | None:
    """The template folder of the app or blueprint ``scaffold``, if it has one."""
    if scaffold.template_folder is None:
        return None
    return os.path.join(scaffold.root_path, scaffold.template_folder)


class DispatchingJinjaLoader(BaseLoader):
    """Finds a template in the app's template folder, then in each blueprint's.

    Blueprints are searched in registration order, so the app can override a
    blueprint's template by putting a file of the same name in its folder.
    When none has it, :class:`~jinja2.TemplateNotFound` names every folder
    tried; with ``EXPLAIN_TEMPLATE_LOADING`` each search is also logged.

    :param app: the app whose folders are searched.
    """

    def __init__(self, app: Microframe) -> None:
        self.app = app
        self._folder_loaders: dict[str, FileSystemLoader] = {}

    def _scaffold_loader(self, scaffold: Scaffold) -> BaseLoader | None:
        loader = getattr(scaffold, "jinja_loader", _MISSING)
        if loader is not _MISSING:
            return cast("BaseLoader | None", loader)
        folder = folder_of(scaffold)
        if folder is None:
            return None
        found = self._folder_loaders.get(folder)
        if found is None:
            found = self._folder_loaders[folder] = FileSystemLoader(folder)
        return found

    def _iter_sources(self) -> Iterator[tuple[Scaffold, BaseLoader]]:
        app = self.app
        if app.jinja_loader is not None:
            yield cast("Scaffold", app), app.jinja_loader
        seen: set[int] = set()
        for blueprint in app.iter_blueprints():
            if id(blueprint) in seen:
                continue
            seen.add(id(blueprint))
            loader = self._scaffold_loader(blueprint)
            if loader is not None:
                yield blueprint, loader

    def iter_loaders(self) -> Iterator[tuple[str, BaseLoader]]:
        """Yield ``(label, loader)`` for the app and each blueprint, in search order."""
        app = self.app
        for source, loader in self._iter_sources():
            label = "application" if source is app else f"blueprint {source.name!r}"
            yield label, loader

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        """Return the first source found for ``template``, app folder first."""
        if self.app.config["EXPLAIN_TEMPLATE_LOADING"]:
            return self._get_source_explained(environment, template)
        tried: list[tuple[str, BaseLoader]] = []
        for label, loader in self.iter_loaders():
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                tried.append((label, loader))
        raise TemplateNotFound(template, not_found_message([template], tried))

    def _get_source_explained(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        # Every loader is asked, so that a template found twice is reported.
        attempts: list[tuple[BaseLoader, object, TemplateSource | None]] = []
        found: TemplateSource | None = None
        for source, loader in self._iter_sources():
            try:
                result: TemplateSource | None = loader.get_source(environment, template)
            except TemplateNotFound:
                result = None
            if found is None:
                found = result
            attempts.append((loader, source, result))
        explain_template_loading_attempts(self.app, template, attempts)
        if found is None:
            tried = list(self.iter_loaders())
            raise TemplateNotFound(template, not_found_message([template], tried))
        return found

    def list_templates(self) -> list[str]:
        """Return the names of all templates the app can find."""
        names: set[str] = set()
        for _, loader in self.iter_loaders():
            names.update(loader.list_templates())
        return sorted(names)


_MISSING: Any = object()


def _describe(label: str, loader: BaseLoader) -> str:
    if isinstance(loader, FileSystemLoader):
        folders = []
        for path in loader.searchpath:
            missing = "" if os.path.isdir(path) else " (missing)"
            folders.append(f"{path}{missing}")
        return f"{label} folder {', '.join(folders)}"
    return f"{label} loader {loader!r}"


def not_found_message(names: list[str], tried: list[tuple[str, BaseLoader]]) -> str:
    """Explain that none of ``names`` is in any of the ``tried`` places."""
    what = f"Template {names[0]!r} was" if len(names) == 1 else f"None of the templates {names!r} was"
    if not tried:
        return (
            f"{what} not found: the application and its blueprints have no template"
            " folder. Set 'template_folder' on the app or a blueprint."
        )
    places = "\n".join(f"  - {_describe(label, loader)}" for label, loader in tried)
    return (
        f"{what} not found. Looked in:\n{places}\nCheck the name, or put the template"
        " in one of these folders."
    )


__all__ = ["DispatchingJinjaLoader", "folder_of", "not_found_message"]

"""Sphinx configuration of the microframe documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (warnings are
errors). Prose pages are MyST Markdown; the API reference is autodoc.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import microframe  # noqa: E402

project = "microframe"
author = "the microframe authors"
copyright = "the microframe authors"
version = release = microframe.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options: dict[str, Any] = {"members": True, "show-inheritance": True}
# Names that type hints mention but that no page documents (third-party
# classes, ASGI aliases, forward references under TYPE_CHECKING).
nitpicky = False
suppress_warnings = ["myst.xref_missing"]

intersphinx_mapping: dict[str, tuple[str, Any]] = {}

html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"microframe {release}"

# Pages other engineers write; listed in the index toctree when they exist.
OPTIONAL_PAGES = ("porting", "performance", "reliability")


def _drop_missing_pages(app: Any, docname: str, source: list[str]) -> None:
    """Remove toctree entries of optional pages that do not exist (yet)."""
    if docname != "index":
        return
    lines = source[0].splitlines()
    kept = [
        line
        for line in lines
        if line.strip() not in OPTIONAL_PAGES or (HERE / f"{line.strip()}.md").exists()
    ]
    source[0] = "\n".join(kept) + "\n"


def setup(app: Any) -> dict[str, Any]:
    """Register the hook that keeps the index's toctree valid."""
    app.connect("source-read", _drop_missing_pages)
    return {"parallel_read_safe": True}



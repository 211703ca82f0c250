"""The import graph of docs/contributing.md (issue 17): no arrow from statistics code to I/O,
report or CLI code, and the topics graph printed there is the one the code has today."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _graph_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "_ce_import_graph", ROOT / "docs" / "import_graph.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_no_statistics_module_imports_outer_code() -> None:
    graph = _graph_module()
    pairs = graph.edges()
    assert len(pairs) > 100  # the graph was read (every module of the package)
    assert graph.violations(pairs) == []
    # the check does see a violation: an arrow from agreement to the report is one
    assert graph.violations({("agreement._rwg", "report._sections")}) == [
        ("agreement._rwg", "report._sections")
    ]


def test_contributing_shows_the_current_topics_graph() -> None:
    graph = _graph_module()
    text = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    assert graph.topics_mermaid(graph.edges()) + "\n```" in text, (
        "docs/contributing.md: redraw the graph with `python docs/import_graph.py --topics`"
    )

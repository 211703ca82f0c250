"""Draw the package's import graph and check that statistics code imports no I/O/report/CLI code.

Usage (from the repository root)::

    python docs/import_graph.py            # Mermaid graph of every module's imports, to stdout
    python docs/import_graph.py --topics   # the same, collapsed to topics
    python docs/import_graph.py --check    # exit 1 if a statistics module imports an outer one

Only the standard library (``ast``): every ``import`` / ``from . import`` in every module of
``src/collective_efficacy`` counts, including imports inside functions (a lazy import is still an
arrow). Modules are grouped into layers; an arrow from a *statistics* module to an *outer* module
(I/O, report, plot, CLI, evaluation) is a violation.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "collective_efficacy"
NAME = "collective_efficacy"

#: the outer layer: reading files, reports, plots, the command line and the pipeline that uses them
#: (dotted module paths below the package; a path covers its submodules)
OUTER_PREFIXES = (
    "responses.io", "responses._csv_arrow", "responses._odk", "responses.validation_report",
    "cli", "report", "export", "evaluation",
)  # fmt: skip
#: the statistics layer: these may import only each other and the shared basics
STATISTICS_PREFIXES = (
    "reliability", "agreement", "multilevel", "change", "scoring", "impact", "survey_design",
    "disclosure", "instrument._keys", "_groups", "_params", "_checks", "summaries",
)  # fmt: skip


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts) if parts else "__init__"


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    base = module.split(".")
    if node.level:
        pkg = base[: len(base) - node.level] if module != "__init__" else []
        if node.level and Path(PACKAGE, *base).is_dir():  # a package's __init__
            pkg = base[: len(base) - node.level + 1]
        target = [*pkg, *(node.module.split(".") if node.module else [])]
        if node.module:
            return [".".join(target)]
        return [".".join([*target, a.name]) for a in node.names]
    if node.module and node.module.startswith(NAME + "."):
        return [node.module[len(NAME) + 1 :]]
    return []


def edges() -> set[tuple[str, str]]:
    """Every (importer, imported) pair of modules inside the package."""
    modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
    out: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                targets = _resolve(me, node)
            elif isinstance(node, ast.Import):
                targets = [
                    a.name[len(NAME) + 1 :] for a in node.names if a.name.startswith(NAME + ".")
                ]
            for t in targets:
                while t and t not in modules:  # from .x import name -> module x
                    t = t.rpartition(".")[0]
                if t and t != me:
                    out.add((me, t))
    return out


def _layer(module: str) -> str:
    if _within(module, OUTER_PREFIXES):
        return "outer"
    if _within(module, STATISTICS_PREFIXES):
        return "statistics"
    return "basics"


def violations(pairs: set[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, b in pairs if _layer(a) == "statistics" and _layer(b) == "outer")


#: topic of a module: its subpackage (reliability, change, ...) or, for a top-level module, its
#: name without the leading underscore (errors, checks, ...)
def topic(module: str) -> str:
    return module.split(".")[0].lstrip("_")


def topics_mermaid(pairs: set[tuple[str, str]]) -> str:
    """The graph collapsed to topics (agreement, change, ...), one arrow per topic pair."""
    arrows = {(topic(a), topic(b)) for a, b in pairs if "__init__" not in (a, b)}
    arrows = {(a, b) for a, b in arrows if a != b}
    lines = ["graph LR"]
    for src in sorted({a for a, _ in arrows}):
        lines.append(f"  {src} --> " + " & ".join(sorted(b for a, b in arrows if a == src)))
    return "\n".join(lines)


def mermaid(pairs: set[tuple[str, str]]) -> str:
    lines = ["graph LR"]
    for layer in ("statistics", "basics", "outer"):
        mods = sorted({m for p in pairs for m in p if _layer(m) == layer and m != "__init__"})
        lines.append(f"  subgraph {layer}")
        lines += [f"    {m.replace('.', '_')}[{m}]" for m in mods]
        lines.append("  end")
    for a, b in sorted(pairs):
        if "__init__" not in (a, b):
            lines.append(f"  {a.replace('.', '_')} --> {b.replace('.', '_')}")
    return "\n".join(lines)


if __name__ == "__main__":
    graph = edges()
    bad = violations(graph)
    if "--check" in sys.argv[1:]:
        for a, b in bad:
            print(f"statistics module {a} imports outer module {b}")
        print(f"{len(graph)} imports, {len(bad)} from statistics to I/O/report/CLI code")
        sys.exit(1 if bad else 0)
    print(topics_mermaid(graph) if "--topics" in sys.argv[1:] else mermaid(graph))

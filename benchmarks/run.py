"""Run every benchmark in one process and write benchmarks/RESULTS.md.

Usage (from the repository root)::

    python -m benchmarks.run            # all workloads
    python -m benchmarks.run scoring    # only bench_scoring.py
    python -m benchmarks.run evaluate   # only bench_evaluate.py (the whole pipeline)

Naming topics reruns only those and replaces only their sections of RESULTS.md (the others
are kept as they are); no topic reruns everything and rewrites the file. A module with its own
``to_markdown(rows)`` formats its section itself.

Each ``bench_<topic>.py`` exposes ``run(sizes) -> list[dict]`` and times our function and the
peer tools on the same data in the same run. Timings are wall-clock seconds, best of a few
repeats, on whatever machine runs this (the figures in RESULTS.md say which).
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

from .data import LARGE, SMALL

__all__ = ["LARGE", "SMALL", "to_markdown"]

TOPICS = [
    "scoring",
    "reliability",
    "agreement",
    "mixed",
    "change",
    "change_model",
    "evaluate",
    "geo",
]


def to_markdown(rows: list[dict[str, Any]]) -> str:
    head = "| workload | tool | respondents | communities | seconds | note |\n|---|---|---:|---:|---:|---|"
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['tool']} | {r['n_respondents']:,} | {r['n_communities']:,} | "
            f"{r['seconds']:.4g} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


def _sections(text: str) -> tuple[list[str], dict[str, str]]:
    """Split RESULTS.md into its header lines and ``## topic`` sections (in order)."""
    head: list[str] = []
    sections: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            sections[current] = ""
            continue
        if current is None:
            head.append(line)
        else:
            sections[current] += line + "\n"
    return head, sections


def main(argv: list[str]) -> int:
    topics = argv or TOPICS
    path = Path(__file__).with_name("RESULTS.md")
    machine = (
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}."
    )
    head = ["# Benchmark results", "", machine, ""]
    sections: dict[str, str] = {}
    if argv and path.exists():  # only the named topics: keep the other sections as they are
        head, sections = _sections(path.read_text(encoding="utf-8"))
    for topic in topics:
        try:
            mod = importlib.import_module(f"benchmarks.bench_{topic}")
        except ModuleNotFoundError:
            continue
        rows = mod.run([SMALL, LARGE]) if not hasattr(mod, "SIZES") else mod.run(mod.SIZES)
        fmt = getattr(mod, "to_markdown", to_markdown)
        sections[topic] = "\n" + fmt(rows) + "\n\n"
        print(f"## {topic}\n{sections[topic]}", flush=True)
    out = "\n".join(head).rstrip("\n") + "\n\n"
    out += "".join(f"## {t}\n{body}" for t, body in sections.items())
    path.write_text(out.rstrip("\n") + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

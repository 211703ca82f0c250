"""Run every benchmark in one process and write benchmarks/RESULTS.md.

Usage (from the repository root)::

    python -m benchmarks.run            # all workloads
    python -m benchmarks.run scoring    # only bench_scoring.py

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

TOPICS = ["scoring", "reliability", "agreement", "mixed", "change"]


def to_markdown(rows: list[dict[str, Any]]) -> str:
    head = "| workload | tool | respondents | communities | seconds | note |\n|---|---|---:|---:|---:|---|"
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['tool']} | {r['n_respondents']:,} | {r['n_communities']:,} | "
            f"{r['seconds']:.4g} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    topics = argv or TOPICS
    out = [
        "# Benchmark results",
        "",
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
    ]
    for topic in topics:
        try:
            mod = importlib.import_module(f"benchmarks.bench_{topic}")
        except ModuleNotFoundError:
            continue
        rows = mod.run([SMALL, LARGE]) if not hasattr(mod, "SIZES") else mod.run(mod.SIZES)
        out += [f"## {topic}", "", to_markdown(rows), ""]
        print(out[-2], flush=True)
    Path(__file__).with_name("RESULTS.md").write_text("\n".join(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

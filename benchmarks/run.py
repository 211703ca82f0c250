"""Run the benchmarks and write benchmarks/RESULTS.md.

Usage (from the repository root)::

    python -m benchmarks.run --help              # this help; runs nothing
    python -m benchmarks.run                     # every topic; rewrites RESULTS.md
    python -m benchmarks.run --only scoring      # one topic; replaces only its section
    python -m benchmarks.run --only e2e --only scoring --sizes 100000:1300

Each ``bench_<topic>.py`` exposes ``run(sizes) -> list[dict]`` and times our function and the
peer tools on the same data in the same run, with the same method (:mod:`benchmarks.timing`:
the median of the same number of runs, or a single run each when a run takes more than 20 s);
every row's note states it. A module with its own ``to_markdown(rows)`` formats its section.
Data (:mod:`benchmarks.data`): rows in random order and community labels as Python strings
unless a row says otherwise (sorted / categorical rows are labelled extras).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from pathlib import Path
from typing import Any

from .data import LARGE, SMALL

__all__ = ["LARGE", "SMALL", "TOPICS", "main", "to_markdown"]

TOPICS = [
    "scoring",
    "reliability",
    "agreement",
    "mixed",
    "change",
    "change_model",
    "survey",
    "evaluate",
    "e2e",
    "geo",
]
RESULTS = Path(__file__).with_name("RESULTS.md")


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


def _size(text: str) -> tuple[int, int]:
    try:
        n, k = (int(x.replace("_", "")) for x in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected RESPONDENTS:COMMUNITIES") from None
    return n, k


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Time collective_efficacy against peer tools and write benchmarks/RESULTS.md. "
        "Without --only every topic runs and the file is rewritten; with --only only those "
        "sections are replaced and the rest of the file is kept as it is.",
    )
    p.add_argument(
        "--only",
        action="append",
        choices=TOPICS,
        metavar="TOPIC",
        help=f"run only this topic (repeatable); one of: {', '.join(TOPICS)}",
    )
    p.add_argument("topics", nargs="*", choices=[[], *TOPICS], help=argparse.SUPPRESS)
    p.add_argument(
        "--sizes",
        type=_size,
        nargs="+",
        metavar="N:K",
        help="respondents:communities instead of each topic's own sizes (e.g. 100000:1300)",
    )
    p.add_argument(
        "--results", type=Path, default=RESULTS, help="the file to write (default: %(default)s)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    named = [*(args.only or []), *args.topics]
    topics = list(dict.fromkeys(named)) or TOPICS
    path: Path = args.results
    machine = (
        f"Machine: {platform.platform()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}."
    )
    head = ["# Benchmark results", "", machine, ""]
    sections: dict[str, str] = {}
    if named and path.exists():  # only the named topics: keep the rest of the file as it is
        head, sections = _sections(path.read_text(encoding="utf-8"))
    for topic in topics:
        mod = importlib.import_module(f"benchmarks.bench_{topic}")
        sizes = args.sizes or getattr(mod, "SIZES", [SMALL, LARGE])
        rows = mod.run(list(sizes))
        fmt = getattr(mod, "to_markdown", to_markdown)
        sections[topic] = "\n" + fmt(rows).strip("\n") + "\n\n"
        print(f"## {topic}\n{sections[topic]}", flush=True)
    out = "\n".join(head).rstrip("\n") + "\n\n"
    out += "".join(f"## {t}\n{body}" for t, body in sections.items())
    path.write_text(out.rstrip("\n") + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

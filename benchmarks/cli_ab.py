"""The console command of two trees on the same inputs: every output file byte for byte, and CPU.

``python -m benchmarks.cli_ab --old OLD_SRC [--data DIR] [--repeat N]`` runs
``collective-efficacy evaluate`` (the e2e benchmark's command: :func:`bench_e2e.cli_args` on
:func:`bench_e2e.write_files`' 1,000,000-row CSV files) with another tree's ``src`` (e.g. a
``git archive`` of main) and with this tree's, interleaved (old, new, old, new, ...), each run a
fresh process with cached bytecode after one untimed warm-up run of each. It fails when any
output file (report.html, report.md, results.json, communities.csv) differs in a byte, and
prints the median CPU seconds (user + system of the command and its forked writer, from
``getrusage``) and wall seconds of each tree: CPU time is steadier than wall time on a shared
machine. Writes nothing but temporary folders (and the inputs in ``--data``, when given).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench_e2e import ROOT, _cli, _env, _files, cli_args
from .bench_evaluate import LARGE


def run_once(cmd: list[str], pycache: Path, src: Path) -> tuple[float, float]:
    """(CPU, wall) seconds of one run of ``cmd`` with ``src`` first on the path."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(pycache, src), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{src}: the command failed:\n{proc.stderr[-3000:]}")
    return (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), wall


def different_files(a: Path, b: Path) -> list[str]:
    """The output files that are not byte for byte the same in both folders (or in one only)."""
    names = sorted({p.name for p in a.iterdir()} | {p.name for p in b.iterdir()})
    return [
        n
        for n in names
        if not ((a / n).is_file() and (b / n).is_file())
        or (a / n).read_bytes() != (b / n).read_bytes()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cli_ab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--old", type=Path, required=True, metavar="DIR", help="the other tree's src folder"
    )
    parser.add_argument(
        "--data", type=Path, metavar="DIR", help="keep/reuse the input files in DIR"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each (default 3)")
    args = parser.parse_args(argv)
    n, k = LARGE
    tmp = Path(tempfile.mkdtemp(prefix="ce_cli_ab_"))
    try:
        paths = _files(n, k, (args.data or tmp) / f"{n}_{k}")
        trees = {"old": args.old.resolve(), "new": ROOT / "src"}
        cpu: dict[str, list[float]] = {t: [] for t in trees}
        wall: dict[str, list[float]] = {t: [] for t in trees}
        for i in range(args.repeat + 1):  # run 0: the untimed warm-up of each tree
            for tree, src in trees.items():
                out = tmp / f"out_{tree}"
                shutil.rmtree(out, ignore_errors=True)
                c, w = run_once([*_cli(), *cli_args(paths, out)], tmp / f"pyc_{tree}", src)
                if i:
                    cpu[tree].append(c)
                    wall[tree].append(w)
            differ = different_files(tmp / "out_old", tmp / "out_new")
            if differ:
                print(f"DIFFERENT output files: {differ}")
                return 1
        files = sorted(p.name for p in (tmp / "out_new").iterdir())
        print(f"same bytes: {', '.join(files)} (each of {args.repeat + 1} runs)")
        for tree in trees:
            print(
                f"{tree}: CPU {statistics.median(cpu[tree]):.2f} s (runs "
                f"{', '.join(f'{c:.2f}' for c in cpu[tree])}), wall "
                f"{statistics.median(wall[tree]):.2f} s"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

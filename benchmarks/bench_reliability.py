"""Benchmark: Cronbach's alpha for every community at national scale.

Workload: ``make_survey(n_respondents, n_communities)`` (benchmarks/data.py), the five social
cohesion items SC1..SC5 with SC3 and SC4 reverse keyed, pairwise deletion, Feldt 95% CI.

* ours: ``ce.cronbach_alpha(df, items=ITEMS, keys=["-SC3", "-SC4"], community="community")`` — one
  vectorised pass (psych conventions, plus std_alpha, G6, ase, item-rest diagnostics, notes).
* peer: ``pingouin.cronbach_alpha`` through ``groupby("community").apply`` on the same data with
  the two items reversed beforehand (pingouin has no keys; the reversal is not timed). Groups where
  pingouin raises (e.g. one respondent) count as NaN.

Both run in the same process on the same data (rows shuffled, labels as Python strings); each
timing is the median of the same number of runs (``benchmarks.timing``: a single run each when
one takes more than 20 s), stated in the row. The agreement of the two alphas is recorded in the ``note``.

Run: ``python -m benchmarks.bench_reliability [--large] [--ours-only]`` prints a Markdown table
and writes nothing (``python -m benchmarks.run --only reliability`` rewrites this section of
RESULTS.md). ``--large`` adds 1,000,000 respondents / 13,000 communities; ``--ours-only`` times
ours alone (no pingouin run: minutes at 1M), also as CPU seconds (``time.process_time``), for
before/after comparisons on a busy machine; ``--help`` prints this and runs nothing.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import REPEAT, SLOW, exit_on_help, method

OPTIONS = "--large: add the 1,000,000-row size; --ours-only: ours without the peers"

if __name__ == "__main__":  # before numpy, pandas and the package: help in 0.1 s, not 1.8 s CPU
    exit_on_help(__doc__, sys.argv[1:], OPTIONS)

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import collective_efficacy as ce  # noqa: E402
from data import LARGE, SMALL, make_survey  # noqa: E402

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]
KEYS = ["-SC3", "-SC4"]


def _median(fn: Callable[[], Any], repeats: int) -> tuple[float, int, Any]:
    """(median seconds, runs, last result): the method of ``benchmarks.timing.timed``."""
    times: list[float] = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        if times[0] > SLOW:
            break
    return float(np.median(times)), len(times), out


def _pingouin_per_group(df: pd.DataFrame) -> pd.Series:
    import pingouin as pg

    def one(sub: pd.DataFrame) -> float:
        try:
            return float(pg.cronbach_alpha(sub[ITEMS])[0])
        except Exception:  # pingouin raises on degenerate groups (e.g. 1 respondent)
            return float("nan")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return df.groupby("community", sort=True)[ITEMS].apply(one)


def run(
    sizes: Sequence[tuple[int, int]] = (SMALL,), *, repeats: int = REPEAT
) -> list[dict[str, Any]]:
    """Time ours and pingouin on each (n_respondents, n_communities); return table rows."""
    rows: list[dict[str, Any]] = []
    for n_resp, n_comm in sizes:
        df = make_survey(n_resp, n_comm)
        ours_s, ours_n, ours = _median(
            lambda df=df: ce.cronbach_alpha(df, items=ITEMS, keys=KEYS, community="community"),
            repeats,
        )
        flipped = df[["community", *ITEMS]].copy()
        flipped[["SC3", "SC4"]] = 6 - flipped[["SC3", "SC4"]]
        peer_s, peer_n, peer = _median(lambda f=flipped: _pingouin_per_group(f), repeats)
        a = ours.set_index("community")["alpha"].reindex(peer.index).to_numpy()
        b = peer.to_numpy()
        both = np.isfinite(a) & np.isfinite(b)
        diff = float(np.max(np.abs(a[both] - b[both]))) if both.any() else float("nan")
        rows.append(
            {
                "workload": "alpha per community (5 items, 2 reversed, pairwise, Feldt CI)",
                "tool": "collective_efficacy.cronbach_alpha(community=)",
                "n_respondents": n_resp,
                "n_communities": n_comm,
                "seconds": ours_s,
                "note": f"{method(ours_n)}; {int(np.isfinite(a).sum())} finite alphas",
            }
        )
        rows.append(
            {
                "workload": "alpha per community (5 items, 2 reversed, pairwise, Feldt CI)",
                "tool": "pingouin.cronbach_alpha via groupby.apply",
                "n_respondents": n_resp,
                "n_communities": n_comm,
                "seconds": peer_s,
                "note": (
                    f"{method(peer_n)}; full run, not extrapolated; speed-up "
                    f"{peer_s / ours_s:.0f}x; max |alpha diff| {diff:.1e} over "
                    f"{int(both.sum())} communities"
                ),
            }
        )
    return rows


def _markdown(rows: list[dict[str, Any]]) -> str:
    head = "| workload | tool | n_respondents | n_communities | seconds | note |"
    lines = [head, "|---|---|---:|---:|---:|---|"]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['tool']} | {r['n_respondents']:,} | {r['n_communities']:,} "
            f"| {r['seconds']:.3f} | {r['note']} |"
        )
    return "\n".join(lines)


def ours_only(sizes: Sequence[tuple[int, int]], repeats: int = REPEAT) -> str:
    """Ours alone: median wall and CPU seconds of ``repeats`` runs per size (after one warm-up)."""
    lines = ["| n_respondents | n_communities | wall s (median) | CPU s (median) | runs |"]
    lines.append("|---:|---:|---:|---:|---:|")
    for n_resp, n_comm in sizes:
        df = make_survey(n_resp, n_comm)
        ce.cronbach_alpha(df, items=ITEMS, keys=KEYS, community="community")
        wall, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            ce.cronbach_alpha(df, items=ITEMS, keys=KEYS, community="community")
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        lines.append(
            f"| {n_resp:,} | {n_comm:,} | {np.median(wall):.3f} | {np.median(cpu):.3f} | {repeats} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], OPTIONS)  # asked above already; every script says it here
    chosen = [SMALL, LARGE] if "--large" in sys.argv else [SMALL]
    print(ours_only(chosen) if "--ours-only" in sys.argv else _markdown(run(chosen)))

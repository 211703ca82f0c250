"""Benchmark: per-community change with bootstrap CIs, against a scipy.stats.bootstrap loop.

Workloads (dv = mean of the ten items, SC3/SC4 reversed, on ``make_survey``):

* ``bootstrap_change`` (2,000 resamples, percentile and BCa) for every community at once,
  against ``scipy.stats.bootstrap`` called once per community (the usual loop) over *all*
  communities with at least 2 respondents per wave, in the same run. The loop is first timed
  on ``PEER_SUBSET`` communities; when that predicts more than ``PEER_BUDGET`` seconds for all
  of them, the subset time is extrapolated linearly instead (the tool name and note say so).
  Otherwise the full loop is repeated while the runs so far stay within ``PEER_BUDGET``
  seconds (at most 3) and the best run is reported. The groups are split before the loop is
  timed (the split is not charged to SciPy).
* ``compare_waves`` (Welch t, Hedges' g with noncentral-t CI, Holm, REML wave effect) against
  a ``scipy.stats.ttest_ind`` loop (Welch only, no effect size; timed on all communities).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import collective_efficacy as ce

from .data import ITEMS, LARGE, REVERSED, SMALL, make_survey
from .timing import REPEAT, exit_on_help, method, timed

SIZES = [SMALL, LARGE]
PEER_SUBSET = 200
PEER_BUDGET = 30.0  # seconds: time the full SciPy loop when one run fits, else extrapolate
N_BOOT = 2000


def survey_scores(n_resp: int, n_comm: int) -> pd.DataFrame:
    df = make_survey(n_resp, n_comm)
    x = df[ITEMS].to_numpy(dtype=float).copy()
    for j, item in enumerate(ITEMS):
        if item in REVERSED:
            x[:, j] = 6.0 - x[:, j]
    ok = ~np.isnan(x)
    score = np.where(ok, x, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
    score[ok.sum(axis=1) == 0] = np.nan
    return pd.DataFrame(
        {"community": df["community"], "wave": df["wave"], "score": score},
    )


def _diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def run(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n_resp, n_comm in sizes:
        data = survey_scores(n_resp, n_comm)
        clean = data.dropna(subset=["score"])
        groups = {
            cm: (g.loc[g["wave"] == "end", "score"].to_numpy(),
                 g.loc[g["wave"] == "baseline", "score"].to_numpy())
            for cm, g in clean.groupby("community", sort=True)
        }  # fmt: skip
        eligible = [cm for cm, (a, b) in groups.items() if a.size >= 2 and b.size >= 2]
        subset = eligible[:PEER_SUBSET]

        def add(workload: str, tool: str, seconds: float, note: str = "") -> None:
            rows.append(
                {
                    "workload": workload,
                    "tool": tool,
                    "n_respondents": n_resp,
                    "n_communities": n_comm,
                    "seconds": seconds,
                    "note": note,
                }
            )

        for ci, sp_method in (("percentile", "percentile"), ("bca", "BCa")):
            workload = f"bootstrap CI of the change per community ({ci}, {N_BOOT} resamples)"

            def ours(ci: str = ci) -> pd.DataFrame:
                return ce.bootstrap_change(
                    data, dv="score", method=ci, n_boot=N_BOOT, seed=1, min_n=2, after="end"
                )

            def peer(cms: list[Any], sp_method: str = sp_method) -> None:
                rng = np.random.default_rng(1)
                for cm in cms:
                    a, b = groups[cm]
                    stats.bootstrap((a, b), _diff, n_resamples=N_BOOT, method=sp_method,
                                    vectorized=True, rng=rng)  # fmt: skip

            t_ours, n_ours = timed(ours)
            t_sub, _ = timed(lambda: peer(subset))
            predicted = t_sub * len(eligible) / len(subset)
            if predicted > PEER_BUDGET:
                t_peer = predicted
                tool = "scipy.stats.bootstrap loop (extrapolated)"
                how = (f"timed on {len(subset)} communities ({t_sub:.3g} s, {method(REPEAT)}) "
                       "and extrapolated "
                       f"linearly to {len(eligible):,} (one full run would take > "
                       f"{PEER_BUDGET:.0f} s)")  # fmt: skip
            else:
                t_peer, n_peer = timed(lambda: peer(eligible))
                tool = "scipy.stats.bootstrap loop"
                how = (f"all {len(eligible):,} communities timed ({method(n_peer)}; "
                       f"the {len(subset)}-community subset predicted {predicted:.3g} s)")  # fmt: skip
            add(workload, "collective_efficacy.bootstrap_change", t_ours,
                f"{len(eligible):,} communities with >= 2 per wave, {method(n_ours)}; "
                f"speed-up vs SciPy loop {t_peer / t_ours:.0f}x")  # fmt: skip
            add(workload, tool, t_peer, how)

        workload = "compare_waves: Welch t + Hedges g (ncp CI) + Holm + REML wave effect"

        def ours_cw() -> pd.DataFrame:
            return ce.compare_waves(data, dv="score", min_n=2, after="end")

        def peer_cw() -> None:
            for cm in eligible:
                a, b = groups[cm]
                stats.ttest_ind(a, b, equal_var=False)

        t_ours, n_ours = timed(ours_cw)
        t_peer, n_peer = timed(peer_cw)
        add(workload, "collective_efficacy.compare_waves", t_ours,
            f"{method(n_ours)}; speed-up vs ttest_ind loop {t_peer / t_ours:.1f}x (the loop "
            "does less work)")  # fmt: skip
        add(workload, "scipy.stats.ttest_ind loop (Welch t only)", t_peer,
            f"{method(n_peer)}; all {len(eligible):,} communities")  # fmt: skip
    return rows


def write_section(rows: list[dict[str, Any]], path: Path | None = None, note: str = "") -> None:
    """Replace only the ``## change`` section of RESULTS.md (the other sections are kept)."""
    from .run import to_markdown

    path = path or Path(__file__).with_name("RESULTS.md")
    text = path.read_text(encoding="utf-8")
    section = f"## change\n\n{to_markdown(rows)}\n" + (f"\n{note}\n" if note else "")
    pattern = re.compile(r"^## change\n.*?(?=^## |\Z)", flags=re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    exit_on_help(
        __doc__,
        sys.argv[1:],
        "--write: SMALL and LARGE into RESULTS.md's change section; default: SMALL, printed",
    )
    # python -m benchmarks.bench_change          print the SMALL workload
    # python -m benchmarks.bench_change --write  SMALL and LARGE, into RESULTS.md's change section
    from .run import to_markdown

    if "--write" in sys.argv[1:]:
        load0 = os.getloadavg()[0]
        result = run(SIZES)
        write_section(result, note=(
            f"This section alone was regenerated with `python -m benchmarks.bench_change --write` "
            f"({os.cpu_count()} cores; 1-minute load average {load0:.1f} at the start and "
            f"{os.getloadavg()[0]:.1f} at the end: other jobs were running). Ours and the SciPy "
            f"loop run in the same process, one after the other."))  # fmt: skip
    else:
        result = run([SMALL])
    print(to_markdown(result))

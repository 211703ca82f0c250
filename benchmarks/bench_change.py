"""Benchmark: per-community change with bootstrap CIs, against a scipy.stats.bootstrap loop.

Workloads (dv = mean of the ten items, SC3/SC4 reversed, on ``make_survey``):

* ``bootstrap_change`` (2,000 resamples, percentile and BCa) for every community at once,
  against ``scipy.stats.bootstrap`` called once per community (the usual loop). The SciPy loop
  is timed on the first ``PEER_SUBSET`` communities with at least 2 respondents per wave and
  extrapolated linearly to all such communities; the note says so. The groups are split
  before the loop is timed (the split is not charged to SciPy).
* ``compare_waves`` (Welch t, Hedges' g with noncentral-t CI, Holm, REML wave effect) against
  a ``scipy.stats.ttest_ind`` loop (Welch only, no effect size; timed on all communities).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import collective_efficacy as ce

from .data import ITEMS, LARGE, REVERSED, SMALL, make_survey
from .timing import best_of

SIZES = [SMALL, LARGE]
PEER_SUBSET = 200
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

        for method, sp_method in (("percentile", "percentile"), ("bca", "BCa")):
            workload = f"bootstrap CI of the change per community ({method}, {N_BOOT} resamples)"

            def ours(method: str = method) -> pd.DataFrame:
                return ce.bootstrap_change(
                    data, "score", method=method, n_boot=N_BOOT, seed=1, min_n=2
                )

            def peer(sp_method: str = sp_method) -> None:
                rng = np.random.default_rng(1)
                for cm in subset:
                    a, b = groups[cm]
                    stats.bootstrap((a, b), _diff, n_resamples=N_BOOT, method=sp_method,
                                    vectorized=True, rng=rng)  # fmt: skip

            t_ours = best_of(ours, repeat=5)
            t_sub = best_of(peer, repeat=3)
            t_peer = t_sub * len(eligible) / len(subset)
            add(workload, "collective_efficacy.bootstrap_change", t_ours,
                f"{len(eligible):,} communities with >= 2 per wave; "
                f"speed-up vs SciPy loop {t_peer / t_ours:.0f}x")  # fmt: skip
            add(workload, "scipy.stats.bootstrap loop (extrapolated)", t_peer,
                f"timed on {len(subset)} communities ({t_sub:.3g} s) and extrapolated "
                f"linearly to {len(eligible):,}")  # fmt: skip

        workload = "compare_waves: Welch t + Hedges g (ncp CI) + Holm + REML wave effect"

        def ours_cw() -> pd.DataFrame:
            return ce.compare_waves(data, "score", min_n=2)

        def peer_cw() -> None:
            for cm in eligible:
                a, b = groups[cm]
                stats.ttest_ind(a, b, equal_var=False)

        t_ours = best_of(ours_cw)
        t_peer = best_of(peer_cw, repeat=2)
        add(workload, "collective_efficacy.compare_waves", t_ours,
            f"speed-up vs ttest_ind loop {t_peer / t_ours:.1f}x (the loop does less work)")  # fmt: skip
        add(workload, "scipy.stats.ttest_ind loop (Welch t only)", t_peer,
            f"all {len(eligible):,} communities")  # fmt: skip
    return rows


if __name__ == "__main__":
    from .run import to_markdown

    print(to_markdown(run([SMALL])))

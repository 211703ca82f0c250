"""Benchmark: score() + aggregate() at national scale against a hand-written numpy floor.

The floor computes the same collective-efficacy mean score (reverse keying, mean of answered
items) and the per-community n / mean / sd with bare numpy on pre-coded integer communities: the
least work any implementation must do. pandas groupby is timed as the everyday alternative.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pandas as pd

import collective_efficacy as ce

from .data import ITEMS, REVERSED, make_survey
from .timing import exit_on_help, method, timed


def numpy_floor(x: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    rev = np.array([i in REVERSED for i in ITEMS])
    y = np.where(rev, 6.0 - x, x)
    ok = ~np.isnan(y)
    s = np.where(ok, y, 0.0).sum(axis=1) / ok.sum(axis=1)
    n = np.bincount(codes, minlength=n_groups)
    mean = np.bincount(codes, weights=s, minlength=n_groups) / n
    ss = np.bincount(codes, weights=(s - mean[codes]) ** 2, minlength=n_groups)
    return np.sqrt(ss / (n - 1))


def run(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows = []
    for n_resp, n_comm in sizes:
        df = make_survey(n_resp, n_comm)
        inst = ce.load_instrument("sampson1997")

        def ours() -> pd.DataFrame:
            s = ce.score(df, inst, scales=["collective_efficacy"])
            s["community"] = df["community"]  # the Series: keeps its dtype (no str conversion)
            return ce.aggregate(s, community="community", columns=["collective_efficacy"])

        x = df[ITEMS].to_numpy()
        codes, uniq = pd.factorize(df["community"])

        def floor() -> np.ndarray:
            return numpy_floor(x, codes, len(uniq))

        def pandas_groupby() -> pd.DataFrame:
            y = df[ITEMS].copy()
            for c in REVERSED:
                y[c] = 6 - y[c]
            s = y.mean(axis=1)
            return s.groupby(df["community"]).agg(["count", "mean", "std"])

        t_ours, r_ours = timed(ours)
        t_floor, r_floor = timed(floor)
        t_pd, r_pd = timed(pandas_groupby)
        ratio = f"; ours/floor = {t_ours / t_floor:.1f}x, ours/pandas = {t_ours / t_pd:.1f}x"
        for tool, t, runs in (
            ("collective_efficacy score+aggregate", t_ours, r_ours),
            ("numpy floor (pre-coded groups)", t_floor, r_floor),
            ("pandas mean + groupby", t_pd, r_pd),
        ):
            note = f"{method(runs)}; shuffled rows, str labels (object)"
            rows.append(
                {
                    "workload": "score + aggregate (collective_efficacy scale)",
                    "tool": tool,
                    "n_respondents": n_resp,
                    "n_communities": n_comm,
                    "seconds": t,
                    "note": note + (ratio if tool.startswith("collective") else ""),
                }
            )
    return rows


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], "none (runs SMALL and LARGE)")
    from .run import LARGE, SMALL, to_markdown

    print(to_markdown(run([SMALL, LARGE])))

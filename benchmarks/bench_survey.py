"""Benchmark: weighted aggregate with strata and clusters, next to R svyby and unweighted aggregate.

Workload (issue 18): per community and wave, the weighted mean score with its linearisation SE,
sum of weights, Kish n_eff and deff under a stratified cluster design (40 strata; 4 address-block
PSUs per community and wave, nested in the strata),
``ce.aggregate(..., design=SurveyDesign(...))``.
Peers in the same run on the same data:

* our unweighted ``ce.aggregate`` (target: the weighted one at most 2x its time);
* R ``survey::svyby(~score, ~community + wave, design, svymean, deff = TRUE, na.rm = TRUE)``
  (target: ours at least 50x faster), timed inside R with ``system.time`` (data load and
  ``svydesign`` excluded) under a time limit. svyby loops over domains in R, so at the large
  size it may hit the limit; it is then also run on a subset that fits (the first 400
  communities) with ours timed on the same subset.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import collective_efficacy as ce

from .data import ITEMS, LARGE, REVERSED, make_survey
from .timing import best_of

R_TIMEOUT = 900.0
SIZES = [LARGE]
DESIGN = ce.SurveyDesign(weight="w", strata="stratum", cluster="psu")

_R_SCRIPT = """
suppressMessages(library(survey))
d <- read.csv({path!r})
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
t <- system.time({{
  b <- svyby(~score, ~community + wave, des, svymean, deff = TRUE, na.rm = TRUE)
}})
cat(t[["elapsed"]], nrow(b), "\\n")
"""


def make_weighted(n: int, g: int, seed: int = 18) -> pd.DataFrame:
    """make_survey plus a score, a weight, 40 strata and 4 PSUs per community and wave."""
    df = make_survey(n, g)
    rng = np.random.default_rng(seed)
    x = df[ITEMS].to_numpy()
    rev = np.array([i in REVERSED for i in ITEMS])
    x = np.where(rev, 6.0 - x, x)
    with np.errstate(invalid="ignore"):
        df["score"] = np.nanmean(x, axis=1)
    codes = pd.factorize(df["community"])[0]
    df["stratum"] = codes % 40
    # address blocks: 4 per community, new ones in each wave (repeated cross-sections)
    df["psu"] = (codes * 4 + rng.integers(0, 4, len(df))) * 2 + (df["wave"] != "baseline")
    df["w"] = np.round(rng.lognormal(3.0, 0.4, len(df)), 3)
    return df[["respondent", "community", "wave", "stratum", "psu", "w", "score"]]


def _r_svyby(df: pd.DataFrame) -> tuple[float, str]:
    if shutil.which("Rscript") is None:
        return float("nan"), "skipped: Rscript not available"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "survey.csv")
        df.to_csv(path, index=False)
        try:
            proc = subprocess.run(
                ["Rscript", "-e", _R_SCRIPT.format(path=path)],
                capture_output=True,
                text=True,
                timeout=R_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return float("nan"), f"failed: time limit {R_TIMEOUT:.0f} s exceeded"
    if proc.returncode != 0:
        return float("nan"), "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:160]
    secs, cells = proc.stdout.split()[:2]
    return float(secs), f"R survey::svyby, {cells} community x wave cells, one run, load excluded"


def _ours(df: pd.DataFrame) -> pd.DataFrame:
    return ce.aggregate(df, community="community", wave="wave", columns=["score"], design=DESIGN)


def _unweighted(df: pd.DataFrame) -> pd.DataFrame:
    return ce.aggregate(df, community="community", wave="wave", columns=["score"])


def run(sizes: Sequence[tuple[int, int]] = SIZES, *, peers: bool = True) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(tool: str, n: int, g: int, seconds: float, note: str = "") -> None:
        rows.append(
            {
                "workload": "weighted aggregate (strata + clusters), per community and wave",
                "tool": tool,
                "n_respondents": n,
                "n_communities": g,
                "seconds": seconds,
                "note": note,
            }
        )

    for n, g in sizes:
        df = make_weighted(n, g)
        t_w = best_of(lambda df=df: _ours(df))
        t_u = best_of(lambda df=df: _unweighted(df))
        add("collective_efficacy.aggregate(design=)", n, g, t_w, f"weighted/unweighted = "
            f"{t_w / t_u:.2f}x")  # fmt: skip
        add("collective_efficacy.aggregate (unweighted)", n, g, t_u)
        if not peers:
            continue
        t_r, note = _r_svyby(df)
        add("R survey::svyby", n, g, t_r, note + (f"; ours {t_r / t_w:.0f}x faster" if t_r else ""))
        if np.isnan(t_r):
            keep = df["community"].isin(df["community"].unique()[:400])
            sub = df[keep]
            t_ws = best_of(lambda sub=sub: _ours(sub))
            t_rs, note_s = _r_svyby(sub)
            m = len(sub)
            add("collective_efficacy.aggregate(design=)", m, 400, t_ws, "subset")
            add("R survey::svyby", m, 400, t_rs, note_s + f"; ours {t_rs / t_ws:.0f}x faster")
    return rows


if __name__ == "__main__":
    from .run import to_markdown

    print(to_markdown(run(SIZES)))

"""Benchmark: weighted aggregate with strata and clusters, next to R svyby and unweighted aggregate.

Workload (issue 18): per community and wave, the weighted mean score with its linearisation SE,
sum of weights, Kish n_eff and deff under a stratified cluster design (40 strata; 4 address-block
PSUs per community and wave, nested in the strata), at 1,000,000 respondents / 13,000
communities (26,000 community x wave cells), ``ce.aggregate(..., design=SurveyDesign(...))``.
Peers in the same run on the same data:

* our unweighted ``ce.aggregate`` (target: the weighted one at most 2x its time);
* R ``survey::svyby(~score, ~community + wave, design, svymean, deff = TRUE, na.rm = TRUE)``
  (target: ours at least 50x faster). svyby computes each domain on the whole design (the
  domain's rows kept, every other row given zero weight, so that the SE uses the whole
  sample's strata and PSUs), which costs about one pass over the 1,000,000 rows per cell: the
  full run takes hours (more than 900 s for a few hundred cells; about 0.5 s per cell on the
  development machine). **What is timed**: inside R with ``system.time`` (CSV load and
  ``svydesign`` excluded), ``svyby`` on the full 1,000,000-row design restricted with
  ``subset(design, community %in% first_k)`` to the first ``k`` communities, for two values
  of ``k`` (``R_COMMUNITIES``); this is exactly the computation svyby does for those cells in
  the full run (the same SEs as ours on the full data, checked in the row's note), and its
  time grows linearly in the number of cells (both ``k`` are reported, so the linearity is
  visible). The full-run figure is the per-cell time of the larger ``k`` times 26,000 cells,
  marked "extrapolated". ``covmat=TRUE`` would add work; ``multicore=TRUE`` divides by the
  number of cores at most, so neither changes the order of magnitude. Set
  ``CE_BENCH_R_FULL=1`` to run the full svyby too (time limit ``CE_BENCH_R_TIMEOUT`` seconds,
  default 21600).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

import collective_efficacy as ce

from .data import ITEMS, LARGE, REVERSED, make_survey
from .timing import exit_on_help, method, timed

R_TIMEOUT = float(os.environ.get("CE_BENCH_R_TIMEOUT", "21600"))
R_COMMUNITIES = (25, 50)  # communities whose cells R's svyby is timed on (full design)
SIZES = [LARGE]
DESIGN = ce.SurveyDesign(weight="w", strata="stratum", cluster="psu")

_R_SCRIPT = """
suppressMessages(library(survey))
d <- read.csv({path!r})
des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
comms <- unique(d$community)
for (k in c({ks})) {{
  sub <- if (k >= length(comms)) des else subset(des, community %in% comms[seq_len(k)])
  t <- system.time({{
    b <- svyby(~score, ~community + wave, sub, svymean, deff = TRUE, na.rm = TRUE)
  }})
  cat("timing", k, nrow(b), t[["elapsed"]], "\\n")
  write.csv(data.frame(community = b$community, wave = b$wave, se = b$se),
            paste0({path!r}, ".", k, ".csv"), row.names = FALSE)
}}
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


def _r_svyby(df: pd.DataFrame, ks: Sequence[int]) -> list[tuple[int, int, float, float]]:
    """(communities, cells, seconds, max relative SE difference to ours) per ``k`` in R."""
    if shutil.which("Rscript") is None:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "survey.csv")
        df.to_csv(path, index=False)
        ks_text = ", ".join(str(k) for k in ks)
        proc = subprocess.run(
            ["Rscript", "-e", _R_SCRIPT.format(path=path, ks=ks_text)],
            capture_output=True,
            text=True,
            timeout=R_TIMEOUT,
        )
        if proc.returncode != 0:
            raise RuntimeError("R svyby failed: " + proc.stderr.strip()[-300:])
        ours = _ours(df).set_index(["community", "wave"])["se"]
        out = []
        for line in proc.stdout.splitlines():
            if not line.startswith("timing"):
                continue
            _, k, cells, secs = line.split()
            r = pd.read_csv(f"{path}.{k}.csv").set_index(["community", "wave"])["se"]
            rel = np.abs(ours.loc[r.index].to_numpy() / r.to_numpy() - 1)
            diff = float(np.nanmax(rel)) if np.isfinite(rel).any() else float("nan")
            out.append((int(k), int(cells), float(secs), diff))
    return out


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
        t_w, runs = timed(lambda df=df: _ours(df))
        t_u, runs_u = timed(lambda df=df: _unweighted(df))
        cells = len(_ours(df))
        add("collective_efficacy.aggregate(design=)", n, g, t_w,
            f"{method(runs)}; {cells} cells; weighted/unweighted = {t_w / t_u:.2f}x (target "
            "<= 2x)")  # fmt: skip
        add("collective_efficacy.aggregate (unweighted)", n, g, t_u, method(runs_u))
        if not peers or shutil.which("Rscript") is None:
            continue
        full = os.environ.get("CE_BENCH_R_FULL") == "1"
        ks = [*R_COMMUNITIES, *([g] if full else [])]
        for k, c, secs, diff in _r_svyby(df, ks):
            what = "full run" if k >= g else f"first {k} communities on the full design"
            add("R survey::svyby", n, g, secs,
                f"single run; {what}: {c} cells, {secs / c:.3f} s per cell; SE vs ours max "
                f"rel. diff {diff:.1e}")  # fmt: skip
            if k == max(R_COMMUNITIES) and not full:
                est = secs / c * cells
                add("R survey::svyby (extrapolated)", n, g, est,
                    f"{secs / c:.3f} s per cell x {cells} cells; ours {est / t_w:.0f}x faster "
                    "(target >= 50x)")  # fmt: skip
            elif k >= g:
                rows[-1]["note"] += f"; ours {secs / t_w:.0f}x faster (target >= 50x)"
    return rows


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], "none (runs every size)")
    from .run import to_markdown

    print(to_markdown(run(SIZES)))

"""Benchmark of ``change_model`` against lme4 (via Rscript) in the same run.

Workload: ``make_survey`` (two waves, ``baseline``/``end``), the score = mean of the ten keyed
items (SC3, SC4 reversed), rows shuffled, community labels as strings (``"C123"``). Model:
``change_model(data, dv="score", community="community", after="end")`` (REML) against
``lme4::lmer(score ~ change + (1 + change | community), REML = TRUE)`` with lme4's default
optimiser, and once with bobyqa ``rhoend = 1e-12`` (the tight optimum that ours is compared to).

Sizes: 200,000 respondents / 4,000 communities, and 1,000,000 / 13,000 when lme4's default fit
at the first size took less than ``R_BUDGET`` seconds. Timings: the median of ``REPS`` calls of
each tool on the same CSV file in the same run, each on the frame its own reader gives: our
function on ``pd.read_csv(csv, dtype={"community": str})`` (``time.perf_counter``, in this
process, including coding the text labels, input checks and the per-community table) and
``system.time(lmer(...))`` on ``read.csv`` in one R process (R's CSV reading and ``factor()``
are not timed, nor is our CSV reading; lmer codes its grouping factor again inside). The note
also gives our time on the generated frame itself (object labels, one Python ``str`` object per
row, shuffled in memory: the slowest labels to code, not what a reader gives). Memory
added by the fit, the same way for both tools: a fresh process reads the CSV (and, in R, makes
the factors), collects garbage, reads its resident set size (``VmRSS`` of ``/proc/self/status``),
resets the peak (``echo 5 > /proc/self/clear_refs``), fits once and reads the peak (``VmHWM``);
"fit MB" = peak - RSS before the fit. The whole process's peak (``/usr/bin/time -v``) is shown
too; it includes the interpreter, the libraries and reading the CSV.

Panel workload: 200,000 respondents in 4,000 communities, 100,000 answering both waves and
50,000 each one wave only (300,000 rows), ``respondent="respondent"`` against
``lmer(score ~ change + (1 + change | community) + (1 | respondent))``.

Run: ``python -m benchmarks.bench_change_model`` (prints a Markdown table) or through
``python -m benchmarks.run change_model`` (writes the section of RESULTS.md).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import collective_efficacy as ce

from .bench_change import survey_scores
from .bench_mixed import _run_measured
from .data import LARGE, SMALL, community_sizes
from .timing import exit_on_help

SIZES = [SMALL, LARGE]
REPS = 3  # timed fits per tool and workload (medians)
PANEL = True  # also the partial panel at 200,000 respondents (100,000 in both waves)
R_BUDGET = 900.0  # seconds for lme4's default fit at the first size before the second is tried

R_MEM = r"""
vm <- function(key) {
  l <- grep(paste0("^", key, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(strsplit(trimws(sub(".*:", "", l)), " ")[[1]][1]) / 1024
}
fit_mb <- function(expr) {  # memory the fit adds: peak RSS during it minus RSS before it
  invisible(gc()); before <- vm("VmRSS"); writeLines("5", "/proc/self/clear_refs")
  force(expr); vm("VmHWM") - before
}
"""

R_SCRIPT = r"""
suppressMessages({library(lme4); library(jsonlite)})
{mem}
d <- read.csv("{csv}", colClasses = c(community = "character"))
d <- d[!is.na(d$score), ]
d$change <- as.numeric(d$wave == "end"); d$community <- factor(d$community)
f <- score ~ change + (1 + change | community)
mb <- fit_mb(m <- lmer(f, d, REML = TRUE))
t <- median(replicate({reps}, system.time(m <- lmer(f, d, REML = TRUE))[["elapsed"]]))
vc <- as.data.frame(VarCorr(m))
res <- list(seconds = t, fit_mb = mb, var_intercept = vc$vcov[1], var_change = vc$vcov[2], cov = vc$vcov[3],
            sigma2 = vc$vcov[4], loglik = as.numeric(logLik(m)),
            version = as.character(packageVersion("lme4")))
if ({tight}) {
  tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
  t2 <- system.time(m2 <- lmer(f, d, REML = TRUE, control = tight))[["elapsed"]]
  vc2 <- as.data.frame(VarCorr(m2))
  res <- c(res, list(seconds_tight = t2, var_intercept_tight = vc2$vcov[1],
                     var_change_tight = vc2$vcov[2], sigma2_tight = vc2$vcov[4],
                     loglik_tight = as.numeric(logLik(m2))))
}
cat(toJSON(res, digits = NA, auto_unbox = TRUE), "\n")
"""

PY_MEM = r"""
import gc, json, sys, pandas as pd, collective_efficacy as ce


def vm(key):
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith(key + ":")) / 1024


def fit_mb(fn):  # memory the fit adds: peak RSS during it minus RSS before it
    gc.collect()
    before = vm("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    fn()
    return vm("VmHWM") - before
"""

PY_SCRIPT = (
    PY_MEM
    + r"""
d = pd.read_csv(sys.argv[1], dtype={"community": str})
mb = fit_mb(lambda: ce.change_model(d, dv="score", community="community", after="end"))
print(json.dumps({"fit_mb": mb}))
"""
)


R_PANEL = r"""
suppressMessages({library(lme4); library(jsonlite)})
{mem}
d <- read.csv("{csv}", colClasses = c(community = "character", respondent = "character"))
d$change <- as.numeric(d$wave == "end"); d$community <- factor(d$community)
d$respondent <- factor(d$respondent)
f <- score ~ change + (1 + change | community) + (1 | respondent)
mb <- fit_mb(m <- lmer(f, d, REML = TRUE))
t <- median(replicate({reps}, system.time(m <- lmer(f, d, REML = TRUE))[["elapsed"]]))
vc <- as.data.frame(VarCorr(m))
cat(toJSON(list(seconds = t, fit_mb = mb, var_respondent = vc$vcov[vc$grp == "respondent"],
  var_change = vc$vcov[vc$grp == "community" & vc$var1 == "change" & is.na(vc$var2)],
  sigma2 = vc$vcov[vc$grp == "Residual"], loglik = as.numeric(logLik(m)),
  version = as.character(packageVersion("lme4"))), digits = NA, auto_unbox = TRUE), "\n")
"""

PY_PANEL = (
    PY_MEM
    + r"""
d = pd.read_csv(sys.argv[1], dtype={"community": str, "respondent": str})
kw = {"dv": "score", "community": "community", "after": "end", "respondent": "respondent"}
mb = fit_mb(lambda: ce.change_model(d, **kw))
print(json.dumps({"fit_mb": mb}))
"""
)


def panel_survey(n_resp: int, n_comm: int, seed: int = 20261202) -> pd.DataFrame:
    """A partial panel: half of the respondents answer both waves, a quarter each one wave."""
    rng = np.random.default_rng(seed)
    comm = np.repeat(np.arange(n_comm), community_sizes(n_resp, n_comm, rng))
    kind = rng.permutation(
        np.repeat([0, 1, 2], [n_resp // 2, n_resp // 4, n_resp - 3 * n_resp // 4])
    )
    u0, u1 = rng.normal(0, 0.4, n_comm), rng.normal(0.15, 0.2, n_comm)
    person = rng.normal(0, 0.5, n_resp)
    rid = np.arange(n_resp)
    waves = [rid[kind != 2], rid[kind != 1]]  # baseline: both + baseline-only; end: both + end
    parts = []
    for w, ids in enumerate(waves):
        score = 3 + u0[comm[ids]] + w * u1[comm[ids]] + person[ids] + rng.normal(0, 0.6, len(ids))
        parts.append(
            pd.DataFrame(
                {
                    "respondent": np.char.add("R", ids.astype(str)),
                    "community": np.char.add("C", comm[ids].astype(str)),
                    "wave": "end" if w else "baseline",
                    "score": np.round(score, 4),
                }
            )
        )
    return pd.concat(parts, ignore_index=True).sample(frac=1.0, random_state=seed)


def _median(fn: Any, reps: int = REPS) -> float:
    """Median wall-clock seconds of ``reps`` calls of ``fn``."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _pair(
    base: dict[str, Any],
    t_ours: float,
    mine: dict[str, Any],
    rss_ours: float | None,
    out: dict[str, Any],
    rss: float | None,
    note_ours: str,
    note_r: str,
) -> list[dict[str, Any]]:
    """Our row and lme4's, with the ratios of time and of the memory the fit adds."""
    ours = {**base, "tool": "collective_efficacy", "seconds": t_ours, "fit_mb": mine["fit_mb"],
            "peak_mb": rss_ours, "note": note_ours}  # fmt: skip
    mem = f"; fit memory {out['fit_mb'] / mine['fit_mb']:.1f}x ours" if mine["fit_mb"] > 0 else ""
    lme4 = {**base, "tool": f"lme4 {out['version']} (lmer, default optimizer)",
            "seconds": out["seconds"], "fit_mb": out["fit_mb"], "peak_mb": rss,
            "note": f"speed-up {out['seconds'] / t_ours:.0f}x{mem}; {note_r}"}  # fmt: skip
    return [ours, lme4]


def _panel(n: int, k: int, tmp: Path, rows: list[dict[str, Any]]) -> None:
    csv = tmp / "panel.csv"
    panel_survey(n, k).to_csv(csv, index=False)
    data = pd.read_csv(csv, dtype={"community": str, "respondent": str})  # as the R side
    base = {"workload": "change_model REML + (1 \\| respondent)", "n_respondents": n,
            "n_communities": k}  # fmt: skip
    kw = {"dv": "score", "community": "community", "after": "end", "respondent": "respondent"}
    m = ce.change_model(data, **kw)  # warm-up (imports), then the timed calls
    t_ours = _median(lambda: ce.change_model(data, **kw))
    py = tmp / "panel.py"
    py.write_text(PY_PANEL)
    mine, rss_ours = _run_measured([sys.executable, str(py), str(csv)], timeout=3600)
    note = (f"{len(data):,} rows, {m.n_repeated:,} respondents in both waves; converged "
            f"{m.converged}")  # fmt: skip
    if not shutil.which("Rscript"):
        rows.append({**base, "tool": "collective_efficacy", "seconds": t_ours,
                     "fit_mb": mine["fit_mb"], "peak_mb": rss_ours, "note": note})  # fmt: skip
        return
    script = tmp / "panel.R"
    script.write_text(
        R_PANEL.replace("{mem}", R_MEM).replace("{csv}", str(csv)).replace("{reps}", str(REPS))
    )
    out, rss = _run_measured(["Rscript", str(script)], timeout=7200)
    vc = m.variance_components
    rel = max(
        _rel(vc.var_respondent or 0.0, out["var_respondent"]),
        _rel(vc.var_change, out["var_change"]),
        _rel(vc.sigma2, out["sigma2"]),
    )
    note_r = (f"variance components max relative difference to ours {rel:.1e}; logLik ours - "
              f"lme4 {m.loglik - out['loglik']:.2e}")  # fmt: skip
    rows += _pair(base, t_ours, mine, rss_ours, out, rss, note, note_r)


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


def _one(n: int, k: int, tmp: Path, rows: list[dict[str, Any]]) -> float | None:
    made = survey_scores(n, k).sample(frac=1.0, random_state=7).reset_index(drop=True)
    csv = tmp / f"cm_{n}.csv"
    made.to_csv(csv, index=False)
    # both tools fit the same file as their reader gives it (lme4: read.csv's character labels;
    # ours: read_csv's text labels) and code the labels inside the timed call
    data = pd.read_csv(csv, dtype={"community": str})
    base = {"workload": "change_model REML", "n_respondents": n, "n_communities": k}
    kw = {"dv": "score", "community": "community", "after": "end"}
    m = ce.change_model(data, **kw)  # warm-up
    t_ours = _median(lambda: ce.change_model(data, **kw))
    # the generated frame itself: object labels, one Python str object per row, shuffled in
    # memory (the slowest labels to code; not what a reader gives)
    t_made = _median(lambda: ce.change_model(made, **kw))
    vc = m.variance_components
    py = tmp / "fit.py"
    py.write_text(PY_SCRIPT)
    mine, rss_ours = _run_measured([sys.executable, str(py), str(csv)], timeout=3600)
    note = (f"converged {m.converged}; var_change {vc.var_change:.6g}; rows shuffled, labels "
            f"as read_csv gives them ({data['community'].dtype}); on the generated frame "
            f"(object labels, one str object per row) {t_made:.3g} s")  # fmt: skip
    if not shutil.which("Rscript"):
        rows.append({**base, "tool": "collective_efficacy", "seconds": t_ours,
                     "fit_mb": mine["fit_mb"], "peak_mb": rss_ours, "note": note})  # fmt: skip
        rows.append({**base, "tool": "lme4", "seconds": float("nan"), "note": "no Rscript"})
        return None
    script = tmp / "fit.R"
    tight = "TRUE" if n <= SMALL[0] else "FALSE"
    script.write_text(
        R_SCRIPT.replace("{mem}", R_MEM).replace("{csv}", str(csv)).replace("{tight}", tight)
        .replace("{reps}", str(REPS))
    )  # fmt: skip
    out, rss = _run_measured(["Rscript", str(script)], timeout=7200)
    rel = max(
        _rel(vc.var_intercept, out["var_intercept"]),
        _rel(vc.var_change, out["var_change"]),
        _rel(vc.sigma2, out["sigma2"]),
    )
    note_r = (f"variance components max relative difference to ours {rel:.1e}; logLik ours - "
              f"lme4 {m.loglik - out['loglik']:.2e}")  # fmt: skip
    rows += _pair(base, t_ours, mine, rss_ours, out, rss, note, note_r)
    if "seconds_tight" in out:
        rel_t = max(
            _rel(vc.var_intercept, out["var_intercept_tight"]),
            _rel(vc.var_change, out["var_change_tight"]),
            _rel(vc.sigma2, out["sigma2_tight"]),
        )
        rows.append(
            {
                **base,
                "tool": f"lme4 {out['version']} (lmer, bobyqa rhoend=1e-12)",
                "seconds": out["seconds_tight"],
                "note": f"single run; speed-up {out['seconds_tight'] / t_ours:.0f}x; variance "
                f"components max relative difference to ours {rel_t:.1e}; logLik ours - lme4 "
                f"{m.loglik - out['loglik_tight']:.2e}",
            }
        )
    return float(out["seconds"])


def run(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (n, k) in enumerate(sizes):
            t_r = _one(n, k, Path(tmp), rows)
            if i == 0 and t_r is not None and t_r > R_BUDGET:
                break
        if PANEL:
            _panel(*SMALL, Path(tmp), rows)
    load = os.getloadavg()
    rows.append(
        {
            "workload": "note",
            "tool": "machine",
            "n_respondents": 0,
            "n_communities": 0,
            "seconds": float("nan"),
            "note": f"{os.cpu_count()} cores shared with other jobs; load average at the end "
            f"{load[0]:.1f} (1 min) / {load[1]:.1f} (5 min)",
        }
    )
    return rows


def to_markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| workload | tool | respondents | communities | seconds (median) | fit MB | process peak MB "
        "| note |\n|---|---|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        mb, fit = r.get("peak_mb"), r.get("fit_mb")
        lines.append(
            f"| {r['workload']} | {r['tool']} | {r['n_respondents']:,} | {r['n_communities']:,} | "
            f"{r['seconds']:.4g} | {'' if fit is None else f'{fit:.0f}'} | "
            f"{'' if mb is None else f'{mb:.0f}'} | {r.get('note', '')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], "--small: the small size only")
    print(to_markdown(run([SMALL] if "--small" in sys.argv[1:] else SIZES)))
    np.seterr()

"""Benchmark of collective_efficacy.multilevel.mixed against lme4 (via Rscript) and statsmodels MixedLM.

Workloads (same data, same run):

* ``two_level``: ``random_intercept(data, "ce", "community")`` (REML), ``ce`` = mean of the keyed
  items SC1..SC5, against ``lme4::lmer(ce ~ 1 + (1 | community))`` -- default preset LARGE
  (1,000,000 respondents / 13,000 communities).
* ``three_level``: ``ecometric(data, items=SC1..SC5, community="community", keys=["-SC3", "-SC4"])`` (REML)
  against ``lmer(y ~ 0 + item + (1 | community/respondent))`` on the long item data -- default
  preset SMALL (200,000 respondents x 5 items / 4,000 communities).

Timings are the median of the same number of runs of the fit call only for ours and statsmodels
(``benchmarks.timing``; one run when it takes > 20 s; each row states it), lme4 as its row says
(``time.perf_counter`` in Python,
``system.time`` around ``lmer`` in R; R's CSV reading and reshaping are not timed). Memory is the
peak resident set size of a fresh process that reads the same CSV and fits once (R:
``/usr/bin/time -v`` maximum RSS; ours: ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a
Python subprocess), plus ``tracemalloc``'s peak of our fit call. statsmodels MixedLM is far too
slow at these sizes: it is timed on a labelled subset of communities, next to our time on the
same subset (not extrapolated). lme4 rows are skipped with a note when Rscript is unavailable.

Run: ``python benchmarks/bench_mixed.py`` (prints a Markdown table); ``python
benchmarks/bench_mixed.py N K`` both workloads at one size. ``--growth N:K N:K ...`` times only
our three-level fit (the ``three_level`` call, median of ``REPEAT`` runs, each size in a fresh
process) and prints the growth exponent ``log(t2 / t1) / log(n2 / n1)`` between sizes (issue 16:
at most 1.05 from 1,000,000 to 10,000,000) of the wall time, of the CPU time
(``time.process_time``, steadier on a busy machine) and of the CPU time less the coding of the
object community labels (``factorize_groups``, timed alone; ``evaluate`` codes them once for
every step); ``--items all`` uses the ten items of ``evaluate`` instead of SC1..SC5.
"""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import collective_efficacy as ce
from data import LARGE, SMALL, make_survey
from timing import REPEAT, exit_on_help, method, timed

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]
KEYS = ["SC1", "SC2", "-SC3", "-SC4", "SC5"]
OURS = "collective_efficacy"


STATED = f"{method(REPEAT)} (a single run when one takes > 20 s)"


def _best(fn: Callable[[], Any], repeats: int = REPEAT) -> tuple[float, Any]:
    """(median of ``REPEAT`` runs -- one run if it takes > 20 s --, the result):
    ``benchmarks.timing``'s method, the same for ours and the Python peers."""
    out: list[Any] = []
    seconds, _ = timed(lambda: out.append(fn()), REPEAT)
    return seconds, out[-1]


def _run_measured(cmd: list[str], timeout: float) -> tuple[dict[str, Any], float | None]:
    """Run ``cmd`` (prints one JSON line last); return its JSON and max RSS in MB."""
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    full = [time_bin, "-v", *cmd] if time_bin else cmd
    proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    rss = None
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split(":")[1]) / 1024.0
    return json.loads(proc.stdout.strip().splitlines()[-1]), rss


R_TWO = r"""
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("{csv}"); d$community <- factor(d$community)
best <- Inf
for (i in 1:{reps}) {t <- system.time(m <- lmer(ce ~ 1 + (1 | community), d, REML = TRUE))[["elapsed"]]
  best <- min(best, t)}
vc <- as.data.frame(VarCorr(m))
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
t2 <- system.time(m2 <- lmer(ce ~ 1 + (1 | community), d, REML = TRUE, control = tight))
vc2 <- as.data.frame(VarCorr(m2))
cat(toJSON(list(seconds = best, tau2 = vc$vcov[1], sigma2 = vc$vcov[2],
  seconds_tight = t2[["elapsed"]], tau2_tight = vc2$vcov[1],
  version = as.character(packageVersion("lme4"))), digits = NA, auto_unbox = TRUE), "\n")
"""

R_THREE = r"""
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("{csv}")
items <- c("SC1", "SC2", "SC3", "SC4", "SC5")
for (it in c("SC3", "SC4")) d[[it]] <- 6 - d[[it]]
l <- data.frame(respondent = rep(d$respondent, 5), community = rep(d$community, 5),
                item = factor(rep(items, each = nrow(d)), levels = items),
                y = unlist(d[items], use.names = FALSE))
l <- l[!is.na(l$y), ]; rm(d); l$community <- factor(l$community)
l$respondent <- factor(l$respondent)
t <- system.time(m <- lmer(y ~ 0 + item + (1 | community/respondent), l, REML = TRUE))[["elapsed"]]
vc <- as.data.frame(VarCorr(m))
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6))
t2 <- system.time(m2 <- lmer(y ~ 0 + item + (1 | community/respondent), l, REML = TRUE,
                             control = tight))[["elapsed"]]
vc2 <- as.data.frame(VarCorr(m2))
cat(toJSON(list(seconds = t, seconds_tight = t2,
  tau_beta_tight = vc2$vcov[vc2$grp == "community"],
  tau_beta = vc$vcov[vc$grp == "community"],
  tau_pi = vc$vcov[vc$grp == "respondent:community"], sigma2 = vc$vcov[vc$grp == "Residual"],
  version = as.character(packageVersion("lme4"))), digits = NA, auto_unbox = TRUE), "\n")
"""

PY_THREE = r"""
import json, time, tracemalloc, pandas as pd, collective_efficacy as ce
d = pd.read_csv("{csv}")
tracemalloc.start()
t0 = time.perf_counter()
r = ce.ecometric(d, items=["SC1", "SC2", "SC3", "SC4", "SC5"], community="community",
                 keys=["-SC3", "-SC4"], scale_range=(1, 5))
t = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] / 2**20
print(json.dumps({{"seconds": t, "tracemalloc_mb": peak,
                  "tau_beta": r.variance_components.tau_beta}}))
"""


def _two_level(n: int, k: int, tmp: Path, rows: list[dict[str, Any]]) -> None:
    wl = "two_level REML"
    df = make_survey(n, k)
    y = df[ITEMS].to_numpy(float, copy=True)
    y[:, 2:4] = 6 - y[:, 2:4]
    data = pd.DataFrame({"community": df["community"], "ce": np.nanmean(y, axis=1)})
    base = {"workload": wl, "n_respondents": n, "n_communities": k}
    t_ours, res = _best(lambda: ce.random_intercept(data, dv="ce", community="community"), 10)
    tau2 = res.variance_components.tau2
    rows.append(
        {
            **base,
            "tool": OURS,
            "seconds": t_ours,
            "estimate": tau2,
            "note": "tau2 (REML); community as strings (the call factorises them)",
        }
    )
    cat = data.assign(community=data["community"].astype("category"))
    t_cat, _ = _best(lambda: ce.random_intercept(cat, dv="ce", community="community"), 10)
    rows.append(
        {
            **base,
            "tool": f"{OURS} (categorical)",
            "seconds": t_cat,
            "estimate": tau2,
            "note": "community as a pandas Categorical, the state of R's data after factor()",
        }
    )
    if shutil.which("Rscript"):
        csv = tmp / "two.csv"
        data.to_csv(csv, index=False)
        script = tmp / "two.R"
        script.write_text(R_TWO.replace("{csv}", str(csv)).replace("{reps}", "2"))
        out, rss = _run_measured(["Rscript", str(script)], timeout=3600)
        rel = abs(out["tau2"] - tau2) / out["tau2"]
        rel_t = abs(out["tau2_tight"] - tau2) / out["tau2_tight"]
        rows.append(
            {
                **base,
                "tool": f"lme4 {out['version']} (lmer, default optimizer)",
                "seconds": out["seconds"],
                "estimate": out["tau2"],
                "peak_mb": rss,
                "note": f"tau2 relative difference to ours {rel:.1e}; speed-up "
                f"{out['seconds'] / t_ours:.0f}x",
            }
        )
        rows.append(
            {
                **base,
                "tool": f"lme4 {out['version']} (lmer, bobyqa rhoend=1e-12)",
                "seconds": out["seconds_tight"],
                "estimate": out["tau2_tight"],
                "note": f"single run; tau2 relative difference to ours {rel_t:.1e}; speed-up "
                f"{out['seconds_tight'] / t_ours:.0f}x",
            }
        )
    else:
        rows.append({**base, "tool": "lme4", "seconds": float("nan"), "note": "no Rscript"})
    _statsmodels_two(data, rows, base)


def _statsmodels_two(data: pd.DataFrame, rows: list[dict[str, Any]], base: dict[str, Any]) -> None:
    import statsmodels.formula.api as smf

    labels = data["community"].unique()
    sub_k = max(2, len(labels) // 20)
    sub = data[data["community"].isin(labels[:sub_k])].dropna()
    t_sm, fit = _best(lambda: smf.mixedlm("ce ~ 1", sub, groups=sub["community"]).fit(reml=True), 1)
    t_ours, ours = _best(lambda: ce.random_intercept(sub, dv="ce", community="community"), 3)
    note = f"SUBSET: first {sub_k} communities, {len(sub)} respondents (not extrapolated)"
    sm_tau2 = float(fit.cov_re.iloc[0, 0])
    rel = abs(sm_tau2 - ours.variance_components.tau2) / ours.variance_components.tau2
    rows.append(
        {
            **base,
            "tool": "statsmodels MixedLM (subset)",
            "n_respondents": len(sub),
            "n_communities": sub_k,
            "seconds": t_sm,
            "estimate": sm_tau2,
            "note": f"{note}; tau2 relative difference to ours {rel:.1e}",
        }
    )
    rows.append(
        {
            **base,
            "tool": f"{OURS} (same subset)",
            "n_respondents": len(sub),
            "n_communities": sub_k,
            "seconds": t_ours,
            "estimate": ours.variance_components.tau2,
            "note": f"{note}; statsmodels / ours = {t_sm / t_ours:.0f}x",
        }
    )


def _three_level(n: int, k: int, tmp: Path, rows: list[dict[str, Any]]) -> None:
    wl = "three_level ecometric REML"
    df = make_survey(n, k)[["respondent", "community", *ITEMS]]
    base = {"workload": wl, "n_respondents": n, "n_communities": k}
    csv = tmp / "three.csv"
    df.to_csv(csv, index=False)
    t_ours, res = _best(
        lambda: ce.ecometric(df, items=ITEMS, community="community", keys=KEYS, scale_range=(1, 5)),
        3,
    )
    vc = res.variance_components
    script = tmp / "three.py"
    script.write_text(PY_THREE.replace("{csv}", str(csv)).replace("{{", "{").replace("}}", "}"))
    sub, rss_ours = _run_measured([sys.executable, str(script)], timeout=600)
    if rss_ours is None:  # no /usr/bin/time: the child's ru_maxrss (KB on Linux)
        rss_ours = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    rows.append(
        {
            **base,
            "tool": OURS,
            "seconds": t_ours,
            "estimate": vc.tau_beta,
            "peak_mb": rss_ours,
            "note": f"tau_beta; process max RSS (read CSV + fit); tracemalloc peak of the fit "
            f"{sub['tracemalloc_mb']:.0f} MB; converged={res.converged}",
        }
    )
    if shutil.which("Rscript"):
        rs = tmp / "three.R"
        rs.write_text(R_THREE.replace("{csv}", str(csv)))
        out, rss = _run_measured(["Rscript", str(rs)], timeout=7200)
        rel = abs(out["tau_beta"] - vc.tau_beta) / out["tau_beta"]
        mem = f"; memory ours/lme4 = {rss_ours / rss:.2f}" if rss else ""
        rows.append(
            {
                **base,
                "tool": f"lme4 {out['version']} (lmer, default optimizer)",
                "seconds": out["seconds"],
                "estimate": out["tau_beta"],
                "peak_mb": rss,
                "note": f"process max RSS (read CSV + reshape + both fits); tau_beta relative "
                f"difference to ours {rel:.1e}; speed-up {out['seconds'] / t_ours:.0f}x{mem}",
            }
        )
        rel_t = abs(out["tau_beta_tight"] - vc.tau_beta) / out["tau_beta_tight"]
        rows.append(
            {
                **base,
                "tool": f"lme4 {out['version']} (lmer, bobyqa rhoend=1e-12)",
                "seconds": out["seconds_tight"],
                "estimate": out["tau_beta_tight"],
                "note": f"tau_beta relative difference to ours {rel_t:.1e}; speed-up "
                f"{out['seconds_tight'] / t_ours:.0f}x",
            }
        )
    else:
        rows.append({**base, "tool": "lme4", "seconds": float("nan"), "note": "no Rscript"})
    _statsmodels_three(df, rows, base)


def _statsmodels_three(df: pd.DataFrame, rows: list[dict[str, Any]], base: dict[str, Any]) -> None:
    import statsmodels.formula.api as smf

    labels = df["community"].unique()
    sub_k = 40
    wide = df[df["community"].isin(labels[:sub_k])]
    long = wide.melt(id_vars=["respondent", "community"], value_vars=ITEMS, var_name="item")
    long = long.dropna()
    long.loc[long["item"].isin(["SC3", "SC4"]), "value"] = (
        6 - long.loc[long["item"].isin(["SC3", "SC4"]), "value"]
    )
    t_sm, fit = _best(
        lambda: smf.mixedlm(
            "value ~ 0 + item",
            long,
            groups=long["community"],
            re_formula="1",
            vc_formula={"respondent": "0 + C(respondent)"},
        ).fit(reml=True),
        1,
    )
    t_ours, ours = _best(
        lambda: ce.ecometric(
            wide, items=ITEMS, community="community", keys=KEYS, scale_range=(1, 5)
        ),
        3,
    )
    note = f"SUBSET: first {sub_k} communities, {len(wide)} respondents (not extrapolated)"
    sm_tb = float(fit.cov_re.iloc[0, 0])
    rel = abs(sm_tb - ours.variance_components.tau_beta) / ours.variance_components.tau_beta
    rows.append(
        {
            **base,
            "tool": "statsmodels MixedLM vc_formula (subset)",
            "n_respondents": len(wide),
            "n_communities": sub_k,
            "seconds": t_sm,
            "estimate": sm_tb,
            "note": f"{note}; tau_beta relative difference to ours {rel:.1e}",
        }
    )
    rows.append(
        {
            **base,
            "tool": f"{OURS} (same subset)",
            "n_respondents": len(wide),
            "n_communities": sub_k,
            "seconds": t_ours,
            "estimate": ours.variance_components.tau_beta,
            "note": f"{note}; statsmodels / ours = {t_sm / t_ours:.0f}x",
        }
    )


def run(sizes: Sequence[tuple[int, int]] | None = None) -> list[dict[str, Any]]:
    """Benchmark rows. Default: two-level at LARGE, three-level at SMALL (the issue's sizes);
    with ``sizes`` both workloads run at every ``(n_respondents, n_communities)``."""
    rows: list[dict[str, Any]] = []
    plan = (
        [("two", LARGE), ("three", SMALL)]
        if sizes is None
        else [(w, s) for s in sizes for w in ("two", "three")]
    )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for which, (n, k) in plan:
            (_two_level if which == "two" else _three_level)(n, k, tmp, rows)
    return _stated(rows)


def _stated(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row states its timing method (issue 16): rows timed here say the median."""
    for r in rows:
        note = str(r.get("note", ""))
        if not re.search(r"median of|single run|one run|load excluded", note):
            r["note"] = f"{note}; {STATED}" if note else STATED
    return rows


def _markdown(rows: list[dict[str, Any]]) -> str:
    head = "| workload | tool | respondents | communities | seconds | peak MB | estimate | note |"
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        peak = r.get("peak_mb")
        lines.append(
            f"| {r['workload']} | {r['tool']} | {r['n_respondents']:,} | {r['n_communities']:,} "
            f"| {r['seconds']:.3f} | {'' if peak is None else f'{peak:.0f}'} "
            f"| {r.get('estimate', float('nan')):.6g} | {r['note']} |"
        )
    return "\n".join(lines)


def _cpu_median(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    """Median CPU seconds of ``fn`` in this process (``time.process_time``): less sensitive
    than wall time to other processes on a busy machine."""
    import time

    def once() -> float:
        t0 = time.process_time()
        fn()
        return time.process_time() - t0

    return float(np.median([once() for _ in range(repeat)]))


def _growth_child(n: int, k: int, items: list[str]) -> dict[str, Any]:
    """Our three-level fit alone at one size (in this fresh process): median wall and CPU
    seconds, and the CPU seconds of coding the (object) community labels, part of the call."""
    from collective_efficacy._groups import factorize_groups
    from data import ITEMS as ALL_ITEMS

    keys = [f"-{it}" if it in ("SC3", "SC4") else it for it in items]
    df = make_survey(n, k)[["respondent", "community", *items]]
    assert set(items) <= set(ALL_ITEMS)

    def fit() -> Any:
        return ce.ecometric(df, items=items, community="community", keys=keys, scale_range=(1, 5))

    seconds, res = _best(fit)
    cpu = _cpu_median(fit)
    labels = _cpu_median(lambda: factorize_groups(df, "community"))
    return {"n": n, "k": k, "seconds": seconds, "cpu": cpu, "cpu_labels": labels,
            "n_iter": res.diagnostics.n_iter, "converged": res.converged,
            "tau_beta": res.variance_components.tau_beta}  # fmt: skip


def _exponent(a: dict[str, Any], b: dict[str, Any], t: Callable[[dict[str, Any]], float]) -> str:
    return f"{np.log(t(b) / t(a)) / np.log(b['n'] / a['n']):.2f}"


def growth(sizes: Sequence[tuple[int, int]], items: str = "SC") -> str:
    """Seconds per size (each in a fresh process) and the growth exponents between sizes:
    wall, CPU, and CPU less the label coding (the fit from coded communities)."""
    out = []
    for n, k in sizes:
        cmd = [sys.executable, __file__, "--growth-child", str(n), str(k), items]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=3600)
        out.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    lines = [
        f"three-level ecometric REML, ours only ({STATED}; CPU: median of {REPEAT} "
        f"process_time runs; items: {items})",
        "| respondents | communities | seconds | CPU s | CPU s label coding | n_iter | converged "
        "| exponent wall | exponent CPU | exponent CPU less label coding |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for i, r in enumerate(out):
        exps = ["", "", ""]
        if i:
            p = out[i - 1]
            exps = [
                _exponent(p, r, lambda x: x["seconds"]),
                _exponent(p, r, lambda x: x["cpu"]),
                _exponent(p, r, lambda x: x["cpu"] - x["cpu_labels"]),
            ]
        lines.append(
            f"| {r['n']:,} | {r['k']:,} | {r['seconds']:.3f} | {r['cpu']:.3f} | "
            f"{r['cpu_labels']:.3f} | {r['n_iter']} | {r['converged']} | {' | '.join(exps)} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    exit_on_help(
        __doc__, sys.argv[1:], "[N G] one size; --growth N:G ... growth exponents; --items all|SC"
    )
    args = sys.argv[1:]
    chosen = "all" if "--items" in args and args[args.index("--items") + 1] == "all" else "SC"
    if "--items" in args:
        del args[args.index("--items") : args.index("--items") + 2]
    if args[:1] == ["--growth-child"]:
        from data import ITEMS as ALL_ITEMS

        its = list(ALL_ITEMS) if args[3] == "all" else ITEMS
        print(json.dumps(_growth_child(int(args[1]), int(args[2]), its)))
    elif args[:1] == ["--growth"]:
        pairs = [tuple(int(v) for v in a.split(":")) for a in args[1:]]
        print(growth([(p[0], p[1]) for p in pairs], chosen))
    else:
        sizes = [(int(args[0]), int(args[1]))] if len(args) == 2 else None
        print(_markdown(run(sizes)))

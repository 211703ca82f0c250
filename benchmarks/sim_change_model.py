"""Simulation study of ``change_model``: interval coverage and detection at equal false-positive rate.

Data (per replication, seeded): ``K`` communities, 10-30 residents per community and wave
(independent cross-sections, uniform sizes), true community changes
:math:`\\delta_j = 0.15 + u_{1j}`, :math:`u_{1j} \\sim N(0, \\mathrm{SD}^2)`, intercepts
:math:`N(3, 0.35^2)`, correlation 0, resident SD 0.8. Seeds: ``7_000_000 + 1000 K + r``
(coverage) and ``20_261_202 + 1000 K + r`` (detection), replication ``r = 0, 1, ...``.

Coverage (:func:`coverage`): the share of communities whose interval (``ci_low``, ``ci_high``:
the interval the verdict uses, from the posterior integrated over the covariance parameters)
covers the true change, over all fits, over the non-boundary fits and over the boundary fits,
for K in {10, 20, 40, 100} and SD in {0.1, 0.25, 0.4}; beside it the previous interval
(``change -/+ t(prediction_df) prediction_sd``, Prasad-Rao) on the same fits, and the coverage
that the conditional SD (``posterior_sd``, lme4's ``condVar``) with a normal quantile would
give. Monte Carlo SE: the SD of the replication means over sqrt(replications).

Detection (:func:`detection`, SD = 0.25, K in {10, 20, 40, 100}): "positive" = true change > 0.
ROC-style: for each target per-community false-positive rate (FPR) in :data:`FPRS`, each
ranking statistic gets the threshold at which the share of not-improved communities (pooled
over replications) above it equals the target; the table gives the share of truly improved
communities above it (sensitivity). Statistics: the model's ``p_improved`` (the verdict's
statistic: "improved" iff ``p_improved > 0.975``), the previous interval's statistic
(``F_t(change / prediction_sd)``), the model's ``change / posterior_sd``, and
the one-sided Welch p of an increase (per community, the raw difference of means). MC SE of a
sensitivity: the SD over replications of the per-replication share above the (fixed)
threshold over sqrt(replications) (the threshold's own sampling error is not included). Then
the operating points of the rules as used: the model's verdict (per-community 95 % interval),
``evaluate``'s verdict (the model's; on an unverified fit the
Bonferroni-simultaneous intervals of the raw differences), those Bonferroni intervals on every fit (the former
fallback on boundary fits), Welch two-sided p < 0.05 without correction, and Welch + Holm
(``compare_waves``'s default, p_adjusted < 0.05), with their FPR, the family-wise share of
replications with a wrong-signed verdict, and the sensitivity of the one-sided Welch test with
its threshold set to the rule's own (pooled) FPR, and of the model's ``p_improved`` likewise;
the paired differences model minus Welch and model minus the rule at that rate, each with its
MC error at fixed thresholds and, in brackets, a bootstrap SE (200 resamples of the
replications, the rule's FPR and every threshold re-set in each: the thresholds' own sampling
error, which the fixed-threshold SE leaves out, dominates at small rates);
then the same on the boundary fits only. Welch + Holm is computed here vectorised;
:func:`_check_welch` asserts on one replication that it equals ``compare_waves`` (t, df,
p_adjusted to 1e-10).

Run: ``python -m benchmarks.sim_change_model [REPS_COVERAGE] [REPS_DETECTION] [K ...]`` (prints
Markdown tables; the methods page's run: ``300 0 K`` and ``0 1000 K`` (K = 10, 20), ``0 600 40``,
``0 300 100``, one process each, 1-4 minutes of CPU each).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import collective_efficacy as ce

from .timing import exit_on_help

MU, SD_INT, SD_E = 0.15, 0.35, 0.8
KS = (10, 20, 40, 100)
SETTINGS = [(k, s) for k in KS for s in (0.1, 0.25, 0.4)]
FPRS = (0.001, 0.005, 0.01, 0.02, 0.05)


def simulate(rng: np.random.Generator, k: int, sd_change: float) -> tuple[pd.DataFrame, np.ndarray]:
    u0 = rng.normal(0, SD_INT, k)
    delta = MU + rng.normal(0, sd_change, k)
    parts = []
    labels = np.char.add("C", np.char.zfill(np.arange(k).astype(str), 3))  # sorted = code order
    for w, wave in enumerate(("baseline", "end_of_cycle")):
        n = rng.integers(10, 31, k)
        c = np.repeat(np.arange(k), n)
        y = 3 + u0[c] + w * delta[c] + rng.normal(0, SD_E, len(c))
        parts.append(pd.DataFrame({"community": labels[c], "wave": wave, "score": y}))
    return pd.concat(parts, ignore_index=True), delta


def engine(data: pd.DataFrame) -> tuple[Any, np.ndarray]:
    """The engine's fit (with its sufficient statistics) and the per-community contrast."""
    from collective_efficacy.multilevel._change_design import design
    from collective_efficacy.multilevel._lmm_slope import fit_rs_lmm
    from collective_efficacy.multilevel.change_model import _contrast

    des = design(data, dv="score", community="community", wave="wave", before="baseline",
                 after="end_of_cycle", time=None, covariates=[], comparison=None,
                 respondent=None)  # fmt: skip
    con = _contrast(des)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_rs_lmm(des.y, des.X, des.t, des.codes, len(des.labels), contrast=con), con


def _fit(data: pd.DataFrame) -> ce.ChangeModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a rare unverified fit is counted, not hidden
        return ce.change_model(data, dv="score", community="community")


def _mean_se(per_rep: list[float] | np.ndarray) -> tuple[float, float]:
    a = np.asarray(per_rep, dtype=float)
    a = a[np.isfinite(a)]
    if len(a) < 2:
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(len(a)))


def _fmt(ms: tuple[float, float]) -> str:
    return "–" if not np.isfinite(ms[0]) else f"{ms[0]:.3f} ± {ms[1]:.3f}"


def _plug_in(c: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The previous interval: change -/+ t(prediction_df) prediction_sd (Prasad-Rao)."""
    q = stats.t.ppf(0.975, c["prediction_df"])
    return (c["change"] - q * c["prediction_sd"]).to_numpy(), (
        c["change"] + q * c["prediction_sd"]
    ).to_numpy()


def coverage(reps: int, ks: tuple[int, ...] = KS) -> str:
    out = [
        "| communities | SD of true changes | replications | boundary fits | rule: grid | "
        "coverage, all fits | coverage, non-boundary fits | coverage, boundary fits | "
        "previous interval (Prasad-Rao), all fits | previous, boundary fits "
        "| `posterior_sd`, normal |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    z = stats.norm.ppf(0.975)
    for k, sd in [(k, s) for k, s in SETTINGS if k in ks]:
        acc: dict[str, list[float]] = {}
        for r in range(reps):
            data, delta = simulate(np.random.default_rng(7_000_000 + 1000 * k + r), k, sd)
            m = _fit(data)
            c = m.communities
            inside = float(((c["ci_low"] <= delta) & (delta <= c["ci_high"])).mean())
            lo, hi = _plug_in(c)
            old = float(((lo <= delta) & (delta <= hi)).mean())
            nan = float("nan")
            for key, val in (
                ("all", inside),
                ("inner", nan if m.boundary else inside),
                ("bnd", inside if m.boundary else nan),
                ("old", old),
                ("old_bnd", old if m.boundary else nan),
                ("post", float(np.mean(np.abs(c["change"] - delta) <= z * c["posterior_sd"]))),
                ("boundary", float(m.boundary)),
                ("grid", float((c["interval_method"] == "grid").all())),
            ):
                acc.setdefault(key, []).append(val)
        cells = [_fmt(_mean_se(acc[key])) for key in ("all", "inner", "bnd", "old", "old_bnd")]
        out.append(
            f"| {k} | {sd} | {reps} | {np.mean(acc['boundary']):.0%} | "
            f"{np.mean(acc['grid']):.0%} | "
            + " | ".join(cells)
            + f" | {_fmt(_mean_se(acc['post']))} |"
        )
    return "\n".join(out)


def _welch(data: pd.DataFrame, k: int) -> dict[str, np.ndarray]:
    """Per community (codes = sorted labels): Welch t, df, one-sided p, Holm-adjusted p."""
    codes = pd.factorize(data["community"], sort=True)[0]
    after = (data["wave"] == "end_of_cycle").to_numpy()
    y = data["score"].to_numpy()

    def moments(sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = np.bincount(codes[sel], minlength=k).astype(float)
        mean = np.bincount(codes[sel], weights=y[sel], minlength=k) / n
        dev = y[sel] - mean[codes[sel]]
        var = np.bincount(codes[sel], weights=dev * dev, minlength=k) / (n - 1)
        return n, mean, var

    (na, ma, va), (nb, mb, vb) = moments(after), moments(~after)
    sa, sb = va / na, vb / nb
    t = (ma - mb) / np.sqrt(sa + sb)
    df = (sa + sb) ** 2 / (sa**2 / (na - 1) + sb**2 / (nb - 1))
    p2 = 2 * stats.t.sf(np.abs(t), df)
    order = np.argsort(p2)  # Holm step-down
    adj = np.empty(k)
    adj[order] = np.minimum(1.0, np.maximum.accumulate(p2[order] * (k - np.arange(k))))
    return {"t": t, "df": df, "p1": stats.t.sf(t, df), "p2": p2, "holm": adj}


def _check_welch(k: int = 40) -> None:
    data, _ = simulate(np.random.default_rng(1), k, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = ce.compare_waves(data, dv="score", community="community", after="end_of_cycle",
                             p_adjust="holm", min_n=2)  # fmt: skip
    w = w[w["level"] == "community"].sort_values("community")
    ours = _welch(data, k)
    for key, col in (("t", "t"), ("df", "df"), ("holm", "p_adjusted")):
        np.testing.assert_allclose(ours[key], w[col].to_numpy(), rtol=1e-10)


def _one(seed: int, k: int, sd: float) -> dict[str, np.ndarray]:
    data, delta = simulate(np.random.default_rng(seed), k, sd)
    m = _fit(data)
    c = m.communities
    w = _welch(data, k)
    up, down = w["t"] > 0, w["t"] < 0
    model = (c["verdict"] == "improved").to_numpy()
    model_wrong = ((c["ci_low"] > 0) & (delta <= 0) | (c["ci_high"] < 0) & (delta >= 0)).to_numpy()
    bonf = w["p2"] < 0.05 / k  # evaluate's fallback: Bonferroni-simultaneous raw intervals
    bonf_wrong = bonf & (up & (delta <= 0) | down & (delta >= 0))
    return {
        "delta": delta,
        "boundary": np.array(m.boundary),
        "p_improved": c["p_improved"].to_numpy(),
        "p_previous": stats.t.cdf(c["change"] / c["prediction_sd"], c["prediction_df"]),
        "z_posterior": (c["change"] / c["posterior_sd"]).to_numpy(),
        "welch_p1": w["p1"],
        "model": model,
        "model_wrong": model_wrong,
        "evaluate": model if m.converged else bonf & up,
        "evaluate_wrong": model_wrong if m.converged else bonf_wrong,
        "bonferroni": bonf & up,
        "bonferroni_wrong": bonf_wrong,
        "converged": np.array(m.converged),
        "welch": (w["p2"] < 0.05) & up,
        "welch_wrong": (w["p2"] < 0.05) & (up & (delta <= 0) | down & (delta >= 0)),
        "holm": (w["holm"] < 0.05) & up,
        "holm_wrong": (w["holm"] < 0.05) & (up & (delta <= 0) | down & (delta >= 0)),
    }


def _roc_row(res: list[dict[str, np.ndarray]], key: str, higher: bool) -> list[str]:
    """Sensitivity at each target FPR, the threshold set on the pooled not-improved scores."""
    pos = [r["delta"] > 0 for r in res]
    score = [r[key] if higher else -r[key] for r in res]
    neg = np.concatenate([s[~p] for s, p in zip(score, pos)])
    cells = []
    for f in FPRS:
        thr = np.quantile(neg, 1.0 - f, method="higher")
        cells.append(_fmt(_mean_se([np.mean(s[p] > thr) for s, p in zip(score, pos) if p.any()])))
    return cells


def _welch_at(res: list[dict[str, np.ndarray]], key: str) -> tuple[float, float]:
    """Sensitivity of the one-sided Welch p thresholded at the rule's pooled FPR."""
    pos = [r["delta"] > 0 for r in res]
    fpr = np.concatenate([r[key][~p] for r, p in zip(res, pos)]).mean()
    neg = np.concatenate([-r["welch_p1"][~p] for r, p in zip(res, pos)])
    thr = np.quantile(neg, 1.0 - fpr, method="higher")
    return _mean_se([np.mean(-r["welch_p1"][p] > thr) for r, p in zip(res, pos) if p.any()])


def _model_at(res: list[dict[str, np.ndarray]], key: str) -> tuple[float, float]:
    """Sensitivity of the model's p_improved thresholded at the rule's pooled FPR."""
    pos = [r["delta"] > 0 for r in res]
    fpr = np.concatenate([r[key][~p] for r, p in zip(res, pos)]).mean()
    neg = np.concatenate([r["p_improved"][~p] for r, p in zip(res, pos)])
    thr = np.quantile(neg, 1.0 - fpr, method="higher")
    return _mean_se([np.mean(r["p_improved"][p] > thr) for r, p in zip(res, pos) if p.any()])


def _sens_at(res: list[dict[str, np.ndarray]], key: str, higher: bool, fpr: float) -> np.ndarray:
    """Per replication: the share of truly improved above the pooled threshold at ``fpr``."""
    pos = [r["delta"] > 0 for r in res]
    score = [r[key] if higher else -r[key] for r in res]
    thr = np.quantile(np.concatenate([s[~p] for s, p in zip(score, pos)]), 1.0 - fpr,
                      method="higher")  # fmt: skip
    return np.array([np.mean(s[p] > thr) for s, p in zip(score, pos) if p.any()])


def _paired_at(res: list[dict[str, np.ndarray]], key: str, n_boot: int = 200) -> list[str]:
    """The model's ``p_improved`` thresholded at the rule's pooled FPR, paired on the same
    replications, minus (1) the one-sided Welch p thresholded likewise and (2) the rule's own
    verdicts: mean ± its SE at fixed thresholds [bootstrap SE over replications, the rule's
    FPR and the thresholds re-set in every resample]."""

    def diff(sub: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        pos = [r["delta"] > 0 for r in sub]
        fpr = float(np.concatenate([r[key][~p] for r, p in zip(sub, pos)]).mean())
        model = _sens_at(sub, "p_improved", True, fpr)
        rule = np.array([r[key][p].mean() for r, p in zip(sub, pos) if p.any()])
        return model - _sens_at(sub, "welch_p1", False, fpr), model - rule

    d = diff(res)
    rng = np.random.default_rng(2026)
    boot = np.array([[x.mean() for x in diff([res[i] for i in rng.integers(0, len(res), len(res))])]
                     for _ in range(n_boot)])  # fmt: skip
    return [
        f"{x.mean():+.3f} ± {x.std(ddof=1) / np.sqrt(len(x)):.3f} [{np.std(b, ddof=1):.3f}]"
        for x, b in zip(d, boot.T)
    ]


def _boundary_rows(res: list[dict[str, np.ndarray]], k: int) -> list[str]:
    """The model's verdict against Bonferroni raw intervals on the boundary fits only."""
    sub = [r for r in res if bool(r["boundary"])]
    if len(sub) < 2:
        return [f"| {k} | {len(sub)} | – | – | – | – | – |"]
    rows = []
    for key, name in (("model", "the model's 95 % interval"), ("bonferroni", "Bonferroni raw")):
        pos = [r["delta"] > 0 for r in sub]
        sens = _mean_se([r[key][p].mean() for r, p in zip(sub, pos) if p.any()])
        fpr = _mean_se([r[key][~p].mean() for r, p in zip(sub, pos) if (~p).any()])
        wrong = _mean_se([r[key + "_wrong"].mean() for r in sub])
        fw = _mean_se([float(r[key + "_wrong"].any()) for r in sub])
        rows.append(
            f"| {k} | {len(sub)} | {name} | {_fmt(sens)} | {_fmt(fpr)} | {_fmt(wrong)} "
            f"| {_fmt(fw)} |"
        )
    return rows


def detection(reps: int, ks: tuple[int, ...] = KS, sd: float = 0.25) -> str:
    _check_welch()
    head = " | ".join(f"FPR {f:.1%}" for f in FPRS)
    roc = [
        f"Sensitivity at equal per-community false-positive rate; {reps} replications per row, "
        f"10-30 residents per community and wave, true changes N({MU}, {sd}^2).",
        "",
        f"| communities | ranking statistic | {head} |",
        "|---:|---|" + "---:|" * len(FPRS),
    ]
    ops = [
        "| communities | rule | truly improved called improved | not improved called improved "
        "| family-wise: a replication with a wrong-signed verdict "
        "| Welch one-sided at the same false-positive rate: truly improved found "
        "| model `p_improved` at the same false-positive rate: truly improved found "
        "| model minus Welch at that rate, paired [bootstrap SE] "
        "| model at that rate minus the rule, paired [bootstrap SE] |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {
        "model": "model: per-community 95 % interval (`change_model`'s verdict)",
        "evaluate": "`evaluate`'s verdict: the model (Bonferroni raw intervals if not converged)",
        "bonferroni": "Bonferroni-simultaneous raw intervals (the former fallback)",
        "welch": "Welch per community, two-sided p < 0.05, no correction",
        "holm": "Welch + Holm, p_adjusted < 0.05 (`compare_waves`)",
    }
    bnd = [
        "Boundary fits only (the fits on which `evaluate` used to fall back):",
        "",
        "| communities | boundary fits | rule | truly improved called improved "
        "| not improved called improved | wrong sign (per community) "
        "| a fit with a wrong-signed verdict |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for k in ks:
        res = [_one(20_261_202 + 1000 * k + r, k, sd) for r in range(reps)]
        bnd += _boundary_rows(res, k)
        for label, key, higher in (
            ("model `p_improved` (the verdict's statistic)", "p_improved", True),
            ("previous interval's statistic (Prasad-Rao, t)", "p_previous", True),
            ("model `change / posterior_sd`", "z_posterior", True),
            ("Welch, one-sided p", "welch_p1", False),
        ):
            roc.append(f"| {k} | {label} | " + " | ".join(_roc_row(res, key, higher)) + " |")
        pos = [r["delta"] > 0 for r in res]
        for key, name in names.items():
            sens = _mean_se([r[key][p].mean() for r, p in zip(res, pos) if p.any()])
            fpr = _mean_se([r[key][~p].mean() for r, p in zip(res, pos) if (~p).any()])
            fw = _mean_se([float(r[key + "_wrong"].any()) for r in res])
            ops.append(
                f"| {k} | {name} | {_fmt(sens)} | {_fmt(fpr)} | {_fmt(fw)} | "
                f"{_fmt(_welch_at(res, key))} | {_fmt(_model_at(res, key))} "
                f"| {' | '.join(_paired_at(res, key))} |"
            )
    return "\n".join([*roc, "", *ops, "", *bnd])


if __name__ == "__main__":
    exit_on_help(
        __doc__,
        sys.argv[1:],
        "[N_COVERAGE [N_DETECTION [K ...]]] replications for coverage and detection, numbers of communities",
    )
    n_cov = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n_det = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    only = tuple(int(a) for a in sys.argv[3:]) or KS
    if n_cov:
        print(coverage(n_cov, only))
        print()
    if n_det:
        print(detection(n_det, only))

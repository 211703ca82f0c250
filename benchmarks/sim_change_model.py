"""Simulation study of ``change_model``: interval coverage and detection against Welch + Holm.

Data (per replication, seeded): ``K`` communities, 10-30 residents per community and wave
(independent cross-sections, uniform sizes), true community changes
:math:`\\delta_j = 0.15 + u_{1j}`, :math:`u_{1j} \\sim N(0, \\mathrm{SD}^2)`, intercepts
:math:`N(3, 0.35^2)`, correlation 0, resident SD 0.8.

Coverage (``coverage``): the share of communities whose interval (``ci_low``, ``ci_high``: the
interval the verdict uses) covers the true change, over all fits and over the fits that
``evaluate`` uses for its verdicts (converged, not at the boundary), for K in {10, 40, 100} and
SD in {0 (boundary: no true variation), 0.1, 0.25, 0.4}; besides it the coverage that the
conditional SD (``posterior_sd``, lme4's ``condVar``) with a normal quantile would give.
Monte Carlo SE: the SD of the replication means over sqrt(replications).

Detection (``detection``, K = 40, SD = 0.25): the share of truly improved communities (true
change > 0) called "improved" (sensitivity), of not-improved ones called "improved" (false
positive rate), and the family-wise rate of wrong-signed verdicts (the share of replications
with at least one community called improved whose true change is not above 0, or declined
whose true change is not below 0), for

* the model's verdict (per-community interval, the report's rule);
* Welch per community at the same per-community level (two-sided p < 0.05, no correction);
* the model with Bonferroni-simultaneous intervals (t quantile at 1 - 0.05 / (2 m));
* Welch + Holm (``compare_waves``, ``p_adjusted < 0.05``), which controls the family-wise rate;
* Welch with a one-sided threshold set so that its false-positive rate equals the model's.

Run: ``python -m benchmarks.sim_change_model [REPS_COVERAGE] [REPS_DETECTION]`` (prints
Markdown tables; a few minutes at the defaults).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
from scipy import stats

import collective_efficacy as ce

MU, SD_INT, SD_E = 0.15, 0.35, 0.8
SETTINGS = [(k, s) for k in (10, 40, 100) for s in (0.0, 0.1, 0.25, 0.4)]


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


def coverage(reps: int) -> str:
    out = [
        "| communities | SD of true changes | replications | boundary fits | coverage (the "
        "verdict's interval) | coverage, fits evaluate uses | posterior_sd, normal |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    z = stats.norm.ppf(0.975)
    for k, sd in SETTINGS:
        cov, used, post, bnd = [], [], [], []
        for r in range(reps):
            data, delta = simulate(np.random.default_rng(7_000_000 + 1000 * k + r), k, sd)
            m = _fit(data)
            c = m.communities
            inside = ((c["ci_low"] <= delta) & (delta <= c["ci_high"])).to_numpy()
            cov.append(inside.mean())
            used.append(inside.mean() if m.converged and not m.boundary else np.nan)
            post.append(float(np.mean(np.abs(c["change"] - delta) <= z * c["posterior_sd"])))
            bnd.append(float(m.boundary))
        (a, ae), (b, be), (p, pe) = _mean_se(cov), _mean_se(used), _mean_se(post)
        out.append(
            f"| {k} | {sd} | {reps} | {np.mean(bnd):.0%} | {a:.3f} ± {ae:.3f} | "
            f"{b:.3f} ± {be:.3f} | {p:.3f} ± {pe:.3f} |"
        )
    return "\n".join(out)


def _one(seed: int, k: int, sd: float) -> dict[str, np.ndarray]:
    data, delta = simulate(np.random.default_rng(seed), k, sd)
    m = _fit(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = ce.compare_waves(data, dv="score", community="community", after="end_of_cycle",
                             p_adjust="holm", min_n=2)  # fmt: skip
    c = m.communities
    w = w[w["level"] == "community"]
    q = stats.t.ppf(1 - 0.05 / (2 * k), c["prediction_df"])  # Bonferroni-simultaneous
    lo_b = c["change"] - q * c["prediction_sd"]
    hi_b = c["change"] + q * c["prediction_sd"]
    t, df = w["t"].to_numpy(), w["df"].to_numpy()
    p2 = 2 * stats.t.sf(np.abs(t), df)
    return {
        "delta": delta,
        "model": (c["verdict"] == "improved").to_numpy(),
        "model_wrong": (
            (c["ci_low"] > 0) & (delta <= 0) | (c["ci_high"] < 0) & (delta >= 0)
        ).to_numpy(),
        "welch": (p2 < 0.05) & (t > 0),
        "welch_wrong": (p2 < 0.05) & ((t > 0) & (delta <= 0) | (t < 0) & (delta >= 0)),
        "model_bonf": (lo_b > 0).to_numpy(),
        "model_bonf_wrong": ((lo_b > 0) & (delta <= 0) | (hi_b < 0) & (delta >= 0)).to_numpy(),
        "holm": ((w["p_adjusted"] < 0.05) & (w["diff"] > 0)).to_numpy(),
        "holm_wrong": (
            (w["p_adjusted"] < 0.05)
            & ((w["diff"] > 0) & (delta <= 0) | (w["diff"] < 0) & (delta >= 0))
        ).to_numpy(),
        "welch_p1": stats.t.sf(t, df),  # one-sided p of an increase
    }


def detection(reps: int, k: int = 40, sd: float = 0.25) -> str:
    res = [_one(20261202 + r, k, sd) for r in range(reps)]
    pos = [r["delta"] > 0 for r in res]

    def rate(key: str, truth: bool) -> tuple[float, float]:
        return _mean_se([r[key][p if truth else ~p].mean() for r, p in zip(res, pos)
                         if (p if truth else ~p).any()])  # fmt: skip

    fpr_model = rate("model", False)[0]
    p_neg = np.concatenate([r["welch_p1"][~p] for r, p in zip(res, pos)])
    alpha = float(np.quantile(p_neg, fpr_model)) if fpr_model > 0 else 0.0
    for r in res:
        r["welch_cal"] = r["welch_p1"] < alpha
    rows = [
        ("model: per-community 95 % interval (the report's verdict)", "model"),
        ("Welch per community, two-sided p < 0.05 (same per-community level)", "welch"),
        ("model: Bonferroni-simultaneous intervals (family-wise)", "model_bonf"),
        ("Welch + Holm, p_adjusted < 0.05 (family-wise)", "holm"),
        (f"Welch, one-sided p < {alpha:.3f} (the model's false-positive rate)", "welch_cal"),
    ]
    out = [
        f"{reps} replications x {k} communities; 10-30 residents per community and wave; true "
        f"changes N({MU}, {sd}^2), resident SD {SD_E}.",
        "",
        "| rule | truly improved called improved | not improved called improved | "
        "family-wise: a replication with a wrong-signed verdict |",
        "|---|---:|---:|---:|",
    ]
    for name, key in rows:
        (s, se), (f, fe) = rate(key, True), rate(key, False)
        wrong = key + "_wrong"
        fw = _mean_se([float(r[wrong].any()) for r in res]) if wrong in res[0] else None
        fws = f"{fw[0]:.3f} ± {fw[1]:.3f}" if fw else "-"
        out.append(f"| {name} | {s:.3f} ± {se:.3f} | {f:.3f} ± {fe:.3f} | {fws} |")
    return "\n".join(out)


if __name__ == "__main__":
    n_cov = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n_det = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    print(coverage(n_cov))
    print()
    print(detection(n_det))

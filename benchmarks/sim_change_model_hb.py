"""Prototype, superseded by the library's ``multilevel/_change_posterior.py`` (issue 14): the
community's change integrated over the change variance.

Why: in :mod:`benchmarks.sim_change_model` the verdict's statistic (``p_improved``, from the
plug-in EB change and its Prasad-Rao interval) ranks communities worse than a per-community
Welch test at equal false-positive rate when the variance of the changes is estimated near 0
(10 or 40 communities). In such a replication every community is shrunk to the common change
with a small SD, so *every* community, improved or not, gets a high ``p_improved``; pooled
over replications these fill the top of the ranking. The delta-method terms (Kackar-Harville,
Prasad-Rao, Kass-Steffey) assume a normal likelihood of the variance parameters, which fails at
the boundary.

What this prototype does (Morris 1983; Kass & Steffey 1989, with the integral done
numerically in the direction where the normal approximation fails): with
:math:`\\theta_1, \\theta_2` (lme4's Cholesky factor) and :math:`\\beta` at their estimates,
the conditional posterior of a community's change is a mixture over :math:`\\theta_3` (the
part of the change's SD not explained by the intercept, relative to :math:`\\sigma`):

.. math:: p(\\delta_j \\mid y) = \\int N\\big(\\tilde\\delta_j(\\theta_3),\\ \\mathrm{PEV}_j(\\theta_3)\\big)
          \\, w(\\theta_3)\\, d\\theta_3,\\qquad
          w(\\theta_3) \\propto L_R(\\hat\\theta_1, \\hat\\theta_2, \\theta_3)\\,\\theta_3

(restricted likelihood times the Jacobian of a flat prior on :math:`\\theta_3^2`; PEV =
Henderson's :math:`g_1 + g_2`; 40-point grid on :math:`[0, U]`, :math:`U` where the deviance is
25 above its value at the optimum). Interval: mixture mean :math:`\\pm 1.96` mixture SD.

:func:`variants` gives the coverage of the first-order alternatives on the coverage data of
:mod:`benchmarks.sim_change_model` (same seeds): the interval as shipped (Prasad-Rao
:math:`g_1 + g_2 + 2g_3`, Satterthwaite t), Kass & Steffey's :math:`g_1 + g_2 + g_3` with that
t and with a normal quantile, all fits and non-boundary fits.

Run: ``python -m benchmarks.sim_change_model_hb [REPS]`` (``variants`` with ``--variants``) (same data and seeds as the detection
study of :mod:`benchmarks.sim_change_model`; a few minutes at 200).
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import stats

from collective_efficacy.multilevel._lmm_slope import _pev_unit, _predicted
from collective_efficacy.multilevel._lmm_slope_core import _evaluate, _Stats

from .sim_change_model import FPRS, SETTINGS, _fmt, _mean_se, _welch, engine, simulate
from .timing import exit_on_help

Z = float(stats.norm.ppf(0.975))


def _reach(st: _Stats, theta: np.ndarray, i: int, sign: float, base: float) -> float:
    """How far theta[i] moves (in direction sign) before the deviance is 25 above base."""
    step = max(abs(theta[i]), 0.1)
    while step < 50:
        th = theta.copy()
        th[i] += sign * step
        if _evaluate(st, th).deviance - base > 25:
            break
        step *= 2
    return step


def integrated(
    st: _Stats, theta: np.ndarray, contrast: np.ndarray, two_d: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Mixture mean and variance of each community's change over theta_3 (and theta_2)."""
    mdf = st.n_obs - st.xtx.shape[0] if st.reml else st.n_obs
    base = _evaluate(st, theta).deviance
    g3 = np.linspace(0.0, theta[2] + _reach(st, theta, 2, 1.0, base), 40)
    g2 = (
        np.linspace(
            theta[1] - _reach(st, theta, 1, -1.0, base),
            theta[1] + _reach(st, theta, 1, 1.0, base),
            21,
        )
        if two_d
        else np.array([theta[1]])
    )
    change, pev, logw = [], [], []
    for a in g2:
        for s in g3:
            ev = _evaluate(st, np.array([theta[0], a, s]))
            change.append(_predicted(ev, contrast) + contrast @ st.shift)
            pev.append(ev.rss / mdf * _pev_unit(ev, contrast))
            logw.append(-0.5 * ev.deviance + np.log(max(s, 1e-300)))
    ch, pv, lw = np.array(change), np.array(pev), np.array(logw)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    mean = w @ ch
    return mean, w @ pv + w @ (ch - mean) ** 2


def _one(seed: int, k: int, sd: float) -> dict[str, np.ndarray]:
    data, delta = simulate(np.random.default_rng(seed), k, sd)
    fit, con = engine(data)
    st = fit.stats  # the same statistics _sufficient() gives (REML)
    assert st is not None
    out = {"delta": delta, "welch_p1": _welch(data, k)["p1"]}
    for key, two_d in (("hb", False), ("hb2", True)):
        mean, var = integrated(st, fit.theta, con, two_d)
        sd_ = np.sqrt(var)
        out[key] = mean / sd_
        out[key + "_cover"] = np.abs(mean - delta) <= Z * sd_
        out[key + "_verdict"] = mean - Z * sd_ > 0
    return out


def main(reps: int, ks: tuple[int, ...] = (10, 40, 100), sd: float = 0.25) -> str:
    out = [
        "| communities | statistic | "
        + " | ".join(f"FPR {f:.1%}" for f in FPRS)
        + " | coverage | verdict: sensitivity, FPR |",
        "|---:|---|" + "---:|" * (len(FPRS) + 2),
    ]
    for k in ks:
        res = [_one(20_261_202 + 1000 * k + r, k, sd) for r in range(reps)]
        pos = [r["delta"] > 0 for r in res]
        for key, sign in (("hb", 1.0), ("hb2", 1.0), ("welch_p1", -1.0)):
            neg = np.concatenate([sign * r[key][~p] for r, p in zip(res, pos)])
            cells = []
            for f in FPRS:
                thr = np.quantile(neg, 1.0 - f, method="higher")
                per = [np.mean(sign * r[key][p] > thr) for r, p in zip(res, pos) if p.any()]
                cells.append(_fmt(_mean_se(per)))
            extra = "| | |"
            if key != "welch_p1":
                cov = _fmt(_mean_se([r[key + "_cover"].mean() for r in res]))
                v = [r[key + "_verdict"] for r in res]
                sens = _mean_se([x[p].mean() for x, p in zip(v, pos) if p.any()])
                fpr = _mean_se([x[~p].mean() for x, p in zip(v, pos) if (~p).any()])
                extra = f"| {cov} | {sens[0]:.3f}, {fpr[0]:.3f} |"
            out.append(f"| {k} | {key} | " + " | ".join(cells) + f" {extra}")
    return "\n".join(out)


def variants(reps: int) -> str:
    out = [
        "| communities | SD | interval | coverage, all fits | coverage, non-boundary fits |",
        "|---:|---:|---|---:|---:|",
    ]
    for k, sd in SETTINGS:
        acc: dict[str, list[list[float]]] = {}
        for r in range(reps):
            data, delta = simulate(np.random.default_rng(7_000_000 + 1000 * k + r), k, sd)
            f, con = engine(data)
            change = con @ f.beta + f.ranef[:, 1]
            q = stats.t.ppf(0.975, f.pred_df)
            for name, half in (
                ("Prasad-Rao, t (shipped)", q * np.sqrt(f.pred_var_slope + 2 * f.pred_var_theta)),
                ("Kass-Steffey, t", q * np.sqrt(f.pred_var_slope + f.pred_var_theta)),
                ("Kass-Steffey, normal", Z * np.sqrt(f.pred_var_slope + f.pred_var_theta)),
            ):
                inside = float(np.mean(np.abs(change - delta) <= half))
                acc.setdefault(name, [[], []])
                acc[name][0].append(inside)
                acc[name][1].append(np.nan if f.boundary else inside)
        for name, (a, b) in acc.items():
            out.append(f"| {k} | {sd} | {name} | {_fmt(_mean_se(a))} | {_fmt(_mean_se(b))} |")
    return "\n".join(out)


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], "[N] replications; --variants: the variant table")
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 200
    print(variants(n) if "--variants" in sys.argv else main(n))

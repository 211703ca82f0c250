"""Which part of the estimation costs the change model detection at 10-20 communities (issue 14).

Same data and seeds as the detection study of :mod:`benchmarks.sim_change_model` (true changes
:math:`0.15 + N(0, 0.25^2)`, 10-30 residents per community and wave, resident SD 0.8; seeds
``20_261_202 + 1000 K + r``). Per replication the fit is made once and the verdict's statistic
:math:`P(\\delta_j > 0 \\mid y)` (normal approximation to the integrated posterior, as the
library) is computed under several treatments of the unknown parameters:

* ``library``: the previous rule of the library (before the adjustment): :math:`(\\theta_2, \\theta_3)` integrated (prior flat in
  :math:`\\theta_2, \\theta_3^2`), :math:`\\beta` integrated analytically (Henderson's
  prediction-error variance, flat prior), :math:`\\theta_1` and :math:`\\sigma` at the estimates;
* ``theta1``: :math:`\\theta_1` integrated as well (a 12-node Gauss-Legendre rule over the range
  where the profile deviance in :math:`\\theta_1` is within 25 of its minimum, the library's 2-D
  rule at each node; prior flat on :math:`\\Sigma`: :math:`\\propto \\theta_1^2\\theta_3`).
  :math:`\\sigma^2` needs no integration: with the prior :math:`1/\\sigma^2` its marginal
  likelihood is proportional to the profiled one, and the conditional posterior of the change is
  then a :math:`t` with :math:`n - p` (here 400-1,200) degrees of freedom, not a normal;
* ``adjusted_var`` / ``adjusted_det``: Li & Lahiri's (2010) adjusted likelihood, the restricted
  likelihood times the change variance :math:`\\theta_2^2 + \\theta_3^2` (resp. times
  :math:`\\det\\Sigma \\propto \\theta_3^2`), which keeps the variance away from 0 at few
  communities (as a prior: the library's times that factor);
* ``known_var``: the covariance parameters at their *true* values (one node), :math:`\\beta`
  estimated (GLS) and integrated: the loss due to the variance components alone is
  ``known_var`` - ``library``;
* ``oracle``: every parameter at its true value (the Bayes-optimal ranking, Neyman-Pearson);
* ``welch``: the one-sided Welch p (per community, the raw difference).

Output: sensitivity at equal pooled false-positive rate for each statistic, and its paired
difference from Welch (same replications; MC SE of the per-replication difference at the fixed
thresholds, the thresholds' own error not included), and the coverage of each interval.

Run: ``nice python -m benchmarks.sim_change_model_variants [REPS] [K ...]``.

``--priors [--sd SD]`` (:func:`prior_sweep`, issue 14's last attempt at 10 communities): the
library's 2-D rule with the weight :math:`L_R\\,\\theta_3^{p}` for ``p`` in :data:`POWERS` (3 is
the library's: flat on :math:`\\Sigma` given :math:`\\theta_1` times Li & Lahiri's adjustment;
more weight on large change variances shrinks less), an *area-specific* adjustment (each
community's posterior of :math:`\\vartheta` weighted by :math:`\\theta_3^3 (r^2 + d_j)`, with
:math:`r^2\\sigma^2` the change variance at the node and :math:`d_j\\sigma^2` the sampling
variance of the community's raw change: more weight on large variances for small communities,
in the spirit of the area-specific adjustment factors of Yoshimori & Lahiri 2014), and, as
references, the every-parameter-known ``oracle`` and ``z_pooled``: the raw change over its SE
with the residual SD pooled over all communities (no shrinkage, no fixed effects). Paired
differences from Welch with two MC errors: at fixed thresholds, and (in brackets, 1 % only) a
bootstrap over replications that re-sets the thresholds (200 resamples). Coverage of the 95 %
interval and the verdict's own sensitivity at its own false-positive rate.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from collective_efficacy.multilevel._change_posterior import (
    _grid,
    _hessian,
    node_moments,
)
from collective_efficacy.multilevel._lmm_slope_core import _evaluate_core, _Stats

from .sim_change_model import MU, SD_E, SD_INT, _welch, engine, simulate
from .sim_change_model_roc import _wave_moments
from .timing import exit_on_help

Z = 1.959963984540054
SD = 0.25
FPRS = (0.001, 0.005, 0.01, 0.02, 0.05)
TRUE_THETA = np.array([SD_INT / SD_E, 0.0, SD / SD_E])
_GL12 = np.polynomial.legendre.leggauss(12)

Prior = Callable[[np.ndarray], np.ndarray]


def _moments(
    st: _Stats, theta: np.ndarray, con: np.ndarray, prior: Prior
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nodes' log weight (prior x likelihood x rule), EB change and variance, at theta_1."""
    base = _evaluate_core(st, theta).deviance
    ev, evec = np.linalg.eigh(_hessian(st, theta))
    cov = 2.0 * (evec / np.where(ev > 0, ev, np.inf)) @ evec.T
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    sd = np.where(sd > 0, sd, 0.1 * np.maximum(np.abs(theta[1:3]), 0.1))
    nodes, logw = _grid(st, theta, base, sd)
    dev, change, pev = node_moments(st, float(theta[0]), nodes, con)
    assert change is not None and pev is not None
    return logw - 0.5 * dev + np.log(prior(nodes)), change, pev, dev


def _mix(logw: np.ndarray, change: np.ndarray, pev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = np.exp(logw - logw.max())
    w /= w.sum()
    mean = w @ change
    return mean, np.sqrt(w @ pev + w @ (change - mean[None, :]) ** 2)


def _theta1(st: _Stats, theta: np.ndarray, con: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """theta_1 integrated too (12 Gauss-Legendre nodes over its profile's 25-unit range)."""
    base = _evaluate_core(st, theta).deviance

    def reach(sign: float) -> float:
        step = max(abs(theta[0]), 0.05) * 0.25
        for _ in range(60):
            th = theta.copy()
            th[0] = max(theta[0] + sign * step, 0.0)
            if _evaluate_core(st, th).deviance - base > 25 or th[0] == 0.0:
                return float(th[0])
            step *= 1.5
        return float(th[0])

    lo, hi = reach(-1.0), reach(1.0)
    u, wq = _GL12
    t1 = lo + 0.5 * (hi - lo) * (1.0 + u)
    parts = []
    for a, w1 in zip(t1, wq):  # 12 nodes of theta_1 (not communities)
        th = theta.copy()
        th[0] = a
        lw, ch, pv, _ = _moments(st, th, con, lambda nd: np.abs(nd[:, 1]))
        parts.append((lw + np.log(w1) + 2.0 * np.log(max(a, 1e-300)), ch, pv))
    return _mix(*(np.concatenate([p[i] for p in parts]) for i in range(3)))


def _oracle(st: _Stats, theta: np.ndarray, sd: float = SD) -> tuple[np.ndarray, np.ndarray]:
    """Every parameter true: posterior of u_1j given the community's two wave sums."""
    sig2 = SD_E**2
    s = np.diag([SD_INT**2, sd**2])
    # Z'Z and Z'(y - X beta) with the true beta (the engine's y is shifted by st.shift)
    ztz = np.stack([np.stack([st.n, st.st], -1), np.stack([st.st, st.stt], -1)], -2)
    beta = np.array([3.0, MU]) - st.shift
    zr = np.stack([st.zy0 - st.zx0 @ beta, st.zy1 - st.zx1 @ beta], -1)
    prec = ztz / sig2 + np.linalg.inv(s)[None]
    cov = np.linalg.inv(prec)
    mean = np.einsum("gab,gb->ga", cov, zr / sig2)
    return MU + mean[:, 1], np.sqrt(cov[:, 1, 1])


def _setup(seed: int, k: int, sd: float) -> tuple[Any, np.ndarray, Any, np.ndarray, _Stats]:
    """Simulated data, true changes, the engine's fit, the contrast and its statistics."""
    data, delta = simulate(np.random.default_rng(seed), k, sd)
    fit, con = engine(data)
    assert fit.stats is not None
    return data, delta, fit, con, fit.stats


def one(seed: int, k: int) -> dict[str, np.ndarray]:
    data, delta, fit, con, st = _setup(seed, k, SD)
    theta = fit.theta.copy()
    theta[2] = abs(theta[2])
    out: dict[str, np.ndarray] = {"delta": delta, "boundary": np.array(fit.boundary)}
    stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    lib = _moments(st, theta, con, lambda nd: np.abs(nd[:, 1]))
    stats["library"] = _mix(*lib[:3])
    stats["theta1"] = _theta1(st, theta, con)
    stats["adjusted_var"] = _mix(
        lib[0] + np.log(np.sum(_grid_nodes_sq(st, theta), axis=1)), lib[1], lib[2]
    )
    stats["adjusted_det"] = _mix(lib[0] + 2.0 * np.log(_grid_nodes_abs3(st, theta)), lib[1], lib[2])
    _, ch, pv = node_moments(st, TRUE_THETA[0], TRUE_THETA[None, 1:], con)
    assert ch is not None and pv is not None
    stats["known_var"] = (ch[0], np.sqrt(pv[0]))
    stats["oracle"] = _oracle(st, theta)
    for key, (mean, sd) in stats.items():
        out[key] = special.ndtr(mean / sd)
        out[key + "_cover"] = np.abs(mean - delta) <= Z * sd
    out["welch"] = 1.0 - _welch(data, k)["p1"]
    return out


_NODES: list[tuple[_Stats, np.ndarray]] = []  # (statistics, nodes): held, so never stale


def _grid_nodes(st: _Stats, theta: np.ndarray) -> np.ndarray:
    if not _NODES or _NODES[0][0] is not st:
        _NODES.clear()
        base = _evaluate_core(st, theta).deviance
        _NODES.append((st, _grid(st, theta, base, _sd_of(st, theta))[0]))
    return _NODES[0][1]


def _grid_nodes_sq(st: _Stats, theta: np.ndarray) -> np.ndarray:
    return _grid_nodes(st, theta) ** 2


def _grid_nodes_abs3(st: _Stats, theta: np.ndarray) -> np.ndarray:
    return np.abs(_grid_nodes(st, theta)[:, 1])


POWERS = (3.0, 4.0, 5.0, 6.0)


def _raw_z(data: pd.DataFrame, k: int) -> np.ndarray:
    """Raw change over its SE with the residual variance pooled over every community and wave."""
    n_b, n_a, m_b, m_a, s2 = _wave_moments(data, k)
    out: np.ndarray = special.ndtr((m_a - m_b) / np.sqrt(s2 * (1.0 / n_a + 1.0 / n_b)))
    return out


def _sweep_one(seed: int, k: int, sd: float) -> dict[str, np.ndarray]:
    data, delta, fit, con, st = _setup(seed, k, sd)
    theta = fit.theta.copy()
    theta[2] = abs(theta[2])
    base = _evaluate_core(st, theta).deviance
    nodes, logw = _grid(st, theta, base, _sd_of(st, theta))  # no cache: ids can be reused
    dev, change, pev = node_moments(st, float(theta[0]), nodes, con)
    assert change is not None and pev is not None
    lw0 = logw - 0.5 * (dev - base)
    log3 = np.log(np.abs(nodes[:, 1]))
    n_after = st.stt
    d = 1.0 / n_after + 1.0 / (st.n - n_after)  # sampling variance of the raw change / sigma^2
    weights = {f"theta3^{p:g}": (lw0 + p * log3)[:, None] for p in POWERS}
    weights["area-specific"] = (lw0 + 3.0 * log3)[:, None] + np.log(
        np.sum(nodes**2, axis=1)[:, None] + d[None, :]
    )
    out: dict[str, np.ndarray] = {"delta": delta, "boundary": np.array(fit.boundary)}
    for key, lw in weights.items():
        w = np.exp(lw - lw.max(axis=0))
        w = w / w.sum(axis=0) * np.ones_like(change)
        mean = np.sum(w * change, axis=0)
        sd_ = np.sqrt(np.sum(w * (pev + change * change), axis=0) - mean * mean)
        out[key] = special.ndtr(mean / sd_)
        out[key + "_cover"] = np.abs(mean - delta) <= Z * sd_
        out[key + "_verdict"] = mean - Z * sd_ > 0
    om, osd = _oracle(st, theta, sd)
    out["oracle"] = special.ndtr(om / osd)
    out["z_pooled"] = _raw_z(data, k)
    out["welch"] = 1.0 - _welch(data, k)["p1"]
    return out


def _sd_of(st: _Stats, theta: np.ndarray) -> np.ndarray:
    ev, evec = np.linalg.eigh(_hessian(st, theta))
    cov = 2.0 * (evec / np.where(ev > 0, ev, np.inf)) @ evec.T
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    out: np.ndarray = np.where(sd > 0, sd, 0.1 * np.maximum(np.abs(theta[1:3]), 0.1))
    return out


def _boot_se(res: list[dict[str, np.ndarray]], key: str, f: float, n_boot: int = 200) -> float:
    """SE of the paired difference from Welch, thresholds re-set in every bootstrap resample."""
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(n_boot):
        sub = [res[i] for i in rng.integers(0, len(res), len(res))]
        diffs.append(float(np.mean(_sens(sub, key, f) - _sens(sub, "welch", f))))
    return float(np.std(diffs, ddof=1))


def prior_sweep(reps: int, ks: tuple[int, ...], sd: float = SD) -> str:
    """Prior powers, the area-specific adjustment and the references (module doc)."""
    seed0 = 20_261_202 if sd == SD else 7_000_000
    head = " | ".join(f"FPR {f:.1%}" for f in FPRS)
    out = [f"| K | SD | statistic | {head} | coverage | verdict: found / FPR |",
           "|---:|---:|---|" + "---:|" * (len(FPRS) + 2)]  # fmt: skip
    for k in ks:
        res = [_sweep_one(seed0 + 1000 * k + r, k, sd) for r in range(reps)]
        res = [r for r in res if (r["delta"] > 0).any()]
        n = len(res)
        welch = {f: _sens(res, "welch", f) for f in FPRS}
        keys = [x for x in res[0] if x not in ("delta", "boundary")
                and not x.endswith(("_cover", "_verdict"))]  # fmt: skip
        for key in keys:
            cells = []
            for f in FPRS:
                s = _sens(res, key, f)
                d = s - welch[f]
                boot = f" [{_boot_se(res, key, f):.3f}]" if f == 0.01 and key != "welch" else ""
                cells.append(f"{s.mean():.3f} ({d.mean():+.3f} ± "
                             f"{d.std(ddof=1) / np.sqrt(n):.3f}{boot})")  # fmt: skip
            extra = " | |"
            if key + "_cover" in res[0]:
                pos = [r["delta"] > 0 for r in res]
                cov = np.mean([r[key + "_cover"].mean() for r in res])
                found = np.mean([r[key + "_verdict"][p].mean() for r, p in zip(res, pos)])
                fpr = np.concatenate([r[key + "_verdict"][~p] for r, p in zip(res, pos)]).mean()
                extra = f" | {cov:.3f} | {found:.3f} / {fpr:.4f} |"
            out.append(f"| {k} | {sd} | {key} | " + " | ".join(cells) + extra)
        print("\n".join(out[-len(keys) :]), flush=True)
    return "\n".join(out)


def _sens(res: list[dict[str, np.ndarray]], key: str, f: float) -> np.ndarray:
    pos = [r["delta"] > 0 for r in res]
    neg = np.concatenate([r[key][~p] for r, p in zip(res, pos)])
    thr = np.quantile(neg, 1.0 - f, method="higher")
    return np.array([np.mean(r[key][p] > thr) for r, p in zip(res, pos)])


def table(reps: int, ks: tuple[int, ...]) -> str:
    keys = ["library", "theta1", "adjusted_var", "adjusted_det", "known_var",
            "oracle", "welch"]  # fmt: skip
    head = " | ".join(f"FPR {f:.1%}: sens. (vs Welch)" for f in FPRS)
    out = [f"| K | statistic | {head} | coverage |", "|---:|---|" + "---:|" * (len(FPRS) + 1)]
    for k in ks:
        res = [one(20_261_202 + 1000 * k + r, k) for r in range(reps)]
        res = [r for r in res if (r["delta"] > 0).any()]
        n = len(res)
        welch = {f: _sens(res, "welch", f) for f in FPRS}
        for key in keys:
            cells = []
            for f in FPRS:
                s = _sens(res, key, f)
                d = s - welch[f]
                cells.append(
                    f"{s.mean():.3f} ± {s.std(ddof=1) / np.sqrt(n):.3f} "
                    f"({d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(n):.3f})"
                )
            cov = (
                ""
                if key == "welch"
                else (f"{np.mean([r[key + '_cover'].mean() for r in res]):.3f}")
            )
            out.append(f"| {k} | {key} | " + " | ".join(cells) + f" | {cov} |")
        bnd = np.mean([bool(r["boundary"]) for r in res])
        out.append(
            f"| {k} | (boundary fits: {bnd:.0%}, replications {n}) |" + " |" * (len(FPRS) + 1)
        )
        print("\n".join(out[-len(keys) - 1 :]), flush=True)
    return "\n".join(out)


def library_variants(reps: int, ks: tuple[int, ...]) -> str:
    """The library's rule with the flat prior (previous) and the adjusted likelihood (now)."""
    import collective_efficacy.multilevel._change_posterior as cp

    variants = {  # power of theta_3 (the 3-D rules of table B: commit 8f55782)
        "2d_flat": 1.0,
        "2d_adjdet": 3.0,
    }
    out = []
    for k in ks:
        res = []
        for r in range(reps):
            data, delta = simulate(np.random.default_rng(20_261_202 + 1000 * k + r), k, SD)
            fit, con = engine(data)
            assert fit.stats is not None
            row: dict[str, np.ndarray] = {"delta": delta, "boundary": np.array(fit.boundary)}
            for key, power in variants.items():
                cp.PRIOR_THETA3 = power
                post = cp.integrate_change(fit.stats, fit.theta, con, boundary=fit.boundary)
                row[key] = special.ndtr(post.mean / post.sd)
                row[key + "_cover"] = np.abs(post.mean - delta) <= Z * post.sd
                row[key + "_verdict"] = post.mean - Z * post.sd > 0
            row["welch"] = 1.0 - _welch(data, k)["p1"]
            res.append(row)
        res = [r for r in res if (r["delta"] > 0).any()]
        n = len(res)
        welch = {f: _sens(res, "welch", f) for f in FPRS}
        for key in [*variants, "welch"]:
            cells = []
            for f in FPRS:
                s = _sens(res, key, f)
                d = s - welch[f]
                cells.append(f"{s.mean():.3f} ({d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(n):.3f})")
            extra = ""
            if key != "welch":
                pos = [r["delta"] > 0 for r in res]
                cov = np.mean([r[key + "_cover"].mean() for r in res])
                sens = np.mean([r[key + "_verdict"][p].mean() for r, p in zip(res, pos)])
                fpr = np.mean(
                    [r[key + "_verdict"][~p].mean() for r, p in zip(res, pos) if (~p).any()]
                )
                extra = f"cov {cov:.3f}, verdict sens {sens:.3f} fpr {fpr:.4f}"
            out.append(f"| {k} | {key} | " + " | ".join(cells) + f" | {extra} |")
        print("\n".join(out[-len(variants) - 1 :]), flush=True)
    return "\n".join(out)


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], "[REPS] [--sd SD] [K ...]")
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    args = sys.argv[2:]
    sd_arg = float(args[args.index("--sd") + 1]) if "--sd" in args else SD
    if "--sd" in args:
        del args[args.index("--sd") : args.index("--sd") + 2]
    ks = tuple(int(a) for a in args if not a.startswith("-")) or (10, 20, 40, 100)
    if "--priors" in args:
        print(prior_sweep(reps, ks, sd_arg))
    else:
        print(library_variants(reps, ks) if "--library" in args else table(reps, ks))

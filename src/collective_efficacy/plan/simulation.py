r"""Power by simulation from a fitted baseline, refitting with the library's own functions."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_choice, check_ci
from collective_efficacy.change import compare_waves
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.evaluation import Evaluation
from collective_efficacy.multilevel._lmm_slope import fit_rs_lmm
from collective_efficacy.multilevel._models import ChangeModel, RandomInterceptResult
from collective_efficacy.multilevel.change_model import _fixed_table
from collective_efficacy.plan._power import power_t
from collective_efficacy.plan.change import _int, _num

__all__ = ["power_by_simulation"]

_BEFORE, _AFTER = "baseline", "end_of_cycle"


@dataclass(frozen=True)
class _Model:
    intercept: float
    g: np.ndarray  # 2x2 covariance of (community intercept, community change)
    sigma2: float
    n_communities: int


def _model(fit: Any) -> _Model:
    if isinstance(fit, ChangeModel):
        if not fit.converged:
            raise DataError("fit: the change model did not converge; refit it", argument="fit")
        vc = fit.variance_components
        b0 = float(fit.fixed.set_index("term")["estimate"].iloc[0])
        g = np.array([[vc.var_intercept, vc.cov], [vc.cov, vc.var_change]])
        return _Model(b0, g, vc.sigma2 + (vc.var_respondent or 0.0), fit.n_communities)
    if isinstance(fit, RandomInterceptResult):
        if not fit.diagnostics.converged:
            raise DataError("fit: the random-intercept model did not converge", argument="fit")
        ri = fit.variance_components
        g = np.array([[ri.tau2, 0.0], [0.0, 0.0]])
        return _Model(fit.fixed.estimate, g, ri.sigma2, fit.n_groups)
    if isinstance(fit, Evaluation):
        t = fit.tables
        row, fixed = t.get("change_model_fit"), t.get("change_model_fixed")
        if row is None or row.empty or fixed is None or not bool(row.iloc[0]["converged"]):
            raise DataError("fit: the Evaluation has no converged change model", argument="fit")
        r = row.iloc[0]
        g = np.array([[r["var_intercept"], r["cov"]], [r["cov"], r["var_change"]]], dtype=float)
        return _Model(
            float(fixed["estimate"].iloc[0]), g, float(r["sigma2"]), int(r["n_communities"])
        )
    raise DataError(
        "fit must be a change_model or random_intercept result or an Evaluation; "
        f"got {type(fit).__name__}",
        argument="fit",
    )


def _root(g: np.ndarray) -> np.ndarray:
    """A square root of the (possibly singular) 2x2 covariance: ``z @ root.T`` has cov ``g``."""
    w, v = np.linalg.eigh(g)
    return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)))


def _frame(y_b: np.ndarray, y_a: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    n = len(y_b)
    return pd.DataFrame({"community": np.concatenate([labels, labels]),
                         "wave": np.repeat(np.array([_BEFORE, _AFTER], dtype=object), n),
                         "score": np.concatenate([y_b, y_a])})  # fmt: skip


def _overall(y_b: np.ndarray, y_a: np.ndarray, codes: np.ndarray, k: int) -> tuple[float, bool]:
    """The change model's test of ``change`` and whether its fit converged.

    :func:`~collective_efficacy.change_model`'s fit of the simulated survey (REML), given the
    arrays its design would build from the frame: the rows in frame order (baseline, then
    end of cycle), ``X = [1, change]`` column-major and the communities coded 0..k-1 (the
    order of their sorted labels ``c0000``...). Its per-community table and prediction
    variances, which the simulation does not use, are not computed: about half the time of a
    replication.
    """
    n = len(y_b)
    X = np.empty((2 * n, 2), order="F")
    X[:, 0] = 1.0
    X[:, 1] = np.repeat(np.array([0.0, 1.0]), n)
    y, g = np.concatenate([y_b, y_a]), np.concatenate([codes, codes])
    fit = fit_rs_lmm(y, X, X[:, 1], g, k, method="REML")
    return float(_fixed_table(fit, ["intercept", "change"], 0.95)["p"][1]), fit.converged


def _one(
    mod: _Model, k: int, m: int, delta: float, rng: np.random.Generator, opts: dict[str, Any]
) -> tuple[float, float, bool]:
    """One simulated survey: overall p (change model), share of communities detected, converged."""
    codes = np.repeat(np.arange(k), m)  # every community at once: no loop over communities
    u = rng.standard_normal((k, 2)) @ _root(mod.g).T
    e = rng.standard_normal((2, k * m)) * math.sqrt(mod.sigma2)
    y_b = mod.intercept + u[codes, 0] + e[0]
    y_a = mod.intercept + delta + u[codes, 0] + u[codes, 1] + e[1]
    p_all, share, ok = math.nan, math.nan, True
    if "overall" in opts["levels"]:
        p_all, ok = _overall(y_b, y_a, codes, k)
    if "community" in opts["levels"]:
        data = _frame(y_b, y_a, opts["labels"][codes])
        cw = compare_waves(data, dv="score", community="community", after=_AFTER,
                           p_adjust=opts["adjust"], min_n=2)  # fmt: skip
        rows = cw[cw["level"] == "community"]
        share = float((rows["p_adjusted"] < opts["alpha"]).mean())
    return p_all, share, ok


def _interval(hits: float, reps: int, ci: float) -> tuple[float, float, float]:
    """Monte Carlo SE and Wilson interval of a proportion over ``reps`` replications."""
    p = hits / reps
    z = float(_dist.norm_ppf(0.5 + ci / 2.0))
    centre = (p + z * z / (2 * reps)) / (1 + z * z / reps)
    half = z * math.sqrt(p * (1 - p) / reps + z * z / (4 * reps * reps)) / (1 + z * z / reps)
    return math.sqrt(p * (1 - p) / reps), centre - half, centre + half


def _mean_ci(x: np.ndarray, ci: float) -> tuple[float, float, float]:
    """MC SE and normal interval of a mean of per-replication shares (communities detected)."""
    se = float(np.std(x, ddof=1) / math.sqrt(len(x)))
    z = float(_dist.norm_ppf(0.5 + ci / 2.0))
    return se, float(x.mean()) - z * se, float(x.mean()) + z * se


def _bar(progress: bool | None, total: int) -> Any:
    on = sys.stderr.isatty() if progress is None else progress
    if not on:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - the progress extra is optional
        if progress:
            from collective_efficacy.errors import require_extra

            require_extra("tqdm", "progress")
        return None
    return tqdm(total=total, unit="rep", desc="simulation", leave=False)


def power_by_simulation(
    fit: Any,
    n_per_community: int,
    delta: float,
    *,
    n_communities: int | None = None,
    reps: int = 1000,
    alpha: float = 0.05,
    adjust: str = "holm",
    levels: Sequence[str] = ("overall", "community"),
    seed: int | np.random.Generator | None = None,
    ci: float = 0.95,
    progress: bool | None = None,
) -> pd.DataFrame:
    r"""Empirical power and false-positive rate of the planned survey, by simulation.

    Each replication draws a cross-sectional survey from the fitted model, every community at
    once: community effects :math:`(u_{0k}, u_{1k}) \sim N(0, G)`, ``n_per_community`` new
    residents per wave with :math:`y = \gamma_0 + u_{0k} + (\delta + u_{1k})\,\text{after} +
    e`, :math:`e \sim N(0, \sigma^2)`. It is analysed as the evaluation would be: ``overall``
    with :func:`~collective_efficacy.change_model` (the test of ``change``), ``community`` with
    :func:`~collective_efficacy.compare_waves` (Welch t, ``adjust`` over the communities). The
    same is done with :math:`\delta = 0` for the false-positive rate (``community``: the
    family-wise rate, at least one community wrongly detected).

    ``formula_power`` is the analytic power of :func:`detectable_change` for the same design
    (overall: :math:`SE^2 = (\tau_\Delta + 2\sigma^2/n)/K`, :math:`df = K-1`; community: the
    two-sample t at :math:`\alpha/K`, exact when :math:`\tau_\Delta = 0`): it should lie in the
    Monte Carlo interval. Simulation also answers designs the formulas do not cover.

    Parameters
    ----------
    fit : change_model or random_intercept result, or Evaluation (its change model)
        A converged fit; its intercept, variance components and number of communities.
    n_per_community : int
        Residents per community and wave (>= 2).
    delta : float
        The true mean change, in scale points.
    n_communities : int, optional
        Communities to simulate (default: the fit's).
    reps : int, default=1000
        Replications (each refits the model twice: with ``delta`` and with 0).
    alpha : float, default=0.05
    adjust : {"holm", "bonferroni", "none"}, default="holm"
    levels : sequence of {"overall", "community"}, default both
    seed : int, Generator or None
        Passed to :func:`numpy.random.default_rng`; the same seed gives the same result.
    ci : float, default=0.95
        Level of the Monte Carlo (Wilson) intervals.
    progress : bool, optional
        A progress bar (tqdm); default: when standard error is a terminal.

    Returns
    -------
    DataFrame
        One row per level: ``level, test, delta, n_per_community, n_communities, reps, alpha,
        alpha_per_test, adjust, power, power_mc_se, power_ci_low, power_ci_high,
        false_positive_rate, fpr_mc_se, fpr_ci_low, fpr_ci_high, formula_power,
        n_not_converged`` (int; fits without a verified optimum, kept) and ``confidence``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import collective_efficacy as ce
    >>> from collective_efficacy.plan import power_by_simulation
    >>> rng = np.random.default_rng(3)
    >>> k = np.repeat(np.arange(15), 20)
    >>> u = rng.normal(0, 0.3, 15)[k]
    >>> data = pd.DataFrame({"buurt": np.tile(k, 2).astype(str),
    ...                      "wave": np.repeat(["baseline", "end_of_cycle"], 300),
    ...                      "score": np.r_[3 + u + rng.normal(0, .6, 300),
    ...                                     3.2 + u + rng.normal(0, .6, 300)]})
    >>> fit = ce.change_model(data, dv="score", community="buurt")
    >>> sim = power_by_simulation(fit, 20, 0.2, reps=20, seed=1, levels=["overall"])
    >>> list(sim["level"])
    ['overall']
    """
    mod = _model(fit)
    m = _int("n_per_community", n_per_community, 2)
    k = _int("n_communities", mod.n_communities if n_communities is None else n_communities, 2)
    reps = _int("reps", reps, 2)
    d = _num("delta", delta, low=-math.inf)
    a = _num("alpha", alpha, low=0.0, high=1.0)
    check_choice("adjust", adjust, ("holm", "bonferroni", "none"))
    lev = list(levels)
    if not lev or any(x not in ("overall", "community") for x in lev):
        raise DataError(
            f"levels must name 'overall' and/or 'community'; got {levels!r}", argument="levels"
        )
    level = check_ci(ci)
    rng = np.random.default_rng(seed)
    opts = {"levels": lev, "adjust": adjust, "alpha": a,
            "labels": np.array([f"c{i:04d}" for i in range(k)], dtype=object)}  # fmt: skip
    res = np.full((reps, 4), np.nan)
    bad = 0
    bar = _bar(progress, reps)
    for r in range(reps):  # replications, not communities
        p1, s1, ok1 = _one(mod, k, m, d, rng, opts)
        p0, s0, ok0 = _one(mod, k, m, 0.0, rng, opts)
        res[r] = (p1 < a, s1, p0 < a, s0 > 0)
        bad += (not ok1) + (not ok0)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if bad:
        warnings.warn(
            f"power_by_simulation: {bad} change-model fit(s) did not reach a verified optimum "
            "(kept; counted in n_not_converged)",
            ConvergenceWarning,
            stacklevel=2,
        )
    return _summary(res, mod, m, k, d, a, adjust, lev, reps, bad, level)


def _summary(
    res: np.ndarray, mod: _Model, m: int, k: int, d: float, a: float, adjust: str,
    lev: list[str], reps: int, bad: int, level: float,
) -> pd.DataFrame:  # fmt: skip
    rows = []
    a_each = a / k if adjust != "none" else a
    var_change = float(mod.g[1, 1])
    for name in lev:  # at most two rows
        hit, fp = (res[:, 0], res[:, 2]) if name == "overall" else (res[:, 1], res[:, 3])
        if name == "overall":
            se = math.sqrt((var_change + 2.0 * mod.sigma2 / m) / k)
            formula, a_used, test = power_t(d / se, k - 1.0, a, 2), a, "change_model"
        else:
            se = math.sqrt(2.0 * mod.sigma2 / m)
            formula, a_used, test = (
                power_t(d / se, 2.0 * m - 2.0, a_each, 2),
                a_each,
                "compare_waves",
            )
        pw = _interval(float(hit.sum()), reps, level) if name == "overall" else _mean_ci(hit, level)
        fpr = _interval(float(fp.sum()), reps, level)
        rows.append({"level": name, "test": test, "delta": d, "n_per_community": m,
                     "n_communities": k, "reps": reps, "alpha": a, "alpha_per_test": a_used,
                     "adjust": adjust if name == "community" else "none",
                     "power": float(hit.mean()), "power_mc_se": pw[0], "power_ci_low": pw[1],
                     "power_ci_high": pw[2], "false_positive_rate": float(fp.mean()),
                     "fpr_mc_se": fpr[0], "fpr_ci_low": fpr[1], "fpr_ci_high": fpr[2],
                     "formula_power": formula,
                     "n_not_converged": bad if name == "overall" else 0,
                     "confidence": level})  # fmt: skip
    return pd.DataFrame(rows)

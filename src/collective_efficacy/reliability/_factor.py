"""One-factor model fits behind :func:`collective_efficacy.reliability.omega` (private).

* :func:`fit_minres` — minimum-residual (unweighted least squares on the off-diagonal) factor
  analysis of a correlation matrix, the model of ``psych::fa(nfactors = 1, fm = "minres")``.
  psych optimises the uniquenesses with L-BFGS-B; at its optimum the loadings satisfy
  ``sum_{j != i} (r_ij - l_i l_j) l_j = 0`` (the principal-axis fixed point). We minimise
  ``sum_{i<j} (r_ij - l_i l_j)^2`` over the loadings directly with a trust-region least-squares
  solver and psych's bounds (uniquenesses in ``[0.005, 1]``), so the two agree to the precision of
  psych's optimiser (about 1e-6 on well-conditioned data).
* :func:`fit_ml` — maximum-likelihood confirmatory one-factor model with the factor variance fixed
  to 1 (``lavaan::cfa(..., std.lv = TRUE)``), fitted to the covariance matrix with divisor ``n``
  (lavaan's sample statistics) by minimising
  ``F = log|Sigma| + tr(S Sigma^-1) - log|S| - k`` with ``Sigma = l l' + diag(theta)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from collective_efficacy.reliability._core import smc_stack

__all__ = ["FactorFit", "fit_minres", "fit_ml"]

_PSI_LOWER = 0.005  # psych::fa lower bound on uniquenesses


@dataclass(frozen=True)
class FactorFit:
    """Loadings, residual variances and optimiser diagnostics of a one-factor fit."""

    loadings: np.ndarray
    uniquenesses: np.ndarray
    objective: float
    max_abs_grad: float
    converged: bool
    n_iter: int
    heywood: bool


def _orient(lam: np.ndarray) -> np.ndarray:
    """Make the loadings sum positive (psych and lavaan report the positive orientation)."""
    return -lam if lam.sum() < 0 else lam


def fit_minres(r: np.ndarray) -> FactorFit:
    """Minres one-factor fit of a correlation matrix ``r`` (k x k)."""
    k = r.shape[0]
    il, jl = np.triu_indices(k, 1)
    target = r[il, jl]

    def resid(lam: np.ndarray) -> np.ndarray:
        return target - lam[il] * lam[jl]

    def jac(lam: np.ndarray) -> np.ndarray:
        jm = np.zeros((len(il), k))
        rows = np.arange(len(il))
        jm[rows, il] = -lam[jl]
        jm[rows, jl] = -lam[il]
        return jm

    smc = smc_stack(r[None, :, :])[0]
    start = np.sqrt(np.clip(smc, 0.05, 0.95))
    bound = float(np.sqrt(1.0 - _PSI_LOWER))
    res = optimize.least_squares(
        resid,
        start,
        jac=jac,
        bounds=(-bound, bound),
        method="trf",
        xtol=1e-15,
        ftol=1e-15,
        gtol=1e-15,
        max_nfev=10_000,
    )
    lam = _orient(_polish(res.x, resid, jac, bound))
    grad = jac(lam).T @ resid(lam)
    heywood = bool(np.any(np.abs(lam) >= bound - 1e-10))
    return FactorFit(
        loadings=lam,
        uniquenesses=1.0 - lam**2,
        objective=float(np.sum(resid(lam) ** 2)),
        max_abs_grad=float(np.max(np.abs(grad))),
        converged=bool(res.success),
        n_iter=int(res.nfev),
        heywood=heywood,
    )


def _polish(lam: Any, resid: Any, jac: Any, bound: float) -> np.ndarray:
    """A few Gauss-Newton steps from the trust-region optimum, so the loadings are a function
    of ``r`` to rounding (the solver stops at a gradient of ~1e-9, where a 1e-15 change of
    ``r`` moves the loadings by ~1e-10). Skipped at a bound (Heywood) or with 2 items
    (one residual, two loadings: the optimum is not unique)."""
    if len(lam) < 3 or np.any(np.abs(lam) >= bound - 1e-8):
        return np.asarray(lam)
    best, best_g = np.asarray(lam), float(np.abs(jac(lam).T @ resid(lam)).max())
    cur = best
    for _ in range(4):  # Gauss-Newton converges quadratically here; a few steps suffice
        step = np.linalg.lstsq(jac(cur), -resid(cur), rcond=None)[0]
        cur = cur + step
        if np.any(np.abs(cur) >= bound):
            break
        g = float(np.abs(jac(cur).T @ resid(cur)).max())
        if g < best_g:
            best, best_g = cur, g
    return best


def fit_ml(s: np.ndarray) -> FactorFit:
    """ML one-factor CFA (factor variance 1) of a covariance matrix ``s`` (divisor n)."""
    k = s.shape[0]
    sign_s, logdet_s = np.linalg.slogdet(s)
    if sign_s <= 0:
        logdet_s = np.nan

    def unpack(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lam, theta = p[:k], p[k:]
        return lam, theta, np.outer(lam, lam) + np.diag(theta)

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        lam, _theta, sigma = unpack(p)
        sign, logdet = np.linalg.slogdet(sigma)
        if sign <= 0:
            return 1e10, np.zeros_like(p)
        inv = np.linalg.inv(sigma)
        f = logdet + float(np.trace(s @ inv)) - logdet_s - k
        g_mat = inv @ (sigma - s) @ inv
        grad = np.concatenate([2.0 * g_mat @ lam, np.diag(g_mat)])
        return float(f), grad

    sd = np.sqrt(np.diag(s))
    r = s / np.outer(sd, sd)
    start_fit = fit_minres(r)
    lam0 = start_fit.loadings * sd
    theta0 = np.maximum(np.diag(s) - lam0**2, 0.05 * np.diag(s))
    p0 = np.concatenate([lam0, theta0])
    res = optimize.minimize(
        fun,
        p0,
        jac=True,
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 10_000},
    )
    p = res.x
    # A few Newton-type polishing steps are unnecessary; BFGS reaches |grad| ~ 1e-11 here.
    lam, theta, _ = unpack(p)
    _, grad = fun(p)
    lam = _orient(lam)
    max_grad = float(np.max(np.abs(grad)))
    return FactorFit(
        loadings=lam,
        uniquenesses=theta,
        objective=float(res.fun) / 2.0,  # lavaan reports F_ML / 2
        max_abs_grad=max_grad,
        converged=bool(res.success or max_grad < 1e-6),
        n_iter=int(res.nit),
        heywood=bool(np.any(theta <= 0)),
    )

"""REML fit of the one-way random-intercept model from sufficient statistics.

Model: :math:`y_{ij} = \\mu + u_j + e_{ij}`, :math:`u_j \\sim N(0, \\tau)`,
:math:`e_{ij} \\sim N(0, \\sigma^2)`, balanced or unbalanced. This is the model that R
``nlme::lme(y ~ 1, random = ~ 1 | group)`` fits (REML by default), which ``multilevel::mult.icc``
and ``multilevel::gmeanrel`` use for ICC(1).

Only the group sizes :math:`n_j`, group means :math:`\\bar y_j` and the pooled within-group sum of
squares :math:`SS_W` are needed. With :math:`\\lambda = \\tau/\\sigma^2`,
:math:`a_j = n_j / (1 + n_j \\lambda)`, :math:`S = \\sum_j a_j`,
:math:`\\hat\\mu = \\sum_j a_j \\bar y_j / S` and
:math:`Q(\\lambda) = SS_W + \\sum_j a_j (\\bar y_j - \\hat\\mu)^2`, the REML criterion profiled over
:math:`\\sigma^2` (:math:`\\hat\\sigma^2 = Q/(N-1)`) is, up to a constant,

.. math:: -2\\ell_R(\\lambda) = (N-1)\\log Q + \\sum_j \\log(1 + n_j\\lambda) + \\log S

with derivative

.. math:: g(\\lambda) = S - \\frac{\\sum_j a_j^2}{S}
          - (N-1)\\frac{\\sum_j a_j^2 (\\bar y_j - \\hat\\mu)^2}{Q}.

The estimate is the root of :math:`g` (Brent's method, bracketed around the ANOVA estimate), or
:math:`\\lambda = 0` when :math:`g(0) \\ge 0` (the boundary; ``lme`` then returns a tiny
positive :math:`\\tau`). Cost: O(number of groups) per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

__all__ = ["RemlFit", "reml_oneway"]


@dataclass(frozen=True)
class RemlFit:
    """REML estimates of the one-way random-intercept model."""

    tau: float
    sigma2: float
    mu: float
    loglik: float
    boundary: bool

    @property
    def icc1(self) -> float:
        return self.tau / (self.tau + self.sigma2)


def _parts(lam: float, n: np.ndarray, ybar: np.ndarray, ssw: float) -> tuple[float, ...]:
    a = n / (1.0 + n * lam)
    s = float(a.sum())
    # elementwise products and sums, not BLAS dot: O(groups) work that must stay cheap even
    # when BLAS threads compete for cores
    mu = float((a * ybar).sum()) / s
    d2 = (ybar - mu) ** 2
    a2 = a * a
    q = ssw + float((a * d2).sum())
    return s, float(a2.sum()), float((a2 * d2).sum()), q, mu


def _grad(lam: float, n: np.ndarray, ybar: np.ndarray, ssw: float, n_total: float) -> float:
    s, sa2, sa2d2, q, _ = _parts(lam, n, ybar, ssw)
    return s - sa2 / s - (n_total - 1.0) * sa2d2 / q


def reml_oneway(n: np.ndarray, ybar: np.ndarray, ssw: float) -> RemlFit:
    """REML estimates from group sizes, group means and the within-group sum of squares.

    Groups with ``n == 0`` must be removed by the caller. Needs at least two groups and
    ``ssw > 0``.
    """
    n = np.asarray(n, dtype=np.float64)
    ybar = np.asarray(ybar, dtype=np.float64)
    n_total = float(n.sum())
    k = len(n)
    boundary = False
    if _grad(0.0, n, ybar, ssw, n_total) >= 0.0:
        lam = 0.0
        boundary = True
    else:
        # bracket the root around the ANOVA estimate of lambda = tau / sigma2
        msw = ssw / (n_total - k)
        grand = float((n * ybar).sum()) / n_total
        msb = float((n * (ybar - grand) ** 2).sum()) / (k - 1)
        n0 = (n_total - float((n * n).sum()) / n_total) / (k - 1)
        lam0 = max((msb - msw) / n0 / msw, 1e-8)
        lo, hi = lam0 / 4.0, lam0 * 4.0
        while _grad(lo, n, ybar, ssw, n_total) > 0.0:
            hi, lo = lo, lo / 16.0
            if lo < 1e-300:  # pragma: no cover - g(0) < 0 guarantees a sign change
                lo = 0.0
                break
        while _grad(hi, n, ybar, ssw, n_total) < 0.0:
            lo, hi = hi, hi * 16.0
        lam = float(
            brentq(_grad, lo, hi, args=(n, ybar, ssw, n_total), xtol=1e-15, rtol=1e-15, maxiter=200)
        )
    s, _, _, q, mu = _parts(lam, n, ybar, ssw)
    sigma2 = q / (n_total - 1.0)
    tau = lam * sigma2
    # REML log-likelihood in the form nlme reports (includes the constant terms)
    loglik = -0.5 * (
        (n_total - 1.0) * np.log(2.0 * np.pi * sigma2)
        + float(np.log1p(n * lam).sum())
        + q / sigma2
        + np.log(s)
    )
    return RemlFit(tau=tau, sigma2=sigma2, mu=mu, loglik=float(loglik), boundary=boundary)

r"""Wilcoxon signed-rank test, Hodges-Lehmann estimate and rank-biserial (private).

A re-implementation of R's ``wilcox.test(x, y, paired = TRUE, conf.int = TRUE)`` (stats 4.x)
and of the matched-pairs rank-biserial correlation of Kerby (2014) as in
``effectsize::rank_biserial(paired = TRUE)``:

* exact null distribution of V (sum of positive ranks) when n < 50 and there are no ties and no
  zero differences; the exact CI is the pair of Walsh averages R picks with ``qsignrank``;
* otherwise the normal approximation with tie correction and continuity correction, zeros
  dropped (Pratt's zeros are *not* kept, as in R); the CI and the (pseudo)median are the points
  where the standardised statistic of ``x - d`` crosses the normal quantiles. R finds them with
  ``uniroot(tol = 1e-4)``; we bisect to machine precision, so the results equal R's
  ``tol.root = 1e-10`` and are within about 1e-4 of R's default.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from collective_efficacy import _dist

__all__ = ["psignrank", "qsignrank", "rank_biserial", "wilcoxon_signed_rank"]

_EPS = float(np.finfo(float).eps)


def _signrank_counts(n: int) -> np.ndarray:
    """Number of sign assignments of ranks 1..n with positive-rank sum k, k = 0..n(n+1)/2."""
    m = n * (n + 1) // 2
    c = np.zeros(m + 1)
    c[0] = 1.0
    top = 0
    for k in range(1, n + 1):  # loop over ranks (n < 50), not over data
        c[k : top + k + 1] = c[k : top + k + 1] + c[0 : top + 1]
        top += k
    return c


def psignrank(q: float, n: int) -> float:
    """P(V <= q) for the signed-rank statistic with n non-zero differences (R ``psignrank``)."""
    q = np.floor(q + 1e-7)
    if q < 0:
        return 0.0
    c = _signrank_counts(n)
    if q >= c.size - 1:
        return 1.0
    return float(c[: int(q) + 1].sum() / 2.0**n)


def qsignrank(p: float, n: int) -> int:
    """R's ``qsignrank(p, n)``: smallest q with P(V <= q) >= p (R's fuzz included)."""
    c = _signrank_counts(n) / 2.0**n
    cum = 0.0
    q = 0
    if p <= 0.5:
        x = p - 10 * _EPS
        while True:
            cum += c[q]
            if cum >= x:
                return q
            q += 1
    x = 1 - p + 10 * _EPS
    while True:
        cum += c[q]
        if cum > x:
            return n * (n + 1) // 2 - q
        q += 1


def _abs_ranks(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r = _dist.rankdata(np.abs(x))  # average ranks, as R's rank()
    _, counts = np.unique(r, return_counts=True)
    return r, counts


def _w_stat(x: np.ndarray, d: float, correct: bool) -> float:
    """R's internal W(d): standardised signed-rank statistic of x - d (zeros dropped)."""
    xd = x - d
    xd = xd[xd != 0]
    nx = xd.size
    if nx == 0:
        return float("nan")
    dr, nt = _abs_ranks(xd)
    zd = dr[xd > 0].sum() - nx * (nx + 1) / 4.0
    sigma = np.sqrt(nx * (nx + 1) * (2 * nx + 1) / 24.0 - np.sum(nt**3 - nt) / 48.0)
    if sigma == 0:
        return float("nan")
    corr = np.sign(zd) * 0.5 if correct else 0.0
    return float((zd - corr) / sigma)


def _root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Bisection to machine precision on a (step) function with f(lo) > 0 > f(hi)."""
    flo, fhi = f(lo), f(hi)
    if flo == 0:
        return lo
    if fhi == 0:
        return hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        fm = f(mid)
        if fm == 0:
            return mid
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi, fhi = mid, fm
    return 0.5 * (lo + hi)


def wilcoxon_signed_rank(
    d: np.ndarray, *, ci: float, correct: bool = True, exact: bool | None = None
) -> dict[str, Any]:
    """Two-sided Wilcoxon signed-rank test of the differences ``d`` with HL estimate and CI.

    ``exact=None`` chooses as R: exact when n < 50 (non-zero differences); the exact
    distribution is only used without ties and zeros.
    """
    d = np.asarray(d, dtype=np.float64)
    n_zero = int(np.sum(d == 0))
    x = d[d != 0]
    n = x.size
    res: dict[str, Any] = {
        "statistic": np.nan,
        "p": np.nan,
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n": n,
        "n_zero": n_zero,
        "exact": False,
        "method": "",
        "note": "",
    }
    if n == 0:
        res["method"] = "Wilcoxon signed-rank test"
        res["note"] = "all differences are zero"
        return res
    r, nt = _abs_ranks(x)
    v = float(r[x > 0].sum())
    res["statistic"] = v
    ties = bool(np.any(nt > 1))
    alpha = 1.0 - ci
    if exact is None:
        exact = n < 50
    if exact and not ties and n_zero == 0:
        res["exact"] = True
        res["method"] = "Wilcoxon signed-rank exact test"
        p = 1.0 - psignrank(v - 1, n) if v > n * (n + 1) / 4 else psignrank(v, n)
        res["p"] = min(2.0 * p, 1.0)
        i, j = np.triu_indices(n)
        walsh = np.sort((x[i] + x[j]) / 2.0)
        qu = qsignrank(alpha / 2, n)
        if qu == 0:
            qu = 1
        ql = n * (n + 1) // 2 - qu
        achieved = 2.0 * psignrank(qu - 1, n)
        res["ci_low"], res["ci_high"] = float(walsh[qu - 1]), float(walsh[ql])
        res["estimate"] = float(np.median(walsh))
        if achieved - alpha > alpha / 2:
            res["note"] = (
                f"requested confidence level not achievable with n={n}; achieved {1 - achieved:.4g}"
            )
        return res
    res["method"] = "Wilcoxon signed-rank test, normal approximation with continuity correction"
    z = v - n * (n + 1) / 4.0
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24.0 - np.sum(nt**3 - nt) / 48.0)
    zz = (z - (np.sign(z) * 0.5 if correct else 0.0)) / sigma
    res["p"] = float(2.0 * min(_dist.norm_cdf(zz), _dist.norm_sf(zz)))
    notes = []
    if exact:
        notes.append("ties or zero differences: exact p-value not possible")
    mumin, mumax = float(x.min()), float(x.max())
    w_min = _w_stat(x, mumin, correct)
    w_max = _w_stat(x, mumax, correct)
    if not (np.isfinite(w_min) and np.isfinite(w_max)):
        res["note"] = "; ".join([*notes, "confidence interval not computable (all tied)"])
        return res
    a = alpha
    while True:
        if w_min - _dist.norm_isf(a / 2) < 0 or w_max - _dist.norm_ppf(a / 2) > 0:
            a *= 2
        else:
            break
    if a >= 1 or 1 - ci < a * 0.75:
        notes.append(f"requested confidence level not achievable; achieved {1 - min(1, a):.4g}")
    if a < 1:
        zl, zu = float(_dist.norm_isf(a / 2)), float(_dist.norm_ppf(a / 2))
        res["ci_low"] = _root(lambda t: _w_stat(x, t, correct) - zl, mumin, mumax)
        res["ci_high"] = _root(lambda t: _w_stat(x, t, correct) - zu, mumin, mumax)
    else:
        res["ci_low"] = res["ci_high"] = float(np.median(x))
    # R sets correct <- FALSE before solving for the estimate (the pseudo-median)
    res["estimate"] = _root(lambda t: _w_stat(x, t, False), mumin, mumax)
    res["note"] = "; ".join(notes)
    return res


def rank_biserial(d: np.ndarray, *, ci: float) -> tuple[float, float, float, int]:
    r"""Matched-pairs rank-biserial :math:`r = (T_+ - T_-)/(T_+ + T_-)` with a Fisher-z CI.

    Zero differences are dropped (as effectsize); the sign follows ``d`` (positive when the
    second measurement is higher). Returns (r, ci_low, ci_high, n_nonzero).
    """
    x = np.asarray(d, dtype=np.float64)
    x = x[x != 0]
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    r, _ = _abs_ranks(x)
    total = n * (n + 1) / 2.0
    rb = float((r[x > 0].sum() - r[x < 0].sum()) / total)
    se = np.sqrt((2 * n**3 + 3 * n**2 + n) / 6.0) / total
    zc = float(_dist.norm_ppf(0.5 + ci / 2))
    with np.errstate(divide="ignore"):
        f = np.arctanh(rb)
    return rb, float(np.tanh(f - zc * se)), float(np.tanh(f + zc * se)), n

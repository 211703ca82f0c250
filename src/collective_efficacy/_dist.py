"""Distribution functions of the statistics, from :mod:`scipy.special` (private).

Importing :mod:`scipy.stats` costs about a second (it loads scipy.integrate, interpolate,
ndimage, spatial, fft, ...), a sixth of the command line's whole run on a large file; the
statistics here only need a few distribution functions of the standard t, normal, F and
noncentral t distributions. scipy.stats computes these with the same scipy.special functions
(scipy 1.17: ``t._ppf = stdtrit``, ``t._sf = stdtr(df, -x)``, ``norm._ppf = ndtri``,
``f._sf = fdtrc``, ``nct._cdf = nctdtr`` ...), so the numbers are the same bit for bit for
``loc=0, scale=1``: ``tests/test_dist.py`` checks every function against scipy.stats, edge
values (0, 1, infinities, NaN, invalid degrees of freedom) included.

Arguments broadcast as in scipy.stats; a scalar result is a NumPy float64, otherwise an array.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import special

try:  # what scipy.stats.nct.pdf calls (see nct_pdf)
    from scipy.special._ufuncs import _nct_pdf as _NCT_PDF
except ImportError:  # pragma: no cover
    _NCT_PDF = None

__all__ = [
    "f_ppf",
    "f_sf",
    "nct_cdf",
    "nct_sf",
    "norm_cdf",
    "norm_isf",
    "norm_ppf",
    "norm_sf",
    "rankdata",
    "t_cdf",
    "t_isf",
    "t_ppf",
    "t_sf",
]


def _out(value: np.ndarray) -> Any:
    """A 0-d result as a NumPy scalar, an array otherwise (as scipy.stats returns them)."""
    return value[()] if value.ndim == 0 else value


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _valid(shapes: list[np.ndarray]) -> Any:
    """scipy.stats' ``_argcheck`` of these distributions: every shape parameter positive."""
    ok: Any = True
    for s in shapes:
        ok = np.logical_and(ok, s > 0)
    return ok


def _tail(fn: Any, x: Any, shapes: list[np.ndarray], *, lower: bool, lo: float = -np.inf) -> Any:
    """``rv_continuous.cdf`` (``lower``) or ``.sf`` for support ``(lo, inf)``: NaN for invalid
    shapes or NaN ``x``, 0 or 1 outside the support, ``fn`` inside."""
    x = _f(x)
    ok = _valid(shapes)
    with np.errstate(all="ignore"):
        value = fn(x)
        outside = np.where(x >= np.inf, 1.0, 0.0) if lower else np.where(x <= lo, 1.0, 0.0)
        inside = (x > lo) & (x < np.inf)
        out = np.where(inside, value, outside)
        out = np.where(ok & ~np.isnan(x), out, np.nan)
    return _out(np.asarray(out, dtype=np.float64))


def _quantile(fn: Any, q: Any, shapes: list[np.ndarray], *, lower: bool, lo: float) -> Any:
    """``rv_continuous.ppf`` (``lower``) or ``.isf`` for support ``(lo, inf)``: NaN for invalid
    shapes or q outside [0, 1], the support's ends at 0 and 1, ``fn`` inside."""
    q = _f(q)
    ok = _valid(shapes)
    with np.errstate(all="ignore"):
        value = fn(q)
        at_lo, at_hi = (q == 0, q == 1) if lower else (q == 1, q == 0)
        out = np.where((q > 0) & (q < 1), value, np.nan)
        out = np.where(at_lo, lo, np.where(at_hi, np.inf, out))
        out = np.where(ok, out, np.nan)
    return _out(np.asarray(out, dtype=np.float64))


def t_cdf(x: Any, df: Any) -> Any:
    """``scipy.stats.t.cdf(x, df)``: :math:`P(T \\le x)`."""
    df = _f(df)
    return _tail(lambda v: special.stdtr(df, v), x, [df], lower=True)


def t_sf(x: Any, df: Any) -> Any:
    """``scipy.stats.t.sf(x, df)``: :math:`P(T > x)`."""
    df = _f(df)
    return _tail(lambda v: special.stdtr(df, -v), x, [df], lower=False)


def t_ppf(q: Any, df: Any) -> Any:
    """``scipy.stats.t.ppf(q, df)``: the q quantile of Student's t."""
    df = _f(df)
    return _quantile(lambda v: special.stdtrit(df, v), q, [df], lower=True, lo=-np.inf)


def t_isf(q: Any, df: Any) -> Any:
    """``scipy.stats.t.isf(q, df)``: the 1 - q quantile of Student's t."""
    df = _f(df)
    return _quantile(lambda v: -special.stdtrit(df, v), q, [df], lower=False, lo=-np.inf)


def norm_cdf(x: Any) -> Any:
    """``scipy.stats.norm.cdf(x)``: :math:`\\Phi(x)`."""
    return _tail(special.ndtr, x, [], lower=True)


def norm_sf(x: Any) -> Any:
    """``scipy.stats.norm.sf(x)``: :math:`1 - \\Phi(x)`, as :math:`\\Phi(-x)`."""
    return _tail(lambda v: special.ndtr(-v), x, [], lower=False)


def norm_ppf(q: Any) -> Any:
    """``scipy.stats.norm.ppf(q)``: :math:`\\Phi^{-1}(q)`."""
    return _quantile(special.ndtri, q, [], lower=True, lo=-np.inf)


def norm_isf(q: Any) -> Any:
    """``scipy.stats.norm.isf(q)``: :math:`\\Phi^{-1}(1 - q)`, as :math:`-\\Phi^{-1}(q)`."""
    return _quantile(lambda v: -special.ndtri(v), q, [], lower=False, lo=-np.inf)


def f_sf(x: Any, dfn: Any, dfd: Any) -> Any:
    """``scipy.stats.f.sf(x, dfn, dfd)``: :math:`P(F > x)`."""
    dfn, dfd = _f(dfn), _f(dfd)
    return _tail(lambda v: special.fdtrc(dfn, dfd, v), x, [dfn, dfd], lower=False, lo=0.0)


def f_ppf(q: Any, dfn: Any, dfd: Any) -> Any:
    """``scipy.stats.f.ppf(q, dfn, dfd)``: the q quantile of the F distribution."""
    dfn, dfd = _f(dfn), _f(dfd)
    return _quantile(lambda v: special.fdtri(dfn, dfd, v), q, [dfn, dfd], lower=True, lo=0.0)


def nct_cdf(x: Any, df: Any, nc: Any) -> Any:
    """``scipy.stats.nct.cdf(x, df, nc)``."""
    df, nc = _f(df), _f(nc)
    return _tail(lambda v: special.nctdtr(df, nc, v), x, [df, (nc == nc) * 1.0], lower=True)


def nct_pdf(x: Any, df: Any, nc: Any) -> Any:
    """``scipy.stats.nct.pdf(x, df, nc)``: the Boost ufunc scipy.stats itself calls.

    Boost raises (``OverflowError``) instead of returning a value in the far tails with large
    ``df``, and warns where its quadrature meets a singular point; there, and should a scipy
    release move the private ufunc, the density comes from the exact identity
    :math:`f_{\\nu,\\mu}(x) = \\tfrac{\\nu}{x}[F_{\\nu+2,\\mu}(x\\sqrt{1+2/\\nu}) -
    F_{\\nu,\\mu}(x)]`, with the closed form at :math:`x = 0`. It loses digits near 0, which is
    harmless where it is used: the Newton step of the noncentrality interval.
    """
    x, df, nc = np.broadcast_arrays(_f(x), _f(df), _f(nc))
    ok = _valid([df, (nc == nc) * 1.0])
    value = None
    if _NCT_PDF is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                value = np.asarray(_NCT_PDF(x, df, nc), dtype=np.float64)
        except (OverflowError, SystemError, RuntimeWarning, RuntimeError):
            value = None
    if value is None:
        value = _nct_pdf_identity(x, df, nc)
    return _out(np.where(ok, value, np.nan))


def _nct_pdf_identity(x: np.ndarray, df: np.ndarray, nc: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        tails = (df / x) * (
            special.nctdtr(df + 2.0, nc, x * np.sqrt(1.0 + 2.0 / df)) - special.nctdtr(df, nc, x)
        )
        at_zero = np.exp(
            special.gammaln((df + 1.0) / 2.0)
            - special.gammaln(df / 2.0)
            - 0.5 * np.log(np.pi * df)
            - nc**2 / 2.0
        )
    # cancellation can leave a tiny negative difference where the density is ~0
    return np.asarray(np.where(x == 0, at_zero, np.maximum(tails, 0.0)), dtype=np.float64)


def _nct_sf(x: np.ndarray, df: np.ndarray, nc: np.ndarray) -> np.ndarray:
    value = special.nctdtr(df, -nc, -x)
    lost = np.isnan(value) & ~(np.isnan(x) | np.isnan(nc) | np.isnan(df))
    return np.asarray(np.where(lost, np.where(x < nc, 1.0, 0.0), value))


def nct_sf(x: Any, df: Any, nc: Any) -> Any:
    """``scipy.stats.nct.sf(x, df, nc)``, as ``nct.cdf(-x, df, -nc)`` (:math:`T'` with
    noncentrality ``nc`` is distributed as :math:`-T'` with ``-nc``).

    Where ``nctdtr`` gives up in the far tail (NaN), scipy.stats' Boost survival function is
    exactly 0 or 1: 1 below the noncentrality, 0 above it (checked on 200,000 random points
    in tests/test_dist.py); that value is returned there.
    """
    df, nc = _f(df), _f(nc)
    return _tail(lambda v: _nct_sf(v, df, nc), x, [df, (nc == nc) * 1.0], lower=False)


def rankdata(a: Any) -> np.ndarray:
    """``scipy.stats.rankdata(a)`` of a 1-d array: average ranks of ties, from 1 (R's
    ``rank()``); all NaN when ``a`` holds a NaN (scipy's ``nan_policy="propagate"``)."""
    arr = np.asarray(a).ravel()
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        return np.full(arr.shape, np.nan)
    order = np.argsort(arr, kind="mergesort")
    inv = np.empty(order.size, dtype=np.intp)
    inv[order] = np.arange(order.size, dtype=np.intp)
    s = arr[order]
    first = np.r_[True, s[1:] != s[:-1]]
    dense = np.cumsum(first)[inv]
    bounds = np.r_[np.nonzero(first)[0], len(first)]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)

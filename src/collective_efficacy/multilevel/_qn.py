"""Box-constrained BFGS for the few variance parameters of the mixed-model engines (private)."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np

__all__ = ["quasi_newton"]


def quasi_newton(
    fg: Callable[[np.ndarray], tuple[float, np.ndarray]],
    t0: np.ndarray,
    lo: float,
    hi: float,
    *,
    gtol: float = 1e-6,
    ftol: float = 1e-12,
    maxiter: int = 500,
) -> SimpleNamespace:
    """Minimise ``fg`` (value and analytic gradient) over the box ``[lo, hi]^2``: BFGS on the
    free coordinates with a projected Armijo line search.

    Two parameters: a few lines of numpy instead of L-BFGS-B, whose Fortran core calls the
    threaded BLAS for 2-vectors (on a busy machine each call then waits milliseconds for
    threads). Stops when the projected gradient is below ``gtol`` or the deviance changes by
    less than ``ftol`` (relative); returns ``x, fun, nit, success, message`` as scipy does.
    """
    t = np.clip(np.asarray(t0, dtype=float), lo, hi)
    f, g = fg(t)
    eye = np.eye(len(t))
    h = eye
    message, success, nit = "maximum number of iterations reached", False, 0
    for nit in range(1, maxiter + 1):  # noqa: B007 - nit is reported
        blocked = ((t <= lo) & (g > 0)) | ((t >= hi) & (g < 0))
        pg = np.where(blocked, 0.0, g)
        if float(np.max(np.abs(pg))) < gtol:
            message, success = "projected gradient below gtol", True
            break
        d = np.where(blocked, 0.0, -(h @ pg))
        if float(pg @ d) >= 0.0:  # not a descent direction: restart from steepest descent
            h, d = eye, -pg
        if h is eye:  # steepest descent: a step of at most 1 in the log ratios
            d = d / max(1.0, float(np.max(np.abs(d))))
        tn, fn, gn = _line_search(fg, t, f, g, np.clip(d, -5.0, 5.0), lo, hi)
        if fn > f + _slack(f):  # no decrease above rounding
            if h is not eye:
                h = eye  # retry along the steepest descent
                continue
            message, success = "no decrease of the deviance above its rounding", True
            break
        step, dg = tn - t, gn - g
        done = abs(f - fn) <= ftol * max(abs(f), abs(fn), 1.0)
        t, f, g = tn, fn, gn
        if done:
            message, success = "relative reduction of the deviance below ftol", True
            break
        sy = float(step @ dg)
        if sy > 1e-12:  # BFGS update of the inverse Hessian (scaled on the first update)
            h0 = eye * (sy / float(dg @ dg)) if h is eye else h
            rho = 1.0 / sy
            v = eye - rho * np.outer(step, dg)
            h = v @ h0 @ v.T + rho * np.outer(step, step)
    return SimpleNamespace(x=t, fun=f, nit=nit, success=success, message=message)


def _slack(f: float) -> float:
    """The rounding level of a deviance value: smaller changes are noise."""
    return 8.0 * float(np.finfo(float).eps) * abs(f)


def _line_search(
    fg: Callable[[np.ndarray], tuple[float, np.ndarray]],
    t: np.ndarray,
    f: float,
    g: np.ndarray,
    d: np.ndarray,
    lo: float,
    hi: float,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Projected backtracking (Armijo) along ``d``; the last trial when none decreases."""
    lam = 1.0
    while True:
        tn = np.clip(t + lam * d, lo, hi)
        fn, gn = fg(tn)
        if fn <= f + 1e-4 * float(g @ (tn - t)) + _slack(f) or lam < 1e-6:
            return tn, fn, gn
        lam *= 0.25

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
    h = np.eye(len(t))
    message, success, nit = "maximum number of iterations reached", False, 0
    for nit in range(1, maxiter + 1):  # noqa: B007 - nit is reported
        blocked = ((t <= lo) & (g > 0)) | ((t >= hi) & (g < 0))
        pg = np.where(blocked, 0.0, g)
        if float(np.max(np.abs(pg))) < gtol:
            message, success = "projected gradient below gtol", True
            break
        d = np.where(blocked, 0.0, -(h @ pg))
        if float(pg @ d) >= 0.0:  # not a descent direction: restart from steepest descent
            h, d = np.eye(len(t)), -pg
        d = np.clip(d, -5.0, 5.0)
        lam = 1.0
        while True:
            tn = np.clip(t + lam * d, lo, hi)
            fn, gn = fg(tn)
            if fn <= f + 1e-4 * float(g @ (tn - t)) or lam < 1e-10:
                break
            lam *= 0.5
        step, dg = tn - t, gn - g
        done = abs(f - fn) <= ftol * max(abs(f), abs(fn), 1.0)
        t, f, g = tn, fn, gn
        if done:
            message, success = "relative reduction of the deviance below ftol", True
            break
        sy = float(step @ dg)
        if sy > 1e-12:  # BFGS update of the inverse Hessian
            rho = 1.0 / sy
            v = np.eye(len(t)) - rho * np.outer(step, dg)
            h = v @ h @ v.T + rho * np.outer(step, step)
    return SimpleNamespace(x=t, fun=f, nit=nit, success=success, message=message)

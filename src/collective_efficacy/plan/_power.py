"""Power of t tests and the smallest integer sample that reaches a target (private core).

One implementation of the power function (noncentral t, both tails), its inversion for the
detectable effect, and the integer search for sample sizes, used by every public planning
function of :mod:`collective_efficacy.plan`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import optimize

from collective_efficacy import _dist

__all__ = ["POWER_TOL", "detectable", "power_t", "smallest_n"]

#: A power within this distance below the target counts as reaching it: a boundary that is exact
#: in real arithmetic is not rounded up to the next integer by floating-point error.
POWER_TOL = 1e-10


def power_t(effect_over_se: float, df: float, alpha: float, tails: int = 2) -> float:
    """Power of a t test whose statistic is noncentral t(df, ncp = effect / SE).

    Two-sided: :math:`P(T' > t_{1-\\alpha/2}) + P(T' < -t_{1-\\alpha/2})` (R's
    ``power.t.test(strict = TRUE)``, statsmodels' ``TTestIndPower``); one-sided: the upper tail
    at :math:`t_{1-\\alpha}`.
    """
    if not np.isfinite(df) or df <= 0:
        return float("nan")
    ncp = abs(float(effect_over_se))
    crit = float(_dist.t_ppf(1.0 - (alpha / 2.0 if tails == 2 else alpha), df))
    upper = float(_dist.nct_sf(crit, df, ncp))
    lower = float(_dist.nct_cdf(-crit, df, ncp)) if tails == 2 else 0.0
    if not np.isfinite(upper):  # scipy's nct loses the far tail: the normal limit is exact there
        upper = float(_dist.norm_sf(crit - ncp))
    return upper + (lower if np.isfinite(lower) else 0.0)


def multiplier(df: float, alpha: float, power: float, tails: int = 2) -> float:
    """Bloom's MDE multiplier :math:`M = t_{1-\\alpha/\\text{tails}, df} + t_{power, df}`."""
    a = alpha / 2.0 if tails == 2 else alpha
    return float(_dist.t_ppf(1.0 - a, df) + _dist.t_ppf(power, df))


def detectable(
    se: float, df: float, alpha: float, power: float, *, method: str, tails: int
) -> float:
    """The effect detected with ``power``: Bloom's :math:`M\\cdot SE` or the exact root."""
    if not (np.isfinite(se) and np.isfinite(df) and df > 0):
        return float("nan")
    m = multiplier(df, alpha, power, tails)
    if method == "bloom":
        return m * se
    # exact: the ncp where the noncentral-t power equals the target (bracketed around Bloom's M)
    root = optimize.brentq(
        lambda ncp: power_t(ncp, df, alpha, tails) - power, 0.0, m + 8.0, xtol=1e-12
    )
    return float(root) * se


def smallest_n(reaches: Callable[[int], bool], *, lo: int, hi: int = 10_000_000) -> int | None:
    """Smallest integer n in [lo, hi] with ``reaches(n)`` (``reaches`` monotone), else None.

    Exponential then binary search; the answer is checked directly: ``reaches(n)`` and
    ``not reaches(n - 1)`` (when n > lo).
    """
    if reaches(lo):
        return lo
    step, good = 1, lo
    while True:
        cand = lo + step
        if cand > hi:
            if not reaches(hi):
                return None
            good = hi
            break
        if reaches(cand):
            good = cand
            break
        lo, step = cand, step * 2
    bad = lo
    while good - bad > 1:
        mid = (good + bad) // 2
        if reaches(mid):
            good = mid
        else:
            bad = mid
    return good

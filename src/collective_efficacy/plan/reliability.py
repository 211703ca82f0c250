r"""Residents per community for a target reliability of the community score.

Spearman–Brown on ICC(1) for a scale score, and the Raudenbush–Sampson (1999) ecometric
reliability for the items x residents trade-off.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.plan._baseline import ecometric_parts, from_fit

__all__ = ["residents_for_reliability", "spearman_brown"]

_COLUMNS = ["method", "target", "items", "residents", "reliability", "icc", "tau_beta", "tau_pi"]
_COLUMNS += ["sigma2"]


def _exact(x: float) -> Fraction:
    """The decimal value as written (``0.7`` is 7/10, not the nearest binary double)."""
    return Fraction(repr(float(x)))


def _check_open_unit(name: str, value: Any) -> float:
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not 0.0 < float(value) < 1.0:
        raise DataError(
            f"{name} must be a number strictly between 0 and 1; got {value!r}", argument=name
        )
    return float(value)


def spearman_brown(residents: int | float | np.ndarray, *, icc: float) -> np.ndarray:
    r"""Reliability of a community mean of ``residents`` respondents (Spearman–Brown).

    .. math:: \lambda(m) = \frac{m\rho}{1 + (m-1)\rho},

    with :math:`\rho` = ICC(1); :math:`\lambda` is ICC(2) when :math:`m` is the (harmonic) mean
    community size (Bliese 2000, eq. 3; the relation ``psych::ICC`` and
    ``multilevel::ICC2`` report).

    Parameters
    ----------
    residents : int, float or array
        Respondents per community (> 0).
    icc : float
        ICC(1), in (0, 1).

    Returns
    -------
    ndarray of float

    Examples
    --------
    >>> from collective_efficacy.plan import spearman_brown
    >>> float(spearman_brown(10, icc=0.2).round(4))
    0.7143
    """
    rho = _check_open_unit("icc", icc)
    m = np.asarray(residents, dtype=float)
    return np.asarray(m * rho / (1.0 + (m - 1.0) * rho))


def _sb_row(target: float, icc: float) -> dict[str, Any]:
    lam, rho = _exact(target), _exact(icc)
    need = lam * (1 - rho) / (rho * (1 - lam))  # exact rational: no float rounding at a boundary
    m = max(1, math.ceil(need))
    return {"method": "spearman_brown", "target": target, "items": pd.NA, "residents": m,
            "reliability": float(spearman_brown(m, icc=icc)), "icc": icc}  # fmt: skip


def _rs_rows(target: float, parts: Any, items: Sequence[int]) -> list[dict[str, Any]]:
    lam = _exact(target)
    tb, tp, s2 = _exact(parts.tau_beta), _exact(parts.tau_pi), _exact(parts.sigma2)
    rows = []
    for n in items:  # a handful of item counts, not communities
        need = lam * (tp + s2 / n) / ((1 - lam) * tb)
        j = max(1, math.ceil(need))
        rel = parts.tau_beta / (parts.tau_beta + (parts.tau_pi + parts.sigma2 / n) / j)
        rows.append({"method": "raudenbush_sampson", "target": target, "items": int(n),
                     "residents": j, "reliability": rel,
                     "icc": parts.tau_beta / (parts.tau_beta + parts.tau_pi),
                     "tau_beta": parts.tau_beta, "tau_pi": parts.tau_pi,
                     "sigma2": parts.sigma2})  # fmt: skip
    return rows


def _items_list(items: int | Sequence[int] | None, n_items: int) -> list[int]:
    if items is None:
        return list(range(1, n_items + 1))
    seq = [items] if isinstance(items, (int, np.integer)) else list(items)
    bad = [i for i in seq if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or i < 1]
    if not seq or bad:
        raise DataError(
            f"items must be a positive whole number of items or a list of them; got {items!r}",
            argument="items",
        )
    return [int(i) for i in seq]


def residents_for_reliability(
    target: float = 0.70,
    *,
    icc: float | None = None,
    fit: Any = None,
    items: int | Sequence[int] | None = None,
) -> pd.DataFrame:
    r"""Residents per community needed for a target reliability of the community score.

    With ``icc`` (ICC(1) of the scale score, or of a fit without item-level variances), the
    smallest :math:`m` with Spearman–Brown :math:`\lambda(m) \ge` ``target``:

    .. math:: m = \left\lceil \frac{\lambda(1-\rho)}{\rho(1-\lambda)} \right\rceil .

    With an ``ecometric`` fit (or an :class:`~collective_efficacy.Evaluation` and ``items``),
    the Raudenbush & Sampson (1999) reliability of a community with :math:`J` residents who each
    answer :math:`n` items,

    .. math:: \lambda(J, n) = \frac{\tau_\beta}{\tau_\beta + \tau_\pi/J + \sigma^2/(nJ)},
       \qquad J = \left\lceil \frac{\lambda(\tau_\pi + \sigma^2/n)}{(1-\lambda)\tau_\beta}
       \right\rceil,

    one row per number of items: the items x residents trade-off (plot it with
    :func:`~collective_efficacy.plan.plot_reliability`). The division is done in exact
    rational arithmetic on the decimal values, so an exact boundary (``target=0.5, icc=0.2``:
    :math:`m = 4`) is not rounded up by floating-point error.

    Parameters
    ----------
    target : float, default=0.70
        Reliability wanted, in (0, 1).
    icc : float, optional
        ICC(1), in (0, 1). Exactly one of ``icc`` and ``fit``.
    fit : Evaluation, ecometric, random_intercept or change_model result, optional
        The baseline: its ICC(1) (an Evaluation: the end-of-cycle wave's ANOVA ICC(1); a change
        model: the baseline intercept variance over the within-community variance plus it) or,
        for an ecometric fit, its variance components. A fit that did not converge raises.
    items : int or list of int, optional
        Numbers of items to tabulate with an ecometric fit (default 1 to the fit's number).

    Returns
    -------
    DataFrame
        ``method`` (``"spearman_brown"`` / ``"raudenbush_sampson"``), ``target``, ``items``
        (Int64, missing for Spearman–Brown), ``residents`` (int64, the smallest number that
        reaches the target), ``reliability`` (reached with that many), ``icc`` (for the ecometric
        rows the intra-neighbourhood correlation), ``tau_beta``, ``tau_pi``, ``sigma2`` (float,
        missing for Spearman–Brown).

    Raises
    ------
    DataError
        ``target`` or ``icc`` outside (0, 1), neither or both of ``icc`` and ``fit``, a fit that
        did not converge, ``items`` without an ecometric fit.

    References
    ----------
    Spearman (1910); Brown (1910); Bliese (2000) in Klein & Kozlowski (eds.), *Multilevel
    theory, research, and methods in organizations*, eq. 3; Raudenbush & Sampson (1999),
    *Sociological Methodology* 29, 1-41.

    Examples
    --------
    >>> from collective_efficacy.plan import residents_for_reliability
    >>> residents_for_reliability(0.70, icc=0.15)[["residents", "reliability"]].round(3)
       residents  reliability
    0         14        0.712
    """
    target = _check_open_unit("target", target)
    if (icc is None) == (fit is None):
        raise DataError("give exactly one of icc= and fit=", argument="icc")
    parts = ecometric_parts(fit) if fit is not None else None
    if parts is not None and (items is not None or not _is_evaluation(fit)):
        rows = _rs_rows(target, parts, _items_list(items, parts.n_items))
    else:
        if items is not None:
            raise DataError(
                "items= needs an ecometric fit (or an Evaluation with an ecometric section)",
                argument="items",
            )
        if icc is None:
            icc = from_fit(fit).icc
            if not 0.0 < icc < 1.0:
                raise DataError(
                    f"fit: its ICC(1) is {icc:.4g}: no variance between communities, so no "
                    "number of residents makes the community score reliable",
                    argument="fit",
                )
        rho = _check_open_unit("icc", icc)
        rows = [_sb_row(target, rho)]
    out = pd.DataFrame(rows).reindex(columns=_COLUMNS)
    out["items"] = out["items"].astype("Int64")
    out["residents"] = out["residents"].astype("int64")
    for col in ("reliability", "icc", "tau_beta", "tau_pi", "sigma2"):
        out[col] = out[col].astype(float)
    return out


def _is_evaluation(fit: Any) -> bool:
    from collective_efficacy.evaluation import Evaluation

    return isinstance(fit, Evaluation)

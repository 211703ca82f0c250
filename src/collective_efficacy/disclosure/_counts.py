"""Counts of rows that include suppressed communities: published only when they narrow none
(private; the public names are in the package)."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import ARRAY, FRAME, Interval, public
from collective_efficacy.disclosure._rules import (
    _MIN_N,
    _TWO_FRAMES,
    SECONDARY_REASON,
)

__all__ = ["counts_publishable", "total_is_safe", "totals_unsafe"]


@public(
    constraints={
        "hidden": [ARRAY],
        "secondary": [ARRAY],
        "min_n": [_MIN_N],
        "smallest_shown": [Interval(Real, 0, None), None],
    }
)
def total_is_safe(
    hidden: Sequence[int] | np.ndarray,
    *,
    secondary: Sequence[bool] | np.ndarray,
    min_n: int = 10,
    smallest_shown: float | None,
) -> bool:
    r"""Whether a total that includes suppressed communities may be published.

    Parameters
    ----------
    hidden : sequence of int
        What each suppressed community adds to the total (its rows or respondents; absent
        communities, which add 0, are left out).
    secondary : sequence of bool
        Which of them are secondarily suppressed.
    min_n : int
        The privacy threshold.
    smallest_shown : float or None
        n of the smallest shown community (None when none is shown).

    Returns
    -------
    bool
        True when the total leaves every community suppressed for size its whole range
        1 to ``min_n - 1`` open.

    Notes
    -----
    A reader who subtracts the shown communities from the total learns :math:`R = \sum_j h_j`
    and knows bounds :math:`l_j \le h_j \le u_j`: :math:`[1, m-1]` for a community suppressed
    for size, :math:`[m, s]` for a secondarily suppressed one (:math:`s` the smallest shown
    community, :math:`\infty` when none is shown). The values still possible for :math:`h_j`
    are :math:`[\max(l_j, R - \sum_{i\ne j} u_i), \min(u_j, R - \sum_{i\ne j} l_i)]` (the
    interval attack of tabular disclosure control; Hundepool et al., 2012, sec. 4.2). The
    total is safe when this is :math:`[1, m-1]` for every community suppressed for size and
    holds at least two values for every secondarily suppressed one. It is never safe for a
    single suppressed community.

    Examples
    --------
    >>> from collective_efficacy.disclosure import total_is_safe
    >>> total_is_safe([4, 30], secondary=[False, True], min_n=10, smallest_shown=40)
    True
    >>> total_is_safe([9, 9], secondary=[False, False], min_n=10, smallest_shown=None)
    False
    """
    h = np.asarray(hidden, dtype=float)
    sec = np.asarray(secondary, dtype=bool)
    top = np.inf if smallest_shown is None else float(smallest_shown)
    group = np.zeros(h.size, dtype=np.intp)
    return not bool(totals_unsafe(h, sec, group, np.array([top]), min_n=min_n)[0])


def totals_unsafe(
    hidden: np.ndarray,
    secondary: np.ndarray,
    group: np.ndarray,
    smallest_shown: np.ndarray,
    *,
    min_n: int,
) -> np.ndarray:
    """:func:`total_is_safe`'s interval test for many totals at once (one vectorised pass):
    True for each total (index of ``smallest_shown``, inf where none is shown) that narrows a
    hidden community of ``group`` (each hidden community's total; sizes ``hidden``)."""
    n_groups = len(smallest_shown)
    lo = np.where(secondary, float(min_n), 1.0)
    hi = np.where(secondary, smallest_shown[group], float(min_n - 1))
    total = np.bincount(group, weights=hidden, minlength=n_groups)[group]
    sum_lo = np.bincount(group, weights=lo, minlength=n_groups)[group]
    sum_hi = np.bincount(group, weights=hi, minlength=n_groups)[group]
    with np.errstate(invalid="ignore"):
        low = np.maximum(lo, total - (sum_hi - hi))  # the others take up all they can
        high = np.minimum(hi, total - (sum_lo - lo))  # ... or as little as they can
    full = (low <= lo) & (high >= hi)
    # a secondary one keeps two values or more: one pinned by its own bounds (its smallest shown
    # sibling holds exactly min_n) is pinned too, and the total would complete what it tells
    open_ = high > low
    bad = np.where(secondary, ~open_, ~full)
    out: np.ndarray = np.bincount(group, weights=bad.astype(float), minlength=n_groups) > 0
    return out


@public(constraints={**_TWO_FRAMES, "rows": [FRAME], "min_n": [_MIN_N]})
def counts_publishable(
    table: pd.DataFrame,
    rows: pd.DataFrame,
    *,
    community: str,
    wave: str = "wave",
    min_n: int = 10,
) -> dict[Any, bool]:
    """Per wave: whether its counts of rows (read, used) may be published.

    Parameters
    ----------
    table : DataFrame
        Community scores after suppression (``n``, ``suppressed``, ``reason``), with ``wave``.
    rows : DataFrame
        The rows used per community and wave: columns ``community``, ``wave`` and ``rows``.
    community, wave : str
        The community and wave columns (in both frames).
    min_n : int
        The privacy threshold.

    Returns
    -------
    dict
        Wave label -> True when the wave's total of rows narrows no suppressed community
        (:func:`total_is_safe` applied to the rows of its suppressed communities). A wave with
        respondents but no shown community never publishes its counts (all that is published
        of it is that its communities have fewer than ``min_n`` respondents).

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.disclosure import counts_publishable
    >>> t = pd.DataFrame({"c": ["A", "B"], "wave": ["x", "x"], "n": [30, 5],
    ...                   "suppressed": [False, True], "reason": ["", "fewer than 10"]})
    >>> r = pd.DataFrame({"c": ["A", "B"], "wave": ["x", "x"], "rows": [30, 5]})
    >>> counts_publishable(t, r, community="c", min_n=10)
    {'x': False}
    """
    t = table.drop_duplicates([community, wave])  # several scales: suppression is per scale
    if "scale" in table.columns and table["scale"].nunique() > 1:
        # a community counts as hidden when any of its scales is suppressed
        any_sup = table.groupby([community, wave], sort=False)["suppressed"].any()
        t = t.drop(columns="suppressed").merge(
            any_sup.rename("suppressed").reset_index(), on=[community, wave]
        )
    t = t.merge(rows[[community, wave, "rows"]], on=[community, wave], how="left")
    out: dict[Any, bool] = {}
    for label, part in t.groupby(wave, sort=False):  # two waves, not a loop over communities
        sup = part["suppressed"].to_numpy(dtype=bool)
        counts = part["rows"].fillna(0).to_numpy(dtype=float)
        hid = sup & (counts > 0)
        shown_n = part.loc[~sup, "n"]
        if not len(shown_n) and hid.any():  # nothing shown: only "fewer than min_n" (issue 13)
            out[label] = False
            continue
        out[label] = total_is_safe(
            counts[hid],
            secondary=(part["reason"] == SECONDARY_REASON).to_numpy()[hid],
            min_n=min_n,
            smallest_shown=float(shown_n.min()) if len(shown_n) else None,
        )
    return out

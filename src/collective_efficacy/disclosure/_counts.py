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
    out: dict[Any, bool] = {}
    for label, sup, counts, n, secondary in _waves(t, rows, community, wave):
        hid = sup & (counts > 0)
        shown_n = n[~sup]
        if not len(shown_n) and hid.any():  # nothing shown: only "fewer than min_n" (issue 13)
            out[label] = False
            continue
        out[label] = total_is_safe(
            counts[hid],
            secondary=secondary[hid],
            min_n=min_n,
            smallest_shown=float(shown_n.min()) if len(shown_n) else None,
        )
    return out


Wave = tuple[Any, np.ndarray, np.ndarray, pd.Series, np.ndarray]


def _waves(t: pd.DataFrame, rows: pd.DataFrame, community: str, wave: str) -> list[Wave]:
    """Per wave of ``t`` (first appearance): its label, suppressed flags, rows read (0 for a
    community without a row in ``rows``), ``n`` and secondary-suppression flags.

    ``t.merge(rows, how="left")`` grouped by wave; with text keys (no missing one, the same
    dtype in both frames) and one row per key in ``rows``, matched by their codes instead
    (the merge and the groups cost 3 ms a call, a fixed cost of every evaluation)."""
    fast = _rows_matched(t, rows, community, wave)
    if fast is None:
        t = t.merge(rows[[community, wave, "rows"]], on=[community, wave], how="left")
        return [
            (
                label,
                part["suppressed"].to_numpy(dtype=bool),
                part["rows"].fillna(0).to_numpy(dtype=float),
                part["n"],
                (part["reason"] == SECONDARY_REASON).to_numpy(),
            )
            for label, part in t.groupby(wave, sort=False)  # two waves, not the communities
        ]
    codes, labels = pd.factorize(t[wave])
    if not len(labels):  # no wave: nothing read (as no group of the merge)
        return []
    sup = t["suppressed"].to_numpy(dtype=bool)
    secondary = (t["reason"] == SECONDARY_REASON).to_numpy()
    out = []
    for k in range(len(labels)):
        at = np.flatnonzero(codes == k)
        out.append((labels[k], sup[at], fast[at], t["n"].iloc[at], secondary[at]))
    return out


def _rows_matched(
    t: pd.DataFrame, rows: pd.DataFrame, community: str, wave: str
) -> np.ndarray | None:
    """The rows read of each row of ``t`` (0 where ``rows`` has none), or None when the keys
    are not all text of one dtype and present, a key repeats in ``rows`` or a name clashes."""
    keys = [community, wave]
    if not (t.columns.is_unique and rows.columns.is_unique) or "rows" in t.columns:
        return None
    if not pd.api.types.is_numeric_dtype(rows["rows"].dtype):
        return None
    both = [(t[k], rows[k]) for k in keys]
    if any(
        a.dtype != b.dtype or not isinstance(a.dtype, pd.StringDtype) or a.hasnans or b.hasnans
        for a, b in both
    ):
        return None
    code = np.zeros(len(t) + len(rows), dtype=np.int64)
    for a, b in both:
        # the text Series themselves (4x faster than their object arrays at 260k keys)
        c, u = pd.factorize(pd.concat([a, b], ignore_index=True))
        code = code * max(len(u), 1) + c
    own = pd.Index(code[len(t) :])
    if not own.is_unique:
        return None
    at = own.get_indexer(pd.Index(code[: len(t)]))
    vals = rows["rows"].to_numpy(dtype=float, na_value=np.nan)
    got = np.where(at >= 0, vals[np.maximum(at, 0)] if len(vals) else np.nan, np.nan)
    return np.where(np.isnan(got), 0.0, got)

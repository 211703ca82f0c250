"""Input preparation and per-group notes for :mod:`collective_efficacy.reliability` (private)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice, numeric_matrix, resolve_items
from collective_efficacy._messages import Message
from collective_efficacy.errors import DataError
from collective_efficacy.instrument._keys import _range_from, key_bounds, parse_keys, reverse_keyed
from collective_efficacy.prepared import memo

__all__ = [
    "Prepared",
    "combine_notes",
    "join_names",
    "none_if_empty",
    "prepare",
    "structural_checks",
]

NAN_POLICIES = ("pairwise", "listwise")
#: rows copied per block from the frame's columns into the item matrix
_COPY_ROWS = 1 << 14


@dataclass(frozen=True)
class Prepared:
    """Item matrix after keying and the missing-data policy.

    Attributes
    ----------
    items : list of str
    signs : ndarray (k,)   +1 / -1 per item
    x : ndarray (n_used, k)   keyed values (reversed items are ``lo + hi - x``), NaN = missing
    rows : ndarray of int   positions (in the caller's data) of the rows in ``x``
    lo, hi : ndarray (k,)   bounds used for the reversal
    value_range : (float, float) or None   smallest and largest value of ``x`` (NaN, NaN
        without any), when known without another pass over ``x``
    """

    items: list[str]
    signs: np.ndarray
    x: np.ndarray
    rows: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    value_range: tuple[float, float] | None = None


def prepare(
    data: pd.DataFrame,
    items: Sequence[str] | str | None,
    *,
    keys: Any,
    nan_policy: str,
    response_range: Any,
    func: str,
    exclude: Sequence[str] = (),
) -> Prepared:
    """Resolve items, parse keys, apply the missing-data policy and reverse keyed items.

    Reversal follows ``psych::alpha``: ``x' = min + max - x`` with ``min``/``max`` the smallest and
    largest value of the whole (used) item matrix, unless ``response_range`` (the public
    ``scale_range``) or an Instrument as ``keys`` gives the response-scale bounds
    (:func:`~collective_efficacy.instrument._keys.key_bounds`, the one rule).
    """
    check_choice("nan_policy", nan_policy, NAN_POLICIES, func=func)
    if items is None:
        cols = (
            [str(c) for c in data.columns if c not in set(exclude)]
            if isinstance(data, pd.DataFrame)
            else None
        )
        item_list = resolve_items(data, cols)
    else:
        item_list = resolve_items(data, items)
    clash = [c for c in exclude if c in item_list]
    if clash:
        raise DataError(f"column {clash[0]!r} is the group column; it cannot also be an item")
    if len(item_list) < 2:
        raise DataError(
            f"{func} needs at least 2 items; got {len(item_list)} ({item_list}). "
            "Internal consistency is undefined for a single item."
        )
    signs = parse_keys(keys, item_list)
    bounds = _range_from(response_range, item_list, "scale_range")
    key = (
        "reliability_prepare",
        tuple(item_list),
        signs.tobytes(),
        nan_policy,
        None if bounds is None else (bounds[0].tobytes(), bounds[1].tobytes()),
        id(keys) if hasattr(keys, "response_scale") else None,  # an Instrument's own ranges
    )
    prep = memo(data, key, lambda: _keyed(data, item_list, signs, nan_policy, keys, bounds))
    # the keyed matrix itself is a shared (read-only) array of the preparation, by its own key
    memo(data, ("keyed_items", *key[1:]), lambda: prep.x)
    return prep


def _keyed(
    data: pd.DataFrame,
    item_list: list[str],
    signs: np.ndarray,
    nan_policy: str,
    keys: Any,
    bounds: tuple[np.ndarray, np.ndarray] | None,
) -> Prepared:
    """The item matrix with the missing-data policy applied and reverse-keyed items recoded.

    The matrix is this function's own copy of the columns, so reversed items are recoded in
    place: only the keyed matrix is kept (on a prepared table, once per keying).
    """
    x, owned, ranges = _columns_and_range(data, item_list)
    rows = np.arange(len(x))
    if nan_policy == "listwise":
        keep = ~np.isnan(x).any(axis=1)
        x, rows, owned, ranges = x[keep], rows[keep], True, None
    if bounds is None:  # the observed range, when already read, stands in for the matrix
        seen = (
            None
            if ranges is None
            else np.array([np.fmin.reduce(ranges[0]), np.fmax.reduce(ranges[1])])
        )
        bounds = key_bounds(x if seen is None else seen[None], item_list, keys, None)
    lo, hi = bounds
    if not owned:
        return Prepared(item_list, signs, reverse_keyed(x, signs, lo, hi), rows, lo, hi)
    rev = np.asarray(signs) < 0
    for j in np.flatnonzero(rev):  # loop over reversed items (few)
        np.subtract(lo[j] + hi[j], x[:, j], out=x[:, j])  # flip(), x' = lo + hi - x
    value_range = None
    if ranges is not None:  # the keyed range: a reversal maps a column's max to its min
        flip = lo + hi  # (the same sums as above: the same rounding)
        kmin = np.where(rev, flip - ranges[1], ranges[0])
        kmax = np.where(rev, flip - ranges[0], ranges[1])
        value_range = (float(np.fmin.reduce(kmin)), float(np.fmax.reduce(kmax)))
    return Prepared(item_list, signs, x, rows, lo, hi, value_range)


def item_columns(data: pd.DataFrame, items: list[str]) -> tuple[np.ndarray, bool]:
    """The float item matrix in column order (Fortran: each item one contiguous column, read
    by the per-item passes without a transpose) and whether it is a fresh copy; non-numeric
    columns go through :func:`~collective_efficacy._checks.numeric_matrix` (its typed
    errors; possibly a shared array)."""
    x, owned, _ = _columns_and_range(data, items)
    return x, owned


def _columns_and_range(
    data: pd.DataFrame, items: list[str]
) -> tuple[np.ndarray, bool, np.ndarray | None]:
    """:func:`item_columns` and, for a fresh copy, each column's smallest and largest
    non-missing value (2, k; NaN without any), read column by column while the column is in
    cache (None: not read)."""
    cols = [data[c] for c in items] if len(set(items)) == len(items) else []
    if not cols or not all(isinstance(c.dtype, np.dtype) and c.dtype.kind in "iuf" for c in cols):
        return numeric_matrix(data, items), False, None
    x = np.empty((len(data), len(items)), order="F")
    arrays = [c.to_numpy() for c in cols]
    if not all(a.strides[0] == a.itemsize for a in arrays):
        for r in range(0, len(x), _COPY_ROWS):  # row blocks: columns of one row-major block
            for j, col in enumerate(arrays):  # of the frame are read from cache, not per item
                x[r : r + _COPY_ROWS, j] = col[r : r + _COPY_ROWS]
    ranges = np.full((2, len(arrays)), np.nan)
    for j in range(len(arrays) if len(x) else 0):  # loop over items (few)
        if arrays[j].strides[0] == arrays[j].itemsize:  # contiguous: copied while in cache
            x[:, j] = arrays[j]
        ranges[:, j] = np.fmin.reduce(x[:, j]), np.fmax.reduce(x[:, j])
    lo, hi = np.fmin.reduce(ranges[0]), np.fmax.reduce(ranges[1])
    if x.size and not np.isfinite(lo + hi) and not (np.isnan(lo) and np.isnan(hi)):
        return numeric_matrix(data, items), False, None  # an infinite cell: its error names the row
    return x, True, ranges


def structural_checks(prep: Prepared, data: pd.DataFrame, func: str) -> None:
    """Whole-data problems that make every statistic meaningless raise a DataError.

    On a prepared table the checks of one preparation's matrix run once (a later function on
    the same matrix finds them passed); a failing check is never stored, so it raises again."""
    memo(data, ("structural_checks", id(prep.x)), lambda: _structural_checks(prep, data, func))


def _structural_checks(prep: Prepared, data: pd.DataFrame, func: str) -> bool:
    x = prep.x
    # NaN skipped, no copy; an item without answers (or no rows) keeps the initial NaN
    mn = np.fmin.reduce(x, axis=0, initial=np.nan)
    mx = np.fmax.reduce(x, axis=0, initial=np.nan)
    empty = [c for c, a in zip(prep.items, mn) if np.isnan(a)]
    if empty:
        raise DataError(
            f"{func}: item(s) {empty} have no answers in the rows used; expected at least 2 "
            "answers per item. Drop the item(s) from `items`.",
            keyed=Message(code="items_no_answers", params={"items": ", ".join(empty)}),
        )
    # two different answers to one item are two respondents: the count is needed only when
    # every item is constant
    n_resp = 2 if (mn < mx).any() else int((~np.isnan(x)).any(axis=1).sum())
    if n_resp < 2:
        raise DataError(
            f"{func} needs at least 2 respondents with answers; got {n_resp} (after nan_policy)."
        )
    const = [
        f"{c!r} (every answer = {_scalar(data[c].dropna().iloc[0])!r})"
        for c, a, b in zip(prep.items, mn, mx)
        if a == b
    ]
    if const:
        raise DataError(
            f"{func}: item(s) {', '.join(const)} have no variance, so their correlations are "
            "undefined; expected items whose answers vary. Drop them from `items` "
            "(psych::alpha drops such items with a warning)."
        )
    return True


def _scalar(value: Any) -> Any:
    """Plain Python scalar for messages (np.int64(3) -> 3)."""
    return value.item() if hasattr(value, "item") else value


def join_names(mask: np.ndarray, names: Sequence[str], sep: str = ", ") -> np.ndarray:
    """Per row of ``mask`` (G, m), the names whose column is True, joined (vectorised over G).

    Only the rows with at least one True are touched (string work is skipped for clean groups).
    """
    g = mask.shape[0]
    out = np.full(g, "", dtype=object)
    rows = np.flatnonzero(mask.any(axis=1))
    if len(rows) == 0:
        return out
    sub = mask[rows]
    acc = np.full(len(rows), "", dtype=object)
    for j, name in enumerate(names):  # loop over items / pairs, never over groups
        piece = np.where(sub[:, j], name, "")
        glue = np.where((acc != "") & sub[:, j], sep, "")
        acc = acc + glue + piece
    out[rows] = acc
    return out


def combine_notes(parts: list[np.ndarray]) -> np.ndarray:
    """Join non-empty note fragments with '; ' per group; '' becomes None."""
    g = parts[0].shape[0] if parts else 0
    out = np.full(g, "", dtype=object)
    for p in parts:
        glue = np.where((out != "") & (p != ""), "; ", "")
        out = out + glue + p
    return none_if_empty(out)


def none_if_empty(values: np.ndarray) -> np.ndarray:
    """Object array with '' replaced by None (tidy 'no note')."""
    out = np.asarray(values, dtype=object).copy()
    out[out == ""] = None
    return out

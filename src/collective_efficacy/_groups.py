"""Group (community) coding shared by every per-community statistic.

Per-community statistics are computed for all communities at once: the group column is
factorised once into integer codes ``0..G-1`` and sums are taken with :func:`numpy.bincount`.
No Python loop over groups, no dense respondents x communities matrix. This is the one group
coding of the library: :func:`slot_codes` holds the fast paths (integer ids, categoricals) used by
:func:`factorize_groups` (dense codes of the occupied groups) and by the agreement kernels (slot
codes, :func:`~collective_efficacy.agreement._groups.code_groups`). On a prepared table
(:mod:`.prepared`) a column is coded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.prepared import memo

__all__ = ["SLOTS_CONST", "SLOTS_PER_ROW", "GroupIndex", "factorize_groups", "slot_codes"]


@dataclass(frozen=True)
class GroupIndex:
    """Integer codes of a group column.

    Attributes
    ----------
    codes : ndarray of int64, shape (n,)
        Group code per row, in ``0..n_groups-1``.
    labels : Index
        The group label of each code (sorted where the labels are sortable).
    counts : ndarray of int64, shape (n_groups,)
        Rows per group.
    name : str
        Name of the group column (for messages and result columns).
    """

    codes: np.ndarray
    labels: pd.Index
    counts: np.ndarray
    name: str

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def factorize_groups(data: pd.DataFrame, group: str, *, what: str = "group") -> GroupIndex:
    """Factorise ``data[group]`` into integer codes, refusing missing labels.

    Raises
    ------
    DataError
        If the column is absent or has missing values (the message names the rows).
    """
    return memo(data, ("factorize_groups", group), lambda: _factorize(data, group, what))


#: An integer id column is used as codes directly when its range is at most this many slots per
#: row (plus a constant), so the per-slot arrays stay O(n).
SLOTS_PER_ROW = 4
SLOTS_CONST = 1024


def _column(data: pd.DataFrame, group: str, what: str) -> pd.Series:
    """The group column, refusing an absent column."""
    if group not in data.columns:
        raise DataError(
            f"{what} column {group!r} not found; available columns: {list(map(str, data.columns))}"
        )
    return data[group]


def _refuse_missing(data: pd.DataFrame, group: str, what: str, missing: np.ndarray) -> None:
    """Refuse missing labels, naming the rows (``missing``: a mask, or codes with -1 for NA)."""
    if missing.dtype != np.bool_:
        missing = missing < 0
    if missing.any():
        raise DataError(
            f"{what} column {group!r} has {int(missing.sum())} missing value(s) at "
            f"{rows_in(data, missing)}; expected a {what} label on every row. "
            "Drop or label those rows first."
        )


def slot_codes(
    data: pd.DataFrame, group: str, *, what: str = "group"
) -> tuple[np.ndarray, int, np.ndarray] | None:
    """The fast paths of group coding: codes that need no hashing or sorting, or None.

    * a pandas ``Categorical`` column: its category codes (one slot per category);
    * an integer column (pre-coded ids) whose range is O(n): the values, offset by the minimum
      when needed (one slot per value in the range).

    Returns ``(codes, n_slots, slot_labels)``; slots may be empty (ids that do not occur).
    """
    col = _column(data, group, what)
    n = len(col)
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        codes = col.cat.codes.to_numpy().astype(np.int64)
        _refuse_missing(data, group, what, codes)
        return codes, len(cats), np.asarray(cats, object)
    if n and pd.api.types.is_integer_dtype(col.dtype) and isinstance(col.dtype, np.dtype):
        # a numpy integer column has no missing values
        v = col.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        limit = SLOTS_PER_ROW * n + SLOTS_CONST
        if lo >= 0 and hi < limit:
            return v.astype(np.int64, copy=False), hi + 1, np.arange(hi + 1, dtype=v.dtype)
        if hi - lo < limit:
            return (v - lo).astype(np.int64), hi - lo + 1, np.arange(lo, hi + 1, dtype=v.dtype)
    return None


def _factorize(data: pd.DataFrame, group: str, what: str) -> GroupIndex:
    fast = slot_codes(data, group, what=what)
    col = data[group]
    if fast is not None:  # dense codes of the occupied slots, in slot (= sorted) order
        codes, n_slots, slot_labels = fast
        counts = np.bincount(codes, minlength=n_slots)
        present = counts > 0
        if not present.all():
            codes = (np.cumsum(present) - 1)[codes]
        keep = np.flatnonzero(present)
        if isinstance(col.dtype, pd.CategoricalDtype):
            uniques: Any = pd.Categorical.from_codes(keep, dtype=col.dtype)
        else:
            uniques = slot_labels[keep]
        return GroupIndex(
            codes=codes, labels=pd.Index(uniques, name=group), counts=counts[keep], name=str(group)
        )
    # missing labels come back as code -1 (no separate isna pass over the labels: on object
    # strings that pass costs as much as a third of the factorisation)
    try:
        codes, uniques = pd.factorize(col, sort=True)
    except TypeError:  # mixed, unsortable labels
        codes, uniques = pd.factorize(col, sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    _refuse_missing(data, group, what, codes)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    labels = pd.Index(uniques, name=group)
    return GroupIndex(codes=codes, labels=labels, counts=counts, name=str(group))

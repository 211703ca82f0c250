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

import ctypes
import importlib
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.prepared import memo

try:  # pandas' hash tables (the engine of pd.factorize); without them, pd.factorize itself
    _hashtable: Any = importlib.import_module("pandas._libs.hashtable")
except ImportError:  # pragma: no cover - present in every supported pandas
    _hashtable = None

__all__ = [
    "SLOTS_CONST",
    "SLOTS_PER_ROW",
    "GroupIndex",
    "factorize_groups",
    "restrict_groups",
    "slot_codes",
]


@dataclass(frozen=True)
class GroupIndex:
    """Integer codes of a group column: ``codes[i]`` is the group of row ``i``.

    Attributes
    ----------
    codes : ndarray of int64
        One code per row, ``0 <= code < n_groups``.
    labels : Index
        Label of each code, in code order (sorted where the labels are sortable).
    counts : ndarray of int64
        Number of rows of each group (``n_groups`` values).
    name : str
        The group column's name (for messages and result columns).
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


def restrict_groups(gi: GroupIndex, rows: np.ndarray | slice) -> GroupIndex | None:
    """The coding of the rows ``rows`` (a mask or a slice) derived from the coding ``gi`` of
    all rows, exactly as :func:`factorize_groups` codes those rows afresh; None when it cannot
    be derived (labels not in sorted order: fresh coding numbers them by first appearance).

    The codes of the kept rows are renumbered over the groups that keep a row (one bincount,
    no hashing of labels).

    >>> gi = GroupIndex(np.array([1, 0, 2, 1]), pd.Index(["a", "b", "c"]), np.array([1, 2, 1]), "g")
    >>> sub = restrict_groups(gi, np.array([True, False, True, True]))
    >>> sub.codes.tolist(), sub.labels.tolist(), sub.counts.tolist()
    ([0, 1, 0], ['b', 'c'], [2, 1])
    """
    if not gi.labels.is_monotonic_increasing:
        return None
    kept = gi.codes[rows]
    counts = np.bincount(kept, minlength=gi.n_groups)
    present = counts > 0
    if present.all():
        return GroupIndex(kept, gi.labels, counts, gi.name)
    codes = (np.cumsum(present) - 1)[kept]
    return GroupIndex(codes, gi.labels[present], counts[present], gi.name)


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
    if missing.dtype != np.bool_:  # codes: one reduction, no mask unless a label is missing
        if not missing.size or missing.min() >= 0:
            return
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
    text = _object_codes(col)
    if text is not None:  # text labels in an object column: the same codes, found faster
        codes, uniques = text
    else:
        # missing labels come back as code -1 (no separate isna pass over the labels: on
        # object strings that pass costs as much as a third of the factorisation)
        try:
            codes, uniques = pd.factorize(col, sort=True)
        except TypeError:  # mixed, unsortable labels
            codes, uniques = pd.factorize(col, sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    _refuse_missing(data, group, what, codes)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    labels = pd.Index(uniques, name=group)
    return GroupIndex(codes=codes, labels=labels, counts=counts, name=str(group))


#: Below this many rows an object column takes pandas' general path (the fast paths' fixed
#: costs are not worth it).
_OBJECT_FAST_MIN = 2048
#: Rows whose label objects are inspected to decide whether the column shares label objects.
_SHARED_SAMPLE = 4096
#: Repeated labels needed in that sample to code by object first.
_SHARED_REPEATS = 64


def _object_codes(col: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize(col, sort=True)`` of an object column of ``str`` labels, faster; else None.

    :func:`factorize_objects` with ``sort=True``; None (pandas' general path) for other dtypes,
    small columns, missing or non-``str`` labels.
    """
    if col.dtype != object or len(col) < _OBJECT_FAST_MIN:
        return None
    return factorize_objects(col.to_numpy(), sort=True)


@overload
def factorize_objects(
    values: np.ndarray, *, sort: Literal[False]
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def factorize_objects(
    values: np.ndarray, *, sort: bool
) -> tuple[np.ndarray, np.ndarray] | None: ...
def factorize_objects(values: np.ndarray, *, sort: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """``pd.factorize(values, sort=sort)`` of a 1-D object array, fast when cells share objects.

    A reader (``read_csv``) gives each distinct label of a column one ``str`` object: every row
    of a community points to it. When the first rows show that (:func:`_shares_objects`), the
    cells are first coded by the identity of their object -- an integer hash of the object
    references, no string is read -- and only the first cell of each object is coded by value,
    which merges equal labels held by different objects. Otherwise (one object per row, e.g.
    respondent ids) the cells are coded by value at once. Either way the codes and uniques are
    exactly pandas':

    * ``sort=False``: :func:`pandas.factorize` by value (first-appearance codes, -1 for a missing
      cell, any hashable cells);
    * ``sort=True``: ``str`` labels only, hashed as UTF-8 text (pandas' string hash table,
      without pandas' separate pass checking every value is a ``str``), then only the distinct
      labels sorted; None when a cell is missing or not a ``str``.

    >>> cells = np.array(["b", "a", None, "b"], dtype=object)
    >>> factorize_objects(cells, sort=False)[0].tolist()
    [0, 1, -1, 0]
    >>> factorize_objects(cells[[0, 1, 3]], sort=True)[0].tolist()
    [1, 0, 1]
    """
    values = np.ascontiguousarray(values, dtype=object)
    if len(values) <= _SHARED_REPEATS or _hashtable is None:
        return _value_codes(values, sort)
    refs = np.frombuffer(
        memoryview((ctypes.c_int64 * len(values)).from_address(values.ctypes.data)),
        dtype=np.int64,
    )  # the object references (addresses) as integers; `values` keeps them alive
    if not _shares_objects(values, refs):
        return _value_codes(values, sort)
    _, by_object = _hashtable.Int64HashTable(max(len(values) >> 6, 64)).factorize(refs)
    del refs
    # objects are numbered in order of first occurrence: the running maximum of the codes
    # steps to j exactly at the first cell holding object j
    first = np.searchsorted(np.maximum.accumulate(by_object), np.arange(int(by_object.max()) + 1))
    coded = _value_codes(values[first], sort)
    if coded is None:
        return None
    codes, uniques = coded
    return codes[by_object], uniques


def _shares_objects(values: np.ndarray, refs: np.ndarray) -> bool:
    """Whether rows with the same label mostly hold the same object, judged on the first rows:
    of the repeated labels there, at most a quarter are a further object."""
    head = values[:_SHARED_SAMPLE]
    try:
        n_labels = len(set(head.tolist()))
    except TypeError:  # unhashable labels: pandas' general path says so
        return False
    repeats = len(head) - n_labels
    extra_objects = np.unique(refs[:_SHARED_SAMPLE]).size - n_labels
    return repeats >= _SHARED_REPEATS and 4 * extra_objects <= repeats


def _value_codes(values: np.ndarray, sort: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """The by-value step of :func:`factorize_objects`."""
    if sort:
        return _text_codes(values)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


def _text_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Sorted codes of an object array of ``str`` labels (pandas' UTF-8 hash table), or None
    when a value is missing or not a ``str`` (the table codes those -1)."""
    if _hashtable is None:  # pragma: no cover - present in every supported pandas
        return None
    uniques, codes = _hashtable.StringHashTable(max(len(values) >> 6, 64)).factorize(values)
    if len(codes) and codes.min() < 0:
        return None
    # distinct str: a strict order, as pandas' sort; Python's own sort compares str directly,
    # numpy's object argsort through a generic comparison per pair (twice as slow)
    labels = uniques.tolist()
    order = np.fromiter(sorted(range(len(labels)), key=labels.__getitem__), np.intp, len(labels))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order]

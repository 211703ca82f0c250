"""Group coding and per-group kernels for :mod:`collective_efficacy.agreement`.

Everything here works on all communities at once: integer group codes, :func:`numpy.bincount`
sums and (for medians) per-community count tables. No Python loop over communities and no dense
respondents x communities matrix.

Group coding (:func:`code_groups`) is the library's one group coding (:mod:`._groups`): its
fast paths (:func:`~collective_efficacy._groups.slot_codes`: an integer id column used as codes
directly, a pandas ``Categorical`` column's category codes -- no hashing or sorting), else the
factorised labels (:func:`~collective_efficacy._groups.factorize_groups`, which uses the same fast
paths and compresses to the occupied slots).

Codes may then have *slots* without any respondent (ids that do not occur); every kernel
computes per slot and the public functions keep only the slots that occur in the group column.
Several group columns (e.g. platoon within unit) are combined into one code.

The statistics of a block of items over all groups (:func:`~._levels.block_stats`: count tables of
discrete answer levels, or a per-row pass) are in :mod:`._levels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import numeric_matrix
from collective_efficacy._groups import SLOTS_CONST, SLOTS_PER_ROW, factorize_groups, slot_codes
from collective_efficacy._moments import group_counts, group_sums
from collective_efficacy.errors import DataError
from collective_efficacy.prepared import memo

__all__ = [
    "GroupCodes",
    "block_frame",
    "code_groups",
    "column_values",
    "group_medians",
    "item_average",
    "item_rows",
    "notes",
    "result_frame",
]

_NOTE_SMALL = "fewer than 2 respondents with usable answers: statistic undefined"
_NOTE_EMPTY = "no respondent with usable answers"


@dataclass(frozen=True)
class GroupCodes:
    """Integer codes of one or several group columns.

    Attributes
    ----------
    codes : ndarray of int, shape (n,)
        Slot of each row, in ``0..n_slots-1``.
    n_slots : int
        Length of every per-slot array.
    present : ndarray of int64
        The slots that occur in the data, in output order.
    labels : DataFrame
        One row per present slot; one column per group column, holding the labels.
    rows : ndarray of int64, shape (n_slots,)
        Rows of the group column per slot (0 for absent slots).
    names : list of str
        The group column names.
    starts : ndarray of int64 or None
        When the rows are sorted by community (as survey files usually are): the first row of
        each present slot, so that per-community sums are contiguous segment sums
        (:func:`numpy.add.reduceat`, several times faster than a weighted ``bincount``).
    """

    codes: np.ndarray
    n_slots: int
    present: np.ndarray
    labels: pd.DataFrame
    rows: np.ndarray
    names: list[str]
    starts: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.present)

    def sum_rows(self, values: np.ndarray) -> np.ndarray:
        """Per-slot sums of ``values`` (one value per row of the data, no NaN)."""
        segments = None if self.starts is None else (self.starts, self.present)
        return group_sums(values, self.codes, self.n_slots, segments=segments)

    def count_rows(self, mask: np.ndarray) -> np.ndarray:
        """Per-slot number of rows where ``mask`` is True."""
        out = np.zeros(self.n_slots, dtype=np.int64)
        if not mask.any():
            return out
        if self.starts is not None:
            out[self.present] = np.add.reduceat(mask.view(np.uint8), self.starts, dtype=np.int64)
            return out
        return group_counts(self.codes, self.n_slots, mask)


def _with_starts(gc: GroupCodes) -> GroupCodes:
    """Attach segment starts when the codes are sorted (one O(n) comparison)."""
    c = gc.codes
    if len(c) > 1 and not bool((c[1:] >= c[:-1]).all()):
        return gc
    starts = (np.cumsum(gc.rows) - gc.rows)[gc.present].astype(np.int64)
    return GroupCodes(gc.codes, gc.n_slots, gc.present, gc.labels, gc.rows, gc.names, starts)


def _as_names(group: str | Sequence[str]) -> list[str]:
    if isinstance(group, str):
        return [group]
    names = list(group)
    if not names or not all(isinstance(g, str) for g in names):
        raise DataError(f"group must be a column name or a list of column names; got {group!r}")
    if len(set(names)) != len(names):
        raise DataError(f"group columns {names} contain duplicates")
    return names


def _code_one(
    data: pd.DataFrame, name: str
) -> tuple[np.ndarray, int, np.ndarray | pd.Index, np.ndarray | None]:
    """Codes, number of slots, the label of every slot and (factorised labels: every slot
    occurs) the rows per slot, for one group column (the shared coding of :mod:`._groups`: its
    fast paths, else the factorised labels, kept as their Index)."""
    fast = slot_codes(data, name, what="group")
    if fast is not None:
        return (*fast, None)
    gi = factorize_groups(data, name, what="group")
    labels = gi.labels
    # text labels of the dtype pandas infers for Python str (pandas 3: Arrow ``str``) stay an
    # Index: ``np.asarray`` would make a Python str of each and the Series convert them back
    keep = labels.dtype == _TEXT_DTYPE and not isinstance(labels.dtype, np.dtype)
    return gi.codes, gi.n_groups, labels if keep else np.asarray(labels), gi.counts


#: the dtype pandas gives a Series of Python str
_TEXT_DTYPE = pd.Series(["a"]).dtype


def code_groups(data: pd.DataFrame, group: str | Sequence[str]) -> GroupCodes:
    """Code the group column(s) of ``data``; missing labels raise a :class:`DataError`."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    names = _as_names(group)
    return memo(data, ("code_groups", *names), lambda: _code_groups(data, names))


def _code_groups(data: pd.DataFrame, names: list[str]) -> GroupCodes:
    coded = [_code_one(data, name) for name in names]
    n = len(data)
    if len(coded) == 1:
        codes, n_slots, slot_labels, counts = coded[0]
        if counts is None:
            rows = np.bincount(codes, minlength=n_slots).astype(np.int64)
        else:  # the coding's own counts (every group occurs): no pass over the rows
            rows = np.asarray(counts, dtype=np.int64)
        present = np.flatnonzero(rows > 0)
        col = data[names[0]]
        lab = pd.Series(slot_labels[present], name=names[0])
        if pd.api.types.is_numeric_dtype(col.dtype) and not isinstance(
            col.dtype, pd.CategoricalDtype
        ):
            lab = lab.astype(col.dtype)
        else:
            lab = lab.infer_objects()
        return _with_starts(GroupCodes(codes, n_slots, present, lab.to_frame(), rows, names))
    shape = tuple(c[1] for c in coded)
    if float(np.prod([float(k) for k in shape])) > 2.0**62:  # pragma: no cover
        raise DataError(f"too many combinations of group columns {names}")
    codes = np.ravel_multi_index(tuple(np.asarray(c[0], np.int64) for c in coded), shape)
    n_slots = int(np.prod(shape))
    if n_slots > SLOTS_PER_ROW * n + SLOTS_CONST:
        # sparse combinations: compress to those that occur (one sort of the codes)
        uniq, codes = np.unique(codes, return_inverse=True)
        codes = codes.astype(np.int64)
        n_slots = len(uniq)
        combos = uniq
    else:
        combos = np.arange(n_slots, dtype=np.int64)
    rows = np.bincount(codes, minlength=n_slots).astype(np.int64)
    present = np.flatnonzero(rows > 0)
    parts = np.unravel_index(combos[present], shape)
    labels = pd.DataFrame(
        {
            name: pd.Series(np.asarray(c[2])[k], dtype=object).infer_objects()
            for name, c, k in zip(names, coded, parts, strict=True)
        }
    )
    return GroupCodes(codes, n_slots, present, labels, rows, names)


def item_rows(data: pd.DataFrame, items: Sequence[str]) -> np.ndarray:
    """Float64 array of shape (n_items, n): one contiguous row per item (a copy; read-only and
    built once on a prepared table)."""
    cols = list(items)
    return memo(data, ("item_rows", *cols), lambda: _item_rows(data, cols))


def _item_rows(data: pd.DataFrame, items: Sequence[str]) -> np.ndarray:
    out = np.empty((len(items), len(data)), dtype=np.float64)
    for j, col in enumerate(items):
        s = data[col]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            out[j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(out[j]).any():
                numeric_matrix(data, [col])  # raises with the row and value
        else:
            out[j] = numeric_matrix(data, [col])[:, 0]  # raises for non-numeric cells
    return out


_MAX_LEVEL_CELLS = 50_000_000


def group_medians(x: np.ndarray, codes: np.ndarray, n_slots: int, n: np.ndarray) -> np.ndarray:
    """Median of ``x`` per slot (NaN for empty slots), all slots at once.

    ``n`` is the per-slot count of ``x``. Discrete values (survey codes) use a slots x levels
    count table built with one :func:`numpy.bincount`; the median is read off the cumulative
    counts. Otherwise the rows are sorted by (slot, value) and the middle elements of each sorted
    segment are averaged.
    """
    out = np.full(n_slots, np.nan)
    ok = n > 0
    if len(x) == 0:
        return out
    r_lo = (n[ok] - 1) // 2  # 0-based ranks of the two middle order statistics
    r_hi = n[ok] // 2
    lo, hi = float(x.min()), float(x.max())
    if np.all(x == np.floor(x)) and (hi - lo + 1) * n_slots <= _MAX_LEVEL_CELLS:
        level = (x - lo).astype(np.int64)
        n_levels = int(hi - lo) + 1
        values = lo + np.arange(n_levels, dtype=np.float64)
    else:
        values, level = np.unique(x, return_inverse=True)
        n_levels = len(values)
        if n_levels * n_slots > _MAX_LEVEL_CELLS:
            xs = x[np.lexsort((x, codes))]
            start = (np.cumsum(n) - n)[ok]
            out[ok] = 0.5 * (xs[start + r_lo] + xs[start + r_hi])
            return out
    table = np.bincount(codes * n_levels + level, minlength=n_slots * n_levels)
    cum = np.cumsum(table.reshape(n_slots, n_levels), axis=1)[ok]
    # the order statistic of rank r sits at the first level whose cumulative count exceeds r
    i_lo = (cum <= r_lo[:, None]).sum(axis=1)
    i_hi = (cum <= r_hi[:, None]).sum(axis=1)
    out[ok] = 0.5 * (values[i_lo] + values[i_hi])
    return out


def result_frame(
    groups: GroupCodes, columns: dict[str, Any], *, reserved: Sequence[str] = ()
) -> pd.DataFrame:
    """Result frame: the group label column(s) then ``columns`` (per-slot arrays, present only)."""
    clash = [g for g in groups.names if g in columns or g in reserved]
    if clash:
        raise DataError(
            f"group column name(s) {clash} clash with result columns; rename the group column"
        )
    p = groups.present
    picked: dict[str, Any] = {}
    for name, values in columns.items():
        if isinstance(values, pd.api.extensions.ExtensionArray):
            picked[name] = values[p]
            continue
        arr = np.asarray(values)
        picked[name] = arr[p] if arr.ndim and len(arr) == groups.n_slots else values
    labels = groups.labels
    if not labels.columns.is_unique:  # pragma: no cover - one column per distinct group name
        out = labels.reset_index(drop=True).copy()
        for name, values in picked.items():
            out[name] = values
        return out
    # one frame from the columns (each set into a frame one by one cost a block insert each)
    cols: dict[Any, Any] = {name: s.array for name, s in labels.items()}
    return pd.DataFrame(cols | picked, index=pd.RangeIndex(len(labels)))


def item_average(per_item: np.ndarray, n_item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per slot, the mean of an item statistic over the items with at least 2 answers.

    Returns the mean (NaN where no item has 2 answers) and that number of items ``J``.
    """
    usable = n_item >= 2
    j = usable.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(usable, per_item, 0.0).sum(axis=1) / j
    return np.where(j > 0, mean, np.nan), j


def block_frame(
    b: dict[str, Any], columns: dict[str, Any], *, n_items: np.ndarray | None = None
) -> pd.DataFrame:
    """The result of a block statistic: groups, ``n``, ``n_excluded`` (``n_items``), ``columns``, ``note``."""
    head: dict[str, Any] = {"n": b["n"], "n_excluded": b["n_excluded"]}
    if n_items is not None:
        head["n_items"] = n_items
    return result_frame(b["groups"], {**head, **columns, "note": notes(b["n"], n_items)})


def notes(n_used: np.ndarray, n_items: np.ndarray | None = None) -> np.ndarray:
    """Per-slot reason why the statistic is NaN (None where it is defined)."""
    small = n_used < 2
    if n_items is not None:
        small |= n_items == 0
    out = np.full(len(n_used), None, dtype=object)
    out[small] = _NOTE_SMALL
    out[n_used == 0] = _NOTE_EMPTY
    return out


def column_values(data: pd.DataFrame, col: str) -> np.ndarray:
    """A float64 column (no copy when it already is one; read-only use), validated."""
    s = data[col]
    if s.dtype == np.float64:
        out = s.to_numpy()
        # two reductions (NaN skipped), no boolean copy of the column
        if len(out) and (np.isinf(np.fmax.reduce(out)) or np.isinf(np.fmin.reduce(out))):
            numeric_matrix(data, [col])  # raises with the row and value
        return out
    return item_rows(data, [col])[0]

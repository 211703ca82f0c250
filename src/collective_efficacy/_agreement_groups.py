"""Group coding and per-group kernels for :mod:`collective_efficacy.agreement`.

Everything here works on all communities at once: integer group codes, :func:`numpy.bincount`
sums and (for medians) per-community count tables. No Python loop over communities and no dense
respondents x communities matrix.

Group coding (:func:`code_groups`) extends the shared :func:`~collective_efficacy._groups.
factorize_groups` with two fast paths that matter at national scale:

* an integer group column (pre-coded community ids) is used as the codes directly (offset by its
  minimum when needed), without hashing or sorting;
* a pandas ``Categorical`` group column uses its category codes.

Codes may then have *slots* without any respondent (ids that do not occur); every kernel
computes per slot and the public functions keep only the slots that occur in the group column.
Several group columns (e.g. platoon within unit) are combined into one code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._checks import numeric_matrix
from ._groups import factorize_groups
from .errors import DataError

__all__ = [
    "GroupCodes",
    "code_groups",
    "group_medians",
    "item_rows",
    "segment_stats",
]

# An integer id column is used as codes directly when its range is at most this many slots per
# row (plus a constant), so the per-slot arrays stay O(n).
_SLOTS_PER_ROW = 4
_SLOTS_CONST = 1024


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
    """

    codes: np.ndarray
    n_slots: int
    present: np.ndarray
    labels: pd.DataFrame
    rows: np.ndarray
    names: list[str]

    @property
    def n_groups(self) -> int:
        return len(self.present)


def _as_names(group: str | Sequence[str]) -> list[str]:
    if isinstance(group, str):
        return [group]
    names = list(group)
    if not names or not all(isinstance(g, str) for g in names):
        raise DataError(f"group must be a column name or a list of column names; got {group!r}")
    if len(set(names)) != len(names):
        raise DataError(f"group columns {names} contain duplicates")
    return names


def _code_one(data: pd.DataFrame, name: str) -> tuple[np.ndarray, int, np.ndarray]:
    """Codes, number of slots and the label of every slot for one group column."""
    if name not in data.columns:
        # factorize_groups raises the shared "not found" message
        factorize_groups(data, name, what="group")
    col = data[name]
    n = len(col)
    if isinstance(col.dtype, pd.CategoricalDtype):
        codes = col.cat.codes.to_numpy()
        if n and codes.min() < 0:
            factorize_groups(data, name, what="group")  # raises, naming the rows
        cats = col.cat.categories
        return codes, len(cats), np.asarray(cats, dtype=object)
    if n and pd.api.types.is_integer_dtype(col.dtype) and isinstance(col.dtype, np.dtype):
        v = col.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        limit = _SLOTS_PER_ROW * n + _SLOTS_CONST
        if 0 <= lo and hi < limit:
            return v, hi + 1, np.arange(hi + 1, dtype=v.dtype)
        if hi - lo < limit:
            return v - lo, hi - lo + 1, np.arange(lo, hi + 1, dtype=v.dtype)
    gi = factorize_groups(data, name, what="group")
    return gi.codes, gi.n_groups, np.asarray(gi.labels)


def code_groups(data: pd.DataFrame, group: str | Sequence[str]) -> GroupCodes:
    """Code the group column(s) of ``data``; missing labels raise a :class:`DataError`."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    names = _as_names(group)
    codes, n_slots, slot_labels = _code_one(data, names[0])
    slot_cols = [slot_labels]
    for name in names[1:]:
        c2, s2, l2 = _code_one(data, name)
        if n_slots * s2 > 2**62:  # pragma: no cover - absurd number of groups
            raise DataError(f"too many combinations of group columns {names}")
        codes = codes.astype(np.int64) * s2 + c2
        # label of combined slot k: (outer k // s2, inner k % s2)
        slot_cols = [("__combo__", s2, lab) for lab in slot_cols]  # type: ignore[misc]
        slot_cols.append(("__inner__", s2, l2))  # type: ignore[arg-type]
        n_slots *= s2
    rows = np.bincount(codes, minlength=n_slots) if len(codes) else np.zeros(n_slots, np.int64)
    if len(names) > 1 and n_slots > _SLOTS_PER_ROW * len(codes) + _SLOTS_CONST:
        # sparse combinations: compress to the combinations that occur (one sort of the codes)
        uniq, inv = np.unique(codes, return_inverse=True)
        label_frame = _combo_labels(names, slot_cols, uniq)
        codes = inv.astype(np.int64)
        n_slots = len(uniq)
        rows = np.bincount(codes, minlength=n_slots)
        present = np.arange(n_slots, dtype=np.int64)
        return GroupCodes(codes, n_slots, present, label_frame, rows, names)
    present = np.flatnonzero(rows > 0)
    if len(names) == 1:
        label_frame = pd.DataFrame({names[0]: slot_labels[present]})
        if pd.api.types.is_numeric_dtype(data[names[0]].dtype) and not isinstance(
            data[names[0]].dtype, pd.CategoricalDtype
        ):
            label_frame[names[0]] = label_frame[names[0]].astype(data[names[0]].dtype)
        else:
            label_frame[names[0]] = label_frame[names[0]].infer_objects()
    else:
        label_frame = _combo_labels(names, slot_cols, present)
    return GroupCodes(codes, n_slots, present, label_frame, rows, names)


def _combo_labels(names: list[str], slot_cols: list[object], slots: np.ndarray) -> pd.DataFrame:
    """Labels of combined slots: unwind the mixed-radix code into one label per column."""
    out: dict[str, object] = {}
    k = np.asarray(slots, dtype=np.int64)
    # innermost column last: peel radices from the right
    parts: list[np.ndarray] = []
    for spec in reversed(slot_cols[1:]):
        _, radix, labs = spec  # type: ignore[misc]
        parts.append(np.asarray(labs)[k % radix])
        k = k // radix
    first = slot_cols[0]
    while isinstance(first, tuple):  # the outermost labels are nested in the first entry
        first = first[2]
    parts.append(np.asarray(first)[k])
    for name, vals in zip(names, reversed(parts), strict=True):
        out[name] = pd.Series(vals, dtype=object).infer_objects()
    return pd.DataFrame(out)


def item_rows(data: pd.DataFrame, items: Sequence[str]) -> np.ndarray:
    """Float64 array of shape (n_items, n): one contiguous row per item (a copy)."""
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


def segment_stats(
    x: np.ndarray, codes: np.ndarray, n_slots: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-slot count, mean, sum of squared deviations (two-pass) and deviations of one item.

    ``x`` must not contain NaN. Returns ``(n, mean, ssd, dev)`` where ``dev = x - mean[codes]``.
    """
    n = np.bincount(codes, minlength=n_slots)
    s = np.bincount(codes, weights=x, minlength=n_slots)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / n
    dev = x - mean[codes]
    ssd = np.bincount(codes, weights=dev * dev, minlength=n_slots)
    return n, mean, ssd, dev


_MAX_LEVEL_CELLS = 50_000_000


def group_medians(x: np.ndarray, codes: np.ndarray, n_slots: int, n: np.ndarray) -> np.ndarray:
    """Median of ``x`` per slot (NaN for empty slots), all slots at once.

    Discrete values (survey codes) use a slots x levels count table built with one
    :func:`numpy.bincount`; the median is read off the cumulative counts. Otherwise the rows are
    sorted by (slot, value) and the middle elements of each sorted segment are taken.
    """
    out = np.full(n_slots, np.nan)
    if len(x) == 0:
        return out
    lo, hi = float(x.min()), float(x.max())
    levels: np.ndarray | None = None
    if np.all(x == np.floor(x)) and (hi - lo + 1) * n_slots <= _MAX_LEVEL_CELLS:
        level = (x - lo).astype(np.int64)
        n_levels = int(hi - lo) + 1
        values = lo + np.arange(n_levels, dtype=np.float64)
    else:
        values, level = np.unique(x, return_inverse=True)
        n_levels = len(values)
        if n_levels * n_slots > _MAX_LEVEL_CELLS:
            levels = None
            order = np.lexsort((x, codes))
            xs = x[order]
            start = np.concatenate(([0], np.cumsum(n)[:-1]))
            ok = n > 0
            lo_i = start[ok] + (n[ok] - 1) // 2
            hi_i = start[ok] + n[ok] // 2
            out[ok] = 0.5 * (xs[lo_i] + xs[hi_i])
            return out
    levels = level
    table = np.bincount(codes * n_levels + levels, minlength=n_slots * n_levels)
    cum = np.cumsum(table.reshape(n_slots, n_levels), axis=1)
    ok = n > 0
    # 0-based ranks of the two middle order statistics; level = first with cum > rank
    r_lo = (n[ok] - 1) // 2
    r_hi = n[ok] // 2
    c = cum[ok]
    i_lo = (c <= r_lo[:, None]).sum(axis=1)
    i_hi = (c <= r_hi[:, None]).sum(axis=1)
    out[ok] = 0.5 * (values[i_lo] + values[i_hi])
    return out

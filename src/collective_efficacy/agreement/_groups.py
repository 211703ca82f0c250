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
from collective_efficacy.agreement._null import check_scale
from collective_efficacy.errors import DataError
from collective_efficacy.prepared import memo

__all__ = [
    "GroupCodes",
    "block_frame",
    "block_stats",
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
    out = groups.labels.reset_index(drop=True)
    p = groups.present
    cols: dict[str, Any] = {}
    for name, values in columns.items():
        if isinstance(values, pd.api.extensions.ExtensionArray):
            cols[name] = values[p]
            continue
        arr = np.asarray(values)
        cols[name] = arr[p] if arr.ndim and len(arr) == groups.n_slots else values
    # the columns added at once, not one assignment each (0.1 ms apiece on a small table)
    return pd.concat([out, pd.DataFrame(cols, index=out.index)], axis=1)


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


_MAX_LEVELS = 64
_MAX_TABLE_CELLS = 50_000_000


#: rows per block of :func:`_levels_consecutive`: its float and bool temporaries stay in cache
#: (a pass over a whole column of millions of rows runs at memory speed, many times slower)
_LEVEL_ROWS = 1 << 15


def _levels_consecutive(
    x: np.ndarray, miss: np.ndarray, lo: float, n_levels: int, base: np.ndarray, lev: np.ndarray
) -> bool:
    """Level index ``x - lo`` (missing -> ``n_levels``) plus ``base`` into ``lev`` (int64, of
    ``x``'s length, reused from item to item) and whether every value is a level; computed in
    blocks of rows whose temporaries stay in cache.

    A value below or above the scale (or no value at all) returns False unless every row is
    missing (``miss.all()``), as two reductions over the whole column would decide."""
    size = min(len(x), _LEVEL_ROWS)
    r, neq = np.empty(size), np.empty(size, dtype=bool)
    hi, seen = lo + (n_levels - 1), False
    for a in range(0, len(x), _LEVEL_ROWS):
        b = min(a + _LEVEL_ROWS, len(x))
        xb, rb, lb, nb = x[a:b], r[: b - a], lev[a:b], neq[: b - a]
        low, high = np.fmin.reduce(xb), np.fmax.reduce(xb)  # NaN skipped; all-NaN gives NaN
        seen = seen or low == low
        if (low < lo or high > hi) and not bool(miss.all()):
            return False
        np.subtract(xb, lo, out=rb)
        # missing -> n_levels: fmin takes the number over NaN and every level is below it (a
        # plain pass; a masked copy is several times slower)
        np.fmin(rb, float(n_levels), out=rb)
        np.copyto(lb, rb, casting="unsafe")  # truncation, as astype
        if np.not_equal(lb, rb, out=nb).any():  # integers only
            return False
        np.add(lb, base[a:b], out=lb)
    return seen or not len(x) or bool(miss.all())


def _levels_listed(x: np.ndarray, miss: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, bool]:
    lev = np.searchsorted(values, x)
    lev[miss] = len(values)
    ok = miss | (values[np.minimum(lev, len(values) - 1)] == x)
    return lev, bool(ok.all())


def _discrete_tables(
    cols: list[np.ndarray],
    miss: list[np.ndarray],
    slot_codes: np.ndarray,
    n_slots: int,
    scale_codes: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Community x response-level count tables of every item, or None if not discrete.

    ``slot_codes`` may contain ``n_slots`` (a dummy slot for excluded rows). Returns
    ``(tables, values)`` with tables of shape (n_items, n_slots, n_levels). With known
    ``scale_codes`` a value outside the scale makes this return None (the caller then raises).
    """
    if scale_codes is not None:
        values = np.unique(scale_codes)
    else:
        present = [c for c, m in zip(cols, miss, strict=True) if not m.all()]
        if not present:
            return None
        lo = min(float(np.fmin.reduce(c)) for c in present)  # fmin/fmax skip NaN, no copy
        hi = max(float(np.fmax.reduce(c)) for c in present)
        if hi - lo + 1 > _MAX_LEVELS or lo != np.floor(lo) or hi != np.floor(hi):
            return None
        values = lo + np.arange(int(hi - lo) + 1, dtype=np.float64)
    n_levels = len(values)
    width = n_levels + 1  # one extra level for missing answers
    if n_levels > _MAX_LEVELS or len(cols) * (n_slots + 1) * width > _MAX_TABLE_CELLS:
        return None
    consecutive = bool(np.all(np.diff(values) == 1.0)) and values[0] == np.floor(values[0])
    base = slot_codes.astype(np.int64) * width
    tables = np.empty((len(cols), n_slots, n_levels))
    n = len(base)
    scratch = np.empty(n, dtype=np.int64)  # the levels of an item, reused from item to item
    for j, (x, m) in enumerate(zip(cols, miss, strict=True)):  # items (few), not communities
        if consecutive:
            lev, ok = scratch, _levels_consecutive(x, m, float(values[0]), n_levels, base, scratch)
        else:
            lev, ok = _levels_listed(x, m, values)
            np.add(lev, base, out=lev)
        if not ok:
            return None
        t = np.bincount(lev, minlength=(n_slots + 1) * width)
        tables[j] = t.reshape(n_slots + 1, width)[:n_slots, :n_levels]
    return tables, values


def _level_medians(tl: np.ndarray, values: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Medians from count tables ``tl`` (n_levels, rows) with counts ``n`` (rows); NaN where
    n == 0. The order statistic of rank r sits at the first level whose cumulative count
    exceeds r (counts: exact in any order)."""
    r_lo, r_hi = (n - 1) // 2, n // 2
    cum = np.zeros(len(n))
    i_lo = np.zeros(len(n), dtype=np.intp)
    i_hi = np.zeros(len(n), dtype=np.intp)
    for t in tl:  # loop over levels (few), vectorised over rows
        cum += t
        i_lo += cum <= r_lo
        i_hi += cum <= r_hi
    top = len(values) - 1
    med = 0.5 * (values[np.minimum(i_lo, top)] + values[np.minimum(i_hi, top)])
    return np.where(n > 0, med, np.nan)


#: (item, community) rows of the count tables per block of :func:`_table_stats`: its
#: temporaries (one value a row) stay in cache however many communities there are
_STAT_ROWS = 1 << 14


def _level_stats(
    tl: np.ndarray, values: np.ndarray, center: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Count, mean, sum of squared deviations and AD of count tables ``tl`` (n_levels, rows).

    Level by level, vectorised over the rows: each sum adds the levels left to right, the
    order in which numpy sums a row of fewer than 8 levels (the same bits as the row sums
    ``(t * dev * dev).sum(axis=1)`` on a 1-7 point scale; rounding-level otherwise), without
    the (rows x levels) temporaries of the row-wise form."""
    rows = tl.shape[1]
    n_b, total = np.zeros(rows), np.zeros(rows)
    for t, v in zip(tl, values.tolist()):  # loop over levels (few)
        n_b += t
        total += t * v
    m_b = total / n_b
    ss, ad = np.zeros(rows), np.zeros(rows) if center in ("mean", "median") else None
    med = _level_medians(tl, values, n_b) if center == "median" else None
    for t, v in zip(tl, values.tolist()):  # loop over levels (few)
        dev = np.abs(v - m_b)
        term = t * dev
        if ad is not None:
            ad += term if med is None else t * np.abs(v - med)
        term *= dev
        ss += term
    return n_b, m_b, ss, None if ad is None else ad / n_b


def _rowwise_stats(
    tl: np.ndarray, values: np.ndarray, center: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`_level_stats` by numpy row sums over a (rows, levels) block (``tl`` is its
    transpose): the results of before for scales of 8 or more levels, bit for bit."""
    t = tl.T
    n_b = t.sum(axis=1)
    m_b = (t * values).sum(axis=1) / n_b
    dev = np.abs(values - m_b[:, None])
    ad: np.ndarray | None = None
    if center == "mean":
        ad = (t * dev).sum(axis=1) / n_b
    elif center == "median":
        cum = np.cumsum(t, axis=-1)
        i_lo = np.minimum((cum <= ((n_b - 1) // 2)[:, None]).sum(axis=-1), len(values) - 1)
        i_hi = np.minimum((cum <= (n_b // 2)[:, None]).sum(axis=-1), len(values) - 1)
        med = np.where(n_b > 0, 0.5 * (values[i_lo] + values[i_hi]), np.nan)
        ad = (t * np.abs(values - med[:, None])).sum(axis=1) / n_b
    return n_b, m_b, (t * dev * dev).sum(axis=1), ad


def _table_stats(
    tables: np.ndarray, values: np.ndarray, center: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Counts, means, sums of squared deviations and (``center``) AD of every (item,
    community) count table (items x communities x levels), in blocks of rows
    (:func:`_level_stats`; each row's result does not depend on the block)."""
    p, k, n_levels = tables.shape
    flat = tables.reshape(-1, n_levels)
    n_item, means, ssd = np.empty(p * k), np.empty(p * k), np.empty(p * k)
    ad = np.empty(p * k) if center in ("mean", "median") else None
    for a in range(0, len(flat), _STAT_ROWS):  # blocks of rows, each vectorised
        rows = slice(a, a + _STAT_ROWS)
        # level by level matches numpy's row sums only below 8 levels (pairwise beyond)
        stats = _level_stats if n_levels < 8 else _rowwise_stats
        n_item[rows], means[rows], ssd[rows], ad_b = stats(flat[rows].T, values, center)
        if ad is not None:
            ad[rows] = ad_b
    shape = (p, k)
    return (
        n_item.reshape(shape), means.reshape(shape), ssd.reshape(shape),
        None if ad is None else ad.reshape(shape),
    )  # fmt: skip


def _combine(masks: list[np.ndarray], op: np.ufunc) -> np.ndarray:
    """``op`` over the masks, in place into one new mask (the first mask when there is one)."""
    if len(masks) == 1:
        return masks[0]
    out = op(masks[0], masks[1])
    for m in masks[2:]:  # loop over items (few)
        op(out, m, out=out)
    return out


def _block_rows(
    data: pd.DataFrame, items: list[str], groups: GroupCodes, nan_policy: str
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray | None, np.ndarray, np.ndarray]:
    """The item columns, their missing masks, the rows dropped (listwise; else None), the
    respondents used per slot and the slot codes with dropped rows in a dummy slot."""
    cols = [column_values(data, c) for c in items]
    miss = [np.isnan(c) for c in cols]
    codes, n_slots = groups.codes, groups.n_slots
    drop: np.ndarray | None = None
    # item by item into one mask (a reduce over the list would stack the masks first)
    if nan_policy == "listwise":
        drop = _combine(miss, np.logical_or)
        unused = drop
    else:
        unused = _combine(miss, np.logical_and)
    n_used = groups.rows - groups.count_rows(unused)
    slot_codes = codes if drop is None or not drop.any() else np.where(drop, n_slots, codes)
    return cols, miss, drop, n_used, slot_codes


def block_stats(
    data: pd.DataFrame,
    items: list[str],
    group: str | Sequence[str],
    *,
    nan_policy: str,
    scale_codes: np.ndarray | None,
    func: str,
    center: str | None = None,
) -> dict[str, Any]:
    """Per-community statistics of an item block, all communities at once.

    Returns per-slot arrays: ``n`` (respondents used), ``n_excluded``, item ``means``,
    ``variances`` (ddof=1), ``n_item`` (respondents per item), all of shape (n_slots, n_items)
    where per item, and if ``center`` is given the item ``ad`` (mean absolute deviation from the
    community mean or median).

    Discrete answers (response codes, the usual case) go through one community x level count
    table per item (an unweighted :func:`numpy.bincount`); every statistic, including medians, is
    then read off the tables. Other values use segment sums. Rows are never copied out: excluded
    answers get weight zero (or a dummy community / level in the tables).
    """
    groups = code_groups(data, group)
    block = (tuple(items), tuple(_as_names(group)), nan_policy)
    # the columns, their missing masks and the rows used: once per block on a prepared table
    # (rwg_j and ad_index of the same items share them)
    cols, miss, drop, n_used, slot_codes = memo(
        data, ("block_rows", *block), lambda: _block_rows(data, items, groups, nan_policy)
    )
    n_slots = groups.n_slots
    key = (
        "discrete_tables",
        *block,
        None if scale_codes is None else np.asarray(scale_codes, np.float64).tobytes(),
    )
    found = memo(data, key, lambda: _discrete_tables(cols, miss, slot_codes, n_slots, scale_codes))
    if found is None and scale_codes is not None:
        check_scale(np.vstack(cols), scale_codes, data, items, func=func)  # raises if off-scale
    with np.errstate(invalid="ignore", divide="ignore"):
        if found is not None:
            n_item, means, ssd, ad = _table_stats(*found, center)
            n_item = n_item.T.astype(np.int64)
            means, ssd = means.T, ssd.T
            ad = None if ad is None else np.where(n_item >= 2, ad.T, np.nan)
        else:
            means, ssd, n_item, ad = _generic_stats(groups, cols, miss, drop, center)
        variances = np.where(n_item >= 2, ssd / (n_item - 1), np.nan)
    return {
        "groups": groups,
        "n": n_used,
        "n_excluded": groups.rows - n_used,
        "means": means,
        "variances": np.maximum(variances, 0.0),
        "n_item": n_item,
        "ad": ad,
    }


def _generic_stats(
    groups: GroupCodes,
    cols: list[np.ndarray],
    miss: list[np.ndarray],
    drop: np.ndarray | None,
    center: str | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Means, sums of squared deviations, counts and AD per slot and item (any real values)."""
    codes, n_slots, p = groups.codes, groups.n_slots, len(cols)
    means = np.empty((n_slots, p))
    ssd = np.empty((n_slots, p))
    n_item = np.empty((n_slots, p), dtype=np.int64)
    ad = np.empty((n_slots, p)) if center is not None else None
    for j, (x, m) in enumerate(zip(cols, miss, strict=True)):  # items (few), not communities
        invalid = m if drop is None else (m | drop)
        valid = ~invalid
        nj = groups.rows - groups.count_rows(invalid)
        mean = groups.sum_rows(np.where(valid, x, 0.0)) / nj
        dev = np.where(valid, x - mean[codes], 0.0)
        means[:, j] = mean
        ssd[:, j] = groups.sum_rows(dev * dev)
        n_item[:, j] = nj
        if ad is not None:
            if center == "median":
                med = group_medians(x[valid], codes[valid], n_slots, nj)
                dev = np.where(valid, x - med[codes], 0.0)
            ad[:, j] = np.where(nj >= 2, groups.sum_rows(np.abs(dev)) / nj, np.nan)
    return means, ssd, n_item, ad

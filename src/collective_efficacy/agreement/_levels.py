"""Per-group statistics of a block of items for :mod:`collective_efficacy.agreement`:
:func:`block_stats` (the item means, variances, medians and deviations the rwg and AD indices
need, for every group at once).

Answers on a small discrete scale (the usual 1-5 items) are counted into one level table per
group and item (:func:`_discrete_tables`), from which every statistic follows without touching
the rows again; other answers take a per-row pass (:func:`_generic_stats`). Rows are processed
in blocks that stay in cache. No Python loop over groups and no dense respondents x groups
matrix. Group coding is in :mod:`._groups`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.agreement._groups import (
    GroupCodes,
    _as_names,
    code_groups,
    column_values,
    group_medians,
)
from collective_efficacy.agreement._null import check_scale
from collective_efficacy.prepared import memo

__all__ = ["block_stats"]


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

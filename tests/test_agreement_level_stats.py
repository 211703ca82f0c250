"""The count-table statistics of the agreement indices (level by level, vectorised over the
rows) against the previous row-wise formula: the same bits (scales of 8 or more levels keep the
row-wise sums, which numpy takes pairwise there); across block boundaries, with empty
(n = 0) and singleton tables and non-integer levels."""

from __future__ import annotations

import numpy as np
import pytest

from collective_efficacy.agreement._levels import _STAT_ROWS, _combine, _table_stats


def _old_medians(tables: np.ndarray, values: np.ndarray, n: np.ndarray) -> np.ndarray:
    cum = np.cumsum(tables, axis=-1)
    r_lo = ((n - 1) // 2)[..., None]
    r_hi = (n // 2)[..., None]
    i_lo = np.minimum((cum <= r_lo).sum(axis=-1), len(values) - 1)
    i_hi = np.minimum((cum <= r_hi).sum(axis=-1), len(values) - 1)
    return np.where(n > 0, 0.5 * (values[i_lo] + values[i_hi]), np.nan)


def _old_stats(
    tables: np.ndarray, values: np.ndarray, center: str | None
) -> tuple[np.ndarray, ...]:
    t = tables.reshape(-1, tables.shape[-1])
    n_b = t.sum(axis=1)
    m_b = (t * values).sum(axis=1) / n_b
    dev = np.abs(values - m_b[:, None])
    out = [n_b, m_b, (t * dev * dev).sum(axis=1)]
    if center == "mean":
        out.append((t * dev).sum(axis=1) / n_b)
    elif center == "median":
        med = _old_medians(t, values, n_b)
        out.append((t * np.abs(values - med[:, None])).sum(axis=1) / n_b)
    return tuple(a.reshape(tables.shape[:2]) for a in out)


def _tables(n_levels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = 2 * _STAT_ROWS + 7  # three blocks, the last one short
    t = rng.integers(0, 30, (rows, n_levels)).astype(np.float64)
    t[rng.random(t.shape) < 0.3] = 0.0
    t[:50] = 0.0  # empty tables: n = 0
    t[50:100] = 0.0
    t[50:100, rng.integers(0, n_levels, 50)] = 1.0  # singletons
    t[_STAT_ROWS - 2 : _STAT_ROWS + 2] = 3.0  # either side of a block boundary
    return t.reshape(1, rows, n_levels)


@pytest.mark.parametrize("center", [None, "mean", "median"])
@pytest.mark.parametrize("n_levels", [1, 2, 4, 5, 7, 8, 11])
@pytest.mark.parametrize("kind", ["codes", "halves"])
def test_table_stats_match_row_formula(center: str | None, n_levels: int, kind: str) -> None:
    tables = _tables(n_levels, seed=n_levels)
    values = 1.0 + np.arange(n_levels, dtype=np.float64)
    if kind == "halves":  # a listed scale of non-integer codes
        values = values * 0.5 - 0.25
    with np.errstate(invalid="ignore", divide="ignore"):
        new = _table_stats(tables, values, center)
        old = _old_stats(tables, values, center)
    got = [a for a in new if a is not None]
    assert len(got) == len(old) == (3 if center is None else 4)
    for a, b in zip(got, old, strict=True):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(new[0], old[0])  # counts and means: exact in any order
    np.testing.assert_array_equal(new[1], old[1])


@pytest.mark.parametrize("k", [1, 2, 5])
def test_combine_matches_reduce(k: int) -> None:
    rng = np.random.default_rng(k)
    masks = [rng.random(1000) < 0.2 for _ in range(k)]
    before = [m.copy() for m in masks]
    for op in (np.logical_or, np.logical_and):
        np.testing.assert_array_equal(_combine(masks, op), op.reduce(masks))
    for m, b in zip(masks, before, strict=True):  # the item masks are not modified
        np.testing.assert_array_equal(m, b)

"""group_moments / group_means (one work array, squared and NaN-zeroed in place) against the
previous formula written out with fresh temporaries: the same bits."""

from __future__ import annotations

import numpy as np
import pytest

from collective_efficacy._moments import group_means, group_moments


def _old_means(values: np.ndarray, codes: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    miss = np.isnan(values)
    if miss.any():
        ok = ~miss
        n = np.bincount(codes, weights=ok, minlength=g)
        total = np.bincount(codes, weights=np.where(ok, values, 0.0), minlength=g)
    else:
        n = np.bincount(codes, minlength=g).astype(np.float64)
        total = np.bincount(codes, weights=values, minlength=g)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, total / n


def _old_moments(values: np.ndarray, codes: np.ndarray, g: int) -> tuple[np.ndarray, ...]:
    n, mean = _old_means(values, codes, g)
    with np.errstate(invalid="ignore"):
        dev = values - mean[codes]
    sq = dev * dev
    if n.sum() < len(values):
        sq = np.where(np.isnan(sq), 0.0, sq)
    return n, mean, np.bincount(codes, weights=sq, minlength=g)


def _cases() -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(7)
    n, g = 70_000, 900  # g slots; some left empty, some singletons
    codes = rng.integers(0, g - 50, n)
    codes[:40] = np.arange(g - 50, g - 10)  # 40 singleton slots; the last 10 slots are empty
    rng.shuffle(codes)
    cont = rng.normal(1e6, 3.0, n)  # far from 0: cancellation would show
    likert = rng.integers(1, 6, n).astype(np.float64)
    nan_cont = cont.copy()
    nan_cont[rng.random(n) < 0.1] = np.nan
    nan_cont[codes == 3] = np.nan  # an all-missing group
    with_inf = likert.copy()
    with_inf[5] = np.inf  # no missing value, an infinite one: NaN stays (as before)
    return [
        ("continuous", cont, codes, g),
        ("likert", likert, codes, g),
        ("nan", nan_cont, codes, g),
        ("nan_int32_codes", nan_cont, codes.astype(np.int32), g),
        ("float32_nan", nan_cont.astype(np.float32), codes, g),
        ("int_values", rng.integers(0, 9, n), codes, g),
        ("inf", with_inf, codes, g),
        ("all_nan", np.full(50, np.nan), np.arange(50) % 4, 6),
        ("empty", np.empty(0), np.empty(0, dtype=np.intp), 3),
        ("one_row", np.array([2.5]), np.array([1]), 2),
    ]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c[0])
def test_group_moments_same_bits_as_old_formula(
    case: tuple[str, np.ndarray, np.ndarray, int],
) -> None:
    _, values, codes, g = case
    before = values.copy()
    m = group_moments(values, codes, g)
    n, mean, ss = _old_moments(values, codes, g)
    np.testing.assert_array_equal(m.n, n)
    np.testing.assert_array_equal(m.mean, mean)
    np.testing.assert_array_equal(m.ss, ss)
    assert (m.n.dtype, m.mean.dtype, m.ss.dtype) == (n.dtype, mean.dtype, ss.dtype)
    np.testing.assert_array_equal(values, before)  # the input is not modified
    n2, mean2 = group_means(values, codes, g)
    n_old, mean_old = _old_means(values, codes, g)
    np.testing.assert_array_equal(n2, n_old)
    np.testing.assert_array_equal(mean2, mean_old)

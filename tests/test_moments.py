"""The library's one implementation of per-group moments (``collective_efficacy._moments``).

Reference: pandas (``groupby(...).agg(["count", "mean", "var"])`` and, per group,
``DataFrame.cov()``, which is R's ``cov(x, use = "pairwise")``: each covariance over the rows
answering both items). Tolerance: 1e-12 relative (the same sums in another order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collective_efficacy._moments import (
    column_means,
    group_counts,
    group_moments,
    group_sums,
    pairwise_moments,
)

TOL = 1e-12


def _data(n: int, g: int, k: int, missing: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, g, n)
    x = np.clip(np.rint(3 + rng.normal(0, 1, (g, 1))[codes] + rng.normal(0, 1, (n, k))), 1, 5)
    x[rng.random(x.shape) < missing] = np.nan
    return x, codes.astype(np.int64)


@pytest.mark.parametrize("missing", [0.0, 0.15])
def test_group_moments_match_pandas(missing: float) -> None:
    x, codes = _data(3000, 40, 1, missing, 1)
    y = x[:, 0] + 1000.0  # a large mean: the two-pass sums must not cancel
    mom = group_moments(y, codes, 42)  # two empty groups at the end
    ref = pd.Series(y).groupby(codes).agg(["count", "mean", "var"]).reindex(range(42))
    np.testing.assert_array_equal(mom.n, ref["count"].fillna(0).to_numpy())
    np.testing.assert_allclose(mom.mean, ref["mean"], rtol=TOL, equal_nan=True)
    np.testing.assert_allclose(mom.var, ref["var"], rtol=1e-9, equal_nan=True)
    assert np.isnan(mom.mean[-2:]).all() and np.isnan(mom.sd[-2:]).all()


def test_counts_and_sums_match_pandas() -> None:
    x, codes = _data(2000, 30, 1, 0.0, 2)
    order = np.argsort(codes, kind="stable")
    sc, v = codes[order], x[order, 0]
    starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]])
    ref = pd.Series(v).groupby(sc).sum().to_numpy()
    np.testing.assert_allclose(group_sums(v, sc, 30), ref, rtol=TOL)
    np.testing.assert_allclose(group_sums(v, sc, 30, segments=(starts, sc[starts])), ref, rtol=TOL)
    mask = v > 3
    np.testing.assert_array_equal(
        group_counts(sc, 30, mask), pd.Series(mask).groupby(sc).sum().to_numpy()
    )


def test_column_means_match_pandas() -> None:
    x, codes = _data(2000, 25, 4, 0.1, 3)
    counts, means = column_means(x, codes, 25)
    ref = pd.DataFrame(x).groupby(codes)
    np.testing.assert_array_equal(counts, ref.count().to_numpy())
    np.testing.assert_allclose(means, ref.mean().to_numpy(), rtol=TOL)


@pytest.mark.parametrize(("k", "missing"), [(5, 0.0), (5, 0.1), (10, 0.3), (3, 0.05)])
def test_pairwise_moments_match_pandas_cov(k: int, missing: float) -> None:
    """Every answer-pattern path (few patterns: tables; many patterns, k = 10 with 30 %
    missing: row products; complete data) gives pandas' pairwise-complete covariances."""
    x, codes = _data(4000, 35, k, missing, k)
    mom = pairwise_moments(x, codes, 35)
    frame = pd.DataFrame(x)
    for g in range(35):
        sub = frame[codes == g]
        ref = sub.cov(min_periods=2).to_numpy()
        np.testing.assert_allclose(mom.cov[g], ref, rtol=1e-10, atol=1e-12, equal_nan=True)
        both = sub.notna().astype(float)
        np.testing.assert_array_equal(mom.n_pair[g], (both.T @ both).to_numpy())
        assert mom.n_rows[g] == int(sub.notna().any(axis=1).sum())


def test_pairwise_moments_one_group_alone_same_bits() -> None:
    """A group's moments do not depend on the other groups (cronbach_alpha per community and
    on each community alone agree to the last bit, also on ill-conditioned matrices)."""
    x, codes = _data(600, 12, 5, 0.2, 9)
    grouped = pairwise_moments(x, codes, 12)
    for g in range(12):
        alone = pairwise_moments(x[codes == g], np.zeros(int((codes == g).sum()), np.int64), 1)
        np.testing.assert_array_equal(alone.cov[0], grouped.cov[g])

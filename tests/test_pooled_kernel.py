"""The pooled item-moment kernel (``reliability._pooled``) against its definition.

``_chunk_products`` sums ``[Z, 1]'[Z, 1]`` over all rows and ``[Z, Z o Z, M]'M`` over the rows
missing an answer only, and recovers ``A = Z'O``, ``Q = (Z o Z)'O`` and ``N = O'O`` from them.
References:

* for whole-number answers (Likert codes), the definition, pair by pair (the test loops over pairs; the library does not): over the rows
  answering both columns, the two-pass covariance, Pearson correlation (NaN when fewer than 2
  rows or a column constant there, as pandas' ``DataFrame.corr``), available-case means and
  each item's correlation with the row score (the mean of a row's answers);
* for any values, the previous kernel (one ``W'W`` of ``W = [Z o Z, Z, O]`` per chunk, kept
  here as the reference): the same S, A, N, Q about the same shift;
* beyond the per-community kernel's size, the definition's covariances too.

Tolerances: pair counts exactly equal (integer sums); everything else 1e-12 relative, with an
absolute 1e-12 x the scale of the sums for values that are zero in exact arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective_efficacy.reliability import _pooled

TOL = 1e-12


def _old_products(x: np.ndarray, chunk: int) -> tuple[np.ndarray, ...]:
    """The previous kernel: per chunk one symmetric product of ``W = [Z o Z, Z, O]``."""
    n, k = x.shape
    kk = k + 1
    g = np.zeros((3 * kk, 3 * kk))
    shift = None
    for lo in range(0, n, chunk):
        xc = x[lo : lo + chunk]
        obs = ~np.isnan(xc)
        n_ans = obs.sum(axis=1)
        some = n_ans > 0
        w = np.empty((len(xc), 3 * kk), order="F")
        z, o = w[:, kk : 2 * kk], w[:, 2 * kk :]
        z[:, :k] = np.where(obs, xc, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z[:, k] = np.where(some, z[:, :k].sum(axis=1) / n_ans, 0.0)
        o[:, :k] = obs
        o[:, k] = some
        if shift is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                shift = np.nan_to_num(z.sum(axis=0) / o.sum(axis=0))
        z -= shift
        z *= o
        np.multiply(z, z, out=w[:, :kk])
        g += w.T @ w
    assert shift is not None
    s, a = g[kk : 2 * kk, kk : 2 * kk], g[kk : 2 * kk, 2 * kk :]
    return shift, s, a, g[2 * kk :, 2 * kk :], g[:kk, 2 * kk :]


def _definition(x: np.ndarray) -> dict[str, np.ndarray]:
    """Pair by pair, two-pass, over the rows answering both (items then the score)."""
    k = x.shape[1]
    obs = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(obs.any(axis=1), np.nansum(x, axis=1) / obs.sum(axis=1), np.nan)
    cols = np.column_stack([x, score])
    kk = k + 1
    cov, corr, npair = (np.full((kk, kk), np.nan) for _ in range(3))
    for i in range(kk):  # the test loops over pairs
        for j in range(kk):
            both = ~np.isnan(cols[:, i]) & ~np.isnan(cols[:, j])
            a, b = cols[both, i], cols[both, j]
            npair[i, j] = both.sum()
            if len(a) < 2:
                continue
            da, db = a - a.mean(), b - b.mean()
            cov[i, j] = (da * db).sum() / (len(a) - 1)
            if np.ptp(a) > 0 and np.ptp(b) > 0:
                corr[i, j] = (da * db).sum() / np.sqrt((da * da).sum() * (db * db).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(cols, axis=0) / (~np.isnan(cols)).sum(axis=0)
    return {"cov": cov, "corr": corr, "npair": npair, "mean": mean}


@st.composite
def matrices(draw: st.DrawFn) -> np.ndarray:
    """Item matrices: Likert codes or real values, missing cells, empty rows, columns
    constant over some rows, a first chunk unlike the rest."""
    n = draw(st.integers(3, 120))
    k = draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    whole = draw(st.booleans())
    trait = rng.normal(3.0, 1.0, (n, 1))
    x = trait + rng.normal(0.0, 0.8, (n, k))
    unit = 1.0 if whole else draw(st.sampled_from([1.0, 1e-3, 1e3]))
    x = np.clip(np.rint(x), 1, 5) if whole else x * unit
    x[: n // 4] += unit * draw(st.sampled_from([0.0, 2.0]))  # the shift: off the means
    if draw(st.booleans()):  # a column constant where another is answered
        x[:, draw(st.integers(0, k - 1))] = 3.0
    x[rng.random((n, k)) < draw(st.sampled_from([0.0, 0.05, 0.3, 0.6]))] = np.nan
    x[rng.random(n) < draw(st.sampled_from([0.0, 0.1]))] = np.nan  # rows answering nothing
    return x


def _close(got: np.ndarray, want: np.ndarray, scale: float) -> None:
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=TOL, atol=TOL * scale)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=matrices(), chunk=st.integers(1, 40))
def test_pooled_kernel_equals_definition(x: np.ndarray, chunk: int) -> None:
    old_chunk = _pooled._CHUNK
    _pooled._CHUNK = chunk  # many chunks, incomplete and complete ones
    try:
        shift, s, a, npair, q = _pooled._chunk_products(x)
        m = _pooled.item_moments(x)
    finally:
        _pooled._CHUNK = old_chunk
    ref = _definition(x)
    k = x.shape[1]
    np.testing.assert_array_equal(npair, ref["npair"])
    scale = float(np.nanmax(np.abs(x)) ** 2) if np.isfinite(x).any() else 1.0
    if np.array_equal(x[~np.isnan(x)], np.rint(x[~np.isnan(x)])):
        # whole-number answers (the kernel's use): distinct answers differ by 1 or more, so
        # the shifted sums are well conditioned; for real values two close answers in a pair
        # of rows can lose digits in any one-pass method (checked against the old kernel)
        _close(m.corr, ref["corr"][:k, :k], 1.0)
        _close(m.r_total, ref["corr"][k, :k], 1.0)
        _close(m.mean, ref["mean"][:k], np.sqrt(scale))
    # the previous kernel about the same shift: the same sums
    old = _old_products(x, chunk)
    np.testing.assert_array_equal(shift, old[0])
    big = scale * len(x)
    for new_sum, old_sum in zip((s, a, npair, q), old[1:]):
        np.testing.assert_allclose(new_sum, old_sum, rtol=TOL, atol=TOL * big)


@pytest.mark.parametrize("chunk", [64, 1 << 13])
def test_pooled_kernel_large_against_definition(chunk: int, monkeypatch) -> None:
    """Beyond the per-community kernel's size (covariances from the pooled sums)."""
    monkeypatch.setattr(_pooled, "_CHUNK", chunk)
    rng = np.random.default_rng(16)
    x = np.clip(np.rint(rng.normal(3.0, 1.0, (60_000, 1)) + rng.normal(0, 0.8, (60_000, 4))), 1, 5)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[:500] = np.nan  # empty rows in the first chunk
    m = _pooled.item_moments(x)
    ref = _definition(x)
    np.testing.assert_allclose(m.pairwise.cov[0], ref["cov"][:4, :4], rtol=TOL)
    np.testing.assert_allclose(m.corr, ref["corr"][:4, :4], rtol=TOL)
    np.testing.assert_allclose(m.r_total, ref["corr"][4, :4], rtol=TOL)
    np.testing.assert_array_equal(m.pairwise.n_pair[0], ref["npair"][:4, :4])
    score = m.pairwise.score
    assert score is not None
    np.testing.assert_allclose(score.mean, ref["mean"][4:], rtol=TOL)
    np.testing.assert_allclose(score.var, ref["cov"][4:, 4], rtol=TOL)

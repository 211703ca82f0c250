"""Private kernels of the reliability functions against their definitions.

``smc_stack`` is ``psych::smc``: ``1 - 1 / diag(Pinv(R))`` with psych's ``Pinv`` (singular values
below ``sqrt(eps)`` times the largest dropped), clipped to [0, 1]. Reference: numpy's
``pinv(R, rcond=sqrt(eps), hermitian=True)`` matrix by matrix. Tolerance 1e-12 (the fast path
inverts well-conditioned matrices with ``inv``, equal to the pseudo-inverse up to rounding).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.reliability._core import smc_stack

RTOL = float(np.sqrt(np.finfo(np.float64).eps))


def _reference(r: np.ndarray) -> np.ndarray:
    out = []
    for m in r:  # the test loops; the library does not
        d = np.diag(np.linalg.pinv(m, rcond=RTOL, hermitian=True))
        with np.errstate(divide="ignore"):
            out.append(np.clip(1.0 - 1.0 / d, 0.0, 1.0))
    return np.array(out)


def _corr(rng: np.random.Generator, k: int) -> np.ndarray:
    a = rng.normal(size=(3 * k, k)) + rng.normal(size=(3 * k, 1))
    return np.corrcoef(a, rowvar=False)


def test_smc_well_conditioned_stack() -> None:
    rng = np.random.default_rng(4)
    r = np.stack([_corr(rng, 5) for _ in range(50)])
    np.testing.assert_allclose(smc_stack(r), _reference(r), rtol=1e-12, atol=1e-12)


def test_smc_stack_with_singular_and_indefinite_matrices() -> None:
    rng = np.random.default_rng(5)
    good = [_corr(rng, 4) for _ in range(5)]
    singular = np.ones((4, 4))  # rank one: Pinv drops three singular values
    indefinite = np.array(
        [[1.0, 0.9, -0.9, 0.0], [0.9, 1.0, 0.9, 0.0], [-0.9, 0.9, 1.0, 0.0], [0, 0, 0, 1.0]]
    )
    r = np.stack([*good, singular, indefinite])
    np.testing.assert_allclose(smc_stack(r), _reference(r), rtol=1e-12, atol=1e-12)


# --- fast moment paths against the straightforward computation (tolerance 1e-12) ---------
#
# ``item_moments`` (one pass about a shift, BLAS products) against pandas' pairwise-complete
# ``cov``/``corr`` (R's use="pairwise"), ``nanmean`` and the Pearson correlation of each item
# with the row score over the rows answering it; the cache-blocked per-community kernel
# (several blocks forced) against pandas per community and ``group_moments`` of the score.


def _items(rng: np.random.Generator, n: int, k: int, missing: float) -> np.ndarray:
    trait = rng.normal(3.0, 1.0, (n, 1))
    x = np.clip(np.rint(trait + rng.normal(0.0, 0.8, (n, k))), 1, 5)
    x[rng.random((n, k)) < missing] = np.nan
    x[rng.random(n) < missing / 2] = np.nan  # some rows answer nothing
    return x


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    m = ~(np.isnan(a) | np.isnan(b))
    aa, bb = a[m] - a[m].mean(), b[m] - b[m].mean()
    return float((aa * bb).sum() / np.sqrt((aa * aa).sum() * (bb * bb).sum()))


@pytest.mark.parametrize(("n", "missing"), [(3000, 0.0), (3000, 0.15), (200_000, 0.1)])
def test_item_moments_equal_straightforward(n: int, missing: float, monkeypatch) -> None:
    import pandas as pd

    from collective_efficacy.reliability import _pooled

    monkeypatch.setattr(_pooled, "_CHUNK", 1024)  # many chunks, a shift far from some means
    x = _items(np.random.default_rng(n), n, 5, missing)
    x[:1024] += 0.5  # the first chunk (the shift) unrepresentative of the rest
    m = _pooled.item_moments(x)
    frame = pd.DataFrame(x)
    np.testing.assert_allclose(m.pairwise.cov[0], frame.cov(min_periods=2), rtol=1e-12)
    np.testing.assert_allclose(m.corr, frame.corr(min_periods=2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(m.mean, np.nanmean(x, axis=0), rtol=1e-12)
    obs = ~np.isnan(x)
    np.testing.assert_array_equal(m.pairwise.n_pair[0], obs.T.astype(float) @ obs)
    assert m.pairwise.n_rows[0] == obs.any(axis=1).sum()
    with np.errstate(invalid="ignore"):
        score = np.nansum(x, axis=1) / obs.sum(axis=1)
    ref_r = [_pearson(score, x[:, j]) for j in range(5)]
    np.testing.assert_allclose(m.r_total, ref_r, rtol=1e-12)
    sc = m.pairwise.score
    assert sc is not None
    np.testing.assert_allclose(sc.mean, [np.nanmean(score)], rtol=1e-12)
    np.testing.assert_allclose(sc.sd, [np.nanstd(score, ddof=1)], rtol=1e-12)


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_blocked_group_kernel_equals_straightforward(missing: float, monkeypatch) -> None:
    import pandas as pd

    from collective_efficacy import _moments

    monkeypatch.setattr(_moments, "_BLOCK_ROWS", 512)  # 8 x groups = 320 < 512: many blocks
    rng = np.random.default_rng(7)
    x = _items(rng, 6000, 4, missing)
    codes = rng.integers(0, 40, 6000)
    mom = _moments.pairwise_moments(x, codes, 40, score=True)
    frame = pd.DataFrame(x)
    with np.errstate(invalid="ignore"):
        score = np.nansum(x, axis=1) / (~np.isnan(x)).sum(axis=1)
    ref = _moments.group_moments(score, codes, 40)
    assert mom.score is not None
    np.testing.assert_allclose(mom.score.mean, ref.mean, rtol=1e-12)
    np.testing.assert_allclose(mom.score.ss, ref.ss, rtol=1e-12)
    for g in range(40):  # the test loops; the library does not
        sub = frame[codes == g]
        np.testing.assert_allclose(mom.cov[g], sub.cov(min_periods=2), rtol=1e-12, atol=1e-13)
        both = sub.notna().astype(float)
        np.testing.assert_array_equal(mom.n_pair[g], both.T @ both)
        assert mom.n_rows[g] == sub.notna().any(axis=1).sum()


def test_constant_pair_gives_an_undefined_correlation_as_pandas() -> None:
    """A pair in which one item is constant over the rows answering both: pandas' .corr gives
    NaN, so must the shared moments (they gave -inf, and omega's eigen-solver then failed)."""
    nan = np.nan
    x = np.array(
        [
            [3, 3, nan, nan],
            [3, nan, 3, 3],
            [4, 3, 3, 3],
            [nan, 3, 3, 3],
            [3, nan, 4, nan],
            [nan, 4, 1, 2],
            [2, 2, 4, 3],
            [1, 2, 3, 3.0],
        ]
    )
    expected = pd.DataFrame(x).corr(min_periods=2).to_numpy()
    from collective_efficacy.reliability import _pooled

    got = _pooled.item_moments(x).corr
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got[~np.isnan(got)], expected[~np.isnan(expected)], rtol=1e-12)
    df = pd.DataFrame(x, columns=["SC1", "SC2", "SC3", "SC4"])
    with pytest.raises(ce.DataError, match="'SC1' and 'SC4' is undefined"):
        ce.omega(df, keys=["-SC3"])


def test_median_rows_equals_numpy_median() -> None:
    """The sort-based row median of ``alpha_stats`` is ``np.median(axis=1)`` bit for bit
    (the same middle values, the same mean of the two), odd and even row lengths."""
    from collective_efficacy.reliability._core import _median_rows

    rng = np.random.default_rng(16)
    for m in range(1, 12):  # the test loops over lengths
        v = rng.normal(size=(500, m))
        v[::7, : m // 2] = 0.25  # ties
        np.testing.assert_array_equal(_median_rows(v), np.median(v, axis=1))

"""The per-group moment kernel (issue 16: fewer passes, missing-answer terms summed once per
many blocks) against the kernel it replaced (tests/reference_moments.py, verbatim): every
output equal to 1e-12 relative to the output's scale, on data with and without missing answers,
many and few groups, row orders and column layouts, several blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference_moments as ref
from collective_efficacy import _moments, _moments_int

TOL = 1e-12  # relative to the largest magnitude of each output (sums in another order)


def _compare(x: np.ndarray, codes: np.ndarray, g: int, score: bool) -> None:
    complete = not np.isnan(x).any()
    new = _moments._grouped_products(x, codes, g, complete, score)
    old = ref._grouped_products(x, codes, g, complete, score)
    assert len(new) == len(old)
    for a, b in zip(new, old):
        assert a.shape == b.shape
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        scale = max(float(np.nanmax(np.abs(b), initial=0.0)), 1e-300)
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL * scale, equal_nan=True)


@pytest.mark.parametrize(
    ("n", "g", "k", "missing"),
    [
        (1000, 30, 5, 0.1),
        (5000, 200, 4, 0.0),
        (20000, 7000, 3, 0.2),  # groups of ~3 rows, many empty
        (150000, 300, 6, 0.3),  # several blocks
        (3, 5, 2, 0.5),
        (100, 10, 3, 0.9),  # rows without any answer
    ],
)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_kernel_equals_previous_kernel(n: int, g: int, k: int, missing: float, layout: str) -> None:
    rng = np.random.default_rng(n + g)
    x = rng.integers(1, 6, (n, k)).astype(float) + rng.normal(0, 0.01, (n, k))
    x[rng.random((n, k)) < missing] = np.nan
    x = np.asarray(x, order=layout)
    codes = rng.integers(0, g, n)
    _compare(x, codes, g, score=True)
    _compare(x, np.sort(codes), g, score=False)


def test_missing_terms_over_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terms summed block by block (many small blocks) give the same sums."""
    monkeypatch.setattr(_moments, "_BLOCK_ROWS", 512)
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, (6000, 4)).astype(float)
    x[rng.random(x.shape) < 0.15] = np.nan
    _compare(x, rng.integers(0, 40, 6000), 40, score=True)


# ---- the exact packed kernel for whole-number answers (_moments_int) ----------------------


def _float_kernel(
    monkeypatch: pytest.MonkeyPatch, x: np.ndarray, codes: np.ndarray, g: int
) -> _moments.PairwiseMoments:
    """``pairwise_moments`` with the packed path switched off (the float kernel)."""
    with monkeypatch.context() as mp:
        mp.setattr(_moments_int, "integer_pairwise_moments", lambda *a, **k: None)
        return _moments.pairwise_moments(x, codes, g, score=True)


def _compare_exact(new: _moments.PairwiseMoments, old: _moments.PairwiseMoments) -> None:
    """Every output equal to 1e-12 relative to the output's scale (the packed sums are exact
    integers; the float kernel's centred sums round in another order)."""
    assert new.score is not None and old.score is not None
    pairs = [
        (new.cov, old.cov),
        (new.n_pair, old.n_pair),
        (new.n_rows, old.n_rows),
        (new.score.n, old.score.n),
        (new.score.mean, old.score.mean),
        (new.score.ss, old.score.ss),
    ]
    for a, b in pairs:
        assert a.shape == b.shape
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        scale = max(float(np.nanmax(np.abs(b), initial=0.0)), 1e-300)
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL * scale, equal_nan=True)


@pytest.mark.parametrize(
    ("n", "g", "k", "missing", "lo", "hi"),
    [
        (1000, 30, 5, 0.1, 1, 5),
        (5000, 200, 4, 0.0, 1, 5),
        (20000, 7000, 3, 0.2, 0, 10),  # groups of ~3 rows, many empty
        (150000, 300, 6, 0.3, 1, 7),  # several blocks
        (3, 5, 2, 0.5, 1, 5),
        (100, 10, 3, 0.9, -2, 2),  # rows without any answer; negative codes
        (2000, 1, 8, 0.05, 1, 5),  # one group, 8 items (score times lcm(1..8) = 840)
        (4000, 50, 5, 0.05, 1, 1),  # constant answers: every covariance 0
    ],
)
def test_packed_kernel_equals_float_kernel(
    monkeypatch: pytest.MonkeyPatch, n: int, g: int, k: int, missing: float, lo: int, hi: int
) -> None:
    rng = np.random.default_rng(n + g + k)
    x = rng.integers(lo, hi + 1, (n, k)).astype(float)
    x[rng.random((n, k)) < missing] = np.nan
    codes = rng.integers(0, g, n)
    new = _moments_int.integer_pairwise_moments(x, codes, g, score=True)
    assert new is not None  # whole numbers: the packed path is taken
    _compare_exact(new, _float_kernel(monkeypatch, x, codes, g))
    # and pairwise_moments (the public kernel) takes it
    pm = _moments.pairwise_moments(x, codes, g, score=True)
    np.testing.assert_array_equal(pm.cov, new.cov)


def test_packed_kernel_against_pandas_pairwise_cov() -> None:
    """Per group, pandas ``DataFrame.cov`` (pairwise-complete, R's ``use = "pairwise"``) to
    1e-12 relative; pandas ``mean``/``var`` of the row means for the score."""
    rng = np.random.default_rng(5)
    n, g, k = 600, 7, 4
    x = rng.integers(1, 6, (n, k)).astype(float)
    x[rng.random((n, k)) < 0.2] = np.nan
    codes = rng.integers(0, g, n)
    pm = _moments_int.integer_pairwise_moments(x, codes, g, score=True)
    assert pm is not None and pm.score is not None
    frame = pd.DataFrame(x)
    for grp in range(g):  # test-side loop over a few groups
        sub = frame[codes == grp]
        np.testing.assert_allclose(pm.cov[grp], sub.cov().to_numpy(), rtol=1e-12)
        row_mean = sub.mean(axis=1).dropna()
        assert pm.score.n[grp] == len(row_mean)
        np.testing.assert_allclose(pm.score.mean[grp], row_mean.mean(), rtol=1e-12)
        np.testing.assert_allclose(pm.score.var[grp], row_mean.var(), rtol=1e-12)


@pytest.mark.parametrize(
    "change",
    [
        lambda x: x + 0.5,  # not whole numbers
        lambda x: np.where(x == 3, 3.25, x),  # one non-whole answer among whole ones
        lambda x: x * 1000.0,  # range over 255
        lambda x: np.where(x == 2, np.inf, x),  # infinite
        lambda x: np.full_like(x, np.nan),  # no answer at all
    ],
)
def test_packed_kernel_declines(monkeypatch: pytest.MonkeyPatch, change: object) -> None:
    """Data that is not whole numbers in a small range returns None; ``pairwise_moments``
    then gives the float kernel's result unchanged."""
    rng = np.random.default_rng(8)
    x = rng.integers(1, 6, (300, 3)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    x = change(x)  # type: ignore[operator]
    codes = rng.integers(0, 9, 300)
    assert _moments_int.integer_pairwise_moments(x, codes, 9, score=True) is None
    with np.errstate(all="ignore"):  # the float kernel on inf: overflow, as before
        new, old = (
            _moments.pairwise_moments(x, codes, 9, score=True),
            _float_kernel(monkeypatch, x, codes, 9),
        )
    np.testing.assert_array_equal(new.cov, old.cov)


def test_packed_field_widths_never_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worst case for the bit fields: every answer at the top of the range in one large group
    (each product field at 8000 * 4^2 = 128,000, just under its 17-bit bound 131,071, three
    fields a weight), summed over several blocks; the packed totals unpack exactly."""
    monkeypatch.setattr(_moments, "_BLOCK_ROWS", 1024)
    n, k = 8010, 5
    x = np.full((n, k), 5.0)
    x[-10:] = 1.0  # the range's bottom, in a small second group
    x[-3:, 2] = np.nan
    codes = np.zeros(n, dtype=np.int64)
    codes[-10:] = 1
    packer = _moments_int._Packer(k, 8000, 4)
    assert packer.row_bits[0][0] == 17 and max(len(f) for p in packer.rows for f in p) == 3
    new = _moments_int.integer_pairwise_moments(x, codes, 2, score=True)
    assert new is not None
    _compare_exact(new, _float_kernel(monkeypatch, x, codes, 2))
    np.testing.assert_array_equal(new.cov[0], 0.0)  # exactly: constant answers


@st.composite
def _likert(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    n = draw(st.integers(1, 60))
    k = draw(st.integers(1, 6))
    g = draw(st.integers(1, 8))
    lo = draw(st.integers(-3, 3))
    r = draw(st.integers(0, 9))
    cells = draw(
        st.lists(st.one_of(st.none(), st.integers(lo, lo + r)), min_size=n * k, max_size=n * k)
    )
    x = np.array([np.nan if c is None else float(c) for c in cells]).reshape(n, k)
    codes = np.array(draw(st.lists(st.integers(0, g - 1), min_size=n, max_size=n)))
    return x, codes, g


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_likert())
def test_packed_kernel_hypothesis(
    monkeypatch: pytest.MonkeyPatch, case: tuple[np.ndarray, np.ndarray, int]
) -> None:
    x, codes, g = case
    new = _moments_int.integer_pairwise_moments(x, codes, g, score=True)
    if np.isnan(x).all():
        assert new is None
        return
    assert new is not None
    with np.errstate(invalid="ignore"):
        _compare_exact(new, _float_kernel(monkeypatch, x, codes, g))

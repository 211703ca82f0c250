"""The pattern path of the exact moment kernel (issue 16: per-community alpha) against the
kernels it stands beside.

``_moments_int`` codes each row's whole-number answers as one table index and sums packed
per-pattern statistics. It must give the very integers of the packed sweep (so the results are
bitwise equal) and, like it, the float kernel's moments to 1e-12 relative to each output's
scale; per community, ``cronbach_alpha`` must equal pandas' pairwise covariances put through
the alpha formula (rtol 1e-12). Data: missing cells, shuffled groups, singleton groups, groups
in which an item is never answered, rows without any answer, negative and far-off codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy import _moments, _moments_int

TOL = 1e-12


def _data(
    rng: np.random.Generator, n: int, g: int, k: int, lo: int, hi: int, missing: float
) -> tuple[np.ndarray, np.ndarray]:
    """Answers with missing cells; codes in random order with singleton groups and groups
    whose first item is never answered."""
    x = rng.integers(lo, hi + 1, (n, k)).astype(float)
    x[rng.random((n, k)) < missing] = np.nan
    x[rng.random(n) < missing / 3] = np.nan  # rows without an answer
    codes = rng.integers(0, g, n)
    codes[: g // 10] = np.arange(g - g // 10, g)  # the last tenth of the groups: one row each
    codes = codes[rng.permutation(n)]
    x[np.isin(codes, np.arange(0, g, 7)), 0] = np.nan  # every 7th group: item 0 unanswered
    return x, codes


def _sweep(monkeypatch: pytest.MonkeyPatch, x: np.ndarray, codes: np.ndarray, g: int) -> object:
    """The packed sweep (the pattern path switched off)."""
    with monkeypatch.context() as mp:
        mp.setattr(_moments_int, "_MAX_PATTERNS", 0)
        return _moments_int.integer_pairwise_moments(x, codes, g, score=True)


def _float(monkeypatch: pytest.MonkeyPatch, x: np.ndarray, codes: np.ndarray, g: int) -> object:
    """The float kernel (the whole-number paths switched off)."""
    with monkeypatch.context() as mp:
        mp.setattr(_moments_int, "integer_pairwise_moments", lambda *a, **kw: None)
        return _moments.pairwise_moments(x, codes, g, score=True)


def _fields(pm: _moments.PairwiseMoments) -> list[np.ndarray]:
    assert pm.score is not None
    return [pm.cov, pm.n_pair, pm.n_rows, pm.score.n, pm.score.mean, pm.score.ss]


@pytest.mark.parametrize(
    ("n", "g", "k", "lo", "hi", "missing"),
    [
        (20_000, 500, 5, 1, 5, 0.05),  # the benchmark's shape, small
        (5_000, 1_500, 4, 1, 5, 0.3),  # groups of ~3 rows
        (3_000, 40, 3, -3, 4, 0.2),  # negative codes
        (2_000, 30, 2, 0, 20, 0.1),
        (1_000, 20, 5, 1, 5, 0.0),  # no missing cell: the second pass is empty
        (500, 10, 3, 2, 2, 0.1),  # one code only: every covariance 0
        (300, 50, 4, 1, 5, 0.95),  # almost nothing answered
    ],
)
def test_pattern_path_equals_sweep_and_float_kernel(
    monkeypatch: pytest.MonkeyPatch, n: int, g: int, k: int, lo: int, hi: int, missing: float
) -> None:
    rng = np.random.default_rng(n + k + hi)
    x, codes = _data(rng, n, g, k, lo, hi, missing)
    assert (hi - lo + 2) ** k <= _moments_int._MAX_PATTERNS  # the pattern path is taken
    new = _moments_int.integer_pairwise_moments(x, codes, g, score=True)
    sweep = _sweep(monkeypatch, x, codes, g)
    flt = _float(monkeypatch, x, codes, g)
    assert isinstance(new, _moments.PairwiseMoments)
    assert isinstance(sweep, _moments.PairwiseMoments) and isinstance(flt, _moments.PairwiseMoments)
    for a, b, c in zip(_fields(new), _fields(sweep), _fields(flt)):
        np.testing.assert_array_equal(a, b)  # the same integers, the same rounding
        assert a.flags.c_contiguous == b.flags.c_contiguous  # and the same memory order
        np.testing.assert_array_equal(np.isnan(a), np.isnan(c))
        scale = max(float(np.nanmax(np.abs(c), initial=0.0)), 1e-300)
        np.testing.assert_allclose(a, c, rtol=0, atol=TOL * scale, equal_nan=True)


def test_pattern_path_far_off_codes_and_layouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Codes far from 0 (answers shifted before coding: the pattern sums stay exact) and a
    C-ordered matrix give the sweep's results."""
    rng = np.random.default_rng(11)
    x, codes = _data(rng, 4_000, 60, 4, 1, 5, 0.1)
    for y in (x + 2.0**51, np.ascontiguousarray(x), np.asfortranarray(x)):
        new = _moments_int.integer_pairwise_moments(y, codes, 60, score=True)
        old = _sweep(monkeypatch, y, codes, 60)
        assert isinstance(new, _moments.PairwiseMoments) and isinstance(
            old, _moments.PairwiseMoments
        )
        for a, b in zip(_fields(new), _fields(old)):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [3.5, 1e-9, -0.25])
def test_pattern_path_declines_a_fraction(bad: float) -> None:
    """One answer that is not a whole number (in the last row block) sends the data to the
    float kernel."""
    rng = np.random.default_rng(2)
    x, codes = _data(rng, 40_000, 100, 5, 1, 5, 0.05)
    x[-1, 2] = 3.0 + bad
    assert _moments_int.integer_pairwise_moments(x, codes, 100, score=True) is None


def _alpha_reference(frame: pd.DataFrame, items: list[str]) -> pd.Series:
    """Alpha per community from pandas' pairwise-complete covariances (a loop over groups,
    in the test only): ``k / (k - 1) (1 - tr C / 1'C1)``, NaN when C has a NaN or a
    non-positive variance."""
    k = len(items)
    out = {}
    for name, sub in frame.groupby("nbh", sort=True):
        cov = sub[items].cov().to_numpy()
        ok = np.isfinite(cov).all() and (np.diag(cov) > 0).all()
        out[name] = k / (k - 1) * (1 - np.trace(cov) / cov.sum()) if ok else np.nan
    return pd.Series(out)


def test_cronbach_alpha_per_community_equals_pandas_formula() -> None:
    rng = np.random.default_rng(7)
    items = ["a", "b", "c", "d", "e"]
    x, codes = _data(rng, 30_000, 800, 5, 1, 5, 0.05)
    trait = rng.normal(0, 1, (len(x), 1))
    x = np.where(np.isnan(x), np.nan, np.clip(np.rint(3 + trait + 0.4 * (x - 3)), 1, 5))
    frame = pd.DataFrame(x, columns=items)
    frame["c"] = 6 - frame["c"]  # reverse worded
    frame["nbh"] = np.char.add("n", codes.astype(str)).astype(object)
    res = ce.cronbach_alpha(frame, items=items, keys=["-c"], community="nbh")
    flipped = frame.assign(c=6 - frame["c"])
    ref = _alpha_reference(flipped, items).reindex(res["nbh"])
    np.testing.assert_allclose(res["alpha"].to_numpy(), ref.to_numpy(), rtol=TOL, equal_nan=True)
    assert res["alpha"].notna().sum() > 500 and res["alpha"].isna().sum() > 100


def test_cronbach_alpha_identical_with_either_exact_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole alpha table is equal, bit for bit, whichever exact path summed the moments:
    also the ill-conditioned statistics of groups of 2 respondents (correlations of 1, where
    ``signal_noise`` divides by a rounding residue and a different summation order in memory
    would change it)."""
    rng = np.random.default_rng(9)
    items = ["a", "b", "c", "d", "e"]
    n = 20_000
    base = rng.integers(1, 6, (n, 1)).astype(float)
    x = np.clip(base + rng.integers(-1, 2, (n, 5)) * (rng.random((n, 5)) < 0.3), 1, 5)
    x[rng.random(x.shape) < 0.05] = np.nan
    codes = rng.integers(0, 3000, n)
    frame = pd.DataFrame(x, columns=items)
    frame["nbh"] = np.char.add("n", codes.astype(str)).astype(object)

    def run() -> pd.DataFrame:
        return ce.cronbach_alpha(frame, items=items, keys=["-c"], community="nbh")

    new = run()
    with monkeypatch.context() as mp:
        mp.setattr(_moments_int, "_MAX_PATTERNS", 0)
        old = run()
    pd.testing.assert_frame_equal(new, old, check_exact=True)


@pytest.mark.parametrize(
    ("keys", "scale_range", "layout"),
    [
        (["-b", "-d"], None, "F"),
        (["-a"], (0, 10), "C"),  # reversal bounds wider than the data
        (None, None, "C"),
        (["-c"], None, "F"),  # the reversed column has no answer
    ],
)
def test_prepared_value_range_is_the_keyed_matrix_range(
    keys: list[str] | None, scale_range: tuple[int, int] | None, layout: str
) -> None:
    """The range ``prepare`` hands to the moment kernel (from the columns' ranges read while
    copying) is exactly ``fmin``/``fmax`` of the keyed matrix."""
    from collective_efficacy.reliability._input import prepare

    rng = np.random.default_rng(4)
    x = np.asarray(rng.integers(-2, 7, (500, 4)).astype(float), order=layout)
    x[rng.random(x.shape) < 0.1] = np.nan
    if keys == ["-c"]:
        x[:, 2] = np.nan
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    prep = prepare(
        frame, None, keys=keys, nan_policy="pairwise", response_range=scale_range, func="t"
    )
    assert prep.value_range == (
        float(np.fmin.reduce(prep.x.ravel())),
        float(np.fmax.reduce(prep.x.ravel())),
    )
    assert np.array_equal(frame.to_numpy(), x, equal_nan=True)  # the caller's data untouched


@pytest.mark.parametrize(
    "n",
    [
        np.array([3.0, 1.0, 3.0, 0.0, 250.0, 7.0]),
        np.array([2.5, 1.0, 2.5]),  # not whole: the sort
        np.array([1e9, 3.0]),  # a wide range: the sort
        np.array([5.0]),
        np.array([], dtype=float),
    ],
)
def test_distinct_group_sizes_equal_numpy_unique(n: np.ndarray) -> None:
    from collective_efficacy.reliability._core import _distinct

    u, inv = _distinct(n)
    u_ref, inv_ref = np.unique(n, return_inverse=True)
    np.testing.assert_array_equal(u, u_ref)
    np.testing.assert_array_equal(inv, inv_ref)
    assert u.dtype == u_ref.dtype


def test_pattern_path_exact_for_answers_beyond_2_53() -> None:
    """Answers of 2**54 and up: ``lo - 1`` rounds to ``lo`` in float64, so the pattern path
    is declined and the results are the sweep's (review finding; NaN alphas before)."""
    lo = 2.0**54
    df = pd.DataFrame(
        {
            "a": lo + np.array([0, 4, 8, 0, 4, np.nan, 0, 8]),
            "b": lo + np.array([4, 8, 0, 0, 4, 8, 4, 8]),
            "c": lo + np.array([0, 0, 4, 8, 8, 4, 4, 0]),
            "g": ["A"] * 4 + ["B"] * 4,
        }
    )
    got = ce.cronbach_alpha(df, items=["a", "b", "c"], community="g")
    shifted = df.assign(**{c: df[c] - lo for c in "abc"})
    expect = ce.cronbach_alpha(shifted, items=["a", "b", "c"], community="g")
    np.testing.assert_allclose(got["alpha"], expect["alpha"], rtol=1e-12)
    assert np.isfinite(got["alpha"]).all()


def test_pattern_path_declines_float32_and_small_or_large_tables() -> None:
    """float32 answers (``lo - 1`` would round at 2**24), fewer rows than patterns / 8 and
    tables over ~8 MB take the sweep: same pairwise counts as float64."""
    x = (2.0**25) + np.array([[0, 4], [4, 8], [8, 0], [0, 0], [4, 4], [np.nan, 8]])
    got = _moments_int.integer_pairwise_moments(x.astype(np.float32), np.zeros(6, np.intp), 1)
    ref = _moments_int.integer_pairwise_moments(x, np.zeros(6, np.intp), 1)
    assert isinstance(got, _moments.PairwiseMoments) and isinstance(ref, _moments.PairwiseMoments)
    np.testing.assert_array_equal(got.n_pair, ref.n_pair)
    np.testing.assert_array_equal(got.n_pair[0], [[5, 5], [5, 6]])
    assert not _moments_int._patterns_pay(np.zeros((10, 5)), 1.0, 4, 5)  # 7,776 patterns
    assert _moments_int._patterns_pay(np.zeros((1_000, 5)), 1.0, 4, 5)
    assert not _moments_int._patterns_pay(np.zeros((10**6, 15)), 0.0, 0, 15)  # 2**15 x 256

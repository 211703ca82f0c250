"""collective_efficacy._dist against scipy.stats: the distribution functions the statistics use
without importing scipy.stats (start-up time, issue 16).

Tolerance: none -- the same numbers bit for bit (``assert_array_equal``, NaN where scipy.stats
gives NaN), on random grids and on edge values (0, 1, infinities, NaN, invalid degrees of
freedom), scalars and arrays alike.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import stats

from collective_efficacy import _dist

RNG = np.random.default_rng(20261203)
N = 20_000
EDGE_X = np.array(
    [-np.inf, -1e300, -40.0, -8.0, -1.0, -0.0, 0.0, 1e-300, 0.5, 3.0, 40.0, np.inf, np.nan]
)
EDGE_Q = np.array([0.0, 1e-300, 1e-12, 0.025, 0.5, 0.975, 1 - 1e-12, 1.0, -0.1, 1.1, np.nan])
EDGE_DF = np.array([-1.0, 0.0, 1e-3, 0.5, 1.0, 2.0, 7.5, 1e6, np.inf, np.nan])


def _same(ours: object, ref: object) -> None:
    assert type(ours) is type(ref) or (np.ndim(ours) == np.ndim(ref) == 0), (type(ours), type(ref))
    assert_array_equal(np.asarray(ours), np.asarray(ref), strict=True)


def _grid(*axes: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(a.ravel() for a in np.meshgrid(*axes, indexing="ij"))


def _random_x() -> np.ndarray:
    return RNG.normal(0.0, 4.0, N)


def _random_df() -> np.ndarray:
    return np.exp(RNG.uniform(-1.0, 9.0, N))


def _random_q() -> np.ndarray:
    return RNG.uniform(0.0, 1.0, N)


@pytest.mark.parametrize(
    ("ours", "ref"),
    [(_dist.t_cdf, stats.t.cdf), (_dist.t_sf, stats.t.sf)],
)
def test_t_cdf_sf(ours, ref) -> None:
    x, df = _random_x(), _random_df()
    _same(ours(x, df), ref(x, df))
    x, df = _grid(EDGE_X, EDGE_DF)
    with np.errstate(all="ignore"):
        _same(ours(x, df), ref(x, df))
    _same(ours(1.7, 12.0), ref(1.7, 12.0))


@pytest.mark.parametrize(("ours", "ref"), [(_dist.t_ppf, stats.t.ppf), (_dist.t_isf, stats.t.isf)])
def test_t_ppf_isf(ours, ref) -> None:
    q, df = _random_q(), _random_df()
    _same(ours(q, df), ref(q, df))
    q, df = _grid(EDGE_Q, EDGE_DF)
    with np.errstate(all="ignore"):
        _same(ours(q, df), ref(q, df))
    _same(ours(0.975, 12.0), ref(0.975, 12.0))


@pytest.mark.parametrize(
    ("ours", "ref", "arg"),
    [
        (_dist.norm_cdf, stats.norm.cdf, "x"),
        (_dist.norm_sf, stats.norm.sf, "x"),
        (_dist.norm_ppf, stats.norm.ppf, "q"),
        (_dist.norm_isf, stats.norm.isf, "q"),
    ],
)
def test_norm(ours, ref, arg) -> None:
    values = _random_x() if arg == "x" else _random_q()
    edge = EDGE_X if arg == "x" else EDGE_Q
    _same(ours(values), ref(values))
    with np.errstate(all="ignore"):
        _same(ours(edge), ref(edge))
    _same(ours(0.3), ref(0.3))
    _same(ours([0.3, 0.7]), ref([0.3, 0.7]))


def test_f_sf_and_ppf() -> None:
    dfn, dfd = _random_df(), _random_df()
    x = np.abs(_random_x())
    _same(_dist.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd))
    q = _random_q()
    _same(_dist.f_ppf(q, dfn, dfd), stats.f.ppf(q, dfn, dfd))
    with np.errstate(all="ignore"):
        x, dfn, dfd = _grid(EDGE_X, EDGE_DF, EDGE_DF)
        _same(_dist.f_sf(x, dfn, dfd), stats.f.sf(x, dfn, dfd))
        q, dfn, dfd = _grid(EDGE_Q, EDGE_DF, EDGE_DF)
        _same(_dist.f_ppf(q, dfn, dfd), stats.f.ppf(q, dfn, dfd))
    _same(_dist.f_sf(2.5, 3.0, 40.0), stats.f.sf(2.5, 3.0, 40.0))
    _same(_dist.f_ppf(0.025, 3.0, 40.0), stats.f.ppf(0.025, 3.0, 40.0))


def test_nct_cdf_and_sf() -> None:
    """50,000 random points: nctdtr's far-tail NaNs are scipy.stats' exact 0 and 1."""
    n = 50_000
    x = RNG.normal(0.0, 8.0, n)
    df = np.exp(RNG.uniform(-1.0, 10.0, n))
    nc = RNG.uniform(-30.0, 30.0, n)
    with np.errstate(all="ignore"):
        _same(_dist.nct_sf(x, df, nc), stats.nct.sf(x, df, nc))
        _same(_dist.nct_cdf(x, df, nc), stats.nct.cdf(x, df, nc))
        x, df, nc = _grid(EDGE_X, EDGE_DF, np.array([-3.0, 0.0, 2.5, np.nan]))
        _same(_dist.nct_sf(x, df, nc), stats.nct.sf(x, df, nc))
        _same(_dist.nct_cdf(x, df, nc), stats.nct.cdf(x, df, nc))
    _same(_dist.nct_sf(2.0, 30.0, 2.8), stats.nct.sf(2.0, 30.0, 2.8))


def test_nct_pdf() -> None:
    """The density (the Newton step of the noncentrality interval) bit for bit where
    scipy.stats answers (df up to e^5; beyond, Boost raises in the far tails), and the identity
    the fallback uses to 1e-12 absolute, also where Boost raises (50,000 random points)."""
    n = 50_000
    x = RNG.normal(0.0, 8.0, n)
    df = np.exp(RNG.uniform(-1.0, 5.0, n))
    nc = RNG.uniform(-30.0, 30.0, n)
    with np.errstate(all="ignore"):
        _same(_dist.nct_pdf(x, df, nc), stats.nct.pdf(x, df, nc))
        edge_df = np.array([-1.0, 0.0, 0.5, 3.0, 30.0, np.nan])  # invalid df and nc give NaN
        edge_x = np.array([-40.0, -8.0, -1.0, -0.0, 0.0, 0.5, 3.0, 40.0, np.nan])
        x, df, nc = _grid(edge_x, edge_df, np.array([-3.0, 0.0, 2.5, np.nan]))
        _same(_dist.nct_pdf(x, df, nc), stats.nct.pdf(x, df, nc))
    x, df, nc = (
        np.array([0.5, 2.0, -3.0, 7.0]),
        np.array([5.0, 10.0, 3.0, 40.0]),
        np.array([1.0, -2.0, 0.5, 6.0]),
    )
    from scipy import special

    identity = (df / x) * (
        special.nctdtr(df + 2.0, nc, x * np.sqrt(1.0 + 2.0 / df)) - special.nctdtr(df, nc, x)
    )
    np.testing.assert_allclose(identity, stats.nct.pdf(x, df, nc), rtol=0, atol=1e-12)
    np.testing.assert_allclose(_dist._nct_pdf_identity(x, df, nc), identity, rtol=1e-15)
    assert _dist.nct_pdf(0.0, 5.0, 1.0) == pytest.approx(stats.nct.pdf(0.0, 5.0, 1.0), rel=1e-14)
    x = RNG.normal(0.0, 8.0, n)  # Boost raises OverflowError on these; ours falls back
    df, nc = np.exp(RNG.uniform(-1.0, 10.0, n)), RNG.uniform(-30.0, 30.0, n)
    with pytest.raises((OverflowError, SystemError)):
        stats.nct.pdf(x, df, nc)
    dens = _dist.nct_pdf(x, df, nc)
    # no exception; NaN only where nctdtr itself gives up (far tails, density ~0), which the
    # noncentrality Newton treats as not converged and hands to its bracketing solver
    assert np.all((dens >= 0.0) | np.isnan(dens))
    lost = np.isnan(special.nctdtr(df, nc, x)) | np.isnan(
        special.nctdtr(df + 2.0, nc, x * np.sqrt(1.0 + 2.0 / df))
    )
    assert np.array_equal(np.isnan(dens), lost & (x != 0))


@pytest.mark.parametrize("kind", ["ties", "distinct", "float ties", "nan", "one", "empty"])
def test_rankdata(kind: str) -> None:
    a = {
        "ties": RNG.integers(0, 20, 5_000),
        "distinct": RNG.permutation(5_000).astype(float),
        "float ties": np.round(RNG.normal(size=5_000), 1),
        "nan": np.array([3.0, np.nan, 1.0]),
        "one": np.array([2.0]),
        "empty": np.array([], dtype=float),
    }[kind]
    _same(_dist.rankdata(a), stats.rankdata(a))


def test_importing_the_package_leaves_scipy_stats_out(modules_after) -> None:
    """``import collective_efficacy`` (and its command line) does not import scipy.stats.

    Importing the command line imports the package first; the fresh interpreter's modules are
    shared with test_cli_startup.py's check of the console entry (one process)."""
    loaded = modules_after("import collective_efficacy.cli")
    assert sorted(m for m in loaded if m.startswith(("scipy.stats", "matplotlib"))) == []

"""Fast paths of the chained statistics (issue 16) against the general code they replace.

* ``_lmm.fit_ri_binary`` (the overall wave effect of ``compare_waves`` without building X)
  against ``fit_ri_lmm`` with ``X = [1, flag]`` (itself checked against ``nlme::lme`` in
  test_change_reference.py): every field, rtol 1e-12.
* ``change._data.wave_moments`` (both waves and the pooled moments in two passes) against
  ``moments`` on each wave's rows: identical.
* The ecometric fit on compacted cells (answered-items counts nobody has dropped) against the
  full grid: deviance, gradient and Hessian rtol 1e-12 (the Hessian itself is checked against
  differences of the gradient in test_ecometric_newton.py, the fit against lme4 in
  test_mixed.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from collective_efficacy.change._data import moments, prepare, wave_moments
from collective_efficacy.multilevel import _ecometric_cells as cells
from collective_efficacy.multilevel._lmm import fit_ri_binary, fit_ri_lmm


def _two_waves(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, n)
    after = rng.random(n) < 0.45
    y = 3.0 + rng.normal(0, 0.4, k)[codes] + 0.2 * after + rng.normal(0, 1, n)
    return y, after, codes


@pytest.mark.parametrize(("seed", "n", "k"), [(1, 400, 30), (2, 5000, 300), (3, 60, 50)])
def test_binary_fit_equals_the_general_fit(seed: int, n: int, k: int) -> None:
    # groups without rows and groups with one wave only included; rtol 1e-12 (the sums are
    # added in another order, the optimum is found to machine precision)
    y, after, codes = _two_waves(seed, n, k)
    n_per = np.bincount(codes, minlength=k)
    n_flag = np.bincount(codes[after], minlength=k)
    for method in ("REML", "ML"):
        got = fit_ri_binary(y, after, codes, n_per, n_flag, method=method)
        ref = fit_ri_lmm(y, np.column_stack([np.ones(n), after]), codes, k, method=method)
        for name in ("beta", "beta_se", "beta_cov", "tau2", "sigma2", "loglik", "eb", "lambda_"):
            assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-12, atol=1e-15)
        assert (got.converged, got.at_boundary, got.n_obs) == (
            ref.converged,
            ref.at_boundary,
            ref.n_obs,
        )


def test_wave_moments_equal_the_moments_of_each_wave() -> None:
    y, after, codes = _two_waves(4, 3000, 120)
    frame = pd.DataFrame(
        {
            "score": np.where(np.arange(3000) % 97 == 0, np.nan, y),
            "wave": np.where(after, "end_of_cycle", "baseline"),
            "community": np.char.add("c", codes.astype(str)),
        }
    )
    tw = prepare(
        frame, "score", wave="wave", community="community", before="baseline",
        after="end_of_cycle", nan_policy="omit",
    )  # fmt: skip
    got = wave_moments(tw)
    g = len(tw.labels)
    zero = np.zeros(len(tw.y), dtype=np.int64)
    ref = [
        moments(tw.y[~tw.after], tw.codes[~tw.after], g),
        moments(tw.y[tw.after], tw.codes[tw.after], g),
        moments(tw.y[~tw.after], zero[~tw.after], 1),
        moments(tw.y[tw.after], zero[tw.after], 1),
    ]
    for a, b in zip(got, ref, strict=True):
        for name in ("n", "mean", "var"):
            assert_array_equal(getattr(a, name), getattr(b, name))


@pytest.mark.parametrize("reml", [True, False])
def test_compact_cells_give_the_same_deviance_and_derivatives(reml: bool) -> None:
    rng = np.random.default_rng(5)
    n, k, p = 2000, 40, 8
    comm = rng.integers(0, k, n)
    y = rng.normal(0, 0.5, k)[comm][:, None] + rng.normal(size=(n, p))
    y[rng.random(y.shape) < 0.1] = np.nan
    y = y[~np.isnan(y).all(axis=1)]
    comm = comm[: len(y)]
    full = cells.cells_wide(y, np.empty((len(y), 0)), comm, k, reml)
    small = cells.compact(full)
    assert len(small.m) < len(full.m)  # few respondents miss most items: columns dropped
    for phi in ((0.1, 0.5), (2.0, 0.01)):
        a = cells.evaluate(full, *phi, order=2)
        b = cells.evaluate(small, *phi, order=2)
        assert_allclose(b.deviance, a.deviance, rtol=1e-12)
        assert_allclose(b.grad, a.grad, rtol=1e-12, atol=1e-9)
        assert a.hess is not None and b.hess is not None
        assert_allclose(b.hess, a.hess, rtol=1e-12, atol=1e-9)
        assert_allclose(b.beta, a.beta, rtol=1e-12, atol=1e-13)  # shifted: near 0

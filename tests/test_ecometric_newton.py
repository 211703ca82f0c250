"""The ecometric engine's analytic Hessian, its cell sums and the Newton fit (issue 16).

The Hessian is checked against central differences of the analytic gradient (itself checked
against differences of the deviance in test_mixed_engine.py); the fast cell sums without
covariates against the general per-respondent sums; the fit's agreement with lme4 stays in
test_mixed.py / test_mixed_engine.py (R fixtures, rtol 1e-5).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from collective_efficacy.multilevel import _ecometric_cells as cells
from collective_efficacy.multilevel._lmm3 import fit_nested_wide


def _data(seed: int, missing: float, n: int = 600, k: int = 30, p: int = 5):
    rng = np.random.default_rng(seed)
    comm = rng.integers(0, k, n)
    latent = rng.normal(0, 0.5, k)[comm] + rng.normal(0, 0.8, n)
    y = latent[:, None] + rng.normal(0, 0.3, p) + rng.normal(size=(n, p))
    y[rng.random(y.shape) < missing] = np.nan
    keep = ~np.isnan(y).all(axis=1)
    return y[keep], comm[keep], k, rng


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("covariate", [False, True])
def test_hessian_matches_differences_of_the_gradient(reml, covariate) -> None:
    # d2 deviance / d ratio2: analytic vs central differences of the analytic gradient
    # (h = 1e-6 x ratio); rtol 1e-6 of the largest entry (observed about 1e-9).
    y, comm, k, rng = _data(3, 0.2)
    z = rng.normal(size=(len(y), 1)) if covariate else np.empty((len(y), 0))
    cs = cells.cells_wide(y, z - z.mean(axis=0), comm, k, reml)
    for phi in ((0.1, 0.5), (1.0, 2.0), (0.003, 0.2)):
        hess = cells.evaluate(cs, *phi, order=2).hess
        assert hess is not None
        num = np.empty((2, 2))
        for j in range(2):
            h = 1e-6 * phi[j]
            e = np.eye(2)[j] * h
            up = cells.evaluate(cs, *(np.asarray(phi) + e)).grad
            dn = cells.evaluate(cs, *(np.asarray(phi) - e)).grad
            num[:, j] = (up - dn) / (2 * h)
        assert_allclose(hess, num, rtol=0, atol=1e-6 * np.abs(num).max())


@pytest.mark.parametrize("missing", [0.0, 0.05, 0.3, 0.6])
def test_cells_from_missing_positions_equal_the_general_sums(missing) -> None:
    # the fast path (no covariates, row- or column-major input) against the per-respondent
    # indicator sums of the general path; rtol 1e-12.
    y, comm, k, _ = _data(5, missing)
    mask = ~np.isnan(y)
    mf = mask.astype(float)
    y0 = np.where(mask, y, 0.0)
    beta0 = y0.sum(axis=0) / mf.sum(axis=0)
    r0 = (y0 - beta0) * mf
    ref = cells._cells(
        mf.sum(axis=1).astype(np.int64), mf, r0.sum(axis=1), np.diag(mf.sum(axis=0)),
        r0.sum(axis=0), float((r0**2).sum()), beta0, comm, k, True,
    )  # fmt: skip
    for got in (
        cells.cells_wide(y, np.empty((len(y), 0)), comm, k, True),
        cells.cells_wide(
            np.asfortranarray(y), np.empty((len(y), 0)), comm, k, True, overwrite=True
        ),
    ):
        for name in ref.__dataclass_fields__:
            assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-12, atol=1e-9)


def test_newton_fit_reaches_a_verified_optimum_in_few_evaluations() -> None:
    # the gradient at the reported optimum is below 1e-8 (log-ratio scale), the Hessian there
    # is positive definite, and the count of evaluations stays small (issue 16: ~29 before)
    y, comm, k, _ = _data(11, 0.1, n=3000, k=60)
    fit = fit_nested_wide(y, np.empty((len(y), 0)), comm, k)
    assert fit.converged and fit.hessian_pd and fit.max_abs_grad < 1e-8
    assert fit.n_iter <= 12
    g = cells.evaluate(
        cells.cells_wide(y, np.empty((len(y), 0)), comm, k, True),
        fit.tau_beta / fit.sigma2, fit.tau_pi / fit.sigma2,
    ).grad  # fmt: skip
    assert np.max(np.abs(g * [fit.tau_beta, fit.tau_pi] / fit.sigma2)) < 1e-7


def test_fit_does_not_modify_its_input_unless_told() -> None:
    y, comm, k, _ = _data(2, 0.2)
    before = y.copy()
    fit_nested_wide(y, np.empty((len(y), 0)), comm, k)
    assert_allclose(y, before, rtol=0, atol=0)

"""Change model engine: the analytic second derivatives agree with finite differences.

``_lmm_slope_hess`` replaces finite-difference Hessians and Jacobians (Newton polish,
verification, Satterthwaite df, Kackar-Harville term and prediction df). Each is checked
against central differences with one Richardson step (error O(h^4)) of the analytic gradient
or of the quantity itself (``_lmm_slope_core._jacobian``), on a design with a programme, its
interaction and a covariate, REML and ML, interior and boundary points. Tolerance: 1e-7
relative to the largest entry (the differences' own error is ~1e-10 here).
"""

from __future__ import annotations

import numpy as np
import pytest

from collective_efficacy.multilevel._lmm_slope import _pev_unit, _predicted, _vp_grad
from collective_efficacy.multilevel._lmm_slope_core import _evaluate, _jacobian, _sufficient
from collective_efficacy.multilevel._lmm_slope_hess import (
    prediction_jacobians,
    profiled_hessian,
    varpar_hessian,
)

THETAS = [(0.5, 0.1, 0.3), (0.4, -0.2, 0.0), (0.0, 0.0, 0.3), (1.2, 0.7, 0.05)]


def _data(reml: bool):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    g, n = 60, 1500
    codes = rng.integers(0, g, n)
    t = rng.integers(0, 2, n).astype(float)
    z = rng.normal(size=n)
    prog_g = (np.arange(g) % 2).astype(float)
    prog = prog_g[codes]
    y = (
        1 + 0.3 * t + rng.normal(0, 0.5, g)[codes] + rng.normal(0.2, 0.3, g)[codes] * t
        + 0.2 * z + rng.normal(size=n)
    )  # fmt: skip
    X = np.column_stack([np.ones(n), t, prog, prog * t, z])
    contrast = np.zeros((g, 5))
    contrast[:, 1] = 1.0
    contrast[:, 3] = prog_g
    st, _ = _sufficient(y, X, t, codes, g, reml)
    return st, contrast


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("theta", THETAS)
def test_analytic_derivatives_match_finite_differences(reml: bool, theta: tuple) -> None:
    st, contrast = _data(reml)
    th = np.array(theta)
    ev = _evaluate(st, th)
    num = _jacobian(lambda x: _evaluate(st, x).grad, th)
    assert _rel(profiled_hessian(st, ev, th), num) < 1e-7
    mdf = st.n_obs - 5 if reml else st.n_obs
    sigma = 1.1 * float(np.sqrt(ev.rss / mdf))  # away from the optimum in sigma too
    vp = np.append(th, sigma)
    assert _rel(varpar_hessian(st, ev, th, sigma), _jacobian(lambda v: _vp_grad(st, v), vp)) < 1e-7
    d_change, d_pev = prediction_jacobians(st, ev, th, contrast)
    g = contrast.shape[0]

    def both(x: np.ndarray) -> np.ndarray:
        e = _evaluate(st, x)
        return np.concatenate([_predicted(e, contrast), _pev_unit(e, contrast)])

    num_p = _jacobian(both, th)
    assert _rel(d_change, num_p[:g]) < 1e-7
    assert _rel(d_pev, num_p[g:]) < 1e-7

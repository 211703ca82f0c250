"""The interval of a community's change: Henderson's prediction-error variance plus the
Kackar-Harville / Prasad-Rao term for the estimated variance parameters, against an independent
dense implementation (Henderson's mixed-model equations with an explicit Z, numerical derivatives
of the dense REML deviance and of the dense BLUP), as in Kackar & Harville (1984), Prasad & Rao
(1990) and Kenward & Roger (1997)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce


@pytest.fixture
def small(fixtures) -> pd.DataFrame:
    d = pd.read_csv(fixtures / "change_model" / "survey.csv").dropna(subset=["score"])
    keep = sorted(d["community"].unique())[:10]  # few communities: the correction matters
    return d[d["community"].isin(keep)].reset_index(drop=True)


def _dense(d: pd.DataFrame):  # type: ignore[no-untyped-def]
    y = d["score"].to_numpy(float)
    t = (d["wave"] == "end_of_cycle").to_numpy(float)
    labels, codes = np.unique(d["community"].to_numpy(str), return_inverse=True)
    g, n = len(labels), len(y)
    X = np.column_stack([np.ones(n), t])
    Z = np.zeros((n, 2 * g))
    Z[np.arange(n), 2 * codes] = 1.0
    Z[np.arange(n), 2 * codes + 1] = t

    def parts(theta: np.ndarray):  # type: ignore[no-untyped-def]
        lam = np.array([[theta[0], 0.0], [theta[1], theta[2]]])
        T = np.kron(np.eye(g), lam @ lam.T)  # relative covariance of the random effects
        V = np.eye(n) + Z @ T @ Z.T
        vi = np.linalg.inv(V)
        A = X.T @ vi @ X
        beta = np.linalg.solve(A, X.T @ vi @ y)
        r = y - X @ beta
        rss = float(r @ vi @ r)
        u = T @ Z.T @ vi @ r
        return V, A, beta, rss, u, T

    def deviance(vp: np.ndarray) -> float:  # REML deviance in (theta, sigma), beta profiled
        V, A, _, rss, _, _ = parts(vp[:3])
        s2 = vp[3] ** 2
        return float(
            np.linalg.slogdet(V)[1]
            + np.linalg.slogdet(A / s2)[1]
            + n * np.log(2 * np.pi * s2)
            + rss / s2
        )

    def change(theta: np.ndarray) -> np.ndarray:
        _, _, beta, _, u, _ = parts(theta)
        return beta[1] + u[1::2]

    def pev(theta: np.ndarray, s2: float) -> np.ndarray:  # Henderson's mixed-model equations
        _, _, _, _, _, T = parts(theta)
        C = np.block([[X.T @ X, X.T @ Z], [Z.T @ X, Z.T @ Z + np.linalg.pinv(T)]])
        ci = s2 * np.linalg.inv(C)
        out = np.empty(g)
        for j in range(g):  # a test: clarity over speed
            k = np.zeros(2 + 2 * g)
            k[1], k[3 + 2 * j] = 1.0, 1.0
            out[j] = k @ ci @ k
        return out

    return deviance, change, pev, labels


def _num_grad(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:  # type: ignore[no-untyped-def]
    cols = []
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = h * max(abs(x[i]), 0.1)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * e[i]))
    return np.stack(cols, -1)


def test_prediction_sd_and_df_match_dense_formulas(small) -> None:
    m = ce.change_model(small, dv="score", community="community", min_n=1)
    assert m.converged and not m.boundary
    deviance, change, pev, labels = _dense(small)
    theta = np.asarray(m.theta)
    s2 = m.variance_components.sigma2
    vp = np.append(theta, np.sqrt(s2))
    hess = _num_grad(lambda v: _num_grad(deviance, v, 1e-4), vp, 1e-4)
    cov_vp = 2.0 * np.linalg.inv(0.5 * (hess + hess.T))  # lmerTest's Cov(theta, sigma)
    d_change = _num_grad(change, theta)
    g3 = np.einsum("gk,kl,gl->g", d_change, cov_vp[:3, :3], d_change)
    p = pev(theta, s2)
    d_pev = _num_grad(lambda v: pev(v[:3], v[3] ** 2), vp)
    df = 2 * p**2 / np.einsum("gk,kl,gl->g", d_pev, cov_vp, d_pev)
    c = m.communities.set_index("community").loc[labels]
    ok = ~c["suppressed"].to_numpy()  # a community seen in one wave: no published statistics
    assert ok.sum() >= 8
    c, p, g3, df = c[ok], p[ok], g3[ok], df[ok]
    # the dense BLUP is lme4's (already checked against R): a check of the dense code here
    np.testing.assert_allclose(c["change"], change(theta)[ok], rtol=1e-8)
    # tolerances: numerical second derivatives of the dense deviance (h = 1e-4 relative)
    # against the engine's analytic-gradient Hessian, and first differences of the PEV: 1e-4
    np.testing.assert_allclose(c["prediction_sd"] ** 2, p + 2 * g3, rtol=1e-4)
    np.testing.assert_allclose(c["prediction_df"], df, rtol=1e-3)
    assert (g3 > 0).all()  # the correction is not empty: the variances are estimated
    # the interval and p_improved no longer use this SD (issue 14: they come from the posterior
    # integrated over the covariance parameters, tests/test_change_model_posterior.py); for a
    # well-determined fit the two agree to first order (Kass & Steffey 1989), checked there

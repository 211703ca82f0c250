"""The interval of a community's change integrated over the covariance parameters (issue 14).

* the per-node algebra (EB change, Henderson PEV, profiled REML deviance at any theta) against
  an independent dense implementation with an explicit Z (Henderson's mixed-model equations);
* the fast quadrature (grid and Gauss-Hermite rules) against a brute-force midpoint grid of the
  same integral;
* its large-sample limit: the first-order approximation of Kass & Steffey (1989);
* determinism, the interval's properties, and coverage on boundary fits in a small seeded
  simulation (the case the previous, plug-in interval got wrong).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import collective_efficacy as ce
import collective_efficacy.multilevel._change_posterior as cp
from collective_efficacy.multilevel._change_design import design
from collective_efficacy.multilevel._lmm_slope import RSFit, fit_rs_lmm
from collective_efficacy.multilevel.change_model import _contrast


def _simulate(seed: int, k: int, sd: float) -> tuple[pd.DataFrame, np.ndarray]:
    """As benchmarks/sim_change_model.py: 10-30 residents per community and wave."""
    rng = np.random.default_rng(seed)
    u0 = rng.normal(0, 0.35, k)
    delta = 0.15 + rng.normal(0, sd, k)
    parts = []
    labels = np.char.add("C", np.char.zfill(np.arange(k).astype(str), 4))
    for w, wave in enumerate(("baseline", "end_of_cycle")):
        n = rng.integers(10, 31, k)
        c = np.repeat(np.arange(k), n)
        y = 3 + u0[c] + w * delta[c] + rng.normal(0, 0.8, len(c))
        parts.append(pd.DataFrame({"community": labels[c], "wave": wave, "score": y}))
    return pd.concat(parts, ignore_index=True), delta


def _engine(d: pd.DataFrame, covariates: list[str] | None = None) -> tuple[RSFit, np.ndarray]:
    des = design(d, dv="score", community="community", wave="wave", before="baseline",
                 after="end_of_cycle", time=None, covariates=covariates or [], comparison=None,
                 respondent=None)  # fmt: skip
    con = _contrast(des)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_rs_lmm(des.y, des.X, des.t, des.codes, len(des.labels), contrast=con)
    return fit, con


def _brute(fit: RSFit, con: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int):  # type: ignore[no-untyped-def]
    """Midpoint rule on an n x n grid of (theta_2, theta_3) in [lo, hi], same posterior (the
    weights: likelihood times theta_3 to the module's power, adjustment and prior)."""
    st, th = fit.stats, np.abs(fit.theta)
    assert st is not None
    a2 = lo[0] + (np.arange(n) + 0.5) * (hi[0] - lo[0]) / n
    a3 = lo[1] + (np.arange(n) + 0.5) * (hi[1] - lo[1]) / n
    nodes = np.array([(x, y) for x in a2 for y in a3])
    chunks = np.array_split(np.arange(len(nodes)), max(1, len(nodes) * len(st.n) // 400_000))
    dev = np.concatenate(
        [cp.node_moments(st, th[0], nodes[c], con, moments=False)[0] for c in chunks]
    )
    lw = -0.5 * (dev - dev.min()) + cp.PRIOR_THETA3 * np.log(nodes[:, 1])
    w = np.exp(lw - lw.max())
    w /= w.sum()
    s1 = s2 = 0.0
    for c in chunks:
        _, ch, pv = cp.node_moments(st, th[0], nodes[c], con)
        s1 = s1 + w[c] @ ch
        s2 = s2 + w[c] @ (pv + ch * ch)
    edge = max(w.reshape(n, n)[[0, -1]].sum(axis=1).max(), w.reshape(n, n)[:, -1].sum())
    return s1, np.sqrt(s2 - s1 * s1), edge


def test_node_algebra_matches_dense_mixed_model_equations(fixtures) -> None:
    d = pd.read_csv(fixtures / "change_model" / "survey.csv").dropna(subset=["score"])
    d = d[d["community"].isin(sorted(d["community"].unique())[:6])].reset_index(drop=True)
    for covs in ([], ["age"]):  # p = 2 and p = 3 (the loop over fixed effects)
        fit, con = _engine(d, covs)
        y = d["score"].to_numpy(float)
        t = (d["wave"] == "end_of_cycle").to_numpy(float)
        labels, codes = np.unique(d["community"].to_numpy(str), return_inverse=True)
        g, n = len(labels), len(y)
        X = np.column_stack([np.ones(n), t, *[d[c].to_numpy(float) for c in covs]])
        p = X.shape[1]
        Z = np.zeros((n, 2 * g))
        Z[np.arange(n), 2 * codes] = 1.0
        Z[np.arange(n), 2 * codes + 1] = t
        nodes = np.array([[0.1, 0.2], [-0.3, 0.05], [0.0, 0.6]])
        assert fit.stats is not None
        dev, change, pev = cp.node_moments(fit.stats, fit.theta[0], nodes, con)
        assert change is not None and pev is not None
        for i, (a, b) in enumerate(nodes):
            lam = np.array([[fit.theta[0], 0.0], [a, b]])
            T = np.kron(np.eye(g), lam @ lam.T)
            vi = np.linalg.inv(np.eye(n) + Z @ T @ Z.T)
            A = X.T @ vi @ X
            beta = np.linalg.solve(A, X.T @ vi @ y)
            r = y - X @ beta
            rss = float(r @ vi @ r)
            m = n - p
            ref_dev = (
                -np.linalg.slogdet(vi)[1] + np.linalg.slogdet(A)[1]
                + m * (1 + np.log(2 * np.pi * rss / m))
            )  # fmt: skip
            u = T @ Z.T @ vi @ r
            C = np.block([[X.T @ X, X.T @ Z], [Z.T @ X, Z.T @ Z + np.linalg.inv(T)]])
            cinv = rss / m * np.linalg.inv(C)
            k = np.zeros((g, p + 2 * g))
            k[:, 1] = 1.0
            k[np.arange(g), p + 2 * np.arange(g) + 1] = 1.0
            # tolerance: dense inverses of ~200 x 200 matrices, 1e-8 relative
            assert dev[i] == pytest.approx(ref_dev, rel=1e-8)
            np.testing.assert_allclose(change[i], beta[1] + u[1::2], rtol=1e-8)
            np.testing.assert_allclose(pev[i], np.einsum("ga,ab,gb->g", k, cinv, k), rtol=1e-8)


@pytest.mark.parametrize(("seed", "k", "sd"), [(7_010_001, 10, 0.25), (7_040_003, 40, 0.1)])
def test_grid_rule_matches_brute_force_integration(seed: int, k: int, sd: float) -> None:
    fit, con = _engine(_simulate(seed, k, sd)[0])
    assert fit.stats is not None
    res = cp.integrate_change(fit.stats, fit.theta, con, boundary=fit.boundary)
    assert res.method == "grid" and res.n_nodes == cp.GRID[0] * cp.GRID[1]
    th = np.abs(fit.theta)
    mean, sd_, edge = _brute(fit, con, np.array([th[1] - 5, 0.0]), np.array([th[1] + 5, 6.0]), 301)
    assert edge < 1e-5  # the brute-force box holds the posterior (the prior's theta_3^3 tail)
    # tolerance: 2e-3 of the posterior SD (observed up to 1e-3 in the simulation settings)
    np.testing.assert_allclose(res.mean, mean, rtol=0, atol=2e-3 * sd_.min())
    np.testing.assert_allclose(res.sd, sd_, rtol=2e-3)


def test_gauss_hermite_rule_matches_brute_force(monkeypatch) -> None:
    fit, con = _engine(_simulate(11, 200, 0.4)[0])
    assert fit.stats is not None and not fit.boundary
    monkeypatch.setattr(cp, "GRID_CELLS", 0)  # force the many-community rule at 200
    res = cp.integrate_change(fit.stats, fit.theta, con, boundary=False)
    assert res.method == "gauss_hermite" and res.n_nodes == 9
    th = np.abs(fit.theta)
    sd = np.sqrt(np.diag(2.0 * np.linalg.inv(cp._hessian(fit.stats, th))))
    mean, sd_, edge = _brute(fit, con, th[1:] - 8 * sd, th[1:] + 8 * sd, 81)
    assert edge < 1e-6
    # tolerance: 3 x 3 nodes on a nearly normal posterior, 2e-3 of the SD
    np.testing.assert_allclose(res.mean, mean, rtol=0, atol=2e-3 * sd_.min())
    np.testing.assert_allclose(res.sd, sd_, rtol=2e-3)


def test_many_communities_reach_kass_steffey_first_order() -> None:
    """With many communities the posterior of theta is nearly normal and the integrated
    posterior reduces to Kass & Steffey's (1989) first-order approximation: mean = the EB
    change (lme4's fixef + ranef), variance = g1 + g2 + g3 (Henderson + Kackar-Harville)."""
    d, _ = _simulate(5, 1500, 0.3)
    m = ce.change_model(d, dv="score", community="community", min_n=1)
    c = m.communities
    assert (c["interval_method"] == "gauss_hermite").all()
    fit, _ = _engine(d)
    ks = np.sqrt(fit.pred_var_slope + fit.pred_var_theta)
    # tolerances: the neglected terms are O(1/communities) (observed, as the largest
    # difference over communities: mean 2.0e-2, 8.5e-3, 3.8e-3 of the SD and SD 6.9e-3,
    # 1.6e-3, 6.5e-4 relative at 500, 1,500, 3,000 communities): 2e-2 and 5e-3 at 1,500
    np.testing.assert_allclose(c["integrated_mean"], c["change"], rtol=0, atol=2e-2 * ks.min())
    np.testing.assert_allclose(c["integrated_sd"], ks, rtol=5e-3)


def test_deterministic_and_row_order_free() -> None:
    d, _ = _simulate(3, 20, 0.1)
    a = ce.change_model(d, dv="score", community="community", min_n=1).communities
    b = ce.change_model(d, dv="score", community="community", min_n=1).communities
    cols = ["integrated_mean", "integrated_sd", "ci_low", "ci_high", "p_improved"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)
    s = d.sample(frac=1.0, random_state=4).reset_index(drop=True)
    c = ce.change_model(s, dv="score", community="community", min_n=1).communities
    np.testing.assert_allclose(c[cols].to_numpy(float), a[cols].to_numpy(float), rtol=1e-6)


def test_interval_properties(fixtures) -> None:
    """What holds: the interval is symmetric about `integrated_mean` (not about `change`), its
    verdict is its position against 0, and suppressed communities carry none of it."""
    d = pd.read_csv(fixtures / "change_model" / "survey.csv")
    m = ce.change_model(d, dv="score", community="community", min_n=10)
    c = m.communities
    ok = ~c["suppressed"]
    mid = 0.5 * (c.loc[ok, "ci_low"] + c.loc[ok, "ci_high"])
    np.testing.assert_allclose(mid, c.loc[ok, "integrated_mean"], rtol=1e-12)
    half = 0.5 * (c.loc[ok, "ci_high"] - c.loc[ok, "ci_low"])
    np.testing.assert_allclose(half, stats.norm.ppf(0.975) * c.loc[ok, "integrated_sd"])
    # the EB change need not be the centre, but here (40 communities) it lies inside
    assert (
        (c.loc[ok, "ci_low"] < c.loc[ok, "change"]) & (c.loc[ok, "change"] < c.loc[ok, "ci_high"])
    ).all()
    sup = c[c["suppressed"]]
    assert sup[["integrated_mean", "integrated_sd"]].isna().all().all()
    assert sup["interval_method"].isna().all() and sup["verdict"].isna().all()


def test_boundary_fits_cover_at_nominal_rate() -> None:
    """A small seeded simulation (seeds of benchmarks/sim_change_model.py, 40 communities,
    SD of true changes 0.1): on boundary fits (the correlation at +-1) the integrated interval
    covers the true change near 95 %, where the previous plug-in interval (change -/+
    t prediction_sd) covered 75 % (500 replications, docs/methods/change-model.md)."""
    new, old = [], []
    for r in range(40):
        d, delta = _simulate(7_040_000 + r, 40, 0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = ce.change_model(d, dv="score", community="community", min_n=1)
        if not m.boundary:
            continue
        c = m.communities
        new.append(np.mean((c["ci_low"] <= delta) & (delta <= c["ci_high"])))
        q = stats.t.ppf(0.975, c["prediction_df"])
        old.append(np.mean(np.abs(c["change"] - delta) <= q * c["prediction_sd"]))
    assert len(new) >= 8
    # bounds: the MC SE of a mean over >= 8 replications of 40 correlated intervals is ~0.02
    assert 0.90 <= np.mean(new) <= 0.99
    assert np.mean(old) < 0.85  # the check discriminates: the previous interval fails it


def test_panel_nodes_reproduce_the_engine_at_the_estimate(fixtures) -> None:
    """With a respondent level the nodes use the effective community statistics at the
    estimated respondent variance: at the estimate they reproduce the engine's EB change
    (lme4's fixef + ranef, tested against R) and Henderson PEV (to 1e-10)."""
    d = pd.read_csv(fixtures / "change_model" / "panel.csv")
    des = design(d, dv="score", community="community", wave="wave", before="baseline",
                 after="end_of_cycle", time=None, covariates=[], comparison=None,
                 respondent="respondent")  # fmt: skip
    con = _contrast(des)
    fit = fit_rs_lmm(des.y, des.X, des.t, des.codes, len(des.labels), contrast=con,
                     resp=des.resp)  # fmt: skip
    assert fit.stats is not None and fit.stats.panel is not None
    eff = cp._fixed_level(fit.stats, fit.theta)
    th = np.abs(fit.theta)
    _, change, pev = cp.node_moments(eff, th[0], th[None, 1:3], con)
    assert change is not None and pev is not None
    np.testing.assert_allclose(change[0], con @ fit.beta + fit.ranef[:, 1], rtol=1e-10)
    np.testing.assert_allclose(pev[0], fit.pred_var_slope, rtol=1e-10)
    res = cp.integrate_change(fit.stats, fit.theta, con, boundary=fit.boundary)
    assert np.isfinite(res.mean).all() and (res.sd > 0).all()

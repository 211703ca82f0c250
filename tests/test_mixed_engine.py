"""Multilevel models (issue 6): engine checks, simulation recovery, properties and bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._lmm import fit_ri_lmm, ri_profile
from collective_efficacy.multilevel._lmm3 import fit_nested_lmm, fit_nested_wide, nested_profile
from collective_efficacy.multilevel.mixed import EcometricResult, RandomInterceptResult

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]


# ---------------------------------------------------------------- the general engine (_lmm)
@pytest.mark.parametrize("method", ["REML", "ML"])
def test_fit_ri_lmm_with_covariate_matches_lme4(fixtures, method) -> None:
    # R: lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = ...) (tests/fixtures/r/mixed.R)
    # rtol 1e-5 (the target); the log-likelihood 1e-9.
    ref = json.loads((fixtures / "mixed" / "two_level.json").read_text())[
        f"sleepstudy_days_{method}"
    ]
    d = pd.read_csv(fixtures / "mixed" / "sleepstudy.csv")
    codes, labels = pd.factorize(d["Subject"].astype(str), sort=True)
    X = np.column_stack([np.ones(len(d)), d["Days"].to_numpy(float)])
    fit = fit_ri_lmm(d["Reaction"].to_numpy(float), X, codes, len(labels), method=method)
    assert_allclose(fit.beta, ref["fixef"], rtol=1e-5)  # fixef(m)
    assert_allclose(fit.beta_se, ref["fixef_se"], rtol=1e-5)  # sqrt(diag(vcov(m)))
    assert_allclose(fit.beta_cov.ravel(), ref["vcov"], rtol=1e-5)  # vcov(m)
    assert_allclose(fit.tau2, ref["tau2"], rtol=1e-5)
    assert_allclose(fit.sigma2, ref["sigma2"], rtol=1e-5)
    assert_allclose(fit.loglik, ref["loglik"], rtol=1e-9)
    order = [list(labels).index(s) for s in ref["subjects"]]
    assert_allclose(fit.eb[order], ref["ranef"], rtol=1e-5)  # ranef(m)
    assert_allclose(fit.eb_var[order], ref["postvar"], rtol=1e-5)  # attr(., "postVar")
    assert fit.converged and fit.hessian_pd and not fit.at_boundary
    assert fit.df_residual == len(d) - 2 and fit.n_params == 2


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_analytic_gradients_match_finite_differences(method) -> None:
    # d deviance / d ratio, analytic vs central differences (h = 1e-6); rtol 1e-5.
    rng = np.random.default_rng(3)
    n, g = 400, 37
    codes = rng.integers(0, g, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    y = X @ [2.0, 0.5, -1.0] + rng.normal(0, 0.7, g)[codes] + rng.normal(size=n)
    for theta in (0.05, 0.4, 3.0):
        _, grad = ri_profile(y, X, codes, g, theta, method=method)
        h = 1e-6 * theta
        up = ri_profile(y, X, codes, g, theta + h, method=method)[0]
        dn = ri_profile(y, X, codes, g, theta - h, method=method)[0]
        assert_allclose(grad, (up - dn) / (2 * h), rtol=1e-5)
    # three-level: items in respondents in communities, with a respondent covariate
    k, r, p = 30, 300, 4
    comm = rng.integers(0, k, r)
    yy = (rng.normal(0, 0.5, k)[comm] + rng.normal(0, 0.8, r))[:, None] + rng.normal(size=(r, p))
    yy[rng.random(yy.shape) < 0.2] = np.nan
    yy[np.isnan(yy).all(axis=1), 0] = 0.0
    rr, ii = np.nonzero(~np.isnan(yy))
    Xn = np.column_stack([np.eye(p)[ii], rng.normal(size=r)[rr]])
    for phi in ((0.1, 0.5), (1.0, 2.0)):
        _, g3 = nested_profile(yy[rr, ii], Xn, rr, r, comm, k, phi, method=method)
        num = []
        for e in np.eye(2):
            step = 1e-6 * np.asarray(phi)
            up = nested_profile(yy[rr, ii], Xn, rr, r, comm, k, phi + step * e, method=method)[0]
            dn = nested_profile(yy[rr, ii], Xn, rr, r, comm, k, phi - step * e, method=method)[0]
            num.append((up - dn) / (2 * step @ e))
        assert_allclose(g3, num, rtol=1e-5)


# ---------------------------------------------------------------- simulation recovery
def test_random_intercept_recovers_simulated_components() -> None:
    # 1,000 communities x 10 residents, tau2 = 0.2, sigma2 = 1.0, intercept 3.
    # Tolerance: 4 approximate SEs: SE(tau2) ~ sqrt(2/G)(tau2 + sigma2/n) = 0.0134 -> 0.054;
    # SE(sigma2) ~ sigma2 sqrt(2/(G(n-1))) = 0.015 -> 0.06; SE(intercept) ~ 0.017 -> 0.07.
    rng = np.random.default_rng(20261123)
    g, n = 1000, 10
    nc = np.repeat(np.arange(g), n)
    y = 3.0 + rng.normal(0, np.sqrt(0.2), g)[nc] + rng.normal(0, 1.0, g * n)
    res = ce.random_intercept(pd.DataFrame({"nc": nc, "y": y}), dv="y", community="nc")
    vc = res.variance_components
    assert abs(vc.tau2 - 0.2) < 0.054
    assert abs(vc.sigma2 - 1.0) < 0.06
    assert abs(res.fixed.estimate - 3.0) < 0.07
    assert abs(res.mean_reliability - 0.2 / (0.2 + 1.0 / n)) < 0.03
    # the EB means are closer to the true community means than the raw means (shrinkage pays)
    true = 3.0 + np.random.default_rng(20261123).normal(0, np.sqrt(0.2), g)  # the same draws
    eb_err = np.mean((res.groups["eb_mean"] - true) ** 2)
    raw_err = np.mean((res.groups["mean"] - true) ** 2)
    assert eb_err < raw_err


def test_ecometric_recovers_simulated_components() -> None:
    # 400 communities x 12 residents x 5 items (15 % missing), tau_beta 0.2, tau_pi 0.5,
    # sigma2 0.8, item difficulties (0, .2, -.1, .3, -.2) around 3. Tolerance 4 approximate SEs:
    # tau_beta 0.075, tau_pi 0.055, sigma2 0.035, item effects 0.12.
    rng = np.random.default_rng(7)
    k, j, p = 400, 12, 5
    nc = np.repeat(np.arange(k), j)
    diff = np.array([0.0, 0.2, -0.1, 0.3, -0.2])
    lat = 3.0 + rng.normal(0, np.sqrt(0.2), k)[nc] + rng.normal(0, np.sqrt(0.5), k * j)
    y = lat[:, None] + diff + rng.normal(0, np.sqrt(0.8), (k * j, p))
    y[rng.random(y.shape) < 0.15] = np.nan
    df = pd.DataFrame(y, columns=ITEMS).assign(nc=nc)
    res = ce.ecometric(df, items=ITEMS, community="nc")
    vc = res.variance_components
    assert abs(vc.tau_beta - 0.2) < 0.075
    assert abs(vc.tau_pi - 0.5) < 0.055
    assert abs(vc.sigma2 - 0.8) < 0.035
    assert_allclose([e.estimate for e in res.item_effects], 3.0 + diff, atol=0.12)
    assert abs(vc.intra_neighbourhood_correlation - 0.2 / 0.7) < 0.08
    assert res.converged


# ---------------------------------------------------------------- boundary and bad input
def _flat_groups() -> pd.DataFrame:
    # four communities with exactly the same responses: no between-community variance
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    return pd.DataFrame({"nc": np.repeat(list("ABCD"), 5), "y": vals * 4})


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_zero_between_variance_is_on_the_boundary(method) -> None:
    res = ce.random_intercept(_flat_groups(), dv="y", community="nc", method=method)
    assert res.diagnostics.at_boundary and res.diagnostics.boundary_components == ["tau2"]
    assert res.converged  # KKT: the derivative at tau2 = 0 points into the feasible region
    assert res.variance_components.tau2 == 0.0 and res.variance_components.icc == 0.0
    g = res.groups
    assert (g["reliability"] == 0).all() and (g["eb_mean"] == 3.0).all()
    # at tau2 = 0 the model is OLS: closed-form log-likelihood
    n, ss = 20, 4 * 10.0
    if method == "REML":
        s2 = ss / (n - 1)
        ll = -0.5 * ((n - 1) * (1 + np.log(2 * np.pi * s2)) + np.log(n))
    else:
        s2 = ss / n
        ll = -0.5 * n * (1 + np.log(2 * np.pi * s2))
    assert_allclose(res.variance_components.sigma2, s2, rtol=1e-12)
    assert_allclose(res.loglik, ll, rtol=1e-12)


def test_ecometric_zero_community_variance_is_on_the_boundary() -> None:
    # every community holds copies of the same six respondents -> tau_beta = 0; the fit must
    # then equal the two-level model of items in respondents (fit_ri_lmm with item dummies).
    rng = np.random.default_rng(11)
    base = np.clip(np.rint(3 + rng.normal(0, 0.8, (6, 1)) + rng.normal(0, 0.7, (6, 4))), 1, 5)
    base[0, 1] = np.nan
    y = np.tile(base, (8, 1))
    df = pd.DataFrame(y, columns=ITEMS[:4]).assign(nc=np.repeat(np.arange(8), 6))
    res = ce.ecometric(df, items=ITEMS[:4], community="nc")
    assert res.diagnostics.boundary_components == ["tau_beta"]
    assert res.converged and res.variance_components.tau_beta == 0.0
    assert (res.groups["reliability"] == 0).all()
    rr, ii = np.nonzero(~np.isnan(y))
    two = fit_ri_lmm(y[rr, ii], np.eye(4)[ii], rr, len(y))
    assert_allclose(res.variance_components.tau_pi, two.tau2, rtol=1e-7)
    assert_allclose(res.variance_components.sigma2, two.sigma2, rtol=1e-7)
    assert_allclose(res.loglik, two.loglik, rtol=1e-10)


def test_single_community_is_refused() -> None:
    df = pd.DataFrame({"nc": ["A"] * 5, "y": [1.0, 2, 3, 4, 5], "SC1": [1.0, 2, 3, 4, 5]})
    df["SC2"] = df["SC1"][::-1].to_numpy()
    with pytest.raises(DataError, match="not identifiable"):
        ce.random_intercept(df, dv="y", community="nc")
    with pytest.raises(DataError, match="not identifiable"):
        ce.ecometric(df, items=["SC1", "SC2"], community="nc")


def test_every_community_of_size_one_is_refused() -> None:
    df = pd.DataFrame({"nc": list("ABCDE"), "y": [1.0, 2, 3, 4, 5], "SC1": [1.0, 2, 3, 4, 5]})
    df["SC2"] = [2.0, 2, 4, 5, 3]
    with pytest.raises(DataError, match="single observation"):
        ce.random_intercept(df, dv="y", community="nc")
    with pytest.raises(DataError, match="single respondent"):
        ce.ecometric(df, items=["SC1", "SC2"], community="nc")


def test_respondent_without_items_is_excluded_and_counted(fixtures) -> None:
    survey = pd.read_csv(fixtures / "mixed" / "survey.csv")
    wave = survey[survey["wave"] == "end"]
    before = wave.copy()
    res = ce.ecometric(wave, items=ITEMS, community="community", keys=["-SC3"])
    pd.testing.assert_frame_equal(wave, before)  # the caller's frame is untouched
    blank = wave[ITEMS].isna().all(axis=1)
    assert res.n_excluded_no_items == int(blank.sum()) == 2
    assert res.n_respondents == int((~blank).sum())
    dropped = ce.ecometric(wave[~blank], items=ITEMS, community="community", keys=["-SC3"])
    assert_allclose(res.loglik, dropped.loglik, rtol=1e-12)
    assert res.groups["n_respondents"].sum() == res.n_respondents


def test_missing_dv_is_excluded_counted_and_empty_community_kept() -> None:
    df = pd.DataFrame({"nc": list("AAABBBCCCD"), "y": [3, 4, 5, 2, np.nan, 3, 4, 4, 5, np.nan]})
    before = df.copy()
    res = ce.random_intercept(df, dv="y", community="nc")
    pd.testing.assert_frame_equal(df, before)
    assert res.n_excluded == 2 and res.n_used == 8
    d = res.groups.set_index("nc").loc["D"]
    assert d["n"] == 0 and np.isnan(d["mean"]) and d["reliability"] == 0
    assert_allclose(d["eb_mean"], res.fixed.estimate, rtol=1e-14)
    assert_allclose(d["posterior_sd"] ** 2, res.variance_components.tau2, rtol=1e-12)
    full = ce.random_intercept(df.dropna(), dv="y", community="nc")
    assert_allclose(res.variance_components.tau2, full.variance_components.tau2, rtol=1e-12)
    assert "NaN" not in res.to_json() and '"mean":[' in res.to_json()


def test_bad_arguments_raise_dataerror() -> None:
    df = pd.DataFrame({"nc": list("AABB"), "SC1": [1.0, 2, 3, 4], "SC2": [2.0, 2, 3, 5]})
    with pytest.raises(DataError, match="method"):
        ce.random_intercept(df, dv="SC1", community="nc", method="OLS")
    with pytest.raises(DataError, match="not found"):
        ce.random_intercept(df, dv="nope", community="nc")
    with pytest.raises(DataError, match="missing value"):
        ce.random_intercept(df.assign(nc=["A", None, "B", "B"]), dv="SC1", community="nc")
    with pytest.raises(DataError, match="duplicated ids"):
        ce.ecometric(
            df.assign(rid=[1, 1, 2, 3]), items=["SC1", "SC2"], community="nc", respondent="rid"
        )
    with pytest.raises(DataError, match="answered by nobody"):
        ce.ecometric(df.assign(SC3=np.nan), items=["SC1", "SC2", "SC3"], community="nc")
    with pytest.raises(DataError, match="outside scale_range"):
        ce.ecometric(df, items=["SC1", "SC2"], community="nc", keys=["-SC2"], scale_range=(1, 4))
    with pytest.raises(DataError, match="non-numeric"):
        ce.random_intercept(df.assign(SC1=["a", "b", "c", "d"]), dv="SC1", community="nc")


def test_covariates_adjust_and_missing_covariates_are_counted(fixtures) -> None:
    survey = pd.read_csv(fixtures / "mixed" / "survey.csv")
    wave = survey[survey["wave"] == "baseline"].copy()
    wave.loc[wave.index[:3], "age"] = np.nan
    res = ce.ecometric(wave, items=ITEMS, community="community", keys=["-SC3"], covariates=["age"])
    assert res.n_excluded_covariates == int(
        wave.loc[wave.index[:3], ITEMS].notna().any(axis=1).sum()
    )
    assert [c.term for c in res.covariate_effects] == ["age"]
    # the simulation puts older residents in better communities: adjusting shrinks tau_beta
    plain = ce.ecometric(
        wave.dropna(subset=["age"]), items=ITEMS, community="community", keys=["-SC3"]
    )
    assert res.variance_components.tau_beta < plain.variance_components.tau_beta
    assert res.covariate_effects[0].estimate > 0


def test_keys_reverse_items_like_manual_recoding(fixtures) -> None:
    survey = pd.read_csv(fixtures / "mixed" / "survey.csv")
    wave = survey[survey["wave"] == "baseline"]
    manual = wave.assign(SC3=6 - wave["SC3"])
    a = ce.ecometric(wave, items=ITEMS, community="community", keys={"SC3": -1}, scale_range=(1, 5))
    b = ce.ecometric(manual, items=ITEMS, community="community")
    assert_allclose(a.loglik, b.loglik, rtol=1e-12)
    assert_allclose(a.groups["eb_score"], b.groups["eb_score"], rtol=1e-10)
    # random_intercept on several items: the outcome is the mean of the answered (keyed) items
    c = ce.random_intercept(wave, dv=ITEMS, community="community", keys=["-SC3"])
    score = manual[ITEMS].mean(axis=1)
    d = ce.random_intercept(manual.assign(score=score), dv="score", community="community")
    assert_allclose(c.variance_components.tau2, d.variance_components.tau2, rtol=1e-10)
    assert c.n_excluded == 2 and c.dv == "mean(SC1, SC2, SC3, SC4, SC5)"


def test_results_round_trip_through_json(fixtures) -> None:
    survey = pd.read_csv(fixtures / "mixed" / "survey.csv")
    wave = survey[survey["wave"] == "baseline"]
    eco = ce.ecometric(wave, items=ITEMS, community="community", keys=["-SC3"])
    back = EcometricResult.model_validate_json(eco.to_json())
    pd.testing.assert_frame_equal(back.groups, eco.groups)
    assert back.variance_components == eco.variance_components
    ri = ce.random_intercept(wave, dv="SC1", community="community")
    back2 = RandomInterceptResult.model_validate_json(ri.model_dump_json())
    pd.testing.assert_frame_equal(back2.groups, ri.groups)
    assert list(ri.groups.columns) == [
        "community",
        "n",
        "mean",
        "eb_mean",
        "eb_deviation",
        "posterior_sd",
        "reliability",
    ]


# ---------------------------------------------------------------- properties
@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=3, max_size=12),
    seed=st.integers(0, 2**32 - 1),
    a=st.floats(-10, 10),
    b=st.floats(0.1, 10),
)
def test_random_intercept_affine_and_order_invariance(sizes, seed, a, b) -> None:
    rng = np.random.default_rng(seed)
    nc = np.repeat(np.arange(len(sizes)), sizes)
    y = rng.integers(1, 6, len(nc)).astype(float)
    df = pd.DataFrame({"nc": nc, "y": y})
    within = df.groupby("nc")["y"].transform(lambda s: s - s.mean())
    assume(max(sizes) > 1 and float((within**2).sum()) > 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ce.errors.ConvergenceWarning)
        r0 = ce.random_intercept(df, dv="y", community="nc")
        r1 = ce.random_intercept(df.assign(y=a + b * y), dv="y", community="nc")
        r2 = ce.random_intercept(df.sample(frac=1.0, random_state=1), dv="y", community="nc")
    v0, v1 = r0.variance_components, r1.variance_components
    assert_allclose(v1.sigma2, b**2 * v0.sigma2, rtol=1e-6)
    assert_allclose(v1.tau2, b**2 * v0.tau2, rtol=1e-5, atol=1e-8 * b**2 * v0.sigma2)
    assert_allclose(r1.groups["eb_mean"], a + b * r0.groups["eb_mean"], rtol=1e-6, atol=1e-6 * b)
    assert_allclose(r2.groups["eb_mean"], r0.groups["eb_mean"], rtol=1e-9, atol=1e-12)
    assert_allclose(r2.loglik, r0.loglik, rtol=1e-12)
    # lambda_j in [0, 1) and eb between the raw mean and the intercept
    g = r0.groups
    assert ((g["reliability"] >= 0) & (g["reliability"] < 1)).all()
    lo = np.minimum(g["mean"], r0.fixed.estimate) - 1e-9
    hi = np.maximum(g["mean"], r0.fixed.estimate) + 1e-9
    assert ((g["eb_mean"] >= lo) & (g["eb_mean"] <= hi)).all()
    # REML log-likelihood at the optimum is at least that at tau2 = 0 (the boundary)
    dev0, _ = ri_profile(y, np.ones((len(y), 1)), nc, len(sizes), 0.0)
    assert r0.loglik >= -0.5 * dev0 - 1e-9


def test_nested_engine_refuses_inconsistent_input() -> None:
    with pytest.raises(DataError, match="at least one observation"):
        fit_nested_lmm(np.ones(3), np.ones((3, 1)), np.array([0, 0, 2]), 3, np.zeros(3, int), 2)
    with pytest.raises(DataError, match="method"):
        fit_ri_lmm(np.ones(3), np.ones((3, 1)), np.zeros(3, int), 1, method="XX")
    with pytest.raises(DataError, match="rank deficient"):
        x = np.ones((6, 2))
        fit_ri_lmm(np.arange(6.0), x, np.array([0, 0, 0, 1, 1, 1]), 2)


def test_long_and_wide_nested_engines_agree() -> None:
    # fit_nested_lmm (long y, X) and fit_nested_wide (respondents x items) are the same model
    rng = np.random.default_rng(5)
    k, r, p = 25, 250, 4
    comm = rng.integers(0, k, r)
    yy = (rng.normal(0, 0.5, k)[comm] + rng.normal(0, 0.8, r))[:, None] + rng.normal(size=(r, p))
    yy[rng.random(yy.shape) < 0.25] = np.nan
    yy[np.isnan(yy).all(axis=1), 2] = 1.0
    z = rng.normal(size=(r, 1))
    z -= z.mean()
    wide = fit_nested_wide(yy, z, comm, k, method="ML")
    rr, ii = np.nonzero(~np.isnan(yy))
    long = fit_nested_lmm(
        yy[rr, ii], np.column_stack([np.eye(p)[ii], z[rr]]), rr, r, comm, k, method="ML"
    )
    for name in ("tau_beta", "tau_pi", "sigma2", "loglik"):
        assert_allclose(getattr(wide, name), getattr(long, name), rtol=1e-9)
    assert_allclose(wide.beta, long.beta, rtol=1e-9)
    assert_allclose(wide.eb, long.eb, rtol=1e-7, atol=1e-12)
    assert wide.n_obs == long.n_obs == len(rr)


def test_unverified_fit_warns_and_reports(monkeypatch) -> None:
    # a fit that fails the checks must say so: converged False and a ConvergenceWarning
    import dataclasses

    import collective_efficacy.multilevel.mixed as mixed

    real = mixed.fit_ri_intercept

    def fake(*args, **kwargs):
        fit = real(*args, **kwargs)
        return dataclasses.replace(fit, converged=False, hessian_pd=False, message="forced")

    monkeypatch.setattr(mixed, "fit_ri_intercept", fake)
    df = pd.DataFrame({"nc": list("AAABBBCCC"), "ce": [3, 4, 5, 2, 3, 3, 4, 4, 5]})
    with pytest.warns(ce.errors.ConvergenceWarning, match="forced"):
        res = ce.random_intercept(df, dv="ce", community="nc")
    assert not res.converged and not res.diagnostics.hessian_pd

"""Change model (issue 14): reference values from R lme4 1.1-31 + lmerTest.

Fixtures: tests/fixtures/r/change_model.R (bobyqa, rhoend = 1e-12, multistart and restart so the
reference is the optimum; versions in tests/fixtures/change_model/versions.json).

Cases: sleepstudy (time=Days) REML/ML; a simulated two-wave survey REML/ML, with a covariate,
with comparison communities (difference-in-differences) REML/ML, a boundary (singular) fit;
a partial panel with ``(1 | respondent)`` REML/ML.

Tolerance, stated per number: rtol 1e-5 on every fitted quantity (fixed effects, SEs,
Satterthwaite df, variance components, correlation, theta, BLUPs and their conditional SDs);
the log-likelihood, AIC and BIC rtol 1e-9 (the deviance is flat at the optimum). Values near 0
(a BLUP, a covariance) get an absolute tolerance of 1e-5 times the scale of their column.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy._groups import factorize_groups
from collective_efficacy.multilevel._lmm_slope import fit_rs_lmm, rs_profile

RTOL = 1e-5
TERMS = {
    "(Intercept)": "intercept",
    "Days": "time",
    "change": "change",
    "programme": "programme",
    "change:programme": "programme:change",
    "age": "age",
}


def _ref(fixtures, key):
    return json.loads((fixtures / "change_model" / "reference.json").read_text())[key]


def _close(ours, ref, rtol=RTOL):
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    assert_allclose(ours, ref, rtol=rtol, atol=rtol * float(np.max(np.abs(ref))))


def _fit(fixtures, case, method):
    if case == "sleepstudy":
        d = pd.read_csv(fixtures / "mixed" / "sleepstudy.csv")
        return ce.change_model(
            d, dv="Reaction", community="Subject", time="Days", method=method, min_n=1
        )
    d = pd.read_csv(
        fixtures / "change_model" / ("boundary.csv" if case == "boundary" else "survey.csv")
    )
    if case == "panel":
        d = pd.read_csv(fixtures / "change_model" / "panel.csv")
        return ce.change_model(
            d, dv="score", community="community", respondent="respondent", method=method
        )
    kw = {"comparison": "comparison"} if case == "did" else {}
    if case == "covariate":
        kw = {"covariates": ["age"]}
    return ce.change_model(d, dv="score", community="community", method=method, **kw)


CASES = [
    ("sleepstudy", "REML"),
    ("sleepstudy", "ML"),
    ("survey", "REML"),
    ("survey", "ML"),
    ("did", "REML"),
    ("did", "ML"),
    ("covariate", "REML"),
    ("boundary", "REML"),
    ("panel", "REML"),
    ("panel", "ML"),
]


@pytest.mark.parametrize(("case", "method"), CASES)
def test_change_model_matches_lme4(fixtures, case, method) -> None:
    ref = _ref(fixtures, f"{case}_{method}")
    m = _fit(fixtures, case, method.lower())
    fx = m.fixed.set_index("term")
    terms = [TERMS[t] for t in ref["terms"]]
    assert sorted(terms) == sorted(fx.index)
    fx = fx.loc[terms]
    _close(fx["estimate"], ref["estimate"])  # fixef(m)
    _close(fx["se"], ref["se"])  # sqrt(diag(vcov(m)))
    _close(fx["df"], ref["df"])  # summary(m)$coefficients[, "df"] (lmerTest Satterthwaite)
    _close(fx["t"], ref["t"])
    _close(fx["p"], ref["p"])
    vc = m.variance_components
    # as.data.frame(VarCorr(m))$vcov / $sdcor
    _close(vc.var_intercept, ref["var_intercept"])
    _close(vc.var_change, ref["var_change"])
    _close(vc.sigma2, ref["sigma2"])
    assert_allclose(vc.cov, ref["cov"], rtol=RTOL, atol=RTOL * ref["var_intercept"])
    assert_allclose(vc.corr, ref["corr"], rtol=RTOL, atol=RTOL)
    # getME(m, "theta"); with (1 | respondent) lme4 puts the respondent term first
    theta = ref["theta"][1:] + ref["theta"][:1] if case == "panel" else ref["theta"]
    assert_allclose(m.theta, theta, rtol=RTOL, atol=RTOL * max(theta))
    if case == "panel":
        _close(vc.var_respondent, ref["var_respondent"])
    else:
        assert vc.var_respondent is None and ref["var_respondent"] is None
    assert_allclose(m.loglik, ref["loglik"], rtol=1e-9)  # logLik(m)
    assert_allclose(m.aic, ref["aic"], rtol=1e-9)  # AIC(m)
    assert_allclose(m.bic, ref["bic"], rtol=1e-9)  # BIC(m)
    assert m.n_obs == ref["n_obs"]
    assert m.converged
    assert m.boundary == ref["singular"]  # isSingular(m)
    # ranef(m, condVar = TRUE): BLUPs and sqrt(diag(postVar)) for the published communities
    com = m.communities.set_index(m.community)
    keep = ~com["suppressed"].to_numpy()
    groups = [str(g) for g in ref["groups"]]
    com.index = com.index.astype(str)
    r = pd.DataFrame({k: ref[k] for k in ref if k.startswith("ranef_")}, index=groups)
    r = r.loc[com.index[keep]]
    ours = com.loc[keep]
    for col in r.columns:
        _close(ours[col], r[col])
    # EB change = fixed change (+ programme:change) + ranef change
    prog = ours["programme"].to_numpy(float) if "programme" in ours else 0.0
    beta = dict(zip(terms, ref["estimate"]))
    slope = "time" if case == "sleepstudy" else "change"
    expected = beta[slope] + beta.get("programme:change", 0.0) * prog + r["ranef_change"]
    _close(ours["change"], expected)
    _close(ours["posterior_sd"], r["ranef_change_sd"])


@pytest.mark.parametrize(("case", "method"), [("survey", "REML"), ("did", "ML")])
def test_engine_blups_for_every_community(fixtures, case, method) -> None:
    """The engine's BLUPs include the suppressed communities (they stay in the fit)."""
    ref = _ref(fixtures, f"{case}_{method}")
    d = pd.read_csv(fixtures / "change_model" / "survey.csv").dropna(subset=["score"])
    gi = factorize_groups(d, "community")
    t = (d["wave"] == "end_of_cycle").to_numpy(float)
    cols = [np.ones(len(d)), t]
    if case == "did":
        prog = 1.0 - d["comparison"].to_numpy(float)
        cols += [prog, prog * t]
    fit = fit_rs_lmm(
        d["score"].to_numpy(), np.column_stack(cols), t, gi.codes, gi.n_groups, method=method
    )
    order = pd.Index(gi.labels.astype(str)).get_indexer([str(g) for g in ref["groups"]])
    _close(fit.ranef[order, 0], ref["ranef_intercept"])
    _close(fit.ranef[order, 1], ref["ranef_change"])
    _close(np.sqrt(fit.ranef_cov[order, 1, 1]), ref["ranef_change_sd"])
    _close(fit.beta_cov.ravel(), ref["vcov"])  # as.numeric(as.matrix(vcov(m)))
    assert fit.converged and fit.max_abs_grad < 1e-6 and fit.hessian_pd


def test_analytic_gradient_matches_finite_differences(fixtures) -> None:
    d = pd.read_csv(fixtures / "mixed" / "sleepstudy.csv")
    codes, labels = pd.factorize(d["Subject"], sort=True)
    X = np.column_stack([np.ones(len(d)), d["Days"]])
    args = (d["Reaction"].to_numpy(), X, d["Days"].to_numpy(float), codes, len(labels))
    for method in ("REML", "ML"):
        theta = np.array([0.7, -0.1, 0.3])
        _, grad = rs_profile(*args, theta, method=method)
        h = 1e-6
        num = [
            (
                rs_profile(*args, theta + e, method=method)[0]
                - rs_profile(*args, theta - e, method=method)[0]
            )
            / (2 * h)
            for e in np.eye(3) * h
        ]
        assert_allclose(grad, num, rtol=1e-6)

"""Change model (issue 14): behaviour, bad input and the verdict/interval contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pydantic
import pytest
from scipy import stats

import collective_efficacy as ce
from collective_efficacy.errors import DataError


@pytest.fixture
def survey(fixtures) -> pd.DataFrame:
    return pd.read_csv(fixtures / "change_model" / "survey.csv")


def test_data_not_modified_and_row_order_irrelevant(survey) -> None:
    copy = survey.copy()
    m1 = ce.change_model(survey, dv="score", community="community", comparison="comparison")
    pd.testing.assert_frame_equal(survey, copy)
    shuffled = survey.sample(frac=1.0, random_state=1).reset_index(drop=True)
    m2 = ce.change_model(shuffled, dv="score", community="community", comparison="comparison")
    np.testing.assert_allclose(m1.loglik, m2.loglik, rtol=1e-12)
    a, b = m1.communities, m2.communities
    pd.testing.assert_series_equal(a["community"], b["community"])
    np.testing.assert_allclose(a["change"], b["change"], rtol=1e-6)


def test_verdict_is_the_interval_and_p_improved(survey) -> None:
    """The interval is the integrated posterior's mean -/+ z sd (not centred on the EB
    ``change``); the verdict is that interval; p_improved is Phi(mean / sd)."""
    m = ce.change_model(survey, dv="score", community="community", ci=0.9)
    c = m.communities[~m.communities["suppressed"]]
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(
        c["ci_low"], c["integrated_mean"] - z * c["integrated_sd"], rtol=1e-12
    )
    np.testing.assert_allclose(
        c["ci_high"], c["integrated_mean"] + z * c["integrated_sd"], rtol=1e-12
    )
    expected = np.where(
        c["ci_low"] > 0, "improved", np.where(c["ci_high"] < 0, "declined", "no clear change")
    )
    assert (c["verdict"].to_numpy() == expected).all()
    assert set(c["verdict"]) >= {"improved", "no clear change"}
    np.testing.assert_allclose(
        c["p_improved"], stats.norm.cdf(c["integrated_mean"] / c["integrated_sd"])
    )
    # improved <=> p_improved above (1 + ci) / 2: the same rule in two forms
    assert ((c["p_improved"] > 0.95) == (c["verdict"] == "improved")).all()
    assert (c["interval_method"] == "grid").all()  # 40 communities: the grid rule
    vc = m.variance_components
    np.testing.assert_allclose(c["reliability"], 1 - c["ranef_change_sd"] ** 2 / vc.var_change)
    np.testing.assert_allclose(c["shrinkage"], 1 - c["reliability"])
    assert ((c["reliability"] > 0) & (c["reliability"] < 1)).all()
    # the prediction SD adds the fixed effects' and the variances' uncertainty: never smaller
    assert (c["prediction_sd"] >= c["posterior_sd"]).all()
    # so does the integrated posterior (it adds the fixed effects' uncertainty and the spread
    # of the EB change over the covariance parameters to the conditional variance)
    assert (c["integrated_sd"] >= c["posterior_sd"]).all()
    np.testing.assert_allclose(c["confidence"], 0.9)


def test_suppression_and_counts(survey) -> None:
    m = ce.change_model(survey, dv="score", community="community", min_n=10)
    c = m.communities
    d = survey.dropna(subset=["score"])
    n_b = d[d.wave == "baseline"].groupby("community").size()
    n_a = d[d.wave == "end_of_cycle"].groupby("community").size()
    ci = c.set_index("community")
    assert (ci["n_before"] == n_b.reindex(ci.index, fill_value=0)).all()
    assert (ci["n_after"] == n_a.reindex(ci.index, fill_value=0)).all()
    assert m.n_missing == int(survey["score"].isna().sum()) == int(c["n_missing"].sum())
    sup = (ci["n_before"] < 10) | (ci["n_after"] < 10)
    assert (ci["suppressed"] == sup).all() and sup.sum() == 2 == m.n_suppressed
    stat_cols = ["raw_change", "change", "posterior_sd", "ci_low", "ci_high", "p_improved"]
    stat_cols += ["reliability", "shrinkage", "ranef_intercept", "ranef_change"]
    assert ci.loc[sup, stat_cols].isna().all().all()
    assert ci.loc[sup, "verdict"].isna().all() and ci.loc[sup, "reason"].notna().all()
    assert ci.loc[~sup, stat_cols].notna().all().all() and ci.loc[~sup, "reason"].isna().all()
    # the community seen at the baseline only stays in the fit and is suppressed with a reason
    once = ci[ci["n_after"] == 0]
    assert len(once) == 1 and "after wave" in once["reason"].iloc[0]
    # raw change = difference of the wave means
    means = d.groupby(["community", "wave"])["score"].mean().unstack()
    raw = (means["end_of_cycle"] - means["baseline"]).reindex(ci.index)
    np.testing.assert_allclose(ci.loc[~sup, "raw_change"], raw[~sup], rtol=1e-12)


def test_min_n_changes_only_publication(survey) -> None:
    a = ce.change_model(survey, dv="score", community="community", min_n=10)
    b = ce.change_model(survey, dv="score", community="community", min_n=1)
    assert a.loglik == b.loglik and a.n_suppressed == 2 and b.n_suppressed == 1


def test_did_terms_and_programme_change(survey) -> None:
    m = ce.change_model(survey, dv="score", community="community", comparison="comparison")
    assert m.fixed["term"].tolist() == ["intercept", "change", "programme", "programme:change"]
    c = m.communities
    prog = survey.groupby("community")["comparison"].first().reindex(c["community"]) == 0
    assert (c["programme"].to_numpy() == prog.to_numpy()).all()
    fx = m.fixed.set_index("term")["estimate"]
    ok = ~c["suppressed"]
    np.testing.assert_allclose(
        c.loc[ok, "change"],
        fx["change"] + fx["programme:change"] * c.loc[ok, "programme"] + c.loc[ok, "ranef_change"],
    )
    q = stats.t.ppf(0.975, m.fixed["df"])
    np.testing.assert_allclose(m.fixed["ci_low"], m.fixed["estimate"] - q * m.fixed["se"])
    assert m.formula == "score ~ change + programme + programme:change + (1 + change | community)"


def test_boolean_comparison_and_covariate_exclusions(survey) -> None:
    d = survey.assign(comparison=survey["comparison"].astype(bool))
    d.loc[d.index[:3], "age"] = np.nan
    m = ce.change_model(
        d, dv="score", community="community", comparison="comparison", covariates=["age"]
    )
    missing_score = d["score"].isna()
    assert m.n_excluded_covariates == int((d["age"].isna() & ~missing_score).sum())
    assert m.n_obs == int((~missing_score & d["age"].notna()).sum())


def test_outputs_round_trip(survey) -> None:
    m = ce.change_model(survey, dv="score", community="community")
    data = json.loads(m.to_json())
    assert data["converged"] is True and data["method"] == "REML"
    back = ce.ChangeModel.model_validate_json(m.to_json())
    pd.testing.assert_frame_equal(back.communities, m.communities)
    pd.testing.assert_frame_equal(m.to_frame(), m.communities)
    s = m.summary()
    assert s["kind"].tolist() == ["fixed"] * 2 + ["variance"] * 5
    with pytest.raises(pydantic.ValidationError):  # frozen
        m.loglik = 0.0  # type: ignore[misc]


def test_time_trend(fixtures) -> None:
    d = pd.read_csv(fixtures / "mixed" / "sleepstudy.csv")
    m = ce.change_model(d, dv="Reaction", community="Subject", time="Days", min_n=5)
    assert m.fixed["term"].tolist() == ["intercept", "time"]
    assert {"n", "change"} <= set(m.communities.columns)
    assert "raw_change" not in m.communities and "n_before" not in m.communities
    assert m.wave is None and m.time == "Days"


def test_method_upper_case_alias(survey) -> None:
    a = ce.change_model(survey, dv="score", community="community", method="ML")
    b = ce.change_model(survey, dv="score", community="community", method="ml")
    assert a.loglik == b.loglik and a.method == "ML"


# ---- bad input: a clear error or a documented result ----


def test_one_wave_only(survey) -> None:
    one = survey[survey["wave"] == "baseline"]
    with pytest.raises(DataError, match="one wave only"):
        ce.change_model(one, dv="score", community="community")


def test_all_communities_of_size_one() -> None:
    d = pd.DataFrame(
        {
            "community": [f"C{i}" for i in range(20)] * 2,
            "wave": ["baseline"] * 20 + ["end_of_cycle"] * 20,
            "score": np.arange(40.0) % 7,
        }
    )
    with pytest.raises(DataError, match="not identifiable"):
        ce.change_model(d, dv="score", community="community")


def test_boundary_fit_is_reported(fixtures) -> None:
    d = pd.read_csv(fixtures / "change_model" / "boundary.csv")
    m = ce.change_model(d, dv="score", community="community")
    assert m.boundary and m.converged and m.diagnostics.at_boundary
    assert m.diagnostics.boundary_components == ["corr"]
    assert abs(m.variance_components.corr) == pytest.approx(1.0, abs=1e-12)


def test_no_variance_in_change_is_a_documented_boundary_fit() -> None:
    """Every community changes by exactly 0.2 (the after wave is the baseline + 0.2): the
    variance of the change is estimated as 0 (a boundary fit, reported and named, as lme4's
    singular fit). Documented result: every community's change is the overall change, its
    conditional SD 0, its reliability undefined, and its interval at least the fixed change's."""
    rng = np.random.default_rng(5)
    k, n = 12, 10
    base = 3 + rng.normal(0, 0.5, k)[np.repeat(np.arange(k), n)] + rng.normal(0, 0.8, k * n)
    comm = np.repeat([f"C{j:02d}" for j in range(k)], n)
    d = pd.DataFrame(
        {
            "community": np.concatenate([comm, comm]),
            "wave": ["baseline"] * (k * n) + ["end_of_cycle"] * (k * n),
            "score": np.concatenate([base, base + 0.2]),
        }
    )
    m = ce.change_model(d, dv="score", community="community")
    assert m.boundary and m.converged and m.diagnostics.boundary_components == ["var_change"]
    assert m.variance_components.var_change == 0.0
    c = m.communities
    fixed = m.fixed.set_index("term").loc["change"]
    # the overall change is the common change 0.2 (every community's raw change), to 1e-10
    assert fixed["estimate"] == pytest.approx(0.2, rel=1e-10)
    np.testing.assert_allclose(c["raw_change"], 0.2, rtol=1e-10)
    np.testing.assert_allclose(c["change"], fixed["estimate"], rtol=1e-12)
    assert (c["ranef_change"] == 0).all() and (c["posterior_sd"] == 0).all()
    assert c["reliability"].isna().all()
    # the interval rests on the shared change: never narrower than the fixed change's SE
    assert (c["prediction_sd"] >= fixed["se"] * (1 - 1e-9)).all()
    expected = np.where(
        c["ci_low"] > 0, "improved", np.where(c["ci_high"] < 0, "declined", "no clear change")
    )
    assert (c["verdict"].to_numpy() == expected).all()


def test_community_in_one_wave_only_is_kept_and_suppressed(survey) -> None:
    """A community measured in one wave only stays in the fit (its residents inform the
    intercepts) and is suppressed with a reason; with time=, one observed time likewise."""
    name = survey["community"].iloc[0]
    d = survey[~((survey["community"] == name) & (survey["wave"] != "baseline"))]
    m = ce.change_model(d, dv="score", community="community", min_n=1)
    row = m.communities.set_index("community").loc[name]
    assert row["n_after"] == 0 and row["suppressed"] and "after wave" in row["reason"]
    assert np.isnan(row["change"]) and pd.isna(row["verdict"])
    assert m.n_obs == int(d["score"].notna().sum())  # nobody dropped
    dt = d.assign(t=np.where(d["wave"] == "baseline", 0.0, 12.0))
    mt = ce.change_model(dt, dv="score", community="community", time="t", min_n=1)
    rt = mt.communities.set_index("community").loc[name]
    assert rt["suppressed"] and rt["reason"] == "observed at a single time"
    assert mt.n_obs == m.n_obs


def test_comparison_varying_within_community(survey) -> None:
    d = survey.copy()
    d.loc[d.index[0], "comparison"] = 1 - d.loc[d.index[0], "comparison"]
    with pytest.raises(DataError, match="varies within 1 community"):
        ce.change_model(d, dv="score", community="community", comparison="comparison")


@pytest.mark.parametrize("bad", [[0, 1, 2], [0, 0, np.nan]])
def test_comparison_bad_values(survey, bad) -> None:
    d = survey.copy()
    d["comparison"] = d["comparison"].astype(float)
    d.loc[d.index[:3], "comparison"] = bad
    with pytest.raises(DataError, match="comparison column 'comparison'"):
        ce.change_model(d, dv="score", community="community", comparison="comparison")


def test_comparison_all_one_kind(survey) -> None:
    with pytest.raises(DataError, match="every community is a comparison"):
        ce.change_model(
            survey.assign(comparison=1), dv="score", community="community", comparison="comparison"
        )


def test_time_single_value(survey) -> None:
    with pytest.raises(DataError, match="single value"):
        ce.change_model(survey.assign(t=3.0), dv="score", community="community", time="t")


def test_time_missing(survey) -> None:
    d = survey.assign(t=np.where(survey["wave"] == "baseline", 0.0, 12.0))
    d.loc[d.index[2], "t"] = np.nan
    with pytest.raises(DataError, match="time column 't' has missing"):
        ce.change_model(d, dv="score", community="community", time="t")


def test_unknown_wave_label_and_columns(survey) -> None:
    with pytest.raises(DataError, match="neither before"):
        ce.change_model(survey, dv="score", community="community", after="end")
    with pytest.raises(DataError, match="not found"):
        ce.change_model(survey, dv="nope", community="community")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"method": "bayes"}, "method"),
        ({"ci": 1.5}, "ci must"),
        ({"min_n": 0}, "min_n"),
        ({"covariates": ["wave"]}, "non-numeric"),
    ],
)
def test_bad_options(survey, kw, match) -> None:
    with pytest.raises(DataError, match=match):
        ce.change_model(survey, dv="score", community="community", **kw)


def test_constant_covariate(survey) -> None:
    with pytest.raises(DataError, match="constant"):
        ce.change_model(survey.assign(k=1.0), dv="score", community="community", covariates=["k"])


# ---- the panel term (respondent=) ----


@pytest.fixture
def panel(fixtures) -> pd.DataFrame:
    return pd.read_csv(fixtures / "change_model" / "panel.csv")


def test_panel_counts_and_everyone_contributes(panel) -> None:
    m = ce.change_model(panel, dv="score", community="community", respondent="respondent")
    per = panel.groupby("respondent").size()
    assert m.n_respondents == len(per) and m.n_repeated == int((per > 1).sum())
    assert m.n_obs == len(panel)  # one-time respondents are not dropped
    assert m.formula.endswith("+ (1 | respondent)")
    assert "var_respondent" in m.summary()["term"].tolist()


def test_panel_bad_input(panel) -> None:
    dup = pd.concat([panel, panel.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="more than once in one wave"):
        ce.change_model(dup, dv="score", community="community", respondent="respondent")
    moved = panel.copy()
    rid = moved["respondent"].value_counts().index[0]  # a panel member
    first = moved.index[moved["respondent"] == rid][0]
    moved.loc[first, "community"] = "Elsewhere"
    with pytest.raises(DataError, match="more than one community"):
        ce.change_model(moved, dv="score", community="community", respondent="respondent")
    once = panel.assign(respondent=[f"x{i}" for i in range(len(panel))])
    with pytest.raises(DataError, match="no respondent answers in more than one wave"):
        ce.change_model(once, dv="score", community="community", respondent="respondent")
    missing = panel.copy()
    missing.loc[missing.index[0], "respondent"] = None
    with pytest.raises(DataError, match="respondent column 'respondent' has 1 missing"):
        ce.change_model(missing, dv="score", community="community", respondent="respondent")


def test_panel_gradient_matches_finite_differences(panel) -> None:
    from collective_efficacy.multilevel._lmm_slope import rs_profile

    cc, _ = pd.factorize(panel["community"])
    rc, _ = pd.factorize(panel["respondent"])
    t = (panel["wave"] == "end_of_cycle").to_numpy(float)
    X = np.column_stack([np.ones(len(t)), t])
    args = (panel["score"].to_numpy(), X, t, cc, int(cc.max()) + 1)
    theta = np.array([0.5, 0.1, 0.3, 0.7])
    for method in ("REML", "ML"):
        _, grad = rs_profile(*args, theta, method=method, resp=rc)
        h = 1e-6
        num = [
            (
                rs_profile(*args, theta + e, method=method, resp=rc)[0]
                - rs_profile(*args, theta - e, method=method, resp=rc)[0]
            )
            / (2 * h)
            for e in np.eye(4) * h
        ]
        np.testing.assert_allclose(grad, num, rtol=1e-6)


def test_affine_invariance(survey) -> None:
    """score -> 2 score + 5: changes double, variances x4, verdicts and df unchanged."""
    a = ce.change_model(survey, dv="score", community="community")
    b = ce.change_model(survey.assign(score=2 * survey["score"] + 5), dv="score",
                        community="community")  # fmt: skip
    ca, cb = a.communities, b.communities
    ok = ~ca["suppressed"]
    np.testing.assert_allclose(cb.loc[ok, "change"], 2 * ca.loc[ok, "change"], rtol=1e-6)
    np.testing.assert_allclose(cb.loc[ok, "reliability"], ca.loc[ok, "reliability"], rtol=1e-6)
    assert (cb["verdict"].fillna("-") == ca["verdict"].fillna("-")).all()
    va, vb = a.variance_components, b.variance_components
    np.testing.assert_allclose(vb.var_change, 4 * va.var_change, rtol=1e-6)
    np.testing.assert_allclose(b.fixed["df"], a.fixed["df"], rtol=1e-6)


def test_integer_labels_kept() -> None:
    rng = np.random.default_rng(5)
    k = np.repeat(np.arange(12) * 10, 24)
    d = pd.DataFrame(
        {
            "nc": k,
            "wave": np.tile(np.repeat(["baseline", "end_of_cycle"], 12), 12),
            "y": rng.normal(size=len(k)) + (k / 100),
        }
    )
    m = ce.change_model(d, dv="y", community="nc")
    assert m.communities["nc"].tolist() == list(range(0, 120, 10))
    assert m.community == "nc"


def test_nan_policy_raise(survey) -> None:
    with pytest.raises(DataError, match="missing value in \\['score'\\]"):
        ce.change_model(survey, dv="score", community="community", nan_policy="raise")
    full = survey.dropna(subset=["score"])
    m = ce.change_model(full, dv="score", community="community", nan_policy="raise")
    assert m.n_missing == 0
    with pytest.raises(DataError, match="nan_policy"):
        ce.change_model(survey, dv="score", community="community", nan_policy="drop")


@pytest.mark.parametrize("dtype", [object, "category"])
def test_wave_column_storage_does_not_matter(survey, dtype) -> None:
    """Arrow-backed text (one pass over the labels) and other storages give the same fit."""
    assert getattr(survey["wave"].dtype, "storage", None) == "pyarrow"
    other = survey.assign(wave=survey["wave"].astype(dtype))
    a = ce.change_model(survey, dv="score", community="community")
    b = ce.change_model(other, dv="score", community="community")
    assert a.loglik == b.loglik  # the same rows in the same waves: bit for bit
    pd.testing.assert_frame_equal(a.communities, b.communities)
    bad = survey.assign(wave=survey["wave"].where(survey.index != 3, "mid"))
    with pytest.raises(DataError, match="neither before='baseline' nor after='end_of_cycle'"):
        ce.change_model(bad, dv="score", community="community")

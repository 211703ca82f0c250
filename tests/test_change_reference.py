"""Reference tests of collective_efficacy.change against R (fixtures from tests/fixtures/r/change.R).

R 4.2.2, stats, nlme 3.1-162, lme4 1.1-31, lmerTest, effectsize 0.8.3 (versions.json).
Tolerances are stated per assertion:
* closed-form statistics (t-tests, p.adjust, Wilcoxon exact, rank-biserial, RCI): 1e-9 relative;
* noncentral-t CIs: 1e-8 against R's uniroot(tol = 1e-12) solution; 2e-4 against effectsize,
  whose optim() (abstol 1e-9 on the probability scale) is only that precise;
* Wilcoxon normal-approximation CI / estimate: 1e-7 against tol.root = 1e-10 and 2e-4 against
  R's default tol.root = 1e-4;
* REML wave effect: 1e-6 relative (two optimisers), df exact;
* EB scores and posterior SDs: 1e-6 absolute (lme4's optimiser tolerance).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.change._ranks import wilcoxon_signed_rank
from collective_efficacy.change._stats import hedges_j

FIX = Path(__file__).parent / "fixtures" / "change"
REL = 1e-9


def _json(name: str) -> dict:
    return json.loads((FIX / name).read_text())


SLEEP = _json("sleep.json")
SURVEY = _json("survey.json")
PADJ = _json("padjust.json")


@pytest.fixture(scope="module")
def sleep_long() -> pd.DataFrame:
    d = pd.read_csv(FIX / "sleep.csv")
    d["wave"] = np.where(d["Days"] == 0, "baseline", "end")
    return d


@pytest.fixture(scope="module")
def sleep_pairs(sleep_long: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    d = sleep_long.sort_values(["Subject", "Days"])
    b = d.loc[d["Days"] == 0, "Reaction"].to_numpy()
    a = d.loc[d["Days"] == 9, "Reaction"].to_numpy()
    return b, a


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return pd.read_csv(FIX / "survey.csv")


def _row(res: pd.DataFrame, measure: str) -> pd.Series:
    return res.set_index("measure").loc[measure]


# ---- sleepstudy: paired -------------------------------------------------------------------------


def test_paired_t_matches_t_test(sleep_pairs):
    b, a = sleep_pairs
    for ci, key in ((0.95, "t_paired"), (0.90, "t_paired_90")):
        r = _row(ce.paired_change(b, a, ci=ci), "mean_difference")
        ref = SLEEP[key]  # t.test(after, before, paired = TRUE, conf.level = ci)
        assert_allclose(r["estimate"], ref["estimate"], rtol=REL)
        assert_allclose(r["statistic"], ref["statistic"], rtol=REL)
        assert r["df"] == ref["df"]
        assert_allclose(r["p"], ref["p"], rtol=1e-7)
        assert_allclose([r["ci_low"], r["ci_high"]], [ref["ci_low"], ref["ci_high"]], rtol=REL)


@pytest.mark.parametrize("ci,key", [(0.95, "wilcox_exact"), (0.90, "wilcox_exact_90")])
def test_wilcoxon_exact_matches_wilcox_test(sleep_pairs, ci, key):
    b, a = sleep_pairs
    r = _row(ce.paired_change(b, a, ci=ci), "pseudo_median")
    ref = SLEEP[key]  # wilcox.test(after, before, paired = TRUE, conf.int = TRUE)
    assert "exact" in r["method"] and "exact" in ref["method"]
    assert r["statistic"] == ref["statistic"]
    assert_allclose(r["p"], ref["p"], rtol=1e-12)
    assert_allclose(r["estimate"], ref["estimate"], rtol=1e-12)
    assert_allclose([r["ci_low"], r["ci_high"]], [ref["ci_low"], ref["ci_high"]], rtol=1e-12)


def test_wilcoxon_normal_matches_wilcox_test(sleep_pairs):
    b, a = sleep_pairs
    # wilcox.test(..., exact = FALSE, conf.int = TRUE [, tol.root = 1e-10])
    r = wilcoxon_signed_rank(a - b, ci=0.95, exact=False)
    tight, default = SLEEP["wilcox_normal_tight"], SLEEP["wilcox_normal"]
    assert r["statistic"] == tight["statistic"]
    assert_allclose(r["p"], tight["p"], rtol=1e-10)
    got = [r["estimate"], r["ci_low"], r["ci_high"]]
    assert_allclose(got, [tight["estimate"], tight["ci_low"], tight["ci_high"]], rtol=1e-7)
    assert_allclose(got, [default["estimate"], default["ci_low"], default["ci_high"]], atol=2e-4)


def test_wilcoxon_ties_and_zeros(sleep_pairs):
    b = np.array(SLEEP["before_r"])
    a = np.array(SLEEP["after_r"])
    res = ce.paired_change(b, a)
    r = _row(res, "pseudo_median")
    ref = SLEEP["wilcox_ties_tight"]  # tol.root = 1e-10; ties and a zero: normal approximation
    assert "normal approximation" in r["method"]
    assert "zero difference" in r["note"]
    assert r["statistic"] == ref["statistic"]
    assert_allclose(r["p"], ref["p"], rtol=1e-10)
    assert_allclose(
        [r["estimate"], r["ci_low"], r["ci_high"]],
        [ref["estimate"], ref["ci_low"], ref["ci_high"]],
        rtol=1e-8,
    )
    rb = _row(res, "rank_biserial")
    ref = SLEEP["rank_biserial_ties"]  # effectsize::rank_biserial(paired = TRUE)
    assert_allclose([rb["estimate"], rb["ci_low"], rb["ci_high"]], [1, 1, 1], rtol=1e-12)
    assert ref["estimate"] == 1


def test_rank_biserial_matches_effectsize(sleep_pairs):
    b, a = sleep_pairs
    r = _row(ce.paired_change(b, a), "rank_biserial")
    ref = SLEEP["rank_biserial"]
    assert_allclose(
        [r["estimate"], r["ci_low"], r["ci_high"]],
        [ref["estimate"], ref["ci_low"], ref["ci_high"]],
        rtol=1e-12,
    )
    # sign follows the direction of change (Kerby 2014): swapping the waves flips it
    r2 = _row(ce.paired_change(a, b), "rank_biserial")
    assert_allclose(r2["estimate"], -ref["estimate"], rtol=1e-12)


def test_paired_effect_sizes(sleep_pairs):
    b, a = sleep_pairs
    res = ce.paired_change(b, a)
    ref = SLEEP["paired_d"]
    for name in ("z", "av", "av_lakens", "rm"):
        r, e = _row(res, f"d_{name}"), ref[f"d_{name}"]
        # d_z: exact noncentral-t (uniroot, tol 1e-12); others: closed-form normal CIs
        assert_allclose(
            [r["estimate"], r["ci_low"], r["ci_high"]],
            [e["estimate"], e["ci_low"], e["ci_high"]],
            rtol=1e-8,
        )
        g = _row(res, f"g_{name}")
        assert_allclose(
            [g["estimate"], g["ci_low"], g["ci_high"]],
            np.array([e["estimate"], e["ci_low"], e["ci_high"]]) * ref["J"],
            rtol=1e-8,
        )
    # effectsize 0.8.3: cohens_d(paired = TRUE) is d_z, hedges_g(paired = TRUE) is J * d_z;
    # their noncentral-t limits come from optim(): 2e-4
    for key, meas in (("cohens_d_paired", "d_z"), ("hedges_g_paired", "g_z")):
        r, e = _row(res, meas), SLEEP[key]
        assert_allclose(r["estimate"], e["estimate"], rtol=1e-10)
        assert_allclose([r["ci_low"], r["ci_high"]], [e["ci_low"], e["ci_high"]], atol=2e-4)


def test_compare_waves_paired_sleep(sleep_long):
    res = ce.compare_waves(
        sleep_long, dv="Reaction", community=None, paired_on="Subject", after="end"
    )
    assert len(res) == 1 and res["level"].iloc[0] == "overall"
    r = res.iloc[0]
    ref = SLEEP["t_paired"]
    assert r["n_paired"] == 18 and r["n_attrition"] == 0
    assert_allclose([r["diff"], r["t"], r["p"]], [ref["estimate"], ref["statistic"], ref["p"]],
                    rtol=1e-7)  # fmt: skip
    assert_allclose([r["ci_low"], r["ci_high"]], [ref["ci_low"], ref["ci_high"]], rtol=REL)
    e = SLEEP["paired_d"]
    assert_allclose(r["d_rm"], e["d_rm"]["estimate"], rtol=1e-10)
    assert_allclose(r["g"], e["J"] * e["d_av"]["estimate"], rtol=1e-10)  # default: g_av


@pytest.mark.parametrize("equal_var,key", [(False, "t_welch"), (True, "t_student")])
def test_independent_t_matches_t_test(sleep_long, equal_var, key):
    res = ce.compare_waves(
        sleep_long, dv="Reaction", community=None, equal_var=equal_var, after="end"
    )
    r = res.iloc[0]
    ref = SLEEP[key]  # t.test(after, before, var.equal = equal_var)
    assert_allclose([r["mean_after"], r["mean_before"]], ref["estimate"], rtol=REL)
    assert_allclose([r["t"], r["df"]], [ref["statistic"], ref["df"]], rtol=REL)
    assert_allclose(r["p"], ref["p"], rtol=1e-7)
    assert_allclose([r["ci_low"], r["ci_high"]], [ref["ci_low"], ref["ci_high"]], rtol=REL)


def test_hedges_g_matches_effectsize(sleep_long):
    r = ce.compare_waves(sleep_long, dv="Reaction", community=None, after="end").iloc[0]
    ref = SLEEP["hedges_g_pooled"]  # effectsize::hedges_g(after, before)
    assert_allclose(r["g"], ref["estimate"], rtol=1e-10)
    assert_allclose([r["g_ci_low"], r["g_ci_high"]], [ref["ci_low"], ref["ci_high"]], atol=2e-4)
    # exact: noncentral-t limits by uniroot (tol 1e-12), times sqrt(2/18) and J(34)
    ncp = np.array(SLEEP["exact_ncp_pooled"]) * np.sqrt(2 / 18) * hedges_j(34.0)
    assert_allclose([r["g_ci_low"], r["g_ci_high"]], ncp, rtol=1e-8)
    r90 = ce.compare_waves(sleep_long, dv="Reaction", community=None, ci=0.90, after="end").iloc[0]
    ref = SLEEP["hedges_g_pooled_90"]
    assert_allclose([r90["g_ci_low"], r90["g_ci_high"]], [ref["ci_low"], ref["ci_high"]],
                    atol=2e-4)  # fmt: skip


def test_hedges_j_exact():
    ref = SLEEP["hedges_J"]
    assert_allclose(hedges_j(np.array(ref["df"], dtype=float)), ref["J"], rtol=1e-13)
    # published table (methods-and-instruments.md 6.3)
    assert_allclose(hedges_j(np.array([9.0, 19, 29])), [0.913875, 0.959910, 0.973875], atol=5e-7)


def test_reliable_change_matches_formula(sleep_pairs):
    b, a = sleep_pairs
    ref = SLEEP["rci"]
    rc = ce.reliable_change(b, a, reliability=0.8)
    assert_allclose(rc.sd_before, ref["sd_before"], rtol=1e-12)
    assert_allclose(rc.s_diff, ref["s_diff"], rtol=1e-12)
    assert_allclose(rc.rci, ref["rci"], rtol=1e-12)
    assert_allclose(rc.share_improved, ref["improved"], rtol=1e-12)
    assert_allclose(rc.share_declined, ref["declined"], rtol=1e-12)
    # published test vector: s_1 = 7.5, r_xx = .8 -> S_diff 4.743416, threshold 9.297096
    # (the published threshold uses 1.96; we use z_0.975 = 1.959964, hence rtol 2e-5)
    rc2 = ce.reliable_change([0.0, 1.0], [10.0, 1.0], reliability=0.8, sd_before=7.5)
    assert_allclose(rc2.s_diff, 4.743416, atol=5e-7)
    assert_allclose(rc2.threshold, 9.297096, rtol=2e-5)
    assert_allclose(rc2.threshold, 1.959963984540054 * rc2.s_diff, rtol=1e-14)


# ---- p.adjust -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["holm", "hochberg", "BH", "BY", "bonferroni", "none"])
def test_p_adjust_matches_r(method):
    p = np.array([np.nan if v is None else v for v in PADJ["p"]], dtype=float)
    ref = np.array([np.nan if v is None else v for v in PADJ["adjusted"][method]], dtype=float)
    got = ce.p_adjust(p, method=method)
    assert_allclose(got, ref, rtol=1e-12, equal_nan=True)  # p.adjust(p, method)


# ---- simulated survey: per community ------------------------------------------------------------


def _per_community() -> dict[str, dict]:
    return {r["community"]: r for r in SURVEY["per_community"]}


@pytest.mark.parametrize("equal_var,key", [(False, "welch"), (True, "student")])
def test_per_community_t_tests(survey, equal_var, key):
    res = ce.compare_waves(survey, dv="score", equal_var=equal_var, min_n=2, after="end")
    res = res[res["level"] == "community"].set_index("community")
    checked = 0
    for cm, ref in _per_community().items():
        r = res.loc[cm]
        assert r["n_before"] == ref["n_before"] and r["n_after"] == ref["n_after"]
        if key not in ref:
            continue
        t = ref[key]  # t.test(after, before[, var.equal = TRUE]) within the community
        assert_allclose([r["t"], r["df"]], [t["statistic"], t["df"]], rtol=REL)
        assert_allclose(r["p"], t["p"], rtol=1e-7)
        assert_allclose([r["ci_low"], r["ci_high"]], [t["ci_low"], t["ci_high"]], rtol=1e-8)
        g = ref["hedges_g_exact"]
        assert_allclose(r["g"], g["estimate"], rtol=1e-10)
        assert_allclose([r["g_ci_low"], r["g_ci_high"]], g["ci"], rtol=1e-7, atol=1e-9)
        e = ref["hedges_g"]  # effectsize::hedges_g (optim)
        assert_allclose([r["g_ci_low"], r["g_ci_high"]], [e["ci_low"], e["ci_high"]], atol=2e-4)
        checked += 1
    assert checked >= 25


def test_per_community_paired(survey):
    res = ce.compare_waves(survey, dv="score", paired_on="respondent", min_n=2, after="end")
    res = res[res["level"] == "community"].set_index("community")
    checked = 0
    for cm, ref in _per_community().items():
        r = res.loc[cm]
        assert r["n_paired"] == ref["n_paired"]
        assert r["n_attrition"] == ref["n_before"] + ref["n_after"] - 2 * ref["n_paired"]
        if "paired" not in ref or ref["n_paired"] < 2:
            continue
        t = ref["paired"]  # t.test(a, b, paired = TRUE) on the panel members
        assert_allclose([r["diff"], r["t"]], [t["estimate"], t["statistic"]], rtol=1e-9)
        assert_allclose(r["p"], t["p"], rtol=1e-7)
        pdr = ref["paired_d"]
        for name in ("z", "av", "av_lakens", "rm"):
            e = pdr[f"d_{name}"]
            got = [r[f"d_{name}"], r[f"d_{name}_ci_low"], r[f"d_{name}_ci_high"]]
            want = [e["estimate"], e["ci_low"], e["ci_high"]]
            # atol: with n = 2 pairs r = 1 and d_rm = d_z * sqrt(2(1 - r)) is 0 in exact
            # arithmetic; rounding in r leaves ~1e-8
            assert_allclose(got, want, rtol=1e-7, atol=1e-7)
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("method", ["holm", "hochberg", "BH", "BY", "bonferroni"])
def test_per_community_p_adjusted(survey, method):
    res = ce.compare_waves(
        survey, dv="score", p_adjust=method, min_n=5, after="end"
    )  # as the R fixture
    res = res[res["level"] == "community"]
    ref = np.array([np.nan if v is None else v for v in SURVEY["p_adjust"][method]], float)
    # p.adjust(welch_p, method) over communities with n >= 5 in both waves
    assert_allclose(res["p_adjusted"].to_numpy(float), ref, rtol=1e-7, equal_nan=True)


def test_special_communities(survey):
    res = ce.compare_waves(survey, dv="score", min_n=5, after="end").set_index("community")
    assert res.loc["N27", "suppressed"] and "n_before below min_n=5" in res.loc["N27", "reason"]
    assert res.loc["N29", "suppressed"]
    assert res.loc["N29", "reason"] == "no respondents in the after wave"
    assert res.loc["N30", "suppressed"] and res.loc["N30", "n_after"] == 1
    z = res.loc["N28"]
    assert not z["suppressed"] and "zero variance" in z["reason"]
    assert z["diff"] == 0 and np.isnan(z["t"]) and np.isnan(z["p"]) and np.isnan(z["g"])
    assert z["direction"] == "no change"
    assert np.isnan(res.loc["N29", ["diff", "t", "p", "g"]].astype(float)).all()


def test_overall_wave_effect_matches_nlme(survey):
    for paired_on in (None, "respondent"):
        res = ce.compare_waves(survey, dv="score", paired_on=paired_on, min_n=5, after="end")
        r = res[res["level"] == "overall"].iloc[0]
        ref = SURVEY["lmm"]["nlme"]  # lme(score ~ end, random = ~1 | community, REML)
        assert r["method"] == "lmm_reml" and r["community"] == "overall"
        assert_allclose(r["diff"], ref["beta"][1], rtol=1e-6)
        assert_allclose(r["se"], ref["se"][1], rtol=1e-6)
        assert r["df"] == ref["df"][1] == 873  # between/within: N - G - 1
        assert_allclose(r["t"], ref["t"][1], rtol=1e-6)
        assert_allclose(r["p"], ref["p"][1], rtol=1e-5)
        assert_allclose([r["ci_low"], r["ci_high"]], ref["ci"], rtol=1e-6)
        assert r["n_before"] + r["n_after"] == SURVEY["lmm"]["n"]
        lm = SURVEY["lmm"]["lmer"]  # lmerTest Satterthwaite df differs only in the df
        assert_allclose(r["se"], lm["se"][1], rtol=1e-6)
        assert_allclose(r["p"], lm["p_satterthwaite"][1], rtol=1e-3)
        sd = np.sqrt(ref["tau2"] + ref["sigma2"])
        assert_allclose(r["g"], ref["beta"][1] / sd, rtol=1e-5)


def test_eb_change_matches_lmer(survey):
    res = ce.compare_waves_eb(survey, dv="score", min_n=2, after="end").set_index("community")
    eb = SURVEY["eb"]  # lmer(score ~ 1 + (1 | community)) per wave; fixef + ranef, postVar
    for w, name in (("baseline", "before"), ("end", "after")):
        ref = pd.DataFrame({"eb": eb[w]["eb"], "psd": eb[w]["psd"]}, index=eb[w]["community"])
        got = res.loc[~res["suppressed"]]
        ref = ref.loc[got.index]
        assert_allclose(got[f"eb_{name}"], ref["eb"], atol=1e-6)
        assert_allclose(got[f"psd_{name}"], ref["psd"], atol=1e-6)
        m = {k: res[f"{k}_{name}"].iloc[0] for k in ("tau2", "sigma2")}  # was res.attrs["models"]
        assert_allclose([m["tau2"], m["sigma2"]], [eb[w]["tau2"], eb[w]["sigma2"]], rtol=1e-5)
    ok = res.loc[~res["suppressed"]]
    b = pd.Series(eb["baseline"]["eb"], index=eb["baseline"]["community"]).loc[ok.index]
    a = pd.Series(eb["end"]["eb"], index=eb["end"]["community"]).loc[ok.index]
    sb = pd.Series(eb["baseline"]["psd"], index=eb["baseline"]["community"]).loc[ok.index]
    sa = pd.Series(eb["end"]["psd"], index=eb["end"]["community"]).loc[ok.index]
    from scipy import stats

    p = stats.norm.cdf((a - b) / np.hypot(sa, sb))
    assert_allclose(ok["p_improved"], p, atol=1e-5)
    assert res.loc["N29", "suppressed"] and res.loc["N30", "suppressed"]


def test_pooled_panel_large_n_with_ties(survey):
    s = survey.dropna(subset=["score"])
    b = s[s["wave"] == "baseline"].set_index("respondent")["score"]
    a = s[s["wave"] == "end"].set_index("respondent")["score"]
    common = b.index.intersection(a.index).sort_values()
    res = ce.paired_change(b.loc[common], a.loc[common])
    ref = SURVEY["pooled_panel"]
    assert len(common) == ref["n"]
    w, wt = _row(res, "pseudo_median"), ref["wilcox_tight"]
    assert w["statistic"] == wt["statistic"]
    assert_allclose(w["p"], wt["p"], rtol=1e-9)
    got = [w["estimate"], w["ci_low"], w["ci_high"]]
    assert_allclose(got, [wt["estimate"], wt["ci_low"], wt["ci_high"]], rtol=1e-8)
    wd = ref["wilcox"]  # R default tol.root = 1e-4
    assert_allclose(got, [wd["estimate"], wd["ci_low"], wd["ci_high"]], atol=2e-4)
    rb = _row(res, "rank_biserial")
    e = ref["rank_biserial"]
    assert_allclose(rb["estimate"], e["estimate"], rtol=1e-12)
    # Known, documented difference: with zero differences effectsize 0.8.3 puts *all* pairs
    # (187) in the Fisher-z SE, we put the non-zero pairs that are ranked (rb["n"] = 156).
    z = 1.959963984540054

    def fisher_ci(r: float, m: int) -> np.ndarray:
        se = np.sqrt((2 * m**3 + 3 * m**2 + m) / 6) / (m * (m + 1) / 2)
        return np.tanh(np.arctanh(r) + np.array([-1, 1]) * z * se)

    assert rb["n"] < ref["n"]
    assert_allclose([e["ci_low"], e["ci_high"]], fisher_ci(e["estimate"], ref["n"]), rtol=1e-12)
    assert_allclose([rb["ci_low"], rb["ci_high"]], fisher_ci(e["estimate"], rb["n"]), rtol=1e-12)
    for name in ("z", "av", "av_lakens", "rm"):
        r, e = _row(res, f"d_{name}"), ref["paired_d"][f"d_{name}"]
        assert_allclose([r["estimate"], r["ci_low"], r["ci_high"]],
                        [e["estimate"], e["ci_low"], e["ci_high"]], rtol=1e-8)  # fmt: skip

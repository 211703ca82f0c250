"""R-parity options of issue 17 (item 6), against R (tests/fixtures/r/parity.R).

* ``icc(ci=)``: F-based ICC(1)/ICC(2) intervals = ``psych::ICC`` ICC1 / ICC1k rows;
* ``cronbach_alpha(ci_method="duhachek", ci_z=1.96)`` = the bounds ``psych::alpha`` prints;
* ``ecometric(reliability="mean_items")`` = Raudenbush & Sampson (1999) on lme4's components;
* ``hedges_correction="approximate"`` = ``effectsize::cohens_d`` times 1 - 3/(4 df - 1) and
  ``pingouin.compute_effsize(eftype="hedges")``; ``"exact"`` = ``effectsize::hedges_g``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import ParameterError

PARITY = Path(__file__).parent / "fixtures" / "parity"


# -- ICC(1), ICC(2) intervals -----------------------------------------------------------------
@pytest.mark.parametrize("confidence", [0.95, 0.90])
def test_icc_intervals_match_psych_icc(confidence: float) -> None:
    data = pd.read_csv(PARITY / "icc_balanced.csv")
    ref = pd.read_csv(PARITY / "icc_psych.csv").set_index("confidence").loc[confidence]
    res = ce.icc(data, dv="score", community="community", ci=confidence).iloc[0]
    # psych::ICC (lmer = FALSE): the same ANOVA and qf(); 1e-10 relative (qf vs scipy's ppf)
    for col in ("f", "icc1", "icc1_ci_low", "icc1_ci_high", "icc2", "icc2_ci_low", "icc2_ci_high"):
        assert_allclose(res[col], ref[col], rtol=1e-10, err_msg=col)
    assert res["confidence"] == confidence
    assert res["icc1_ci_low"] < res["icc1"] < res["icc1_ci_high"]


def test_icc_intervals_unbalanced_use_the_mean_group_size() -> None:
    # unbalanced: the interval of icc1 with n-bar = N/k (as icc1 itself); it brackets icc1 and
    # ICC(2)'s interval (1 - 1/F_L, 1 - 1/F_U) does not depend on the sizes
    df = pd.read_csv(Path(__file__).parent / "fixtures" / "reliability" / "lq2002.csv")
    res = ce.icc(df, dv="LEAD01", community="COMPID").iloc[0]
    from scipy import stats

    f_low = res["f"] / stats.f.ppf(0.975, res["df1"], res["df2"])
    assert_allclose(res["icc2_ci_low"], 1 - 1 / f_low, rtol=1e-12)
    nbar = res["mean_group_size"]
    assert_allclose(res["icc1_ci_low"], (f_low - 1) / (f_low + nbar - 1), rtol=1e-12)
    assert res["icc1_ci_low"] < res["icc1"] < res["icc1_ci_high"]


# -- Duhachek interval as psych prints it -----------------------------------------------------
def test_duhachek_interval_with_psych_multiplier() -> None:
    bfi = pd.read_csv(Path(__file__).parent / "fixtures" / "reliability" / "bfi.csv")
    ref = pd.read_csv(PARITY / "alpha_duhachek.csv").iloc[0]
    items = ["A1", "A2", "A3", "A4", "A5"]
    res = ce.cronbach_alpha(bfi, items=items, keys=["-A1"], ci_method="duhachek", ci_z=1.96)
    row = res.iloc[0]
    # psych::alpha(use = "pairwise"): alpha and ase 1e-10; bounds alpha -/+ 1.96 ase
    assert_allclose(row[["alpha", "ase"]].astype(float), [ref["alpha"], ref["ase"]], rtol=1e-10)
    assert_allclose(row[["ci_low", "ci_high"]].astype(float), [ref["ci_low"], ref["ci_high"]],
                    rtol=1e-10)  # fmt: skip
    assert_allclose(row["confidence"], 0.9500042097035591, rtol=1e-12)  # 2 Phi(1.96) - 1
    default = ce.cronbach_alpha(bfi, items=items, keys=["-A1"], ci_method="duhachek").iloc[0]
    assert default["ci_low"] > row["ci_low"]  # z = 1.959964 < 1.96: a narrower interval
    assert_allclose(default["ci_low"], ref["alpha"] - 1.959963984540054 * ref["ase"], rtol=1e-10)


def test_ci_z_needs_the_duhachek_interval() -> None:
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3]})
    with pytest.raises(ParameterError, match="ci_z") as info:
        ce.cronbach_alpha(df, ci_z=1.96)
    assert info.value.argument == "ci_z"


# -- ecometric reliability with the mean number of answered items ----------------------------
@pytest.mark.parametrize("wave", ["baseline", "end"])
def test_ecometric_mean_items_reliability_matches_raudenbush_sampson(wave: str) -> None:
    survey = pd.read_csv(Path(__file__).parent / "fixtures" / "mixed" / "survey.csv")
    ref = pd.read_csv(PARITY / "ecometric_reliability.csv")
    ref = ref[ref["wave"] == wave].set_index("community")
    data = survey[survey["wave"] == wave]
    items = ["SC1", "SC2", "SC3", "SC4", "SC5"]
    exact = ce.ecometric(data, items=items, community="community", keys=["-SC3"],
                         scale_range=(1, 5))  # fmt: skip
    rs = ce.ecometric(data, items=items, community="community", keys=["-SC3"],
                      scale_range=(1, 5), reliability="mean_items")  # fmt: skip
    assert (exact.reliability_method, rs.reliability_method) == ("exact", "mean_items")
    # the variance components are lme4's to 1e-5 (tests/test_mixed.py); lambda inherits that
    g_exact = exact.communities.set_index("community").loc[ref.index]
    g_rs = rs.communities.set_index("community").loc[ref.index]
    assert_allclose(g_exact["reliability"], ref["reliability_exact"], rtol=1e-5)
    assert_allclose(g_rs["reliability"], ref["reliability_mean_items"], rtol=1e-5)
    assert_allclose(rs.reliability, ref["reliability_mean_items"].mean(), rtol=1e-5)
    # only the reported reliability differs: the EB scores are the same fit
    assert_allclose(g_rs["eb_score"], g_exact["eb_score"], rtol=1e-12)
    assert not np.allclose(g_rs["reliability"], g_exact["reliability"], rtol=1e-4)


def test_mean_items_equals_exact_when_everyone_answers_every_item() -> None:
    rng = np.random.default_rng(17)
    nc = np.repeat(np.arange(12), 9)
    true = rng.normal(0, 0.5, 12)[nc] + rng.normal(0, 0.7, nc.size)
    df = pd.DataFrame({f"I{i}": np.clip(np.rint(3 + true + rng.normal(0, 0.8, nc.size)), 1, 5)
                       for i in range(4)} | {"nc": nc})  # fmt: skip
    a = ce.ecometric(df, items=["I0", "I1", "I2", "I3"], community="nc")
    b = ce.ecometric(df, items=["I0", "I1", "I2", "I3"], community="nc", reliability="mean_items")
    assert_allclose(b.communities["reliability"], a.communities["reliability"], rtol=1e-12)


# -- Hedges' g: exact and approximate correction ----------------------------------------------
def _two_waves(survey: pd.DataFrame, community: str) -> pd.DataFrame:
    d = survey[(survey["community"] == community) & survey["SC1"].notna()]
    return pd.DataFrame(
        {
            "community": community,
            "wave": d["wave"].map({"baseline": "baseline", "end": "end_of_cycle"}),
            "score": d["SC1"].astype(float),
        }
    )


@pytest.mark.parametrize("community", ["N03", "N05", "N10"])
def test_hedges_g_exact_and_approximate_match_r(community: str) -> None:
    survey = pd.read_csv(Path(__file__).parent / "fixtures" / "mixed" / "survey.csv")
    ref = pd.read_csv(PARITY / "hedges_g.csv").set_index("community").loc[community]
    data = _two_waves(survey, community)
    kw = {"dv": "score", "min_n": 2, "equal_var": True}
    exact = ce.compare_waves(data, **kw).iloc[0]
    approx = ce.compare_waves(data, hedges_correction="approximate", **kw).iloc[0]
    assert (exact["n_after"], exact["n_before"]) == (ref["n_after"], ref["n_before"])
    # effectsize 0.8 finds the noncentral-t limits with optim: 1e-4 for the CI, 1e-10 for g
    assert_allclose(exact["g"], ref["g_exact"], rtol=1e-10)
    assert_allclose(exact[["g_ci_low", "g_ci_high"]].astype(float),
                    [ref["g_exact_ci_low"], ref["g_exact_ci_high"]], rtol=1e-4)  # fmt: skip
    assert_allclose(approx["g"], ref["g_approximate"], rtol=1e-10)
    assert_allclose(approx[["g_ci_low", "g_ci_high"]].astype(float),
                    [ref["g_approximate_ci_low"], ref["g_approximate_ci_high"]], rtol=1e-4)  # fmt: skip
    assert "approximate" in approx["effect_size"] and "approximate" not in exact["effect_size"]


def test_hedges_approximate_matches_pingouin() -> None:
    pg = pytest.importorskip("pingouin")
    rng = np.random.default_rng(5)
    x, y = rng.normal(3.2, 0.6, 14), rng.normal(3.0, 0.5, 11)
    data = pd.DataFrame(
        {"community": "A", "wave": ["end_of_cycle"] * 14 + ["baseline"] * 11,
         "score": np.r_[x, y]}
    )  # fmt: skip
    res = ce.compare_waves(data, dv="score", min_n=2, hedges_correction="approximate").iloc[0]
    # pingouin.compute_effsize(x, y, eftype="hedges"): d * (1 - 3 / (4 (nx + ny) - 9))
    assert_allclose(res["g"], pg.compute_effsize(x, y, eftype="hedges"), rtol=1e-12)


def test_paired_change_approximate_correction() -> None:
    before = [3.0, 2.5, 3.5, 2.0, 3.0, 2.8, 3.1]
    after = [3.5, 3.0, 3.6, 2.9, 3.1, 3.4, 3.0]
    ex = ce.paired_change(before, after).set_index("measure")
    ap = ce.paired_change(before, after, hedges_correction="approximate").set_index("measure")
    j = 1 - 3 / (4 * 6 - 1)  # df = n - 1 = 6 (Hedges 1981)
    assert_allclose(ap.loc["g_av", "estimate"], ex.loc["d_av", "estimate"] * j, rtol=1e-12)
    assert_allclose(ap.loc["d_av", "estimate"], ex.loc["d_av", "estimate"], rtol=0)
    assert "approximate" in ap.loc["g_z", "method"]

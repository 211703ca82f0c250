"""Properties and bad input of the weighted statistics (issue 18).

Properties: equal weights reproduce the unweighted point estimates (and, for one community, the
unweighted SE); scaling every weight by a constant changes nothing; duplicating a respondent
equals doubling its weight (point estimates); no row is lost. Tolerances: 1e-10 relative
(floating-point reassociation only).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import DataError, ResponseValidationError

ITEMS = ["SC1", "SC2", "SC3", "SC4"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def surveys(draw: st.DrawFn) -> pd.DataFrame:
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(12, 60))
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "community": rng.choice(["A", "B", "C"], n),
            "wave": np.where(np.arange(n) % 2 == 0, "baseline", "end_of_cycle"),
            "score": np.round(rng.normal(3, 0.8, n), 2),
            "w": np.round(rng.uniform(0.2, 5, n), 3),
            # both strata hold at least 2 respondents (one would be a lonely PSU, an error
            # by design, tested below), otherwise assigned at random
            "stratum": rng.permutation(np.resize(["s1", "s2"], n)),
        }
    )
    x = np.clip(np.round(3 + rng.normal(0, 1, (n, 1)) + rng.normal(0, 0.7, (n, 4))), 1, 5)
    for j, c in enumerate(ITEMS):
        df[c] = x[:, j]
    return df


@SETTINGS
@pytest.mark.filterwarnings("ignore::collective_efficacy.errors.ReliabilityWarning")
@given(surveys())
def test_equal_weights_reproduce_unweighted(df: pd.DataFrame) -> None:
    un = ce.aggregate(df, community="community", columns=["score"], min_n=2)
    for c in (1.0, 3.7):
        wt = ce.aggregate(
            df.assign(w=c), community="community", columns=["score"], weight="w", min_n=2
        )
        assert (wt["n"] == un["n"]).all()
        assert_allclose(wt["mean"], un["mean"], rtol=1e-10)
        assert_allclose(wt["sd"], un["sd"], rtol=1e-10)
    one = df.assign(everyone="all", w=2.0)
    u1 = ce.aggregate(one, community="everyone", columns=["score"], min_n=2)
    w1 = ce.aggregate(one, community="everyone", columns=["score"], weight="w", min_n=2)
    assert_allclose(w1["se"], u1["se"], rtol=1e-10)  # whole-sample domain: s / sqrt(n)
    assert_allclose(w1["n_eff"], len(df), rtol=1e-12)
    ua = ce.cronbach_alpha(df, items=ITEMS, nan_policy="listwise")
    wa = ce.cronbach_alpha(df.assign(w=1.0), items=ITEMS, weight="w", nan_policy="listwise")
    assert_allclose(wa["alpha"], ua["alpha"], rtol=1e-10)
    assert_allclose(wa["std_alpha"], ua["std_alpha"], rtol=1e-10)
    assert_allclose(wa["g6"], ua["g6"], rtol=1e-10)
    ui = ce.item_statistics(df, items=ITEMS)
    wi = ce.item_statistics(df.assign(w=1.0), items=ITEMS, weight="w", nan_policy="listwise")
    for col in ["mean", "sd", "r", "r_std", "r_drop", "r_cor", "alpha_if_dropped"]:
        assert_allclose(wi[col], ui[col], rtol=1e-9, err_msg=col)


@SETTINGS
@given(surveys(), st.floats(0.01, 1000))
def test_scaling_weights_changes_nothing(df: pd.DataFrame, c: float) -> None:
    d = ce.SurveyDesign(weight="w", strata="stratum")
    a = ce.aggregate(df, community="community", wave="wave", columns=["score"], design=d, min_n=2)
    b = ce.aggregate(
        df.assign(w=df["w"] * c), community="community", wave="wave", columns=["score"],
        design=d, min_n=2,
    )  # fmt: skip
    for col in ["mean", "sd", "se", "n_eff"]:
        assert_allclose(b[col], a[col], rtol=1e-9, atol=1e-13, err_msg=col)
    assert_allclose(b["sum_weights"], a["sum_weights"] * c, rtol=1e-10)
    ca = ce.compare_waves(df, dv="score", design=d, after="end_of_cycle", min_n=2)
    cb = ce.compare_waves(df.assign(w=df["w"] * c), dv="score", design=d, after="end_of_cycle",
                          min_n=2)  # fmt: skip
    for col in ["diff", "se", "p"]:
        assert_allclose(cb[col], ca[col], rtol=1e-8, atol=1e-13, err_msg=col)
    aa = ce.cronbach_alpha(df, items=ITEMS, weight="w", nan_policy="listwise")
    ab = ce.cronbach_alpha(df.assign(w=df["w"] * c), items=ITEMS, weight="w", nan_policy="listwise")
    assert_allclose(ab["alpha"], aa["alpha"], rtol=1e-9)


@SETTINGS
@given(surveys(), st.integers(0, 11))
def test_duplicating_a_respondent_is_doubling_its_weight(df: pd.DataFrame, i: int) -> None:
    dup = pd.concat([df, df.iloc[[i]]], ignore_index=True)
    dbl = df.copy()
    dbl.loc[i, "w"] *= 2
    a = ce.aggregate(dup, community="community", columns=["score"], weight="w", min_n=1)
    b = ce.aggregate(dbl, community="community", columns=["score"], weight="w", min_n=1)
    assert_allclose(a["mean"], b["mean"], rtol=1e-10)
    assert_allclose(a["sum_weights"], b["sum_weights"], rtol=1e-12)
    ra = ce.compare_waves(dup, dv="score", weight="w", after="end_of_cycle", min_n=2)
    rb = ce.compare_waves(dbl, dv="score", weight="w", after="end_of_cycle", min_n=2)
    both = ~(ra["suppressed"] | rb["suppressed"]).to_numpy(dtype=bool)  # the copy adds to n
    assert_allclose(ra["diff"][both], rb["diff"][both], rtol=1e-9, atol=1e-13)


def test_caller_data_not_modified() -> None:
    df = pd.DataFrame({"c": ["A"] * 4 + ["B"] * 4, "y": np.arange(8.0), "w": np.arange(1.0, 9)})
    before = df.copy()
    ce.aggregate(df, community="c", columns=["y"], weight="w", min_n=2)
    ce.calibrate(df, weight="w", margins=pd.DataFrame({"variable": "c", "level": ["A", "B"],
                                                       "count": [10, 20]}))  # fmt: skip
    pd.testing.assert_frame_equal(df, before)


def test_suppression_stays_on_unweighted_n() -> None:
    df = pd.DataFrame({"c": ["A"] * 3 + ["B"] * 12, "y": np.arange(15.0), "w": 100.0})
    agg = ce.aggregate(df, community="c", columns=["y"], weight="w", min_n=10)
    a = agg[agg["c"] == "A"].iloc[0]
    assert a["suppressed"] and a["n"] == 3 and np.isnan(a["mean"]) and np.isnan(a["sum_weights"])
    assert a["reason"] == "fewer than 10 respondents"
    assert agg[agg["c"] == "B"]["reason"].isna().all()


# --- bad input -----------------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"c": ["A"] * 5 + ["B"] * 5, "y": np.arange(10.0), "w": np.linspace(1, 2, 10),
         "s": ["s1"] * 5 + ["s2"] * 5, "psu": [1, 1, 2, 2, 3, 4, 4, 5, 5, 6]}
    )  # fmt: skip


@pytest.mark.parametrize(
    "bad,match",
    [(np.nan, "missing, infinite, zero or negative"), (0.0, "zero or negative"),
     (-1.0, "zero or negative"), (np.inf, "infinite")],
)  # fmt: skip
def test_bad_weights_raise_naming_rows(bad: float, match: str) -> None:
    df = _frame()
    df.loc[3, "w"] = bad
    with pytest.raises(DataError, match=match) as ei:
        ce.aggregate(df, community="c", columns=["y"], weight="w", min_n=2)
    assert "index label 3" in str(ei.value) and ei.value.argument == "weight"


def test_text_weight_column_raises() -> None:
    df = _frame().assign(w="1.5")
    with pytest.raises(DataError, match="not numeric"):
        ce.aggregate(df, community="c", columns=["y"], weight="w", min_n=2)


def test_validate_excludes_bad_weights_every_row_accounted() -> None:
    raw = pd.DataFrame({"buurt": list("AAAAB"), "SC1": [4, 5, 3, 2, 4], "SC2": [4, 3, 3, 2, 5],
                        "w": ["1,5", 0, None, "x", 2]})  # fmt: skip
    v = ce.validate(raw, "sampson1997", community="buurt", items=["SC1", "SC2"], weight="w",
                    errors="exclude")  # fmt: skip
    assert v.data["w"].tolist() == [1.5, 2.0]
    rep = v.report
    assert rep.n_rows_in == rep.n_rows_usable + rep.n_rows_excluded == 5
    assert [(e.row, e.reason) for e in rep.excluded] == [
        (1, "invalid_weight"), (2, "invalid_weight"), (3, "invalid_weight")
    ]  # fmt: skip
    with pytest.raises(ResponseValidationError, match="invalid weight"):
        ce.validate(raw, "sampson1997", community="buurt", items=["SC1", "SC2"], weight="w")


def test_all_zero_weights_in_a_community_are_refused() -> None:
    """Zero weights are refused (no domain with W = 0 can arise): validate() excludes them."""
    df = _frame()
    df.loc[df["c"] == "B", "w"] = 0.0
    with pytest.raises(DataError, match="5 missing, infinite, zero or negative"):
        ce.aggregate(df, community="c", columns=["y"], weight="w", min_n=2)


def test_lonely_psu_fails_like_survey_and_rules_apply() -> None:
    df = _frame()
    df.loc[df["s"] == "s1", "psu"] = 1  # stratum s1 now has a single PSU
    d = ce.SurveyDesign(weight="w", strata="s", cluster="psu")
    with pytest.raises(DataError, match="only one PSU"):
        ce.aggregate(df, community="c", columns=["y"], design=d, min_n=2)
    rm = ce.aggregate(df, community="c", columns=["y"], design=d.model_copy(
        update={"lonely_psu": "remove"}), min_n=2)  # fmt: skip
    assert rm.loc[rm["c"] == "A", "se"].iloc[0] == 0.0  # community A is the lonely stratum
    assert rm.loc[rm["c"] == "B", "se"].iloc[0] > 0
    adj = ce.aggregate(df, community="c", columns=["y"], design=d.model_copy(
        update={"lonely_psu": "adjust"}), min_n=2)  # fmt: skip
    # adjust: the PSU total is 0 (centred at A's mean), so A's SE is 0 too; B is unchanged
    assert_allclose(adj["se"], rm["se"], atol=1e-15)


def test_design_argument_checks() -> None:
    df = _frame()
    with pytest.raises(DataError, match="disagree"):
        ce.aggregate(df, community="c", columns=["y"], weight="y",
                     design=ce.SurveyDesign(weight="w"))  # fmt: skip
    with pytest.raises(DataError, match="SurveyDesign"):
        ce.aggregate(df, community="c", columns=["y"], design={"weight": "w"})  # type: ignore[arg-type]
    with pytest.raises(DataError, match="constant within each stratum"):
        ce.aggregate(df.assign(f=np.arange(10.0) + 20), community="c", columns=["y"],
                     design=ce.SurveyDesign(weight="w", strata="s", fpc="f"))  # fmt: skip
    with pytest.raises(DataError, match="paired_on"):
        ce.compare_waves(df.assign(wave="baseline"), dv="y", community="c", weight="w",
                         paired_on="psu")  # fmt: skip


def test_weighted_alpha_pairwise_with_missing_raises() -> None:
    df = pd.DataFrame({c: [1.0, 2, 3, 4, 5, 2] for c in ITEMS}).assign(w=1.0)
    df.loc[0, "SC1"] = np.nan
    with pytest.raises(DataError, match="complete cases"):
        ce.cronbach_alpha(df, items=ITEMS, weight="w")
    res = ce.cronbach_alpha(df, items=ITEMS, weight="w", nan_policy="listwise")
    assert res["n"].iloc[0] == 5


def test_calibrate_bad_margins() -> None:
    df = pd.DataFrame({"sex": ["f", "m", "x"], "age": ["y", "o", "o"]})
    m = pd.DataFrame({"variable": "sex", "level": ["f", "m"], "count": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"level\(s\) \[.x.\]"):
        ce.calibrate(df, margins=m)
    m2 = pd.DataFrame({"variable": ["sex"] * 3 + ["age"] * 2, "level": ["f", "m", "x", "y", "o"],
                       "count": [1.0, 2.0, 3.0, 1.0, 1.0]})  # fmt: skip
    with pytest.raises(DataError, match="totals"):
        ce.calibrate(df, margins=m2)
    with pytest.raises(DataError, match="columns"):
        ce.calibrate(df, margins=m.drop(columns="count"))
    with pytest.raises(DataError, match="no respondents"):
        ce.calibrate(df.iloc[:2], margins=m2.assign(count=[1.0, 2.0, 3.0, 3.0, 3.0]))


def test_refuses_weights_decorator_explains() -> None:
    from collective_efficacy.survey_design import refuses_weights

    icc = refuses_weights(ce.icc)
    df = pd.DataFrame({"c": list("AABB"), "y": [1.0, 2, 3, 5], "w": 1.0})
    with pytest.raises(DataError, match="level-specific.*WeMix or svylme") as ei:
        icc(df, dv="y", community="c", weight="w")
    assert ei.value.argument == "weight"
    assert_allclose(
        icc(df, dv="y", community="c")["icc1"], ce.icc(df, dv="y", community="c")["icc1"]
    )


def test_design_columns_are_not_scores_and_overall_alone_matches() -> None:
    sim = pd.read_csv("tests/fixtures/survey/neighbourhood.csv")
    d = ce.SurveyDesign(weight="w", strata="region", cluster="psu", fpc="fpc")
    agg = ce.aggregate(sim[["community", "region", "score", "w", "i1"]], community="community",
                       design=ce.SurveyDesign(weight="w", strata="region"))  # fmt: skip
    assert sorted(agg["scale"].unique()) == ["i1", "score"]  # w is a design column
    both = ce.compare_waves(sim, dv="score", design=d, after="end_of_cycle")
    alone = ce.compare_waves(sim, dv="score", design=d, after="end_of_cycle", community=None)
    assert len(alone) == 1 and alone["level"].iloc[0] == "overall"
    cols = ["diff", "se", "t", "df", "p", "ci_low", "ci_high", "n_before", "n_after"]
    assert_allclose(alone[cols].to_numpy(float), both[cols].iloc[[-1]].to_numpy(float))

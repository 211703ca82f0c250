"""Weighted, design-based statistics against R survey 4.1.1 and psych 2.2.9 (issue 18).

Fixtures: tests/fixtures/r/survey_weights.R (run from the repository root). Tolerances: every
closed form 1e-10 relative, with an absolute floor of 1e-12 for quantities that are zero up to
rounding (a community that is a single PSU has a linearisation SE of exactly 0 in theory; R and
Python both return ~1e-16 noise there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce

FIX = Path(__file__).parent / "fixtures" / "survey"
RTOL = 1e-10
ATOL = 1e-12
ITEMS = ["i1", "i2", "i3", "i4"]


def _json(name: str) -> Any:
    return json.loads((FIX / name).read_text())


@pytest.fixture(scope="module")
def ref() -> Any:
    return _json("survey.json")


@pytest.fixture(scope="module")
def sim() -> pd.DataFrame:
    return pd.read_csv(FIX / "neighbourhood.csv")


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"{name}.csv")


CASES = {
    "apistrat_weights": ("apistrat", ce.SurveyDesign(weight="pw"), "api00", ["cname"]),
    "apistrat_strata": ("apistrat", ce.SurveyDesign(weight="pw", strata="stype"), "api00",
                        ["cname"]),
    "apistrat_strata_fpc": ("apistrat", ce.SurveyDesign(weight="pw", strata="stype", fpc="fpc"),
                            "api00", ["cname"]),
    "apiclus1_cluster": ("apiclus1", ce.SurveyDesign(weight="pw", cluster="dnum"), "api00",
                         ["stype"]),
    "apiclus1_cluster_fpc": ("apiclus1", ce.SurveyDesign(weight="pw", cluster="dnum", fpc="fpc"),
                             "api00", ["stype"]),
    "sim_weights": ("neighbourhood", ce.SurveyDesign(weight="w"), "score", ["community", "wave"]),
    "sim_strata": ("neighbourhood", ce.SurveyDesign(weight="w", strata="region"), "score",
                   ["community", "wave"]),
    "sim_strata_cluster": ("neighbourhood",
                           ce.SurveyDesign(weight="w", strata="region", cluster="psu"), "score",
                           ["community", "wave"]),
    "sim_strata_cluster_fpc": ("neighbourhood",
                               ce.SurveyDesign(weight="w", strata="region", cluster="psu",
                                               fpc="fpc"), "score", ["community", "wave"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_svyby_domain_means(case: str, ref: Any) -> None:
    """aggregate(design=) == svyby(~y, ~by, design, svymean, deff=TRUE, na.rm=TRUE)."""
    data_name, design, y, by = CASES[case]
    data = _data(data_name)
    agg = ce.aggregate(
        data, community=by[0], wave=by[1] if len(by) > 1 else None, columns=[y], design=design,
        min_n=1,
    )  # fmt: skip
    r = pd.DataFrame(ref[case]["domains"])
    m = r.merge(agg, on=by, suffixes=("_r", ""), validate="one_to_one")
    assert len(m) == len(r) == len(agg)
    for col in ["mean", "se", "ci_low", "ci_high", "deff"]:
        want = m[f"{col}_r"].to_numpy(dtype=np.float64)
        got = m[col].to_numpy(dtype=np.float64)
        fin = np.isfinite(want)
        assert (np.isfinite(got) == fin).all(), col  # R's NA/Inf deff where ours is NaN/inf
        assert_allclose(got[fin], want[fin], rtol=RTOL, atol=ATOL, err_msg=col)
    assert (agg["confidence"] == 0.95).all()


@pytest.mark.parametrize("case", sorted(CASES))
def test_svymean_whole_sample(case: str, ref: Any) -> None:
    """One community covering everyone: svymean(~y, design, deff=TRUE)."""
    data_name, design, y, _ = CASES[case]
    data = _data(data_name).assign(everyone="all")
    agg = ce.aggregate(data, community="everyone", columns=[y], design=design, min_n=1)
    want = ref[case]["overall"]
    for col in ["mean", "se", "deff"]:
        assert_allclose(agg[col].iloc[0], want[col], rtol=RTOL, err_msg=col)


@pytest.mark.parametrize("case", ["sim_weights", "sim_strata_cluster_fpc"])
def test_svyby_by_community_pooling_waves(case: str, ref: Any, sim: pd.DataFrame) -> None:
    _, design, _, _ = CASES[case]
    agg = ce.aggregate(sim, community="community", columns=["score"], design=design, min_n=1)
    r = pd.DataFrame(ref[case]["by_community"])
    assert_allclose(agg["mean"], r["mean"], rtol=RTOL)
    assert_allclose(agg["se"], r["se"], rtol=RTOL, atol=ATOL)
    assert_allclose(agg["deff"], r["deff"], rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    "case", ["sim_weights", "sim_strata", "sim_strata_cluster", "sim_strata_cluster_fpc"]
)
def test_compare_waves_weighted(case: str, ref: Any, sim: pd.DataFrame) -> None:
    """Overall: summary(svyglm(score ~ wave, design)); per community: svyby difference."""
    _, design, _, _ = CASES[case]
    res = ce.compare_waves(sim, dv="score", design=design, after="end_of_cycle", min_n=2)
    ov = res[res["level"] == "overall"].iloc[0]
    g = ref[case]["svyglm"]
    for col, key in [("diff", "estimate"), ("se", "se"), ("t", "t"), ("p", "p"),
                     ("ci_low", "ci_low"), ("ci_high", "ci_high")]:  # fmt: skip
        assert_allclose(ov[col], g[key], rtol=RTOL, err_msg=col)
    assert ov["df"] == g["df"]
    assert_allclose(ov["mean_before"], g["intercept"], rtol=RTOL)
    ch = pd.DataFrame(ref[case]["change"])
    com = res[res["level"] == "community"].merge(ch, on="community", suffixes=("", "_r"))
    assert len(com) == len(ch) == 24
    assert_allclose(com["diff"], com["diff_r"], rtol=RTOL)
    assert_allclose(com["se"], com["se_r"], rtol=RTOL, atol=ATOL)
    assert_allclose(com["ci_low"], com["ci_low_r"], rtol=RTOL)
    # p of the single-PSU communities rests on an SE of rounding noise in R and here alike
    big = com["n_before"] >= 20
    assert_allclose(com.loc[big, "t"], com.loc[big, "z"], rtol=RTOL)
    assert_allclose(com.loc[big, "p"], com.loc[big, "p_r"], rtol=1e-9, atol=1e-14)


def _margins() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variable": ["age"] * 3 + ["sex"] * 2,
            "level": ["16-34", "35-64", "65+", "f", "m"],
            "count": [3100, 5200, 2700, 5600, 5400],
        }
    )


@pytest.fixture(scope="module")
def wave1(sim: pd.DataFrame) -> pd.DataFrame:
    out = sim[sim["wave"] == "baseline"].reset_index(drop=True)
    assert out["respondent"].tolist() == _json("calibration.json")["respondent"]
    return out


@pytest.mark.parametrize("method,key", [("raking", "raking"), ("linear", "linear")])
def test_calibrate_matches_rake_and_calibrate(method: str, key: str, wave1: pd.DataFrame) -> None:
    """survey::rake (epsilon 1e-14) and survey::calibrate(calfun = "linear")."""
    want = np.array(_json("calibration.json")[key])
    got = ce.calibrate(wave1, weight="w", margins=_margins(), method=method, tol=1e-14)  # type: ignore[arg-type]
    assert_allclose(got.to_numpy(), want, rtol=RTOL)
    assert got.index.equals(wave1.index)


@pytest.mark.parametrize("method", ["raking", "linear"])
def test_calibrate_one_variable_is_poststratify(method: str, wave1: pd.DataFrame) -> None:
    want = np.array(_json("calibration.json")["poststratify"])
    m = _margins()
    got = ce.calibrate(wave1, weight="w", margins=m[m["variable"] == "age"], method=method)  # type: ignore[arg-type]
    assert_allclose(got.to_numpy(), want, rtol=RTOL)


@pytest.mark.parametrize("method,key", [("raking", "raking_by_community"),
                                        ("linear", "linear_by_community")])  # fmt: skip
def test_calibrate_by_community(method: str, key: str, wave1: pd.DataFrame) -> None:
    """Each community raked / calibrated to its own figures (R: one rake() per community)."""
    want = pd.Series(_json("calibration.json")[key], dtype=np.float64)
    mc = pd.read_csv(FIX / "margins_by_community.csv")
    big = wave1["community"].isin(mc["community"]).to_numpy()
    assert big.sum() > 1000 and want[~big].isna().all()
    got = ce.calibrate(
        wave1[big],
        weight="w",
        margins=mc,
        by="community",
        method=method,
        tol=1e-12,  # type: ignore[arg-type]
    )
    assert_allclose(got.to_numpy(), want[big].to_numpy(), rtol=RTOL)


def test_raked_weights_feed_aggregate(wave1: pd.DataFrame) -> None:
    """svymean(~score, rake(...)): the point estimate with the calibrated weights."""
    data = wave1.assign(cal=ce.calibrate(wave1, weight="w", margins=_margins(), tol=1e-14))
    data["everyone"] = "all"
    agg = ce.aggregate(data, community="everyone", columns=["score"], weight="cal", min_n=1)
    assert_allclose(agg["mean"].iloc[0], _json("calibration.json")["mean_raked"], rtol=RTOL)


def test_weighted_alpha_matches_psych(sim: pd.DataFrame) -> None:
    """cronbach_alpha(weight=) == psych::alpha(cov.wt(x, wt)$cov) on complete cases."""
    ref = _json("alpha.json")
    base = sim[sim["wave"] == "baseline"]
    res = ce.cronbach_alpha(base, items=ITEMS, keys=["-i4"], weight="w", nan_policy="listwise")
    o = ref["overall"]
    for col in ["alpha", "std_alpha", "g6", "average_r", "median_r", "signal_noise", "n_eff",
                "sum_weights", "mean", "sd"]:  # fmt: skip
        assert_allclose(res[col].iloc[0], o[col], rtol=RTOL, err_msg=col)
    assert res["n"].iloc[0] == o["n"]
    per = ce.cronbach_alpha(
        base[[*ITEMS, "w", "community"]], items=ITEMS, keys=["-i4"], weight="w",
        nan_policy="listwise", community="community",
    )  # fmt: skip
    for label, want in ref["communities"].items():
        row = per[per["community"] == label].iloc[0]
        for col in ["alpha", "std_alpha", "n_eff", "mean", "sd"]:
            assert_allclose(row[col], want[col], rtol=RTOL, err_msg=f"{label} {col}")
        assert row["n"] == want["n"]


def test_weighted_item_statistics_match_psych(sim: pd.DataFrame) -> None:
    o = _json("alpha.json")["overall"]
    base = sim[sim["wave"] == "baseline"]
    it = ce.item_statistics(base, items=ITEMS, keys=["-i4"], weight="w", nan_policy="listwise")
    for col in ["alpha_if_dropped", "std_alpha_if_dropped", "r_drop", "r_cor"]:
        assert_allclose(it[col], o[col], rtol=RTOL, err_msg=col)
    assert_allclose(it["sd"] ** 2, np.diag(np.array(o["cov"])), rtol=RTOL)

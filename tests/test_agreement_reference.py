"""Reference tests of collective_efficacy.agreement against R multilevel (issue 5).

Fixtures: tests/fixtures/agreement/, written by tests/fixtures/r/agreement.R
(R 4.2.2, multilevel 2.7, nlme 3.1-162; see versions.json). CI has no R: the tests read the
fixtures only.

Tolerances (stated per assertion):
* ANOVA quantities (ICC1, ICC2, F, MS, df) and every rwg / rwg(j) / r*wg(j) / AD value: closed
  forms, so rtol 1e-10 / atol 1e-12 (observed max abs deviation ~5e-15).
* p values of F: rtol 1e-8 (scipy.stats.f.sf vs R pf, down to 1e-176).
* REML (lme) tau: rtol 1e-6 and ICC1 atol 5e-8; nlme stops at its own convergence tolerance
  (observed: tau up to 5.6e-7 relative, ICC1 up to 3.0e-8 absolute, lq2002 HOSTILE). Our REML
  log-likelihood equals nlme's within 1e-10 in every case (never lower by more than rounding):
  both sit on the same flat optimum.
* mult.icc (fits with optim, a looser optimum): atol 1e-6 on ICC1 and ICC2.
* rwg.j.sim (Monte Carlo, different random streams): within 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import collective_efficacy as ce
from collective_efficacy.agreement import _levels as _agreement_levels
from collective_efficacy.agreement._null import null_summary

# ---- fixture loading ----------------------------------------------------------------------
FIX = Path(__file__).parent / "fixtures" / "agreement"


def load_json(name: str) -> Any:
    return json.loads((FIX / name).read_text())


@cache
def _dataset(name: str) -> pd.DataFrame:
    if name == "bh1996_unbal":
        # same rule as make_unbal() in agreement.R: every 37th row (1-based) WBEING missing,
        # group 1 reduced to its first respondent
        d = _dataset("bh1996").copy()
        d.loc[np.arange(36, len(d), 37), "WBEING"] = np.nan
        keep = ~((d["GRP"] == 1) & d["GRP"].duplicated())
        return d.loc[keep].reset_index(drop=True)
    return pd.read_csv(FIX / f"{name}.csv")


def dataset(name: str) -> pd.DataFrame:
    """A fresh copy of a fixture data set."""
    return _dataset(name).copy()


def group_arg(group: str) -> str | list[str]:
    """R's paste(UNIT, PLATOON) grouping is a two-column grouping here."""
    return ["UNIT", "PLATOON"] if group == "UP" else group


def r_label(res: pd.DataFrame, group: str) -> pd.Series:
    """Group labels of a result as R prints them (grpid)."""
    if group == "UP":
        return res["UNIT"].astype(str) + " " + res["PLATOON"].astype(str)
    return res[group].astype(str)


def r_groups() -> pd.DataFrame:
    g = pd.read_csv(FIX / "groups.csv", dtype={"grpid": str})
    parts = g["case"].str.split("|", expand=True)
    g["fn"] = parts[0]
    spec = parts[1].str.split(":", expand=True)
    g["dataset"], g["group"], g["items"] = spec[0], spec[1], spec[2]
    g["ranvar"] = spec[3].fillna("")  # ad.m cases have no ranvar
    return g


def items_of(df: pd.DataFrame, prefix: str) -> list[str]:
    """Item columns as R's grep('^PREFIX[0-9]') or a single named item."""
    cols = [c for c in df.columns if c.startswith(prefix) and c[len(prefix) :][:1].isdigit()]
    return cols or [prefix]


ICC_CASES = load_json("icc.json")
LME_CASES = load_json("lme.json")


def test_versions_recorded() -> None:
    v = load_json("versions.json")
    assert v["multilevel"].startswith("2.")
    assert v["R"].startswith("R version")


# ---- ICC(1), ICC(2) vs ICC1(aov), ICC2(aov), summary(aov) ---------------------------------
@pytest.mark.parametrize("case", ICC_CASES, ids=lambda c: f"{c['dataset']}-{c['group']}-{c['dv']}")
def test_icc_matches_multilevel_aov(case: dict) -> None:
    df = dataset(case["dataset"])
    res = ce.icc(df, dv=case["dv"], community=group_arg(case["group"]))
    assert len(res) == 1
    row = res.iloc[0]
    assert row["dv"] == case["dv"]
    # closed forms: rtol 1e-10
    for ours, theirs in [
        ("icc1", "ICC1"),  # multilevel::ICC1(aov)
        ("icc2", "ICC2"),  # multilevel::ICC2(aov)
        ("f", "F"),  # summary(aov)[[1]][1, "F value"]
        ("msb", "MSB"),
        ("msw", "MSW"),
    ]:
        assert_allclose(row[ours], case[theirs], rtol=1e-10, err_msg=ours)
    assert row["df1"] == case["df1"]
    assert row["df2"] == case["df2"]
    assert row["n"] == case["n"]
    assert_allclose(row["p"], case["p"], rtol=1e-8)  # Pr(>F)
    assert row["n_groups"] == case["df1"] + 1
    assert row["n_missing"] == len(df) - case["n"]
    assert_allclose(row["mean_group_size"], case["n"] / (case["df1"] + 1), rtol=1e-14)


def test_icc_several_dvs_one_call_equals_single_calls() -> None:
    df = dataset("bh1996")
    many = ce.icc(df, dv=["HRS", "COHES", "LEAD", "WBEING"], community="GRP")
    assert list(many["dv"]) == ["HRS", "COHES", "LEAD", "WBEING"]
    for dv in many["dv"]:
        one = ce.icc(df, dv=dv, community="GRP")
        pd.testing.assert_frame_equal(
            many[many["dv"] == dv].reset_index(drop=True), one, check_exact=True
        )


@pytest.mark.parametrize(("name", "dv"), [("bh1996", "WBEING"), ("bh1996_unbal", "WBEING")])
def test_icc_f_and_p_match_scipy_f_oneway(name: str, dv: str) -> None:
    df = dataset(name).dropna(subset=[dv])
    samples = [g[dv].to_numpy() for _, g in df.groupby("GRP")]
    ref = stats.f_oneway(*samples)
    row = ce.icc(dataset(name), dv=dv, community="GRP").iloc[0]
    assert_allclose(row["f"], ref.statistic, rtol=1e-10)
    assert_allclose(row["p"], ref.pvalue, rtol=1e-8)


def test_icc_unbalanced_singleton_and_missing_counted() -> None:
    # bh1996_unbal: group 1 has one respondent, every 37th WBEING missing (as in agreement.R)
    df = dataset("bh1996_unbal")
    row = ce.icc(df, dv="WBEING", community="GRP").iloc[0]
    ref = next(c for c in ICC_CASES if c["dataset"] == "bh1996_unbal" and c["dv"] == "WBEING")
    lme = next(c for c in LME_CASES if c["dataset"] == "bh1996_unbal" and c["dv"] == "WBEING")
    assert len(df) == round(lme["mult_icc_gsize"] * 99)  # rows R saw
    assert row["n_singletons"] == 1
    assert row["n_missing"] == len(df) - ref["n"] == 7382 // 37 - 2  # minus row 37 of group 1
    assert row["n_groups"] == 99
    # n0 < mean group size for unbalanced data; both ICC(1) variants reported
    assert row["n0"] < row["mean_group_size"]
    msb, msw = row["msb"], row["msw"]
    assert_allclose(row["icc1_n0"], (msb - msw) / (msb + (row["n0"] - 1) * msw), rtol=1e-14)


# ---- REML: lme(), mult.icc(), gmeanrel() ------------------------------------------------
@pytest.mark.parametrize("case", LME_CASES, ids=lambda c: f"{c['dataset']}-{c['dv']}")
def test_icc_reml_columns_match_lme_and_mult_icc(case: dict) -> None:
    df = dataset(case["dataset"])
    row = ce.icc(df, dv=case["dv"], community=case["group"]).iloc[0]
    # VarCorr(lme)[1, 1], lme$sigma^2: nlme convergence tolerance -> rtol 1e-6
    assert_allclose(row["tau"], case["tau"], rtol=1e-6)
    assert_allclose(row["sigma2"], case["sigma2"], rtol=1e-8)
    assert_allclose(row["icc1_reml"], case["icc1"], atol=5e-8)
    # mult.icc (optim-based fit): atol 1e-6
    assert_allclose(row["icc1_reml"], case["mult_icc_ICC1"], atol=1e-6)
    # mult.icc's ICC2 steps ICC1 up to the mean group size over ALL rows (incl. missing dv)
    k = case["mult_icc_gsize"]
    rho = row["icc1_reml"]
    assert_allclose(k * rho / (1 + (k - 1) * rho), case["mult_icc_ICC2"], atol=1e-6)
    if row["n_missing"] == 0:
        assert_allclose(row["icc2_reml"], case["mult_icc_ICC2"], atol=1e-6)


@pytest.mark.parametrize("case", LME_CASES, ids=lambda c: f"{c['dataset']}-{c['dv']}")
def test_reml_loglik_equals_nlme(case: dict) -> None:
    from collective_efficacy.multilevel._lmm import (
        fit_ri_moments as reml_oneway,  # the one REML engine
    )

    df = dataset(case["dataset"]).dropna(subset=[case["dv"]])
    g = df.groupby(case["group"])[case["dv"]]
    ssw = float(((df[case["dv"]] - g.transform("mean")) ** 2).sum())
    fit = reml_oneway(g.size().to_numpy(), g.mean().to_numpy(), ssw)
    # logLik(lme): same optimum -> equal within 1e-9 absolute (observed <= 3.3e-11), and ours
    # is not lower than nlme's beyond rounding
    assert_allclose(fit.loglik, case["logLik_reml"], atol=1e-9)
    assert fit.loglik >= case["logLik_reml"] - 1e-10
    assert_allclose(fit.mu, case["intercept"], atol=1e-8)  # fixef(lme)


def test_group_reliability_matches_gmeanrel() -> None:
    ref = pd.read_csv(FIX / "gmeanrel.csv", dtype={"grpid": str})
    for case, sub in ref.groupby("case", sort=False):
        name, dv = case.split(":")
        group = "COMPID" if name == "lq2002" else "GRP"
        res = ce.group_reliability(dataset(name), dv=dv, community=group)
        res["grpid"] = res[group].astype(str)
        m = sub.merge(res, on="grpid", how="left", validate="one_to_one")
        assert len(res) == len(sub)
        assert (m["n"] == m["gsize"]).all()  # $GrpSize
        assert_allclose(m["icc1"], m["icc"], atol=5e-8)  # $ICC (REML, nlme tolerance)
        assert_allclose(m["icc2_j"], m["gmeanrel"], atol=5e-7)  # $MeanRel (x n_j / ...)
        assert m["note"].isna().all()
        assert (res["dv"] == dv).all()
        # the group means are the plain means of the non-missing values
        means = dataset(name).groupby(group)[dv].mean()
        assert_allclose(res["mean"].to_numpy(), means.to_numpy(), rtol=1e-13)


# ---- rwg, rwg.j, rwg.j.lindell, ad.m ----------------------------------------------------
_RANVAR = {"2": "uniform", "0.9": "moderate_skew", "1.34": "slight_skew", "": "uniform"}
GROUP_CASES = [key for key, _ in r_groups().groupby(["fn", "dataset", "group", "items", "ranvar"])]


def _ours(fn: str, df: pd.DataFrame, items: list[str], group: str, ranvar: str) -> pd.Series:
    # lq2002 HOSTIL items are coded 0-4: options=range(5); the rest 1-5
    opts = range(5) if items[0].startswith("HOSTIL") else 5
    g = group_arg(group)
    rv = _RANVAR[ranvar]
    if fn == "rwg":
        res = ce.rwg(df, item=items[0], community=g, ranvar=rv, options=opts)
        col = "rwg"
    elif fn in ("rwg.j", "rwg.j.lindell"):
        res = ce.rwg_j(
            df, items=items, community=g, ranvar=rv, options=opts, lindell=fn == "rwg.j.lindell"
        )
        col = "rwg_j"
    else:
        res = ce.ad_index(df, items=items, community=g, center=fn.rsplit(".", 1)[1], options=opts)
        col = "ad"
    return res.assign(grpid=r_label(res, group).to_numpy(), value_ours=res[col])


@pytest.mark.parametrize("kernel", ["table", "segments"])
@pytest.mark.parametrize("key", GROUP_CASES, ids=lambda k: "|".join(k))
def test_agreement_indices_match_multilevel(
    key: tuple[str, ...], kernel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kernel == "segments":  # force the segment-sum kernel instead of count tables
        monkeypatch.setattr(_agreement_levels, "_MAX_TABLE_CELLS", 0)
    fn, name, group, prefix, ranvar = key
    ref = r_groups()
    sub = ref[(ref["fn"] == fn) & (ref["dataset"] == name) & (ref["group"] == group)]
    sub = sub[(sub["items"] == prefix) & (sub["ranvar"] == ranvar)]
    df = dataset(name)
    res = _ours(fn, df, items_of(df, prefix), group, ranvar)
    assert len(res) == len(sub)  # one row per community, no community lost
    m = sub.merge(res, on="grpid", how="left", validate="one_to_one")
    assert (m["n"] == m["gsize"]).all()  # gsize after R's na.exclude (listwise)
    assert (m["value"].isna() == m["value_ours"].isna()).all()
    assert_allclose(m["value_ours"], m["value"], rtol=1e-10, atol=1e-12)


def test_cohesion_platoon_truncation() -> None:
    """Platoon 1044B 1ST: after listwise deletion 2 respondents, mean item variance 2.0.

    With the slight-skew null (1.34) the observed variance exceeds the null: rwg(j) truncates to
    0 (James et al.), r*wg(j) does not (Lindell): 1 - 2/1.34 < 0. Both as R multilevel.
    """
    df = dataset("cohesion")
    items = items_of(df, "COH")
    kw = {"ranvar": "slight_skew", "n_options": 5}
    j = ce.rwg_j(df, items=items, community=["UNIT", "PLATOON"], **kw)
    lind = ce.rwg_j(df, items=items, community=["UNIT", "PLATOON"], lindell=True, **kw)
    first = (j["UNIT"] == "1044B") & (j["PLATOON"] == "1ST")
    assert j.loc[first, "truncated"].item()
    assert j.loc[first, "rwg_j"].item() == 0.0
    assert j.loc[first, "n"].item() == 2 and j.loc[first, "n_excluded"].item() == 1
    assert j.loc[~first, "truncated"].sum() == 0
    assert_allclose(lind.loc[first, "rwg_j"].item(), 1 - 2.0 / 1.34, rtol=1e-12)
    assert not lind["truncated"].any()
    assert (lind["method"] == "lindell1999").all() and (j["method"] == "james1984").all()
    sub = r_groups()
    r = sub[
        (sub["fn"] == "rwg.j.lindell") & (sub["group"] == "UP") & (sub["ranvar"] == "1.34")
    ].set_index("grpid")
    assert_allclose(lind.loc[first, "rwg_j"].item(), r.loc["1044B 1ST", "value"], atol=1e-12)


# ---- rwg.j.sim ----------------------------------------------------------------------------
def test_null_summary_rules_on_r_draws() -> None:
    """Our quantile rules applied to R's own rwg.j.sim draws reproduce R exactly."""
    draws = pd.read_csv(FIX / "rwg_j_sim_draws.csv")["rwg_j"].to_numpy()
    ref = load_json("rwg_j_sim.json")[0]
    levels = [0.10, 0.25, 0.5, 0.75, 0.90, 0.95, 0.99]
    out = null_summary(draws, levels)
    expected = [ref["q"][k] for k in ("q10", "q25", "q50", "q75", "q90", "q95", "q99")]
    assert_allclose(out["rwg_j"], expected, atol=1e-12)  # quantile(type = 1)
    ml = out.set_index("quantile")["rwg_j_multilevel"]
    for lev, key in ((0.90, "p90"), (0.95, "p95"), (0.99, "p99")):
        assert_allclose(ml[lev], ref["quantile_agree_sim"][key], atol=1e-12)
    assert_allclose(ml[0.95], ref["rwg_95"], atol=1e-12)  # rwg.j.sim()$rwg.95


@pytest.mark.parametrize("case", load_json("rwg_j_sim.json"), ids=lambda c: str(c["gsize"]))
def test_rwg_j_null_matches_rwg_j_sim_in_distribution(case: dict) -> None:
    n_sim = 20_000
    res = ce.rwg_j_null(
        case["gsize"], n_items=case["nitems"], n_options=case["nresp"], n_sim=n_sim, seed=7
    )
    row = res.iloc[0]
    # Monte Carlo: 4 standard errors of the difference of two independent estimates
    se_mean = np.sqrt(case["sd"] ** 2 / case["nrep"] + row["sd"] ** 2 / n_sim)
    assert abs(row["mean"] - case["mean"]) < 4 * se_mean
    p = case["p_zero"]
    se_p = np.sqrt(p * (1 - p) * (1 / case["nrep"] + 1 / n_sim))
    assert abs(row["p_zero"] - p) < 4 * se_p
    q95 = res.set_index("quantile").loc[0.95, "rwg_j"]
    # quantile: se ~ sqrt(q(1-q)/n)/f(q); 0.03 is > 4 se for these designs (density > 1)
    assert abs(q95 - case["q"]["q95"]) < 0.03

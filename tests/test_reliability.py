"""Reference tests of collective_efficacy.reliability against R and pingouin.

Fixtures: tests/fixtures/r/reliability.R (R 4.2.2, psych 2.2.9, psychTools 2.2.9, multilevel 2.7,
lavaan 0.6.14, semTools 0.5.6; versions recorded in the JSON) writes the data sets and every
reference number to tests/fixtures/reliability/.

Tolerances:
* closed forms (alpha, std_alpha, g6, r's, ase, CIs, item statistics, alpha.drop): abs 1e-10
  (observed agreement ~1e-13);
* psych::omega / psych::fa minres (iterative, psych's L-BFGS-B stops early): abs 2e-5
  (observed max 6e-6 on loadings, 6e-7 on omega);
* lavaan ML CFA + semTools::compRelSEM (iterative): abs 1e-5 (observed max 2e-6).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import ReliabilityWarning

FIX = Path(__file__).parent / "fixtures" / "reliability"
REF = json.loads((FIX / "reliability_reference.json").read_text())
DATA = {name: pd.read_csv(FIX / f"{name}.csv") for name in ("cohesion", "bfi", "lq2002")}
CLOSED = 1e-10
MINRES = 2e-5
ML = 1e-5

TOTAL_COLUMNS = [
    "alpha",
    "std_alpha",
    "g6",
    "average_r",
    "signal_noise",
    "ase",
    "mean",
    "sd",
    "median_r",
    "var_r",
    "ci_low",
    "ci_high",
    "n",
    "n_items",
]
ITEM_COLUMNS = [
    "n",
    "r",
    "r_std",
    "r_cor",
    "r_drop",
    "mean",
    "sd",
    "alpha_if_dropped",
    "std_alpha_if_dropped",
    "g6_if_dropped",
    "average_r_if_dropped",
    "signal_noise_if_dropped",
    "ase_if_dropped",
    "var_r_if_dropped",
    "median_r_if_dropped",
]
CASES = [(name, pol) for name in REF["scales"] for pol in ("pairwise", "listwise")]


def _scale(name: str) -> tuple[pd.DataFrame, list[str], list[str] | None]:
    s = REF["scales"][name]
    keys = ["-" + r for r in s["reversed"]] or None
    return DATA[s["data"]], list(s["items"]), keys


def test_fixture_records_versions() -> None:
    v = REF["versions"]
    assert v["psych"] == "2.2.9" and v["lavaan"] and v["semTools"] and v["R"].startswith("R ")


def test_fixture_data_have_scattered_missing_values() -> None:
    # cohesion has exactly one NA; bfi has scattered NAs in the items
    assert int(DATA["cohesion"].isna().sum().sum()) == 1
    assert DATA["bfi"][[f"A{i}" for i in range(1, 6)]].isna().sum().sum() > 50


@pytest.mark.parametrize(("name", "policy"), CASES)
def test_alpha_matches_psych_alpha_total(name: str, policy: str) -> None:
    # psych::alpha(x, keys = rev, use = "pairwise")$total / $feldt ; listwise: na.omit(x)
    data, items, keys = _scale(name)
    ref = REF["scales"][name][policy]["total"]
    res = ce.cronbach_alpha(data, items=items, keys=keys, nan_policy=policy)
    assert len(res) == 1
    for col in TOTAL_COLUMNS:
        assert_allclose(res[col].iloc[0], ref[col], rtol=0, atol=CLOSED, err_msg=col)


@pytest.mark.parametrize(("name", "policy"), CASES)
def test_item_statistics_match_psych_item_stats_and_alpha_drop(name: str, policy: str) -> None:
    # psych::alpha(...)$item.stats and $alpha.drop
    data, items, keys = _scale(name)
    ref = REF["scales"][name][policy]["items"]
    res = ce.item_statistics(data, items=items, keys=keys, nan_policy=policy)
    assert list(res["item"]) == ref["item"]
    for col in ITEM_COLUMNS:
        want = np.array(ref[col], dtype=float)  # R NA (null) -> NaN, compared as NaN
        assert_allclose(res[col].to_numpy(float), want, rtol=0, atol=CLOSED, err_msg=col)
    assert list(res["reversed"]) == [c in REF["scales"][name]["reversed"] for c in items]


@pytest.mark.parametrize("name", list(REF["scales"]))
def test_omega_minres_matches_psych_omega_and_fa(name: str) -> None:
    # psych::omega(x, nfactors = 1, key = key)$omega.tot, $omega_h, $schmid$sl
    # psych::fa(reversed x, nfactors = 1, fm = "minres")$loadings / $uniquenesses
    data, items, keys = _scale(name)
    ref = REF["scales"][name]["omega"]
    res = ce.omega(data, items=items, keys=keys)
    assert res.method == "minres" and res.converged and not res.heywood
    assert_allclose(res.omega, ref["psych_omega"]["omega_tot"], atol=MINRES)
    assert_allclose(res.omega_total, ref["psych_omega"]["omega_tot"], atol=MINRES)
    assert_allclose(res.omega_observed, ref["psych_omega"]["omega_h"], atol=MINRES)
    lo = res.loadings_frame()
    assert_allclose(lo["loading"], ref["psych_omega"]["loadings"], atol=MINRES)
    assert_allclose(lo["uniqueness"], ref["psych_omega"]["u2"], atol=MINRES)
    assert_allclose(lo["communality"], ref["psych_omega"]["h2"], atol=MINRES)
    assert_allclose(lo["loading"], ref["psych_fa"]["loadings"], atol=MINRES)
    assert_allclose(lo["uniqueness"], ref["psych_fa"]["uniquenesses"], atol=MINRES)
    lam, psi = lo["loading"].sum(), lo["uniqueness"].sum()
    assert_allclose(res.omega_model, lam**2 / (lam**2 + psi), rtol=1e-12)


@pytest.mark.parametrize("name", list(REF["scales"]))
def test_omega_ml_matches_lavaan_cfa_and_semtools(name: str) -> None:
    # fit <- lavaan::cfa("f =~ ...", data = reversed x, std.lv = TRUE)
    # semTools::compRelSEM(fit); semTools::compRelSEM(fit, obs.var = FALSE)
    data, items, keys = _scale(name)
    ref = REF["scales"][name]["omega"]["lavaan"]
    res = ce.omega(data, items=items, keys=keys, method="ml")
    assert res.converged and res.max_abs_grad < 1e-6
    assert res.n == ref["nobs"]
    assert_allclose(res.omega, ref["omega"], atol=ML)
    assert_allclose(res.omega_observed, ref["omega"], atol=ML)
    assert_allclose(res.omega_model, ref["omega_model"], atol=ML)
    lo = res.loadings_frame()
    assert_allclose(lo["loading"], ref["loadings"], atol=ML)
    assert_allclose(lo["uniqueness"], ref["thetas"], atol=ML)
    assert "compRelSEM" in res.variant


@pytest.mark.parametrize("gname", list(REF["groups"]))
def test_grouped_alpha_matches_psych_alpha_per_group(gname: str) -> None:
    # one psych::alpha(x[group == g, ], keys = ...) call per group in R
    g = REF["groups"][gname]
    data = DATA[g["data"]]
    data = data[data[g["group"]].notna()]
    keys = ["-" + r for r in g["reversed"]] or None
    res = ce.cronbach_alpha(data, items=g["items"], keys=keys, community=g["group"])
    ref = pd.DataFrame(g["values"])
    assert res.columns[0] == g["group"]
    assert_allclose(res[g["group"]].to_numpy(float), ref["group"].to_numpy(float))
    # psych silently deletes an item without variance in a group; we return NaN + note
    # instead, and check psych's number by dropping that item ourselves.
    dropped = res["note"].fillna("").str.startswith("no variance in item(s)").to_numpy()
    for col in ref.columns[1:]:
        assert_allclose(
            res.loc[~dropped, col].to_numpy(float),
            ref.loc[~dropped, col].to_numpy(float),
            atol=CLOSED,
            err_msg=col,
        )
    assert res.loc[dropped, "alpha"].isna().all()
    for i in np.flatnonzero(dropped):
        label = res[g["group"]].iloc[i]
        bad = res["note"].iloc[i].removeprefix("no variance in item(s) ").split(", ")
        sub = data[data[g["group"]] == label]
        keep = [c for c in g["items"] if c not in bad]
        alone = ce.cronbach_alpha(sub, items=keep, keys=keys, scale_range=(0, 4))
        for col in ["alpha", "std_alpha", "g6", "average_r", "median_r", "ase", "ci_low"]:
            assert_allclose(alone[col].iloc[0], ref[col].iloc[i], atol=CLOSED, err_msg=col)
    assert dropped.sum() <= 1


# --- pingouin's documented examples (pingouin.cronbach_alpha docstring, pingouin 0.5.x) --------


def _pingouin_wide() -> pd.DataFrame:
    pg = pytest.importorskip("pingouin")
    long = pg.read_dataset("cronbach_alpha")
    return long.pivot(index="Subj", columns="Items", values="Scores")


def test_pingouin_documented_long_example() -> None:
    # pg.cronbach_alpha(data=df, items='Items', scores='Scores', subject='Subj')
    # -> (0.5917188485995826, array([0.195, 0.84 ]))  (pingouin rounds the CI to 3 decimals)
    wide = _pingouin_wide()
    with pytest.warns(ReliabilityWarning, match="Q5"):  # Q5, Q6 correlate negatively
        res = ce.cronbach_alpha(wide)
    assert_allclose(res["alpha"].iloc[0], 0.5917188485995826, atol=1e-12)
    assert_allclose(res[["ci_low", "ci_high"]].iloc[0], [0.195, 0.840], atol=5e-4)


def test_pingouin_documented_wide_missing_example() -> None:
    pg = pytest.importorskip("pingouin")
    wide = pg.read_dataset("cronbach_wide_missing")
    with pytest.warns(ReliabilityWarning, match="Q1"):  # Q1, Q4: negative item-rest r
        pair = ce.cronbach_alpha(wide)  # pg.cronbach_alpha(data) -> 0.732661, [0.435, 0.909]
    assert_allclose(pair["alpha"].iloc[0], 0.732660835214447, atol=1e-12)
    assert_allclose(pair[["ci_low", "ci_high"]].iloc[0], [0.435, 0.909], atol=5e-4)
    listw = ce.cronbach_alpha(wide, nan_policy="listwise")  # pingouin: 0.801695
    # Q4's item-rest r is exactly 0 here
    assert listw["suspect_items"].iloc[0] is None and not listw["reversed_suspect"].iloc[0]
    assert_allclose(listw["alpha"].iloc[0], 0.8016949152542373, atol=1e-12)
    # pingouin's listwise CI uses n = 12 rows before deletion ([0.581, 0.933]); we use the
    # 9 complete respondents (as psych::alpha(na.omit(x)) does): [0.533, 0.947]
    assert int(listw["n"].iloc[0]) == 9
    assert_allclose(listw[["ci_low", "ci_high"]].iloc[0], [0.533, 0.947], atol=5e-4)


def test_pingouin_live_agrees_on_pairwise_alpha() -> None:
    pg = pytest.importorskip("pingouin")
    data, items, _ = _scale("bfi_neuro")
    ours = ce.cronbach_alpha(data, items=items)["alpha"].iloc[0]
    theirs, _ci = pg.cronbach_alpha(data[items])
    assert_allclose(ours, theirs, atol=1e-12)


def test_feldt_ci_reproduces_published_example() -> None:
    # Feldt et al. (1987) example via psychometric::alpha.CI: alpha=.79, k=26, n=41
    # 95%: [0.685137, 0.872584]; 90%: [0.704676, 0.861614] (methods-and-instruments.md 4.2)
    from collective_efficacy.reliability._core import feldt_ci

    lo, hi = feldt_ci(np.array([0.79]), np.array([41.0]), 26, 0.95)
    assert_allclose([lo[0], hi[0]], [0.685137, 0.872584], atol=1e-6)
    lo, hi = feldt_ci(np.array([0.79]), np.array([41.0]), 26, 0.90)
    assert_allclose([lo[0], hi[0]], [0.704676, 0.861614], atol=1e-6)


def test_duhachek_ci_is_alpha_plus_minus_z_ase() -> None:
    # psych prints alpha +- 1.96 * ase ("Duhachek")
    data, items, keys = _scale("bfi_agree")
    ref = REF["scales"]["bfi_agree"]["pairwise"]["total"]
    res = ce.cronbach_alpha(data, items=items, keys=keys, ci_method="duhachek").iloc[0]
    z = 1.959963984540054
    assert_allclose(res["ci_low"], ref["alpha"] - z * ref["ase"], atol=CLOSED)
    assert_allclose(res["ci_high"], ref["alpha"] + z * ref["ase"], atol=CLOSED)
    assert res["ci_method"] == "duhachek" and res["confidence"] == 0.95


def test_bootstrap_ci_equals_naive_resampling() -> None:
    data, items, _keys = _scale("cohesion_coh")
    res = ce.cronbach_alpha(data, items=items, ci_method="bootstrap", n_boot=200, seed=7).iloc[0]
    x = data[items].to_numpy(float)
    rng = np.random.default_rng(7)
    boots = []
    for _ in range(200):
        idx = np.floor(rng.random(len(x)) * len(x)).astype(int)
        c = pd.DataFrame(x[idx]).cov().to_numpy()  # pairwise, like R cov(use = "pairwise")
        k = c.shape[0]
        boots.append((1 - np.trace(c) / c.sum()) * k / (k - 1))
    b = np.asarray(boots)
    b = b[np.isfinite(b)]
    assert_allclose([res["ci_low"], res["ci_high"]], np.quantile(b, [0.025, 0.975]), atol=1e-12)
    again = ce.cronbach_alpha(data, items=items, ci_method="bootstrap", n_boot=200, seed=7).iloc[0]
    assert again["ci_low"] == res["ci_low"] and again["ci_high"] == res["ci_high"]


def test_grouped_bootstrap_is_seeded_and_brackets_alpha() -> None:
    d = DATA["lq2002"]
    items = [f"HOSTIL0{i}" for i in range(1, 6)]
    a = ce.cronbach_alpha(
        d, items=items, community="COMPID", ci_method="bootstrap", n_boot=300, seed=1
    )
    b = ce.cronbach_alpha(
        d, items=items, community="COMPID", ci_method="bootstrap", n_boot=300, seed=1
    )
    pd.testing.assert_frame_equal(a, b)
    ok = a["alpha"].notna()
    inside = (a["ci_low"] <= a["alpha"] + 0.02) & (a["alpha"] - 0.02 <= a["ci_high"])
    assert inside[ok].mean() > 0.9
    assert (a.loc[ok, "ci_high"] - a.loc[ok, "ci_low"] > 0).all()


# --- diagnostics ---------------------------------------------------------------------------


def test_missing_reverse_key_warns_and_flags_item() -> None:
    data, items, _ = _scale("bfi_agree")  # A1 is reverse worded
    with pytest.warns(ReliabilityWarning, match="A1.*reverse-coding likely missing"):
        res = ce.cronbach_alpha(data, items=items)
    assert res["suspect_items"].iloc[0] == "A1" and res["reversed_suspect"].iloc[0]
    with pytest.warns(ReliabilityWarning, match="A1"):
        st = ce.item_statistics(data, items=items)
    assert st.set_index("item")["reversed_suspect"].to_dict() == {
        "A1": True,
        "A2": False,
        "A3": False,
        "A4": False,
        "A5": False,
    }
    assert "reverse-coding" in st.set_index("item").loc["A1", "note"]


def test_negative_alpha_is_explained() -> None:
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [5, 4, 3, 2, 1, 3], "c": [2, 4, 3, 3, 4, 2]})
    with pytest.warns(ReliabilityWarning) as rec:
        res = ce.cronbach_alpha(df)
    assert res["alpha"].iloc[0] < 0
    assert "negative alpha" in res["note"].iloc[0]
    assert any("negative alpha" in str(w.message) for w in rec)


def test_pair_never_answered_together_gives_nan_and_reason() -> None:
    nan = np.nan
    df = pd.DataFrame(
        {
            "a": [1, 2, 3, 4, 2, 3, nan, nan, nan, nan],
            "b": [nan, nan, nan, nan, nan, nan, 2, 3, 4, 1],
            "c": [1, 3, 3, 5, 2, 2, 3, 4, 5, 1],
        }
    )
    with pytest.warns(ReliabilityWarning, match="a & b"):
        res = ce.cronbach_alpha(df)
    assert np.isnan(res["alpha"].iloc[0]) and np.isnan(res["ci_low"].iloc[0])
    assert "covariance undefined" in res["note"].iloc[0]
    with pytest.warns(ReliabilityWarning, match="a & b"):
        st = ce.item_statistics(df)
    assert np.isnan(st["alpha_if_dropped"].iloc[2])  # a and b still together
    assert_allclose(st["alpha_if_dropped"].iloc[1], ce.cronbach_alpha(df[["a", "c"]])["alpha"])
    assert "covariance undefined with b" in st["note"].iloc[0]


def test_two_items_drop_statistics_are_nan() -> None:
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4]})
    st = ce.item_statistics(df)
    assert st["alpha_if_dropped"].isna().all()
    res = ce.cronbach_alpha(df)
    c = df.cov().to_numpy()
    assert_allclose(res["alpha"].iloc[0], 2 * (1 - np.trace(c) / c.sum()), rtol=1e-12)


def test_omega_negative_loading_warns() -> None:
    data, items, _ = _scale("bfi_agree")
    with pytest.warns(ReliabilityWarning, match="A1.*load negatively"):
        res = ce.omega(data, items=items)
    assert res.loadings_frame().set_index("item").loc["A1", "loading"] < 0


def test_omega_result_is_json_ready_and_tidy() -> None:
    data, items, keys = _scale("cohesion_coh")
    res = ce.omega(data, items=items, keys=keys)
    back = ce.OmegaResult.model_validate_json(res.model_dump_json())
    assert back == res
    summ = res.summary()
    assert summ.shape[0] == 1 and {"omega", "omega_model", "variant"} <= set(summ.columns)
    assert list(res.loadings_frame().columns) == [
        "item",
        "reversed",
        "loading",
        "uniqueness",
        "communality",
    ]


def test_omega_ml_requires_listwise() -> None:
    data, items, _keys = _scale("cohesion_coh")
    with pytest.raises(ce.DataError, match="listwise"):
        ce.omega(data, items=items, method="ml", nan_policy="pairwise")


def test_keys_forms_are_equivalent() -> None:
    data, items, _ = _scale("bfi_consc")
    a = ce.cronbach_alpha(data, items=items, keys=["-C4", "-C5"])
    b = ce.cronbach_alpha(data, items=items, keys={"C4": -1, "C5": -1})
    c = ce.cronbach_alpha(data, items=items, keys=[1, 1, 1, -1, -1])

    class Inst:
        def reverse_keys(self) -> dict[str, int]:
            return {"C4": -1, "C5": -1}

        def response_range(self) -> tuple[int, int]:
            return (1, 6)

    d = ce.cronbach_alpha(data, items=items, keys=Inst())
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)
    pd.testing.assert_frame_equal(a, d)  # bfi codes run 1-6, same as the observed range


def test_response_range_changes_only_means() -> None:
    data, items, keys = _scale("bfi_consc")
    a = ce.cronbach_alpha(data, items=items, keys=keys)
    b = ce.cronbach_alpha(data, items=items, keys=keys, scale_range=(0, 7))
    assert_allclose(a["alpha"], b["alpha"], rtol=0, atol=0)
    x = data[items].to_numpy(float).copy()
    x[:, 3:] = 7 - x[:, 3:]
    assert_allclose(b["mean"].iloc[0], np.nanmean(np.nanmean(x, axis=1)), rtol=1e-12)

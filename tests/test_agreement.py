"""Properties, edge cases and bad input of collective_efficacy.agreement (issue 5).

Reference values against R are in test_agreement_reference.py. Here each statistic is also
checked against a direct per-community computation with numpy (a loop over communities is
fine in a test), and against invariances that must hold exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.agreement import _groups as _agreement_groups
from collective_efficacy.agreement import _levels as _agreement_levels
from collective_efficacy.agreement._null import simulate_rwg_j
from collective_efficacy.errors import DataError

ITEMS = ["I1", "I2", "I3"]


def _survey(seed: int, n_groups: int = 30, missing: float = 0.1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, size=n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    base = rng.integers(1, 6, size=n_groups)[g]
    x = np.clip(base[:, None] + rng.integers(-1, 2, size=(len(g), 3)), 1, 5).astype(float)
    x[rng.random(x.shape) < missing] = np.nan
    df = pd.DataFrame(x, columns=ITEMS)
    df.insert(0, "nbh", np.char.add("N", g.astype(str)))
    df["score"] = df[ITEMS].mean(axis=1)
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


# ---- direct per-community computations (independent of the vectorised code) -------------
def _direct(df: pd.DataFrame, items: list[str], sigma2: float) -> pd.DataFrame:
    rows = []
    for label, sub in df.groupby("nbh"):
        x = sub[items].dropna().to_numpy()  # listwise
        n = len(x)
        if n < 2:
            rows.append((label, n, np.nan, np.nan, np.nan, np.nan))
            continue
        s2 = x.var(axis=0, ddof=1).mean()
        r = min(s2, sigma2) / sigma2
        j = len(items)
        ad_mean = np.abs(x - x.mean(axis=0)).mean(axis=0).mean()
        ad_med = np.abs(x - np.median(x, axis=0)).mean(axis=0).mean()
        rows.append((label, n, j * (1 - r) / (j * (1 - r) + r), 1 - s2 / sigma2, ad_mean, ad_med))
    return pd.DataFrame(rows, columns=["nbh", "n", "rwg_j", "rwg_j_star", "ad_mean", "ad_med"])


@pytest.fixture(params=["table", "segments"])
def kernel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test through both kernels: count tables (discrete codes) and segment sums."""
    if request.param == "segments":
        monkeypatch.setattr(_agreement_levels, "_MAX_TABLE_CELLS", 0)
    return str(request.param)


@pytest.mark.parametrize("order", ["shuffled", "sorted"])  # bincount vs reduceat sums
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_community_equals_direct_computation(seed: int, order: str, kernel: str) -> None:
    df = _survey(seed)
    if order == "sorted":
        df = df.sort_values("nbh", kind="stable").reset_index(drop=True)
    ref = _direct(df, ITEMS, 2.0)
    j = ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5)
    star = ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5, lindell=True)
    adm = ce.ad_index(df, items=ITEMS, community="nbh", n_options=5)
    adl = ce.ad_index(df, items=ITEMS, community="nbh", n_options=5, center="median")
    for res in (j, star, adm, adl):
        assert list(res["nbh"]) == list(ref["nbh"])
        assert (res["n"].to_numpy() == ref["n"].to_numpy()).all()
    # closed forms on the same numbers: atol 1e-12
    assert_allclose(j["rwg_j"], ref["rwg_j"], atol=1e-12)
    assert_allclose(star["rwg_j"], ref["rwg_j_star"], atol=1e-12)
    assert_allclose(adm["ad"], ref["ad_mean"], atol=1e-12)
    assert_allclose(adl["ad"], ref["ad_med"], atol=1e-12)
    # NaN exactly where a community has < 2 complete respondents, with the reason
    small = ref["n"].to_numpy() < 2
    assert (j["rwg_j"].isna().to_numpy() == small).all()
    assert j.loc[small, "note"].notna().all() and j.loc[~small, "note"].isna().all()


def test_each_community_alone_gives_the_same_value() -> None:
    df = _survey(5, n_groups=12)
    full_j = ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5).set_index("nbh")
    full_ad = ce.ad_index(df, items=ITEMS, community="nbh", center="median").set_index("nbh")
    full_r = ce.rwg(df, item="I1", community="nbh", n_options=5).set_index("nbh")
    for label, sub in df.groupby("nbh"):
        one_j = ce.rwg_j(sub, items=ITEMS, community="nbh", n_options=5).iloc[0]
        one_ad = ce.ad_index(sub, items=ITEMS, community="nbh", center="median").iloc[0]
        one_r = ce.rwg(sub, item="I1", community="nbh", n_options=5).iloc[0]
        assert_allclose(one_j["rwg_j"], full_j.loc[label, "rwg_j"], atol=1e-13)
        assert_allclose(one_ad["ad"], full_ad.loc[label, "ad"], atol=1e-13)
        assert_allclose(one_r["rwg"], full_r.loc[label, "rwg"], atol=1e-13)


# ---- hypothesis: order and label invariance ---------------------------------------------
@st.composite
def surveys(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray, int]:
    n_groups = draw(st.integers(2, 6))
    sizes = draw(st.lists(st.integers(1, 7), min_size=n_groups, max_size=n_groups))
    n = sum(sizes)
    vals = draw(
        st.lists(
            st.one_of(st.integers(1, 5).map(float), st.just(np.nan)),
            min_size=3 * n,
            max_size=3 * n,
        )
    )
    x = np.array(vals).reshape(n, 3)
    g = np.repeat(np.arange(n_groups), sizes)
    df = pd.DataFrame(x, columns=ITEMS)
    df.insert(0, "nbh", np.char.add("G", g.astype(str)))
    perm = np.array(draw(st.permutations(list(range(n)))))
    seed = draw(st.integers(0, 2**16))
    return df, perm, seed


def _by_label(res: pd.DataFrame) -> pd.DataFrame:
    return res.set_index("nbh").sort_index()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(surveys())
def test_invariant_to_row_order_and_labels(case: tuple[pd.DataFrame, np.ndarray, int]) -> None:
    _check_invariance(case)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(surveys())
def test_invariant_with_segment_kernel(case: tuple[pd.DataFrame, np.ndarray, int]) -> None:
    old = _agreement_levels._MAX_TABLE_CELLS
    _agreement_levels._MAX_TABLE_CELLS = 0
    try:
        _check_invariance(case)
    finally:
        _agreement_levels._MAX_TABLE_CELLS = old


def _check_invariance(case: tuple[pd.DataFrame, np.ndarray, int]) -> None:
    df, perm, seed = case
    rng = np.random.default_rng(seed)
    labels = df["nbh"].unique()
    new = dict(zip(labels, rng.permutation([f"z{i}" for i in range(len(labels))]), strict=True))
    shuffled = df.iloc[perm].reset_index(drop=True)
    relabelled = shuffled.assign(nbh=shuffled["nbh"].map(new))
    before = df.copy()
    for func, kw in [
        (ce.rwg_j, {"n_options": 5}),
        (ce.rwg_j, {"n_options": 5, "nan_policy": "pairwise"}),
        (ce.ad_index, {"center": "median"}),
        (ce.ad_index, {"center": "mean", "nan_policy": "pairwise"}),
    ]:
        a = _by_label(func(df, items=ITEMS, community="nbh", **kw))
        b = func(relabelled, items=ITEMS, community="nbh", **kw)
        b["nbh"] = b["nbh"].map({v: k for k, v in new.items()})
        pd.testing.assert_frame_equal(a, _by_label(b), check_exact=False, rtol=1e-12)
    a = _by_label(ce.rwg(df, item="I2", community="nbh", n_options=5))
    b = ce.rwg(relabelled, item="I2", community="nbh", n_options=5)
    b["nbh"] = b["nbh"].map({v: k for k, v in new.items()})
    pd.testing.assert_frame_equal(a, _by_label(b), check_exact=False, rtol=1e-12)
    y = df.assign(score=df[ITEMS].mean(axis=1))
    ys = relabelled.assign(score=relabelled[ITEMS].mean(axis=1))
    try:
        ia = ce.icc(y, dv="score", community="nbh")
    except DataError:
        with pytest.raises(DataError):
            ce.icc(ys, dv="score", community="nbh")
    else:
        ib = ce.icc(ys, dv="score", community="nbh")
        pd.testing.assert_frame_equal(ia, ib, check_exact=False, rtol=1e-9, atol=1e-12)
        # ICC(1) bound: >= -1/(mean size - 1)
        row = ia.iloc[0]
        if row["msw"] > 0:
            assert row["icc1"] >= -1 / (row["mean_group_size"] - 1) - 1e-12
        else:
            assert row["note"].startswith("no ")
    pd.testing.assert_frame_equal(df, before)  # caller's data unchanged


# ---- ICC ----------------------------------------------------------------------------------
def test_icc_balanced_reml_equals_anova() -> None:
    # balanced one-way design with MSB > MSW: REML tau = (MSB - MSW)/n, sigma2 = MSW
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(40), 6)
    y = rng.normal(size=40)[g] * 0.7 + rng.normal(size=len(g))
    row = ce.icc(pd.DataFrame({"g": g, "y": y}), dv="y", community="g").iloc[0]
    assert row["msb"] > row["msw"]
    assert_allclose(row["sigma2"], row["msw"], rtol=1e-9)
    assert_allclose(row["tau"], (row["msb"] - row["msw"]) / 6, rtol=1e-9)
    assert_allclose(row["icc1_reml"], row["icc1"], rtol=1e-9)
    assert_allclose(row["icc1_n0"], row["icc1"], rtol=1e-12)  # n0 == N/k when balanced
    assert_allclose(row["icc2_reml"], row["icc2"], rtol=1e-9)


def test_icc_negative_and_reml_boundary() -> None:
    # groups more alike than chance: MSB < MSW -> ICC(1) < 0 kept, REML tau at the boundary 0
    df = pd.DataFrame({"g": np.repeat([0, 1, 2], 4), "y": [1, 5, 1, 5, 2, 4, 5, 1, 5, 1, 3, 3]})
    row = ce.icc(df, dv="y", community="g").iloc[0]
    assert row["icc1"] < 0 and row["icc2"] < 0
    assert row["tau"] == 0.0 and row["icc1_reml"] == 0.0
    rel = ce.group_reliability(df, dv="y", community="g")
    assert (rel["icc2_j"] == 0.0).all()


def test_group_reliability_is_spearman_brown_of_reml_icc() -> None:
    df = _survey(11)
    rel = ce.group_reliability(df, dv=["score", "I1"], community="nbh")
    assert list(rel["dv"].unique()) == ["score", "I1"]
    for dv, sub in rel.groupby("dv", sort=False):
        rho = ce.icc(df, dv=dv, community="nbh").iloc[0]["icc1_reml"]
        n = sub["n"].to_numpy(dtype=float)
        assert_allclose(sub["icc1"], rho, rtol=1e-14)
        assert_allclose(sub["icc2_j"], n * rho / (1 + (n - 1) * rho), rtol=1e-12)
        counts = df.dropna(subset=[dv]).groupby("nbh").size()
        assert (sub.set_index("nbh")["n"] == counts.reindex(sub["nbh"]).fillna(0)).all()


def test_group_reliability_community_without_values_kept_with_note() -> None:
    df = _survey(12)
    df.loc[df["nbh"] == "N0", "score"] = np.nan
    rel = ce.group_reliability(df, dv="score", community="nbh").set_index("nbh")
    assert rel.loc["N0", "n"] == 0 and np.isnan(rel.loc["N0", "icc2_j"])
    assert "no respondent" in rel.loc["N0", "note"]


def test_icc_singletons_kept_like_aov() -> None:
    df = _survey(4)
    with_single = pd.concat(
        [df, pd.DataFrame({"nbh": ["solo"], "score": [3.0]})], ignore_index=True
    )
    a = ce.icc(df, dv="score", community="nbh").iloc[0]
    b = ce.icc(with_single, dv="score", community="nbh").iloc[0]
    assert b["n_groups"] == a["n_groups"] + 1 and b["df2"] == a["df2"]  # adds to df1 only
    assert b["n_singletons"] == a["n_singletons"] + 1


# ---- group coding fast paths ----------------------------------------------------------------
def test_integer_categorical_and_string_groups_agree() -> None:
    df = _survey(6)
    ids = df["nbh"].str[1:].astype(np.int64)
    variants = {
        "string": df,
        "int": df.assign(nbh=ids),
        "int_offset": df.assign(nbh=ids * 7 + 10_000_000),  # large ids with gaps
        "categorical": df.assign(
            nbh=pd.Categorical(df["nbh"], categories=[*sorted(df["nbh"].unique()), "unused"])
        ),
    }
    base = ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5)
    base_icc = ce.icc(df, dv="score", community="nbh")
    for name, d in variants.items():
        res = ce.rwg_j(d, items=ITEMS, community="nbh", n_options=5)
        assert len(res) == len(base), name  # unused categories / id gaps are not communities
        key = res["nbh"].astype(str) if name == "categorical" else res["nbh"]
        order = np.argsort(key.to_numpy()) if name != "string" else np.arange(len(res))
        got = res.iloc[order].drop(columns="nbh").reset_index(drop=True)
        want = (
            base.set_index("nbh")
            .loc[_as_string_labels(res["nbh"].iloc[order], name)]
            .reset_index(drop=True)
        )
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(ce.icc(d, dv="score", community="nbh"), base_icc, rtol=1e-12)


def _as_string_labels(labels: pd.Series, name: str) -> list[str]:
    if name == "int":
        return [f"N{v}" for v in labels]
    if name == "int_offset":
        return [f"N{(v - 10_000_000) // 7}" for v in labels]
    return [str(v) for v in labels]


def test_two_column_grouping_equals_pasted_labels() -> None:
    df = _survey(7)
    df["unit"] = df["nbh"].str[1:].astype(int) % 4
    df["platoon"] = df["nbh"]
    nested = ce.ad_index(df, items=ITEMS, community=["unit", "platoon"], n_options=5)
    assert list(nested.columns[:2]) == ["unit", "platoon"]
    pasted = ce.ad_index(
        df.assign(up=df["unit"].astype(str) + "|" + df["platoon"]), items=ITEMS, community="up"
    )
    key = nested["unit"].astype(str) + "|" + nested["platoon"]
    got = nested.assign(up=key).set_index("up").sort_index()
    want = pasted.set_index("up").sort_index()
    assert_allclose(got["ad"], want["ad"], atol=1e-14)
    assert (got["n"] == want["n"]).all()


@pytest.mark.parametrize("force_sort", [False, True])
def test_group_medians_count_table_and_sort_paths(
    force_sort: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if force_sort:
        monkeypatch.setattr(_agreement_groups, "_MAX_LEVEL_CELLS", 1)
    rng = np.random.default_rng(8)
    codes = rng.integers(0, 50, size=900)
    for x in (rng.integers(1, 8, size=900).astype(float), rng.normal(size=900)):
        n = np.bincount(codes, minlength=52)
        med = _agreement_groups.group_medians(x, codes, 52, n)
        want = [np.median(x[codes == k]) if n[k] else np.nan for k in range(52)]
        assert_allclose(med, want, atol=0)


def test_non_integer_values_use_segment_kernel_and_agree() -> None:
    # e.g. half-point answers: not a discrete 1..A code set, so segment sums are used
    df = _survey(20)
    half = df.assign(**{c: df[c] / 2 for c in ITEMS})
    ref = _direct(half, ITEMS, 0.5)
    res = ce.rwg_j(half, items=ITEMS, community="nbh", ranvar=0.5)
    assert_allclose(res["rwg_j"], ref["rwg_j"], atol=1e-12)
    med = ce.ad_index(half, items=ITEMS, community="nbh", center="median")
    assert_allclose(med["ad"], ref["ad_med"], atol=1e-12)
    # listed (non-consecutive) codes go through the count tables too
    listed = ce.ad_index(half, items=ITEMS, community="nbh", options=[0.5, 1, 1.5, 2, 2.5])
    assert_allclose(listed["ad"], ce.ad_index(half, items=ITEMS, community="nbh")["ad"], atol=1e-12)
    assert (listed["practical_cutoff"] == 5 / 6).all()


def test_pairwise_uses_available_answers_per_item(kernel: str) -> None:
    df = _survey(9, missing=0.3)
    res = ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5, nan_policy="pairwise").set_index(
        "nbh"
    )
    for label, sub in df.groupby("nbh"):
        variances = [sub[c].dropna().var(ddof=1) for c in ITEMS if sub[c].notna().sum() >= 2]
        if not variances:
            assert np.isnan(res.loc[label, "rwg_j"])
            continue
        s2 = float(np.mean(variances))
        assert_allclose(res.loc[label, "mean_variance"], s2, atol=1e-12)
        assert res.loc[label, "n_items"] == len(variances)


# ---- rwg / ranvar / options ---------------------------------------------------------------
def test_ranvar_names_and_numbers() -> None:
    df = _survey(10)
    uni = ce.rwg(df, item="I1", community="nbh", n_options=5)
    num = ce.rwg(df, item="I1", community="nbh", ranvar=2.0)
    pd.testing.assert_frame_equal(uni, num)
    assert (ce.rwg(df, item="I1", community="nbh", n_options=7)["ranvar"] == 4.0).all()  # (49-1)/12
    expected = {"slight_skew": 1.34, "moderate_skew": 0.90, "heavy_skew": 0.44}
    expected |= {"triangular": 1.32, "normal": 1.04, "uniform": 2.0}
    for name, value in expected.items():
        res = ce.rwg_j(df, items=ITEMS, community="nbh", ranvar=name, n_options=5)
        assert (res["ranvar"] == value).all()
    opt = ce.rwg_j(df, items=ITEMS, community="nbh", options=[1, 2, 3, 4, 5])
    pd.testing.assert_frame_equal(opt, ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5))

    class Options:  # an instrument-like response-options object
        n_options = 5

    pd.testing.assert_frame_equal(
        ce.rwg_j(df, items=ITEMS, community="nbh", options=Options()), opt
    )


def test_rwg_truncation_flag() -> None:
    df = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "x": [1, 5, 1, 5, 3, 3, 3, 4]})
    res = ce.rwg(df, item="x", community="g", n_options=5).set_index("g")
    assert res.loc["a", "truncated"] and res.loc["a", "rwg"] == 0.0
    assert_allclose(res.loc["a", "variance"], 16 / 3)
    assert not res.loc["b", "truncated"]
    assert_allclose(res.loc["b", "rwg"], 1 - 0.25 / 2)


def test_ad_practical_cutoff_and_flag() -> None:
    df = _survey(13)
    res = ce.ad_index(df, items=ITEMS, community="nbh", n_options=5)
    assert (res["practical_cutoff"] == 5 / 6).all()
    ok = res["ad"].notna()
    assert (res.loc[ok, "agreement"] == (res.loc[ok, "ad"] <= 5 / 6)).all()
    assert res.loc[~ok, "agreement"].isna().all()
    no_a = ce.ad_index(df, items=ITEMS, community="nbh")
    assert no_a["practical_cutoff"].isna().all() and no_a["agreement"].isna().all()


# ---- rwg_j_null -----------------------------------------------------------------------------
def test_rwg_j_null_reproducible_and_equal_to_rwg_j_on_the_simulated_data() -> None:
    a = ce.rwg_j_null(6, n_items=4, n_sim=3000, seed=42)
    pd.testing.assert_frame_equal(a, ce.rwg_j_null(6, n_items=4, n_sim=3000, seed=42))
    assert list(a["quantile"]) == [0.90, 0.95, 0.99]
    draws = simulate_rwg_j(6, 4, 5, 50, np.random.default_rng(1))
    x = np.random.default_rng(1).integers(1, 6, size=(50, 6, 4)).astype(float)
    df = pd.DataFrame(x.reshape(300, 4), columns=["a", "b", "c", "d"])
    df["g"] = np.repeat(np.arange(50), 6)
    res = ce.rwg_j(df, items=["a", "b", "c", "d"], community="g", n_options=5)
    assert_allclose(res["rwg_j"], draws, atol=1e-12)


def test_rwg_j_null_exact_small_case() -> None:
    # n = 2, one item, 2 options: rwg = 1 with prob 1/2 (same answers) else 0 (variance 0.5 >
    # ranvar 0.25, truncated)
    res = ce.rwg_j_null(2, n_items=1, n_options=2, n_sim=40_000, seed=3, quantiles=[0.25, 0.75])
    assert set(res["rwg_j"]) == {0.0, 1.0}
    assert abs(res["p_zero"].iloc[0] - 0.5) < 4 * np.sqrt(0.25 / 40_000)


# ---- bad input ------------------------------------------------------------------------------
def test_group_column_with_nan_names_rows() -> None:
    df = _survey(14)
    df.loc[[3, 8], "nbh"] = np.nan
    for call in (
        lambda: ce.icc(df, dv="score", community="nbh"),
        lambda: ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5),
        lambda: ce.ad_index(df, items=ITEMS, community="nbh"),
    ):
        with pytest.raises(
            DataError, match=r"'nbh' has 2 missing value\(s\) at index labels 3 and 8;"
        ):
            call()


def test_one_community_only() -> None:
    df = _survey(15).assign(nbh="only")
    with pytest.raises(DataError, match="1 community only"):
        ce.icc(df, dv="score", community="nbh")
    with pytest.raises(DataError, match="1 community only"):
        ce.group_reliability(df, dv="score", community="nbh")
    res = ce.rwg_j(
        df, items=ITEMS, community="nbh", n_options=5
    )  # agreement is per community: fine
    assert len(res) == 1 and res["rwg_j"].notna().all()


def test_every_community_of_size_one() -> None:
    df = pd.DataFrame({"g": list("abcd"), "I1": [1.0, 2, 3, 4], "I2": [2.0, 2, 3, 5]})
    with pytest.raises(DataError, match="every community has a single respondent"):
        ce.icc(df, dv="I1", community="g")
    res = ce.rwg_j(df, items=["I1", "I2"], community="g", n_options=5)
    assert res["rwg_j"].isna().all()
    assert res["note"].str.contains("fewer than 2 respondents").all()
    ad = ce.ad_index(df, items=["I1", "I2"], community="g")
    assert ad["ad"].isna().all() and ad["note"].notna().all()


def test_item_outside_scale_names_column_row_value(kernel: str) -> None:
    df = _survey(16)
    df.loc[5, "I2"] = 7.0
    df.loc[9, "I3"] = 0.0
    with pytest.raises(DataError, match=r"column 'I2'.*index label 5: \[7\].*column 'I3'"):
        ce.rwg_j(df, items=ITEMS, community="nbh", n_options=5)
    with pytest.raises(DataError, match="outside the response scale"):
        ce.ad_index(df, items=ITEMS, community="nbh", options=range(1, 6))
    # without a scale there is nothing to check against: computed as given
    assert len(ce.ad_index(df, items=ITEMS, community="nbh")) > 0
    # a 0-4 scale declared with its codes accepts 0
    ok = df.drop(index=[5, 9])
    shifted = ok.assign(**{c: ok[c] - 1 for c in ITEMS})
    res = ce.rwg_j(shifted, items=ITEMS, community="nbh", options=range(0, 5))
    pd.testing.assert_frame_equal(res, ce.rwg_j(ok, items=ITEMS, community="nbh", n_options=5))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs the number of response options"),
        ({"ranvar": "slight_skew", "n_options": 7}, "5-point scales only"),
        ({"ranvar": "skewed", "n_options": 5}, "must be a positive number or one of"),
        ({"ranvar": -1.0}, "positive finite number"),
        ({"n_options": 5, "options": 7}, "disagree"),
        ({"n_options": 1}, ">= 2"),
        ({"n_options": 5, "nan_policy": "omit"}, "nan_policy"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        ce.rwg_j(_survey(17), items=ITEMS, community="nbh", **kwargs)


def test_other_bad_arguments() -> None:
    df = _survey(18)
    with pytest.raises(DataError, match="center"):
        ce.ad_index(df, items=ITEMS, community="nbh", center="mode")
    with pytest.raises(DataError, match="not found"):
        ce.rwg_j(df, items=["I1", "nope"], community="nbh", n_options=5)
    with pytest.raises(DataError, match="not found"):
        ce.icc(df, dv="score", community="community")
    with pytest.raises(DataError, match="non-numeric"):
        ce.icc(df.assign(score="x"), dv="score", community="nbh")
    with pytest.raises(DataError, match="rwg_j for a scale"):
        ce.rwg(df, item=ITEMS, community="nbh", n_options=5)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="clash"):
        ce.rwg(df.rename(columns={"nbh": "n"}), item="I1", community="n", n_options=5)
    with pytest.raises(DataError, match="no non-missing value"):
        ce.icc(df.assign(score=np.nan), dv="score", community="nbh")
    for bad in ({"n": 1}, {"n_items": 0}, {"n_sim": 0}, {"quantiles": [1.5]}):
        with pytest.raises(DataError):
            ce.rwg_j_null(**{"n": 5, "n_items": 3, **bad})


def test_caller_data_unchanged_by_every_function() -> None:
    df = _survey(19)
    df["cat"] = pd.Categorical(df["nbh"])
    before = df.copy()
    ce.icc(df, dv=["score", "I1"], community="nbh")
    ce.group_reliability(df, dv="score", community="cat")
    ce.rwg(df, item="I1", community="nbh", n_options=5)
    ce.rwg_j(df, items=ITEMS, community=["nbh", "cat"], n_options=5, nan_policy="pairwise")
    ce.ad_index(df, items=ITEMS, community="nbh", center="median")
    pd.testing.assert_frame_equal(df, before)


def test_no_within_variation_is_exact_in_every_row_order() -> None:
    # SSW = SST - SSB cancels to a rounding remainder (hypothesis found F = inf in one row order
    # and 2e16 in another); without within-community variation F is inf whatever the order
    rng = np.random.default_rng(3)
    means = {"a": 0.1, "b": 0.7, "c": 1.3, "d": 2.9}
    df = pd.DataFrame({"nbh": rng.choice(list(means), 200)})
    df["y"] = df["nbh"].map(means) / 3.0
    for seed in range(20):
        perm = np.random.default_rng(seed).permutation(len(df))
        r = ce.icc(df.iloc[perm].reset_index(drop=True), dv="y", community="nbh").iloc[0]
        assert r["msw"] == 0.0 and np.isinf(r["f"]) and r["icc1"] == 1.0

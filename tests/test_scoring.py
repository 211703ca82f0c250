"""Scoring and aggregation: reference values from R psych::scoreItems, properties, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

import collective_efficacy as ce

BFI_KEYS = {
    "agree": ["-A1", "A2", "A3", "A4", "A5"],
    "conscientious": ["C1", "C2", "C3", "-C4", "-C5"],
    "extraversion": ["-E1", "-E2", "E3", "E4", "E5"],
    "neuroticism": ["N1", "N2", "N3", "N4", "N5"],
    "openness": ["O1", "-O2", "O3", "O4", "-O5"],
}


def test_scoreitems_bfi_reference(fixtures) -> None:
    # R: psych::scoreItems(keys, bfi[,1:25], totals=FALSE, impute="none", min=1, max=6)
    # (tests/fixtures/r/scoring.R; psych 2.2.9). Tolerance 1e-12 absolute (closed form;
    # the CSV holds 15 significant digits).
    items = pd.read_csv(fixtures / "scoring" / "bfi_items.csv")
    ref = pd.read_csv(fixtures / "scoring" / "bfi_scores.csv")
    meta = json.loads((fixtures / "scoring" / "versions.json").read_text())
    assert meta["psych"]
    got = ce.score(items, keys=BFI_KEYS, scale_range=(1, 6))
    for name in BFI_KEYS:
        np.testing.assert_allclose(got[name], ref[name], rtol=0, atol=1e-12, equal_nan=True)
    # default bounds = observed range of the items, as psych does when min/max are not given
    got2 = ce.score(items, keys=BFI_KEYS)
    ref2 = pd.read_csv(fixtures / "scoring" / "bfi_scores_default_minmax.csv")
    for name in BFI_KEYS:
        np.testing.assert_allclose(got2[name], ref2[name], rtol=0, atol=1e-12, equal_nan=True)


def test_score_with_instrument_and_min_items() -> None:
    df = pd.DataFrame(
        {
            "SC1": [5, 1, np.nan],
            "SC2": [4, 1, np.nan],
            "SC3": [1, 5, 2],
            "SC4": [2, np.nan, np.nan],
            "SC5": [5, 2, np.nan],
        }
    )
    s = ce.score(df, "sampson1997", scales=["social_cohesion"])
    # row 0: 5,4,(6-1)=5,(6-2)=4,5 -> 4.6 ; row 1: 1,1,1,2 -> 1.25 ; row 2: 1 item < min_items 3
    np.testing.assert_allclose(s["social_cohesion"], [4.6, 1.25, np.nan])
    assert s["n_answered_social_cohesion"].tolist() == [5, 4, 1]
    s1 = ce.score(df, "sampson1997", scales=["social_cohesion"], min_items=1)
    assert s1["social_cohesion"].iloc[2] == 4.0


def test_sum_rule_and_rescale() -> None:
    inst = ce.load_instrument("sampson1997").model_dump()
    inst["scales"].append(
        {"id": "sum5", "items": ["SC1", "SC2", "SC3", "SC4", "SC5"], "rule": "sum"}
    )
    df = pd.DataFrame(
        {"SC1": [5, 5], "SC2": [4, 4], "SC3": [1, 1], "SC4": [2, np.nan], "SC5": [5, 5]}
    )
    s = ce.score(df, inst, scales=["sum5"])
    np.testing.assert_allclose(s["sum5"], [23.0, 5 * 19 / 4])  # prorated sum
    vm = pd.DataFrame({"VM1": [1, 5], "VM2": [5, 1], "VM3": [5, 1], "VM4": [5, 1]})
    out = ce.score(vm, "cbs_vm_sociale_cohesie")
    np.testing.assert_allclose(out["sociale_cohesie"], [10.0, 0.0])


def test_score_validated_responses_keeps_ids() -> None:
    raw = pd.DataFrame(
        {"b": ["x", "y"], "SC1": [1, 2], "SC2": [3, 4], "SC3": [5, 5], "SC4": [1, 1], "SC5": [2, 2]}
    )
    v = ce.validate(raw, "sampson1997", community="b", items=["SC1", "SC2", "SC3", "SC4", "SC5"])
    s = ce.score(v, scales=["social_cohesion"])
    assert list(s.columns) == ["b", "social_cohesion", "n_answered_social_cohesion"]


def test_bad_input() -> None:
    with pytest.raises(ce.DataError, match="needs an instrument or keys"):
        ce.score(pd.DataFrame({"a": [1]}))
    with pytest.raises(ce.DataError, match=r"item column\(s\) \['C9'\] not found"):
        ce.score(pd.DataFrame({"C1": [1]}), keys={"c": ["C1", "C9"]})
    with pytest.raises(ce.DataError, match="column 'C1' has 1 non-numeric.*index label 1: "):
        ce.score(pd.DataFrame({"C1": [1, "zeer"]}), keys={"c": ["C1"]})
    with pytest.raises(ce.DataError, match="min_items=7"):
        ce.score(pd.DataFrame({"C1": [1]}), keys={"c": ["C1"]}, min_items=7)


@settings(max_examples=50, deadline=None)
@given(
    arrays(float, (12, 4), elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])),
    st.permutations([0, 1, 2, 3]),
)
def test_scores_do_not_depend_on_column_order(x, perm) -> None:
    df = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    keys = {"s": ["a", "-b", "c", "-d"]}
    s1 = ce.score(df, keys=keys, scale_range=(1, 5))
    s2 = ce.score(df.iloc[:, perm], keys=keys, scale_range=(1, 5))
    pd.testing.assert_frame_equal(s1, s2)


@given(arrays(float, 20, elements=st.sampled_from([1.0, 2.0, 3.0, 4.0, 5.0, np.nan])))
def test_reverse_twice_is_identity(x) -> None:
    np.testing.assert_array_equal(
        ce.reverse_items(ce.reverse_items(x, scale_range=(1, 5)), scale_range=(1, 5)), x
    )


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C", "D"]),
            st.sampled_from(["t0", "t1"]),
            st.one_of(st.floats(1, 5), st.just(np.nan)),
        ),
        min_size=1,
        max_size=60,
    ),
    st.integers(1, 4),
)
def test_aggregate_equals_each_community_alone(rows, min_n) -> None:
    df = pd.DataFrame(rows, columns=["c", "w", "y"])
    before = df.copy()
    agg = ce.aggregate(df, community="c", wave="w", min_n=min_n)
    pd.testing.assert_frame_equal(df, before)
    assert len(agg) == len(df.groupby(["c", "w"]))  # no community (or wave) disappears
    for _, row in agg.iterrows():
        y = df.loc[(df.c == row["c"]) & (df.w == row["w"]), "y"].dropna().to_numpy()
        assert row["n"] == len(y)
        assert row["suppressed"] == (len(y) < min_n)
        if len(y) < min_n:
            assert np.isnan(row["mean"]) and row["reason"] == f"fewer than {min_n} respondents"
            continue
        assert row["mean"] == pytest.approx(y.mean(), rel=1e-12)
        if len(y) >= 2:
            sd = y.std(ddof=1)
            assert row["sd"] == pytest.approx(sd, rel=1e-9, abs=1e-12)
            if sd > 0:
                lo, hi = stats.t.interval(
                    0.95, len(y) - 1, loc=y.mean(), scale=sd / np.sqrt(len(y))
                )
                assert row["ci_low"] == pytest.approx(lo, rel=1e-9)
                assert row["ci_high"] == pytest.approx(hi, rel=1e-9)


def test_aggregate_bad_input() -> None:
    df = pd.DataFrame({"c": ["A", None], "y": [1.0, 2.0]})
    with pytest.raises(
        ce.DataError, match=r"community column 'c' has 1 missing value\(s\) at index label 1;"
    ):
        ce.aggregate(df, community="c")
    with pytest.raises(ce.DataError, match="min_n"):
        ce.aggregate(df.fillna("B"), community="c", min_n=0)
    with pytest.raises(ce.DataError, match="no numeric score columns"):
        ce.aggregate(pd.DataFrame({"c": ["A"]}), community="c")

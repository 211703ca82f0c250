"""Property-based and bad-input tests of collective_efficacy.reliability."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import DataError, ReliabilityWarning

ITEMS = ["SC1", "SC2", "SC3", "SC4"]
STAT_COLUMNS = [
    "alpha",
    "std_alpha",
    "g6",
    "average_r",
    "median_r",
    "var_r",
    "signal_noise",
    "ase",
    "ci_low",
    "ci_high",
    "n",
    "mean",
    "sd",
]


@st.composite
def surveys(draw: st.DrawFn, max_groups: int = 5) -> pd.DataFrame:
    """Correlated 1-5 items with missing cells and a community column."""
    n = draw(st.integers(8, 60))
    seed = draw(st.integers(0, 2**31 - 1))
    n_groups = draw(st.integers(1, max_groups))
    miss = draw(st.sampled_from([0.0, 0.1, 0.25]))
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    x = np.clip(np.rint(3 + latent[:, None] + rng.normal(size=(n, len(ITEMS)))), 1, 5)
    x[:, 2] = 6 - x[:, 2]  # SC3 reverse worded
    x[rng.random(x.shape) < miss] = np.nan
    df = pd.DataFrame(x, columns=ITEMS)
    df.insert(0, "nbh", rng.integers(0, n_groups, size=n).astype(str))
    return df


def _quiet_alpha(df: pd.DataFrame, **kw: object) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReliabilityWarning)
        return ce.cronbach_alpha(df, **kw)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=surveys(max_groups=1), perm_seed=st.integers(0, 1000))
def test_alpha_does_not_depend_on_item_order(df: pd.DataFrame, perm_seed: int) -> None:
    perm = list(np.random.default_rng(perm_seed).permutation(ITEMS))
    try:
        a = _quiet_alpha(df, items=ITEMS, keys=["-SC3"])
    except DataError:
        return  # a degenerate draw (constant item) is refused either way
    b = _quiet_alpha(df, items=perm, keys=["-SC3"])
    for col in STAT_COLUMNS:
        assert_allclose(a[col], b[col], rtol=1e-10, atol=1e-12, err_msg=col)


@settings(max_examples=40, deadline=None)
@given(df=surveys(max_groups=1), scale=st.floats(0.5, 10), shift=st.floats(-5, 5))
def test_alpha_invariant_to_common_affine_rescaling(
    df: pd.DataFrame, scale: float, shift: float
) -> None:
    other = df.copy()
    other[ITEMS] = other[ITEMS] * scale + shift
    try:
        a = _quiet_alpha(df, items=ITEMS, keys=["-SC3"])
    except DataError:
        return
    b = _quiet_alpha(other, items=ITEMS, keys=["-SC3"])
    for col in ["alpha", "std_alpha", "g6", "average_r", "ci_low", "ci_high"]:
        assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-12, err_msg=col)


@settings(max_examples=40, deadline=None)
@given(df=surveys(max_groups=1))
def test_reversing_twice_is_identity(df: pd.DataFrame) -> None:
    once = df.copy()
    once["SC3"] = 6 - once["SC3"]  # manual reversal on the 1-5 scale
    try:
        a = _quiet_alpha(df, items=ITEMS, scale_range=(1, 5))
    except DataError:
        return
    b = _quiet_alpha(once, items=ITEMS, keys=["-SC3"], scale_range=(1, 5))
    for col in STAT_COLUMNS:
        assert_allclose(a[col], b[col], rtol=1e-10, atol=1e-12, err_msg=col)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReliabilityWarning)
        s1 = ce.item_statistics(df, items=ITEMS, keys={"SC3": -1}, scale_range=(1, 5))
        s2 = ce.item_statistics(once, items=ITEMS, scale_range=(1, 5))
    assert_allclose(s1["mean"], s2["mean"], rtol=1e-12)
    assert_allclose(s1["r_drop"], s2["r_drop"], rtol=1e-10)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=surveys(max_groups=6), policy=st.sampled_from(["pairwise", "listwise"]))
def test_per_group_equals_each_group_alone(df: pd.DataFrame, policy: str) -> None:
    kw = {"items": ITEMS, "keys": ["-SC3"], "nan_policy": policy, "scale_range": (1, 5)}
    grouped = ce.cronbach_alpha(df, community="nbh", **kw)  # type: ignore[arg-type]
    assert list(grouped["nbh"]) == sorted(df["nbh"].unique())
    for _, row in grouped.iterrows():  # the test loops; the library does not
        sub = df[df["nbh"] == row["nbh"]]
        try:
            alone = _quiet_alpha(sub, **kw).iloc[0]
        except DataError:
            # whole-data problems raise when alone; per group they are NaN with a reason
            assert np.isnan(row["alpha"]) and isinstance(row["note"], str)
            continue
        for col in STAT_COLUMNS:
            assert_allclose(row[col], alone[col], rtol=1e-9, atol=1e-12, err_msg=col)
        for col in ["note", "reversed_suspect"]:
            assert row[col] == alone[col] or (pd.isna(row[col]) and pd.isna(alone[col])), col


@settings(max_examples=20, deadline=None)
@given(df=surveys(max_groups=3))
def test_callers_data_unchanged(df: pd.DataFrame) -> None:
    before = df.copy(deep=True)
    _quiet_alpha(df, items=ITEMS, keys=["-SC3"], community="nbh")
    try:
        _quiet_alpha(df, items=ITEMS, keys=["-SC3"], ci_method="bootstrap", n_boot=20, seed=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ce.item_statistics(df, items=ITEMS, keys=["-SC3"])
            ce.omega(df, items=ITEMS, keys=["-SC3"])
    except DataError:
        pass
    pd.testing.assert_frame_equal(df, before)


# --- bad input ----------------------------------------------------------------------------


def _df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SC1": [4, 5, 3, 2, 4, 5, 3, 2],
            "SC2": [4, 3, 3, 2, 5, 4, 2, 3],
            "SC3": [2, 1, 4, 4, 2, 2, 3, 3],
            "nbh": ["A", "A", "A", "A", "A", "A", "A", "B"],
        }
    )


def test_fewer_than_two_items_raises() -> None:
    with pytest.raises(DataError, match="at least 2 items"):
        ce.cronbach_alpha(_df(), items=["SC1"])
    with pytest.raises(DataError, match="at least 2 items"):
        ce.item_statistics(_df(), items="SC1")
    with pytest.raises(DataError, match="at least 2 items"):
        ce.omega(_df(), items=["SC1"])


def test_constant_item_raises_naming_item_and_value() -> None:
    df = _df().assign(SC2=3)
    with pytest.raises(DataError, match=r"'SC2' \(every answer = 3\).*no variance"):
        ce.cronbach_alpha(df, items=["SC1", "SC2", "SC3"])
    with pytest.raises(DataError, match="SC2"):
        ce.item_statistics(df, items=["SC1", "SC2", "SC3"])


def test_all_missing_item_raises() -> None:
    df = _df().assign(SC2=np.nan)
    with pytest.raises(DataError, match=r"\['SC2'\] have no answers"):
        ce.cronbach_alpha(df, items=["SC1", "SC2", "SC3"])


def test_non_numeric_cell_raises_naming_row_and_value() -> None:
    df = _df().astype({"SC2": object})
    df.loc[3, "SC2"] = "agree"
    with pytest.raises(DataError, match=r"'SC2'.*index label 3: .*'agree'"):
        ce.cronbach_alpha(df, items=["SC1", "SC2", "SC3"])


def test_group_with_one_respondent_is_nan_with_note() -> None:
    res = ce.cronbach_alpha(_df(), items=["SC1", "SC2", "SC3"], keys=["-SC3"], community="nbh")
    b = res.set_index("nbh").loc["B"]
    assert np.isnan(b["alpha"]) and np.isnan(b["ci_low"]) and b["n"] == 1
    assert b["note"] == "fewer than 2 respondents (n=1)"
    a = res.set_index("nbh").loc["A"]
    assert np.isfinite(a["alpha"]) and a["note"] is None


def test_group_with_constant_item_or_unanswered_item_is_nan_with_note() -> None:
    df = pd.DataFrame(
        {
            "SC1": [1, 2, 3, 4, 5, 2, 3, 4],
            "SC2": [2, 2, 3, 5, 3, 3, 3, 3],
            "SC3": [1, 3, 3, 4, np.nan, np.nan, np.nan, np.nan],
            "nbh": list("AAAABBBB"),
        }
    )
    res = ce.cronbach_alpha(df, items=["SC1", "SC2", "SC3"], community="nbh").set_index("nbh")
    assert np.isfinite(res.loc["A", "alpha"])
    note = res.loc["B", "note"]
    assert "answered by fewer than 2 respondents: SC3" in note
    assert "no variance in item(s) SC2" in note


def test_group_column_missing_labels_raises() -> None:
    df = _df()
    df.loc[2, "nbh"] = None
    with pytest.raises(DataError, match="missing value"):
        ce.cronbach_alpha(df, items=["SC1", "SC2", "SC3"], community="nbh")


def test_bad_options_raise() -> None:
    with pytest.raises(DataError, match="nan_policy"):
        ce.cronbach_alpha(_df(), items=["SC1", "SC2"], nan_policy="drop")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="ci_method"):
        ce.cronbach_alpha(_df(), items=["SC1", "SC2"], ci_method="exact")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="ci must be"):
        ce.cronbach_alpha(_df(), items=["SC1", "SC2"], ci=95)
    with pytest.raises(DataError, match="not among the items"):
        ce.cronbach_alpha(_df(), items=["SC1", "SC2"], keys=["-SC9"])
    with pytest.raises(DataError, match="group column"):
        ce.cronbach_alpha(_df(), items=["SC1", "nbh"], community="nbh")
    with pytest.raises(DataError, match="scale_range"):
        ce.cronbach_alpha(_df(), items=["SC1", "SC2"], scale_range=(5, 1))
    with pytest.raises(DataError, match="n_boot"):
        ce.cronbach_alpha(_df(), items=["SC1", "SC2"], ci_method="bootstrap", n_boot=1)
    with pytest.raises(DataError, match="method"):
        ce.omega(_df(), items=["SC1", "SC2", "SC3"], method="pa")  # type: ignore[arg-type]


def test_default_items_exclude_group_column() -> None:
    df = _df()[["SC1", "SC2", "nbh"]]
    res = ce.cronbach_alpha(df, community="nbh")
    assert res["n_items"].iloc[0] == 2

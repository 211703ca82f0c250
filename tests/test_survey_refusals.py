"""The multilevel models refuse survey weights with a typed error that says why and what to
do instead (issue 18: level-specific weights, as WeMix/svylme need, are future work)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.errors import DataError

ITEMS = ce.load_instrument("sampson1997").scale("collective_efficacy").items


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 120
    df = pd.DataFrame({"c": np.repeat([f"C{k}" for k in range(6)], n // 6), "w": 1.0})
    df["wave"] = np.tile(["baseline", "end_of_cycle"], n // 2)
    own = np.repeat(rng.normal(0, 0.6, 6), n // 6) + rng.normal(0, 0.6, n)
    for i in ITEMS:
        df[i] = np.clip(np.round(3 + own + rng.normal(0, 0.7, n)), 1, 5)
    df["y"] = df[ITEMS].mean(axis=1)
    return df


CALLS = {
    "icc": lambda d, **kw: ce.icc(d, dv="y", community="c", **kw),
    "random_intercept": lambda d, **kw: ce.random_intercept(d, dv="y", community="c", **kw),
    "ecometric": lambda d, **kw: ce.ecometric(d, items=ITEMS, community="c", **kw),
    "change_model": lambda d, **kw: ce.change_model(d, dv="y", community="c", wave="wave", **kw),
}


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize(
    "arg", [{"weight": "w"}, {"design": ce.SurveyDesign(weight="w", strata="c")}]
)
def test_multilevel_models_refuse_weights(name: str, arg: dict[str, object]) -> None:
    """A typed DataError naming the function, the argument, why, and what to use instead;
    the data are not touched (the call fails before any fitting)."""
    df = _data()
    before = df.copy()
    with pytest.raises(DataError) as ei:
        CALLS[name](df, **arg)
    msg = str(ei.value)
    assert name in msg and f"({next(iter(arg))}=)" in msg
    assert "level-specific" in msg and "WeMix or svylme" in msg  # why
    assert "aggregate(..., weight=...)" in msg and "unweighted" in msg  # what instead
    assert ei.value.argument == next(iter(arg))
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_weight_none_is_the_unweighted_model(name: str) -> None:
    """weight=None / design=None are accepted and change nothing (same result as without)."""
    df = _data()
    a = CALLS[name](df)
    b = CALLS[name](df, weight=None, design=None)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    else:
        assert a.to_json() == b.to_json()

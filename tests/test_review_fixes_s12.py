"""Review findings of session 12, each a test that failed on the code it fixed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.disclosure import counts_publishable
from collective_efficacy.errors import ParameterError
from collective_efficacy.multilevel.mixed import ecometric


def _counts_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    # community A shown but its n missing; B and C suppressed for size (4 + 6 rows)
    t = pd.DataFrame({"c": ["A", "B", "C"], "wave": ["x"] * 3, "n": [np.nan, 4.0, 6.0],
                      "suppressed": [False, True, True],
                      "reason": ["", "fewer than 10", "fewer than 10"]})  # fmt: skip
    r = pd.DataFrame({"c": ["A", "B", "C"], "wave": ["x"] * 3, "rows": [30, 4, 6]})
    return t, r


def test_counts_publishable_fast_path_leaves_a_shown_community_without_n_to_the_general_path() -> (
    None
):
    t, r = _counts_tables()
    for labels in ("text", "category"):  # every label type answers alike
        tt, rr = t.copy(), r.copy()
        if labels == "category":
            tt["c"], rr["c"] = tt["c"].astype("category"), rr["c"].astype("category")
        with pytest.raises(ParameterError, match="smallest_shown"):
            counts_publishable(tt, rr, community="c", min_n=10)


def _survey() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    n, k = 400, 20
    comm = rng.integers(0, k, n)
    y = rng.normal(0, 0.5, k)[comm][:, None] + rng.normal(0, 1, (n, 4))
    y = np.round(3 + y).clip(1, 5)
    y[rng.random((n, 4)) < 0.2] = np.nan
    df = pd.DataFrame(y, columns=["q0", "q1", "q2", "q3"])
    df["c"] = comm
    return df


@pytest.mark.parametrize("shift", [1e4, 1e6, 1e8])
def test_ecometric_is_exact_for_an_item_coded_far_from_the_others(shift: float) -> None:
    """An item's coding offset is absorbed by its fixed effect: the variance components and
    the reliability do not move (a one-pass variant centred on the scale's middle lost 1e-9 at
    a shift of 1e4 and gave a wrong fit at 1e8)."""
    items = ["q0", "q1", "q2", "q3"]
    df = _survey()
    base = ecometric(df, items=items, community="c")
    shifted = df.assign(q1=df["q1"] + shift)
    for kw in ({}, {"scale_range": (0.0, 2 * shift)}):
        fit = ecometric(shifted, items=items, community="c", **kw)
        assert fit.reliability == pytest.approx(base.reliability, rel=1e-10)
        vc, vb = fit.variance_components, base.variance_components
        assert vc.sigma2 == pytest.approx(vb.sigma2, rel=1e-10)
        assert vc.tau_beta == pytest.approx(vb.tau_beta, rel=1e-10)


def test_generated_row_builder_writes_every_key_as_a_plain_literal() -> None:
    """A key that is a str subclass with its own ``__repr__`` is written by str's repr (the
    builder is generated code: a custom repr would be evaluated)."""
    from collective_efficacy.evaluation._records import _row_maker

    class Odd(str):
        def __repr__(self) -> str:
            return "'injected'"

    assert _row_maker((Odd("x"), "y"))(1, 2) == {"x": 1, "y": 2}

"""The fast paths of the evaluation's orchestration against plain pandas.

:func:`~collective_efficacy.disclosure.shown_respondents` codes the labels once and looks up
each wave's shown communities by code; the reference is a pandas inner merge on (community,
wave). The repeat-respondent check of the change model uses Arrow's membership test on Arrow
text and a set otherwise; the reference is Python's set intersection. Exact agreement (rows,
order and values) is required: these are selections, not estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.disclosure import shown_respondents
from collective_efficacy.evaluation._change import _answers_twice


def _reference(scores: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    ok = table.loc[~table["suppressed"], ["c", "wave"]].rename(columns={"wave": "w"})
    keys = ok.astype(object).drop_duplicates()
    rows = scores[["c", "w"]].astype(object).reset_index(drop=True)
    rows["position"] = np.arange(len(rows))
    keep = rows.merge(keys, on=["c", "w"], how="inner")["position"].sort_values()
    return scores.iloc[keep.to_numpy()]


@pytest.mark.parametrize("dtype", ["str", object, "category"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shown_respondents_equals_a_merge(dtype: object, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, g = 2_000, 40
    labels = np.array([f"B{k}" for k in range(g)] + [None], dtype=object)  # and missing
    codes, index = rng.integers(0, g + 1, n), rng.permutation(n) + 10  # index is not 0..n-1
    scores = pd.DataFrame(
        {
            "c": pd.Series(labels[codes], index=index).astype(dtype),  # type: ignore[call-overload]
            "w": rng.choice(["before", "after", "later"], n),
            "v": rng.normal(size=n),
        },
        index=index,
    )
    cells = scores[["c", "w"]].astype(object).drop_duplicates()
    table = cells.rename(columns={"w": "wave"}).reset_index(drop=True)
    table["suppressed"] = rng.random(len(table)) < 0.4
    got = shown_respondents(scores, table, community="c", wave="w", table_wave="wave")
    pd.testing.assert_frame_equal(got, _reference(scores, table))


def test_shown_respondents_nothing_hidden_and_everything_hidden() -> None:
    scores = pd.DataFrame({"c": ["A", "B", "A"], "w": ["x", "x", "y"], "v": [1.0, 2.0, 3.0]})
    table = pd.DataFrame({"c": ["A", "B", "A"], "wave": ["x", "x", "y"], "suppressed": False})
    all_shown = shown_respondents(scores, table, community="c", wave="w", table_wave="wave")
    pd.testing.assert_frame_equal(all_shown, scores)
    table["suppressed"] = True
    none = shown_respondents(scores, table, community="c", wave="w", table_wave="wave")
    assert none.empty and list(none.columns) == ["c", "w", "v"]


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_answers_twice_equals_set_intersection(dtype: object, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    ids = pd.Series([f"R{k}" for k in rng.integers(0, 2 * n if seed % 2 else 50 * n, n)])
    ids[rng.random(n) < 0.1] = None
    ids = ids.astype(dtype)  # type: ignore[call-overload]
    before = rng.random(n) < 0.5
    a = {v for v in ids[before] if isinstance(v, str)}
    b = {v for v in ids[~before] if isinstance(v, str)}
    assert _answers_twice(ids, before) == bool(a & b)
    assert _answers_twice(ids, np.ones(n, dtype=bool)) is False  # one wave only


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_answers_twice_on_a_subset_of_rows(dtype: object, seed: int) -> None:
    """The rows of the shown communities, by position, without copying their ids first: the
    same answer as on the copied subset."""
    rng = np.random.default_rng(100 + seed)
    n = 600
    ids = pd.Series([f"R{k}" for k in rng.integers(0, n, n)])
    ids[rng.random(n) < 0.1] = None
    ids = ids.astype(dtype)  # type: ignore[call-overload]
    rows = np.sort(rng.choice(n, size=n // 3, replace=False))
    before = rng.random(rows.size) < 0.5
    sub = ids.iloc[rows].reset_index(drop=True)
    a = {v for v in sub[before] if isinstance(v, str)}
    b = {v for v in sub[~before] if isinstance(v, str)}
    assert _answers_twice(ids, before, rows) == _answers_twice(sub, before) == bool(a & b)

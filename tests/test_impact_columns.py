"""The impact tables' key columns: matched and copied without the round trip through str
objects, with the result the object path gives (dtypes and values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.impact import impact_levels
from collective_efficacy.impact._inputs import _key_index, own_column

_COLUMNS = {
    "text": pd.Series(["b", "a", "Ä", "10"], dtype="str"),
    "text_missing": pd.Series(["b", None, "a", "c"], dtype="str"),
    "all_missing": pd.Series([None, None, None, None], dtype="str"),
    "python_text": pd.Series(["b", "a", "c", "d"], dtype=pd.StringDtype("python")),
    "object": pd.Series(["b", 1, "a", 2.5], dtype=object),
    "ints": pd.Series([3, 1, 2, 4]),
    "empty": pd.Series([], dtype="str"),
}


@pytest.mark.parametrize("name", list(_COLUMNS))
def test_own_column_as_object_round_trip(name: str) -> None:
    s = _COLUMNS[name]
    got = pd.DataFrame({"k": own_column(s)})
    want = pd.DataFrame({"k": s.to_numpy(copy=True)})
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@pytest.mark.parametrize("one", list(_COLUMNS))
@pytest.mark.parametrize("two", ["text", "object", "text_missing"])
def test_key_index_matches_as_objects(one: str, two: str) -> None:
    """Rows matched (get_indexer) as with the object values, text arrays on one or both sides."""
    a, b = _COLUMNS[one], _COLUMNS[two]
    if len(a) != len(b):
        return
    left = pd.DataFrame({"k": a, "w": b})
    right = pd.DataFrame({"k": a.astype(object), "w": b.astype(object)}).iloc[::-1]
    for keys in (["k"], ["k", "w"]):
        if not _old_index(left, keys).is_unique:  # checked before matching (_check_unique)
            continue
        want = _old_index(left, keys).get_indexer(_old_index(right, keys))
        got = _key_index(left, keys).get_indexer(_key_index(right, keys))
        np.testing.assert_array_equal(got, want)


def _old_index(df: pd.DataFrame, keys: list[str]) -> pd.Index:
    if len(keys) == 1:
        return pd.Index(df[keys[0]].to_numpy())
    return pd.MultiIndex.from_arrays([df[k].to_numpy() for k in keys])


def test_impact_levels_text_or_object_keys_alike() -> None:
    """Scores keyed by text columns or by object columns: the same table."""
    rng = np.random.default_rng(3)
    n = 40
    coh = pd.DataFrame(
        {
            "buurt": [f"B{i}" for i in range(n // 2)] * 2,
            "wave": ["t0"] * (n // 2) + ["t1"] * (n // 2),
            "mean": rng.uniform(1, 5, n),
        }
    )
    coh["ci_low"], coh["ci_high"] = coh["mean"] - 0.3, coh["mean"] + 0.3
    ass = (
        coh[["buurt", "wave"]]
        .iloc[::3]
        .assign(
            partner_cooperation=rng.integers(0, 6, len(coh.iloc[::3])),
            group_development=rng.integers(0, 6, len(coh.iloc[::3])),
        )
    )
    kw = {"community": "buurt", "wave": "wave"}
    text = impact_levels(coh, assessments=ass, **kw)
    obj = impact_levels(
        coh.astype({"buurt": object, "wave": object}),
        assessments=ass.astype({"buurt": object}),
        **kw,
    )
    pd.testing.assert_frame_equal(text, obj, check_exact=True)
    assert set(text["decided_by"]) <= {"combined", "readiness_gate", "cohesion_only",
                                      "survey_only_cap", "none"}  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_outer_join_many_labels_as_pandas_merge(seed: int) -> None:
    """Thousands of text labels (shuffled; accents, digits, the empty text) joined with numpy: the arrays pandas' outer merge gives, in its order."""
    from collective_efficacy.impact._join import FEW, _merged, outer_join

    rng = np.random.default_rng(seed)
    pool = np.array(
        [f"Buurt {i}" for i in range(3000)] + ["Ä-wijk", "Zuid", "10", "9", ""],
        dtype=object,
    )
    frames = []
    for _ in "ab":
        labels = rng.permutation(pool)[: int(rng.integers(2000, len(pool)))]
        n = len(labels)
        frames.append(
            pd.DataFrame(
                {
                    "buurt": labels,
                    "level": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 6, n)),
                    "basis": rng.choice(["full", "survey_only"], n),
                    "n": rng.integers(0, 50, n),
                }
            )
        )
    assert max(len(f) for f in frames) <= FEW
    got, ref = outer_join(frames, "buurt"), _merged(frames, "buurt")
    assert list(got) == list(ref)
    for k in ref:
        assert got[k].dtype == ref[k].dtype, k
        assert pd.Series(got[k]).equals(pd.Series(ref[k])), k

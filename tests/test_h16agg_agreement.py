"""Issue 16 (h16agg): the agreement functions' community coding from a factorised column keeps
its labels' Index (Arrow text) and the coding's counts: the same coding as the object round
trip of before (labels, dtypes, rows per slot: exact equality)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy._groups import factorize_groups
from collective_efficacy.agreement._groups import code_groups

_N = 1500
_RNG = np.random.default_rng(16)
_NAMES = np.array([f"Buurt {i}" for i in range(40)], dtype=object)
_PICK = _RNG.integers(0, 40, _N)


def _columns() -> dict[str, pd.Series]:
    return {
        "object str": pd.Series(_NAMES[_PICK], dtype=object),
        "arrow str": pd.Series(_NAMES[_PICK]).astype("str"),
        "string python": pd.Series(_NAMES[_PICK]).astype("string"),
        "string python nan": pd.Series(_NAMES[_PICK]).astype(
            pd.StringDtype("python", na_value=np.nan)
        ),
        "float": pd.Series(_PICK + 0.5),
        "mixed object": pd.Series(np.array([1, "a", 2.5, "b"], dtype=object)[_PICK % 4]),
        "dates": pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(_PICK, "D")),
    }


@pytest.mark.parametrize("kind", list(_columns()))
def test_coding_equals_the_object_round_trip(kind: str) -> None:
    df = pd.DataFrame({"g": _columns()[kind], "x": _RNG.random(_N)})
    got = code_groups(df, "g")
    gi = factorize_groups(df, "g", what="group")
    rows = np.bincount(gi.codes, minlength=gi.n_groups).astype(np.int64)
    present = np.flatnonzero(rows > 0)
    ref = pd.Series(np.asarray(gi.labels)[present], name="g")
    ref = ref.astype(df["g"].dtype) if kind == "float" else ref.infer_objects()
    assert np.array_equal(got.rows, rows) and got.rows.dtype == np.int64
    assert np.array_equal(got.present, present)
    pd.testing.assert_frame_equal(got.labels, ref.to_frame(), check_exact=True)


def test_rwg_j_labels_keep_their_type() -> None:
    y = _RNG.integers(1, 6, (_N, 3)).astype(float)
    df = pd.DataFrame(y, columns=["a", "b", "c"])
    df["g"] = pd.Series(_NAMES[_PICK]).astype("str")
    out = ce.rwg_j(df, items=["a", "b", "c"], community="g", options=[1, 2, 3, 4, 5])
    assert out["g"].dtype == pd.Series(["x"]).dtype
    assert sorted(out["g"]) == sorted(set(_NAMES[_PICK]))


def _tables_reference(cols: list[np.ndarray], slots: np.ndarray, n_slots: int) -> np.ndarray:
    """Community x level counts of codes 1..5 by a plain per-level count (NaN: no level)."""
    out = np.zeros((len(cols), n_slots, 5))
    for j, x in enumerate(cols):
        for v in range(5):
            out[j, :, v] = np.bincount(slots[x == v + 1], minlength=n_slots + 1)[:n_slots]
    return out


def test_level_tables_send_missing_answers_to_no_level() -> None:
    from collective_efficacy.agreement._levels import _discrete_tables

    x = _RNG.integers(1, 6, (3, _N)).astype(float)
    x[_RNG.random(x.shape) < 0.2] = np.nan
    x[2] = np.nan  # an item nobody answered
    cols = [np.array(c) for c in x]
    miss = [np.isnan(c) for c in cols]
    slots = _RNG.integers(0, 7, _N)
    slots[::11] = 6  # the dummy slot of excluded rows
    for scale in (np.arange(1.0, 6.0), None):
        k = 2 if scale is None else 3  # observed range: of the items with answers
        found = _discrete_tables(cols[:k], miss[:k], slots, 6, scale)
        assert found is not None
        ref = _tables_reference(cols, slots, 6)
        assert np.array_equal(found[0], ref[: len(found[0])])
    cols[0][3] = 2.5  # not a level: no tables
    assert _discrete_tables(cols, miss, slots, 6, np.arange(1.0, 6.0)) is None

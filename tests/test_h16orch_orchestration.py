"""The faster orchestration paths of the evaluation give what the general paths give.

* ``records``' generated row builder against ``dict(zip(keys, row))`` (odd and repeated keys);
* ``hide_suppressed`` against the record-by-record rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.disclosure import (
    HIDDEN_WHEN_SUPPRESSED,
    hide_suppressed,
)
from collective_efficacy.evaluation._records import _row_maker, records


@pytest.mark.parametrize(
    "keys",
    [
        ("a", "b", "c"),
        ("a", "b", "a"),  # repeated: first place, last value (dict.update)
        ("it's", 'say "x"', "back\\slash", "new\nline", "", "é", "lambda", "_0"),
        tuple(f"k{i}" for i in range(300)),
    ],
)
def test_row_maker_is_dict_zip(keys: tuple[str, ...]) -> None:
    values = list(range(len(keys)))
    made = _row_maker(keys)(*values)
    assert made == dict(zip(keys, values))
    assert list(made) == list(dict(zip(keys, values)))


def test_records_of_a_large_table_are_the_cell_by_cell_records() -> None:
    rng = np.random.default_rng(0)
    n = 500
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "n": pd.array(rng.integers(0, 9, n), dtype="Int64"),
            "s": pd.array(rng.choice(["a", "b", None], n), dtype="str"),
            "b": rng.random(n) > 0.5,
            "o": pd.Series(rng.choice([1, None], n), dtype=object),
        }
    )
    df.loc[::7, "x"] = np.nan
    df.loc[::5, "n"] = pd.NA
    expected = [r for part in range(0, n, 100) for r in records(df.iloc[part : part + 100])]
    assert records(df) == expected


def _reference_hide(sections: dict[str, list[dict[str, Any]]]) -> None:
    for name, cols in HIDDEN_WHEN_SUPPRESSED.items():
        for rec in sections.get(name, []):
            if rec.get("suppressed") and rec.get("level") != "overall":
                for c in cols:
                    if c in rec:
                        rec[c] = None


def test_hide_suppressed_is_the_record_by_record_rule() -> None:
    rng = np.random.default_rng(1)
    flags: list[Any] = [True, False, None, 1, 0, "", "yes"]
    sections: dict[str, list[dict[str, Any]]] = {}
    for name, cols in HIDDEN_WHEN_SUPPRESSED.items():
        recs = []
        for i in range(60):
            rec: dict[str, Any] = {"c": f"B{i}", **{c: i for c in cols[::2]}}
            if i % 4:
                rec["suppressed"] = flags[int(rng.integers(len(flags)))]
            if name == "change":
                rec["level"] = "overall" if i % 9 == 0 else "community"
            recs.append(rec)
        sections[name] = recs
    sections["other"] = [{"c": "x", "n": 3, "suppressed": True}]
    expected = {k: [dict(r) for r in v] for k, v in sections.items()}
    _reference_hide(expected)
    hide_suppressed(sections)
    assert sections == expected


def _reference_agreement_summary(per: pd.DataFrame) -> pd.DataFrame:
    """The summary as it was computed on a filtered frame (before the array version)."""
    shown = per.loc[~per["suppressed"]]
    vals = shown["rwg_j"].dropna().to_numpy()
    row: dict[str, Any] = {
        "n_communities": len(per),
        "n_shown": len(shown),
        "n_with_rwg_j": int(vals.size),
        "n_suppressed": int(per["suppressed"].sum()),
        "median_rwg_j": float(np.median(vals)) if vals.size else np.nan,
        "share_rwg_j_strong": float(np.mean(vals >= 0.70)) if vals.size else np.nan,
        "threshold": 0.70,
    }
    ad = shown["ad"].dropna().to_numpy()
    row["median_ad"] = float(np.median(ad)) if ad.size else np.nan
    return pd.DataFrame([row])


@pytest.mark.parametrize("seed", range(12))
def test_agreement_summary_is_the_frame_version(seed: int) -> None:
    from collective_efficacy.evaluation._sections import _agreement_summary

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 30))
    per = pd.DataFrame(
        {
            "c": [f"B{i}" for i in range(n)],
            "n": pd.array(rng.integers(1, 50, n), dtype="Int64"),
            "rwg_j": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "ad": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
            "suppressed": rng.random(n) < (0.3 if seed % 4 else 1.0),
        }
    )
    got = _agreement_summary(per)
    pd.testing.assert_frame_equal(got, _reference_agreement_summary(per))
    assert records(got) == records(_reference_agreement_summary(per))


@pytest.mark.parametrize("seed", range(20))
def test_shown_in_both_counts_as_drop_duplicates_and_value_counts(seed: int) -> None:
    from collective_efficacy.evaluation._change import shown_in_both

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    names = np.array([f"B{i}" for i in range(12)] + [None], dtype=object)
    waves = np.array(["baseline", "end_of_cycle", "other", None], dtype=object)
    table = pd.DataFrame(
        {
            "c": pd.array(rng.choice(names, n), dtype="str" if seed % 2 else object),
            "wave": pd.array(rng.choice(waves, n, p=[0.45, 0.45, 0.05, 0.05]), dtype="str"),
            "suppressed": rng.random(n) < 0.3,
        }
    )
    shown = table.loc[~table["suppressed"].to_numpy(dtype=bool), ["c", "wave"]]
    per = shown.drop_duplicates()["c"].value_counts(sort=False)
    assert shown_in_both(table, "c") == int((per == 2).sum())


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 1000])
def test_has_answer_is_notna_any(size: int) -> None:
    from collective_efficacy.evaluation._sections import _has_answer

    for where in (None, 0, size // 2, size - 1):
        values = np.full(size, np.nan)
        if where is not None and size:
            values[where] = 3.0
        assert _has_answer(values) == bool(pd.Series(values).notna().any())


def test_repeated_text_is_what_assignment_stores() -> None:
    from collective_efficacy.evaluation._stack import repeated_text

    for n in (0, 1, 1000):
        a = pd.DataFrame({"x": np.zeros(n)}, index=pd.RangeIndex(5, 5 + n))
        b = a.copy()
        a["w"] = "end_of_cycle"
        b["w"] = repeated_text("end_of_cycle", n)
        pd.testing.assert_frame_equal(a, b)
        assert a["w"].dtype == b["w"].dtype


def _reference_clean(v: Any) -> Any:
    import math

    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v if isinstance(v, (str, int, bool)) else str(v)


def test_clean_is_the_type_chain() -> None:
    from decimal import Decimal

    from collective_efficacy.evaluation._records import _clean

    values = [None, pd.NA, pd.NaT, np.nan, float("inf"), -0.0, 1.5, np.float32(2.5),
              np.float64("nan"), np.int64(3), 7, 2**70, True, False, np.bool_(True), "x", "",
              Decimal("1.5"), pd.Timestamp("2026-01-01"), (1, 2)]  # fmt: skip
    for v in values:
        got, want = _clean(v), _reference_clean(v)
        assert type(got) is type(want) and (got == want or (got is None and want is None))

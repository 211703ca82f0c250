"""The per-call helpers made cheaper for small data (session 14, h17small) against the formulas
they replace: the same frames, dtypes and values exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.agreement._groups import code_groups, result_frame
from collective_efficacy.instrument import _builtin_dir, _parsed, load_instrument
from reference_previous import result_frame_by_assignment


@pytest.mark.parametrize(
    "group",
    [
        ["a", "b", "b", "c", "a"],  # text labels
        [3, 1, 1, 7, 3],  # integer labels (integer codes used directly: absent slots)
        [0.5, 1.5, 1.5, 2.5, 0.5],
    ],
)
@pytest.mark.parametrize("two", [False, True])
def test_result_frame_matches_setting_columns_one_by_one(group: list[Any], two: bool) -> None:
    data = pd.DataFrame({"g": group, "h": ["x", "x", "y", "y", "y"]})
    gc = code_groups(data, ["g", "h"] if two else "g")
    k = gc.n_slots
    notes = np.full(k, None, dtype=object)
    notes[0] = "small"
    columns: dict[str, Any] = {
        "n": np.arange(k, dtype=np.int64),
        "mean": np.linspace(0.0, 1.0, k),
        "flag": np.arange(k) % 2 == 0,
        "note": notes,
        "none": np.full(k, None, dtype=object),
        "ints": pd.array(np.arange(k), dtype="Int64"),
        "scalar": 2.5,
        "text": "same",
        "per_group": np.arange(gc.n_groups, dtype=np.float64),  # already one per present slot
    }
    new, old = result_frame(gc, columns), result_frame_by_assignment(gc, columns)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    assert list(new.dtypes) == list(old.dtypes)
    assert type(new.index) is type(old.index)


def test_instrument_yaml_parsed_once_and_never_shared() -> None:
    text = (_builtin_dir() / "sampson1997.yaml").read_text(encoding="utf-8")
    a, b = load_instrument("sampson1997"), load_instrument("sampson1997")
    spec = _parsed(text)
    assert _parsed(text) is spec  # parsed once
    assert a == b and a is not b  # a fresh instrument each call
    # validation builds the instrument's own containers: the cached spec is never handed out
    assert a.languages is not spec["languages"] and a.title is not spec["title"]
    assert a.items[0].text is not spec["items"][0]["text"]


_CELLS = ["8", " 9", "9 ", "\xa0", "x\u2003", "\x1cy", "\x1f", "weet niet", "é", "", "a\tb", "~!"]


@pytest.mark.parametrize(
    "dtype",
    [
        "str",
        pd.StringDtype("python"),
        pd.StringDtype("pyarrow", na_value=pd.NA),
        object,
    ],
)
def test_stripped_texts_match_pandas_strip(dtype: Any) -> None:
    from collective_efficacy.responses._cells import _stripped_texts

    raw = pd.Series(_CELLS * 3, dtype=dtype)
    for rows in ([0], [0, 6], [6, 10, 7], list(range(len(_CELLS))), list(range(len(raw)))):
        at = np.array(rows, dtype=np.intp)
        want = raw.iloc[at].astype(str).str.strip().tolist()
        got = _stripped_texts(raw, at)
        assert got == want and all(type(t) is str for t in got)


def test_stripped_texts_numbers_and_numpy_text() -> None:
    from collective_efficacy.responses._cells import _stripped_texts

    at = np.array([0, 2], dtype=np.intp)
    for raw in (
        pd.Series([9, 8, 7]),
        pd.Series([9.0, -0.0, 8.5]),
        pd.Series([np.str_("9"), 8, "x"], dtype=object),
        pd.Series([True, False, True]),
    ):
        want = raw.iloc[at].astype(str).str.strip().tolist()
        assert _stripped_texts(raw, at) == want


def test_nullable_arrays_made_with_their_mask() -> None:
    from collective_efficacy.impact._rules import _bool_or_na, _int_or_na

    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 50):
        values = rng.integers(-3, 6, n)
        ok = rng.random(n) < 0.6
        old_int = pd.array(np.where(ok, values, 0).astype(np.int64), dtype="Int64")
        old_int[~ok] = pd.NA
        pd.testing.assert_extension_array_equal(_int_or_na(values, ok), old_int)
        flags = values > 2
        old_bool = pd.array(np.asarray(flags, dtype=bool), dtype="boolean")
        old_bool[~ok] = pd.NA
        got = _bool_or_na(flags, ok)
        pd.testing.assert_extension_array_equal(got, old_bool)
        got[:] = True  # its own memory: the inputs are not changed
        assert (flags == (values > 2)).all()


def test_load_example_read_once_copies_handed_out() -> None:
    import io
    from importlib import resources

    from collective_efficacy import datasets

    base = resources.files("collective_efficacy.datasets.data")
    fresh = [  # the former reading, every call
        pd.read_csv(
            io.StringIO((base / name).read_text(encoding="utf-8")),
            dtype=str,
            keep_default_na=False,
        ).replace("", None)
        for name in ("example_nulmeting.csv", "example_eindmeting.csv")
    ]
    before, after = datasets.load_example(split=True)
    pd.testing.assert_frame_equal(before, fresh[0], check_exact=True)
    pd.testing.assert_frame_equal(after, fresh[1], check_exact=True)
    long = datasets.load_example()
    pd.testing.assert_frame_equal(long, pd.concat(fresh, ignore_index=True), check_exact=True)
    # a caller changing its frames changes no later call's
    before.iloc[0, 0] = "changed"
    before["new"] = 1
    long.iloc[0, 0] = "changed"
    again, _ = datasets.load_example(split=True)
    pd.testing.assert_frame_equal(again, fresh[0], check_exact=True)
    pd.testing.assert_frame_equal(
        datasets.load_example(), pd.concat(fresh, ignore_index=True), check_exact=True
    )


@pytest.mark.parametrize("wave", [None, "meting"])
def test_assessment_frame_matches_setting_columns(wave: str | None) -> None:
    from collective_efficacy.impact import EVIDENCE_COLUMNS
    from collective_efficacy.impact._inputs import _DIMENSIONS, _assessment_frame

    frame = pd.DataFrame(
        {
            "buurt": pd.array(["A", "B", "C", "D"], dtype="str"),
            "meting": ["x", "x", "y", "y"],
            "partner_cooperation": pd.array([3, None, 1, 5], dtype="Int64"),
            "group_development": [4.0, 2.0, np.nan, 0.0],
            EVIDENCE_COLUMNS[0]: [1, 2, 3, 4],
            "other": ["p", "q", "r", "s"],
        },
        index=pd.Index([10, 3, 7, 10]),  # not a range, one label twice
    )
    keys = ["buurt"] + ([wave] if wave else [])
    got = _assessment_frame(frame, keys)
    want = frame[keys].copy()  # the former formula
    want[list(_DIMENSIONS)] = frame[list(_DIMENSIONS)].astype(float).to_numpy()
    for c in EVIDENCE_COLUMNS:
        if c in frame.columns:
            want[c] = frame[c].to_numpy(copy=True)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def _counts_publishable_old(
    table: pd.DataFrame, rows: pd.DataFrame, community: str, wave: str, min_n: int
) -> dict[Any, bool]:
    """The former counts_publishable of a one-scale table: a left merge, grouped by wave."""
    from collective_efficacy.disclosure import SECONDARY_REASON, total_is_safe

    t = table.drop_duplicates([community, wave])
    t = t.merge(rows[[community, wave, "rows"]], on=[community, wave], how="left")
    out: dict[Any, bool] = {}
    for label, part in t.groupby(wave, sort=False):
        sup = part["suppressed"].to_numpy(dtype=bool)
        counts = part["rows"].fillna(0).to_numpy(dtype=float)
        hid = sup & (counts > 0)
        shown_n = part.loc[~sup, "n"]
        if not len(shown_n) and hid.any():
            out[label] = False
            continue
        out[label] = total_is_safe(
            counts[hid],
            secondary=(part["reason"] == SECONDARY_REASON).to_numpy()[hid],
            min_n=min_n,
            smallest_shown=float(shown_n.min()) if len(shown_n) else None,
        )
    return out


@pytest.mark.parametrize("seed", range(40))
def test_counts_publishable_matches_the_merge(seed: int) -> None:
    from collective_efficacy.disclosure import SECONDARY_REASON, counts_publishable

    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 9))
    com = [f"c{i}" for i in range(k)]
    waves = list(rng.permutation(["w1", "w0", "w2"])[: int(rng.integers(1, 4))])
    cw = [(c, w) for w in waves for c in com if rng.random() < 0.85]
    if not cw:
        cw = [(com[0], waves[0])]
    n = rng.integers(0, 25, len(cw))
    sup = n < 10
    reason = np.where(sup, "fewer than 10", None).astype(object)
    second = (~sup) & (rng.random(len(cw)) < 0.3)
    sup |= second
    reason[second] = SECONDARY_REASON
    table = pd.DataFrame(
        {
            "buurt": [c for c, _ in cw],
            "wave": [w for _, w in cw],
            "n": pd.array(n, dtype="Int64") if seed % 3 == 0 else n,
            "suppressed": sup,
            "reason": reason,
        }
    )
    if seed % 4 == 0:  # a row repeated: the first one counts
        table = pd.concat([table, table.iloc[:1]], ignore_index=True)
    pick = [i for i in range(len(cw)) if rng.random() < 0.8]
    rows = pd.DataFrame(
        {
            "buurt": [cw[i][0] for i in pick],
            "wave": [cw[i][1] for i in pick],
            "rows": rng.integers(0, 30, len(pick)),
        }
    )
    if seed % 5 == 1 and len(rows):
        rows["rows"] = rows["rows"].astype(float)
        rows.loc[0, "rows"] = np.nan
    if seed % 7 == 2:  # object keys: the merge itself
        rows["buurt"] = rows["buurt"].astype(object)
    got = counts_publishable(table, rows, community="buurt", wave="wave", min_n=10)
    want = _counts_publishable_old(table, rows, "buurt", "wave", 10)
    assert got == want and list(got) == list(want)


def _wave_kinds_old(
    table: pd.DataFrame, codes: np.ndarray, n: int, wave: str
) -> tuple[np.ndarray, np.ndarray]:
    """The former _wave_kinds: the table's columns read for each wave."""
    from collective_efficacy.disclosure import ABSENT_REASON, SECONDARY_REASON

    rows = np.flatnonzero((table["wave"] == wave).to_numpy(dtype=bool))[::-1]
    reason = table["reason"].fillna("").to_numpy(dtype=object)[rows]
    absent = reason == ABSENT_REASON
    sup = table["suppressed"].to_numpy(dtype=bool)[rows]
    k = np.where(absent, 0, np.where(reason == SECONDARY_REASON, 1, np.where(sup, 2, 3)))
    kind, suppressed = np.zeros(n, dtype=np.intp), np.ones(n, dtype=bool)
    kind[codes[rows]], suppressed[codes[rows]] = k, sup
    return kind, suppressed


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize("seed", range(12))
def test_wave_kinds_match_reading_the_table_per_wave(dtype: Any, seed: int) -> None:
    from collective_efficacy.disclosure import ABSENT_REASON, SECONDARY_REASON
    from collective_efficacy.evaluation._sections import AFTER, BEFORE, _kind_columns, _wave_kinds

    rng = np.random.default_rng(seed)
    m = int(rng.integers(1, 15))
    missing: list[Any] = [None, np.nan] if dtype == "str" else [None, np.nan, pd.NA]
    choices: list[Any] = [ABSENT_REASON, SECONDARY_REASON, "n below min_n", "", *missing]
    table = pd.DataFrame(
        {
            "buurt": rng.choice(["a", "b", "c", "d"], m),
            "wave": pd.Series(rng.choice([BEFORE, AFTER, "other"], m), dtype=dtype),
            "reason": pd.Series(
                [choices[i] for i in rng.integers(0, len(choices), m)], dtype=dtype
            ),
            "suppressed": rng.random(m) < 0.5,
        }
    )
    codes, labels = pd.factorize(table["buurt"], use_na_sentinel=False)
    cols = _kind_columns(table)
    for wave in (BEFORE, AFTER, "absent"):
        got = _wave_kinds(cols, codes, len(labels), wave)
        want = _wave_kinds_old(table, codes, len(labels), wave)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])

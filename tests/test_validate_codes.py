"""Ids coded from their bytes (``responses/_codes.py``) and ``ValidatedResponses.id_codes``.

The byte coding must give exactly :func:`pandas.factorize`'s codes (the reference): checked on
random texts of every shape it treats differently (up to 8 bytes, longer, over 64 bytes, NUL
bytes, non-ASCII, empty, missing; ``string`` and ``large_string`` arrays, sliced), also with a
deliberately broken hash so that the verification and its fallback run. ``validate`` with the
byte coding switched on for small frames must equal ``validate`` with it switched off, and
``id_codes`` must equal ``pd.factorize`` of the validated id columns. Exact equality throughout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.responses import _codes
from collective_efficacy.responses._cells import _numeric_codes
from collective_efficacy.responses._checks import Collector, factorize_item

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = st.sampled_from(["a", "b", "R", "0", "1", " ", "\x00", "ë", "€", "𝄞"])
TEXTS = st.one_of(
    st.none(),
    st.text(ALPHABET, max_size=3),
    st.text(ALPHABET, min_size=7, max_size=9),
    st.text(ALPHABET, min_size=60, max_size=70),
)


def _reference(cells: list[Any]) -> np.ndarray:
    return pd.factorize(np.array(cells, dtype=object), use_na_sentinel=True)[0]


@SLOW
@given(
    st.lists(TEXTS, max_size=40),
    st.sampled_from([pa.string(), pa.large_string()]),
    st.integers(0, 3),
)
def test_text_codes_equal_pandas_factorize(cells: list[Any], kind: Any, cut: int) -> None:
    arr = pa.array(cells, type=kind)
    np.testing.assert_array_equal(_codes.text_codes(arr), _reference(cells))
    # a slice: its offsets start inside the buffers
    part = arr.slice(cut)
    np.testing.assert_array_equal(_codes.text_codes(part), _reference(cells[cut:]))


@SLOW
@given(st.lists(TEXTS, max_size=40))
def test_a_hash_collision_never_merges_ids(cells: list[Any]) -> None:
    """With a hash that collides almost always, the verification sends the cells to Arrow."""
    arr = pa.array(cells, type=pa.string())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_hashed", lambda words, lens: words[0] & np.uint64(1))
        got = _codes.text_codes(arr)
    np.testing.assert_array_equal(got, _reference(cells))


def test_a_collision_in_a_long_column_is_caught() -> None:
    cells = [f"uuid:{i:032x}" for i in range(3000)] + ["uuid:" + "0" * 32, None]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_hashed", lambda words, lens: lens.astype(np.uint64))
        got = _codes.text_codes(pa.array(cells))
    np.testing.assert_array_equal(got, _reference(cells))


@SLOW
@given(st.lists(TEXTS, min_size=1, max_size=40), st.sampled_from(["object", "str"]))
def test_distinct_text_codes_equal_pandas_factorize(cells: list[Any], dtype: str) -> None:
    values: Any = np.array(cells, dtype=object) if dtype == "object" else pd.array(cells, "str")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_MIN_ROWS", 0)
        mp.setattr(_codes, "_REPEATS", 10**9)
        got = _codes.distinct_text_codes(values)
    assert got is not None
    np.testing.assert_array_equal(got, _reference(cells))


def test_labels_that_repeat_are_left_to_the_hash_table() -> None:
    labels = np.array([f"Buurt {i % 300}" for i in range(5000)], dtype=object)
    ids = np.array([f"R{i:07d}" for i in range(5000)], dtype=object)
    assert _codes.distinct_text_codes(labels) is None
    np.testing.assert_array_equal(_codes.distinct_text_codes(ids), np.arange(5000))


def test_a_pandas_text_column_of_several_chunks() -> None:
    """A ``str`` column made by concatenating frames is several Arrow chunks."""
    parts = [pd.Series([f"R{i}" for i in range(k, k + 3000)], dtype="str") for k in (0, 3000)]
    column = pd.concat([*parts, pd.Series(["R5", None], dtype="str")], ignore_index=True)
    assert column.array._pa_array.num_chunks > 1
    got = _codes.distinct_text_codes(column.array)
    assert got is not None
    np.testing.assert_array_equal(got, pd.factorize(column.to_numpy(dtype=object))[0])


def test_a_cell_that_is_no_utf8_is_left_to_pandas() -> None:
    assert _codes.arrow_text(np.array(["a", "\ud800"], dtype=object)) is None


IDS = ["r1", "r2", "R1", "r 1", "", "respondent-000000000001", None]
LABELS = ["A", " A", "a", "B", "Buurt  1", "Buurt 1", "", "Zoë", "Zoe\u0308", None]


@st.composite
def frames(draw: Any) -> tuple[pd.DataFrame, bool]:
    n = draw(st.integers(1, 30))
    resp = draw(st.lists(st.sampled_from(IDS), min_size=n, max_size=n))
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n))
    kind = draw(st.sampled_from(["object", "str"]))
    data: dict[str, Any] = {
        "resp": pd.array(resp, dtype="str") if kind == "str" else np.array(resp, dtype=object),
        "buurt": pd.array(labels, dtype="str") if kind == "str" else np.array(labels, object),
    }
    for item in ("SC1", "SC2"):
        data[item] = draw(st.lists(st.sampled_from([1, 3, 5, 9, np.nan]), min_size=n, max_size=n))
    with_wave = draw(st.booleans())
    if with_wave:
        data["meting"] = draw(st.lists(st.sampled_from(["t0", "t1"]), min_size=n, max_size=n))
    frame = pd.DataFrame(data)
    if draw(st.booleans()):
        frame.index = pd.Index(draw(st.permutations(list(range(0, 3 * n, 3)))))
    return frame, with_wave


def _validate(frame: pd.DataFrame, with_wave: bool) -> ce.ValidatedResponses:
    return ce.validate(
        frame,
        "sampson1997",
        community="buurt",
        respondent="resp",
        wave="meting" if with_wave else None,
        items=["SC1", "SC2"],
        errors="exclude",
    )


@SLOW
@given(frames())
def test_validate_with_the_byte_coding_equals_validate_without(
    case: tuple[pd.DataFrame, bool],
) -> None:
    frame, with_wave = case
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "distinct_text_codes", lambda values: None)
        mp.setattr("collective_efficacy.responses._ids.distinct_text_codes", lambda v: None)
        mp.setattr("collective_efficacy.responses._checks.distinct_text_codes", lambda v: None)
        slow = _validate(frame, with_wave)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_MIN_ROWS", 0)
        mp.setattr(_codes, "_REPEATS", 10**9)
        fast = _validate(frame, with_wave)
    pd.testing.assert_frame_equal(fast.data, slow.data)
    assert fast.report == slow.report
    for role in ("community", "respondent"):
        a, b = fast.id_codes[role], slow.id_codes[role]
        np.testing.assert_array_equal(a.codes, b.codes)
        assert a.labels.tolist() == b.labels.tolist()


@SLOW
@given(frames())
def test_id_codes_equal_pandas_factorize_of_the_validated_columns(
    case: tuple[pd.DataFrame, bool],
) -> None:
    frame, with_wave = case
    v = _validate(frame, with_wave)
    for role, column in (("community", "buurt"), ("respondent", "resp")):
        want_codes, want_labels = pd.factorize(v.data[column])
        got = v.id_codes[role]
        assert got.codes.dtype == np.int64
        np.testing.assert_array_equal(got.codes, want_codes)
        assert got.labels.tolist() == list(want_labels)
        assert all(isinstance(x, str) for x in got.labels)
        np.testing.assert_array_equal(got.codes[got.first], np.arange(len(want_labels)))
        assert not got.codes.flags.writeable and not got.labels.flags.writeable


def test_id_codes_of_numeric_ids_and_a_large_file(tmp_path: Any) -> None:
    """Numeric respondent ids (text in ``data``), and a file large enough for the byte coding
    (with repeated and missing ids), read and validated as a user would."""
    rng = np.random.default_rng(7)
    n = 6000
    ids = np.array([f"R{i:07d}" for i in rng.permutation(n)], dtype=object)
    ids[rng.choice(n, 30, replace=False)] = ids[rng.choice(n, 30, replace=False)]
    ids[rng.choice(n, 10, replace=False)] = None
    frame = pd.DataFrame(
        {
            "resp": ids,
            "buurt": np.array([f"Buurt {k}" for k in rng.integers(0, 40, n)], dtype=object),
            "SC1": rng.integers(1, 6, n),
        }
    )
    path = tmp_path / "wave.csv"
    frame.to_csv(path, index=False)
    for data in (frame, path):
        v = ce.validate(
            data, "sampson1997", community="buurt", respondent="resp", items=["SC1"],
            errors="exclude",
        )  # fmt: skip
        assert v.report.exclusions_by_reason().get("duplicate_respondent", 0) > 0
        for role, column in (("community", "buurt"), ("respondent", "resp")):
            want_codes, want_labels = pd.factorize(v.data[column])
            np.testing.assert_array_equal(v.id_codes[role].codes, want_codes)
            assert v.id_codes[role].labels.tolist() == list(want_labels)
        assert v.data["resp"].is_unique
    numeric = ce.validate(
        pd.DataFrame({"resp": [3, 1, 3, 2], "buurt": [10, 10, 2, 2], "SC1": [1, 2, 3, 4]}),
        "sampson1997", community="buurt", respondent="resp", items=["SC1"], errors="exclude",
    )  # fmt: skip
    assert numeric.id_codes["respondent"].labels.tolist() == ["3", "1", "2"]
    assert numeric.id_codes["community"].codes.tolist() == [0, 0, 1]


@SLOW
@given(st.lists(st.sampled_from([1.0, 2.0, 5.0, 0.0, 2.5, 9.0, np.nan]), max_size=30))
def test_numeric_codes_of_a_row_major_block_equal_a_column(cells: list[float]) -> None:
    """A column of a row-major float block (a strided view) reads as the same column copied."""
    block = np.column_stack([np.array(cells), np.ones(len(cells))])
    strided = pd.DataFrame(block, columns=["SC1", "x"], copy=False)["SC1"]
    rs = ce.load_instrument("sampson1997").response_scale("SC1")
    got = _numeric_codes(strided, rs)
    want = _numeric_codes(pd.Series(np.array(cells)), rs)
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        np.testing.assert_array_equal(got, want)


def test_object_answers_are_coded_as_pandas_codes_them() -> None:
    rng = np.random.default_rng(3)
    shared = np.array(["1", "2", "Mee eens", " 3 ", np.nan, None], dtype=object)
    cells = shared[rng.integers(0, len(shared), 5000)]
    cells[::7] = ["".join(list("weet niet")) for _ in range(len(cells[::7]))]  # own objects
    raw = pd.Series(cells, dtype=object)
    found = factorize_item(raw, "SC1", Collector(raw.index))
    assert found is not None
    want_codes, want_uniques = pd.factorize(raw, use_na_sentinel=True)
    np.testing.assert_array_equal(found[0], want_codes)
    assert list(found[1]) == list(want_uniques)


CELLS = st.sampled_from(["0", "1", "5", "9", "10", "42", "99", "-1", "-9", "-0", "05", "+1"])


@SLOW
@given(st.lists(st.one_of(st.none(), CELLS, st.sampled_from(["4,", "a", "100", "1.0"]))))
def test_answer_codes_read_from_the_bytes_equal_the_hashed_path(cells: list[Any]) -> None:
    """The reader's byte path for codes 0-99 gives what hashing the distinct texts gives
    (:func:`numbers_from_codes`: int64, or float64 with NaN beside missing cells), or leaves
    the column to that path."""
    from collective_efficacy.responses._csv_arrow import _small_integers
    from collective_efficacy.responses._ids import numbers_from_codes

    arr = pa.array(cells, type=pa.string())
    got = _small_integers(arr)
    codes, uniques = pd.factorize(np.array(cells, dtype=object), use_na_sentinel=True)
    want = numbers_from_codes(codes, np.asarray(uniques, dtype=str)) if len(uniques) else None
    if got is not None:
        assert want is not None
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    elif all(c is None or c in {"0", "1", "5", "9", "10", "42", "99", "-1", "-9"} for c in cells):
        assert not any(c is not None for c in cells)  # only an all-missing column is left


@SLOW
@given(frames())
def test_rows_per_community_from_the_codes_equal_value_counts(
    case: tuple[pd.DataFrame, bool],
) -> None:
    """``evaluate``'s rows per community (from ``id_codes``) are pandas' ``value_counts``."""
    from collective_efficacy.evaluation._inputs import _rows_per_community

    v = _validate(*case)
    want = v.data["buurt"].value_counts(sort=False)
    pd.testing.assert_series_equal(_rows_per_community(v, "buurt"), want)

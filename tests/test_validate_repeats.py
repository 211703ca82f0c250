"""Respondent ids of text checked for repeats from their bytes, without coding them (issue 16).

``validate`` needs of a respondent column only which rows are missing and which repeat an
earlier row's id; :func:`~collective_efficacy.responses._codes.text_repeats` finds them with a
hash *set* of the cells' byte keys, and ``id_codes["respondent"]`` is then coded on first use.
The reference is pandas: ``Series.duplicated(keep="first")`` of the non-missing cells, and the
general path of ``validate`` (switched on by disabling the byte path). Exact equality.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.responses import _checks, _codes

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = st.sampled_from(["a", "b", "R", "0", "1", " ", "\x00", "ë", "€", "𝄞"])
TEXTS = st.one_of(
    st.none(),
    st.text(ALPHABET, max_size=3),
    st.text(ALPHABET, min_size=7, max_size=9),
    st.text(ALPHABET, min_size=60, max_size=70),
)


def _reference(cells: list[Any]) -> np.ndarray:
    s = pd.Series(cells, dtype=object)
    return (s.duplicated(keep="first") & s.notna()).to_numpy()


def _check(got: np.ndarray | None, cells: list[Any]) -> None:
    if got is None:  # an id over 64 bytes: the caller codes the cells
        assert any(c is not None and len(c.encode()) > 64 for c in cells)
        return
    np.testing.assert_array_equal(got, _reference(cells))


@SLOW
@given(
    st.lists(TEXTS, max_size=40),
    st.sampled_from([pa.string(), pa.large_string()]),
    st.integers(0, 3),
)
def test_text_repeats_equal_pandas_duplicated(cells: list[Any], kind: Any, cut: int) -> None:
    arr = pa.array(cells, type=kind)
    _check(_codes.text_repeats(arr), cells)
    _check(_codes.text_repeats(arr.slice(cut)), cells[cut:])  # offsets inside the buffers


@SLOW
@given(st.lists(TEXTS, max_size=40))
def test_a_hash_collision_never_makes_a_repeat(cells: list[Any]) -> None:
    """With a hash that collides almost always, the flagged rows are compared by their text."""
    arr = pa.array(cells, type=pa.string())
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_hashed", lambda words, lens: words[0] & np.uint64(1))
        got = _codes.text_repeats(arr)
    _check(got, cells)


def test_a_collision_in_a_long_column_is_no_repeat() -> None:
    cells = [f"uuid:{i:032x}" for i in range(3000)] + ["uuid:" + "0" * 32, None, "uuid:x"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_hashed", lambda words, lens: lens.astype(np.uint64))
        got = _codes.text_repeats(pa.array(cells))
    _check(got, cells)
    assert got is not None and got.sum() == 1


IDS = ["r1", "r2", "R1", "r 1", "", "respondent-000000000001", "\x00", None]
LABELS = ["A", " A", "a", "B", "Buurt  1", None]


@st.composite
def frames(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    resp = draw(st.lists(st.sampled_from(IDS), min_size=n, max_size=n))
    if draw(st.booleans()):  # NaN as the missing cell of an object column
        resp = [np.nan if r is None else r for r in resp]
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n))
    kind = draw(st.sampled_from(["object", "str"]))
    data: dict[str, Any] = {
        "resp": pd.array(resp, dtype="str") if kind == "str" else np.array(resp, dtype=object),
        "buurt": np.array(labels, dtype=object),
    }
    for item in ("SC1", "SC2"):
        data[item] = draw(st.lists(st.sampled_from([1, 3, 5, 9, np.nan]), min_size=n, max_size=n))
    frame = pd.DataFrame(data)
    if draw(st.booleans()):
        frame.index = pd.Index(draw(st.permutations(list(range(0, 3 * n, 3)))))
    return frame


def _validate(frame: pd.DataFrame) -> ce.ValidatedResponses:
    return ce.validate(
        frame, "sampson1997", community="buurt", respondent="resp", items=["SC1", "SC2"],
        errors="exclude",
    )  # fmt: skip


@SLOW
@given(frames())
def test_validate_with_uncoded_respondents_equals_the_coded_path(frame: pd.DataFrame) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_checks, "uncoded_ids", lambda values: None)
        coded = _validate(frame)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_MIN_ROWS", 0)
        seen = []
        real = _checks.uncoded_ids
        mp.setattr(_checks, "uncoded_ids", lambda values: seen.append(1) or real(values))
        uncoded = _validate(frame)
    assert seen  # the byte path was tried
    pd.testing.assert_frame_equal(uncoded.data, coded.data)
    assert uncoded.report == coded.report
    a, b = uncoded.id_codes["respondent"], coded.id_codes["respondent"]
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.first, b.first)
    assert a.labels.tolist() == b.labels.tolist()
    assert a.codes.dtype == np.int64 and not a.codes.flags.writeable


def test_a_large_file_with_repeated_and_missing_ids(tmp_path: Any) -> None:
    """Long enough for the byte path by default: read from a file and as a ``str`` frame."""
    rng = np.random.default_rng(11)
    n = 6000
    ids = np.array([f"R{i:08d}" for i in rng.permutation(n)], dtype=object)  # two words
    ids[rng.choice(n, 40, replace=False)] = ids[rng.choice(n, 40, replace=False)]
    ids[rng.choice(n, 10, replace=False)] = None
    frame = pd.DataFrame({"resp": ids, "buurt": [f"B{k}" for k in rng.integers(0, 30, n)]})
    frame["SC1"] = rng.integers(1, 6, n)
    path = tmp_path / "wave.csv"
    frame.to_csv(path, index=False)
    want = _reference(list(ids))
    for data in (frame, frame.astype({"resp": "str"}), path):
        v = ce.validate(
            data, "sampson1997", community="buurt", respondent="resp", items=["SC1"],
            errors="exclude",
        )  # fmt: skip
        dups = v.report.exclusions_by_reason()
        assert dups["duplicate_respondent"] == want.sum()
        assert dups["missing_respondent"] == 10
        assert v.data["resp"].is_unique
        want_codes, want_labels = pd.factorize(v.data["resp"])
        np.testing.assert_array_equal(v.id_codes["respondent"].codes, want_codes)
        assert v.id_codes["respondent"].labels.tolist() == list(want_labels)


# -- community labels: normal forms and case twins found in Arrow ------------------------------
LABEL_CHARS = st.sampled_from(
    ["a", "B", "z", "Z", "1", " ", "\t", "\n", "\x0b", "\x1c", "\x1f", "\xa0", "ë", "e\u0308",
     "ß", "SS", "K", "\u212a", "\u3000"]
)  # fmt: skip


@SLOW
@given(st.lists(st.lists(LABEL_CHARS, max_size=6).map("".join), min_size=1, max_size=150))
def test_normalised_texts_equal_the_label_by_label_rule(labels: list[str]) -> None:
    from collective_efficacy.responses._ids import normalised_texts

    want = [" ".join(unicodedata.normalize("NFC", t).split()) for t in labels]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("collective_efficacy.responses._ids._MIN_ARROW", 0)
        fixed, plain = normalised_texts(labels)
    assert fixed == want
    assert all(fixed[k] is labels[k] for k in np.flatnonzero(plain))


@SLOW
@given(st.lists(st.lists(LABEL_CHARS, max_size=4).map("".join), min_size=1, max_size=150))
def test_case_duplicates_with_the_arrow_check_equal_the_casefold_groups(labels: list[str]) -> None:
    from collective_efficacy.responses import _ids

    cells = np.array(labels, dtype=object)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_ids, "_MIN_ARROW", 10**9)
        want = _ids.case_duplicates(cells)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_ids, "_MIN_ARROW", 0)
        assert _ids.case_duplicates(cells) == want

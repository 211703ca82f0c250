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
from hypothesis import example, given
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.responses import _checks, _codes
from test_validate_codes import SLOW, TEXTS, frames  # the coding's random texts and frames


def _reference(cells: list[Any]) -> np.ndarray:
    s = pd.Series(cells, dtype=object)
    return (s.duplicated(keep="first") & s.notna()).to_numpy()


def _check(got: np.ndarray | None, cells: list[Any]) -> None:
    if got is None:  # an id over 64 bytes: the caller codes the cells
        assert any(c is not None and len(c.encode()) > 64 for c in cells)
        return
    np.testing.assert_array_equal(got, _reference(cells))


def _colliding(words: list[np.ndarray], lens: np.ndarray) -> np.ndarray:
    return words[0] & np.uint64(1)  # a hash that collides almost always


@SLOW
@given(st.lists(TEXTS, max_size=40), st.integers(0, 3))
def test_text_repeats_equal_pandas_duplicated(cells: list[Any], cut: int) -> None:
    """Also with a hash that collides almost always: the flagged rows are compared by text."""
    for kind in (pa.string(), pa.large_string()):  # int32 and int64 offsets
        arr = pa.array(cells, type=kind)
        _check(_codes.text_repeats(arr), cells)
        _check(_codes.text_repeats(arr.slice(cut)), cells[cut:])  # offsets inside the buffers
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_codes, "_hashed", _colliding)
            _check(_codes.text_repeats(arr), cells)
            mp.setattr(_codes, "_SORT_ROWS", 0)  # repeated keys found by sorting
            _check(_codes.text_repeats(arr), cells)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_codes, "_SORT_ROWS", 0)
            _check(_codes.text_repeats(arr), cells)


def test_a_collision_in_a_long_column_is_no_repeat() -> None:
    cells = [f"uuid:{i:032x}" for i in range(3000)] + ["uuid:" + "0" * 32, None, "uuid:x"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_hashed", lambda words, lens: lens.astype(np.uint64))
        got = _codes.text_repeats(pa.array(cells))
    _check(got, cells)
    assert got is not None and got.sum() == 1


def _validate(frame: pd.DataFrame) -> ce.ValidatedResponses:
    return ce.validate(
        frame, "sampson1997", community="buurt", respondent="resp", items=["SC1", "SC2"],
        errors="exclude",
    )  # fmt: skip


@SLOW
@given(frames(), st.booleans())
@example(  # no id at all: an object column of None (found by hypothesis)
    (pd.DataFrame({"resp": [None], "buurt": ["A"], "SC1": [1], "SC2": [1]}), False), False
)
def test_validate_with_uncoded_respondents_equals_the_coded_path(
    case: tuple[pd.DataFrame, bool], nan: bool
) -> None:
    """Random messy frames of the coding's tests, without their wave column (respondent ids
    are then only checked for repeats); missing ids also as NaN in an object column."""
    frame = case[0].drop(columns="meting", errors="ignore")
    if nan and frame["resp"].dtype == object:
        frame["resp"] = frame["resp"].where(frame["resp"].notna(), np.nan)
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

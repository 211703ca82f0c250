"""The reader's byte path for answer codes (``_csv_arrow._small_integers``) after issue 16's
rewrite (the range checked in Arrow, one-byte columns read without whole-column temporaries)
gives exactly what the previous whole-column numpy version gave: a copy of it is the reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collective_efficacy.responses._codes import text_buffers
from collective_efficacy.responses._csv_arrow import _small_integers


def _reference(col: Any) -> np.ndarray | None:
    """``_small_integers`` as it was before (main @ 9d79754), verbatim."""
    offsets, data = text_buffers(col)
    if data.size == 0:
        return None
    valid = None if col.null_count == 0 else col.is_valid().to_numpy(zero_copy_only=False)
    lens = np.diff(offsets)
    vlens = lens if valid is None else lens[valid]
    if vlens.size == 0 or int(vlens.max()) > 2 or int(vlens.min()) < 1:
        return None
    body = data[offsets[0] : offsets[-1]]
    if body.size == vlens.size and int(vlens.max()) == 1:
        digits = body - np.uint8(48)
        if np.bitwise_or.reduce(digits > 9, initial=False):
            return None
        if valid is None:
            return digits.astype(np.int64)
        one = np.full(len(col), np.nan)
        one[valid] = digits
        return one
    last = data.size - 1
    first = data[np.minimum(offsets[:-1], last)] - np.uint8(48)
    second = data[np.minimum(offsets[:-1] + 1, last)] - np.uint8(48)
    two = lens == 2
    minus = first == np.uint8(253)
    lead = ((first >= 1) & (first <= 9)) | (minus & (second >= 1))
    ok = np.where(two, lead & (second <= 9), first <= 9)
    if valid is not None:
        ok |= ~valid
    if not ok.all():
        return None
    tens = np.where(minus, 0, first).astype(np.int64)
    units = second.astype(np.int64)
    values = np.where(two, np.where(minus, -units, 10 * tens + units), tens)
    if valid is None:
        return values
    out = values.astype(np.float64)
    out[~valid] = np.nan
    return out


def _same(col: Any) -> None:
    got, want = _small_integers(col), _reference(col)
    if want is None:
        assert got is None
        return
    assert got is not None and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


CELL = st.one_of(
    st.none(),
    st.sampled_from(["0", "1", "5", "9", "10", "42", "99", "-1", "-9", "-0", "05", "+1"]),
    st.sampled_from(["", "4,", "a", "/", ":", "100", "1.0", "é"]),
)
ONE_BYTE = st.one_of(st.none(), st.sampled_from([str(d) for d in range(10)]))


@settings(max_examples=300, deadline=None)
@given(st.lists(CELL), st.booleans(), st.integers(0, 3))
def test_equals_the_previous_version(cells: list[Any], large: bool, cut: int) -> None:
    """Any mix of cells (missing, one and two bytes, not canonical, empty), as a string or
    large_string array, whole or sliced (an offset into the buffers)."""
    arr = pa.array(cells, type=pa.large_string() if large else pa.string())
    _same(arr)
    _same(arr.slice(min(cut, len(arr))))
    _same(arr.slice(0, max(len(arr) - cut, 0)))


@settings(max_examples=200, deadline=None)
@given(st.lists(ONE_BYTE, min_size=1), st.integers(0, 3))
def test_one_byte_columns_equal_the_previous_version(cells: list[Any], cut: int) -> None:
    """The new one-byte path: digits with or without missing cells, sliced or not."""
    arr = pa.array(cells, type=pa.string())
    _same(arr)
    _same(arr.slice(min(cut, len(arr))))


def test_missing_cells_holding_bytes_take_the_general_path() -> None:
    """A missing cell whose slot still spans bytes (Arrow allows it; the CSV reader never
    makes one) is not read as a digit."""
    base = pa.array(["1", "7", "2"], type=pa.string())
    validity = pa.array([True, False, True]).buffers()[1]
    arr = pa.Array.from_buffers(pa.string(), 3, [validity, *base.buffers()[1:]])
    assert arr.null_count == 1
    _same(arr)
    got = _small_integers(arr)
    assert got is not None
    np.testing.assert_array_equal(got, [1.0, np.nan, 2.0])


@pytest.mark.parametrize("n", [1, 70_000])
def test_long_columns_equal_the_previous_version(n: int) -> None:
    rng = np.random.default_rng(n)
    cells = rng.integers(0, 10, n).astype(str).astype(object)
    cells[rng.random(n) < 0.1] = None
    _same(pa.array(cells, type=pa.string()))
    two = cells.copy()
    two[rng.random(n) < 0.3] = "42"
    _same(pa.chunked_array([pa.array(two, type=pa.string())]).combine_chunks())

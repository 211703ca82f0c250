"""validate at national scale (issue 16): the faster paths against their plain references.

* the answer-code check of columns of one row-major float block, a chunk of the block's rows at
  once (``_cells._numeric_checked``), against the check of each column copied alone (the
  reference: the same check on a contiguous column); exact.
* the codes of the kept rows (``kept_codes``), the kept rows' item block (``_gather``), the
  rows of a few keys (``rows_with_keys``) and the first cells found while coding text
  (``text_coding``): against ``pd.factorize``, fancy indexing, ``np.isin`` and
  ``first_coded_rows``; exact.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective_efficacy.responses import _cells, _codes
from collective_efficacy.responses._checks import IdColumn

#: the module (the package's attribute ``_exclusions`` is the function of that name)
_exclusions = import_module("collective_efficacy.responses._exclusions")
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CELLS = st.sampled_from([1.0, 2.0, 5.0, 0.0, 2.5, 6.0, 9.0, -1.0, np.inf, np.nan])


def _alone(xs: list[np.ndarray], valid: list[int]) -> list[bool]:
    """The reference: each column copied (contiguous, a group of its own), checked alone."""
    return [_cells._numeric_checked([x.copy()], valid)[0] is not None for x in xs]


@SLOW
@given(
    st.integers(1, 300),
    st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True),
    st.lists(st.tuples(st.integers(0, 299), st.integers(0, 5), CELLS), max_size=6),
    st.integers(0, 3),
)
def test_columns_of_a_row_major_block_are_checked_as_each_alone(
    n: int, picked: list[int], dirt: list[tuple[int, int, float]], first: int
) -> None:
    """Columns of one block (some left out, between them or not, dirty or not), their rows
    offset (a row slice), in chunks of 16 rows: the same verdicts as each column copied."""
    rng = np.random.default_rng(n)
    block = rng.integers(1, 6, (n + first, 6)).astype(np.float64)
    block[rng.random(block.shape) < 0.2] = np.nan
    for row, column, value in dirt:
        block[(first + row) % (n + first), column] = value
    frame = pd.DataFrame(block[first:], columns=list("abcdef"), copy=False)
    xs = [frame[frame.columns[j]].to_numpy() for j in picked]
    assert all(x.base is block for x in xs)  # strided views of the one block
    want = _alone(xs, [1, 2, 3, 4, 5])
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_cells, "_CHUNK", 16)
        got = _cells._numeric_checked(xs, [1, 2, 3, 4, 5])
    assert [g is not None for g in got] == want
    assert all(g is x for g, x in zip(got, xs) if g is not None)  # the columns, not copies


def test_columns_of_several_blocks_and_alone_are_grouped_apart() -> None:
    """Views of two blocks, a contiguous column and an integer column's floats: each block
    grouped with its own columns only; the verdicts as each column alone."""
    rng = np.random.default_rng(7)
    one, two = (rng.integers(1, 6, (100, 3)).astype(np.float64) for _ in range(2))
    two[50, 2] = 7.0
    single = rng.integers(1, 6, 100).astype(np.float64)
    xs = [one[:, 0], two[:, 2], single, one[:, 2], two[:, 0]]
    groups = _cells.row_major(xs)
    assert sorted(sorted(js) for _, js, _ in groups) == [[0, 3], [1, 4], [2]]
    got = _cells._numeric_checked(xs, [1, 2, 3, 4, 5])
    assert [g is not None for g in got] == _alone(xs, [1, 2, 3, 4, 5]) == [1, 0, 1, 1, 1]


def _kept_reference(codes: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``pd.factorize`` of the kept rows' codes (first-appearance order, as ``kept_codes``)."""
    return pd.factorize(codes[rows])[0]


@SLOW
@given(
    st.lists(st.integers(-1, 6), min_size=1, max_size=200),
    st.lists(st.integers(0, 199), max_size=4),
)
def test_kept_codes_equal_factorize_of_the_kept_rows(cells: list[int], dropped: list[int]) -> None:
    """Codes of the kept rows (a few dropped, the rows without an id always): exactly
    ``pd.factorize`` of them, whether a dropped row is the first of its code or not."""
    codes = pd.factorize(np.array(cells))[0]  # first-appearance codes, -1 kept as -1
    codes[np.array(cells) < 0] = -1
    keep = codes >= 0
    keep[[d % len(cells) for d in dropped]] = False
    rows = np.flatnonzero(keep)
    ids = IdColumn(codes, np.zeros(0, dtype=object))
    got = _cells.kept_codes(ids, rows)
    np.testing.assert_array_equal(got, _kept_reference(codes, rows))
    assert not got.flags.writeable


def test_kept_codes_of_a_long_column_with_few_dropped_rows() -> None:
    """A long column with few dropped rows (ids moved: first rows dropped, ids losing every row,
    several moved after the same id, at the start, adjacent, at the end): exactly
    ``pd.factorize`` of the kept rows' codes."""
    rng = np.random.default_rng(3)
    codes = pd.factorize(rng.integers(0, 500, 20_000))[0]
    firsts = np.flatnonzero(np.append(True, codes[1:] > np.maximum.accumulate(codes)[:-1]))
    rare = np.flatnonzero(codes == codes[-1])  # every row of the last row's id
    cases = [[0], [1, 2, 3], [19_999], [5, 6, 19_998, 19_999], list(firsts[1:40]),
             list(firsts[:3]) + list(rare), list(firsts[100:104]), list(firsts[-5:])]  # fmt: skip
    for dropped in cases:
        keep = np.ones(codes.size, dtype=bool)
        keep[dropped] = False
        rows = np.flatnonzero(keep)
        got = _cells.kept_codes(IdColumn(codes, np.zeros(0, dtype=object)), rows)
        np.testing.assert_array_equal(got, _kept_reference(codes, rows))
        assert _cells._few_dropped(codes, codes[rows], rows) is not None


@SLOW
@given(st.lists(st.integers(0, 30), min_size=200, max_size=400), st.data())
def test_few_dropped_equals_factorize(cells: list[int], data: st.DataObject) -> None:
    """Random ids (many rare ones), up to 1 in 64 rows dropped: ``pd.factorize`` exactly."""
    codes = pd.factorize(np.array(cells))[0]
    n_drop = data.draw(st.integers(0, len(cells) >> 6))
    dropped = data.draw(st.lists(st.integers(0, len(cells) - 1), max_size=n_drop, unique=True))
    rows = np.delete(np.arange(len(cells)), dropped)
    got = _cells._few_dropped(codes, codes[rows], rows)
    assert got is not None
    np.testing.assert_array_equal(got, _kept_reference(codes, rows))


@SLOW
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=60),
    st.lists(st.integers(0, 2**20), min_size=1, max_size=300),
)
def test_rows_with_keys_equal_isin(wanted: list[int], low: list[int]) -> None:
    """Keys sharing low bits with the wanted ones (the sieve lets them through), and not:
    exactly ``np.isin``'s rows."""
    want = np.array(wanted, dtype=np.int64)
    keys = np.array(low, dtype=np.int64)
    if want.size:
        keys = np.concatenate([keys, want[: len(want) // 2], want[:3] + (1 << 16)])
    got = _codes.rows_with_keys(keys, want)
    np.testing.assert_array_equal(got, np.flatnonzero(np.isin(keys, want)))


@pytest.mark.parametrize(
    "dropped", [[], [0], [0, 1, 2], [4_999], [7, 8, 300, 4_998, 4_999], list(range(0, 5_000, 7))]
)
def test_gather_of_kept_rows_equals_fancy_indexing(dropped: list[int]) -> None:
    """The item block of the kept rows (runs of kept rows sliced in chunks of 16 rows when few
    are dropped, fancy indexing when many): exactly ``x[rows]`` for each column."""
    rng = np.random.default_rng(len(dropped))
    block = rng.random((5_000, 4))
    block[rng.random(block.shape) < 0.1] = np.nan
    columns = [block[:, 0], block[:, 3], np.ascontiguousarray(block[:, 1])]
    keep = np.ones(5_000, dtype=bool)
    keep[dropped] = False
    rows = np.flatnonzero(keep)
    out = np.full((3, rows.size), -1.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_cells, "_CHUNK", 16)
        _cells._gather(columns, rows, 5_000, out)
    for j, x in enumerate(columns):
        np.testing.assert_array_equal(out[j], x[rows])
    assert (_cells.dropped_rows(5_000, rows) is None) == (len(dropped) > 5_000 >> 6)


TEXTS = st.one_of(
    st.none(),
    st.text(st.sampled_from(["a", "R", "0", " ", "\x00", "ë"]), max_size=3),
    st.text(st.sampled_from(["a", "R", "0"]), min_size=7, max_size=12),
    st.text(st.sampled_from(["a", "b"]), min_size=65, max_size=66),
)


@SLOW
@given(st.lists(TEXTS, max_size=40), st.integers(0, 3), st.booleans())
def test_text_coding_first_cells_equal_first_coded_rows(
    cells: list[Any], cut: int, collide: bool
) -> None:
    """The first cell of each code found while coding (one word, several, over 64 bytes,
    missing cells, a sliced array, a hash that collides): ``first_coded_rows`` of the codes,
    and the codes ``pd.factorize``'s."""
    arr = pa.array(cells, type=pa.string()).slice(cut)
    with pytest.MonkeyPatch.context() as mp:
        if collide:
            mp.setattr(_codes, "_hashed", lambda words, lens: words[0] & np.uint64(1))
        codes, first = _codes.text_coding(arr)
    want = pd.factorize(np.array(cells[cut:], dtype=object), use_na_sentinel=True)[0]
    np.testing.assert_array_equal(codes, want)
    assert codes.dtype == np.int64
    np.testing.assert_array_equal(first, _codes.first_coded_rows(want))


@SLOW
@given(
    st.integers(1, 200),
    st.lists(st.integers(0, 5), min_size=1, max_size=7),
    st.floats(0.0, 1.0),
)
def test_unanswered_rows_equal_all_missing_per_row(n: int, picked: list[int], p: float) -> None:
    """Rows with every item missing, items being columns of a row-major block (some repeated,
    some left out) and a separate column: as ``np.isnan`` of the stacked columns, row by row."""
    rng = np.random.default_rng(n)
    block = rng.integers(1, 6, (n, 6)).astype(np.float64)
    block[rng.random(block.shape) < p] = np.nan
    alone = np.where(rng.random(n) < p, np.nan, 1.0)
    columns = [block[:, j] for j in picked] + [alone]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_exclusions, "CHUNK", 16)
        got = _exclusions._unanswered(columns, n)
    np.testing.assert_array_equal(got, np.isnan(np.column_stack(columns)).all(axis=1))
    got_block_only = _exclusions._unanswered(columns[:-1], n)
    np.testing.assert_array_equal(got_block_only, np.isnan(block[:, picked]).all(axis=1))

"""validate at national scale (issue 16): the faster paths against their plain references.

* the answer-code check of columns of one row-major float block, a chunk of the block's rows at
  once (``_cells._numeric_checked``), against the check of each column copied alone (the
  reference: the same check on a contiguous column); exact.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective_efficacy.responses import _cells

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
    groups = _cells._row_major(xs)
    assert sorted(sorted(js) for _, js in groups) == [[0, 3], [1, 4], [2]]
    got = _cells._numeric_checked(xs, [1, 2, 3, 4, 5])
    assert [g is not None for g in got] == _alone(xs, [1, 2, 3, 4, 5]) == [1, 0, 1, 1, 1]

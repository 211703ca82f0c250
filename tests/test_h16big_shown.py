"""The wave column of the shown rows made from the waves' labels (``_steps._wave_labels``)
equals the column taken row by row, and is not made when the column is not as expected."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.evaluation import _steps
from collective_efficacy.evaluation._sections import WAVE
from collective_efficacy.evaluation._stack import frame_rows, repeated_text


def _scores(sizes: list[int], labels: list[str]) -> pd.DataFrame:
    wave = pd.concat(
        [pd.Series(repeated_text(lb, n)) for lb, n in zip(labels, sizes, strict=True)],
        ignore_index=True,
    )
    n = sum(sizes)
    return pd.DataFrame({"buurt": np.arange(n).astype(str).astype(object), WAVE: wave})


@pytest.mark.parametrize("sizes", [[5, 7], [0, 6], [6, 0], [1, 1]])
@pytest.mark.parametrize("drop", [0.0, 0.3, 1.0])
def test_wave_labels_equal_taken(sizes: list[int], drop: float) -> None:
    labels = ["baseline", "end_of_cycle"]
    scores = _scores(sizes, labels)
    if not isinstance(scores[WAVE].dtype, pd.StringDtype):
        pytest.skip("text is not kept in Arrow by this pandas")
    n = len(scores)
    rows = np.flatnonzero(np.random.default_rng(len(sizes)).random(n) >= drop)
    index = pd.Index(rows) if len(rows) < n else pd.RangeIndex(n)
    frames = [pd.DataFrame(index=range(k)) for k in sizes]
    made = _steps._wave_labels(scores, labels, sizes, frame_rows(frames, rows), index)
    assert made is not None
    pd.testing.assert_series_equal(made, scores[WAVE].iloc[rows].set_axis(index))


def test_not_made_when_the_column_differs() -> None:
    labels = ["baseline", "end_of_cycle"]
    scores = _scores([3, 4], labels)
    rows = np.arange(7)
    frames = [pd.DataFrame(index=range(3)), pd.DataFrame(index=range(4))]
    picks = frame_rows(frames, rows)
    index = pd.RangeIndex(7)
    assert _steps._wave_labels(scores, labels[::-1], [3, 4], picks, index) is None
    assert _steps._wave_labels(scores, labels, [4, 3], picks, index) is None
    as_objects = scores.assign(**{WAVE: scores[WAVE].astype(object)})
    assert _steps._wave_labels(as_objects, labels, [3, 4], picks, index) is None


@pytest.mark.parametrize("dtype", ["int64", "float64", "object"])
def test_hidden_counts_give_the_records_of_objects(dtype: str) -> None:
    """Counts with the hidden communities' blanked: the same records (values and types) as
    the object column with None they replace."""
    from collective_efficacy.evaluation import _change
    from collective_efficacy.evaluation._records import records

    counts = pd.Series([12, 0, 7, 2**40, 3], dtype=dtype)
    for hide in ([False] * 5, [True, False, True, False, False], [True] * 5):
        mask = np.array(hide)
        objects = counts.to_numpy(dtype=object, copy=True)
        objects[mask] = None
        for rows in (slice(None), slice(0, 1)):  # many rows, and one (cell by cell)
            new = records(pd.DataFrame({"n": _change._hidden_counts(counts, mask)})[rows])
            old = records(pd.DataFrame({"n": objects})[rows])
            assert new == old
            assert [type(r["n"]) for r in new] == [type(r["n"]) for r in old]


@pytest.mark.parametrize("low", [0, -1])
def test_with_texts_equals_the_table_take(low: int) -> None:
    """``with_texts`` (pandas' take, -1 set to None) gives numpy's take of the texts with a
    None slot for -1: the same objects, in an object array."""
    from collective_efficacy.responses._ids import with_texts

    texts = np.array(["a", "b", 3, None, "é"], dtype=object)
    codes = np.random.default_rng(2).integers(low, len(texts), 1000)
    table = np.append(texts, None)
    out = with_texts(codes, texts)
    assert out.dtype == object and out.shape == codes.shape
    assert all(x is y for x, y in zip(out, table.take(codes), strict=True))
    assert with_texts(np.array([-1, -1]), texts[:0]).tolist() == [None, None]
    assert with_texts(np.array([], dtype=np.int64), texts).tolist() == []


def test_all_missing_equals_the_whole_column_reduction() -> None:
    """``_cells._all_missing`` (chunk by chunk, stopping at an answer) decides as
    ``isnan(fmax.reduce(x))`` over the whole column, also for strided columns and an answer
    only in the last chunk."""
    from collective_efficacy.responses import _cells

    n = 3 * _cells._CHUNK + 5
    block = np.full((n, 3), np.nan)
    block[-1, 1] = 4.0  # column 1: one answer, in the last (partial) chunk
    block[7, 2] = 1.0
    cases = [block[:, j] for j in range(3)] + [np.empty(0), np.arange(3.0), block[:10, 1]]
    for x in cases:
        expected = not x.size or bool(np.isnan(np.fmax.reduce(x)))
        assert _cells._all_missing(x) is expected

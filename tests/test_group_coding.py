"""The library's one group coding (``collective_efficacy._groups``) against ``pd.factorize``.

Reference: ``pandas.factorize(labels, sort=True)`` (codes in sorted label order, the API's
order). Every path of :func:`factorize_groups` -- the object-column fast paths (label objects
shared as ``read_csv`` gives them, or one object per row), pandas' string dtype, categoricals,
integer ids -- must give identical codes and labels (exact equality, no tolerance); missing
labels raise naming the rows; mixed labels take pandas' general path.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from collective_efficacy import _groups
from collective_efficacy._groups import factorize_groups
from collective_efficacy.errors import DataError

N = 6000  # above the object fast paths' minimum size
LABELS = [f"C{i}" for i in range(300)] + ["é", "ä1", "zz", "A", "a", "", " ", "C1 ", "日本"]


def _draw(seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, len(LABELS), N)


def _shared() -> pd.Series:
    """One str object per distinct label, as read_csv gives them."""
    objs = np.array(LABELS, dtype=object)
    return pd.Series(objs[_draw()], dtype=object)


def _distinct() -> pd.Series:
    """A fresh str object on every row (e.g. built row by row)."""
    return pd.Series([str(np.str_(LABELS[i])) for i in _draw()], dtype=object)


def _check(col: pd.Series) -> None:
    ref_codes, ref_labels = pd.factorize(col, sort=True)
    gi = factorize_groups(pd.DataFrame({"g": col}), "g")
    np.testing.assert_array_equal(gi.codes, ref_codes)
    assert gi.codes.dtype == np.int64
    assert list(gi.labels) == list(ref_labels)
    np.testing.assert_array_equal(gi.counts, np.bincount(ref_codes, minlength=len(ref_labels)))


def test_object_paths_are_taken_and_equal_pandas() -> None:
    shared, distinct = _shared(), _distinct()
    refs = _groups._hashtable  # the paths below need pandas' hash tables
    assert refs is not None
    values = shared.to_numpy()
    assert _groups._shares_objects(values, _refs(values))
    values = distinct.to_numpy()
    assert not _groups._shares_objects(values, _refs(values))
    for col in (shared, distinct):
        assert _groups._object_codes(col) is not None
        _check(col)


def _refs(values: np.ndarray) -> np.ndarray:
    import ctypes

    buf = (ctypes.c_int64 * len(values)).from_address(values.ctypes.data)
    return np.frombuffer(memoryview(buf), dtype=np.int64).copy()


def test_read_csv_labels_equal_pandas() -> None:
    text = "g,x\n" + "\n".join(f"{LABELS[i]}x,{i}" for i in _draw(7)) + "\n"
    for dtype in (object, str):
        col = pd.read_csv(io.StringIO(text), dtype={"g": dtype})["g"]
        _check(col)


@pytest.mark.parametrize(
    "kind", ["str", "string_python", "string_pyarrow", "categorical", "int", "int_sparse"]
)
def test_other_dtypes_equal_pandas(kind: str) -> None:
    codes = _draw(11)
    if kind == "str":
        col = pd.Series(np.array(LABELS)[codes]).astype("str")
    elif kind == "string_python":
        col = pd.Series(np.array(LABELS)[codes]).astype("string[python]")
    elif kind == "string_pyarrow":
        pytest.importorskip("pyarrow")
        col = pd.Series(np.array(LABELS)[codes]).astype("string[pyarrow]")
    elif kind == "categorical":
        col = pd.Series(pd.Categorical(np.array(LABELS)[codes], categories=sorted(LABELS)))
    elif kind == "int":
        col = pd.Series(codes * 3 + 1000)
    else:
        col = pd.Series(codes.astype(np.int64) * 10**12 - 5)
    _check(col)


@pytest.mark.parametrize("make", [_shared, _distinct])
@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_missing_label_raises_naming_rows(make: object, missing: object) -> None:
    col = make()  # type: ignore[operator]
    col[[17, 4001]] = missing
    with pytest.raises(DataError, match="2 missing value"):
        factorize_groups(pd.DataFrame({"g": col}), "g")


@pytest.mark.parametrize("make", [_shared, _distinct])
def test_mixed_labels_take_the_general_path(make: object) -> None:
    col = make()  # type: ignore[operator]
    col[[3, 50]] = [7, 2.5]  # not str: pandas' general coding (numbers sorted before text)
    assert _groups._object_codes(col) is None
    _check(col)


def test_small_object_column_equal_pandas() -> None:
    col = pd.Series(["b", "a", "c", "a"], dtype=object)
    assert _groups._object_codes(col) is None  # below the fast paths' size: pandas itself
    _check(col)


@pytest.mark.parametrize("sort", [False, True])
def test_factorize_objects_shared_path_equals_pandas(sort: bool) -> None:
    """Both modes of the one object-first coding (group coding: sorted; validate's ids: first
    appearance, -1 missing) through the shared-object path, with equal labels held by a second
    object and, unsorted, missing cells: exactly ``pd.factorize(values, sort=sort)``."""
    values = _shared().to_numpy(copy=True)
    values[[10, 3000]] = [str(np.str_(values[10])), str(np.str_(values[3000]))]  # own objects
    if not sort:
        values[[5, 4500]] = [None, np.nan]
    assert _groups._shares_objects(values, _refs(values))
    got = _groups.factorize_objects(values, sort=sort)
    assert got is not None
    want_codes, want_uniques = pd.factorize(values, sort=sort, use_na_sentinel=True)
    np.testing.assert_array_equal(got[0], want_codes)
    assert list(got[1]) == list(want_uniques)


@pytest.mark.parametrize("make", [_shared, lambda: pd.Series(_draw(), dtype=np.int64)])
def test_restrict_groups_equals_coding_the_rows_afresh(make: Any) -> None:
    """The coding of a subset of rows derived from the coding of all rows (a mask, a slice,
    positions; some groups left without a row) is exactly ``factorize_groups`` of those rows."""
    col = make()
    data = pd.DataFrame({"g": col})
    gi = factorize_groups(data, "g")
    rng = np.random.default_rng(8)
    keep = rng.random(len(data)) < 0.5
    keep[col.to_numpy() == col.iloc[0]] = False  # a group with no kept row
    for rows in (keep, slice(100, 2500), np.flatnonzero(keep)):
        sub = _groups.restrict_groups(gi, rows)
        assert sub is not None
        want = factorize_groups(data.iloc[rows] if isinstance(rows, slice) else data[keep], "g")
        np.testing.assert_array_equal(sub.codes, want.codes)
        assert sub.labels.tolist() == want.labels.tolist()
        np.testing.assert_array_equal(sub.counts, want.counts)
    mixed = _groups.GroupIndex(np.array([0, 1]), pd.Index(["b", "a"]), np.array([1, 1]), "g")
    assert _groups.restrict_groups(mixed, np.array([True, False])) is None  # not sorted

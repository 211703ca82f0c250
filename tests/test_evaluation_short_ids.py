"""The repeat-respondent check on short Arrow ids (at most 8 bytes) compares ids packed into
one integer each; the reference is Python's set intersection of the ids as text. Exact
agreement is required (a selection, not an estimate), including ids that differ only by
trailing NUL bytes, empty ids, multi-byte UTF-8, mixed lengths, chunked columns and ids that
fall back to Arrow's hashed membership test (longer than 8 bytes, or 8 with mixed lengths).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from collective_efficacy.evaluation._change import _answers_twice, _short_id_keys

SHAPES = {
    "uniform8": lambda k: f"R{k:07d}",  # one length, all 8 bytes: no length byte
    "mixed": lambda k: f"{k}",  # 1-7 bytes: the length in the last byte
    "eight_and_shorter": lambda k: f"R{k:07d}" if k % 2 else f"{k}",  # falls back
    "long": lambda k: f"respondent-{k}",  # falls back
    "utf8": lambda k: f"é{k % 100}",  # two-byte characters
}


def _reference(ids: pd.Series, before: np.ndarray) -> bool:
    a = {v for v in ids[before] if isinstance(v, str)}
    b = {v for v in ids[~before] if isinstance(v, str)}
    return bool(a & b)


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("storage", ["string", "large_string"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_short_ids_agree_with_sets(shape: str, storage: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 400
    ks = rng.integers(0, 40 * n if seed == 0 else 2 * n, n)  # seed 0: overlap unlikely
    values = [SHAPES[shape](int(k)) for k in ks]
    values = [None if m else v for v, m in zip(values, rng.random(n) < 0.1, strict=True)]
    arr = pa.chunked_array(
        [pa.array(values[: n // 2], type=getattr(pa, storage)()),
         pa.array(values[n // 2 :], type=getattr(pa, storage)())]
    )  # fmt: skip
    ids = pd.Series(pd.arrays.ArrowStringArray(arr))
    before = rng.random(n) < 0.5
    assert _answers_twice(ids, before) == _reference(ids, before)
    rows = np.sort(rng.choice(n, size=n // 2, replace=False))
    sub = ids.iloc[rows].reset_index(drop=True)
    assert _answers_twice(ids, before[: rows.size], rows) == _reference(sub, before[: rows.size])


@pytest.mark.parametrize(
    ("a", "b", "expect"),
    [
        (["ab"], ["ab\x00"], False),  # trailing NUL: a different id
        (["ab\x00\x00\x00\x00\x00\x02"], ["ab"], False),  # 8 bytes vs 2 bytes + length
        ([""], [""], True),  # the empty id is an id
        ([""], ["\x00"], False),
        (["12345678"], ["12345678"], True),
        (["1234567"], ["123456"], False),
        (["é"], ["é"], True),
    ],
)
def test_edge_ids(a: list[str], b: list[str], expect: bool) -> None:
    ids = pd.Series(a + b, dtype="str")
    before = np.array([True] * len(a) + [False] * len(b))
    if isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow":
        assert _answers_twice(ids, before) is expect
    assert _reference(ids, before) is expect


def test_keys_are_one_integer_per_id_or_none() -> None:
    short = pa.array(["a", "bc", None, "defg"]).drop_null()
    keys = _short_id_keys(short, pa.array(["bc"]))
    assert keys is not None and [k.size for k in keys] == [3, 1]
    assert keys[0][1] == keys[1][0]  # "bc" both times
    assert _short_id_keys(pa.array(["123456789"]), pa.array(["1"])) is None  # 9 bytes
    assert _short_id_keys(pa.array([1, 2])) is None  # not text

"""Row blocks of the byte coding (``responses/_codes.py``) against the whole-column formulas.

``_packed`` and the keys are computed in blocks of ``_BLOCK`` cells (small temporaries,
reused) instead of whole-column arrays; ``with_texts`` takes code -1 as the last slot without
an index array. Each must equal the former whole-column computation exactly, at sizes around
the block size and with the block made tiny (every boundary case on small inputs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collective_efficacy.responses import _codes
from collective_efficacy.responses._ids import with_texts

SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXTS = st.one_of(
    st.none(),
    st.text(st.sampled_from(["a", "R", "0", " ", "\x00", "ë", "𝄞"]), max_size=20),
)


def _packed_whole(arr: Any, valid: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The former ``_packed``: one padded copy of the whole buffer, one gather per word."""
    offsets, data = _codes.text_buffers(arr)
    starts = offsets[:-1][valid]
    lens = offsets[1:][valid] - starts
    width = int(lens.max()) if lens.size else 0
    n_words = max(1, -(-width // 8))
    base, end = int(offsets[0]), int(offsets[-1])
    padded = np.zeros(end - base + 8 * n_words + 8, dtype=np.uint8)
    padded[: end - base] = data[base:end]
    loads = np.ndarray((padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
    rel = starts - base
    words = []
    for j in range(n_words):
        word = loads[rel + 8 * j]
        word &= _codes._MASKS[np.clip(lens - 8 * j, 0, 8)]
        words.append(word)
    return words, lens


def _check(arr: Any) -> None:
    valid = _codes.validity(arr)
    words, lens = _codes._packed(arr, valid)
    ref_words, ref_lens = _packed_whole(arr, valid)
    assert words is not None
    np.testing.assert_array_equal(lens, ref_lens)
    assert len(words) == len(ref_words)
    for w, r in zip(words, ref_words, strict=True):
        assert w.dtype == np.uint64
        np.testing.assert_array_equal(w, r)
    exact = len(words) == 1
    ref_key = _codes._mix(ref_words[0]) if exact else _codes._hashed(ref_words, ref_lens)
    np.testing.assert_array_equal(_codes._keys(words, lens, exact), ref_key.view(np.int64))
    cells = arr.to_pylist()
    ref = pd.factorize(np.array(cells, dtype=object), use_na_sentinel=True)[0]
    np.testing.assert_array_equal(_codes.text_codes(arr), ref)
    np.testing.assert_array_equal(_codes.text_codes(arr, size_hint=3), ref)


@pytest.mark.parametrize("delta", [-1, 0, 1, 7])
@pytest.mark.parametrize("blocks", [1, 2])
def test_blocks_around_the_block_size(delta: int, blocks: int) -> None:
    n = blocks * _codes._BLOCK + delta
    rng = np.random.default_rng(n)
    labels = np.array([f"Buurt {k}" * (k % 3 + 1) for k in range(500)] + [""], dtype=object)
    cells = labels[rng.integers(0, len(labels), n)]
    cells[rng.choice(n, 40, replace=False)] = None
    arr = pa.array(cells, type=pa.string())
    _check(arr)
    _check(arr.slice(5))  # offsets starting inside the buffers


@SLOW
@given(st.lists(TEXTS, max_size=30), st.integers(1, 4), st.integers(0, 2))
def test_tiny_blocks_equal_whole_column(cells: list[Any], block: int, cut: int) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_codes, "_BLOCK", block)
        arr = pa.array(cells, type=pa.string())
        _check(arr)
        _check(arr.slice(min(cut, len(cells))))
        repeats = _codes.text_repeats(arr)
        assert repeats is not None
        ref = pd.Series(cells, dtype=object)
        np.testing.assert_array_equal(repeats, (ref.duplicated() & ref.notna()).to_numpy())


def test_many_labels_in_a_text_array_take_the_byte_path() -> None:
    """pandas' text array of ~100,000 labels (a sample repeat count between ``_REPEATS`` and
    ``_MANY_LABELS``) is coded from its bytes, with pandas' codes; an object array is not."""
    n, g = 200_000, 100_000
    rng = np.random.default_rng(3)
    cells = np.char.add("Buurt ", rng.integers(0, g, n).astype(str)).astype(object)
    cells[rng.choice(n, 30, replace=False)] = None
    text = pd.array(cells, dtype="str")
    picked = text[np.linspace(0, n - 1, _codes._SPREAD).astype(np.intp)]
    repeats = len(picked) - len(set(picked.tolist()))
    assert _codes._REPEATS < repeats <= _codes._MANY_LABELS
    codes = _codes.distinct_text_codes(text)
    assert codes is not None
    np.testing.assert_array_equal(codes, pd.factorize(text, use_na_sentinel=True)[0])
    assert _codes.distinct_text_codes(cells) is None  # object cells: the caller's hashing


@SLOW
@given(st.lists(st.integers(-1, 4), max_size=30))
def test_with_texts_equals_the_masked_gather(codes: list[int]) -> None:
    c = np.array(codes, dtype=np.int64)
    texts = np.array(["a", "b", "c", "d", "e"], dtype=object)
    table = np.array([*texts, None], dtype=object)
    ref = table[np.where(c >= 0, c, len(table) - 1)]
    got = with_texts(c, texts)
    assert got.dtype == object
    assert got.tolist() == ref.tolist()

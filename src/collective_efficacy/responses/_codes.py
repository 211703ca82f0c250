"""Text ids coded from their UTF-8 bytes: one integer hashing pass instead of a string one.

A column of respondent ids (half a million distinct texts) costs a string hash table ~0.1 s:
every cell's text is hashed and compared through pointers. Here the cells' bytes are read
straight from an Arrow string array (no Python object per cell), packed into 64-bit words
(zero-padded; ids up to 64 bytes) and mixed into one 64-bit key per cell, which an integer hash
table codes several times faster. The codes are exactly :func:`pandas.factorize`'s
(first-appearance order, -1 for a missing cell):

* ids of at most 8 bytes without a NUL byte: the key is a bijective mix of the one word, so
  equal keys are equal texts;
* longer ids: the words (and the length) are mixed into the key, and the coding is verified --
  every cell's words and length must equal those of the first cell with its code -- so a hash
  collision (about one chance in 2**64 per pair) can never merge two ids: the cells are then
  coded by Arrow's own string hashing, as are ids over 64 bytes.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "arrow_text",
    "distinct_text_codes",
    "first_coded_rows",
    "first_rows",
    "rows_with_keys",
    "text_buffers",
    "text_codes",
    "text_coding",
    "text_repeats",
    "validity",
]

_MAX_WORDS = 8  # ids up to 64 bytes are packed; longer ones are hashed by Arrow
_MIN_ROWS = 2048  # shorter columns: the caller's general path (fixed costs not worth it)
_SPREAD = 4096  # cells sampled over the column: mostly distinct (ids) or repeating (labels)
#: repeats in that sample of a column with k distinct values: about 4096**2 / (2 k), 645 for
#: 13,000 communities, 64 for 130,000; about none for respondent ids
_REPEATS = 16
#: ... unless the column is pandas' text array and the sample repeats at most this often
#: (more than about 50,000 distinct labels): a string hash table of that many labels outgrows
#: the caches (Arrow's: 1.3 s for 5,000,000 cells of 130,000 labels), an integer one of their
#: byte keys less so
_MANY_LABELS = 160
_BLOCK = 1 << 16  # cells per block of the byte packing and key mixing (temporaries of 512 kB)
_SORT_ROWS = 1 << 20  # longer columns: repeated keys found by sorting (see _repeated_keys)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)  # splitmix64
_S1, _S2, _S3 = np.uint64(30), np.uint64(27), np.uint64(31)
_STEP = np.uint64(0x9E3779B97F4A7C15)
#: the low k bytes of a little-endian word, k = 0..8
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


def arrow_text(values: Any) -> Any:
    """Text cells (pandas ``str``/``string`` array, or an object array of ``str`` and missing
    cells) as one pyarrow string array, missing as null; None without pyarrow or when a cell
    cannot be UTF-8 (a lone surrogate)."""
    try:
        pa = import_module("pyarrow")
    except ImportError:  # pragma: no cover - pyarrow is installed with pandas 3
        return None
    try:
        if isinstance(values, np.ndarray):
            return pa.array(values, type=pa.string(), from_pandas=True)
        arr = pa.array(values)
        if isinstance(arr, pa.ChunkedArray):  # a pandas array of several chunks (a concat)
            arr = arr.combine_chunks()
    except (pa.ArrowException, UnicodeError, TypeError, ValueError):
        return None
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    return arr


def distinct_text_codes(values: Any) -> np.ndarray | None:
    """:func:`text_codes` of text cells that are (nearly) all distinct (ids), else None.

    ``values``: an object array of ``str`` and missing cells, or a pandas string array. A
    column whose cells repeat in a sample of 4,096 spread over it (community labels) is left to
    the caller: a hash table with few entries (or shared label objects) codes it faster than
    packing bytes -- unless pandas' text array holds very many labels (``_MANY_LABELS``). Only
    the speed depends on that guess, never the codes.

    >>> cells = np.array([f"R{i}" for i in range(3000)] + ["R7", None], dtype=object)
    >>> distinct_text_codes(cells)[[0, 7, 3000, 3001]].tolist()
    [0, 7, 7, -1]
    """
    n = len(values)
    if n < _MIN_ROWS:
        return None
    picked = values[np.linspace(0, n - 1, min(n, _SPREAD)).astype(np.intp)]
    try:
        repeats = len(picked) - len(set(picked.tolist()))
    except TypeError:  # unhashable cells: the caller's path reports them
        return None
    if repeats > (_REPEATS if isinstance(values, np.ndarray) else _MANY_LABELS):
        return None
    arr = arrow_text(values)
    # distinct texts about len(picked)**2 / (2 repeats) (birthday), or all distinct (ids)
    hint = n if repeats == 0 else min(n, len(picked) ** 2 // (2 * repeats))
    return None if arr is None else text_codes(arr, size_hint=hint)


def text_codes(arr: Any, size_hint: int | None = None) -> np.ndarray:
    """``pd.factorize`` codes (int64, -1 missing) of a pyarrow string array's cells.

    ``size_hint``: about how many distinct texts (the hash table is sized once, not grown).

    >>> import pyarrow as pa
    >>> text_codes(pa.array(["R2", None, "R1", "R2"])).tolist()
    [0, -1, 1, 0]
    """
    return text_coding(arr, size_hint)[0]


def text_coding(arr: Any, size_hint: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`text_codes` and the position of each code's first cell (:func:`first_coded_rows`
    of the codes, found on the way)."""
    n = len(arr)
    valid = np.ones(n, dtype=bool) if arr.null_count == 0 else validity(arr)
    words, lens = _packed(arr, valid)
    if words is None:  # ids over 64 bytes: Arrow's string hashing
        encoded = arr.dictionary_encode().indices.fill_null(-1).to_numpy(zero_copy_only=False)
        codes = np.asarray(encoded).astype(np.int64)
        return codes, first_coded_rows(codes)
    one_word = len(words) == 1 and not _has_nul(arr)
    # one word: a bijection of the text (equal keys are equal texts); else hashed, verified
    key = _keys(words, lens, one_word)
    found = np.asarray(pd.factorize(key, size_hint=size_hint)[0], dtype=np.int64)
    del key
    first = first_rows(found)
    if not one_word and not _same_as_first(found, first, [lens, *words]):
        # a 64-bit collision: two ids share a key
        pa = import_module("pyarrow")
        indices = arr.filter(pa.array(valid)).dictionary_encode().indices.to_numpy()
        found = indices.astype(np.int64)
        first = first_rows(found)
    if arr.null_count == 0:  # every cell coded: the codes as found
        return found, first
    codes = np.full(n, -1, dtype=np.int64)
    codes[valid] = found
    return codes, np.flatnonzero(valid)[first]


def _same_as_first(found: np.ndarray, first: np.ndarray, parts: list[np.ndarray]) -> bool:
    """Whether every cell's length and words equal those of the first cell with its code
    (``first``: each code's first cell; row blocks: the comparisons' temporaries are small
    and reused)."""
    heads = [p[first] for p in parts]
    for lo in range(0, len(found), _BLOCK):
        code = found[lo : lo + _BLOCK]
        if not all(bool((p[lo : lo + _BLOCK] == h[code]).all()) for p, h in zip(parts, heads)):
            return False
    return True


def text_repeats(arr: Any) -> np.ndarray | None:
    """Cells of a pyarrow string array that repeat an earlier cell's text (missing: False).

    ``pd.Series(cells).duplicated(keep="first") & notna``, for respondent ids: one integer
    hash *set* of the cells' keys (:func:`text_codes` without its codes, which need a hash
    table of positions -- twice the work for half a million distinct ids). Keys of one word are
    the texts themselves; hashed keys are verified: a cell flagged as a repeat is compared, by
    its text, with the cells of the same key (a collision would flag, never hide, a repeat).
    None when a cell is longer than 64 bytes (the caller codes the cells).

    >>> import pyarrow as pa
    >>> text_repeats(pa.array(["R2", None, "R1", "R2", None])).tolist()
    [False, False, False, True, False]
    """
    n = len(arr)
    valid = np.ones(n, dtype=bool) if arr.null_count == 0 else validity(arr)
    words, lens = _packed(arr, valid)
    if words is None:
        return None
    exact = len(words) == 1 and not _has_nul(arr)  # the key is the text (a bijection)
    key = _keys(words, lens, exact)
    del words
    keys = pd.Series(key, copy=False)
    seen = _repeated_keys(keys)
    out = np.zeros(n, dtype=bool)
    out[valid] = seen
    if not exact and seen.any():  # the rows of a repeated key, by their text
        same_key = rows_with_keys(key, key[seen])
        rows = same_key if arr.null_count == 0 else np.flatnonzero(valid)[same_key]
        texts = pd.Series(arr.take(rows).to_pylist(), dtype=object)
        out[rows] = texts.duplicated(keep="first").to_numpy()
    return out


def _repeated_keys(keys: pd.Series) -> np.ndarray:
    """``keys.duplicated(keep="first")`` of int64 keys; beyond ``_SORT_ROWS`` from a sort.

    A hash set of millions of keys outgrows the caches (a memory access per key, 0.8 s for
    5,000,000); sorting them is cache-friendly (0.35 s). The keys that occur twice are read
    off the sorted keys; only their rows (few: repeated respondent ids) are hashed to tell
    the first occurrence from the repeats.
    """
    if len(keys) <= _SORT_ROWS:
        return keys.duplicated(keep="first").to_numpy()
    ordered = np.sort(keys.to_numpy())
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    del ordered
    out = np.zeros(len(keys), dtype=bool)
    if twice.size:
        rows = rows_with_keys(keys.to_numpy(), twice)
        out[rows] = keys.iloc[rows].duplicated(keep="first").to_numpy()
    return out


_SIEVE_BITS = 16  # rows_with_keys: a table of 65,536 flags (in cache) indexed by a key's low bits


def rows_with_keys(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Positions of the ``keys`` (mixed 64-bit keys, int64) that are among ``wanted`` (few).

    ``np.flatnonzero(np.isin(keys, wanted))``: a sieve of the keys' low bits first (one lookup
    per key in a small table, in row blocks), then only the rows it lets through (about
    ``len(keys) * len(wanted) / 65,536`` besides the wanted ones) compared exactly.

    >>> rows_with_keys(np.array([5, 70_000, 5, 3]), np.array([5])).tolist()
    [0, 2]
    """
    wanted = np.unique(wanted)
    if wanted.size > 1 << (_SIEVE_BITS - 4):  # a crowded sieve: hashed at once
        return np.flatnonzero(pd.Series(keys, copy=False).isin(wanted).to_numpy())
    low = np.int64((1 << _SIEVE_BITS) - 1)
    sieve = np.zeros(1 << _SIEVE_BITS, dtype=bool)
    sieve[wanted & low] = True
    found = [
        lo + np.flatnonzero(sieve[keys[lo : lo + _BLOCK] & low])
        for lo in range(0, len(keys), _BLOCK)
    ]
    near = np.concatenate(found) if found else np.zeros(0, dtype=np.intp)
    return near[np.isin(keys[near], wanted)]


def first_rows(codes: np.ndarray) -> np.ndarray:
    """Positions of each code's first row, for first-appearance codes (no -1).

    >>> first_rows(np.array([0, 1, 0, 2, 1])).tolist()
    [0, 1, 3]
    """
    if codes.size == 0:
        return np.zeros(0, dtype=np.intp)
    top = np.maximum.accumulate(codes)
    new = np.empty(codes.size, dtype=bool)
    new[0] = True
    np.greater(top[1:], top[:-1], out=new[1:])
    return np.flatnonzero(new)


def first_coded_rows(codes: np.ndarray) -> np.ndarray:
    """:func:`first_rows` of first-appearance codes with -1 (missing) among them.

    >>> first_coded_rows(np.array([-1, 0, -1, 1, 0])).tolist()
    [1, 3]
    """
    if codes.size == 0 or int(codes.min()) >= 0:
        return first_rows(codes)
    coded = np.flatnonzero(codes >= 0)
    return coded[first_rows(codes[coded])]


def validity(arr: Any) -> np.ndarray:
    """Which cells of a pyarrow array are not null (a numpy boolean array)."""
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _has_nul(arr: Any) -> bool:
    offsets, data = text_buffers(arr)
    return bool((data[offsets[0] : offsets[-1]] == 0).any())


def text_buffers(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (one more than cells) and the UTF-8 bytes of a string array."""
    pa = import_module("pyarrow")
    size = 8 if pa.types.is_large_string(arr.type) else 4  # large_string: int64 offsets
    bufs = arr.buffers()
    offsets = np.frombuffer(
        bufs[1], dtype=f"<i{size}", count=len(arr) + 1, offset=arr.offset * size
    ).astype(np.int64, copy=False)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, data


def _packed(arr: Any, valid: np.ndarray) -> tuple[list[np.ndarray] | None, np.ndarray]:
    """The valid cells' bytes as zero-padded 64-bit words (word j: bytes 8j..8j+7), and their
    byte lengths; None when a cell is longer than 64 bytes.

    Word j of every cell is one gather of unaligned 8-byte loads from the data buffer (a view
    with a one-byte stride), its bytes beyond the cell's end masked off. Row blocks of
    ``_BLOCK`` cells: the padded bytes and the masks are small temporaries reused from the heap
    (whole-column ones are fresh pages, faulted in and zeroed, at millions of rows).
    """
    offsets, data = text_buffers(arr)
    starts = offsets[:-1][valid]
    lens = offsets[1:][valid] - starts
    width = int(lens.max()) if lens.size else 0
    n_words = max(1, -(-width // 8))
    if n_words > _MAX_WORDS:
        return None, lens
    words = [np.empty(len(starts), dtype=np.uint64) for _ in range(n_words)]
    for lo in range(0, len(starts), _BLOCK):
        hi = lo + _BLOCK
        _pack_block(data, starts[lo:hi], lens[lo:hi], [w[lo:hi] for w in words])
    return words, lens


def _pack_block(
    data: np.ndarray, starts: np.ndarray, lens: np.ndarray, out: list[np.ndarray]
) -> None:
    """:func:`_packed`'s words of one block of cells (increasing ``starts``) into ``out``."""
    base, end = int(starts[0]), int(starts[-1] + lens[-1])
    padded = np.zeros(end - base + 8 * len(out) + 8, dtype=np.uint8)  # loads never run off
    padded[: end - base] = data[base:end]
    loads = np.ndarray((padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
    rel = starts - base
    for j, word in enumerate(out):
        np.take(loads, rel + 8 * j, out=word)
        word &= _MASKS[np.clip(lens - 8 * j, 0, 8)]


def _keys(words: list[np.ndarray], lens: np.ndarray, exact: bool) -> np.ndarray:
    """One int64 key per cell: ``_mix`` of the one word (``exact``), else :func:`_hashed`;
    computed in row blocks (small temporaries, reused)."""
    key = np.empty(len(lens), dtype=np.uint64)
    for lo in range(0, len(lens), _BLOCK):
        hi = lo + _BLOCK
        part = [w[lo:hi] for w in words]
        key[lo:hi] = _mix(part[0]) if exact else _hashed(part, lens[lo:hi])
    return key.view(np.int64)


def _hashed(words: list[np.ndarray], lens: np.ndarray) -> np.ndarray:
    """One 64-bit key per cell from its length and words (equal texts, equal keys)."""
    key = _mix(lens.astype(np.uint64))
    for word in words:
        key = _mix(key * _STEP + word)
    return key


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of uint64 that spreads every input bit."""
    x = x ^ (x >> _S1)
    x *= _M1
    x ^= x >> _S2
    x *= _M2
    x ^= x >> _S3
    return x

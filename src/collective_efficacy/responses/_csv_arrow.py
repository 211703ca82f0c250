"""The fast CSV engine of :func:`~collective_efficacy.read_responses`: Apache Arrow's C++ reader.

Used when pyarrow (extra ``[parquet]``) is installed and the file is plain: at least two columns,
every header name non-empty, every row with as many fields as the header. Anything else (a ragged
row, an odd quote, a one-column file) returns ``None`` and the caller reads the file with
pandas' C parser, whose typed errors name the offending line. The frame is the one the C path
gives: every cell read as text, text columns as Python ``str`` (missing ``NaN``, ids ``None``),
and a column as numbers only when every cell is the canonical text of its number
(:func:`~collective_efficacy.responses._ids.numbers_if_lossless`; checked in Arrow, in C++, for integers).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.responses._codes import text_buffers
from collective_efficacy.responses._ids import EXACT, canonical_numbers, numbers_from_codes

__all__ = ["arrow_csv", "read_plain_csv"]

log = logging.getLogger("collective_efficacy.responses.io")
_SAMPLE = 256  # cells checked first: one non-canonical cell keeps a column as text
_SPREAD = 4096  # cells sampled over a column to see whether its values repeat


def arrow_csv() -> Any:
    """``(pyarrow, pyarrow.csv, pyarrow.compute)``, or None without the extra."""
    try:
        return tuple(import_module(m) for m in ("pyarrow", "pyarrow.csv", "pyarrow.compute"))
    except ImportError:
        return None


def read_plain_csv(
    data: bytes, sep: str, names: list[str], id_columns: set[str]
) -> pd.DataFrame | None:
    """The settled frame of a plain UTF-8 CSV, or None when the C path must read it."""
    mods = arrow_csv()
    if mods is None or len(names) < 2 or not all(names) or not sep.isascii():
        return None
    quotes = data.find(b'"') >= 0
    if quotes and not _plain_quotes(np.frombuffer(data, dtype=np.uint8), ord(sep)):
        return None
    pa, pcsv, _ = mods
    try:
        table = pcsv.read_csv(
            pa.py_buffer(data),
            parse_options=pcsv.ParseOptions(
                delimiter=sep,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=quotes,
                ignore_empty_lines=True,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None  # a ragged row, bad quoting, ...: the C path says which line
    if table.column_names != names or any(t != pa.string() for t in table.schema.types):
        return None
    # columns settled side by side: Arrow's kernels and numpy's integer takes release the GIL
    with ThreadPoolExecutor(max_workers=max(1, min(len(names), pa.cpu_count()))) as pool:
        settled = pool.map(
            lambda i: _settle(table.column(i), names[i] in id_columns), range(len(names))
        )
    cols = dict(zip(names, settled))
    log.debug("read %d rows with the pyarrow engine", table.num_rows)
    # Series with their dtype (a frame from bare object arrays would infer pandas' str dtype),
    # side by side: each array becomes its column as it is (no copy, no block per dtype)
    parts = {n: pd.Series(v, dtype=v.dtype, copy=False) for n, v in cols.items()}
    return pd.DataFrame(parts, copy=False)


def _plain_quotes(b: np.ndarray, sep: int) -> bool:
    """Whether every quote belongs to a quoted whole field ("" inside for a quote).

    The k-th pair of quotes opens and closes a field: the opening one starts a field (after a
    separator, a line end or at the start) and the closing one ends it (before a separator, a
    line end or at the end), unless the two touch a neighbouring pair (``""``: a quote inside).
    Any other quote -- one left open at the end, one inside an unquoted field -- is read
    differently by Arrow and pandas, so the C path reads that file.
    """
    q = np.flatnonzero(b == 34)
    if q.size == 0:
        return True
    if q.size % 2:
        return False
    opens, closes = q[0::2], q[1::2]
    bounds = np.array([sep, 10, 13], dtype=np.uint8)
    before = np.isin(b[np.maximum(opens - 1, 0)], bounds) | (opens == 0)
    before[1:] |= opens[1:] == closes[:-1] + 1
    after = np.isin(b[np.minimum(closes + 1, b.size - 1)], bounds) | (closes == b.size - 1)
    after[:-1] |= closes[:-1] + 1 == opens[1:]
    return bool(before.all() and after.all())


def _settle(col: Any, is_id: bool) -> np.ndarray:
    """One text column as the C path leaves it after settling (see the module docstring)."""
    pa, _, pc = arrow_csv()
    col = col.combine_chunks()
    head = col.slice(0, _SAMPLE).drop_null().unique()
    numeric = not is_id and col.null_count < len(col)
    numeric = numeric and canonical_numbers(np.asarray(head.to_pylist(), dtype=str)) is not None
    small = _small_integers(col) if numeric else None
    if small is not None:  # answer codes 0-99: read from the bytes, no hashing
        return small
    na = None if is_id else np.nan  # missing: None for ids (ids_as_text), else pandas' NaN
    if len(head) <= _SAMPLE // 4:  # answers, labels: hash once, each distinct text made once
        enc = col.dictionary_encode()
        codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
        uniques = enc.dictionary.to_pylist()
        nums = numbers_from_codes(codes, np.asarray(uniques, dtype=str)) if numeric else None
        return nums if nums is not None else np.array([*uniques, na], dtype=object)[codes]
    if numeric:  # mostly distinct numbers (numeric ids): checked in Arrow
        nums = _numbers(col, pa, pc)
        if nums is not None:
            return nums
    if not _all_distinct_sample(col, pc):  # labels that repeat (communities): each made once
        enc = col.dictionary_encode()
        if 4 * len(enc.dictionary) <= len(col):
            codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
            return np.array([*enc.dictionary.to_pylist(), na], dtype=object)[codes]
    text = np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)  # one str per cell
    if col.null_count and not is_id:
        text[col.is_null().to_numpy(zero_copy_only=False)] = na
    return text


def _small_integers(col: Any) -> np.ndarray | None:
    """The column as numbers when every cell is a canonical integer of one or two bytes
    (``0``-``99``, ``-1``-``-9``: answer codes), read from the bytes; else None.

    What :func:`numbers_from_codes` makes of such a column (int64, or float64 with NaN when a
    cell is missing), without hashing it: a cell of one byte is canonical when it is a digit,
    one of two bytes when it is a digit 1-9 or a minus followed by a digit (``05``, ``-0``,
    ``+1`` and ``4,`` are not, and send the column to the general path).
    """
    pa, _, pc = arrow_csv()
    # the shortest and longest cell (missing ones skipped) in one Arrow pass: no whole-column
    # numpy temporaries (fresh pages) just to learn that the column is out of range
    span = pc.min_max(pc.binary_length(col))
    low, high = span["min"].as_py(), span["max"].as_py()
    if low is None or low < 1 or high > 2:
        return None
    valid = None if col.null_count == 0 else col.is_valid().to_numpy(zero_copy_only=False)
    if high == 1:  # every cell one byte: its bytes back to back (missing cells hold none)
        one = _one_byte_digits(col, pa, len(col) - col.null_count)
        if one is not None:
            if valid is None:
                return one.astype(np.int64)
            out = np.full(len(col), np.nan)
            out[valid] = one
            return out
    offsets, data = text_buffers(col)
    lens = np.diff(offsets)
    last = data.size - 1
    first = data[np.minimum(offsets[:-1], last)] - np.uint8(48)  # digits: 0-9 (uint8 wraps)
    second = data[np.minimum(offsets[:-1] + 1, last)] - np.uint8(48)
    two = lens == 2
    minus = first == np.uint8(253)  # "-" is 45 = 48 - 3
    lead = ((first >= 1) & (first <= 9)) | (minus & (second >= 1))  # not 05, not -0
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


def _one_byte_digits(col: Any, pa: Any, n_valid: int) -> np.ndarray | None:
    """The digits 0-9 of a column whose present cells hold one byte each, in row order
    without the missing cells; None when a byte is not a digit, or when the bytes are not
    exactly one per present cell (then the general path decides)."""
    size = 8 if pa.types.is_large_string(col.type) else 4
    bufs = col.buffers()
    if bufs[2] is None:
        return None
    ends = np.frombuffer(bufs[1], dtype=f"<i{size}", count=len(col) + 1, offset=col.offset * size)
    body = np.frombuffer(bufs[2], dtype=np.uint8)[int(ends[0]) : int(ends[-1])]
    if body.size != n_valid:
        return None
    digits = body - np.uint8(48)  # "0"-"9": 0-9; any other byte wraps above 9
    return digits if digits.size and int(digits.max()) <= 9 else None


def _all_distinct_sample(col: Any, pc: Any) -> bool:
    """Whether 4,096 cells spread over a long column are all different (respondent ids).

    Then the column has far more distinct values than a quarter of its cells (labels that
    repeat would show repeats in the sample), so hashing it to share equal texts is skipped.
    Only the speed depends on this guess: both ways give the same cells.
    """
    if len(col) < 4 * _SPREAD:
        return False
    picked = col.take(np.linspace(0, len(col) - 1, _SPREAD).astype(np.int64))
    return bool(pc.count_distinct(picked, mode="all").as_py() == _SPREAD)


def _numbers(col: Any, pa: Any, pc: Any) -> np.ndarray | None:
    """The column as numbers if every cell is canonical (:func:`numbers_if_lossless`)."""
    try:
        ints = pc.cast(col, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ints = None
    if ints is not None and pc.all(pc.equal(pc.cast(ints, pa.string()), col)).as_py():
        if col.null_count == 0:
            return np.asarray(ints.to_numpy(), dtype=np.int64)
        low, high = pc.min_max(ints).values()
        if max(-low.as_py(), high.as_py()) >= EXACT:
            return None  # a float64 column (for the missing cells) would round these ids
        return np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.float64)
    enc = col.dictionary_encode()  # floats, or integers beside other numbers
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return numbers_from_codes(codes, np.asarray(enc.dictionary.to_pylist(), dtype=str))

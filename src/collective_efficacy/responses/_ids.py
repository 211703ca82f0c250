"""Ids as text: one rule for the reader (:mod:`.io`) and for :func:`validate`.

Community and respondent ids are compared as text, so ``0101``, ``101``, ``1.0`` and ``1`` stay
four communities. The reader turns a text column into numbers only when that loses nothing: every
cell is the *canonical* text of its number (:func:`number_text`), so rendering the numbers back
gives exactly the text of the file. :func:`validate` renders numeric id columns with the same
function, which makes "file text -> reader -> validate" the identity on ids.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._groups import factorize_objects
from collective_efficacy.responses._codes import arrow_text, distinct_text_codes, first_coded_rows

__all__ = [
    "case_duplicates",
    "coded_ids",
    "ids_as_text",
    "nonscalar_rows",
    "normalise_labels",
    "normalise_labels_distinct",
    "normalised_texts",
    "number_text",
    "numbers_if_lossless",
    "with_texts",
]

EXACT = 2.0**53  # integers up to this size are exact in a float64
_SAMPLE = 256  # first cells checked before hashing a whole column
_NUMBERS = (bool, np.bool_, int, np.integer, float, np.floating)


def number_text(x: Any) -> str:
    """The canonical text of a number: ``1`` (also for ``1.0``), ``-3``, ``2.5``.

    >>> [number_text(v) for v in (1, 1.0, 2.5, -3, 101)]
    ['1', '1', '2.5', '-3', '101']
    """
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    f = float(x)
    if f.is_integer() and abs(f) < EXACT:
        return str(int(f))
    return repr(f)


def _numbers_as_text(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`number_text` of a numeric array; missing stays ``None``."""
    out = np.full(len(values), None, dtype=object)
    if values.dtype.kind in "iu":
        out[:] = values.astype(str)
        return out
    v = values.astype(np.float64)
    ok = ~np.isnan(v)
    whole = ok & np.isfinite(v) & (np.floor(v) == v) & (np.abs(v) < EXACT)
    out[whole] = v[whole].astype(np.int64).astype(str)
    rest = np.flatnonzero(ok & ~whole)
    out[rest] = [repr(float(x)) for x in v[rest]]  # non-integral ids: rare
    return out


def numbers_if_lossless(s: pd.Series) -> pd.Series:
    """A text column as numbers when every non-missing cell is the canonical text of its number.

    ``["1", "5", None]`` becomes numbers; ``["0101", "1"]``, ``["1.0"]``, ``[" 1"]``, ``["4,0"]``
    and integers too long for a float beside missing cells stay text (converting them would
    change or merge values). The distinct values are parsed once (vectorised), not every cell;
    a column whose first cells are not numbers (labels, ids such as ``R001``) is left as text
    without hashing the rest.

    >>> numbers_if_lossless(pd.Series(["1", "5", None])).tolist()
    [1.0, 5.0, nan]
    >>> numbers_if_lossless(pd.Series(["0101", "101"])).tolist()
    ['0101', '101']
    """
    first = s.iloc[:_SAMPLE]
    head = pd.unique(first[first.notna()].to_numpy(dtype=object))
    if len(head) and canonical_numbers(np.asarray(head, dtype=str)) is None:
        return s  # one cell that is not a canonical number keeps the whole column as text
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) == 0:
        return s
    values = numbers_from_codes(codes, np.asarray(uniques, dtype=str))
    return s if values is None else pd.Series(values, index=s.index, name=s.name)


def numbers_from_codes(codes: np.ndarray, text: np.ndarray) -> np.ndarray | None:
    """Cells (``codes`` into the distinct ``text``, -1 missing) as numbers, if lossless.

    int64 without missing cells, else float64 with NaN; None when some text is not the
    canonical text of its number or an integer beside missing cells is beyond 2**53.

    >>> numbers_from_codes(np.array([0, 1, -1]), np.array(["4", "5"])).tolist()
    [4.0, 5.0, nan]
    """
    nums = canonical_numbers(text)
    if nums is None:
        return None
    if (codes < 0).any():
        if nums.dtype.kind == "i" and np.abs(nums).max() >= EXACT:
            return None  # a float64 column (for the missing cells) would round these ids
        return np.append(nums.astype(np.float64), np.nan)[np.where(codes >= 0, codes, len(nums))]
    return nums[codes]


def canonical_numbers(text: np.ndarray) -> np.ndarray | None:
    """``text`` parsed as int64 or float64 if each string is its number's canonical text."""
    try:
        ints = text.astype(np.int64)
    except (ValueError, OverflowError):
        pass
    else:
        return ints if bool((ints.astype(str) == text).all()) else None
    try:
        floats = text.astype(np.float64)
    except (ValueError, OverflowError):
        return None
    if not np.isfinite(floats).all() or not bool((_numbers_as_text(floats) == text).all()):
        return None
    return floats


def _kind(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true/false"
    if isinstance(v, (int, np.integer)):
        return "integer"
    if isinstance(v, (float, np.floating)):
        return "number"
    if isinstance(v, str):
        return "text"
    return type(v).__name__


#: ``pd.api.types.infer_dtype`` kinds whose cells are all scalars (no list, dict, set, tuple or
#: array can hide in them): the cell-by-cell check is skipped for these.
_SCALAR_KINDS = frozenset(
    {"string", "bytes", "floating", "integer", "boolean", "decimal", "complex", "empty"}
)


def nonscalar_rows(s: pd.Series, kind: str | None = None) -> np.ndarray:
    """Positions of cells holding a list, dict, set, tuple or array (they cannot be answers/ids).

    A column of one scalar kind (all text, all numbers: ``infer_dtype`` in one C pass) has none;
    only other columns are checked cell by cell.

    >>> nonscalar_rows(pd.Series(["a", ["b"], None, "c"], dtype=object)).tolist()
    [1]
    """
    if s.dtype != object or (kind or pd.api.types.infer_dtype(s, skipna=True)) in _SCALAR_KINDS:
        return np.zeros(0, dtype=np.intp)
    bad = s.map(lambda v: isinstance(v, (list, dict, set, tuple, np.ndarray))).to_numpy(bool)
    return np.flatnonzero(bad)


def ids_as_text(s: pd.Series) -> tuple[np.ndarray | None, list[str]]:
    """Id cells as text (missing -> ``None``), or ``(None, examples)`` when types are mixed.

    Integers and whole floats are written without decimals (``1.0`` -> ``"1"``), as the reader
    does. A column mixing text, integers, floats or booleans (``1``, ``"1"``, ``1.0``, ``True``)
    is refused: turning it into text would merge or split ids by accident of their type.

    >>> ids_as_text(pd.Series([1, 2, None]))[0].tolist()
    ['1', '2', None]
    >>> ids_as_text(pd.Series([1, "1", 1.0, True], dtype=object))[1]
    ['1 (integer)', "'1' (text)", '1.0 (number)', 'True (true/false)']
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    missing = s.isna().to_numpy()
    if pd.api.types.is_bool_dtype(s.dtype):
        out = s.astype(str).to_numpy(dtype=object)
        out[missing] = None
        return out, []
    if pd.api.types.is_integer_dtype(s.dtype) and not missing.any():
        return _numbers_as_text(s.to_numpy()), []  # exact, also beyond 2**53
    if pd.api.types.is_numeric_dtype(s.dtype):
        return _numbers_as_text(s.to_numpy(dtype=np.float64, na_value=np.nan)), []
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind.startswith("mixed"):  # before any hashing: 1, 1.0 and True hash alike
        return None, _mixed_examples(s[~missing])
    if kind == "string":  # every cell already text: no hashing needed
        out = s.to_numpy(dtype=object, copy=True)
        out[missing] = None
        return out, []
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    return with_texts(codes, _object_texts(uniques)), []


def _mixed_examples(cells: pd.Series) -> list[str]:
    """One example per value type of a column mixing them (an error path)."""
    kinds: dict[str, Any] = {}
    for v in cells:
        kinds.setdefault(_kind(v), v)
    return [f"{v!r} ({k})" for k, v in kinds.items()]


def _object_texts(uniques: Any) -> np.ndarray:
    """The id text of each distinct cell of an object column (:func:`number_text` for numbers)."""
    texts = [
        u if isinstance(u, str) else number_text(u) if isinstance(u, _NUMBERS) else str(u)
        for u in uniques
    ]
    return np.array(texts, dtype=object)


def with_texts(codes: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """``texts[codes]`` as an object array, ``None`` where the code is -1 (missing).

    Taken by pandas' object take (a typed loop: at millions of rows two to three times as fast
    as numpy's, which copies each reference through a generic per-item function); it fills -1
    with NaN, set to None after (only when a code is -1)."""
    table = np.empty(len(texts), dtype=object)
    table[:] = texts
    out = np.asarray(pd.api.extensions.take(table, np.asarray(codes), allow_fill=True))
    missing = np.asarray(codes) < 0
    if missing.any():
        out[missing] = None
    return out


def coded_ids(
    s: pd.Series, kind: str | None = None
) -> tuple[np.ndarray, np.ndarray] | tuple[None, list[str]]:
    """:func:`ids_as_text` from one hashing pass: ``(codes, texts)``, or ``(None, examples)``.

    ``with_texts(codes, texts)`` equals ``ids_as_text(s)[0]``; ``codes`` (-1 = missing) follow
    the cells' first appearance and are equal exactly when the ids are: their values for a
    numeric column (as :func:`validate` compares numbers), their text for any other.

    >>> codes, texts = coded_ids(pd.Series(["b", None, "a", "b"], dtype=object))
    >>> codes.tolist(), texts.tolist()
    ([0, -1, 1, 0], ['b', 'a'])
    """
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    numeric = pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype)
    if numeric or kind is None or s.dtype != object:  # (``kind``: the caller's infer_dtype)
        kind = "" if numeric else pd.api.types.infer_dtype(s, skipna=True)
    if kind.startswith("mixed"):  # before any hashing: 1, 1.0 and True hash alike
        return None, _mixed_examples(s[s.notna()])
    if kind == "string" and s.dtype == object:  # distinct texts already
        values = s.to_numpy()
        codes = distinct_text_codes(values)  # ids: coded from their bytes
        if codes is not None:
            return codes, values[first_coded_rows(codes)]
        return factorize_objects(values, sort=False)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if kind == "string":
        return codes, np.asarray(uniques, dtype=object)
    if numeric:  # the texts ids_as_text gives the column's cells (floats beside missing ones)
        has_missing = pd.api.types.is_integer_dtype(s.dtype) and bool((codes < 0).any())
        vals = pd.Series(uniques, dtype=np.float64 if has_missing else uniques.dtype)
        return codes, ids_as_text(vals)[0]  # type: ignore[return-value]
    # other cells (numbers in an object column, ...): codes of their text, not of their value
    text_codes, texts = pd.factorize(_object_texts(uniques), use_na_sentinel=True)
    return np.append(text_codes, -1)[codes], np.asarray(texts, dtype=object)


def normalise_labels(text: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
    """Labels in Unicode NFC, trimmed, runs of white space as one space; and what changed.

    >>> out, changed = normalise_labels(np.array([" Buurt  A1", "Buurt A1", None], dtype=object))
    >>> out.tolist(), changed
    (['Buurt A1', 'Buurt A1', None], {' Buurt  A1': 'Buurt A1'})
    """
    out, changed, _ = normalise_labels_distinct(text)
    return out, changed


def normalise_labels_distinct(text: np.ndarray) -> tuple[np.ndarray, dict[str, str], np.ndarray]:
    """:func:`normalise_labels` and the distinct normalised labels (first-seen order), from one
    hashing pass (for :func:`case_duplicates`, which then needs no pass over every row).

    >>> normalise_labels_distinct(np.array(["B ", "A", "B"], dtype=object))[2].tolist()
    ['B', 'A']
    """
    codes, uniques = pd.factorize(pd.Series(text, dtype=object), use_na_sentinel=True)
    fixed, plain = normalised_texts(uniques)
    changed = {str(uniques[k]): fixed[k] for k in np.flatnonzero(~plain) if uniques[k] != fixed[k]}
    distinct = np.array(list(dict.fromkeys(fixed)), dtype=object)
    if not changed:  # every label already normalised: the cells as they are
        return text, changed, distinct
    table = np.array([*fixed, None], dtype=object)
    return table[np.where(codes >= 0, codes, len(fixed))], changed, distinct


#: ASCII white space that ``str.split()`` removes or joins (U+0009-000D, U+001C-001F, runs of
#: spaces, a space at either end); RE2 syntax
_SPACES = r"[\x09-\x0d\x1c-\x1f]|  |^ | $"
_MIN_ARROW = 64  # fewer labels: one by one (Arrow's fixed costs not worth it)


def normalised_texts(texts: Sequence[Any] | np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Each text in Unicode NFC, trimmed, runs of white space as one space; and which texts
    are their own normal form (returned as they are, the same objects).

    ``" ".join(unicodedata.normalize("NFC", str(t)).split())`` for each text, computed only for
    texts that may change: ASCII texts whose only white space is single spaces between words
    are their own normal form (NFC leaves ASCII alone, ``split`` finds nothing to change), and
    Arrow finds those in one pass over thousands of labels.

    >>> fixed, plain = normalised_texts([" Buurt  A", "Buurt B"] * 40)
    >>> fixed[:2], plain[:2].tolist()
    (['Buurt A', 'Buurt B'], [False, True])
    """
    out = list(texts)
    plain = np.zeros(len(out), dtype=bool)
    arr = arrow_text(np.asarray(out, dtype=object)) if len(out) >= _MIN_ARROW else None
    if arr is not None and arr.null_count == 0:  # all text (numbers, None: one by one)
        pc = import_module("pyarrow.compute")
        spaced = pc.match_substring_regex(arr, _SPACES)
        plain = pc.and_not(pc.string_is_ascii(arr), spaced).to_numpy(zero_copy_only=False)
    for k in np.flatnonzero(~plain):
        out[k] = " ".join(unicodedata.normalize("NFC", str(out[k])).split())
    return out, plain


def _no_case_twins(distinct: np.ndarray) -> bool:
    """True when the distinct labels are ASCII and no two are equal in lower case (in Arrow);
    False when that is so or cannot be told this way."""
    arr = arrow_text(np.asarray(distinct, dtype=object)) if len(distinct) >= _MIN_ARROW else None
    if arr is None or arr.null_count:
        return False
    pc = import_module("pyarrow.compute")
    if not pc.all(pc.string_is_ascii(arr)).as_py():  # casefold of other letters: one by one
        return False
    return bool(pc.count_distinct(pc.ascii_lower(arr)).as_py() == len(arr))


def case_duplicates(labels: np.ndarray) -> list[list[str]]:
    """Groups of distinct labels that differ only in upper/lower case (probable duplicates).

    >>> case_duplicates(np.array(["Buurt A", "buurt a", "Buurt B", None], dtype=object))
    [['Buurt A', 'buurt a']]
    """
    distinct = pd.unique(pd.Series(labels, dtype=object).dropna())
    if _no_case_twins(distinct):  # ASCII labels (casefold is lower case): checked in Arrow
        return []
    folded = [str(u).casefold() for u in distinct]
    if len(set(folded)) == len(folded):  # the common case: no two labels alike
        return []
    groups: dict[str, list[str]] = {}
    for u in distinct:
        groups.setdefault(str(u).casefold(), []).append(str(u))
    return [sorted(g) for g in groups.values() if len(g) > 1]

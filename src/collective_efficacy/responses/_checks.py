"""Checks of :func:`~collective_efficacy.responses.validate` on the frame's shape, its id columns
and the SPSS/Stata value labels (kept apart so that ``responses`` stays readable).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._groups import factorize_objects
from collective_efficacy.errors import ResponseValidationError
from collective_efficacy.instrument import ResponseScale, normalize_label
from collective_efficacy.responses import _codes
from collective_efficacy.responses._codes import distinct_text_codes, first_coded_rows
from collective_efficacy.responses._ids import (
    case_duplicates,
    coded_ids,
    nonscalar_rows,
    normalised_texts,
    number_text,
    with_texts,
)
from collective_efficacy.responses.validation_report import Problem

__all__ = [
    "CHUNK",
    "Collector",
    "IdColumn",
    "check_value_labels",
    "flat_text_columns",
    "id_text",
    "py_value",
    "row_label",
]

_MAX_LISTED = 50
#: rows per pass of validate's checks over several item columns (a chunk of every column of a
#: row-major block stays in cache while each column is read)
CHUNK = 1 << 14

#: Problems that no ``errors="exclude"`` can repair: validation stops with them.
STOPPING = frozenset(
    {
        "absent_column",
        "ambiguous_column",
        "unknown_item",
        "mixed_id_types",
        "unusable_cells",
        "value_labels_mismatch",
    }
)


def row_label(x: Any) -> int | str:
    if isinstance(x, (int, np.integer)):
        return int(x)
    return str(x)


def py_value(v: Any) -> Any:
    """A JSON-friendly scalar."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


class Collector:
    """The problems found so far, with the caller's row labels."""

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.problems: list[Problem] = []
        self.fatal = False

    def add(
        self,
        code: str,
        column: str | None,
        mask: np.ndarray | None,
        values: Sequence[Any] = (),
        *,
        expected: str = "",
        hint: str = "",
        n: int | None = None,
        fatal: bool = True,
    ) -> None:
        rows: list[int | str] = []
        if mask is not None:
            rows = [row_label(r) for r in self.index[mask][:_MAX_LISTED]]
            n = int(mask.sum()) if n is None else n
        self.problems.append(
            Problem(
                code=code,
                column=column,
                rows=rows,
                values=[py_value(v) for v in list(values)[:_MAX_LISTED]],
                n=int(n or 0),
                expected=expected,
                hint=hint,
            )
        )
        self.fatal = self.fatal or fatal

    @property
    def stopping(self) -> bool:
        return any(p.code in STOPPING for p in self.problems)


def flat_text_columns(data: pd.DataFrame) -> pd.DataFrame:
    """The frame with text column labels (a shallow view when they already are text).

    Integer or other hashable labels are written as text (``3`` -> ``"3"``), so that
    ``community="3"`` and ``community=3`` find the same column. Several header levels
    (MultiIndex) and labels that repeat (also after writing them as text) are refused.
    """
    cols = data.columns
    if isinstance(cols, pd.MultiIndex):
        raise ResponseValidationError(
            f"the data has {cols.nlevels} header levels (MultiIndex columns, e.g. "
            f"{cols[0]!r}); expected one header row: flatten the column names first"
        )
    names = [c if isinstance(c, str) else _label_text(c) for c in cols]
    seen: dict[str, list[Hashable]] = {}
    for raw, name in zip(cols, names):
        seen.setdefault(name, []).append(raw)
    dup = {k: v for k, v in seen.items() if len(v) > 1}
    if dup:
        shown = "; ".join(f"{k!r} ({len(v)} columns: {v!r})" for k, v in dup.items())
        raise ResponseValidationError(
            f"duplicate column names: {shown}; expected each column name once: rename them"
        )
    if all(isinstance(c, str) for c in cols):
        return data
    out = data.set_axis(names, axis=1)  # a new frame; the caller's keeps its labels
    labels = data.attrs.get("value_labels") or {}
    out.attrs = dict(data.attrs) | {"value_labels": {_label_text(k): v for k, v in labels.items()}}
    return out


def _label_text(c: Hashable) -> str:
    return c if isinstance(c, str) else number_text(c) if isinstance(c, (int, float)) else str(c)


def column_name(c: Hashable | None) -> str | None:
    """A column argument as the text label :func:`flat_text_columns` gives its column."""
    return None if c is None else _label_text(c)


@dataclass(frozen=True)
class IdColumn:
    """An id column of :func:`validate` as text, kept coded until the output rows are known.

    ``codes`` (-1 = missing) follow the cells' first appearance and are equal exactly when the
    ids are (their values for numbers, their text otherwise); ``texts`` is the text of each
    code; ``cells`` the column's own text cells when they are used as they are (pandas' text
    array, or an object array of ``str``). Respondent ids of text are not coded (``codes`` is
    None): ``flags`` holds which cells are missing and which repeat an earlier cell's id.
    """

    codes: np.ndarray | None
    texts: np.ndarray
    cells: Any = None
    flags: tuple[np.ndarray, np.ndarray] | None = None

    def text(self, rows: np.ndarray | None = None, codes: np.ndarray | None = None) -> Any:
        """The ids as text (``None`` missing) of ``rows`` (positions; default all); ``codes``:
        the codes of ``rows`` when the caller has them."""
        if self.cells is None:
            assert self.codes is not None
            if codes is None:
                codes = self.codes if rows is None else self.codes[rows]
            return with_texts(codes, self.texts)
        if rows is not None:
            return self.cells.take(rows)
        if self.codes is None and isinstance(self.cells, np.ndarray):  # object cells, uncoded
            out = self.cells.copy()
            out[self.missing(empty_text=False)] = None
            return out
        return self.cells

    def missing(self, *, empty_text: bool) -> np.ndarray:
        """Rows without an id (with ``empty_text``, also those whose text is ``""``)."""
        if self.codes is None:
            assert self.flags is not None and not empty_text  # respondent ids only
            return self.flags[0]
        empty = np.append(self.texts == "", True)  # code -1 (the last slot): missing
        return empty[self.codes] if empty_text and empty[:-1].any() else self.codes < 0


def uncoded_ids(values: Any) -> IdColumn | None:
    """Respondent ids of text as they are, with their missing and repeated cells; or None.

    ``values``: pandas' text array or an object array of ``str`` and missing cells, long
    enough for the byte path (:func:`~.responses._codes.text_repeats`); None sends the column
    to the general path (short, unhashable, not UTF-8, an id over 64 bytes).
    """
    if len(values) < _codes._MIN_ROWS:
        return None
    arr = _codes.arrow_text(values)
    repeated = None if arr is None else _codes.text_repeats(arr)
    if repeated is None:
        return None
    missing = np.zeros(len(values), dtype=bool) if arr.null_count == 0 else ~_codes.validity(arr)
    return IdColumn(None, np.zeros(0, dtype=object), values, (missing, repeated))


def id_text(
    data: pd.DataFrame, column: str, col: Collector, *, normalise: bool, repeats_only: bool = False
) -> tuple[IdColumn | None, dict[str, str]]:
    """An id column as text (:func:`ids_as_text`), community labels normalised; problems added.

    Returns the coded ids (None when the column is unusable) and the labels changed by
    normalisation (label in the data -> label used). ``repeats_only`` (respondent ids without
    a wave column): text ids may be left uncoded (:func:`uncoded_ids`).
    """
    s = data[column]
    text_dtype = isinstance(s.dtype, pd.StringDtype)
    kind = pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else None  # once
    # respondent ids: repeats, not codes (also a column with no id at all: "empty")
    if repeats_only and (text_dtype or kind in ("string", "empty")):
        uncoded = uncoded_ids(s.array if text_dtype else s.to_numpy())
        if uncoded is not None:
            return uncoded, {}
    if text_dtype:  # pandas' text dtype (read_csv, Arrow): no objects
        by_bytes = distinct_text_codes(s.array)  # ids: coded from their bytes
        if by_bytes is not None:
            codes = by_bytes
            uniques = s.array.take(first_coded_rows(codes))
        else:
            codes, uniques = pd.factorize(s, use_na_sentinel=True)
        if not normalise:  # a respondent column stays as it is (its array: no str objects)
            return IdColumn(codes, np.zeros(0, dtype=object), s.array), {}
        texts = np.asarray(uniques, dtype=object)  # str cells (no missing among them)
    else:
        bad = nonscalar_rows(s, kind)
        if bad.size:
            _unusable(col, column, s, bad)
            return None, {}
        coded, found = coded_ids(s, kind)
        if coded is None:
            _mixed_problem(col, column, list(found))
            return None, {}
        codes, texts = coded, np.asarray(found, dtype=object)
    changed: dict[str, str] = {}
    if normalise:  # each distinct label normalised once; codes of the normalised labels
        fixed, plain = normalised_texts(texts)
        changed = {texts[k]: fixed[k] for k in np.flatnonzero(~plain) if texts[k] != fixed[k]}
        if changed:
            new_codes, distinct = pd.factorize(np.array(fixed, dtype=object))
            codes = np.append(new_codes, -1)[codes]  # -1 (missing) stays -1
            texts = np.asarray(distinct, dtype=object)
        _case_problems(col, column, codes, texts)
    return IdColumn(codes, texts), changed


def _mixed_problem(col: Collector, column: str, examples: list[str]) -> None:
    col.add(
        "mixed_id_types",
        column,
        None,
        examples,
        n=len(examples),
        expected="ids of one type (all text, or all numbers); ids are compared as text, "
        "so 1, '1', 1.0 and True would merge or split communities by accident",
        hint=f"Convert the column to text first (data[{column!r}].astype(str)) or read the "
        "file with read_responses, which keeps ids as text",
    )


def _case_problems(col: Collector, column: str, codes: np.ndarray, texts: np.ndarray) -> None:
    """Labels that differ only in upper/lower case: a (non-fatal) problem per group."""
    groups = case_duplicates(texts)
    position = {t: k for k, t in enumerate(texts)} if groups else {}
    for group in groups:
        m = np.isin(codes, [position[g] for g in group])
        col.add(
            "probable_duplicate_community",
            column,
            m,
            group,
            n=int(m.sum()),
            expected="one spelling per community",
            hint="These labels differ only in upper/lower case and are kept apart; "
            "correct the file if they are one community",
            fatal=False,
        )


def _unusable(col: Collector, column: str, s: pd.Series, bad: np.ndarray) -> None:
    mask = np.zeros(len(s), dtype=bool)
    mask[bad] = True
    col.add(
        "unusable_cells",
        column,
        mask,
        [repr(v)[:60] for v in s.iloc[bad[:5]]],
        expected="one value per cell (a number or a text), not a list, dict, set or tuple",
    )


def factorize_item(raw: pd.Series, column: str, col: Collector) -> tuple[np.ndarray, Any] | None:
    """``pd.factorize`` of an item column, or None (problem added) when cells hold lists/dicts."""
    try:
        if raw.dtype == object:  # answers read from a file share one object per distinct text
            return factorize_objects(raw.to_numpy(), sort=False)
        return pd.factorize(raw, use_na_sentinel=True)
    except TypeError:  # unhashable cells
        _unusable(col, column, raw, nonscalar_rows(raw.astype(object)))
        return None


def check_value_labels(
    labels: Mapping[Any, str], rs: ResponseScale, column: str, col: Collector
) -> None:
    """SPSS/Stata value labels that name an instrument anchor under another code stop validation.

    ``1 = "Helemaal mee eens"`` where the instrument says 5 = "Helemaal mee eens" means that the
    file's scale runs the other way (or is another instrument): scoring it would reverse the
    answers. Labels the instrument does not know (``"laag"``) are not checked.
    """
    anchors = rs.label_map()
    missing = {float(c) for c in rs.missing}
    wrong: list[str] = []
    langs: list[str] = []
    for code, label in labels.items():
        key = normalize_label(label)
        if key not in anchors:
            continue
        try:
            code_f = float(code)
        except (TypeError, ValueError):
            continue
        want = anchors[key]
        ok = code_f in missing if np.isnan(want) else code_f == want
        if not ok:
            wrong.append(f"{number_text(code_f)} = {label!r}")
            langs += [g for g, texts in rs.labels.items() if key in map(normalize_label, texts)]
    if not wrong:
        return
    lang = langs[0] if langs else next(iter(rs.labels), "")
    texts = rs.labels.get(lang, [])
    inst = ", ".join(f"{c} = {t!r}" for c, t in zip(rs.codes, texts))
    col.add(
        "value_labels_mismatch",
        column,
        None,
        wrong,
        n=len(wrong),
        expected=f"the instrument's codes: {inst}",
        hint="The file's value labels do not match the instrument's answer codes (a reversed "
        "scale?); recode the column or check that this is the instrument the survey used",
    )

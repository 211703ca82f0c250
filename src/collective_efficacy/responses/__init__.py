"""Validate raw survey responses against an instrument.

:func:`validate` turns a messy survey table (numeric codes, answer labels in any language of the
instrument, SPSS value labels, missing codes, blanks, typos) into clean numeric item columns plus a
:class:`~collective_efficacy.responses.validation_report.ValidationReport` in which every input row is accounted
for: usable, or excluded with a reason. The caller's DataFrame is never modified.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice
from collective_efficacy._params import (
    ARRAY,
    COLUMN,
    COLUMNS,
    FRAME,
    MAPPING,
    PATH,
    TEXT,
    InstanceOf,
    Options,
    public,
)
from collective_efficacy._rows import file_row_offset
from collective_efficacy.errors import ResponseValidationError
from collective_efficacy.instrument import Instrument, load_instrument
from collective_efficacy.responses._cells import (
    _convert_items,
    _id_columns,
    kept_codes,
    output_frame,
)
from collective_efficacy.responses._checks import Collector as _Collector
from collective_efficacy.responses._checks import (
    IdColumn,
    check_value_labels,
    column_name,
    flat_text_columns,
)
from collective_efficacy.responses._codes import distinct_text_codes, first_rows
from collective_efficacy.responses._columns import _item_columns
from collective_efficacy.responses._exclusions import _exclusions, _finish_raise, _report
from collective_efficacy.responses._odk import form_columns, form_date_column
from collective_efficacy.responses.io import ResponseFile, read_responses
from collective_efficacy.responses.validation_report import ValidationReport
from collective_efficacy.survey_design import checked_weights

__all__ = ["IdCodes", "ValidatedResponses", "validate"]


class IdCodes:
    """An id column of :attr:`ValidatedResponses.data` as integer codes (computed once).

    Exactly ``pandas.factorize(v.data[column])``: ``labels[codes]`` is the column, codes
    number the distinct ids in order of first appearance, every label is used. The arrays are
    read-only. It is the coding :func:`validate` needs anyway (to find repeated respondent
    ids, to normalise community labels), kept so that later steps need not hash the ids again.

    Attributes
    ----------
    codes : ndarray of int64
        One code per row of ``data``, ``0 .. len(labels) - 1`` (no missing ids: such rows are
        excluded).
    first : ndarray of intp
        The position in ``data`` of each label's first row (``codes[first]`` is
        ``0, 1, 2, ...``).
    labels : ndarray of object
        The distinct ids as text (``str``), as in ``data`` (made on first use: a column of
        respondent ids makes one Python string per respondent).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> raw = pd.DataFrame({"buurt": ["B", "A", "B"], "SC1": [4, 5, 3]})
    >>> v = ce.validate(raw, "sampson1997", community="buurt", items=["SC1"])
    >>> v.id_codes["community"].codes.tolist(), v.id_codes["community"].labels.tolist()
    ([0, 1, 0], ['B', 'A'])
    """

    def __init__(self, codes: np.ndarray | None, column: pd.Series) -> None:
        self._codes = codes  # None: coded on first use (respondent ids, found unique by bytes)
        self._column = column

    @functools.cached_property
    def codes(self) -> np.ndarray:
        if self._codes is None:
            col = self._column
            values = col.array if isinstance(col.dtype, pd.StringDtype) else col.to_numpy()
            by_bytes = distinct_text_codes(values)
            found = pd.factorize(col)[0] if by_bytes is None else by_bytes
            self._codes = np.asarray(found, dtype=np.int64)
            self._codes.flags.writeable = False
        return self._codes

    @functools.cached_property
    def first(self) -> np.ndarray:
        first = first_rows(self.codes)
        first.flags.writeable = False
        return first

    @functools.cached_property
    def labels(self) -> np.ndarray:
        labels = np.asarray(self._column.array.take(self.first), dtype=object)
        labels.flags.writeable = False
        return labels

    def __repr__(self) -> str:
        return f"IdCodes({len(self.codes)} rows, {len(self.first)} labels)"


@dataclass(frozen=True)
class ValidatedResponses:
    """Clean responses and the report of how they were obtained.

    Attributes
    ----------
    data : DataFrame
        A new frame with the caller's index labels of the usable rows, the id columns
        (respondent, community, wave, under the caller's names) and one float column per
        instrument item (named by item id), missing answers as NaN.
    report : ValidationReport
    instrument : Instrument
    respondent, community, wave : str or None
        Names of the id columns in ``data``.
    item_columns : list of str
        The item ids, in order (the item columns of ``data``).
    date : str or None
        The column of ``data`` with each answer's date (ISO text): the submission time of an
        ODK / KoboToolbox export read by :func:`~collective_efficacy.read_responses`
        (``"date"``); None for other data.
    """

    data: pd.DataFrame
    report: ValidationReport
    instrument: Instrument
    respondent: str | None = None
    community: str | None = None
    wave: str | None = None
    item_columns: list[str] = field(default_factory=list)
    date: str | None = None
    id_codes: dict[str, IdCodes] = field(default_factory=dict)


@public(
    constraints={
        "data": [
            FRAME,
            PATH,
            InstanceOf(ResponseFile, description="a ResponseFile", example=pd.DataFrame),
        ],
        "instrument": [
            InstanceOf(Instrument, description="an Instrument", example=lambda: "sampson1997"),
            PATH,
            MAPPING,
        ],
        "waves": [ARRAY, None],
        "columns": [MAPPING, None],
        "source": [TEXT, None],
        "weight": [COLUMN, None],
        "respondent": [COLUMN, None],
        "community": [COLUMN, None],
        "wave": [COLUMN, None],
        "items": [COLUMNS, None],
        "errors": [Options(("raise", "exclude"))],
    }
)
def validate(
    data: pd.DataFrame | str | Path,
    instrument: Instrument | str | Path | Mapping[str, Any],
    *,
    respondent: str | None = None,
    community: str | None = None,
    wave: str | None = None,
    waves: Sequence[Any] | None = None,
    columns: Mapping[str, str] | None = None,
    items: Sequence[str] | None = None,
    errors: Literal["raise", "exclude"] = "raise",
    source: str | None = None,
    weight: str | None = None,
) -> ValidatedResponses:
    """Check raw survey responses against an instrument and return clean numeric items.

    Parameters
    ----------
    data : DataFrame or path
        Raw responses, one row per respondent (a path is read with :func:`read_responses`).
    instrument : Instrument, id or path
        The instrument the survey used (see :func:`list_instruments`).
    respondent, community, wave : str, optional
        Names of the respondent-id, community and wave columns.
    waves : sequence, optional
        The allowed wave labels (e.g. ``["baseline", "end"]``); other labels are a problem.
    columns : mapping, optional
        The caller's column name -> item id, for files whose columns are not named by item id
        (``{"v12_buurt_hecht": "SC1", ...}``). Without it, an ODK Central or KoboToolbox export
        of a form made by :func:`~collective_efficacy.export.to_xlsform` is mapped by itself:
        ``items/SC1`` and ``items-SC1`` (group prefixes) and question labels as headers.
    items : sequence of str, optional
        Item ids to validate (default: every item of the instrument).
    errors : {"raise", "exclude"}, default="raise"
        ``"raise"``: raise :class:`ResponseValidationError` listing every problem. ``"exclude"``:
        set bad cells to missing, exclude unusable rows, and report both.
    source : str, optional
        A name for the data in messages (default: the file name when a path is given).
    weight : str, optional
        Survey weight column: kept in ``.data`` as float and checked (numeric, finite, > 0;
        numeric text such as ``"1,5"`` is read). A missing, non-numeric, infinite, zero or
        negative weight is a problem (``invalid_weight``): raised, or with ``errors="exclude"``
        the row is excluded with that reason.

    Returns
    -------
    ValidatedResponses
        ``.data`` (new frame: id columns and float item columns named by item id; missing codes,
        blanks and, with ``errors="exclude"``, invalid cells as NaN) and ``.report``.

    Notes
    -----
    Cells are accepted as numeric codes, numeric text (``"4"``, ``"4,0"``), or answer labels in
    any language of the instrument, compared case-, accent- and whitespace-insensitively, and SPSS
    value labels stored in ``data.attrs["value_labels"]`` by :func:`read_responses`.

    Column labels may be any hashable (they are compared as text: ``community=3`` finds column
    ``3``); repeated labels, MultiIndex columns and cells holding lists or dicts stop validation.
    The community and respondent columns are compared as text (numbers written as ``1``,
    ``2.5``, as :func:`read_responses` keeps them); a column mixing value types (``1``, ``"1"``,
    ``1.0``, ``True``) stops validation (``mixed_id_types``). Community labels are normalised
    (Unicode NFC, trimmed, inner white space collapsed), each changed label listed in
    ``report.normalised_labels``; labels differing only in case are kept apart and reported
    (``probable_duplicate_community``). SPSS/Stata value labels that give an instrument anchor to
    another code (a reversed scale) stop validation (``value_labels_mismatch``), showing both.

    Rows are excluded (never silently dropped) when: the community label is missing
    (``missing_community``), the respondent id is missing (``missing_respondent``) or repeats an
    earlier row (``duplicate_respondent``: the first occurrence is kept), the wave label is not
    among ``waves`` (``unknown_wave``), or no item was answered (``no_items_answered``).
    ``report.n_rows_in == report.n_rows_usable + report.n_rows_excluded`` always holds.

    Rows keep the caller's index labels in ``report.problems[i].rows`` and
    ``report.excluded[i].row``. Messages and ``report.summary()`` name them as the user counts
    them: for a file (a path, or a frame as :func:`read_responses` returned it, unfiltered) the
    spreadsheet rows with the header as row 1 (``"rows 2, 5 and 9 of buurt.csv"``;
    ``report.first_row == 2``); for any other frame its index labels, said as such
    (``"index labels 0 and 3"``). CSV records are counted, not text lines (a byte-order mark is
    not a row; a quoted cell over several lines is one row; blank lines are skipped).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> raw = pd.DataFrame({"buurt": ["A", "A"], "hecht": ["Mee eens", 9], "helpen": [5, 4]})
    >>> v = ce.validate(raw, "sampson1997", community="buurt",
    ...                 columns={"hecht": "SC1", "helpen": "SC2"}, items=["SC1", "SC2"])
    >>> v.data["SC1"].tolist()
    [4.0, nan]
    >>> v.report.recoded_missing
    {'hecht': {'9': 1}}
    """
    check_choice("errors", errors, ["raise", "exclude"], func="validate")
    data, source = _as_frame(data, source)
    first_row = file_row_offset(data)
    if first_row is not None:
        source = source or str(data.attrs["source"])
    data = flat_text_columns(data)
    respondent, community, wave = (column_name(c) for c in (respondent, community, wave))
    inst = load_instrument(instrument)
    item_ids = list(items) if items is not None else inst.item_ids
    for i in item_ids:
        inst.item(i)  # raises for unknown ids
    col = _Collector(data.index)
    n = len(data)
    id_cols = [c for c in (respondent, community, wave) if c is not None]
    if columns is None:  # ODK / KoboToolbox exports: items/SC1, items-SC1, label headers
        columns = form_columns(data.columns, inst, item_ids) or None
    item_to_col = _item_columns(data, inst, item_ids, columns, id_cols, col)
    value_labels: Mapping[str, Mapping[Any, str]] = data.attrs.get("value_labels", {}) or {}
    for i, c in item_to_col.items():
        if i in item_ids and value_labels.get(c) and c in data.columns:
            check_value_labels(value_labels[c], inst.response_scale(i), c, col)
    if col.stopping:
        _finish_raise(col, inst, source, first_row, n, excludable=False)

    out, relabelled = _id_columns(data, id_cols, community, wave, col)
    recoded = _convert_items(data, out, inst, item_ids, item_to_col, value_labels, col)
    if col.stopping:
        _finish_raise(col, inst, source, first_row, n, excludable=False)
    reasons = _exclusions(data, out, community, respondent, wave, waves, item_ids, col)
    date = form_date_column(data)  # an ODK / Kobo export: the submission date travels along
    if date is not None and date not in id_cols:
        out[date] = pd.Series(data[date].to_numpy(dtype=object), index=data.index)
        id_cols.append(date)
    if weight is not None:
        wcol = str(column_name(weight))
        w, bad = checked_weights(data, wcol)
        out[wcol] = pd.Series(w, index=data.index)
        if bad.any():
            col.add("invalid_weight", wcol, bad, data.loc[bad, wcol].tolist(),
                    expected="a finite number > 0")  # fmt: skip
            reasons.exclude(bad, "invalid_weight", f"no usable weight in column {wcol!r}")
        id_cols.append(wcol)
    if col.problems and errors == "raise":
        _finish_raise(col, inst, source, first_row, n)

    ignored = [str(c) for c in data.columns if c not in set(item_to_col.values()) | set(id_cols)]
    report = _report(data, inst, item_ids, item_to_col, col, reasons, recoded, ignored,
                     relabelled=relabelled, source=source, first_row=first_row)  # fmt: skip
    usable = np.flatnonzero(~reasons.excluded)
    roles = {"community": community, "respondent": respondent}
    ids = {c: v for c in roles.values() if c and isinstance(v := out.get(c), IdColumn)}
    taken = {c: v.codes[usable] for c, v in ids.items() if v.codes is not None}  # once
    clean = output_frame(out, data.index, usable, item_ids, taken)
    coded = {
        r: IdCodes(None if c not in taken else kept_codes(ids[c], usable, taken[c]), clean[c])
        for r, c in roles.items()
        if c in ids
    }
    kept_date = date if date is not None and date in out else None
    return ValidatedResponses(
        clean, report, inst, **roles, wave=wave, item_columns=list(item_ids), date=kept_date,
        id_codes=coded,
    )  # fmt: skip


def _as_frame(data: Any, source: str | None) -> tuple[pd.DataFrame, str | None]:
    """``validate``'s input as a pandas frame: a ResponseFile, a path, or a foreign frame."""
    from collective_efficacy.summaries._frames import is_frame, to_pandas

    if isinstance(data, ResponseFile):  # its file name, labels and notes come along
        data = data.legacy_frame()
    if isinstance(data, (str, Path)):
        source = source or Path(data).name
        data = read_responses(data)
    if not isinstance(data, pd.DataFrame) and is_frame(data):  # polars, Arrow, DuckDB, Dask
        data = to_pandas(data)
    if not isinstance(data, pd.DataFrame):
        raise ResponseValidationError(
            f"data must be a DataFrame or a file path; got {type(data).__name__}"
        )
    return data, source

"""Validate raw survey responses against an instrument.

:func:`validate` turns a messy survey table (numeric codes, answer labels in any language of the
instrument, SPSS value labels, missing codes, blanks, typos) into clean numeric item columns plus a
:class:`~collective_efficacy.responses.validation_report.ValidationReport` in which every input row is accounted
for: usable, or excluded with a reason. The caller's DataFrame is never modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice
from collective_efficacy._params import COLUMN, COLUMNS, Options, public
from collective_efficacy._rows import file_row_offset
from collective_efficacy.errors import ResponseValidationError
from collective_efficacy.instrument import (
    Instrument,
    ResponseScale,
    load_instrument,
    normalize_label,
)
from collective_efficacy.responses._checks import Collector as _Collector
from collective_efficacy.responses._checks import (
    check_value_labels,
    column_name,
    factorize_item,
    flat_text_columns,
    id_text,
)
from collective_efficacy.responses._checks import row_label as _label
from collective_efficacy.responses._odk import form_columns
from collective_efficacy.responses.validation_report import ExcludedRow, ValidationReport
from collective_efficacy.survey_design import checked_weights

__all__ = ["ValidatedResponses", "validate"]


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
    """

    data: pd.DataFrame
    report: ValidationReport
    instrument: Instrument
    respondent: str | None = None
    community: str | None = None
    wave: str | None = None
    item_columns: list[str] = field(default_factory=list)


def _is_empty_column(codes: np.ndarray, uniques: Any) -> bool:
    """Every cell missing, or every cell a blank string (from a column's factorisation)."""
    if not (codes >= 0).any():
        return True
    if (codes < 0).any():
        return False
    return all(isinstance(u, str) and u.strip() == "" for u in uniques)


def _expected_codes(rs: ResponseScale) -> str:
    codes = (
        f"integer {rs.min}-{rs.max}"
        if rs.codes == list(range(rs.min, rs.max + 1))
        else (f"one of {rs.codes}")
    )
    if rs.missing:
        codes += f" or missing code {'/'.join(str(c) for c in rs.missing)}"
    langs = ", ".join(rs.labels)
    return f"{codes}, or an answer label ({langs})" if langs else codes


def _convert_column(
    raw: pd.Series,
    rs: ResponseScale,
    column: str,
    value_labels: Mapping[Any, str] | None,
    col: _Collector,
    recoded: dict[str, dict[str, int]],
    factorized: tuple[np.ndarray, Any] | None = None,
) -> np.ndarray:
    """Codes as float (NaN = missing); problems recorded; bad cells become NaN.

    ``factorized`` is ``pd.factorize(raw, use_na_sentinel=True)`` when the caller has it.
    """
    codes_of_label = rs.label_map()
    if value_labels:  # SPSS/Stata value labels: their labels map to their codes
        for code, lab in value_labels.items():
            codes_of_label.setdefault(normalize_label(lab), float(code))
    valid = np.asarray(rs.codes, dtype=float)
    missing_codes = np.asarray(list(rs.missing), dtype=float)
    uniq_codes, uniques = (
        factorized if factorized is not None else pd.factorize(raw, use_na_sentinel=True)
    )
    mapped = np.full(len(uniques), np.nan)
    status = np.zeros(len(uniques), dtype=np.int8)  # 0 ok, 1 missing, 2 blank, 3 range, 4 label
    for i, u in enumerate(uniques):  # loop over distinct values (few), not rows
        if isinstance(u, (bool, np.bool_)):
            status[i] = 3
            continue
        num: float | None = None
        if isinstance(u, (int, float, np.integer, np.floating)):
            num = float(u)
        else:
            text = str(u).strip()
            if text == "":
                status[i] = 2
                continue
            try:
                num = float(text.replace(",", "."))
            except ValueError:
                key = normalize_label(text)
                if key in codes_of_label:
                    val = codes_of_label[key]
                    mapped[i] = val
                    status[i] = 1 if np.isnan(val) else 0
                else:
                    status[i] = 4
                continue
        if num is not None:
            if np.isnan(num):
                status[i] = 2
            elif np.isin(num, valid):
                mapped[i] = num
            elif np.isin(num, missing_codes):
                status[i] = 1
            else:
                status[i] = 3
    # append a sentinel slot for NaN cells (code -1) so that indexing never fails
    mapped = np.append(mapped, np.nan)
    status = np.append(status, np.int8(2))
    idx = np.where(uniq_codes >= 0, uniq_codes, len(uniques))
    out = mapped[idx]
    cell_status = status[idx]
    miss = cell_status == 1
    if miss.any():
        counts = pd.Series(raw[miss].astype(str).str.strip()).value_counts()
        recoded[column] = {str(k): int(v) for k, v in counts.items()}
    for kind, code in ((3, "out_of_range"), (4, "unknown_label")):
        sel = np.flatnonzero(cell_status == kind)
        if sel.size:
            mask = np.zeros(len(raw), dtype=bool)
            mask[sel] = True
            col.add(
                code,
                column,
                mask,
                raw.iloc[sel].tolist(),
                expected=_expected_codes(rs),
                hint="Check the spelling of the answer labels" if kind == 4 else "",
            )
    return out


@public(
    constraints={
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
    from collective_efficacy.responses.io import (
        read_responses,  # local: io is optional-extras territory
    )

    check_choice("errors", errors, ["raise", "exclude"], func="validate")
    if isinstance(data, (str, Path)):
        source = source or Path(data).name
        data = read_responses(data)
    if not isinstance(data, pd.DataFrame):
        raise ResponseValidationError(
            f"data must be a DataFrame or a file path; got {type(data).__name__}"
        )
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

    out = pd.DataFrame(index=data.index.copy())
    relabelled: dict[str, str] = {}
    for c in id_cols:
        if c == wave:
            out[c] = data[c].to_numpy(copy=True)
            continue
        text, changed = id_text(data, c, col, normalise=c == community)
        text = text if text is not None else np.full(n, None, dtype=object)
        out[c] = pd.Series(text, index=out.index, dtype=object)  # plain str objects, no copy
        relabelled = changed if c == community else relabelled
    recoded = _convert_items(data, out, inst, item_ids, item_to_col, value_labels, col)
    if col.stopping:
        _finish_raise(col, inst, source, first_row, n, excludable=False)
    reason, detail = _exclusions(data, out, community, respondent, wave, waves, item_ids, col)
    if weight is not None:
        wcol = str(column_name(weight))
        out[wcol], bad = checked_weights(data, wcol)
        if bad.any():
            col.add("invalid_weight", wcol, bad, data.loc[bad, wcol].tolist(),
                    expected="a finite number > 0")  # fmt: skip
            new = bad & (reason == "")
            reason[new], detail[new] = "invalid_weight", f"no usable weight in column {wcol!r}"
        id_cols.append(wcol)
    if col.problems and errors == "raise":
        _finish_raise(col, inst, source, first_row, n)

    excluded_mask = reason != ""
    excluded = [
        ExcludedRow(row=_label(r), reason=str(reason[k]), detail=str(detail[k]))
        for k, r in zip(np.flatnonzero(excluded_mask), data.index[excluded_mask])
    ]
    ignored = [str(c) for c in data.columns if c not in set(item_to_col.values()) | set(id_cols)]
    report = ValidationReport(
        source=source or "",
        first_row=first_row,
        instrument_id=inst.id,
        instrument_version=inst.version,
        n_rows_in=n,
        n_rows_usable=int((~excluded_mask).sum()),
        n_rows_excluded=int(excluded_mask.sum()),
        excluded=excluded,
        problems=col.problems,
        recoded_missing=recoded,
        column_map={str(item_to_col[i]): i for i in item_ids},
        ignored_columns=ignored,
        normalised_labels=relabelled,
        notes=[str(t) for t in data.attrs.get("reading_notes", [])],
        note_messages=list(data.attrs.get("reading_messages", [])),
    )
    clean = out.loc[~excluded_mask].copy()
    return ValidatedResponses(
        data=clean,
        report=report,
        instrument=inst,
        respondent=respondent,
        community=community,
        wave=wave,
        item_columns=list(item_ids),
    )


def _convert_items(
    data: pd.DataFrame,
    out: pd.DataFrame,
    inst: Instrument,
    item_ids: list[str],
    item_to_col: dict[str, str],
    value_labels: Mapping[str, Mapping[Any, str]],
    col: _Collector,
) -> dict[str, dict[str, int]]:
    """Each item's codes into ``out`` (float, NaN = missing); the recoded missing codes."""
    recoded: dict[str, dict[str, int]] = {}
    for i in item_ids:
        c = item_to_col[i]
        factorized = factorize_item(data[c], c, col) if c in data.columns else None
        if factorized is None:
            out[i] = np.nan
            continue
        if _is_empty_column(*factorized):  # distinct values once, not a copy of every cell
            col.add(
                "empty_column",
                c,
                None,
                n=len(data),
                expected=f"answers to item {i!r}",
                hint="The column is entirely empty; is it the right column?",
            )
        out[i] = _convert_column(
            data[c], inst.response_scale(i), c, value_labels.get(c), col, recoded, factorized
        )
    return recoded


def _item_columns(
    data: pd.DataFrame,
    inst: Instrument,
    item_ids: list[str],
    columns: Mapping[str, str] | None,
    id_cols: list[str],
    col: _Collector,
) -> dict[str, str]:
    """Item id -> the caller's column (mapped, or named by item id); absent columns recorded."""
    colmap: dict[str, str] = {}
    for c, i in (columns or {}).items():
        if i not in inst.item_ids:
            col.add(
                "unknown_item",
                str(c),
                None,
                [i],
                n=1,
                expected=f"an item id of {inst.id!r}: {inst.item_ids}",
            )
        colmap[str(column_name(c))] = i
    item_to_col = {i: c for c, i in colmap.items()}
    for i in item_ids:
        item_to_col.setdefault(i, i)
    _one_column_per_item(data, item_ids, colmap, item_to_col, col)
    for c in id_cols:
        if c not in data.columns:
            col.add(
                "absent_column",
                c,
                None,
                n=0,
                expected="an id column of that name",
                hint=f"available columns: {list(map(str, data.columns))[:30]}",
            )
    for i in item_ids:
        c = item_to_col[i]
        if c not in data.columns:
            col.add(
                "absent_column",
                c,
                None,
                n=0,
                expected=f"a column for item {i!r}" + (f" (mapped from {c!r})" if c != i else ""),
                hint="Pass columns={'your_column': item_id} if it has another name",
            )
    return item_to_col


def _one_column_per_item(
    data: pd.DataFrame,
    item_ids: list[str],
    colmap: dict[str, str],
    item_to_col: dict[str, str],
    col: _Collector,
) -> None:
    """Stop when a partial column map makes two columns provide one item, or one column two.

    ``columns={"SC2": "SC1"}`` on a file with SC1 and SC2 would otherwise score column SC2 as
    both items and ignore column SC1 without a word.
    """
    fix = "Map each column to its own item (columns= in Python, --columns on the command line)"
    for i in dict.fromkeys(colmap.values()):
        given = [c for c, j in colmap.items() if j == i]
        if len(given) > 1:
            col.add(
                "ambiguous_column",
                given[0],
                None,
                given,
                n=0,
                expected=f"one column for item {i!r}; columns {given} are all mapped to it",
                hint=fix,
            )
    for i in item_ids:
        c = item_to_col[i]
        if c != i and i in data.columns and i not in colmap:
            col.add(
                "ambiguous_column",
                c,
                None,
                [c, i],
                n=0,
                expected=f"one column for item {i!r}; column {c!r} is mapped to it and "
                f"column {i!r} is named by it",
                hint=fix,
            )
    feeds: dict[str, list[str]] = {}
    for i in item_ids:
        feeds.setdefault(item_to_col[i], []).append(i)
    for c, its in feeds.items():
        if len(its) > 1 and c in data.columns:
            col.add(
                "ambiguous_column",
                c,
                None,
                its,
                n=0,
                expected=f"one item per column; column {c!r} would provide items {its}",
                hint=fix,
            )


def _exclusions(
    data: pd.DataFrame,
    out: pd.DataFrame,
    community: str | None,
    respondent: str | None,
    wave: str | None,
    waves: Sequence[Any] | None,
    item_ids: list[str],
    col: _Collector,
) -> tuple[np.ndarray, np.ndarray]:
    """Reason and detail per row ("" = usable); the first applicable reason wins."""
    n = len(data)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)

    def exclude(mask: np.ndarray, code: str, text: str) -> None:
        new = mask & (reason == "")
        reason[new] = code
        detail[new] = text

    if community is not None:
        labels = out[community].to_numpy(dtype=object)
        m = pd.isna(labels) | (labels == "")
        if m.any():
            col.add(
                "missing_community",
                community,
                m,
                [],
                expected="a community label on every row",
                fatal=True,
            )
            exclude(m, "missing_community", f"no label in column {community!r}")
    has_wave = wave is not None and wave in data.columns
    if respondent is not None:
        ids = out[respondent]
        m = ids.isna().to_numpy()
        if m.any():
            col.add(
                "missing_respondent", respondent, m, [], expected="a respondent id on every row"
            )
            exclude(m, "missing_respondent", f"no id in column {respondent!r}")
        # numbers repeat exactly when their text does (number_text is one-to-one on values)
        raw = data[respondent]
        first = raw if pd.api.types.is_numeric_dtype(raw.dtype) else ids
        key = pd.DataFrame({0: first.to_numpy(), 1: data[wave].to_numpy() if has_wave else 0})
        dup = key.duplicated(keep="first").to_numpy() & ~m
        if dup.any():
            col.add(
                "duplicate_respondent",
                respondent,
                dup,
                ids[dup].tolist(),
                expected="each respondent id once" + (" per wave" if has_wave else ""),
                hint="The first occurrence is kept",
            )
            exclude(dup, "duplicate_respondent", "repeats an earlier row's respondent id")
    if wave is not None and has_wave:
        w = data[wave]
        m = w.isna().to_numpy().copy()
        if waves is not None:
            m |= ~w.isin(list(waves)).to_numpy()
        if m.any():
            col.add(
                "unknown_wave",
                wave,
                m,
                w[m].tolist(),
                expected=f"one of {list(waves)}" if waves is not None else "a wave label",
            )
            exclude(m, "unknown_wave", f"wave label not in {list(waves) if waves else '(any)'}")
    answered = out[item_ids].notna().sum(axis=1).to_numpy()
    m = answered == 0
    if m.any():
        exclude(m, "no_items_answered", "none of the instrument's items was answered")
    return reason, detail


def _finish_raise(
    col: _Collector,
    inst: Instrument,
    source: str | None,
    first_row: int | None,
    n: int,
    *,
    excludable: bool = True,
) -> None:
    report = ValidationReport(
        source=source or "",
        first_row=first_row,
        instrument_id=inst.id,
        instrument_version=inst.version,
        n_rows_in=n,
        n_rows_usable=0,
        n_rows_excluded=n,
        problems=col.problems,
    )
    where = f" in {source!r}" if source else ""
    lines = [f"{len(col.problems)} problem(s){where} (instrument {inst.id} v{inst.version}):"]
    lines += [f"  {report.describe(p)}" for p in col.problems[:20]]
    if len(col.problems) > 20:
        lines.append(f"  ... and {len(col.problems) - 20} more (see the error's .report)")
    if excludable:
        lines.append("Pass errors='exclude' to set bad cells to missing and exclude unusable rows.")
    raise ResponseValidationError("\n".join(lines), report=report)

"""Row exclusion of :func:`~collective_efficacy.responses.validate`: reasons, the report, the error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import ResponseValidationError
from collective_efficacy.instrument import Instrument
from collective_efficacy.responses._checks import Collector as _Collector
from collective_efficacy.responses._checks import row_label as _label
from collective_efficacy.responses.validation_report import ExcludedRow, ValidationReport


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
    free = np.ones(n, dtype=bool)  # no reason yet (a bool mask, not a pass over the texts)

    def exclude(mask: np.ndarray, code: str, text: str) -> None:
        new = mask & free
        reason[new] = code
        detail[new] = text
        free[new] = False

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
        if has_wave:
            key = pd.DataFrame({0: first.array, 1: data[wave].array})
            repeated = key.duplicated(keep="first").to_numpy()
        else:  # one key column: one hashing pass (in the column's own dtype: no objects)
            repeated = pd.Series(first.array).duplicated(keep="first").to_numpy()
        dup = repeated & ~m
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
    m = np.ones(n, dtype=bool)  # no item answered: every item column missing
    for i in item_ids:
        m &= out[i].isna().to_numpy()
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


def _report(
    data: pd.DataFrame,
    inst: Instrument,
    item_ids: list[str],
    item_to_col: dict[str, str],
    col: _Collector,
    reason: np.ndarray,
    detail: np.ndarray,
    recoded: dict[str, dict[str, int]],
    ignored: list[str],
    *,
    relabelled: dict[str, str],
    source: str | None,
    first_row: int | None,
) -> ValidationReport:
    """The validation report: every input row usable or excluded with its reason."""
    n = len(data)
    excluded_mask = reason != ""
    excluded = [
        ExcludedRow(row=_label(r), reason=str(reason[k]), detail=str(detail[k]))
        for k, r in zip(np.flatnonzero(excluded_mask), data.index[excluded_mask])
    ]
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
    return report

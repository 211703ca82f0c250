"""Row exclusion of :func:`~collective_efficacy.responses.validate`: reasons, the report, the error."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import ResponseValidationError
from collective_efficacy.instrument import Instrument
from collective_efficacy.responses._cells import row_major
from collective_efficacy.responses._checks import CHUNK, IdColumn
from collective_efficacy.responses._checks import Collector as _Collector
from collective_efficacy.responses._checks import row_label as _label
from collective_efficacy.responses.validation_report import ExcludedRow, ValidationReport


class Reasons:
    """The reason each row is excluded ("" = usable); the first applicable reason wins.

    A small code per row (not two texts per row): ``code[k]`` indexes ``reasons`` and
    ``details``, 0 being usable.
    """

    def __init__(self, n: int) -> None:
        self.code = np.zeros(n, dtype=np.int8)
        self.reasons: list[str] = [""]
        self.details: list[str] = [""]

    def exclude(self, mask: np.ndarray, reason: str, detail: str) -> None:
        new = mask & (self.code == 0)
        if new.any():
            self.reasons.append(reason)
            self.details.append(detail)
            self.code[new] = len(self.reasons) - 1

    @property
    def excluded(self) -> np.ndarray:
        return self.code != 0

    def reason(self, k: int) -> str:
        return self.reasons[self.code[k]]

    def detail(self, k: int) -> str:
        return self.details[self.code[k]]


def repeats(codes: np.ndarray, wave: np.ndarray | None = None) -> np.ndarray:
    """Rows whose key repeats an earlier row's (``duplicated(keep="first")``).

    ``codes`` are factorize codes (first-appearance order, -1 missing), so that a row is a key's
    first row exactly when its code exceeds every earlier code; with ``wave`` (codes of a
    second key column) the pairs are coded first. Rows with code -1 after the first row count
    as repeats (the caller excludes them as missing ids).

    >>> repeats(np.array([0, 1, 0, 2, 1])).tolist()
    [False, False, True, False, True]
    """
    if wave is not None and codes.size:
        pair = codes.astype(np.int64) * (int(wave.max()) + 2) + (wave + 1)
        codes, _ = pd.factorize(pair)
    if codes.size == 0:
        return np.zeros(0, dtype=bool)
    earlier = np.maximum.accumulate(codes)
    first = np.empty(codes.size, dtype=bool)
    first[0] = True
    first[1:] = codes[1:] > earlier[:-1]
    return ~first


def _repeated_ids(ids: IdColumn, waves: pd.Series | None) -> np.ndarray:
    """Rows whose respondent id (and wave) repeats an earlier row's."""
    if ids.codes is None:  # text ids, their repeats found from their bytes (no wave column)
        assert ids.flags is not None and waves is None
        return ids.flags[1]
    # codes are equal exactly when the ids are (numbers: their values, as their text)
    waves_coded = pd.factorize(waves, use_na_sentinel=True)[0] if waves is not None else None
    return repeats(ids.codes, waves_coded)


def _exclusions(
    data: pd.DataFrame,
    out: dict[str, Any],
    community: str | None,
    respondent: str | None,
    wave: str | None,
    waves: Sequence[Any] | None,
    item_ids: list[str],
    col: _Collector,
) -> Reasons:
    """The reason per row ("" = usable); the first applicable reason wins."""
    reasons = Reasons(len(data))
    if community is not None:
        m = out[community].missing(empty_text=True)
        if m.any():
            col.add(
                "missing_community",
                community,
                m,
                [],
                expected="a community label on every row",
                fatal=True,
            )
            reasons.exclude(m, "missing_community", f"no label in column {community!r}")
    has_wave = wave is not None and wave in data.columns
    if respondent is not None:
        ids: IdColumn = out[respondent]
        m = ids.missing(empty_text=False)
        if m.any():
            col.add(
                "missing_respondent", respondent, m, [], expected="a respondent id on every row"
            )
            reasons.exclude(m, "missing_respondent", f"no id in column {respondent!r}")
        dup = _repeated_ids(ids, data[wave] if has_wave else None) & ~m
        if dup.any():
            col.add(
                "duplicate_respondent",
                respondent,
                dup,
                list(ids.text(np.flatnonzero(dup)[:50])),
                n=int(dup.sum()),
                expected="each respondent id once" + (" per wave" if has_wave else ""),
                hint="The first occurrence is kept",
            )
            reasons.exclude(dup, "duplicate_respondent", "repeats an earlier row's respondent id")
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
            reasons.exclude(
                m, "unknown_wave", f"wave label not in {list(waves) if waves else '(any)'}"
            )
    m = _unanswered([out[i] for i in item_ids], len(data))
    if m.any():
        reasons.exclude(m, "no_items_answered", "none of the instrument's items was answered")
    return reasons


def _header(inst: Instrument, source: str | None, first_row: int | None, n: int) -> dict[str, Any]:
    """The fields every validation report starts with: the data, the instrument, the rows."""
    return {
        "source": source or "",
        "first_row": first_row,
        "instrument_id": inst.id,
        "instrument_version": inst.version,
        "n_rows_in": n,
    }


def _finish_raise(
    col: _Collector,
    inst: Instrument,
    source: str | None,
    first_row: int | None,
    n: int,
    *,
    excludable: bool = True,
) -> None:
    head = _header(inst, source, first_row, n)
    report = ValidationReport(**head, n_rows_usable=0, n_rows_excluded=n, problems=col.problems)
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
    reasons: Reasons,
    recoded: dict[str, dict[str, int]],
    ignored: list[str],
    *,
    relabelled: dict[str, str],
    source: str | None,
    first_row: int | None,
) -> ValidationReport:
    """The validation report: every input row usable or excluded with its reason."""
    excluded_mask = reasons.excluded
    rows = np.flatnonzero(excluded_mask)
    excluded = [
        ExcludedRow(row=_label(r), reason=reasons.reason(int(k)), detail=reasons.detail(int(k)))
        for k, r in zip(rows, data.index[rows])
    ]
    return ValidationReport(
        **_header(inst, source, first_row, len(data)),
        n_rows_usable=len(data) - len(rows),
        n_rows_excluded=len(rows),
        excluded=excluded,
        problems=col.problems,
        recoded_missing=recoded,
        column_map={str(item_to_col[i]): i for i in item_ids},
        ignored_columns=ignored,
        normalised_labels=relabelled,
        notes=[str(t) for t in data.attrs.get("reading_notes", [])],
        note_messages=list(data.attrs.get("reading_messages", [])),
    )


def _unanswered(columns: list[np.ndarray], n: int) -> np.ndarray:
    """Rows where every item column is missing (NaN), in row chunks of all items: the columns
    of a row-major block (strided views) are read once, a chunk of the block's rows at a time
    (one contiguous NaN test, then its columns of items)."""
    m = np.ones(n, dtype=bool)
    groups = row_major(columns)
    for lo in range(0, n, CHUNK):
        part = m[lo : lo + CHUNK]
        for block, _, cols in groups:
            nan = np.isnan(block[lo : lo + CHUNK])
            if nan.ndim == 1:
                part &= nan
            elif len(set(cols)) == nan.shape[1]:  # every column of the view is an item
                part &= nan.all(axis=1)
            else:
                part &= nan[:, cols].all(axis=1)
    return m

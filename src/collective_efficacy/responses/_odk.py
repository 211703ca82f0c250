"""Recognise exports of ODK Central and KoboToolbox (forms made by ``export.to_xlsform``).

Two small hooks, kept out of the parsers: :func:`recognise_export` (called by
``read_responses`` on the frame it read) and :func:`form_columns` (called by ``validate`` when no
column map is given).

- KoboToolbox writes group members as ``items/SC1`` and adds ``_id``, ``_uuid``,
  ``_submission_time``, ``_index``, ``_validation_status`` ...; with "labels" as headers the
  column is the question's label.
- ODK Central writes ``items-SC1`` and adds ``SubmissionDate``, ``meta-instanceID``, ``KEY``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from collective_efficacy.instrument import Instrument, normalize_label

__all__ = ["DATE_COLUMN", "form_columns", "form_date_column", "recognise_export"]

_KOBO = {"_uuid", "_submission_time", "_id", "_index", "_validation_status"}
_ODK = {"SubmissionDate", "meta-instanceID", "meta/instanceID", "KEY", "instanceID"}
_SUBMITTED = ("_submission_time", "SubmissionDate")
#: The column that receives the submission date.
DATE_COLUMN = "date"


def export_tool(columns: Iterable[Any]) -> str | None:
    """``"kobotoolbox"``, ``"odk"`` or None, from the metadata columns of an export."""
    names = {str(c) for c in columns}
    if len(names & _KOBO) >= 2:
        return "kobotoolbox"
    if len(names & _ODK) >= 2:
        return "odk"
    return None


def recognise_export(df: pd.DataFrame) -> pd.DataFrame:
    """Mark a form-tool export and add its submission date as a ``date`` column.

    ``df`` is the reader's own new frame (never the caller's). The date is ISO text
    (``2025-03-01``), in the time zone the tool wrote; cells that are not a time stay missing.
    Adds ``df.attrs["form_export"]`` and ``df.attrs["form_notes"]`` (a reading note).
    """
    tool = export_tool(df.columns)
    if tool is None:
        return df
    df.attrs["form_export"] = tool
    notes: list[str] = []
    submitted = next((c for c in _SUBMITTED if c in df.columns), None)
    if submitted is not None and DATE_COLUMN not in df.columns:
        when = pd.to_datetime(
            df[submitted].astype("string"), errors="coerce", utc=True, format="ISO8601"
        )
        df[DATE_COLUMN] = when.dt.strftime("%Y-%m-%d").astype(object).where(when.notna(), None)
        notes.append(
            f"a {tool} export: the submission time {submitted!r} is the date column "
            f"{DATE_COLUMN!r}; group prefixes in column names are recognised by validate"
        )
    else:
        notes.append(f"a {tool} export: group prefixes in column names are recognised by validate")
    df.attrs["form_notes"] = notes  # read_responses adds them to its reading notes
    return df


def form_date_column(df: pd.DataFrame) -> str | None:
    """``"date"`` when ``df`` is a form-tool export read by ``read_responses`` (its submission
    dates in that column), else None."""
    if df.attrs.get("form_export") and DATE_COLUMN in df.columns:
        return DATE_COLUMN
    return None


def form_columns(
    columns: Iterable[Any], inst: Instrument, item_ids: Sequence[str]
) -> dict[str, str]:
    """Column -> item id for items that have no column of their own name.

    A column matches an item when its last group segment (after ``/`` or ``-``) is the item id
    (``items/SC1``, ``items-SC1``, ``grp/sub/SC1``), or when its normalised text is the item's
    text in a language of the instrument (a KoboToolbox export with labels as headers). Only an
    item matched by exactly one column, and a column matching one item, is mapped; anything
    else is left to ``validate``'s own messages.
    """
    names = [str(c) for c in columns]
    present = set(names)
    by_text: dict[str, str] = {}
    for i in item_ids:
        for t in inst.item(i).text.values():
            by_text.setdefault(normalize_label(t), i)
    found: dict[str, list[str]] = {}
    for c in names:  # columns of a form (tens), not rows or communities
        last = c.replace("-", "/").rsplit("/", 1)[-1] if ("/" in c or "-" in c) else None
        hit: str | None = last if last in item_ids else by_text.get(normalize_label(c))
        if hit is not None and hit not in present:
            found.setdefault(hit, []).append(c)
    return {cols[0]: i for i, cols in found.items() if len(cols) == 1}

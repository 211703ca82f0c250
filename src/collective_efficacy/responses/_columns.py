"""Column mapping of :func:`~collective_efficacy.responses.validate`: which column holds which item."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from collective_efficacy.instrument import Instrument
from collective_efficacy.responses._checks import Collector as _Collector
from collective_efficacy.responses._checks import column_name


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

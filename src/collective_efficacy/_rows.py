"""How messages name rows: spreadsheet rows for a file's records, index labels otherwise.

Row labels stay the caller's index labels everywhere in the machine-readable results
(``Problem.rows``, ``ExcludedRow.row``); only text for a reader is converted, here, at the
boundary. A frame as :func:`~collective_efficacy.responses.io.read_responses` returned it (``attrs["source"]``
set, index ``0 .. n-1``) holds a file's records in order: its header is spreadsheet row 1, so the
record at position ``i`` is row ``i + 2``. Records are counted, not text lines: a CSV byte-order
mark is not a row, a quoted cell spanning several lines is one row, and blank lines (which the
reader skips) are not counted. Any other frame (one passed in directly, or filtered or re-indexed
after reading) is named by its index labels, said as such, since a caller's index may mean
something (a respondent number, a row of another file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FIRST_DATA_ROW",
    "describe_rows",
    "file_row_offset",
    "rows_in",
    "spreadsheet_rows",
]

#: The spreadsheet row of a file's first record: the header is row 1.
FIRST_DATA_ROW = 2

_SHOWN = 5


def file_row_offset(frame: pd.DataFrame) -> int | None:
    """``FIRST_DATA_ROW`` when ``frame`` holds a file's records as read, else None.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, 2]})
    >>> file_row_offset(df) is None
    True
    >>> df.attrs["source"] = "buurt.csv"
    >>> file_row_offset(df), file_row_offset(df.iloc[[1]])
    (2, None)
    """
    source = frame.attrs.get("source")
    if isinstance(source, str) and source and frame.index.equals(pd.RangeIndex(len(frame))):
        return FIRST_DATA_ROW
    return None


def spreadsheet_rows(labels: Sequence[Any], offset: int) -> list[int]:
    """The spreadsheet rows of a file frame's index labels (0-based positions + ``offset``)."""
    return [int(r) + offset for r in labels]


def _join(items: list[str], more: int) -> str:
    if more > 0:
        return f"{', '.join(items)} and {more} more"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def describe_rows(
    labels: Sequence[Any], *, offset: int | None, source: str = "", n: int | None = None
) -> str:
    """Rows for a reader: ``"rows 2, 5 and 9 of buurt.csv"`` or ``"index labels 0 and 3"``.

    Parameters
    ----------
    labels : sequence
        Index labels of the rows (the first few are shown).
    offset : int or None
        :func:`file_row_offset` of the frame the labels come from: an int names spreadsheet
        rows (label + offset); None names the index labels.
    source : str, default=""
        The file's name, said after spreadsheet rows.
    n : int, optional
        How many rows there are in all (default ``len(labels)``).

    Examples
    --------
    >>> describe_rows([0, 3, 7], offset=2, source="buurt.csv")
    'rows 2, 5 and 9 of buurt.csv'
    >>> describe_rows([4], offset=2)
    'row 6 of the file'
    >>> describe_rows([0, 3], offset=None)
    'index labels 0 and 3'
    >>> describe_rows(["r1", "r2", "r3", "r4", "r5", "r6"], offset=None, n=9)
    "index labels 'r1', 'r2', 'r3', 'r4', 'r5' and 4 more"
    """
    total = len(labels) if n is None else max(n, len(labels))
    many = total > 1
    shown = list(labels[:_SHOWN])
    if offset is not None:
        text = [str(r) for r in spreadsheet_rows(shown, offset)]
        where = f" of {source}" if source else " of the file"
        return f"row{'s' if many else ''} {_join(text, total - len(shown))}{where}"
    text = [str(int(r)) if isinstance(r, (int, np.integer)) else repr(r) for r in shown]
    return f"index label{'s' if many else ''} {_join(text, total - len(shown))}"


def rows_in(frame: pd.DataFrame, where: Any) -> str:
    """:func:`describe_rows` of ``frame``'s rows picked by a boolean mask or by positions.

    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": [1, None, None]})
    >>> rows_in(df, df["a"].isna().to_numpy())
    'index labels 1 and 2'
    >>> df.attrs["source"] = "buurt.csv"
    >>> rows_in(df, [1])
    'row 3 of buurt.csv'
    """
    picked = np.asarray(where)
    pos = np.flatnonzero(picked) if picked.dtype == bool else picked.astype(np.intp).ravel()
    offset = file_row_offset(frame)
    source = str(frame.attrs["source"]) if offset is not None else ""
    labels = list(frame.index[pos[:_SHOWN]])
    return describe_rows(labels, offset=offset, source=source, n=len(pos))

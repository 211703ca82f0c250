"""Tables for spreadsheets: CSV (English or Dutch Excel) and XLSX, safe to open.

Every table written here is *Excel-friendly*: counts stay integers (``65``, not ``65.0``),
other numbers are rounded to ``decimals`` places (full precision stays in ``results.json``),
list and dict cells become readable text, and every text cell that a spreadsheet would run as a
formula (``= + - @``, tab, CR) is neutralised with a leading apostrophe, following the OWASP
advice on CSV injection. Numbers are never touched: ``-0.25`` stays a number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from numbers import Integral
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy._params import FRAME, MAPPING, PATH, Interval, Options, public
from collective_efficacy.errors import DataError, require_extra
from collective_efficacy.export._escape import neutralise_frame

__all__ = ["CSV_DIALECTS", "excel_friendly", "write_csv", "write_xlsx"]

#: CSV dialects: field separator, decimal mark and encoding. ``"nl"`` is what a Dutch Excel
#: reads by double-click (``;`` and a decimal comma; a byte-order mark so that é/ë survive).
CSV_DIALECTS: dict[str, dict[str, str]] = {
    "en": {"sep": ",", "decimal": ".", "encoding": "utf-8"},
    "nl": {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"},
}


def _text(value: Any) -> Any:
    """A list, tuple, set or dict cell as readable text; other cells unchanged."""
    if isinstance(value, (list, tuple, set)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def excel_friendly(table: pd.DataFrame, *, decimals: int = 4) -> pd.DataFrame:
    """A copy of ``table`` ready for a spreadsheet (the caller's frame is not modified).

    Float columns whose values are all whole numbers (counts such as ``n``, with missing
    values for suppressed rows) become nullable integers; other float columns are rounded to
    ``decimals`` places; list/dict cells become text; text cells are neutralised (see
    :func:`~collective_efficacy.export._escape.neutralise_cell`).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"community": ["=1+1", "B"], "n": [65.0, float("nan")],
    ...                   "mean": [3.123456, -0.5]})
    >>> excel_friendly(t)
      community     n    mean
    0     '=1+1    65  3.1235
    1         B  <NA> -0.5000
    """
    if not isinstance(decimals, (int, np.integer)) or isinstance(decimals, bool) or decimals < 0:
        raise DataError(f"decimals must be a non-negative integer; got {decimals!r}")
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_float_dtype(s):
            finite = s.dropna()
            whole = len(finite) > 0 and bool(np.all(np.isfinite(finite) & (finite % 1 == 0)))
            out[col] = s.astype("Int64") if whole else s.round(int(decimals))
        elif s.dtype == object:
            out[col] = s.map(_text)
    return neutralise_frame(out)


@public(
    constraints={
        "table": [FRAME],
        "path": [PATH],
        "dialect": [Options(("en", "nl"))],
        "decimals": [Interval(Integral, 0, None)],
    }
)
def write_csv(
    table: pd.DataFrame,
    path: str | Path,
    *,
    dialect: Literal["en", "nl"] = "en",
    decimals: int = 4,
) -> Path:
    """Write ``table`` as an Excel-friendly CSV (see :func:`excel_friendly`).

    Parameters
    ----------
    table : DataFrame
    path : str or Path
    dialect : {"en", "nl"}, default="en"
        ``"en"``: ``,`` separated, decimal point, UTF-8. ``"nl"``: ``;`` separated, decimal
        comma, UTF-8 with a byte-order mark, as a Dutch Excel expects.
    decimals : int, default=4

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> t = pd.DataFrame({"community": ["A"], "n": [12.0], "mean": [3.14159]})
    >>> p = write_csv(t, pathlib.Path(tempfile.mkdtemp()) / "c.csv", dialect="nl")
    >>> p.read_text(encoding="utf-8-sig")
    'community;n;mean\\nA;12;3,1416\\n'
    """
    if dialect not in CSV_DIALECTS:
        raise DataError(f"dialect must be one of {list(CSV_DIALECTS)}; got {dialect!r}")
    d = CSV_DIALECTS[dialect]
    path = Path(path)
    excel_friendly(table, decimals=decimals).to_csv(
        path,
        index=False,
        sep=d["sep"],
        decimal=d["decimal"],
        encoding=d["encoding"],
        # CRLF as RFC 4180: the csv writer quotes every cell holding a character of the line
        # terminator, so a CR inside a name cannot start a new row (and a formula) in Excel
        lineterminator="\r\n",
    )
    return path


# control characters XLSX cannot store (openpyxl.cell.cell.ILLEGAL_CHARACTERS_RE)
_XLSX_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_names(names: list[str]) -> list[str]:
    """Excel sheet names: at most 31 characters, none of ``[]:*?/\\``, unique."""
    out: list[str] = []
    for name in names:
        base = _SHEET_BAD.sub("_", str(name))[:31] or "sheet"
        cand, k = base, 2
        while cand.lower() in {o.lower() for o in out}:
            cand = f"{base[: 31 - len(str(k)) - 1]}_{k}"
            k += 1
        out.append(cand)
    return out


@public(
    constraints={"tables": [MAPPING], "path": [PATH], "decimals": [Interval(Integral, 0, None)]}
)
def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | Path, *, decimals: int = 4) -> Path:
    """Write one sheet per table to an XLSX workbook (needs ``openpyxl``: the ``excel`` extra).

    Cells are prepared as for CSV (:func:`excel_friendly`: integers, rounding, neutralised
    text); characters that XLSX cannot hold (control characters) become ``U+FFFD``.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.xlsx"
    >>> _ = write_xlsx({"communities": pd.DataFrame({"community": ["@SUM(1)"], "n": [3.0]})}, p)
    >>> print(pd.read_excel(p, sheet_name="communities").to_string(index=False))
    community  n
     '@SUM(1)  3
    """
    require_extra("openpyxl", "excel")

    def clean(v: Any) -> Any:
        return _XLSX_ILLEGAL.sub("\ufffd", v) if isinstance(v, str) else v

    path = Path(path)
    names = _sheet_names(list(tables))
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for sheet, table in zip(names, tables.values()):
            t = excel_friendly(table, decimals=decimals)
            t.columns = [clean(c) for c in t.columns]
            for col in t.columns:
                if not pd.api.types.is_numeric_dtype(t[col]):
                    t[col] = t[col].map(clean, na_action="ignore")
            t.to_excel(xl, sheet_name=sheet, index=False)
    return path

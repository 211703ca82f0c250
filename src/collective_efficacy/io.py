"""Reading survey files: CSV, Excel, SPSS, Stata and Parquet.

Readers for the optional formats need extras; a missing extra raises
:class:`~collective_efficacy.errors.MissingExtraError` naming the ``pip install`` that fixes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataError, require_extra

__all__ = ["read_responses"]


def read_responses(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """Read a survey file into a DataFrame, keeping SPSS/Stata value labels.

    Parameters
    ----------
    path : str or Path
        ``.csv`` / ``.txt`` (separator sniffed: comma or semicolon), ``.xlsx``/``.xls``
        (extra ``[excel]``), ``.sav``/``.zsav``/``.por`` and ``.dta`` (extra ``[spss]``),
        ``.parquet`` (extra ``[parquet]``).
    **kwargs
        Passed to the underlying reader.

    Returns
    -------
    DataFrame
        Columns as in the file; for SPSS and Stata the numeric codes, with the value labels in
        ``df.attrs["value_labels"]`` (column -> {code: label}) so that :func:`validate` accepts
        both codes and labels.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise DataError(f"file {str(path)!r} is empty; expected a header row and responses")
    if suffix in {".csv", ".txt"}:
        opts: dict[str, Any] = {"sep": None, "engine": "python", "encoding": "utf-8-sig"}
        opts.update(kwargs)
        try:
            df = pd.read_csv(path, **opts)
        except pd.errors.EmptyDataError:
            raise DataError(
                f"file {str(path)!r} is empty; expected a header row and responses"
            ) from None
    elif suffix in {".xlsx", ".xlsm", ".xls"}:
        require_extra("openpyxl", "excel")
        df = pd.read_excel(path, **kwargs)
    elif suffix in {".sav", ".zsav", ".por", ".dta"}:
        pyreadstat: Any = require_extra("pyreadstat", "spss")
        reader = {
            ".sav": pyreadstat.read_sav,
            ".zsav": pyreadstat.read_sav,
            ".por": pyreadstat.read_por,
            ".dta": pyreadstat.read_dta,
        }[suffix]
        df, meta = reader(str(path), **kwargs)
        df.attrs["value_labels"] = {
            col: dict(meta.value_labels.get(name, {}))
            for col, name in meta.variable_to_label.items()
        }
        df.attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels))
    elif suffix == ".parquet":
        require_extra("pyarrow", "parquet")
        df = pd.read_parquet(path, **kwargs)
    else:
        raise DataError(
            f"file {str(path)!r}: unsupported format {suffix!r}; expected .csv, .xlsx, .sav, "
            ".dta or .parquet"
        )
    if df.shape[1] == 0:
        raise DataError(f"file {str(path)!r} has no columns")
    df.attrs["source"] = path.name
    return df

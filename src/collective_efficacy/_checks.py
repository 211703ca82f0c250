"""Input validation in one place, for every statistics function.

Statistics functions call these helpers at their public boundary; the helpers never modify the
caller's data and raise :class:`~collective_efficacy.errors.DataError` with messages that name
the column, the row labels and the offending values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.prepared import memo

__all__ = [
    "check_choice",
    "check_ci",
    "check_columns",
    "numeric_matrix",
    "resolve_items",
]


def check_choice(name: str, value: Any, allowed: Sequence[Any], *, func: str = "") -> None:
    """Raise a DataError if ``value`` is not one of ``allowed``."""
    if value not in allowed:
        where = f" of {func}" if func else ""
        raise DataError(
            f"The {name!r} parameter{where} must be one of {list(allowed)}. Got {value!r} instead.",
            argument=name,
        )


def check_ci(ci: float) -> float:
    """Validate a confidence level in (0, 1)."""
    if not isinstance(ci, (int, float)) or not 0.0 < float(ci) < 1.0:
        raise DataError(
            f"ci must be a confidence level between 0 and 1 (e.g. 0.95); got {ci!r}", argument="ci"
        )
    return float(ci)


def check_columns(data: pd.DataFrame, columns: Sequence[str], *, what: str = "column") -> None:
    """Raise if any of ``columns`` is absent from ``data``, or names more than one column."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(
            f"{what}(s) {missing} not found in data; available columns: "
            f"{list(map(str, data.columns))}"
        )
    if not data.columns.is_unique:  # data[c] would be a frame: say so, not a pandas error
        dup = set(data.columns[data.columns.duplicated()])
        twice = [c for c in dict.fromkeys(columns) if c in dup]
        if twice:
            raise DataError(
                f"{what}(s) {twice} name more than one column of data; rename the columns so "
                "that each name occurs once"
            )


def resolve_items(data: pd.DataFrame, items: Sequence[str] | str | None) -> list[str]:
    """Item column names: the given ones, or every column of ``data``."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    if items is None:
        return [str(c) for c in data.columns]
    if isinstance(items, str):
        items = [items]
    items = list(items)
    if len(set(items)) != len(items):
        raise DataError(f"items {items} contain duplicates")
    check_columns(data, items, what="item column")
    return items


def numeric_matrix(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Float64 copy of ``data[columns]``; non-numeric cells raise with their rows and values.

    Missing values (None, NaN, pd.NA) become NaN. Booleans are refused (they are rarely items).
    On a prepared table (:mod:`.prepared`) the matrix is built once and returned read-only.
    """
    cols = list(columns)
    return memo(data, ("numeric_matrix", *cols), lambda: _numeric_matrix(data, cols))


#: up to this many rows, plain numpy columns are copied one by one: ``data[columns]`` costs
#: about 0.4 ms on pandas 3 whatever the size (it takes the Arrow-backed column labels), more
#: than the strided writes of a small table; above it the block copy is faster (at 1M rows x
#: 10 items 20 ms against 70 ms)
_SMALL_ROWS = 2_000


def _numeric_matrix(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    series = [data[c] for c in columns] if len(set(columns)) == len(columns) else []
    if series and all(isinstance(s.dtype, np.dtype) and s.dtype.kind in "iuf" for s in series):
        if len(data) <= _SMALL_ROWS:
            out = np.empty((len(data), len(series)), dtype=np.float64)
            for j, s in enumerate(series):
                out[:, j] = s.to_numpy()
        else:  # one block copy in row-major order (not a strided write per column)
            out = data[list(columns)].to_numpy(dtype=np.float64).copy(order="C")
        _refuse_inf(data, columns, out)
        return out
    out = np.empty((len(data), len(columns)), dtype=np.float64)
    for j, col in enumerate(columns):
        s = data[col]
        if pd.api.types.is_bool_dtype(s):
            raise DataError(f"column {col!r} is boolean; expected numeric item codes")
        if pd.api.types.is_numeric_dtype(s):
            out[:, j] = s.to_numpy(dtype=np.float64, na_value=np.nan)
            continue
        conv = pd.to_numeric(s, errors="coerce")
        bad = conv.isna().to_numpy() & s.notna().to_numpy()
        if bad.any():
            vals = list(s[bad].iloc[:5])
            raise DataError(
                f"column {col!r} has {int(bad.sum())} non-numeric value(s), e.g. at "
                f"{rows_in(data, bad)}: {vals}; expected numbers (or missing). Use ce.validate() with an instrument "
                "to turn answer labels into codes."
            )
        out[:, j] = conv.to_numpy(dtype=np.float64, na_value=np.nan)
    _refuse_inf(data, columns, out)
    return out


def _refuse_inf(data: pd.DataFrame, columns: Sequence[str], out: np.ndarray) -> None:
    """Raise naming the first infinite cell of ``out`` (the matrix of ``data[columns]``)."""
    if out.size and (
        np.isinf(np.fmin.reduce(out, axis=None)) or np.isinf(np.fmax.reduce(out, axis=None))
    ):
        r, c = np.argwhere(np.isinf(out))[0]
        raise DataError(
            f"column {columns[c]!r}, {rows_in(data, [r])}: value {out[r, c]}; expected a finite "
            "number"
        )

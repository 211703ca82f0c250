"""Tables as JSON-ready records (private): the rows of an evaluation's sections.

Each cell becomes a plain Python value (NaN/NA -> None, numpy scalars -> Python), converted
column by column where the dtype allows; a row is a dict built by a function generated for its
keys (a dict display sized at once).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["records"]


def _clean(v: Any) -> Any:
    kind = type(v)  # the Python values of a small table first: one type test each
    if kind is float:
        return None if v != v else v
    if kind is str or kind is int or kind is bool:
        return v
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v if isinstance(v, (str, int, bool)) else str(v)


def _column(s: pd.Series) -> list[Any]:
    """One column as JSON-ready Python values (whole-column conversions where the dtype allows)."""
    dt = s.dtype
    if isinstance(dt, np.dtype) and dt.kind in "iub":
        return list(s.to_numpy().tolist())
    if isinstance(dt, np.dtype) and dt.kind == "f":
        a = s.to_numpy()
        vals: list[Any] = a.tolist()
        missing = np.isnan(a)
    elif isinstance(dt, pd.StringDtype):  # pd.NA or NaN, depending on the dtype's na_value
        return _shared_text(s)
    elif pd.api.types.is_bool_dtype(dt) or pd.api.types.is_integer_dtype(dt):  # boolean, Int64
        missing = s.isna().to_numpy()
        target: Any = bool if pd.api.types.is_bool_dtype(dt) else np.int64
        vals = s.to_numpy(dtype=target, na_value=target(0)).tolist()
    else:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("string", "empty"):  # text, or nothing
            obj = s.to_numpy(dtype=object, copy=True)
            obj[pd.isna(obj)] = None
            return list(obj.tolist())
        if kind in ("integer", "boolean"):  # counts with None for hidden ones: as Int64
            try:
                return _column(s.astype("Int64" if kind == "integer" else "boolean"))
            except (OverflowError, TypeError, ValueError):  # beyond int64: one by one
                pass
        return [_clean(v) for v in s.tolist()]
    for i in np.flatnonzero(missing).tolist():
        vals[i] = None
    return vals


def _shared_text(s: pd.Series) -> list[Any]:
    """A text column as Python ``str`` (None where missing), one object per distinct text:
    a wave, method or reason repeated on every row is held once, not once per row."""
    codes, uniques = pd.factorize(s)  # -1: missing
    texts = np.empty(len(uniques) + 1, dtype=object)
    texts[:-1] = uniques.to_numpy(dtype=object)
    texts[-1] = None
    return list(texts[codes].tolist())


#: up to this many rows a table is converted cell by cell: the same values as column by column
#: (:func:`_clean` is :func:`_column` for one value), without a Series per column
_FEW_ROWS = 100


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: NaN/NA -> None, numpy scalars -> Python (converted column-wise)."""
    keys = [str(k) for k in df.columns]
    if 0 < len(df) <= _FEW_ROWS and len(keys):  # a summary row per wave: cell by cell
        return [dict(zip(keys, map(_clean, row))) for row in df.to_numpy(dtype=object).tolist()]
    return _by_column(df, keys)


def _by_column(df: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    """:func:`records` column by column (whole-column conversions)."""
    cols = [_column(s) for _, s in df.items()]  # by position (also duplicate names)
    if not cols:
        return [{} for _ in range(len(df))]
    return list(map(_row_maker(tuple(keys)), *cols))  # one dict per row, no tuple per row


@functools.lru_cache(maxsize=64)
def _row_maker(keys: tuple[str, ...]) -> Callable[..., dict[str, Any]]:
    """A function of one value per key returning the row as a dict: a dict display with the
    keys as constants (a dict sized for them at once, as ``namedtuple`` and ``dataclasses``
    generate code), a fifth faster than filling a copy of ``dict.fromkeys(keys)``. A key
    repeated keeps its first place and its last value, as ``dict.update`` would."""
    args = ", ".join(f"_{i}" for i in range(len(keys)))
    # str's own repr: a plain literal of any text, also for a str subclass with its own __repr__
    body = ", ".join(f"{str.__repr__(k)}: _{i}" for i, k in enumerate(keys))
    maker: Callable[..., dict[str, Any]] = eval(f"lambda {args}: {{{body}}}")
    return maker

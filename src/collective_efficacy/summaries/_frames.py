"""The one conversion layer between dataframe engines and the library (private).

Every public function takes ``data`` through :data:`collective_efficacy._params.FRAME`, which
accepts a pandas DataFrame or any frame `narwhals <https://narwhals-dev.github.io/narwhals/>`_
recognises -- polars (eager and lazy), pyarrow tables, DuckDB relations, Dask dataframes, modin,
cuDF, PySpark -- and hands the function body a pandas DataFrame. narwhals is the ecosystem's
choice for this (scikit-learn, pyreadstat, plotly, altair and marimo use it): it has no
dependencies of its own and imports an engine only when given one of its frames, so a pandas
user pays nothing. Sum-reducible statistics do better than converting: they build per-community
sums inside the engine (:func:`collective_efficacy.summarise`) and collect only that small table.
"""

from __future__ import annotations

import warnings
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError

if TYPE_CHECKING:
    import narwhals as nw

__all__ = ["engine_frame", "engine_name", "float_block", "is_frame", "to_pandas"]

#: narwhals announces that its Dask backend moves to a plug-in; the behaviour is unchanged
_DASK_NOTICE = "Dask support is moving"


#: What narwhals reads frames by (besides their types): an object with none of these is no frame
_PROTOCOLS = (
    "__narwhals_dataframe__",
    "__narwhals_lazyframe__",
    "__narwhals_series__",
    "__dataframe__",
    "__arrow_c_stream__",
)


def _never_a_frame(data: Any) -> bool:
    """None, a text or path, or an object of this package's own classes that offers no frame
    protocol.

    narwhals passes these through unchanged (``from_native(..., pass_through=True)``): no need to
    import it -- the evaluate path asks about such arguments (``assessments=None`` or a file,
    validated responses) and never about a foreign frame, so it runs without narwhals' import
    (40 ms of the command line's CPU).
    """
    if data is None or isinstance(data, (str, bytes, PurePath)):
        return True
    cls = type(data)
    own = cls.__module__.partition(".")[0] == "collective_efficacy"
    return own and not any(hasattr(cls, name) for name in _PROTOCOLS)


def engine_frame(data: Any) -> nw.DataFrame[Any] | nw.LazyFrame[Any] | None:
    """``data`` as a narwhals frame, or None when narwhals does not know it."""
    if _never_a_frame(data):
        return None
    import narwhals as nw

    if isinstance(data, (nw.DataFrame, nw.LazyFrame)):
        return data
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DASK_NOTICE, category=FutureWarning)
        try:
            out = nw.from_native(data, pass_through=True)
        except Exception:
            return None
    return out if isinstance(out, (nw.DataFrame, nw.LazyFrame)) else None


def is_frame(data: Any) -> bool:
    """True for a pandas DataFrame and for every frame narwhals recognises."""
    return isinstance(data, pd.DataFrame) or engine_frame(data) is not None


def engine_name(data: Any) -> str:
    """The engine of a frame, for messages (``"polars"``, ``"duckdb"`` ...)."""
    frame = engine_frame(data)
    return "pandas" if frame is None else str(frame.implementation).lower().split(".")[-1]


def to_pandas(data: Any) -> pd.DataFrame:
    """``data`` as a pandas DataFrame (a pandas frame is returned as it is, not copied).

    Lazy frames (polars LazyFrame, DuckDB, Dask) are collected: the whole table comes into
    memory. Statistics that reduce to per-community sums avoid this (see the module docstring).
    """
    if isinstance(data, pd.DataFrame):
        return data
    frame = engine_frame(data)
    if frame is None:
        raise DataError(f"data must be a DataFrame; got {type(data).__name__}", argument="data")
    import narwhals as nw

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DASK_NOTICE, category=FutureWarning)
        if isinstance(frame, nw.LazyFrame):
            return _plain_strings(frame.collect(backend="pandas").to_pandas())
        return _plain_strings(frame.to_pandas())


def _plain_strings(df: pd.DataFrame) -> pd.DataFrame:
    """Text columns in pandas' default string dtype, as ``pd.DataFrame`` would make them.

    Dask hands over ``string`` columns (missing = ``pd.NA``): a comparison on them gives a
    nullable boolean that cannot mask, and the results' dtypes would differ from pandas input.
    """
    default = pd.Series(["x"]).dtype
    nullable = [
        c
        for c, t in df.dtypes.items()
        if isinstance(t, pd.StringDtype) and getattr(t, "na_value", pd.NA) is pd.NA and t != default
    ]
    if not nullable:
        return df
    out = df.copy(deep=False)
    for c in nullable:
        col = out[c]
        out[c] = col.astype(object).where(col.notna(), None).astype(default)
    return out


def float_block(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``table[columns]`` as one float64 block of its own (a copy).

    Columns that are all numpy float64 (every summary's own table) are copied in one step;
    others are converted one by one, as ``Series.to_numpy(dtype=float64)`` converts them.
    """
    part = table[columns]
    if all(d == np.float64 for d in part.dtypes):
        values = part.to_numpy(dtype=np.float64, copy=True)
    else:
        values = np.column_stack([part[c].to_numpy(dtype=np.float64) for c in columns])
    return pd.DataFrame(values, columns=columns, copy=False)

"""The per-cell sums of :func:`~collective_efficacy.summaries._engine.cell_sums` for pandas input,
in numpy (private).

The same row terms as the narwhals query (keyed items with NaN as missing, answered indicators,
the scale score, the pair, detail and ecometric products), built as one float matrix and summed
by one pandas ``groupby(...).sum()`` -- the aggregation the narwhals query runs on pandas too, so
the sums are those of the engine path (tests/test_summaries_fast_path.py: to 1e-12 against the
polars engine on generated data). A pandas frame skips narwhals' per-expression overhead, which
for a few hundred rows costs far more than the arithmetic.

A Dask frame runs the same numpy sums on each of its partitions (:func:`partition_cell_sums`),
and the partitions' tables are added up by cell -- the chunk-then-combine sum Dask's own
``groupby().sum()`` runs, without building and optimising a graph of hundreds of column
expressions (which cost seconds per call even on a few thousand rows).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["pandas_cell_sums", "partition_bounds", "partition_cell_sums"]

Pairs = Sequence[tuple[str, int, int]]
Ecos = Sequence[tuple[str, int, int, int]]


def _row_terms(
    x: list[np.ndarray], min_items: int | None, pairs: Pairs, details: Pairs, ecos: Ecos
) -> dict[str, np.ndarray]:
    """The row terms, by column name, in the order of the narwhals query.

    ``pairs``, ``details`` and ``ecos`` are ``_engine``'s ``pair_columns(k)``, ``detail_columns(k)``
    (empty without ``detail``) and ``eco_columns(k)`` (empty without ``ecometric``).
    """
    k = len(x)
    o = [(~np.isnan(v)).astype(np.float64) for v in x]
    z = [np.where(np.isnan(v), 0.0, v) for v in x]
    na, tot = o[0].copy(), z[0].copy()
    for j in range(1, k):  # left to right, as sum_horizontal adds
        na = na + o[j]
        tot = tot + z[j]
    score = tot / (na + (na == 0).astype(np.float64))
    some = (na > 0).astype(np.float64)
    t: dict[str, np.ndarray] = {"n_answered": some, "score_n": some, "score_sum": score,
                                "score_sumsq": score * score}  # fmt: skip
    for name, i, j in pairs:
        kind = name.split("_")[0]
        t[name] = {"n": o[i] * o[j], "cross": z[i] * z[j], "sum": z[i] * o[j]}[kind]
    if min_items is not None:
        enough = (na >= min_items).astype(np.float64)
        t.update(scale_n=enough, scale_sum=score * enough, scale_sumsq=score * score * enough)
    for name, i, j in details:
        kind = name.split("_")[0]
        if kind == "sq":
            t[name] = z[i] * z[i] * o[j]
        else:
            t[name] = {"tsum": score * o[j], "tx": score * z[j], "tsq": score * score * o[j]}[kind]
    for name, m, i, j in ecos:
        ind = (na == m).astype(np.float64)
        kind = name.split("_")[1]
        if kind in ("c", "y", "yy"):
            t[name] = {"c": ind, "y": tot * ind, "yy": tot * tot * ind}[kind]
        elif kind == "x":
            t[name] = o[i] * ind
        elif kind == "xy":
            t[name] = o[i] * tot * ind
        else:
            t[name] = o[i] * o[max(j, 0)] * ind
    return t


def pandas_cell_sums(
    df: pd.DataFrame,
    items: Sequence[str],
    signs: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    by: Sequence[str],
    columns: tuple[Pairs, Pairs, Ecos],
    min_items: int | None = None,
) -> pd.DataFrame:
    """The table of ``cell_sums`` (``by`` columns, ``n_rows``, the sums) for a pandas frame."""
    x = []
    for j, c in enumerate(items):
        v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        x.append(float(lo[j] + hi[j]) - v if signs[j] < 0 else v)
    terms = _row_terms(x, min_items, *columns)
    names = list(terms)
    mat = np.empty((len(df), len(names) + 1), dtype=np.float64)
    mat[:, 0] = 1.0
    for col, name in enumerate(names, start=1):
        mat[:, col] = terms[name]
    values = pd.DataFrame(mat, columns=["n_rows", *names])
    return _by_cell(values, [pd.Series(df[b].array, name=b) for b in by])


def _by_cell(values: pd.DataFrame, keys: list[pd.Series]) -> pd.DataFrame:
    """The columns of ``values`` summed per cell of ``keys`` (in order of first appearance;
    no keys: one row of totals), ``n_rows`` as integers."""
    if not keys:
        table = values.sum().to_frame().T
    else:
        table = values.groupby(keys, sort=False, dropna=False, observed=True).sum()
        table = table.reset_index()
    table["n_rows"] = np.rint(table["n_rows"].to_numpy()).astype(np.int64)
    return table


def _per_partition(native: Any, fn: Callable[[pd.DataFrame], Any]) -> list[Any]:
    """``fn`` of every partition of a Dask frame, computed in one pass (on its scheduler)."""
    import dask

    parts = native.to_delayed()
    return list(dask.compute(*[dask.delayed(fn)(part) for part in parts]))


def partition_cell_sums(
    native: Any, by: Sequence[str], sums: Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """The table of ``cell_sums`` for a Dask frame: ``sums`` (:func:`pandas_cell_sums` with its
    options) of each partition, added up by cell (cells in order of first appearance)."""
    tables = [t for t in _per_partition(native, sums) if len(t)] or [sums(native._meta)]
    table = pd.concat(tables, ignore_index=True)
    keys = [pd.Series(table[b].array, name=b) for b in by]
    return _by_cell(table.drop(columns=list(by)), keys)


def _bounds(df: pd.DataFrame, items: Sequence[str]) -> np.ndarray:
    """Per item the smallest and largest answer of a partition (NaN when none)."""
    out = np.full((2, len(items)), np.nan)
    for j, c in enumerate(items):
        v = df[c].to_numpy(dtype=np.float64, na_value=np.nan)
        v = v[~np.isnan(v)]
        if v.size:
            out[:, j] = v.min(), v.max()
    return out


def partition_bounds(native: Any, items: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per item the smallest and largest answer of a Dask frame (NaN for an unanswered item)."""
    parts = _per_partition(native, functools.partial(_bounds, items=list(items)))
    both = np.stack(parts or [np.full((2, len(items)), np.nan)])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN items
        return np.nanmin(both[:, 0], axis=0), np.nanmax(both[:, 1], axis=0)

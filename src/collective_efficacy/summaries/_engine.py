"""Per-community sums computed inside a dataframe engine (private).

One narwhals query: the item columns are cast to float (NaN counts as missing), reverse-keyed,
and every per-cell sum a :class:`~collective_efficacy.summaries.CommunitySummary` holds is one
``sum`` aggregation of a ``group_by`` over the community (and wave) columns. polars, DuckDB,
Dask, pyarrow and pandas run it in their own engine; only the small per-cell table is
collected. Column names of that table are positional (``n_0_1`` ...), so any item name works.
"""

from __future__ import annotations

import functools
import operator
import warnings
from collections.abc import Sequence
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.summaries._engine_pandas import (
    pandas_cell_sums,
    partition_bounds,
    partition_cell_sums,
)
from collective_efficacy.summaries._frames import _DASK_NOTICE

__all__ = [
    "cell_sums",
    "check_respondents",
    "detail_columns",
    "eco_columns",
    "item_bounds",
    "pair_columns",
]


def pair_columns(k: int) -> list[tuple[str, int, int]]:
    """The per-cell sum columns of ``k`` items: (name, i, j).

    ``n_i_j`` (i <= j) rows answering both items, ``cross_i_j`` (i <= j) the sum of
    :math:`x_i x_j` over them and ``sum_i_j`` (every i, j) the sum of :math:`x_i` over the rows
    answering item j too (``sum_i_i`` is the item's plain sum).
    """
    out = [(f"n_{i}_{j}", i, j) for i in range(k) for j in range(i, k)]
    out += [(f"cross_{i}_{j}", i, j) for i in range(k) for j in range(i, k)]
    out += [(f"sum_{i}_{j}", i, j) for i in range(k) for j in range(k)]
    return out


def detail_columns(k: int) -> list[tuple[str, int, int]]:
    """The optional per-cell sums for item statistics and pairwise correlations: (name, i, j).

    ``tsum_j``, ``tx_j``, ``tsq_j`` (j = i): the sums of the scale score :math:`T`, of
    :math:`T x_j` and of :math:`T^2` over the rows answering item j; ``sq_i_j`` (i != j) the sum
    of :math:`x_i^2` over the rows answering both items.
    """
    out = [(f"{kind}_{j}", j, j) for kind in ("tsum", "tx", "tsq") for j in range(k)]
    out += [(f"sq_{i}_{j}", i, j) for i in range(k) for j in range(k) if i != j]
    return out


def eco_columns(k: int) -> list[tuple[str, int, int, int]]:
    r"""The optional per-cell sums of the ecometric model: (name, m, i, l).

    For the respondents who answered exactly ``m`` items (m = 1..k), with :math:`o_{ri}` the
    answered indicator and :math:`T_r` the sum of the keyed answers: ``eco_c_m`` their number,
    ``eco_x_m_i`` the sum of :math:`o_{ri}`, ``eco_xx_m_i_l`` (i < l) of :math:`o_{ri}o_{rl}`,
    ``eco_y_m`` of :math:`T_r`, ``eco_xy_m_i`` of :math:`o_{ri}T_r` and ``eco_yy_m`` of
    :math:`T_r^2` (:mod:`collective_efficacy.multilevel._lmm3`'s cell sums, unshifted).
    """
    out: list[tuple[str, int, int, int]] = []
    for m in range(1, k + 1):
        out += [(f"eco_c_{m}", m, -1, -1), (f"eco_y_{m}", m, -1, -1), (f"eco_yy_{m}", m, -1, -1)]
        out += [(f"eco_x_{m}_{i}", m, i, -1) for i in range(k)]
        out += [(f"eco_xy_{m}_{i}", m, i, -1) for i in range(k)]
        out += [(f"eco_xx_{m}_{i}_{j}", m, i, j) for i in range(k) for j in range(i + 1, k)]
    return out


def _collect(frame: Any) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DASK_NOTICE, category=FutureWarning)
        if isinstance(frame, nw.LazyFrame):
            return frame.collect(backend="pandas").to_pandas()
        return frame.to_pandas()


def _check_columns(frame: Any, items: Sequence[str], by: Sequence[str]) -> None:
    schema = frame.collect_schema()
    missing = [c for c in [*by, *items] if c not in schema]
    if missing:
        raise DataError(
            f"column(s) {missing} not found in data; available columns: {list(schema.names())}"
        )
    bad = [c for c in items if not schema[c].is_numeric() or schema[c] == nw.Boolean]
    if bad:
        raise DataError(
            f"item column(s) {bad} are not numeric ({[str(schema[c]) for c in bad]}); expected "
            "numeric codes (missing as null or NaN). Convert them first (e.g. ce.validate)."
        )


def _clean(item: str) -> Any:
    """The item as float with NaN turned into null (one missing-value marker)."""
    x = nw.col(item).cast(nw.Float64)
    return x.fill_nan(None)


def item_bounds(frame: Any, items: Sequence[str]) -> tuple[float, float]:
    """Smallest and largest answer over all items (psych's default reversal bounds)."""
    _check_columns(frame, items, [])
    if frame.implementation is nw.Implementation.DASK:
        lo, hi = partition_bounds(nw.to_native(frame), items)
        return _overall_bounds(lo, hi)
    aggs = [_clean(c).min().alias(f"lo_{j}") for j, c in enumerate(items)]
    aggs += [_clean(c).max().alias(f"hi_{j}") for j, c in enumerate(items)]
    row = _collect(frame.select(*aggs)).iloc[0]
    lo = np.array([row[f"lo_{j}"] for j in range(len(items))], dtype=np.float64)
    hi = np.array([row[f"hi_{j}"] for j in range(len(items))], dtype=np.float64)
    return _overall_bounds(lo, hi)


def _overall_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    if np.isnan(lo).all():
        return 0.0, 0.0
    return float(np.nanmin(lo)), float(np.nanmax(hi))


def cell_sums(
    frame: Any,
    items: Sequence[str],
    signs: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    by: Sequence[str],
    min_items: int | None = None,
    detail: bool = False,
    ecometric: bool = False,
) -> pd.DataFrame:
    """The per-cell sums (one row per value combination of ``by``), computed in the engine.

    With ``min_items``, also ``scale_n``, ``scale_sum`` and ``scale_sumsq``: the moments of the
    scale score as :func:`~collective_efficacy.score` computes it (the mean of the answered keyed
    items, missing below ``min_items`` answers), in the same pass. With ``detail``, also the
    sums of :func:`detail_columns`; with ``ecometric``, those of :func:`eco_columns`.
    """
    _check_columns(frame, items, by)
    k = len(items)
    columns = (pair_columns(k), detail_columns(k) if detail else [],
               eco_columns(k) if ecometric else [])  # fmt: skip
    _check_names(by, [c[0] for part in columns for c in part])
    if isinstance(frame, nw.DataFrame) and frame.implementation is nw.Implementation.PANDAS:
        native = nw.to_native(frame)
        table = pandas_cell_sums(native, items, signs, lo, hi, by, columns, min_items)
    elif frame.implementation is nw.Implementation.DASK:
        sums = functools.partial(pandas_cell_sums, items=list(items), signs=signs, lo=lo, hi=hi,
                                 by=list(by), columns=columns, min_items=min_items)  # fmt: skip
        table = partition_cell_sums(nw.to_native(frame), by, sums)
    else:
        table = _engine_cell_sums(frame, items, (signs, lo, hi), by, (min_items, detail, ecometric))
    for b in by:
        miss = table[b].isna().to_numpy()
        if miss.any():
            n = int(table.loc[miss, "n_rows"].sum())
            raise DataError(
                f"column {b!r} has {n} missing label(s); expected a label on every row. Drop or "
                "label those rows first.",
                argument="community",
            )
    return table


#: the per-cell sums every table has besides those of pair/detail/eco_columns
_FIXED_SUMS = ("n_rows", "n_answered", "score_n", "score_sum", "score_sumsq", "scale_n",
               "scale_sum", "scale_sumsq")  # fmt: skip


def _check_names(by: Sequence[str], sums: Sequence[str]) -> None:
    """Refuse a grouping column named like a per-cell sum (the table would hold it twice)."""
    taken = set(_FIXED_SUMS).union(sums)
    clash = [b for b in by if b in taken]
    if clash:
        raise DataError(
            f"column(s) {clash} have the name of a per-community sum the summaries compute; "
            "rename the column(s) first",
            argument="community",
        )


def _engine_cell_sums(
    frame: Any,
    items: Sequence[str],
    keying: tuple[np.ndarray, np.ndarray, np.ndarray],
    by: Sequence[str],
    options: tuple[int | None, bool, bool],
) -> pd.DataFrame:
    """:func:`cell_sums` as one narwhals query, run inside the engine.

    ``keying`` is ``(signs, lo, hi)``, ``options`` is ``(min_items, detail, ecometric)``.
    """
    (signs, lo, hi), (min_items, detail, ecometric) = keying, options
    k = len(items)
    # the grouping columns under positional names: a label column called like a helper column
    # (``_any``, ``_M2``: DuckDB ignores case) would otherwise be overwritten or clash
    keys = [f"_b{i}" for i in range(len(by))]
    keyed = []
    for j, c in enumerate(items):
        x = _clean(c)
        if signs[j] < 0:
            x = float(lo[j] + hi[j]) - x
        keyed.append(x.alias(f"_x{j}"))
    f = frame.select(*[nw.col(b).alias(a) for b, a in zip(by, keys, strict=True)], *keyed)
    obs = [(~nw.col(f"_x{j}").is_null()).cast(nw.Float64).alias(f"_o{j}") for j in range(k)]
    zero = [nw.col(f"_x{j}").fill_null(0.0).alias(f"_z{j}") for j in range(k)]
    f = f.with_columns(*obs, *zero)
    answered = nw.sum_horizontal(*[nw.col(f"_o{j}") for j in range(k)])
    total = nw.sum_horizontal(*[nw.col(f"_z{j}") for j in range(k)])
    # the scale score (mean of the answered keyed items); 0 (and not counted) without answers
    f = f.with_columns(
        answered.alias("_na"),
        total.alias("_tot"),
        (total / (answered + (answered == 0).cast(nw.Float64))).alias("_score"),
    )
    na = nw.col("_na")
    flags = [(na > 0).cast(nw.Float64).alias("_any")]  # 0/1 indicators the sums multiply by
    if min_items is not None:
        flags.append((na >= min_items).cast(nw.Float64).alias("_enough"))
    if ecometric:
        flags += [(na == m).cast(nw.Float64).alias(f"_m{m}") for m in range(1, k + 1)]
    f = f.with_columns(*flags)
    terms = _row_terms(k, min_items is not None, detail, ecometric)
    with warnings.catch_warnings():  # pandas: a wide term frame (ecometric) is "fragmented"
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
        if frame.implementation is nw.Implementation.DUCKDB:
            table = _collect(_duckdb_sums(nw.to_native(f), terms, keys))
        else:  # row terms first, then plain sums: elementary group-by aggregations everywhere
            products = [functools.reduce(operator.mul, map(nw.col, fs)).alias(c) for c, fs in terms]
            f = f.select(*map(nw.col, keys), *products)
            aggs = [nw.len().alias("n_rows"), *(nw.col(c).sum() for c, _ in terms)]
            table = _collect(f.group_by(*keys).agg(*aggs)) if by else _collect(f.select(*aggs))
    return table.rename(columns=dict(zip(keys, by, strict=True)))


def _row_terms(
    k: int, scale: bool, detail: bool, ecometric: bool
) -> list[tuple[str, tuple[str, ...]]]:
    """Each per-cell sum as ``(name, factors)``: the sum over rows of the product of the named
    row columns of :func:`_engine_cell_sums` (``_o``: answered, ``_z``: keyed answer or 0,
    ``_score``, ``_tot``: keyed total, and the 0/1 flags ``_any``, ``_enough``, ``_m{m}``)."""
    o, z, s, t = [f"_o{j}" for j in range(k)], [f"_z{j}" for j in range(k)], "_score", "_tot"
    terms = [("n_answered", ("_any",)), ("score_n", ("_any",)), ("score_sum", (s,)),
             ("score_sumsq", (s, s))]  # fmt: skip
    for name, i, j in pair_columns(k):
        kind = name.split("_")[0]
        terms.append((name, {"n": (o[i], o[j]), "cross": (z[i], z[j]), "sum": (z[i], o[j])}[kind]))
    if scale:
        terms += [("scale_n", ("_enough",)), ("scale_sum", (s, "_enough")),
                  ("scale_sumsq", (s, s, "_enough"))]  # fmt: skip
    if detail:
        for name, i, j in detail_columns(k):
            kind = name.split("_")[0]
            terms.append((name, {"tsum": (s, o[j]), "tx": (s, z[j]), "tsq": (s, s, o[j]),
                                 "sq": (z[i], z[i], o[j])}[kind]))  # fmt: skip
    if ecometric:
        for name, m, i, j in eco_columns(k):
            e = f"_m{m}"
            terms.append((name, {"c": (e,), "y": (t, e), "yy": (t, t, e), "x": (o[i], e),
                                 "xy": (o[i], t, e), "xx": (o[i], o[max(j, 0)], e)}[
                                     name.split("_")[1]]))  # fmt: skip
    return terms


def _duckdb_sums(rel: Any, terms: list[tuple[str, tuple[str, ...]]], by: Sequence[str]) -> Any:
    """The sums of ``terms`` over ``rel`` grouped by ``by``, as one aggregate in SQL text.

    The same products and sums narwhals would plan, written out: DuckDB's relation API checks
    every expression object against every input column (and narwhals renames the several
    hundred result columns one expression each), which cost more than the query at 300k rows.
    """
    keys = [_quoted(b) for b in by]
    sums = [f"sum({' * '.join(map(_quoted, fs))}) AS {_quoted(c)}" for c, fs in terms]
    return nw.from_native(rel.aggregate(", ".join([*keys, "count(*) AS n_rows", *sums]),
                                        ", ".join(keys)))  # fmt: skip


def _quoted(name: str) -> str:
    """An SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def check_respondents(frame: Any, respondent: str, wave: str | None) -> None:
    """Refuse a respondent id found twice (within a wave), counted in the engine."""
    by = [respondent] + ([wave] if wave is not None else [])
    counts = frame.group_by(*by).agg(nw.len().alias("_n"))
    dup = _collect(counts.filter(nw.col("_n") > 1).select(nw.len().alias("d")))
    n_dup = int(dup["d"].iloc[0])
    if n_dup:
        raise DataError(
            f"respondent column {respondent!r}: {n_dup} id(s) occur more than once"
            + (" within a wave" if wave is not None else "")
            + "; expected one row per respondent (and wave)",
            argument="respondent",
        )

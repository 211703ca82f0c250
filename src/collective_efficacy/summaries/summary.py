r"""Per-community summaries that add up: :func:`summarise`, :class:`CommunitySummary`.

A summary holds, per community (and wave) -- a *cell* -- the sums from which the library's
sum-reducible statistics are computed: the number of rows, of respondents with an answer, and
for the ``k`` keyed items of one scale the pairwise-complete counts, sums and cross-products

.. math::

    N_{ij} = \sum_r o_{ri} o_{rj},\qquad S_{ij} = \sum_r x_{ri} o_{rj},\qquad
    P_{ij} = \sum_r x_{ri} x_{rj} o_{ri} o_{rj}

(:math:`o_{ri} = 1` when respondent :math:`r` answered item :math:`i`), and the count, sum and
sum of squares of the scale score (the mean of the answered keyed items). Sums add: the
summary of the union of two sets of rows is the sum of their summaries, so municipalities can
pool communities without pooling respondent rows, and a cluster can summarise its partitions
apart. Pairwise covariances, alpha, ICCs, the random-intercept model and Welch's t follow from
these sums (``cov_ij = (P_ij - S_ij S_ji / N_ij) / (N_ij - 1)``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import (
    BOOLEAN,
    COLUMN,
    COLUMNS,
    KEYS,
    NATIVE_FRAME,
    SCALE_RANGE,
    Interval,
    Predicate,
    public,
)
from collective_efficacy._version import __version__
from collective_efficacy.errors import DataError
from collective_efficacy.instrument import INSTRUMENT_SOURCE
from collective_efficacy.instrument._keys import _range_from, parse_keys
from collective_efficacy.summaries._frames import engine_frame, float_block

# The engine queries (summaries._engine: narwhals, 40 ms of import) are imported where a
# summary is built: importing the package (the command line's start-up) does without them.

__all__ = ["SCHEMA_VERSION", "CommunitySummary", "merge_summaries", "summarise"]

#: version of the saved form (JSON and Parquet)
SCHEMA_VERSION = "1.2"  # 1.1: the optional detail sums (item statistics, omega); 1.2: ecometric
_META_KEY = b"collective_efficacy.summary"
_COUNTS = ("n_rows", "n_answered", "score_n")


class CommunitySummary:
    """Per-community (and wave) sums of one scale's items: add, save, share, analyse.

    Made by :func:`summarise`; pass it as ``data`` to :func:`~collective_efficacy.cronbach_alpha`,
    :func:`~collective_efficacy.icc`, :func:`~collective_efficacy.group_reliability`,
    :func:`~collective_efficacy.random_intercept`, :func:`~collective_efficacy.aggregate` and
    :func:`~collective_efficacy.compare_waves` for the numbers those functions give on the rows.
    ``s1 + s2`` (or :func:`merge_summaries`) is the summary of the rows of both. Immutable.

    Attributes
    ----------
    items : tuple of str
        The scale's items, in order.
    signs : ndarray
        +1 / -1 per item (-1: reverse-keyed before summing).
    scale_range : ndarray of shape (k, 2)
        The bounds used to reverse items (:math:`x' = lo + hi - x`).
    community, wave : str, str or None
        The label columns.
    score : str
        Name of the scale score (the mean of the answered keyed items).
    n_withheld : int
        Cells left out because they had fewer than ``min_n`` respondents.
    min_n : int or None
        The threshold applied (None: nothing withheld).
    """

    __slots__ = ("_table", "community", "items", "min_n", "n_withheld", "scale_range", "score",
                 "signs", "wave")  # fmt: skip

    def __init__(
        self,
        table: pd.DataFrame,
        *,
        items: Sequence[str],
        signs: Sequence[float] | np.ndarray,
        scale_range: Any,
        community: str,
        wave: str | None = None,
        score: str = "score",
        n_withheld: int = 0,
        min_n: int | None = None,
    ) -> None:
        from collective_efficacy.summaries._engine import detail_columns, eco_columns, pair_columns

        self.items = tuple(str(i) for i in items)
        k = len(self.items)
        self.signs = np.asarray(signs, dtype=np.float64).reshape(k)
        self.scale_range = np.asarray(scale_range, dtype=np.float64).reshape(k, 2)
        self.community = str(community)
        self.wave = None if wave is None else str(wave)
        self.score = str(score)
        self.n_withheld = int(n_withheld)
        self.min_n = None if min_n is None else int(min_n)
        for arr in (self.signs, self.scale_range):
            arr.setflags(write=False)
        need = [
            *self.keys,
            *_COUNTS,
            "score_sum",
            "score_sumsq",
            *(c for c, _, _ in pair_columns(k)),
        ]
        extra = [c for c, _, _ in detail_columns(k)]
        if all(c in table.columns for c in extra):
            need += extra  # the detail sums (summarise(detail=True))
        eco = [c[0] for c in eco_columns(k)]
        if all(c in table.columns for c in eco):
            need += eco  # the ecometric sums (summarise(ecometric=True))
        missing = [c for c in need if c not in table.columns]
        if missing:
            raise DataError(f"a CommunitySummary table needs the columns {missing}")
        cols: dict[str, Any] = {c: table[c].to_numpy() for c in self.keys}
        for c in _COUNTS:
            cols[c] = np.rint(table[c].to_numpy(dtype=np.float64)).astype(np.int64)
        sums = need[len(self.keys) + len(_COUNTS) :]
        front = pd.DataFrame(cols)
        self._table = _sorted(pd.concat([front, float_block(table, sums)], axis=1), self.keys)

    # ------------------------------------------------------------------ structure
    @property
    def keys(self) -> list[str]:
        """The label columns of a cell: ``[community]`` or ``[community, wave]``."""
        return [self.community] + ([self.wave] if self.wave else [])

    @property
    def detail(self) -> bool:
        """Whether the summary holds the detail sums (``summarise(detail=True)``)."""
        return f"tsum_{len(self.items) - 1}" in self._table.columns

    @property
    def ecometric(self) -> bool:
        """Whether the summary holds the ecometric sums (``summarise(ecometric=True)``)."""
        return f"eco_c_{len(self.items)}" in self._table.columns

    @property
    def n_cells(self) -> int:
        return len(self._table)

    @property
    def n_communities(self) -> int:
        return int(self._table[self.community].nunique())

    def __repr__(self) -> str:
        wave = f", wave={self.wave!r}" if self.wave else ""
        return (
            f"CommunitySummary({self.n_communities} communities, {self.n_cells} cells, "
            f"{len(self.items)} items, community={self.community!r}{wave}, "
            f"n={int(self._table['n_answered'].sum())}, withheld={self.n_withheld})"
        )

    def _meta(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "library_version": __version__,
            "kind": "CommunitySummary",
            "items": list(self.items),
            "signs": self.signs.tolist(),
            "scale_range": [
                [None if np.isnan(v) else v for v in r] for r in self.scale_range.tolist()
            ],
            "community": self.community,
            "wave": self.wave,
            "score": self.score,
            "n_withheld": self.n_withheld,
            "min_n": self.min_n,
        }

    def _like(self, table: pd.DataFrame, **changes: Any) -> CommunitySummary:
        meta = {k: v for k, v in self._meta().items() if k not in _NOT_ARGS}
        meta.update(changes)
        return CommunitySummary(table, **meta)

    def compatible(self, other: CommunitySummary) -> None:
        """Raise :class:`DataError` unless ``other`` summarises the same scale alike."""
        mine, theirs = self._meta(), other._meta()
        for key in ("items", "signs", "scale_range", "community", "wave", "score"):
            same = (
                np.array_equal(getattr(self, key), getattr(other, key), equal_nan=True)
                if key in ("signs", "scale_range")
                else mine[key] == theirs[key]
            )
            if not same:
                raise DataError(
                    f"summaries differ in {key}: {mine[key]!r} vs {theirs[key]!r}; only summaries "
                    "of the same items, keying, scale range and label columns can be merged"
                )

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> CommunitySummary:
        if not isinstance(other, CommunitySummary):
            return NotImplemented
        return merge_summaries([self, other])

    def __radd__(self, other: Any) -> CommunitySummary:
        if isinstance(other, Integral) and int(other) == 0:  # sum([s1, s2, ...])
            return self
        return NotImplemented

    def withhold(self, min_n: int) -> CommunitySummary:
        """The summary without the cells of fewer than ``min_n`` respondents (counted).

        A respondent is a row with at least one answered item (``n_answered``).
        """
        if isinstance(min_n, bool) or not isinstance(min_n, Integral) or min_n < 1:
            raise DataError(f"min_n must be an integer >= 1; got {min_n!r}", argument="min_n")
        small = self._table["n_answered"].to_numpy() < int(min_n)
        keep = self._table.loc[~small].reset_index(drop=True)
        return self._like(
            keep,
            n_withheld=self.n_withheld + int(small.sum()),
            min_n=max(int(min_n), self.min_n or 0),
        )

    # ------------------------------------------------------------------ people's views
    def summary(self) -> pd.DataFrame:
        """Per cell: the labels, ``n`` (respondents with an answer), score ``mean`` and ``sd``."""
        t = self._table
        n = t["score_n"].to_numpy(dtype=np.float64)
        s, ss = t["score_sum"].to_numpy(), t["score_sumsq"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, s / n, np.nan)
            var = np.where(n > 1, (ss - s * s / np.maximum(n, 1)) / (n - 1), np.nan)
        out = t[self.keys].copy()
        out["n"] = t["n_answered"].to_numpy()
        out["mean"] = mean
        out["sd"] = np.sqrt(np.maximum(var, 0.0))
        return out

    @property
    def communities(self) -> pd.DataFrame:
        """The per-cell table of :meth:`summary`."""
        return self.summary()

    def to_frame(self) -> pd.DataFrame:
        """The stored per-cell sums (a copy): label columns, counts, score moments and the
        pairwise item sums named by item position (``n_0_1``, ``cross_0_1``, ``sum_0_1``)."""
        return self._table.copy()

    # ------------------------------------------------------------------ saving
    def to_json(self) -> str:
        """The summary as JSON text (metadata with ``schema_version`` and the per-cell sums)."""
        t = self._table
        doc = {
            **self._meta(),
            "columns": [str(c) for c in t.columns],
            "cells": [[_plain(v) for v in row] for row in t.itertuples(index=False)],
        }
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> CommunitySummary:
        """Read :meth:`to_json` output."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not a CommunitySummary JSON document: {exc}") from exc
        _check_version(doc)
        table = pd.DataFrame(doc["cells"], columns=doc["columns"])
        return cls(table, **{k: v for k, v in doc.items() if k not in _NOT_ARGS | _TABLE})

    def to_parquet(self, path: str | Path) -> None:
        """Write the per-cell sums to Parquet, metadata in the file's schema (needs pyarrow)."""
        pa, pq = _arrow()
        table = pa.Table.from_pandas(self._table, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(self._meta()).encode()
        pq.write_table(table.replace_schema_metadata(meta), str(path))

    @classmethod
    def read_parquet(cls, path: str | Path) -> CommunitySummary:
        """Read a summary written by :meth:`to_parquet`."""
        _, pq = _arrow()
        table = pq.read_table(str(path))
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise DataError(f"{path}: not a CommunitySummary Parquet file (no summary metadata)")
        doc = json.loads(raw)
        _check_version(doc)
        return cls(table.to_pandas(), **{k: v for k, v in doc.items() if k not in _NOT_ARGS})


_NOT_ARGS = {"schema_version", "library_version", "kind"}
_TABLE = {"columns", "cells"}


def _check_version(doc: dict[str, Any]) -> None:
    if doc.get("kind") != "CommunitySummary":
        raise DataError("not a CommunitySummary document (kind is missing or different)")
    major = str(doc.get("schema_version", "")).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise DataError(
            f"CommunitySummary schema_version {doc.get('schema_version')!r} is not supported "
            f"(this library reads {SCHEMA_VERSION})"
        )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _arrow() -> tuple[Any, Any]:
    from importlib import import_module

    try:
        pa, pq = import_module("pyarrow"), import_module("pyarrow.parquet")
    except ImportError as exc:  # pragma: no cover - pyarrow is in the parquet extra
        raise DataError(
            "saving a summary as Parquet needs pyarrow: pip install collective-efficacy[parquet]"
        ) from exc
    return pa, pq


def _sorted(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    try:
        return table.sort_values(keys, kind="stable", ignore_index=True)
    except TypeError:  # unsortable mixed labels: keep the order given
        return table.reset_index(drop=True)


@public(
    constraints={
        "summaries": [
            Predicate(
                lambda v: isinstance(v, Iterable) and not isinstance(v, (str, bytes, dict)),
                "an iterable of CommunitySummary",
                lambda: [],
                [3.5, "x"],
            )
        ]
    }
)
def merge_summaries(summaries: Iterable[CommunitySummary]) -> CommunitySummary:
    """The summary of the rows of all ``summaries``: sums of the cells with the same labels.

    The summaries must describe the same items with the same keying, scale range and label
    columns. A community present in several (a community split over data holders) gets the sum
    of its parts -- exactly the summary of its pooled rows. Withheld counts add up.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"buurt": list("aabbb"), "SC1": [3, 4, 2, 5, 4], "SC2": [3, 5, 2, 4, 4]})
    >>> s1 = ce.summarise(df.iloc[:3], items=["SC1", "SC2"], community="buurt", min_n=None)
    >>> s2 = ce.summarise(df.iloc[3:], items=["SC1", "SC2"], community="buurt", min_n=None)
    >>> merged = ce.merge_summaries([s1, s2])
    >>> merged.summary()[["buurt", "n", "mean"]].to_dict("list")
    {'buurt': ['a', 'b'], 'n': [2, 3], 'mean': [3.75, 3.5]}
    """
    parts = list(summaries)
    if not parts or not all(isinstance(s, CommunitySummary) for s in parts):
        raise DataError("merge_summaries() needs a non-empty list of CommunitySummary objects")
    from collective_efficacy.summaries._engine import detail_columns, eco_columns

    first = parts[0]
    for other in parts[1:]:
        first.compatible(other)
    tables = [s._table for s in parts]
    if not all(s.detail for s in parts):  # detail sums only where every part has them
        drop = [c for c, _, _ in detail_columns(len(first.items))]
        tables = [t.drop(columns=drop, errors="ignore") for t in tables]
    if not all(s.ecometric for s in parts):  # likewise the ecometric sums
        drop = [c[0] for c in eco_columns(len(first.items))]
        tables = [t.drop(columns=drop, errors="ignore") for t in tables]
    table = pd.concat(tables, ignore_index=True)
    merged = table.groupby(first.keys, sort=False, dropna=False, as_index=False).sum()
    mins = [s.min_n for s in parts if s.min_n is not None]
    return first._like(
        merged,
        n_withheld=sum(s.n_withheld for s in parts),
        min_n=max(mins) if mins else None,
    )


def _scale_spec(
    instrument: Any, scale: str | None, items: Any, keys: Any, scale_range: Any
) -> tuple[list[str], Any, Any, str]:
    """Items, keys, scale range and score name from an instrument or from items/keys."""
    if instrument is None:
        if items is None:
            raise DataError("summarise() needs an instrument or items=[...]", argument="items")
        return (
            ([items] if isinstance(items, str) else list(items)),
            keys,
            scale_range,
            scale or "score",
        )
    from collective_efficacy.instrument import load_instrument

    inst = load_instrument(instrument)
    scales = list(inst.scales)
    if scale is None:
        if len(scales) != 1:
            raise DataError(
                f"instrument {inst.id!r} has {len(scales)} scales {[s.id for s in scales]}; "
                "pass scale= to choose one",
                argument="scale",
            )
        chosen = scales[0]
    else:
        chosen = inst.scale(scale)
    chosen_items = list(chosen.items) if items is None else list(items)
    if scale_range is None:
        scale_range = {it: (inst.response_scale(it).min, inst.response_scale(it).max)
                       for it in chosen_items}  # fmt: skip
    return chosen_items, inst if keys is None else keys, scale_range, chosen.id


@public(
    constraints={
        "data": [NATIVE_FRAME],
        "instrument": [*INSTRUMENT_SOURCE, None],
        "keys": [KEYS, None],
        "items": [COLUMNS, None],
        "community": [COLUMN],
        "wave": [COLUMN, None],
        "respondent": [COLUMN, None],
        "scale": [COLUMN, None],
        "scale_range": [SCALE_RANGE, None],
        "min_n": [Interval(Integral, 1, None), None],
        "detail": [BOOLEAN],
        "ecometric": [BOOLEAN],
    },
)
def summarise(
    data: Any,
    instrument: Any = None,
    *,
    items: Sequence[str] | None = None,
    keys: Any = None,
    community: str,
    wave: str | None = None,
    respondent: str | None = None,
    scale: str | None = None,
    scale_range: tuple[float, float] | None = None,
    min_n: int | None = 10,
    detail: bool = False,
    ecometric: bool = False,
) -> CommunitySummary:
    r"""Per-community (and wave) sums of one scale, computed inside the data's own engine.

    Parameters
    ----------
    data : DataFrame of any engine
        pandas, polars (eager or lazy), a pyarrow Table, a DuckDB relation or a Dask dataframe;
        one row per respondent (and wave). The sums are computed by the engine (one
        ``group_by``); only the per-cell table (a few hundred numbers per community) is
        collected, so a lazy frame over Parquet files larger than memory works. Not modified.
    instrument : Instrument or id, optional
        Takes the items, reverse keys and response scales of one of its scales (``scale=``).
    items : list of str, optional
        The item columns (numeric codes; null or NaN = missing), without an instrument.
    keys : list, dict or Instrument, optional
        Reverse keying (``["-SC3"]``), as in :func:`~collective_efficacy.cronbach_alpha`.
    community : str
        The community column (a label on every row).
    wave : str, optional
        A wave column: one cell per community and wave.
    respondent : str, optional
        Respondent id column: a respondent found twice in one wave is refused.
    scale : str, optional
        The instrument's scale to summarise (needed when it has several); also the score name.
    scale_range : (min, max), optional
        Bounds for reverse keying. Default: the instrument's response scale; without one, the
        smallest and largest answer over all items (as ``psych::alpha``; one extra pass).
    min_n : int or None, default=10
        Withhold the cells (community and wave) with fewer respondents, counted in
        ``n_withheld`` (see :meth:`CommunitySummary.withhold`): the library's one privacy
        threshold, on by default because a summary is made to be shared. ``None`` keeps every
        cell -- for a summary that stays in-house, e.g. to analyse data larger than memory;
        statistics from a withheld summary leave those communities out.
    detail : bool, default=False
        Also keep, per item, the sums of the score, of score x item and of the squared score
        over the rows answering the item, and per item pair the sum of squares of one item over
        the rows answering both (``3k + k(k-1)`` more numbers per cell): then
        :func:`~collective_efficacy.item_statistics` and :func:`~collective_efficacy.omega`
        (minres, pairwise) accept the summary too.
    ecometric : bool, default=False
        Also keep the sums of :func:`~collective_efficacy.ecometric`'s three-level model: per
        number of answered items ``m``, the respondents' count, the sums of their answered
        indicators, of the indicators' pairwise products, of their total keyed answer, of
        indicator x total and of the squared total (``k(3 + 2k + k(k-1)/2)`` more numbers per
        cell); then :func:`~collective_efficacy.ecometric` (without covariates or ``n_boot``)
        accepts the summary too. Without ``scale_range`` or an instrument the bounds are then
        found (one extra pass) even when no item is reversed: the model reports them.

    Returns
    -------
    CommunitySummary

    Notes
    -----
    Per cell: ``n_rows``, ``n_answered`` (rows with an answered item), :math:`N_{ij}`,
    :math:`S_{ij}`, :math:`P_{ij}` (module docstring) and the count, sum and sum of squares
    of the scale score. Sums are plain (uncentred) float64 sums: exact for integer codes up to
    :math:`2^{53}`; for the score (a mean of codes) the rounding error is of order
    :math:`10^{-16}` times the sum, so statistics agree with the row path to about
    :math:`10^{-12}` at survey sizes. A summary reveals per-community means, variances and
    covariances of the items, never a respondent's row (a cell of one respondent does: use
    ``min_n``).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"buurt": list("aaabbb"), "SC1": [3, 4, 2, 5, 4, 4],
    ...                    "SC2": [3, 5, 2, 4, 4, 5], "SC3": [3, 2, 4, 1, 2, 1]})
    >>> s = ce.summarise(df, items=["SC1", "SC2", "SC3"], keys=["-SC3"], community="buurt",
    ...                  scale_range=(1, 5), min_n=None)
    >>> s
    CommunitySummary(2 communities, 2 cells, 3 items, community='buurt', n=6, withheld=0)
    >>> bool(abs(ce.cronbach_alpha(s)["alpha"].iloc[0]
    ...          - ce.cronbach_alpha(df, items=["SC1", "SC2", "SC3"], keys=["-SC3"])["alpha"].iloc[0]) < 1e-12)
    True
    """
    item_list, keys, scale_range, score = _scale_spec(instrument, scale, items, keys, scale_range)
    out = build_summary(
        data, items=item_list, keys=keys, scale_range=scale_range, community=community,
        wave=wave, respondent=respondent, score=score, detail=detail, ecometric=ecometric,
    )  # fmt: skip
    return out if min_n is None else out.withhold(min_n)


#: the label of the one cell of a summary without a community column
_ALL = "__all__"


def build_summary(
    data: Any,
    *,
    items: Sequence[str],
    keys: Any,
    scale_range: Any,
    community: str | None,
    wave: str | None,
    respondent: str | None = None,
    score: str = "score",
    detail: bool = False,
    ecometric: bool = False,
) -> CommunitySummary:
    """:func:`summarise` without the argument layer; ``community=None`` gives one cell."""
    from collective_efficacy.summaries._engine import cell_sums, check_respondents, item_bounds

    item_list = list(items)
    if not item_list:
        raise DataError("summarise() needs at least one item", argument="items")
    if community in item_list or (wave is not None and wave in item_list):
        raise DataError("the community and wave columns cannot also be items", argument="items")
    frame = engine_frame(data)
    if frame is None:  # pragma: no cover - NATIVE_FRAME accepted it
        raise DataError(f"data must be a DataFrame; got {type(data).__name__}", argument="data")
    signs = parse_keys(keys, item_list)
    bounds = _range_from(scale_range, item_list, "scale_range")
    if bounds is None:
        if hasattr(keys, "response_scale") and hasattr(keys, "item_ids"):
            lo = np.array([keys.response_scale(i).min for i in item_list], dtype=np.float64)
            hi = np.array([keys.response_scale(i).max for i in item_list], dtype=np.float64)
        elif (signs < 0).any() or ecometric:  # ecometric reports the bounds it keyed with
            lo_v, hi_v = item_bounds(frame, item_list)
            lo, hi = np.full(len(item_list), lo_v), np.full(len(item_list), hi_v)
        else:  # nothing reversed: the bounds play no part
            lo, hi = np.full(len(item_list), np.nan), np.full(len(item_list), np.nan)
    else:
        lo, hi = bounds
    if community is None:
        import narwhals as nw

        community = _ALL
        frame = frame.with_columns(nw.lit(_ALL).alias(_ALL))
    by = [community] + ([wave] if wave is not None else [])
    if respondent is not None:
        check_respondents(frame, respondent, wave)
    table = cell_sums(frame, item_list, signs, lo, hi, by, detail=detail, ecometric=ecometric)
    return CommunitySummary(
        table,
        items=item_list,
        signs=signs,
        scale_range=np.column_stack([lo, hi]),
        community=community,
        wave=wave,
        score=score,
    )

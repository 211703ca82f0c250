"""One prepared pass over a survey table: derived arrays computed once, shared by every statistic.

A :class:`PreparedSurvey` wraps a DataFrame. While a function runs on it (passed as ``data``, or
inside ``with prepared:``), the private helpers that turn the table into arrays -- the float item
matrix (:func:`~._checks.numeric_matrix`, :func:`~._agreement_groups.item_rows`), the community
coding (:func:`~._groups.factorize_groups`, :func:`~._agreement_groups.code_groups`), the keyed
item matrix of the reliability functions and their pairwise moments -- look their result up by a
key and compute it only the first time. Nothing else changes: the same code computes the same
numbers, so a prepared call and a plain call agree exactly.

Cached arrays are read-only, so a helper that would modify one in place fails loudly instead of
corrupting later results. The table must not be modified while it is wrapped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError

__all__ = ["PreparedSurvey"]

P = ParamSpec("P")
R = TypeVar("R")
D = TypeVar("D")

_ACTIVE: ContextVar[tuple[PreparedSurvey, ...]] = ContextVar("_ACTIVE", default=())


class PreparedSurvey:
    """A survey table whose arrays (items, community codes, moments) are computed once.

    Pass it as ``data`` to :func:`cronbach_alpha`, :func:`item_statistics`, :func:`omega`,
    :func:`icc`, :func:`rwg`, :func:`rwg_j`, :func:`ad_index`, :func:`ecometric`,
    :func:`random_intercept`, :func:`score` or :func:`aggregate`: each call reuses what an earlier
    call on the same object already computed (the float item matrix, the factorised community
    column, the keyed items and their pairwise moments) and gives exactly the numbers of a call on
    the DataFrame itself. :func:`evaluate` prepares each wave once this way.

    Parameters
    ----------
    data : DataFrame of any engine
        The table. A pandas DataFrame is not copied, so it must not be modified while the
        object is in use. A frame of another engine (polars eager or lazy, pyarrow, DuckDB,
        Dask) is collected into pandas once, through the library's one conversion layer: a
        preparation holds the rows' arrays in memory, that is its purpose. For data larger than
        memory use :func:`~collective_efficacy.summarise` instead: its per-community sums are
        computed inside the engine and serve the sum-reducible statistics the same way.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import collective_efficacy as ce
    >>> rng = np.random.default_rng(1)
    >>> items = ["SC1", "SC2", "SC3"]
    >>> trait = rng.normal(3, 1, (200, 1))
    >>> df = pd.DataFrame(np.clip(np.rint(trait + rng.normal(0, 0.7, (200, 3))), 1, 5), columns=items)
    >>> prep = ce.PreparedSurvey(df)
    >>> a = ce.cronbach_alpha(prep, items=items)["alpha"].iloc[0]
    >>> b = ce.cronbach_alpha(df, items=items)["alpha"].iloc[0]
    >>> bool(a == b)
    True
    """

    def __init__(self, data: pd.DataFrame) -> None:
        if isinstance(data, PreparedSurvey):
            data = data.data
        if not isinstance(data, pd.DataFrame):
            from collective_efficacy.summaries._frames import engine_frame, to_pandas

            if engine_frame(data) is None:
                raise DataError(
                    f"PreparedSurvey needs a DataFrame (pandas, polars, pyarrow, DuckDB or Dask); "
                    f"got {type(data).__name__}. For per-community sums without the rows, use "
                    "ce.summarise(data, ...).",
                    argument="data",
                )
            data = to_pandas(data)  # collected once: a preparation holds the rows
        self.data = data
        self._cache: dict[Hashable, Any] = {}
        self._tokens: list[Any] = []

    def __repr__(self) -> str:
        return f"PreparedSurvey({len(self.data)} rows, {len(self._cache)} prepared arrays)"

    def __enter__(self) -> PreparedSurvey:
        self._tokens.append(_ACTIVE.set((*_ACTIVE.get(), self)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _ACTIVE.reset(self._tokens.pop())

    def get(self, key: Hashable, compute: Callable[[], R]) -> R:
        """The value stored under ``key``, computed (and stored) on first use."""
        if key not in self._cache:
            self._cache[key] = _frozen(compute())
        out: R = self._cache[key]
        return out


def _frozen(value: Any) -> Any:
    """Mark arrays (also inside tuples and frozen dataclasses) read-only."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple):
        for v in value:
            _frozen(v)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            _frozen(getattr(value, name))
    return value


def memo(data: Any, key: Hashable, compute: Callable[[], R]) -> R:
    """``compute()``, or its stored result when ``data`` is the table of an active preparation."""
    for prep in reversed(_ACTIVE.get()):
        if prep.data is data:
            return prep.get(key, compute)
    return compute()


def preset(prep: PreparedSurvey, key: Hashable, value: R) -> R:
    """Store ``value`` under ``key`` in ``prep`` (unless it holds one): a result the caller
    already has for the same rows, e.g. a coding derived from a larger table's."""
    return prep.get(key, lambda: value)


def lookup(data: Any, key: Hashable) -> Any:
    """The value stored under ``key`` for ``data`` by an active preparation, else None (nothing
    is computed): lets a function reuse a coding it would otherwise redo its own way."""
    for prep in reversed(_ACTIVE.get()):
        if prep.data is data and key in prep._cache:
            return prep._cache[key]
    return None


def accepts_prepared(
    fn: Callable[Concatenate[D, P], R],
) -> Callable[Concatenate[D | PreparedSurvey, P], R]:
    """Let a public function take a :class:`PreparedSurvey` as ``data`` (same signature)."""

    call: Callable[..., R] = fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        if args and isinstance(args[0], PreparedSurvey):
            with args[0]:
                return call(args[0].data, *args[1:], **kwargs)
        prep = kwargs.get("data")
        if isinstance(prep, PreparedSurvey):
            with prep:
                return call(**{**kwargs, "data": prep.data})
        return call(*args, **kwargs)

    return wrapper

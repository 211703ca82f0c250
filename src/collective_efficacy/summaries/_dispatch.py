"""Route a statistic to its summary path (private).

:func:`summary_route` wraps a public statistic. Given a :class:`CommunitySummary` it computes
from the sums. Given a frame of another engine (polars, pyarrow, DuckDB, Dask) and options
that reduce to sums, it first summarises inside that engine -- only the per-community table
is collected -- and then computes from the sums. Anything else (a pandas DataFrame, or options
that need the rows: bootstrap, weights, pairing, nested communities) goes to the function
itself, which converts a foreign frame to pandas (:data:`~collective_efficacy._params.FRAME`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from collective_efficacy.summaries._frames import engine_frame
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["summary_route"]

F = TypeVar("F", bound=Callable[..., Any])


def _foreign(data: Any) -> bool:
    return not isinstance(data, pd.DataFrame) and engine_frame(data) is not None


def _arguments(
    f: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The validated keyword arguments (without ``data``), through the one validation layer."""
    from collective_efficacy._params import _apply_renames, _check

    name = f.__name__
    renamed = getattr(f, "__ce_renamed__", {})
    if renamed:
        kwargs = _apply_renames(name, kwargs, renamed, set())
    bound = inspect.signature(f).bind(*args, **kwargs)
    bound.apply_defaults()
    out = dict(bound.arguments)
    out.pop("data")
    for pname, accepted in getattr(f, "__ce_constraints__", {}).items():
        if pname != "data":
            out[pname] = _check(name, pname, out[pname], accepted)
    return out


def summary_route(name: str) -> Callable[[F], F]:
    """Let the public statistic ``name`` take a summary, and sum foreign frames in their engine."""

    def decorate(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            data = args[0] if args else kwargs.get("data")
            summary = isinstance(data, CommunitySummary)
            if not summary and not _foreign(data):
                return f(*args, **kwargs)
            from collective_efficacy.summaries._engine_specs import ENGINE_SPECS, route

            kw = _arguments(f, args, kwargs)
            if not summary:
                spec = ENGINE_SPECS[name](data, kw)
                if spec is None:  # needs the rows: the function converts the frame
                    return f(*args, **kwargs)
                from collective_efficacy.summaries.summary import build_summary

                data = build_summary(data, **spec)
            return route(name)(data, **kw)

        return wrapper  # type: ignore[return-value]

    return decorate

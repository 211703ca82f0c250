"""Which engine summary a statistic needs, or None when its options need the rows (private)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import narwhals as nw

from collective_efficacy.summaries._frames import engine_frame

__all__ = ["ENGINE_SPECS", "route"]

Spec = dict[str, Any] | None


def _names(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _single(community: Any) -> Any:
    """A single community column (a one-element list counts), or None for nested ones."""
    if isinstance(community, (list, tuple)):
        return community[0] if len(community) == 1 else None
    return community


def _alpha(data: Any, kw: dict[str, Any]) -> Spec:
    if kw["weight"] is not None or kw["ci_method"] == "bootstrap" or kw["nan_policy"] != "pairwise":
        return None
    items = kw["items"]
    if items is None:
        names = engine_frame(data).collect_schema().names()  # type: ignore[union-attr]
        items = [c for c in names if c != kw["community"]]
    return {"items": _names(items), "keys": kw["keys"], "scale_range": kw["scale_range"],
            "community": kw["community"], "wave": None}  # fmt: skip


def _oneway(data: Any, kw: dict[str, Any]) -> Spec:
    community = _single(kw["community"])
    if community is None:
        return None
    return {"items": _names(kw["dv"]), "keys": None, "scale_range": None,
            "community": community, "wave": None}  # fmt: skip


def _ri(data: Any, kw: dict[str, Any]) -> Spec:
    return {"items": _names(kw["dv"]), "keys": kw["keys"], "scale_range": kw["scale_range"],
            "community": kw["community"], "wave": None}  # fmt: skip


def _aggregate(data: Any, kw: dict[str, Any]) -> Spec:
    if kw["weight"] is not None or kw["design"] is not None:
        return None
    columns = kw["columns"]
    if columns is None:
        schema = engine_frame(data).collect_schema()  # type: ignore[union-attr]
        skip = {kw["community"], kw["wave"]}
        columns = [
            c
            for c, dtype in schema.items()
            if c not in skip
            and not str(c).startswith("n_answered_")
            and dtype.is_numeric()
            and dtype != nw.Boolean
        ]
    if not columns:
        return None  # the row path reports "no numeric score columns"
    kw["columns"] = _names(columns)
    return {"items": kw["columns"], "keys": None, "scale_range": None,
            "community": kw["community"], "wave": kw["wave"]}  # fmt: skip


def _waves(data: Any, kw: dict[str, Any]) -> Spec:
    if kw["paired_on"] is not None or kw["weight"] is not None or kw["design"] is not None:
        return None
    return {"items": [kw["dv"]], "keys": None, "scale_range": None,
            "community": kw["community"], "wave": kw["wave"]}  # fmt: skip


def _change_model(data: Any, kw: dict[str, Any]) -> Spec:
    if any(kw[o] is not None for o in ("time", "covariates", "comparison", "respondent")):
        return None
    return {"items": [kw["dv"]], "keys": None, "scale_range": None,
            "community": kw["community"], "wave": kw["wave"]}  # fmt: skip


def _items(data: Any, kw: dict[str, Any]) -> Spec:
    """item_statistics, omega (minres, pairwise): the summary with its detail sums."""
    if kw.get("method", "minres") != "minres" or (kw["nan_policy"] or "pairwise") != "pairwise":
        return None
    base = {"weight": kw.get("weight"), "ci_method": None, "nan_policy": "pairwise",
            "community": None, "scale_range": kw.get("scale_range")}  # fmt: skip
    spec = _alpha(data, {**kw, **base})
    return None if spec is None else {**spec, "detail": True}


def _ecometric(data: Any, kw: dict[str, Any]) -> Spec:
    """ecometric without covariates or bootstrap: the summary with its ecometric sums."""
    if kw["covariates"] or kw["n_boot"] is not None:
        return None
    return {"items": _names(kw["items"]), "keys": kw["keys"], "scale_range": kw["scale_range"],
            "community": kw["community"], "wave": None, "respondent": kw["respondent"],
            "ecometric": True}  # fmt: skip


ENGINE_SPECS: dict[str, Callable[[Any, dict[str, Any]], Spec]] = {
    "item_statistics": _items,
    "omega": _items,
    "rwg": lambda data, kw: None,  # the options check needs the answers: the frame is collected
    "rwg_j": lambda data, kw: None,
    "cronbach_alpha": _alpha,
    "icc": _oneway,
    "group_reliability": _oneway,
    "random_intercept": _ri,
    "aggregate": _aggregate,
    "compare_waves": _waves,
    "change_model": _change_model,
    "ecometric": _ecometric,
}


def route(name: str) -> Callable[..., Any]:
    """The summary path of the statistic ``name``."""
    from collective_efficacy.summaries._routes import ROUTES
    from collective_efficacy.summaries._routes_agreement import ROUTES_AGREEMENT
    from collective_efficacy.summaries._routes_ecometric import ROUTES_ECOMETRIC
    from collective_efficacy.summaries._routes_items import ROUTES_ITEMS
    from collective_efficacy.summaries._waves import change_model, compare_waves

    return {
        **ROUTES,
        **ROUTES_ITEMS,
        **ROUTES_AGREEMENT,
        **ROUTES_ECOMETRIC,
        "compare_waves": compare_waves,
        "change_model": change_model,
    }[name]

"""Planning parameters read from a fitted baseline (private).

Accepts an :class:`~collective_efficacy.Evaluation`, an ``ecometric`` /
``random_intercept`` result or a ``change_model`` result, refuses a fit that did not converge,
and returns the variance components the planning formulas need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.evaluation import Evaluation
from collective_efficacy.multilevel._models import (
    ChangeModel,
    EcometricResult,
    RandomInterceptResult,
)

__all__ = ["Baseline", "EcometricParts", "ecometric_parts", "from_fit"]


@dataclass(frozen=True)
class Baseline:
    """What the change formulas need: within-community SD, ICC(1), change variance, K."""

    sd: float
    icc: float
    var_change: float | None
    n_communities: int | None
    source: str


@dataclass(frozen=True)
class EcometricParts:
    """Raudenbush-Sampson variance components and the instrument's number of items."""

    tau_beta: float
    tau_pi: float
    sigma2: float
    n_items: int


def _not_converged(what: str) -> DataError:
    return DataError(
        f"fit: the {what} did not converge, so its variance components are not estimates to "
        "plan with; refit it (or give icc= and sd= explicitly)",
        argument="fit",
    )


def _last(table: pd.DataFrame, what: str) -> pd.Series:
    if table.empty:
        raise DataError(f"fit: the Evaluation has no {what!r} section to plan from", argument="fit")
    return table.iloc[-1]


def _evaluation(ev: Evaluation) -> Baseline:
    tables = ev.tables
    agg = _last(tables.get("aggregation", pd.DataFrame()), "aggregation")
    icc = float(agg["icc1"])
    sd = math.sqrt(float(agg["msw"]))
    var_change = None
    fit = tables.get("change_model_fit", pd.DataFrame())
    if not fit.empty and bool(fit.iloc[0].get("converged", False)):
        var_change = float(fit.iloc[0]["var_change"])
    change = tables.get("change", pd.DataFrame())
    k = None
    if not change.empty and "level" in change:
        rows = change[(change["level"] == "community") & ~change["suppressed"].astype(bool)]
        k = len(rows)
    wave = agg.get("wave", "last wave")
    return Baseline(sd, icc, var_change, k, f"Evaluation ({wave}: ICC(1), within SD = sqrt(MSW))")


def from_fit(fit: Any) -> Baseline:
    """The change-planning parameters of ``fit`` (raises DataError on a non-converged fit)."""
    if isinstance(fit, Evaluation):
        return _evaluation(fit)
    if isinstance(fit, ChangeModel):
        if not fit.converged:
            raise _not_converged("change model")
        vc = fit.variance_components
        within = vc.sigma2 + (vc.var_respondent or 0.0)
        icc = vc.var_intercept / (vc.var_intercept + within)
        return Baseline(math.sqrt(within), icc, vc.var_change, fit.n_communities, "change_model")
    if isinstance(fit, RandomInterceptResult):
        if not fit.diagnostics.converged:
            raise _not_converged("random-intercept model")
        ri = fit.variance_components
        return Baseline(math.sqrt(ri.sigma2), ri.icc, None, fit.n_groups, "random_intercept")
    if isinstance(fit, EcometricResult):
        raise DataError(
            "fit: an ecometric result has item-level variances, not the SD of a scale score; "
            "plan a change from an Evaluation, a random_intercept or a change_model fit",
            argument="fit",
        )
    raise DataError(
        "fit must be an Evaluation or a random_intercept, ecometric or change_model result; "
        f"got {type(fit).__name__}",
        argument="fit",
    )


def ecometric_parts(fit: Any) -> EcometricParts | None:
    """The ecometric variance components of ``fit``, or None when it has none."""
    if isinstance(fit, EcometricResult):
        if not fit.diagnostics.converged:
            raise _not_converged("ecometric model")
        vc = fit.variance_components
        return EcometricParts(vc.tau_beta, vc.tau_pi, vc.sigma2, len(fit.items))
    if isinstance(fit, Evaluation):
        tables = fit.tables
        eco = tables.get("ecometric", pd.DataFrame())
        rel = tables.get("reliability", pd.DataFrame())
        if eco.empty or rel.empty:
            return None
        row = eco.iloc[-1]
        if not bool(row.get("converged", True)):
            raise _not_converged("ecometric model of the Evaluation")
        n_items = int(rel.iloc[-1]["n_items"])
        return EcometricParts(
            float(row["tau_beta"]), float(row["tau_pi"]), float(row["sigma2"]), n_items
        )
    return None


def icc_of(fit: Any) -> float:
    """ICC(1) of ``fit`` for the Spearman-Brown formula."""
    return from_fit(fit).icc

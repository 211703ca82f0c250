"""The options of one evaluation as one typed, frozen object (private).

:func:`~collective_efficacy.evaluation.evaluate` keeps its keyword options (the public contract,
constraints declared through :func:`collective_efficacy._params.public`); it resolves them once
into an :class:`EvaluationOptions` -- per-wave arguments split per wave, column arguments as
text, the instrument loaded and the scale chosen, ``weight`` / ``design`` as one design, the
sections skipped on request -- and every internal step takes that object instead of repeating
the argument list.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from collective_efficacy.errors import DataError
from collective_efficacy.evaluation._inputs import per_wave, per_wave_columns
from collective_efficacy.evaluation._sections import BEFORE
from collective_efficacy.evaluation._weights import resolve as resolve_weights
from collective_efficacy.instrument import Instrument, load_instrument
from collective_efficacy.responses._checks import column_name
from collective_efficacy.survey_design import SurveyDesign

__all__ = ["EvaluationOptions", "omitted_sections", "resolve_options"]


class EvaluationOptions(BaseModel):
    """Everything an evaluation was asked to do, resolved once (private; not serialised).

    Attributes
    ----------
    instrument : Instrument
        The loaded instrument.
    scale : str
        The scale evaluated (checked to be one of the instrument's).
    community : dict
        The community column of each wave (``{"baseline": ..., "end_of_cycle": ...}``), as text.
    respondent : str or None
        The respondent id column, as text.
    columns : dict
        Each wave's column map (your column -> item id), or None.
    date : dict or None
        Each wave's date column, or None (no ``date=`` given).
    assessments : DataFrame, str, Path or None
        The programme lead's ratings (None when not given or ``skip_impact``).
    wave_labels : tuple
        ``(wave, before, after)`` of the assessments.
    geometry : dict, str, Path or None
        The communities' shapes (None when not given, ``skip_map`` or ``skip_impact``).
    geometry_key : str or None
        The feature property with the community name, as given (see :attr:`map_key`).
    cutpoints : tuple of float or None
        The cohesion cut-points given (None: the default on the scale's range).
    comparison : str, DataFrame, Path or None
        The comparison communities (a column, or a table).
    min_n : int
        The privacy threshold.
    ci : float
        The confidence level of every interval.
    p_adjust : str
        The multiplicity correction of the per-community tests.
    omitted : dict
        The report sections left out on request, with why.
    design : SurveyDesign or None
        The survey design (``weight=`` and ``design=`` as one), None when unweighted.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="forbid")

    instrument: Instrument
    scale: str
    community: dict[str, str]
    respondent: str | None
    columns: dict[str, dict[str, str] | None]
    date: dict[str, Any] | None
    assessments: pd.DataFrame | str | Path | None
    wave_labels: tuple[Any, Any, Any]
    geometry: Mapping[str, Any] | str | Path | None
    geometry_key: str | None
    cutpoints: tuple[float, ...] | None
    comparison: str | pd.DataFrame | Path | None
    min_n: int
    ci: float
    p_adjust: str
    omitted: dict[str, str]
    design: SurveyDesign | None

    @property
    def column(self) -> str:
        """The community column of the results: named as the baseline file names it."""
        return self.community[BEFORE]

    @property
    def map_key(self) -> str:
        """The feature property joined to the communities (default: the community column)."""
        return self.geometry_key or self.column


def omitted_sections(skip_impact: bool, skip_map: bool, has_geometry: bool) -> dict[str, str]:
    """The sections left out on request, with why (the report puts a notice in their place)."""
    out = {"impact": "skipped"} if skip_impact else {}
    if skip_map:
        out["map"] = "skipped"
    elif skip_impact and has_geometry:
        out["map"] = "no_impact_levels"
    return out


def _scale_of(inst: Instrument, scale: str | None) -> str:
    """The scale to evaluate: the one asked for (checked), else ``collective_efficacy`` when
    the instrument has it, else its last scale."""
    if scale is None:
        ids = [s.id for s in inst.scales]
        if not ids:
            raise DataError(f"instrument {inst.id!r} defines no scale to evaluate")
        scale = "collective_efficacy" if "collective_efficacy" in ids else ids[-1]
    inst.scale(scale)
    return scale


def resolve_options(arguments: Mapping[str, Any]) -> EvaluationOptions:
    """:func:`evaluate`'s keyword arguments (by name) as one :class:`EvaluationOptions`.

    Resolved in the order the checks always ran: the design, the respondent column, the
    instrument and its scale, then the per-wave arguments (community, columns, date).
    """
    a = arguments
    design = resolve_weights(a["weight"], a["design"])
    respondent = column_name(a["respondent"])  # any column label, as text
    inst = load_instrument(a["instrument"])
    scale = _scale_of(inst, a["scale"])
    skip_impact, skip_map = bool(a["skip_impact"]), bool(a["skip_map"])
    cutpoints = a["cutpoints"]
    return EvaluationOptions(
        instrument=inst,
        scale=scale,
        community={
            w: str(column_name(c)) for w, c in per_wave(a["community"], "community").items()
        },
        respondent=respondent,
        columns=per_wave_columns(a["columns"]),
        date=per_wave(a["date"], "date") if a["date"] is not None else None,
        assessments=None if skip_impact else a["assessments"],
        wave_labels=(a["wave"], a["before"], a["after"]),
        geometry=None if skip_map or skip_impact else a["geometry"],
        geometry_key=a["geometry_key"],
        cutpoints=tuple(cutpoints) if cutpoints is not None else None,
        comparison=a["comparison"],
        min_n=int(a["min_n"]),
        ci=float(a["ci"]),
        p_adjust=a["p_adjust"],
        omitted=omitted_sections(skip_impact, skip_map, a["geometry"] is not None),
        design=design,
    )

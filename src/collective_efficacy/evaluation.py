"""The baseline-versus-end-of-cycle evaluation: one call from two survey files to all results.

:func:`evaluate` only chains public functions (validate, score, aggregate, cronbach_alpha, icc,
compare_waves, ...); the report in :mod:`collective_efficacy.export.report` only formats the
:class:`Evaluation` it returns. No respondent-level rows are stored in an Evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .errors import CollectiveEfficacyError, DataError
from .instrument import Instrument, load_instrument
from .responses import ValidatedResponses, validate
from .scoring import aggregate, score

__all__ = ["Evaluation", "evaluate"]

_WAVE = "_wave"
BEFORE, AFTER = "baseline", "end_of_cycle"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: NaN -> None, numpy scalars -> Python."""
    out = []
    for rec in df.to_dict("records"):
        clean: dict[str, Any] = {}
        for k, v in rec.items():
            if v is pd.NA or v is pd.NaT:
                clean[str(k)] = None
            elif isinstance(v, (np.floating, float)):
                clean[str(k)] = None if math.isnan(float(v)) else float(v)
            elif isinstance(v, np.integer):
                clean[str(k)] = int(v)
            elif isinstance(v, np.bool_):
                clean[str(k)] = bool(v)
            else:
                clean[str(k)] = v if v is None or isinstance(v, (str, int, bool)) else str(v)
        out.append(clean)
    return out


class WaveSummary(BaseModel):
    """Data quality of one wave."""

    model_config = ConfigDict(extra="forbid")

    wave: str
    source: str
    n_rows_in: int
    n_rows_usable: int
    n_rows_excluded: int
    exclusions: dict[str, int]
    n_problems: int
    problems: list[str]
    n_communities: int


class Evaluation(BaseModel):
    """All results of a baseline-versus-end-of-cycle evaluation (JSON-ready).

    Tables are stored as lists of records; :attr:`tables` gives them as DataFrames. Communities
    below ``min_n`` respondents carry no statistics anywhere (``suppressed=True``).
    """

    model_config = ConfigDict(extra="forbid")

    instrument_id: str
    instrument_version: str
    instrument_title: str
    scale: str
    community: str
    min_n: int
    waves: list[WaveSummary]
    sections: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: pd.DataFrame(rows) for name, rows in self.sections.items()}

    def to_json(self, path: str | Path | None = None) -> str:
        text = self.model_dump_json(indent=2)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_markdown(self, path: str | Path | None = None, *, lang: str = "en") -> str:
        from .export.report import render_markdown

        text = render_markdown(self, lang=lang)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None, *, lang: str = "en") -> str:
        from .export.report import render_html

        text = render_html(self, lang=lang)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def _validate_wave(
    data: pd.DataFrame | str | Path,
    inst: Instrument,
    *,
    label: str,
    community: str,
    respondent: str | None,
    columns: Mapping[str, str] | None,
) -> ValidatedResponses:
    source = Path(data).name if isinstance(data, (str, Path)) else label
    if isinstance(data, pd.DataFrame) and data.empty:
        raise DataError(f"the {label} data is empty; expected one row per respondent")
    return validate(
        data,
        inst,
        community=community,
        respondent=respondent,
        columns=columns,
        errors="exclude",
        source=source,
    )


def evaluate(
    baseline: pd.DataFrame | str | Path,
    end_of_cycle: pd.DataFrame | str | Path,
    *,
    instrument: Instrument | str | Path = "sampson1997",
    community: str,
    respondent: str | None = None,
    columns: Mapping[str, str] | None = None,
    assessments: pd.DataFrame | None = None,
    scale: str | None = None,
    min_n: int = 10,
    ci: float = 0.95,
    p_adjust: str = "holm",
    seed: int = 0,
) -> Evaluation:
    """Evaluate the change in collective efficacy between two survey waves, per community.

    Parameters
    ----------
    baseline, end_of_cycle : DataFrame or path
        The two measurements (CSV, XLSX, SAV, DTA, Parquet or a DataFrame), one row per
        respondent. Both must use the same instrument and column names.
    instrument : Instrument, id or path, default="sampson1997"
    community : str
        The community column (same name in both files).
    respondent : str, optional
        Respondent id column; when given, ids are checked for duplicates.
    columns : mapping, optional
        Your column names -> item ids (see :func:`validate`).
    scale : str, optional
        The scale to evaluate (default: ``collective_efficacy`` when the instrument has it,
        else its last scale).
    min_n : int, default=10
        Communities with fewer respondents in a wave are suppressed everywhere (privacy).
    assessments : DataFrame, optional
        The programme lead's ratings (instrument ``strongpact_assessment``) with columns
        ``community`` (same name), ``wave`` (``"baseline"`` / ``"end_of_cycle"``),
        ``partner_cooperation`` and ``group_development``. Without it the impact levels are
        survey-only (capped at 2 and labelled so).
    ci, p_adjust, seed
        Confidence level, multiplicity correction across communities, and the seed of any
        resampling.

    Returns
    -------
    Evaluation
        Data quality per wave, reliability per wave, aggregation evidence, the overall and the
        per-community change; ``.to_html()``, ``.to_markdown()``, ``.to_json()``.
    """
    inst = load_instrument(instrument)
    if scale is None:
        ids = [s.id for s in inst.scales]
        if not ids:
            raise DataError(f"instrument {inst.id!r} defines no scale to evaluate")
        scale = "collective_efficacy" if "collective_efficacy" in ids else ids[-1]
    inst.scale(scale)
    vb = _validate_wave(
        baseline, inst, label=BEFORE, community=community, respondent=respondent, columns=columns
    )
    va = _validate_wave(
        end_of_cycle, inst, label=AFTER, community=community, respondent=respondent, columns=columns
    )
    waves = []
    frames = []
    items = inst.scale(scale).items
    for label, v in ((BEFORE, vb), (AFTER, va)):
        r = v.report
        waves.append(
            WaveSummary(
                wave=label,
                source=r.source,
                n_rows_in=r.n_rows_in,
                n_rows_usable=r.n_rows_usable,
                n_rows_excluded=r.n_rows_excluded,
                exclusions=r.exclusions_by_reason(),
                n_problems=len(r.problems),
                problems=[str(p) for p in r.problems[:20]],
                n_communities=int(v.data[community].nunique()),
            )
        )
        s = score(v, scales=[scale])
        s[_WAVE] = label
        s = pd.concat([s, v.data[items]], axis=1)
        frames.append(s)
    if vb.data.empty or va.data.empty:
        raise DataError("one of the waves has no usable rows; see the validation report")
    scores = pd.concat(frames, ignore_index=True)
    if respondent is not None:
        scores = scores.drop(columns=[respondent])
    sections: dict[str, list[dict[str, Any]]] = {}
    notes: dict[str, str] = {}

    table = aggregate(
        scores[[community, _WAVE, scale]], community=community, wave=_WAVE, min_n=min_n, ci=ci
    )
    sections["community_scores"] = _records(table.rename(columns={_WAVE: "wave"}))
    only = set(vb.data[community]) ^ set(va.data[community])
    if only:
        notes["communities_in_one_wave"] = (
            f"{len(only)} communit{'y is' if len(only) == 1 else 'ies are'} measured in one wave "
            "only; no change can be computed for them (listed with n = 0 in the other wave)."
        )

    from .impact import impact_levels

    try:
        levels = impact_levels(
            table.rename(columns={_WAVE: "wave"}),
            assessments,
            community=community,
            wave="wave",
        )
        sections["impact"] = _records(levels)
    except CollectiveEfficacyError as exc:
        notes["impact"] = str(exc)

    _add_statistics(
        scores, inst, scale, items, community, min_n, ci, p_adjust, seed, sections, notes
    )
    return Evaluation(
        instrument_id=inst.id,
        instrument_version=inst.version,
        instrument_title=inst.title_in("en"),
        scale=scale,
        community=community,
        min_n=min_n,
        waves=waves,
        sections=sections,
        notes=notes,
    )


def _add_statistics(
    scores: pd.DataFrame,
    inst: Instrument,
    scale: str,
    items: list[str],
    community: str,
    min_n: int,
    ci: float,
    p_adjust: str,
    seed: int,
    sections: dict[str, list[dict[str, Any]]],
    notes: dict[str, str],
) -> None:
    """Reliability, aggregation evidence and change; each section notes why it is absent."""
    from . import agreement, change, reliability

    keys = inst.keys(scale)
    rel, agr = [], []
    for label in (BEFORE, AFTER):
        part = scores[scores[_WAVE] == label]
        try:
            a = reliability.cronbach_alpha(part, items, keys=keys, ci=ci)
            a.insert(0, "wave", label)
            rel.append(a)
        except CollectiveEfficacyError as exc:
            notes[f"reliability_{label}"] = str(exc)
        try:
            i = agreement.icc(part, scale, community)
            i.insert(0, "wave", label)
            agr.append(i)
        except CollectiveEfficacyError as exc:
            notes[f"icc_{label}"] = str(exc)
    if rel:
        sections["reliability"] = _records(pd.concat(rel, ignore_index=True))
    if agr:
        sections["aggregation"] = _records(pd.concat(agr, ignore_index=True))
    try:
        cmp = change.compare_waves(
            scores,
            scale,
            wave=_WAVE,
            community=community,
            before=BEFORE,
            after=AFTER,
            ci=ci,
            p_adjust=p_adjust,
            min_n=min_n,
        )
        sections["change"] = _records(cmp)
    except CollectiveEfficacyError as exc:
        notes["change"] = str(exc)

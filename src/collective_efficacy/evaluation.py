"""The baseline-versus-end-of-cycle evaluation: one call from two survey files to all results.

:func:`evaluate` only chains public functions (validate, score, aggregate, cronbach_alpha, icc,
compare_waves, ...); the report in :mod:`collective_efficacy.export.report` only formats the
:class:`Evaluation` it returns. No respondent-level rows are stored in an Evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from ._evaluation_sections import AFTER, BEFORE, WAVE, records, statistics_sections
from ._responses_checks import column_name
from .disclosure import (
    ABSENT_REASON,
    counts_publishable,
    hide_suppressed,
    secondary_suppression,
    shown_respondents,
)
from .errors import CollectiveEfficacyError, DataError
from .impact import DEFAULT_CUTPOINTS
from .instrument import Instrument, load_instrument
from .io import read_responses
from .report_models import Problem
from .responses import ValidatedResponses, validate
from .scoring import aggregate, score

__all__ = ["Evaluation", "evaluate"]

_WAVE = WAVE
_records = records


class WaveSummary(BaseModel):
    """Data quality of one wave.

    ``n_rows_in`` and ``n_rows_usable`` are None (withheld) when, with the shown communities
    subtracted, they would narrow the size of a suppressed community (see
    :func:`collective_efficacy.disclosure.counts_publishable`); dates are those of the shown
    communities' respondents.
    """

    model_config = ConfigDict(extra="forbid")

    wave: str
    source: str
    n_rows_in: int | None = Field(description="rows read (None: withheld for privacy)")
    n_rows_usable: int | None = Field(description="rows used (None: withheld for privacy)")
    n_rows_excluded: int
    exclusions: dict[str, int]
    n_problems: int
    problems: list[str]
    n_communities: int
    date_first: str | None = Field(default=None, description="earliest answer date (ISO)")
    date_last: str | None = Field(default=None, description="latest answer date (ISO)")
    n_dates_unreadable: int = Field(
        default=0, description="rows of shown communities whose date was unreadable"
    )
    normalised_labels: dict[str, str] = Field(
        default_factory=dict,
        description="community label as in the file -> label used (NFC, trimmed, spaces)",
    )
    notes: list[str] = Field(default_factory=list, description="how the file was read")


class Evaluation(BaseModel):
    """All results of a baseline-versus-end-of-cycle evaluation (JSON-ready).

    Tables are stored as lists of records; :attr:`tables` gives them as DataFrames. Communities
    below ``min_n`` respondents carry no statistics anywhere (``suppressed=True``), and every
    figure here may be published: it has passed :mod:`collective_efficacy.disclosure` (pooled
    statistics use the shown communities only; see the *Privacy* page).
    """

    model_config = ConfigDict(extra="forbid")

    instrument_id: str
    instrument_version: str
    instrument_title: str
    instrument_titles: dict[str, str] = Field(
        default_factory=dict, description="the instrument's title per language"
    )
    scale: str
    scale_range: tuple[float, float] | None = Field(
        default=None, description="lowest and highest possible score of the scale (e.g. 1-5)"
    )
    community: str
    min_n: int
    confidence: float = 0.95
    p_adjust: str = "holm"
    waves: list[WaveSummary]
    sections: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    notes: dict[str, str] = Field(default_factory=dict)
    geometry: dict[str, Any] | None = Field(
        default=None,
        description="GeoJSON FeatureCollection of the communities (for the maps), or None",
    )
    geometry_key: str | None = Field(
        default=None, description="feature property holding the community name"
    )

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every section as a tidy DataFrame, by section name."""
        return {name: pd.DataFrame(rows) for name, rows in self.sections.items()}

    def to_json(self, path: str | Path | None = None) -> str:
        """The whole evaluation as JSON (written to ``path`` when given)."""
        text = self.model_dump_json(indent=2)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_markdown(self, path: str | Path | None = None, *, lang: str = "en") -> str:
        """The report as Markdown, in ``lang`` ("en" or "nl"); written to ``path`` when given."""
        from .export.report import render_markdown

        text = render_markdown(self, lang=lang)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None, *, lang: str = "en") -> str:
        """The report as one self-contained HTML page (figures embedded), in ``lang``."""
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
) -> tuple[pd.DataFrame, ValidatedResponses]:
    source = Path(data).name if isinstance(data, (str, Path)) else data.attrs.get("source", label)
    if isinstance(data, (str, Path)):
        data = read_responses(data)
    if isinstance(data, pd.DataFrame) and data.empty:
        raise DataError(f"the {label} data is empty; expected one row per respondent")
    return data, validate(
        data,
        inst,
        community=community,
        respondent=respondent,
        columns=columns,
        errors="exclude",
        source=source,
    )


def _dates(raw: pd.DataFrame, used: pd.Index, date: str, label: str) -> dict[str, Any]:
    """First and last answer date of the rows used; unreadable dates are counted, not guessed."""
    if date not in raw.columns:
        raise DataError(
            f"date column {date!r} is not in the {label} data; columns are {list(raw.columns)}",
            argument="date",
        )
    values = raw.loc[used, date]
    # ISO dates (2026-04-01) first; the rest as day-first dates (01-04-2026), the Dutch order
    d = pd.to_datetime(values, errors="coerce", format="ISO8601")
    rest = d.isna() & values.notna()
    if rest.any():
        d[rest] = pd.to_datetime(values[rest], errors="coerce", dayfirst=True, format="mixed")
    ok = d.dropna()
    return {
        "date_first": ok.min().date().isoformat() if len(ok) else None,
        "date_last": ok.max().date().isoformat() if len(ok) else None,
        "n_dates_unreadable": int(d.isna().sum()),
    }


def evaluate(
    baseline: pd.DataFrame | str | Path,
    end_of_cycle: pd.DataFrame | str | Path,
    *,
    instrument: Instrument | str | Path = "sampson1997",
    community: str,
    respondent: str | None = None,
    columns: Mapping[str, str] | None = None,
    assessments: pd.DataFrame | None = None,
    geometry: Mapping[str, Any] | str | Path | None = None,
    geometry_key: str | None = None,
    date: str | None = None,
    scale: str | None = None,
    cutpoints: Sequence[float] | None = None,
    min_n: int = 10,
    ci: float = 0.95,
    p_adjust: str = "holm",
    progress: bool = False,
) -> Evaluation:
    """Evaluate the change in collective efficacy between two survey waves, per community.

    Parameters
    ----------
    baseline, end_of_cycle : DataFrame or path
        The two measurements (CSV, XLSX, SAV, DTA, Parquet or a DataFrame), one row per
        respondent. Both must use the same instrument and column names. Not modified.
    instrument : Instrument, id or path, default="sampson1997"
    community : str
        The community column (same name in both files).
    respondent : str, optional
        Respondent id column; when given, ids are checked for duplicates.
    columns : mapping, optional
        Your column names -> item ids (see :func:`validate`).
    assessments : DataFrame, optional
        The programme lead's ratings (instrument ``strongpact_assessment``) with columns
        ``community`` (same name), ``wave`` (``"baseline"`` / ``"end_of_cycle"``),
        ``partner_cooperation`` and ``group_development``. Without it the impact levels are
        survey-only (capped at 2 and labelled so).
    geometry : dict or path, optional
        GeoJSON FeatureCollection of the communities; the report then maps the impact levels of
        each wave (suppressed communities are drawn without a level).
    geometry_key : str, optional
        The feature property with the community name (default: ``community``).
    date : str, optional
        A column with the date of each answer; the report then gives each wave's first and
        last date. ISO dates (``2026-04-01``) are read as such, other text day first
        (``01-04-2026`` is 1 April, the Dutch order); unreadable dates are counted in
        ``waves[i].n_dates_unreadable``.
    scale : str, optional
        The scale to evaluate (default: ``collective_efficacy`` when the instrument has it,
        else its last scale).
    cutpoints : sequence of 5 floats, optional
        Cut-points of the cohesion level of the impact scale, on the scale's score range
        (default: :data:`DEFAULT_CUTPOINTS`, defined on the 1-5 mean, moved linearly onto the
        scale's range, e.g. 0-10 for a rescaled scale).
    min_n : int, default=10
        Communities with fewer respondents in a wave are suppressed everywhere (privacy): no
        score, n, change, rating or level is shown for them. In a wave with such a
        community the smallest shown community is suppressed too (secondary suppression). Pooled statistics (reliability, item
        tables, ICC, agreement, ecometrics, the overall change) use the shown communities
        only, and a wave's counts of rows are withheld when they would narrow a suppressed
        community's size (:mod:`collective_efficacy.disclosure`).
    ci : float, default=0.95
        Confidence level of every interval.
    p_adjust : str, default="holm"
        Multiplicity correction of the per-community tests (see :func:`p_adjust`).
    progress : bool, default=False
        Show a progress bar of the steps on standard error (needs ``tqdm``; the command line
        turns it on when standard error is a terminal).

    Returns
    -------
    Evaluation
        Sections (``.tables`` as DataFrames): ``community_scores``, ``impact``,
        ``impact_change``, ``reliability``, ``item_statistics``, ``omega``, ``aggregation``
        (ICC), ``agreement`` (rwg(j)/AD summary), ``community_agreement``, ``ecometric`` and
        ``change`` (per community plus the overall multilevel row); ``notes`` say why a
        section is missing and carry the statistics' warnings. ``.to_html()``,
        ``.to_markdown()``, ``.to_json()``.

    Notes
    -----
    Only public functions are chained: :func:`validate` (``errors="exclude"``: every excluded
    row is counted with its reason in ``waves``), :func:`score`, :func:`aggregate`,
    :func:`cronbach_alpha`, :func:`item_statistics`, :func:`omega`, :func:`icc`,
    :func:`rwg_j`, :func:`ad_index`, :func:`ecometric`, :func:`compare_waves`,
    :func:`impact_levels` and :func:`impact_change`. Reliability, agreement and the ecometric
    model are computed per wave. No respondent-level rows are stored.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> before, after = ce.datasets.load_example(split=True)
    >>> ev = ce.evaluate(before, after, community="buurt", respondent="respondent_id",
    ...                  columns=ce.datasets.EXAMPLE_COLUMNS)
    >>> [w.n_rows_in for w in ev.waves]  # end of cycle: would reveal a suppressed community
    [1196, None]
    >>> ev.tables["change"].iloc[-1][["level", "method"]].tolist()
    ['overall', 'lmm_reml']
    """
    steps = ["validate", "score", "reliability", "aggregation evidence", "ecometric model"]
    steps += ["change", "impact"]
    bar = _progress(progress, len(steps))

    def step(name: str) -> None:
        if bar is not None:
            bar.set_description(name)
            bar.update(1)

    try:
        return _evaluate(
            baseline,
            end_of_cycle,
            instrument=instrument,
            community=community,
            respondent=respondent,
            columns=columns,
            assessments=assessments,
            geometry=geometry,
            geometry_key=geometry_key,
            date=date,
            scale=scale,
            cutpoints=cutpoints,
            min_n=min_n,
            ci=ci,
            p_adjust=p_adjust,
            step=step,
        )
    finally:
        if bar is not None:
            bar.close()


def _progress(on: bool, total: int) -> Any:
    if not on:
        return None
    from .errors import require_extra

    require_extra("tqdm", "progress")
    from tqdm import tqdm

    return tqdm(total=total, unit="step", leave=False)


def _evaluate(
    baseline: pd.DataFrame | str | Path,
    end_of_cycle: pd.DataFrame | str | Path,
    *,
    instrument: Instrument | str | Path,
    community: str,
    respondent: str | None,
    columns: Mapping[str, str] | None,
    assessments: pd.DataFrame | None,
    geometry: Mapping[str, Any] | str | Path | None,
    geometry_key: str | None,
    date: str | None,
    scale: str | None,
    cutpoints: Sequence[float] | None,
    min_n: int,
    ci: float,
    p_adjust: str,
    step: Any,
) -> Evaluation:
    community, respondent = str(column_name(community)), column_name(respondent)  # any label
    inst = load_instrument(instrument)
    if scale is None:
        ids = [s.id for s in inst.scales]
        if not ids:
            raise DataError(f"instrument {inst.id!r} defines no scale to evaluate")
        scale = "collective_efficacy" if "collective_efficacy" in ids else ids[-1]
    inst.scale(scale)
    step("validate")
    raw_b, vb = _validate_wave(
        baseline, inst, label=BEFORE, community=community, respondent=respondent, columns=columns
    )
    raw_a, va = _validate_wave(
        end_of_cycle, inst, label=AFTER, community=community, respondent=respondent, columns=columns
    )
    step("score")
    notes: dict[str, str] = {}
    frames = []
    items = inst.scale(scale).items
    for label, v in ((BEFORE, vb), (AFTER, va)):
        s = score(v, scales=[scale])
        if len(s) and s[scale].isna().all():
            notes[f"no_scores_{label}"] = (
                f"No respondent of the {label} data answered enough items of scale {scale!r} "
                "to be scored (the scale's minimum of answered items): this wave has no scores."
            )
        s[_WAVE] = label
        frames.append(pd.concat([s, v.data[items]], axis=1))
    if vb.data.empty or va.data.empty:
        raise DataError("one of the waves has no usable rows; see the validation report")
    scores = pd.concat(frames, ignore_index=True)
    if respondent is not None:
        scores = scores.drop(columns=[respondent])
    sections: dict[str, list[dict[str, Any]]] = {}

    table = aggregate(
        scores[[community, _WAVE, scale]], community=community, wave=_WAVE, min_n=min_n, ci=ci
    ).rename(columns={_WAVE: "wave"})
    only = set(vb.data[community].unique()) ^ set(va.data[community].unique())
    if only:
        table = _with_absent_waves(table, community)
        notes["communities_in_one_wave"] = (
            f"{len(only)} communit{'y is' if len(only) == 1 else 'ies are'} measured in one wave "
            "only; no change can be computed for them (listed with n = 0 in the other wave)."
        )
    table = secondary_suppression(table, community=community, wave="wave", min_n=min_n)
    sections["community_scores"] = _records(table)
    # pooled statistics see the shown communities only: nothing to difference (disclosure)
    shown = shown_respondents(scores, table, community=community, wave=_WAVE, table_wave="wave")
    statistics_sections(
        shown, inst, scale, community, min_n, table, ci, p_adjust, sections, notes, step
    )
    step("impact")
    cuts = list(cutpoints) if cutpoints is not None else _cutpoints_for(inst, scale)
    _impact_sections(table, assessments, community, cuts, sections, notes)
    hide_suppressed(sections)
    parts = ((BEFORE, vb, raw_b), (AFTER, va, raw_a))
    waves = _wave_summaries(parts, table, community, date, min_n)
    geo = None
    if geometry is not None:
        from .export.geojson import read_geometry

        geo = read_geometry(geometry)
    return Evaluation(
        instrument_id=inst.id,
        instrument_version=inst.version,
        instrument_title=inst.title_in("en"),
        instrument_titles=dict(inst.title),
        scale=scale,
        scale_range=_scale_range(inst, scale),
        community=community,
        min_n=min_n,
        confidence=ci,
        p_adjust=p_adjust,
        waves=waves,
        sections=sections,
        notes=notes,
        geometry=geo,
        geometry_key=geometry_key,
    )


def _scale_range(inst: Instrument, scale: str) -> tuple[float, float]:
    """The score range of a mean-of-items scale: the lowest and highest answer codes."""
    rs = [inst.response_scale(i) for i in inst.scale(scale).items]
    return float(min(r.min for r in rs)), float(max(r.max for r in rs))


def _problem_text(p: Problem) -> str:
    """A validation problem without row labels or values (they are respondent-level data)."""
    where = f"column {p.column!r}" if p.column is not None else "rows"
    text = f"{where}: {p.code.replace('_', ' ')} ({p.n} {'cell' if p.column else 'row'}"
    text += "s)" if p.n != 1 else ")"
    if p.expected:
        text += f"; expected {p.expected}"
    return text


def _wave_summaries(
    parts: Sequence[tuple[str, ValidatedResponses, pd.DataFrame]],
    table: pd.DataFrame,
    community: str,
    date: str | None,
    min_n: int,
) -> list[WaveSummary]:
    """Data quality per wave; counts of rows only where they narrow no suppressed community."""
    used = pd.concat([v.data[[community]].assign(wave=label) for label, v, _ in parts])
    rows = used.groupby([community, "wave"], sort=False).size().rename("rows").reset_index()
    publish = counts_publishable(table, rows, community=community, wave="wave", min_n=min_n)
    out = []
    for label, v, raw in parts:
        r = v.report
        t = table[(table["wave"] == label) & ~table["suppressed"].astype(bool)]
        in_shown = v.data.index[v.data[community].isin(set(t[community]))]
        dates = _dates(raw, in_shown, date, label) if date is not None else {}
        ok = publish.get(label, True)
        out.append(
            WaveSummary(
                wave=label,
                source=r.source,
                n_rows_in=r.n_rows_in if ok else None,
                n_rows_usable=r.n_rows_usable if ok else None,
                n_rows_excluded=r.n_rows_excluded,
                exclusions=r.exclusions_by_reason(),
                n_problems=len(r.problems),
                problems=[_problem_text(p) for p in r.problems[:20]],
                n_communities=int(v.data[community].nunique()),
                normalised_labels=r.normalised_labels,
                notes=r.notes,
                **dates,
            )
        )
    return out


def _cutpoints_for(inst: Instrument, scale: str) -> list[float]:
    """The default cut-points (on the 1-5 mean) moved linearly onto the scale's score range."""
    sc = inst.scale(scale)
    codes = [c for i in sc.items for c in inst.response_scale(i).codes]
    lo, hi = float(min(codes)), float(max(codes))
    if sc.rule == "sum":
        lo, hi = lo * len(sc.items), hi * len(sc.items)
    elif sc.rescale is not None:
        lo, hi = (float(v) for v in sc.rescale)
    return [lo + (c - 1.0) / 4.0 * (hi - lo) for c in DEFAULT_CUTPOINTS]


def _with_absent_waves(table: pd.DataFrame, community: str) -> pd.DataFrame:
    """Give a community surveyed in one wave a row with n = 0 in the other (suppressed).

    No community disappears from a wave's table, and an assessment of that community in the
    wave it was not surveyed in still finds its row (and gets no level).
    """
    have = table.set_index([community, "wave"]).index
    full = pd.MultiIndex.from_product(
        [pd.unique(table[community]), [BEFORE, AFTER]], names=[community, "wave"]
    )
    absent = full.difference(have)
    if absent.empty:
        return table
    add = absent.to_frame(index=False).assign(
        scale=table["scale"].iloc[0], n=0, suppressed=True, reason=ABSENT_REASON
    )
    out = pd.concat([table, add], ignore_index=True)
    order = pd.Categorical(out["wave"], categories=[BEFORE, AFTER])
    return (
        out.assign(_order=order)
        .sort_values([community, "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def _impact_sections(
    table: pd.DataFrame,
    assessments: pd.DataFrame | None,
    community: str,
    cutpoints: list[float],
    sections: dict[str, list[dict[str, Any]]],
    notes: dict[str, str],
) -> None:
    """Impact levels per wave and their change (suppressed communities carry no level)."""
    from .impact import impact_change, impact_levels

    try:
        levels = impact_levels(
            table, assessments, community=community, wave="wave", cutpoints=cutpoints
        )
    except CollectiveEfficacyError as exc:
        notes["impact"] = str(exc)
        return
    sections["impact"] = _records(levels)
    try:
        ch = impact_change(
            levels[levels["wave"] == BEFORE].drop(columns=["wave"]),
            levels[levels["wave"] == AFTER].drop(columns=["wave"]),
            community=community,
        )
        sections["impact_change"] = _records(ch)
    except CollectiveEfficacyError as exc:
        notes["impact_change"] = str(exc)

"""The baseline-versus-end-of-cycle evaluation: one call from two survey files to all results.

:func:`evaluate` only chains public functions (validate, score, aggregate, cronbach_alpha, icc,
compare_waves, ...); the report in :mod:`collective_efficacy.report` only formats the
:class:`Evaluation` it returns. No respondent-level rows are stored in an Evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from collective_efficacy._messages import Message, Note, note_messages
from collective_efficacy._params import BOOLEAN, CI, WAVE_LABEL, Interval, Options, public
from collective_efficacy._version import Versioned
from collective_efficacy.change._stats import P_ADJUST_METHODS
from collective_efficacy.disclosure import (
    ABSENT_REASON,
    counts_publishable,
    hide_suppressed,
    secondary_suppression,
    shown_respondents,
)
from collective_efficacy.errors import CollectiveEfficacyError, DataError
from collective_efficacy.evaluation._change import (
    COMPARISON,
    change_model_sections,
    check_comparison,
    comparison_column,
)
from collective_efficacy.evaluation._inputs import (
    Inputs,
    per_wave,
    per_wave_columns,
    read_inputs,
    read_optional,
    wave_dates,
)
from collective_efficacy.evaluation._sections import (
    AFTER,
    BEFORE,
    WAVE,
    records,
    statistics_sections,
)
from collective_efficacy.impact import DEFAULT_CUTPOINTS
from collective_efficacy.instrument import Instrument, load_instrument
from collective_efficacy.responses._checks import column_name
from collective_efficacy.scoring import aggregate

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
    problem_messages: list[Message] = Field(
        default_factory=list, description="the problems keyed (code, column, count), for the report"
    )
    note_messages: list[Message] = Field(
        default_factory=list, description="the notes keyed (code + parameters), for the report"
    )


class Evaluation(Versioned):
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
    note_messages: dict[str, Message] = Field(
        default_factory=dict,
        description="the notes that have a catalogue message, by note key: the report shows "
        "them in its language (other notes are a statistic's English error or warning)",
    )
    geometry: dict[str, Any] | None = Field(
        default=None,
        description="GeoJSON FeatureCollection of the communities (for the maps), or None",
    )
    geometry_key: str | None = Field(
        default=None, description="feature property holding the community name"
    )
    omitted: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "report sections left out, with why: 'impact' or 'map' -> 'skipped' (the caller "
            "asked: skip_impact / skip_map), 'map' -> 'no_impact_levels' (nothing to map); "
            "the report shows a notice where the section would have been"
        ),
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
        from collective_efficacy.report import render_markdown

        text = render_markdown(self, lang=lang)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_html(self, path: str | Path | None = None, *, lang: str = "en") -> str:
        """The report as one self-contained HTML page (figures embedded), in ``lang``."""
        from collective_efficacy.report import render_html

        text = render_html(self, lang=lang)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


@public(
    constraints={
        "before": [WAVE_LABEL],
        "after": [WAVE_LABEL],
        "min_n": [Interval(Integral, 2, None)],
        "ci": [CI],
        "p_adjust": [Options(P_ADJUST_METHODS)],
        "skip_impact": [BOOLEAN],
        "skip_map": [BOOLEAN],
        "progress": [BOOLEAN],
    }
)
def evaluate(
    baseline: pd.DataFrame | str | Path,
    end_of_cycle: pd.DataFrame | str | Path,
    *,
    instrument: Instrument | str | Path = "sampson1997",
    community: str | Mapping[str, str],
    respondent: str | None = None,
    columns: Mapping[str, str] | Mapping[str, Mapping[str, str] | None] | None = None,
    assessments: pd.DataFrame | str | Path | None = None,
    wave: str | None = None,
    before: str = BEFORE,
    after: str = AFTER,
    geometry: Mapping[str, Any] | str | Path | None = None,
    geometry_key: str | None = None,
    date: str | Mapping[str, str] | None = None,
    scale: str | None = None,
    cutpoints: Sequence[float] | None = None,
    comparison: str | pd.DataFrame | Path | None = None,
    min_n: int = 10,
    ci: float = 0.95,
    p_adjust: str = "holm",
    skip_impact: bool = False,
    skip_map: bool = False,
    progress: bool = False,
) -> Evaluation:
    """Evaluate the change in collective efficacy between two survey waves, per community.

    Parameters
    ----------
    baseline, end_of_cycle : DataFrame or path
        The two measurements (CSV, XLSX, SAV, DTA, Parquet or a DataFrame), one row per
        respondent, of the same instrument. Not modified.
    instrument : Instrument, id or path, default="sampson1997"
    community : str or mapping
        The community column: one name for both files, or one per file,
        ``{"baseline": "buurt", "end_of_cycle": "wijk"}``. The results name the column as the
        baseline file does (``Evaluation.community``).
    respondent : str, optional
        Respondent id column; when given, ids are checked for duplicates.
    columns : mapping, optional
        Your column names -> item ids (see :func:`validate`): one map for both files, or one
        per file, ``{"baseline": {...}, "end_of_cycle": {...}}`` (a file left out has its
        columns named by item id).
    assessments : DataFrame or path, optional
        The programme lead's ratings (instrument ``strongpact_assessment``): columns
        ``partner_cooperation`` and ``group_development`` (and optionally the evidence counts),
        the community column of the surveys, and a wave column, e.g. the library's own format
        (:func:`~collective_efficacy.datasets.load_example_assessments`: ``buurt``, ``meting``
        with ``nulmeting`` / ``eindmeting``). Without it the impact levels are survey-only
        (capped at 2 and labelled so). Assessments that cannot be used raise, naming the file
        and the column.
    wave : str, optional
        The wave column of the assessments. Default: a column the assessments share with the
        two survey files that holds one label in each file (``meting``), else ``"wave"``.
    before, after : str, default="baseline", "end_of_cycle"
        The assessments' labels of the two waves. The labels the survey files carry in the
        wave column (``nulmeting`` / ``eindmeting``) are accepted too: the same wave map.
    geometry : dict or path, optional
        GeoJSON FeatureCollection of the communities; the report then maps the impact levels of
        each wave (suppressed communities are drawn without a level). Raises when no feature
        has the ``geometry_key`` property or none matches a community; communities without a
        shape are listed in ``notes["map"]``.
    geometry_key : str, optional
        The feature property with the community name (default: the community column).
    date : str or mapping, optional
        A column with the date of each answer (or one per file, as ``community``); the report
        then gives each wave's first and last date. ISO dates (``2026-04-01``) are read as
        such, other text day first (``01-04-2026`` is 1 April, the Dutch order); unreadable
        dates are counted in ``waves[i].n_dates_unreadable``. An absent column, or one without
        a readable date, raises.
    scale : str, optional
        The scale to evaluate (default: ``collective_efficacy`` when the instrument has it,
        else its last scale).
    cutpoints : sequence of 5 floats, optional
        Cut-points of the cohesion level of the impact scale, on the scale's score range
        (default: :data:`DEFAULT_CUTPOINTS`, defined on the 1-5 mean, moved linearly onto the
        scale's range, e.g. 0-10 for a rescaled scale).
    comparison : str, DataFrame or Path, optional
        Comparison communities (no programme): a column of both survey files, or a table (a
        DataFrame, or a :class:`~pathlib.Path` to a CSV/XLSX file) with the community column and
        one column; 1/True marks a comparison community, 0/False a programme community, one
        value per community. The change model then adds ``programme * change`` and the report
        leads with the programme effect (difference-in-differences, ``programme:change``).
    min_n : int, default=10
        Communities with fewer respondents in a wave are suppressed everywhere (privacy): no
        score, n, change, rating or level is shown for them. In a wave with such a
        community the smallest shown community is suppressed too (secondary suppression).
        Pooled statistics (reliability, item tables, ICC, agreement, ecometrics, the overall
        change) use the shown communities only, and a wave's counts of rows are withheld when
        they would narrow a suppressed community's size (:mod:`collective_efficacy.disclosure`).
    ci : float, default=0.95
        Confidence level of every interval.
    p_adjust : str, default="holm"
        Multiplicity correction of the per-community tests (see :func:`p_adjust`).
    skip_impact : bool, default=False
        Leave the impact levels (and so the maps) out; ``assessments`` is not read. The report
        says so where the section would have been (``Evaluation.omitted``).
    skip_map : bool, default=False
        Leave the maps out; ``geometry`` is not read (noted as ``skip_impact``).
    progress : bool, default=False
        Show a progress bar of the steps on standard error (needs ``tqdm``; the command line
        turns it on when standard error is a terminal).

    Returns
    -------
    Evaluation
        Sections (``.tables`` as DataFrames): ``community_scores``, ``impact``,
        ``impact_change``, ``reliability``, ``item_statistics``, ``omega``, ``aggregation``
        (ICC), ``agreement`` (rwg(j)/AD summary), ``community_agreement``, ``ecometric`` and
        ``change`` (per community plus the overall multilevel row; raw differences and Welch
        tests), ``change_model`` (per community: the empirical-Bayes change of
        :func:`change_model` with its interval, ``p_improved``, ``reliability`` and the
        verdict the report uses), ``change_model_fixed`` and ``change_model_fit``; ``notes``
        say why a statistics section is missing and carry the statistics' warnings; ``omitted`` lists
        the sections left out on request. ``.to_html()``, ``.to_markdown()``, ``.to_json()``.

    Raises
    ------
    CollectiveEfficacyError
        An input that was given but cannot be used: assessments (file, community or wave
        column, labels, ratings), geometry, the date column; the message names the file and
        the column and says what was expected. Pass ``skip_impact`` / ``skip_map`` to go on
        without that section.

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
    steps += ["change", "change model", "impact"]
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
            assessments=None if skip_impact else assessments,
            wave_labels=(wave, before, after),
            geometry=None if skip_map or skip_impact else geometry,
            geometry_key=geometry_key,
            date=date,
            scale=scale,
            cutpoints=cutpoints,
            comparison=comparison,
            min_n=min_n,
            ci=ci,
            p_adjust=p_adjust,
            step=step,
            omitted=_omitted(skip_impact, skip_map, geometry is not None),
        )
    finally:
        if bar is not None:
            bar.close()


def _omitted(skip_impact: bool, skip_map: bool, has_geometry: bool) -> dict[str, str]:
    """The sections left out on request, with why (the report puts a notice in their place)."""
    out = {"impact": "skipped"} if skip_impact else {}
    if skip_map:
        out["map"] = "skipped"
    elif skip_impact and has_geometry:
        out["map"] = "no_impact_levels"
    return out


def _progress(on: bool, total: int) -> Any:
    if not on:
        return None
    from collective_efficacy.errors import require_extra

    require_extra("tqdm", "progress")
    from tqdm import tqdm

    return tqdm(total=total, unit="step", leave=False)


def _evaluate(
    baseline: pd.DataFrame | str | Path,
    end_of_cycle: pd.DataFrame | str | Path,
    *,
    instrument: Instrument | str | Path,
    community: str | Mapping[str, str],
    respondent: str | None,
    columns: Mapping[str, str] | Mapping[str, Mapping[str, str] | None] | None,
    assessments: pd.DataFrame | str | Path | None,
    wave_labels: tuple[str | None, str, str],
    geometry: Mapping[str, Any] | str | Path | None,
    geometry_key: str | None,
    date: str | Mapping[str, str] | None,
    scale: str | None,
    cutpoints: Sequence[float] | None,
    comparison: str | pd.DataFrame | Path | None,
    min_n: int,
    ci: float,
    p_adjust: str,
    step: Any,
    omitted: dict[str, str],
) -> Evaluation:
    respondent = column_name(respondent)  # any column label, as text
    inst = load_instrument(instrument)
    if scale is None:
        ids = [s.id for s in inst.scales]
        if not ids:
            raise DataError(f"instrument {inst.id!r} defines no scale to evaluate")
        scale = "collective_efficacy" if "collective_efficacy" in ids else ids[-1]
    inst.scale(scale)
    step("validate")
    comm = {w: str(column_name(c)) for w, c in per_wave(community, "community").items()}
    inp = read_inputs(
        {BEFORE: baseline, AFTER: end_of_cycle},
        inst,
        scale,
        community=comm,
        respondent=respondent,
        columns=per_wave_columns(columns),
        date=per_wave(date, "date") if date is not None else None,
    )
    read_optional(
        inp,
        community=comm,
        assessments=assessments,
        wave_labels=wave_labels,
        geometry=geometry,
        geometry_key=geometry_key or comm[BEFORE],
    )
    step("score")
    community = comm[BEFORE]  # the results name the column as the baseline file does
    scores = inp.scores
    if comparison is not None:
        scores[COMPARISON] = comparison_column(comparison, inp, comm, scores)
        check_comparison(scores, community, _comparison_source(comparison) or "")
    sections: dict[str, list[dict[str, Any]]] = {}
    notes: dict[str, str] = dict(inp.notes)

    table = aggregate(
        scores[[community, _WAVE, scale]], community=community, wave=_WAVE, min_n=min_n, ci=ci
    ).rename(columns={_WAVE: "wave"})
    only = inp.communities[BEFORE] ^ inp.communities[AFTER]
    if only:
        table = _with_absent_waves(table, community)
        notes["communities_in_one_wave"] = Note("communities_in_one_wave", n=len(only))
    table = secondary_suppression(table, community=community, wave="wave", min_n=min_n)
    sections["community_scores"] = _records(table)
    # pooled statistics see the shown communities only: nothing to difference (disclosure)
    shown = shown_respondents(scores, table, community=community, wave=_WAVE, table_wave="wave")
    statistics_sections(
        shown, inst, scale, community, min_n, table, ci, p_adjust, sections, notes, step
    )
    change_model_sections(
        shown,
        scale,
        community,
        respondent_ids=inp.respondent_ids,
        comparison=_comparison_source(comparison),
        ci=ci,
        min_n=min_n,
        sections=sections,
        notes=notes,
        step=step,
    )
    step("impact")
    if "impact" not in omitted:
        cuts = list(cutpoints) if cutpoints is not None else _cutpoints_for(inst, scale)
        _impact_sections(
            table, inp.assessments, inp.assessments_name, community, cuts, sections, notes
        )
    hide_suppressed(sections)
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
        waves=_wave_summaries(inp, table, community, date, min_n),
        sections=sections,
        notes=notes,
        note_messages=note_messages(notes),
        geometry=inp.geometry,
        geometry_key=geometry_key,
        omitted=omitted,
    )


def _comparison_source(comparison: str | pd.DataFrame | Path | None) -> str | None:
    """How messages name the comparison input."""
    if comparison is None:
        return None
    return (
        f"comparison column {comparison!r}"
        if isinstance(comparison, str)
        else "the comparison table"
    )


def _scale_range(inst: Instrument, scale: str) -> tuple[float, float]:
    """The score range of a mean-of-items scale: the lowest and highest answer codes."""
    rs = [inst.response_scale(i) for i in inst.scale(scale).items]
    return float(min(r.min for r in rs)), float(max(r.max for r in rs))


def _wave_summaries(
    inp: Inputs,
    table: pd.DataFrame,
    community: str,
    date: str | Mapping[str, str] | None,
    min_n: int,
) -> list[WaveSummary]:
    """Data quality per wave; counts of rows only where they narrow no suppressed community,
    dates of the shown communities' respondents only."""
    used = inp.scores[[community, _WAVE]].rename(columns={_WAVE: "wave"})
    rows = used.groupby([community, "wave"], sort=False).size().rename("rows").reset_index()
    publish = counts_publishable(table, rows, community=community, wave="wave", min_n=min_n)
    dates = per_wave(date, "date") if date is not None else None
    out = []
    for w in inp.waves:
        label = w["wave"]
        summary = dict(w)
        if not publish.get(label, True):
            summary["n_rows_in"] = summary["n_rows_usable"] = None
        if dates is not None:
            t = table[(table["wave"] == label) & ~table["suppressed"].astype(bool)]
            c = inp.used[label]
            in_shown = c.index[c.isin(set(t[community]))]
            summary |= wave_dates(inp.raw[label], in_shown, dates[label], label, w["source"])
        out.append(WaveSummary(**summary))
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
    name: str,
    community: str,
    cutpoints: list[float],
    sections: dict[str, list[dict[str, Any]]],
    notes: dict[str, str],
) -> None:
    """Impact levels per wave and their change (suppressed communities carry no level)."""
    from collective_efficacy.impact import impact_change, impact_levels

    try:
        levels = impact_levels(
            table, assessments=assessments, community=community, wave="wave", cutpoints=cutpoints
        )
    except CollectiveEfficacyError as exc:
        if assessments is None:
            raise
        # the assessments were given and cannot be used: stop, naming them (no silent drop)
        raise DataError(f"{name}: {exc}", argument="assessments") from None
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

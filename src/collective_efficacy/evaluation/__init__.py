"""The baseline-versus-end-of-cycle evaluation: one call from two survey files to all results.

:func:`evaluate` only chains public functions (validate, score, aggregate, cronbach_alpha, icc,
compare_waves, ...); the report in :mod:`collective_efficacy.report` only formats the
:class:`Evaluation` it returns. No respondent-level rows are stored in an Evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import (
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from collective_efficacy._messages import Message, note_messages
from collective_efficacy._params import (
    BOOLEAN,
    CI,
    COLUMN,
    FRAME,
    MAPPING,
    PATH,
    TEXT,
    WAVE_LABEL,
    InstanceOf,
    Interval,
    Options,
    public,
)
from collective_efficacy._version import Versioned
from collective_efficacy.change._stats import P_ADJUST_METHODS
from collective_efficacy.disclosure import hide_suppressed
from collective_efficacy.evaluation._change import COMPARISON, check_comparison, comparison_column
from collective_efficacy.evaluation._options import EvaluationOptions, resolve_options
from collective_efficacy.evaluation._rows import Sections
from collective_efficacy.evaluation._sections import AFTER, BEFORE, WAVE, records
from collective_efficacy.evaluation._steps import (
    STEPS,
    EvaluationData,
    WaveSummary,
    _community_table,
    _comparison_source,
    _cutpoints_for,
    _impact_sections,
    _instrument_fields,
    _progress,
    _read,
    _statistics,
    _trim,
    _wave_summaries,
)
from collective_efficacy.evaluation._weights import record
from collective_efficacy.impact import CUTPOINTS
from collective_efficacy.instrument import Instrument
from collective_efficacy.responses.io import ResponseFile
from collective_efficacy.survey_design import SurveyDesign

__all__ = ["Evaluation", "evaluate"]

_WAVE = WAVE
_BUILT = "built_sections"  # validation context: the sections evaluate() built itself


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
    if TYPE_CHECKING:  # statically plain rows: a per-community row is keyed by the community
        # column's own name (``row[ev.community]``), which a TypedDict cannot declare
        sections: dict[str, list[dict[str, Any]]]
    else:  # validated and described (JSON Schema) by the typed rows of ``_rows``
        sections: Sections = Field(
            default_factory=dict,
            description="the result tables by section name, each a list of rows",
        )
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
    design: dict[str, Any] | None = Field(
        default=None,
        description="the survey design when the evaluation is weighted (SurveyDesign fields, "
        "how the waves enter it, the estimator and what stays unweighted); None: unweighted",
    )
    omitted: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "report sections left out, with why: 'impact' or 'map' -> 'skipped' (the caller "
            "asked: skip_impact / skip_map), 'map' -> 'no_impact_levels' (nothing to map); "
            "the report shows a notice where the section would have been"
        ),
    )

    @field_validator("sections", mode="wrap")
    @classmethod
    def _built_sections(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        """Sections that :func:`evaluate` built (JSON-ready records, see ``_sections.records``)
        are taken as they are; anything else (a results.json read back) is validated against
        the row types and kept as read (its rows in their column order)."""
        if info.context is not None and info.context.get(_BUILT) is value:
            return value
        handler(value)  # raises on a section or value of the wrong type
        return value

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


_RESPONSE_FILE = InstanceOf(ResponseFile, description="a ResponseFile", example=pd.DataFrame)


@public(
    constraints={
        "baseline": [FRAME, PATH, _RESPONSE_FILE],
        "end_of_cycle": [FRAME, PATH, _RESPONSE_FILE],
        "instrument": [
            InstanceOf(Instrument, description="an Instrument", example=lambda: "sampson1997"),
            PATH,
        ],
        "community": [COLUMN, MAPPING],
        "respondent": [COLUMN, None],
        "columns": [MAPPING, None],
        "assessments": [FRAME, PATH, None],
        "wave": [COLUMN, None],
        "geometry": [MAPPING, PATH, None],
        "geometry_key": [COLUMN, None],
        "date": [TEXT, MAPPING, None],
        "scale": [TEXT, None],
        "cutpoints": [CUTPOINTS, None],
        "comparison": [COLUMN, FRAME, PATH, None],
        "before": [WAVE_LABEL],
        "after": [WAVE_LABEL],
        "min_n": [Interval(Integral, 2, None)],
        "ci": [CI],
        "p_adjust": [Options(P_ADJUST_METHODS)],
        "skip_impact": [BOOLEAN],
        "skip_map": [BOOLEAN],
        "progress": [BOOLEAN],
        "weight": [COLUMN, None],
        "design": [
            InstanceOf(SurveyDesign, description="a SurveyDesign", example=SurveyDesign),
            None,
        ],
    }
)
def evaluate(
    baseline: pd.DataFrame | ResponseFile | str | Path,
    end_of_cycle: pd.DataFrame | ResponseFile | str | Path,
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
    weight: str | None = None,
    design: SurveyDesign | None = None,
) -> Evaluation:
    """Evaluate the change in collective efficacy between two survey waves, per community.

    Parameters
    ----------
    baseline, end_of_cycle : DataFrame, ResponseFile or path
        The two measurements (CSV, XLSX, SAV, DTA, Parquet, a DataFrame, or a file as
        :func:`~collective_efficacy.read_response_file` read it, whose file name and reading
        notes then come along), one row per respondent, of the same instrument. Not modified.
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
        a readable date, raises. Default: when both waves are ODK / KoboToolbox exports read
        by :func:`~collective_efficacy.read_responses`, their submission dates (the ``date``
        column it adds); otherwise no dates.
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
    weight : str, optional
        Survey weight column of both files; short for ``design=SurveyDesign(weight=...)``. A
        row without a usable weight (missing, text, zero, negative) is excluded with reason
        ``invalid_weight`` and counted in ``waves``.
    design : SurveyDesign, optional
        Weights, strata, clusters and fpc (columns of both files; each wave is a separate
        sample, its strata crossed with the wave). The community table, the change per
        community and the overall change are then weighted, with design-based standard
        errors (``n_eff``, ``sum_weights`` and ``deff`` added; ``n`` and suppression stay
        unweighted); the change model is not fitted (multilevel models do not take survey
        weights), so the verdicts come from the weighted change; reliability, agreement, the
        ICC and the ecometric model are unweighted. The report says so;
        ``Evaluation.design`` records the design (see the *Survey weights* methods page).

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
    bar = _progress(progress, len(STEPS))

    def step(name: str) -> None:
        if bar is not None:
            bar.set_description(name)
            bar.update(1)

    try:
        opts = resolve_options(locals())  # the keyword options, resolved once
        return _evaluate(baseline, end_of_cycle, opts, step)
    finally:
        if bar is not None:
            bar.close()


def _evaluate(
    baseline: EvaluationData,
    end_of_cycle: EvaluationData,
    opts: EvaluationOptions,
    step: Callable[[str], None],
) -> Evaluation:
    inp = _read(baseline, end_of_cycle, opts, step)
    step("score")
    community, inst, scale = opts.column, opts.instrument, opts.scale
    scores = inp.scores
    if opts.comparison is not None:
        scores[COMPARISON] = comparison_column(opts.comparison, inp, opts.community, scores)
        check_comparison(scores, community, _comparison_source(opts.comparison) or "")
    sections: dict[str, list[dict[str, Any]]] = {}
    notes: dict[str, str] = dict(inp.notes)
    table, shown = _community_table(scores, inp, opts, notes)
    # from here on only the shown respondents are used: let the full table go (memory)
    del scores
    inp.scores = shown  # held by inp only: the statistics let its columns go when done
    del shown
    _trim()
    sections["community_scores"] = records(table)
    _statistics(table, inp, opts, sections, notes, step)
    step("impact")
    if "impact" not in opts.omitted:
        cuts = list(opts.cutpoints) if opts.cutpoints is not None else _cutpoints_for(inst, scale)
        _impact_sections(
            table, inp.assessments, inp.assessments_name, community, cuts, sections, notes
        )
    hide_suppressed(sections)
    fields = dict(
        **_instrument_fields(inst, scale),
        community=community,
        min_n=opts.min_n,
        confidence=opts.ci,
        p_adjust=opts.p_adjust,
        waves=_wave_summaries(inp, table, community, opts.date, opts.min_n),
        sections=sections,
        notes=notes,
        note_messages=note_messages(notes),
        geometry=inp.geometry,
        geometry_key=opts.geometry_key,
        omitted=opts.omitted,
        design=record(opts.design) if opts.design is not None else None,
    )
    return Evaluation.model_validate(fields, context={_BUILT: sections})

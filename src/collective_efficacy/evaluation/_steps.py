"""The steps of :func:`~collective_efficacy.evaluation.evaluate`: reading, per-wave summaries, impact."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from collective_efficacy._groups import GroupIndex, factorize_groups, restrict_groups
from collective_efficacy._messages import Message, Note
from collective_efficacy.disclosure import (
    ABSENT_REASON,
    counts_publishable,
    secondary_suppression,
)
from collective_efficacy.disclosure._rules import shown_mask
from collective_efficacy.errors import CollectiveEfficacyError, DataError, require_extra
from collective_efficacy.evaluation._change import change_model_sections, shown_in_both
from collective_efficacy.evaluation._inputs import (
    Inputs,
    per_wave,
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
from collective_efficacy.evaluation._stack import (
    frame_rows,
    repeated_text,
    stacked,
    taken,
    trim_memory,
)
from collective_efficacy.evaluation._weights import internal_design, weighted_table
from collective_efficacy.impact import DEFAULT_CUTPOINTS, impact_change, impact_levels
from collective_efficacy.instrument import Instrument
from collective_efficacy.prepared import PreparedSurvey, preset
from collective_efficacy.responses._odk import form_date_column
from collective_efficacy.responses.io import ResponseFile
from collective_efficacy.scoring import aggregate

if TYPE_CHECKING:
    from collective_efficacy.evaluation._options import EvaluationOptions

_WAVE = WAVE
_records = records
_trim = trim_memory
#: what :func:`evaluate` takes as a wave's data
EvaluationData = pd.DataFrame | ResponseFile | str | Path
#: the steps of an evaluation, as the progress bar counts them
STEPS = ("validate", "score", "reliability", "aggregation evidence", "ecometric model", "change",
         "change model", "impact")  # fmt: skip


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


def _read(
    baseline: EvaluationData,
    end_of_cycle: EvaluationData,
    opts: EvaluationOptions,
    step: Callable[[str], None],
) -> Inputs:
    """The two survey files validated and scored, the assessments and the geometry read."""
    step("validate")
    inp = read_inputs({BEFORE: baseline, AFTER: end_of_cycle}, opts)
    _trim()  # each wave's validated frame is freed (its rows are in the stacked scores)
    read_optional(inp, opts)
    return inp


def _progress(on: bool, total: int) -> Any:
    if not on:
        return None
    require_extra("tqdm", "progress")
    from tqdm import tqdm

    return tqdm(total=total, unit="step", leave=False)


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


def _instrument_fields(inst: Instrument, scale: str) -> dict[str, Any]:
    """The instrument and scale fields of an :class:`Evaluation` (in memory and out of core)."""
    return {
        "instrument_id": inst.id,
        "instrument_version": inst.version,
        "instrument_title": inst.title_in("en"),
        "instrument_titles": dict(inst.title),
        "scale": scale,
        "scale_range": _scale_range(inst, scale),
    }


def _wave_summaries(
    inp: Inputs,
    table: pd.DataFrame,
    community: str,
    date: str | Mapping[str, str] | None,
    min_n: int,
) -> list[WaveSummary]:
    """Data quality per wave; counts of rows only where they narrow no suppressed community,
    dates of the shown communities' respondents only."""
    rows = pd.concat(
        [
            pd.DataFrame({community: n.index.to_numpy(), "wave": label, "rows": n.to_numpy()})
            for label, n in inp.rows.items()
        ],
        ignore_index=True,
    )
    publish = counts_publishable(table, rows, community=community, wave="wave", min_n=min_n)
    dates = per_wave(date, "date") if date is not None else _form_dates(inp)
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


def _form_dates(inp: Inputs) -> dict[str, str] | None:
    """Without ``date=``: the submission dates when every wave is an ODK / KoboToolbox export
    read by :func:`~collective_efficacy.read_responses` (the ``date`` column it adds)."""
    cols = {w["wave"]: form_date_column(inp.raw[w["wave"]]) for w in inp.waves}
    if not cols or any(c is None for c in cols.values()):
        return None
    return {k: str(v) for k, v in cols.items()}


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
    codes, labels = pd.factorize(table[community], use_na_sentinel=False)  # first appearance
    wave = table["wave"].to_numpy(dtype=object)
    w = np.where(wave == BEFORE, 0, np.where(wave == AFTER, 1, 2))
    present = np.zeros((len(labels), 3), dtype=bool)
    present[codes, w] = True
    gone_c, gone_w = np.nonzero(~present[:, :2])
    if not len(gone_c):
        return table
    add = pd.DataFrame(
        {
            community: pd.Index(labels).take(gone_c),
            "wave": pd.Index([BEFORE, AFTER]).take(gone_w),
        }
    ).assign(scale=table["scale"].iloc[0], n=0, suppressed=True, reason=ABSENT_REASON)
    out = pd.concat([table, add], ignore_index=True)
    # sorted by community label, then wave (baseline first, another wave last), stable
    by, _ = pd.factorize(out[community], sort=True)
    by[by < 0] = by.max() + 1  # a missing label last
    ws = out["wave"].to_numpy(dtype=object)
    order = np.lexsort((np.where(ws == BEFORE, 0, np.where(ws == AFTER, 1, 2)), by))
    return out.take(order).reset_index(drop=True)


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


def _community_table(
    scores: pd.DataFrame, inp: Inputs, opts: EvaluationOptions, notes: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores per community and wave, with absent waves and secondary suppression (weighted
    under a design), and the respondents of the shown communities."""
    community, scale, min_n, ci = opts.column, opts.scale, opts.min_n, opts.ci
    # the community and wave labels coded once, for the table, the shown rows and (restricted
    # to them) every statistic after
    prep = PreparedSurvey(scores)
    codings = {
        g: prep.get(("factorize_groups", g), _coder(scores, g, inp.codings.get(g)))
        for g in (community, _WAVE)
    }
    inp.codings = {}  # held by ``prep`` and ``codings`` only: freed with them below
    part = PreparedSurvey(scores[[community, _WAVE, scale]])  # the same rows
    for g, gi in codings.items():
        preset(part, ("factorize_groups", g), gi)
    table = aggregate(part, community=community, wave=_WAVE, min_n=min_n, ci=ci)
    table = table.rename(columns={_WAVE: "wave"})
    only = inp.communities[BEFORE] ^ inp.communities[AFTER]
    if only:
        table = _with_absent_waves(table, community)
        notes["communities_in_one_wave"] = Note("communities_in_one_wave", n=len(only))
    table = secondary_suppression(table, community=community, wave="wave", min_n=min_n)
    # pooled statistics see the shown communities only: nothing to difference (disclosure)
    with prep:
        keep = shown_mask(scores, table, community=community, wave=_WAVE, table_wave="wave")
    rows = np.flatnonzero(keep)
    inp.shown_groups = restrict_groups(codings[community], keep)
    del keep, prep, part, codings
    _trim()  # the table's temporaries are freed before the shown rows are copied
    shown = _shown_rows(scores, rows, inp, scale)
    if opts.design is not None:  # suppression above stays on the unweighted count
        table = weighted_table(
            table, shown, community=community, wave=_WAVE, scale=scale, design=opts.design,
            min_n=min_n, ci=ci,
        )  # fmt: skip
        notes["change_model"] = Note("change_model_weighted")
    return table, shown


def _shown_rows(scores: pd.DataFrame, rows: np.ndarray, inp: Inputs, scale: str) -> pd.DataFrame:
    """The rows ``rows`` of ``scores`` with every column of the waves' scored rows but the
    items, copied once. The items are copied one wave at a time when that wave's statistics
    start (``inp.wave_items``), each wave's frame let go then: the items of both waves are
    never held twice."""
    index = pd.Index(rows) if len(rows) < len(scores) else pd.RangeIndex(len(scores))
    picks = frame_rows(inp.frames, rows)
    wave = _wave_labels(scores, list(inp.rows), [len(f) for f in inp.frames], picks, index)
    if wave is None:
        out = scores.iloc[rows].set_axis(index)
    else:  # the other columns taken, the wave's labels made (no text copied row by row)
        out = scores.drop(columns=_WAVE).iloc[rows].set_axis(index)
        out.insert(scores.columns.get_loc(_WAVE), _WAVE, wave)
    items = set(inp.items)
    extra = [c for c in inp.frames[0].columns if c not in items]  # the design columns
    if extra:
        out = pd.concat([out, stacked([f[extra] for f in inp.frames], rows=rows)], axis=1)
    order = [c for c in inp.columns if c in out.columns]
    out = out[order + [c for c in out.columns if c not in order]]  # the comparison last
    inp.wave_items = {
        label: _items_taker(inp.frames, i, pick, inp.items)
        for i, (label, pick) in enumerate(zip(inp.rows, picks, strict=True))
    }
    return out


def _wave_labels(
    scores: pd.DataFrame,
    labels: list[str],
    sizes: list[int],
    picks: list[np.ndarray],
    index: pd.Index,
) -> pd.Series | None:
    """The wave column of the rows ``picks`` (each wave's own positions) of ``scores``, the
    waves stacked in order (``labels``, of ``sizes`` rows), each wave's rows labelled by it:
    made, as :func:`read_inputs` made it (:func:`repeated_text`), not taken row by row. None
    unless the column is Arrow text (pandas' ``str``) and the waves' first and last rows
    carry their labels."""
    col = scores[_WAVE] if _WAVE in scores.columns and scores.columns.is_unique else None
    if col is None or not isinstance(col.dtype, pd.StringDtype) or col.dtype.storage != "pyarrow":
        return None
    if len(scores) != sum(sizes) or len(labels) != len(sizes):
        return None
    ends = np.cumsum(sizes).tolist()
    for label, n, end in zip(labels, sizes, ends, strict=True):
        if n and (col.iat[end - n] != label or col.iat[end - 1] != label):
            return None
    parts = [
        pd.Series(repeated_text(lb, len(p)), dtype=col.dtype)
        for lb, p in zip(labels, picks, strict=True)
    ]
    return pd.concat(parts, ignore_index=True).set_axis(index).rename(_WAVE)


def _items_taker(
    frames: list[pd.DataFrame], i: int, pick: np.ndarray, items: list[str]
) -> Callable[[pd.Index], pd.DataFrame]:
    """The items of the rows ``pick`` of ``frames[i]`` (indexed as given); the frame is let
    go once they are copied (the list holds its empty head)."""

    def take(index: pd.Index) -> pd.DataFrame:
        out = taken(frames[i], items, pick, index)
        frames[i] = frames[i].iloc[:0].copy()
        _trim()  # the wave's frame is freed before its statistics start
        return out

    return take


def _coder(
    data: pd.DataFrame, group: str, known: GroupIndex | None = None
) -> Callable[[], GroupIndex]:
    """The coding of ``data[group]``: ``known`` (the waves' codings, stacked) when given."""
    if known is not None:
        return lambda: known
    what = "wave" if group == _WAVE else "community"
    return lambda: factorize_groups(data, group, what=what)


def _statistics(
    table: pd.DataFrame,
    inp: Inputs,
    opts: EvaluationOptions,
    sections: dict[str, list[dict[str, Any]]],
    notes: dict[str, str],
    step: Callable[[str], None],
) -> None:
    """The reliability, agreement, change and change-model sections of the shown respondents
    (``inp.scores``, taken over: under a design the change is weighted and the change model
    not fitted). The item columns are let go before the change model, which needs none."""
    inner = internal_design(opts.design) if opts.design is not None else None
    shown, inp.scores = inp.scores, inp.scores.iloc[:0]
    prep = PreparedSurvey(shown)  # the change and the change model share its community coding
    if inp.shown_groups is not None:
        preset(prep, ("factorize_groups", opts.column), inp.shown_groups)
    with prep:
        statistics_sections(
            shown, opts, table, sections, notes, step, design=inner, wave_items=inp.wave_items
        )
    inp.wave_items, inp.frames = {}, []
    rest = shown  # no items: they were copied per wave and let go with the wave
    del shown, prep
    _trim()  # the statistics' arrays are freed: the change model starts from less
    prep = PreparedSurvey(rest)
    if inp.shown_groups is not None:
        preset(prep, ("factorize_groups", opts.column), inp.shown_groups)
    with prep:
        change_model_sections(
            rest,
            opts.scale,
            opts.column,
            respondent_ids=inp.respondent_ids,
            comparison=_comparison_source(opts.comparison),
            ci=opts.ci,
            min_n=opts.min_n,
            sections=sections,
            notes=notes,
            n_both=shown_in_both(table, opts.column),
            step=step,
            skip=opts.design is not None,
        )
    del rest, prep
    _trim()  # the change model's arrays are freed: the impact and report steps start lower

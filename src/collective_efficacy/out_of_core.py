r"""The baseline-versus-end-of-cycle evaluation of Parquet files larger than memory.

:func:`evaluate_parquet` gives the :class:`~collective_efficacy.evaluation.Evaluation` that
:func:`~collective_efficacy.evaluate` gives, for the sections that reduce to per-community sums,
without ever holding the respondent rows: DuckDB streams each file through one hash aggregate
(:mod:`collective_efficacy.summaries`), so memory grows with the number of communities, not of
respondents. The command line runs it with ``collective-efficacy evaluate --out-of-core``.

Computed from the per-community (and wave) sums, equal to the in-memory evaluation (the tests
compare to 1e-10): the community scores with their suppression (primary and secondary), the
reliability (Cronbach's alpha, pooled over the shown communities of each wave), the item
statistics, omega, the ICC section, the change per community and overall (Welch and the REML
wave effect), the change model (``score ~ change + (1 + change | community)``) and the impact
levels (survey-only). Left out, with a note in ``Evaluation.notes["out_of_core"]``: the
agreement indices (the AD index and rwg(j)'s per-respondent use of the answer options need
the rows of each community), the ecometric model (its respondent level), the respondent level
of the change model (a panel), answer dates, assessments, maps and survey weights.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from collective_efficacy._messages import Note, note_messages
from collective_efficacy.disclosure import (
    counts_publishable,
    hide_suppressed,
    secondary_suppression,
)
from collective_efficacy.errors import CollectiveEfficacyError
from collective_efficacy.evaluation import _BUILT, Evaluation
from collective_efficacy.evaluation._change import MIN_COMMUNITIES, store_change_model
from collective_efficacy.evaluation._inputs import per_wave, per_wave_columns
from collective_efficacy.evaluation._options import _scale_of
from collective_efficacy.evaluation._sections import (
    _NOTHING_SHOWN,
    AFTER,
    BEFORE,
    WAVE,
    _change_rows,
    _noted,
    _one_wave,
    records,
)
from collective_efficacy.evaluation._steps import (
    WaveSummary,
    _cutpoints_for,
    _impact_sections,
    _instrument_fields,
    _with_absent_waves,
)
from collective_efficacy.instrument import Instrument, load_instrument
from collective_efficacy.summaries import CommunitySummary, merge_summaries
from collective_efficacy.summaries._parquet import (
    WaveSums,
    duckdb_connection,
    keep_cells,
    open_parquet,
    wave_sums,
)

__all__ = ["SKIPPED", "evaluate_parquet"]

#: the sections the out-of-core evaluation leaves out, and why (``notes["out_of_core"]``)
SKIPPED = (
    "evaluated out of core (per-community sums streamed from Parquet by DuckDB): the agreement "
    "indices (rwg(j), AD), the ecometric model, the change model's respondent level, answer "
    "dates, assessments and maps need the respondent rows and are left out; evaluate in "
    "memory for them"
)


def evaluate_parquet(
    baseline: str | Path,
    end_of_cycle: str | Path,
    *,
    instrument: Instrument | str | Path = "sampson1997",
    community: str | Mapping[str, str],
    respondent: str | None = None,
    columns: Mapping[str, Any] | None = None,
    scale: str | None = None,
    min_n: int = 10,
    ci: float = 0.95,
    p_adjust: str = "holm",
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> Evaluation:
    """Evaluate two Parquet survey files of any size, streaming them through DuckDB.

    Parameters
    ----------
    baseline, end_of_cycle : path
        A Parquet file, a folder of Parquet files or a glob, one row per respondent; item
        columns hold the answer codes (numbers).
    instrument, community, respondent, columns, scale, min_n, ci, p_adjust
        As in :func:`~collective_efficacy.evaluate`. A respondent id found twice in a file is
        refused (in memory the first occurrence is kept; a parallel scan has no "first").
    memory_limit : str, default="1GB"
        DuckDB's memory limit (its aggregate spills to disk beyond it).
    threads : int, optional
        DuckDB's worker threads (default: one per core).

    Returns
    -------
    Evaluation
        The sections of :func:`~collective_efficacy.evaluate` that reduce to sums (module
        docstring), equal to the in-memory ones; ``notes["out_of_core"]`` names the others.

    Notes
    -----
    Validation follows :func:`~collective_efficacy.validate` (``errors="exclude"``): codes of
    the response scale are kept, missing codes and other values become missing (the latter
    counted as ``out_of_range`` problems), rows without a community label, without a respondent
    id or without an answered item are excluded with that reason. The scale score is
    :func:`~collective_efficacy.score`'s (the mean of the answered keyed items, at least the
    scale's ``min_items``); pooled figures use the shown communities only
    (:mod:`collective_efficacy.disclosure`), by keeping only their cells of the summaries.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> from collective_efficacy.out_of_core import evaluate_parquet
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for wave, df in zip("be", ce.datasets.load_example(split=True)):
    ...     for c in ce.datasets.EXAMPLE_COLUMNS:  # answer codes as numbers
    ...         df[c] = pd.to_numeric(df[c], errors="coerce")
    ...     df.to_parquet(folder / f"{wave}.parquet")
    >>> ev = evaluate_parquet(folder / "b.parquet", folder / "e.parquet", community="buurt",
    ...                       respondent="respondent_id", columns=ce.datasets.EXAMPLE_COLUMNS)
    >>> ev.tables["change"].iloc[-1][["level", "method"]].tolist()
    ['overall', 'lmm_reml']
    """
    inst = load_instrument(instrument)
    scale = _scale_of(inst, scale)
    comm = per_wave(community, "community")
    cols = per_wave_columns(columns)
    name = str(comm[BEFORE])  # the results name the column as the baseline file does
    files = {BEFORE: baseline, AFTER: end_of_cycle}
    sums: dict[str, WaveSums] = {}
    con = duckdb_connection(memory_limit=memory_limit, threads=threads)
    for w in (BEFORE, AFTER):
        rel = open_parquet(con, files[w])
        sums[w] = wave_sums(
            rel, inst, scale, community=str(comm[w]), respondent=respondent, columns=cols[w],
            wave_label=w, wave=WAVE, source=Path(files[w]).name, name=name,
        )  # fmt: skip
    items = merge_summaries([sums[BEFORE].items, sums[AFTER].items])
    score = merge_summaries([sums[BEFORE].score, sums[AFTER].score])
    sections: dict[str, list[dict[str, Any]]] = {}
    notes: dict[str, str] = {"out_of_core": SKIPPED}
    table = _community_table(score, name, min_n, ci, notes)
    sections["community_scores"] = records(table)
    shown = table.loc[~table["suppressed"].to_numpy(dtype=bool), [name, "wave"]]
    shown = shown.rename(columns={"wave": WAVE})
    items, score = keep_cells(items, shown), keep_cells(score, shown)
    run = _Run(inst, scale, name, min_n, ci, p_adjust, sections, notes)
    _wave_sections(items, score, run)
    _change_sections(score, table, run)
    _impact_sections(table, None, "", name, _cutpoints_for(inst, scale), sections, notes)
    hide_suppressed(sections)
    fields = dict(
        **_instrument_fields(inst, scale),
        community=name,
        min_n=min_n,
        confidence=ci,
        p_adjust=p_adjust,
        waves=_wave_summaries(sums, files, table, name, min_n),
        sections=sections,
        notes=notes,
        note_messages=note_messages(notes),
        omitted={"map": "skipped"},
    )
    # the sections are records() built here, taken as they are (as evaluate's own)
    return Evaluation.model_validate(fields, context={_BUILT: sections})


def _community_table(
    score: CommunitySummary, community: str, min_n: int, ci: float, notes: dict[str, str]
) -> pd.DataFrame:
    """``aggregate`` from the score summary, with absent waves and secondary suppression."""
    from collective_efficacy.scoring import aggregate

    rows: Any = score  # the summary stands in for the rows (summary_route)
    table = aggregate(rows, community=community, wave=WAVE, min_n=min_n, ci=ci)
    table = table.rename(columns={WAVE: "wave"})
    cells = score.to_frame()
    waves = cells.groupby(community)[WAVE].nunique()
    only = int((waves < 2).sum())
    if only:
        table = _with_absent_waves(table, community)
        notes["communities_in_one_wave"] = Note("communities_in_one_wave", n=only)
    return secondary_suppression(table, community=community, wave="wave", min_n=min_n)


def _in_wave(summary: CommunitySummary, wave: str) -> CommunitySummary:
    t = summary.to_frame()
    return summary._like(t[t[WAVE] == wave].reset_index(drop=True))


@dataclass(frozen=True)
class _Run:
    """The options of one out-of-core evaluation and where its sections and notes go."""

    inst: Instrument
    scale: str
    community: str
    min_n: int
    ci: float
    p_adjust: str
    sections: dict[str, list[dict[str, Any]]]
    notes: dict[str, str]


def _wave_sections(items: CommunitySummary, score: CommunitySummary, run: _Run) -> None:
    """Reliability, item statistics, omega and the ICC of each wave's shown communities."""
    from collective_efficacy import agreement, reliability

    scale, community, ci, notes = run.scale, run.community, run.ci, run.notes
    item_ids, keys = run.inst.scale(scale).items, run.inst.keys(scale)
    calls = {
        "reliability": ("items", lambda s: reliability.cronbach_alpha(s, items=item_ids,
                                                                       keys=keys, ci=ci)),
        "item_statistics": ("items", lambda s: reliability.item_statistics(s, items=item_ids,
                                                                            keys=keys)),
        "omega": ("items", lambda s: reliability.omega(s, items=item_ids, keys=keys).summary()),
        "aggregation": ("score", lambda s: agreement.icc(s, dv=scale, community=community)),
    }  # fmt: skip
    # each wave's part of each summary made once (three sections read the item summary's)
    parts = {(kind, w): _in_wave(summary, w) for kind, summary in
             (("items", items), ("score", score)) for w in (BEFORE, AFTER)}  # fmt: skip
    for name, (kind, fn) in calls.items():
        frames: list[pd.DataFrame] = []
        for w in (BEFORE, AFTER):
            part = parts[kind, w]
            call = functools.partial(_without_notes, fn, part)
            _one_wave(name, w, part.n_cells == 0, call, frames, notes)
        if frames:
            run.sections[name] = records(pd.concat(frames, ignore_index=True))


def _without_notes(
    fn: Callable[[CommunitySummary], pd.DataFrame], part: CommunitySummary, _: dict[str, str]
) -> pd.DataFrame:
    return fn(part)


def _change_sections(score: CommunitySummary, table: pd.DataFrame, run: _Run) -> None:
    """The change per community and overall, and the change model, from the score summary."""
    from collective_efficacy.change import compare_waves
    from collective_efficacy.multilevel.change_model import change_model

    scale, community, min_n, ci = run.scale, run.community, run.min_n, run.ci
    p_adjust, sections, notes = run.p_adjust, run.sections, run.notes
    kw: dict[str, Any] = {"dv": scale, "community": community, "wave": WAVE, "ci": ci}
    kw |= {"before": BEFORE, "after": AFTER, "min_n": min_n}
    rows: Any = score  # the summary stands in for the rows (summary_route)
    if any(_in_wave(score, w).n_cells == 0 for w in (BEFORE, AFTER)):
        notes["change"] = _NOTHING_SHOWN
    else:
        with _noted(notes, "change"):
            cmp = compare_waves(rows, p_adjust=p_adjust, **kw)
            sections["change"] = records(_change_rows(cmp, table, community, min_n))
    cells = score.to_frame()
    cells = cells[cells["score_n"] > 0]
    if int((cells.groupby(community)[WAVE].nunique() == 2).sum()) < MIN_COMMUNITIES:
        notes["change_model"] = Note("change_model_too_few", k=MIN_COMMUNITIES)
        return
    try:
        m = change_model(rows, **kw)
    except CollectiveEfficacyError as exc:
        notes["change_model"] = Note("change_model_failed", detail=str(exc))
        return
    store_change_model(m, sections, notes, community)


def _wave_summaries(
    sums: dict[str, WaveSums],
    files: dict[str, str | Path],
    table: pd.DataFrame,
    community: str,
    min_n: int,
) -> list[WaveSummary]:
    """Rows read, used and excluded per wave (withheld where they would narrow a suppressed
    community's size, as in memory)."""
    rows = []
    for w, s in sums.items():
        t = s.items.to_frame()
        rows.append(pd.DataFrame({community: t[community], "wave": w, "rows": t["n_answered"]}))
    publish = counts_publishable(
        table, pd.concat(rows, ignore_index=True), community=community, wave="wave", min_n=min_n
    )
    out = []
    for w, s in sums.items():
        used = int(s.items.to_frame()["n_answered"].sum())
        ok = publish.get(w, True)
        problems = [f"column {i!r}: out of range ({n} cell{'s' if n != 1 else ''})"
                    for i, n in s.problems.items()]  # fmt: skip
        out.append(
            WaveSummary(
                wave=w,
                source=Path(files[w]).name,
                n_rows_in=s.n_rows_in if ok else None,
                n_rows_usable=used if ok else None,
                n_rows_excluded=s.n_rows_in - used,
                exclusions=s.exclusions,
                n_problems=len(problems),
                problems=problems,
                n_communities=int(s.items.to_frame()[community].nunique()),
                notes=["read out of core: streamed from Parquet by DuckDB"],
            )
        )
    return out

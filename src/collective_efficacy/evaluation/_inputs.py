"""The input stage of :func:`~collective_efficacy.evaluation.evaluate` (private).

Files as they really come: the two survey exports may name their columns and their community
column differently (per-wave arguments); the programme lead's assessments come in the library's
own documented format (``buurt, meting`` with ``nulmeting`` / ``eindmeting``), their wave labels
mapped by the same labels the surveys carry. An input that was given but cannot be used stops
the evaluation with a message naming the file, the column and what was expected: nothing is
dropped silently.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from collective_efficacy._groups import GroupIndex
from collective_efficacy._messages import Note, problem_message
from collective_efficacy._rows import describe_rows, file_row_offset
from collective_efficacy.errors import DataError, ResponseValidationError
from collective_efficacy.evaluation._change import in_both_waves
from collective_efficacy.evaluation._sections import AFTER, BEFORE, WAVE
from collective_efficacy.evaluation._stack import repeated_text, stacked, stacked_codings
from collective_efficacy.evaluation._weights import design_frame, no_weight
from collective_efficacy.instrument import Instrument, load_instrument
from collective_efficacy.responses import IdCodes, ValidatedResponses, validate
from collective_efficacy.responses._odk import form_date_column
from collective_efficacy.responses.io import ResponseFile, read_responses
from collective_efficacy.responses.validation_report import Problem
from collective_efficacy.scoring import score

if TYPE_CHECKING:
    from collective_efficacy.evaluation._options import EvaluationOptions

__all__ = [
    "Inputs",
    "assessments_frame",
    "check_geometry",
    "merge_columns",
    "per_wave",
    "per_wave_columns",
    "read_inputs",
    "read_optional",
    "wave_dates",
]

WAVES = (BEFORE, AFTER)
T = TypeVar("T")


def per_wave(value: T | Mapping[str, T], name: str) -> dict[str, T]:
    """One value for both waves, or ``{"baseline": ..., "end_of_cycle": ...}`` split per wave."""
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in WAVES]
        if unknown or not all(w in value for w in WAVES):
            raise DataError(
                f"{name} per wave must have exactly the keys {list(WAVES)}; got {list(value)}",
                argument=name,
            )
        return {w: value[w] for w in WAVES}
    return {w: value for w in WAVES}


def per_wave_columns(
    columns: Mapping[str, str] | Mapping[str, Mapping[str, str] | None] | None,
) -> dict[str, dict[str, str] | None]:
    """A flat column map for both waves, or one map per wave (a wave left out has none)."""
    if columns is None:
        return {w: None for w in WAVES}
    if not isinstance(columns, Mapping):
        raise DataError(
            f"columns must be a mapping; got {type(columns).__name__}", argument="columns"
        )
    nested = [isinstance(v, Mapping) or v is None for v in columns.values()]
    if columns and all(nested):
        unknown = [k for k in columns if k not in WAVES]
        if unknown:
            raise DataError(
                f"columns per wave must have the keys {list(WAVES)}; got unknown key(s) {unknown}",
                argument="columns",
            )
        maps: dict[str, Any] = dict(columns)
        return {w: _str_map(maps.get(w)) for w in WAVES}
    if any(nested):
        raise DataError(
            "columns must be one map {your_column: item_id} or one map per wave "
            '{"baseline": {...}, "end_of_cycle": {...}}, not a mix of both',
            argument="columns",
        )
    flat = _str_map(columns)
    return {w: flat for w in WAVES}


def _str_map(m: Mapping[str, Any] | None) -> dict[str, str] | None:
    if m is None:
        return None
    bad = [k for k, v in m.items() if not isinstance(v, str)]
    if bad:
        raise DataError(
            f"column map: the item id of column(s) {bad} must be text", argument="columns"
        )
    return {str(k): v for k, v in m.items()}


def merge_columns(
    common: Mapping[str, str] | None, wave: Mapping[str, str] | None
) -> dict[str, str] | None:
    """The common column map with one wave's map on top.

    Where both map the same column, or map different columns to the same item, the wave's
    entry wins (its file renamed that item's column).
    """
    if common is None and wave is None:
        return None
    specific = dict(wave or {})
    targets = set(specific.values())
    out = {c: i for c, i in (common or {}).items() if c not in specific and i not in targets}
    out.update(specific)
    return out


# -- dates --------------------------------------------------------------------------------------
def wave_dates(
    raw: pd.DataFrame, used: pd.Index, date: str, label: str, source: str
) -> dict[str, Any]:
    """First and last answer date of the rows used; unreadable dates are counted, not guessed.

    A date column that is absent, or in which no used row holds a readable date, cannot be
    used: that raises (the caller asked for dates).
    """
    where = f"the {label} file {source!r}"
    if date not in raw.columns:
        raise DataError(
            f"date column {date!r} is not in {where}; expected a column with the date of each "
            f"answer; its columns are {list(map(str, raw.columns))[:30]}",
            argument="date",
        )
    given = values = raw.loc[used, date]
    expected = "expected ISO dates (2026-04-01) or day-first dates (01-04-2026)"
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        shown = [str(v) for v in pd.unique(values.dropna())[:3]]
        raise DataError(  # pandas would read 3 as 3 nanoseconds after 1970
            f"date column {date!r} in {where} holds numbers (such as {shown}), not dates; "
            f"{expected}. Check the date option names the date column",
            argument="date",
        )
    if not pd.api.types.is_datetime64_any_dtype(values):  # a number in text cells is no date
        values = values.where(values.map(lambda v: isinstance(v, (str, dt.date))))
    try:
        # ISO dates (2026-04-01) first; the rest as day-first dates (01-04-2026), the Dutch order
        d = pd.to_datetime(values, errors="coerce", format="ISO8601").astype("datetime64[ns]")
        rest = d.isna() & values.notna()
        if rest.any():
            later = pd.to_datetime(values[rest], errors="coerce", dayfirst=True, format="mixed")
            d[rest] = later.astype("datetime64[ns]")
    except (TypeError, ValueError, OverflowError) as exc:  # time zones, out-of-range years
        raise DataError(
            f"date column {date!r} in {where} could not be read as dates "
            f"({str(exc)[:100]}); {expected}",
            argument="date",
        ) from None
    ok = d.dropna()
    if len(values) and ok.empty:
        shown = [str(v) for v in pd.unique(given.dropna())[:3]]
        raise DataError(
            f"date column {date!r} in {where}: none of the {len(values)} used rows holds a "
            f"readable date (values such as {shown}); {expected}",
            argument="date",
        )
    return {
        "date_first": ok.min().date().isoformat() if len(ok) else None,
        "date_last": ok.max().date().isoformat() if len(ok) else None,
        "n_dates_unreadable": int(d.isna().sum()),
    }


# -- assessments --------------------------------------------------------------------------------
def _survey_labels(
    surveys: Mapping[str, pd.DataFrame], frame: pd.DataFrame, wave: str | None, skip: str
) -> tuple[str | None, dict[str, str]]:
    """The wave column the surveys and the assessments share, and the label each survey carries.

    A column is a wave column of the surveys when it holds one label in the baseline file and
    another in the end-of-cycle file (``meting``: ``nulmeting`` / ``eindmeting``).
    """
    candidates = [wave] if wave is not None else [str(c) for c in frame.columns if c != skip]
    for col in candidates:
        if not all(col in s.columns for s in surveys.values()):
            continue
        labels = [pd.unique(surveys[w][col].dropna().astype(str).str.strip()) for w in WAVES]
        if all(len(u) == 1 for u in labels) and labels[0][0] != labels[1][0]:
            return col, {labels[0][0]: BEFORE, labels[1][0]: AFTER}
    return None, {}


def _read_assessments(
    assessments: pd.DataFrame | str | Path, ids: Sequence[str]
) -> tuple[pd.DataFrame, str | None]:
    """The assessments as a frame, and the name of their file (None for a caller's frame)."""
    if isinstance(assessments, (str, Path)):
        source = Path(assessments).name
        try:
            frame = read_responses(assessments, id_columns=ids)  # community labels as text
        except DataError as exc:
            raise DataError(f"assessments file {source!r}: {exc}", argument="assessments") from None
        return frame, source
    if not isinstance(assessments, pd.DataFrame):
        raise DataError(
            f"assessments must be a DataFrame or a path to a file; got {type(assessments).__name__}",
            argument="assessments",
        )
    if file_row_offset(assessments) is not None:  # as read_responses returned it
        return assessments, str(assessments.attrs["source"])
    return assessments, None


def assessments_frame(
    assessments: pd.DataFrame | str | Path,
    *,
    community: Mapping[str, str],
    wave: str | None,
    before: str,
    after: str,
    surveys: Mapping[str, pd.DataFrame],
) -> tuple[pd.DataFrame, str]:
    """The assessments with the evaluation's community column and ``wave`` labels.

    The community column is the baseline survey's (or the end-of-cycle survey's) community
    column. The wave column is ``wave`` when given, else the surveys' own wave column when the
    assessments have it, else ``"wave"``; its labels may be ``before`` / ``after`` or the labels
    the two survey files carry in that column. Returns the frame and how to name it in messages.
    """
    frame, source = _read_assessments(assessments, sorted(set(community.values())))
    name = f"assessments file {source!r}" if source is not None else "the assessments"
    if frame.empty:
        raise DataError(
            f"{name} is empty; expected one row per community and wave", argument="assessments"
        )
    out_col = community[BEFORE]
    cols = [str(c) for c in frame.columns]
    ccol = next((c for c in dict.fromkeys(community[w] for w in WAVES) if c in cols), None)
    if ccol is None:
        raise DataError(
            f"{name} has no community column: expected {sorted(set(community.values()))} "
            f"(the surveys' community column); its columns are {cols}",
            argument="assessments",
        )
    wcol, labels = _survey_labels(surveys, frame, wave, ccol)
    if wcol is None:
        wcol = wave or "wave"
    if wcol not in cols:
        raise DataError(
            f"{name} has no wave column {wcol!r}: expected a column with the labels "
            f"{before!r} / {after!r} (or the survey files' own wave labels, when they carry "
            f"that column); its columns are {cols}",
            argument="assessments",
        )
    labels.update({before: BEFORE, after: AFTER})
    text = frame[wcol].astype("string").str.strip()
    mapped = text.map(labels)
    bad = mapped.isna().to_numpy()
    if bad.any():
        rows = describe_rows(frame.index[bad], offset=file_row_offset(frame), source=source or "")
        raise DataError(
            f"{name}, column {wcol!r}, {rows}: wave label(s) "
            f"{[str(v) for v in pd.unique(frame.loc[bad, wcol])][:5]}; expected one of "
            f"{list(labels)}",
            argument="assessments",
        )
    return _ratings(frame, ccol, out_col, mapped, name, source or "assessments"), name


def _ratings(
    frame: pd.DataFrame, ccol: str, out_col: str, wave: pd.Series, name: str, source: str
) -> pd.DataFrame:
    """The two ratings checked (and labels / missing code 9 recoded) by the assessment
    instrument, with the evidence counts carried along."""
    from collective_efficacy.impact import ASSESSMENT_INSTRUMENT, EVIDENCE_COLUMNS

    ratings = ["partner_cooperation", "group_development"]
    missing = [c for c in ratings if c not in frame.columns]
    if missing:
        raise DataError(
            f"{name} has no column(s) {missing}: expected the programme lead's ratings "
            f"{ratings} (levels 0-5, 9 = not assessed); its columns are "
            f"{list(map(str, frame.columns))}",
            argument="assessments",
        )
    ids = pd.DataFrame({out_col: frame[ccol].to_numpy(), "wave": wave.astype(str).to_numpy()})
    ids.index = frame.index
    checked = pd.concat([ids, frame[ratings]], axis=1)
    if file_row_offset(frame) is not None:  # the file's records: messages name its rows
        checked.attrs = {"source": frame.attrs["source"]}
    try:
        v = validate(
            checked,
            load_instrument(ASSESSMENT_INSTRUMENT),
            community=out_col,
            wave="wave",
            errors="raise",
            source=source,
        )
    except ResponseValidationError as exc:
        raise ResponseValidationError(f"{name}: {exc}", report=exc.report) from None
    evidence = [c for c in EVIDENCE_COLUMNS if c in frame.columns]
    return pd.concat([v.data, frame.loc[v.data.index, evidence]], axis=1).reset_index(drop=True)


# -- geometry -----------------------------------------------------------------------------------
def check_geometry(
    fc: Mapping[str, Any], key: str, communities: Sequence[Any], source: str
) -> str | None:
    """Raise when no feature can be joined to a community; a note for communities without one.

    ``key`` is the feature property holding the community name (compared as text).
    """
    props = [f.get("properties") or {} for f in fc.get("features", [])]
    with_key = [p for p in props if p.get(key) is not None]
    wanted = [str(c) for c in communities]
    if not with_key:
        seen = sorted({str(k) for p in props for k in p})[:20]
        raise DataError(
            f"{source}: no feature has a property {key!r} with the community name; expected "
            f"the property that holds the community labels (e.g. {wanted[:3]}); the features' "
            f"properties are {seen}",
            argument="geometry_key",
        )
    names = {str(p[key]) for p in with_key}
    if not names & set(wanted):
        raise DataError(
            f"{source}: none of the {len(with_key)} features' {key!r} values matches a "
            f"community of the surveys (features: {sorted(names)[:3]}, surveys: "
            f"{sorted(wanted)[:3]}); expected the same community labels",
            argument="geometry",
        )
    missing = sorted(set(wanted) - names)
    if not missing:
        return None
    return Note(
        "map_missing_shapes",
        f"{len(missing)} communit{'y has' if len(missing) == 1 else 'ies have'} no shape in "
        f"{source} and {'is' if len(missing) == 1 else 'are'} not on the maps: "
        f"{missing[:10]}{' ...' if len(missing) > 10 else ''}",
        n=len(missing),
        names=", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else ""),
    )


# -- the two survey files -----------------------------------------------------------------------
def _validate_wave(
    data: pd.DataFrame | ResponseFile | str | Path,
    inst: Instrument,
    *,
    label: str,
    community: str,
    respondent: str | None,
    columns: Mapping[str, str] | None,
    weight: str | None = None,
) -> tuple[pd.DataFrame, ValidatedResponses]:
    from collective_efficacy.summaries._frames import is_frame, to_pandas

    if isinstance(data, ResponseFile):  # its file name, labels and notes come along
        data = data.legacy_frame()
    if not isinstance(data, (str, Path, pd.DataFrame)) and is_frame(data):  # polars, DuckDB ...
        data = to_pandas(data)
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
        weight=weight,
    )


def _problem_text(p: Problem) -> str:
    """A validation problem without row labels or values (they are respondent-level data)."""
    where = f"column {p.column!r}" if p.column is not None else "rows"
    text = f"{where}: {p.code.replace('_', ' ')} ({p.n} {'cell' if p.column else 'row'}"
    text += "s)" if p.n != 1 else ")"
    if p.expected:
        text += f"; expected {p.expected}"
    return text


def _summary(label: str, v: ValidatedResponses, n_communities: int) -> dict[str, Any]:
    r = v.report
    return {
        "wave": label,
        "source": r.source,
        "n_rows_in": r.n_rows_in,
        "n_rows_usable": r.n_rows_usable,
        "n_rows_excluded": r.n_rows_excluded,
        "exclusions": r.exclusions_by_reason(),
        "n_problems": len(r.problems),
        "problems": [_problem_text(p) for p in r.problems[:20]],
        "n_communities": n_communities,
        "normalised_labels": r.normalised_labels,
        "notes": r.notes,
        "problem_messages": [problem_message(p.code, p.column, p.n) for p in r.problems[:20]],
        "note_messages": r.note_messages,
    }


@dataclass
class Inputs:
    """Everything read and checked before any statistic, so an unusable input fails fast.

    ``scores`` holds both waves (wave in column ``WAVE``) with the community column named as
    in the baseline file; ``waves`` the data-quality summary of each wave.
    """

    waves: list[dict[str, Any]]
    scores: pd.DataFrame
    communities: dict[str, set[Any]]
    assessments: pd.DataFrame | None = None
    assessments_name: str = ""
    geometry: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)
    raw: dict[str, pd.DataFrame] = field(default_factory=dict)
    # the community of each used row, indexed as the file's rows (dates of shown communities;
    # only when the evaluation has dates)
    used: dict[str, pd.Series] = field(default_factory=dict)
    # the file's rows used
    used_rows: dict[str, pd.Index] = field(default_factory=dict)
    # the number of used rows per community (index: the label), per wave
    rows: dict[str, pd.Series] = field(default_factory=dict)
    # aligned with scores (for the change model); None also when no respondent id is in both
    respondent_ids: pd.Series | None = None
    # the community coding of the shown respondents (None: coded when first needed)
    shown_groups: GroupIndex | None = None
    # the codings of ``scores``'s community and wave columns known from validate, by column
    codings: dict[str, GroupIndex] = field(default_factory=dict)
    # each wave's scored rows but the columns ``scores`` holds (community, wave, scale): the
    # items and design columns of the shown rows are taken from them, then they are released
    frames: list[pd.DataFrame] = field(default_factory=list)
    # the scale's items (columns of ``frames``)
    items: list[str] = field(default_factory=list)
    # the columns of a wave's scored rows but the items, in their order
    columns: list[str] = field(default_factory=list)
    # per wave: the items of its shown rows, indexed as given (copied when called)
    wave_items: dict[str, Callable[[pd.Index], pd.DataFrame]] = field(default_factory=dict)


def _rows_per_community(v: ValidatedResponses, comm: str) -> pd.Series:
    """``v.data[comm].value_counts(sort=False)``, from validate's codes (no hashing pass)."""
    coded = v.id_codes.get("community")
    if coded is None or v.community != comm:  # pragma: no cover - validate codes it
        return v.data[comm].value_counts(sort=False)
    counts = np.bincount(coded.codes, minlength=len(coded.first))
    index = pd.Index(coded.labels, dtype=v.data[comm].dtype, name=comm)
    return pd.Series(counts, index=index, name="count")


def read_inputs(
    data: Mapping[str, pd.DataFrame | ResponseFile | str | Path], opts: EvaluationOptions
) -> Inputs:
    """Validate and score each wave with its own column map and community column.

    With a survey design the weight is checked by :func:`validate` (a row without a usable
    weight is excluded with reason ``invalid_weight``) and the design columns are added to
    the scores under internal names (:mod:`._weights`).
    """
    inst, scale, community, respondent = (
        opts.instrument,
        opts.scale,
        opts.community,
        opts.respondent,
    )
    date, design = opts.date, opts.design
    out = community[BEFORE]
    items = inst.scale(scale).items
    inp = Inputs(waves=[], scores=pd.DataFrame(), communities={})
    frames = []
    coded: list[IdCodes | None] = []
    for label, d in data.items():
        comm = community[label]
        raw, v = _validate_wave(
            d, inst, label=label, community=comm, respondent=respondent, columns=opts.columns[label],
            weight=design.weight if design is not None else None,
        )  # fmt: skip
        inp.rows[label] = _rows_per_community(v, comm)
        coded.append(v.id_codes.get("community") if v.community == comm else None)
        inp.communities[label] = set(inp.rows[label].index)
        summary = _summary(label, v, len(inp.communities[label]))
        if date is not None:
            summary |= wave_dates(raw, v.data.index, date[label], label, v.report.source)
        inp.waves.append(summary)
        if v.data.empty and design is not None and design.weight is not None:
            no_weight(raw, v, design.weight, label)
        if v.data.empty:
            raise DataError(
                f"the {label} data ({v.report.source}) has no usable rows; see the "
                "validation report"
            )
        s = score(v, scales=[scale]).rename(columns={comm: out})
        s = s.drop(columns=f"n_answered_{scale}")  # not used after: not stacked (memory)
        if len(s) and s[scale].isna().all():
            inp.notes[f"no_scores_{label}"] = Note(
                "no_scores",
                f"No respondent of the {label} data answered enough items of scale {scale!r} "
                "to be scored (the scale's minimum of answered items): this wave has no scores.",
                wave=label,
                scale=scale,
            )
        s[WAVE] = repeated_text(label, len(s))
        parts = [s, v.data[items]]
        if design is not None:
            src = v.report.source
            parts.append(design_frame(raw, v.data, design, label=label, source=src))
        frames.append(pd.concat(parts, axis=1))
        inp.raw[label] = raw
        inp.used_rows[label] = v.data.index
        if date is not None or form_date_column(raw) is not None:  # dates of shown rows
            inp.used[label] = v.data[comm]
    inp.scores = stacked([f[[out, WAVE, scale]] for f in frames])  # the rest once shown
    inp.codings = stacked_codings(inp.scores, out, coded, [len(f) for f in frames])
    # the frames keep what ``scores`` does not hold: the items and the design columns
    inp.columns = [c for c in frames[0].columns if c != respondent and c not in items]
    held = {out, WAVE, scale, respondent}
    inp.frames = [f[[c for c in f.columns if c not in held]] for f in frames]
    inp.items = list(items)
    if respondent is not None and in_both_waves(*(f[respondent] for f in frames)):
        # kept only when some respondent answers in both waves (the change model's panel
        # term); else no subset of the rows has one either
        inp.respondent_ids = stacked([f[[respondent]] for f in frames])[respondent]
    return inp


def read_optional(inp: Inputs, opts: EvaluationOptions) -> None:
    """Read the assessments and the geometry into ``inp``; raise when one cannot be used."""
    geometry, geometry_key = opts.geometry, opts.map_key
    if opts.assessments is not None:
        wave, before, after = opts.wave_labels
        inp.assessments, inp.assessments_name = assessments_frame(
            opts.assessments,
            community=opts.community,
            wave=wave,
            before=before,
            after=after,
            surveys=inp.raw,
        )
    if geometry is not None:
        from collective_efficacy.geography import read_survey_geometry

        src = (
            f"geometry file {Path(geometry).name!r}"
            if isinstance(geometry, (str, Path))
            else "the geometry"
        )
        everyone = sorted(inp.communities[BEFORE] | inp.communities[AFTER], key=str)
        inp.geometry = read_survey_geometry(geometry, geometry_key, everyone)
        note = check_geometry(inp.geometry, geometry_key, everyone, src)
        if note is not None:
            inp.notes["map"] = note

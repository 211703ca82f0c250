"""The statistical sections of an evaluation (private): each calls one public function per wave.

Every section is computed on the respondents of one wave at a time, except the change, which
compares the two. The caller passes the respondents of the *shown* communities only (see
:mod:`collective_efficacy.disclosure`): no pooled figure includes a suppressed community. A section that cannot be computed leaves a note saying why instead of failing
the whole evaluation; a warning raised by a statistic (a reversed item, a Heywood case, a
convergence problem) is kept as a note too, so the report shows it to the evaluator.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from collective_efficacy._groups import GroupIndex, factorize_groups, restrict_groups
from collective_efficacy._messages import Note
from collective_efficacy.disclosure import ABSENT_REASON, SECONDARY_REASON
from collective_efficacy.errors import CollectiveEfficacyError, DataError

# the records moved to ._records (module size); their helpers re-exported where tests reach them
from collective_efficacy.evaluation._records import _FEW_ROWS as _FEW_ROWS
from collective_efficacy.evaluation._records import _by_column as _by_column
from collective_efficacy.evaluation._records import _clean as _clean
from collective_efficacy.evaluation._records import records
from collective_efficacy.instrument import Instrument
from collective_efficacy.prepared import PreparedSurvey, lookup, preset
from collective_efficacy.survey_design import SurveyDesign

if TYPE_CHECKING:
    from collective_efficacy.evaluation._options import EvaluationOptions

__all__ = ["AFTER", "BEFORE", "WAVE", "records", "statistics_sections"]

WAVE = "_wave"
BEFORE, AFTER = "baseline", "end_of_cycle"
RWG_THRESHOLD = 0.70  # LeBreton & Senter (2008): "strong agreement" from .71; .70 customary

Sections = dict[str, list[dict[str, Any]]]
Notes = dict[str, str]
#: one section of one wave: the wave's rows and where to put notes -> the section's table
Section = Callable[[pd.DataFrame, Notes], pd.DataFrame]
# "not published: no community of this wave has enough respondents to be shown (...)"
_NOTHING_SHOWN = Note("nothing_shown")


@contextmanager
def _noted(notes: Notes, key: str) -> Iterator[None]:
    """Turn a library error into a note, and keep the library's warnings as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except CollectiveEfficacyError as exc:  # keyed errors keep their message for the report
            k = exc.keyed
            notes[key] = str(exc) if k is None else Note(k.code, str(exc), **k.params)
    msgs = list(dict.fromkeys(str(w.message) for w in caught))
    if msgs:
        notes[f"{key}_warnings"] = " | ".join(msgs)


#: the progress step that starts with a section
_STEP_AT = {"reliability": "reliability", "aggregation": "aggregation evidence",
            "ecometric": "ecometric model"}  # fmt: skip


def _one_wave(
    name: str,
    label: str,
    empty: bool,
    run: Callable[[Notes], pd.DataFrame],
    frames: list[pd.DataFrame],
    notes: Notes,
) -> None:
    """One section of one wave (``run``, which may add notes of its own): its table appended
    to ``frames``; a note instead when the wave shows nothing or the section cannot be
    computed (in memory and out of core)."""
    if empty:
        notes[f"{name}_{label}"] = _NOTHING_SHOWN
        return
    with _noted(notes, f"{name}_{label}"):
        res = run(notes)
        res.insert(0, "wave", label)
        frames.append(res)


def _per_wave(
    parts: dict[str, Callable[[], pd.DataFrame]],
    fns: dict[str, Section],
    sections: Sections,
    notes: Notes,
    step: Callable[[str], None],
    after: Callable[[str], None] = lambda name: None,
    renew: Mapping[str, Callable[[PreparedSurvey], PreparedSurvey]] | None = None,
    coded: Mapping[str, Mapping[tuple[str, str], GroupIndex]] | None = None,
) -> None:
    """Every section of ``fns`` on each wave, one wave at a time.

    A wave's rows are made (``parts[label]()``) and prepared once (its item matrix, community
    codes and moments, :mod:`.prepared`) when its turn comes, and released before the next
    wave's: only one wave's arrays are held at a time. A section in ``renew`` gets the preparation ``renew[name]`` makes from the current
    one (what it carries over), and the arrays of the current one are let go. Sections and
    notes are stored in the order of a section-by-section pass (section, then wave);
    ``after(name)`` runs once a section is stored. ``coded[label]`` holds codings of the wave's
    rows already known (by preparation key), put into its preparation.
    """
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in fns}
    kept: dict[tuple[str, str], Notes] = {}
    for i, (label, make) in enumerate(parts.items()):
        part = make()
        prep = PreparedSurvey(part)
        for key, value in (coded or {}).get(label, {}).items():  # codings known already
            preset(prep, key, value)
        for name, fn in fns.items():
            if i == 0 and name in _STEP_AT:
                step(_STEP_AT[name])
            if renew is not None and name in renew:
                prep = renew[name](prep)
            kept[name, label] = {}
            run = functools.partial(fn, part)
            with prep:
                _one_wave(name, label, part.empty, run, frames[name], kept[name, label])
        del prep, part, run
    for name in fns:
        for label in parts:
            notes.update(kept[name, label])
        if frames[name]:
            sections[name] = records(pd.concat(frames[name], ignore_index=True))
        after(name)


def _keyed_items(scores: pd.DataFrame, inst: Instrument, items: list[str]) -> pd.DataFrame:
    """Item answers with reverse-keyed items recoded (min + max - x), for the agreement indices."""
    from collective_efficacy.scoring import reverse_items

    out = scores[items].astype(float)
    for i in items:
        if inst.item(i).reverse:
            codes = inst.response_scale(i).codes
            out[i] = reverse_items(out[i].to_numpy(), scale_range=(codes[0], codes[-1]))
    return out


def _has_answer(values: np.ndarray) -> bool:
    """Whether a float column holds a value: a short head decides nearly every column (no
    pass over the rows, no mask of them), the rest is read only when the head is empty."""
    head = values[:_HEAD]
    return bool(not np.isnan(head).all() or not np.isnan(values[_HEAD:]).all())


_HEAD = 256


def _agreement(
    part: pd.DataFrame,
    inst: Instrument,
    items: list[str],
    community: str,
    listed: pd.DataFrame,
    note: Callable[[str], None],
) -> pd.DataFrame:
    """rwg(j) and AD per shown community (``part``); the suppressed communities of ``listed``
    (the wave's community table) are listed with no values, in the table's order."""
    from collective_efficacy.agreement import ad_index, rwg_j

    keyed = _keyed_items(part, inst, items)
    answered = [i for i in items if _has_answer(keyed[i].to_numpy(dtype=np.float64))]
    if len(answered) < len(items):
        dropped = [i for i in items if i not in answered]
        note(
            Note(
                "items_without_answers",
                f"item(s) {dropped} have no answers in this wave; rwg(j) and AD use the other "
                f"{len(answered)} items (listwise over those)",
                items=", ".join(dropped),
                k=len(answered),
            )
        )
    if len(answered) < 2:
        raise DataError("fewer than 2 items with answers: rwg(j) and AD need at least 2")
    keyed = pd.concat([part[[community]], keyed[answered]], axis=1)
    inst.n_options(items)  # the items must share one answer scale
    codes = inst.response_scale(items[0]).codes
    prep = PreparedSurvey(keyed)  # one coding and one set of count tables for both indices
    # the same rows as the wave's table: its community coding (prepared once) is reused
    prep.get(("factorize_groups", community), lambda: factorize_groups(part, community))
    r = rwg_j(prep, items=answered, community=community, options=codes)
    ad = ad_index(prep, items=answered, community=community, options=codes)
    if r[community].equals(ad[community]) and r[community].is_unique:  # in the same order
        ad_of = ad["ad"].to_numpy(dtype=np.float64)
    else:
        ad_of = r[[community]].merge(ad[[community, "ad"]], on=community, how="left")["ad"]
        ad_of = ad_of.to_numpy(dtype=np.float64)
    hidden = listed[community].to_numpy()[listed["suppressed"].to_numpy(dtype=bool)]
    shown = r[community].to_numpy()
    labels = np.concatenate([shown, hidden]) if len(hidden) else shown
    rank = pd.Index(listed[community]).get_indexer(labels)
    rank[rank < 0] = len(listed)  # not listed: last, in their order
    at = np.argsort(rank, kind="stable")  # the table's order, the suppressed among them
    gone = np.full(len(hidden), np.nan)
    n = np.concatenate([r["n"].to_numpy(dtype=np.float64), gone])[at]
    table: dict[str, Any] = {
        community: labels[at] if len(hidden) else r[community].iloc[at].array,
        "n": pd.array(n, dtype="Int64"),
        "rwg_j": np.concatenate([r["rwg_j"].to_numpy(dtype=np.float64), gone])[at],
        "ad": np.concatenate([ad_of, gone])[at],
        "suppressed": np.arange(len(labels))[at] >= len(shown),
    }
    return pd.DataFrame(table)


def _agreement_summary(per: pd.DataFrame) -> pd.DataFrame:
    """The wave's row of the agreement section (on arrays: no filtered frame)."""
    sup = per["suppressed"].to_numpy(dtype=bool)
    rwg = per["rwg_j"].to_numpy(dtype=np.float64)[~sup]
    ad = per["ad"].to_numpy(dtype=np.float64)[~sup]
    vals, ad = rwg[~np.isnan(rwg)], ad[~np.isnan(ad)]
    row: dict[str, Any] = {
        "n_communities": len(per),
        "n_shown": len(rwg),
        "n_with_rwg_j": int(vals.size),
        "n_suppressed": int(sup.sum()),
        "median_rwg_j": float(np.median(vals)) if vals.size else np.nan,
        "share_rwg_j_strong": float(np.mean(vals >= RWG_THRESHOLD)) if vals.size else np.nan,
        "threshold": RWG_THRESHOLD,
        "median_ad": float(np.median(ad)) if ad.size else np.nan,
    }
    return pd.DataFrame({k: [v] for k, v in row.items()})


def _ecometric_summary(
    part: pd.DataFrame, inst: Instrument, scale: str, items: list[str], community: str
) -> pd.DataFrame:
    from collective_efficacy.multilevel.mixed import ecometric

    codes = [inst.response_scale(i).codes for i in items]
    res = ecometric(
        part,
        items=items,
        community=community,
        keys=inst.keys(scale),
        scale_range=(float(min(c[0] for c in codes)), float(max(c[-1] for c in codes))),
    )
    vc = res.variance_components
    return pd.DataFrame(
        [
            {
                "tau_beta": vc.tau_beta,
                "tau_pi": vc.tau_pi,
                "sigma2": vc.sigma2,
                "intra_neighbourhood_correlation": vc.intra_neighbourhood_correlation,
                "reliability": res.reliability,
                "respondent_reliability": res.respondent_reliability,
                "converged": res.diagnostics.converged,
            }
        ]
    )


def _change_rows(
    cmp: pd.DataFrame, table: pd.DataFrame, community: str, min_n: int
) -> pd.DataFrame:
    """The change computed on shown communities, with a suppressed row for every community
    that is suppressed (or absent) in a wave and the reason taken from the community table.

    A community suppressed in one wave is dropped from that wave's respondents, so its change
    is never computed; its reason says why (size, secondary suppression or absence), never a
    count. Communities in the order of the table (first appearance), the overall row last.
    """
    codes, labels = pd.factorize(table[community], use_na_sentinel=False)
    order = pd.Index(labels, name=community)
    cols = _kind_columns(table)  # read once for both waves
    kb, sb = _wave_kinds(cols, codes, len(order), BEFORE)
    ka, sa = _wave_kinds(cols, codes, len(order), AFTER)
    hit = sb | sa
    joined = _reasons_joined(min_n)[kb * 4 + ka]
    is_com = (cmp["level"] == "community").to_numpy(dtype=bool)
    at = order.get_indexer(cmp[community].to_numpy()[is_com])  # each computed one's place
    take = np.full(len(order), -1, dtype=np.intp)
    take[at[at >= 0]] = np.flatnonzero(at >= 0)
    first = np.full(len(order), -1, dtype=np.intp)  # -1: a community without a change row
    first[take >= 0] = np.flatnonzero(is_com)[take[take >= 0]]
    rows = np.concatenate([first, np.flatnonzero(~is_com)])
    out: dict[str, Any] = {}
    for c in cmp.columns:  # column by column: one take each, no frame-wide assignment
        out[c] = _change_column(cmp, c, rows, hit, len(order))
    out[community][: len(order)] = labels
    out["direction"][: len(order)][hit] = None
    out["reason"][: len(order)][hit] = joined[hit]
    out["suppressed"][: len(order)] |= hit
    counts = [c for c in cmp.columns if c.startswith("n_") and not c.startswith("n_eff")]
    for c in counts:  # integers stay integers
        out[c] = pd.Series(out[c]).astype("Int64").array
    return pd.DataFrame(out, columns=cmp.columns)


#: the change columns kept for a suppressed community (the rest are set missing)
_KEPT = ("level", "effect_size", "method", "confidence", "suppressed", "reason", "direction")


def _change_column(
    cmp: pd.DataFrame, c: str, rows: np.ndarray, hit: np.ndarray, n: int
) -> np.ndarray:
    """Column ``c`` of the change table: ``cmp``'s ``rows`` (-1: a community without a row,
    missing) with the values of the ``hit`` (suppressed) communities among the first ``n`` set
    missing, as the frame-wide assignment of a reindexed table would."""
    s = cmp[c]
    missing = rows < 0
    if c in ("level", "suppressed"):
        vals = np.append(s.to_numpy(dtype=object), [None])[rows]  # -1: the missing one added
        if c == "level":
            vals[:n] = "community"
            return vals
        vals[pd.isna(vals)] = False
        return vals.astype(bool)
    src = s.to_numpy()
    if src.dtype.kind in "iub" and (missing.any() or (c not in _KEPT and hit.any())):
        src = src.astype(np.float64) if src.dtype.kind in "iu" else src.astype(object)
    elif src.dtype.kind not in "fiub":
        src = s.to_numpy(dtype=object)
    vals = np.append(src, np.array([np.nan], dtype=src.dtype))[rows] if missing.any() else src[rows]
    if c not in _KEPT and hit.any():
        vals[:n][hit] = np.nan
    elif c in ("effect_size", "method", "confidence") and s.notna().any():
        first = s.dropna().iloc[0]
        vals[:n][pd.isna(vals[:n])] = first
    return vals


#: the table's wave codes and labels, reasons and suppression flags (:func:`_kind_columns`)
KindColumns = tuple[np.ndarray, list[Any], np.ndarray, np.ndarray]


def _kind_columns(table: pd.DataFrame) -> KindColumns:
    """The table's wave labels coded (a missing one: -1), its reasons (missing ones -- NaN,
    None or pd.NA -- as "", as ``fillna("")`` gives them) and suppression flags, as arrays."""
    reason = table["reason"].to_numpy(dtype=object, copy=True)
    reason[pd.isna(reason)] = ""
    codes, labels = pd.factorize(table["wave"])
    return codes, list(labels), reason, table["suppressed"].to_numpy(dtype=bool)


def _wave_kinds(
    cols: KindColumns, codes: np.ndarray, n: int, wave: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per community (``codes`` of the table's rows, ``n`` communities): the kind of its reason
    in ``wave`` (0: absent or no reason, 1: secondary suppression, 2: suppressed, 3: shown;
    the first row of a community and wave counts) and whether it is suppressed there (absent:
    suppressed). ``cols``: the table's :func:`_kind_columns`."""
    wave_codes, labels, reasons, flags = cols
    at = next((i for i, lb in enumerate(labels) if isinstance(lb, str) and lb == wave), -2)
    rows = np.flatnonzero(wave_codes == at)[::-1]  # the rows labelled ``wave``; first wins
    reason = reasons[rows]
    # a shown row carries no reason: only the absent reason (or no row at all) means absent
    absent = reason == ABSENT_REASON
    sup = flags[rows]
    k = np.where(absent, 0, np.where(reason == SECONDARY_REASON, 1, np.where(sup, 2, 3)))
    kind, suppressed = np.zeros(n, dtype=np.intp), np.ones(n, dtype=bool)
    kind[codes[rows]], suppressed[codes[rows]] = k, sup
    return kind, suppressed


def _reasons_joined(min_n: int) -> np.ndarray:
    """The reason of a suppressed community for each pair of kinds (before * 4 + after, see
    :func:`_wave_kinds`): both waves' primary reasons joined; secondary suppression only when it
    is the one reason."""
    out = np.empty(16, dtype=object)
    for b in range(4):
        for a in range(4):
            rb, ra = (_why(k, what, min_n) for k, what in ((b, "before"), (a, "after")))
            pb, pa = (r if r != SECONDARY_REASON else "" for r in (rb, ra))
            joined = f"{pb}; {pa}".strip("; ")
            out[b * 4 + a] = joined if joined != "" else (rb if rb != "" else ra)
    return out


def _why(kind: int, what: str, min_n: int) -> str:
    return (
        f"no respondents in the {what} wave",
        SECONDARY_REASON,
        f"n_{what} below min_n={min_n}",
        "",
    )[kind]


def _wave_rows(scores: pd.DataFrame) -> dict[str, Any]:
    """Each wave's rows: slices when the baseline's rows come first (as the inputs put them),
    else masks."""
    is_before = (scores[WAVE] == BEFORE).to_numpy()
    k = int(is_before.sum())
    if is_before[:k].all():
        return {BEFORE: slice(0, k), AFTER: slice(k, len(scores))}
    return {BEFORE: is_before, AFTER: ~is_before}


def _wave_parts(
    scores: pd.DataFrame, rows: dict[str, Any] | None = None
) -> dict[str, pd.DataFrame]:
    """Each wave's rows, split once (not per section).

    The inputs put the baseline's rows first: then the two parts are row slices that share the
    table's memory (no copy of a million-row table); otherwise a selection by mask.
    """
    rows = _wave_rows(scores) if rows is None else rows
    return {w: scores.iloc[r] if isinstance(r, slice) else scores[r] for w, r in rows.items()}


def _wave_makers(
    scores: pd.DataFrame,
    rows: dict[str, Any],
    items: Mapping[str, Callable[[pd.Index], pd.DataFrame]] | None = None,
) -> dict[str, Callable[[], pd.DataFrame]]:
    """Each wave's part (:func:`_wave_parts`), made when called: with ``items`` (per wave: the
    item columns of its rows, for the part's index) the part also has the items, copied only
    when it is made (one wave's items held at a time)."""

    def part(label: str) -> pd.DataFrame:
        out = _wave_parts(scores, {label: rows[label]})[label]
        if items is None or label not in items:
            return out
        return pd.concat([out, items[label](out.index)], axis=1)

    return {w: functools.partial(part, w) for w in rows}


def _wave_codings(
    scores: pd.DataFrame, community: str, rows: dict[str, Any]
) -> dict[str, dict[tuple[str, str], GroupIndex]]:
    """Each wave's community coding, derived from a preparation's coding of ``scores`` when it
    holds one (:func:`~collective_efficacy._groups.restrict_groups`); else none."""
    gi = lookup(scores, ("factorize_groups", community))
    coded: dict[str, dict[tuple[str, str], GroupIndex]] = {}
    for label, sel in rows.items():
        sub = restrict_groups(gi, sel) if gi is not None else None
        coded[label] = {("factorize_groups", community): sub} if sub is not None else {}
    return coded


def statistics_sections(
    scores: pd.DataFrame,
    opts: EvaluationOptions,
    table: pd.DataFrame,
    sections: Sections,
    notes: Notes,
    step: Callable[[str], None],
    design: SurveyDesign | None = None,
    wave_items: Mapping[str, Callable[[pd.Index], pd.DataFrame]] | None = None,
) -> None:
    """Reliability, item analysis, omega, aggregation evidence, agreement, ecometrics, change.

    With a survey ``design`` (internal columns, see :mod:`._weights`) only the change is
    weighted; the other sections describe the respondents unweighted. ``wave_items``: the item
    columns of each wave's rows when ``scores`` has none (see :func:`_wave_makers`).
    """
    from collective_efficacy import agreement, reliability

    inst, scale, community, ci = opts.instrument, opts.scale, opts.column, opts.ci
    items = inst.scale(scale).items
    keys = inst.keys(scale)
    rows = _wave_rows(scores)
    parts, coded = _wave_makers(scores, rows, wave_items), _wave_codings(scores, community, rows)
    per_community: list[pd.DataFrame] = []

    def agree(p: pd.DataFrame, noted: Notes) -> pd.DataFrame:
        label = p[WAVE].iloc[0]
        t = table[(table["wave"] == label) & (table["reason"] != ABSENT_REASON)]

        def note(text: str) -> None:
            noted[f"agreement_{label}"] = text

        per = _agreement(p, inst, items, community, t, note)
        per_community.append(per.assign(wave=label))
        return _agreement_summary(per)

    fns: dict[str, Section] = {
        "reliability": lambda p, _: reliability.cronbach_alpha(p, items=items, keys=keys, ci=ci),
        "item_statistics": lambda p, _: reliability.item_statistics(p, items=items, keys=keys),
        "omega": lambda p, _: reliability.omega(p, items=items, keys=keys).summary(),
        "aggregation": lambda p, _: agreement.icc(p, dv=scale, community=community),
        "agreement": agree,
        "ecometric": lambda p, _: _ecometric_summary(p, inst, scale, items, community),
    }

    def after(name: str) -> None:
        if name == "agreement" and per_community:
            sections["community_agreement"] = records(pd.concat(per_community, ignore_index=True))

    def fresh(prep: PreparedSurvey) -> PreparedSurvey:
        # the ICC, the agreement indices (their own preparation of the keyed items) and the
        # ecometric model use none of the reliability matrices: only the community coding is
        # carried over (the matrices are let go before their arrays are built)
        out = PreparedSurvey(prep.data)
        if not prep.data.empty:
            with prep:
                gi = factorize_groups(prep.data, community)
            out.get(("factorize_groups", community), lambda: gi)
        return out

    renew = {"aggregation": fresh, "ecometric": fresh}
    _per_wave(parts, fns, sections, notes, step, after, renew=renew, coded=coded)
    step("change")
    _change_section(scores, rows, opts, table, sections, notes, design)


def _change_section(
    scores: pd.DataFrame,
    rows: dict[str, Any],
    opts: EvaluationOptions,
    table: pd.DataFrame,
    sections: Sections,
    notes: Notes,
    design: SurveyDesign | None = None,
) -> None:
    """The change per shown community and overall (multilevel; weighted: ``svyglm``), on shown
    communities only."""
    from collective_efficacy.change import compare_waves

    community, min_n = opts.column, opts.min_n
    sizes = [len(range(len(scores))[r]) if isinstance(r, slice) else r.sum() for r in rows.values()]
    if min(sizes) == 0:  # every community listed, none computed
        notes["change"] = _NOTHING_SHOWN
        cols = ["level", community, "n_before", "n_after", "diff", "suppressed", "reason"]
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in [*cols, "direction"]})
        sections["change"] = records(_change_rows(empty, table, community, min_n))
        return
    with _noted(notes, "change"):
        cmp = compare_waves(
            scores,
            dv=opts.scale,
            wave=WAVE,
            community=community,
            before=BEFORE,
            after=AFTER,
            ci=opts.ci,
            p_adjust=opts.p_adjust,
            min_n=min_n,
            design=design,
        )
        sections["change"] = records(_change_rows(cmp, table, community, min_n))

"""The report's sections as (kind, payload) blocks (private), shared by the Markdown and HTML
renderers of :mod:`collective_efficacy.report`.

The order answers first: a summary a council member can quote, a table of contents, the
evidence (overall change, change per community, impact levels, scores), then data quality and
reliability, and the methods last. Every verdict on a community's change comes from
:func:`community_verdicts` (one rule, see :mod:`collective_efficacy.change._verdict`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collective_efficacy._messages import MESSAGES, message
from collective_efficacy.change._verdict import count_verdicts
from collective_efficacy.evaluation._sections import AFTER, BEFORE
from collective_efficacy.report._change import (
    _change,
    _did_text,
    _overall,
    _overall_row,
    _why,
    community_verdicts,
)
from collective_efficacy.report._format import (
    Block,
    Span,
    count,
    head_for,
    name,
    num,
    scale_text,
    signed,
    text_for,
    wave,
)
from collective_efficacy.report._text import REFERENCES
from collective_efficacy.report._weights import (
    WEIGHT_HEAD,
    WEIGHT_REFERENCES,
    design_words,
    methods_text,
    summary_key,
    weighted,
)

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = ["blocks", "community_verdicts"]


def _by_wave(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["wave"]: r for r in rows}


def _measured(ev: Evaluation, t: dict[str, str]) -> list[Block]:
    b: list[Block] = [("h2", t["measured"])]
    b.append(
        (
            "p",
            t["measured_text"].format(
                title=ev.instrument_titles.get(t["lang"], ev.instrument_title),
                id=ev.instrument_id,
                version=ev.instrument_version,
                scale=ev.scale,
                community=ev.community,
                min_n=ev.min_n,
            ),
        )
    )
    if weighted(ev):
        b.append(("p", design_words(ev, t)))
    for w in ev.waves:
        b.append(
            (
                "li",
                t["wave_n" if w.n_rows_usable is not None else "wave_n_withheld"].format(
                    wave=wave(t, w.wave),
                    n=w.n_rows_usable,
                    k=w.n_communities,
                    file=_source(w.source, w.wave, t),
                    min_n=ev.min_n,
                )
                + (
                    " " + t["dates"].format(first=w.date_first, last=w.date_last)
                    if w.date_first
                    else ""
                )
                + (
                    " " + t["dates_bad"].format(n=w.n_dates_unreadable)
                    if w.n_dates_unreadable
                    else ""
                ),
            )
        )
    return b


def _quality(ev: Evaluation, t: dict[str, str], h: dict[str, str]) -> list[Block]:
    b: list[Block] = [("h2", t["quality"]), ("p", t["quality_text"])]
    rows = [
        [
            wave(t, w.wave),
            _source(w.source, w.wave, t),
            *(t["withheld"] if c is None else c for c in (w.n_rows_in, w.n_rows_usable)),
            w.n_rows_excluded,
            ", ".join(f"{t.get('reason_' + k, k)}: {v}" for k, v in w.exclusions.items()),
            w.n_communities,
        ]
        for w in ev.waves
    ]
    keys = ["wave", "file", "rows_in", "used", "excluded", "reasons", "communities"]
    b.append(("table", ([h[k] for k in keys], rows)))
    lang = t["lang"]
    for w in ev.waves:
        if w.normalised_labels:  # quoted, so that a leading or doubled space shows
            pairs = ", ".join(f'"{a}" → "{u}"' for a, u in w.normalised_labels.items())
            b.append(("li", t["labels_merged"].format(wave=wave(t, w.wave), pairs=pairs)))
        # keyed texts in the report's language; older results without them: English only
        notes = [m.render(lang) for m in w.note_messages] or (w.notes if lang == "en" else [])
        problems = [m.render(lang) for m in w.problem_messages]
        problems = problems or (w.problems if lang == "en" else [])
        b += [("li", f"{wave(t, w.wave)}: {x}") for x in [*notes, *problems[:5]]]
    return b


def _note_line(ev: Evaluation, key: str, text: str, lang: str) -> str:
    """A note in the report's language: its section (and wave), then its catalogue message.

    Notes without one carry a statistic's English error or warning: shown as such in English,
    named and pointed to in results.json otherwise.
    """
    base = key.removesuffix("_warnings")
    warned = base != key
    label = next((w for w in (BEFORE, AFTER) if base.endswith("_" + w)), None)
    base = base.removesuffix("_" + label) if label else base
    section = message("section_" + base, lang) if "section_" + base in MESSAGES["en"] else base
    if label:
        section += f" ({message('wave_' + label, lang)})"
    msg = ev.note_messages.get(key)
    if msg is not None:
        return f"{section}: {msg.render(lang)}"
    if lang == "en":
        return message(
            "note_warned" if warned else "note_failed", lang, section=section, detail=text
        )
    return message("note_warned_nl" if warned else "note_failed_nl", lang, section=section)


def _reliability(ev: Evaluation, t: dict[str, str], h: dict[str, str]) -> list[Block]:
    rel = ev.sections.get("reliability")
    if not rel:
        return []
    omega = _by_wave(ev.sections.get("omega", []))
    b: list[Block] = [("h2", t["reliability"])]
    rows = []
    for r in rel:
        o = omega.get(r["wave"], {}).get("omega")
        rows.append(
            [wave(t, r["wave"]), r.get("alpha"), r.get("ci_low"), r.get("ci_high"), o, r.get("n")]
        )
        a = r.get("alpha")
        if a is not None:
            key = "alpha_good" if a >= 0.7 else "alpha_weak"
            b.append(
                (
                    "p",
                    t[key].format(
                        wave=wave(t, r["wave"]),
                        a=num(t, a),
                        lo=num(t, r.get("ci_low")),
                        hi=num(t, r.get("ci_high")),
                        o=num(t, o),
                        c=round(100 * ev.confidence),
                    ),
                )
            )
    keys = ["wave", "alpha", "ci_low", "ci_high", "omega", "n"]
    b.append(("table", ([h[k] for k in keys], rows)))
    items = ev.sections.get("item_statistics", [])
    for label in dict.fromkeys(r["wave"] for r in items):
        part = [r for r in items if r["wave"] == label]
        b.append(("h3", t["items"].format(wave=wave(t, label))))
        keys = ["item", "reversed", "n", "mean", "sd", "r_drop", "alpha_if_dropped"]
        b.append(("table", ([h[k] for k in keys], [[r.get(k) for k in keys] for r in part])))
        for r in part:
            if r.get("reversed_suspect"):
                b.append(("warn", t["reversed_warn"].format(wave=wave(t, label), item=r["item"])))
    return b


def _aggregation(ev: Evaluation, t: dict[str, str], h: dict[str, str]) -> list[Block]:
    icc = _by_wave(ev.sections.get("aggregation", []))
    agr = _by_wave(ev.sections.get("agreement", []))
    eco = _by_wave(ev.sections.get("ecometric", []))
    waves = list(dict.fromkeys([*icc, *agr, *eco]))
    if not waves:
        return []
    b: list[Block] = [("h2", t["aggregation"])]
    rows = []
    for w in waves:
        i, a, e = icc.get(w, {}), agr.get(w, {}), eco.get(w, {})
        wl = wave(t, w)
        if i.get("icc1") is not None and i["icc1"] <= 0:
            b.append(("p", t["icc_none"].format(wave=wl, i1=num(t, i["icc1"]))))
        elif i.get("icc1") is not None and i.get("icc2") is not None:
            b.append(
                (
                    "p",
                    t["icc"].format(
                        wave=wl,
                        p=num(t, 100 * i["icc1"], 0),
                        i1=num(t, i["icc1"]),
                        i2=num(t, i["icc2"]),
                    ),
                )
            )
        if a.get("share_rwg_j_strong") is not None:
            b.append(
                (
                    "p",
                    t["rwg"].format(
                        wave=wl,
                        s=num(t, 100 * a["share_rwg_j_strong"], 0),
                        t=num(t, a.get("threshold")),
                        m=num(t, a.get("median_rwg_j")),
                        ad=num(t, a.get("median_ad")),
                    ),
                )
            )
        if e.get("reliability") is not None:
            inc = e.get("intra_neighbourhood_correlation")
            b.append(
                (
                    "p",
                    t["ecometric"].format(
                        wave=wl,
                        r=num(t, e["reliability"]),
                        inc=num(t, 100 * inc if inc is not None else None, 0),
                    ),
                )
            )
        rows.append(
            [
                wl,
                i.get("icc1"),
                i.get("icc2"),
                a.get("median_rwg_j"),
                a.get("share_rwg_j_strong"),
                e.get("reliability"),
            ]
        )
    keys = ["wave", "icc1", "icc2", "median_rwg_j", "share_rwg_j_strong", "ecometric_reliability"]
    b.append(("table", ([h[k] for k in keys], rows)))
    return b


def _source(source: str, label: str, t: dict[str, str]) -> str:
    """The file name, or a plain word when the wave came in as a DataFrame (source = wave)."""
    return t["dataframe"] if source == label else source


def _omitted(ev: Evaluation, t: dict[str, str], section: str) -> list[Block]:
    """The notice that stands where a section left out (``Evaluation.omitted``) would be."""
    why = ev.omitted.get(section)
    return [] if why is None else [("p", t[f"omitted_{section}_{why}"])]


def _impact(
    ev: Evaluation, t: dict[str, str], h: dict[str, str], counts: dict[str, int] | None
) -> list[Block]:
    """The impact levels per community and wave; ``counts`` is :func:`_impact_counts` of ``ev``."""
    rows = ev.sections.get("impact")
    if "impact" in ev.omitted:
        return [("h2", t["impact"]), *_omitted(ev, t, "impact"), *_omitted(ev, t, "map")]
    if not rows:
        return []
    b: list[Block] = [("h2", t["impact"]), ("p", t["impact_text"])]
    ch = ev.sections.get("impact_change", [])
    if counts is not None:
        b.append(("p", _impact_sentence(t, counts)))
    body = []
    tget = t.get
    for r in rows:
        label = r.get("wave", "")
        lead = [name(r, ev), tget(label, label)]  # wave(t, label), inline
        if r.get("suppressed"):
            lead.append(Span(_why(r, ev, t), 4))  # the reason helper of the other tables
        else:
            basis = r.get("basis")
            lead += [r.get("level"), r.get("level_low"), r.get("level_high")]
            lead.append(tget("basis_" + str(basis), basis))
        body.append(lead)
    keys = ["community", "wave", "level", "level_low", "level_high", "basis"]
    b.append(("longtable", ([h[k] for k in keys], body)))
    if ch:
        b.append(("h3", t["impact_change"]))
        keys = ["community", "level_before", "level_after", "change", "crossed", "note"]
        body = [
            [
                name(r, ev),
                r.get("level_before"),
                r.get("level_after"),
                r.get("change"),
                r.get("crossed_release_threshold"),
                _impact_note(r, t),
            ]
            for r in ch
        ]
        b.append(("longtable", ([h[k] for k in keys], body)))
    b += _omitted(ev, t, "map")
    if ev.geometry is not None:
        for w in ("baseline", "end_of_cycle"):
            b.append(("h3", t["map"].format(wave=wave(t, w))))
            b.append(("map", w))
    return b


def _impact_note(r: dict[str, Any], t: dict[str, str]) -> str:
    """The level-change note in the report's language, from the row's fields."""
    parts = []
    if r.get("level_before") is None:
        parts.append(t["no_level_before"])
    if r.get("level_after") is None:
        parts.append(t["no_level_after"])
    bb, ba = r.get("basis_before"), r.get("basis_after")
    both = r.get("level_before") is not None and r.get("level_after") is not None
    if both and {bb, ba} == {"full", "survey_only"}:
        parts.append(t["basis_changed"])
    elif both and bb == ba == "survey_only":
        parts.append(t["both_survey"])
    return "; ".join(parts)


def _scores(ev: Evaluation, t: dict[str, str], h: dict[str, str]) -> list[Block]:
    body = []
    w = weighted(ev)  # n beside n_eff: how many respondents the weights effectively leave
    for r in ev.sections.get("community_scores", []):
        lead = [name(r, ev), wave(t, r["wave"]), r.get("n")]
        if r.get("suppressed"):
            body.append([*lead, Span(_why(r, ev, t), 4 if w else 3)])
        else:
            n_eff = [num(t, r.get("n_eff"), 1)] if w else []
            body.append([*lead, *n_eff, r.get("mean"), r.get("ci_low"), r.get("ci_high")])
    keys = ["community", "wave", "n", "mean", "ci_low", "ci_high"]
    heads = [h[k] for k in keys]
    if w:
        heads.insert(3, WEIGHT_HEAD.get(t["lang"], WEIGHT_HEAD["en"])["n_eff"])
    return [("h2", t["scores"]), ("longtable", (heads, body))]


def _impact_counts(ev: Evaluation) -> dict[str, int] | None:
    """Communities at level 3 or higher per wave, and those that crossed / fell below it."""
    rows = ev.sections.get("impact")
    if not rows:
        return None
    ready = {"baseline": 0, "end_of_cycle": 0}  # one pass over the rows (a row per community)
    for r in rows:
        w = r.get("wave")
        if w in ready and (r.get("level") or 0) >= 3:
            ready[w] += 1
    n = {"b": ready["baseline"], "a": ready["end_of_cycle"], "c": 0, "f": 0, "u": 0}
    for r in ev.sections.get("impact_change", []):
        n["c"] += bool(r.get("crossed_release_threshold"))
        n["f"] += bool(r.get("fell_below_threshold"))
        # at level 3+ at the end without a baseline level: why a + f - b can exceed c
        n["u"] += r.get("level_before") is None and (r.get("level_after") or 0) >= 3
    return n


def _impact_sentence(t: dict[str, str], counts: dict[str, int]) -> str:
    text = t["sum_impact"].format(**counts)
    return text + (" " + t["sum_impact_new"].format(**counts) if counts["u"] else "")


def _reconcile(ev: Evaluation, t: dict[str, str], per: list[dict[str, Any]]) -> str:
    """Why the impact levels and the survey's verdicts can tell different stories."""
    if not any(r.get("basis") == "full" for r in ev.sections.get("impact", [])):
        return t["sum_survey_only"]
    crossed = {
        str(name(r, ev))
        for r in ev.sections.get("impact_change", [])
        if r.get("crossed_release_threshold")
    }
    if not crossed:
        return t["sum_reconcile_none"]
    mine = [r for r in per if str(name(r, ev)) in crossed and r["verdict"] is not None]
    return t["sum_reconcile"].format(
        c=len(crossed),
        k=len(mine),
        rose=sum(1 for r in mine if (r.get("diff") or 0) > 0),
        clear=sum(1 for r in mine if r["verdict"] == "improved"),
    )


def _summary(
    ev: Evaluation, t: dict[str, str], per: list[dict[str, Any]], counts: dict[str, int] | None
) -> list[Block]:
    """The answer first: overall change, verdict counts, impact levels, and how they relate
    (``counts``: :func:`_impact_counts` of ``ev``)."""
    lines: list[str] = []
    o = _overall_row(ev)
    if o is not None and o.get("mean_before") is not None:
        lo, hi = o.get("ci_low"), o.get("ci_high")
        key = "sum_up" if (lo or 0) > 0 else "sum_down" if (hi or 0) < 0 else "sum_flat"
        rng = scale_text(t, ev.scale_range)
        lines.append(
            (summary_key(t) if weighted(ev) else t["sum_overall"]).format(
                on=t["sum_scale"].format(r=rng) if rng else t["sum_scale_unknown"],
                before=num(t, o["mean_before"]),
                after=num(t, o["mean_after"]),
                d=signed(t, o["diff"]),
                c=round(100 * ev.confidence),
                lo=num(t, lo),
                hi=num(t, hi),
                verdict=t[key],
            )
        )
    did = _did_text(ev, t, "sum_did")
    if did is not None:
        lines.append(did)
    if per:
        n = count_verdicts(per)
        k = n["improved"] + n["declined"] + n["no_change"]
        text = (
            t["sum_communities"].format(
                k=k, up=n["improved"], down=n["declined"], flat=n["no_change"]
            )
            if k
            else t["sum_none_shown"]
        )
        if n["not_shown"]:
            text += " " + t["sum_hidden"].format(s=n["not_shown"], min_n=ev.min_n)
        lines.append(text)
    if counts is not None:
        lines.append(_impact_sentence(t, counts) + " " + _reconcile(ev, t, per))
    if len(ev.waves) == 2:
        nb, na = (
            t["n_withheld"] if w.n_rows_usable is None else count(t, w.n_rows_usable)
            for w in ev.waves
        )
        title = ev.instrument_titles.get(t["lang"], ev.instrument_title)
        lines.append(t["sum_data"].format(nb=nb, na=na, title=title))
    if weighted(ev):
        lines.append(design_words(ev, t))
    if not lines:
        return []
    return [("h2", t["summary"]), ("summary", lines), ("toc", t["contents"])]


def blocks(ev: Evaluation, lang: str) -> list[Block]:
    """The report as (kind, payload) blocks shared by the Markdown and HTML renderers."""
    t, h = text_for(lang), head_for(lang)
    b: list[Block] = [("h1", t["title"])]
    per = community_verdicts(ev)  # built once: the summary counts them, the change lists them
    counts = _impact_counts(ev)  # the summary's and the impact section's sentence
    b += _summary(ev, t, per, counts)
    b += _overall(ev, t)
    b += _change(ev, t, h, per)
    b += _impact(ev, t, h, counts)
    b += _scores(ev, t, h)
    b += _measured(ev, t)
    b += _quality(ev, t, h)
    b += _reliability(ev, t, h)
    b += _aggregation(ev, t, h)
    if ev.notes:
        b.append(("h2", t["notes"]))
        b += [("li", _note_line(ev, k, v, t["lang"])) for k, v in ev.notes.items()]
    b += [("h2", t["methods"]), ("p", t["methods_text"])]
    if weighted(ev):
        b.append(("p", methods_text(ev, t)))
    b += [("li", ref) for ref in [*REFERENCES, *(WEIGHT_REFERENCES if weighted(ev) else [])]]
    return b

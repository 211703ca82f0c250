"""Render an :class:`~collective_efficacy.evaluation.Evaluation` as Markdown or self-contained HTML.

Only formatting happens here: every number comes from the Evaluation. User-supplied strings
(community names, file names, labels) are HTML-escaped. Suppressed communities show as
"fewer than N respondents" and carry no numbers.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..evaluation import Evaluation

__all__ = ["render_html", "render_markdown"]

from ._escape import escape_markdown
from ._report_text import HEAD, REFERENCES, TEXT

Block = tuple[str, Any]
P_CLEAR = 0.05
FOREST_MAX = 50  # communities in the forest plot: those with the smallest adjusted p
LONG_TABLE = 20  # longer per-community tables fold away in the HTML report (<details>)


class Span:
    """A cell that spans the rest of its row (a suppressed community's message)."""

    def __init__(self, text: str, n: int) -> None:
        self.text, self.n = text, n


def _fmt(v: Any, digits: int = 2, t: dict[str, str] | None = None) -> str:
    """Round for display only; the language gives the decimal sign and yes/no."""
    t = t or TEXT["en"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return t["yes"] if v else t["no"]
    if isinstance(v, float):
        return f"{v:.{digits}f}".replace(".", t["decimal"])
    return str(v)


def _num(t: dict[str, str], v: Any, digits: int = 2) -> str:
    return _fmt(v, digits, t)


def _p(t: dict[str, str], p: Any) -> Any:
    """A p-value for display: below 0.001 it is shown as '< 0.001'."""
    if isinstance(p, float) and p < 0.001:
        return "< " + _fmt(0.001, 3, t)
    return _fmt(p, 3, t) if isinstance(p, float) else p


def _is_num(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return isinstance(v, str) and bool(v) and (v[0].isdigit() or v.startswith(("< ", "-0", "–")))


def _t(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["en"])


def _h(lang: str) -> dict[str, str]:
    return HEAD.get(lang, HEAD["en"])


def _wave(t: dict[str, str], label: str) -> str:
    return t.get(label, label)


def _size(g: float | None, t: dict[str, str]) -> str:
    """Cohen's (1988) verbal bands for a standardised difference."""
    if g is None:
        return ""
    a = abs(g)
    key = "negligible" if a < 0.2 else "small" if a < 0.5 else "medium" if a < 0.8 else "large"
    return t[key]


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
    for w in ev.waves:
        b.append(
            (
                "li",
                t["wave_n"].format(
                    wave=_wave(t, w.wave),
                    n=w.n_rows_usable,
                    k=w.n_communities,
                    file=_source(w.source, w.wave, t),
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
            _wave(t, w.wave),
            _source(w.source, w.wave, t),
            w.n_rows_in,
            w.n_rows_usable,
            w.n_rows_excluded,
            ", ".join(f"{t.get('reason_' + k, k)}: {v}" for k, v in w.exclusions.items()),
            w.n_communities,
        ]
        for w in ev.waves
    ]
    keys = ["wave", "file", "rows_in", "used", "excluded", "reasons", "communities"]
    b.append(("table", ([h[k] for k in keys], rows)))
    for w in ev.waves:
        for p in w.problems[:5]:
            b.append(("li", f"{_wave(t, w.wave)}: {p}"))
    return b


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
            [_wave(t, r["wave"]), r.get("alpha"), r.get("ci_low"), r.get("ci_high"), o, r.get("n")]
        )
        a = r.get("alpha")
        if a is not None:
            key = "alpha_good" if a >= 0.7 else "alpha_weak"
            b.append(
                (
                    "p",
                    t[key].format(
                        wave=_wave(t, r["wave"]),
                        a=_num(t, a),
                        lo=_num(t, r.get("ci_low")),
                        hi=_num(t, r.get("ci_high")),
                        o=_num(t, o),
                        c=round(100 * ev.confidence),
                    ),
                )
            )
    keys = ["wave", "alpha", "ci_low", "ci_high", "omega", "n"]
    b.append(("table", ([h[k] for k in keys], rows)))
    items = ev.sections.get("item_statistics", [])
    for label in dict.fromkeys(r["wave"] for r in items):
        part = [r for r in items if r["wave"] == label]
        b.append(("h3", t["items"].format(wave=_wave(t, label))))
        keys = ["item", "reversed", "n", "mean", "sd", "r_drop", "alpha_if_dropped"]
        b.append(("table", ([h[k] for k in keys], [[r.get(k) for k in keys] for r in part])))
        for r in part:
            if r.get("reversed_suspect"):
                b.append(("warn", t["reversed_warn"].format(wave=_wave(t, label), item=r["item"])))
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
        wl = _wave(t, w)
        if i.get("icc1") is not None and i["icc1"] <= 0:
            b.append(("p", t["icc_none"].format(wave=wl, i1=_num(t, i["icc1"]))))
        elif i.get("icc1") is not None and i.get("icc2") is not None:
            b.append(
                (
                    "p",
                    t["icc"].format(
                        wave=wl,
                        p=_num(t, 100 * i["icc1"], 0),
                        i1=_num(t, i["icc1"]),
                        i2=_num(t, i["icc2"]),
                    ),
                )
            )
        if a.get("share_rwg_j_strong") is not None:
            b.append(
                (
                    "p",
                    t["rwg"].format(
                        wave=wl,
                        s=_num(t, 100 * a["share_rwg_j_strong"], 0),
                        t=_num(t, a.get("threshold")),
                        m=_num(t, a.get("median_rwg_j")),
                        ad=_num(t, a.get("median_ad")),
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
                        r=_num(t, e["reliability"]),
                        inc=_num(t, 100 * inc if inc is not None else None, 0),
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


def _source(source: str, wave: str, t: dict[str, str]) -> str:
    """The file name, or a plain word when the wave came in as a DataFrame (source = wave)."""
    return t["dataframe"] if source == wave else source


def _name(r: dict[str, Any], ev: Evaluation) -> Any:
    return r.get(ev.community, r.get("community", ""))


def _change(ev: Evaluation, t: dict[str, str], h: dict[str, str]) -> list[Block]:
    rows = ev.sections.get("change")
    if not rows:
        return []
    b: list[Block] = []
    overall = [r for r in rows if r.get("level") == "overall"]
    per = [r for r in rows if r.get("level") != "overall"]
    if overall and overall[0].get("diff") is not None:
        o = overall[0]
        p = o.get("p")
        b += [("h2", t["overall"])]
        b.append(
            (
                "p",
                t["overall_text"].format(
                    d=_num(t, o["diff"]),
                    lo=_num(t, o.get("ci_low")),
                    hi=_num(t, o.get("ci_high")),
                    size=_size(o.get("g"), t),
                    g=_num(t, o.get("g")),
                    c=round(100 * ev.confidence),
                    p=_p(t, p) if isinstance(p, float) and p < 0.001 else f"= {_num(t, p, 3)}",
                ),
            )
        )
    b.append(("h2", t["change"]))
    shown = [r for r in per if not r.get("suppressed")]
    verdicts = [_direction(r, t) for r in shown]
    up, down = verdicts.count(t["improved"]), verdicts.count(t["declined"])
    b.append(
        (
            "p",
            t["change_text"].format(
                up=up,
                down=down,
                k=len(shown),
                adj=ev.p_adjust,
                s=len(per) - len(shown),
                min_n=ev.min_n,
            ),
        )
    )
    keys = ["community", "n_before", "n_after", "mean_before", "mean_after", "diff"]
    keys += ["ci_low", "ci_high", "p_adjusted", "g", "direction"]
    body = []
    for r in per:
        if r.get("suppressed"):
            body.append(
                [
                    _name(r, ev),
                    r.get("n_before"),
                    r.get("n_after"),
                    Span(_why(r, ev, t), len(keys) - 3),
                ]
            )
        else:
            vals = [r.get(k) for k in keys[1:-1]]
            vals[keys.index("p_adjusted") - 1] = _p(t, r.get("p_adjusted"))
            body.append([_name(r, ev), *vals, _direction(r, t)])
    b.append(("table", ([h[k] for k in keys], body)))  # the central table: never folded
    b.append(("forest", per))
    return b


def _why(r: dict[str, Any], ev: Evaluation, t: dict[str, str]) -> str:
    """Why a community's change is not shown: not measured in a wave, or too few respondents."""
    reason = str(r.get("reason") or "")
    if reason.startswith("no respondents"):
        return t["absent"]
    if reason.startswith("secondary"):
        return t["secondary"]
    return t["suppressed"].format(n=ev.min_n)


def _direction(r: dict[str, Any], t: dict[str, str]) -> str:
    p, d = r.get("p_adjusted"), r.get("diff")
    if p is None or d is None or p >= P_CLEAR:
        return t["no_change"]
    return t["improved"] if d > 0 else t["declined"]


def _impact(ev: Evaluation, t: dict[str, str], h: dict[str, str]) -> list[Block]:
    rows = ev.sections.get("impact")
    if not rows:
        return []
    b: list[Block] = [("h2", t["impact"]), ("p", t["impact_text"])]
    ch = ev.sections.get("impact_change", [])
    ready = {
        w: sum(1 for r in rows if r.get("wave") == w and (r.get("level") or 0) >= 3)
        for w in ("baseline", "end_of_cycle")
    }
    b.append(
        (
            "p",
            t["impact_summary"].format(
                b=ready["baseline"],
                a=ready["end_of_cycle"],
                c=sum(1 for r in ch if r.get("crossed_release_threshold")),
                f=sum(1 for r in ch if r.get("fell_below_threshold")),
            ),
        )
    )
    body = []
    for r in rows:
        sup = r.get("suppressed")
        body.append(
            [
                _name(r, ev),
                _wave(t, r.get("wave", "")),
                *(
                    [Span(t["suppressed"].format(n=ev.min_n), 4)]
                    if sup
                    else [
                        r.get("level"),
                        r.get("level_low"),
                        r.get("level_high"),
                        t.get("basis_" + str(r.get("basis")), r.get("basis")),
                    ]
                ),
            ]
        )
    keys = ["community", "wave", "level", "level_low", "level_high", "basis"]
    b.append(("longtable", ([h[k] for k in keys], body)))
    if ch:
        b.append(("h3", t["impact_change"]))
        keys = ["community", "level_before", "level_after", "change", "crossed", "note"]
        body = [
            [
                _name(r, ev),
                r.get("level_before"),
                r.get("level_after"),
                r.get("change"),
                r.get("crossed_release_threshold"),
                _impact_note(r, t),
            ]
            for r in ch
        ]
        b.append(("longtable", ([h[k] for k in keys], body)))
    if ev.geometry is not None:
        for w in ("baseline", "end_of_cycle"):
            b.append(("h3", t["map"].format(wave=_wave(t, w))))
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
    for r in ev.sections.get("community_scores", []):
        lead = [_name(r, ev), _wave(t, r["wave"]), r.get("n")]
        if r.get("suppressed"):
            body.append([*lead, Span(_why(r, ev, t), 3)])
        else:
            body.append([*lead, r.get("mean"), r.get("ci_low"), r.get("ci_high")])
    keys = ["community", "wave", "n", "mean", "ci_low", "ci_high"]
    return [("h2", t["scores"]), ("longtable", ([h[k] for k in keys], body))]


def _blocks(ev: Evaluation, lang: str) -> list[Block]:
    """The report as (kind, payload) blocks shared by the Markdown and HTML renderers."""
    t, h = _t(lang), _h(lang)
    b: list[Block] = [("h1", t["title"])]
    b += _measured(ev, t)
    b += _quality(ev, t, h)
    b += _reliability(ev, t, h)
    b += _aggregation(ev, t, h)
    b += _change(ev, t, h)
    b += _impact(ev, t, h)
    b += _scores(ev, t, h)
    if ev.notes:
        b.append(("h2", t["notes"]))
        b += [("li", f"{k}: {v}") for k, v in ev.notes.items()]
    b += [("h2", t["methods"]), ("p", t["methods_text"])]
    b += [("li", ref) for ref in REFERENCES]
    return b


def _md(text: str) -> str:
    """User text as inert Markdown (the one escaper: :func:`._escape.escape_markdown`)."""
    return escape_markdown(text)


def render_markdown(ev: Evaluation, *, lang: str = "en") -> str:
    """The report as Markdown (tables and text; the figures are only in the HTML report).

    Every string (community names, file names, notes) is escaped for Markdown: HTML, links,
    images, code and table syntax show as text and a newline cannot break a row.
    """
    t = _t(lang)
    out: list[str] = []
    prev = ""
    figures_noted = False
    for kind, payload in _blocks(ev, lang):
        if prev in ("li", "warn") and kind not in ("li", "warn"):
            out.append("")
        prev = kind
        if kind == "h1":
            out += [f"# {_md(payload)}", ""]
        elif kind == "h2":
            out += [f"## {_md(payload)}", ""]
        elif kind == "h3":
            out += [f"### {_md(payload)}", ""]
        elif kind == "p":
            out += [_md(payload), ""]
        elif kind == "li":
            out.append(f"- {_md(payload)}")
        elif kind == "warn":
            out.append(f"- **{_md(payload)}**")
        elif kind in ("table", "longtable"):
            head, rows = payload
            out.append("| " + " | ".join(_md(c) for c in head) + " |")
            out.append("|" + "---|" * len(head))
            for r in rows:
                cells: list[str] = []
                for v in r:
                    if isinstance(v, Span):
                        cells += [v.text] + [""] * (v.n - 1)
                    else:
                        cells.append(_fmt(v, t=t))
                out.append("| " + " | ".join(_md(c) for c in cells) + " |")
            out.append("")
        elif kind in ("forest", "map") and not figures_noted:
            out += [f"*{t['figures_md']}*", ""]
            figures_noted = True
    return "\n".join(out) + "\n"


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _forest_png(rows: list[dict[str, Any]], ev: Evaluation, lang: str) -> str | None:
    """Change per community with its CI; filled dots where the adjusted p is below 0.05."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - plot extra missing
        return None
    shown = [r for r in rows if not r.get("suppressed") and r.get("diff") is not None]
    if not shown:
        return None
    if len(shown) > FOREST_MAX:  # a readable plot; the table above lists every community
        keep = sorted(
            range(len(shown)),
            key=lambda k: (
                shown[k].get("p_adjusted") is None,
                1.0 if shown[k].get("p_adjusted") is None else shown[k]["p_adjusted"],
            ),
        )[:FOREST_MAX]
        shown = [shown[k] for k in sorted(keep)]
    t = _t(lang)
    fig = Figure(figsize=(7.5, 0.26 * len(shown) + 1.4))
    ax = fig.subplots()
    for k, r in enumerate(shown):
        lo, hi = r.get("ci_low"), r.get("ci_high")
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [k, k], color="#555", lw=1.2)
        p = r.get("p_adjusted")
        clear = p is not None and p < P_CLEAR
        ax.plot([r["diff"]], [k], "o", color="#1f77b4", mfc="#1f77b4" if clear else "white")
        ax.annotate(
            f"p {_p(t, p)}" if p is not None and p < 0.001 else f"p = {_fmt(p, 3, t)}",
            (1.0, k),
            xycoords=("axes fraction", "data"),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=6.5,
            color="#333",
        )
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(range(len(shown)))
    # "$" would start matplotlib mathtext in a community name
    ax.set_yticklabels([str(_name(r, ev)).replace("$", r"\$") for r in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"{_h(lang)['diff']}: {t['end_of_cycle']} - {t['baseline']} "
        f"({round(100 * ev.confidence)}% CI; p {ev.p_adjust}-adjusted)",
        fontsize=8,
    )
    fig.tight_layout()
    return _png(fig)


def _map_png(ev: Evaluation, wave: str, lang: str) -> str | None:
    if ev.geometry is None:
        return None
    try:
        from ..plot import impact_map
    except ImportError:  # pragma: no cover - plot extra missing
        return None
    import pandas as pd

    levels = pd.DataFrame([r for r in ev.sections.get("impact", []) if r.get("wave") == wave])
    if levels.empty:
        return None
    # JSON records turn integer levels with gaps into floats; the map labels want integers
    for col in ("level", "level_low", "level_high"):
        if col in levels.columns:
            levels[col] = pd.to_numeric(levels[col]).round().astype("Int64")
    fig = impact_map(
        levels,
        ev.geometry,
        key=ev.community,
        geometry_key=ev.geometry_key,
        lang=lang,
        title="",  # the report's heading names the map
    )
    return _png(fig)


def _html_cell(v: Any, t: dict[str, str]) -> str:
    e = html.escape
    if isinstance(v, Span):
        return f'<td class="sup" colspan="{v.n}">{e(v.text)}</td>'
    text = _fmt(v, t=t)
    if isinstance(v, bool) or text == "–":
        return f'<td class="mid">{e(text)}</td>'
    return f'<td class="num">{e(text)}</td>' if _is_num(v) else f"<td>{e(text)}</td>"


def render_html(ev: Evaluation, *, lang: str = "en") -> str:
    """The report as one self-contained HTML page (figures embedded, no network needed)."""
    e = html.escape
    t = _t(lang)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(t['title'])}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;"
        "padding:0 1em;color:#222;line-height:1.45}h2{border-bottom:1px solid #ddd;"
        "margin-top:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid "
        "#ccc;padding:2px 6px;font-size:88%}th{background:#f4f4f4}td.num{text-align:right;"
        "font-variant-numeric:tabular-nums;white-space:nowrap}td.mid{text-align:center}"
        "td.sup{color:#666;font-style:italic}th{white-space:nowrap}"
        "summary{cursor:pointer;color:#1f4e99}img{max-width:100%;height:auto}"
        ".warn{color:#8a3b00}</style></head><body>",
    ]
    in_list = False
    for kind, payload in _blocks(ev, lang):
        if kind not in ("li", "warn") and in_list:
            parts.append("</ul>")
            in_list = False
        if kind in ("h1", "h2", "h3", "p"):
            parts.append(f"<{kind}>{e(payload)}</{kind}>")
        elif kind in ("li", "warn"):
            if not in_list:
                parts.append("<ul>")
                in_list = True
            cls = ' class="warn"' if kind == "warn" else ""
            parts.append(f"<li{cls}>{e(payload)}</li>")
        elif kind in ("table", "longtable"):
            head, rows = payload
            if kind == "longtable" and len(rows) > LONG_TABLE:
                parts.append(
                    f"<details><summary>{e(t['show_table'].format(n=len(rows)))}</summary>"
                )
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
            for r in rows:
                parts.append("<tr>" + "".join(_html_cell(v, t) for v in r) + "</tr>")
            parts.append("</table>")
            if kind == "longtable" and len(rows) > LONG_TABLE:
                parts.append("</details>")
        elif kind == "forest":
            png = _forest_png(payload, ev, lang)
            if png:
                parts.append(f'<img alt="{e(t["forest_alt"])}" src="data:image/png;base64,{png}">')
                n_shown = sum(
                    1 for r in payload if not r.get("suppressed") and r.get("diff") is not None
                )
                if n_shown > FOREST_MAX:
                    cap = t["forest_cap"].format(k=FOREST_MAX, n=n_shown)
                    parts.append(f"<p><em>{e(cap)}</em></p>")
        elif kind == "map":
            png = _map_png(ev, payload, lang)
            if png:
                alt = t["map_alt"].format(wave=_wave(t, payload))
                parts.append(f'<img alt="{e(alt)}" src="data:image/png;base64,{png}">')
    if in_list:
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)

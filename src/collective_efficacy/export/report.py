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

TEXT = {
    "en": {
        "title": "Collective efficacy: baseline versus end of cycle",
        "measured": "What was measured",
        "quality": "Data quality",
        "reliability": "Scale reliability",
        "aggregation": "Do residents' answers describe their community?",
        "change": "Change per community",
        "scores": "Community scores per wave",
        "notes": "Notes",
        "methods": "Methods and references",
        "suppressed": "fewer than {n} respondents",
        "rows": "{inn} rows in, {use} used, {exc} excluded",
        "alpha_good": "The scale is internally consistent (alpha {a}).",
        "alpha_weak": "The scale's internal consistency is weak (alpha {a}); interpret with care.",
        "icc": "{p} % of the differences in scores lie between communities (ICC(1) = {i1}); "
        "the reliability of a community mean is {i2} (ICC(2)).",
        "improved": "improved",
        "declined": "declined",
        "no_change": "no clear change",
        "baseline": "baseline",
        "end_of_cycle": "end of cycle",
        "impact": "Impact level (0-5)",
        "impact_text": "Our documented operationalisation of the Strongpact description (see the "
        "docs page 'The impact scale'); not a validated psychometric scale. Without the "
        "programme's assessment a level is survey-only and capped at 2.",
    },
    "nl": {
        "title": "Collectieve weerbaarheid: nulmeting versus eindmeting",
        "measured": "Wat is gemeten",
        "quality": "Kwaliteit van de gegevens",
        "reliability": "Betrouwbaarheid van de schaal",
        "aggregation": "Beschrijven de antwoorden van bewoners hun buurt?",
        "change": "Verandering per buurt",
        "scores": "Buurtscores per meting",
        "notes": "Opmerkingen",
        "methods": "Methoden en bronnen",
        "suppressed": "minder dan {n} respondenten",
        "rows": "{inn} rijen ingelezen, {use} gebruikt, {exc} uitgesloten",
        "alpha_good": "De schaal is intern consistent (alfa {a}).",
        "alpha_weak": "De interne consistentie van de schaal is zwak (alfa {a}); voorzichtig interpreteren.",
        "icc": "{p} % van de verschillen in scores ligt tussen buurten (ICC(1) = {i1}); "
        "de betrouwbaarheid van een buurtgemiddelde is {i2} (ICC(2)).",
        "improved": "vooruit",
        "declined": "achteruit",
        "no_change": "geen duidelijke verandering",
        "baseline": "nulmeting",
        "end_of_cycle": "eindmeting",
        "impact": "Impactniveau (0-5)",
        "impact_text": "Onze gedocumenteerde uitwerking van de Strongpact-beschrijving (zie de "
        "documentatiepagina 'The impact scale'); geen gevalideerde psychometrische schaal. Zonder "
        "beoordeling door de programmaleider is een niveau alleen op de enquete gebaseerd en "
        "hooguit 2.",
    },
}

METHODS = [
    "Sampson, R. J., Raudenbush, S. W., & Earls, F. (1997). Neighborhoods and violent crime: "
    "A multilevel study of collective efficacy. Science, 277, 918-924.",
    "Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests. "
    "Psychometrika, 16, 297-334. Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). "
    "Statistical inference for coefficient alpha. Applied Psychological Measurement, 11, 93-103.",
    "Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability. In "
    "Klein & Kozlowski (Eds.), Multilevel theory, research, and methods in organizations.",
    "Welch, B. L. (1947). The generalization of Student's problem. Biometrika, 34, 28-35. "
    "Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size. "
    "Journal of Educational Statistics, 6, 107-128. Holm, S. (1979). A simple sequentially "
    "rejective multiple test procedure. Scandinavian Journal of Statistics, 6, 65-70.",
]


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _t(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["en"])


def _blocks(ev: Evaluation, lang: str) -> list[tuple[str, Any]]:
    """The report as (kind, payload) blocks shared by the Markdown and HTML renderers."""
    t = _t(lang)
    b: list[tuple[str, Any]] = [("h1", t["title"])]
    b.append(("h2", t["measured"]))
    b.append(
        (
            "p",
            f"{ev.instrument_title} ({ev.instrument_id} v{ev.instrument_version}); "
            f"scale: {ev.scale}; community column: {ev.community}; "
            f"minimum respondents per community: {ev.min_n}.",
        )
    )
    b.append(("h2", t["quality"]))
    rows = []
    for w in ev.waves:
        rows.append(
            [
                t.get(w.wave, w.wave),
                w.source,
                w.n_rows_in,
                w.n_rows_usable,
                w.n_rows_excluded,
                ", ".join(f"{k}: {v}" for k, v in w.exclusions.items()),
                w.n_communities,
            ]
        )
    b.append(
        ("table", (["wave", "file", "rows in", "used", "excluded", "reasons", "communities"], rows))
    )
    for w in ev.waves:
        for p in w.problems[:5]:
            b.append(("li", f"{t.get(w.wave, w.wave)}: {p}"))
    if "reliability" in ev.sections:
        b.append(("h2", t["reliability"]))
        rel = ev.sections["reliability"]
        b.append(
            (
                "table",
                (
                    ["wave", "alpha", "CI low", "CI high", "std. alpha", "n"],
                    [
                        [
                            t.get(r["wave"], r["wave"]),
                            r.get("alpha"),
                            r.get("ci_low"),
                            r.get("ci_high"),
                            r.get("std_alpha"),
                            r.get("n"),
                        ]
                        for r in rel
                    ],
                ),
            )
        )
        for r in rel:
            a = r.get("alpha")
            if a is not None:
                key = "alpha_good" if a >= 0.7 else "alpha_weak"
                b.append(("p", f"{t.get(r['wave'], r['wave'])}: " + t[key].format(a=_fmt(a))))
    if "aggregation" in ev.sections:
        b.append(("h2", t["aggregation"]))
        for r in ev.sections["aggregation"]:
            i1, i2 = r.get("icc1"), r.get("icc2")
            if i1 is not None and i2 is not None:
                b.append(
                    (
                        "p",
                        f"{t.get(r['wave'], r['wave'])}: "
                        + t["icc"].format(p=_fmt(100 * i1, 0), i1=_fmt(i1), i2=_fmt(i2)),
                    )
                )
    if "change" in ev.sections:
        b.append(("h2", t["change"]))
        head = [
            "community",
            "n before",
            "n after",
            "mean before",
            "mean after",
            "change",
            "CI low",
            "CI high",
            "p (adjusted)",
            "Hedges' g",
        ]
        body = []
        for r in ev.sections["change"]:
            name = r.get(ev.community, r.get("community", ""))
            if r.get("suppressed"):
                body.append(
                    [
                        name,
                        r.get("n_before"),
                        r.get("n_after"),
                        t["suppressed"].format(n=ev.min_n),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                    ]
                )
            else:
                body.append(
                    [
                        name,
                        r.get("n_before"),
                        r.get("n_after"),
                        r.get("mean_before"),
                        r.get("mean_after"),
                        r.get("diff"),
                        r.get("ci_low"),
                        r.get("ci_high"),
                        r.get("p_adjusted"),
                        r.get("g"),
                    ]
                )
        b.append(("table", (head, body)))
        b.append(("forest", ev.sections["change"]))
    if "impact" in ev.sections:
        b.append(("h2", t["impact"]))
        b.append(("p", t["impact_text"]))
        body = []
        for r in ev.sections["impact"]:
            lvl = r.get("level")
            body.append(
                [
                    r.get(ev.community),
                    t.get(r.get("wave", ""), r.get("wave", "")),
                    t["suppressed"].format(n=ev.min_n) if r.get("suppressed") else lvl,
                    r.get("level_low"),
                    r.get("level_high"),
                    r.get("basis"),
                ]
            )
        b.append(
            ("table", (["community", "wave", "level (0-5)", "lowest", "highest", "basis"], body))
        )
    b.append(("h2", t["scores"]))
    body = []
    for r in ev.sections.get("community_scores", []):
        name = r.get(ev.community)
        if r.get("suppressed"):
            body.append(
                [
                    name,
                    t.get(r["wave"], r["wave"]),
                    r.get("n"),
                    t["suppressed"].format(n=ev.min_n),
                    "",
                    "",
                ]
            )
        else:
            body.append(
                [
                    name,
                    t.get(r["wave"], r["wave"]),
                    r.get("n"),
                    r.get("mean"),
                    r.get("ci_low"),
                    r.get("ci_high"),
                ]
            )
    b.append(("table", (["community", "wave", "n", "mean", "CI low", "CI high"], body)))
    if ev.notes:
        b.append(("h2", t["notes"]))
        for k, v in ev.notes.items():
            b.append(("li", f"{k}: {v}"))
    b.append(("h2", t["methods"]))
    for ref in METHODS:
        b.append(("li", ref))
    return b


def render_markdown(ev: Evaluation, *, lang: str = "en") -> str:
    out: list[str] = []
    prev = ""
    for kind, payload in _blocks(ev, lang):
        if prev == "li" and kind != "li":
            out.append("")
        prev = kind
        if kind == "h1":
            out += [f"# {payload}", ""]
        elif kind == "h2":
            out += [f"## {payload}", ""]
        elif kind == "p":
            out += [payload, ""]
        elif kind == "li":
            out.append(f"- {payload}")
        elif kind == "table":
            head, rows = payload
            out.append("| " + " | ".join(head) + " |")
            out.append("|" + "---|" * len(head))
            for r in rows:
                out.append("| " + " | ".join(_fmt(v).replace("|", "/") for v in r) + " |")
            out.append("")
    return "\n".join(out) + "\n"


def _forest_png(rows: list[dict[str, Any]], community: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - plot extra missing
        return None
    shown = [
        r
        for r in rows
        if not r.get("suppressed")
        and r.get("diff") is not None
        and r.get(community, r.get("community")) not in (None, "overall")
    ]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(shown) + 1.2))
    for k, r in enumerate(shown):
        lo, hi = r.get("ci_low"), r.get("ci_high")
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [k, k], color="#555")
        ax.plot([r["diff"]], [k], "o", color="#1f77b4")
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(range(len(shown)))
    ax.set_yticklabels([str(r.get(community, r.get("community"))) for r in shown], fontsize=7)
    ax.set_xlabel("change (end of cycle - baseline) with CI")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(ev: Evaluation, *, lang: str = "en") -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(lang)}"><head><meta charset="utf-8">',
        f"<title>{e(_t(lang)['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;font-size:90%}td.num{text-align:right}</style></head><body>",
    ]
    in_list = False
    for kind, payload in _blocks(ev, lang):
        if kind != "li" and in_list:
            parts.append("</ul>")
            in_list = False
        if kind == "h1":
            parts.append(f"<h1>{e(payload)}</h1>")
        elif kind == "h2":
            parts.append(f"<h2>{e(payload)}</h2>")
        elif kind == "p":
            parts.append(f"<p>{e(payload)}</p>")
        elif kind == "li":
            if not in_list:
                parts.append("<ul>")
                in_list = True
            parts.append(f"<li>{e(payload)}</li>")
        elif kind == "table":
            head, rows = payload
            parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
            for r in rows:
                cells = "".join(
                    f'<td class="num">{e(_fmt(v))}</td>'
                    if isinstance(v, (int, float))
                    else f"<td>{e(_fmt(v))}</td>"
                    for v in r
                )
                parts.append(f"<tr>{cells}</tr>")
            parts.append("</table>")
        elif kind == "forest":
            png = _forest_png(payload, ev.community)
            if png:
                parts.append(
                    f'<img alt="forest plot of change per community" '
                    f'src="data:image/png;base64,{png}">'
                )
    if in_list:
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)

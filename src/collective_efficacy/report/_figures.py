"""The report's forest plot (private), as inline SVG.

The forest plot draws exactly the intervals that decide the verdicts in the table
(:func:`collective_efficacy.change._verdict.change_verdicts`): a marker per verdict, a legend, a title
that says how many communities it shows, sorted by the change. It is SVG written directly (no
plotting library): every text is SVG text (searchable, translatable, sharp at any zoom), and
two versions share one layout routine: a wide one and one for phone-width screens (bigger text
relative to the width, shorter names, the legend in one column); the page's CSS shows one.

Escaping: user strings (community names) enter the markup only as the text of ``<text>``
elements, through :func:`~collective_efficacy.report._format.svg_text` (control characters,
lone surrogates and the non-characters XML forbids become spaces or U+FFFD, then
:func:`html.escape`): inert in HTML and well-formed
XML. Every other piece of the markup is a number, a colour from :data:`MARKERS` or our own text,
HTML-escaped too.
"""

from __future__ import annotations

import html
import math
import textwrap
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from collective_efficacy.report._change import towards
from collective_efficacy.report._format import head_for, name, svg_text, text_for, xml_safe

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = [
    "FOREST_CSS",
    "FOREST_MAX",
    "MARKERS",
    "forest_rows",
    "forest_svg",
]

FOREST_MAX = 50  # communities in the forest plot: those with the smallest p
# Shape and colour per verdict: shape and fill carry the verdict, so it survives greyscale
# printing and colour-vision deficiencies (blue/vermilion from Okabe & Ito's palette).
MARKERS = {
    "improved": ("up", "#0072B2", True),
    "declined": ("down", "#D55E00", True),
    "no_change": ("circle", "#555555", False),
}
NARROW_PX = 600  # below this viewport width the narrow forest plot is shown
FOREST_CSS = (
    ".fp{margin:1em 0}svg.fp-w,svg.fp-n{display:block;width:100%;height:auto}"
    f"svg.fp-w{{max-width:60em}}svg.fp-n{{display:none}}@media (max-width:{NARROW_PX}px){{"
    "svg.fp-w{display:none}svg.fp-n{display:block}}"
    "@media print{svg.fp-w{display:block}svg.fp-n{display:none}}"
)


@dataclass(frozen=True)
class _Size:
    """One version of the plot, in viewBox units (1 unit = 1 px at the natural width)."""

    width: float
    font: float
    row: float  # height of one community's row
    name_chars: int  # longer names are cut to this many characters
    ticks: int  # about this many x ticks


WIDE = _Size(width=760.0, font=12.0, row=19.0, name_chars=40, ticks=7)
NARROW = _Size(width=380.0, font=12.5, row=21.0, name_chars=22, ticks=5)
PAD = 8.0  # margin around the drawing
MARK_R = 5.0  # half the marker's size


def forest_rows(per: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """The communities the plot draws, sorted by change (largest first), and how many have one.

    More than :data:`FOREST_MAX` are cut to those with the smallest ``rank`` (p, or the
    posterior tail of the change model; the table lists all).
    """
    shown = [r for r in per if r.get("verdict") is not None and r.get("estimate") is not None]
    n = len(shown)
    if n > FOREST_MAX:
        shown = sorted(shown, key=lambda r: 1.0 if r.get("rank") is None else r["rank"])
        shown = shown[:FOREST_MAX]
    return sorted(shown, key=lambda r: -float(r["estimate"])), n


def _x_label(ev: Evaluation, lang: str, m: int, model: bool) -> str:
    t, h = text_for(lang), head_for(lang)
    what = f"{h['eb_change' if model else 'diff']}: {t['end_of_cycle']} − {t['baseline']}"
    c = round(100 * ev.confidence)
    if model:
        band = t["forest_model"].format(c=c, towards=towards(ev, t))
    else:
        band = t["forest_sim"].format(c=c, m=m) if m > 1 else t["forest_plain"].format(c=c)
    return f"{what}\n{band}"


def _tick_label(value: Any, limit: int) -> str:
    """A community name as one short line of plain text: long names would squeeze the plot."""
    text = " ".join(xml_safe(value).split())  # control characters (CR, tab, newline) as spaces
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text_width(text: str, font: float) -> float:
    """A generous estimate of a text's width in a sans-serif font (wide CJK glyphs: 1 em)."""
    em = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.6 for c in text)
    return em * font


def nice_ticks(lo: float, hi: float, target: int) -> tuple[list[float], int]:
    """About ``target`` tick values at 1, 2, 2.5 or 5 times a power of ten inside [lo, hi],
    and the decimals they need.

    >>> nice_ticks(-0.23, 0.61, 6)
    ([-0.2, 0.0, 0.2, 0.4, 0.6], 1)
    """
    raw = (hi - lo) / max(target - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    steps = [k * p for p in (power / 10, power, power * 10) for k in (1.0, 2.0, 2.5, 5.0)]
    i = next(i for i, step in enumerate(steps) if step >= raw * 0.8)
    while True:  # at least two ticks: a smaller step when the range falls between two
        step = steps[i]
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last > first or i == 0:
            break
        i -= 1
    exp = math.floor(math.log10(step) + 1e-9)
    decimals = max(0, -exp) + (1 if round(step / 10.0**exp, 6) == 2.5 else 0)
    return [round(k * step, decimals + 1) + 0.0 for k in range(first, last + 1)], decimals


def _number(v: float, decimals: int, t: dict[str, str]) -> str:
    text = f"{v:.{decimals}f}"
    if text.startswith("-") and not text.strip("-0."):
        text = text[1:]
    return text.replace("-", "−").replace(".", t["decimal"])


def _marker(shape: str, x: float, y: float, colour: str, filled: bool) -> str:
    r = MARK_R
    fill = colour if filled else "#fff"
    if shape == "circle":
        return f'<circle class="mk" cx="{x:.3f}" cy="{y:.2f}" r="{r * 0.85:g}" fill="{fill}" stroke="{colour}" stroke-width="1.4"/>'
    dy = -r if shape == "up" else r  # the apex
    return (
        f'<path class="mk" d="M{x:.3f} {y + dy:.2f}L{x + r:.3f} {y - dy:.2f}'
        f'L{x - r:.3f} {y - dy:.2f}Z" fill="{fill}" stroke="{colour}" stroke-width="1.2"/>'
    )


def _lines(text: str, width: float, font: float, em: float = 0.58) -> list[str]:
    """``text`` wrapped to ``width`` (``em``: a character's mean width in em)."""
    chars = max(int(width / (em * font)), 20)
    return [x for part in text.split("\n") for x in textwrap.wrap(part, chars)]


def _texts(lines: list[str], x: float, y: float, font: float, extra: str = "") -> str:
    return "".join(
        f'<text x="{x:g}" y="{y + k * font * 1.25:.1f}" font-size="{font:g}"{extra}>'
        f"{html.escape(line)}</text>"
        for k, line in enumerate(lines)
    )


def _legend(counts: dict[str, int], t: dict[str, str], size: _Size, y: float) -> tuple[str, float]:
    """The legend (marker and 'verdict (count)') from ``y``; its markup and its height."""
    f = size.font
    items = [(v, f"{t[v]} ({counts[v]})") for v in MARKERS]
    widths = [3 * MARK_R + 6 + _text_width(s, f) + 18 for _, s in items]
    one_row = sum(widths) <= size.width - 2 * PAD
    out, x, row = [], PAD, 0
    for (v, label), w in zip(items, widths, strict=True):
        shape, colour, filled = MARKERS[v]
        cy = y + row * f * 1.5 + f * 0.6
        out.append(
            f'<g class="lg {v}"><line x1="{x:g}" x2="{x + 3 * MARK_R:g}" y1="{cy:.1f}" '
            f'y2="{cy:.1f}" stroke="{colour}" stroke-width="1.4"/>'
            + _marker(shape, x + 1.5 * MARK_R, cy, colour, filled)
            + f'<text x="{x + 3 * MARK_R + 6:g}" y="{cy + f * 0.35:.1f}" font-size="{f:g}">'
            f"{html.escape(label)}</text></g>"
        )
        x, row = (x + w, row) if one_row else (PAD, row + 1)
    rows = 1 if one_row else len(items)
    return "".join(out), rows * f * 1.5 + 4


def _axis(rows: list[dict[str, Any]], size: _Size) -> tuple[float, float, list[float], int]:
    """The x axis's domain (data units) and its ticks: every drawn value and 0 inside."""
    vals = [0.0]
    for r in rows:
        vals += [
            float(r[k])
            for k in ("estimate", "shown_low", "shown_high")
            if r.get(k) is not None and math.isfinite(float(r[k]))
        ]
    lo, hi = min(vals), max(vals)
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    lo, hi = lo - 0.04 * (hi - lo), hi + 0.04 * (hi - lo)
    ticks, decimals = nice_ticks(lo, hi, size.ticks)
    return lo, hi, ticks, decimals


def _plot_rows(
    rows: list[dict[str, Any]], names: list[str], x: Any, top: float, size: _Size, left: float
) -> list[str]:
    """One ``<g>`` per community: its name, the interval's bar and the verdict's marker."""
    out = []
    for k, (r, label) in enumerate(zip(rows, names, strict=True)):
        v = r["verdict"]
        shape, colour, filled = MARKERS[v]
        y = top + (k + 0.5) * size.row
        lo, hi = r.get("shown_low"), r.get("shown_high")
        data = f' data-estimate="{float(r["estimate"])!r}"'
        bar = ""
        if lo is not None and hi is not None:
            data += f' data-low="{float(lo)!r}" data-high="{float(hi)!r}"'
            bar = (
                f'<line class="ci" x1="{x(lo):.3f}" x2="{x(hi):.3f}" y1="{y:.2f}" y2="{y:.2f}" '
                f'stroke="{colour}" stroke-width="1.6"/>'
            )
        out.append(
            f'<g class="row {v}"{data}><text class="nm" x="{left - 6:g}" y="{y + size.font * 0.35:.1f}" '
            f'font-size="{size.font:g}" text-anchor="end">{svg_text(label)}</text>'
            f"{bar}{_marker(shape, x(float(r['estimate'])), y, colour, filled)}</g>"
        )
    return out


def _forest(rows: list[dict[str, Any]], ev: Evaluation, lang: str, size: _Size, ident: str) -> str:
    t, f = text_for(lang), size.font
    names = [_tick_label(name(r, ev), size.name_chars) for r in rows]
    counts = dict.fromkeys(MARKERS, 0)
    for r in rows:
        counts[r["verdict"]] += 1
    model = rows[0].get("rule") == "model"
    title = _lines(t["forest_title"].format(k=len(rows)), size.width - 2 * PAD, f + 2, 0.66)
    y = PAD + (f + 2)
    head = _texts(title, PAD, y, f + 2, ' font-weight="bold"')
    y += (len(title) - 1) * (f + 2) * 1.25 + 8
    legend, lh = _legend(counts, t, size, y)
    top = y + lh + 4
    left = PAD + 6 + min(max(_text_width(s, f) for s in names), size.width * 0.45)
    right = size.width - PAD - 6
    lo, hi, ticks, decimals = _axis(rows, size)

    def x(v: float) -> float:
        return left + (float(v) - lo) / (hi - lo) * (right - left)

    bottom = top + len(rows) * size.row
    grid = "".join(
        f'<line x1="{x(v):.3f}" x2="{x(v):.3f}" y1="{top:g}" y2="{bottom:g}" stroke="#eee"/>'
        f'<text class="tick" data-value="{v!r}" x="{x(v):.3f}" y="{bottom + f * 1.2:.1f}" '
        f'font-size="{f:g}" text-anchor="middle">{_number(v, decimals, t)}</text>'
        for v in ticks
    )
    frame = (
        f'<rect x="{left:g}" y="{top:g}" width="{right - left:g}" height="{bottom - top:g}" '
        f'fill="none" stroke="#bbb"/><line class="zero" x1="{x(0):.3f}" x2="{x(0):.3f}" '
        f'y1="{top:g}" y2="{bottom:g}" stroke="#999"/>'
    )
    label_y, label_x = bottom + f * 2.7, left if size is WIDE else PAD
    xlabel = _lines(_x_label(ev, lang, rows[0]["family"], model), size.width - PAD - label_x, f)
    foot = _texts(xlabel, label_x, label_y, f)
    height = label_y + (len(xlabel) - 1) * f * 1.25 + PAD
    e = html.escape
    desc = f"{' '.join(title)}. {' '.join(xlabel)}. " + ", ".join(
        f"{t[v]}: {counts[v]}" for v in MARKERS
    )
    return (
        f'<svg class="{ident.rstrip("0123456789")}" viewBox="0 0 {size.width:g} {height:.1f}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" font-family="system-ui,sans-serif" fill="#222" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="{ident}-t">{e(t["forest_alt"])}</title>'
        f'<desc id="{ident}-d">{e(desc)}</desc>{head}{legend}{grid}{frame}'
        f"{''.join(_plot_rows(rows, names, x, top, size, left))}{foot}</svg>"
    )


def forest_svg(
    per: list[dict[str, Any]], ev: Evaluation, lang: str, *, narrow: bool = False, index: int = 1
) -> str | None:
    """The forest plot as an inline ``<svg>`` (``narrow``: for phone-width screens), or None
    when no community has a verdict. ``index`` keeps the ids unique in the page."""
    rows, _ = forest_rows(per)
    if not rows:
        return None
    ident = f"fp-{'n' if narrow else 'w'}{index}"
    return _forest(rows, ev, lang, NARROW if narrow else WIDE, ident)

"""Render an :class:`~collective_efficacy.evaluation.Evaluation` as Markdown or self-contained HTML.

Only formatting happens here: every number comes from the Evaluation, the sections are built in
:mod:`~collective_efficacy.report._sections` and the figures in
:mod:`~collective_efficacy.report._figures`. User-supplied strings (community names, file
names, labels) are HTML-escaped. Suppressed communities show as "fewer than N respondents" and
carry no numbers. The HTML page is responsive: wide tables scroll inside their own box and the
figures scale to the screen (the forest plot, inline SVG, has a narrow version for phone-width
screens).
"""

from __future__ import annotations

import functools
import html
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from collective_efficacy.export._escape import escape_markdown
from collective_efficacy.report._figures import (
    FOREST_CSS,
    FOREST_MAX,
    NARROW_PX,
    forest_rows,
    forest_svg,
)
from collective_efficacy.report._format import Block, Span, Verdict, anchor, fmt, is_num, text_for
from collective_efficacy.report._sections import blocks
from collective_efficacy.report._svgmap import MAP_CSS, SCRIPT, map_svg
from collective_efficacy.report._templated import CONSTANT, Group, Piece, layout, literal, templated

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = ["FOREST_MAX", "render_html", "render_markdown"]

LONG_TABLE = 20  # longer per-community tables fold away in the HTML report (<details>)

CSS = (
    "body{font-family:system-ui,sans-serif;max-width:64em;margin:1.5em auto;padding:0 1em;"
    "color:#222;line-height:1.45;overflow-wrap:break-word}"
    "h1{font-size:1.7em;line-height:1.2;margin:.3em 0 .5em}"
    "h2{border-bottom:1px solid #ddd;margin-top:2em}"
    ".summary{background:#f2f6fa;border-left:5px solid #0072B2;padding:.4em 1.1em;"
    "margin:.8em 0 1.2em}.summary p{margin:.55em 0}.summary p:first-child{font-size:1.12em}"
    "nav.toc{font-size:95%}nav.toc ol{columns:2 18em;margin:.3em 0;padding-left:1.6em}"
    ".tw{overflow-x:auto;max-width:100%;margin:1em 0}.tw table{margin:0}"
    # the community column stays in view while a wide table scrolls sideways
    ".tw td:first-child,.tw th:first-child{position:sticky;left:0;background:#fff}"
    ".tw th:first-child{background:#f4f4f4}.tw td:first-child{min-width:5em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
    "font-size:88%}th{background:#f4f4f4;vertical-align:bottom}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}td.mid{text-align:center}"
    "td.sup{color:#666;font-style:italic}summary{cursor:pointer;color:#1f4e99}"
    "img{max-width:100%;height:auto}.warn{color:#8a3b00}td.v{white-space:nowrap}"
    "td.improved{color:#0072B2;font-weight:600}td.declined{color:#B34700;font-weight:600}"
    f"@media (max-width:{NARROW_PX}px){{body{{margin:.6em auto;padding:0 .7em}}"
    "h1{font-size:1.35em}td,th{font-size:82%}}" + MAP_CSS + FOREST_CSS
)


#: A table's :func:`._templated.layout` by ``id`` of its rows (held alive by the same blocks)
Layouts = dict[int, list[Group]]

#: The last evaluation's blocks per language: the command line renders the same evaluation as
#: HTML and as Markdown, and the blocks (every per-community row) are built once, each long
#: table's grouping of rows by cell types too. A weak reference, so the cache never keeps an
#: evaluation alive.
_LAST: dict[str, tuple[weakref.ref[Any], list[Block], Layouts]] = {}


def _blocks(ev: Evaluation, lang: str) -> tuple[list[Block], Layouts]:
    """:func:`blocks` and the layouts made of their tables so far, reused while the same
    (frozen) evaluation is rendered again."""
    hit = _LAST.get(lang)
    if hit is not None and hit[0]() is ev:
        return hit[1], hit[2]
    bl = blocks(ev, lang)
    if any(ref() is not ev for ref, _, _ in _LAST.values()):
        _LAST.clear()  # another evaluation: forget the previous one's blocks
    layouts: Layouts = {}
    _LAST[lang] = (weakref.ref(ev), bl, layouts)
    return bl, layouts


def _layout(rows: list[Any], layouts: Layouts | None) -> list[Group] | None:
    """The table's layout from ``layouts`` (made and kept there once), or None (no cache)."""
    if layouts is None:
        return None
    found = layouts.get(id(rows))
    if found is None:
        found = layouts[id(rows)] = layout(rows)
    return found


def _anchors(bl: list[Block]) -> dict[int, str]:
    """An id per h2 block (by position), the same in both renderers."""
    taken: set[str] = set()
    return {k: anchor(p, taken) for k, (kind, p) in enumerate(bl) if kind == "h2"}


def _md(text: str) -> str:
    """User text as inert Markdown (the one escaper: :func:`._escape.escape_markdown`)."""
    return escape_markdown(text)


def _cell_text(v: Any, t: dict[str, str]) -> str:
    """:func:`fmt` of a table cell, with the common exact types (str, int) done inline.

    A per-community table has hundreds of thousands of cells: the same text as ``fmt``, without
    its chain of ``isinstance`` checks for every one (``fmt`` takes exact floats first).
    """
    tv = type(v)
    if tv is str:
        return v
    if tv is int:
        return str(v)
    return fmt(v, t=t)


class _Memo(dict[str, str]):
    """Escaped text per distinct text: names and rounded numbers repeat across a long table."""

    def __init__(self, escape: Any) -> None:
        super().__init__()
        self.escape = escape

    def __missing__(self, key: str) -> str:
        value: str = self.escape(key)
        self[key] = value
        return value


def _md_table(
    payload: Any, t: dict[str, str], md: _Memo | None = None, layouts: Layouts | None = None
) -> list[str]:
    """A table as Markdown rows; every cell as :func:`_cell_text` escaped by :func:`_md`.

    Finite floats and ints are written without the escaper: their text (digits, one leading
    "-", the decimal sign "." or ",") is inert Markdown, so escaping would return it unchanged.
    A per-community table has hundreds of thousands of cells; ``md``, shared by the tables of
    one report, escapes each distinct text once; long tables go through one template per
    signature of cell types (:func:`._templated.templated`, :func:`_md_row` the reference);
    ``layouts``: the report's cache of their grouping (:func:`_blocks`).
    """
    head, rows = payload
    md = _Memo(_md) if md is None else md
    out = ["| " + " | ".join(_md(c) for c in head) + " |", "|" + "---|" * len(head)]
    numbers = _number_pieces("%s", t)

    def piece(tp: type) -> Piece:
        if tp is str:
            return "%s", md.__getitem__
        if tp is Span:
            return "%s", lambda v: " | ".join([md[v.text]] + [""] * (v.n - 1))
        if tp in numbers:
            return numbers[tp]
        if tp is type(None):
            return literal(md[_cell_text(None, t)]), CONSTANT
        return "%s", lambda v: md[_cell_text(v, t)]

    generic = functools.partial(_md_row, t=t, md=md)
    lines = templated(rows, piece, generic, ("| ", " | ", " |"), _layout(rows, layouts))
    return [*out, *lines, ""]


def _number_pieces(cell: str, t: dict[str, str]) -> dict[type, Piece]:
    """The template parts of int and float cells in ``cell`` ("%s" stands for the text): a
    float with two decimals and "." or "," as the decimal sign (the template holds finite
    floats only: :func:`._templated.templated`); none (the generic path) for other signs."""
    dec = t["decimal"]
    if dec not in (".", ","):
        return {int: None, float: None}
    comma: Piece = (cell, lambda v: f"{v:.2f}".replace(".", ","))
    return {
        int: (cell.replace("%s", "%d"), None),
        float: (cell.replace("%s", "%.2f"), None) if dec == "." else comma,
    }


def _plain_float(v: float, comma: bool) -> str:
    """A finite float with two decimals; -0.004 reads "0.00", not "-0.00"."""
    text = f"{v:.2f}"
    if text[0] == "-" and not text.strip("-0."):
        text = text[1:]
    return text.replace(".", ",") if comma else text


def _md_row(r: Sequence[Any], t: dict[str, str], md: _Memo) -> str:
    """One Markdown table row, cell by cell (the reference of the templates)."""
    dec = t["decimal"]
    fast = dec in (".", ",")
    comma = dec == ","
    cells: list[str] = []
    for v in r:
        tv = type(v)
        if tv is float and fast and v - v == 0:  # finite
            cells.append(_plain_float(v, comma))
        elif tv is str:
            cells.append(md[v])
        elif tv is int:
            cells.append(str(v))
        elif isinstance(v, Span):
            cells += [md[v.text]] + [""] * (v.n - 1)
        else:
            cells.append(md[_cell_text(v, t)])
    return "| " + " | ".join(cells) + " |"


def render_markdown(ev: Evaluation, *, lang: str = "en") -> str:
    """The report as Markdown (tables and text; the figures are only in the HTML report).

    Every string (community names, file names, notes) is escaped for Markdown: HTML, links,
    images, code and table syntax show as text and a newline cannot break a row.
    """
    t = text_for(lang)
    bl, layouts = _blocks(ev, lang)
    ids = _anchors(bl)
    out: list[str] = []
    prev = ""
    figures_noted = False
    md = _Memo(_md)  # community names recur in every per-community table
    for k, (kind, payload) in enumerate(bl):
        if prev in ("li", "warn") and kind not in ("li", "warn"):
            out.append("")
        prev = kind
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + " " + _md(payload), ""]
        elif kind == "p":
            out += [_md(payload), ""]
        elif kind == "summary":
            out += [x for line in payload for x in (f"> {_md(line)}", ">")][:-1] + [""]
        elif kind == "toc":
            out += [f"**{_md(payload)}**", ""]
            out += [f"- [{_md(bl[j][1])}](#{ids[j]})" for j in ids if j > k] + [""]
        elif kind == "li":
            out.append(f"- {_md(payload)}")
        elif kind == "warn":
            out.append(f"- **{_md(payload)}**")
        elif kind in ("table", "longtable"):
            out += _md_table(payload, t, md, layouts)
        elif kind in ("forest", "map") and not figures_noted:
            out += [f"*{t['figures_md']}*", ""]
            figures_noted = True
    return "\n".join(out) + "\n"


def _html_cell(v: Any, t: dict[str, str], e: Any = html.escape) -> str:
    tv = type(v)
    if tv is float or tv is int:  # exact types only (bool is an int subclass: not here)
        text = _cell_text(v, t)
        return f'<td class="mid">{text}</td>' if text == "–" else f'<td class="num">{e(text)}</td>'
    if isinstance(v, Span):
        return f'<td class="sup" colspan="{v.n}">{e(v.text)}</td>'
    if isinstance(v, Verdict):
        return f'<td class="v {v.code}">{e(v.text)}</td>'
    text = fmt(v, t=t)
    if isinstance(v, bool) or text == "–":
        return f'<td class="mid">{e(text)}</td>'
    return f'<td class="num">{e(text)}</td>' if is_num(v) else f"<td>{e(text)}</td>"


def _html_rows(
    rows: list[list[Any]],
    t: dict[str, str],
    text_cells: dict[str, str],
    groups: list[Group] | None = None,
) -> list[str]:
    """Table rows as HTML, each cell as :func:`_html_cell` gives it.

    Text cells' HTML is built once per distinct text (``text_cells``, shared by the tables of one
    report). Long tables go through one template per signature of cell types
    (:func:`._templated.templated`; ``groups``: their layout when the report has it);
    :func:`_html_row` is the reference, cell by cell.
    """
    esc = _Memo(html.escape).__getitem__
    cells = text_cells if isinstance(text_cells, _Memo) else _Memo(_text_cell(t))
    numbers = _number_pieces('<td class="num">%s</td>', t)

    def one(v: Any) -> str:
        return _html_cell(v, t, esc)

    def piece(tp: type) -> Piece:
        if tp is str:
            return "%s", cells.__getitem__
        if tp in numbers:
            return numbers[tp]
        if tp is type(None):
            return literal(one(None)), CONSTANT
        if tp is bool:
            return "%s", {True: one(True), False: one(False)}.__getitem__
        return "%s", one

    generic = functools.partial(_html_row, t=t, text_cells=cells, esc=esc)
    out = templated(rows, piece, generic, ("<tr>", "", "</tr>"), groups)
    if cells is not text_cells:
        text_cells.update(cells)
    return out


def _text_cell(t: dict[str, str]) -> Callable[[str], str]:
    """A text cell's HTML (the value of the memo of text cells)."""
    esc = _Memo(html.escape).__getitem__
    return lambda v: _html_cell(v, t, esc)


def _html_row(r: Sequence[Any], t: dict[str, str], text_cells: dict[str, str], esc: Any) -> str:
    """One table row as HTML, cell by cell (the reference of the templates): finite floats
    and ints inline (their text needs no escaping), text cells from ``text_cells``, other
    cells (None, NaN, bool, spans, verdicts) through :func:`_html_cell`."""
    dec = t["decimal"]
    fast = dec in (".", ",")
    comma = dec == ","
    cells: list[str] = []
    for v in r:
        tv = type(v)
        if tv is float and fast and v - v == 0:  # finite
            cells.append(f'<td class="num">{_plain_float(v, comma)}</td>')
        elif tv is str:
            c = text_cells.get(v)
            if c is None:
                c = text_cells[v] = _html_cell(v, t, esc)
            cells.append(c)
        elif tv is int and fast:
            cells.append(f'<td class="num">{v}</td>')
        else:
            cells.append(_html_cell(v, t, esc))
    return "<tr>" + "".join(cells) + "</tr>"


def _html_table(
    kind: str,
    payload: Any,
    t: dict[str, str],
    text_cells: dict[str, str] | None = None,
    layouts: Layouts | None = None,
) -> list[str]:
    e = html.escape
    head, rows = payload
    fold = kind == "longtable" and len(rows) > LONG_TABLE
    out = [f"<details><summary>{e(t['show_table'].format(n=len(rows)))}</summary>"] if fold else []
    out.append('<div class="tw"><table><tr>' + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
    out += _html_rows(rows, t, {} if text_cells is None else text_cells, _layout(rows, layouts))
    out.append("</table></div>")
    return [*out, "</details>"] if fold else out


def _html_forest(per: list[dict[str, Any]], ev: Evaluation, lang: str, index: int) -> list[str]:
    """The forest plot: a wide and a narrow inline SVG (the CSS shows one of them)."""
    t = text_for(lang)
    wide = forest_svg(per, ev, lang, index=index)
    if not wide:
        return []
    narrow = forest_svg(per, ev, lang, narrow=True, index=index)
    out = [f'<figure class="fp">{wide}{narrow}</figure>']
    _, n_shown = forest_rows(per)
    if n_shown > FOREST_MAX:
        cap = t["forest_cap"].format(k=FOREST_MAX, n=n_shown)
        out.append(f"<p><em>{html.escape(cap)}</em></p>")
    return out


def _html_map(ev: Evaluation, label: str, lang: str, index: int) -> list[str]:
    """The interactive SVG map (on screen and in print), or nothing (no geometry to draw)."""
    svg = map_svg(ev, label, lang, index)
    return [svg] if svg else []


def _html_toc(bl: list[Block], ids: dict[int, str], k: int, title: str) -> str:
    e = html.escape
    items = "".join(f'<li><a href="#{ids[j]}">{e(bl[j][1])}</a></li>' for j in ids if j > k)
    return f'<nav class="toc" aria-label="{e(title)}"><strong>{e(title)}</strong><ol>{items}</ol></nav>'


def render_html(ev: Evaluation, *, lang: str = "en") -> str:
    """The report as one self-contained HTML page (figures embedded, no network needed)."""
    e = html.escape
    t = text_for(lang)
    bl, layouts = _blocks(ev, lang)
    ids = _anchors(bl)
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(lang)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(t['title'])}</title>",
        f"<style>{CSS}</style></head><body>",
    ]
    in_list = False
    maps = forests = 0
    text_cells = _Memo(_text_cell(t))  # community names recur in every per-community table
    for k, (kind, payload) in enumerate(bl):
        if kind not in ("li", "warn") and in_list:
            parts.append("</ul>")
            in_list = False
        if kind == "h2":
            parts.append(f'<h2 id="{ids[k]}">{e(payload)}</h2>')
        elif kind in ("h1", "h3", "p"):
            parts.append(f"<{kind}>{e(payload)}</{kind}>")
        elif kind == "summary":
            parts.append('<div class="summary">' + "".join(f"<p>{e(x)}</p>" for x in payload))
            parts.append("</div>")
        elif kind == "toc":
            parts.append(_html_toc(bl, ids, k, payload))
        elif kind in ("li", "warn"):
            if not in_list:
                parts.append("<ul>")
                in_list = True
            cls = ' class="warn"' if kind == "warn" else ""
            parts.append(f"<li{cls}>{e(payload)}</li>")
        elif kind in ("table", "longtable"):
            parts += _html_table(kind, payload, t, text_cells, layouts)
        elif kind == "forest":
            forests += 1
            parts += _html_forest(payload, ev, lang, forests)
        elif kind == "map":
            maps += 1
            parts += _html_map(ev, payload, lang, maps)
    if in_list:
        parts.append("</ul>")
    if any('<figure class="imap"' in p for p in parts):
        parts.append(f"<script>{SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts)

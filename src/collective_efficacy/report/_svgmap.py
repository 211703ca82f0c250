"""The report's interactive map (private): an inline SVG choropleth of the impact levels.

Self-contained and offline: no tiles, no web fonts, no CDN. Each surveyed community is a
focusable ``<path>`` (``tabindex="0"``, ``role="img"``) filled with its level's colour from
:data:`~collective_efficacy.report.styling.IMPACT_PALETTE` (hatched: survey only; grey: no
level, which includes every suppressed community: drawn without level or n). A small script of
our own (:data:`SCRIPT`, once per page) names each path for assistive technology and shows a
tooltip (name, level, n or the suppression reason) on hover and on keyboard focus.

User strings (community names, reasons) never enter the markup or an attribute: they travel as
JSON inside ``<script type="application/json">`` (:func:`json_for_script` escapes ``<``, ``>``,
``&`` and U+2028/9, so ``</script>`` and ``<!--`` cannot end or alter the block) and the script
puts them into the page with ``textContent`` and ``setAttribute`` only: the tooltips, and the
name labels of the printed map (empty ``<text class="nm">`` elements, up to
:data:`MAX_LEVEL_DIGITS` communities, hidden on screen). The markup holds numbers, colours from
our palette and our own (HTML-escaped) texts. The printed page shows the same SVG (with its
legend), so no second, raster map is drawn.

Projection: longitude/latitude are drawn equirectangular with the x axis scaled by
cos(mid-latitude) (locally true to shape at municipal scale); other coordinates as they are.
Rings are simplified for size only in the SVG (shapely ``simplify(preserve_topology=True)`` at
:data:`TOLERANCE` of the drawing's width, when shapely is installed); the data are untouched.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from collective_efficacy.impact import IMPACT_LEVEL_LABELS
from collective_efficacy.report._format import name, text_for, wave
from collective_efficacy.report.styling import IMPACT_PALETTE, NO_LEVEL_COLOUR

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = ["MAP_CSS", "SCRIPT", "json_for_script", "map_svg"]

WIDTH = 1000.0  # viewBox units across the map
TOLERANCE = 0.35  # simplification tolerance in viewBox units (a third of a pixel at full width)
MAX_LEVEL_DIGITS = 80  # above this many communities no level digits are drawn (tooltip only)
POINT_R = 7.0  # radius of a point community, viewBox units

_TEXT = {
    "en": {
        "level": "impact level {label}",
        "range": "interval {lo}–{hi}",
        "n": "{n} respondents",
        "legend": "Impact level",
        "no_level": "no level (suppressed or no data)",
        "survey_only": "hatched: survey only (no assessment)",
        "how": "Point at a community, or move through them with Tab, for its name and level.",
        "suppressed": "suppressed: {why}",
    },
    "nl": {
        "level": "impactniveau {label}",
        "range": "interval {lo}–{hi}",
        "n": "{n} respondenten",
        "legend": "Impactniveau",
        "no_level": "geen niveau (onderdrukt of geen gegevens)",
        "survey_only": "gearceerd: alleen enquête (geen beoordeling)",
        "how": "Wijs een buurt aan, of ga met Tab langs de buurten, voor naam en niveau.",
        "suppressed": "onderdrukt: {why}",
    },
}

MAP_CSS = (
    ".imap{margin:1em 0}.imap-box{position:relative;max-width:100%}"
    ".imap svg{display:block;width:100%;height:auto;max-height:80vh;background:#fafafa}"
    ".imap path.c{stroke:#fff;stroke-width:.8px;vector-effect:non-scaling-stroke;cursor:default}"
    ".imap path.c:focus{outline:none;stroke:#000;stroke-width:2px}"
    ".imap .hi{fill:none;pointer-events:none;vector-effect:non-scaling-stroke}"
    ".imap .hi1{stroke:#fff;stroke-width:6px}.imap .hi2{stroke:#111;stroke-width:3px}"
    ".imap text{pointer-events:none;font:bold 15px system-ui,sans-serif;text-anchor:middle;"
    "dominant-baseline:central;paint-order:stroke;stroke-width:4px;stroke-linejoin:round}"
    ".imap-tip{position:absolute;z-index:2;max-width:22em;background:#fff;color:#222;"
    "border:1px solid #555;border-radius:4px;box-shadow:0 2px 6px rgba(0,0,0,.25);"
    "padding:.35em .6em;font-size:90%;pointer-events:none}"
    ".imap-tip strong,.imap-tip span{display:block}"
    ".imap-legend{list-style:none;padding:0;margin:.5em 0;display:grid;"
    "grid-template-columns:repeat(auto-fill,minmax(19em,1fr));gap:.25em 1.2em;font-size:88%}"
    ".imap-legend li{display:flex;align-items:center;gap:.4em}"
    ".imap-sw{display:inline-block;width:1.1em;height:1.1em;border:1px solid #999;"
    "flex:none}.imap-how{font-size:88%;color:#555;margin:.2em 0}"
    ".map-print{display:none}"
    ".imap text.nm{display:none;font:13px system-ui,sans-serif}"
    "@media (max-width:600px){.imap text{display:none}}"
    "@media print{.imap-how,.imap-tip{display:none}.imap text.nm{display:inline}"
    "figure.imap{break-inside:avoid}}"
)

#: The page's one script: it reads each map's JSON data and wires names and tooltips.
SCRIPT = """(function(){
"use strict";
document.querySelectorAll("figure.imap").forEach(function(fig){
var data=JSON.parse(fig.querySelector("script.imap-data").textContent);
var box=fig.querySelector(".imap-box"),tip=fig.querySelector(".imap-tip");
var hi=fig.querySelectorAll("path.hi");
function hide(){tip.hidden=true;hi.forEach(function(h){h.setAttribute("d","");});}
function show(p,d){
tip.textContent="";
var b=document.createElement("strong");b.textContent=d.name;tip.appendChild(b);
d.lines.forEach(function(t){var s=document.createElement("span");s.textContent=t;
tip.appendChild(s);});
tip.hidden=false;
hi.forEach(function(h){h.setAttribute("d",p.getAttribute("d"));});
var r=p.getBoundingClientRect(),o=box.getBoundingClientRect();
var x=r.left-o.left+r.width/2,y=r.bottom-o.top+6;
x=Math.max(0,Math.min(x-tip.offsetWidth/2,o.width-tip.offsetWidth));
if(y+tip.offsetHeight>o.height){y=Math.max(0,r.top-o.top-tip.offsetHeight-6);}
tip.style.left=x+"px";tip.style.top=y+"px";}
fig.querySelectorAll("text.nm").forEach(function(t){
t.textContent=data[Number(t.getAttribute("data-k"))].name;});
fig.querySelectorAll("path.c").forEach(function(p){
var d=data[Number(p.getAttribute("data-k"))];
p.setAttribute("aria-label",d.name+": "+d.lines.join("; "));
p.addEventListener("focus",function(){show(p,d);});
p.addEventListener("mouseenter",function(){show(p,d);});
p.addEventListener("blur",hide);
p.addEventListener("mouseleave",function(){if(document.activeElement!==p){hide();}});
p.addEventListener("keydown",function(e){if(e.key==="Escape"){hide();}});});
});
})();"""


def json_for_script(value: Any) -> str:
    """JSON that is inert inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c``, ``\\u003e``, ``\\u0026`` (so neither
    ``</script>`` nor ``<!--`` can appear), and U+2028/U+2029 are escaped too;
    ``JSON.parse`` gives back the original strings.

    >>> json_for_script(["</script><!--\\u2028"])
    '["\\\\u003c/script\\\\u003e\\\\u003c!--\\\\u2028"]'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _polygons(geom: Mapping[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """("poly", rings) and ("point", (x, y)) parts of a GeoJSON geometry."""
    if not geom:
        return
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Polygon":
        yield "poly", coords
    elif kind == "MultiPolygon":
        for poly in coords or []:
            yield "poly", poly
    elif kind == "Point":
        yield "point", coords
    elif kind == "MultiPoint":
        for pt in coords or []:
            yield "point", pt
    elif kind == "GeometryCollection":
        for g in geom.get("geometries") or []:
            yield from _polygons(g)


class _Frame:
    """The projection of longitude/latitude (or planar) coordinates to viewBox units."""

    def __init__(self, xy: np.ndarray) -> None:
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        lonlat = bool(np.all(np.abs(xy[:, 0]) <= 180) and np.all(np.abs(xy[:, 1]) <= 90))
        self.kx = math.cos(math.radians((lo[1] + hi[1]) / 2)) if lonlat else 1.0
        self.x0, self.y1 = float(lo[0]), float(hi[1])
        span = max((hi[0] - lo[0]) * self.kx, (hi[1] - lo[1]) * 0.25, 1e-12)
        self.pad = 0.02 * WIDTH
        self.s = (WIDTH - 2 * self.pad) / span
        self.height = (hi[1] - lo[1]) * self.s + 2 * self.pad

    def __call__(self, xy: np.ndarray) -> np.ndarray:
        x = (xy[:, 0] - self.x0) * self.kx * self.s + self.pad
        y = (self.y1 - xy[:, 1]) * self.s + self.pad
        return np.column_stack([x, y])


def _simplify(rings: list[np.ndarray]) -> list[np.ndarray]:
    """One polygon's projected rings simplified (shapely, topology preserved), when available."""
    try:
        import shapely
    except ImportError:  # the geo extra is optional: rings as they are
        return rings
    if len(rings[0]) < 8:
        return rings
    poly = shapely.Polygon(rings[0], [r for r in rings[1:] if len(r) >= 4])
    simple = shapely.simplify(poly, TOLERANCE, preserve_topology=True)
    if simple.is_empty or simple.geom_type != "Polygon":
        return rings
    return [np.asarray(simple.exterior.coords)] + [np.asarray(r.coords) for r in simple.interiors]


def _ring_path(ring: np.ndarray) -> str:
    r = np.round(ring, 1)
    keep = np.ones(len(r), dtype=bool)
    keep[1:] = np.any(r[1:] != r[:-1], axis=1)  # repeated points after rounding
    r = r[keep]
    if len(r) > 1 and np.all(r[0] == r[-1]):
        r = r[:-1]
    if len(r) < 3:
        return ""
    nums = [f"{v:g}" for v in r.ravel().tolist()]
    pairs = [f"{nums[i]} {nums[i + 1]}" for i in range(0, len(nums), 2)]
    return "M" + "L".join(pairs) + "Z"


def _feature_path(
    geom: Mapping[str, Any] | None, frame: _Frame
) -> tuple[str, tuple[float, float] | None]:
    """The SVG path of one feature and where its level digit goes (the largest part's centre)."""
    parts: list[str] = []
    best, at = -1.0, None
    for kind, coords in _polygons(geom):
        if kind == "point":
            (x, y) = frame(np.asarray([coords[:2]], dtype=float))[0]
            r = POINT_R
            parts.append(f"M{x - r:.1f} {y:.1f}a{r} {r} 0 1 0 {2 * r} 0a{r} {r} 0 1 0 {-2 * r} 0Z")
            continue
        rings = [frame(np.asarray(ring, dtype=float)[:, :2]) for ring in coords if len(ring) >= 3]
        if not rings:
            continue
        rings = _simplify(rings)
        parts += [p for p in (_ring_path(r) for r in rings) if p]
        ext = rings[0]
        area = 0.5 * abs(float(np.dot(ext[:-1, 0], ext[1:, 1]) - np.dot(ext[1:, 0], ext[:-1, 1])))
        if area > best:
            best, at = area, _label_point(ext)
    return "".join(parts), at


def _label_point(ext: np.ndarray) -> tuple[float, float]:
    try:
        import shapely
    except ImportError:
        c = ext.mean(axis=0)
        return float(c[0]), float(c[1])
    try:
        p = shapely.Polygon(ext).point_on_surface()
    except shapely.errors.GEOSException:  # a self-intersecting ring: its vertices' mean
        p = shapely.Point(ext.mean(axis=0))
    return float(p.x), float(p.y)


def _all_xy(feats: list[Mapping[str, Any]]) -> np.ndarray:
    chunks = []
    for f in feats:
        for kind, coords in _polygons(f.get("geometry")):
            if kind == "point":
                chunks.append(np.asarray([coords[:2]], dtype=float))
            else:
                chunks += [np.asarray(r, dtype=float)[:, :2] for r in coords if len(r)]
    return np.concatenate(chunks) if chunks else np.empty((0, 2))


def _tooltip(r: Mapping[str, Any], ev: Evaluation, lang: str) -> list[str]:
    """The tooltip lines of one community (after its name) in the report's language."""
    from collective_efficacy.report._sections import _why

    t, mt = text_for(lang), _TEXT.get(lang, _TEXT["en"])
    lev = r.get("level")
    if r.get("suppressed") or lev is None:
        why = _why(dict(r), ev, t) if r.get("suppressed") else t["basis_none"]
        return [mt["suppressed"].format(why=why) if r.get("suppressed") else why]
    labels = IMPACT_LEVEL_LABELS.get(lang, IMPACT_LEVEL_LABELS["en"])
    lines = [mt["level"].format(label=labels[int(lev)])]
    lo, hi = r.get("level_low"), r.get("level_high")
    if lo is not None and hi is not None and (int(lo), int(hi)) != (int(lev), int(lev)):
        lines.append(mt["range"].format(lo=int(lo), hi=int(hi)))
    basis = r.get("basis")
    if basis:
        lines.append(str(t.get(f"basis_{basis}", basis)))
    if r.get("n") is not None:
        lines.append(mt["n"].format(n=int(r["n"])))
    return lines


def _legend(lang: str, hatched: bool, mid: str) -> str:
    mt = _TEXT.get(lang, _TEXT["en"])
    labels = IMPACT_LEVEL_LABELS.get(lang, IMPACT_LEVEL_LABELS["en"])
    e = html.escape
    items = [(f"background:{IMPACT_PALETTE[k]}", labels[k]) for k in range(5, -1, -1)]
    items.append((f"background:{NO_LEVEL_COLOUR}", mt["no_level"]))
    if hatched:
        items.append(
            (
                "background:repeating-linear-gradient(45deg,#777 0 3px,#fff 3px 5px)",
                mt["survey_only"],
            )
        )
    lis = "".join(f'<li><span class="imap-sw" style="{s}"></span>{e(x)}</li>' for s, x in items)
    return f'<ul class="imap-legend" aria-label="{e(mt["legend"])}" id="{mid}-legend">{lis}</ul>'


def map_svg(ev: Evaluation, label: str, lang: str, index: int) -> str | None:
    """The interactive map of wave ``label`` as an HTML fragment, or None (no geometry, no
    levels, or no feature of a surveyed community). ``index`` makes its ids unique."""
    if ev.geometry is None:
        return None
    rows = [r for r in ev.sections.get("impact", []) if r.get("wave") == label]
    key = ev.geometry_key or ev.community
    order = {str(name(r, ev)): k for k, r in enumerate(rows)}
    feats = [
        f
        for f in ev.geometry.get("features", [])
        if str((f.get("properties") or {}).get(key)) in order and f.get("geometry")
    ]
    xy = _all_xy(feats)
    if not len(xy):
        return None
    feats.sort(key=lambda f: order[str(f["properties"][key])])  # the tables' order (Tab order)
    frame = _Frame(xy)
    mid = f"imap{index}"
    data: list[dict[str, Any]] = []
    paths: list[str] = []
    digits: list[str] = []
    hatched = False
    for f in feats:  # drawing: one path per surveyed feature
        r = rows[order[str(f["properties"][key])]]
        d, at = _feature_path(f["geometry"], frame)
        if not d:
            continue
        lev = None if r.get("suppressed") else r.get("level")
        if lev is None:
            fill = NO_LEVEL_COLOUR
        elif r.get("basis") == "survey_only":
            fill, hatched = f"url(#{mid}-h{int(lev)})", True
        else:
            fill = IMPACT_PALETTE[int(lev)]
        paths.append(
            f'<path class="c" tabindex="0" role="img" data-k="{len(data)}" fill="{fill}" d="{d}"/>'
        )
        data.append({"name": str(name(r, ev)), "lines": _tooltip(r, ev, lang)})
        if at is not None and len(feats) <= MAX_LEVEL_DIGITS:
            ink = "#fff" if lev is not None and int(lev) <= 2 else "#111"
            halo = NO_LEVEL_COLOUR if lev is None else IMPACT_PALETTE[int(lev)]
            digits.append(
                f'<text x="{at[0]:.1f}" y="{at[1]:.1f}" fill="{ink}" stroke="{halo}">'
                f"{'–' if lev is None else int(lev)}</text>"
                f'<text class="nm" data-k="{len(data) - 1}" x="{at[0]:.1f}" y="{at[1] - 17:.1f}" '
                f'fill="{ink}" stroke="{halo}"></text>'
            )
    if not paths:
        return None
    return _figure(ev, label, lang, mid, frame.height, paths, digits, data, hatched)


def _figure(
    ev: Evaluation,
    label: str,
    lang: str,
    mid: str,
    height: float,
    paths: list[str],
    digits: list[str],
    data: list[dict[str, Any]],
    hatched: bool,
) -> str:
    e = html.escape
    t, mt = text_for(lang), _TEXT.get(lang, _TEXT["en"])
    patterns = "".join(
        f'<pattern id="{mid}-h{k}" patternUnits="userSpaceOnUse" width="8" height="8" '
        f'patternTransform="rotate(45)"><rect width="8" height="8" fill="{IMPACT_PALETTE[k]}"/>'
        '<rect width="3" height="8" fill="#fff"/></pattern>'
        for k in IMPACT_PALETTE
    )
    alt = t["map_alt"].format(wave=wave(t, label))
    svg = (
        f'<svg viewBox="0 0 {WIDTH:g} {height:.1f}" role="group" aria-label="{e(alt)}" '
        f'aria-describedby="{mid}-how {mid}-legend" xmlns="http://www.w3.org/2000/svg">'
        f"<defs>{patterns}</defs><g>{''.join(paths)}</g>"
        f'<g aria-hidden="true">{"".join(digits)}'
        '<path class="hi hi1" d=""/><path class="hi hi2" d=""/></g></svg>'
    )
    return (
        f'<figure class="imap" id="{mid}"><div class="imap-box">{svg}'
        '<div class="imap-tip" aria-hidden="true" hidden></div></div>'
        f'<p class="imap-how" id="{mid}-how">{e(mt["how"])}</p>{_legend(lang, hatched, mid)}'
        f'<script type="application/json" class="imap-data">{json_for_script(data)}</script>'
        "</figure>"
    )

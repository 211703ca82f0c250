"""The report's figures as embedded PNGs (private): the forest plot and the impact maps.

The forest plot draws exactly the intervals that decide the verdicts in the table
(:func:`collective_efficacy.change._verdict.change_verdicts`): a marker per verdict, a legend, a title
that says how many communities it shows, sorted by the change.
"""

from __future__ import annotations

import base64
import io
import textwrap
from typing import TYPE_CHECKING, Any

from collective_efficacy.report._change import towards
from collective_efficacy.report._format import head_for, name, text_for, wave

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = ["FOREST_MAX", "forest_figure", "forest_png", "forest_rows", "map_alt", "map_png"]

FOREST_MAX = 50  # communities in the forest plot: those with the smallest p
DPI = 110
# Marker and colour per verdict: shape and fill carry the verdict, so it survives greyscale
# printing and colour-vision deficiencies (blue/vermilion from Okabe & Ito's palette).
MARKERS = {
    "improved": ("^", "#0072B2", True),
    "declined": ("v", "#D55E00", True),
    "no_change": ("o", "#555555", False),
}
# (width in inches, font size) of the wide figure and of the one for narrow screens
WIDE, NARROW = (8.0, 9.0), (4.4, 9.5)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


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
    """A community name as one short line: long names would squeeze the plot to nothing."""
    text = " ".join(str(value).split())  # control characters (CR, tab, newline) as spaces
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")  # "$" would start matplotlib mathtext


def _forest(
    rows: list[dict[str, Any]], ev: Evaluation, lang: str, size: tuple[float, float]
) -> Any:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    t = text_for(lang)
    width, font = size
    fig = Figure(figsize=(width, 0.22 * len(rows) * font / 8 + 2.2), layout="constrained")
    ax = fig.subplots()
    counts = dict.fromkeys(MARKERS, 0)
    for k, r in enumerate(rows):
        v = r["verdict"]
        counts[v] += 1
        marker, colour, filled = MARKERS[v]
        if r.get("shown_low") is not None:
            ax.plot([r["shown_low"], r["shown_high"]], [k, k], color=colour, lw=1.3)
        face = colour if filled else "white"
        ax.plot([r["estimate"]], [k], marker, color=colour, mfc=face, ms=7, mew=1.2)
    ax.axvline(0, color="#999", lw=1)
    ax.set_yticks(range(len(rows)))
    limit = 40 if width > 5 else 22
    ax.set_yticklabels([_tick_label(name(r, ev), limit) for r in rows], fontsize=font)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.tick_params(axis="x", labelsize=font)
    ax.grid(axis="x", color="#eee", lw=0.8)
    ax.set_axisbelow(True)
    m = rows[0]["family"] if rows else 1
    # wrap long texts on the narrow figure, so it stays as narrow as drawn
    chars = int(width * 72 / font * 1.7)
    model = bool(rows) and rows[0].get("rule") == "model"
    xl = _x_label(ev, lang, m, model)
    label = "\n".join(textwrap.fill(x, chars) for x in xl.split("\n"))
    ax.set_xlabel(label, fontsize=font)
    fig.suptitle(
        textwrap.fill(t["forest_title"].format(k=len(rows)), int(chars * 0.85)),
        x=0.01,
        ha="left",
        fontsize=font + 2,
        fontweight="bold",
    )
    handles = [
        Line2D(
            [],
            [],
            marker=MARKERS[v][0],
            color=MARKERS[v][1],
            lw=1.3,
            ms=7,
            mfc=MARKERS[v][1] if MARKERS[v][2] else "white",
            label=f"{t[v]} ({counts[v]})",
        )
        for v in MARKERS
    ]
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=3 if width > 5 else 1,
        frameon=False,
        fontsize=font,
        borderaxespad=0.2,
    )
    return fig


def forest_figure(
    per: list[dict[str, Any]], ev: Evaluation, lang: str, *, narrow: bool = False
) -> Any:
    """The forest plot as a matplotlib Figure (``narrow``: for phone-width screens), or None."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # pragma: no cover - plot extra missing
        return None
    rows, _ = forest_rows(per)
    return _forest(rows, ev, lang, NARROW if narrow else WIDE) if rows else None


def forest_png(
    per: list[dict[str, Any]], ev: Evaluation, lang: str, *, narrow: bool = False
) -> str | None:
    """The forest plot as base64 PNG, or None (no community to draw, or no matplotlib)."""
    fig = forest_figure(per, ev, lang, narrow=narrow)
    return None if fig is None else _png(fig)


#: Communities above which the report's map has no per-community labels (unreadable, and
#: matplotlib lays out each label: minutes for a thousand buurten).
MAX_MAP_LABELS = 80


def map_png(ev: Evaluation, label: str, lang: str, *, narrow: bool = False) -> str | None:
    """The impact map of one wave as base64 PNG (``narrow``: legend below, for phone-width
    screens), or None without geometry or levels."""
    if ev.geometry is None:
        return None
    try:
        from collective_efficacy.report.plot import impact_map
    except ImportError:  # pragma: no cover - plot extra missing
        return None
    import pandas as pd

    levels = pd.DataFrame([r for r in ev.sections.get("impact", []) if r.get("wave") == label])
    if levels.empty:
        return None
    # JSON records turn integer levels with gaps into floats; the map labels want integers
    for col in ("level", "level_low", "level_high"):
        if col in levels.columns:
            levels[col] = pd.to_numeric(levels[col]).round().astype("Int64")
    fig = impact_map(
        levels,
        ev.geometry,
        community=ev.community,
        geometry_key=ev.geometry_key,
        lang=lang,
        title="",  # the report's heading names the map
        legend="below" if narrow else "right",
        annotate=len(levels) <= MAX_MAP_LABELS,  # a national map: colours, no 1,000 labels
    )
    return _png(fig)


def map_alt(t: dict[str, str], label: str) -> str:
    return t["map_alt"].format(wave=wave(t, label))

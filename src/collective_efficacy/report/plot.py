"""Static plots (matplotlib, optional extra ``[plot]``): the impact map.

Figures are built with :class:`matplotlib.figure.Figure` on the Agg canvas, never through
``pyplot``, so plotting changes no global state, opens no window and needs no display.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy._messages import MESSAGES, message
from collective_efficacy._params import (
    BOOLEAN,
    InstanceOf,
    Interval,
    Options,
    Predicate,
    public,
)
from collective_efficacy.errors import DataError, require_extra
from collective_efficacy.export.geojson import MAP_CONSTRAINTS, join_levels
from collective_efficacy.impact import IMPACT_LEVEL_LABELS
from collective_efficacy.report.styling import IMPACT_PALETTE, NO_LEVEL_COLOUR

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["impact_map"]

#: Community names on the map (points): 7.5 pt is 11.5 px at the report's 110 dpi, legible when
#: the 9-inch map is shown at 1200 px.
LABEL_PT = 7.5
#: The same with ``legend="below"``: the 5-inch map is shown about 400 px wide on a phone.
LABEL_PT_NARROW = 8.5

_TEXT = {
    "en": {
        "title": "Impact level (0-5) by community",
        "no_level": "no level (suppressed or no data)",
        "survey_only": "hatched: survey only (no assessment)",
        "legend": "Impact level",
    },
    "nl": {
        "title": "Impactniveau (0-5) per buurt",
        "no_level": "geen niveau (onderdrukt of geen gegevens)",
        "survey_only": "gearceerd: alleen enquête (geen beoordeling)",
        "legend": "Impactniveau",
    },
}


def _rings_path(polys: Sequence[Any]) -> Any:
    """One matplotlib Path for a (multi)polygon: exterior rings and holes (even-odd fill)."""
    from matplotlib.path import Path as MplPath

    verts: list[tuple[float, float]] = []
    codes: list[int] = []
    for poly in polys:
        for ring in poly:
            pts = [(float(pt[0]), float(pt[1])) for pt in ring]
            if len(pts) < 3:
                continue
            verts.extend(pts)
            verts.append(pts[0])
            codes.append(int(MplPath.MOVETO))
            codes.extend([int(MplPath.LINETO)] * (len(pts) - 1))
            codes.append(int(MplPath.CLOSEPOLY))
    return MplPath(verts, codes) if verts else None


def _ring_centroid(ring: Sequence[Any]) -> tuple[float, float, float]:
    """(x, y, |area|) of a ring by the shoelace formula (vertex mean if degenerate)."""
    xy = np.asarray([[float(pt[0]), float(pt[1])] for pt in ring])
    x, y = xy[:, 0], xy[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2.0
    if abs(area) < 1e-15:
        return float(x.mean()), float(y.mean()), 0.0
    cx = ((x + x1) * cross).sum() / (6.0 * area)
    cy = ((y + y1) * cross).sum() / (6.0 * area)
    return float(cx), float(cy), abs(float(area))


def _label_point(polys: Sequence[Any]) -> tuple[float, float] | None:
    """Centroid of the largest exterior ring (where the level is written)."""
    best: tuple[float, float, float] | None = None
    for poly in polys:
        if poly and len(poly[0]) >= 3:
            c = _ring_centroid(poly[0])
            if best is None or c[2] > best[2]:
                best = c
    return None if best is None else (best[0], best[1])


def _geometry_parts(
    geom: Mapping[str, Any] | None, index: int
) -> tuple[Any, list[Any], tuple[float, float] | None]:
    """(area path or None, list of points, label point) of one feature's geometry."""
    if geom is None:
        return None, [], None
    gtype = geom.get("type")
    coords: Any = geom.get("coordinates")
    try:
        if gtype == "Polygon":
            return _rings_path([coords]), [], _label_point([coords])
        if gtype == "MultiPolygon":
            return _rings_path(coords), [], _label_point(coords)
        if gtype == "Point":
            return None, [(float(coords[0]), float(coords[1]))], None
        if gtype == "MultiPoint":
            return None, [(float(c[0]), float(c[1])) for c in coords], None
    except (TypeError, ValueError, IndexError):
        raise DataError(
            f"geometry feature #{index}: malformed {gtype} coordinates; expected GeoJSON "
            "positions [x, y]"
        ) from None
    if gtype == "GeometryCollection":
        paths, points, label = [], [], None
        for g in geom.get("geometries", []):
            pa, pt, lab = _geometry_parts(g, index)
            if pa is not None:
                paths.append(pa)
            points.extend(pt)
            label = label or lab
        if paths:
            from matplotlib.path import Path as MplPath

            return MplPath.make_compound_path(*paths), points, label
        return None, points, label
    raise DataError(
        f"geometry feature #{index} has type {gtype!r}; impact_map draws Polygon, MultiPolygon, "
        "Point and MultiPoint"
    )


@public(
    renamed={"key": "community"},
    constraints={
        **MAP_CONSTRAINTS,
        "title": [InstanceOf(str, description="a string", example=lambda: "title"), None],
        "lang": [Options(_TEXT)],
        "annotate": [BOOLEAN],
        "figsize": [
            Predicate(
                lambda v: (
                    isinstance(v, (tuple, list))
                    and len(v) == 2
                    and all(Interval(Real, 0, None, closed="neither").accepts(x) for x in v)
                ),
                "a (width, height) pair of positive numbers",
                lambda: (6.0, 4.0),
                [(0, 4), 3.5],
            ),
            None,
        ],
        "dpi": [Interval(Integral, 1, None)],
        "legend": [Options(("right", "below"))],
    },
)
def impact_map(
    levels: pd.DataFrame,
    geometry: Mapping[str, Any] | str | Path,
    *,
    community: str = "community",
    geometry_key: str | None = None,
    path: str | Path | None = None,
    title: str | None = None,
    lang: str = "en",
    annotate: bool = True,
    figsize: tuple[float, float] | None = None,
    dpi: int = 150,
    legend: Literal["right", "below"] = "right",
) -> Figure:
    """Choropleth of the impact levels: one colour per level 0-5, no web tiles.

    Parameters
    ----------
    levels : DataFrame
        One row per community (one wave of :func:`~collective_efficacy.impact.impact_levels`).
    geometry : dict or path
        GeoJSON FeatureCollection of Polygon / MultiPolygon / Point / MultiPoint features.
    community : str, default="community"
        Community column of ``levels``.
    geometry_key : str, optional
        Feature property with the community name (default: ``community``).
    path : str or Path, optional
        Save the figure there; the format follows the suffix (``.png``, ``.svg``, ``.pdf``).
    title : str, optional
        Default: "Impact level (0-5) by community" (in ``lang``), followed by the wave when
        ``levels`` has a ``wave`` or ``meting`` column with a single value.
    lang : {"en", "nl"}, default="en"
        Language of legend and default title.
    annotate : bool, default=True
        Write each community's level (or "-" without one) and name at its polygon's centre
        (polygons only; points carry no text).
    figsize : (float, float), optional
        Default (9, 6) with the legend on the right, (5, 7.5) with it below.
    dpi : int, default=150
        Resolution of a saved PNG.
    legend : {"right", "below"}, default="right"
        Where the legend goes; "below" makes a narrow, tall figure for phone-width screens, with
        larger text (names :data:`LABEL_PT_NARROW` instead of :data:`LABEL_PT` points).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Colours are the fixed palette :data:`~collective_efficacy.report.styling.IMPACT_PALETTE` (blues
    below the release threshold, oranges from level 3; lightness rises with the level, so the
    order survives greyscale and colour-vision deficiencies); communities without a level are grey (:data:`NO_LEVEL_COLOUR`);
    survey-only levels are hatched, so they are never read as full levels. The legend always
    shows all six levels. Longitude/latitude data (all coordinates within +-180/+-90) are drawn
    with the aspect ratio 1/cos(mean latitude), other coordinates with equal aspect.
    Needs ``pip install 'collective-efficacy[plot]'``.

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.report.plot import impact_map
    >>> sq = lambda x: {"type": "Polygon",
    ...                 "coordinates": [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]]}
    >>> fc = {"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"community": c}, "geometry": sq(i)}
    ...     for i, c in enumerate("AB")]}
    >>> fig = impact_map(pd.DataFrame({"community": ["A", "B"], "level": [1, 3]}), fc)
    >>> fig.axes[0].get_title(loc="left")
    'Impact level (0-5) by community'
    """
    require_extra("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if lang not in _TEXT:
        raise DataError(f"lang must be one of {list(_TEXT)}; got {lang!r}")
    if legend not in ("right", "below"):
        raise DataError(f"legend must be 'right' or 'below'; got {legend!r}")
    joined = join_levels(levels, geometry, key=community, geometry_key=geometry_key, lang=lang)
    text = _TEXT[lang]
    below = legend == "below"
    fig = Figure(figsize=figsize or ((5.0, 7.5) if below else (9.0, 6.0)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.36, 0.98, 0.58) if below else (0.02, 0.04, 0.60, 0.86))
    shapes = _Shapes.collect(
        joined.feature_collection["features"], geometry_key or community, annotate
    )
    shapes.draw(ax, LABEL_PT_NARROW if below else LABEL_PT)
    if below and figsize is None:
        _fit_height(fig, ax)
    if title is None:
        title = text["title"]
        for wcol in ("wave", "meting"):
            if wcol in levels.columns and levels[wcol].nunique() == 1:
                label = str(levels[wcol].iloc[0])  # a wave code in the language's words
                known = f"wave_{label}" in MESSAGES["en"]
                title += f" - {message('wave_' + label, lang) if known else label}"
                break
    ax.set_title(title, fontsize=12, loc="left")
    survey_only = bool(shapes.hatch[0]) or "survey_only" in set(
        levels.get("basis", pd.Series(dtype=str))
    )
    _legend(fig, lang, survey_only, ax.get_position().y0 - 0.01 if below else None)
    if path is not None:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


class _Shapes:
    """The patches, points and labels of a joined feature collection, ready to draw."""

    def __init__(self) -> None:
        self.plain: tuple[list[Any], list[str]] = ([], [])
        self.hatch: tuple[list[Any], list[str]] = ([], [])
        self.points: list[tuple[float, float, str]] = []
        self.labels: list[tuple[float, float, str, str, str]] = []
        self.xs: list[float] = []
        self.ys: list[float] = []

    @classmethod
    def collect(cls, features: list[dict[str, Any]], gkey: str, annotate: bool) -> _Shapes:
        from matplotlib.patches import PathPatch

        out = cls()
        for i, feat in enumerate(features):
            props = feat["properties"]
            colour = props.get("colour", NO_LEVEL_COLOUR)
            area, pts, label_at = _geometry_parts(feat.get("geometry"), i)
            lev = props.get("level")
            if area is not None:
                out.xs.extend(area.vertices[:, 0].tolist())
                out.ys.extend(area.vertices[:, 1].tolist())
                group = out.hatch if props.get("basis") == "survey_only" else out.plain
                group[0].append(PathPatch(area))
                group[1].append(colour)
                if annotate and label_at is not None:
                    name = props.get(gkey)
                    level_text = "-" if lev is None else str(lev)
                    name_text = "" if name is None else str(name)
                    out.labels.append((*label_at, level_text, name_text, colour))
            for pt in pts:
                out.points.append((float(pt[0]), float(pt[1]), colour))
                out.xs.append(float(pt[0]))
                out.ys.append(float(pt[1]))
        return out

    def draw(self, ax: Any, label_pt: float) -> None:
        from matplotlib.collections import PatchCollection

        for (patches, colours), hatch in ((self.plain, None), (self.hatch, "///")):
            if patches:
                ax.add_collection(
                    PatchCollection(
                        patches, facecolors=colours, edgecolors="white", linewidths=0.8, hatch=hatch
                    )
                )
        if self.points:
            x, y, c = zip(*self.points)
            ax.scatter(x, y, c=list(c), s=60, edgecolors="black", linewidths=0.5, zorder=3)
        for x0, y0, s, name, colour in self.labels:
            # light text on the dark levels below the release threshold, dark text from it on
            ink = "white" if s in {"0", "1", "2"} else "black"
            box = {"boxstyle": "round,pad=0.2", "fc": colour, "ec": "none"}
            ax.annotate(
                s, (x0, y0), ha="center", va="center", fontsize=label_pt + 2.5, fontweight="bold",
                color=ink, zorder=4, bbox=box,
            )  # fmt: skip
            if name:
                ax.annotate(
                    name, (x0, y0), xytext=(0, 1.6 * label_pt), textcoords="offset points",
                    ha="center",
                    va="center", fontsize=label_pt, color=ink, zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": colour, "ec": "none"},
                )  # fmt: skip
        _limits(ax, self.xs, self.ys)


def _limits(ax: Any, xs: list[float], ys: list[float]) -> None:
    """Frame the shapes; longitude/latitude with the aspect 1/cos(mean latitude)."""
    ax.set_axis_off()
    if not xs:
        return
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    padx = (x1 - x0) * 0.03 or 1.0
    pady = (y1 - y0) * 0.03 or 1.0
    ax.set_xlim(x0 - padx, x1 + padx)
    ax.set_ylim(y0 - pady, y1 + pady)
    lonlat = max(abs(x0), abs(x1)) <= 180 and max(abs(y0), abs(y1)) <= 90
    if lonlat:
        ax.set_aspect(1.0 / max(math.cos(math.radians((y0 + y1) / 2)), 0.1))
    else:
        ax.set_aspect("equal")


def _fit_height(fig: Any, ax: Any, legend_in: float = 2.6) -> None:
    """Size a legend-below figure to the map's shape: the map fills the width, the legend
    gets ``legend_in`` inches under it (no empty band between them)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    aspect = ax.get_aspect()
    ratio = (y1 - y0) * (1.0 if aspect in ("equal", "auto") else float(aspect)) / (x1 - x0)
    width = fig.get_figwidth()
    map_in = min(max(0.98 * width * ratio, 2.0), 3.0 * width)
    height = map_in + legend_in + 0.1
    fig.set_size_inches(width, height)
    ax.set_position((0.01, legend_in / height, 0.98, map_in / height))


def _legend(fig: Any, lang: str, survey_only: bool, below_at: float | None) -> None:
    """All six levels (highest first), no level, and the hatching when it is used; on the right,
    or under the map from the figure height ``below_at`` (a fraction) down."""
    from matplotlib.patches import Patch

    text = _TEXT[lang]
    handles: list[Any] = [
        Patch(facecolor=IMPACT_PALETTE[k], edgecolor="white", label=IMPACT_LEVEL_LABELS[lang][k])
        for k in range(5, -1, -1)
    ]
    handles.append(Patch(facecolor=NO_LEVEL_COLOUR, edgecolor="white", label=text["no_level"]))
    if survey_only:
        handles.append(
            Patch(facecolor="white", edgecolor="grey", hatch="///", label=text["survey_only"])
        )
    fig.legend(
        handles=handles,
        loc="center left" if below_at is None else "upper left",
        bbox_to_anchor=(0.63, 0.5) if below_at is None else (0.02, below_at),
        frameon=False,
        fontsize=7.5 if below_at is None else 9,
        title=text["legend"],
        title_fontsize=9 if below_at is None else 10,
        alignment="left",
    )

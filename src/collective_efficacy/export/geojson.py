"""Impact levels joined onto community geometry, written as GeoJSON (pure ``json``, no geopandas).

:func:`to_geojson` adds the impact level, its colour from the fixed palette
:data:`~collective_efficacy.report.styling.IMPACT_PALETTE` and a label to every feature of the user's
FeatureCollection whose key matches a community; features and communities that do not match are
listed in the result, never dropped silently.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from collective_efficacy._checks import check_columns
from collective_efficacy._params import COLUMN, FRAME, MAPPING, PATH, Options, public
from collective_efficacy.disclosure import hide_suppressed
from collective_efficacy.errors import DataError
from collective_efficacy.geography import read_geometry
from collective_efficacy.impact import IMPACT_LEVEL_LABELS
from collective_efficacy.report.styling import IMPACT_PALETTE, NO_LEVEL_COLOUR

__all__ = ["GeoJSONExport", "to_geojson"]

#: Columns of :func:`~collective_efficacy.impact.impact_levels` copied into feature properties.
LEVEL_PROPERTIES: tuple[str, ...] = (
    "level",
    "level_low",
    "level_high",
    "cohesion_score",
    "cohesion_level",
    "cohesion_level_low",
    "cohesion_level_high",
    "partner_cooperation",
    "group_development",
    "basis",
    "decided_by",
    "rule",
    "suppressed",
    "reason",
    "n",
)
_LABEL_NO_DATA = {"en": "no data", "nl": "geen gegevens"}
_LABEL_SURVEY_ONLY = {"en": " (survey only)", "nl": " (alleen enquête)"}


class GeoJSONExport(BaseModel):
    """The joined FeatureCollection and what did not match.

    Attributes
    ----------
    feature_collection : dict
        Valid GeoJSON (RFC 7946) FeatureCollection: the input features (same order, same
        geometry) with added properties ``level`` (0-5 or null), ``colour`` (hex), ``label``,
        ``matched`` and the columns of :data:`LEVEL_PROPERTIES` present in ``levels``.
    unmatched_communities : list
        Communities in ``levels`` without a feature (not on the map).
    unmatched_features : list
        Key values of features without a row in ``levels`` (kept, grey, ``matched`` false);
        a feature without the key property is listed as ``"feature #<index>"``.
    path : str or None
        The file written, if any.
    """

    model_config = ConfigDict(extra="forbid")

    feature_collection: dict[str, Any]
    unmatched_communities: list[Any] = Field(default_factory=list)
    unmatched_features: list[Any] = Field(default_factory=list)
    path: str | None = None


def _json_value(v: Any) -> Any:
    """A JSON-ready scalar: NaN / NA -> None, numpy -> Python."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, str):
        return v
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return str(v)


def _label(level: Any, basis: Any, reason: Any, lang: str) -> str:
    labels = IMPACT_LEVEL_LABELS.get(lang, IMPACT_LEVEL_LABELS["en"])
    if level is None:
        return str(reason) if reason else _LABEL_NO_DATA.get(lang, _LABEL_NO_DATA["en"])
    text = labels[int(level)]
    if basis == "survey_only":
        text += _LABEL_SURVEY_ONLY.get(lang, _LABEL_SURVEY_ONLY["en"])
    return text


def join_levels(
    levels: pd.DataFrame,
    geometry: Mapping[str, Any] | str | Path,
    *,
    key: str = "community",
    geometry_key: str | None = None,
    lang: str = "en",
) -> GeoJSONExport:
    """Join without writing (shared by :func:`to_geojson` and the map plot)."""
    if not isinstance(levels, pd.DataFrame):
        raise DataError(
            f"levels must be a DataFrame (from impact_levels); got {type(levels).__name__}"
        )
    check_columns(levels, [key, "level"], what="levels column")
    dup = levels.duplicated(subset=[key], keep=False).to_numpy()
    if dup.any():
        shown = list(pd.unique(levels.loc[dup, key]))[:5]
        raise DataError(
            f"levels has several rows for community(ies) {shown} in column {key!r}; a map shows "
            "one wave: filter first, e.g. levels[levels['wave'] == 'end']"
        )
    if lang not in IMPACT_LEVEL_LABELS:
        raise DataError(f"lang must be one of {list(IMPACT_LEVEL_LABELS)}; got {lang!r}")
    fc = read_geometry(geometry)  # a copy: the caller's collection is never modified
    gkey = geometry_key or key
    props = [c for c in LEVEL_PROPERTIES if c in levels.columns]
    records: dict[str, dict[str, Any]] = {}
    for rec in levels[[key, *props]].to_dict("records"):
        records[str(rec[key])] = {k: _json_value(v) for k, v in rec.items() if k != key}
    hide_suppressed({"impact": list(records.values())})  # a map is published output too
    seen: dict[str, int] = {}
    unmatched_features: list[Any] = []
    for i, f in enumerate(fc["features"]):
        p = f["properties"]
        if gkey not in p or p[gkey] is None:
            unmatched_features.append(f"feature #{i}")
            name = None
        else:
            name = str(p[gkey])
            if name in seen:
                raise DataError(
                    f"geometry features #{seen[name]} and #{i} both have {gkey}={p[gkey]!r}; "
                    "expected one feature per community (use a MultiPolygon for several parts)"
                )
            seen[name] = i
        rec = records.get(name) if name is not None else None
        if rec is None:
            if name is not None:
                unmatched_features.append(p[gkey])
            p.update({"level": None, "colour": NO_LEVEL_COLOUR, "matched": False})
            p["label"] = _LABEL_NO_DATA[lang]
            continue
        p.update(rec)
        lev = rec.get("level")
        p["colour"] = IMPACT_PALETTE[int(lev)] if lev is not None else NO_LEVEL_COLOUR
        p["label"] = _label(lev, rec.get("basis"), rec.get("reason"), lang)
        p["matched"] = True
    unmatched_communities = [_json_value(v) for v in levels[key].tolist() if str(v) not in seen]
    return GeoJSONExport(
        feature_collection=fc,
        unmatched_communities=unmatched_communities,
        unmatched_features=unmatched_features,
    )


#: The declared constraints of a levels-on-a-map function (to_geojson, plot.impact_map).
MAP_CONSTRAINTS: dict[str, list[Any]] = {
    "levels": [FRAME],
    "geometry": [MAPPING, PATH],
    "community": [COLUMN],
    "geometry_key": [COLUMN, None],
    "path": [PATH, None],
}


@public(
    renamed={"key": "community"},
    constraints={**MAP_CONSTRAINTS, "lang": [Options(IMPACT_LEVEL_LABELS)]},
)
def to_geojson(
    levels: pd.DataFrame,
    geometry: Mapping[str, Any] | str | Path,
    *,
    community: str = "community",
    geometry_key: str | None = None,
    path: str | Path | None = None,
    lang: str = "en",
) -> GeoJSONExport:
    """Join impact levels onto community geometry and (optionally) write GeoJSON.

    Parameters
    ----------
    levels : DataFrame
        One row per community: :func:`~collective_efficacy.impact.impact_levels` of one wave.
    geometry : dict or path
        A GeoJSON FeatureCollection (polygons, multipolygons or points; WGS84 longitude/latitude
        as RFC 7946 requires, though any planar coordinates pass through unchanged). Not
        modified: the result holds a copy.
    community : str, default="community"
        The community column of ``levels``.
    geometry_key : str, optional
        The feature property holding the community name (default: ``community``). Values are
        compared as text, so ``12`` matches ``"12"``.
    path : str or Path, optional
        Write the FeatureCollection there (UTF-8, strict JSON: NaN is written as null).
    lang : {"en", "nl"}, default="en"
        Language of the ``label`` property.

    Returns
    -------
    GeoJSONExport
        ``feature_collection``, ``unmatched_communities``, ``unmatched_features``, ``path``.

    Notes
    -----
    Each matched feature gets the level columns (``level``, ``level_low``, ``level_high``, the
    three dimensions, ``basis``, ``decided_by``, ``suppressed``, ``reason``, ...), ``colour``
    (the fixed palette :data:`~collective_efficacy.report.styling.IMPACT_PALETTE`: blues ``#152450``
    (0) ... ``#4377BA`` (2), oranges ``#E68A35`` (3) ... ``#FEEEB8`` (5); ``#BDBDBD`` without
    a level), ``label`` and
    ``matched``. A suppressed community is exported with ``level`` null and as label its
    ``reason`` (e.g. "fewer than 5 respondents"). Features without a community row stay in the
    collection, grey, ``matched`` false, and are listed in ``unmatched_features``; communities
    without a feature are listed in ``unmatched_communities``.

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.export.geojson import to_geojson
    >>> levels = pd.DataFrame({"community": ["A", "B"], "level": [3, 1], "basis": "full"})
    >>> square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    >>> fc = {"type": "FeatureCollection", "features": [
    ...     {"type": "Feature", "properties": {"community": "A"}, "geometry": square},
    ...     {"type": "Feature", "properties": {"community": "Z"}, "geometry": square}]}
    >>> res = to_geojson(levels, fc)
    >>> res.feature_collection["features"][0]["properties"]["colour"]
    '#E68A35'
    >>> res.unmatched_communities, res.unmatched_features
    (['B'], ['Z'])
    """
    res = join_levels(levels, geometry, key=community, geometry_key=geometry_key, lang=lang)
    if path is not None:
        p = Path(path)
        p.write_text(
            json.dumps(res.feature_collection, ensure_ascii=False, allow_nan=False) + "\n",
            encoding="utf-8",
        )
        res = res.model_copy(update={"path": str(p)})
    return res

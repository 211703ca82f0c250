r"""CBS geography: buurt, wijk and gemeente codes, roll-ups with disclosure control, maps.

Statistics Netherlands (CBS) codes its areas as ``GM`` + 4 digits (gemeente, municipality),
``WK`` + 6 digits (wijk: the gemeente's 4 digits and 2 of its own) and ``BU`` + 8 digits (buurt:
the wijk's 6 digits and 2 of its own): buurt ``BU03630001`` lies in wijk ``WK036300`` of
gemeente ``GM0363`` (Amsterdam). :func:`parse_codes` checks and splits codes,
:func:`rollup` re-aggregates respondent scores from buurt to wijk to gemeente with suppression
applied afresh at every level, and :func:`read_geometry` reads the CBS *Wijk- en Buurtkaart*
(GeoPackage or shapefile in RD New, EPSG:28992) as a WGS84 GeoJSON FeatureCollection.

>>> import collective_efficacy as ce
>>> ce.geography.parse_codes(["BU03630001"])[["level", "wijk", "gemeente"]].to_dict("records")
[{'level': 'buurt', 'wijk': 'WK036300', 'gemeente': 'GM0363'}]
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy._params import COLUMN, MAPPING, PATH, TEXT, Interval, public
from collective_efficacy.errors import DataError, ReadError, require_extra
from collective_efficacy.geography._levels import suppress_levels
from collective_efficacy.scoring import aggregate

__all__ = ["LEVELS", "parse_codes", "read_geometry", "rollup"]

#: The CBS levels from fine to coarse, with their prefix and number of digits.
LEVELS: dict[str, tuple[str, int]] = {"buurt": ("BU", 8), "wijk": ("WK", 6), "gemeente": ("GM", 4)}
_ORDER = list(LEVELS)
_PATTERN = r"^(BU\d{8}|WK\d{6}|GM\d{4})$"
#: CRS that need no reprojection (GeoJSON is WGS84 longitude/latitude by RFC 7946).
_WGS84 = {"EPSG:4326", "OGC:CRS84", "EPSG:4258"}

Level = Literal["buurt", "wijk", "gemeente"]


def parse_codes(codes: Iterable[Any], *, argument: str = "codes") -> pd.DataFrame:
    """Check CBS area codes and derive the wijk and gemeente of each.

    Parameters
    ----------
    codes : iterable of str
        ``BU`` + 8 digits, ``WK`` + 6 digits or ``GM`` + 4 digits. Surrounding white space and
        lower-case prefixes are accepted (``" bu03630001"``).
    argument : str, default="codes"
        The name used for the codes in an error message (a column name).

    Returns
    -------
    DataFrame
        One row per code in order: ``code`` (normalised), ``level`` (``"buurt"``, ``"wijk"``
        or ``"gemeente"``), ``buurt`` (None above buurt level), ``wijk`` (None at gemeente
        level) and ``gemeente``.

    Raises
    ------
    DataError
        A code is missing or malformed; the message names up to five of them with their
        positions (0-based) and the expected form.

    Examples
    --------
    >>> from collective_efficacy.geography import parse_codes
    >>> parse_codes(["BU03630001", "WK036300", "GM0363"])["gemeente"].tolist()
    ['GM0363', 'GM0363', 'GM0363']
    """
    raw = pd.Series(list(codes), dtype=object)
    text = raw.astype("string").str.strip().str.upper()
    ok = text.str.match(_PATTERN).fillna(False).to_numpy(dtype=bool)
    if not ok.all():
        bad = np.flatnonzero(~ok)
        shown = ", ".join(f"{raw.iloc[i]!r} (position {i})" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise DataError(
            f"{argument}: {bad.size} malformed CBS code(s): {shown}{more}; expected BU + 8 "
            "digits (buurt, e.g. BU03630001), WK + 6 digits (wijk, e.g. WK036300) or GM + 4 "
            "digits (gemeente, e.g. GM0363)",
            argument=argument,
        )
    t = text.astype(object).to_numpy()
    prefix = text.str[:2].to_numpy(dtype=object)
    digits = text.str[2:]
    level = np.select([prefix == "BU", prefix == "WK"], ["buurt", "wijk"], "gemeente")
    wijk = np.where(prefix == "GM", None, "WK" + digits.str[:6].to_numpy(dtype=object))
    cols = {
        "code": t,
        "level": level.astype(object),
        "buurt": np.where(prefix == "BU", t, None),
        "wijk": wijk,
        "gemeente": ("GM" + digits.str[:4]).to_numpy(dtype=object),
    }
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()})


def _levels_between(start: str, to: str) -> list[str]:
    i, j = _ORDER.index(start), _ORDER.index(to)
    if j < i:
        raise DataError(
            f"to={to!r} is finer than the communities' level {start!r}; expected one of "
            f"{_ORDER[i:]}",
            argument="to",
        )
    return _ORDER[i : j + 1]


def rollup(
    scores: pd.DataFrame,
    *,
    community: str,
    to: Level = "wijk",
    wave: str | None = None,
    columns: Sequence[str] | None = None,
    min_n: int = 10,
    ci: float = 0.95,
) -> pd.DataFrame:
    r"""Re-aggregate respondent scores from CBS buurten to wijken and gemeenten, with
    disclosure control that holds across the levels.

    Parameters
    ----------
    scores : DataFrame
        Respondent scores (e.g. from :func:`~collective_efficacy.score`), one row per
        respondent, with a column of CBS codes (all of one level). Not modified.
    community : str
        The column of CBS codes (``BU03630001``, or ``WK036300`` to roll wijken up).
    to : {"wijk", "gemeente"}, default="wijk"
        The coarsest level.
    wave : str, optional
        A wave column; each wave is suppressed on its own.
    columns : sequence of str, optional
        Score columns (default as :func:`~collective_efficacy.aggregate`).
    min_n : int, default=10
        Privacy threshold at every level.
    ci : float, default=0.95
        Confidence level of the interval of each mean.

    Returns
    -------
    DataFrame
        One row per area (and wave) and scale, for every level from the codes' level to
        ``to``: ``level``, ``community`` (the code), ``parent`` (the code one level up; None at
        ``to``), [``wave``], ``scale``, ``n`` (nullable integer: missing when suppressed),
        ``mean``, ``sd``, ``se``, ``ci_low``, ``ci_high``, ``suppressed``, ``reason``.
        Statistics are those of :func:`~collective_efficacy.aggregate` on the pooled
        respondents of the area (the SD of the combined sample, not of area means).

    Notes
    -----
    Suppression, per wave:

    1. At every level an area with fewer than ``min_n`` valid scores is suppressed, on all
       scales at once (:func:`~collective_efficacy.disclosure.one_pattern`).
    2. Among the children of one parent (the buurten of a wijk), when one is suppressed for
       size the smallest shown sibling is suppressed too (secondary suppression within the
       parent, the rule of :func:`~collective_efficacy.disclosure.secondary_suppression`).
    3. A shown area :math:`P` publishes :math:`n_P` and :math:`\sum x`; with its shown
       descendants it gives the pooled respondents of the finest-level areas hidden under it
       (the *residual*: :math:`n_P - \sum` shown children, recursing into hidden children). The
       area is shown only if the residual narrows no hidden area
       (:func:`~collective_efficacy.disclosure.total_is_safe`, applied to all parents at once):
       a single hidden buurt is never recoverable as wijk minus shown buurten. A wijk whose
       buurten were all suppressed is shown when it reaches ``min_n`` and its buurten stay open.
       A parent failing the test is suppressed (reason
       :data:`~collective_efficacy.disclosure.SECONDARY_REASON`); the test runs bottom-up, so
       the residual then moves to the next level.

    ``rollup(s, to="gemeente")`` gives, for the gemeenten, the statistics of ``aggregate`` on
    the gemeente codes; a roll-up of wijk-coded scores gives the same figures.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> s = pd.DataFrame({"buurt": ["BU03630001"] * 5 + ["BU03630002"] * 6 + ["BU03630003"] * 7,
    ...                   "ce": [3.0] * 18})
    >>> r = ce.geography.rollup(s, community="buurt", to="wijk", min_n=10)
    >>> r[["level", "community", "n", "suppressed"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'level': 'buurt', 'community': 'BU03630001', 'n': None, 'suppressed': True},
     {'level': 'buurt', 'community': 'BU03630002', 'n': None, 'suppressed': True},
     {'level': 'buurt', 'community': 'BU03630003', 'n': None, 'suppressed': True},
     {'level': 'wijk', 'community': 'WK036300', 'n': 18, 'suppressed': False}]
    """
    if community not in scores.columns:
        raise DataError(
            f"community column {community!r} not found; columns: {list(map(str, scores.columns))[:30]}",
            argument="community",
        )
    if to not in ("wijk", "gemeente"):
        raise DataError(f"to must be 'wijk' or 'gemeente'; got {to!r}", argument="to")
    uniq, inv = np.unique(scores[community].astype(str).to_numpy(), return_inverse=True)
    parsed = parse_codes(uniq, argument=community)
    start = parsed["level"].iloc[0] if len(parsed) else "buurt"
    if parsed["level"].nunique() > 1:
        raise DataError(
            f"{community}: codes of several levels {sorted(parsed['level'].unique())}; "
            "expected one level (all BU, all WK or all GM)",
            argument="community",
        )
    levels = _levels_between(start, to)
    base = scores.drop(columns=[community])
    tables = []
    for lev in levels:  # two or three levels, never communities
        frame = base.assign(community=parsed[lev].to_numpy()[inv])
        t = aggregate(frame, community="community", wave=wave, columns=columns, min_n=min_n, ci=ci)
        t.insert(0, "level", lev)
        up = _ORDER.index(lev) + 1
        parent_of = (
            dict(zip(parsed[lev], parsed[_ORDER[up]])) if lev != to and up < len(_ORDER) else {}
        )
        t.insert(2, "parent", t["community"].map(parent_of).astype(object) if parent_of else None)
        tables.append(t)
    return suppress_levels(tables, wave=wave, min_n=min_n)


# -- maps ---------------------------------------------------------------------------------
@public(
    constraints={
        "path": [PATH, MAPPING],
        "layer": [TEXT, Interval(Integral, 0, None), None],
        "community": [COLUMN, None],
    }
)
def read_geometry(
    path: str | Path | Mapping[str, Any],
    *,
    layer: str | int | None = None,
    community: str | None = None,
) -> dict[str, Any]:
    """Read community boundaries as a WGS84 GeoJSON FeatureCollection.

    Parameters
    ----------
    path : str, Path or mapping
        A GeoJSON file or mapping, a GeoPackage (``.gpkg``) or a shapefile (``.shp``), such as
        the CBS *Wijk- en Buurtkaart*. GeoPackage and shapefile need the extra ``[geo]``
        (pyogrio, pyproj, shapely).
    layer : str or int, optional
        The layer of a GeoPackage (the CBS file has ``buurten``, ``wijken`` and
        ``gemeenten``); default: the first. (:func:`~collective_efficacy.evaluate` chooses
        the layer from ``geometry_key``: ``wijkcode`` reads ``wijken``.)
    community : str, optional
        The feature property holding the community code (``buurtcode``); it must be present
        on every feature and is returned as text.

    Returns
    -------
    dict
        ``{"type": "FeatureCollection", "features": [...]}`` in WGS84 longitude/latitude
        (RFC 7946), without a ``crs`` member.

    Notes
    -----
    A file in another CRS (RD New, EPSG:28992, for CBS files; the CRS is read from the file,
    or from a GeoJSON ``crs`` member) is reprojected with pyproj
    (``Transformer.from_crs(crs, "EPSG:4326", always_xy=True)``), exactly as pyproj transforms
    it. Without the RDNAPTRANS(TM) correction grid (``nl_nsgi_rdtrans2018.tif``, not shipped
    with pyproj; used automatically when it is installed in the PROJ data folder or PROJ
    network access is on) pyproj applies the 7-parameter Helmert transformation, about 1 m
    (2.5e-6 degrees) from the official RDNAPTRANS result: ample for a choropleth.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> from importlib import resources
    >>> path = resources.files("collective_efficacy.datasets.data") / "example_buurten.geojson"
    >>> fc = ce.read_geometry(str(path))
    >>> fc["type"], len(fc["features"]) > 0
    ('FeatureCollection', True)
    """
    suffix = Path(path).suffix.lower() if isinstance(path, (str, Path)) else ""
    if isinstance(path, (str, Path)) and suffix in {".gpkg", ".shp"}:
        fc = _read_ogr(Path(path), layer)
    else:
        fc = _read_geojson(path)
        crs = _geojson_crs(fc)
        fc = {k: v for k, v in fc.items() if k != "crs"}
        if crs is not None and crs not in _WGS84:
            fc = _reproject_geojson(fc, crs)
    if community is not None:
        _check_property(fc, community, str(path) if suffix else "the geometry")
    return fc


def _read_geojson(geometry: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """A deep copy of a FeatureCollection given as a dict or a path; checks its structure."""
    if isinstance(geometry, (str, Path)):
        p = Path(geometry)
        if not p.exists():
            raise DataError(f"geometry file {str(p)!r} does not exist")
        try:
            fc: Any = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise DataError(
                f"geometry file {str(p)!r} is not valid JSON: {err}", argument="geometry"
            ) from None
        except RecursionError:  # json gives up on nesting deeper than Python's stack
            raise DataError(_too_deep(f"geometry file {str(p)!r}"), argument="geometry") from None
    elif isinstance(geometry, Mapping):
        try:
            fc = copy.deepcopy(dict(geometry))
        except RecursionError:
            raise DataError(_too_deep("the geometry"), argument="geometry") from None
    else:
        raise DataError(
            "geometry must be a GeoJSON FeatureCollection (dict) or a path to a .geojson, "
            ".gpkg or .shp file; "
            f"got {type(geometry).__name__}"
        )
    if not isinstance(fc, dict) or fc.get("type") != "FeatureCollection":
        got = fc.get("type") if isinstance(fc, dict) else type(fc).__name__
        raise DataError(
            f"geometry must be a GeoJSON FeatureCollection (type 'FeatureCollection'); got {got!r}"
        )
    feats = fc.get("features")
    if not isinstance(feats, list):
        raise DataError("geometry['features'] must be a list of GeoJSON Feature objects")
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise DataError(f"geometry feature #{i} is not a GeoJSON Feature (type 'Feature')")
        geom = f.get("geometry")
        if geom is not None and (not isinstance(geom, dict) or "type" not in geom):
            raise DataError(f"geometry feature #{i}: 'geometry' must be null or a geometry object")
        if f.get("properties") is None:
            f["properties"] = {}
    return fc


def _too_deep(where: str) -> str:
    return (
        f"{where} is nested too deeply to be read (lists or objects inside each other hundreds "
        "of levels deep); expected a GeoJSON FeatureCollection of the communities' shapes"
    )


def _geojson_crs(fc: Mapping[str, Any]) -> str | None:
    crs = fc.get("crs")
    if not isinstance(crs, Mapping):
        return None
    name = str((crs.get("properties") or {}).get("name", ""))
    if "CRS84" in name.upper():
        return "OGC:CRS84"
    digits = name.rsplit(":", 1)[-1]
    return f"EPSG:{digits}" if digits.isdigit() else None


def _transformer(crs: Any) -> Any:
    pyproj = require_extra("pyproj", "geo")
    return pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)  # type: ignore[attr-defined]


def _reproject_geojson(fc: dict[str, Any], crs: str) -> dict[str, Any]:
    shapely = require_extra("shapely", "geo")
    tr = _transformer(crs)
    feats = []
    for f in fc.get("features", []):  # features, not communities' statistics
        g = f.get("geometry")
        if g is not None:
            geom = shapely.transform(shapely.from_geojson(json.dumps(g)), _xy(tr))  # type: ignore[attr-defined]
            g = json.loads(shapely.to_geojson(geom))  # type: ignore[attr-defined]
        feats.append({**f, "geometry": g})
    return {**fc, "features": feats}


def _xy(tr: Any) -> Any:
    def fn(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return fn


def _read_ogr(
    path: Path, layer: str | int | None, keep: tuple[str, set[str]] | None = None
) -> dict[str, Any]:
    """Features of a GeoPackage/shapefile layer in WGS84; with ``keep=(property, codes)`` only
    those features (when any matches), selected before their geometry is read: a first pass
    reads the key column alone, the second only the matching features (by feature id)."""
    pyogrio = require_extra("pyogrio", "geo")
    shapely = require_extra("shapely", "geo")
    if not path.exists():
        raise ReadError(f"geometry file {str(path)!r} does not exist")
    try:
        if layer is None:  # the first layer, without pyogrio's warning about the others
            layer = str(pyogrio.list_layers(path)[0][0])  # type: ignore[attr-defined]
        fids = _matching_fids(pyogrio, path, layer, keep) if keep is not None else None
        meta, _fids, wkb, fields = pyogrio.raw.read(path, layer=layer, fids=fids)  # type: ignore[attr-defined]
    except Exception as exc:
        raise ReadError(
            f"geometry file {path.name!r} could not be read ({type(exc).__name__}: "
            f"{str(exc)[:200]}); expected a GeoPackage or shapefile"
            + (f" with a layer {layer!r}" if layer is not None else "")
        ) from None
    names = [str(c) for c in meta["fields"]]
    table = pd.DataFrame({k: pd.Series(v).astype(object) for k, v in zip(names, fields)})
    if keep is not None and keep[0] in table.columns:
        mask = table[keep[0]].astype(str).isin(keep[1]).to_numpy()
        if mask.any():
            table, wkb = table[mask].reset_index(drop=True), np.asarray(wkb, dtype=object)[mask]
    geoms = shapely.from_wkb(wkb)  # type: ignore[attr-defined]
    crs = meta.get("crs")
    if crs is not None and crs.upper() not in _WGS84:
        geoms = shapely.transform(geoms, _xy(_transformer(crs)))  # type: ignore[attr-defined]
    texts = shapely.to_geojson(geoms)  # type: ignore[attr-defined]
    shapes = json.loads("[" + ",".join(t if t is not None else "null" for t in texts) + "]")
    props = table.astype(object).where(table.notna(), None).to_dict("records")
    feats = [
        {"type": "Feature", "properties": {k: _plain(v) for k, v in p.items()}, "geometry": g}
        for p, g in zip(props, shapes)
    ]
    return {"type": "FeatureCollection", "features": feats}


def _matching_fids(
    pyogrio: Any, path: Path, layer: str | int, keep: tuple[str, set[str]]
) -> np.ndarray | None:
    """Feature ids whose ``keep[0]`` property is in ``keep[1]``; None (read all) when the
    layer has no such property or no feature matches."""
    info = pyogrio.read_info(path, layer=layer)
    if keep[0] not in [str(f) for f in info["fields"]]:
        return None
    _meta, fids, _wkb, fields = pyogrio.raw.read(
        path, layer=layer, columns=[keep[0]], read_geometry=False, return_fids=True
    )
    mask = pd.Series(fields[0]).astype(str).isin(keep[1]).to_numpy()
    return np.asarray(fids)[mask] if mask.any() else None


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


_LAYER_OF_KEY = (
    ("buurt", "buurten"),
    ("bu_", "buurten"),
    ("wijk", "wijken"),
    ("wk_", "wijken"),
    ("gemeente", "gemeenten"),
    ("gm_", "gemeenten"),
)


def cbs_layer(source: Any, key: str) -> str | None:
    """The layer of a CBS GeoPackage that holds the areas named by ``key``.

    ``buurtcode``/``BU_CODE`` -> ``buurten``, ``wijkcode``/``WK_CODE`` -> ``wijken``,
    ``gemeentecode``/``GM_CODE`` -> ``gemeenten``, when the file has a layer of that name;
    otherwise None (the first layer). The CBS buurten layer also carries the wijk and gemeente
    codes, so the key alone cannot choose the layer by its properties.
    """
    if not isinstance(source, (str, Path)) or Path(source).suffix.lower() != ".gpkg":
        return None
    want = next((lay for pre, lay in _LAYER_OF_KEY if key.lower().startswith(pre)), None)
    if want is None or not Path(source).exists():
        return None
    pyogrio = require_extra("pyogrio", "geo")
    try:
        names = [str(n).lower() for n in pyogrio.list_layers(source)[:, 0]]  # type: ignore[attr-defined]
    except Exception:
        return None  # read_geometry names the problem
    return want if want in names else None


def read_survey_geometry(
    source: Mapping[str, Any] | str | Path, key: str, communities: Sequence[Any]
) -> dict[str, Any]:
    """The map for an evaluation: :func:`read_geometry` of the layer that ``key`` names
    (:func:`cbs_layer`); from a GeoPackage or shapefile only the surveyed communities'
    features, selected before reprojection (all of them when none matches, so that the
    evaluation's note names the mismatch); a GeoJSON file is kept whole (its other features
    are drawn as "no data")."""
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in {".gpkg", ".shp"}:
        wanted = {str(c) for c in communities}
        return _read_ogr(Path(source), cbs_layer(source, key), keep=(key, wanted))
    return read_geometry(source)


def _check_property(fc: Mapping[str, Any], community: str, where: str) -> None:
    feats = fc.get("features", [])
    missing = [i for i, f in enumerate(feats) if (f.get("properties") or {}).get(community) is None]
    if missing:
        names = sorted({k for f in feats[:50] for k in (f.get("properties") or {})})
        raise DataError(
            f"{where}: {len(missing)} feature(s) have no property {community!r} (first: feature "
            f"{missing[0]}); properties found: {names[:30]}",
            argument="community",
        )
    for f in feats:
        f["properties"][community] = str(f["properties"][community])

"""A synthetic, realistic CBS *Wijk- en Buurtkaart* for the geography benchmark (issue 19).

The real file (https://www.cbs.nl/nl-nl/dossier/nederland-regionaal/geografische-data/
wijk-en-buurtkaart-2024) cannot be downloaded here, so this script builds a stand-in with the
properties that cost time and memory:

* about 14,000 buurt polygons in RD New (EPSG:28992) over an area the size of the Netherlands,
  small and dense in cities (clusters around 40 centres), large in the countryside
  (a Voronoi tessellation of clustered points, clipped to the land outline);
* irregular boundaries with realistic vertex counts: every edge is densified and displaced by a
  smooth function of position (so neighbours share their wiggles), giving tens of vertices for
  a small urban buurt and hundreds for a rural one (about 250 on average);
* the CBS layers and codes: ``buurten`` (``buurtcode`` BU + 8 digits, ``buurtnaam``,
  ``wijkcode``, ``gemeentecode``, ``gemeentenaam``, ``aantal_inwoners``), ``wijken`` and
  ``gemeenten`` (the buurten's unions), about 340 gemeenten of about 9 buurten per wijk.

Usage: ``python -m benchmarks.make_buurtkaart out.gpkg [n_buurten]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .timing import exit_on_help

N_BUURTEN = 14_000
N_GEMEENTEN = 342
BUURTEN_PER_WIJK = 9
MEAN_VERTICES = 250
# a rough land outline in RD metres (the Netherlands is about 270 x 310 km)
OUTLINE = [(13_000, 370_000), (100_000, 360_000), (190_000, 306_000), (205_000, 310_000),
           (210_000, 390_000), (278_000, 440_000), (265_000, 600_000), (200_000, 619_000),
           (110_000, 560_000), (95_000, 470_000), (45_000, 420_000)]  # fmt: skip


def _points(rng: np.random.Generator, n: int, land: object) -> np.ndarray:
    """Buurt seeds: 65 % around 40 city centres (sd 2-6 km), the rest spread over the land."""
    import shapely

    x0, y0, x1, y1 = shapely.bounds(land)
    out = np.empty((0, 2))
    cities = None
    while len(out) < n:
        cand = rng.uniform((x0, y0), (x1, y1), size=(4 * n, 2))
        cand = cand[shapely.contains_xy(land, cand[:, 0], cand[:, 1])]
        if cities is None:
            cities = cand[:40]
            sd = rng.uniform(2_000, 6_000, size=40)
            k = rng.integers(0, 40, size=int(0.65 * n))
            urban = cities[k] + rng.normal(size=(k.size, 2)) * sd[k, None]
            urban = urban[shapely.contains_xy(land, urban[:, 0], urban[:, 1])]
            out = np.vstack([urban, cand[40:]])
        else:
            out = np.vstack([out, cand])
    return out[:n]


def _wiggle(geoms: np.ndarray, spacing: float) -> np.ndarray:
    """Densify to ``spacing`` metres and displace each vertex by a smooth field of position."""
    import shapely

    dense = shapely.segmentize(geoms, spacing)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        a = 0.6 * spacing
        dx = a * (np.sin(x / 37.0 + np.cos(y / 53.0)) + 0.5 * np.sin(y / 11.0))
        dy = a * (np.cos(y / 41.0 + np.sin(x / 47.0)) + 0.5 * np.cos(x / 13.0))
        return np.column_stack([x + dx, y + dy])

    return np.asarray(shapely.make_valid(shapely.transform(dense, move)), dtype=object)


def _codes(rng: np.random.Generator, seeds: np.ndarray) -> tuple[np.ndarray, ...]:
    """Gemeente (nearest of N_GEMEENTEN centres), wijk (nearest of the gemeente's wijk centres)
    and buurt codes; gemeenten numbered with the big cities first, as GM0363 (Amsterdam)."""
    from scipy.spatial import cKDTree

    n = len(seeds)
    centres = seeds[rng.choice(n, size=N_GEMEENTEN, replace=False)]
    gm = cKDTree(centres).query(seeds)[1]
    sizes = np.bincount(gm, minlength=N_GEMEENTEN)
    rank = np.argsort(np.argsort(-sizes, kind="stable"), kind="stable")
    numbers = 3 + np.sort(rng.choice(1_990, size=N_GEMEENTEN, replace=False))
    gm_code = np.array([f"{numbers[r]:04d}" for r in rank])[gm]
    wk = np.zeros(n, dtype=np.int64)
    for g in range(N_GEMEENTEN):  # a generator script: loops over gemeenten are fine here
        idx = np.flatnonzero(gm == g)
        k = min(99, max(1, round(len(idx) / BUURTEN_PER_WIJK)))
        sub = seeds[idx[rng.choice(len(idx), size=k, replace=False)]]
        wk[idx] = cKDTree(sub).query(seeds[idx])[1]
    order = np.lexsort((seeds[:, 0], wk, gm_code))  # buurt numbers west to east within a wijk
    bu = np.zeros(n, dtype=np.int64)
    key = np.char.add(gm_code.astype(str), wk.astype(str))[order]
    start = np.r_[True, key[1:] != key[:-1]]
    run = np.cumsum(start) - 1
    bu[order] = np.arange(n) - np.flatnonzero(start)[run]
    if bu.max() > 99:
        raise RuntimeError("a wijk with more than 99 buurten; use another seed")
    wijk = np.char.add(np.char.add("WK", gm_code), np.char.zfill(wk.astype(str), 2))
    buurt = np.char.add(np.char.add("BU", np.char.lstrip(wijk, "WK")),
                        np.char.zfill(bu.astype(str), 2))  # fmt: skip
    return buurt.astype(object), wijk.astype(object), np.char.add("GM", gm_code).astype(object)


def write(path: str | Path, n_buurten: int = N_BUURTEN, seed: int = 2024) -> Path:
    """Write the GeoPackage; returns its path. Deterministic for a given seed."""
    import shapely
    from pyogrio.raw import write as raw_write

    path = Path(path)
    rng = np.random.default_rng(seed)
    land = shapely.Polygon(OUTLINE)
    seeds = _points(rng, n_buurten, land)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), ordered=True))
    cells = shapely.intersection(cells, land)
    spacing = float(shapely.length(cells).sum() / (n_buurten * MEAN_VERTICES))
    buurt, wijk, gm = _codes(rng, seeds)
    area_km2 = shapely.area(cells) / 1e6
    fields = {
        "buurtcode": buurt,
        "buurtnaam": np.char.add("Buurt ", np.char.lstrip(buurt.astype(str), "BU")).astype(object),
        "wijkcode": wijk,
        "gemeentecode": gm,
        "gemeentenaam": np.char.add("Gemeente ", np.char.lstrip(gm.astype(str), "GM")).astype(
            object
        ),
        "aantal_inwoners": np.round(2_500 / np.sqrt(area_km2 + 0.05)).astype(np.int64),
    }
    if path.exists():
        path.unlink()
    multi = _as_multi(_wiggle(cells, spacing))
    opts = {"driver": "GPKG", "geometry_type": "MultiPolygon", "crs": "EPSG:28992"}
    raw_write(path, shapely.to_wkb(multi), list(fields.values()), list(fields), layer="buurten",
              **opts)  # fmt: skip
    for layer, key in (("wijken", "wijkcode"), ("gemeenten", "gemeentecode")):
        labels, inv = np.unique(fields[key].astype(str), return_inverse=True)
        merged = np.array([shapely.union_all(cells[inv == k]) for k in range(len(labels))])
        raw_write(path, shapely.to_wkb(_as_multi(_wiggle(merged, spacing))),
                  [labels.astype(object)], [key], layer=layer, append=True, **opts)  # fmt: skip
    return path


def _as_multi(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as a MultiPolygon of its polygon parts (as in the CBS file)."""
    import shapely

    parts, index = shapely.get_parts(geoms, return_index=True)
    polys = shapely.get_type_id(parts) == 3
    out = shapely.multipolygons(parts[polys], indices=index[polys])
    if len(out) != len(geoms):
        raise RuntimeError("a geometry without a polygon part")
    return np.asarray(out, dtype=object)


def survey_codes(path: str | Path, n: int) -> list[str]:
    """The ``n`` buurten nearest to the centre of the largest gemeente (a city and its
    neighbours: the area a municipal survey covers), sorted by code."""
    import pyogrio
    import shapely

    _meta, _fids, wkb, fields = pyogrio.raw.read(path, layer="buurten",
                                                 columns=["buurtcode", "gemeentecode"])  # fmt: skip
    xy = shapely.get_coordinates(shapely.centroid(shapely.from_wkb(wkb)))
    gm = np.asarray(fields[1], dtype=str)
    labels, counts = np.unique(gm, return_counts=True)
    centre = xy[gm == labels[np.argmax(counts)]].mean(axis=0)
    nearest = np.argsort(((xy - centre) ** 2).sum(axis=1))[:n]
    return sorted(str(c) for c in np.asarray(fields[0], dtype=str)[nearest])


def vertex_counts(path: str | Path, layer: str = "buurten") -> np.ndarray:
    """Vertices per feature of a layer (for the benchmark's note)."""
    import pyogrio
    import shapely

    _meta, _fids, wkb, _fields = pyogrio.raw.read(path, layer=layer, columns=[])
    return np.asarray(shapely.get_num_coordinates(shapely.from_wkb(wkb)))


if __name__ == "__main__":  # pragma: no cover
    exit_on_help(__doc__, sys.argv[1:], "OUT [N_BUURTEN]")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else N_BUURTEN
    p = write(sys.argv[1], n)
    v = vertex_counts(p)
    print(f"{p}: {len(v)} buurten, vertices per buurt median {np.median(v):.0f}, "
          f"5-95 % {np.percentile(v, 5):.0f}-{np.percentile(v, 95):.0f}")  # fmt: skip

"""CBS geography (issue 19): codes, reading GeoPackage/shapefile in RD New with reprojection to
WGS84, and roll-ups buurt -> wijk -> gemeente whose suppression survives an attacker."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.disclosure import SECONDARY_REASON
from collective_efficacy.errors import DataError
from collective_efficacy.geography import parse_codes, rollup

pyogrio = pytest.importorskip("pyogrio")
pyproj = pytest.importorskip("pyproj")
shapely = pytest.importorskip("shapely")
sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "geo"))
import make_cbs_gpkg  # noqa: E402

# Amersfoort, origin of RD: RD (155000, 463000) is ETRS89 52.15517440 N, 5.38720621 E
# (RDNAPTRANS(TM)2018; Kadaster / NSGI). pyproj without the rdtrans2018 grid applies the
# 7-parameter Helmert transformation and lands about 2.7e-6 degrees away.
AMERSFOORT_RD = (155000.0, 463000.0)
AMERSFOORT_WGS84 = (5.38720621, 52.15517440)
HELMERT_TOL = 5e-6  # degrees, against the published pair (no grid)
PYPROJ_TOL = 1e-7  # degrees, against pyproj's own transformation (the 1e-7)


# -- codes -----------------------------------------------------------------------------------
def test_codes_split_into_wijk_and_gemeente() -> None:
    t = parse_codes(["BU03630001", " wk036300", "GM0363"])
    assert t["code"].tolist() == ["BU03630001", "WK036300", "GM0363"]
    assert t["level"].tolist() == ["buurt", "wijk", "gemeente"]
    assert t["buurt"].tolist() == ["BU03630001", None, None]
    assert t["wijk"].tolist() == ["WK036300", "WK036300", None]
    assert t["gemeente"].tolist() == ["GM0363"] * 3


@pytest.mark.parametrize("bad", ["BU0363001", "WK03630", "GM363", "XX0363", "BU0363000A", "", None])
def test_malformed_code_is_named(bad: object) -> None:
    with pytest.raises(DataError, match=r"buurtcode: 1 malformed CBS code.*position 1.*BU \+ 8"):
        parse_codes(["BU03630001", bad], argument="buurtcode")


@settings(deadline=None)  # a shared machine: timing is not the property
@given(st.integers(0, 9999), st.integers(0, 99), st.integers(0, 99))
def test_code_hierarchy_property(g: int, w: int, b: int) -> None:
    bu = f"BU{g:04d}{w:02d}{b:02d}"
    t = parse_codes([bu, f"WK{g:04d}{w:02d}", f"GM{g:04d}"])
    assert t["wijk"].iloc[0] == t["code"].iloc[1] and t["wijk"].iloc[1] == t["code"].iloc[1]
    assert set(t["gemeente"]) == {t["code"].iloc[2]}


# -- reading and reprojection ------------------------------------------------------------------
@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_cbs_gpkg.write(tmp_path_factory.mktemp("geo") / "wijkbuurtkaart.gpkg")


def _all_points(fc: dict) -> np.ndarray:
    geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in fc["features"]]
    return np.concatenate([shapely.get_coordinates(g) for g in geoms])


def test_gpkg_is_reprojected_exactly_as_pyproj(gpkg: Path) -> None:
    fc = ce.read_geometry(gpkg, layer="buurten", community="buurtcode")
    assert "crs" not in fc and len(fc["features"]) == 24
    props = fc["features"][0]["properties"]
    assert props["buurtcode"] == "BU03630000" and props["wijkcode"] == "WK036300"
    raw = pyogrio.raw.read(gpkg, layer="buurten")
    rd = np.concatenate([shapely.get_coordinates(g) for g in shapely.from_wkb(raw[2])])
    lon, lat = pyproj.Transformer.from_crs(28992, 4326, always_xy=True).transform(
        rd[:, 0], rd[:, 1]
    )
    got = _all_points(fc)
    np.testing.assert_allclose(got[:, 0], lon, rtol=0, atol=PYPROJ_TOL)
    np.testing.assert_allclose(got[:, 1], lat, rtol=0, atol=PYPROJ_TOL)


def test_amersfoort_known_point(gpkg: Path) -> None:
    fc = ce.read_geometry(gpkg)  # first layer: buurten
    ring = np.asarray(fc["features"][0]["geometry"]["coordinates"][0][0])
    raw = shapely.get_coordinates(shapely.from_wkb(pyogrio.raw.read(gpkg, layer="buurten")[2][0]))
    corner = int(
        np.flatnonzero((raw[:, 0] == AMERSFOORT_RD[0]) & (raw[:, 1] == AMERSFOORT_RD[1]))[0]
    )
    lon, lat = ring[corner]
    assert (
        abs(lon - AMERSFOORT_WGS84[0]) < HELMERT_TOL
        and abs(lat - AMERSFOORT_WGS84[1]) < HELMERT_TOL
    )
    # and not closer than the Helmert transformation allows: no grid was used here
    grid = any(
        "rdtrans2018" in str(op)
        for op in pyproj.transformer.TransformerGroup(28992, 4326).transformers
    )
    assert grid or max(abs(lon - AMERSFOORT_WGS84[0]), abs(lat - AMERSFOORT_WGS84[1])) > 1e-6


def test_shapefile_and_rd_geojson_agree_with_gpkg(gpkg: Path, tmp_path: Path) -> None:
    meta, _, wkb, fields = pyogrio.raw.read(gpkg, layer="wijken")
    shp = tmp_path / "wijken.shp"
    pyogrio.raw.write(
        shp,
        wkb,
        fields,
        meta["fields"],
        driver="ESRI Shapefile",
        geometry_type="MultiPolygon",
        crs="EPSG:28992",
    )
    a = ce.read_geometry(gpkg, layer="wijken", community="wijkcode")
    b = ce.read_geometry(shp, community="wijkcode")
    np.testing.assert_allclose(_all_points(a), _all_points(b), rtol=0, atol=PYPROJ_TOL)
    rd = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}},
        "features": [
            {
                "type": "Feature",
                "properties": {"wijkcode": f["properties"]["wijkcode"]},
                "geometry": json.loads(shapely.to_geojson(g)),
            }
            for f, g in zip(a["features"], shapely.from_wkb(wkb))
        ],
    }
    path = tmp_path / "rd.geojson"
    path.write_text(json.dumps(rd), encoding="utf-8")
    c = ce.read_geometry(path, community="wijkcode")
    assert "crs" not in c
    np.testing.assert_allclose(_all_points(a), _all_points(c), rtol=0, atol=PYPROJ_TOL)
    # one reader: to_geojson (and the map) reproject an RD GeoJSON the same way
    levels = pd.DataFrame({"wijk": [f["properties"]["wijkcode"] for f in a["features"]],
                           "level": 2})  # fmt: skip
    for source in (path, rd):
        got = ce.export.to_geojson(levels, source, community="wijk", geometry_key="wijkcode")
        fc = got.feature_collection
        np.testing.assert_allclose(_all_points(a), _all_points(fc), rtol=0, atol=PYPROJ_TOL)
    assert ce.export.geojson.read_geometry is ce.read_geometry
    assert rd["crs"]["properties"]["name"].endswith("28992")  # the caller's dict untouched


def test_missing_property_and_layer_are_named(gpkg: Path) -> None:
    with pytest.raises(DataError, match=r"no property 'buurtcode'.*wijkcode"):
        ce.read_geometry(gpkg, layer="wijken", community="buurtcode")
    with pytest.raises(ce.ReadError, match="layer 'nope'"):
        ce.read_geometry(gpkg, layer="nope")


# -- rollup ------------------------------------------------------------------------------------
def _scores(sizes: dict[str, int], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = np.repeat(list(sizes), list(sizes.values()))
    return pd.DataFrame({"buurt": codes, "ce": rng.normal(3, 0.7, len(codes)).round(2)})


def test_rollup_statistics_match_pandas() -> None:
    sizes = {f"BU0363{w:02d}{b:02d}": 8 + 5 * b + w for w in range(3) for b in range(4)}
    sizes.update({f"BU0364{w:02d}01": 30 for w in range(2)})
    s = _scores(sizes)
    r = rollup(s, community="buurt", to="gemeente", min_n=1)
    for level, key in (("wijk", s["buurt"].str[2:8]), ("gemeente", s["buurt"].str[2:6])):
        prefix = "WK" if level == "wijk" else "GM"
        ref = s.groupby(prefix + key)["ce"].agg(["count", "mean", "std"])  # pandas: ddof=1
        got = r[r["level"] == level].set_index("community")
        np.testing.assert_array_equal(got.loc[ref.index, "n"].to_numpy(dtype=int), ref["count"])
        np.testing.assert_allclose(got.loc[ref.index, "mean"], ref["mean"], rtol=1e-12)
        np.testing.assert_allclose(got.loc[ref.index, "sd"], ref["std"], rtol=1e-12)
    assert s.columns.tolist() == ["buurt", "ce"]  # caller's frame untouched


def test_wijk_of_suppressed_buurten_is_shown_when_it_reaches_min_n() -> None:
    r = rollup(
        _scores({"BU03630001": 5, "BU03630002": 6, "BU03630003": 7}), community="buurt", min_n=10
    )
    wijk = r[r["level"] == "wijk"].iloc[0]
    assert not wijk["suppressed"] and wijk["n"] == 18
    assert r.loc[r["level"] == "buurt", "n"].isna().all()


def test_wijk_minus_shown_buurten_does_not_reveal_a_hidden_one() -> None:
    # one small buurt among large ones: its siblings are shown, so the wijk total would leak it
    r = rollup(
        _scores({"BU03630001": 40, "BU03630002": 35, "BU03630003": 4}), community="buurt", min_n=10
    )
    buurt = r[r["level"] == "buurt"].set_index("community")
    wijk = r[r["level"] == "wijk"].iloc[0]
    hidden = buurt.index[buurt["suppressed"]]
    assert len(hidden) >= 2  # the smallest shown sibling went too
    assert wijk["suppressed"] or (wijk["n"] - buurt["n"].sum() >= 10)
    assert (r.loc[r["suppressed"], ["n", "mean", "sd"]].isna()).all().all()


def _brute_force_pinned(hidden: list[tuple[int, bool, int]], total: int, min_n: int) -> bool:
    """True when an attacker who knows the residual total pins some hidden area's n: for a
    size-suppressed area, some value in 1..min_n-1 is impossible; for a secondary one (known to
    lie between min_n and its smallest shown sibling, the third field), only one value is
    possible. Enumerates every assignment (the attack, not the formula)."""
    ranges = [range(min_n, cap + 1) if sec else range(1, min_n) for _, sec, cap in hidden]
    possible: list[set[int]] = [set() for _ in hidden]
    for combo in itertools.product(*ranges):
        if sum(combo) == total:
            for k, v in enumerate(combo):
                possible[k].add(v)
    for (_, sec, _), seen in zip(hidden, possible):
        if (not sec and seen != set(range(1, min_n))) or (sec and len(seen) < 2):
            return True
    return False


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(wijken=[[1, 3, 5, 5], [2]])  # a secondary pinned by its smallest sibling
@given(st.lists(st.lists(st.integers(1, 14), min_size=1, max_size=4), min_size=1, max_size=3))
def test_attacker_learns_no_hidden_buurt(wijken: list[list[int]]) -> None:
    min_n = 5
    sizes = {f"BU0363{w:02d}{b:02d}": n for w, ns in enumerate(wijken) for b, n in enumerate(ns)}
    r = rollup(_scores(sizes), community="buurt", to="gemeente", min_n=min_n)
    true_n = {**sizes}
    for lev in ("wijk", "gemeente"):
        for code in r.loc[r["level"] == lev, "community"]:
            true_n[code] = sum(
                n
                for b, n in sizes.items()
                if b.startswith(code[:2].replace("WK", "BU").replace("GM", "BU") + code[2:])
            )
    shown = dict(zip(r["community"], ~r["suppressed"]))
    reason = dict(zip(r["community"], r["reason"]))
    for parent in r.loc[~r["suppressed"] & (r["level"] != "buurt"), "community"]:
        # what the attacker subtracts: the parent minus its shown descendants (nearest ones)
        stem = parent[2:]
        kids_w = [
            c
            for c in r.loc[r["level"] == "wijk", "community"]
            if c[2:].startswith(stem) and c != parent
        ]
        if parent.startswith("WK"):
            kids_w = [parent]
        residual_buurten = []
        for w in kids_w:
            if w != parent and shown[w]:
                continue
            residual_buurten += [b for b in sizes if b[2:8] == w[2:] and not shown[b]]
        total = (
            true_n[parent]
            - sum(true_n[w] for w in kids_w if w != parent and shown[w])
            - sum(
                true_n[b]
                for w in kids_w
                if (w == parent or not shown[w])
                for b in sizes
                if b[2:8] == w[2:] and shown[b]
            )
        )
        assert total == sum(true_n[b] for b in residual_buurten)
        if not residual_buurten:
            continue
        assert len(residual_buurten) >= 2 or true_n[residual_buurten[0]] >= min_n

        def sibling_cap(b: str) -> int:
            shown_sibs = [true_n[x] for x in sizes if x[2:8] == b[2:8] and shown[x]]
            return min(shown_sibs + [total])  # none shown: bounded by the residual only

        hidden = [
            (true_n[b], reason[b] == SECONDARY_REASON, sibling_cap(b)) for b in residual_buurten
        ]
        if any(not sec for _, sec, _ in hidden) and len(hidden) <= 5:
            assert not _brute_force_pinned(hidden, total, min_n)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=12), st.integers(1, 12))
def test_rollup_of_a_rollup_equals_a_direct_rollup(ns: list[int], min_n: int) -> None:
    sizes = {f"BU{363 + k % 2:04d}{k % 3:02d}{k:02d}": n for k, n in enumerate(ns)}
    s = _scores(sizes, seed=len(ns))
    direct = rollup(s, community="buurt", to="gemeente", min_n=1)
    wijk_coded = s.assign(buurt="WK" + s["buurt"].str[2:8])  # scores re-coded to their wijk
    twice = rollup(wijk_coded, community="buurt", to="gemeente", min_n=1)
    cols = ["community", "n", "mean", "sd", "se", "ci_low", "ci_high"]
    for lev in ("wijk", "gemeente"):
        a = direct.loc[direct["level"] == lev, cols].reset_index(drop=True)
        b = twice.loc[twice["level"] == lev, cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    # with suppression: every figure shown in both is the same figure
    d = rollup(s, community="buurt", to="gemeente", min_n=min_n)
    t = rollup(wijk_coded, community="buurt", to="gemeente", min_n=min_n)
    m = d.merge(t, on=["level", "community", "scale"], suffixes=("_d", "_t"))
    both = ~m["suppressed_d"] & ~m["suppressed_t"]
    np.testing.assert_allclose(m.loc[both, "mean_d"], m.loc[both, "mean_t"], rtol=1e-12)
    for tab in (d, t):
        assert (
            tab.loc[~tab["suppressed"], "n"].min() >= min_n if (~tab["suppressed"]).any() else True
        )


def test_rollup_rejects_mixed_levels_and_finer_target() -> None:
    s = pd.DataFrame({"c": ["BU03630001", "WK036300"], "ce": [3.0, 4.0]})
    with pytest.raises(DataError, match="several levels"):
        rollup(s, community="c")
    with pytest.raises(DataError, match="finer"):
        rollup(pd.DataFrame({"c": ["GM0363"], "ce": [3.0]}), community="c", to="wijk")


def test_waves_are_suppressed_each_on_their_own() -> None:
    """Worked by hand (min_n 10). Baseline: WK036300 = {12, 4, 30}: 4 is small, so 12 (the
    smallest shown sibling) goes too; wijk minus the shown 30 leaves 16 = 12 + 4, and knowing
    the secondary one holds >= 10 caps the small one at 6: the wijk is suppressed. WK036301 =
    {6, 7}: 13 would put each between 4 and 9: suppressed. GM0363 minus the shown 30 leaves 29
    over 12 (secondary), 4, 6, 7: every small one can still be 1..9: shown. End of cycle (twice
    the sizes): WK036300 = {24, 8, 60} leaves 32 = 24 + 8, 8 open over 1..9: shown."""
    sizes = {"BU03630001": 12, "BU03630002": 4, "BU03630003": 30, "BU03630101": 6, "BU03630102": 7}
    parts = []
    for wave, mult in (("baseline", 1), ("end_of_cycle", 2)):
        part = _scores({b: n * mult for b, n in sizes.items()}, seed=mult)
        parts.append(part.assign(wave=wave))
    s = pd.concat(parts, ignore_index=True)
    r = rollup(s, community="buurt", wave="wave", to="gemeente", min_n=10)
    shown = {(c, w): not x for c, w, x in zip(r["community"], r["wave"], r["suppressed"])}
    assert [shown[(c, "baseline")] for c in ("WK036300", "WK036301", "GM0363")] == [
        False,
        False,
        True,
    ]
    assert [shown[(c, "end_of_cycle")] for c in ("WK036300", "WK036301", "GM0363")] == [
        True,
        True,
        True,
    ]
    gm = r[r["level"] == "gemeente"].set_index("wave")
    assert gm.loc["baseline", "n"] == 59 and gm.loc["end_of_cycle", "n"] == 118
    ref = s.groupby("wave")["ce"].mean()
    np.testing.assert_allclose(
        gm["mean"].to_numpy(dtype=float), ref.loc[gm.index].to_numpy(), rtol=1e-12
    )

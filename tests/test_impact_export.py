"""Impact levels on a map: GeoJSON export, the matplotlib choropleth, the bundled example data
and the assessment instrument."""

from __future__ import annotations

import copy
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.datasets import load_example_assessments, load_example_geometry
from collective_efficacy.datasets.data import make_example_geometry as gen
from collective_efficacy.errors import DataError
from collective_efficacy.export.geojson import to_geojson
from collective_efficacy.impact import RELEASE_LEVEL, impact_levels
from collective_efficacy.report.styling import IMPACT_PALETTE, NO_LEVEL_COLOUR

DATA = Path(gen.__file__).parent


def _square(x: float, y: float = 0.0) -> dict[str, Any]:
    ring = [[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _fc(names: list[Any], prop: str = "community") -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {prop: n, "extra": i}, "geometry": _square(i)}
            for i, n in enumerate(names)
        ],
    }


@pytest.fixture(scope="module")
def end_levels() -> pd.DataFrame:
    raw = ce.datasets.load_example()
    v = ce.validate(
        raw,
        "sampson1997",
        respondent="respondent_id",
        community="buurt",
        wave="meting",
        columns=ce.datasets.EXAMPLE_COLUMNS,
        errors="exclude",
    )
    coh = ce.aggregate(
        ce.score(v, scales=["collective_efficacy"]), community="buurt", wave="meting", min_n=5
    )
    lv = impact_levels(
        coh, assessments=load_example_assessments(), community="buurt", wave="meting"
    )
    return lv


# -- palette ----------------------------------------------------------------------------------
def _luminance(hex_colour: str) -> float:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def _simulate(hex_colour: str, kind: str) -> np.ndarray:
    """Linear RGB as seen with a full colour-vision deficiency (Machado et al. 2009, severity 1)."""
    m = {
        "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                   [-0.011820, 0.042940, 0.968881]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
    }[kind]  # fmt: skip
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return np.clip(np.asarray(m) @ lin, 0, 1)


def test_palette_is_fixed_ordered_in_lightness_with_a_break_at_the_release_level() -> None:
    assert IMPACT_PALETTE == {
        0: "#152450",
        1: "#2A4C8C",
        2: "#4377BA",
        3: "#E68A35",
        4: "#F5BC68",
        5: "#FEEEB8",
    }
    # strictly increasing relative luminance (WCAG 2 formula): the order of the levels survives
    # greyscale printing, also as seen with each colour-vision deficiency
    lum = [_luminance(IMPACT_PALETTE[k]) for k in range(6)]
    assert all(b > a for a, b in itertools.pairwise(lum))
    for kind in ("protan", "deutan", "tritan"):
        seen = [
            float(_simulate(IMPACT_PALETTE[k], kind) @ [0.2126, 0.7152, 0.0722]) for k in range(6)
        ]
        assert all(b > a for a, b in itertools.pairwise(seen)), kind
        # the release threshold is the largest step in colour (chromaticity), for every viewer
        rgb = [_simulate(IMPACT_PALETTE[k], kind) for k in range(6)]
        chroma = [c / c.sum() for c in rgb]
        steps = [float(np.abs(b - a).sum()) for a, b in itertools.pairwise(chroma)]
        assert int(np.argmax(steps)) == RELEASE_LEVEL - 1, (kind, steps)


# -- GeoJSON ----------------------------------------------------------------------------------
def test_to_geojson_join_colours_unmatched_and_suppressed(tmp_path: Path) -> None:
    levels = pd.DataFrame(
        {
            "community": ["A", "B", "C", "D"],
            "level": pd.array([3, 0, None, 2], dtype="Int64"),
            "basis": ["full", "full", "none", "survey_only"],
            "suppressed": [False, False, True, False],
            "reason": ["", "", "fewer than 5 respondents", "no assessment"],
            "cohesion_score": [3.4, 2.0, np.nan, 2.9],
        }
    )
    geometry = _fc(["A", "B", "C", "Z"])
    geometry_copy = copy.deepcopy(geometry)
    levels_copy = levels.copy()
    out = tmp_path / "map.geojson"
    res = to_geojson(levels, geometry, path=out)
    assert geometry == geometry_copy  # the caller's dict is not modified
    pd.testing.assert_frame_equal(levels, levels_copy)
    assert res.unmatched_communities == ["D"]
    assert res.unmatched_features == ["Z"]
    props = [f["properties"] for f in res.feature_collection["features"]]
    assert [p["level"] for p in props] == [3, 0, None, None]
    assert [p["colour"] for p in props] == ["#E68A35", "#152450", NO_LEVEL_COLOUR, NO_LEVEL_COLOUR]
    assert props[2]["label"] == "fewer than 5 respondents"
    assert props[2]["suppressed"] is True and props[2]["cohesion_score"] is None
    assert props[0]["label"].startswith("3 - self-starting")
    assert [p["matched"] for p in props] == [True, True, True, False]
    assert props[0]["extra"] == 0  # the user's own properties are kept
    # the file is strict JSON (no NaN) and the same collection
    text = out.read_text(encoding="utf-8")
    assert json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}")) == (
        res.feature_collection
    )
    assert res.path == str(out)
    assert json.loads(res.model_dump_json())["unmatched_features"] == ["Z"]


def test_to_geojson_from_path_points_geometry_key_and_text_matching(tmp_path: Path) -> None:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": 12},
                "geometry": {"type": "Point", "coordinates": [4.9, 52.4]},
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [4.8, 52.3]},
            },
        ],
    }
    src = tmp_path / "in.geojson"
    src.write_text(json.dumps(fc), encoding="utf-8")
    levels = pd.DataFrame({"buurt": ["12"], "level": [4], "basis": ["survey_only"]})
    res = to_geojson(levels, src, community="buurt", geometry_key="code", lang="nl")
    p0 = res.feature_collection["features"][0]["properties"]
    assert p0["level"] == 4 and p0["colour"] == "#F5BC68"
    assert p0["label"].endswith("(alleen enquête)")
    assert res.unmatched_features == ["feature #1"]
    assert res.unmatched_communities == []


def test_to_geojson_errors(tmp_path: Path) -> None:
    levels = pd.DataFrame({"community": ["A", "A"], "level": [1, 2]})
    with pytest.raises(DataError, match="one wave"):
        to_geojson(levels, _fc(["A"]))
    ok = pd.DataFrame({"community": ["A"], "level": [1]})
    with pytest.raises(DataError, match="features #0 and #1 both have community='A'"):
        to_geojson(ok, _fc(["A", "A"]))
    with pytest.raises(DataError, match="FeatureCollection"):
        to_geojson(ok, {"type": "Feature"})
    with pytest.raises(DataError, match="does not exist"):
        to_geojson(ok, tmp_path / "nope.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="not valid JSON"):
        to_geojson(ok, bad)


def test_example_geojson_matches_all_example_communities(end_levels: pd.DataFrame) -> None:
    end = end_levels[end_levels["meting"] == "eindmeting"]
    res = to_geojson(end, load_example_geometry(), community="buurt")
    assert res.unmatched_communities == [] and res.unmatched_features == []
    by_name = {
        f["properties"]["buurt"]: f["properties"] for f in res.feature_collection["features"]
    }
    row = end.set_index("buurt").loc["Buurt B2"]
    assert by_name["Buurt B2"]["level"] == row["level"]
    assert by_name["Buurt B2"]["colour"] == IMPACT_PALETTE[int(row["level"])]
    base = end_levels[end_levels["meting"] == "nulmeting"]
    l1 = to_geojson(base, load_example_geometry(), community="buurt").feature_collection["features"]
    l1p = next(f["properties"] for f in l1 if f["properties"]["buurt"] == "Buurt L1")
    assert l1p["level"] is None and l1p["label"] == "fewer than 5 respondents"


# -- bundled example data ---------------------------------------------------------------------
def test_example_files_are_reproducible() -> None:
    assert (DATA / "example_buurten.geojson").read_text(encoding="utf-8") == gen.geometry_text()
    assert (DATA / "example_assessments.csv").read_text(encoding="utf-8") == gen.assessments_text()


def test_example_geometry_and_assessments_content() -> None:
    fc = load_example_geometry()
    names = [f["properties"]["buurt"] for f in fc["features"]]
    survey = ce.datasets.load_example()
    assert sorted(names) == sorted(survey["buurt"].dropna().unique())
    assert len(names) == 40
    for f in fc["features"]:
        ring = f["geometry"]["coordinates"][0]
        assert f["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 5
        lon, lat = np.array(ring).T
        assert (lon > 0).all() and (lon < 0.2).all() and (lat > 0).all() and (lat < 0.2).all()
    ass = load_example_assessments()
    assessed = set(ass["buurt"])
    assert set(names) - assessed == {"Buurt C2", "Buurt M2", "Buurt Q1", "Buurt W1"}
    assert ass.loc[ass["buurt"] == "Buurt N2", "meting"].tolist() == ["eindmeting"]
    v = ce.validate(
        ass,
        "strongpact_assessment",
        community="buurt",
        wave="meting",
        waves=["nulmeting", "eindmeting"],
    )
    assert v.report.n_rows_usable == len(ass) == 71


def test_assessment_instrument_structure() -> None:
    inst = ce.load_instrument("strongpact_assessment")
    assert inst.item_ids == ["partner_cooperation", "group_development"]
    for item in inst.item_ids:
        rs = inst.response_scale(item)
        assert rs.codes == [0, 1, 2, 3, 4, 5]
        assert set(rs.labels) == {"en", "nl"}
        assert list(rs.missing) == [9]
        # the library's own anchors (levels 2 and 4) say so, in both languages
        for lang in ("en", "nl"):
            mark = "(library's own anchor)" if lang == "en" else "(eigen anker van de bibliotheek)"
            own = [lab for lab in rs.labels[lang] if lab.endswith(mark)]
            assert [lab[0] for lab in own] == ["2", "4"]
    assert "strongpact_assessment" in set(ce.list_instruments()["id"])


# -- the map ----------------------------------------------------------------------------------
def test_impact_map_figure(end_levels: pd.DataFrame, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PatchCollection
    from matplotlib.colors import to_hex

    from collective_efficacy.report.plot import impact_map

    end = end_levels[end_levels["meting"] == "eindmeting"]
    png = tmp_path / "map.png"
    fig = impact_map(end, load_example_geometry(), community="buurt", path=png)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "Impact level (0-5) by community - eindmeting"
    colls = [c for c in ax.collections if isinstance(c, PatchCollection)]
    plain, hatched = colls
    assert hatched.get_hatch() == "///"
    survey_only = int((end["basis"] == "survey_only").sum())
    assert len(hatched.get_paths()) == survey_only == 4
    assert len(plain.get_paths()) == 40 - survey_only
    # every face colour is a palette colour (or grey) and matches the level of its community
    full = end[end["basis"] != "survey_only"]
    expected = [IMPACT_PALETTE[int(v)] for v in full["level"]]
    got = [to_hex(c).upper() for c in plain.get_facecolors()]
    order = {n: i for i, n in enumerate(full["buurt"])}
    names = [f["properties"]["buurt"] for f in load_example_geometry()["features"]]
    names_plain = [n for n in names if n in order]
    assert got == [expected[order[n]].upper() for n in names_plain]
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[:6] == [
        f"{k} - " + t.split(" - ", 1)[1] for k, t in zip(range(5, -1, -1), texts[:6])
    ]
    assert [t[0] for t in texts[:6]] == ["5", "4", "3", "2", "1", "0"]
    assert "no level" in texts[6] and "survey only" in texts[7]
    svg = tmp_path / "map.svg"
    fig_nl = impact_map(
        end, load_example_geometry(), community="buurt", path=svg, lang="nl", title="T"
    )
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert fig_nl.axes[0].get_title(loc="left") == "T"
    assert fig_nl.legends[0].get_texts()[0].get_text().startswith("5 - verankerd")


def test_impact_map_legend_below_for_narrow_screens(end_levels: pd.DataFrame) -> None:
    """legend="below": a narrow figure whose map fills the width and whose legend sits under
    it, with bigger names; an unknown placement is refused."""
    pytest.importorskip("matplotlib")
    from collective_efficacy.report.plot import LABEL_PT, LABEL_PT_NARROW, impact_map

    end = end_levels[end_levels["meting"] == "eindmeting"]
    fig = impact_map(end, load_example_geometry(), community="buurt", legend="below", title="")
    fig.canvas.draw()
    assert fig.get_figwidth() == 5.0 and fig.get_figheight() < 7.5
    ax, leg = fig.axes[0], fig.legends[0]
    box_ax = ax.get_window_extent()
    box_leg = leg.get_window_extent()
    assert box_leg.y1 <= box_ax.y0 + 1  # the legend is under the map
    assert box_ax.width >= 0.9 * fig.bbox.width  # the map is as wide as the figure
    names = [t for t in ax.texts if t.get_text().startswith("Buurt")]
    assert names and {t.get_fontsize() for t in names} == {LABEL_PT_NARROW}
    assert LABEL_PT_NARROW > LABEL_PT
    with pytest.raises(DataError, match="legend must be"):
        impact_map(end, load_example_geometry(), community="buurt", legend="left")  # type: ignore[arg-type]


def test_impact_map_points_and_bad_geometry() -> None:
    pytest.importorskip("matplotlib")
    from collective_efficacy.report.plot import impact_map

    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"community": "A"},
                "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
            },
            {
                "type": "Feature",
                "properties": {"community": "B"},
                "geometry": {"type": "MultiPoint", "coordinates": [[2.0, 3.0], [2.5, 3.5]]},
            },
        ],
    }
    fig = impact_map(pd.DataFrame({"community": ["A", "B"], "level": [0, 5]}), fc)
    offsets = fig.axes[0].collections[0].get_offsets()
    assert np.asarray(offsets).shape == (3, 2)
    fc["features"][0]["geometry"] = {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}
    with pytest.raises(DataError, match="LineString"):
        impact_map(pd.DataFrame({"community": ["A"], "level": [1]}), fc)

"""The report's inline SVG map (issue 19), without a browser: what the markup holds and what it
must never hold (user strings), the JSON escaping, the projection and the simplification.
The browser checks (tooltip on focus, no network, hostile names) are in test_report_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.report._svgmap import (
    TOLERANCE,
    WIDTH,
    _Frame,
    _simplify,
    json_for_script,
    map_svg,
)
from collective_efficacy.report.styling import IMPACT_PALETTE, NO_LEVEL_COLOUR


@given(st.text())
def test_json_for_script_is_inert_and_round_trips(text: str) -> None:
    out = json_for_script({"name": text})
    assert json.loads(out) == {"name": text}
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in out


@pytest.fixture(scope="module")
def example(example_outputs: Callable[[str], Path]) -> ce.Evaluation:
    d = example_outputs("en")
    return ce.Evaluation.model_validate_json((d / "results.json").read_text(encoding="utf-8"))


def test_one_path_per_surveyed_community_coloured_by_level(example: ce.Evaluation) -> None:
    frag = map_svg(example, "baseline", "en", 1)
    assert frag is not None
    rows = [r for r in example.sections["impact"] if r["wave"] == "baseline"]
    fills = re.findall(
        r'<path class="c" tabindex="0" role="img" data-k="(\d+)" fill="([^"]+)"', frag
    )
    assert [int(k) for k, _ in fills] == list(range(len(rows)))  # the tables' order
    data = json.loads(re.search(r'class="imap-data">(.*?)</script>', frag).group(1))
    assert [d["name"] for d in data] == [r["buurt"] for r in rows]
    for (_, fill), r, d in zip(fills, rows, data):
        if r["suppressed"]:
            assert fill == NO_LEVEL_COLOUR
            assert len(d["lines"]) == 1 and str(r["level"]) not in d["lines"][0]
        elif r["basis"] == "survey_only":
            assert fill == f"url(#imap1-h{r['level']})"
        else:
            assert fill == IMPACT_PALETTE[r["level"]]
            assert f"{r['n']} respondents" in d["lines"]
    # no community name anywhere outside the JSON block
    markup = frag.split('class="imap-data">')[0]
    assert not any(r["buurt"] in markup for r in rows)


def test_hostile_names_stay_inside_the_json(example: ce.Evaluation) -> None:
    data = example.model_dump(mode="json")
    evil = "</script><img src=x onerror=alert(1)><!--\u2028"
    for r in data["sections"]["impact"]:
        if r["buurt"] == "Buurt A1":
            r["buurt"] = evil
    for f in data["geometry"]["features"]:
        if f["properties"]["buurt"] == "Buurt A1":
            f["properties"]["buurt"] = evil
    page = ce.Evaluation.model_validate(data).to_html()
    assert page.count("</script>") == page.count("<script")  # no block ended early
    assert "<img src=x" not in page and "<!--" not in page  # escaped in the tables too
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert len(scripts) == 3  # two maps' data and the one script
    assert not any(c in s for s in scripts for c in ("<", "\u2028"))


def test_projection_scales_longitude_by_cos_latitude() -> None:
    # a square of 1 x 1 km at 52 degrees north: 1 km is 1/111.32 degrees of latitude
    dlat = 1 / 111.32
    dlon = dlat / np.cos(np.radians(52 + dlat / 2))
    xy = np.array([[5.0, 52.0], [5.0 + dlon, 52.0], [5.0 + dlon, 52.0 + dlat], [5.0, 52.0 + dlat]])
    frame = _Frame(xy)
    p = frame(xy)
    width, height = np.ptp(p[:, 0]), np.ptp(p[:, 1])
    assert width == pytest.approx(WIDTH * 0.96)
    assert height / width == pytest.approx(1.0, abs=1e-6)  # a square stays square


def test_simplification_stays_within_the_tolerance() -> None:
    shapely = pytest.importorskip("shapely")
    t = np.linspace(0, 2 * np.pi, 2000)
    r = 100 + 0.1 * np.sin(40 * t) + 10 * np.sin(3 * t)  # fine wiggles below the tolerance
    ring = np.column_stack([500 + r * np.cos(t), 300 + r * np.sin(t)])
    ring[-1] = ring[0]
    out = _simplify([ring])
    assert len(out[0]) < len(ring) / 4
    a, b = shapely.Polygon(ring), shapely.Polygon(out[0])
    assert shapely.hausdorff_distance(a.exterior, b.exterior) <= TOLERANCE + 1e-9
    assert b.is_valid


def test_no_map_without_geometry(example: ce.Evaluation, tmp_path: Path) -> None:
    plain = example.model_copy(update={"geometry": None})
    assert map_svg(plain, "baseline", "en", 1) is None
    assert 'figure class="imap"' not in plain.to_html()

"""The forest plot as inline SVG (issue 16): well-formed, one mark per drawn community with its
verdict's shape and colour, the drawn bar is the table's interval, nice axis ticks, escaped
names, and no plotting library on the report's path.

:func:`read_forest` reads a plot back from its markup only (tick positions, bar endpoints,
marker geometry) and checks that the positions agree with the values the plot states; the
verdict tests (``test_verdict.py``, ``test_dutch.py``) use it too.
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.report._figures import FOREST_MAX, MARKERS, nice_ticks
from collective_efficacy.report._sections import community_verdicts
from conftest import FAST_EXIT

NS = "{http://www.w3.org/2000/svg}"
SHAPE = {"up": "^", "down": "v", "circle": "o"}
# positions are written with 3 decimals (viewBox units), ticks too: the axis read back from
# two rounded ticks and a rounded mark differ by a few units in the last place
POS_TOL = 2e-3


def forest_svgs(html: str) -> dict[str, str]:
    """The forest plots of a report: {"fp-w": wide svg markup, "fp-n": narrow svg markup}."""
    return {cls: svg for svg, cls in re.findall(r'(<svg class="(fp-[wn])".*?</svg>)', html, re.S)}


def _marker(el: ET.Element) -> tuple[str, float, str]:
    """(shape code, centre x, stroke colour) of a marker from its geometry."""
    if el.tag == NS + "circle":
        return "o", float(el.get("cx", "nan")), el.get("stroke", "")
    nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", el.get("d", ""))]
    pts = list(zip(nums[::2], nums[1::2], strict=True))
    assert len(pts) == 3, el.get("d")
    apex = next(p for p in pts if sum(q[1] == p[1] for q in pts) == 1)
    base = [p for p in pts if p is not apex]
    shape = "^" if apex[1] < base[0][1] else "v"  # SVG's y grows downwards
    assert abs(apex[0] - (base[0][0] + base[1][0]) / 2) < POS_TOL, "not an isosceles triangle"
    return shape, apex[0], el.get("stroke", "")


def read_forest(svg: str) -> dict[str, dict[str, Any]]:
    """name -> {low, high, estimate, marker, verdict, colour} read back from the markup.

    The x axis is recovered from the tick marks (positions and their stated values, which must
    lie on one straight line); every bar end and marker centre must sit where its stated value
    maps to, so the returned values are the ones drawn.
    """
    root = ET.fromstring(svg)
    ticks = [
        (float(t.get("x", "nan")), float(t.get("data-value", "nan")))
        for t in root.iter(NS + "text")
        if t.get("class") == "tick"
    ]
    assert len(ticks) >= 2, "an axis needs two ticks"
    (x0, v0), (x1, v1) = ticks[0], ticks[-1]
    scale = (x1 - x0) / (v1 - v0)

    def at(v: float) -> float:
        return x0 + (v - v0) * scale

    for x, v in ticks:
        assert abs(at(v) - x) < 2 * POS_TOL, "ticks not on one linear axis"
    out: dict[str, dict[str, Any]] = {}
    for g in root.iter(NS + "g"):
        cls = (g.get("class") or "").split()
        if cls[:1] != ["row"]:
            continue
        name = g.find(NS + "text")
        assert name is not None and name.get("class") == "nm"
        shape, cx, colour = _marker(next(e for e in g if e.get("class") == "mk"))
        est = float(g.get("data-estimate", "nan"))
        assert abs(at(est) - cx) < POS_TOL, (name.text, est, cx)
        row = {"estimate": est, "marker": shape, "verdict": cls[1], "colour": colour}
        bar = g.find(NS + "line")
        if bar is not None:
            low, high = float(g.get("data-low", "nan")), float(g.get("data-high", "nan"))
            assert abs(at(low) - float(bar.get("x1", "nan"))) < POS_TOL, (name.text, low)
            assert abs(at(high) - float(bar.get("x2", "nan"))) < POS_TOL, (name.text, high)
            assert bar.get("stroke") == colour
            row |= {"low": low, "high": high}
        out[name.text or ""] = row
    return out


def test_forest_is_well_formed_svg_with_one_mark_per_community(
    example_evaluation: ce.Evaluation,
) -> None:
    ev = example_evaluation
    html = ev.to_html()
    svgs = forest_svgs(html)
    assert set(svgs) == {"fp-w", "fp-n"}
    per = {str(r["buurt"]): r for r in community_verdicts(ev) if r["verdict"] is not None}
    assert len(per) == 32
    for cls, svg in svgs.items():
        root = ET.fromstring(svg)  # well-formed XML
        assert root.get("role") == "img" and root.get("viewBox", "").startswith("0 0 ")
        title, desc = root.find(NS + "title"), root.find(NS + "desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert set(root.get("aria-labelledby", "").split()) == {title.get("id"), desc.get("id")}
        drawn = read_forest(svg)
        assert set(drawn) == set(per), cls
        for name, r in drawn.items():
            want = per[name]
            assert r["verdict"] == want["verdict"], name
            shape, colour, _ = MARKERS[want["verdict"]]
            assert (r["marker"], r["colour"]) == (SHAPE[shape], colour), name
            # the drawn interval is the table's interval, value for value
            assert (r["low"], r["high"]) == (want["shown_low"], want["shown_high"]), name
            assert r["estimate"] == want["estimate"], name
        # sorted by change, largest first
        ests = [r["estimate"] for r in drawn.values()]
        assert ests == sorted(ests, reverse=True)
        texts = [t.text or "" for t in root.iter(NS + "text")]
        assert "improved (12)" in texts and "no clear change (20)" in texts
        assert any("(32 communities" in t for t in texts)


def test_forest_axis_has_nice_ticks_and_a_zero_line(example_evaluation: ce.Evaluation) -> None:
    svg = forest_svgs(example_evaluation.to_html(lang="nl"))["fp-w"]
    root = ET.fromstring(svg)
    ticks = [t for t in root.iter(NS + "text") if t.get("class") == "tick"]
    values = [float(t.get("data-value", "nan")) for t in ticks]
    steps = {round(b - a, 12) for a, b in itertools.pairwise(values)}
    assert len(steps) == 1 and 0.0 in values
    (step,) = steps
    assert round(step / 10 ** math.floor(math.log10(step)), 9) in {1, 2, 2.5, 5}
    # Dutch decimal comma and a real minus sign
    labels = [t.text for t in ticks]
    assert all("." not in (s or "") for s in labels) and any("," in (s or "") for s in labels)
    assert any((s or "").startswith("−") for s in labels) == (min(values) < 0)
    zero = next(e for e in root.iter(NS + "line") if e.get("class") == "zero")
    tick0 = next(t for t in ticks if float(t.get("data-value", "nan")) == 0.0)
    assert zero.get("x1") == tick0.get("x")


@settings(max_examples=200, deadline=None)
@given(
    st.floats(-1e4, 1e4, allow_nan=False),
    st.floats(1e-6, 1e4, allow_nan=False),
    st.integers(3, 8),
)
def test_nice_ticks_cover_the_range_evenly(lo: float, span: float, target: int) -> None:
    hi = lo + span
    ticks, decimals = nice_ticks(lo, hi, target)
    tol = 1e-9 * max(abs(lo), abs(hi), span)
    assert 2 <= len(ticks) <= 2 * target + 1, ticks
    assert lo - tol <= ticks[0] and ticks[-1] <= hi + tol
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    # equal up to rounding of the values themselves (a tiny step far from 0 loses digits)
    assert max(gaps) - min(gaps) <= 1e-9 * gaps[0] + 1e-12 * max(abs(lo), abs(hi))
    # the labels with `decimals` decimals are distinct and exact
    assert len({f"{v:.{decimals}f}" for v in ticks}) == len(ticks)


HOSTILE = [
    "</svg><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "a & b &amp; c",
    "nul\x00bell\x07 tab\tnew\nline",
    "lone \ud800 surrogate",
    "x" * 90,
    "${x} $\\frac{1}{0}$",
]


def test_forest_escapes_hostile_names(example_evaluation: ce.Evaluation) -> None:
    ev = example_evaluation
    rows = [r for r in ev.sections["change_model"] if r.get("buurt") is not None]
    drawn = [str(r["buurt"]) for r in community_verdicts(ev) if r["verdict"] is not None]
    rename = dict(zip(drawn, HOSTILE, strict=False))
    rows = [dict(r, buurt=rename.get(str(r["buurt"]), r["buurt"])) for r in rows]
    hostile = ev.model_copy(update={"sections": {**ev.sections, "change_model": rows}})
    html = hostile.to_html()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    for cls, svg in forest_svgs(html).items():
        names = set(read_forest(svg))  # parses: well-formed despite NUL, BEL and a surrogate
        limit = 40 if cls == "fp-w" else 22
        assert "</svg><script>alert(1)</script>"[: limit - 1] + "…" in names or (
            "</svg><script>alert(1)</script>" in names
        )
        assert "a & b &amp; c" in names  # escaped once, read back as written
        assert "nul bell tab new line" in names  # control characters as spaces
        assert "lone \ufffd surrogate" in names
        assert "x" * (limit - 1) + "…" in names  # long names cut
        assert "${x} $\\frac{1}{0}$" in names  # no mathtext
        assert "\x00" not in svg and "\ud800" not in svg


def test_report_path_imports_no_plotting_library() -> None:
    """The HTML report (forest plot, maps) is written without matplotlib."""
    code = (
        "import sys\n"
        "from collective_efficacy.cli import main\n"
        "import tempfile\n"
        "d = tempfile.mkdtemp()\n"
        "assert main(['evaluate', '--example', '--out', d, '--quiet']) == 0\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'PIL'}))"
        f"{FAST_EXIT}"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("n", [3, FOREST_MAX + 30])
def test_forest_draws_at_most_forest_max(example_evaluation: ce.Evaluation, n: int) -> None:
    ev = example_evaluation
    rows = [r for r in ev.sections["change_model"] if r.get("level", "community") == "community"]
    many = [dict(r, buurt=f"{r['buurt']}-{k}") for k in range(3) for r in rows][:n]
    ev_n = ev.model_copy(update={"sections": {**ev.sections, "change_model": many}})
    judged = [r for r in community_verdicts(ev_n) if r["verdict"] is not None]
    assert len(judged) > (FOREST_MAX if n > FOREST_MAX else 0)
    for svg in forest_svgs(ev_n.to_html()).values():
        drawn = read_forest(svg)
        assert len(drawn) == min(len(judged), FOREST_MAX)
        if len(judged) > FOREST_MAX:  # the clearest changes: the smallest rank
            ranks = sorted(r["rank"] for r in judged)
            cut = ranks[FOREST_MAX - 1]
            assert all(r["rank"] <= cut for r in judged if str(r["buurt"]) in drawn)

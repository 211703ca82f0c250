"""The evaluation's reliability, agreement, ecometric, change and impact sections equal the library.

Each section of :func:`ce.evaluate` must be exactly the public function run on that wave's
respondents in the communities shown in that wave (pooled figures leave suppressed communities
out, issue 13; tolerance 1e-12 relative: the same code on the same numbers), with small
communities suppressed wherever a per-community number appears.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.cli import _example_assessments, main
from collective_efficacy.datasets import load_example_geometry

COLS = ce.datasets.EXAMPLE_COLUMNS
INST = ce.load_instrument("sampson1997")
ITEMS = INST.scale("collective_efficacy").items
KEYS = INST.keys("collective_efficacy")
MIN_N = 10


@pytest.fixture(scope="module")
def example(example_evaluation):
    """The example evaluated with its assessments, map and min_n=10 (conftest's session run:
    this exact call, which also checks that the caller's frames are left untouched), and the
    scored respondents of each wave."""
    ev = example_evaluation
    assert ev.min_n == MIN_N
    before, after = ce.datasets.load_example(split=True)
    waves = {}
    for label, raw in (("baseline", before), ("end_of_cycle", after)):
        v = ce.validate(
            raw, INST, community="buurt", respondent="respondent_id", columns=COLS, errors="exclude"
        )
        s = ce.score(v, scales=["collective_efficacy"])
        waves[label] = pd.concat([s, v.data[ITEMS]], axis=1)
    return ev, waves


def _wave(rows, label):
    return [r for r in rows if r["wave"] == label]


def _shown(ev, waves, label):
    """The wave's respondents in the communities shown in that wave."""
    sc = ev.tables["community_scores"]
    sc = sc[(sc["wave"] == label) & ~sc["suppressed"].astype(bool)]
    part = waves[label]
    return part[part["buurt"].isin(set(sc["buurt"]))]


@pytest.mark.parametrize("label", ["baseline", "end_of_cycle"])
def test_item_statistics_and_omega_equal_library(example, label) -> None:
    ev, waves = example
    expect = ce.item_statistics(_shown(ev, waves, label), items=ITEMS, keys=KEYS)
    got = pd.DataFrame(_wave(ev.sections["item_statistics"], label))
    assert got["item"].tolist() == ITEMS
    for col in ("mean", "sd", "r_drop", "alpha_if_dropped"):
        np.testing.assert_allclose(got[col].astype(float), expect[col], rtol=1e-12)
    om = ce.omega(_shown(ev, waves, label), items=ITEMS, keys=KEYS)
    (rec,) = _wave(ev.sections["omega"], label)
    assert rec["omega"] == pytest.approx(om.omega, rel=1e-12)
    assert rec["omega_total"] == pytest.approx(om.omega_total, rel=1e-12)


@pytest.mark.parametrize("label", ["baseline", "end_of_cycle"])
def test_agreement_equals_rwg_j_on_recoded_items(example, label) -> None:
    ev, waves = example
    part = waves[label].copy()
    for item in ("SC3", "SC4"):  # the reverse-keyed items, recoded 1..5 -> 5..1
        part[item] = 6 - part[item]
    r = ce.rwg_j(part, items=ITEMS, community="buurt", n_options=5)
    ad = ce.ad_index(part, items=ITEMS, community="buurt", n_options=5)
    # shown = not suppressed in the community table (min_n and secondary suppression)
    sc = ev.tables["community_scores"]
    sc = sc[sc["wave"] == label].set_index("buurt")
    visible = ~sc["suppressed"].astype(bool)
    shown = r[r["buurt"].map(visible)]
    (rec,) = _wave(ev.sections["agreement"], label)
    assert rec["n_shown"] == len(shown)
    assert rec["n_suppressed"] == len(r) - len(shown)
    assert rec["median_rwg_j"] == pytest.approx(np.median(shown["rwg_j"].dropna()), rel=1e-12)
    assert rec["share_rwg_j_strong"] == pytest.approx(np.mean(shown["rwg_j"].dropna() >= 0.7))
    ad_shown = ad[ad["buurt"].map(visible)]
    assert rec["median_ad"] == pytest.approx(np.median(ad_shown["ad"]), rel=1e-12)
    per = pd.DataFrame(_wave(ev.sections["community_agreement"], label))
    small = ~per["buurt"].map(visible)
    assert small.any()
    assert per.loc[small, "suppressed"].all() and per.loc[small, "rwg_j"].isna().all()
    assert per.loc[small, "ad"].isna().all()


@pytest.mark.parametrize("label", ["baseline", "end_of_cycle"])
def test_ecometric_section_equals_library(example, label) -> None:
    ev, waves = example
    part = _shown(ev, waves, label)
    res = ce.ecometric(part, items=ITEMS, community="buurt", keys=KEYS, scale_range=(1.0, 5.0))
    (rec,) = _wave(ev.sections["ecometric"], label)
    assert rec["reliability"] == pytest.approx(res.reliability, rel=1e-12)
    assert rec["tau_beta"] == pytest.approx(res.variance_components.tau_beta, rel=1e-12)
    assert rec["converged"] is True


def test_overall_change_is_the_multilevel_wave_effect(example) -> None:
    ev, waves = example
    both = pd.concat(
        [
            _shown(ev, waves, "baseline").assign(w="b"),
            _shown(ev, waves, "end_of_cycle").assign(w="a"),
        ],
        ignore_index=True,
    )
    cmp = ce.compare_waves(
        both, dv="collective_efficacy", wave="w", community="buurt", before="b", after="a", min_n=10
    )
    got = pd.DataFrame(ev.sections["change"])
    assert got["level"].iloc[-1] == "overall" and got["method"].iloc[-1] == "lmm_reml"
    for col in ("diff", "se", "ci_low", "ci_high", "df", "g", "n_before", "mean_before"):
        assert got[col].iloc[-1] == pytest.approx(cmp[col].iloc[-1], rel=1e-12)
    shown = got.loc[~got["suppressed"].to_numpy(dtype=bool) & (got["level"] == "community")]
    assert len(shown) > 30
    np.testing.assert_allclose(
        shown["p_adjusted"].astype(float),
        cmp.set_index("buurt").loc[shown["buurt"], "p_adjusted"].astype(float),
        rtol=1e-12,
    )


def test_change_reasons_agree_with_the_community_table(example) -> None:
    """A suppressed change row names each wave's own reason: a wave where the community was
    shown adds nothing, a wave where it was suppressed names that reason, and "no respondents"
    only where the community table has no respondents for it (a report must not say "no
    respondents in the before wave" beside a baseline score of 25 respondents)."""
    ev, _ = example
    cs = pd.DataFrame(ev.sections["community_scores"]).set_index(["buurt", "wave"])
    got = pd.DataFrame(ev.sections["change"])
    rows = got[got["suppressed"].to_numpy(dtype=bool) & (got["level"] == "community")]
    assert len(rows) >= 5
    for buurt, reason in zip(rows["buurt"], rows["reason"], strict=True):
        parts = []
        for wave, what in (("baseline", "before"), ("end_of_cycle", "after")):
            row = cs.loc[(buurt, wave)] if (buurt, wave) in cs.index else None
            if row is None or row["reason"] == ce.disclosure.ABSENT_REASON:
                parts.append(f"no respondents in the {what} wave")
            elif row["suppressed"] and row["reason"] != ce.disclosure.SECONDARY_REASON:
                parts.append(f"n_{what} below min_n={MIN_N}")
            elif row["suppressed"]:
                parts.append("secondary")
        primary = [p for p in parts if p != "secondary"]
        expect = "; ".join(primary) if primary else ce.disclosure.SECONDARY_REASON
        assert reason == expect, buurt
    # the change model's rows and the report say the same as the change table
    model = pd.DataFrame(ev.sections["change_model"]).set_index("buurt")
    for buurt, reason in zip(rows["buurt"], rows["reason"], strict=True):
        assert model.loc[buurt, "suppressed"] and model.loc[buurt, "reason"] == reason, buurt
    md = ev.to_markdown()
    assert re.search(r"\| Buurt C1 \| – \| – \| not shown, to protect", md)


def test_impact_change_equals_library(example) -> None:
    ev, _ = example
    lv = ev.tables["impact"]
    lv = lv.astype({"level": "Int64"})
    expect = ce.impact_change(
        lv[lv["wave"] == "baseline"].drop(columns=["wave"]),
        lv[lv["wave"] == "end_of_cycle"].drop(columns=["wave"]),
        community="buurt",
    )
    got = ev.tables["impact_change"]
    assert len(got) == len(expect) == 40
    assert got["change"].astype("Float64").equals(expect["change"].astype("Float64"))
    assert (
        got["crossed_release_threshold"]
        .astype("boolean")
        .equals(expect["crossed_release_threshold"].astype("boolean"))
    )
    # a suppressed community has no level, so no change is claimed for it
    sup = set(lv.loc[lv["suppressed"], "buurt"])
    assert sup and got.loc[got["buurt"].isin(sup), "change"].isna().all()


def test_report_sections_in_order_with_maps(example, tmp_path) -> None:
    ev, _ = example
    html = ev.to_html()
    # answer first (issue 15): summary and contents, evidence, data quality and reliability,
    # methods last
    order = [
        '<h2 id="summary">Summary',
        '<nav class="toc"',
        '<h2 id="overall-change">',
        '<h2 id="change-per-community">',
        '<h2 id="impact-level-0-5">',
        "Change of the impact level",
        "Map: impact level at baseline",
        "Map: impact level at end of cycle",
        '<h2 id="what-was-measured">',
        '<h2 id="data-quality">',
        '<h2 id="scale-reliability">',
        "Items (baseline)",
        '<h2 id="do-residents-answers-describe-their-community">',
        '<h2 id="methods-and-references">',
    ]
    pos = [html.find(h) for h in order]
    assert -1 not in pos and pos == sorted(pos)
    # forest plot (wide and narrow) plus one map per wave, embedded as inline SVG
    figs = re.findall(r'<svg class="fp-[wn]"[^>]* role="img" aria-labelledby="[^"]+"', html)
    maps = re.findall(r'<figure class="imap" id="imap\d"><div class="imap-box"><svg ', html)
    assert (len(figs), len(maps)) == (2, 2)
    assert "rwg(j)" in html and "ecometric" in html and "omega" in html
    nl = ev.to_html(lang="nl")
    assert "Kaart: impactniveau bij de nulmeting" in nl and "Vragen (eindmeting)" in nl


def test_cli_writes_maps_and_geometry_option(tmp_path) -> None:
    geo = tmp_path / "buurten.geojson"
    geo.write_text(json.dumps(load_example_geometry()), encoding="utf-8")
    before, after = ce.datasets.load_example(split=True)
    b, a = tmp_path / "b.csv", tmp_path / "a.csv"
    before.to_csv(b, index=False)
    after.to_csv(a, index=False)
    cols = tmp_path / "cols.json"
    cols.write_text(json.dumps(COLS), encoding="utf-8")
    out = tmp_path / "out"
    args = ["evaluate", str(b), str(a), "--community", "buurt", "--respondent", "respondent_id"]
    args += ["--columns", str(cols), "--geometry", str(geo), "--out", str(out), "--quiet"]
    assert main(args) == 0
    fc = json.loads((out / "map_end_of_cycle.geojson").read_text())
    assert len(fc["features"]) == 40
    # suppressed communities are drawn without a level in every map export
    res = json.loads((out / "results.json").read_text())
    sup = {
        r["buurt"]
        for r in res["sections"]["impact"]
        if r["wave"] == "end_of_cycle" and r["suppressed"]
    }
    by_name = {f["properties"]["buurt"]: f["properties"] for f in fc["features"]}
    assert sup and all(by_name[c]["level"] is None for c in sup)


def test_warnings_become_notes() -> None:
    """A reversed item is shown to the evaluator as a note and a report warning, not raised."""
    before, after = ce.datasets.load_example(split=True)
    col = next(k for k, v in COLS.items() if v == "SC1")
    flip = {c: (lambda s: 6 - pd.to_numeric(s, errors="coerce")) for c in [col]}
    ev = ce.evaluate(
        before.assign(**{col: flip[col](before[col])}),
        after.assign(**{col: flip[col](after[col])}),
        community="buurt",
        respondent="respondent_id",
        columns=COLS,
    )
    assert any("warnings" in k for k in ev.notes)
    assert "should be reverse-coded" in ev.to_markdown()


def test_progress_bar_is_optional(capsys) -> None:
    pytest.importorskip("tqdm")
    before, after = ce.datasets.load_example(split=True)
    ev = ce.evaluate(before, after, community="buurt", columns=COLS, progress=True)
    assert "change" in ev.sections


def test_dates_per_wave_and_unreadable_dates_counted() -> None:
    before, after = ce.datasets.load_example(split=True)
    before = before.assign(datum=[f"2026-01-{1 + i % 28:02d}" for i in range(len(before))])
    before.loc[before.index[3], "datum"] = "gisteren"
    after = after.assign(datum="2026-11-20")
    ev = ce.evaluate(
        before, after, community="buurt", respondent="respondent_id", columns=COLS, date="datum"
    )
    b, a = ev.waves
    assert (b.date_first, b.date_last, b.n_dates_unreadable) == ("2026-01-01", "2026-01-28", 1)
    assert (a.date_first, a.date_last, a.n_dates_unreadable) == ("2026-11-20", "2026-11-20", 0)
    md = ev.to_markdown()
    assert "Answers from 2026-01-01 to 2026-01-28. 1 answer date(s) could not be read." in md
    with pytest.raises(ce.DataError, match="date column 'peildatum'"):
        ce.evaluate(before, after, community="buurt", columns=COLS, date="peildatum")


def test_records_are_json_ready_for_every_dtype() -> None:
    from collective_efficacy.evaluation._sections import records

    df = pd.DataFrame(
        {
            "i": [1, 2],
            "f": [1.5, np.nan],
            "s": pd.array(["x", None], dtype="string"),
            "n": pd.array([1, None], dtype="Int64"),
            "b": pd.array([True, None], dtype="boolean"),
            "o": pd.Series(["a", None], dtype=object),
            "t": [True, False],
        }
    )
    got = records(df)
    assert got == [
        {"i": 1, "f": 1.5, "s": "x", "n": 1, "b": True, "o": "a", "t": True},
        {"i": 2, "f": None, "s": None, "n": None, "b": None, "o": None, "t": False},
    ]
    assert all(type(v) in (int, float, str, bool, type(None)) for r in got for v in r.values())
    json.dumps(got, allow_nan=False)


def test_community_in_one_wave_keeps_a_row_and_its_assessment() -> None:
    """Surveyed at baseline only, but rated in both waves: n = 0 row, no level, no error."""
    before, after = ce.datasets.load_example(split=True)
    ev = ce.evaluate(
        before,
        after[after["buurt"] != "Buurt A2"],
        community="buurt",
        respondent="respondent_id",
        columns=COLS,
        assessments=_example_assessments(),
    )
    sc = ev.tables["community_scores"]
    row = sc[(sc["buurt"] == "Buurt A2") & (sc["wave"] == "end_of_cycle")].iloc[0]
    assert row["suppressed"] and row["reason"] == "no respondents in this wave"
    assert pd.isna(row["n"])  # a suppressed community shows no n
    assert len(sc) == 80  # 40 communities x 2 waves, none lost
    assert "impact" in ev.sections and "impact" not in ev.notes
    lv = ev.tables["impact"]
    a2 = lv[(lv["buurt"] == "Buurt A2") & (lv["wave"] == "end_of_cycle")].iloc[0]
    assert pd.isna(a2["level"]) and a2["suppressed"]


def test_forest_plot_is_capped_for_many_communities() -> None:
    from collective_efficacy import report

    before, after = ce.datasets.load_example(split=True)
    ev = ce.evaluate(before, after, community="buurt", columns=COLS, min_n=2)
    # the plot draws the change model's rows (the verdicts' source); 40 communities twice
    for section in ("change_model", "change"):
        rows = [r for r in ev.sections[section] if r.get("level", "community") == "community"]
        many = [dict(r, buurt=f"{r['buurt']}-{k}") for k in range(2) for r in rows]  # 80 rows
        sections = {**ev.sections, section: many}
        if section == "change":
            sections.pop("change_model")
        html = ev.model_copy(update={"sections": sections}).to_html()
        assert f"shows the {report.FOREST_MAX} of 80 communities" in html

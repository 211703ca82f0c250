"""The one verdict rule (issue 14): the report's table, forest plot and summary never disagree.

The rule is the drawn interval of the change model (empirical-Bayes change -/+ z posterior SD,
:func:`ce.change_model`, checked against lme4 in ``test_change_model_reference.py``); when the
model cannot be used the report falls back, with a notice, to Bonferroni-simultaneous intervals
of the raw differences:

* :func:`simultaneous_intervals` equals R (``tests/fixtures/verdict/simultaneous.R``, R 4.2.2:
  ``est -/+ qt(1 - (1 - ci) / (2 m), df) * se``), tolerance 1e-10 relative;
* the dual p equals statsmodels' Bonferroni adjustment, and with ``m = 1`` the interval is the
  Welch interval of :func:`ce.compare_waves` (1e-10 relative);
* for every community of the example and of a generated survey with clear declines, the verdict
  in the HTML table, the marker and interval drawn in the forest plot, and the counts in the
  summary agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

import collective_efficacy as ce
from collective_efficacy.change._verdict import (
    change_verdicts,
    count_verdicts,
    model_verdicts,
    simultaneous_intervals,
)
from collective_efficacy.evaluation._change import store_change_model
from collective_efficacy.report._figures import FOREST_MAX
from collective_efficacy.report._format import bound, text_for
from collective_efficacy.report._sections import community_verdicts
from test_forest_svg import forest_svgs, read_forest

COLS = ce.datasets.EXAMPLE_COLUMNS
ITEMS = ce.load_instrument("sampson1997").scale("collective_efficacy").items


def test_simultaneous_intervals_equal_r(fixtures: Path) -> None:
    ref = pd.read_csv(fixtures / "verdict" / "simultaneous.csv")
    for (m, ci), part in ref.groupby(["m", "ci"]):
        low, high = simultaneous_intervals(part["est"], part["se"], part["df"], ci=ci, m=int(m))
        np.testing.assert_allclose(low, part["low"], rtol=1e-10)
        np.testing.assert_allclose(high, part["high"], rtol=1e-10)
        rows = [
            {"level": "community", "diff": e, "se": s, "df": d, "p": p, "suppressed": False}
            for e, s, d, p in part[["est", "se", "df", "p"]].itertuples(index=False)
        ]
        # change_verdicts takes m from the number of communities: pad to m with no-change rows
        pad = [{**rows[0], "diff": 0.0, "p": 1.0}] * (int(m) - len(rows)) if m > len(rows) else []
        got = change_verdicts(rows + pad, ci=ci, p_adjust="holm")[: len(rows)]
        if m >= len(rows):
            np.testing.assert_allclose(
                [r["shown_p"] for r in got], part["p_bonferroni"], rtol=1e-10
            )


def test_dual_p_is_statsmodels_bonferroni_and_m1_is_the_welch_interval(
    example_evaluation: ce.Evaluation,
) -> None:
    ev = example_evaluation
    bonf = change_verdicts(ev.sections["change"], ci=ev.confidence, p_adjust=ev.p_adjust)
    per = [r for r in bonf if r["verdict"] is not None]
    # 32: Buurt M2 is secondarily suppressed at baseline (issue 13)
    assert len(per) == 32 and {r["family"] for r in per} == {32}
    p = np.array([r["p"] for r in per])
    reject, p_bonf, _, _ = multipletests(p, alpha=0.05, method="bonferroni")
    np.testing.assert_allclose([r["shown_p"] for r in per], p_bonf, rtol=1e-10)
    clear = np.array([r["verdict"] != "no_change" for r in per])
    np.testing.assert_array_equal(clear, reject)  # the interval excludes 0 iff p_bonf < 0.05
    # no correction: the drawn interval is compare_waves' Welch interval
    plain = [
        r for r in change_verdicts(ev.sections["change"], ci=0.95, p_adjust="none") if r["verdict"]
    ]
    np.testing.assert_allclose([r["shown_low"] for r in plain], [r["ci_low"] for r in plain], 1e-10)
    np.testing.assert_allclose(
        [r["shown_high"] for r in plain], [r["ci_high"] for r in plain], 1e-10
    )
    assert count_verdicts(per) == {
        "improved": int(sum(r["verdict"] == "improved" for r in per)),
        "declined": int(sum(r["verdict"] == "declined" for r in per)),
        "no_change": int((~clear).sum()),
        "not_shown": 0,
    }


def _table(html: str) -> dict[str, tuple[str, str, str]]:
    """community -> (interval text, p or chance text, verdict code) from the change table."""
    part = html.split('<h2 id="change-per-community">', 1)[1].split("<h2", 1)[0]
    head = re.findall(r"<th>(.*?)</th>", part)
    i, j = (
        head.index("interval"),
        head.index(
            "chance it improved"
            if "chance it improved" in head
            else head[head.index("interval") + 1]
        ),
    )
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", part):
        cells = re.findall(r'<td(?: class="([^"]*)")?[^>]*>(.*?)</td>', row)
        if cells and cells[-1][0].startswith("v "):
            out[cells[0][1]] = (cells[i][1], cells[j][1], cells[-1][0][2:])
    return out


def _plot(html: str) -> dict[str, tuple[float, float, str]]:
    """community -> (drawn low, drawn high, marker) read back from the forest plot's SVG (bar
    ends and marker centres checked against the drawn axis by :func:`read_forest`)."""
    drawn = read_forest(forest_svgs(html)["fp-w"])
    return {n: (r["low"], r["high"], r["marker"]) for n, r in drawn.items()}


def _check_report_agrees(ev: ce.Evaluation, rule: str = "model") -> dict[str, int]:
    assert {r["rule"] for r in community_verdicts(ev)} == {rule}
    html = ev.to_html()
    table, plot = _table(html), _plot(html)
    assert table, "no per-community verdicts in the table"
    assert len(plot) == min(len(table), FOREST_MAX)
    marker = {"improved": "^", "declined": "v", "no_change": "o"}
    for com, (band, p, verdict) in table.items():
        low, high, mk = plot[com]
        assert mk == marker[verdict], com
        assert (verdict == "improved") == (low > 0), com
        assert (verdict == "declined") == (high < 0), com
        en = text_for("en")
        assert band == f"{bound(en, low)} to {bound(en, high)}", com  # the drawn interval
        if rule == "model":  # chance it improved = Phi(change / sd): > 97.5% iff improved
            chance = 99.5 if p == "&gt;99%" else 0.5 if p == "&lt;1%" else float(p[:-1])
            if verdict == "improved":
                assert chance >= 97.5, com
            if verdict == "declined":
                assert chance <= 2.5, com
            if verdict == "no_change":
                assert 2 <= chance <= 98, com
        else:
            clear = p.startswith("&lt;") or float(p) < 0.05
            assert clear == (verdict != "no_change"), com
    n = {v: sum(1 for x in table.values() if x[2] == v) for v in marker}
    summary = html.split('<div class="summary">', 1)[1].split("</div>", 1)[0]
    assert (
        f"Of the {len(table)} communities shown, {n['improved']} improved clearly, "
        f"{n['declined']} declined clearly and {n['no_change']} show no clear change"
    ) in summary
    return n


def test_example_report_verdicts_agree_with_the_drawn_intervals(
    example_evaluation: ce.Evaluation,
) -> None:
    ev = example_evaluation
    n = _check_report_agrees(ev)
    assert n == {"improved": 12, "declined": 0, "no_change": 20}  # integrated posterior (11 with
    # the previous plug-in interval, change -/+ t prediction_sd)
    # the table's rows are the change model's communities, interval for interval
    cm = {r["buurt"]: r for r in ev.sections["change_model"] if not r["suppressed"]}
    for r in community_verdicts(ev):
        if r["verdict"] is not None:
            assert (r["shown_low"], r["shown_high"]) == (
                cm[r["buurt"]]["ci_low"],
                cm[r["buurt"]]["ci_high"],
            )
    assert len(cm) == 32  # Buurt M2: secondary suppression at baseline (issue 13)


def _without_model(ev: ce.Evaluation, why: str) -> ce.Evaluation:
    sections = {k: v for k, v in ev.sections.items() if k != "change_model"}
    return ev.model_copy(update={"sections": sections, "notes": {**ev.notes, "change_model": why}})


def test_fallback_to_the_bonferroni_rule_is_visible(example_evaluation: ce.Evaluation) -> None:
    # the reason: a fit without a verified optimum (a boundary fit no longer falls back)
    ev = _without_model(example_evaluation, "no verified optimum")
    n = _check_report_agrees(ev, rule="bonferroni")
    assert n == {"improved": 2, "declined": 0, "no_change": 30}
    html = ev.to_html()
    assert "could not be used for the verdicts here (no verified optimum)" in html
    assert "simultaneous 95% intervals (Bonferroni over the 32 communities" in html


def test_a_boundary_fit_gives_the_verdicts() -> None:
    """A boundary fit (here the correlation at -1 or +1) is used for the verdicts: its
    intervals integrate over the covariance parameters (docs/methods/change-model.md, "Why a
    boundary fit no longer falls back"); only a fit without a verified optimum falls back."""
    rng = np.random.default_rng(7_040_003)  # benchmarks/sim_change_model.py's design
    u0, delta = rng.normal(0, 0.35, 40), 0.15 + rng.normal(0, 0.1, 40)
    parts = []
    for w, wave in enumerate(("baseline", "end_of_cycle")):
        c = np.repeat(np.arange(40), rng.integers(10, 31, 40))
        y = 3 + u0[c] + w * delta[c] + rng.normal(0, 0.8, len(c))
        parts.append(
            pd.DataFrame({"community": [f"C{i:02d}" for i in c], "wave": wave, "score": y})
        )
    m = ce.change_model(pd.concat(parts, ignore_index=True), dv="score", community="community")
    assert m.boundary and m.converged
    sections: dict = {}
    notes: dict = {}
    store_change_model(m, sections, notes, "community")
    assert "change_model" not in notes and len(sections["change_model"]) == 40
    fit = sections["change_model_fit"][0]
    assert fit["boundary"] and fit["used_for_verdicts"] and fit["not_used_because"] is None
    unverified = m.model_copy(update={"converged": False})
    sections, notes = {}, {}
    store_change_model(unverified, sections, notes, "community")
    assert "change_model" not in sections and "verified optimum" in str(notes["change_model"])


def test_too_few_communities_fall_back() -> None:
    before, after = ce.datasets.load_example(split=True)
    keep = ["Buurt A1", "Buurt D2", "Buurt G1", "Buurt F2"]
    ev = ce.evaluate(
        before[before["buurt"].isin(keep)],
        after[after["buurt"].isin(keep)],
        community="buurt",
        columns=COLS,
    )
    assert (
        "change_model" not in ev.sections and "fewer than 5 communities" in ev.notes["change_model"]
    )
    _check_report_agrees(ev, rule="bonferroni")
    assert "could not be used for the verdicts" in ev.to_markdown()


def test_generated_survey_with_declines_agrees() -> None:
    """The example with three communities whose end-of-cycle answers all drop to the bottom."""
    before, after = ce.datasets.load_example(split=True)
    after = after.copy()
    raw_items = [c for c, i in COLS.items() if i in ITEMS]
    down = after["buurt"].isin(["Buurt A1", "Buurt F2", "Buurt T1"])
    inst = ce.load_instrument("sampson1997")
    for col in raw_items:
        item = COLS.get(col, col)
        rs = inst.response_scale(item)
        after.loc[down, col] = str(rs.max if inst.item(item).reverse else rs.min)
    ev = ce.evaluate(before, after, community="buurt", columns=COLS)
    n = _check_report_agrees(ev)
    down_named = {r["buurt"] for r in community_verdicts(ev) if r["verdict"] == "declined"}
    assert {"Buurt A1", "Buurt F2", "Buurt T1"} <= down_named and n["declined"] == len(down_named)
    _check_report_agrees(_without_model(ev, "test"), rule="bonferroni")


def test_verdict_rule_without_correction_is_stated(example_evaluation: ce.Evaluation) -> None:
    ev = _without_model(example_evaluation, "test").model_copy(update={"p_adjust": "none"})
    html = ev.to_html()
    assert "not corrected for the number of communities" in html
    assert _check_report_agrees(ev, rule="bonferroni")["improved"] >= 2


def test_model_rule_is_stated_with_the_eb_meaning(example_evaluation: ce.Evaluation) -> None:
    en, nl = example_evaluation.to_html(), example_evaluation.to_html(lang="nl")
    assert "pulled towards the overall change, more so when a community has fewer residents" in en
    assert "sterker naarmate een buurt minder bewoners heeft" in nl
    assert "could not be used" not in en


def test_model_verdicts_follow_the_interval() -> None:
    rows = [
        {
            "change": 0.2,
            "ci_low": 0.01,
            "ci_high": 0.39,
            "p_improved": 0.98,
            "raw_change": 0.3,
            "confidence": 0.95,
            "verdict": "improved",
            "suppressed": False,
        },
        {
            "change": -0.3,
            "ci_low": -0.5,
            "ci_high": -0.1,
            "p_improved": 0.001,
            "raw_change": -0.4,
            "confidence": 0.95,
            "verdict": "declined",
            "suppressed": False,
        },
        {
            "change": None,
            "ci_low": None,
            "ci_high": None,
            "p_improved": None,
            "raw_change": None,
            "confidence": 0.95,
            "verdict": None,
            "suppressed": True,
        },
    ]
    got = model_verdicts(rows)
    assert [r["verdict"] for r in got] == ["improved", "declined", None]
    assert got[1]["rank"] == pytest.approx(0.002) and got[2]["rank"] is None
    assert count_verdicts(got) == {"improved": 1, "declined": 1, "no_change": 0, "not_shown": 1}


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_summary_comes_first_and_reconciles_impact(
    example_evaluation: ce.Evaluation, lang: str
) -> None:
    md = example_evaluation.to_markdown(lang=lang)
    first = md.split("\n## ", 2)[1]
    assert first.startswith("Summary" if lang == "en" else "Samenvatting")
    if lang == "en":
        # overall means of the shown communities only (issue 13)
        assert "On a 1–5 scale, the average score went from 2.94 at baseline to 3.20" in first
        assert "programme lead's ratings of partner cooperation and group development" in first
        assert "1,195 residents" in first
    else:
        assert "Op een schaal van 1–5 ging de gemiddelde score van 2,94" in first
        assert "1.195 bewoners" in first
    # the contents link every later section
    assert md.count("](#") == md.count("\n## ") - 1


def test_summary_without_assessments_or_any_shown_community() -> None:
    before, after = ce.datasets.load_example(split=True)
    ev = ce.evaluate(before, after, community="buurt", columns=COLS, min_n=100)
    md, html = ev.to_markdown(), ev.to_html()
    summary = md.split("**Contents**")[0]
    assert "No community has enough respondents in both waves" in summary
    assert "every level rests on the survey alone and stops at 2" in summary
    assert "partner cooperation" not in summary  # no ratings were given: not claimed
    assert '<figure class="fp"' not in html and "The rule:" not in html  # nothing to judge

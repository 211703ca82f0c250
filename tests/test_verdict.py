"""The one verdict rule (issue 14): the report's table, forest plot and summary never disagree.

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
from collective_efficacy._verdict import change_verdicts, count_verdicts, simultaneous_intervals
from collective_efficacy.export._report_figures import FOREST_MAX, forest_figure
from collective_efficacy.export._report_sections import community_verdicts

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
    per = [r for r in community_verdicts(ev) if r["verdict"] is not None]
    # 32: Buurt M2 is secondarily suppressed at baseline (issue 13: in every wave with a
    # community below min_n, whatever its size)
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
    """community -> (interval text, p text, verdict code) from the per-community change table."""
    part = html.split('<h2 id="change-per-community">', 1)[1].split("<h2", 1)[0]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", part):
        cells = re.findall(r'<td(?: class="([^"]*)")?[^>]*>(.*?)</td>', row)
        if cells and cells[-1][0].startswith("v "):
            out[cells[0][1]] = (cells[6][1], cells[7][1], cells[-1][0][2:])
    return out


def _plot(ev: ce.Evaluation) -> dict[str, tuple[float, float, str]]:
    """community -> (drawn low, drawn high, marker) read back from the forest plot's artists."""
    fig = forest_figure(community_verdicts(ev), ev, "en")
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    bars, marks = {}, {}
    for line in ax.lines:
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        if len(x) == 1:
            marks[int(y[0])] = line.get_marker()
        elif len(x) == 2 and y[0] == y[1] and not (x == 0).all():
            bars[int(y[0])] = (float(x[0]), float(x[1]))
    return {n: (*bars[k], marks[k]) for k, n in enumerate(names)}


def _check_report_agrees(ev: ce.Evaluation) -> dict[str, int]:
    html = ev.to_html()
    table, plot = _table(html), _plot(ev)
    assert table, "no per-community verdicts in the table"
    assert len(plot) == min(len(table), FOREST_MAX)
    marker = {"improved": "^", "declined": "v", "no_change": "o"}
    for com, (band, p, verdict) in table.items():
        low, high, mk = plot[com]
        assert mk == marker[verdict], com
        assert (verdict == "improved") == (low > 0), com
        assert (verdict == "declined") == (high < 0), com
        assert band == f"{low:.2f} to {high:.2f}", com  # the table shows the drawn interval
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
    n = _check_report_agrees(example_evaluation)
    assert n == {"improved": 2, "declined": 0, "no_change": 30}  # Buurt M2: see above


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
    assert n["declined"] == 3


def test_verdict_rule_without_correction_is_stated(example_evaluation: ce.Evaluation) -> None:
    ev = example_evaluation.model_copy(update={"p_adjust": "none"})
    html = ev.to_html()
    assert "not corrected for the number of communities" in html
    assert _check_report_agrees(ev)["improved"] >= 2


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
    assert 'class="forest"' not in html and "The rule:" not in html  # nothing to judge

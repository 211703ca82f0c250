"""End-to-end: the evaluate command on real-looking files, checked against the library."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.cli import main

COLS = ce.datasets.EXAMPLE_COLUMNS


@pytest.fixture
def files(tmp_path):
    before, after = ce.datasets.load_example(split=True)
    b = tmp_path / "nulmeting.csv"
    before.to_csv(b, index=False, sep=";")
    pyreadstat = pytest.importorskip("pyreadstat")
    a = tmp_path / "eindmeting.sav"
    sav = after.copy()
    for c in COLS:  # SPSS stores numeric codes; keep the dirty text cells as missing
        sav[c] = pd.to_numeric(sav[c], errors="coerce")
    pyreadstat.write_sav(sav, a)
    cols = tmp_path / "columns.json"
    cols.write_text(json.dumps(COLS), encoding="utf-8")
    return b, a, cols


def test_cli_evaluate_end_to_end(files, tmp_path, capsys) -> None:
    b, a, cols = files
    stamp = (b.read_bytes(), a.read_bytes())
    out = tmp_path / "out"
    code = main(
        [
            "evaluate",
            str(b),
            str(a),
            "--community",
            "buurt",
            "--respondent",
            "respondent_id",
            "--columns",
            str(cols),
            "--min-n",
            "10",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert (b.read_bytes(), a.read_bytes()) == stamp  # the caller's files are untouched
    res = json.loads((out / "results.json").read_text())
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert '<figure class="fp"><svg class="fp-w"' in html  # self-contained forest plot

    # numbers equal the library's own functions
    before = ce.validate(
        ce.read_responses(b),
        "sampson1997",
        community="buurt",
        respondent="respondent_id",
        columns=COLS,
        errors="exclude",
    )
    after = ce.validate(
        ce.read_responses(a),
        "sampson1997",
        community="buurt",
        respondent="respondent_id",
        columns=COLS,
        errors="exclude",
    )
    assert res["waves"][0]["n_rows_usable"] == before.report.n_rows_usable
    # withheld (issue 13): rows used minus the shown communities minus Buurt C1 (secondarily
    # suppressed, so between 10 and the smallest shown community, which holds 10) = Buurt I1
    assert res["waves"][1]["n_rows_usable"] is None and after.report.n_rows_usable == 1198
    sb = ce.score(before, scales=["collective_efficacy"]).assign(w="baseline")
    sa = ce.score(after, scales=["collective_efficacy"]).assign(w="end_of_cycle")
    both = pd.concat([sb, sa], ignore_index=True)
    agg = ce.aggregate(
        both[["buurt", "w", "collective_efficacy"]], community="buurt", wave="w", min_n=10
    )
    got = pd.DataFrame(res["sections"]["community_scores"])
    shown = ~got["suppressed"].to_numpy(dtype=bool)
    np.testing.assert_allclose(
        got.loc[shown, "mean"].astype(float), agg.loc[shown, "mean"], rtol=1e-12
    )
    # suppressed: every community below min_n, plus documented secondary suppressions
    assert (got["suppressed"] | ~agg["suppressed"]).all()
    extra = got["suppressed"] & ~agg["suppressed"]
    assert got.loc[extra, "reason"].str.startswith("secondary suppression").all()
    # pooled over the communities shown at baseline only (issue 13)
    shown_b = got.loc[shown & (got["wave"] == "baseline"), "buurt"]
    alpha_b = ce.cronbach_alpha(
        sb.join(before.data[list(COLS.values())]).loc[lambda d: d["buurt"].isin(shown_b)],
        items=ce.load_instrument("sampson1997").scale("collective_efficacy").items,
        keys=ce.load_instrument("sampson1997").keys("collective_efficacy"),
    )
    assert res["sections"]["reliability"][0]["alpha"] == pytest.approx(
        alpha_b["alpha"].iloc[0], rel=1e-12
    )

    # suppression everywhere: small communities carry no statistics in any output
    small = agg.loc[agg["n"] < 10, "buurt"].unique()
    assert len(small) > 0
    for rec, n in zip(res["sections"]["community_scores"], agg["n"]):
        if n < 10:  # no mean, and not even the exact n of a suppressed community
            assert rec["suppressed"] and rec["mean"] is None and rec["ci_low"] is None
            assert rec["n"] is None
    for rec in res["sections"]["change"]:
        if rec.get("suppressed"):
            assert rec.get("diff") is None and rec.get("g") is None
    assert "fewer than 10 respondents" in md and "fewer than 10 respondents" in html
    # no respondent-level rows in any output
    for text in (html, md, json.dumps(res)):
        assert "R000001" not in text


def test_evaluate_example_and_dutch(example_outputs) -> None:
    md = (example_outputs("nl") / "report.md").read_text()
    assert "nulmeting versus eindmeting" in md and "minder dan 10 respondenten" in md


def test_html_escapes_user_strings() -> None:
    before, after = ce.datasets.load_example(split=True)
    before = before.replace({"buurt": {"Buurt A1": "<script>alert(1)</script>"}})
    after = after.replace({"buurt": {"Buurt A1": "<script>alert(1)</script>"}})
    ev = ce.evaluate(before, after, community="buurt", respondent="respondent_id", columns=COLS)
    html = ev.to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_bad_input(tmp_path) -> None:
    before, after = ce.datasets.load_example(split=True)
    with pytest.raises(ce.DataError, match="empty"):
        ce.evaluate(before.iloc[:0], after, community="buurt", columns=COLS)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ce.DataError, match="empty"):
        ce.evaluate(tmp_path / "empty.csv", after, community="buurt", columns=COLS)
    # a different column set in the end-of-cycle file
    with pytest.raises(ce.ResponseValidationError, match="absent column"):
        ce.evaluate(
            before, after.drop(columns=["v03_niet_overweg"]), community="buurt", columns=COLS
        )
    # a community present in only one wave is noted, not dropped
    ev = ce.evaluate(
        before,
        after[after["buurt"] != "Buurt A2"],
        community="buurt",
        respondent="respondent_id",
        columns=COLS,
    )
    assert "communities_in_one_wave" in ev.notes
    assert "Buurt A2" in set(ev.tables["community_scores"]["buurt"])


def test_impact_section_equals_library(example_outputs) -> None:
    res = json.loads((example_outputs("en") / "results.json").read_text())
    got = pd.DataFrame(res["sections"]["impact"])
    scores = pd.DataFrame(res["sections"]["community_scores"])
    from collective_efficacy.datasets import load_example_assessments

    a = load_example_assessments()
    a = a.assign(wave=a["meting"].map({"nulmeting": "baseline", "eindmeting": "end_of_cycle"}))
    expect = ce.impact_levels(
        scores, assessments=a.drop(columns=["meting"]), community="buurt", wave="wave"
    )
    assert len(got) == len(expect) == 80
    np.testing.assert_array_equal(
        got["level"].astype(float).to_numpy(), expect["level"].astype(float).to_numpy()
    )
    assert set(got["basis"]) >= {"full", "survey_only"}
    assert (got.loc[got["basis"] == "survey_only", "level"].dropna() <= 2).all()

"""The change model inside ``evaluate`` (issue 14): wiring, suppression, panel term, comparison.

The model itself is checked against lme4 1.1-31 + lmerTest in ``test_change_model_reference.py``
(tests/fixtures/r/change_model.R, incl. ``score ~ wave * programme + (1 + wave | community)``
and the partial panel with ``(1 | respondent)``). Here ``evaluate`` must give exactly what
:func:`ce.change_model` gives on the scored respondents of both waves (tolerance 1e-12
relative: the same computation), hide every community the evaluation suppresses, and carry a
comparison column or table end to end through the command line into the report.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.cli import main
from collective_efficacy.disclosure import shown_respondents

COLS = ce.datasets.EXAMPLE_COLUMNS
SCALE = "collective_efficacy"


def _scored(
    before: pd.DataFrame, after: pd.DataFrame, ev: ce.Evaluation | None = None
) -> pd.DataFrame:
    """The scored respondents of both waves (long format); with ``ev``: only those of the
    communities it shows in their wave, as evaluate fits them (disclosure control)."""
    frames = []
    for label, raw in (("baseline", before), ("end_of_cycle", after)):
        v = ce.validate(
            raw,
            "sampson1997",
            community="buurt",
            respondent="respondent_id",
            columns=COLS,
            errors="exclude",
        )
        frames.append(ce.score(v, scales=[SCALE]).assign(wave=label))
    data = pd.concat(frames, ignore_index=True)
    if ev is None:
        return data
    table = pd.DataFrame(ev.sections["community_scores"])
    return shown_respondents(data, table, community="buurt", wave="wave", table_wave="wave")


def _comparison(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, int]:
    names = sorted(pd.unique(pd.concat([before["buurt"], after["buurt"]]).dropna().astype(str)))
    return {c: int(i % 2) for i, c in enumerate(names)}  # every other community: comparison


def test_evaluate_gives_change_model_and_hides_suppressed(
    example_evaluation: ce.Evaluation,
) -> None:
    ev = example_evaluation
    before, after = ce.datasets.load_example(split=True)
    m = ce.change_model(_scored(before, after, ev), dv=SCALE, community="buurt", min_n=ev.min_n)
    got = ev.tables["change_model_fixed"]
    np.testing.assert_allclose(got["estimate"], m.fixed["estimate"], rtol=1e-12)
    np.testing.assert_allclose(got["se"], m.fixed["se"], rtol=1e-12)
    fit = ev.sections["change_model_fit"][0]
    assert fit["used_for_verdicts"] and fit["converged"] and not fit["boundary"]
    assert fit["var_change"] == pytest.approx(m.variance_components.var_change, rel=1e-12)
    assert fit["n_repeated"] is None  # no respondent answers twice in the example: no panel term
    rows = pd.DataFrame(ev.sections["change_model"]).set_index("buurt")
    ref = m.communities.set_index("buurt")
    # every community the evaluation hides (incl. secondary suppression) shows nothing here
    hidden = {r["buurt"] for r in ev.sections["community_scores"] if r["suppressed"]}
    hidden |= {r["buurt"] for r in ev.sections["change"] if r["suppressed"]}
    assert "Buurt C1" in hidden and "Buurt M2" in hidden  # secondary suppression
    for com in hidden:
        r = rows.loc[com]
        assert r["suppressed"] and pd.isna(r["verdict"]), com
        assert r[["change", "ci_low", "ci_high", "p_improved", "raw_change"]].isna().all(), com
        assert r[["n_before", "n_after"]].isna().all(), com
    shown = rows.index[~rows["suppressed"].astype(bool)]
    assert len(shown) == 32
    for col in ("change", "ci_low", "ci_high", "p_improved", "reliability", "raw_change"):
        np.testing.assert_allclose(
            rows.loc[shown, col].astype(float), ref.loc[shown, col], rtol=1e-12, err_msg=col
        )
    assert (rows.loc[shown, "verdict"] == ref.loc[shown, "verdict"]).all()
    # the raw difference and the Welch test stay available
    assert {"diff", "p", "df"} <= set(ev.tables["change"].columns)


def test_panel_term_when_respondents_answer_twice() -> None:
    before, after = ce.datasets.load_example(split=True)
    after = after.copy()

    # the k-th end-of-cycle respondent of a community is its k-th baseline respondent, for
    # every other k: a partial panel of about a quarter of the residents
    def rank(d: pd.DataFrame) -> pd.Series:
        return d.groupby("buurt").cumcount()

    key = before.assign(k=rank(before)).set_index(["buurt", "k"])["respondent_id"]
    k = rank(after)
    pair = pd.MultiIndex.from_arrays([after["buurt"], k])
    same = key.reindex(pair).to_numpy()
    use = (k.to_numpy() % 2 == 0) & pd.notna(same)
    after.loc[use, "respondent_id"] = same[use]
    ev = ce.evaluate(before, after, community="buurt", respondent="respondent_id", columns=COLS)
    fit = ev.sections["change_model_fit"][0]
    assert "respondent" in fit["formula"] and fit["n_repeated"] > 200, ev.notes
    m = ce.change_model(
        _scored(before, after, ev), dv=SCALE, community="buurt", respondent="respondent_id"
    )
    assert fit["n_repeated"] == m.n_repeated
    assert fit["var_respondent"] == pytest.approx(m.variance_components.var_respondent, rel=1e-9)
    np.testing.assert_allclose(
        ev.tables["change_model_fixed"]["estimate"], m.fixed["estimate"], rtol=1e-9
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("comparison")
    before, after = ce.datasets.load_example(split=True)
    comp = _comparison(before, after)
    before.assign(vergelijking=before["buurt"].map(comp)).to_csv(d / "b.csv", index=False)
    after.assign(vergelijking=after["buurt"].map(comp)).to_csv(d / "a.csv", index=False)
    pd.DataFrame({"buurt": list(comp), "comparison": [bool(v) for v in comp.values()]}).to_csv(
        d / "comparison.csv", index=False
    )
    bad = before.assign(vergelijking=np.arange(len(before)) % 2)  # varies within communities
    bad.to_csv(d / "bad.csv", index=False)
    (d / "cols.json").write_text(json.dumps(COLS), encoding="utf-8")
    return {k: d / f"{k}.csv" for k in ("b", "a", "comparison", "bad")} | {"cols": d / "cols.json"}


def _cli(files: dict[str, Path], out: Path, comparison: str, baseline: str = "b") -> int:
    argv = ["evaluate", str(files[baseline]), str(files["a"]), "--community", "buurt"]
    argv += ["--respondent", "respondent_id", "--columns", str(files["cols"]), "--quiet"]
    return main([*argv, "--comparison", comparison, "--out", str(out)])


@pytest.fixture(scope="module")
def comparison_reference() -> ce.ChangeModel:
    """:func:`ce.change_model` with the comparison, on the scored
    respondents the example's evaluation shows. Both ways of giving the comparison (column,
    file) are checked against it, so it is fitted once; the tests only read it."""
    before, after = ce.datasets.load_example(split=True)
    comp = _comparison(before, after)
    ev = ce.evaluate(before, after, community="buurt", respondent="respondent_id", columns=COLS)
    data = _scored(before, after, ev)  # the suppression does not depend on the comparison
    data["comparison"] = data["buurt"].map(comp)
    return ce.change_model(data, dv=SCALE, community="buurt", comparison="comparison")


@pytest.mark.parametrize("how", ["column", "file"])
def test_comparison_end_to_end(
    files: dict[str, Path], comparison_reference: ce.ChangeModel, tmp_path: Path, how: str
) -> None:
    arg = "vergelijking" if how == "column" else str(files["comparison"])
    assert _cli(files, tmp_path, arg) == 0
    res = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    fixed = {r["term"]: r for r in res["sections"]["change_model_fixed"]}
    m = comparison_reference
    ref = m.fixed.set_index("term")
    for term in ("change", "programme", "programme:change"):
        assert fixed[term]["estimate"] == pytest.approx(ref.loc[term, "estimate"], rel=1e-12)
        assert fixed[term]["p"] == pytest.approx(ref.loc[term, "p"], rel=1e-9)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    overall = html.split('<h2 id="overall-change">', 1)[1].split("<h2", 1)[0]
    assert overall.index("Programme effect") < overall.index("All communities together")
    d = ref.loc["programme:change"]
    assert f"changed by {abs(d['estimate']):.2f} points" in overall
    assert f"95% CI {d['ci_low']:.2f} to {d['ci_high']:.2f}" in overall
    assert "parallel trends" in overall and "cannot rule out" in overall
    # the summary states the programme effect with its interval, in plain words (issue 14)
    summary = html.split('<h2 id="summary">', 1)[1].split("<h2", 1)[0]
    assert "Programme effect: communities in the programme changed by " in summary
    assert f"{abs(d['estimate']):.2f} points" in summary
    assert f"95% CI {d['ci_low']:.2f} to {d['ci_high']:.2f}" in summary
    assert "citywide trend" in summary
    # the EB explanation: shrinkage towards the change of the community's own group
    change = html.split('<h2 id="change-per-community">', 1)[1].split("<h2", 1)[0]
    assert "pulled towards the change of its own group (programme or comparison" in change
    assert "pulled towards the overall change" not in change
    # the per-community verdicts use the DiD model's intervals
    table = {r["buurt"]: r for r in res["sections"]["change_model"]}
    cm = m.communities.set_index("buurt")
    assert table["Buurt A1"]["ci_low"] == pytest.approx(cm.loc["Buurt A1", "ci_low"], rel=1e-12)


def test_comparison_in_dutch(files: dict[str, Path], tmp_path: Path) -> None:
    argv = ["evaluate", str(files["b"]), str(files["a"]), "--community", "buurt", "--quiet"]
    argv += ["--columns", str(files["cols"]), "--comparison", "vergelijking", "--lang", "nl"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Effect van het programma" in md and "parallelle trends" in md
    summary = md.split("## Samenvatting", 1)[1].split("\n## ", 1)[0]
    assert "Effect van het programma: buurten in het programma veranderden" in summary
    assert "%-BI" in summary and "trend in de hele stad" in summary
    assert "naar de verandering van de eigen groep (programma- of vergelijkingsbuurten)" in md


def test_summary_without_comparison_has_no_programme_effect(
    example_evaluation: ce.Evaluation,
) -> None:
    md = example_evaluation.to_markdown()
    assert "Programme effect" not in md and "pulled towards the overall change" in md


def test_rank_deficient_panel_reads_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A partial panel whose respondent term cannot be estimated: refitted without it, and the
    note says so in plain words (no 'rank deficient' reaches the user), in en and nl."""
    from collective_efficacy.multilevel import change_model as multilevel_change

    real = multilevel_change.change_model

    def fake(data: pd.DataFrame, **kw: object) -> ce.ChangeModel:
        if kw.get("respondent") is not None:  # what the engine raises for such a panel
            raise ce.errors.DataError(
                "the fixed-effects design is rank deficient (X'V^-1 X is not positive definite)"
            )
        return real(data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(multilevel_change, "change_model", fake)
    before, after = ce.datasets.load_example(split=True)
    after = after.copy()
    after["respondent_id"] = after["respondent_id"].astype(str)
    after.loc[after.index[:40], "respondent_id"] = before["respondent_id"].astype(str)[:40].values
    ev = ce.evaluate(before, after, community="buurt", respondent="respondent_id", columns=COLS)
    note = ev.notes["change_model_respondent"]
    assert "rank deficient" not in note and "too few residents answered in both waves" in note
    assert "without the respondent term" in note
    assert "respondent" not in ev.sections["change_model_fit"][0]["formula"]
    for lang, text in (("en", "partial panel with few repeat"), ("nl", "gedeeltelijk panel")):
        report = ev.to_markdown(lang=lang)
        assert text in report and "rank deficient" not in report


@pytest.mark.parametrize(
    ("baseline", "comparison", "expect"),
    [
        ("bad", "vergelijking", "--comparison: comparison column 'vergelijking' varies within"),
        ("b", "nosuch", "--comparison: comparison column 'nosuch' is not in the baseline data"),
        ("b", "nosuch.csv", "--comparison: file 'nosuch.csv' not found"),
    ],
)
def test_comparison_errors_speak_cli(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    baseline: str,
    comparison: str,
    expect: str,
) -> None:
    assert _cli(files, tmp_path / "out", comparison, baseline) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and expect in err and "Traceback" not in err, err
    assert "_comparison" not in err  # no internal column name


def test_comparison_table_must_cover_every_community() -> None:
    before, after = ce.datasets.load_example(split=True)
    table = pd.DataFrame({"buurt": ["Buurt A1", "Buurt A2"], "comparison": [1, 0]})
    with pytest.raises(ce.errors.DataError, match="no 0/1 value for"):
        ce.evaluate(before, after, community="buurt", columns=COLS, comparison=table)


def test_rows_without_a_score_are_counted_as_in_the_change_section() -> None:
    """A respondent with too few answers for a scale score (not excluded: the row has answers)
    is dropped from the change model and counted in its ``n_missing``, as ``change`` (the raw
    difference) and the out-of-core path count it (test_out_of_core.py compares the two)."""
    before, after = ce.datasets.load_example(split=True)
    before = before.copy()
    column_of = {item: col for col, item in COLS.items()}
    items = [column_of[i] for i in ce.load_instrument("sampson1997").scale(SCALE).items]
    rows = before.index[before["buurt"] == "Buurt A1"][:2]
    before.loc[rows, items[1:]] = np.nan  # one answer left: below min_items
    ev = ce.evaluate(before, after, community="buurt", columns=COLS)
    model = ev.tables["change_model"].set_index("buurt")
    change = ev.tables["change"].set_index("buurt")
    assert model.loc["Buurt A1", "n_missing"] == change.loc["Buurt A1", "n_missing"] == 2
    shown = ~model["suppressed"].astype(bool)
    np.testing.assert_array_equal(
        model.loc[shown, "n_missing"].astype(int),
        change.loc[model.index[shown], "n_missing"].astype(int),
    )

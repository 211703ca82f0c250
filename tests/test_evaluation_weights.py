"""ce.evaluate(..., weight=/design=) and the CLI's --weight/--strata/--cluster (issue 18).

Reference: R survey 4.1 (tests/fixtures/r/survey_evaluation.R on the inputs written by
tests/fixtures/survey/make_evaluation.py): the community table, the change per community and
the overall change of a weighted evaluation against svyby / svycontrast / svyglm on the
design "each wave a separate sample, strata = wave x regio, PSUs = address blocks".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy._version import SCHEMA_VERSION
from collective_efficacy.disclosure import ABSENT_REASON
from collective_efficacy.errors import DataError

FIX = Path("tests/fixtures/survey")
REF = json.loads((FIX / "evaluation.json").read_text())
DESIGN = ce.SurveyDesign(weight="gewicht", strata="regio", cluster="blok")
RTOL = 1e-10  # relative, as the survey reference tests (double precision, same formulas)


def _files() -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_csv(FIX / "evaluation_baseline.csv"),
        pd.read_csv(FIX / "evaluation_end.csv"),
    )


@pytest.fixture(scope="module")
def ev() -> ce.Evaluation:
    b, a = _files()
    return ce.evaluate(b, a, community="buurt", respondent="rid", design=DESIGN, skip_impact=True)


def test_community_table_matches_svyby(ev: ce.Evaluation) -> None:
    """Means, SEs (Taylor) and deff as svyby(~score, ~community + wave, svymean, deff=TRUE)."""
    sc = ev.tables["community_scores"].set_index(["buurt", "wave"])
    ref = pd.DataFrame(REF["means"]).set_index(["community", "wave"])
    got = sc.loc[ref.index]
    assert not got["suppressed"].any()
    assert_allclose(got["mean"], ref["mean"], rtol=RTOL)
    assert_allclose(got["se"], ref["se"], rtol=RTOL)
    assert_allclose(got["deff"], ref["deff"], rtol=RTOL)
    # n stays the unweighted count of respondents; n_eff is Kish's (sum w)^2 / sum w^2
    s = pd.read_csv(FIX / "evaluation_scores.csv")
    g = s.groupby(["community", "wave"])["w"]
    kish = (g.sum() ** 2 / g.apply(lambda w: (w**2).sum())).loc[ref.index]
    assert_allclose(got["n_eff"], kish.to_numpy(), rtol=1e-12)
    assert (got["n"].to_numpy() == g.size().loc[ref.index].to_numpy()).all()


def test_change_matches_svycontrast_and_svyglm(ev: ce.Evaluation) -> None:
    ch = ev.tables["change"]
    per = ch[ch["level"] == "community"].set_index("buurt")
    ref = pd.DataFrame(REF["change"]).set_index("community")
    assert_allclose(per.loc[ref.index, "diff"], ref["diff"], rtol=RTOL, atol=1e-14)
    assert_allclose(per.loc[ref.index, "se"], ref["se"], rtol=RTOL)
    o = ch[ch["level"] == "overall"].iloc[0]
    r = REF["svyglm"]
    assert_allclose([o["diff"], o["se"], o["t"], o["p"]], [r["coef"], r["se"], r["t"], r["p"]],
                    rtol=RTOL)  # fmt: skip
    assert o["df"] == r["df"]


def test_verdicts_and_impact_follow_the_weighted_table() -> None:
    """The change model is not fitted under weights (its verdicts would be unweighted): the
    verdicts come from the weighted change, whose means are the community table's, and the
    impact levels are read from the weighted table."""
    from collective_efficacy.report._sections import community_verdicts

    b, a = _files()
    ev = ce.evaluate(b, a, community="buurt", respondent="rid", design=DESIGN)
    assert "change_model" not in ev.sections and "change_model_fit" not in ev.sections
    assert ev.note_messages["change_model"].code == "change_model_weighted"
    sc = ev.tables["community_scores"].set_index(["buurt", "wave"])["mean"]
    per = ev.tables["change"].query("level == 'community'").set_index("buurt")
    assert_allclose(per["mean_before"], sc.xs("baseline", level="wave").loc[per.index], rtol=0)
    assert_allclose(per["mean_after"], sc.xs("end_of_cycle", level="wave").loc[per.index], rtol=0)
    verdicts = community_verdicts(ev)
    assert all(v["rule"] == "bonferroni" for v in verdicts)
    assert_allclose(
        [v["estimate"] for v in verdicts], per.loc[[v["buurt"] for v in verdicts], "diff"]
    )
    levels = ce.impact_levels(ev.tables["community_scores"], community="buurt", wave="wave")
    imp = ev.tables["impact"].set_index(["buurt", "wave"])
    assert (
        imp["level"].to_numpy()
        == levels.set_index(["buurt", "wave"]).loc[imp.index, "level"].to_numpy()
    ).all()


def test_weight_equal_one_changes_only_the_design_columns() -> None:
    """weight= a column of ones: means equal the unweighted evaluation's (point estimates)."""
    b, a = _files()
    b, a = b.assign(een=1.0), a.assign(een=1.0)
    kw = {"community": "buurt", "respondent": "rid", "skip_impact": True}
    w = ce.evaluate(b, a, weight="een", **kw).tables["community_scores"]
    u = ce.evaluate(b, a, **kw).tables["community_scores"]
    assert_allclose(w["mean"], u["mean"], rtol=1e-12)
    assert (w["n"] == u["n"]).all()
    assert_allclose(w["n_eff"], w["n"], rtol=1e-12)


def test_report_says_weighted_in_both_languages(ev: ce.Evaluation) -> None:
    en, nl = ev.to_markdown(lang="en"), ev.to_markdown(lang="nl")
    assert en.count("Results are weighted:") == 2  # summary and "What was measured"
    assert "weight column 'gewicht', strata 'regio', clusters 'blok'" in en
    assert "| n | n_eff (weighted) |" in en and "svyglm(score \\~ wave" in en
    assert "Weighted estimates:" in en and "Kish, L. (1965)" in en and "Lumley, T. (2010)" in en
    assert "Welch" not in en.split("## Change per community")[1].split("##")[0]
    assert nl.count("De resultaten zijn gewogen:") == 2 and "n_eff (gewogen)" in nl
    assert "Gewogen schattingen:" in nl
    html = ev.to_html(lang="nl")
    assert "De resultaten zijn gewogen:" in html and "n_eff (gewogen)" in html
    assert (
        "Results are weighted"
        not in ce.evaluate(
            *_files(), community="buurt", respondent="rid", skip_impact=True
        ).to_markdown()
    )


def test_results_json_records_the_design(ev: ce.Evaluation) -> None:
    d = json.loads(ev.to_json())["design"]
    assert {k: d[k] for k in ("weight", "strata", "cluster", "fpc", "lonely_psu")} == {
        "weight": "gewicht", "strata": "regio", "cluster": "blok", "fpc": None,
        "lonely_psu": "fail"}  # fmt: skip
    assert "svyby" in d["estimator"] and "svyglm" in d["estimator"]
    assert "change model" in d["not_fitted"]
    assert json.loads(ev.to_json())["schema_version"] == SCHEMA_VERSION  # 2.1: design added


def test_weight_exclusions_are_counted(ev: ce.Evaluation) -> None:
    """A missing and a zero weight per file: excluded with reason invalid_weight, counted."""
    for w, f in zip(ev.waves, _files()):
        assert w.exclusions == {"invalid_weight": 2}
        assert w.n_rows_excluded == 2 and w.n_rows_in == len(f) == w.n_rows_usable + 2
    assert "invalid survey weight: 2" in ev.to_markdown()


# -- bad input, end to end ---------------------------------------------------------------------
def _kw() -> dict[str, object]:
    return {"community": "buurt", "respondent": "rid", "skip_impact": True}


def test_all_weights_zero_in_a_community_excludes_its_rows() -> None:
    """Documented result: every row is excluded (invalid_weight, counted); the community has
    no respondents in that wave, so it is listed as not measured there, never estimated."""
    b, a = _files()
    a.loc[a["buurt"] == "B11", "gewicht"] = 0.0
    ev = ce.evaluate(b, a, design=DESIGN, **_kw())
    n_b11 = int((a["buurt"] == "B11").sum())
    end = ev.waves[1]
    assert end.exclusions["invalid_weight"] == n_b11 + 2 - int(
        a.loc[[3, 17], "buurt"].eq("B11").sum()
    )
    sc = ev.tables["community_scores"].set_index(["buurt", "wave"])
    row = sc.loc[("B11", "end_of_cycle")]
    assert row["suppressed"] and row["reason"] == ABSENT_REASON
    assert pd.isna(row["mean"]) and pd.isna(row["n"])
    ch = ev.tables["change"].set_index("buurt")
    assert ch.loc["B11", "suppressed"] and pd.isna(ch.loc["B11", "diff"])


def test_text_weight_column_raises_naming_the_column() -> None:
    b, a = _files()
    b["gewicht"] = "hoog"
    with pytest.raises(DataError, match=r"weight column 'gewicht' of the baseline data.*hoog"):
        ce.evaluate(b, a, weight="gewicht", **_kw())


def test_numeric_text_weights_are_read() -> None:
    b, a = _files()
    b2 = b.assign(
        gewicht=b["gewicht"].map(lambda v: "" if pd.isna(v) else str(v).replace(".", ","))
    )
    x = ce.evaluate(b2, a, weight="gewicht", **_kw()).tables["community_scores"]
    y = ce.evaluate(b, a, weight="gewicht", **_kw()).tables["community_scores"]
    assert_allclose(x["mean"], y["mean"], rtol=1e-12)


def test_nan_weights_are_excluded_rows_not_dropped_silently() -> None:
    b, a = _files()
    b.loc[b.index[:10], "gewicht"] = np.nan
    ev = ce.evaluate(b, a, weight="gewicht", **_kw())
    w = ev.waves[0]
    assert w.exclusions["invalid_weight"] == 10 + 1  # row 17 has weight 0 (row 3 was NaN)
    assert w.n_rows_usable + w.n_rows_excluded == len(b)


def test_single_psu_in_a_stratum_follows_the_lonely_psu_rule() -> None:
    """R's default (fail) raises naming the rule; 'remove' / 'adjust' run as in survey."""
    b, a = _files()
    b.loc[b["regio"] == "R2", "blok"] = "one-block"  # stratum R2 of the baseline: one PSU
    with pytest.raises(DataError, match=r"only one PSU.*lonely_psu"):
        ce.evaluate(b, a, design=DESIGN, **_kw())
    for rule in ("remove", "adjust"):
        d = DESIGN.model_copy(update={"lonely_psu": rule})
        ev = ce.evaluate(b, a, design=d, **_kw())
        assert ev.design is not None and ev.design["lonely_psu"] == rule
        sc = ev.tables["community_scores"]
        r2 = sc["buurt"].str.startswith("B2") & (sc["wave"] == "baseline")
        if rule == "remove":  # the lonely stratum contributes no variance
            assert (sc.loc[r2, "se"] == 0).all()
        else:
            assert (sc.loc[r2, "se"] > 0).all()


def test_missing_stratum_raises_naming_the_file_rows() -> None:
    b, a = _files()
    b.loc[5, "regio"] = np.nan
    with pytest.raises(DataError, match=r"strata column 'regio' of the baseline file is empty"):
        ce.evaluate(b, a, design=DESIGN, **_kw())


def test_weight_and_design_must_agree() -> None:
    with pytest.raises(DataError, match="disagree"):
        ce.evaluate(*_files(), weight="x", design=DESIGN, **_kw())


def test_cli_weight_strata_cluster(tmp_path: Path) -> None:
    from collective_efficacy.cli import main

    out = tmp_path / "out"
    rc = main(["evaluate", str(FIX / "evaluation_baseline.csv"), str(FIX / "evaluation_end.csv"),
               "--community", "buurt", "--respondent", "rid", "--weight", "gewicht",
               "--strata", "regio", "--cluster", "blok", "--skip-impact", "--quiet",
               "--out", str(out)])  # fmt: skip
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert res["design"]["cluster"] == "blok"
    sc = pd.DataFrame(res["sections"]["community_scores"]).set_index(["buurt", "wave"])
    ref = pd.DataFrame(REF["means"]).set_index(["community", "wave"])
    assert_allclose(sc.loc[ref.index, "se"], ref["se"], rtol=RTOL)
    assert "Results are weighted" in (out / "report.md").read_text()


def test_comparison_communities_under_weights_have_no_programme_effect() -> None:
    """The programme effect is a term of the change model, which is not fitted under weights:
    the note says why, and the report shows no programme effect (it would be unweighted)."""
    b, a = _files()
    table = pd.DataFrame({"buurt": sorted(b["buurt"].unique())})
    table["vergelijking"] = table["buurt"].str.startswith("B0").astype(int)
    ev = ce.evaluate(b, a, comparison=table, design=DESIGN, **_kw())
    assert "change_model_fixed" not in ev.sections
    assert ev.note_messages["change_model"].code == "change_model_weighted"
    md = ev.to_markdown()
    assert "Programme effect" not in md and "Results are weighted" in md

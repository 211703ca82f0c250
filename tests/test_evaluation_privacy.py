"""Privacy and wording of the evaluation report: suppression everywhere, no respondent-level
detail, and sentences that say what the numbers say (review findings, each with its case)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce

INST = ce.load_instrument("sampson1997")
ITEMS = INST.scale("collective_efficacy").items
COLS = ce.datasets.EXAMPLE_COLUMNS


def make(sizes: dict[str, int], seed: int, shift: float = 0.0) -> pd.DataFrame:
    """Sampson items 1-5 for communities of the given sizes (community mean + resident noise)."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, (name, n) in enumerate(sizes.items()):
        centre = 3 + shift + 0.3 * np.sin(k)
        own = centre + rng.normal(0, 0.6, n)
        cells = {i: np.clip(np.round(own + rng.normal(0, 0.7, n)), 1, 5) for i in ITEMS}
        frames.append(
            pd.DataFrame({"rid": [f"R{seed}_{name}_{j}" for j in range(n)], "community": name})
            .assign(**cells)
            .astype({i: int for i in ITEMS})
        )
    return pd.concat(frames, ignore_index=True)


def run(before: pd.DataFrame, after: pd.DataFrame, **kw):
    return ce.evaluate(before, after, community="community", respondent="rid", **kw)


@pytest.fixture(scope="module")
def one_small_hidden() -> ce.Evaluation:
    """A baseline with one community of 4 (hidden) beside communities of 30 and 40; the tests
    that use it only read it."""
    b = make({"A": 30, "B": 40, "Small": 4}, 1)
    a = make({"A": 30, "B": 40, "Small": 25}, 2)
    return run(b, a)


def test_secondary_suppression_blocks_differencing(one_small_hidden: ce.Evaluation) -> None:
    """One community of 4 hidden: overall minus the shown ones would give its mean."""
    ev = one_small_hidden
    sc = ev.tables["community_scores"]
    base = sc[sc["wave"] == "baseline"].set_index("community")
    assert base.loc["Small", "suppressed"] and base.loc["A", "suppressed"]  # A: smallest shown
    assert base.loc["A", "reason"].startswith("secondary suppression")
    assert not base.loc["B", "suppressed"]
    # pooled figures use the shown communities only (issue 13), so the overall row holds B
    # alone; the rows used, which include the hidden ones, leave a pool of >= min_n
    o = ev.tables["change"].iloc[-1]
    assert o["n_before"] == 40
    hidden_n = ev.waves[0].n_rows_usable - 40
    assert hidden_n >= ev.min_n
    ch = ev.tables["change"].set_index("community")
    assert ch.loc["A", "suppressed"] and pd.isna(ch.loc["A", "diff"]) and pd.isna(ch.loc["A", "p"])
    ag = pd.DataFrame(ev.sections["community_agreement"])
    ag = ag[ag["wave"] == "baseline"].set_index("community")
    assert ag.loc["A", "suppressed"] and pd.isna(ag.loc["A", "rwg_j"])
    # secondary suppression depends only on which communities are small, never on their size
    # (issue 13: "only when they hold fewer than min_n together" told the reader they do), and
    # a wave without a small community has none
    ev2 = run(make({"A": 30, "B": 40, "S1": 6, "S2": 5}, 3), make({"A": 30, "B": 40}, 4))
    sc2 = ev2.tables["community_scores"]
    base2 = sc2[sc2["wave"] == "baseline"].set_index("community")
    assert base2.loc["A", "reason"].startswith("secondary")
    assert not sc2.loc[sc2["wave"] == "end_of_cycle", "reason"].str.startswith("secondary").any()


def test_suppression_follows_scored_respondents_in_agreement() -> None:
    """11 rows but only 8 scorable: suppressed in the scores, so in the agreement table too."""
    b, a = ce.datasets.load_example(split=True)
    b = b.copy()
    items = [c for c in b.columns if c.startswith("v")]
    rows = b.index[b["buurt"] == "Buurt M2"][:3]
    b.loc[rows, items[1:]] = np.nan
    ev = ce.evaluate(b, a, community="buurt", respondent="respondent_id", columns=COLS)
    sc = ev.tables["community_scores"]
    m2 = sc[(sc["buurt"] == "Buurt M2") & (sc["wave"] == "baseline")].iloc[0]
    assert m2["suppressed"]
    ag = pd.DataFrame(ev.sections["community_agreement"])
    row = ag[(ag["buurt"] == "Buurt M2") & (ag["wave"] == "baseline")].iloc[0]
    assert row["suppressed"] and pd.isna(row["rwg_j"]) and pd.isna(row["ad"]) and pd.isna(row["n"])


def test_no_respondent_ids_or_cell_values_in_outputs(tmp_path) -> None:
    b = make({"A": 30, "B": 30}, 1)
    b.loc[3, "rid"] = b.loc[2, "rid"]  # a duplicate id
    b["SC1"] = b["SC1"].astype(object)
    b.loc[5, "SC1"] = "zeventien"  # a dirty cell
    ev = run(b, make({"A": 30, "B": 30}, 2))
    texts = [ev.to_html(), ev.to_markdown(), ev.to_json()]
    for text in texts:
        assert "R1_A_2" not in text and "zeventien" not in text
    assert any("'rid': duplicate respondent (1 cell)" in p for p in ev.waves[0].problems)
    assert any("'SC1': unknown label (1 cell)" in p for p in ev.waves[0].problems)


def test_suppressed_impact_rows_carry_no_ratings(example_outputs) -> None:
    tmp_path = example_outputs("en")
    res = json.loads((tmp_path / "results.json").read_text())
    sup = [r for r in res["sections"]["impact"] if r["suppressed"]]
    assert sup
    for r in sup:
        assert r["partner_cooperation"] is None and r["group_development"] is None
        assert r["n"] is None and r["meetings_held"] is None and r["level"] is None
    fc = json.loads((tmp_path / "map_baseline.geojson").read_text())
    for f in fc["features"]:
        p = f["properties"]
        if p.get("suppressed"):
            assert p.get("partner_cooperation") is None and p.get("n") is None


def test_cutpoints_follow_a_rescaled_score() -> None:
    """A 0-10 rescaled scale gets the 1-5 cut-points moved onto 0-10 (2 -> 2.5, 4 -> 7.5)."""
    from collective_efficacy.evaluation import _cutpoints_for

    cbs = ce.load_instrument("cbs_vm_sociale_cohesie")
    scale = next(s.id for s in cbs.scales if s.rescale is not None)
    lo, hi = cbs.scale(scale).rescale
    codes = [c for i in cbs.scale(scale).items for c in cbs.response_scale(i).codes]
    k = max(codes) - min(codes)
    expect = [lo + (c - 1) / 4 * (hi - lo) for c in (2.0, 2.5, 3.0, 3.5, 4.0)]
    assert _cutpoints_for(cbs, scale) == pytest.approx(expect) and k > 0
    assert _cutpoints_for(INST, "collective_efficacy") == pytest.approx([2, 2.5, 3, 3.5, 4])


def test_p_zero_counts_as_clear_and_ci_level_in_text() -> None:
    rng = np.random.default_rng(0)

    def big(n: int, m: float, tag: str) -> pd.DataFrame:
        cells = {i: np.clip(np.round(rng.normal(m, 0.4, n)), 1, 5).astype(int) for i in ITEMS}
        return pd.DataFrame({"rid": [f"{tag}{j}" for j in range(n)], "community": "Big", **cells})

    b = pd.concat([big(3000, 2, "b"), make({"X": 30, "Y": 30}, 3)], ignore_index=True)
    a = pd.concat([big(3000, 4, "a"), make({"X": 30, "Y": 30}, 4)], ignore_index=True)
    ev = run(b, a, ci=0.90)
    ch = ev.tables["change"].set_index("community")
    assert ch.loc["Big", "p_adjusted"] == 0.0
    n_up = int(((ch["level"] == "community") & (ch["p_adjusted"] < 0.05) & (ch["diff"] > 0)).sum())
    md = ev.to_markdown()
    assert f"{n_up} of 3 communities improved clearly" in md
    assert "90% CI" in md and "95% CI" not in md


def test_dutch_dates_are_day_first_and_iso_stays_iso() -> None:
    b = make({"A": 30, "B": 30}, 1).assign(datum=[f"{d:02d}-04-2026" for d in range(1, 31)] * 2)
    a = make({"A": 30, "B": 30}, 2).assign(datum="2026-11-20")
    ev = run(b, a, date="datum")
    assert (ev.waves[0].date_first, ev.waves[0].date_last) == ("2026-04-01", "2026-04-30")
    assert ev.waves[1].date_first == "2026-11-20"


def test_negative_icc_is_not_a_negative_percentage() -> None:
    rng = np.random.default_rng(5)
    n = 60  # no community effect at all, tiny communities: ICC(1) at or below 0
    cells = {i: rng.integers(1, 6, n) for i in ITEMS}
    b = pd.DataFrame(
        {"rid": [f"b{j}" for j in range(n)], "community": np.repeat(list("ABCDEF"), 10)}
    )
    b = b.assign(**cells)
    a = b.assign(rid=[f"a{j}" for j in range(n)])
    ev = run(b, a)
    icc1 = ev.tables["aggregation"]["icc1"].to_numpy()
    text = ev.to_markdown() + ev.to_markdown(lang="nl")
    assert "-" + "%" not in text.replace(" ", "")
    assert (icc1 <= 0).all()  # seed 5: ICC(1) = -0.106 in both waves
    assert "practically none of the differences" in text and "vrijwel geen" in text


def test_one_wave_community_is_labelled_not_measured() -> None:
    b = make({"A": 30, "B": 30, "Only_b": 25}, 1)
    a = make({"A": 30, "B": 30}, 2)
    md = run(b, a).to_markdown()
    assert "| Only_b | – | – | not measured in this wave |" in md


def test_dollar_names_and_markdown_escaping() -> None:
    b = make(
        {"Wijk $5 en $6": 30, "Buurt_$\\frac{1}{0$": 30, "<img src=x onerror=alert(1)>": 30}, 1
    )
    a = make(
        {"Wijk $5 en $6": 30, "Buurt_$\\frac{1}{0$": 30, "<img src=x onerror=alert(1)>": 30}, 2
    )
    ev = run(b, a, min_n=5)
    html = ev.to_html()  # mathtext in a tick label must not crash the forest plot
    assert "<img src=x" not in html
    md = ev.to_markdown()
    assert "<img src=x" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md


def test_item_without_answers_in_a_wave_is_noted_for_agreement() -> None:
    b = make({"A": 30, "B": 30, "C": 30}, 1)
    a = make({"A": 30, "B": 30, "C": 30}, 2).assign(ISC5=np.nan)
    ev = run(b, a)
    assert "ISC5" in ev.notes["agreement_end_of_cycle"]
    (rec,) = [r for r in ev.sections["agreement"] if r["wave"] == "end_of_cycle"]
    assert rec["n_with_rwg_j"] == 3 and rec["median_rwg_j"] is not None


def test_example_evaluation_keeps_assessments_for_shown_communities(example_evaluation) -> None:
    ev = example_evaluation
    lv = ev.tables["impact"]
    full = lv[~lv["suppressed"].astype(bool) & (lv["basis"] == "full")]
    assert len(full) > 40 and full["partner_cooperation"].notna().all()


def test_secondary_suppression_reason_reveals_no_count(one_small_hidden: ce.Evaluation) -> None:
    ev = one_small_hidden
    secondary = [
        str(r.get("reason", "")) + str(r.get("note", ""))
        for name in ("community_scores", "change", "impact", "impact_change")
        for r in ev.sections[name]
        if "secondary" in str(r.get("reason", "")) + str(r.get("note", ""))
    ]
    assert secondary and not any(ch.isdigit() for text in secondary for ch in text)
    assert "to protect a smaller community" in ev.to_markdown()


def test_impact_change_notes_are_in_the_report_language(example_evaluation) -> None:
    ev = example_evaluation
    nl = ev.to_markdown(lang="nl")
    section = nl[nl.index("### Verandering van het impactniveau") :]
    assert "geen niveau bij de nulmeting" in section
    assert "no level before" not in section and "survey-only levels" not in section


def test_weighted_overall_figures_do_not_reveal_a_suppressed_community() -> None:
    """Weighted (issue 18). An attacker holds the published overall weighted means and sums of
    weights and every shown community's: overall minus the shown communities must leave
    nothing (the design is restricted to the shown communities, and n_h of a stratum, which
    enters every design-based SE, counts shown PSUs only). Stronger: changing the hidden
    community's answers and weights (x100) changes no published byte."""
    sizes = {"A": 30, "B": 40, "C": 35, "Small": 4}
    b, a = make(sizes, 11), make(sizes | {"Small": 30}, 12, shift=0.3)
    rng = np.random.default_rng(5)
    b["w"], a["w"] = rng.uniform(0.5, 4, len(b)), rng.uniform(0.5, 4, len(a))
    ev = run(b, a, weight="w", columns=None, skip_impact=True)
    sc = ev.tables["community_scores"]
    base = sc[sc["wave"] == "baseline"].set_index("community")
    assert base.loc["Small", "suppressed"] and base.loc["A", "suppressed"]  # + secondary
    assert base[["mean", "se", "sum_weights", "n_eff"]].loc[["Small", "A"]].isna().all().all()
    o = ev.tables["change"].iloc[-1]
    shown = base[~base["suppressed"].astype(bool)]
    # overall weighted total minus the shown communities' totals: exactly nothing left
    assert o["sum_weights_before"] == pytest.approx(shown["sum_weights"].sum(), rel=1e-12)
    total = (shown["mean"] * shown["sum_weights"]).sum()
    assert o["mean_before"] * o["sum_weights_before"] == pytest.approx(total, rel=1e-12)
    # the hidden community (and the secondary one) can be anything: the results are the same
    b2 = b.copy()
    small = b2["community"] == "Small"
    b2.loc[small, "w"] *= 100
    b2.loc[small, ITEMS] = 6 - b2.loc[small, ITEMS]
    big_a = b2["community"] == "A"
    b2.loc[big_a, "w"] *= 7
    ev2 = run(b2, a, weight="w", columns=None, skip_impact=True)
    assert ev2.to_json() == ev.to_json()
    assert ev2.to_markdown() == ev.to_markdown()
    # nor its size: 4 or 7 hidden respondents (a full-sample design would change every SE
    # through the stratum's n_h / (n_h - 1), and so give the hidden size away)
    more = make({"Small": 7}, 13).assign(w=2.0, rid=lambda d: d["rid"] + "x")
    ev3 = run(pd.concat([b, more.iloc[4:]], ignore_index=True), a, weight="w", columns=None,
              skip_impact=True)  # fmt: skip
    assert ev3.sections == ev.sections and ev3.notes == ev.notes  # (row counts: see above)

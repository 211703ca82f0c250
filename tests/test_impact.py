"""The 0-5 impact scale: cohesion cut-points (hand-computed), the combination rule (exhaustive and
property-based), assessments and errors, and the change between waves."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.errors import DataError, ResponseValidationError
from collective_efficacy.impact import (
    DEFAULT_CUTPOINTS,
    IMPACT_RULES,
    RELEASE_LEVEL,
    SURVEY_ONLY_CAP,
    cohesion_levels,
    impact_change,
    impact_levels,
)

# All 6^3 = 216 combinations of (cohesion level, partner, group): an exhaustive check is a proof
# for the integer dimensions. Cohesion level k is produced by the score DEFAULT_CUTPOINTS[k-1]
# (level 0 by 1.0), so the table goes through the public function end to end.
SCORE_OF_LEVEL = [1.0, *DEFAULT_CUTPOINTS]
GRID = np.array(list(itertools.product(range(6), repeat=3)))


def _grid_levels(rule: str = "default") -> pd.DataFrame:
    names = [f"c{i}" for i in range(len(GRID))]
    scores = np.array(SCORE_OF_LEVEL)[GRID[:, 0]]
    coh = pd.DataFrame({"community": names, "mean": scores, "ci_low": scores, "ci_high": scores})
    ass = pd.DataFrame(
        {"community": names, "partner_cooperation": GRID[:, 1], "group_development": GRID[:, 2]}
    )
    return impact_levels(coh, assessments=ass, rule=rule)


# -- cohesion dimension: hand-computed reference cases ------------------------------------------
def test_cohesion_levels_default_cutpoints_hand_computed() -> None:
    # level = number of cut-points (2.0, 2.5, 3.0, 3.5, 4.0) <= score; exact, so tolerance 0
    scores = [1.0, 1.99, 2.0, 2.49, 2.5, 2.99, 3.0, 3.49, 3.5, 3.99, 4.0, 5.0]
    expected = [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert cohesion_levels(scores).tolist() == expected


def test_cohesion_levels_custom_cutpoints_on_0_10_scale() -> None:
    # a 0-10 rescaled score: cut-points 2, 4, 5, 6, 8 (hand-computed levels)
    got = cohesion_levels([0.0, 3.9, 4.0, 5.5, 7.99, 8.0, np.nan], cutpoints=[2, 4, 5, 6, 8])
    assert got.tolist()[:6] == [0, 1, 2, 3, 4, 5]
    assert got.isna().tolist() == [False] * 6 + [True]
    assert str(got.dtype) == "Int64"


@pytest.mark.parametrize(
    "bad", [[2, 3, 4, 5], [2, 2, 3, 4, 5], [5, 4, 3, 2, 1], [1, 2, 3, 4, np.inf], "abc"]
)
def test_cohesion_levels_bad_cutpoints(bad: object) -> None:
    with pytest.raises(DataError, match="cutpoints"):
        cohesion_levels([3.0], cutpoints=bad)  # type: ignore[arg-type]


def test_cohesion_dimension_carries_uncertainty_hand_computed() -> None:
    # score 3.1 -> 3; ci [2.6, 3.6] -> low 2, high 4 (cut-points 2.5 <= 2.6 < 3.0; 3.5 <= 3.6)
    coh = pd.DataFrame({"community": ["A"], "mean": [3.1], "ci_low": [2.6], "ci_high": [3.6]})
    out = impact_levels(coh)
    row = out.iloc[0]
    assert (row["cohesion_level"], row["cohesion_level_low"], row["cohesion_level_high"]) == (
        3,
        2,
        4,
    )
    # survey-only: min(level, 2) for each of the three
    assert (row["level"], row["level_low"], row["level_high"]) == (2, 2, 2)
    assert row["basis"] == "survey_only"
    assert row["decided_by"] == "survey_only_cap"
    assert row["cohesion_score"] == 3.1


# -- the default rule on hand-computed cases --------------------------------------------------
@pytest.mark.parametrize(
    ("c", "p", "g", "level", "decided_by"),
    [
        (0, 0, 0, 0, "combined"),  # under pressure
        (1, 1, 0, 0, "combined"),  # floor(2/3) = 0
        (2, 1, 1, 1, "combined"),  # floor(4/3) = 1
        (3, 3, 3, 3, "combined"),  # ready for release
        (5, 3, 3, 3, "combined"),  # floor(11/3) = 3
        (5, 5, 5, 5, "combined"),
        (5, 5, 2, 2, "readiness_gate"),  # floor(12/3) = 4, but group development < 3
        (5, 2, 5, 2, "readiness_gate"),  # partner cooperation < 3
        (0, 5, 5, 3, "combined"),  # floor(10/3) = 3
        (1, 3, 4, 2, "combined"),  # floor(8/3) = 2; the gate is open but not binding
    ],
)
def test_default_rule_hand_computed(c: int, p: int, g: int, level: int, decided_by: str) -> None:
    coh = pd.DataFrame({"community": ["A"], "mean": [SCORE_OF_LEVEL[c]]})
    ass = pd.DataFrame({"community": ["A"], "partner_cooperation": [p], "group_development": [g]})
    row = impact_levels(coh, assessments=ass, ci_low=None, ci_high=None).iloc[0]
    assert row["cohesion_level"] == c
    assert row["level"] == level
    assert row["decided_by"] == decided_by
    assert row["basis"] == "full"
    assert row["level_low"] == row["level_high"] == level  # no interval: low = high = level


@pytest.mark.parametrize(("rule", "expected"), [("default", 2), ("mean", 3), ("min", 2)])
def test_builtin_rules_hand_computed(rule: str, expected: int) -> None:
    # (C, P, G) = (2, 3, 3), sum 8, gate open (P, G >= 3):
    # default floor(8/3) = 2; mean: nearest integer to 2.67 = 3; min = 2
    coh = pd.DataFrame({"community": ["A"], "mean": [SCORE_OF_LEVEL[2]]})
    ass = pd.DataFrame({"community": ["A"], "partner_cooperation": [3], "group_development": [3]})
    out = impact_levels(coh, assessments=ass, ci_low=None, ci_high=None, rule=rule)
    assert out["level"].iloc[0] == expected
    assert out["rule"].iloc[0] == rule


# -- properties: exhaustive over the 216 integer combinations, per built-in rule ---------------
@pytest.mark.parametrize("rule", list(IMPACT_RULES))
def test_rule_properties_exhaustive(rule: str) -> None:
    out = _grid_levels(rule)
    level = out["level"].to_numpy(dtype=int)
    c, p, g = GRID.T
    assert (out["cohesion_level"].to_numpy(dtype=int) == c).all()
    assert (out["basis"] == "full").all()
    # bounded
    assert level.min() >= 0 and level.max() <= 5
    # level >= 3 only when both assessed dimensions are >= 3
    high = level >= RELEASE_LEVEL
    assert ((p[high] >= 3) & (g[high] >= 3)).all()
    # monotone: raising any single dimension by one never lowers the level (by transitivity,
    # raising any dimensions by any amount never does)
    lookup = {tuple(t): lv for t, lv in zip(GRID.tolist(), level.tolist())}
    for (ci, pi, gi), lv in lookup.items():
        for d in range(3):
            up = [ci, pi, gi]
            if up[d] < 5:
                up[d] += 1
                assert lookup[tuple(up)] >= lv, (rule, (ci, pi, gi), up)


# -- properties: hypothesis on continuous scores, intervals and cut-points ----------------------
cutpoint_sets = st.lists(
    st.floats(1.0, 5.0, allow_nan=False), min_size=5, max_size=5, unique=True
).map(sorted)
score_triples = st.tuples(st.floats(1.0, 5.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0)).map(
    lambda t: (t[0], t[0] - t[1], t[0] + t[2])
)
dims = st.one_of(st.none(), st.integers(0, 5))
raises = st.tuples(st.floats(0.0, 2.0), st.integers(0, 3), st.integers(0, 3))


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(score_triples, dims, dims, raises), min_size=1, max_size=12),
    cut=cutpoint_sets,
    rule=st.sampled_from(list(IMPACT_RULES)),
)
def test_levels_properties_hypothesis(
    rows: list[tuple[tuple[float, float, float], int | None, int | None, tuple[float, int, int]]],
    cut: list[float],
    rule: str,
) -> None:
    names = [f"k{i}" for i in range(len(rows))]
    s = np.array([r[0][0] for r in rows])
    lo = np.array([r[0][1] for r in rows])
    hi = np.array([r[0][2] for r in rows])
    p = pd.Series([r[1] for r in rows], dtype="Int64")
    g = pd.Series([r[2] for r in rows], dtype="Int64")
    coh = pd.DataFrame({"community": names, "mean": s, "ci_low": lo, "ci_high": hi})
    ass = pd.DataFrame({"community": names, "partner_cooperation": p, "group_development": g})
    coh_copy, ass_copy = coh.copy(), ass.copy()
    out = impact_levels(coh, assessments=ass, rule=rule, cutpoints=cut)
    pd.testing.assert_frame_equal(coh, coh_copy)  # inputs untouched
    pd.testing.assert_frame_equal(ass, ass_copy)
    level = out["level"].to_numpy(dtype=int)
    # bounded, and the interval of levels contains the level
    assert ((level >= 0) & (level <= 5)).all()
    assert (out["level_low"].to_numpy(dtype=int) <= level).all()
    assert (level <= out["level_high"].to_numpy(dtype=int)).all()
    # no assessment (or an incomplete one): labelled survey-only, capped below 3
    assessed = ~(p.isna() | g.isna()).to_numpy(dtype=bool)
    basis = out["basis"].to_numpy()
    assert (basis[~assessed] == "survey_only").all()
    assert (level[~assessed] <= SURVEY_ONLY_CAP).all()
    assert (basis[assessed] == "full").all()
    # level >= 3 only with both assessed dimensions >= 3
    pp = p.to_numpy(dtype=float, na_value=-1)
    gg = g.to_numpy(dtype=float, na_value=-1)
    assert ((pp[level >= 3] >= 3) & (gg[level >= 3] >= 3)).all()
    # monotone: raise any subset of the dimensions of each row by any amount (score, interval
    # and both ratings, capped at 5): no level goes down
    ds = np.array([r[3][0] for r in rows])
    dp = pd.Series([r[3][1] for r in rows], dtype="Int64")
    dg = pd.Series([r[3][2] for r in rows], dtype="Int64")
    coh_up = coh.assign(mean=s + ds, ci_low=lo + ds, ci_high=hi + ds)
    ass_up = ass.assign(
        partner_cooperation=(p + dp).clip(upper=5), group_development=(g + dg).clip(upper=5)
    )
    up = impact_levels(coh_up, assessments=ass_up, rule=rule, cutpoints=cut)["level"].to_numpy(
        dtype=int
    )
    assert (up >= level).all()


# -- custom rules -----------------------------------------------------------------------------
def test_custom_rule_keeps_gate_and_cap() -> None:
    def generous(c: np.ndarray, p: np.ndarray, g: np.ndarray) -> np.ndarray:
        return np.full(c.shape, 5)

    coh = pd.DataFrame({"community": list("ABC"), "mean": [3.0, 3.0, 3.0]})
    ass = pd.DataFrame(
        {"community": ["A", "B"], "partner_cooperation": [3, 1], "group_development": [3, 5]}
    )
    out = impact_levels(coh, assessments=ass, ci_low=None, ci_high=None, rule=generous)
    assert out["level"].tolist() == [5, 2, 2]
    assert out["decided_by"].tolist() == ["combined", "readiness_gate", "survey_only_cap"]
    assert out["rule"].iloc[0] == "custom:generous"


@pytest.mark.parametrize("value", [6, -1, 2.5, np.nan])
def test_custom_rule_bad_output_raises(value: float) -> None:
    coh = pd.DataFrame({"community": ["A"], "mean": [3.0]})
    ass = pd.DataFrame({"community": ["A"], "partner_cooperation": [3], "group_development": [3]})
    with pytest.raises(DataError, match="expected integers 0-5"):
        impact_levels(
            coh, assessments=ass, ci_low=None, ci_high=None, rule=lambda c, p, g: c * 0 + value
        )


def test_unknown_rule_name() -> None:
    coh = pd.DataFrame({"community": ["A"], "mean": [3.0], "ci_low": [2.9], "ci_high": [3.1]})
    with pytest.raises(DataError, match="'rule' parameter"):
        impact_levels(coh, rule="median")


# -- inputs from the pipeline: suppression, scales, waves, validate ----------------------------
@pytest.fixture(scope="module")
def example_cohesion() -> pd.DataFrame:
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
    return ce.aggregate(ce.score(v), community="buurt", wave="meting", min_n=5)


@pytest.fixture(scope="module")
def example_assessments() -> pd.DataFrame:
    from collective_efficacy.datasets import load_example_assessments

    return load_example_assessments()


def test_example_pipeline(
    example_cohesion: pd.DataFrame, example_assessments: pd.DataFrame
) -> None:
    va = ce.validate(example_assessments, "strongpact_assessment", community="buurt", wave="meting")
    assert va.report.n_rows_excluded == 0
    assert va.report.ignored_columns == [
        "meetings_held",
        "self_organised_activities",
        "active_members",
        "leaders",
    ]
    # three scales aggregated: collective_efficacy is chosen by default
    out = impact_levels(example_cohesion, assessments=va, community="buurt", wave="meting")
    ce_rows = example_cohesion[example_cohesion["scale"] == "collective_efficacy"]
    assert len(out) == len(ce_rows) == 80
    np.testing.assert_array_equal(out["cohesion_score"], ce_rows["mean"])
    # the suppressed community (Buurt L1 at baseline, 4 respondents) gets no level, with reason
    l1 = out[(out["buurt"] == "Buurt L1") & (out["meting"] == "nulmeting")].iloc[0]
    assert bool(l1["suppressed"]) and pd.isna(l1["level"]) and l1["basis"] == "none"
    assert l1["reason"] == "fewer than 5 respondents"
    assert l1["partner_cooperation"] == 2  # the assessment is still shown
    # communities without assessment are survey-only, never full
    not_assessed = out["buurt"].isin(["Buurt C2", "Buurt M2", "Buurt Q1", "Buurt W1"])
    assert (out.loc[not_assessed, "basis"] == "survey_only").all()
    assert out.loc[not_assessed, "reason"].str.startswith("no assessment").all()
    n2 = out[(out["buurt"] == "Buurt N2")].set_index("meting")["basis"]
    assert n2.to_dict() == {"eindmeting": "full", "nulmeting": "survey_only"}
    # evidence columns come through from a DataFrame (ce.validate drops them)
    out2 = impact_levels(
        example_cohesion, assessments=example_assessments, community="buurt", wave="meting"
    )
    assert str(out2["leaders"].dtype) == "Int64"
    pd.testing.assert_series_equal(out2["level"], out["level"])
    # another scale on request
    sc = impact_levels(
        example_cohesion, assessments=va, community="buurt", wave="meting", scale="social_cohesion"
    )
    np.testing.assert_array_equal(
        sc["cohesion_score"],
        example_cohesion.loc[example_cohesion["scale"] == "social_cohesion", "mean"],
    )


def test_several_scales_without_a_choice() -> None:
    coh = pd.DataFrame(
        {
            "community": ["A", "A"],
            "scale": ["x", "y"],
            "mean": [3.0, 3.0],
            "ci_low": 2.9,
            "ci_high": 3.1,
        }
    )
    with pytest.raises(DataError, match="several scales"):
        impact_levels(coh)
    assert len(impact_levels(coh, scale="y")) == 1


def test_eb_scores_without_interval() -> None:
    coh = pd.DataFrame({"buurt": ["A", "B"], "eb_score": [3.2, np.nan]})
    out = impact_levels(coh, community="buurt", score="eb_score", ci_low=None, ci_high=None)
    assert out["level"].tolist()[0] == 2
    assert pd.isna(out["level"].iloc[1])
    assert out["reason"].iloc[1] == "no cohesion score ('eb_score' missing)"


def test_missing_interval_in_a_row() -> None:
    coh = pd.DataFrame({"community": ["A"], "mean": [3.2], "ci_low": [np.nan], "ci_high": [np.nan]})
    out = impact_levels(coh).iloc[0]
    assert out["level"] == 2 and pd.isna(out["level_low"]) and pd.isna(out["level_high"])
    assert "no confidence interval" in out["reason"]


def test_incomplete_assessment_is_survey_only() -> None:
    coh = pd.DataFrame({"community": ["A"], "mean": [4.5], "ci_low": [4.2], "ci_high": [4.8]})
    ass = pd.DataFrame(
        {"community": ["A"], "partner_cooperation": [5], "group_development": [None]}
    )
    out = impact_levels(coh, assessments=ass).iloc[0]
    assert out["basis"] == "survey_only" and out["level"] == 2
    assert out["reason"].startswith("assessment incomplete (group_development missing)")


# -- errors -----------------------------------------------------------------------------------
def test_level_outside_range_raises_naming_column_row_value() -> None:
    coh = pd.DataFrame({"community": ["A", "B"], "mean": [3.0, 3.0]})
    ass = pd.DataFrame(
        {"community": ["A", "B"], "partner_cooperation": [3, 9], "group_development": [2, 2]},
        index=["r1", "r2"],
    )
    with pytest.raises(
        DataError, match=r"'partner_cooperation', index label 'r2': value\(s\) \[9.0\]"
    ):
        impact_levels(coh, assessments=ass, ci_low=None, ci_high=None)


def test_validate_catches_bad_levels_and_recodes_missing() -> None:
    ass = pd.DataFrame(
        {
            "buurt": ["A", "B", "C"],
            "partner_cooperation": [3, 7, 9],
            "group_development": [
                "3",
                "1 Some residents know each other by face; there is no "
                "supported leadership, the threshold to meet is high and trust is low",
                2,
            ],
        }
    )
    with pytest.raises(
        ResponseValidationError, match="column 'partner_cooperation', index label 1"
    ) as err:
        ce.validate(ass, "strongpact_assessment", community="buurt")
    assert "value 7; expected integer 0-5 or missing code 9" in str(err.value)
    v = ce.validate(ass, "strongpact_assessment", community="buurt", errors="exclude")
    part = v.data["partner_cooperation"].to_numpy()
    assert part[0] == 3.0 and np.isnan(part[1])  # 7 (out of range) set to missing and reported
    assert np.isnan(part[2])  # 9 = not assessed -> missing
    assert v.report.recoded_missing == {"partner_cooperation": {"9": 1}}
    assert v.data["group_development"].tolist() == [3.0, 1.0, 2.0]  # label -> code


def test_unknown_community_in_assessments_raises() -> None:
    coh = pd.DataFrame({"buurt": ["Buurt A1", "Buurt B1"], "mean": [3.0, 3.0]})
    ass = pd.DataFrame(
        {
            "buurt": ["Buurt A1", "Buurt B 1", "Buurt Z9"],
            "partner_cooperation": [1, 2, 3],
            "group_development": [1, 2, 3],
        }
    )
    with pytest.raises(
        DataError,
        match=r"absent from cohesion_scores: \[\{'buurt': 'Buurt B 1'\}, \{'buurt': 'Buurt Z9'\}\]",
    ):
        impact_levels(coh, assessments=ass, community="buurt", ci_low=None, ci_high=None)


def test_unknown_wave_in_assessments_raises() -> None:
    coh = pd.DataFrame({"buurt": ["A"], "w": ["base"], "mean": [3.0]})
    ass = pd.DataFrame(
        {"buurt": ["A"], "w": ["end"], "partner_cooperation": [1], "group_development": [1]}
    )
    with pytest.raises(DataError, match=r"\{'buurt': 'A', 'w': 'end'\}"):
        impact_levels(coh, assessments=ass, community="buurt", wave="w", ci_low=None, ci_high=None)


def test_duplicates_and_bad_interval_raise() -> None:
    coh = pd.DataFrame({"community": ["A", "A"], "mean": [3.0, 3.1]})
    with pytest.raises(DataError, match="pass wave="):
        impact_levels(coh, ci_low=None, ci_high=None)
    coh = pd.DataFrame({"community": ["A"], "mean": [3.0], "ci_low": [3.2], "ci_high": [3.5]})
    with pytest.raises(DataError, match="outside"):
        impact_levels(coh)
    with pytest.raises(DataError, match="both ci_low and ci_high"):
        impact_levels(coh, ci_low=None)
    with pytest.raises(DataError, match="not found"):
        impact_levels(coh, score="eb_score")


# -- change between waves ---------------------------------------------------------------------
def test_impact_change_flags_and_notes() -> None:
    before = pd.DataFrame(
        {
            "buurt": ["A", "B", "C", "D", "E"],
            "level": pd.array([1, 3, 2, None, 2], dtype="Int64"),
            "basis": ["full", "full", "survey_only", "none", "full"],
            "reason": ["", "", "no assessment", "fewer than 5 respondents", ""],
        }
    )
    after = pd.DataFrame(
        {
            "buurt": ["A", "B", "C", "D", "F"],
            "level": pd.array([3, 2, 3, 2, 1], dtype="Int64"),
            "basis": ["full", "full", "full", "full", "full"],
        }
    )
    before_copy = before.copy()
    out = impact_change(before, after, community="buurt").set_index("buurt")
    pd.testing.assert_frame_equal(before, before_copy)
    assert out.index.tolist() == ["A", "B", "C", "D", "E", "F"]  # nothing dropped
    assert out.loc["A", "change"] == 2 and bool(out.loc["A", "crossed_release_threshold"])
    assert not bool(out.loc["A", "fell_below_threshold"])
    assert out.loc["B", "change"] == -1 and bool(out.loc["B", "fell_below_threshold"])
    assert "basis changed (survey_only -> full)" in out.loc["C", "note"]
    assert pd.isna(out.loc["D", "change"]) and pd.isna(out.loc["D", "crossed_release_threshold"])
    assert out.loc["D", "note"] == "no level before: fewer than 5 respondents"
    assert out.loc["E", "note"] == "only in levels_before (no end-of-cycle row)"
    assert out.loc["F", "note"] == "only in levels_after (no baseline row)"
    assert pd.isna(out.loc["F", "level_before"]) and out.loc["F", "level_after"] == 1
    assert str(out["change"].dtype) == "Int64"


def test_impact_change_errors() -> None:
    ok = pd.DataFrame({"community": ["A"], "level": [1]})
    with pytest.raises(DataError, match="integer level 0-5"):
        impact_change(ok, pd.DataFrame({"community": ["A"], "level": [7]}))
    with pytest.raises(DataError, match="one row per community"):
        impact_change(ok, pd.DataFrame({"community": ["A", "A"], "level": [1, 2]}))

"""The evaluation's options as one typed object, a ResponseFile as a wave's data, missing
notes and bases as None, and the orchestration shortcuts that replace row-level pandas work
(each checked against the computation it replaces)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import collective_efficacy as ce
from collective_efficacy.datasets import load_example_assessments
from collective_efficacy.evaluation import Evaluation
from collective_efficacy.evaluation._change import _answers_twice, shown_in_both
from collective_efficacy.evaluation._options import EvaluationOptions, resolve_options
from collective_efficacy.evaluation._sections import WAVE
from collective_efficacy.impact import impact_change

COLS = ce.datasets.EXAMPLE_COLUMNS


def _arguments(**over: object) -> dict[str, object]:
    """``evaluate``'s keyword options at their defaults (as ``locals()`` gives them)."""
    args: dict[str, object] = {
        "instrument": "sampson1997", "community": "buurt", "respondent": None, "columns": None,
        "assessments": None, "wave": None, "before": "baseline", "after": "end_of_cycle",
        "geometry": None, "geometry_key": None, "date": None, "scale": None, "cutpoints": None,
        "comparison": None, "min_n": 10, "ci": 0.95, "p_adjust": "holm", "skip_impact": False,
        "skip_map": False, "progress": False, "weight": None, "design": None,
    }  # fmt: skip
    return args | over


def test_options_are_resolved_once_per_wave_and_frozen() -> None:
    opts = resolve_options(
        _arguments(
            community={"baseline": "buurt", "end_of_cycle": "wijk"},
            columns=COLS,
            date="datum",
            min_n=np.int64(12),
            weight="w",
            skip_impact=True,
            geometry={"type": "FeatureCollection", "features": []},
        )
    )
    assert isinstance(opts, EvaluationOptions)
    assert opts.community == {"baseline": "buurt", "end_of_cycle": "wijk"}
    assert opts.column == "buurt" and opts.map_key == "buurt"  # named as the baseline names it
    assert opts.columns == {"baseline": COLS, "end_of_cycle": COLS}
    assert opts.date == {"baseline": "datum", "end_of_cycle": "datum"}
    assert opts.scale == "collective_efficacy" and opts.instrument.id == "sampson1997"
    assert opts.min_n == 12 and type(opts.min_n) is int
    assert opts.design is not None and opts.design.weight == "w"
    # skip_impact leaves out the assessments and the map, and says why
    assert opts.assessments is None and opts.geometry is None
    assert opts.omitted == {"impact": "skipped", "map": "no_impact_levels"}
    with pytest.raises(ValidationError):
        opts.min_n = 5  # type: ignore[misc]  # frozen: one evaluation, one set of options


def test_options_refuse_what_evaluate_refused() -> None:
    with pytest.raises(ce.errors.CollectiveEfficacyError, match="exactly the keys"):
        resolve_options(_arguments(community={"baseline": "buurt"}))
    with pytest.raises(ce.errors.CollectiveEfficacyError, match="disagree"):
        resolve_options(_arguments(weight="w", design=ce.SurveyDesign(weight="v")))


def test_a_response_file_is_a_wave(tmp_path, example_evaluation) -> None:
    """``read_response_file`` results give the evaluation of the same files read by path,
    with the file names as the waves' sources."""
    before, after = ce.datasets.load_example(split=True)
    paths = [tmp_path / "nulmeting.csv", tmp_path / "eindmeting.csv"]
    before.to_csv(paths[0], index=False, sep=";")
    after.to_csv(paths[1], index=False)
    kw = {"community": "buurt", "respondent": "respondent_id", "columns": COLS}
    kw["assessments"] = load_example_assessments()
    by_path = ce.evaluate(*paths, **kw)
    files = [ce.read_response_file(p) for p in paths]
    by_file = ce.evaluate(*files, **kw)
    assert by_file.sections == by_path.sections
    assert by_file.notes == by_path.notes
    assert [w.source for w in by_file.waves] == ["nulmeting.csv", "eindmeting.csv"]
    assert by_file.waves == by_path.waves
    assert files[0].data.attrs == {}  # the caller's ResponseFile is not modified


def test_impact_change_missing_basis_is_none_not_empty_text() -> None:
    before = pd.DataFrame({"community": ["A", "B"], "level": [1, 3], "basis": ["full", "full"]})
    after = pd.DataFrame({"community": ["A", "C"], "level": [3, 2]})  # no basis column
    out = impact_change(before, after).set_index("community")
    assert out.loc["A", "basis_before"] == "full"
    assert out.loc["A", "basis_after"] is None  # no basis given: missing, not ""
    assert out.loc["B", "basis_after"] is None  # only in levels_before
    assert out.loc["C", "basis_before"] is None  # only in levels_after
    assert not (out[["basis_before", "basis_after", "note"]] == "").any().any()


def test_no_empty_text_in_any_section(example_evaluation) -> None:
    """The result contract: an empty note, reason or basis is None, never ""."""
    empty = [
        (name, k)
        for name, rows in example_evaluation.sections.items()
        for r in rows
        for k, v in r.items()
        if v == ""
    ]
    assert empty == []


def test_sections_read_back_are_validated(example_evaluation) -> None:
    """evaluate() does not validate the records it built a second time; a results.json read
    back still is."""
    back = Evaluation.model_validate_json(example_evaluation.to_json())
    assert back == example_evaluation
    doc = example_evaluation.model_dump(mode="json")
    for sections in (
        {"change": [1, 2]},  # rows are objects
        {"change": [{"level": "community", "n_before": "many"}]},  # a count is an integer
        {"community_scores": [{"wave": "baseline", "suppressed": "perhaps"}]},
        {"unknown_section": []},  # the sections are the declared ones
    ):
        with pytest.raises(ValidationError):
            Evaluation.model_validate(doc | {"sections": sections})
    # rows read back keep their column order (the community column first, as written)
    assert next(iter(back.sections["community_scores"][0])) == "buurt"


def test_section_row_types_declare_every_column(example_evaluation) -> None:
    """Every column of every section is declared by its row type, except the community column
    (named as the data names it); the JSON Schema carries the row types."""
    from collective_efficacy._schemas import schema_text
    from collective_efficacy.evaluation._rows import ROW_TYPES

    for name, rows in example_evaluation.sections.items():
        declared = set(ROW_TYPES[name].__annotations__) - {"__pydantic_config__"}
        extra = {k for r in rows for k in r} - declared
        assert extra <= {example_evaluation.community}, (name, extra)
    schema = schema_text(Evaluation)
    assert '"ChangeRow"' in schema and '"CommunityScoresRow"' in schema


@pytest.mark.parametrize("overlap", [0, 1, 50])
def test_answers_twice_agrees_with_isin(overlap: int) -> None:
    rng = np.random.default_rng(overlap)
    n = 2_000
    ids = np.array([f"R{i:05d}" for i in rng.permutation(n)], dtype=object)
    before = np.arange(n) < n // 2
    after_ids = ids[~before].copy()
    after_ids[:overlap] = ids[before][:overlap]  # respondents answering in both waves
    ids = pd.Series(np.concatenate([ids[before], after_ids]), dtype=object)
    ids[::97] = None  # a missing id matches nothing
    expect = bool(ids[~before].isin(ids[before].dropna()).any())
    assert _answers_twice(ids, before) is expect is (overlap > 1)  # (row 0 is missing)


@pytest.mark.parametrize("min_n", [10, 40, 60])
def test_shown_in_both_counts_the_shown_respondents(min_n: int) -> None:
    """The number of communities shown in both waves, counted on the community table, is
    the number with scores in both waves among the shown respondents (as counted before)."""
    from collective_efficacy.disclosure import secondary_suppression, shown_respondents

    before, after = ce.datasets.load_example(split=True)
    frames = []
    for label, d in (("baseline", before), ("end_of_cycle", after)):
        v = ce.validate(d, "sampson1997", community="buurt", columns=COLS, errors="exclude")
        frames.append(ce.score(v, scales=["collective_efficacy"]).assign(**{WAVE: label}))
    scores = pd.concat(frames, ignore_index=True)
    table = ce.aggregate(
        scores[["buurt", WAVE, "collective_efficacy"]], community="buurt", wave=WAVE, min_n=min_n
    ).rename(columns={WAVE: "wave"})
    table = secondary_suppression(table, community="buurt", wave="wave", min_n=min_n)
    shown = shown_respondents(scores, table, community="buurt", wave=WAVE, table_wave="wave")
    scored = shown[shown["collective_efficacy"].notna()]
    expect = int((scored.groupby("buurt")[WAVE].nunique() == 2).sum())
    assert shown_in_both(table, "buurt") == expect


def test_records_equal_the_cell_by_cell_conversion() -> None:
    """The column-wise conversion gives, cell by cell, what ``_clean`` gives (JSON-ready
    Python values, every kind of missing as None), whatever the column's dtype."""
    import json

    from collective_efficacy.evaluation._sections import _clean, records

    df = pd.DataFrame(
        {
            "label": pd.Series(["A", None, "C", np.nan], dtype=object),
            "text": pd.Series(["x", pd.NA, "z", "w"], dtype="string"),
            "empty": pd.Series([None, np.nan, None, None], dtype=object),
            "mixed": pd.Series(["a", 1, np.float64(2.5), np.bool_(True)], dtype=object),
            "n": np.array([1, 2, 3, 4], dtype=np.int64),
            "x": [0.5, np.nan, 1.5, 2.0],
            "ok": [True, False, True, False],
            "k": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
        }
    )
    expect = [{str(k): _clean(v) for k, v in row.items()} for row in df.to_dict("records")]
    got = records(df)
    assert json.dumps(got) == json.dumps(expect)
    assert [type(v) for r in got for v in r.values()] == [
        type(v) for r in expect for v in r.values()
    ]

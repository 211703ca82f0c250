"""The fast paths of the end-to-end pipeline (issue 16) give what the general paths give.

Each fast path (text ids without hashing, the scalar-kind shortcut of the list/dict check, one
hashing pass for label normalisation, the wave split as row slices, the report's blocks built
once per evaluation) is compared with the general computation it replaces, on inputs chosen so
that the general path is the reference (exact equality: the same values, no tolerance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.evaluation._sections import WAVE, _wave_parts
from collective_efficacy.responses._ids import (
    case_duplicates,
    ids_as_text,
    nonscalar_rows,
    normalise_labels,
    normalise_labels_distinct,
)

COLS = ce.datasets.EXAMPLE_COLUMNS


def _general_ids(s: pd.Series) -> list[object]:
    """The general rule written out: missing -> None, a text cell as it is."""
    return [None if pd.isna(v) else v for v in s.tolist()]


@pytest.mark.parametrize(
    "cells",
    [
        ["B1", None, "B2", "B1", np.nan, " B3 "],
        ["x"] * 5,
        [None, None, "only"],
    ],
)
def test_text_ids_without_hashing_equal_the_general_rule(cells: list[object]) -> None:
    s = pd.Series(cells, dtype=object)
    kept = s.copy()
    text, mixed = ids_as_text(s)
    assert mixed == []
    assert text is not None and text.tolist() == _general_ids(s)
    text[:] = "changed"  # a new array: writing to it leaves the caller's column as it was
    pd.testing.assert_series_equal(s, kept)


def test_pandas_text_dtype_ids() -> None:
    s = pd.Series(["a", None, "b"], dtype="str")
    text, _ = ids_as_text(s)
    assert text is not None and text.tolist() == ["a", None, "b"]


@pytest.mark.parametrize(
    ("cells", "bad"),
    [
        (["a", ["b"], None, "c"], [1]),
        ([1, (2, 3), 4], [1]),
        ([1.5, {"k": 1}], [1]),
        (["a", "b", None], []),
        ([1, 2, 3], []),
        ([np.array([1, 2]), "x"], [0]),
    ],
)
def test_list_and_dict_cells_found_in_any_column(cells: list[object], bad: list[int]) -> None:
    s = pd.Series(cells, dtype=object)
    assert nonscalar_rows(s).tolist() == bad
    general = [
        i for i, v in enumerate(cells) if isinstance(v, (list, dict, set, tuple, np.ndarray))
    ]
    assert general == bad


def test_normalised_labels_and_case_duplicates_from_one_pass() -> None:
    text = np.array([" Buurt  A", "Buurt A", "buurt a", None, "Buurt B", "Buurt B"], dtype=object)
    out, changed, distinct = normalise_labels_distinct(text)
    ref_out, ref_changed = normalise_labels(text)
    assert out.tolist() == ref_out.tolist() and changed == ref_changed
    assert distinct.tolist() == list(dict.fromkeys(v for v in out.tolist() if v is not None))
    assert case_duplicates(distinct) == case_duplicates(out) == [["Buurt A", "buurt a"]]
    clean = np.array(["A", "B", None], dtype=object)
    same, none, _ = normalise_labels_distinct(clean)
    assert none == {} and same.tolist() == ["A", "B", None]


def test_validate_reports_the_same_problems_through_the_fast_paths() -> None:
    raw = pd.DataFrame(
        {
            "buurt": ["Buurt A", " Buurt  A", "buurt a", None, "Buurt B"],
            "rid": ["r1", "r2", "r1", "r4", None],
            "hecht": [4, 5, 3, 2, 1],
        }
    )
    v = ce.validate(
        raw, "sampson1997", community="buurt", respondent="rid", columns={"hecht": "SC1"},
        items=["SC1"], errors="exclude",
    )  # fmt: skip
    reasons = {e.row: e.reason for e in v.report.excluded}
    assert reasons == {2: "duplicate_respondent", 3: "missing_community", 4: "missing_respondent"}
    assert v.report.normalised_labels == {" Buurt  A": "Buurt A"}
    codes = {p.code for p in v.report.problems}
    assert "probable_duplicate_community" in codes
    assert v.data["buurt"].tolist() == ["Buurt A", "Buurt A"]


def test_wave_parts_are_slices_when_the_baseline_comes_first() -> None:
    scores = pd.DataFrame(
        {WAVE: ["baseline"] * 3 + ["end_of_cycle"] * 2, "x": np.arange(5.0)},
        index=[10, 11, 12, 13, 14],
    )
    parts = _wave_parts(scores)
    mask = (scores[WAVE] == "baseline").to_numpy()
    pd.testing.assert_frame_equal(parts["baseline"], scores[mask])
    pd.testing.assert_frame_equal(parts["end_of_cycle"], scores[~mask])
    shuffled = scores.iloc[[0, 3, 1, 4, 2]]
    parts = _wave_parts(shuffled)
    mask = (shuffled[WAVE] == "baseline").to_numpy()
    pd.testing.assert_frame_equal(parts["baseline"], shuffled[mask])
    pd.testing.assert_frame_equal(parts["end_of_cycle"], shuffled[~mask])


def test_report_blocks_are_not_reused_for_another_evaluation() -> None:
    from collective_efficacy import report

    before, after = ce.datasets.load_example(split=True)
    ev = ce.evaluate(before, after, community="buurt", columns=COLS, min_n=2)
    renamed = {
        k: [dict(r, buurt=f"Z-{r['buurt']}") if "buurt" in r else r for r in rows]
        for k, rows in ev.sections.items()
    }
    other = ev.model_copy(update={"sections": renamed})
    first = ev.to_markdown()
    assert "Z-" not in first
    assert "Z-" in other.to_markdown()  # the other evaluation's own blocks
    again = ev.to_markdown()
    report._LAST.clear()
    assert again == first == ev.to_markdown()  # reused blocks = freshly built blocks
    html = ev.to_html()
    report._LAST.clear()
    assert html == ev.to_html()

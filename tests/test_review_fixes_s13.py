"""Review findings of session 13, each failing on the code before its fix."""

from __future__ import annotations

import decimal
import warnings

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.instrument import ResponseScale
from collective_efficacy.responses._cells import _convert_column
from collective_efficacy.responses._checks import Collector

SCALE = ResponseScale(codes=[1, 2, 3, 4, 5], missing={0: {"en": "no answer"}, 9: {"en": "refused"}})

CASES = [
    pd.Series([9, 9.0, 4], dtype=object),
    pd.Series([9.0, 9, 4], dtype=object),
    pd.Series([np.int64(9), np.float64(9.0), 4], dtype=object),
    pd.Series([9, "9", 9.0, " 9", 4], dtype=object),
    pd.Series([decimal.Decimal("9.00"), decimal.Decimal("9"), 4], dtype=object),
    pd.Series([decimal.Decimal("9"), 9, 4], dtype=object),
    pd.Series([0.0, -0.0, 3.0]),
    pd.Series([-0.0, 0.0, 0.0, 9.0]),
    pd.Series([0, -0.0, 0.0], dtype=object),
    pd.Series([np.float32(9.0), 9.0], dtype=object),
    pd.Series([9, 9.0], dtype="category"),
    pd.Series(["9", " 9", "9 ", "0", "4"], dtype=object),
    pd.Series(["9", " 9", "0", None, "4"], dtype="str"),
    pd.Series([9, 0, 9, 4], dtype="int64"),
]


@pytest.mark.parametrize("raw", CASES, ids=range(len(CASES)))
def test_missing_code_counts_keep_values_that_print_differently_apart(raw) -> None:
    """Equal values of different types (9, 9.0, Decimal("9.00")) and signed zeros factorise as
    one value but print as different texts: the counts are those of the per-cell formula."""
    recoded: dict[str, dict[str, int]] = {}
    _convert_column(raw, SCALE, "c", None, Collector(raw.index), recoded)
    numeric = pd.to_numeric(raw.astype(object).map(lambda x: str(x).strip()), errors="coerce")
    miss = numeric.isin([0.0, 9.0]).to_numpy()
    want = raw[miss].astype(str).str.strip().value_counts()
    assert recoded.get("c", {}) == {str(k): int(v) for k, v in want.items()}


@pytest.mark.parametrize("hecht", [[9, 4, 5, 3], ["9", "4", "5", "3"], ["Refused", "4", "5", "3"]])
def test_a_value_label_whose_code_is_no_number_is_skipped(hecht) -> None:
    """SPSS/Stata value labels with a code that is no number (a string variable's labels) answer
    nothing, as check_value_labels skips them; they raised ValueError (an internal error at the
    command line) whenever a column had a label text."""
    raw = pd.DataFrame({"buurt": ["A"] * 4, "hecht": hecht, "helpen": [5, 4, 3, 2]})
    raw.attrs["value_labels"] = {"hecht": {"x": "iets", 9: "Refused"}}
    v = ce.validate(
        raw,
        "sampson1997",
        community="buurt",
        columns={"hecht": "SC1", "helpen": "SC2"},
        items=["SC1", "SC2"],
        errors="exclude",
    )
    assert v.data["SC1"].tolist()[1:] == [4.0, 5.0, 3.0]
    assert np.isnan(v.data["SC1"].iloc[0])
    assert sum(v.report.recoded_missing["hecht"].values()) == 1


def test_a_duplicated_column_name_is_a_data_error() -> None:
    """A table with two ``basis`` (or key) columns: the library's typed error naming the column,
    not a pandas error from a frame where a column was expected."""
    from collective_efficacy.errors import DataError
    from collective_efficacy.impact import impact_change, impact_levels

    before = pd.DataFrame(
        [["A", 1, "full", "full"]], columns=["community", "level", "basis", "basis"]
    )
    after = pd.DataFrame({"community": ["A"], "level": [2], "basis": ["full"]})
    with pytest.raises(DataError, match=r"\['basis'\] name more than one column"):
        impact_change(before, after)
    coh = pd.DataFrame([["A", "A", 3.5]], columns=["c", "c", "mean"])
    with pytest.raises(DataError, match=r"\['c'\] name more than one column"):
        impact_levels(coh, community="c", ci_low=None, ci_high=None)


def test_key_columns_of_two_text_storages_match_as_objects() -> None:
    """A python-storage text key beside an Arrow one (pandas' future.infer_string off): matched
    as objects, as before; the Arrow conversion of the python-storage keys failed on a lone
    surrogate."""
    from collective_efficacy.impact import impact_levels

    with warnings.catch_warnings():  # the option itself is deprecated in pandas 3
        warnings.simplefilter("ignore")
        with pd.option_context("future.infer_string", False):
            coh = pd.DataFrame(
                {
                    "c": pd.Series(["A", "\ud800"], dtype=pd.StringDtype("python")),
                    "mean": [3.6, 2.2],
                }
            )
            ass = pd.DataFrame(
                {
                    "c": pd.Series(["A"], dtype="string[pyarrow]"),
                    "partner_cooperation": [3],
                    "group_development": [4],
                }
            )
            out = impact_levels(coh, assessments=ass, community="c", ci_low=None, ci_high=None)
    assert out["level"].tolist() == [3, 1]
    assert out["basis"].tolist() == ["full", "survey_only"]

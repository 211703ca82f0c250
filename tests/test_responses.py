from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.errors import ResponseValidationError

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]


def _raw() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": ["r1", "r2", "r3", "r4", "r5", "r2"],
            "buurt": ["A", "A", "B", None, "B", "A"],
            "hecht": ["Mee eens", 9, "  HELEMAAL mee eens ", 7, "", 2],
            "helpen": [5, 4, "x", 3, "4", 1],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_raise_lists_every_problem() -> None:
    raw = _raw()
    with pytest.raises(ResponseValidationError) as exc:
        ce.validate(
            raw,
            "sampson1997",
            community="buurt",
            respondent="id",
            columns={"hecht": "SC1", "helpen": "SC2"},
            items=["SC1", "SC2"],
        )
    msg = str(exc.value)
    assert (
        "column 'hecht', index label 13: out of range, value 7; expected integer 1-5 or missing code 8/9"
        in msg
    )
    assert "column 'helpen', index label 12: unknown label, value 'x'" in msg
    assert "column 'buurt', index label 13: missing community" in msg
    assert "column 'id', index label 15: duplicate respondent, value 'r2'" in msg
    codes = {p.code for p in exc.value.report.problems}
    assert codes == {"out_of_range", "unknown_label", "missing_community", "duplicate_respondent"}


def test_exclude_accounts_for_every_row() -> None:
    raw = _raw()
    before = raw.copy(deep=True)
    v = ce.validate(
        raw,
        "sampson1997",
        community="buurt",
        respondent="id",
        columns={"hecht": "SC1", "helpen": "SC2"},
        items=["SC1", "SC2"],
        errors="exclude",
    )
    pd.testing.assert_frame_equal(raw, before)  # caller's frame untouched
    r = v.report
    assert r.n_rows_in == 6 == r.n_rows_usable + r.n_rows_excluded
    assert r.exclusions_by_reason() == {"missing_community": 1, "duplicate_respondent": 1}
    assert list(v.data.index) == [10, 11, 12, 14]
    np.testing.assert_array_equal(v.data["SC1"].to_numpy(), [4.0, np.nan, 5.0, np.nan])
    np.testing.assert_array_equal(v.data["SC2"].to_numpy(), [5.0, 4.0, np.nan, 4.0])
    assert r.recoded_missing == {"hecht": {"9": 1}}
    assert r.column_map == {"hecht": "SC1", "helpen": "SC2"}
    js = r.model_dump_json()
    assert ce.ValidationReport.model_validate_json(js) == r


def test_absent_and_empty_columns_and_unknown_wave() -> None:
    raw = pd.DataFrame({"SC1": [1, 2], "SC2": [np.nan, np.nan], "w": ["t0", "t9"]})
    with pytest.raises(ResponseValidationError, match="absent column.*SC3"):
        ce.validate(raw, "sampson1997", items=["SC1", "SC3"])
    with pytest.raises(ResponseValidationError, match="column 'SC2'.*empty column"):
        ce.validate(raw, "sampson1997", items=["SC1", "SC2"])
    v = ce.validate(
        raw, "sampson1997", items=["SC1", "SC2"], wave="w", waves=["t0", "t1"], errors="exclude"
    )
    assert v.report.exclusions_by_reason() == {"unknown_wave": 1}
    assert any(p.code == "unknown_wave" and p.values == ["t9"] for p in v.report.problems)


def test_blank_text_column_is_empty_and_numbers_are_not() -> None:
    raw = pd.DataFrame({"SC1": [1, 2, 3], "SC2": ["", " ", "  "], "SC3": [" 4 ", "", "4,0"]})
    with pytest.raises(ResponseValidationError, match="column 'SC2'.*empty column"):
        ce.validate(raw, "sampson1997", items=["SC1", "SC2"])
    v = ce.validate(raw, "sampson1997", items=["SC1", "SC3"])
    assert not any(p.code == "empty_column" for p in v.report.problems)
    assert v.data["SC3"].tolist()[0::2] == [4.0, 4.0]


def test_all_missing_row_excluded_with_reason() -> None:
    raw = pd.DataFrame({"SC1": [1, 8, 3], "SC2": [2, 9, None]})
    v = ce.validate(raw, "sampson1997", items=["SC1", "SC2"], errors="exclude")
    assert v.report.excluded[0].row == 1
    assert v.report.excluded[0].reason == "no_items_answered"
    assert v.report.n_rows_usable == 2


def test_english_labels_and_value_labels() -> None:
    raw = pd.DataFrame({"SC1": ["Strongly agree", "disagree", 1]})
    raw.attrs["value_labels"] = {"SC1": {1: "Helemaal niet"}}
    v = ce.validate(raw, "sampson1997", items=["SC1"])
    assert v.data["SC1"].tolist() == [5.0, 2.0, 1.0]


def test_read_csv_and_sav_roundtrip(tmp_path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"buurt": ["A", "B"], "SC1": [1.0, 5.0]})
    pyreadstat.write_sav(
        df, tmp_path / "x.sav", variable_value_labels={"SC1": {1.0: "laag", 5.0: "hoog"}}
    )
    back = ce.read_responses(tmp_path / "x.sav")
    assert back.attrs["value_labels"]["SC1"] == {1.0: "laag", 5.0: "hoog"}
    (tmp_path / "y.csv").write_text("buurt;SC1\nA;4\nB;mee eens\n", encoding="utf-8")
    v = ce.validate(tmp_path / "y.csv", "sampson1997", community="buurt", items=["SC1"])
    assert v.data["SC1"].tolist() == [4.0, 4.0]
    assert v.report.source == "y.csv"
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(ce.DataError, match="empty"):
        ce.read_responses(tmp_path / "empty.csv")
    with pytest.raises(ce.DataError, match="unsupported format"):
        (tmp_path / "z.json").write_text("{}")
        ce.read_responses(tmp_path / "z.json")


cells = st.one_of(
    st.integers(min_value=-2, max_value=10),
    st.sampled_from(["mee eens", "Agree", "", "?", " 3 ", None, np.nan]),
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.tuples(cells, cells, st.sampled_from(["A", "B", None])), min_size=1, max_size=40)
)
def test_no_row_disappears(rows) -> None:
    raw = pd.DataFrame(rows, columns=["SC1", "SC2", "c"], dtype=object)
    before = raw.copy()
    v = ce.validate(raw, "sampson1997", items=["SC1", "SC2"], community="c", errors="exclude")
    r = v.report
    assert r.n_rows_in == len(raw) == r.n_rows_usable + r.n_rows_excluded
    assert set(v.data.index) | {e.row for e in r.excluded} == set(raw.index)
    assert set(v.data.index).isdisjoint({e.row for e in r.excluded})
    pd.testing.assert_frame_equal(raw, before)
    ok = v.data[["SC1", "SC2"]].to_numpy(dtype=float)
    assert np.isin(ok[~np.isnan(ok)], [1, 2, 3, 4, 5]).all()


# ---------------------------------------------------------------- one column per item


def _two_items() -> pd.DataFrame:
    return pd.DataFrame({"rid": ["a", "b"], "buurt": ["N", "N"], "SC1": [1, 2], "SC2": [3, 4]})


@pytest.mark.parametrize(
    ("columns", "named"),
    [
        ({"SC2": "SC1"}, r"column 'SC2' is mapped to it and column 'SC1' is named by it"),
        ({"SC1": "SC2"}, r"column 'SC1' is mapped to it and column 'SC2' is named by it"),
        ({"rid": "SC1", "buurt": "SC1"}, r"columns \['rid', 'buurt'\] are all mapped to it"),
    ],
)
def test_a_partial_column_map_never_feeds_one_item_twice(
    columns: dict[str, str], named: str
) -> None:
    # before: column SC2 was scored as SC1 and as SC2, column SC1 ignored, no problem raised
    with pytest.raises(ResponseValidationError, match=named) as err:
        ce.validate(
            _two_items(),
            "sampson1997",
            community="buurt",
            respondent="rid",
            columns=columns,
            items=["SC1", "SC2"],
            errors="exclude",
        )
    assert "--columns" in str(err.value)
    assert any(p.code == "ambiguous_column" for p in err.value.report.problems)  # type: ignore[attr-defined]


def test_a_swapping_column_map_is_reported_truthfully() -> None:
    v = ce.validate(
        _two_items(),
        "sampson1997",
        community="buurt",
        respondent="rid",
        columns={"SC1": "SC2", "SC2": "SC1"},
        items=["SC1", "SC2"],
    )
    assert v.report.column_map == {"SC2": "SC1", "SC1": "SC2"}
    assert v.data["SC1"].tolist() == [3.0, 4.0] and v.data["SC2"].tolist() == [1.0, 2.0]


def test_text_dtype_ids_and_numeric_items_take_the_fast_paths_with_the_same_result() -> None:
    # pandas' text dtype (read_csv, Arrow) ids are coded without a Python object per row and
    # clean numeric item columns skip the hashing of distinct values: the validated frame and
    # the report equal those of the general path (object ids, items with a problem cell)
    rng = np.random.default_rng(3)
    n = 400
    comm = rng.choice([" Buurt  A", "Buurt A", "buurt a", "Buurt B", None], n).astype(object)
    resp = np.array([f"R{i % 390:04d}" if i % 97 else None for i in range(n)], dtype=object)
    items = {f"SC{j}": rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, np.nan], n) for j in (1, 2, 3)}
    obj = pd.DataFrame({"resp": resp, "buurt": comm, **items})
    txt = obj.astype({"resp": "str", "buurt": "str"})
    assert isinstance(txt["buurt"].dtype, pd.StringDtype)
    kw = {"community": "buurt", "respondent": "resp", "items": ["SC1", "SC2", "SC3"]}
    a = ce.validate(obj, "sampson1997", errors="exclude", **kw)
    b = ce.validate(txt, "sampson1997", errors="exclude", **kw)
    assert a.report.model_dump() == b.report.model_dump()
    assert a.report.normalised_labels == {" Buurt  A": "Buurt A"}
    assert [p.code for p in a.report.problems].count("probable_duplicate_community") == 1
    pd.testing.assert_frame_equal(a.data.astype({"resp": object}), b.data.astype({"resp": object}))
    # the general item path (an object column) gives the same numbers as the numeric fast path
    slow = obj.astype({"SC1": object})
    c = ce.validate(slow, "sampson1997", errors="exclude", **kw)
    pd.testing.assert_frame_equal(a.data, c.data)
    # a code that is not an answer (7) leaves the fast path: reported as before
    bad = obj.copy()
    bad.loc[5, "SC2"] = 7.0
    d = ce.validate(bad, "sampson1997", errors="exclude", **kw)
    assert [(p.code, p.column, p.n) for p in d.report.problems if p.code == "out_of_range"] == [
        ("out_of_range", "SC2", 1)
    ]


def test_evaluate_same_with_text_dtype_and_object_ids() -> None:
    # ids in pandas' text dtype (read_csv) go through validate's fast path: the evaluation
    # (every section, the change model's respondents answering twice) equals the object path
    before, after = ce.datasets.load_example(split=True)
    ids = ["buurt", "respondent_id"]

    def run(kind: object) -> str:
        b, a = (f.astype(dict.fromkeys(ids, kind)) for f in (before, after))
        ev = ce.evaluate(b, a, community="buurt", respondent="respondent_id",
                         columns=ce.datasets.EXAMPLE_COLUMNS)  # fmt: skip
        return ev.to_json()

    assert run("str") == run(object)

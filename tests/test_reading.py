"""Reading survey files without silent guesses, and ids as text (issues 13 and 15).

Every rule of ``read_responses`` and of the id handling in ``validate``: separator from the header
line, ragged rows, encodings, typed ``ReadError``s, leading zeros in every format, mixed id types,
community labels normalised, SPSS value labels checked against the instrument's anchors.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.cli import main
from collective_efficacy.errors import ReadError, ResponseValidationError

FOUR = ["0101", "101", "1.0", "1"]  # four neighbourhoods that must never become two


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------- separators and ragged rows


def test_semicolon_header_with_quoted_commas(tmp_path: Path) -> None:
    p = _write(tmp_path / "s.csv", '"Buurt, wijk";SC1;SC2\nNoord;1;2\nZuid;3;4\n')
    df = ce.read_responses(p)
    assert list(df.columns) == ["Buurt, wijk", "SC1", "SC2"]
    assert df["SC2"].tolist() == [2, 4]


def test_one_column_file_is_not_split_on_a_letter(tmp_path: Path) -> None:
    df = ce.read_responses(_write(tmp_path / "b.csv", "buurt\nBuurt U\nUtrecht\n"))
    assert list(df.columns) == ["buurt"]
    assert df["buurt"].tolist() == ["Buurt U", "Utrecht"]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_each_separator_is_found_on_the_header_line(tmp_path: Path, sep: str) -> None:
    text = sep.join(["buurt", "SC1"]) + "\n" + sep.join(["A", "4"]) + "\n"
    df = ce.read_responses(_write(tmp_path / "x.csv", text))
    assert df.to_dict("list") == {"buurt": ["A"], "SC1": [4]}


def test_explicit_separator_and_aliases(tmp_path: Path) -> None:
    p = _write(tmp_path / "x.txt", "a,b\tSC1\n1,2\t5\n")
    assert list(ce.read_responses(p, sep="tab").columns) == ["a,b", "SC1"]
    assert list(ce.read_responses(p, sep="\\t").columns) == ["a,b", "SC1"]
    with pytest.raises(ReadError, match="expected one character"):
        ce.read_responses(p, sep=";;")


def test_tied_separators_are_not_guessed(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"separator is unclear.*--sep"):
        ce.read_responses(_write(tmp_path / "t.csv", "a,b;c\n1,2;3\n"))


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("buurt,SC1\nA,1,2,3\nB,2\n", 2),  # the case: pandas made buurt=2.0 of it
        ("buurt,SC1\nA,1\n\nB,2,3\n", 4),  # blank lines count as file lines
        ('buurt,SC1\n"A\nA",1\nB,2,3\n', 4),  # a quoted line break is inside one row
    ],
)
def test_ragged_row_is_an_error_naming_the_line(tmp_path: Path, text: str, line: int) -> None:
    p = _write(tmp_path / "r.csv", text)
    with pytest.raises(ReadError, match=rf"'.*r\.csv', line {line}: \d fields where the header"):
        ce.read_responses(p)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("buurt,SC1,SC2\nA,1\nB,2,3\n", 2),  # pandas padded it with a blank silently
        ("buurt,SC1,SC2\r\nA,1,2\r\n\r\nB,2\r\n", 4),
        ('buurt,SC1,SC2\n"A,\nB",1\nC,2,3\n', 3),  # the quoted separator does not count
        ("buurt,SC1,SC2\rA,1,2\rB,2\r", 3),  # old Mac line ends
    ],
)
def test_fewer_fields_are_an_error_naming_the_line(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(ReadError, match=rf"line {line}: 2 fields where the header has 3.*empty"):
        ce.read_responses(_write(tmp_path / "f.csv", text))


def test_trailing_empty_fields_are_missing_answers(tmp_path: Path) -> None:
    df = ce.read_responses(_write(tmp_path / "f.csv", 'buurt,SC1,SC2\r\nA,1,\r\n"B,""b""",,\r\n'))
    assert df["buurt"].tolist() == ["A", 'B,"b"']
    assert df["SC1"].isna().tolist() == [False, True]
    assert df["SC2"].isna().all()


def test_bare_carriage_return_is_an_error_naming_the_line(tmp_path: Path) -> None:
    text = "rid,buurt,SC1\nR1,Noord,3\nR2,No\rord,1\n"  # would be a phantom respondent
    with pytest.raises(ReadError, match=r"'.*c\.csv', line 3: a carriage return"):
        ce.read_responses(_write(tmp_path / "c.csv", text))


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_carriage_returns_in_quotes_and_old_mac_files_are_read(tmp_path: Path, end: str) -> None:
    text = end.join(["rid,buurt,SC1", 'R1,"No\rord",3', "R2,Zuid,1", ""])
    df = ce.read_responses(_write(tmp_path / "m.csv", text))
    assert df.to_dict("list") == {"rid": ["R1", "R2"], "buurt": ["No\rord", "Zuid"], "SC1": [3, 1]}


def test_duplicate_header_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match=r"duplicate column names \['SC1'\]"):
        ce.read_responses(_write(tmp_path / "d.csv", "buurt,SC1,SC1\nA,1,2\n"))


def test_only_empty_cells_are_missing(tmp_path: Path) -> None:
    df = ce.read_responses(_write(tmp_path / "n.csv", "buurt,SC1\nNA,1\nnull,\n"))
    assert df["buurt"].tolist() == ["NA", "null"]  # a code, not a missing value
    assert df["SC1"].isna().tolist() == [False, True]


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_single_byte_files_fall_back_to_cp1252_with_a_note(tmp_path: Path, encoding: str) -> None:
    p = _write(tmp_path / "l.csv", "buurt;SC1\nCafé;1\nZoë;2\n", encoding)
    df = ce.read_responses(p)
    assert df["buurt"].tolist() == ["Café", "Zoë"]
    (note,) = df.attrs["reading_notes"]
    assert "l.csv" in note and "cp1252" in note and "--encoding" in note
    v = ce.validate(p, "sampson1997", community="buurt", items=["SC1"])
    assert v.report.notes == [note]
    assert "note: " in v.report.summary()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32"])
def test_unicode_files_with_and_without_bom(tmp_path: Path, encoding: str) -> None:
    df = ce.read_responses(_write(tmp_path / "u.csv", "buurt,SC1\nCafé,1\nZoë,2\n", encoding))
    assert list(df.columns) == ["buurt", "SC1"]  # no BOM glued to the first name
    assert df["buurt"].tolist() == ["Café", "Zoë"]
    assert df.attrs["reading_notes"] == []


def test_explicit_encoding_and_its_failures(tmp_path: Path) -> None:
    p = _write(tmp_path / "e.csv", "buurt,SC1\nZoë,1\n", "utf-16-le")  # no BOM
    with pytest.raises(ReadError, match=r"'.*e\.csv' holds NUL bytes.*--encoding"):
        ce.read_responses(p)
    assert ce.read_responses(p, encoding="utf-16-le")["buurt"].tolist() == ["Zoë"]
    q = _write(tmp_path / "c.csv", "buurt,SC1\nZoë,1\n", "cp1252")
    with pytest.raises(ReadError, match=r"'.*c\.csv' is not valid utf-8 \(byte 0xeb"):
        ce.read_responses(q, encoding="utf-8")
    with pytest.raises(ReadError, match="unknown encoding 'klingon'"):
        ce.read_responses(q, encoding="klingon")


def test_undecodable_bytes_are_an_error(tmp_path: Path) -> None:
    p = tmp_path / "b.csv"
    p.write_bytes(b"buurt,SC1\nA\x81\x8d,1\n")  # undefined in cp1252 too
    with pytest.raises(ReadError, match=r"neither UTF-8 nor Windows-1252.*--encoding"):
        ce.read_responses(p)


# ---------------------------------------------------------------- ids are text


def _four(tmp_path: Path, fmt: str) -> Path:
    frame = pd.DataFrame({"buurt": FOUR, "resp": ["007", "7", "0007", "70"], "SC1": [1, 2, 3, 4]})
    p = tmp_path / f"ids.{fmt}"
    if fmt == "csv":
        frame.to_csv(p, index=False)
    elif fmt == "xlsx":
        pytest.importorskip("openpyxl")
        frame.to_excel(p, index=False)
    elif fmt in {"sav", "dta"}:
        pyreadstat = pytest.importorskip("pyreadstat")
        getattr(pyreadstat, f"write_{fmt}")(frame.astype({"SC1": float}), p)
    else:
        pytest.importorskip("pyarrow")
        frame.to_parquet(p)
    return p


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav", "dta", "parquet"])
def test_leading_zeros_kept_and_four_ids_stay_four(tmp_path: Path, fmt: str) -> None:
    p = _four(tmp_path, fmt)
    df = ce.read_responses(p)
    assert df["buurt"].tolist() == FOUR
    assert df["resp"].tolist() == ["007", "7", "0007", "70"]
    v = ce.validate(p, "sampson1997", community="buurt", respondent="resp", items=["SC1"])
    assert v.data["buurt"].tolist() == FOUR
    assert v.data["resp"].tolist() == ["007", "7", "0007", "70"]
    assert v.data["buurt"].nunique() == 4


def test_excel_mixing_text_and_number_cells_is_read_as_text(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["buurt", "SC1"])
    for b, v in [("0101", 1), (101, 2), ("1.0", 3), (1, 4)]:  # text and number cells
        ws.append([b, v])
    wb.save(tmp_path / "m.xlsx")
    df = ce.read_responses(tmp_path / "m.xlsx")
    assert df["buurt"].tolist() == FOUR
    assert df["SC1"].tolist() == [1, 2, 3, 4]


def test_id_columns_are_always_text(tmp_path: Path) -> None:
    p = _write(tmp_path / "i.csv", "buurt,SC1\n1,4\n2,5\n")
    assert ce.read_responses(p)["buurt"].tolist() == [1, 2]  # lossless: plain numbers
    assert ce.read_responses(p, id_columns=["buurt"])["buurt"].tolist() == ["1", "2"]


def test_mixed_id_types_in_a_frame_are_an_error_naming_them() -> None:
    raw = pd.DataFrame({"buurt": [1, "1", 1.0, True], "SC1": [1, 2, 3, 4]}, dtype=object)
    for errors in ("raise", "exclude"):
        with pytest.raises(ResponseValidationError, match="mixed id types") as exc:
            ce.validate(raw, "sampson1997", community="buurt", items=["SC1"], errors=errors)
        text = str(exc.value)
        for shown in ("1 (integer)", "'1' (text)", "1.0 (number)", "True (true/false)"):
            assert shown in text
        assert "errors='exclude'" not in text  # excluding rows cannot repair this


def test_numeric_ids_in_a_frame_become_their_text() -> None:
    raw = pd.DataFrame({"buurt": [1.0, 2.0, np.nan, 2.5], "SC1": [1, 2, 3, 4]})
    v = ce.validate(raw, "sampson1997", community="buurt", items=["SC1"], errors="exclude")
    assert v.data["buurt"].tolist() == ["1", "2", "2.5"]


def test_ids_of_different_types_across_waves_match_as_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    items = [f"SC{i}" for i in range(1, 6)] + [f"ISC{i}" for i in range(1, 6)]

    def wave(labels: list) -> pd.DataFrame:
        rows = np.repeat(labels, 12)
        frame = pd.DataFrame(rng.integers(1, 6, size=(len(rows), 10)), columns=items)
        return frame.assign(buurt=rows)

    before = wave([1, 2, 3])  # integers
    after = _write(tmp_path / "after.csv", wave(["1", "2", "3", "4a"]).to_csv(index=False))
    ev = ce.evaluate(before, after, community="buurt", min_n=10)
    change = ev.tables["change"]
    compared = change[(change["level"] == "community") & change["diff"].notna()]
    assert sorted(compared["buurt"]) == ["1", "2", "3"]
    assert ev.notes["communities_in_one_wave"].startswith("1 community")


ID_TEXT = st.text(alphabet="0123456789.-+eE ,aAé\u00a0", min_size=1, max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(ID_TEXT, min_size=1, max_size=25, unique=True), st.sampled_from([",", ";"]))
def test_ids_survive_file_reader_and_validate_exactly(
    tmp_path: Path, ids: list[str], sep: str
) -> None:
    """Property: text ids written to a CSV come out of read_responses + validate unchanged
    (respondent ids exactly; community labels only normalised: NFC, trimmed, spaces)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(["resp", "buurt", "SC1"])
    for k, i in enumerate(ids):
        w.writerow([i, i, 1 + k % 5])
    p = _write(tmp_path / "p.csv", buf.getvalue())
    v = ce.validate(
        p, "sampson1997", community="buurt", respondent="resp", items=["SC1"], errors="exclude"
    )
    norm = {i: " ".join(unicodedata.normalize("NFC", i).split()) for i in ids}
    kept = [i for i in ids if norm[i] != ""]
    assert v.data["resp"].tolist() == kept
    assert v.data["buurt"].tolist() == [norm[i] for i in kept]
    assert v.data["buurt"].nunique() == len({norm[i] for i in kept})


# ---------------------------------------------------------------- community labels (issue 15)


def test_community_labels_normalised_and_listed() -> None:
    raw = pd.DataFrame(
        {"buurt": [" Buurt A1", "Buurt A1", "Buurt\u00a0 A1 ", "Cafe\u0301", "Café"], "SC1": 3}
    )
    v = ce.validate(raw, "sampson1997", community="buurt", items=["SC1"])
    assert v.data["buurt"].tolist() == ["Buurt A1"] * 3 + ["Café"] * 2
    assert v.report.normalised_labels == {
        " Buurt A1": "Buurt A1",
        "Buurt\u00a0 A1 ": "Buurt A1",
        "Cafe\u0301": "Café",
    }
    assert "3 community label(s) normalised" in v.report.summary()
    assert raw["buurt"].iloc[0] == " Buurt A1"  # the caller's frame is untouched


def test_labels_differing_only_in_case_are_reported_not_merged() -> None:
    raw = pd.DataFrame({"buurt": ["Buurt A", "buurt a", "Buurt B"], "SC1": 3})
    v = ce.validate(raw, "sampson1997", community="buurt", items=["SC1"], errors="exclude")
    assert v.data["buurt"].nunique() == 3
    (p,) = v.report.problems
    assert p.code == "probable_duplicate_community"
    assert p.values == ["Buurt A", "buurt a"]
    with pytest.raises(ResponseValidationError, match="probable duplicate community"):
        ce.validate(raw, "sampson1997", community="buurt", items=["SC1"])


# ---------------------------------------------------------------- value labels (issue 15)


def test_reversed_spss_value_labels_stop_with_both_labelings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"buurt": ["A", "B"], "SC1": [1.0, 5.0]})
    reversed_nl = {1.0: "Helemaal mee eens", 5.0: "Helemaal mee oneens"}
    pyreadstat.write_sav(df, tmp_path / "r.sav", variable_value_labels={"SC1": reversed_nl})
    for errors in ("raise", "exclude"):
        with pytest.raises(ResponseValidationError, match="value labels mismatch") as exc:
            ce.validate(tmp_path / "r.sav", "sampson1997", items=["SC1"], errors=errors)
        text = str(exc.value)
        assert "1 = 'Helemaal mee eens'" in text  # the file's
        assert "1 = 'Helemaal mee oneens'" in text and "5 = 'Helemaal mee eens'" in text
    code = main(["validate", str(tmp_path / "r.sav"), "--items", "SC1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "r.sav" in err
    assert "1 = 'Helemaal mee eens'" in err and "5 = 'Helemaal mee eens'" in err
    assert "Traceback" not in err


def test_matching_or_unknown_value_labels_pass(tmp_path: Path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    df = pd.DataFrame({"SC1": [1.0, 5.0, 8.0]})
    labels = {1.0: "Strongly disagree", 5.0: "strongly  AGREE", 8.0: "Weet niet", 3.0: "midden"}
    pyreadstat.write_dta(df, tmp_path / "ok.dta", variable_value_labels={"SC1": labels})
    v = ce.validate(tmp_path / "ok.dta", "sampson1997", items=["SC1"])
    assert v.data["SC1"].tolist() == [1.0, 5.0]  # 8 = don't know: missing, row excluded
    assert v.report.ok


def test_dont_know_label_on_a_valid_code_is_a_mismatch() -> None:
    raw = pd.DataFrame({"SC1": [1, 3]})
    raw.attrs["value_labels"] = {"SC1": {3: "Don't know"}}
    with pytest.raises(ResponseValidationError, match="value labels mismatch.*3 = .*t know"):
        ce.validate(raw, "sampson1997", items=["SC1"], errors="exclude")


# ---------------------------------------------------------------- frames with odd columns


def test_integer_column_labels_are_accepted() -> None:
    before, _ = ce.datasets.load_example(split=True)
    names = list(before.columns)
    cols = {names.index(k): v for k, v in ce.datasets.EXAMPLE_COLUMNS.items()}
    b = before.set_axis(range(len(names)), axis=1)
    v = ce.validate(
        b, "sampson1997", community=names.index("buurt"), columns=cols, errors="exclude"
    )
    ref = ce.validate(
        before,
        "sampson1997",
        community="buurt",
        columns=ce.datasets.EXAMPLE_COLUMNS,
        errors="exclude",
    )
    assert v.report.n_rows_usable == ref.report.n_rows_usable
    assert list(b.columns) == list(range(len(names)))  # the caller's labels are untouched


def test_evaluate_with_integer_column_labels() -> None:
    rng = np.random.default_rng(5)
    items = [f"SC{i}" for i in range(1, 6)] + [f"ISC{i}" for i in range(1, 6)]
    waves = []
    for _ in range(2):
        frame = pd.DataFrame(rng.integers(1, 6, size=(48, 10)), columns=range(10))
        waves.append(frame.assign(**{"10": np.repeat(["A", "B", "C", "D"], 12)}))
    waves = [w.set_axis(range(11), axis=1) for w in waves]  # labels 0..10, all integers
    ev = ce.evaluate(*waves, community=10, columns=dict(zip(range(10), items)), min_n=10)
    assert sorted(ev.tables["community_scores"]["10"].unique()) == ["A", "B", "C", "D"]


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (pd.DataFrame([[1, 2]], columns=["SC1", "SC1"]), "duplicate column names: 'SC1'"),
        (pd.DataFrame([[1, 2]], columns=[1, "1"]), r"duplicate column names: '1' \(2 columns"),
        (
            pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("SC1", "a"), ("SC2", "b")])),
            "2 header levels",
        ),
        (pd.DataFrame({"SC1": pd.Series([[1], 2], dtype=object)}), "column 'SC1'.*unusable"),
        (pd.DataFrame({"SC1": pd.Series([{"a": 1}, 2], dtype=object)}), "unusable cells"),
    ],
)
def test_unusable_frames_are_typed_errors_naming_the_column(
    frame: pd.DataFrame, pattern: str
) -> None:
    with pytest.raises(ResponseValidationError, match=pattern):
        ce.validate(frame, "sampson1997", items=["SC1"], errors="exclude")


def test_evaluate_notes_a_wave_without_scorable_respondents() -> None:
    before, after = ce.datasets.load_example(split=True)
    cols = ce.datasets.EXAMPLE_COLUMNS
    first = next(iter(cols))
    after = after.assign(**{c: np.nan for c in cols if c != first})  # one item: below minimum
    ev = ce.evaluate(before, after, community="buurt", respondent="respondent_id", columns=cols)
    assert "No respondent of the end_of_cycle data" in ev.notes["no_scores_end_of_cycle"]


def test_workbook_with_several_sheets_reads_the_first_with_a_note(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    p = tmp_path / "two.xlsx"
    with pd.ExcelWriter(p) as xw:
        pd.DataFrame({"buurt": ["A"], "SC1": [4]}).to_excel(xw, sheet_name="nulmeting", index=False)
        pd.DataFrame({"buurt": ["B"], "SC1": [2]}).to_excel(xw, sheet_name="eind", index=False)
    df = ce.read_responses(p)
    assert df["buurt"].tolist() == ["A"]
    (note,) = df.attrs["reading_notes"]
    assert "2 sheets" in note and "'nulmeting', was read" in note


def test_old_xls_is_refused_with_advice(tmp_path: Path) -> None:
    p = tmp_path / "old.xls"
    p.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(60))
    with pytest.raises(ReadError, match=r"'.*old\.xls' is an old Excel \.xls workbook.*\.xlsx"):
        ce.read_responses(p)


def test_evaluate_merges_whitespace_variants_and_lists_them() -> None:
    rng = np.random.default_rng(8)
    items = [f"SC{i}" for i in range(1, 6)] + [f"ISC{i}" for i in range(1, 6)]

    def wave(labels: list[str]) -> pd.DataFrame:
        rows = np.repeat(labels, 12)
        frame = pd.DataFrame(rng.integers(1, 6, size=(len(rows), 10)), columns=items)
        return frame.assign(buurt=rows)

    before = wave(["Buurt A1", "Buurt B"])
    after = wave([" Buurt A1", "Buurt  B "])
    ev = ce.evaluate(before, after, community="buurt", min_n=10)
    assert sorted(ev.tables["community_scores"]["buurt"].unique()) == ["Buurt A1", "Buurt B"]
    assert ev.waves[1].normalised_labels == {" Buurt A1": "Buurt A1", "Buurt  B ": "Buurt B"}
    assert "communities_in_one_wave" not in ev.notes

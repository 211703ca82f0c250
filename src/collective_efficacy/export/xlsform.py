"""XLSForm export of an instrument, for ODK, KoboToolbox, Enketo and SurveyCTO.

An XLSForm (https://xlsform.org) is a workbook with the sheets ``survey`` (one row per question),
``choices`` (the answer options of each list) and ``settings``. The form tools convert it to an
ODK XForm with ``pyxform``; the form made here converts without errors or warnings.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from collective_efficacy._params import (
    COLUMNS,
    PATH,
    TEXT,
    WAVE_LABEL,
    Predicate,
    public,
)
from collective_efficacy.errors import DataError, require_extra
from collective_efficacy.export.codebook import INSTRUMENT_ARG
from collective_efficacy.instrument import Instrument, load_instrument

__all__ = ["GROUP", "LANGUAGE_NAMES", "to_xlsform", "xlsform_sheets"]

#: The name of the group holding the items (exports prefix item columns with it: ``items/SC1``).
GROUP = "items"
#: Language names used in ``label::<name> (<code>)`` columns.
LANGUAGE_NAMES = {
    "nl": "Nederlands",
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "tr": "Türkçe",
    "ar": "العربية",
    "pl": "Polski",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_FIELD_TEXT = {
    "community": {"nl": "Buurt (code)", "en": "Community (code)"},
    "community_hint": {
        "nl": "Vooraf ingevuld door de onderzoeker; niet wijzigen.",
        "en": "Filled in beforehand by the researcher; do not change.",
    },
}


def _column(lang: str) -> str:
    return f"{LANGUAGE_NAMES.get(lang, lang)} ({lang})"


def xlsform_sheets(
    instrument: Instrument | str | Path,
    *,
    lang: Sequence[str] = ("nl", "en"),
    scales: Sequence[str] | None = None,
    wave: str = "baseline",
) -> dict[str, pd.DataFrame]:
    """The ``survey``, ``choices`` and ``settings`` sheets of an instrument's XLSForm.

    Parameters are those of :func:`to_xlsform`; returns one DataFrame per sheet.

    Examples
    --------
    >>> from collective_efficacy.export.xlsform import xlsform_sheets
    >>> sheets = xlsform_sheets("sampson1997", lang=("en",))
    >>> sheets["survey"].loc[sheets["survey"]["name"] == "SC1", "type"].item()
    'select_one agree5'
    """
    inst = load_instrument(instrument)
    langs = [str(x) for x in ([lang] if isinstance(lang, str) else lang)]
    absent = [x for x in langs if x not in inst.languages]
    if not langs or absent:
        raise DataError(
            f"lang={list(lang)!r}: the instrument {inst.id!r} has texts in {inst.languages}; "
            f"expected one or more of those",
            argument="lang",
        )
    if scales is None:
        item_ids = inst.item_ids
    else:
        wanted = {i for s in scales for i in inst.scale(s).items}
        item_ids = [i for i in inst.item_ids if i in wanted]
    bad = [i for i in [*item_ids, *inst.response_scales] if not _NAME.match(i)]
    if bad:
        raise DataError(f"ids {bad} are not valid XLSForm names (letters, digits, _ . -)")
    lab = [f"label::{_column(x)}" for x in langs]
    hint = [f"hint::{_column(x)}" for x in langs]

    def texts(d: dict[str, str]) -> dict[str, str]:
        return dict(zip(lab, (d.get(x, "") for x in langs)))

    survey: list[dict[str, Any]] = [
        {"type": "start", "name": "start"},
        {"type": "end", "name": "end"},
        {
            "type": "text",
            "name": "community",
            **texts(_FIELD_TEXT["community"]),
            **dict(zip(hint, (_FIELD_TEXT["community_hint"].get(x, "") for x in langs))),
            "required": "yes",
        },
        {"type": "calculate", "name": "wave", "calculation": f"'{wave}'"},
        {"type": "begin_group", "name": GROUP, **texts(inst.title)},
    ]
    for i in item_ids:
        it = inst.item(i)
        survey.append(
            {"type": f"select_one {it.scale}", "name": i, **texts(it.text), "required": "yes"}
        )
    survey.append({"type": "end_group", "name": GROUP})
    used = list(dict.fromkeys(inst.item(i).scale for i in item_ids))
    choices: list[dict[str, Any]] = []
    for sid in used:
        rs = inst.response_scales[sid]
        for k, code in enumerate(rs.codes):
            row = {"list_name": sid, "name": str(code)}
            row.update({c: rs.labels[x][k] for c, x in zip(lab, langs)})
            choices.append(row)
        for code, t in rs.missing.items():
            fallback = next(iter(t.values()), str(code))
            row = {"list_name": sid, "name": str(code)}
            row.update({c: t.get(x, fallback) for c, x in zip(lab, langs)})
            choices.append(row)
    settings = {
        "form_title": inst.title_in(langs[0]),
        "form_id": re.sub(r"[^A-Za-z0-9_]", "_", inst.id),
        "version": inst.version,
        "default_language": _column(langs[0]),
    }
    cols = ["type", "name", *lab, *hint, "required", "calculation"]
    return {
        "survey": pd.DataFrame(survey).reindex(columns=cols).fillna(""),
        "choices": pd.DataFrame(choices).reindex(columns=["list_name", "name", *lab]),
        "settings": pd.DataFrame([settings]),
    }


_LANGS = Predicate(
    lambda v: (
        isinstance(v, (list, tuple))
        and len(v) > 0
        and all(isinstance(x, str) and x != "" for x in v)
    ),
    "a non-empty list of language codes",
    lambda: ("nl", "en"),
    [3.5, []],
)


@public(
    constraints={
        "instrument": INSTRUMENT_ARG,
        "path": [PATH],
        "lang": [TEXT, _LANGS],
        "scales": [COLUMNS, None],
        "wave": [WAVE_LABEL],
    }
)
def to_xlsform(
    instrument: Instrument | str | Path,
    path: str | Path,
    *,
    lang: Sequence[str] = ("nl", "en"),
    scales: Sequence[str] | None = None,
    wave: str = "baseline",
) -> Path:
    """Write an instrument as an XLSForm workbook for ODK, KoboToolbox, Enketo or SurveyCTO.

    Parameters
    ----------
    instrument : Instrument, id or path
        The instrument (see :func:`~collective_efficacy.list_instruments`).
    path : str or Path
        The ``.xlsx`` file to write (needs the extra ``[excel]`` or ``[xlsform]``).
    lang : sequence of str, default=("nl", "en")
        Languages of the labels, the first the form's default; each must be a language of the
        instrument. Columns are named ``label::Nederlands (nl)`` as XLSForm asks.
    scales : sequence of str, optional
        Only the items of these scales (default: every item).
    wave : str, default="baseline"
        The value of the form's ``wave`` field (a ``calculate``: every submission carries it).

    Returns
    -------
    Path
        The file written.

    Notes
    -----
    ``survey``: ``start`` and ``end`` (metadata), ``community`` (a required text field, to be
    pre-filled through the form link or typed by the interviewer), ``wave`` (a hidden
    calculated constant), then one ``select_one <response scale>`` per item, required, inside
    a group named ``items``. ``choices``: one list per response scale, the answer codes as
    choice names (``1`` … ``5``) and the missing codes (don't know, refused) as further
    choices, so an answer is always recorded. ``settings``: title, ``form_id`` (the instrument
    id), version and default language. An export of submissions is read back without a
    column map: :func:`~collective_efficacy.validate` recognises ``items/SC1`` (or
    ``items-SC1``) columns and choice labels.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from collective_efficacy.export import to_xlsform
    >>> out = to_xlsform("sampson1997", pathlib.Path(tempfile.mkdtemp()) / "form.xlsx")
    >>> out.name
    'form.xlsx'
    """
    sheets = xlsform_sheets(instrument, lang=lang, scales=scales, wave=wave)
    require_extra("openpyxl", "xlsform")
    path = Path(path)
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, frame in sheets.items():
            frame.to_excel(xw, sheet_name=name, index=False)
    return path

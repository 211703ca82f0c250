"""Escaping of user strings for where they land: spreadsheet cells and Markdown.

One implementation for every writer (communities.csv, results.xlsx, report.md); HTML escaping
is :func:`html.escape` in the HTML report. User strings are community names, file names, column
names, notes and reasons: anything that came from the caller's data.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

__all__ = ["escape_markdown", "neutralise_cell", "neutralise_frame"]

# OWASP "CSV injection": a cell starting with one of these is a formula (or a DDE command) in
# Excel, LibreOffice and Google Sheets; tab and CR (and LF) are used to smuggle one past a check.
# The full-width forms are read as formula starts by East-Asian Excel locales.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A plain number ("-2", "+1.5", "-3e4", "-2,5") is inert in every spreadsheet: kept as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """A spreadsheet cell that cannot run as a formula (OWASP CSV-injection advice).

    Text that starts with ``= + - @``, a tab, CR or LF (or their full-width forms) gets a
    leading apostrophe, which spreadsheets show as text and never evaluate. Numbers, and text
    that is a plain number such as ``"-2"``, are returned unchanged; ``"-2+3"`` is not a plain
    number and is neutralised.

    Examples
    --------
    >>> print(neutralise_cell('=HYPERLINK("http://x")'))
    '=HYPERLINK("http://x")
    >>> neutralise_cell("-2+3"), neutralise_cell("-2"), neutralise_cell(-2.5)
    ("'-2+3", '-2', -2.5)
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralise_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose text cells (and column names) are neutralised; numbers untouched."""
    out = table.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.StringDtype):  # text only: the few formula starts, found at once
            start = s.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if start.any():
                out.loc[start, col] = s[start].map(neutralise_cell)
            continue
        out[col] = s.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


# Every character Markdown (CommonMark + GFM tables, strikethrough, autolinks, GitHub's $math$)
# gives an inline meaning to: escaped with a backslash wherever it stands. "<", ">" and "&"
# become entities first, so raw HTML and entity tricks (&#91; for "[") are shown as text. With
# "[" and "]" escaped no link or image can start, so "(", ")" and "!" stay as they are; "_"
# inside a word (collective_efficacy) cannot emphasise and stays too.
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~#$])|(?<![^\W_])_|_(?![^\W_])")
# Block starts at the beginning of a line: a bullet ("- x", "+ x", "-" alone, "---") or an
# ordered-list number ("1. x"). "-0.5" is no list and stays readable.
_MD_BULLET = re.compile(r"^([-+])(?![\d.,])")
_MD_NUMBERED = re.compile(r"^(\d{1,9})\.(?=\s|$)")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
# Text without any character the steps below change (specials, "_", "<>&", line breaks): it is
# returned as it is when it also has no blank at either end and does not start with a bullet
# or a digit (a long report escapes tens of thousands of plain community names)
_MD_INERT = re.compile(r"[^\\`*\[\]|~#$_<>&\r\n\v\f\x85\u2028\u2029]+")


def escape_markdown(text: Any) -> str:
    r"""User text as inert Markdown: one line of literal text, safe in a paragraph or table cell.

    Line breaks become spaces and leading/trailing blanks go (a string never breaks a table row,
    starts a heading or an indented code block); HTML is shown as text (``<`` ``>`` ``&`` as
    entities); link, image, code, emphasis, math and table syntax
    (``\ ` * _ [ ] | ~ # $``) is backslash-escaped; a leading ``-``/``+`` bullet or ``1.``
    cannot start a list or a rule. The rendered text reads as the input (on one line). A bare
    URL may still be shown as a link by GFM renderers (autolinks): its text is its target, so
    it cannot mislead, and no image is ever loaded.

    Examples
    --------
    >>> print(escape_markdown("![t](http://attacker.example/p.png)"))
    !\[t\](http://attacker.example/p.png)
    >>> print(escape_markdown("A|B\n# heading <b>"))
    A\|B \# heading &lt;b&gt;
    >>> print(escape_markdown("-0.25"), escape_markdown("- item"))
    -0.25 \- item
    """
    s = str(text)
    if (
        _MD_INERT.fullmatch(s)
        and not (s[0].isspace() or s[-1].isspace() or s[0].isdigit())
        and s[0] not in "-+"
    ):
        return s
    s = _LINE_BREAKS.sub(" ", s).strip()
    s = html.escape(s, quote=False)
    s = _MD_SPECIAL.sub(lambda m: "\\" + m[0], s)
    s = _MD_BULLET.sub(r"\\\1", s)
    return _MD_NUMBERED.sub(r"\1\\.", s)

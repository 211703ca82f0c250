"""Display helpers shared by the report's sections, figures and renderers (private).

Numbers are rounded here for display only; every number comes from the Evaluation.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from collective_efficacy.report._text import HEAD, TEXT

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

Block = tuple[str, Any]
# XML 1.0 forbids these characters even escaped; lone surrogates cannot be encoded at all
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def xml_safe(value: Any) -> str:
    """``str(value)`` with the characters XML cannot hold as spaces (lone surrogates: U+FFFD)."""
    return _SURROGATE.sub("\ufffd", _BAD_XML.sub(" ", str(value)))


def svg_text(value: Any) -> str:
    """User text as the content of an SVG ``<text>`` element: inert in HTML, well-formed XML.

    >>> svg_text("<img src=x> & 'b'")
    '&lt;img src=x&gt; &amp; &#x27;b&#x27;'
    """
    return html.escape(xml_safe(value))


class Span:
    """A cell that spans the rest of its row (a suppressed community's message)."""

    def __init__(self, text: str, n: int) -> None:
        self.text, self.n = text, n


class Verdict:
    """A verdict cell: its text (with the plot's marker) and its code, for styling."""

    def __init__(self, text: str, code: str) -> None:
        self.text, self.code = text, code

    def __str__(self) -> str:
        return self.text


def fmt(v: Any, digits: int = 2, t: dict[str, str] | None = None) -> str:
    """Round for display only; the language gives the decimal sign and yes/no."""
    t = t or TEXT["en"]
    if type(v) is float:  # the common case first: no chain of isinstance checks
        if v != v:  # NaN
            return "–"
        text = f"{v:.{digits}f}"
        if text[0] == "-" and not text.strip("-0."):  # -0.004 -> "0.00", not "-0.00"
            text = text[1:]
        return text.replace(".", t["decimal"])
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, bool):
        return t["yes"] if v else t["no"]
    if isinstance(v, float):
        text = f"{v:.{digits}f}"
        if text.startswith("-") and not text.strip("-0."):  # -0.004 -> "0.00", not "-0.00"
            text = text[1:]
        return text.replace(".", t["decimal"])
    return str(v)


def num(t: dict[str, str], v: Any, digits: int = 2) -> str:
    return fmt(v, digits, t)


def bound(t: dict[str, str], v: Any) -> str:
    """An interval bound with enough digits that it never reads as 0 on the wrong side.

    A bound of 0.003 shown as "0.00" next to "improved" looks like a contradiction; it is
    shown as "0.003" (up to 4 decimals), other bounds with 2.

    >>> from collective_efficacy.report._format import text_for
    >>> [bound(text_for("en"), v) for v in (0.4567, 0.003, -0.0004)]
    ['0.46', '0.003', '-0.0004']
    """
    if type(v) is not float and not is_num(v):
        return fmt(v, 2, t)
    a = abs(float(v))
    digits = 2 if a >= 0.005 or a == 0 else 3 if a >= 0.0005 else 4
    return fmt(v, digits, t)


def chance(t: dict[str, str], p: Any) -> str:
    """A probability as a whole percentage that never rounds to a certainty: '>99%', '<1%'.

    >>> from collective_efficacy.report._format import text_for
    >>> [chance(text_for("en"), p) for p in (0.976, 0.998, 0.002, 0.5)]
    ['98%', '>99%', '<1%', '50%']
    """
    if type(p) is not float and not is_num(p):
        return fmt(p, 2, t)
    if p >= 0.995:
        return ">" + t["percent"].format(p=99)
    if p <= 0.005:
        return "<" + t["percent"].format(p=1)
    return t["percent"].format(p=fmt(100 * float(p), 0, t))


def count(t: dict[str, str], n: int) -> str:
    """A whole number with the language's thousands separator: 1,195 / 1.195."""
    return f"{n:,}".replace(",", t["thousands"])


def signed(t: dict[str, str], v: float, digits: int = 2) -> str:
    """A change with its sign: '+0.18', '−0.05' (a true minus sign)."""
    text = fmt(abs(v), digits, t)
    return ("+" if v > 0 else "−" if v < 0 else "") + text


def pval(t: dict[str, str], p: Any) -> Any:
    """A p-value for display: below 0.001 it is shown as '< 0.001'."""
    if isinstance(p, float) and p < 0.001:
        return "< " + fmt(0.001, 3, t)
    return fmt(p, 3, t) if isinstance(p, float) else p


def is_num(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float)):
        return True
    return (
        isinstance(v, str)
        and bool(v)
        and (v[0].isdigit() or v.startswith(("< ", "-0", "–", ">99", "<1")))
    )


def text_for(lang: str) -> dict[str, str]:
    return TEXT.get(lang, TEXT["en"])


def head_for(lang: str) -> dict[str, str]:
    return HEAD.get(lang, HEAD["en"])


def wave(t: dict[str, str], label: str) -> str:
    return t.get(label, label)


def name(r: dict[str, Any], ev: Evaluation) -> Any:
    c = ev.community
    return r[c] if c in r else r.get("community", "")


def scale_text(t: dict[str, str], rng: tuple[float, float] | None) -> str:
    """'1–5' for the scale's range (integers without decimals)."""
    if rng is None:
        return ""
    lo, hi = (int(x) if float(x).is_integer() else num(t, x) for x in rng)
    return f"{lo}–{hi}"


def anchor(text: str, taken: set[str]) -> str:
    """An HTML id from a heading: ASCII, lower case, hyphens; unique within ``taken``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "section"
    slug, k = base, 2
    while slug in taken:
        slug, k = f"{base}-{k}", k + 1
    taken.add(slug)
    return slug

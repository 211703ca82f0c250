"""The report's fast paths give the text of the plain ones (issue 16: writing the report).

* :func:`escape_markdown` returns plain text unchanged without its regular expressions: checked
  against the full escaping steps on every text of up to three symbols of an alphabet rich in
  Markdown syntax and 20,000 seeded random texts of 4 to 12 symbols -- equal strings, no
  tolerance.
* The table renderers format finite floats and ints inline and build each text cell once:
  checked cell for cell against the generic formatter (:func:`fmt` / :func:`_html_cell`).
* Long tables go through one ``%`` template per signature of cell types
  (:mod:`collective_efficacy.report._templated`): 6,000 seeded rows of eight signatures, with
  every awkward float (NaN, infinities, -0.0, values that round to -0.00, huge ones) -- the
  same strings as the generic formatter, no tolerance.
* The grouping of a table's rows by cell types is made once per report and shared by the HTML
  and the Markdown renderer: the same text as a grouping made afresh for each.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections.abc import Iterator

import numpy as np

from collective_efficacy import report
from collective_efficacy.export._escape import (
    _LINE_BREAKS,
    _MD_BULLET,
    _MD_NUMBERED,
    _MD_SPECIAL,
    escape_markdown,
)
from collective_efficacy.report import _html_cell, _html_rows, _md, _md_table, _templated
from collective_efficacy.report._format import Span, Verdict, fmt, text_for
from collective_efficacy.report._templated import layout


def _escape_slow(text: str) -> str:
    """escape_markdown's steps, all applied (the function before its fast path)."""
    s = _LINE_BREAKS.sub(" ", str(text)).strip()
    s = html.escape(s, quote=False)
    s = _MD_SPECIAL.sub(lambda m: "\\" + m[0], s)
    s = _MD_BULLET.sub(r"\\\1", s)
    return _MD_NUMBERED.sub(r"\1\\.", s)


ALPHABET = list("Buurt 09._-+*`[]|~#$<>&!()\\\t\r\n\v\f\x85\u2028\u2029\xa0 ëé١²") + ["Noord", "1."]


def _texts() -> Iterator[str]:
    """Every text of 0 to 3 symbols (81,400), then 20,000 seeded random texts of 4 to 12.

    This replaced 3,000 hypothesis examples of 0 to 12 symbols (4.7 s of CPU, the time mostly
    hypothesis's own): the short texts, where a bullet, a numbered-list marker or a line break
    meets the start or end of the text, are all checked rather than sampled (1.3 s)."""
    for size in range(4):
        yield from map("".join, itertools.product(ALPHABET, repeat=size))
    rng = np.random.default_rng(20261203)
    for size in rng.integers(4, 13, 20_000):
        yield "".join(ALPHABET[j] for j in rng.integers(0, len(ALPHABET), size))


def test_escape_markdown_fast_path_is_the_full_escaping() -> None:
    differ = [text for text in _texts() if escape_markdown(text) != _escape_slow(text)]
    assert differ == [], differ[:5]


def test_escape_markdown_plain_names_unchanged() -> None:
    for name in ("Buurt 12", "Oud-West", "De Pijp (Noord)", "Ééndracht", "A.B"):
        assert escape_markdown(name) == _escape_slow(name) == name


def _cells() -> list[object]:
    rng = np.random.default_rng(7)
    floats = [float(x) for x in rng.normal(0, 3, 300)]
    floats += [0.0, -0.0, -0.004, 0.005, -0.005, 1e17, -1e-9, math.inf, -math.inf, math.nan]
    ints = [0, 1, -3, 12345678901234567890, 7]
    texts = ["Buurt 1", "-2+3", "< 0.001", "–", "24%", "a<b>&c", "", "1. item", "0.5 to 0.9"]
    other = [None, True, False, np.float64(2.5), np.int64(4), Verdict("▲ improved", "improved")]
    return [*floats, *ints, *texts, *other]


def _expected_rows(rows: list[list[object]], lang: str) -> tuple[list[str], list[str]]:
    """Each row's HTML and Markdown, cell by cell through the generic formatter."""
    t = text_for(lang)
    want_html = ["<tr>" + "".join(_html_cell(v, t, html.escape) for v in r) + "</tr>" for r in rows]
    want_md = []
    for r in rows:
        out: list[str] = []
        for v in r:
            if isinstance(v, Span):
                out += [_md(v.text)] + [""] * (v.n - 1)
            else:
                out.append(_md(fmt(v, t=t)))
        want_md.append("| " + " | ".join(out) + " |")
    return want_html, want_md


def test_table_cells_as_the_generic_formatter() -> None:
    cells = _cells()
    rows = [cells[i : i + 7] for i in range(0, len(cells), 7)] + [["Buurt 2", 3, Span("few", 4)]]
    for lang in ("en", "nl"):
        t = text_for(lang)
        want_html, md_rows = _expected_rows(rows, lang)
        assert _html_rows(rows, t, {}) == want_html
        got = _md_table((["a"] * 7, rows), t)
        assert got[2:-1] == md_rows
        assert not any(re.search(r"\| -0[.,]00 ", x) for x in got)


def test_long_tables_through_templates_as_the_generic_formatter() -> None:
    rng = np.random.default_rng(20261203)
    awkward = [0.0, -0.0, -0.004, -0.005, -0.0049999, -0.01, 0.005, 1e17, -1e-9, 2.675]
    awkward += [math.nan, math.inf, -math.inf]
    names = ["Buurt 1", "a<b>&c", "-2+3", "< 0.001", "–", "1. item", "50%", "%s %d", ""]
    verdicts = [Verdict("▲ improved", "improved"), Verdict("○ no change", "no_change")]

    def num() -> float:
        if rng.random() < 0.1:
            return awkward[int(rng.integers(len(awkward)))]
        return float(rng.normal(0, 3))

    def name() -> str:
        return names[int(rng.integers(len(names)))] + str(int(rng.integers(50)))

    makers = [
        lambda: [name(), int(rng.integers(200)), int(rng.integers(200)), num(), num(), name(),
                 name(), num(), verdicts[int(rng.integers(2))]],
        lambda: [name(), None, None, Span("fewer than 10", 6)],
        lambda: [name(), "baseline", int(rng.integers(6)), num(), num(), num()],
        lambda: [name(), int(rng.integers(6)), None, None, bool(rng.random() < 0.5), name()],
        lambda: [name(), True, False, None],
        lambda: [name(), np.float64(num()), np.int64(3), 7],  # numpy scalars: the generic path
        lambda: [num()],
        lambda: [name(), 12345678901234567890, -3, num()],
    ]  # fmt: skip
    rows = [makers[int(k)]() for k in rng.integers(len(makers), size=6000)]
    for lang in ("en", "nl"):
        t = text_for(lang)
        want_html, want_md = _expected_rows(rows, lang)
        assert _html_rows(rows, t, {}) == want_html
        assert _md_table((["a"], rows), t)[2:-1] == want_md
        shared = layout(rows)  # one grouping for both renderers, as the report shares it
        assert _html_rows(rows, t, {}, shared) == want_html
        assert _md_table((["a"], rows), t, None, {id(rows): shared})[2:-1] == want_md


def test_report_shares_each_tables_layout(example_evaluation, monkeypatch) -> None:
    """HTML then Markdown of one evaluation: every table grouped once (kept beside the cached
    blocks), and both reports the text of renderers that group afresh."""
    ev = example_evaluation
    report._LAST.clear()
    html_text, md_text = ev.to_html(), ev.to_markdown()
    _, bl, layouts = report._LAST["en"]
    tables = {id(p[1]) for kind, p in bl if kind in ("table", "longtable")}
    assert layouts and set(layouts) == tables
    made: list[int] = []

    def counted(rows):
        made.append(id(rows))
        return layout(rows)

    monkeypatch.setattr(report, "layout", counted)  # the cache's maker
    monkeypatch.setattr(_templated, "layout", counted)  # templated's own, without a cache
    assert ev.to_markdown() == md_text and ev.to_html() == html_text and made == []
    monkeypatch.setattr(report, "_layout", lambda rows, layouts: None)  # a layout per render
    report._LAST.clear()
    assert ev.to_html() == html_text and ev.to_markdown() == md_text
    assert len(made) == 2 * len(tables)
    report._LAST.clear()


def test_exact_floats_format_as_float_subclasses() -> None:
    """fmt, bound and chance take exact floats first (issue 16); a float subclass (numpy's
    float64) still goes the generic way: both give the same text."""
    from collective_efficacy.report._format import bound, chance

    floats = [float(x) for x in np.random.default_rng(3).normal(0, 2, 200)]
    floats += [0.0, -0.0, -0.004, 0.004, -0.0049, 0.995, 0.005, 0.0004, -0.00004, 1e-12]
    floats += [math.nan, math.inf, -math.inf, 12345.678]
    for lang in ("en", "nl"):
        t = text_for(lang)
        for v in floats:
            for digits in (0, 1, 2, 3, 4):
                assert fmt(v, digits, t) == fmt(np.float64(v), digits, t)
            assert bound(t, v) == bound(t, np.float64(v))
            if not math.isnan(v):
                p = abs(v) / (1 + abs(v)) if math.isfinite(v) else 1.0
                assert chance(t, p) == chance(t, np.float64(p))

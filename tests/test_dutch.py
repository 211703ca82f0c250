"""Dutch complete (issue 15, item 5): no English sentence or label in the nl report or console.

The detector looks at what a reader sees: the text of the HTML page (and its image alt texts),
the Markdown report, the texts drawn in the figures and the command line's output. It fails on
(a) a common English word that is not also Dutch, and (b) any run of three or more words of an
English catalogue text. Proper names and codes are allowed: community names, file and column
names, item ids, the references list (English titles of publications).
"""

from __future__ import annotations

import json
import re
import string
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import collective_efficacy as ce
from collective_efficacy._messages import MESSAGES, Message, Note, message, problem_message
from collective_efficacy.impact import IMPACT_LEVEL_LABELS
from collective_efficacy.report._text import HEAD, REFERENCES, TEXT

# Common English words that are not Dutch words (so a Dutch text never needs them).
ENGLISH = frozenset(
    re.findall(
        r"\w+",
        """
        the and with from for are was were not this that which been has have to on at by or as its
        than these those there their when where should could would into only each every all no yes
        but if can cannot will be it they them you your our we what why how who an file files column
        columns row rows expected value values community communities wave waves baseline end cycle
        missing answered answer answers warning warnings cell cells label labels shown used excluded
        level levels change changes improved declined read unknown duplicate items question
        questions survey report notes note mean median computed published reason respondents
        neighbourhood map plot release threshold suppressed secondary fewer more less clear clearly
        overall between within across agree agreement reliability scores wrote removed error
        interrupted sheet sheets encoding look wrong pass given
        """,
    )
)


def _catalogue_fragments() -> list[str]:
    """Runs of three or more words of every English catalogue text (placeholders cut out)."""
    out = []
    for text in [*MESSAGES["en"].values(), *TEXT["en"].values(), *HEAD["en"].values()]:
        for part in re.split(r"\{[^}]*\}", text):
            words = re.findall(r"[A-Za-z'-]+", part)
            if len(words) >= 3 and not set(w.lower() for w in words) <= _DUTCH_TOO:
                out.append(" ".join(words))
    return out


_DUTCH_TOO = {"p", "n", "icc", "rwg", "j", "ad", "ci", "g", "hedges", "welch", "bonferroni"}


class _Visible(HTMLParser):
    """The text a reader sees: text outside <style>/<script>/<title>, and image alt texts."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._skip += 1
        for k, v in attrs:
            if k in ("alt", "aria-label", "title") and v:
                self.parts.append(v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_html(page: str) -> str:
    p = _Visible()
    p.feed(page)
    return "\n".join(p.parts)


def visible_markdown(md: str) -> str:
    md = re.sub(r"\]\(#[^)]*\)", "]", md)  # anchors are slugs of the Dutch headings
    return md.replace("\\", "")


def english_in(text: str, names: set[str]) -> list[str]:
    """What in ``text`` is English: words of :data:`ENGLISH`, and English catalogue fragments.

    ``names`` (communities, files, columns, items) and the references are cut out first.
    """
    for ref in REFERENCES:
        text = text.replace(ref, " ")
        text = text.replace(ref.replace("&", "&amp;"), " ")
    for nm in sorted(names, key=len, reverse=True):
        if nm:
            text = text.replace(nm, " ")
    text = re.sub(r"\b[\w.-]+\.(html|json|csv|md|geojson|xlsx)\b", " ", text)  # file names
    text = re.sub(r"/\S+", " ", text)  # paths
    text = re.sub(r"--[\w-]+|\w+=|'notes'", " ", text)  # options, arguments, a JSON key: codes
    found = sorted({w for w in re.findall(r"[A-Za-z]+", text) if w.lower() in ENGLISH})
    flat = " ".join(re.findall(r"[A-Za-z'-]+", text))
    found += [f for f in _catalogue_fragments() if f" {f} " in f" {flat} "]
    return found


def _names(ev: ce.Evaluation, extra: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    out = {ev.community, ev.scale, ev.instrument_id, *extra}
    for rows in ev.sections.values():
        for r in rows:
            for k in (ev.community, "item"):
                if r.get(k) is not None:
                    out.add(str(r[k]))
    for w in ev.waves:
        out.add(w.source if w.source != w.wave else "")  # a DataFrame's source is its wave
        out.update(w.normalised_labels)
    out.update(ce.datasets.EXAMPLE_COLUMNS)
    out.update(ce.datasets.EXAMPLE_COLUMNS.values())
    return out


def _figure_texts(fig: Any) -> str:
    from matplotlib.text import Text

    return "\n".join(t.get_text() for t in fig.findobj(Text) if t.get_text())


def _svg_texts(svg: str) -> str:
    """Every text of an SVG figure (the forest plot), one per line, as it is shown."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter() if t.tag.endswith("}text"))


def _assert_dutch(ev: ce.Evaluation, extra: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    names = _names(ev, extra)
    html_text = visible_html(ev.to_html(lang="nl"))
    assert "Samenvatting" in html_text
    assert english_in(html_text, names) == [], "English in the nl HTML report"
    md = visible_markdown(ev.to_markdown(lang="nl"))
    assert english_in(md, names) == [], "English in the nl Markdown report"
    from collective_efficacy.report._figures import forest_svg
    from collective_efficacy.report._sections import community_verdicts

    for narrow in (False, True):
        svg = forest_svg(community_verdicts(ev), ev, "nl", narrow=narrow)
        assert svg is not None
        assert english_in(_svg_texts(svg), names) == [], "English in the nl forest plot"


def test_detector_finds_english(example_evaluation) -> None:
    """The detector is not blind: the English report is full of findings."""
    ev = example_evaluation
    found = english_in(visible_html(ev.to_html(lang="en")), _names(ev))
    assert {"the", "communities", "baseline"} <= {f.lower() for f in found}
    assert english_in("Notes: not computed", set()) != []
    assert english_in("Buurt A1 in bestand nulmeting.csv", {"Buurt A1"}) == []


def test_example_report_is_dutch(example_evaluation) -> None:
    _assert_dutch(example_evaluation)


def test_example_map_is_dutch(example_evaluation) -> None:
    import pandas as pd

    from collective_efficacy.report.plot import impact_map

    ev = example_evaluation
    levels = pd.DataFrame([r for r in ev.sections["impact"] if r["wave"] == "end_of_cycle"])
    for legend in ("right", "below"):
        fig = impact_map(levels, ev.geometry, community=ev.community, lang="nl", legend=legend)
        assert english_in(_figure_texts(fig), _names(ev)) == []


def _messy(folder: Path) -> tuple[Path, Path, Path]:
    """Two exports as they come: a cp1252 CSV with dirty cells and a whitespace-variant label,
    a community in one wave only, an item nobody answered and a reversed item."""
    before, after = ce.datasets.load_example(split=True)
    before = before.astype({"v01_buurt_hecht": object, "v02_buren_helpen": object}).copy()
    before.loc[before.index[:3], "buurt"] = " Buurt A1"  # whitespace variant
    before.loc[before.index[5:8], "v01_buurt_hecht"] = ["7", "x", " 3 "]  # dirty cells
    last = before["buurt"].iloc[-1]
    before.loc[before["buurt"] == last, "buurt"] = "Buurt Café"  # in one wave only; é: cp1252
    v02 = before["v02_buren_helpen"].map(lambda v: str(v).strip())
    before["v02_buren_helpen"] = [6 - int(v) if v.isdigit() else v for v in v02]  # reversed
    after = after.copy()
    after["v05_vertrouwen"] = np.nan  # an item with no answers
    paths = folder / "nulmeting.csv", folder / "eindmeting.csv", folder / "kolommen.json"
    before.to_csv(paths[0], index=False, encoding="cp1252")
    after.to_csv(paths[1], index=False)
    paths[2].write_text(json.dumps(ce.datasets.EXAMPLE_COLUMNS), encoding="utf-8")
    return paths


def test_messy_files_report_and_console_are_dutch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process (the console of a real process is tested in test_cli_exit.py)."""
    from collective_efficacy.cli import main

    base, end, cols = _messy(tmp_path)
    out = tmp_path / "uit"
    args = ["evaluate", str(base), str(end)]
    args += ["--community", "buurt", "--respondent", "respondent_id", "--columns", str(cols)]
    args += ["--lang", "nl", "--out", str(out), "--quiet"]
    code = main(args)
    run = capsys.readouterr()
    assert code == 0, run.err
    console = run.out + run.err
    assert "nulmeting: 1196 rijen gelezen" in console and "geschreven:" in console
    assert english_in(console, {str(out)}) == [], console
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    ev = ce.Evaluation.model_validate(results)
    # every messy case reached the report, keyed and in Dutch
    codes = {m.code for w in ev.waves for m in w.problem_messages}
    assert {"problem_out_of_range", "problem_unknown_label", "problem_empty_column"} <= codes
    assert ev.waves[0].note_messages[0].code == "read_cp1252"
    assert ev.note_messages["communities_in_one_wave"].params["n"] == 2
    assert any(r.get("reversed_suspect") for r in ev.sections["item_statistics"])
    html_text = visible_html((out / "report.html").read_text(encoding="utf-8"))
    md = visible_markdown((out / "report.md").read_text(encoding="utf-8"))
    for text in (html_text, md):
        assert "is gelezen als Windows-1252" in text
        assert "helemaal geen antwoorden" in text
        assert "omgescoord moet worden" in text  # the reversed item
        assert "maar in één meting gemeten" in text
        assert '" Buurt A1" → "Buurt A1"' in text  # the whitespace variant, merged and listed
    names = _names(ev, {"Buurt Café"})
    assert english_in(html_text, names) == []
    assert english_in(md, names) == []
    _assert_dutch(ev, {"Buurt Café"})


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


@pytest.mark.parametrize(
    "table",
    [MESSAGES, TEXT, HEAD, IMPACT_LEVEL_LABELS],
    ids=["messages", "report_text", "report_heads", "impact_labels"],
)
def test_catalogue_has_both_languages_with_the_same_placeholders(table: Any) -> None:
    assert set(table) == {"en", "nl"}
    assert set(table["en"]) == set(table["nl"])
    for key, en in table["en"].items():
        assert _placeholders(en) == _placeholders(table["nl"][key]), key


def test_plot_texts_have_both_languages() -> None:
    from collective_efficacy.report.plot import _TEXT

    assert set(_TEXT["en"]) == set(_TEXT["nl"])


def test_messages_render_and_travel() -> None:
    assert message("communities_in_one_wave", "nl", n=2).startswith("2 buurten zijn")
    assert message("communities_in_one_wave", "en", n=1).startswith("1 community is")
    assert message("no_scores", "nl", wave="end_of_cycle", scale="x").startswith(
        "Geen enkele respondent van de eindmeting"
    )
    p = problem_message("out_of_range", "q1", 3)
    assert p.render("nl") == "kolom 'q1': antwoorden buiten de codes van het instrument (aantal: 3)"
    assert problem_message("something_new", None, 2).render("nl").startswith("rijen: probleem")
    note = Note("read_cp1252", "the library's own English", file="a.csv")
    assert str(note) == "the library's own English" and note.message.params == {"file": "a.csv"}
    import copy
    import pickle

    for twin in (copy.deepcopy(note), pickle.loads(pickle.dumps(note))):
        assert isinstance(twin, Note) and twin.message == note.message and twin == note
    assert Message.model_validate(note.message.model_dump()) == note.message


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--community", "buurt", "--respondent", "buurt"], "noemen dezelfde kolom 'buurt'"),
        ([], "--community is verplicht"),
        (["--community", "wijk"], "--community kolom 'wijk': kolom niet gevonden"),
        (["--community", "buurt"], "koppel ze dan aan de vragen met --columns"),
    ],
)
def test_cli_errors_in_dutch(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra, expected):
    from collective_efficacy.cli import main

    base, end, _ = _messy(tmp_path)
    argv = ["evaluate", str(base), str(end), "--lang", "nl", "--out", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("fout: ") and expected in err and "Traceback" not in err
    assert english_in(err, {str(tmp_path), "nulmeting.csv", "SC1", "wijk", "buurt"}) == [], err


def test_cli_missing_file_in_dutch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from collective_efficacy.cli import main

    missing = str(tmp_path / "a.csv")
    assert main(["evaluate", missing, missing, "--community", "b", "--lang", "nl"]) == 2
    assert capsys.readouterr().err == f"fout: BASELINE {missing}: bestand bestaat niet\n"


def test_skipped_sections_and_library_assessments_are_dutch() -> None:
    """The notices of sections left out, with assessments in the library's own format."""
    from collective_efficacy.datasets import load_example_assessments, load_example_geometry

    before, after = ce.datasets.load_example(split=True)
    kw = {"community": "buurt", "respondent": "respondent_id"}
    kw |= {"columns": ce.datasets.EXAMPLE_COLUMNS, "geometry": load_example_geometry()}
    ev = ce.evaluate(before, after, assessments=load_example_assessments(), skip_map=True, **kw)
    assert "Kaarten op verzoek weggelaten" in ev.to_markdown(lang="nl")
    _assert_dutch(ev)
    ev = ce.evaluate(before, after, skip_impact=True, **kw)
    assert "Op verzoek weggelaten" in ev.to_markdown(lang="nl")
    _assert_dutch(ev)

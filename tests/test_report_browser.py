"""The HTML report opened in headless Chromium: it renders, every image loads, nothing is logged
to the console at level error and the page needs no network.

The checks are generic (any number of sections, tables and images) so that the test keeps
working while sections are added to the report.

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) and the
``playwright`` Python package from the ``test`` extra. Playwright only drives the system
browser (``executable_path``); ``playwright install`` is never needed. Without chromium the test
is skipped, except in CI (``CI=true``) where a missing browser is a failure.
"""

from __future__ import annotations

import copy
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
# CHROMIUM=/path/to/chrome overrides the browser (e.g. on a non-Debian machine).
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# Chromium as root needs --no-sandbox; the rest keeps a headless browser on a closed network
# quiet (no update checks, sync or QUIC probes), and lean: one renderer process and no site
# isolation for the local report files (about 1 s CPU of the module's 8; the layout is the same).
# Playwright adds --headless and, with launch_persistent_context, --user-data-dir (a fresh
# temporary folder per test module).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--renderer-process-limit=1",
    "--disable-features=Translate,OptimizationHints,MediaRouter,site-per-process",
    "--disable-site-isolation-trials",
]

# Cell texts that mean a missing value leaked into the report unformatted.
LEAKED_MISSING = {"None", "nan", "NaN", "null", "undefined", "<NA>", "NaT"}
# Entities that show up as text when a string was escaped twice.
DOUBLE_ESCAPED = ("&amp;", "&lt;", "&gt;", "&quot;", "&#x27;", "&#39;")


def _need(what: str) -> None:
    """Skip outside CI, fail in CI."""
    if IN_CI:
        pytest.fail(f"{what} (required when CI=true)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        _need(f"chromium not found at {CHROMIUM}: apt-get install chromium (Debian)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright not installed: pip install -e '.[test]'")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
            offline=True,
        )
        try:
            yield context
        finally:
            context.close()


def open_and_check(
    context: Any, url: str, *, width: int = 1200, media: str = "screen"
) -> tuple[dict[str, Any], list[str]]:
    """Open ``url`` in a new page ``width`` px wide (``media="print"``: as printed); return
    facts about the page and a list of problems found."""
    problems: list[str] = []
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(media=media)
    try:
        page.on(
            "console",
            lambda m: (
                problems.append(f"console {m.type}: {m.text} ({m.location})")
                if m.type in ("error", "assert")
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on(
            "requestfailed", lambda r: problems.append(f"request failed: {r.url[:120]} {r.failure}")
        )
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(("data:", "file:"))
                else problems.append(f"network request: {r.url[:120]}")
            ),
        )
        response = page.goto(url, wait_until="load", timeout=15_000)
        if response is not None and not response.ok:
            problems.append(f"{url}: status {response.status}")
        # data: images are decoded asynchronously; wait until every one has settled.
        page.wait_for_function("Array.from(document.images).every(i => i.complete)", timeout=10_000)
        facts: dict[str, Any] = page.evaluate(
            """() => ({
                lang: document.documentElement.lang,
                title: document.title,
                h1: Array.from(document.querySelectorAll('h1')).map(h => h.innerText.trim()),
                h2: Array.from(document.querySelectorAll('h2')).map(h => h.innerText.trim()),
                tables: Array.from(document.querySelectorAll('table')).map(t => ({
                    rows: t.rows.length,
                    width: t.getBoundingClientRect().width,
                })),
                images: Array.from(document.images).filter(
                    i => getComputedStyle(i.closest('.map-print') || i).display !== 'none'
                ).map(i => ({
                    alt: i.alt,
                    cls: i.className,
                    src: i.currentSrc.slice(0, 40),
                    complete: i.complete,
                    naturalWidth: i.naturalWidth,
                    naturalHeight: i.naturalHeight,
                    shownWidth: i.getBoundingClientRect().width,
                    shownHeight: i.getBoundingClientRect().height,
                })),
                forests: Array.from(document.querySelectorAll('figure.fp svg')).filter(
                    s => getComputedStyle(s).display !== 'none').map(s => {
                    const r = s.getBoundingClientRect(), k = r.width / s.viewBox.baseVal.width;
                    const texts = Array.from(s.querySelectorAll('text'));
                    const frame = s.querySelector('rect').getBoundingClientRect();
                    const boxes = Array.from(s.querySelectorAll('g.lg')).map(
                        g => g.getBoundingClientRect());
                    return {
                        cls: s.getAttribute('class'), width: r.width, height: r.height,
                        rows: s.querySelectorAll('g.row').length,
                        minFontPx: Math.min(...texts.map(
                            t => parseFloat(t.getAttribute('font-size')) * k)),
                        // a text outside the figure is cut off; a name reaching into the plot
                        // overlaps the bars; legend entries must not overlap each other
                        cut: texts.filter(t => { const b = t.getBoundingClientRect();
                            return b.left < r.left - 1 || b.right > r.right + 1
                                || b.top < r.top - 1 || b.bottom > r.bottom + 1;
                        }).map(t => t.textContent),
                        intoPlot: Array.from(s.querySelectorAll('text.nm')).filter(
                            t => t.getBoundingClientRect().right > frame.left + 0.5
                        ).map(t => t.textContent),
                        legendOverlap: boxes.some((a, i) => boxes.some((b, j) => j > i
                            && a.left < b.right && b.left < a.right
                            && a.top < b.bottom && b.top < a.bottom)),
                    };
                }),
                mapNames: Array.from(document.querySelectorAll('figure.imap svg')).map(s => {
                    const k = s.getBoundingClientRect().width / s.viewBox.baseVal.width;
                    const shown = Array.from(s.querySelectorAll('text.nm')).filter(
                        t => getComputedStyle(t).display !== 'none' && t.textContent.trim());
                    return {shown: shown.length, minPx: Math.min(...shown.map(
                        t => parseFloat(getComputedStyle(t).fontSize) * k))};
                }),
                svgMaps: Array.from(document.querySelectorAll('figure.imap svg')).map(s => ({
                    width: s.getBoundingClientRect().width,
                    height: s.getBoundingClientRect().height,
                    paths: s.querySelectorAll('path.c').length,
                })),
                cells: Array.from(document.querySelectorAll('td, th')).map(c => c.innerText),
                text: document.body.innerText,
                alts: Array.from(document.images).map(i => i.alt),
                height: document.documentElement.scrollHeight,
                scrollWidth: document.documentElement.scrollWidth,
                innerWidth: window.innerWidth,
                summary: (() => {
                    const s = document.querySelector('.summary');
                    if (!s) return null;
                    const r = s.getBoundingClientRect();
                    return {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY};
                })(),
                toc: Array.from(document.querySelectorAll('nav.toc a')).map(
                    a => a.getAttribute('href')),
                ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
                wide: Array.from(document.querySelectorAll('body *')).filter(
                    e => e.getBoundingClientRect().right > window.innerWidth + 1
                         && !e.closest('.tw')).map(e => e.tagName + '.' + e.className),
            })"""
        )
    finally:
        page.close()
    return facts, problems


@pytest.fixture(scope="module")
def example_reports(example_outputs: Callable[[str], Path]) -> dict[str, Path]:
    return {lang: example_outputs(lang) / "report.html" for lang in ("en", "nl")}


@pytest.fixture(scope="module")
def checked(browser_context: Any) -> Callable[..., tuple[dict[str, Any], list[str]]]:
    """:func:`open_and_check` of a report file, once per page and view in this module.

    Several tests read facts of the same page in the same view (the example report at 1200 px
    on screen: rendering, summary, Dutch text); each used to open it again, about 0.4 s of
    Chromium CPU a page. The report files are read-only (``example_outputs``), so the page is
    the same; each test gets its own copy of the facts and problems.
    """
    seen: dict[tuple[str, int, str], tuple[dict[str, Any], list[str]]] = {}

    def check(url: str, *, width: int = 1200, media: str = "screen") -> Any:
        key = (url, width, media)
        if key not in seen:
            seen[key] = open_and_check(browser_context, url, width=width, media=media)
        return copy.deepcopy(seen[key])

    return check


def _images_load(facts: dict[str, Any]) -> None:
    """The forest plot is shown (one inline SVG, legible, nothing cut or overlapping) and every
    image there is (none in the example report) loads."""
    assert len(facts["forests"]) == 1, f"the forest plot is missing or doubled: {facts['forests']}"
    for fig in facts["forests"]:
        assert fig["width"] > 0 and fig["height"] > 0 and fig["rows"] > 0, fig
        assert fig["minFontPx"] >= 10, f"forest plot text below 10 px: {fig}"
        assert fig["cut"] == [] and fig["intoPlot"] == [] and not fig["legendOverlap"], fig
    for img in facts["images"]:
        assert img["alt"], f"image without alt text: {img}"
        assert img["src"].startswith("data:image/"), f"image not embedded: {img}"
        assert img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0, (
            f"image did not load: {img}"
        )
        assert img["shownWidth"] > 0 and img["shownHeight"] > 0, f"image not displayed: {img}"


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_example_report_renders_in_chromium(
    checked: Callable[..., Any], example_reports: dict[str, Path], lang: str
) -> None:
    report = example_reports[lang]
    facts, problems = checked(report.as_uri())
    assert problems == [], "\n".join(problems)

    assert facts["lang"] == lang
    assert facts["title"].strip()
    assert len(facts["h1"]) == 1 and facts["h1"][0], facts["h1"]
    assert len(facts["h2"]) >= 4 and all(facts["h2"]), facts["h2"]
    assert len(facts["tables"]) >= 2, facts["tables"]
    assert all(t["rows"] >= 2 for t in facts["tables"]), "a table without data rows"

    _images_load(facts)

    leaked = sorted({c for c in facts["cells"] if c.strip() in LEAKED_MISSING})
    assert not leaked, f"unformatted missing values in table cells: {leaked}"
    for entity in DOUBLE_ESCAPED:
        assert entity not in facts["text"], f"double-escaped {entity!r} shown as text"
    assert facts["height"] > 900, "the page is suspiciously short"


def test_checker_catches_a_broken_page(browser_context: Any, tmp_path: Path) -> None:
    """The harness itself: a broken image, a script error and a network request are reported,
    and a corrupt embedded image (which logs nothing) has naturalWidth 0."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>x</title></head><body>"
        "<h1>x</h1><img alt='missing' src='missing.png'>"
        "<img alt='remote' src='https://example.invalid/x.png'>"
        "<img alt='corrupt' src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUg'>"
        "<script>console.error('boom'); undefined_function();</script></body></html>",
        encoding="utf-8",
    )
    facts, problems = open_and_check(browser_context, page.as_uri())
    text = "\n".join(problems)
    assert "console error: boom" in text
    assert "undefined_function" in text
    assert "network request: https://example.invalid/x.png" in text
    assert "missing.png" in text  # the failed file request (or its console error)
    assert [i["naturalWidth"] for i in facts["images"]] == [0, 0, 0]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_summary_on_the_first_screen_and_contents_resolve(
    checked: Callable[..., Any], example_reports: dict[str, Path], lang: str
) -> None:
    """At 1200 x 900 px the whole summary is on the first screen; every contents link has its
    target; map labels are at least 10 px as shown."""
    facts, problems = checked(example_reports[lang].as_uri(), width=1200)
    assert problems == [], "\n".join(problems)
    assert facts["summary"] is not None, "no summary box"
    assert facts["summary"]["bottom"] <= 900, facts["summary"]
    assert facts["h2"][0] == ("Summary" if lang == "en" else "Samenvatting")
    assert len(facts["toc"]) == len(facts["h2"]) - 1
    assert all(h.startswith("#") and h[1:] in facts["ids"] for h in facts["toc"]), facts["toc"]
    # on screen the maps are the interactive SVGs, without names (the tooltip names them);
    # printed, the same SVGs show every community's name
    assert [m["paths"] for m in facts["svgMaps"]] == [40, 40], facts["svgMaps"]
    assert [m["shown"] for m in facts["mapNames"]] == [0, 0]
    printed, problems = checked(example_reports[lang].as_uri(), width=1200, media="print")
    assert problems == [], "\n".join(problems)
    assert [m["paths"] for m in printed["svgMaps"]] == [40, 40], printed["svgMaps"]
    assert all(m["width"] > 300 for m in printed["svgMaps"]), printed["svgMaps"]
    _images_load(printed)
    assert printed["forests"][0]["cls"] == "fp-w"  # the wide forest plot on paper
    for m in printed["mapNames"]:
        assert m["shown"] == 40 and m["minPx"] >= 10, f"map names {m}"
    assert facts["scrollWidth"] <= facts["innerWidth"]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_phone_width_has_no_horizontal_page_scroll(
    checked: Callable[..., Any], example_reports: dict[str, Path], lang: str
) -> None:
    """At 420 px the page does not scroll sideways (wide tables scroll in their own box), every
    image loads and scales, and the forest plot is the narrow version."""
    facts, problems = checked(example_reports[lang].as_uri(), width=420)
    assert problems == [], "\n".join(problems)
    assert facts["innerWidth"] == 420
    assert facts["scrollWidth"] <= 420, (facts["scrollWidth"], facts["wide"][:10])
    assert facts["wide"] == [], facts["wide"][:10]
    _images_load(facts)
    for img in facts["images"]:
        assert img["shownWidth"] <= 420, img
    (forest,) = facts["forests"]
    assert forest["cls"] == "fp-n" and forest["width"] <= 420, forest  # the narrow version
    # the maps are SVGs that scale to the screen
    assert len(facts["svgMaps"]) == 2, facts["svgMaps"]
    for m in facts["svgMaps"]:
        assert 300 <= m["width"] <= 420 and m["height"] > 150, m


def test_no_english_in_the_dutch_report_as_the_browser_shows_it(
    checked: Callable[..., Any], example_reports: dict[str, Path]
) -> None:
    """The text Chromium renders of the nl report (and the images' alt texts) has no English
    word or catalogue phrase (the detector of tests/test_dutch.py); the en report has many."""
    import collective_efficacy as ce
    from test_dutch import _names, english_in

    seen = {}
    for lang in ("en", "nl"):
        # the page at 1200 px on screen (the context's view), as the other tests open it
        facts, _ = checked(example_reports[lang].as_uri())
        text = facts["text"] + "\n" + "\n".join(facts["alts"])
        results = example_reports[lang].parent / "results.json"
        ev = ce.Evaluation.model_validate_json(results.read_text(encoding="utf-8"))
        seen[lang] = english_in(text, _names(ev))
    assert seen["nl"] == [], seen["nl"]
    assert len(seen["en"]) > 20


# -- the interactive SVG map (issue 19) ---------------------------------------------------------
def _open_offline(context: Any, url: str, problems: list[str], width: int = 1200) -> Any:
    """A page whose every request is routed: data: and file: pass, anything else is aborted
    and recorded; console errors, page errors and dialogs (alert) are recorded too."""
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": 900})

    def route(r: Any) -> None:
        if r.request.url.startswith(("data:", "file:")):
            r.continue_()
        else:
            problems.append(f"network request: {r.request.url[:120]}")
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "assert", "warning") else None)  # fmt: skip
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto(url, wait_until="load", timeout=15_000)
    return page


def _tab_to_map(page: Any) -> str:
    """Press Tab until a community of the first map has the focus; its aria-label."""
    for _ in range(300):
        page.keyboard.press("Tab")
        label = page.evaluate(
            "() => document.activeElement.matches('figure.imap path.c') ? "
            "document.activeElement.getAttribute('aria-label') : null"
        )
        if label is not None:
            return str(label)
    raise AssertionError("Tab never reached a community of the map")


TIP = """() => { const t = document.querySelector('figure.imap .imap-tip');
  const r = t.getBoundingClientRect();
  return {hidden: t.hidden, text: t.innerText, w: r.width, h: r.height,
          strong: t.querySelector('strong') && t.querySelector('strong').textContent,
          hi: document.querySelector('figure.imap path.hi2').getAttribute('d').length}; }"""


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_svg_map_tooltip_on_keyboard_focus_and_hover(
    browser_context: Any, example_reports: dict[str, Path], lang: str, tmp_path: Path
) -> None:
    """Tab reaches the map's communities in the tables' order; the focused one gets a visible
    outline and a tooltip with its name, level and n (or the suppression reason, without n) as
    results.json has them; Escape hides it; hovering shows it; no request leaves the page."""
    import collective_efficacy as ce

    results = example_reports[lang].parent / "results.json"
    ev = ce.Evaluation.model_validate_json(results.read_text(encoding="utf-8"))
    rows = [r for r in ev.sections["impact"] if r["wave"] == "baseline"]
    problems: list[str] = []
    page = _open_offline(browser_context, example_reports[lang].as_uri(), problems)
    try:
        assert page.evaluate("() => document.querySelector('figure.imap').getBoundingClientRect()"
                             ".height") > 300  # fmt: skip
        assert page.evaluate("() => document.querySelector('.imap-tip').hidden") is True
        label = _tab_to_map(page)
        first = rows[0]
        tip = page.evaluate(TIP)
        assert not tip["hidden"] and tip["w"] > 50 and tip["h"] > 20, tip
        assert tip["strong"] == first["buurt"] and label.startswith(first["buurt"] + ": ")
        assert f" {first['level']} - " in tip["text"], tip["text"]
        word = "respondents" if lang == "en" else "respondenten"
        assert f"{first['n']} {word}" in tip["text"]
        assert tip["hi"] > 10, "no focus outline"
        page.screenshot(path=str(tmp_path / f"map-{lang}.png"))
        # a suppressed community: drawn without level or n, its tooltip says so
        k = next(i for i, r in enumerate(rows) if r["suppressed"])
        page.locator("figure.imap").first.locator("path.c").nth(k).focus()
        tip = page.evaluate(TIP)
        assert tip["strong"] == rows[k]["buurt"]
        assert ("suppressed" if lang == "en" else "onderdrukt") in tip["text"]
        lines = tip["text"].split("\n")
        assert len(lines) == 2, lines  # the name and the reason: no level, no n
        assert "level" not in lines[1] and "niveau" not in lines[1], lines
        fill = page.locator("figure.imap").first.locator("path.c").nth(k).get_attribute("fill")
        assert fill == ce.report.styling.NO_LEVEL_COLOUR
        page.keyboard.press("Escape")
        assert page.evaluate(TIP)["hidden"] is True
        page.keyboard.press("Tab")  # the next community
        assert page.evaluate(TIP)["strong"] == rows[k + 1]["buurt"]
        page.evaluate("() => document.activeElement.blur()")
        page.locator("figure.imap").nth(1).locator("path.c").nth(2).hover()
        tips = page.evaluate("() => [...document.querySelectorAll('.imap-tip')].map(t => t.hidden)")
        assert tips == [True, False], tips
    finally:
        page.close()
    assert problems == [], "\n".join(problems)


HOSTILE = (
    "</script><img src=x onerror=alert(1)>",
    '"><svg onload=alert(2)>',
    "<!--<script>alert(3)</script>",
    "line\u2028sep\u2029x'&amp;",
)


def test_svg_map_shows_hostile_names_as_text(
    browser_context: Any, tmp_path: Path, example_outputs: Callable[[str], Path]
) -> None:
    """Community names that are markup show as text in the tooltip and the accessible name,
    and run nothing: no dialog, no injected element, no request, no console error."""
    import collective_efficacy as ce

    d = example_outputs("en")
    raw = (d / "results.json").read_text(encoding="utf-8")
    ev = ce.Evaluation.model_validate_json(raw)
    names = sorted({r["buurt"] for r in ev.sections["impact"]})
    rename = dict(zip(names, HOSTILE))
    data = ev.model_dump(mode="json")
    for rows in data["sections"].values():
        for r in rows:
            if isinstance(r, dict) and r.get("buurt") in rename:
                r["buurt"] = rename[r["buurt"]]
    for f in data["geometry"]["features"]:
        f["properties"]["buurt"] = rename.get(f["properties"]["buurt"], f["properties"]["buurt"])
    hostile = ce.Evaluation.model_validate(data)
    report = tmp_path / "hostile.html"
    hostile.to_html(report)
    problems: list[str] = []
    page = _open_offline(browser_context, report.as_uri(), problems)
    try:
        assert page.evaluate("() => document.querySelectorAll('img[src=\"x\"], svg[onload]')"
                             ".length") == 0  # fmt: skip
        assert page.evaluate("() => document.querySelectorAll('figure.imap').length") == 2
        paths = page.locator("figure.imap").first.locator("path.c")
        labels = [paths.nth(i).get_attribute("aria-label") for i in range(paths.count())]
        for name in HOSTILE:
            assert any(lab and lab.startswith(name + ": ") for lab in labels), name
        for i in range(4):
            paths.nth(i).focus()
            shown = page.evaluate(TIP)["strong"]
            assert shown in HOSTILE, shown
    finally:
        page.close()
    assert problems == [], "\n".join(problems)

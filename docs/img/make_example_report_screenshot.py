"""Regenerate the screenshots of the example report in docs/img (headless Chromium).

Run from the repository root after ``pip install -e '.[all,test]'``:

    python docs/img/make_example_report_screenshot.py [--lang en nl] [--max-height 20000]

It builds the report with ``collective-efficacy evaluate --example`` into a temporary folder,
opens ``report.html`` in Debian's chromium (``apt-get install chromium``, or set CHROMIUM=...)
through Playwright (no ``playwright install`` needed) and saves, per language, 256-colour PNGs
so that they stay small:

* ``example_report[_nl].png``: the whole page at 1200 px wide (cut at ``--max-height``);
* ``example_report[_nl]_first.png``: the first screen at 1200 x 900 px;
* ``example_report[_nl]_phone.png``: the first two screens at 420 px wide (a phone).

Look at the results before committing them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from collective_efficacy.cli import main as cli_main

OUT = Path(__file__).parent
WIDTH, HEIGHT, PHONE = 1200, 900, 420
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def shoot(
    html: Path, png: Path, *, max_height: int, width: int = WIDTH, full: bool = True
) -> tuple[int, int]:
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": HEIGHT},
            offline=True,
        )
        try:
            page = context.new_page()
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function("Array.from(document.images).every(i => i.complete)")
            height = int(page.evaluate("document.documentElement.scrollHeight"))
            shown = min(height, max_height) if full else min(height, max_height, HEIGHT)
            page.screenshot(
                path=str(png),
                full_page=True,
                clip={"x": 0, "y": 0, "width": width, "height": shown},
            )
        finally:
            context.close()
    return height, shown


def shrink(png: Path) -> None:
    """Reduce to a 256-colour palette (text and plots survive this well, the file gets much smaller)."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        return
    with Image.open(png) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(png, optimize=True)


def run(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", choices=["en", "nl"], nargs="+", default=["en", "nl"])
    ap.add_argument("--max-height", type=int, default=20_000, help="cut the page here (px)")
    ap.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs")
    args = ap.parse_args(argv)
    for lang in args.lang:
        suffix = "" if lang == "en" else f"_{lang}"
        with tempfile.TemporaryDirectory() as tmp:
            rc = cli_main(["evaluate", "--example", "--out", tmp, "--lang", lang, "--quiet"])
            if rc != 0:
                return rc
            html = Path(tmp) / "report.html"
            shots = [
                (f"example_report{suffix}.png", WIDTH, args.max_height, True),
                (f"example_report{suffix}_first.png", WIDTH, HEIGHT, False),
                (f"example_report{suffix}_phone.png", PHONE, 2 * HEIGHT, True),
            ]
            for file, width, cut, full in shots:
                png = args.out / file
                height, shown = shoot(html, png, max_height=cut, width=width, full=full)
                shrink(png)
                size = png.stat().st_size
                print(f"wrote {png} ({width}x{shown} of a {height} px page, {size / 1e6:.2f} MB)")
                if size > 1_000_000:
                    print("warning: over 1 MB; lower --max-height", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(run())

"""Benchmark: ``evaluate`` with a national CBS map (issue 19).

Map: the synthetic, realistic Wijk- en Buurtkaart of :mod:`benchmarks.make_buurtkaart` (the
real CBS file cannot be downloaded here): 14,000 buurt MultiPolygons in RD New (EPSG:28992)
with irregular boundaries of 70-560 vertices (median about 200), ``wijken`` and ``gemeenten``
layers, about 100 MB. Survey: ``bench_evaluate.make_waves`` with its communities recoded to the
buurten nearest to the centre of the largest gemeente (a city and its neighbours, as a
municipal survey; :func:`benchmarks.make_buurtkaart.survey_codes`).

Figures, each in a fresh subprocess:

* the map step: reading the buurten layer, keeping the surveyed buurten and reprojecting
  them to WGS84 (``geography.read_survey_geometry``) -- what ``evaluate(geometry=...)`` adds; wall time (best of
  3) and the memory it adds (``ru_maxrss`` after minus RSS before);
* ``evaluate(..., geometry="map.gpkg", geometry_key="buurtcode")`` end to end, ``to_html()``
  (with the interactive SVG maps and the print PNGs), its size (target: under 5 MB of HTML),
  and the number of communities the SVG map draws (only the surveyed ones, zoomed to them).

Targets of issue 19: map step under 3 s and 500 MB added; HTML under 5 MB.
``python -m benchmarks.run --only geo`` writes its section of RESULTS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .timing import exit_on_help

SIZES = [(20_000, 300)]
_ROOT = Path(__file__).resolve().parents[1]


def _make_map(path: Path) -> Path:
    from .make_buurtkaart import write

    return write(path)


def _surveyed(gpkg: str, n_comm: int) -> list[str]:
    """The surveyed buurten (written beside the map once, so timing runs read no extra data)."""
    cache = Path(gpkg).with_suffix(f".survey{n_comm}.json")
    if not cache.exists():
        from .make_buurtkaart import survey_codes

        cache.write_text(json.dumps(survey_codes(gpkg, n_comm)), encoding="utf-8")
    return list(json.loads(cache.read_text(encoding="utf-8")))


def _measure(kind: str, gpkg: str, n_resp: int, n_comm: int) -> dict[str, Any]:
    """Run in a fresh interpreter: one figure."""
    import os
    import resource
    import time

    def rss() -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    import collective_efficacy as ce
    from collective_efficacy.geography import read_survey_geometry

    from .bench_evaluate import COLUMNS, MIN_N, make_waves

    surveyed = _surveyed(gpkg, n_comm)
    if kind == "map":
        base = rss()
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fc = read_survey_geometry(gpkg, "buurtcode", surveyed)
            times.append(time.perf_counter() - t0)
        added = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - base
        return {"seconds": min(times), "mb": added, "features": len(fc["features"])}
    before, after, assess = make_waves(n_resp, n_comm)
    to_code = {f"Buurt {k}": surveyed[k] for k in range(n_comm)}
    before, after = (w.assign(buurt=w["buurt"].map(to_code)) for w in (before, after))
    assess = assess.assign(buurt=assess["buurt"].map(to_code))
    t0 = time.perf_counter()
    ev = ce.evaluate(before, after, instrument="sampson1997", community="buurt",
                     respondent="respondent_id", columns=COLUMNS, assessments=assess,
                     geometry=gpkg, geometry_key="buurtcode", min_n=MIN_N)  # fmt: skip
    t_eval = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ev.to_html(Path(tmp) / "report.html")
        t_html = time.perf_counter() - t0
        page = (Path(tmp) / "report.html").read_text(encoding="utf-8")
    svg = page.split('<figure class="imap"')[1] if '<figure class="imap"' in page else ""
    return {"seconds": t_eval, "html_seconds": t_html, "html_mb": len(page.encode()) / 2**20,
            "features": len(ev.geometry["features"]) if ev.geometry else 0,
            "svg_paths": svg.count('<path class="c"')}  # fmt: skip


def _subprocess(kind: str, gpkg: Path, n_resp: int, n_comm: int) -> dict[str, Any]:
    code = (
        "import json, sys; from benchmarks.bench_geo import _measure; "
        f"print(json.dumps(_measure({kind!r}, {str(gpkg)!r}, {n_resp}, {n_comm})))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=_ROOT, capture_output=True,
                         text=True, check=True)  # fmt: skip
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    from .make_buurtkaart import N_BUURTEN as n_buurten

    with tempfile.TemporaryDirectory() as tmp:
        gpkg = _make_map(Path(tmp) / "wijkbuurtkaart.gpkg")
        for n_resp, n_comm in sizes:
            _surveyed(str(gpkg), n_comm)
            m = _subprocess("map", gpkg, n_resp, n_comm)
            rows.append({
                "workload": f"map step: read {n_buurten:,} buurten, keep surveyed, RD New -> WGS84",
                "tool": "geography.read_survey_geometry (what evaluate calls)",
                "n_respondents": n_resp, "n_communities": n_comm, "seconds": m["seconds"],
                "note": f"best of 3; {m['mb']:.0f} MB added; {m['features']} features kept; "
                "targets 3 s, 500 MB",
            })  # fmt: skip
            e = _subprocess("evaluate", gpkg, n_resp, n_comm)
            rows.append({
                "workload": "evaluate with the GeoPackage, then to_html",
                "tool": "collective_efficacy.evaluate(geometry=gpkg)",
                "n_respondents": n_resp, "n_communities": n_comm, "seconds": e["seconds"],
                "note": f"one run; to_html {e['html_seconds']:.2f} s, {e['html_mb']:.2f} MB of "
                f"HTML (target 5 MB); {e['features']} features read, {e['svg_paths']} drawn "
                "per SVG map",
            })  # fmt: skip
    return rows


if __name__ == "__main__":  # pragma: no cover
    exit_on_help(__doc__, sys.argv[1:], "none (runs every size)")
    from .run import to_markdown

    print(to_markdown(run(SIZES)))

"""The command line of issue 19: instruments xlsform/codebook, geo codes/rollup/geojson, and
evaluate on a CBS GeoPackage (only the surveyed communities drawn; --level wijk)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.cli import main

pytest.importorskip("pyogrio")
# found, not imported: pyxform (with openpyxl) takes about 1 s to import, paid only by a test
# process that runs test_instruments_xlsform_and_codebook (which imports it)
if importlib.util.find_spec("pyxform") is None:
    pytest.skip("could not import 'pyxform'", allow_module_level=True)
sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "geo"))
import make_cbs_gpkg


def test_instruments_xlsform_and_codebook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyxform.xls2xform import convert

    form = tmp_path / "form.xlsx"
    assert main(["instruments", "xlsform", "sampson1997", "-o", str(form), "--lang", "nl,en"]) == 0
    found: list[str] = []
    convert(xlsform=str(form), warnings=found)
    assert found == []
    cb = tmp_path / "cb.sps"
    assert main(["instruments", "codebook", "sampson1997", "-o", str(cb), "--lang", "nl"]) == 0
    assert cb.read_text(encoding="utf-8") == ce.export.codebook.codebook_text(
        "sampson1997", lang="nl"
    )
    assert main(["instruments", "xlsform", "sampson1997"]) == 2
    assert "needs -o/--output FILE" in capsys.readouterr().err


@pytest.fixture(scope="module")
def cbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The example survey recoded to CBS buurt codes of a synthetic Wijk- en Buurtkaart."""
    root = tmp_path_factory.mktemp("cbs")
    gpkg = make_cbs_gpkg.write(root / "wbk.gpkg", 2, 4, 6)  # 48 buurten, 8 wijken
    codes, _, _ = make_cbs_gpkg.codes(2, 4, 6)
    before, after = ce.datasets.load_example(split=True)
    names = sorted(before["buurt"].dropna().unique())  # 40 buurten surveyed
    to_code = dict(zip(names, codes))
    paths = {"gpkg": gpkg}
    for wave, frame in (("baseline", before), ("end", after)):
        out = frame.assign(buurt=frame["buurt"].map(to_code))
        paths[wave] = root / f"{wave}.csv"
        out.to_csv(paths[wave], index=False)
    ass = pd.read_csv(Path(ce.__file__).parent / "datasets" / "data" / "example_assessments.csv")
    paths["assessments"] = root / "assessments.csv"
    ass.assign(buurt=ass["buurt"].map(to_code)).to_csv(paths["assessments"], index=False)
    wijk = ass.assign(buurt="WK" + ass["buurt"].map(to_code).str[2:8])
    wijk = wijk.groupby(["buurt", "meting"], as_index=False).max()
    paths["assessments_wijk"] = root / "assessments_wijk.csv"
    wijk.to_csv(paths["assessments_wijk"], index=False)
    paths["columns"] = root / "columns.json"
    paths["columns"].write_text(json.dumps(ce.datasets.EXAMPLE_COLUMNS), encoding="utf-8")
    return paths


def _evaluate(cbs: dict[str, Path], out: Path, *extra: str) -> int:
    return main(
        [
            "evaluate",
            str(cbs["baseline"]),
            str(cbs["end"]),
            "--community",
            "buurt",
            "--respondent",
            "respondent_id",
            "--columns",
            str(cbs["columns"]),
            "--geometry",
            str(cbs["gpkg"]),
            "--out",
            str(out),
            "--quiet",
            *extra,
        ]
    )


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def test_evaluate_draws_only_the_surveyed_buurten(cbs: dict[str, Path], tmp_path: Path) -> None:
    rc = _evaluate(
        cbs, tmp_path, "--geometry-key", "buurtcode", "--assessments", str(cbs["assessments"])
    )
    assert rc == 0
    feats = _features(tmp_path / "map_baseline.geojson")
    surveyed = set(pd.read_csv(cbs["baseline"])["buurt"].dropna())
    assert {f["properties"]["buurtcode"] for f in feats} == surveyed  # 40 of the 48
    lon = np.array(
        [c[0] for f in feats for c in np.asarray(f["geometry"]["coordinates"]).reshape(-1, 2)]
    )
    assert ((lon > 5.38) & (lon < 5.5)).all()  # WGS84 degrees near Amersfoort, not RD metres
    _svg_draws(tmp_path / "report.html", 40)


def _svg_draws(report: Path, n: int) -> None:
    """Each SVG map draws ``n`` communities, zoomed to them: the drawing spans the viewBox's
    width (within its 2 % margins)."""
    import re

    from collective_efficacy.report._svgmap import WIDTH

    page = report.read_text(encoding="utf-8")
    maps = page.split('<figure class="imap"')[1:]
    assert len(maps) == 2
    for m in maps:
        paths = re.findall(r'<path class="c"[^>]* d="([^"]+)"', m)
        assert len(paths) == n
        x = np.array([float(v) for d in paths for v in re.findall(r"[ML]([-\d.]+) ", d)])
        assert x.min() == pytest.approx(0.02 * WIDTH, abs=1) and x.max() == pytest.approx(
            0.98 * WIDTH, abs=1
        )


def test_evaluate_at_wijk_level(cbs: dict[str, Path], tmp_path: Path) -> None:
    rc = _evaluate(
        cbs,
        tmp_path,
        "--geometry-key",
        "wijkcode",
        "--level",
        "wijk",
        "--assessments",
        str(cbs["assessments_wijk"]),
    )
    assert rc == 0
    table = pd.read_csv(tmp_path / "communities.csv")
    assert table["buurt"].str.match(r"^WK\d{6}$").all()
    feats = _features(tmp_path / "map_baseline.geojson")
    assert sorted(f["properties"]["wijkcode"] for f in feats) == sorted(table["buurt"].unique())
    _svg_draws(tmp_path / "report.html", table["buurt"].nunique())
    # the wijk figures are aggregate() on the buurt-coded respondents recoded to their wijk
    v = ce.validate(pd.read_csv(cbs["baseline"]), "sampson1997", community="buurt",
                    respondent="respondent_id", columns=ce.datasets.EXAMPLE_COLUMNS,
                    errors="exclude")  # fmt: skip
    s = ce.score(v)
    s["buurt"] = "WK" + s["buurt"].str[2:8]
    ref = ce.aggregate(s, community="buurt", columns=["collective_efficacy"], min_n=10)
    got = table[(table["wave"] == "baseline") & ~table["suppressed"]].set_index("buurt")
    ref = ref.set_index("buurt").loc[got.index]
    assert len(got) >= 4
    np.testing.assert_array_equal(got["n"].to_numpy(), ref["n"].to_numpy())
    # communities.csv rounds to 4 decimals
    np.testing.assert_allclose(got["mean"], ref["mean"], rtol=0, atol=5e-5)


def test_geo_commands(
    cbs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = tmp_path / "scores.csv"
    v = ce.validate(
        pd.read_csv(cbs["baseline"]),
        "sampson1997",
        community="buurt",
        columns=ce.datasets.EXAMPLE_COLUMNS,
        errors="exclude",
    )
    ce.score(v)[["buurt", "collective_efficacy"]].to_csv(scores, index=False)
    assert main(["geo", "codes", str(scores), "--community", "buurt"]) == 0
    assert "valid CBS codes" in capsys.readouterr().out
    out = tmp_path / "rollup.csv"
    assert (
        main(
            [
                "geo",
                "rollup",
                str(scores),
                "--community",
                "buurt",
                "--to",
                "gemeente",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    got = pd.read_csv(out)
    assert set(got["level"]) == {"buurt", "wijk", "gemeente"}
    geo = tmp_path / "w.geojson"
    assert main(["geo", "geojson", str(cbs["gpkg"]), "--layer", "wijken", "-o", str(geo)]) == 0
    assert len(_features(geo)) == 8
    bad = tmp_path / "bad.csv"
    bad.write_text("buurt,x\nBU0363000,1\n", encoding="utf-8")
    assert main(["geo", "codes", str(bad), "--community", "buurt"]) == 2
    assert "malformed CBS code" in capsys.readouterr().err

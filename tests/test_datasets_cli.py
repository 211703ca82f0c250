from __future__ import annotations

import json

import numpy as np
import pandas as pd

import collective_efficacy as ce
from collective_efficacy.cli import main


def test_example_is_the_simulator_output() -> None:
    sim = ce.datasets.simulate()
    shipped = ce.datasets.load_example()
    expect = sim.data.astype(object).where(sim.data.notna(), None).astype(str)
    got = shipped.astype(object).where(shipped.notna(), None).astype(str)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expect.reset_index(drop=True))
    assert sim.truth["tau_between_sd"] == 0.35
    assert shipped["buurt"].nunique() == 40


def test_simulator_recovers_change() -> None:
    sim = ce.datasets.simulate(n_communities=60, mean_size=60, dirty=False, seed=5)
    v = ce.validate(
        sim.data,
        "sampson1997",
        community="buurt",
        wave="meting",
        respondent="respondent_id",
        columns=ce.datasets.EXAMPLE_COLUMNS,
    )
    s = ce.score(v, scales=["collective_efficacy"])
    m = s.groupby("meting")["collective_efficacy"].mean()
    # clipping to 1..5 shrinks effects a little; mean change 0.15 +- sampling error
    assert 0.05 < m["eindmeting"] - m["nulmeting"] < 0.25


def test_cli_score_example(tmp_path, capsys) -> None:
    assert main(["score", "--example", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # issue 13: at baseline Buurt L1 (4, below --min-n 5) and Buurt P1 (secondarily suppressed,
    # so 5 to 8) are hidden; the rows used (2393) would narrow L1 to 3 or 4: withheld
    assert "2393" not in out and "1 rows excluded (rows read and used not published" in out
    table = pd.read_csv(tmp_path / "communities.csv")
    report = json.loads((tmp_path / "validation.json").read_text())
    assert report["n_rows_in"] is None and report["n_rows_usable"] is None
    assert report["n_rows_excluded"] == 1
    # numbers in the file equal the library's
    v = ce.validate(
        ce.datasets.load_example(),
        "sampson1997",
        community="buurt",
        wave="meting",
        respondent="respondent_id",
        columns=ce.datasets.EXAMPLE_COLUMNS,
        errors="exclude",
    )
    agg = ce.aggregate(
        ce.score(v).drop(columns=["respondent_id"]), community="buurt", wave="meting"
    )
    # communities.csv rounds to 4 decimals (issue 15: Excel-friendly); results are exact to that
    shown = ~table["suppressed"].astype(bool)
    np.testing.assert_allclose(table.loc[shown, "mean"], agg.loc[shown, "mean"], rtol=0, atol=5e-5)
    secondary = table["reason"].fillna("").str.startswith("secondary suppression")
    assert (shown | agg["suppressed"] | secondary).all() and secondary.any()
    assert "respondent_id" not in table.columns


def test_cli_instruments_and_validate(tmp_path, capsys) -> None:
    assert main(["instruments"]) == 0
    assert "sampson1997" in capsys.readouterr().out
    assert main(["instruments", "show", "sampson1997", "--lang", "nl"]) == 0
    assert "Dit is een hechte buurt." in capsys.readouterr().out
    f = tmp_path / "s.csv"
    f.write_text("buurt,SC1\nA,4\nA,12\n", encoding="utf-8")
    code = main(
        [
            "validate",
            str(f),
            "--community",
            "buurt",
            "--items",
            "SC1",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 1  # problems found
    out = capsys.readouterr().out  # no cell values without --with-row-detail (README, Privacy)
    assert "out of range" in out and "value 12" not in out
    code = main(["validate", str(f), "--strict", "--instrument", "nope"])
    assert code == 2
    assert "unknown instrument" in capsys.readouterr().err

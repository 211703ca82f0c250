"""next_cycle (the per-community plan of an evaluation) and ``collective-efficacy plan``."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from collective_efficacy.cli import main
from collective_efficacy.plan import next_cycle, residents_for_change, residents_for_reliability


def test_next_cycle_matches_the_scalar_functions(example_evaluation) -> None:  # type: ignore[no-untyped-def]
    ev = example_evaluation
    t = next_cycle(ev)
    change = ev.tables["change"]
    rows = change[change["level"] == "community"]
    assert len(t) == len(rows)  # every community keeps a row
    k = int((~t["suppressed"]).sum())
    agg = ev.tables["aggregation"].iloc[-1]
    m_rel = residents_for_reliability(0.70, icc=float(agg["icc1"]))["residents"].iloc[0]
    shown = t[~t["suppressed"]]
    assert (shown["residents_for_reliability"] == m_rel).all()
    # the vectorised search gives the scalar residents_for_change answer (alpha/K, pooled SD)
    for _, r in shown.head(6).iterrows():
        ref = residents_for_change(
            abs(r["observed_change"]), sd=r["sd"], n_communities=k, adjust="holm"
        ).iloc[0]
        assert int(r["residents_to_detect_change"]) == int(ref["n_per_wave"])
    hidden = t[t["suppressed"]]
    assert (
        hidden[["n_before", "n_after", "observed_change", "residents_to_detect_change"]]
        .isna()
        .all()
        .all()
    )
    sd = math.sqrt((rows["sd_before"].iloc[0] ** 2 + rows["sd_after"].iloc[0] ** 2) / 2)
    if not t["suppressed"].iloc[0]:
        assert t["sd"].iloc[0] == pytest.approx(sd)


def test_plan_command(
    example_evaluation, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "results.json"
    example_evaluation.to_json(src)
    out_csv = tmp_path / "plan.csv"
    assert main(["plan", "--from", str(src), "--csv", str(out_csv)]) == 0
    text = capsys.readouterr().out
    assert "reliability 0.70" in text and "residents_to_detect_change" in text
    table = pd.read_csv(out_csv)
    assert table.columns[0] == example_evaluation.community
    assert main(["plan", "--from", str(tmp_path / "missing.json")]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["plan", "--from", str(src), "--target", "1.5"]) == 2
    assert "--target" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert main(["plan", "--from", str(bad)]) == 2
    assert "results.json" in capsys.readouterr().err

"""Files as they really come (issue 15): per-wave column maps and community columns, the
assessments in the library's own format, and no silent failure of an input that was given."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.cli import main
from collective_efficacy.datasets import load_example_assessments, load_example_geometry
from collective_efficacy.evaluation._inputs import merge_columns, per_wave_columns

COLS = ce.datasets.EXAMPLE_COLUMNS
# the end-of-cycle export of another year of the survey tool: other names for every column
RENAMED = {c: f"vraag_{k + 1:02d}" for k, c in enumerate(COLS)}
END_COLS = {new: COLS[old] for old, new in RENAMED.items()}


@pytest.fixture(scope="module")
def waves() -> tuple[pd.DataFrame, pd.DataFrame]:
    before, after = ce.datasets.load_example(split=True)
    return before, after.rename(columns={**RENAMED, "buurt": "wijk"})


@pytest.fixture(scope="module")
def files(tmp_path_factory, waves) -> dict[str, str]:
    d = tmp_path_factory.mktemp("files")
    before, after = waves
    before.to_csv(d / "nulmeting.csv", index=False, sep=";")
    after.to_csv(d / "eindmeting.csv", index=False)
    (d / "cols_b.json").write_text(json.dumps(COLS), encoding="utf-8")
    (d / "cols_e.json").write_text(json.dumps(END_COLS), encoding="utf-8")
    load_example_assessments().to_csv(d / "assessments.csv", index=False)
    (d / "buurten.geojson").write_text(json.dumps(load_example_geometry()), encoding="utf-8")
    return {p.stem: str(p) for p in d.iterdir()} | {"dir": str(d)}


def _args(files: dict[str, str], out: str, *extra: str) -> list[str]:
    return [
        "evaluate",
        files["nulmeting"],
        files["eindmeting"],
        "--community-baseline",
        "buurt",
        "--community-end",
        "wijk",
        "--columns-baseline",
        files["cols_b"],
        "--columns-end",
        files["cols_e"],
        "--respondent",
        "respondent_id",
        "--quiet",
        "--out",
        out,
        *extra,
    ]


def _fails(capsys, argv: list[str], *needles: str) -> str:
    """The CLI stops with exit code 2 and a message (no traceback) holding every needle."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ")
    for n in needles:
        assert n in err, (n, err)
    return err


def test_cli_numeric_date_column_is_a_data_error(files, tmp_path, capsys) -> None:
    # before: pandas read 3 as 3 ns after 1970 and failed with an internal TypeError
    before = pd.read_csv(files["nulmeting"], sep=";")
    before.assign(datum=range(len(before))).to_csv(tmp_path / "nul.csv", index=False)
    argv = _args(files, str(tmp_path / "out"), "--date", "datum")
    argv[1] = str(tmp_path / "nul.csv")
    _fails(capsys, argv, "date column 'datum'", "holds numbers", "expected ISO dates (2026-04-01)")


def test_numbers_among_text_dates_are_unreadable_not_epochs() -> None:
    from collective_efficacy.evaluation._inputs import wave_dates

    raw = pd.DataFrame({"d": ["2026-04-01", 3, "x", "02-04-2026"]}, dtype=object)
    got = wave_dates(raw, raw.index, "d", "baseline", "b.csv")
    assert got == {"date_first": "2026-04-01", "date_last": "2026-04-02", "n_dates_unreadable": 2}


@pytest.mark.parametrize("option", ["--columns-baseline", "--geometry"])
def test_cli_deeply_nested_json_names_the_option(files, tmp_path, capsys, option) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' + "[" * 200_000 + "]" * 200_000 + "}", encoding="utf-8")
    argv = _args(files, str(tmp_path / "out"), option, str(deep))
    err = _fails(capsys, argv, "nested too deeply", "deep.json")
    assert ("--columns-baseline" in err) if option.startswith("--col") else ("geometry" in err)


# -- per-wave maps: the same numbers as the one-map example ----------------------------------------
def test_per_wave_maps_and_library_assessments_equal_the_example(waves, example_evaluation):
    """Other column names and another community column in the end-of-cycle file, and the
    assessments as the library ships them (``buurt, meting`` with ``nulmeting/eindmeting``),
    give exactly the evaluation of the bundled example (which maps the labels by hand)."""
    before, after = waves
    ev = ce.evaluate(
        before,
        after,
        community={"baseline": "buurt", "end_of_cycle": "wijk"},
        respondent="respondent_id",
        columns={"baseline": COLS, "end_of_cycle": END_COLS},
        assessments=load_example_assessments(),
        geometry=load_example_geometry(),
    )
    assert ev.community == "buurt"  # the results name the column as the baseline file does
    assert ev.sections == example_evaluation.sections
    assert ev.notes == example_evaluation.notes
    assert ev.omitted == {}
    assert {r["basis"] for r in ev.sections["impact"]} >= {"full", "survey_only"}


def test_column_map_forms() -> None:
    flat = {"a": "SC1"}
    assert per_wave_columns(flat) == {"baseline": flat, "end_of_cycle": flat}
    assert per_wave_columns({"baseline": flat}) == {"baseline": flat, "end_of_cycle": None}
    assert per_wave_columns(None) == {"baseline": None, "end_of_cycle": None}
    with pytest.raises(ce.DataError, match="not a mix"):
        per_wave_columns({"baseline": flat, "x": "SC2"})
    with pytest.raises(ce.DataError, match="unknown key"):
        per_wave_columns({"baseline": flat, "end": flat})
    # the wave's map goes on top of the common one: same column or same item -> the wave's
    common = {"q1": "SC1", "q2": "SC2", "q3": "SC3"}
    assert merge_columns(common, {"v2": "SC2", "q3": "SC4"}) == {
        "q1": "SC1",
        "v2": "SC2",
        "q3": "SC4",
    }
    assert merge_columns(common, None) == common and merge_columns(None, None) is None


def test_community_per_wave_needs_both_waves(waves) -> None:
    before, after = waves
    with pytest.raises(ce.DataError, match="exactly the keys"):
        ce.evaluate(before, after, community={"baseline": "buurt"}, columns=COLS)


# -- the assessments' wave labels ----------------------------------------------------------------
def test_assessment_labels_by_before_after_when_the_surveys_carry_none(waves) -> None:
    """Without a wave column in the survey files, --before/--after name the labels."""
    before, after = waves
    kw = {
        "community": {"baseline": "buurt", "end_of_cycle": "wijk"},
        "columns": {"baseline": COLS, "end_of_cycle": END_COLS},
    }
    b, a = before.drop(columns=["meting"]), after.drop(columns=["meting"])
    with pytest.raises(ce.DataError, match=r"no wave column 'wave'.*'meting'"):
        ce.evaluate(b, a, assessments=load_example_assessments(), **kw)
    with pytest.raises(
        ce.DataError,
        match=r"index labels 0, 1, 2, 3, 4 and 66 more: wave label\(s\) \['nulmeting', 'eindmeting'\]; "
        r"expected one of \['baseline', 'end_of_cycle'\]",
    ):
        ce.evaluate(b, a, assessments=load_example_assessments(), wave="meting", **kw)
    ev = ce.evaluate(
        b,
        a,
        assessments=load_example_assessments(),
        wave="meting",
        before="nulmeting",
        after="eindmeting",
        **kw,
    )
    ref = ce.evaluate(before, after, assessments=load_example_assessments(), **kw)
    assert ev.sections["impact"] == ref.sections["impact"]


# -- no silent failure: the CLI --------------------------------------------------------------------
def test_cli_library_format_assessments_give_the_impact_section(files, tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            _args(
                files,
                str(out),
                "--assessments",
                files["assessments"],
                "--geometry",
                files["buurten"],
            )
        )
        == 0
    )
    res = json.loads((out / "results.json").read_text())
    impact = pd.DataFrame(res["sections"]["impact"])
    assert res["community"] == "buurt" and res["omitted"] == {}
    assert "full" in set(impact["basis"])  # the programme lead's ratings were used
    assert (out / "map_end_of_cycle.geojson").exists()


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        (
            lambda a: a.rename(columns={"buurt": "naam"}),
            ["has no community column", "'buurt'", "'wijk'", "'naam'"],
        ),
        (
            lambda a: a.assign(meting=a["meting"].replace({"eindmeting": "eind"})),
            [
                "column 'meting'",
                "rows 37, 38, 39, 40, 41 and 31 more of beoordeling.csv: wave",
                "['eind']",
                "'nulmeting', 'eindmeting'",
            ],
        ),
        (
            lambda a: a.drop(columns=["group_development"]),
            ["no column(s) ['group_development']", "levels 0-5"],
        ),
        (
            lambda a: a.assign(partner_cooperation=a["partner_cooperation"].replace({3: 7})),
            [
                "'beoordeling.csv' (instrument strongpact_assessment",
                "column 'partner_cooperation'",
                "rows 3, 16,",  # spreadsheet rows: the header is row 1
                "values 7, 7",
                "expected integer 0-5",
            ],
        ),
        (
            lambda a: a.assign(buurt=a["buurt"].replace({"Buurt A1": "Buurt Z9"})),
            ["absent from", "Buurt Z9"],
        ),
    ],
    ids=["community", "wave-label", "rating-column", "rating-value", "unknown-community"],
)
def test_cli_unusable_assessments_stop(files, tmp_path, capsys, change, needles) -> None:
    bad = tmp_path / "beoordeling.csv"
    change(load_example_assessments()).to_csv(bad, index=False)
    argv = _args(files, str(tmp_path / "out"), "--assessments", str(bad))
    _fails(capsys, argv, "assessments file 'beoordeling.csv'", *needles)
    assert not (tmp_path / "out" / "report.html").exists()


def test_cli_missing_assessments_file(files, tmp_path, capsys) -> None:
    argv = _args(files, str(tmp_path), "--assessments", str(tmp_path / "nosuch.csv"))
    _fails(capsys, argv, "--assessments ", "nosuch.csv: no such file")
    # --skip-impact: the file is not read, so its absence does not stop the report
    assert main([*argv, "--skip-impact"]) == 0


@pytest.mark.parametrize(
    ("geometry", "extra", "needles"),
    [
        ("buurten", ["--geometry-key", "naam"], ["no feature has a property 'naam'", "['buurt',"]),
        ("wrong", [], ["none of the 40 features' 'buurt' values matches", "Wijk 1"]),
        ("broken", [], ["is not valid JSON"]),
    ],
)
def test_cli_unusable_geometry_stops(files, tmp_path, capsys, geometry, extra, needles) -> None:
    fc = load_example_geometry()
    for k, f in enumerate(fc["features"]):
        f["properties"]["buurt"] = f"Wijk {k}"
    (tmp_path / "wrong.geojson").write_text(json.dumps(fc), encoding="utf-8")
    (tmp_path / "broken.geojson").write_text("{not json", encoding="utf-8")
    path = files["buurten"] if geometry == "buurten" else str(tmp_path / f"{geometry}.geojson")
    argv = _args(files, str(tmp_path / "out"), "--geometry", path, *extra)
    _fails(capsys, argv, "geometry file '", f"{path.rsplit('/', 1)[-1]}'", *needles)


def test_cli_unusable_date_column_stops(files, tmp_path, capsys) -> None:
    argv = _args(files, str(tmp_path), "--date", "datum")
    _fails(capsys, argv, "date column 'datum'", "baseline file 'nulmeting.csv'", "respondent_id")
    before = pd.read_csv(files["nulmeting"], sep=";").assign(datum="onbekend")
    before.to_csv(tmp_path / "nul.csv", index=False)
    argv = _args(files, str(tmp_path), "--date", "meting")
    argv[1] = str(tmp_path / "nul.csv")
    _fails(
        capsys,
        argv,
        "date column 'meting' in the baseline file 'nul.csv'",
        "['nulmeting']",
        "expected ISO dates (2026-04-01)",
    )


def test_cli_skip_impact_and_skip_map_leave_a_notice(files, tmp_path, capsys) -> None:
    bad = tmp_path / "beoordeling.csv"
    load_example_assessments().rename(columns={"buurt": "naam"}).to_csv(bad, index=False)
    out = tmp_path / "a"
    argv = _args(files, str(out), "--assessments", str(bad), "--geometry", files["buurten"])
    assert main([*argv, "--skip-impact"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["omitted"] == {"impact": "skipped", "map": "no_impact_levels"}
    assert "impact" not in res["sections"] and res["geometry"] is None
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for text in (md, html):  # the notice stands where the section would have been
        assert "Impact level (0-5)" in text
        assert "Left out on request (skip impact)" in text and "No maps" in text
    assert not (out / "map_baseline.geojson").exists()

    out = tmp_path / "b"
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json", encoding="utf-8")
    argv = _args(files, str(out), "--geometry", str(broken), "--skip-map", "--lang", "nl")
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["omitted"] == {"map": "skipped"} and res["sections"]["impact"]
    assert "Kaarten op verzoek weggelaten" in (out / "report.md").read_text()


def test_cli_failure_shows_no_traceback(files, tmp_path, capsys) -> None:
    """In-process: main returns 2 with one message (a real process's failure exit is tested in
    test_corrupt_files.py, test_cli.py and test_cli_exit.py)."""
    bad = tmp_path / "beoordeling.csv"
    load_example_assessments().drop(columns=["meting"]).to_csv(bad, index=False)
    argv = _args(files, str(tmp_path / "out"), "--assessments", str(bad))
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "assessments file 'beoordeling.csv' has no wave column 'wave'" in err


# -- no silent failure: Python -------------------------------------------------------------------
def test_python_raises_and_skips(waves) -> None:
    before, after = waves
    kw = {
        "community": {"baseline": "buurt", "end_of_cycle": "wijk"},
        "columns": {"baseline": COLS, "end_of_cycle": END_COLS},
    }
    bad = load_example_assessments().drop(columns=["partner_cooperation"])
    with pytest.raises(ce.CollectiveEfficacyError, match="the assessments has no column"):
        ce.evaluate(before, after, assessments=bad, **kw)
    with pytest.raises(ce.DataError, match="assessments file 'nosuch.csv'") as err:
        ce.evaluate(before, after, assessments="nosuch.csv", **kw)
    assert err.value.argument == "assessments"
    with pytest.raises(ce.DataError, match="date column 'datum' is not in the baseline"):
        ce.evaluate(before, after, date="datum", **kw)
    fc = load_example_geometry()
    with pytest.raises(ce.DataError, match="no feature has a property 'wijk'"):
        ce.evaluate(before, after, geometry=fc, geometry_key="wijk", **kw)
    ev = ce.evaluate(before, after, assessments=bad, skip_impact=True, **kw)
    assert ev.omitted == {"impact": "skipped"} and "impact" not in ev.sections
    # a community without a shape is listed, not silently left off the map
    fc["features"] = fc["features"][1:]
    ev = ce.evaluate(before, after, geometry=fc, **kw)
    assert "not on the maps" in ev.notes["map"] and "Buurt A1" in ev.notes["map"]


# -- the messy-file end to end -------------------------------------------------------------------
def test_messy_exports_end_to_end(tmp_path, capsys) -> None:
    """Two exports of two years of a survey tool: other column names, another community column
    and a whitespace variant of a community label (" Buurt A1"), through the command line with
    per-wave column maps, the assessments as the library ships them, and a map."""
    before, after = ce.datasets.load_example(split=True)
    after = after.rename(columns={**RENAMED, "buurt": "Wijk "})
    a1 = np.flatnonzero((after["Wijk "] == "Buurt A1").to_numpy())
    assert len(a1) >= 10
    after.iloc[a1[::2], after.columns.get_loc("Wijk ")] = " Buurt A1"  # half the rows
    before.to_csv(tmp_path / "enquete_2024.csv", index=False, sep=";")
    after.to_csv(tmp_path / "enquete_2026.csv", index=False)
    (tmp_path / "kolommen_2024.json").write_text(json.dumps(COLS), encoding="utf-8")
    (tmp_path / "kolommen_2026.json").write_text(json.dumps(END_COLS), encoding="utf-8")
    load_example_assessments().to_csv(tmp_path / "beoordeling.csv", index=False)
    (tmp_path / "buurten.geojson").write_text(json.dumps(load_example_geometry()))
    out = tmp_path / "rapport"
    argv = [
        "evaluate",
        str(tmp_path / "enquete_2024.csv"),
        str(tmp_path / "enquete_2026.csv"),
        "--community-baseline",
        "buurt",
        "--community-end",
        "Wijk ",
        "--columns-baseline",
        str(tmp_path / "kolommen_2024.json"),
        "--columns-end",
        str(tmp_path / "kolommen_2026.json"),
        "--respondent",
        "respondent_id",
        "--assessments",
        str(tmp_path / "beoordeling.csv"),
        "--geometry",
        str(tmp_path / "buurten.geojson"),
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    res = json.loads((out / "results.json").read_text())
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert res["community"] == "buurt"
    # every row of both exports was read through its own column map: nothing lost to naming
    b, e = res["waves"]
    # (the end-of-cycle counts are withheld: they would narrow a suppressed community, see
    # docs/privacy.md; the example's own evaluation withholds them too)
    assert (b["n_rows_in"], e["n_rows_in"]) == (len(before), None)
    ref = ce.validate(
        ce.datasets.load_example(split=True)[1],
        "sampson1997",
        community="buurt",
        columns=COLS,
        errors="exclude",
    ).report
    assert e["n_rows_usable"] is None and e["n_rows_excluded"] == ref.n_rows_excluded
    assert e["n_problems"] == len(ref.problems)
    assert not any("absent" in p for p in b["problems"] + e["problems"])
    scores = pd.DataFrame(res["sections"]["community_scores"])
    assert {"baseline", "end_of_cycle"} == set(scores["wave"])
    assert "full" in {r["basis"] for r in res["sections"]["impact"]}
    assert "Impact level (0-5)" in md and '<svg class="fp-w"' in html
    assert (out / "map_end_of_cycle.geojson").exists()
    # the label variant is merged with its community, and the merge is reported
    assert "Buurt A1" in set(scores["buurt"]) and " Buurt A1" not in set(scores["buurt"])
    assert scores["buurt"].nunique() == 40 and "communities_in_one_wave" not in res["notes"]
    assert e["normalised_labels"] == {" Buurt A1": "Buurt A1"} and b["normalised_labels"] == {}
    merged = "community labels written differently in the file were merged with the same label"
    assert f'{merged} (extra spaces, Unicode form): " Buurt A1" → "Buurt A1".' in md
    assert "(extra spaces, Unicode form): &quot; Buurt A1&quot; → &quot;Buurt A1&quot;." in html


def test_stacked_rows_equal_concat_then_select() -> None:
    """The stacked rows (all, some, none; a float column kept apart; frames let go as they are
    copied) are exactly ``pd.concat(frames, ignore_index=True).iloc[rows]``."""

    from collective_efficacy.evaluation._stack import stacked

    rng = np.random.default_rng(2)

    def frame(n: int, label: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "c": np.array(["A", "B", "C"], dtype=object)[rng.integers(0, 3, n)],
                "x": rng.normal(size=n),
                "w": pd.array([label] * n, dtype="str"),
                "s": rng.normal(size=n),
                "y": rng.normal(size=n),
            }
        )

    a, b = frame(7, "baseline"), frame(5, "end_of_cycle")
    ref = pd.concat([a, b], ignore_index=True)
    pd.testing.assert_frame_equal(stacked([a, b]), ref)
    picks = [np.array([0, 3, 7, 11]), np.arange(12), np.array([8, 9]), np.array([], dtype=int)]
    for rows in picks:
        frames = [a, b]
        got = stacked(frames, rows=rows, alone=["s"], release=True)
        pd.testing.assert_frame_equal(got, ref.iloc[rows], check_index_type=False)
        assert got.index.tolist() == rows.tolist()
        assert [len(f) for f in frames] == [0, 0]  # let go

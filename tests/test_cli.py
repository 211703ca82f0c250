"""The command line speaks CLI: every failure exits 2 with one `error:` line naming the option or
file, checked before any computation, and never shows a traceback (issues 13 and 15)."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy import cli
from collective_efficacy.cli import _support as _cli_support
from collective_efficacy.cli import build_parser, main

COLS = ce.datasets.EXAMPLE_COLUMNS


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    before, after = ce.datasets.load_example(split=True)
    before.to_csv(d / "b.csv", index=False)
    after.to_csv(d / "a.csv", index=False)
    (d / "cols.json").write_text(json.dumps(COLS), encoding="utf-8")
    (d / "afile").write_text("x", encoding="utf-8")
    return {"b": d / "b.csv", "a": d / "a.csv", "cols": d / "cols.json", "file": d / "afile"}


def _fail(capsys, argv: list[str], *expect: str) -> str:
    """Run the command, assert exit 2, one `error:` line with every expected text, no traceback."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    for text in expect:
        assert text in err, err
    return err


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if the evaluation starts: the checks must come before any computation."""
    import collective_efficacy.evaluation as evaluation

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("computation started before the inputs were checked")

    monkeypatch.setattr(evaluation, "evaluate", boom)


def _eval(files: dict[str, Path], *extra: str) -> list[str]:
    return ["evaluate", str(files["b"]), str(files["a"]), *extra]


# -- --columns ------------------------------------------------------------------------------


def test_columns_bad_inline_json(files, tmp_path, capsys, no_compute) -> None:
    argv = _eval(files, "--community", "buurt", "--columns", "{bad", "--out", str(tmp_path))
    _fail(capsys, argv, "--columns (inline JSON): not valid JSON", "line 1, column 2")


def test_columns_nosuch_file(files, tmp_path, capsys, no_compute) -> None:
    argv = _eval(files, "--community", "buurt", "--columns", "nosuch.json", "--out", str(tmp_path))
    _fail(capsys, argv, "--columns nosuch.json: no such file, and not inline JSON")


def test_columns_directory(files, tmp_path, capsys, no_compute) -> None:
    argv = _eval(files, "--community", "buurt", "--columns", str(tmp_path), "--out", str(tmp_path))
    _fail(capsys, argv, f"--columns {tmp_path}: is a folder")


def test_columns_file_not_json_or_not_object(files, tmp_path, capsys, no_compute) -> None:
    bad = tmp_path / "c.json"
    bad.write_text('{"a": "SC1",\n "b" "SC2"}', encoding="utf-8")
    argv = _eval(files, "--community", "buurt", "--columns", str(bad), "--out", str(tmp_path))
    _fail(capsys, argv, f"--columns {bad}: not valid JSON", "line 2")
    bad.write_text('["SC1"]', encoding="utf-8")
    _fail(capsys, argv, "expected a JSON object", "got a list")


# -- inputs ---------------------------------------------------------------------------------


def test_missing_community_asked_by_option(files, tmp_path, capsys, no_compute) -> None:
    err = _fail(capsys, _eval(files, "--out", str(tmp_path)), "--community is required")
    assert "column 'community'" not in err


def test_absent_community_and_respondent_columns(files, tmp_path, capsys) -> None:
    argv = _eval(files, "--community", "wijk", "--columns", str(files["cols"]))
    err = _fail(
        capsys, [*argv, "--out", str(tmp_path)], "--community wijk: no such column in b.csv"
    )
    assert "errors=" not in err and "absent column" not in err
    argv = _eval(
        files, "--community", "buurt", "--respondent", "id", "--columns", str(files["cols"])
    )
    _fail(capsys, [*argv, "--out", str(tmp_path)], "--respondent id: no such column in b.csv")


def test_date_geometry_and_same_column_name_their_option(files, tmp_path, capsys) -> None:
    out = ["--columns", str(files["cols"]), "--out", str(tmp_path), "--quiet"]
    argv = _eval(files, "--community", "buurt", *out)
    _fail(capsys, [*argv, "--date", "datum"], "--date: date column 'datum' is not in the baseline")
    g = tmp_path / "g.geojson"
    g.write_text("{nope", encoding="utf-8")
    _fail(capsys, [*argv, "--geometry", str(g)], "--geometry: geometry file", "is not valid JSON")
    same = _eval(files, "--community", "buurt", "--respondent", "buurt", *out)
    _fail(capsys, same, "--respondent and --community name the same column 'buurt'")


def test_input_files_checked(files, tmp_path, capsys, no_compute) -> None:
    out = ["--community", "buurt", "--out", str(tmp_path / "o")]
    _fail(capsys, ["evaluate", str(files["b"]), "nosuch.csv", *out], "END nosuch.csv: no such file")
    _fail(capsys, ["evaluate", str(tmp_path), str(files["a"]), *out], "BASELINE", "is a folder")
    _fail(capsys, _eval(files, *out, "--geometry", "no.geojson"), "--geometry no.geojson")
    _fail(capsys, _eval(files, *out, "--assessments", "r.csv"), "--assessments r.csv: no such")
    _fail(capsys, ["evaluate", "--out", str(tmp_path)], "give two files, BASELINE and END")
    _fail(capsys, ["score", "nosuch.csv"], "FILE nosuch.csv: no such file")
    _fail(capsys, ["score"], "give a FILE, or --example")
    assert not (tmp_path / "o").exists()  # nothing created for a run that could not start


def test_item_columns_missing_speak_cli(files, capsys) -> None:
    err = _fail(capsys, ["score", str(files["b"]), "--community", "buurt"], "absent column")
    assert '--columns \'{"your_column": "ITEM"}\'' in err
    assert "columns={" not in err and "errors='exclude'" not in err and "Pass " not in err


def test_strict_advice_names_the_option(tmp_path, capsys) -> None:
    f = tmp_path / "s.csv"
    f.write_text("buurt,SC1\nA,4\nA,12\n", encoding="utf-8")
    err = _fail(capsys, ["validate", str(f), "--items", "SC1", "--strict"], "value 12")
    assert "Run without --strict to set bad cells to missing" in err
    assert "errors=" not in err


def test_translate_python_advice() -> None:
    t = _cli_support._translate
    assert t("min_n must be a positive integer; got 0", strict=False).startswith("--min-n must")
    assert t("use geometry_key='naam'", strict=False) == "use --geometry-key 'naam'"
    assert "--lang" in t("The 'lang' parameter of render must be one of", strict=False)
    err = ce.errors.DataError("must be >= 2; got 1", argument="min_n")
    assert _cli_support.cli_message(err, {}) == "--min-n: must be >= 2; got 1"


def test_bad_min_n_and_unknown_option_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["score", "--example", "--min-n", "0"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "error: argument --min-n: expected a positive whole number; got 0 "
        "(see: collective-efficacy score --help)\n"
    )
    with pytest.raises(SystemExit) as e:
        main(["evaluate", "--example", "--nosuch"])
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("error: unrecognized arguments: --nosuch")


def test_instruments_errors(capsys) -> None:
    _fail(capsys, ["instruments", "show"], "instruments show needs an instrument id")
    _fail(capsys, ["instruments", "show", "nope"], "unknown instrument")


# -- the output folder ----------------------------------------------------------------------


def test_out_is_a_file_or_below_one(files, capsys, no_compute) -> None:
    f = files["file"]
    argv = _eval(files, "--community", "buurt")
    _fail(capsys, [*argv, "--out", str(f)], f"--out {f}: is a file")
    _fail(capsys, [*argv, "--out", str(f / "sub")], f"{f} is a file, so no folder")
    _fail(capsys, ["score", "--example", "--out", str(f)], "is a file")


def test_out_not_writable(files, tmp_path, capsys, monkeypatch, no_compute) -> None:
    # permission bits do not stop root, so the refusal of the operating system is simulated
    def refuse(*a: object, **k: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_cli_support.tempfile, "mkstemp", refuse)
    argv = _eval(files, "--community", "buurt", "--out", str(tmp_path / "new"))
    _fail(capsys, argv, f"--out {tmp_path / 'new'}: cannot write in {tmp_path}", "Permission")


def test_out_with_foreign_files_needs_force(tmp_path, capsys) -> None:
    (tmp_path / "report.md").write_text("my own notes", encoding="utf-8")
    (tmp_path / "keep.txt").write_text("k", encoding="utf-8")
    err = _fail(
        capsys, ["evaluate", "--example", "--out", str(tmp_path)], "already holds report.md"
    )
    assert "--force" in err
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == "my own notes"
    assert main(["evaluate", "--example", "--out", str(tmp_path), "--force"]) == 0
    assert (tmp_path / "report.md").read_text(encoding="utf-8").startswith("# ")
    assert (tmp_path / "keep.txt").read_text(encoding="utf-8") == "k"  # never touched
    capsys.readouterr()
    # a rerun into its own folder needs no --force; stale maps of the first run are removed
    csv = tmp_path / "in"
    csv.mkdir()
    before, after = ce.datasets.load_example(split=True)
    before.to_csv(csv / "b.csv", index=False)
    after.to_csv(csv / "a.csv", index=False)
    argv = ["evaluate", str(csv / "b.csv"), str(csv / "a.csv"), "--community", "buurt"]
    argv += ["--columns", json.dumps(COLS), "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"removed {tmp_path / 'map_baseline.geojson'} (from an earlier run" in out
    assert not list(tmp_path.glob("map_*.geojson"))
    assert (tmp_path / "keep.txt").exists()
    manifest = json.loads((tmp_path / ".collective-efficacy.json").read_text(encoding="utf-8"))
    assert manifest["files"] == sorted(
        ["report.html", "report.md", "results.json", "communities.csv"]
    )


def test_write_failure_is_one_line(tmp_path, capsys) -> None:
    (tmp_path / "report.html").mkdir()  # a folder where the report must go
    _fail(
        capsys,
        ["evaluate", "--example", "--out", str(tmp_path), "--force", "--quiet"],
        f"{tmp_path / 'report.html'}: Is a directory",
    )


def test_internal_error_is_logged_not_shown(files, tmp_path, capsys, monkeypatch) -> None:
    import collective_efficacy.evaluation as evaluation

    def bug(*a: object, **k: object) -> None:
        raise RuntimeError("an unexpected state")

    monkeypatch.setattr(evaluation, "evaluate", bug)
    argv = _eval(files, "--community", "buurt", "--out", str(tmp_path))
    err = _fail(capsys, argv, "internal error (RuntimeError: an unexpected state)", "please report")
    assert len(err.strip().splitlines()) == 1
    log = Path(err.split("with the log file ")[1].strip())
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "an unexpected state" in text and "def bug" not in err
    log.unlink()


def test_real_process_shows_no_traceback(cli_process) -> None:
    # the process (in an empty folder) is shared with test_cli_exit.py's exit statuses
    run = cli_process("evaluate", "x.csv", "y.csv")
    assert run.returncode == 2
    assert run.stderr == "error: BASELINE x.csv: no such file\n"


# -- help, version, defaults ----------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_help_lists_every_option_with_help_and_default(capsys) -> None:
    for name, sp in _subparsers(build_parser()).items():
        for action in sp._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
        with pytest.raises(SystemExit):
            main([name, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        for action in sp._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert f"(default: {action.default})" in text, (name, action.dest)
    assert "--min-n N suppress communities below this n (default: 10)" in text


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"collective-efficacy {ce.__version__}"


def test_one_min_n_default_everywhere() -> None:
    seen = []
    for name in ce.__all__:
        obj = getattr(ce, name)
        if callable(obj) and not inspect.isclass(obj):
            param = inspect.signature(obj).parameters.get("min_n")
            if param is not None:
                seen.append(name)
                assert param.default == 10, name
    assert {"aggregate", "compare_waves", "evaluate"} <= set(seen)
    for name in ("score", "evaluate"):
        sp = _subparsers(build_parser())[name]
        assert sp.get_default("min_n") == cli.MIN_N == 10


def test_instruments_show_wraps(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["instruments", "show", "sampson1997"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "ISC5  Suppose that because of budget cuts" in out
    assert main(["instruments"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 80


# -- what score writes ----------------------------------------------------------------------


def test_score_validation_json_has_no_rows_unless_asked(tmp_path, capsys) -> None:
    items = ce.load_instrument("sampson1997").item_ids
    rows = [[f"R{i:03d}", "A"] + [1 + (i + j) % 5 for j in range(10)] for i in range(12)]
    rows.append(["R-SECRET-7", "A", 12] + [3] * 9)
    f = tmp_path / "s.csv"
    pd.DataFrame(rows, columns=["rid", "buurt", *items]).to_csv(f, index=False)
    argv = ["score", str(f), "--community", "buurt", "--respondent", "rid"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "validation.json").read_text(encoding="utf-8")
    report = json.loads(text)
    assert "R-SECRET-7" not in text and "12" not in json.dumps(report["problems"])
    assert report["problems"][0]["code"] == "out_of_range" and report["problems"][0]["n"] == 1
    assert "rows" not in report["problems"][0] and "excluded" not in report
    assert "--with-row-detail" in report["row_detail"]
    assert main([*argv, "--out", str(tmp_path / "d"), "--with-row-detail"]) == 0
    full = json.loads((tmp_path / "d" / "validation.json").read_text(encoding="utf-8"))
    assert full["problems"][0]["values"] == [12]


def test_score_tables_for_excel(tmp_path, capsys) -> None:
    assert (
        main(["score", "--example", "--out", str(tmp_path), "--csv-dialect", "nl", "--xlsx"]) == 0
    )
    raw = (tmp_path / "communities.csv").read_text(encoding="utf-8-sig")
    head, first = raw.splitlines()[:2]
    assert head.startswith("buurt;meting;scale;n;mean;")
    n, mean = first.split(";")[3:5]
    assert n.isdigit() and "," in mean and len(mean.split(",")[1]) <= 4
    nl = pd.read_csv(tmp_path / "communities.csv", sep=";", decimal=",", encoding="utf-8-sig")
    xl = pd.read_excel(tmp_path / "results.xlsx", sheet_name=None)
    assert list(xl) == ["communities"]
    pd.testing.assert_series_equal(nl["mean"], xl["communities"]["mean"], check_names=False)


def test_evaluate_writes_integers_and_rounded_values(tmp_path, capsys) -> None:
    assert main(["evaluate", "--example", "--out", str(tmp_path), "--xlsx", "--quiet"]) == 0
    lines = (tmp_path / "communities.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = dict(zip(header, lines[1].split(",")))
    assert row["n"].isdigit() and len(row["mean"].split(".")[1]) <= 4
    sheets = pd.read_excel(tmp_path / "results.xlsx", sheet_name=None)
    assert next(iter(sheets)) == "communities" and {"change", "impact", "reliability"} <= set(
        sheets
    )
    exact = json.loads((tmp_path / "results.json").read_text())["sections"]["community_scores"]
    shown = [r for r in exact if r["mean"] is not None]
    assert any(len(repr(r["mean"])) > 8 for r in shown)  # results.json keeps full precision


def test_score_into_a_closed_pipe_still_writes_its_files(tmp_path) -> None:
    """Review of main: `score ... | true` exited 0 having written nothing (the broken pipe
    was taken for success before the files were written)."""
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "collective_efficacy.cli", "score", "--example", "--out", str(out)]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first line
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 0, err
    assert (out / "communities.csv").is_file() and (out / "validation.json").is_file()
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize("command", ["score", "validate"])
def test_console_names_no_respondent_without_row_detail(tmp_path, capsys, command) -> None:
    """Review of main: `score` printed "row 4 of x.csv: duplicate respondent, value 'E0003'"
    without --with-row-detail; the console gives counts per column and kind only."""
    from collective_efficacy.cli import main

    rows = ["rid,buurt,SC1,SC2,SC3,SC4,SC5,ISC1,ISC2,ISC3,ISC4,ISC5"]
    rows += [f"E{k:04d},A,3,2,3,1,5,4,3,4,3,2" for k in range(1, 13)]
    rows.append("E0003,A,4,3,3,2,3,3,4,2,3,2")
    rows.append("E0099,A,banana,3,3,2,3,3,4,2,3,2")
    (tmp_path / "x.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    base = [command, str(tmp_path / "x.csv"), "--community", "buurt", "--respondent", "rid"]
    main(base)
    out = capsys.readouterr().out
    assert "E0003" not in out and "banana" not in out and "row 1" not in out
    assert "duplicate" in out and "--with-row-detail" in out
    main([*base, "--with-row-detail"])
    detail = capsys.readouterr().out
    assert "E0003" in detail and "banana" in detail

"""The console script ends with a fast exit (``os._exit`` after :func:`main`, issue 16): every
file is complete, everything printed arrives, and the exit statuses are :func:`main`'s.

The files a real process writes are compared byte for byte with those of an in-process run
(``example_outputs``, which returns normally); the console output through a pipe with the
output of :func:`main` called in-process.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from collective_efficacy.cli import main

CLI = [sys.executable, "-m", "collective_efficacy.cli"]  # __main__ calls console_main


def test_console_script_entry_point_is_the_fast_exit() -> None:
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert 'collective-efficacy = "collective_efficacy.cli:console_main"' in text


def test_evaluate_process_writes_complete_files_and_exits_0(tmp_path, example_outputs) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [*CLI, "evaluate", "--example", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    # the last line printed (after every file was written) arrived whole
    assert run.stdout.splitlines()[-1].startswith(f"wrote {out / 'report.html'}, report.md")
    assert run.stdout.endswith("communities.csv, map_baseline.geojson, map_end_of_cycle.geojson\n")
    ref = example_outputs("en")
    names = sorted(p.name for p in ref.iterdir())
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:  # byte-identical with a run that returns normally: nothing cut short
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_console_output_through_a_pipe_is_complete(monkeypatch) -> None:
    """A long listing through a pipe (block-buffered, flushed only at the end) arrives whole."""
    monkeypatch.setenv("COLUMNS", "100")  # the same wrapping in both
    run = subprocess.run(
        [*CLI, "instruments", "show", "sampson1997", "--lang", "nl"],
        capture_output=True, text=True, check=False, timeout=300, env=dict(os.environ),
    )  # fmt: skip
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["instruments", "show", "sampson1997", "--lang", "nl"]) == 0
    assert run.returncode == 0 and run.stdout == buf.getvalue() and len(run.stdout) > 1000


def test_exit_statuses_are_mains(tmp_path, monkeypatch, cli_process) -> None:
    """Each command's process (in an empty folder, COLUMNS=100; the missing files' process is
    shared with test_cli.py's no-traceback check) against :func:`main` in an empty folder."""
    monkeypatch.setenv("COLUMNS", "100")  # the same wrapping in both
    cases = {
        ("validate", "--example"): 1,  # problems found -> 1, and the summary printed
        ("evaluate", "x.csv", "y.csv"): 2,  # an input error: one line on stderr
        ("--version",): 0,  # argparse's own exit, before the fast exit
    }  # fmt: skip
    for args, code in cases.items():
        run = cli_process(*args)
        assert run.returncode == code, (args, run.stdout, run.stderr)
        buf, err = io.StringIO(), io.StringIO()
        if args != ("--version",):
            redirect = contextlib.redirect_stdout(buf), contextlib.redirect_stderr(err)
            with redirect[0], redirect[1], contextlib.chdir(tmp_path):
                assert main(list(args)) == code
            assert (run.stdout, run.stderr) == (buf.getvalue(), err.getvalue()), args

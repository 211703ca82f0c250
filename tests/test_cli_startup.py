"""The command line's start-up and output writing stay lean (issue 16): what the console entry
imports, and that the fast writers give the same files as the public methods."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import collective_efficacy
from collective_efficacy.export._escape import neutralise_cell, neutralise_frame

SRC = str(Path(collective_efficacy.__file__).resolve().parent.parent)

#: Optional or heavy packages the ``evaluate`` path never needs: imported only by the commands
#: and functions that use them (plots, spreadsheets, out-of-core, planning).
NOT_AT_START = [
    "matplotlib",
    "jinja2",
    "openpyxl",
    "xlsxwriter",
    "duckdb",
    "geopandas",
    "shapely",
    "statsmodels",
    "pingouin",
    "sklearn",
    "polars",
    "tqdm",
    "collective_efficacy.plan",
    "collective_efficacy.out_of_core",
    "narwhals",  # other engines' frames: imported when one is passed (summaries._frames)
    "collective_efficacy.summaries._engine",
]


def test_console_entry_imports_nothing_it_does_not_need(modules_after) -> None:
    """``python -X importtime -m collective_efficacy.cli`` stays honest: the console entry
    (as the ``collective-efficacy`` script runs it) imports none of the optional packages."""
    loaded = modules_after("import collective_efficacy.cli")
    assert "collective_efficacy.cli" in loaded
    assert sorted(m for m in NOT_AT_START if m in loaded) == []


def test_evaluate_from_files_does_without_narwhals(modules_after) -> None:
    """Paths, None and the package's own objects are no frames: the argument checks answer
    without importing narwhals (pandas frames and files are all the evaluate path sees)."""
    loaded = modules_after(
        "import pathlib, tempfile\n"
        "import collective_efficacy as ce\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "b, a = ce.datasets.load_example(split=True)\n"
        "b.to_csv(d / 'b.csv', index=False)\n"
        "a.to_csv(d / 'a.csv', index=False)\n"
        "ce.evaluate(str(d / 'b.csv'), d / 'a.csv', community='buurt', min_n=2,\n"
        "            columns=ce.datasets.EXAMPLE_COLUMNS, assessments=None)"
    )
    assert "collective_efficacy.evaluation" in loaded
    assert "narwhals" not in loaded


def test_no_frame_shortcut_is_narwhals_answer(example_evaluation, tmp_path) -> None:
    """What summaries._frames answers without narwhals is what narwhals answers: it passes
    each of these through unchanged, so none is a frame."""
    import narwhals as nw

    from collective_efficacy.summaries._frames import _never_a_frame, engine_frame, is_frame

    before, _ = collective_efficacy.datasets.load_example(split=True)
    cols = collective_efficacy.datasets.EXAMPLE_COLUMNS
    validated = collective_efficacy.validate(
        before, "sampson1997", community="buurt", columns=cols, errors="exclude"
    )
    inst = collective_efficacy.load_instrument("sampson1997")
    for value in (None, "a.csv", b"a.csv", tmp_path / "a.csv", validated, inst, example_evaluation):
        assert _never_a_frame(value)
        assert nw.from_native(value, pass_through=True) is value
        assert engine_frame(value) is None and not is_frame(value)
    for frame in (before, nw.from_native(before), pd.Series([1.0])):
        assert not _never_a_frame(frame)


def test_plan_is_imported_on_first_use(modules_after) -> None:
    """``ce.plan`` (and ``from collective_efficacy import plan``) still work, imported lazily."""
    loaded = modules_after(
        "import collective_efficacy as ce\n"
        "assert 'collective_efficacy.plan' not in __import__('sys').modules\n"
        "assert ce.plan.residents_for_reliability(0.7, icc=0.15)['residents'].iloc[0] == 14\n"
        "from collective_efficacy import plan\n"
        "assert plan is ce.plan"
    )
    assert "collective_efficacy.plan" in loaded
    assert "plan" in collective_efficacy.__all__


def test_results_json_is_to_json(example_outputs, example_evaluation) -> None:
    """The command line writes results.json as bytes: exactly ``Evaluation.to_json()``."""
    written = (example_outputs("en") / "results.json").read_bytes()
    assert written == example_evaluation.to_json().encode("utf-8")


def test_neutralise_text_columns_as_cell_by_cell() -> None:
    """The vectorised path for text columns gives what the cell-by-cell rule gives."""
    cells = ["=1+1", "-2", "-2+3", "+x", "@a", "\tq", "ok", None, "\uff1dA", "", "\r\n=1", "-"]
    for dtype in ("str", "string", object):
        s = pd.Series(cells, dtype=dtype)
        got = neutralise_frame(pd.DataFrame({"c": s}))["c"]
        want = s.map(neutralise_cell, na_action="ignore")
        assert got.tolist() == want.tolist() or got.equals(want)
        assert [type(v) for v in got] == [type(v) for v in want]


def test_console_script_writes_the_same_files_as_main(example_outputs, tmp_path) -> None:
    """The console script writes results.json and communities.csv in a forked child
    (cli._concurrent); every file is byte for byte what the in-process :func:`main` writes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "console"
    subprocess.run(
        [sys.executable, "-m", "collective_efficacy.cli", "evaluate", "--example", "--quiet",
         "--out", str(out)], capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    ref = example_outputs("en")
    names = sorted(f.name for f in ref.iterdir())
    assert sorted(f.name for f in out.iterdir()) == names
    assert "results.json" in names and "communities.csv" in names
    for name in names:
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name


def test_results_kept_until_the_console_scripts_exit(monkeypatch, tmp_path) -> None:
    """Under the console script (fast exit) the evaluation and the frames read stay alive
    until the process ends instead of being freed object by object; called from a program,
    :func:`main` keeps nothing."""
    from collective_efficacy.cli import _support, main

    data = tmp_path / "in"
    data.mkdir()
    before, after = collective_efficacy.datasets.load_example(split=True)
    before.to_csv(data / "b.csv", index=False)
    after.to_csv(data / "a.csv", index=False)
    (data / "cols.json").write_text(json.dumps(collective_efficacy.datasets.EXAMPLE_COLUMNS))
    argv = ["evaluate", str(data / "b.csv"), str(data / "a.csv"), "--community", "buurt",
            "--columns", str(data / "cols.json"), "--respondent", "respondent_id",
            "--skip-impact", "--quiet", "--min-n", "2", "--force"]  # fmt: skip
    kept: list[object] = []
    monkeypatch.setattr(_support, "_UNTIL_EXIT", kept)
    assert main([*argv, "--out", str(tmp_path / "lib")]) == 0
    assert kept == []
    monkeypatch.setattr(_support, "FAST_EXIT", True)
    assert main([*argv, "--out", str(tmp_path / "console")]) == 0
    assert [type(x).__name__ for x in kept] == ["DataFrame", "DataFrame", "Evaluation"]
    for name in ("report.md", "results.json", "communities.csv"):
        assert (tmp_path / "lib" / name).read_bytes() == (tmp_path / "console" / name).read_bytes()


def _pid_job(path: Path, fail_in_child: bool = False) -> Callable[[], None]:
    parent = os.getpid()

    def job() -> None:
        if fail_in_child and os.getpid() != parent:
            raise OSError("no space left (simulated, in the child)")
        path.write_text(str(os.getpid()), encoding="utf-8")

    return job


def test_write_split_forks_only_for_the_console_script(tmp_path, monkeypatch) -> None:
    """With the console script's flag the second group runs in another process, at once;
    without it (``main`` called by a program) everything runs in this one."""
    from collective_efficacy.cli import _concurrent

    here, there = tmp_path / "here", tmp_path / "there"
    _concurrent.write_split(here=[_pid_job(here)], there=[_pid_job(there)])
    assert here.read_text() == there.read_text() == str(os.getpid())
    monkeypatch.setattr(_concurrent, "ENABLED", True)
    monkeypatch.setattr(_concurrent, "LINUX", hasattr(os, "fork"))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    _concurrent.write_split(here=[_pid_job(here)], there=[_pid_job(there)])
    assert here.read_text() == str(os.getpid())
    if hasattr(os, "fork"):
        assert there.read_text() != str(os.getpid())  # written by the child


def test_write_split_child_failure_is_redone_here(tmp_path, monkeypatch) -> None:
    """A child that fails changes nothing: this process writes its files; an error that
    happens here too is raised here (as without a child)."""
    from collective_efficacy.cli import _concurrent

    monkeypatch.setattr(_concurrent, "ENABLED", True)
    monkeypatch.setattr(_concurrent, "LINUX", hasattr(os, "fork"))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    there = tmp_path / "there"
    _concurrent.write_split(here=[], there=[_pid_job(there, fail_in_child=True)])
    assert there.read_text() == str(os.getpid())

    def broken() -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        _concurrent.write_split(here=[_pid_job(tmp_path / "h")], there=[broken])
    assert (tmp_path / "h").read_text() == str(os.getpid())


def test_import_leaves_the_garbage_collector_as_it_was(modules_after) -> None:
    """The package pauses the collector while it imports, and restores the caller's setting."""
    for before in ("gc.enable()", "gc.disable()"):
        modules_after(
            f"import gc\n{before}\nwas = gc.isenabled()\nimport collective_efficacy\n"
            "assert gc.isenabled() == was, (was, gc.isenabled())"
        )


def test_write_split_hanging_child_is_killed_and_redone_here(tmp_path, monkeypatch) -> None:
    """A child that never finishes (say a lock held at the fork) is killed after the patience,
    and this process writes its files."""
    from collective_efficacy.cli import _concurrent

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(_concurrent, "ENABLED", True)
    monkeypatch.setattr(_concurrent, "LINUX", True)
    monkeypatch.setattr(_concurrent, "PATIENCE_S", 0.5)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    parent, there = os.getpid(), tmp_path / "there"

    def hangs_in_child() -> None:
        while os.getpid() != parent:
            time.sleep(1)
        there.write_text(str(os.getpid()), encoding="utf-8")

    t0 = time.monotonic()
    _concurrent.write_split(here=[], there=[hangs_in_child])
    assert there.read_text() == str(parent)
    assert time.monotonic() - t0 < 30

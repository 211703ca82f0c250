"""The benchmark runner and its honesty rules (issue 16 item 5).

``python -m benchmarks.run --help`` prints help and writes nothing; ``--only TOPIC`` reruns one
topic and leaves every other section of RESULTS.md byte for byte; the data are shuffled with
text labels by default; one timing method (the median, or a single run when slow).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"

sys.path.insert(0, str(ROOT))
from benchmarks import run, timing  # noqa: E402
from benchmarks.data import make_survey  # noqa: E402
from benchmarks.run import _sections  # noqa: E402


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _bench_in_process(*args: str) -> SimpleNamespace:
    """``benchmarks.run.main`` in this process, run as ``_bench`` runs it (from the repository
    root): its exit status (argparse's own exits included), stdout and stderr. The real
    ``python -m benchmarks.run`` is run by the --help test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run.main(list(args))
        except SystemExit as exc:  # --help, an invalid choice
            code = exc.code
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def test_help_prints_help_and_runs_nothing() -> None:
    before = RESULTS.read_bytes()
    proc = _bench("--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: python -m benchmarks.run")
    assert "--only TOPIC" in proc.stdout and "##" not in proc.stdout
    assert RESULTS.read_bytes() == before


def test_unknown_topic_is_refused_and_nothing_written(tmp_path: Path) -> None:
    out = tmp_path / "R.md"
    out.write_text("# x\n\n## scoring\nkept\n", encoding="utf-8")
    proc = _bench_in_process("--only", "nonsense", "--results", str(out))
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    assert out.read_text(encoding="utf-8") == "# x\n\n## scoring\nkept\n"


def test_only_rewrites_its_own_section(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    out.write_bytes(RESULTS.read_bytes())
    head0, before = _sections(out.read_text(encoding="utf-8"))
    assert "scoring" in before and len(before) > 2
    proc = _bench_in_process("--only", "scoring", "--sizes", "3000:60", "--results", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    head1, after = _sections(out.read_text(encoding="utf-8"))
    assert head1 == head0
    assert list(after) == list(before)  # same sections, same order
    for topic in before:
        if topic != "scoring":
            assert after[topic] == before[topic], topic
    assert after["scoring"] != before["scoring"]
    assert "| 3,000 | 60 |" in after["scoring"] and "median of" in after["scoring"]


def test_data_are_shuffled_with_text_labels_by_default() -> None:
    df = make_survey(5_000, 50)
    assert df["community"].dtype == object and isinstance(df["community"].iloc[0], str)
    codes = pd.factorize(df["community"])[0]
    assert (np.diff(codes) != 0).mean() > 0.5  # not grouped by community
    tidy = make_survey(5_000, 50, order="sorted", labels="categorical")
    assert isinstance(tidy["community"].dtype, pd.CategoricalDtype)
    assert (np.diff(pd.factorize(tidy["community"])[0]) != 0).sum() == 49
    # the same respondents with the same answers, in another order
    pd.testing.assert_frame_equal(
        df.sort_values("respondent").reset_index(drop=True),
        tidy.assign(community=tidy["community"].astype(object)),
    )


def test_one_timing_method(monkeypatch: pytest.MonkeyPatch) -> None:
    """Median of the runs; a single run when the first exceeds ``slow``."""
    durations = iter([0.0, 3.0, 10.0, 11.0, 20.0, 21.0])  # runs of 3, 1 and 1 seconds
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(durations))
    assert timing.timed(lambda: None, repeat=3, slow=20.0) == (1.0, 3)
    assert timing.method(3) == "median of 3"
    clock = iter([0.0, 25.0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    assert timing.timed(lambda: None, repeat=3, slow=20.0) == (25.0, 1)
    assert timing.method(1).startswith("single run (> 20 s")


def test_bench_evaluate_help_runs_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m benchmarks.bench_evaluate --help`` prints what is timed and the options; it
    used to start the whole 100k/1M/10M benchmark."""
    from benchmarks import bench_evaluate

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("--help ran the benchmark")

    monkeypatch.setattr(bench_evaluate, "run", never)
    for flag in ("--help", "-h"):
        bench_evaluate.main([flag])
        out = capsys.readouterr().out
        assert out.startswith(bench_evaluate.__doc__.strip()[:40])
        assert "--sizes" in out and "--json" in out and "--merge" in out


def test_cli_ab_help_runs_nothing_and_compares_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m benchmarks.cli_ab --help`` runs no command; its check names every output
    file that differs in a byte or exists on one side only."""
    from benchmarks import cli_ab

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("--help ran the command")

    monkeypatch.setattr(cli_ab, "run_once", never)
    with pytest.raises(SystemExit) as exc:
        cli_ab.main(["--help"])
    assert exc.value.code == 0 and "byte for byte" in capsys.readouterr().out
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for folder in (a, b):
        (folder / "same.md").write_bytes(b"x\r\n")
    (a / "one.json").write_bytes(b"1")
    (b / "one.json").write_bytes(b"2")
    (a / "only.csv").write_bytes(b"")
    assert cli_ab.different_files(a, b) == ["one.json", "only.csv"]

"""``python -m benchmarks.bench_reliability --help`` prints what is timed and runs nothing (it
used to run ours and pingouin at 200,000 respondents, 45 s)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_reliability_help_runs_nothing() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    for flag in ("--help", "-h"):
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_reliability", flag],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        assert proc.stdout.startswith("Benchmark: Cronbach's alpha for every community")
        assert "--ours-only" in proc.stdout and "--large" in proc.stdout
        assert "| workload |" not in proc.stdout  # no table: nothing was timed

"""Benchmark: from two CSV files to a report -- the command line against a hand-written script.

Data: :func:`benchmarks.bench_evaluate.make_waves` (rows shuffled, labels as text, Dutch column
names, a few dirty cells, rows without community, duplicate ids) written to a baseline and an
end-of-cycle CSV file, answers as integers (as survey tools export them), plus a file of
programme ratings. Timed, each as a **subprocess** from start to exit (interpreter start,
imports, reading, computing, writing):

* ``collective-efficacy evaluate BASELINE END --columns ... --assessments ... --skip-map
  --out TMP`` (the report: HTML, Markdown, JSON, communities.csv);
* ``python -m benchmarks.handwritten_pipeline BASELINE END TMP`` (pandas + pingouin +
  statsmodels, the same pipeline steps; it does less, see its docstring).

Both with :func:`benchmarks.timing.timed` and the same ``REPEAT`` (the median; a single run
each when a run takes more than 20 s). A per-step profile of one CLI run (read / validate /
evaluate / write / start-up), from thin wrappers around the CLI's functions, shows where the
time goes ("reading < 15 %").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .bench_evaluate import COLUMNS, LARGE, make_waves
from .timing import method, timed

SIZES = [LARGE]
#: The CLI at 1,000,000 rows before issue 16 (the issue's measurement, this machine, quiet)
BEFORE_ISSUE = 23.6
REPEAT = 3  # runs of each command (the same for both); a run > 20 s is not repeated
ROOT = Path(__file__).resolve().parent.parent


def write_files(n_resp: int, n_comm: int, folder: Path) -> dict[str, Path]:
    """The two survey CSV files, the ratings file and the column mapping, in ``folder``."""
    before, after, assess = make_waves(n_resp, n_comm)
    paths = {
        "baseline": folder / "baseline.csv",
        "end": folder / "end.csv",
        "assessments": folder / "assessments.csv",
        "columns": folder / "columns.json",
    }
    before.to_csv(paths["baseline"], index=False, float_format="%.0f")
    after.to_csv(paths["end"], index=False, float_format="%.0f")
    assess.to_csv(paths["assessments"], index=False)
    paths["columns"].write_text(json.dumps(COLUMNS), encoding="utf-8")
    return paths


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("collective-efficacy")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from collective_efficacy.cli import main; "
            "sys.exit(main())"]  # fmt: skip


def cli_args(paths: dict[str, Path], out: Path) -> list[str]:
    return [
        "evaluate", str(paths["baseline"]), str(paths["end"]), "--community", "buurt",
        "--respondent", "respondent_id", "--columns", str(paths["columns"]), "--assessments",
        str(paths["assessments"]), "--skip-map", "--min-n", "10", "--quiet", "--force",
        "--out", str(out),
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, str(ROOT), env.get("PYTHONPATH", "")]).strip(":")
    return env


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed:\n{proc.stderr[-3000:]}")


_PROFILE = """
import json, sys, time
t0 = time.perf_counter()
import collective_efficacy.cli as cli
from collective_efficacy import responses
acc = {"read": 0.0, "validate": 0.0, "run": 0.0, "cmd": 0.0}
def wrap(f, key):
    def timed(*a, **k):
        s = time.perf_counter()
        try:
            return f(*a, **k)
        finally:
            acc[key] += time.perf_counter() - s
    return timed
import collective_efficacy.responses.io as cio
cli.read_responses = wrap(cli.read_responses, "read")
cio.read_responses = wrap(cio.read_responses, "read")  # the CLI imports it from io when it reads
cli._run_evaluation = wrap(cli._run_evaluation, "run")
cli._cmd_evaluate = wrap(cli._cmd_evaluate, "cmd")
orig = responses.validate
w = wrap(orig, "validate")
for name, m in list(sys.modules.items()):
    if name.startswith("collective_efficacy") and m is not None:
        for attr, val in list(vars(m).items()):
            if val is orig:
                setattr(m, attr, w)
acc["imports"] = time.perf_counter() - t0
rc = cli.main(json.loads(sys.argv[1]))
acc["process"] = time.perf_counter() - t0
print("@@" + json.dumps(acc))
sys.exit(rc)
"""


def profile_steps(paths: dict[str, Path], out: Path) -> dict[str, float]:
    """Seconds per step of one instrumented CLI run (wall, in the child process)."""
    args = json.dumps(cli_args(paths, out))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PROFILE, args], cwd=ROOT, env=_env(), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"profiled CLI run failed:\n{proc.stderr[-3000:]}")
    acc = json.loads([x for x in proc.stdout.splitlines() if x.startswith("@@")][-1][2:])
    return {
        "read": acc["read"],
        "validate": acc["validate"],
        "evaluate (rest)": acc["run"] - acc["read"] - acc["validate"],
        "write report and tables": acc["cmd"] - acc["run"],
        "start-up (interpreter, imports, arguments)": wall - acc["cmd"],
        "total": wall,
    }


def run(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, k in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="ce_e2e_"))
        try:
            paths = write_files(n, k, tmp)
            mb = sum(paths[w].stat().st_size for w in ("baseline", "end")) / 2**20
            load0 = os.getloadavg()[0]
            cli = [*_cli(), *cli_args(paths, tmp / "out_cli")]
            peer = [
                sys.executable, "-m", "benchmarks.handwritten_pipeline", str(paths["baseline"]),
                str(paths["end"]), str(tmp / "out_peer"), "--columns", str(paths["columns"]),
            ]  # fmt: skip
            t_cli, r_cli = timed(lambda: _run(cli), REPEAT)
            t_peer, r_peer = timed(lambda: _run(peer), REPEAT)
            steps = profile_steps(paths, tmp / "out_prof")
            load1 = os.getloadavg()[0]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        work = f"CLI from two CSV files ({n:,} rows in all, {mb:.0f} MB) to report"
        base = {"workload": work, "n_respondents": n, "n_communities": k}
        rows.append(
            {**base, "tool": "collective-efficacy evaluate (subprocess)", "seconds": t_cli,
             "note": f"{method(r_cli)}; start to exit; validation report, alpha/omega/items, "
             f"icc/rwg/AD, ecometric, Welch + g + Holm, mixed change, impact, HTML/MD/JSON/CSV; "
             f"hand-written / ours = {t_peer / t_cli:.1f}x (target ≥ 5x: "
             f"{'met' if t_peer >= 5 * t_cli else 'MISSED'})"
             + (f"; {BEFORE_ISSUE:g} s before issue 16 / ours = {BEFORE_ISSUE / t_cli:.1f}x "
                f"(target ≥ 4x: {'met' if 4 * t_cli <= BEFORE_ISSUE else 'MISSED'})"
                if (n, k) == LARGE else "")}
        )  # fmt: skip
        rows.append(
            {**base, "tool": "hand-written pandas + pingouin + statsmodels "
             "(benchmarks/handwritten_pipeline.py, subprocess)", "seconds": t_peer,
             "note": f"{method(r_peer)}; start to exit; read, score, alpha + ICC(1) per wave, "
             "community means, Welch + Holm, clustered OLS change, CSV; no validation report, "
             "omega, rwg, ecometric or report"}
        )  # fmt: skip
        total = steps.pop("total")
        for step, sec in steps.items():
            rows.append(
                {**base, "workload": "CLI per step (one instrumented run)", "tool": step,
                 "seconds": sec, "note": f"{100 * sec / total:.0f} % of {total:.2f} s"}
            )  # fmt: skip
        rows.append(
            {**base, "workload": "note", "tool": "machine", "n_respondents": 0, "n_communities": 0,
             "seconds": float("nan"), "note": f"{os.cpu_count()} cores; 1-minute load average "
             f"{load0:.1f} at the start, {load1:.1f} at the end"}
        )  # fmt: skip
    return rows


if __name__ == "__main__":
    from .run import to_markdown

    small = "--small" in sys.argv[1:]
    print(to_markdown(run([(100_000, 1_300)] if small else SIZES)))

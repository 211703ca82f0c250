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
each when a run takes more than 20 s), after one untimed warm-up run of each: the files are in
the page cache and the bytecode is cached (``PYTHONPYCACHEPREFIX``), as for an installed
package. A per-step profile of one CLI run (start-up, read, validate, evaluate, each output
file), from thin wrappers around the CLI's functions, shows where the time goes ("reading
< 15 %"), in wall and in CPU seconds (CPU time is steadier on a shared machine). The console
script writes results.json and communities.csv in a forked child while it writes the two
reports (:mod:`collective_efficacy.cli._concurrent`): that row's wall time is what the child
adds beyond the reports (0 when it finishes first), its CPU time the child's own.

While iterating: ``--cli-only`` skips the hand-written pipeline, ``--data DIR`` keeps the input
files for the next run, ``--src DIR`` times another checkout's ``src`` (old against new, run
back to back) and ``--repeat N`` sets the number of timed runs.
"""

from __future__ import annotations

import json
import os
import resource
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
    """The installed console script; ``python -m collective_efficacy.cli`` (the same entry
    point, :func:`collective_efficacy.cli.console_main`) when the script is missing or was
    generated before that entry point (reinstall: ``pip install -e .``)."""
    script = Path(sys.executable).with_name("collective-efficacy")
    if script.exists() and "console_main" in script.read_text(encoding="utf-8", errors="replace"):
        return [str(script)]
    return [sys.executable, "-m", "collective_efficacy.cli"]


def cli_args(paths: dict[str, Path], out: Path) -> list[str]:
    return [
        "evaluate", str(paths["baseline"]), str(paths["end"]), "--community", "buurt",
        "--respondent", "respondent_id", "--columns", str(paths["columns"]), "--assessments",
        str(paths["assessments"]), "--skip-map", "--min-n", "10", "--quiet", "--force",
        "--out", str(out),
    ]  # fmt: skip


def _env(pycache: Path | None = None, src: Path | None = None) -> dict[str, str]:
    """The child's environment: this tree first; bytecode cached as a pip install has it.

    A development shell may set PYTHONDONTWRITEBYTECODE, which makes every run compile the
    package's ~150 modules from source (about half a second): an installed package ships its
    bytecode. With ``pycache`` the children write and read their bytecode there (the untimed
    warm-up run fills it), for both commands alike. ``src``: another tree's ``src`` folder
    first on the path (``--src``, to time an older version against this one).
    """
    env = dict(os.environ)
    first = str(src or ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join([first, str(ROOT), env.get("PYTHONPATH", "")]).strip(":")
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _run(cmd: list[str], pycache: Path | None = None, src: Path | None = None) -> None:
    proc = subprocess.run(
        cmd, cwd=ROOT, env=_env(pycache, src), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed:\n{proc.stderr[-3000:]}")


# One instrumented CLI run: wall and CPU seconds (CPU of all the process's threads) of each
# step, from thin wrappers put around the CLI's own functions (every module's reference).
_PROFILE = """
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import collective_efficacy.cli as cli
from collective_efficacy import evaluation, responses
from collective_efficacy.cli import _commands
from collective_efficacy.responses import io as rio
acc = {}
inside = []  # the wrapped steps running now (a file read inside evaluate is not evaluate's)
def wrap(f, key):
    def timed(*a, **k):
        s, c = time.perf_counter(), time.process_time()
        inside.append(key)
        try:
            return f(*a, **k)
        finally:
            inside.pop()
            dw, dc = time.perf_counter() - s, time.process_time() - c
            for name in [key] + ([key + "_in_evaluate"] if "evaluate" in inside else []):
                w, u = acc.get(name, (0.0, 0.0))
                acc[name] = (w + dw, u + dc)
    return timed
def patch(orig, key):
    new = wrap(orig, key)
    for name, m in list(sys.modules.items()):
        if name.startswith("collective_efficacy") and m is not None:
            for attr, val in list(vars(m).items()):
                if val is orig:
                    setattr(m, attr, new)
patch(rio.read_responses, "read")
patch(responses.validate, "validate")
patch(evaluation.evaluate, "evaluate")
patch(_commands._write_tables, "tables")
patch(_commands._write_json, "json")
patch(_commands._cmd_evaluate, "command")
import os
split = _commands.write_split
def write_split(*a, **k):  # the outputs: results.json + communities.csv in a forked child
    s, c, ch = time.perf_counter(), time.process_time(), os.times()
    try:
        return split(*a, **k)
    finally:
        ch1 = os.times()
        acc["outputs"] = (time.perf_counter() - s, time.process_time() - c)
        acc["child"] = (0.0, ch1.children_user - ch.children_user
                        + ch1.children_system - ch.children_system)
_commands.write_split = write_split
for meth, key in (("to_html", "html"), ("to_markdown", "markdown")):
    setattr(evaluation.Evaluation, meth, wrap(getattr(evaluation.Evaluation, meth), key))
acc["imports"] = (time.perf_counter() - t0, time.process_time() - c0)
sys.argv = ["collective-efficacy", *json.loads(sys.argv[1])]
main = cli.main
def main_then_report():  # the console script's own path: console_main -> main -> fast exit
    rc = main()
    acc["process"] = (time.perf_counter() - t0, time.process_time() - c0)
    print("@@" + json.dumps(acc))
    return rc
cli.main = main_then_report
cli.console_main()
"""

STEPS = {
    "read": "read (survey files, ratings)",
    "validate": "validate (inside evaluate)",
    "evaluate": "evaluate (rest)",
    "html": "write report.html (tables, forest plots)",
    "markdown": "write report.md",
    "json": "write results.json",
    "tables": "write communities.csv",
    "child": "write results.json + communities.csv (forked child, beside the two reports)",
}


def profile_steps(
    paths: dict[str, Path], out: Path, pycache: Path | None = None, src: Path | None = None
) -> dict[str, Any]:
    """(wall, CPU) seconds per step of one instrumented CLI run, in the child process.

    Start-up is the imports and the argument parsing (the child's own clock before the command);
    "interpreter start and exit" is the rest of the process's wall and CPU time (measured
    outside, CPU from ``getrusage`` of the child).
    """
    args = json.dumps(cli_args(paths, out))
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PROFILE, args], cwd=ROOT, env=_env(pycache, src), capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)  # the child's, all of it
    if proc.returncode != 0:
        raise RuntimeError(f"profiled CLI run failed:\n{proc.stderr[-3000:]}")
    acc = json.loads([x for x in proc.stdout.splitlines() if x.startswith("@@")][-1][2:])
    zero = (0.0, 0.0)
    step = {k: tuple(acc.get(k, zero)) for k in STEPS}
    read_in = tuple(acc.get("read_in_evaluate", zero))  # the ratings file, read by evaluate
    if acc.get("child", zero)[1] > 0:  # the console script forked for results.json and the CSV
        # wall: what the child adds beyond the reports written here; CPU: the child's own
        here = sum(acc.get(k, zero)[0] for k in ("html", "markdown", "json", "tables"))
        step["child"] = (max(acc["outputs"][0] - here, 0.0), acc["child"][1])
    step["evaluate"] = tuple(
        e - v - r for e, v, r in zip(step["evaluate"], step["validate"], read_in)
    )
    cmd, proc_total = acc["command"], acc["process"]
    known = [sum(step[k][i] for k in STEPS if k != "child") for i in (0, 1)]
    known[0] += step["child"][0]  # the child's CPU is not this process's (process_time)
    forked = step["child"][1] > 0  # then json and the CSV are the child's row, else their own
    shown = [k for k in STEPS if (k not in ("json", "tables", "child")) or forked == (k == "child")]
    out_steps: dict[str, Any] = {STEPS[k]: step[k] for k in shown}
    out_steps["other (checks, output folder, console)"] = (cmd[0] - known[0], cmd[1] - known[1])
    out_steps["start-up (imports, arguments)"] = (
        proc_total[0] - cmd[0],
        proc_total[1] - cmd[1],
    )
    # what the child measures of itself misses the interpreter's start and its exit (freeing
    # every object and module): the process's wall and CPU time less the child's own account
    out_steps["interpreter start and exit"] = (
        wall - proc_total[0],
        cpu - proc_total[1] - step["child"][1],
    )
    out_steps["total"] = (wall, cpu)
    return out_steps


def run(
    sizes: list[tuple[int, int]],
    *,
    peer: bool = True,
    data: Path | None = None,
    src: Path | None = None,
    repeat: int = REPEAT,
) -> list[dict[str, Any]]:
    """The table's rows. ``peer=False``: the CLI only (no hand-written pipeline); ``data``: a
    folder whose files are kept and reused (written when missing); ``src``: the tree timed."""
    rows: list[dict[str, Any]] = []
    for n, k in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="ce_e2e_"))
        files = tmp if data is None else data / f"{n}_{k}"
        try:
            paths = _files(n, k, files)
            mb = sum(paths[w].stat().st_size for w in ("baseline", "end")) / 2**20
            load0 = os.getloadavg()[0]
            cli = [*_cli(), *cli_args(paths, tmp / "out_cli")]
            pycache = tmp / "pycache"
            _run(cli, pycache, src)  # warm-up, untimed: bytecode cached, files in the page cache
            t_cli, r_cli = timed(lambda: _run(cli, pycache, src), repeat)
            t_peer, r_peer = _peer(paths, tmp, pycache, repeat) if peer else (float("nan"), [])
            steps = profile_steps(paths, tmp / "out_prof", pycache, src)
            load1 = os.getloadavg()[0]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        work = f"CLI from two CSV files ({n:,} rows in all, {mb:.0f} MB) to report"
        base = {"workload": work, "n_respondents": n, "n_communities": k}
        versus = (
            f"; hand-written / ours = {t_peer / t_cli:.1f}x (target ≥ 5x: "
            f"{'met' if t_peer >= 5 * t_cli else 'MISSED'})"
            if peer
            else ""
        )
        rows.append(
            {**base, "tool": "collective-efficacy evaluate (subprocess)", "seconds": t_cli,
             "note": f"{method(r_cli)}; start to exit; validation report, alpha/omega/items, "
             f"icc/rwg/AD, ecometric, Welch + g + Holm, mixed change, impact, HTML/MD/JSON/CSV"
             + versus
             + (f"; {BEFORE_ISSUE:g} s before issue 16 / ours = {BEFORE_ISSUE / t_cli:.1f}x "
                f"(target ≥ 4x: {'met' if 4 * t_cli <= BEFORE_ISSUE else 'MISSED'})"
                if (n, k) == LARGE else "")}
        )  # fmt: skip
        if peer:
            rows.append(
                {**base, "tool": "hand-written pandas + pingouin + statsmodels "
                 "(benchmarks/handwritten_pipeline.py, subprocess)", "seconds": t_peer,
                 "note": f"{method(r_peer)}; start to exit; read, score, alpha + ICC(1) per "
                 "wave, community means, Welch + Holm, clustered OLS change, CSV; no validation "
                 "report, omega, rwg, ecometric or report"}
            )  # fmt: skip
        rows += _step_rows(base, steps, load0, load1)
    return rows


def _files(n: int, k: int, folder: Path) -> dict[str, Path]:
    """The input files in ``folder``: written unless a previous run left them all there."""
    names = {"baseline": "baseline.csv", "end": "end.csv", "assessments": "assessments.csv",
             "columns": "columns.json"}  # fmt: skip
    paths = {key: folder / name for key, name in names.items()}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    return write_files(n, k, folder)


def _peer(
    paths: dict[str, Path], tmp: Path, pycache: Path, repeat: int
) -> tuple[float, list[float]]:
    """The hand-written pipeline's median seconds and runs (after an untimed warm-up)."""
    peer = [
        sys.executable, "-m", "benchmarks.handwritten_pipeline", str(paths["baseline"]),
        str(paths["end"]), str(tmp / "out_peer"), "--columns", str(paths["columns"]),
    ]  # fmt: skip
    _run(peer, pycache)
    return timed(lambda: _run(peer, pycache), repeat)


def _step_rows(
    base: dict[str, Any], steps: dict[str, Any], load0: float, load1: float
) -> list[dict[str, Any]]:
    """The per-step rows of the instrumented run and the machine note."""
    rows: list[dict[str, Any]] = []
    total, cpu_total = steps.pop("total")
    for step, (sec, cpu) in steps.items():
        rows.append(
            {**base, "workload": "CLI per step (one instrumented run)", "tool": step,
             "seconds": sec, "note": f"{100 * sec / total:.0f} % of {total:.2f} s wall; "
             f"CPU {cpu:.2f} s ({100 * cpu / cpu_total:.0f} % of {cpu_total:.2f} s)"}
        )  # fmt: skip
    rows.append(
        {**base, "workload": "note", "tool": "machine", "n_respondents": 0, "n_communities": 0,
         "seconds": float("nan"), "note": f"{os.cpu_count()} cores; 1-minute load average "
         f"{load0:.1f} at the start, {load1:.1f} at the end"}
    )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    import argparse

    from .run import to_markdown

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_e2e",
        description="The command line from two CSV files to a report against the hand-written "
        "pandas + pingouin + statsmodels script (each a subprocess, start to exit), and a "
        "per-step profile of one CLI run. Prints a Markdown table; writes no file (the "
        "RESULTS.md section comes from `python -m benchmarks.run --only e2e`).",
    )
    parser.add_argument(
        "--small", action="store_true", help="100,000 rows / 1,300 communities instead of 1M/13k"
    )
    parser.add_argument(
        "--cli-only", action="store_true", help="time the command line only, not the "
        "hand-written pipeline (while iterating)"
    )  # fmt: skip
    parser.add_argument(
        "--data", metavar="DIR", type=Path, help="keep the input files in DIR and reuse them "
        "on the next run (default: written afresh in a temporary folder)"
    )  # fmt: skip
    parser.add_argument(
        "--src", metavar="DIR", type=Path, help="the src folder of the version to time, e.g. "
        "another checkout's, to compare it with this one (default: this tree's)"
    )  # fmt: skip
    parser.add_argument(
        "--repeat", metavar="N", type=int, default=REPEAT, help=f"timed runs of each command "
        f"(the median; default {REPEAT})"
    )  # fmt: skip
    args = parser.parse_args(argv)
    sizes = [(100_000, 1_300)] if args.small else SIZES
    opts = {"peer": not args.cli_only, "data": args.data, "repeat": args.repeat}
    print(to_markdown(run(sizes, **opts, src=args.src.resolve() if args.src else None)))


if __name__ == "__main__":
    main()

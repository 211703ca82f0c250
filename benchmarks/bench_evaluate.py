"""Benchmark: the whole ``evaluate`` pipeline on two national-scale raw survey files.

Data: ``make_survey(1,000,000, 13,000)`` split by wave into a baseline and an end-of-cycle
DataFrame shaped like real raw files (the bundled example's layout): Dutch item column names
(``datasets.EXAMPLE_COLUMNS``, passed as ``columns=``), a ``buurt`` community column with
labels, a ``respondent_id`` text column, 5 % missing cells, and a few dirty cells -- in two
item columns per wave the values are text as ``read_csv`` gives them for a column with labels
in it (``"4"``, ``" 3 "``, ``"4,0"``, ``"Mee eens"``, ``"weet niet"``, missing code 9, ``"x"``
and ``"7"`` (invalid)); a few rows without community, a few duplicate respondent ids and a few
rows with no answer. Programme ratings (``assessments``) for every community and wave.

Community labels and respondent ids are text columns as ``pandas.read_csv`` gives them (with
pandas 3: its ``str`` dtype, Arrow-backed; with pandas 2: Python ``str`` objects, one per
distinct label); the two text item columns hold Python ``str`` objects (``object`` dtype). Rows
are in random order.

Sizes (``SIZES``): 100,000 / 1,000 ; 1,000,000 / 13,000 ; 10,000,000 / 130,000 respondents /
communities, so that the growth of time and memory per step (100k -> 1M -> 10M) is printed as
an exponent: ``log(t2 / t1) / log(n2 / n1)`` (1.0 = linear).

Figures, each in a **fresh subprocess** (so that one measurement's memory does not leak into
another's):

* wall time of ``evaluate(...)`` (the median of ``REPEAT`` runs in one process, the method of
  :mod:`benchmarks.timing`; a single run when one takes more than 20 s) and of ``.to_html()``
  and ``.to_json()`` on its result;
* peak memory: the peak RSS of one ``evaluate`` call (``VmHWM`` reset after the data was built;
  ``ru_maxrss`` where that is not supported) minus the RSS just after the data was built
  (``/proc/self/statm``), and the total peak;
* added memory against the *numeric input* (rows x items x 8 bytes: the answers as float64),
  the target being at most 3x at 1,000,000 respondents, and the peak at 10,000,000 (4 GB);
* at every size a per-step breakdown (the public functions evaluate chains -- validate,
  score, aggregate, cronbach_alpha, icc, compare_waves, impact_levels, ... -- each timed by a
  thin wrapper, outermost call only, with the peak memory it added), printed as growth
  exponents per step, and the detail at 1,000,000; ``_child("profile", ...)`` gives a cProfile
  listing by hand.

``python -m benchmarks.run --only evaluate`` runs only this file and rewrites only its section
of RESULTS.md; ``python -m benchmarks.bench_evaluate`` prints the tables (``--small``: 100k and
300k, a quick check; ``--sizes 10000000:130000 --json ten.json`` one size, saved;
``--merge a.json b.json`` the tables of saved sizes together, with their growth exponents).

Memory: the peak is the peak RSS during ``evaluate`` (``VmHWM``, reset through
``/proc/self/clear_refs`` once the data is built, so the generator's own peak -- about 2.7 GB
at 10M, the data built one wave at a time from arrays, text through Arrow -- is not counted); the
per-step table gives each chained function's peak above the RSS at
its start and the growth of time and memory per step from size to size.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import ITEMS, LARGE, survey_arrays
from .timing import SLOW

SIZES = [(100_000, 1_000), LARGE, (10_000_000, 130_000)]
REPEAT = 3
TARGET_SECONDS = 2.0  # evaluate() at 1,000,000 respondents (issue 16)
TARGET_SECONDS_10M = 25.0  # and at 10,000,000
TARGET_PEAK_GB = 4.0  # peak at 10,000,000
TARGET_ADDED_X = 3.0  # added memory / numeric input at 1,000,000
MIN_N = 10

#: item id -> the example files' column names (the ``columns=`` mapping is its inverse)
_COLUMN_OF = {
    "SC1": "v01_buurt_hecht",
    "SC2": "v02_buren_helpen",
    "SC3": "v03_niet_overweg",
    "SC4": "v04_geen_waarden",
    "SC5": "v05_vertrouwen",
    "ISC1": "v06_spijbelen",
    "ISC2": "v07_graffiti",
    "ISC3": "v08_respectloos",
    "ISC4": "v09_vechtpartij",
    "ISC5": "v10_brandweer",
}
COLUMNS = {c: i for i, c in _COLUMN_OF.items()}
DIRTY_ITEMS = ["SC2", "ISC4"]  # text columns with labels and typos, as read_csv gives them
_DIRTY_VALUES = [" 3 ", "4,0", "Mee eens", "weet niet", "9", "x", "7", ""]
_CODE_TEXT = np.array([str(k) for k in range(6)], dtype=object)

#: (step, file name, function name): the public functions ``evaluate`` chains. A function's time
#: is its cProfile cumulative time on the calls made directly by the orchestrator
#: (``ORCHESTRATORS``), so that a function called by another (alpha-if-deleted inside the item
#: table, say) is not counted twice.
STEPS: list[tuple[str, str, str]] = [
    ("validate", "responses/__init__.py", "validate"),
    ("score", "scoring/__init__.py", "score"),
    ("aggregate", "scoring/__init__.py", "aggregate"),
    ("reliability", "reliability/__init__.py", "cronbach_alpha"),
    ("reliability", "reliability/__init__.py", "item_statistics"),
    ("reliability", "reliability/__init__.py", "omega"),
    ("aggregation", "agreement/__init__.py", "icc"),
    ("aggregation", "agreement/__init__.py", "rwg_j"),
    ("aggregation", "agreement/__init__.py", "ad_index"),
    ("aggregation", "multilevel/mixed.py", "ecometric"),
    ("change", "change/__init__.py", "compare_waves"),
    ("impact", "impact/__init__.py", "impact_levels"),
    ("impact", "impact/__init__.py", "impact_change"),
    ("change model", "multilevel/change_model.py", "change_model"),
    ("disclosure", "disclosure/_rules.py", "secondary_suppression"),
    ("disclosure", "disclosure/_rules.py", "shown_respondents"),
    ("disclosure", "disclosure/_rules.py", "hide_suppressed"),
    ("disclosure", "disclosure/_counts.py", "counts_publishable"),
    ("records", "evaluation/_records.py", "records"),
    ("records", "evaluation/__init__.py", "_records"),
    ("model", "main.py", "__init__"),  # pydantic BaseModel.__init__ (validation of sections)
]
ORCHESTRATORS = {  # every module of the evaluation subpackage calls public functions
    f"evaluation/{m}.py"
    for m in (
        "__init__",
        "_steps",
        "_sections",
        "_inputs",
        "_stack",
        "_change",
        "_weights",
        "_options",
    )
}


def _module(file: str) -> str:
    """``"agreement/__init__.py"`` -> ``"collective_efficacy.agreement"``."""
    return "collective_efficacy." + file[:-3].replace("/", ".").removesuffix(".__init__")


def _in_package(fname: str) -> str:
    """A profiled file's path inside the package (``"agreement/__init__.py"``), else its name."""
    parts = Path(fname).parts
    if "collective_efficacy" in parts:
        return "/".join(parts[len(parts) - parts[::-1].index("collective_efficacy") :])
    return Path(fname).name


def _draw(n_respondents: int, n_communities: int, seed: int) -> dict[str, np.ndarray]:
    """The numbers of :func:`benchmarks.data.make_survey` (same seed, same draws, same
    shuffle), as arrays: no frame of both waves and no label per row."""
    y, community, wave = survey_arrays(n_respondents, n_communities, seed=seed)
    perm = np.random.default_rng([seed, 1]).permutation(n_respondents)  # rows shuffled
    return {"y": y, "community": community, "wave": wave, "perm": perm}


def _text(values: Any) -> pd.Series:
    """An Arrow array of text as the column ``read_csv`` gives (pandas 3: its ``str`` dtype)."""
    return pd.Series(pd.array(values, dtype="str"))


def make_waves(
    n_respondents: int, n_communities: int, *, seed: int = 20261123
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Baseline and end-of-cycle raw files, and programme ratings for every community.

    The survey of :func:`benchmarks.data.make_survey` split by wave, built one wave at a time
    from its arrays (the text columns through Arrow, without a Python string per row), so
    that the generator's own peak stays near twice the data it returns (10,000,000 rows:
    about 2 GB).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed + 1)
    d = _draw(n_respondents, n_communities, seed)
    names = pa.array(np.char.add("Buurt ", np.arange(n_communities).astype(str)).tolist())
    out = []
    for code in (0, 1):
        rows = d["perm"][d["wave"][d["perm"]] == code]  # the wave's rows, in shuffled order
        n = len(rows)
        ids = pc.utf8_lpad(pc.cast(pa.array(rows), pa.string()), 7, "0")
        w = pd.DataFrame(d["y"][rows], columns=ITEMS, copy=False)
        w.insert(0, "community", _text(names.take(pa.array(d["community"][rows]))))
        w.insert(0, "respondent", _text(pc.binary_join_element_wise("R", ids, "")))
        del rows, ids
        for item in DIRTY_ITEMS:
            # codes as text ("4"), one str object per distinct code (a Python loop over 10M
            # cells, and a str object per cell, would dominate the generator at 10M)
            vals = w[item].to_numpy()
            ok = ~np.isnan(vals)
            col = np.full(n, np.nan, dtype=object)
            col[ok] = _CODE_TEXT[vals[ok].astype(np.int64)]
            pos = rng.choice(n, size=max(1, n // 2000), replace=False)  # 0.05 % dirty cells
            col[pos] = rng.choice(_DIRTY_VALUES, size=pos.size).astype(object)
            w[item] = pd.Series(col, index=w.index, dtype=object)
        w.loc[rng.choice(n, size=20, replace=False), "community"] = np.nan
        dup = rng.choice(n, size=20, replace=False)
        w.loc[dup, "respondent"] = w.loc[(dup + 1) % n, "respondent"].to_numpy()
        w.loc[rng.choice(n, size=20, replace=False), ITEMS] = np.nan
        w = w.rename(columns={"respondent": "respondent_id", "community": "buurt", **_COLUMN_OF})
        out.append(w)
    del d
    names = np.char.add("Buurt ", np.arange(n_communities).astype(str))
    assess = pd.DataFrame(
        {
            "buurt": np.concatenate([names, names]),
            "wave": np.repeat(["baseline", "end_of_cycle"], n_communities),
            "partner_cooperation": rng.integers(0, 6, 2 * n_communities),
            "group_development": rng.integers(0, 6, 2 * n_communities),
        }
    )
    # rate only the communities surveyed in that wave (a rating without survey is an error)
    surveyed = pd.concat(
        [pd.DataFrame({"buurt": w["buurt"].dropna().unique(), "wave": lab})
         for w, lab in zip(out, ("baseline", "end_of_cycle"))]
    )  # fmt: skip
    assess = assess.merge(surveyed, on=["buurt", "wave"], how="inner")
    return out[0], out[1], assess


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb() -> float:
    """Peak RSS since the last :func:`_reset_peak` (VmHWM), else since the process started."""
    import resource

    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak() -> bool:
    """Reset the peak RSS (Linux: ``echo 5 > /proc/self/clear_refs``), so that the peak after
    the data was built is the peak of ``evaluate``, not of the generator. False if unsupported."""
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        return False
    return True


def _call(before: pd.DataFrame, after: pd.DataFrame, assess: pd.DataFrame) -> Any:
    import collective_efficacy as ce

    return ce.evaluate(
        before,
        after,
        instrument="sampson1997",
        community="buurt",
        respondent="respondent_id",
        columns=COLUMNS,
        assessments=assess,
        min_n=MIN_N,
    )


def _fingerprint(df: pd.DataFrame) -> list[Any]:
    """Columns, dtypes, index and a hash of every cell: equal before and after = unmodified."""
    cells = pd.util.hash_pandas_object(df, index=True).to_numpy()
    return [list(map(str, df.columns)), list(map(str, df.dtypes)), len(df), int(cells.sum())]


def _reset_peak_fast() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _instrument_steps() -> dict[str, float]:
    """Wrap the chained functions (wherever a module holds them) to add up their wall time.

    Only the outermost timed call counts (a timed function calling another is not counted twice);
    the wrappers cost a few microseconds per call. Each outermost call also records the peak RSS
    it reached above the RSS at its start (``mem:<step>``, MB; the peak is reset per call).
    """
    import functools
    import importlib
    import time

    acc: dict[str, float] = {}
    depth = [0]

    def wrap(f: Any, step: str, key: str) -> Any:
        @functools.wraps(f)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return f(*args, **kwargs)
            depth[0] += 1
            rss0 = _rss_now_mb()
            _reset_peak_fast()
            t0 = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                dt = time.perf_counter() - t0
                acc[step] = acc.get(step, 0.0) + dt
                acc[key] = acc.get(key, 0.0) + dt
                mem = f"mem:{step}"  # the most this step's calls added above their start
                acc[mem] = max(acc.get(mem, 0.0), _maxrss_mb() - rss0)
                acc.setdefault(f"rss_at:{key[3:]}", rss0)  # RSS when first called (retained)
                depth[0] -= 1

        return timed

    for step, file, fn in STEPS:
        if file == "main.py":
            continue
        try:
            mod = importlib.import_module(_module(file))
        except ImportError:
            continue
        orig = getattr(mod, fn, None)
        if orig is None:
            continue
        w = wrap(orig, step, f"fn:{_module(file)[20:]}.{fn}")
        for name, m in list(sys.modules.items()):
            if name.startswith("collective_efficacy") and m is not None:
                for attr, val in list(vars(m).items()):
                    if val is orig:
                        setattr(m, attr, w)
    return acc


def _child(mode: str, n_resp: int, n_comm: int, repeat: int) -> dict[str, Any]:
    """One measurement in this (fresh) process; returns JSON-ready figures."""
    import resource
    import time

    import collective_efficacy  # noqa: F401  (import cost not charged to the data or the call)

    t_gen = time.perf_counter()
    before, after, assess = make_waves(n_resp, n_comm)
    t_gen = time.perf_counter() - t_gen
    prints = [_fingerprint(before), _fingerprint(after)] if mode == "memory" else None
    gen_peak = _maxrss_mb()
    reset = _reset_peak()
    rss_data = _rss_now_mb()
    res: dict[str, Any] = {
        "rows": [len(before), len(after)],
        "rss_after_data_mb": rss_data,
        "maxrss_after_data_mb": gen_peak,  # the generator's peak
        "generator_s": t_gen,
        "peak_reset": reset,
    }
    if mode == "memory":
        ev = _call(before, after, assess)
        res["maxrss_mb"] = _maxrss_mb()
        res["inputs_unchanged"] = prints == [_fingerprint(before), _fingerprint(after)]
        # counts withheld for privacy (None: they would narrow a suppressed community's pool)
        # cannot be checked here; the test suite checks the accounting on every path
        res["rows_accounted"] = all(
            w.n_rows_in is None or w.n_rows_in == w.n_rows_usable + w.n_rows_excluded
            for w in ev.waves
        )
        res["rows_withheld"] = sum(w.n_rows_in is None for w in ev.waves)
        res["rows_in"] = [w.n_rows_in for w in ev.waves]
        res["rows_used"] = [w.n_rows_usable for w in ev.waves]
        res["sections"] = sorted(ev.sections)
        res["notes"] = sorted(ev.notes)
    elif mode == "time":
        times, cpu = [], []
        ev = None
        for _ in range(repeat):
            if times and times[0] > SLOW:  # the method of benchmarks.timing: one slow run
                break
            del ev
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.perf_counter()
            ev = _call(before, after, assess)
            times.append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        res["evaluate_s"] = times
        res["evaluate_cpu_s"] = cpu
        for name, fn in (("to_html_s", ev.to_html), ("to_json_s", ev.to_json)):
            ts: list[float] = []
            while len(ts) < repeat and sum(ts) < 30.0:  # a slow export is timed once
                t0 = time.perf_counter()
                text = fn()
                ts.append(time.perf_counter() - t0)
            res[name] = ts
            res[name.replace("_s", "_mb")] = len(text.encode()) / 2**20
        res["maxrss_mb"] = _maxrss_mb()
    elif mode == "steps":
        acc = _instrument_steps()
        best: dict[str, float] | None = None
        for _ in range(repeat):
            if best is not None and best["total"] > SLOW:  # one run when a run is slow
                break
            acc.clear()
            t0 = time.perf_counter()
            _call(before, after, assess)
            total = time.perf_counter() - t0
            if best is None or total < best["total"]:
                best = {**acc, "total": total}
        assert best is not None
        res["steps_wall_s"] = best
    elif mode == "profile":
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        _call(before, after, assess)
        prof.disable()
        st = pstats.Stats(prof)
        total = 0.0
        steps: dict[str, float] = {}
        funcs: dict[str, float] = {}
        table = st.stats  # type: ignore[attr-defined]
        for (fname, _line, func), (_cc, _nc, _tt, ct, callers) in table.items():
            base = _in_package(fname)
            if base == "evaluation/__init__.py" and func == "evaluate":
                total = max(total, ct)
            for step, file, fn in STEPS:
                if base == file and func == fn:
                    direct = sum(
                        edge[3] for caller, edge in callers.items()
                        if _in_package(caller[0]) in ORCHESTRATORS
                    )  # fmt: skip
                    key = f"{_module(file)[20:]}.{fn}"
                    funcs[key] = funcs.get(key, 0.0) + direct
                    steps[step] = steps.get(step, 0.0) + direct
        steps["other (orchestration: concat, filters, ...)"] = total - sum(steps.values())
        res["profile_total_s"] = total
        res["steps_s"] = steps
        res["functions_s"] = funcs
        top = sorted(table.items(), key=lambda kv: -kv[1][2])[:25]
        res["top_tottime"] = [[f"{Path(k[0]).name}:{k[1]}:{k[2]}", v[2], v[3]] for k, v in top]
    return res


def measure(mode: str, n_resp: int, n_comm: int, repeat: int = REPEAT) -> dict[str, Any]:
    """Run :func:`_child` in a fresh interpreter and return its figures."""
    code = (
        "import json, sys; from benchmarks.bench_evaluate import _child; "
        f"print('@@' + json.dumps(_child({mode!r}, {n_resp}, {n_comm}, {repeat})))"
    )
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{proc.stderr[-4000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


def _conditions() -> str:
    import platform

    import numpy
    import pandas

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, pandas {pandas.__version__}; load average (1/5/15 min) "
        f"{load}"
    )


def run(sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """One row per size with every figure (see :func:`to_markdown` for the tables)."""
    rows: list[dict[str, Any]] = []
    failed: list[str] = []
    for n_resp, n_comm in sizes:
        before = _conditions()
        try:
            t = measure("time", n_resp, n_comm)
            m = measure("memory", n_resp, n_comm, repeat=1)
        except RuntimeError as exc:  # e.g. out of memory at 10M: say so, keep the other sizes
            last = str(exc).strip().splitlines()[-1][:300]
            failed.append(f"{n_resp:,} respondents / {n_comm:,} communities: failed ({last})")
            continue
        w = measure("steps", n_resp, n_comm)  # every size: growth per step
        rows.append(
            {
                "workload": "evaluate",
                "tool": "collective_efficacy.evaluate",
                "n_respondents": n_resp,
                "n_communities": n_comm,
                "seconds": statistics.median(t["evaluate_s"]),
                "note": "",
                "time": t,
                "memory": m,
                "steps": w,
                "conditions": [before, _conditions()],
            }
        )
    if rows and failed:
        rows[-1]["failed"] = failed
    elif failed:
        raise RuntimeError("; ".join(failed))
    return rows


def _fmt(xs: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in xs)


def _used(m: dict[str, Any]) -> str:
    """Rows used per wave, or why they are not shown (withheld for privacy)."""
    if any(u is None for u in m["rows_used"]):
        return "withheld in the published evaluation (they would narrow a suppressed pool)"
    return " + ".join(f"{u:,}" for u in m["rows_used"])


def _numeric_mb(r: dict[str, Any]) -> float:
    """The numeric input: every row's answers as float64 (rows x items x 8 bytes), in MB."""
    return sum(r["memory"]["rows"]) * len(ITEMS) * 8 / 2**20


def _added_mb(r: dict[str, Any]) -> float:
    m = r["memory"]
    return float(m["maxrss_mb"] - m["rss_after_data_mb"])


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def growth(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Growth exponents between consecutive sizes: log(y2 / y1) / log(n2 / n1) (1.0 = linear)."""
    out = []
    for a, b in itertools.pairwise(rows):
        ratio = math.log(b["n_respondents"] / a["n_respondents"])

        def k(y1: float, y2: float, ratio: float = ratio) -> float:
            return math.log(y2 / y1) / ratio if y1 > 0 and y2 > 0 else float("nan")

        out.append(
            {
                "from": a["n_respondents"],
                "to": b["n_respondents"],
                "time": k(a["seconds"], b["seconds"]),
                "cpu": k(
                    statistics.median(a["time"]["evaluate_cpu_s"]),
                    statistics.median(b["time"]["evaluate_cpu_s"]),
                ),
                "added_memory": k(_added_mb(a), _added_mb(b)),
                "peak": k(a["memory"]["maxrss_mb"], b["memory"]["maxrss_mb"]),
            }
        )
    return out


def _overview(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "| respondents | communities | `evaluate` (median) | runs | CPU (median) | `.to_html()` "
        "| `.to_json()` | numeric input | added memory | added / input | bytes added per "
        "respondent | peak (process) | targets |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        t, m = r["time"], r["memory"]
        n, sec = r["n_respondents"], r["seconds"]
        add, num = _added_mb(r), _numeric_mb(r)
        peak_gb = m["maxrss_mb"] / 1024
        if (n, r["n_communities"]) == LARGE:
            target = (
                f"≤ {TARGET_SECONDS:g} s: {_met(sec <= TARGET_SECONDS)}; ≤ {TARGET_ADDED_X:g}x "
                f"input: {_met(add <= TARGET_ADDED_X * num)}"
            )
        elif n >= 10_000_000:
            target = (
                f"≤ {TARGET_SECONDS_10M:g} s: {_met(sec <= TARGET_SECONDS_10M)}; peak ≤ "
                f"{TARGET_PEAK_GB:g} GB: {_met(peak_gb <= TARGET_PEAK_GB)}"
            )
        else:
            target = ""
        out.append(
            f"| {n:,} | {r['n_communities']:,} | {sec:.2f} s | {len(t['evaluate_s'])} "
            f"({_fmt(t['evaluate_s'])}) | {statistics.median(t['evaluate_cpu_s']):.2f} s | "
            f"{statistics.median(t['to_html_s']):.2f} s ({t['to_html_mb']:.1f} MB) | "
            f"{statistics.median(t['to_json_s']):.2f} s ({t['to_json_mb']:.1f} MB) | "
            f"{num:,.0f} MB | {add:,.0f} MB | {add / num:.1f}x | "
            f"{add * 2**20 / sum(m['rows']):,.0f} | {m['maxrss_mb']:,.0f} MB | {target} |"
        )
    out.append("")
    g = growth(rows)
    if g:
        out += [
            "Growth exponents per step (log(y2 / y1) / log(n2 / n1); 1.00 = linear in the "
            "respondents):",
            "",
            "| step | time (wall) | time (CPU) | added memory | peak memory |",
            "|---|---:|---:|---:|---:|",
        ]
        out += [
            f"| {x['from']:,} → {x['to']:,} | {x['time']:.2f} | {x['cpu']:.2f} | "
            f"{x['added_memory']:.2f} | {x['peak']:.2f} |"
            for x in g
        ]
        out.append("")
    out += [f"**{f}**" for r in rows for f in r.get("failed", [])]
    checks = all(r["memory"]["inputs_unchanged"] and r["memory"]["rows_accounted"] for r in rows)
    out += [
        f"Caller's frames unchanged (cell hashes) and every row accounted for (rows in = used + "
        f"excluded) at every size: {checks}. Added memory = peak RSS during `evaluate` (VmHWM, "
        "reset once the data was built) minus RSS after the data was built (fresh process per "
        "measurement); the generator's own peak is not counted.",
        "",
    ]
    return out


def _detail(r: dict[str, Any]) -> list[str]:
    """The per-step breakdown at one size (each chained public function timed by a wrapper)."""
    m, w = r["memory"], r["steps"]["steps_wall_s"]
    out = [
        f"Per step at {r['n_respondents']:,} respondents ({m['rows'][0]:,} + "
        f"{m['rows'][1]:,} rows in, {_used(m)} used): "
        "each chained public function timed by a thin wrapper (the outermost call only, so "
        f"nothing is counted twice) during un-profiled runs; the fastest total of {REPEAT}.",
        "",
        "| step | functions (wall s) | wall s | wall % |",
        "|---|---|---:|---:|",
    ]
    total_w = w["total"]
    ws = {k: v for k, v in w.items() if k != "total" and ":" not in k}
    ws["other (orchestration: concat, filters, ...)"] = total_w - sum(ws.values())
    names: dict[str, list[str]] = {s: [] for s, _, _ in STEPS}
    for s, f, fn in STEPS:
        sec = w.get(f"fn:{_module(f)[20:]}.{fn}")
        if sec is not None:
            names[s].append(f"`{fn}` {sec:.2f}")
    for step in sorted(ws, key=lambda k: -ws[k]):
        fns = ", ".join(names.get(step, [])) or "(rest of `evaluate`)"
        out.append(f"| {step} | {fns} | {ws[step]:.2f} | {100 * ws[step] / total_w:.0f} |")
    out += [f"| **total** | `evaluate` | **{total_w:.2f}** | 100 |", ""]
    return out


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """The evaluate section of RESULTS.md: time and memory per size, growth, per-step detail."""
    if not rows:
        return ""
    out = [
        "Two waves of a survey of N respondents (split about evenly), Dutch column names via "
        "`columns=`, text cells and typos in two item columns, 5 % missing answers, rows without "
        "community, duplicate ids and empty rows; rows shuffled, ids and labels as text (pandas' str dtype, as read_csv gives them); "
        "programme ratings for every community and wave.",
        "",
        f"Conditions: {rows[0]['conditions'][0]}; after the runs: "
        f"{rows[-1]['conditions'][1].rsplit('load average (1/5/15 min) ', 1)[-1]}. Wall times "
        "are upper bounds when other processes share the machine; the CPU time is less "
        "sensitive to that.",
        "",
        *_overview(rows),
    ]
    out += _step_growth(rows)
    for r in rows:
        if r.get("steps") is not None and (r["n_respondents"], r["n_communities"]) == LARGE:
            out += _detail(r)
    return "\n".join(out)


def _step_growth(rows: list[dict[str, Any]]) -> list[str]:
    """Per pipeline step: wall time and added memory at each size, and their growth exponents."""
    rows = [r for r in rows if r.get("steps") is not None]
    if len(rows) < 2:
        return []
    ws = [dict(r["steps"]["steps_wall_s"]) for r in rows]  # copies: "other" is added below
    steps = sorted(
        {k for w in ws for k in w if k != "total" and ":" not in k},
        key=lambda k: -ws[-1].get(k, 0.0),
    )
    sizes = [f"{r['n_respondents']:,}" for r in rows]
    pairs = [f"{a} → {b}" for a, b in itertools.pairwise(sizes)]
    out = [
        "Growth per pipeline step (wall seconds and the peak memory a step added above its "
        "start, MB, each chained public function timed by a thin wrapper; exponent = "
        "log(y2 / y1) / log(n2 / n1), 1.00 = linear):",
        "",
        "| step | " + " | ".join(f"s at {x}" for x in sizes) + " | "
        + " | ".join(f"time exp. {p}" for p in pairs) + " | "
        + " | ".join(f"MB at {x}" for x in sizes) + " | "
        + " | ".join(f"memory exp. {p}" for p in pairs) + " |",
        "|---|" + "---:|" * (4 * len(sizes) - 2),
    ]  # fmt: skip

    def exps(ys: list[float]) -> list[str]:
        cells = []
        for (ra, ya), (rb, yb) in itertools.pairwise(zip(rows, ys)):
            if ya > 0 and yb > 0:
                k = math.log(yb / ya) / math.log(rb["n_respondents"] / ra["n_respondents"])
                cells.append(f"{k:.2f}")
            else:
                cells.append("")
        return cells

    other = "other (orchestration)"
    for w in ws:
        w[other] = w["total"] - sum(v for k, v in w.items() if k != "total" and ":" not in k)
    for step in [*steps, other, "total"]:
        t = [w.get(step, 0.0) for w in ws]
        m = [w.get(f"mem:{step}", 0.0) for w in ws]
        timed = step not in ("total", other)
        mem_cells = [f"{x:,.0f}" for x in m] if timed else [""] * len(m)
        mem_exp = exps(m) if timed else [""] * len(pairs)
        out.append(
            f"| {step} | " + " | ".join(f"{x:.2f}" for x in t) + " | " + " | ".join(exps(t))
            + " | " + " | ".join(mem_cells) + " | " + " | ".join(mem_exp) + " |"
        )  # fmt: skip
    out.append("")
    return out


def main(argv: list[str]) -> None:
    """``--small``; ``--sizes N:G,...``; ``--json OUT`` (save the rows); ``--merge A B ...``
    (the tables of rows saved by earlier runs, e.g. 100k and 1M now, 10M later); ``-h``,
    ``--help``: what is timed and these options, nothing run."""
    if "-h" in argv or "--help" in argv:
        print(__doc__.strip() + "\n\nOptions: " + " ".join((main.__doc__ or "").split()))
        return
    if "--merge" in argv:
        files = argv[argv.index("--merge") + 1 :]
        rows = [r for f in files for r in json.loads(Path(f).read_text())]
        print(to_markdown(sorted(rows, key=lambda r: r["n_respondents"])))
        return
    sizes = [(100_000, 1_000), (300_000, 3_000)] if "--small" in argv else SIZES
    if "--sizes" in argv:
        spec = argv[argv.index("--sizes") + 1]
        sizes = [(int(a), int(b)) for a, b in (x.split(":") for x in spec.split(","))]
    res = run(sizes)
    if "--json" in argv:
        Path(argv[argv.index("--json") + 1]).write_text(json.dumps(res))
    print(to_markdown(res))


if __name__ == "__main__":
    main(sys.argv[1:])

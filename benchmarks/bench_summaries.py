"""Out-of-core benchmark: summarise + alpha, icc, random_intercept, compare_waves, change_model.

Generates a two-wave survey into Parquet files on disk (in chunks, so generation itself needs
little memory), then, each in a fresh process so that peak RSS belongs to that step alone:

* ``scan``: one plain pass of the same engine over every column the pipeline reads
  (``sum`` of each item, grouped by nothing) -- the floor for any one-pass method;
* ``pipeline``: :func:`collective_efficacy.summarise` through the engine (one group-by pass),
  then ``cronbach_alpha``, ``icc``, ``random_intercept``, ``compare_waves`` and
  ``change_model`` from the summary.

It prints the time and peak RSS of both and the ratio pipeline / scan (target: < 3, peak RSS
< 2 GB at 100,000,000 rows).

Generation is skipped when ``--dir`` already holds the same data (``manifest.json``: rows,
communities, seed), so the files can be written beforehand with ``--generate-only``.

Usage (the lead's 100M run; about 1.5 GB of Parquet in /tmp/ce_bench)::

    python -m benchmarks.bench_summaries --rows 100000000 --communities 13000 \
        --dir /tmp/ce_bench --engine duckdb

A quick check: ``--rows 1000000`` (also run by the tests at 50,000 rows with ``--check``,
which compares every statistic with the pandas row path).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]
KEYS = ["-SC3", "-SC4"]
WAVES = ("baseline", "end_of_cycle")
CHUNK = 2_000_000


def generate(directory: Path, rows: int, communities: int, seed: int = 1) -> None:
    """Write ``rows`` respondents (two waves) in ~``CHUNK``-row Parquet files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    manifest = directory / "manifest.json"
    want = {"rows": rows, "communities": communities, "seed": seed, "chunk": CHUNK}
    if manifest.exists() and json.loads(manifest.read_text()) == want:
        return  # the same data is already there (written last, so only after a complete run)
    manifest.unlink(missing_ok=True)
    for old in directory.glob("part-*.parquet"):
        old.unlink()
    rng = np.random.default_rng(seed)
    effect = rng.normal(0, 0.35, communities)
    change = rng.normal(0.15, 0.15, communities)
    labels = np.array([f"BU{i:08d}" for i in range(communities)])
    done, part = 0, 0
    while done < rows:
        m = min(CHUNK, rows - done)
        c = rng.integers(0, communities, m)
        w = rng.integers(0, 2, m).astype(np.int8)
        person = 3 + effect[c] + change[c] * w + rng.normal(0, 0.55, m)
        cols: dict[str, Any] = {
            "buurt": pa.DictionaryArray.from_arrays(pa.array(c.astype(np.int32)), pa.array(labels)),
            "wave": pa.DictionaryArray.from_arrays(pa.array(w), pa.array(list(WAVES))),
        }
        for item in ITEMS:
            y = np.clip(np.rint(person + rng.normal(0, 0.75, m)), 1, 5)
            if item in ("SC3", "SC4"):
                y = 6 - y  # stored reversed, as in the questionnaire
            miss = rng.random(m) < 0.03
            cols[item] = pa.array(y.astype(np.float64), mask=miss)
        pq.write_table(pa.table(cols), directory / f"part-{part:05d}.parquet")
        done += m
        part += 1
    manifest.write_text(json.dumps(want))


def _relation(directory: Path, engine: str) -> Any:
    pattern = str(directory / "part-*.parquet")
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute("SET memory_limit='1500MB'")
        return con.sql(f"select * from read_parquet('{pattern}')")
    import polars as pl

    return pl.scan_parquet(pattern)


def scan(directory: Path, engine: str) -> dict[str, Any]:
    """One plain pass over the columns the pipeline reads."""
    import narwhals as nw

    t0 = time.perf_counter()
    frame = nw.from_native(_relation(directory, engine))
    out = frame.select(nw.len(), *(nw.col(c).sum() for c in ITEMS),
                       nw.col("buurt").n_unique(), nw.col("wave").n_unique())  # fmt: skip
    n = int(out.collect().to_pandas().iloc[0, 0])
    return {"step": "scan", "rows": n, "seconds": time.perf_counter() - t0}


def pipeline(directory: Path, engine: str) -> dict[str, Any]:
    import collective_efficacy as ce

    t0 = time.perf_counter()
    s = ce.summarise(_relation(directory, engine), items=ITEMS, keys=KEYS, scale_range=(1, 5),
                     community="buurt", wave="wave", min_n=None)  # fmt: skip
    t_sum = time.perf_counter() - t0
    alpha = ce.cronbach_alpha(s)
    ce.cronbach_alpha(s, community="buurt")
    icc = ce.icc(s, dv="score", community="buurt")
    ri = ce.random_intercept(s, dv="score", community="buurt")
    cw = ce.compare_waves(s, dv="score", wave="wave", community="buurt", min_n=10)
    cm = ce.change_model(s, dv="score", community="buurt", wave="wave")
    return {
        "step": "pipeline",
        "rows": int(s.to_frame()["n_rows"].sum()),
        "communities": s.n_communities,
        "seconds": time.perf_counter() - t0,
        "seconds_summarise": t_sum,
        "alpha": float(alpha["alpha"].iloc[0]),
        "icc1": float(icc["icc1"].iloc[0]),
        "tau2": float(ri.variance_components.tau2),
        "wave_effect": float(cw["diff"].iloc[-1]),
        "var_change": float(cm.variance_components.var_change),
    }


def check(directory: Path, engine: str) -> dict[str, Any]:
    """The pipeline's numbers against the pandas row path on the same files (small data)."""
    import pandas as pd

    import collective_efficacy as ce

    parts = sorted(directory.glob("part-*.parquet"))
    rows = pd.concat([pd.read_parquet(f) for f in parts], ignore_index=True)
    rows["buurt"] = rows["buurt"].astype(str)
    rows["wave"] = rows["wave"].astype(str)
    rows["score"] = ce.score(rows, keys={"score": ["SC1", "SC2", "-SC3", "-SC4", "SC5"]},
                             scale_range=(1, 5))["score"]  # fmt: skip
    got = pipeline(directory, engine)
    want = {
        "alpha": float(
            ce.cronbach_alpha(rows, items=ITEMS, keys=KEYS, scale_range=(1, 5))["alpha"].iloc[0]
        ),
        "icc1": float(ce.icc(rows, dv="score", community="buurt")["icc1"].iloc[0]),
        "tau2": float(
            ce.random_intercept(rows, dv="score", community="buurt").variance_components.tau2
        ),
        "wave_effect": float(
            ce.compare_waves(rows, dv="score", wave="wave", community="buurt", min_n=10)[
                "diff"
            ].iloc[-1]
        ),
    }
    want["var_change"] = float(
        ce.change_model(
            rows, dv="score", community="buurt", wave="wave"
        ).variance_components.var_change
    )
    worst = max(abs(got[k] - v) / max(abs(v), 1e-300) for k, v in want.items())
    return {"step": "check", "max_relative_difference": worst}


def _child(step: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_summaries", "--step", step,
           "--dir", str(args.dir), "--engine", args.engine]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_summaries", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--communities", type=int, default=13_000)
    p.add_argument("--dir", type=Path, default=Path("/tmp/ce_bench"))
    p.add_argument("--engine", choices=("duckdb", "polars"), default="duckdb")
    p.add_argument("--no-generate", action="store_true", help="reuse the files in --dir")
    p.add_argument("--generate-only", action="store_true", help="write the files and stop")
    p.add_argument("--check", action="store_true", help="compare with pandas (small data)")
    p.add_argument("--step", choices=("scan", "pipeline", "check"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step:  # a child process: one step, its peak RSS, one JSON line
        res = {"scan": scan, "pipeline": pipeline, "check": check}[args.step](args.dir, args.engine)
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return 0
    if not args.no_generate:
        t0 = time.perf_counter()
        generate(args.dir, args.rows, args.communities)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
    if args.generate_only:
        return 0
    results = [_child("scan", args), _child("pipeline", args)]
    if args.check:
        results.append(_child("check", args))
    for r in results:
        print(json.dumps(r))
    ratio = results[1]["seconds"] / results[0]["seconds"]
    print(f"pipeline / scan = {ratio:.2f} (target < 3); "
          f"peak RSS pipeline {results[1]['peak_rss_mb']:.0f} MB (target < 2048)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Out-of-core evaluation (collective_efficacy.out_of_core, ``evaluate --out-of-core``).

The reference is the library's in-memory :func:`collective_efficacy.evaluate` on the same rows,
itself tested against R (psych, lme4, stats) elsewhere; the out-of-core path must reproduce
its sum-reducible sections to a relative 1e-10 (sums of integer codes are exact; the score's
moments differ from the row path's two-pass moments by float rounding only).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from conftest import FAST_EXIT

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pc = pytest.importorskip("pyarrow.compute")

from collective_efficacy.out_of_core import SKIPPED, evaluate_parquet  # noqa: E402

ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5", "ISC1", "ISC2", "ISC3", "ISC4", "ISC5"]
REDUCED = ["community_scores", "reliability", "item_statistics", "aggregation", "change", "change_model",
           "change_model_fixed", "change_model_fit", "impact", "impact_change"]  # fmt: skip
RTOL = 1e-10  # relative; absolute 1e-12 for values near 0 (p-values, tiny covariances)


def _generate(path: Path, rows: int, communities: int, seed: int, shift: float = 0.0) -> None:
    """Survey rows with missing codes (9), out-of-range codes (7), NaN, reversed items."""
    rng = np.random.default_rng(seed)
    effect = np.random.default_rng(7).normal(0, 0.35, communities)
    c = rng.integers(0, communities, rows)
    person = 3 + effect[c] + shift + rng.normal(0, 0.55, rows)
    labels = pa.array([f"B{i:05d}" for i in range(communities)])
    cols = {
        "buurt": pa.DictionaryArray.from_arrays(pa.array(c.astype(np.int32)), labels),
        # "R{seed}_0", "R{seed}_1", ...: the texts np.char.add gave, built by Arrow (10x faster)
        "rid": pc.binary_join_element_wise(
            f"R{seed}_", pc.cast(pa.array(np.arange(rows)), pa.string()), ""
        ),
    }
    for item in ITEMS:
        y = np.clip(np.rint(person + rng.normal(0, 0.75, rows)), 1, 5)
        if item in ("SC3", "SC4"):
            y = 6 - y
        u = rng.random(rows)
        y[u < 0.03] = 9  # "refused": a missing code
        y[(u >= 0.03) & (u < 0.035)] = 7  # out of range
        y[(u >= 0.035) & (u < 0.05)] = np.nan
        cols[item] = pa.array(y, mask=np.isnan(y))
    pq.write_table(pa.table(cols), path, row_group_size=50_000)


def _same(t0: pd.DataFrame, t1: pd.DataFrame, where: str) -> None:
    assert list(t0.columns) == list(t1.columns), where
    assert len(t0) == len(t1), where
    for c in t0.columns:
        a, b = t0[c], t1[c]
        num = [
            pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) for s in (a, b)
        ]
        if all(num):
            x, y = a.astype(float).to_numpy(), b.astype(float).to_numpy()
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=1e-12, err_msg=f"{where}.{c}")
        else:
            norm = [[None if v is None or (isinstance(v, float) and np.isnan(v)) else v
                     for v in s.tolist()] for s in (a, b)]  # fmt: skip
            assert norm[0] == norm[1], f"{where}.{c}"


def _compare(ev0: ce.Evaluation, ev1: ce.Evaluation) -> None:
    for name in REDUCED:
        assert (name in ev0.tables) == (name in ev1.tables), name
        if name in ev0.tables:
            _same(ev0.tables[name], ev1.tables[name], name)
    # omega: the minres/ML optimiser stops at its tolerance, so inputs equal to 1e-14 give
    # loadings equal to about 1e-10 (tests/test_summaries_items.py compares the matrices)
    o0, o1 = ev0.tables["omega"], ev1.tables["omega"]
    assert list(o0.columns) == list(o1.columns)
    for c in o0.select_dtypes("number").columns:
        np.testing.assert_allclose(o1[c], o0[c], rtol=1e-8, atol=1e-8, err_msg=f"omega.{c}")
    for w0, w1 in zip(ev0.waves, ev1.waves):
        for field in ("wave", "n_rows_in", "n_rows_usable", "n_rows_excluded", "exclusions"):
            assert getattr(w0, field) == getattr(w1, field), field


@pytest.fixture(scope="module")
def example_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, tuple]:
    """The bundled example with its answer codes as numbers (the labels a person typed in
    become missing in both paths)."""
    folder = tmp_path_factory.mktemp("ooc_example")
    before, after = ce.datasets.load_example(split=True)
    out = []
    for df, name in ((before, "b.parquet"), (after, "e.parquet")):
        df = df.copy()
        for c in ce.datasets.EXAMPLE_COLUMNS:
            df[c] = pd.to_numeric(df[c], errors="coerce")
        df.to_parquet(folder / name)
        out.append(df)
    return folder / "b.parquet", folder / "e.parquet", tuple(out)


KW = {"community": "buurt", "respondent": "respondent_id", "columns": ce.datasets.EXAMPLE_COLUMNS}


def test_example_equals_in_memory(example_files: tuple[Path, Path, tuple]) -> None:
    b, e, (before, after) = example_files
    ev0 = ce.evaluate(before, after, **KW)
    ev1 = evaluate_parquet(b, e, **KW)
    _compare(ev0, ev1)
    assert ev1.notes["out_of_core"] == SKIPPED
    assert "ecometric" not in ev1.tables and "agreement" not in ev1.tables


def test_generated_equals_in_memory(tmp_path: Path) -> None:
    """Missing codes, out-of-range codes, small (suppressed) communities, a community in one
    wave only, rows without answers."""
    b, e = tmp_path / "b.parquet", tmp_path / "e.parquet"
    _generate(b, 6000, 300, 1)
    _generate(e, 5000, 310, 2, shift=0.1)
    frames = [pd.read_parquet(p).astype({"buurt": str}) for p in (b, e)]
    frames[0].loc[:4, ITEMS] = np.nan  # rows without an answer
    frames[0].loc[5:6, "buurt"] = None  # rows without a community
    frames[0].to_parquet(b)
    kw = {"community": "buurt", "respondent": "rid", "min_n": 10}
    ev0 = ce.evaluate(*frames, **kw)
    ev1 = evaluate_parquet(b, e, **kw)
    _compare(ev0, ev1)
    assert ev1.waves[0].exclusions == {"missing_community": 2, "no_items_answered": 5}
    suppressed = ev1.tables["community_scores"]["suppressed"]
    assert suppressed.any() and not suppressed.all()


def test_duplicate_respondents_refused(tmp_path: Path) -> None:
    df = pd.DataFrame({"buurt": ["a", "a", "b"], "rid": ["1", "1", "2"],
                       **{i: [3.0, 4.0, 2.0] for i in ITEMS}})  # fmt: skip
    df.to_parquet(tmp_path / "b.parquet")
    with pytest.raises(ce.errors.DataError, match="more than once"):
        evaluate_parquet(tmp_path / "b.parquet", tmp_path / "b.parquet", community="buurt",
                         respondent="rid")  # fmt: skip


def test_text_codes_refused(tmp_path: Path) -> None:
    df = pd.DataFrame({"buurt": ["a"], **{i: ["3"] for i in ITEMS}})
    df.to_parquet(tmp_path / "b.parquet")
    with pytest.raises(ce.errors.DataError, match="not numeric"):
        evaluate_parquet(tmp_path / "b.parquet", tmp_path / "b.parquet", community="buurt")


_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from collective_efficacy.out_of_core import evaluate_parquet
    ev = evaluate_parquet(sys.argv[1], sys.argv[2], community="buurt", respondent="rid",
                          memory_limit="64MB", threads=1)
    print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "n": sum(w.n_rows_in for w in ev.waves
                               if w.n_rows_in is not None)}))
    """
)
# the peak is read before the process ends; the interpreter's teardown is not what is measured
_CHILD += FAST_EXIT


def _peak(b: Path, e: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(b), str(e)], capture_output=True,
                         text=True, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    """Peak RSS of a fresh process: 2 x 750,000 rows versus 2 x 150,000 rows of the same design.
    The extra rows in pandas would take more than 1.2e6 x 12 columns x 8 bytes = 110 MB; the
    out-of-core evaluation may grow by at most a quarter of that (DuckDB at memory_limit=64MB
    streams row groups; the duplicate-id check spills beyond the limit). Both sizes are past
    the point where DuckDB's buffer is full (peak RSS is flat from about 100,000 rows a wave:
    measured 451 MB at 100k, 450 at 200k, 441-454 at 750k) and show every community; a tiny
    survey whose communities are all suppressed takes another path and a noisier baseline
    (288-390 MB at 2,000 rows), which made the comparison flaky."""
    small, big = tmp_path / "small", tmp_path / "big"
    small.mkdir(), big.mkdir()
    sizes = {small: 150_000, big: 750_000}
    for folder, rows in sizes.items():
        _generate(folder / "b.parquet", rows, 2_000, 1)
        _generate(folder / "e.parquet", rows, 2_000, 2, shift=0.1)
    p_small = _peak(small / "b.parquet", small / "e.parquet")
    p_big = _peak(big / "b.parquet", big / "e.parquet")
    assert p_big["n"] in (0, 750_000, 1_500_000)  # a wave's count may be withheld (privacy)
    in_pandas_mb = 2 * (sizes[big] - sizes[small]) * 12 * 8 / 2**20
    assert p_big["peak_mb"] - p_small["peak_mb"] < in_pandas_mb / 4, (p_small, p_big)


def test_cli_out_of_core(
    example_files: tuple[Path, Path, tuple], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from collective_efficacy.cli import main

    b, e, _ = example_files
    cols = tmp_path / "cols.json"
    cols.write_text(json.dumps(ce.datasets.EXAMPLE_COLUMNS))
    args = [str(b), str(e), "--community", "buurt", "--respondent", "respondent_id",
            "--columns", str(cols), "--out-of-core"]  # fmt: skip
    assert main(["evaluate", *args, "--out", str(tmp_path / "out")]) == 0
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["notes"]["out_of_core"] == SKIPPED
    assert "reliability" in res["sections"]
    code = main(["evaluate", *args, "--assessments", str(cols), "--out", str(tmp_path / "o2")])
    assert code != 0
    assert "--out-of-core cannot use --assessments" in capsys.readouterr().err

"""Review findings of session 15 (each test fails on the code before its fix).

1. The engine query (polars, pyarrow, DuckDB) added helper columns (``_any``, ``_enough``,
   ``_m1``...) beside the grouping columns: a community column of that name was overwritten (all
   respondents in one community) or, on DuckDB (identifiers ignore case), failed. Reference: the
   pandas engine (its own numpy path), exact for labels and counts, 1e-12 relative for sums.
2. A grouping column named like a per-cell sum (``n_rows``, ``score_sum``, ``sum_0_1``) reached
   pandas as a raw ValueError on every engine: now a DataError naming the column.
3. ``memory_limit`` went into DuckDB's SQL text unchecked (``SET memory_limit = '...'``): a
   value with a quote ran any SQL. Now only a memory size passes.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy.errors import DataError, ParameterError
from collective_efficacy.summaries._engine import cell_sums

pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")
duckdb = pytest.importorskip("duckdb")

_HELPERS = ["_any", "_ANY", "_enough", "_m1", "_M2", "_score", "_SCORE", "_tot", "_na", "_x0",
            "_O0", "_z1", "_b0", "_B1"]  # fmt: skip


def _frame(name: str, seed: int = 1, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, size=(n, 2)).astype(float)
    x[rng.random((n, 2)) < 0.2] = np.nan
    return pd.DataFrame({name: rng.choice(["A", "B", "C"], n), "i0": x[:, 0], "i1": x[:, 1]})


def _engines(df: pd.DataFrame) -> dict[str, object]:
    return {"polars": pl.from_pandas(df), "pyarrow": pa.Table.from_pandas(df),
            "duckdb": duckdb.connect().from_df(df)}  # fmt: skip


@pytest.mark.parametrize("name", _HELPERS)
def test_a_community_named_like_a_helper_column_keeps_its_communities(name: str) -> None:
    df = _frame(name)
    kw = {"items": ["i0", "i1"], "community": name, "min_n": 1, "ecometric": True}
    want = ce.summarise(df, detail=True, **kw).summary().sort_values(name, ignore_index=True)
    assert want[name].tolist() == ["A", "B", "C"]
    for engine, frame in _engines(df).items():
        got = ce.summarise(frame, detail=True, **kw).summary()
        got = got.sort_values(name, ignore_index=True)
        assert got[name].astype(str).tolist() == ["A", "B", "C"], engine
        assert got["n"].tolist() == want["n"].tolist(), engine
        num = [c for c in want.columns if c != name and pd.api.types.is_float_dtype(want[c])]
        np.testing.assert_allclose(
            got[num].to_numpy(float), want[num].to_numpy(float), rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("name", ["n_rows", "n_answered", "score_sum", "scale_sumsq", "sum_0_1"])
def test_a_community_named_like_a_sum_is_refused_on_every_engine(name: str) -> None:
    df = _frame(name)
    for frame in [df, *_engines(df).values()]:
        with pytest.raises(DataError, match=rf"\['{name}'\] have the name of a per-community sum"):
            ce.summarise(frame, items=["i0", "i1"], community=name, min_n=1)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray, int, str]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, k = draw(st.integers(1, 50)), draw(st.integers(1, 4))
    x = rng.integers(1, 6, size=(n, k)).astype(float)
    x[rng.random((n, k)) < draw(st.sampled_from([0.0, 0.3]))] = np.nan
    name = draw(st.sampled_from(["c", *_HELPERS]))
    df = pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])
    df[name] = rng.choice(["a", "b", "7"], size=n)
    return df, np.where(rng.random(k) < 0.4, -1.0, 1.0), draw(st.integers(1, k)), name


@settings(max_examples=15, deadline=None)
@given(_cases(), st.booleans(), st.booleans())
def test_engine_sums_equal_the_pandas_numpy_path(
    case: tuple[pd.DataFrame, np.ndarray, int, str], detail: bool, ecometric: bool
) -> None:
    """DuckDB's SQL aggregate and the polars query against the pandas engine's own numpy path
    (which does not use the engines' row terms). Tolerance 1e-12 relative (1e-12 absolute)."""
    df, signs, min_items, name = case
    items = [c for c in df.columns if c.startswith("i")]
    lo, hi = np.ones(len(items)), np.full(len(items), 5.0)
    args = (items, signs, lo, hi, [name], min_items, detail, ecometric)
    want = cell_sums(nw.from_native(df), *args).sort_values(name, ignore_index=True)
    for frame in (pl.from_pandas(df), duckdb.connect().from_df(df)):
        got = cell_sums(nw.from_native(frame), *args).sort_values(name, ignore_index=True)
        assert list(got.columns) == list(want.columns)
        assert got[name].astype(str).tolist() == want[name].astype(str).tolist()
        assert (got["n_rows"].to_numpy() == want["n_rows"].to_numpy()).all()
        sums = [c for c in want.columns if c not in (name, "n_rows")]
        np.testing.assert_allclose(
            got[sums].to_numpy(float), want[sums].to_numpy(float), rtol=1e-12, atol=1e-12
        )


_INJECTED = "1GB'; CREATE TABLE pwned AS SELECT 42 AS x; SET memory_limit='2GB"


@pytest.mark.parametrize("bad", [_INJECTED, "1000", "", "lots", "1 GB; DROP", 5, None])
def test_memory_limit_other_than_a_size_is_refused(bad: object) -> None:
    from collective_efficacy.summaries._parquet import duckdb_connection

    with pytest.raises(ParameterError, match="memory_limit") as err:
        duckdb_connection(memory_limit=bad)  # type: ignore[arg-type]
    assert err.value.argument == "memory_limit"


@pytest.mark.parametrize("size", ["1GB", "1.5GB", "500mb", "2GiB", "1 GB", "80%", "64MB"])
def test_memory_limit_sizes_are_set(size: str) -> None:
    from collective_efficacy.summaries._parquet import duckdb_connection

    con = duckdb_connection(memory_limit=size)
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_evaluate_parquet_refuses_an_injected_memory_limit(tmp_path: object) -> None:
    from collective_efficacy.out_of_core import evaluate_parquet

    with pytest.raises(ParameterError, match="memory_limit"):
        evaluate_parquet("b.parquet", "e.parquet", community="buurt", memory_limit=_INJECTED)

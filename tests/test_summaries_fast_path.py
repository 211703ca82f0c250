"""The numpy path of the per-cell sums for pandas input equals the narwhals engine query.

Reference: the narwhals query that every other engine runs (polars here, and pandas through
narwhals), on generated frames with missing answers, reversed items, missing-item thresholds and
the detail and ecometric sums. Tolerance 1e-12 relative (1e-12 absolute for zero sums): the same
products summed in a different order by different engines.
"""

from __future__ import annotations

import narwhals as nw
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collective_efficacy.summaries._engine import _engine_cell_sums, cell_sums

pl = pytest.importorskip("polars")


@st.composite
def _frames(draw: st.DrawFn) -> tuple[pd.DataFrame, np.ndarray, int]:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n, k = draw(st.integers(1, 60)), draw(st.integers(1, 4))
    x = rng.integers(1, 6, size=(n, k)).astype(float)
    x[rng.random((n, k)) < draw(st.sampled_from([0.0, 0.2, 0.6]))] = np.nan
    df = pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])
    df["c"] = rng.choice(["a", "b", "c d", "7"], size=n)
    df["w"] = rng.choice(["baseline", "end"], size=n)
    signs = np.where(rng.random(k) < 0.4, -1.0, 1.0)
    return df, signs, draw(st.integers(1, k))


def _sorted(t: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return t.sort_values(by).reset_index(drop=True)


@settings(max_examples=25, deadline=None)
@given(_frames(), st.booleans(), st.booleans())
def test_pandas_fast_path_equals_the_engine_query(
    case: tuple[pd.DataFrame, np.ndarray, int], detail: bool, ecometric: bool
) -> None:
    df, signs, min_items = case
    items = [c for c in df.columns if c.startswith("i")]
    lo, hi = np.ones(len(items)), np.full(len(items), 5.0)
    by = ["c", "w"]
    fast = cell_sums(nw.from_native(df), items, signs, lo, hi, by, min_items, detail, ecometric)
    for ref_frame in (nw.from_native(pl.from_pandas(df)), nw.from_native(df)):
        opts = (min_items, detail, ecometric)
        ref = _engine_cell_sums(ref_frame, items, (signs, lo, hi), by, opts)
        assert list(fast.columns) == list(ref.columns)
        a, b = _sorted(fast, by), _sorted(ref, by)
        assert a[by].astype(str).equals(b[by].astype(str))
        assert (a["n_rows"].to_numpy() == b["n_rows"].to_numpy()).all()
        sums = [c for c in a.columns if c not in (*by, "n_rows")]
        np.testing.assert_allclose(
            a[sums].to_numpy(float), b[sums].to_numpy(float), rtol=1e-12, atol=1e-12
        )


def test_a_missing_label_is_refused_on_the_fast_path() -> None:
    df = pd.DataFrame({"i0": [1.0, 2.0, 3.0], "c": ["a", None, "b"]})
    from collective_efficacy.errors import DataError

    with pytest.raises(DataError, match=r"column 'c' has 1 missing label"):
        cell_sums(nw.from_native(df), ["i0"], np.ones(1), np.ones(1), np.full(1, 5.0), ["c"])


@settings(max_examples=10, deadline=None)
@given(_frames(), st.booleans(), st.booleans())
def test_duckdb_sums_in_sql_equal_the_engine_query(
    case: tuple[pd.DataFrame, np.ndarray, int], detail: bool, ecometric: bool
) -> None:
    """DuckDB's per-cell sums are one aggregate written in SQL text (_duckdb_sums); the same
    products summed by the narwhals query on polars. Tolerance 1e-12 relative."""
    duckdb = pytest.importorskip("duckdb")
    df, signs, min_items = case
    items = [c for c in df.columns if c.startswith("i")]
    lo, hi = np.ones(len(items)), np.full(len(items), 5.0)
    opts = (min_items, detail, ecometric)
    for by in (["c", "w"], []):
        rel = duckdb.connect().from_df(df)
        got = _engine_cell_sums(nw.from_native(rel), items, (signs, lo, hi), by, opts)
        ref = _engine_cell_sums(nw.from_native(pl.from_pandas(df)), items, (signs, lo, hi), by,
                                opts)  # fmt: skip
        assert list(got.columns) == list(ref.columns)
        a, b = (_sorted(t, by) if by else t for t in (got, ref))
        assert a[by].astype(str).equals(b[by].astype(str))
        assert (a["n_rows"].to_numpy() == b["n_rows"].to_numpy()).all()
        sums = [c for c in a.columns if c not in (*by, "n_rows")]
        np.testing.assert_allclose(
            a[sums].to_numpy(float), b[sums].to_numpy(float), rtol=1e-12, atol=1e-12
        )

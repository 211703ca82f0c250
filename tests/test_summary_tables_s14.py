"""The faster table plumbing of summaries (session 14) gives the numbers of the old formulas.

* ``grouped`` fills its pairwise matrices from one float array; reference: the per-column
  loop it replaced (written out below), on a detail summary with and without grouping labels.
* ``CommunitySummary`` copies its float sums as one block; reference: each column converted
  by ``Series.to_numpy(dtype=float64)``, for float64, int64 and nullable Float64 columns.

Both are copies of the same numbers: compared exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.summaries._cells import grouped
from collective_efficacy.summaries._engine import detail_columns, pair_columns

ITEMS = ["a", "b", "c"]


def _summary() -> ce.CommunitySummary:
    rng = np.random.default_rng(3)
    n = 300
    x = rng.integers(1, 6, size=(n, 3)).astype(float)
    x[rng.random((n, 3)) < 0.2] = np.nan
    df = pd.DataFrame(x, columns=ITEMS)
    df["c_id"] = rng.choice(["u", "v", "w", "x"], size=n)
    df["w"] = rng.choice(["t0", "t1"], size=n)
    return ce.summarise(df, items=ITEMS, keys=["-b"], community="c_id", wave="w", min_n=None,
                        scale_range=(1, 5), detail=True)  # fmt: skip


def _old_grouped(summary: ce.CommunitySummary, by: list[str]) -> dict[str, np.ndarray]:
    """The per-column loop grouped() used before."""
    table = summary.to_frame()
    values = [c for c in table.columns if c not in summary.keys]
    g = (table.groupby(by, sort=True, as_index=False)[values].sum() if by
         else table[values].sum().to_frame().T)  # fmt: skip
    k, G = len(summary.items), len(g)
    n, s, p = np.zeros((G, k, k)), np.zeros((G, k, k)), np.zeros((G, k, k))
    for name, i, j in pair_columns(k):
        v = g[name].to_numpy(dtype=np.float64)
        if name.startswith("n_"):
            n[:, i, j] = n[:, j, i] = v
        elif name.startswith("cross_"):
            p[:, i, j] = p[:, j, i] = v
        else:
            s[:, i, j] = v
    t, tx, tt, q = np.zeros((G, k)), np.zeros((G, k)), np.zeros((G, k)), p.copy()
    for name, i, j in detail_columns(k):
        v = g[name].to_numpy(dtype=np.float64)
        kind = name.split("_")[0]
        if kind == "sq":
            q[:, i, j] = v
        else:
            {"tsum": t, "tx": tx, "tsq": tt}[kind][:, j] = v
    out = {"n": n, "s": s, "p": p, "t": t, "tx": tx, "tt": tt, "q": q}
    for c in ("n_rows", "n_answered", "score_n", "score_sum", "score_sumsq"):
        out[c] = g[c].to_numpy(dtype=np.float64)
    return out


@pytest.mark.parametrize("by", [["c_id"], ["c_id", "w"], []])
def test_grouped_equals_the_per_column_loop(by: list[str]) -> None:
    summary = _summary()
    new, old = grouped(summary, by), _old_grouped(summary, by)
    assert new.detail is not None
    got = {"n": new.n, "s": new.s, "p": new.p, "t": new.detail[0], "tx": new.detail[1],
           "tt": new.detail[2], "q": new.detail[3], "n_rows": new.n_rows,
           "n_answered": new.n_answered, "score_n": new.score[0], "score_sum": new.score[1],
           "score_sumsq": new.score[2]}  # fmt: skip
    assert got.keys() == old.keys()
    for name, want in old.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)


@pytest.mark.parametrize("dtype", ["int64", "Float64"])
def test_summary_table_of_other_dtypes_equals_float64(dtype: str) -> None:
    summary = _summary()
    table = summary.to_frame()
    sums = [c for c, _, _ in pair_columns(len(ITEMS))]  # (not the int64 counts n_rows ...)
    other = table.copy()
    other[sums] = other[sums].round().astype(dtype)  # integer-valued sums: exact in both
    rounded = table.copy()
    rounded[sums] = rounded[sums].round()
    a, b = summary._like(other), summary._like(rounded)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame(), check_exact=True)
    assert (a.to_frame().dtypes[sums] == np.float64).all()


def test_summary_table_is_a_copy_of_the_callers_frame() -> None:
    summary = _summary()
    table = summary.to_frame()
    made = summary._like(table)
    before = made.to_frame()
    table.loc[:, "cross_0_0"] = -1.0
    pd.testing.assert_frame_equal(made.to_frame(), before)

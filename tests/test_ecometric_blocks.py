"""The ecometric model's blocked reading of the item columns (issue 16, items 3 and 4).

The cell sums built block by block from the item columns (:mod:`._ecometric_blocks`) are
checked against the general per-respondent sums of :func:`._ecometric_cells._cells` on the
keyed matrix (the former whole-matrix path's formulas), for any block size, reversed items,
left-out rows and both ways of totalling the answered indicators (by missing-answer pattern
up to 12 items, by pairs of missing answers above); ``ecometric`` on a frame against the
matrix path with the same keyed items. The fit's agreement with lme4 stays in test_mixed.py
and test_mixed_engine.py (R fixtures).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.multilevel import _ecometric_blocks as blocks
from collective_efficacy.multilevel import _ecometric_cells as cells
from collective_efficacy.multilevel._ecometric import keyed_items
from collective_efficacy.multilevel._lmm3 import fit_nested_scan, fit_nested_wide


def _survey(seed: int, n: int, k: int, p: int, missing: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    comm = rng.integers(0, k, n)
    latent = rng.normal(0, 0.5, k)[comm] + rng.normal(0, 0.8, n)
    y = np.clip(np.rint(3 + latent[:, None] + rng.normal(size=(n, p))), 1, 5)
    y[rng.random(y.shape) < missing] = np.nan
    return y, comm


def _reference(y: np.ndarray, comm: np.ndarray, k: int, reml: bool) -> cells.Cells:
    """The general per-respondent sums on the (already keyed, used) matrix."""
    mask = ~np.isnan(y)
    mf = mask.astype(float)
    y0 = np.where(mask, y, 0.0)
    beta0 = y0.sum(axis=0) / mf.sum(axis=0)
    r0 = (y0 - beta0) * mf
    return cells._cells(
        mf.sum(axis=1).astype(np.int64), mf, r0.sum(axis=1), np.diag(mf.sum(axis=0)),
        r0.sum(axis=0), float((r0**2).sum()), beta0, comm, k, reml,
    )  # fmt: skip


def _assert_same_cells(got: cells.Cells, ref: cells.Cells) -> None:
    for name in ref.__dataclass_fields__:
        assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-12, atol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**31),
    p=st.integers(1, 15),
    missing=st.sampled_from([0.0, 0.1, 0.4]),
    block=st.integers(1, 97),
    reml=st.booleans(),
)
def test_blocked_cells_equal_the_general_sums(seed, p, missing, block, reml) -> None:
    # any block size (1 row .. many blocks), reversed items, rows without an answer left out,
    # 1..15 items (pattern totals up to 12, pair totals above): every field, rtol 1e-12
    rng = np.random.default_rng(seed)
    y, comm = _survey(seed, int(rng.integers(2, 150)), 7, p, missing)
    flip = np.where(rng.random(p) < 0.4, 6.0, np.nan)
    keyed = np.where(np.isnan(flip), y, flip - y)
    used = ~np.isnan(y).all(axis=1)
    assume((~np.isnan(y)).sum(axis=0).min() > 0)  # every item answered (ecometric's check)
    cols = [y[:, j].copy() for j in range(p)]
    sc = blocks.scan(cols, flip, block=block)
    got = cells.cells_from_scan(sc, comm[used], None if used.all() else used, 7, reml, block=block)
    _assert_same_cells(got, _reference(keyed[used], comm[used], 7, reml))
    assert_allclose(sc.n_answered, (~np.isnan(y)).sum(axis=1), rtol=0, atol=0)


@pytest.mark.parametrize("p", [5, 13])
def test_blocked_fit_equals_the_matrix_fit(p) -> None:
    # the fit from the column scan (several blocks) against fit_nested_wide on the keyed
    # matrix in one block: same optimum, rtol 1e-10 (the cells agree to 1e-12)
    y, comm = _survey(11, 4000, 80, p, 0.08)
    flip = np.full(p, np.nan)
    flip[1] = 6.0
    keyed = np.where(np.isnan(flip), y, flip - y)
    used = ~np.isnan(y).all(axis=1)
    sc = blocks.scan([y[:, j] for j in range(p)], flip, block=333)
    got = fit_nested_scan(sc, comm[used], used, 80, method="REML")
    ref = fit_nested_wide(keyed[used], np.empty((int(used.sum()), 0)), comm[used], 80)
    for name in ("tau_beta", "tau_pi", "sigma2", "deviance", "beta", "beta_se", "eb", "lambda_"):
        assert_allclose(getattr(got, name), getattr(ref, name), rtol=1e-10, atol=1e-12)
    assert got.converged and ref.converged


def _frame(seed: int = 3, n: int = 3000, p: int = 6) -> pd.DataFrame:
    y, comm = _survey(seed, n, 60, p, 0.1)
    df = pd.DataFrame(y, columns=[f"I{j}" for j in range(p)])
    df["nc"] = np.char.add("N", comm.astype(str)).astype(object)
    df.loc[5, [f"I{j}" for j in range(p)]] = np.nan  # a respondent without answers
    return df


ITEMS = [f"I{j}" for j in range(6)]


def test_ecometric_columns_equal_the_matrix_path_and_the_input_types() -> None:
    # integer columns (nullable -> numeric_matrix fallback) and float columns, with a reversed
    # item, give the fit of the keyed matrix; rtol 1e-10
    df = _frame()
    keys = ["I0", "-I1", "I2", "I3", "-I4", "I5"]
    res = ce.ecometric(df, items=ITEMS, community="nc", keys=keys, scale_range=(1, 5))
    y, _, _, _ = keyed_items(df, ITEMS, keys, (1, 5))
    used = ~np.isnan(y).all(axis=1)
    codes = pd.factorize(df["nc"], sort=True)[0]
    ref = fit_nested_wide(y[used], np.empty((int(used.sum()), 0)), codes[used], 60)
    vc = res.variance_components
    assert_allclose(
        [vc.tau_beta, vc.tau_pi, vc.sigma2, res.deviance],
        [ref.tau_beta, ref.tau_pi, ref.sigma2, ref.deviance], rtol=1e-10,
    )  # fmt: skip
    assert res.n_excluded_no_items == 1 and res.n_respondents == len(df) - 1
    nullable = df.astype({c: "Int64" for c in ITEMS})
    as_float = df.astype({c: "float32" for c in ITEMS})
    for other in (nullable, as_float):
        alt = ce.ecometric(other, items=ITEMS, community="nc", keys=keys, scale_range=(1, 5))
        assert_allclose(alt.variance_components.tau_beta, vc.tau_beta, rtol=1e-10)
        assert_allclose(alt.reliability, res.reliability, rtol=1e-10)


def test_out_of_range_answer_names_the_first_cell_as_before() -> None:
    # the column reader's error names the same (row, column) as keyed_items' (row-major first)
    df = _frame()
    df.loc[40, "I3"] = 9.0
    df.loc[40, "I5"] = 0.0
    df.loc[70, "I0"] = 7.0
    with pytest.raises(DataError) as old:
        keyed_items(df, ITEMS, ITEMS, (1, 5))
    with pytest.raises(DataError) as new:
        ce.ecometric(df, items=ITEMS, community="nc", scale_range=(1, 5))
    assert str(new.value) == str(old.value)


def test_ecometric_does_not_copy_the_items() -> None:
    # issue 16 item 4: no respondents x items float copy -- the traced peak of the fit on ten
    # float item columns stays below the items' size (the former path's copy alone was that;
    # the rest is a few per-respondent vectors, about 57 bytes per respondent)
    df = _frame(n=200_000, p=10)
    items = [f"I{j}" for j in range(10)]
    before = df.copy()
    ce.ecometric(df, items=items, community="nc", scale_range=(1, 5))  # warm-up
    tracemalloc.start()
    ce.ecometric(df, items=items, community="nc", scale_range=(1, 5))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < len(df) * len(items) * 8
    pd.testing.assert_frame_equal(df, before)

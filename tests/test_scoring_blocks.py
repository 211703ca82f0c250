"""``score`` on plain numeric columns reads them in row blocks (``scoring._BLOCK``) instead of
copying every cell into one matrix; it must equal the matrix path (``numeric_matrix``, the
former code, reached by switching the block path off) exactly: integer codes give exact sums
whatever the block, other numbers are compared at rtol 1e-12. Block boundaries are checked at
sizes around the block size and with tiny blocks (hypothesis).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import collective_efficacy as ce
from collective_efficacy import scoring

SLOW = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = {"a": ["SC1", "-SC2", "SC3"], "b": ["-SC3", "SC4", "SC1"], "c": ["SC2"]}


def _both(frame: pd.DataFrame, **kw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    blocked = ce.score(frame, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "_plain_columns", lambda *a: None)
        whole = ce.score(frame, **kw)
    return blocked, whole


def _frame(n: int, seed: int, *, missing: float = 0.2, codes: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, (n, 5)).astype(float) if codes else rng.normal(3, 1, (n, 5))
    x[rng.random((n, 5)) < missing] = np.nan
    return pd.DataFrame(x, columns=["SC1", "SC2", "SC3", "SC4", "SC5"])


@pytest.mark.parametrize("delta", [-1, 0, 1, 5])
@pytest.mark.parametrize("blocks", [1, 3])
def test_blocks_around_the_block_size(delta: int, blocks: int) -> None:
    n = blocks * scoring._BLOCK + delta
    frame = _frame(n, n)
    for kw in (
        {"keys": KEYS},  # bounds: the observed range of each scale's items
        {"keys": KEYS, "scale_range": (1, 5), "min_items": {"a": 2, "b": 3}},
        {"instrument": "sampson1997", "scales": ["social_cohesion"]},
    ):
        blocked, whole = _both(frame, **kw)
        pd.testing.assert_frame_equal(blocked, whole, check_exact=True)


def test_instrument_rules_and_integer_columns() -> None:
    """Every scale of an instrument, a sum rule and a rescale rule; int, float32, float64."""
    n = 3 * scoring._BLOCK + 17
    spec = ce.load_instrument("sampson1997").model_dump()
    spec["scales"].append(
        {"id": "sum5", "items": ["SC1", "SC2", "SC3", "SC4", "SC5"], "rule": "sum"}
    )
    inst = ce.load_instrument(spec)
    items = list(dict.fromkeys(i for s in inst.scales for i in s.items))
    rng = np.random.default_rng(1)
    data = pd.DataFrame({i: rng.integers(1, 6, n) for i in items})
    data[items[1]] = data[items[1]].astype(np.float32)
    data.loc[rng.choice(n, 99, replace=False), items[2]] = np.nan
    blocked, whole = _both(data, instrument=inst)
    pd.testing.assert_frame_equal(blocked, whole, check_exact=True)
    vm = pd.DataFrame({f"VM{k}": rng.integers(1, 6, n).astype(float) for k in range(1, 5)})
    vm.loc[rng.choice(n, 999, replace=False), "VM2"] = np.nan
    blocked, whole = _both(vm, instrument="cbs_vm_sociale_cohesie")  # rescale: [0, 10]
    pd.testing.assert_frame_equal(blocked, whole, check_exact=True)


def test_other_numbers_at_rtol() -> None:
    frame = _frame(2 * scoring._BLOCK + 3, 2, codes=False)
    blocked, whole = _both(frame, keys=KEYS)
    pd.testing.assert_frame_equal(blocked, whole, check_exact=False, rtol=1e-12, atol=0)


def test_the_matrix_path_still_refuses_what_it_refused() -> None:
    frame = _frame(50, 3)
    frame.loc[7, "SC2"] = np.inf
    with pytest.raises(ce.DataError, match="finite"):
        ce.score(frame, keys=KEYS)
    assert scoring._plain_columns(frame, ["SC1", "SC2"]) is None
    assert scoring._plain_columns(frame.iloc[:0], ["SC1"]) is None
    objects = frame.astype({"SC1": object})
    assert scoring._plain_columns(objects, ["SC1"]) is None


def test_strided_columns_take_the_matrix_path_with_the_same_scores() -> None:
    """Columns that are strided views of one row-major block (a frame built without a copy
    from a 2-D array) are copied once as a matrix, not gathered item by item; same scores."""
    block = np.ascontiguousarray(_frame(3000, 5).to_numpy())  # row-major (rows, items)
    strided = pd.DataFrame(block, columns=["SC1", "SC2", "SC3", "SC4", "SC5"], copy=False)
    assert strided["SC1"].to_numpy().strides[0] == 8 * 5
    assert scoring._plain_columns(strided, ["SC1", "SC2"]) is None
    contiguous = pd.DataFrame({c: strided[c].to_numpy().copy() for c in strided.columns})
    assert scoring._plain_columns(contiguous, ["SC1", "SC2"]) is not None
    pd.testing.assert_frame_equal(
        ce.score(strided, keys=KEYS), ce.score(contiguous, keys=KEYS), check_exact=True
    )


@SLOW
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=5, max_size=5),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 6),
    st.booleans(),
)
def test_tiny_blocks_equal_the_matrix_path(rows: list[list[Any]], block: int, ranged: bool) -> None:
    frame = pd.DataFrame(rows, columns=["SC1", "SC2", "SC3", "SC4", "SC5"], dtype=float)
    kw: dict[str, Any] = {"keys": KEYS}
    if ranged:
        kw["scale_range"] = (1, 5)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "_BLOCK", block)
        blocked, whole = _both(frame, **kw)
    pd.testing.assert_frame_equal(blocked, whole, check_exact=True)

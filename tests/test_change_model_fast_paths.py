"""The change engine's shortcuts equal the direct computation they replace (exact equality).

* ``all_finite`` (one summing pass) against ``np.isfinite(a).all()``, including sums that
  overflow from finite values and infinities that cancel to NaN;
* the two-wave test of the design when ``t`` is a view of ``X``'s slope column against a copy;
* the two-wave sufficient statistics (in-place shifted outcome) against the general path.
"""

from __future__ import annotations

import numpy as np
import pytest

from collective_efficacy.multilevel import _lmm_slope_core as core
from collective_efficacy.multilevel._lmm import all_finite
from collective_efficacy.multilevel._lmm_slope_core import _sufficient, _two_waves


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, -3.5],
        [1.0, np.nan],
        [np.inf, -np.inf],
        [1e308, 1e308, -1e308],  # finite values whose sum overflows
        [-np.inf, 1.0],
        [],
    ],
)
def test_all_finite_equals_isfinite(values: list[float]) -> None:
    a = np.asarray(values, dtype=np.float64)
    assert all_finite(a) == bool(np.isfinite(a).all())
    m = np.tile(a, (3, 1)).T
    assert all_finite(m) == bool(np.isfinite(m).all())


def _design(n: int = 5000, g: int = 60, seed: int = 2) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, g, n)
    t = (rng.random(n) < 0.5).astype(np.float64)
    y = 300.0 + rng.normal(0, 1, g)[codes] + 0.3 * t + rng.normal(0, 1, n)
    X = np.empty((n, 2), order="F")
    X[:, 0], X[:, 1] = 1.0, t
    return y, X, t, codes


def test_two_waves_view_equals_copy() -> None:
    _, X, t, _ = _design()
    view = X[:, 1]
    np.testing.assert_array_equal(_two_waves(X, view), _two_waves(X, t.copy()))
    other = t.copy()
    other[0] = 1.0 - other[0]  # not X's slope column: not the two-wave design
    assert _two_waves(X, other) is None


def test_two_wave_statistics_equal_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    y, X, t, codes = _design()
    fast, r_fast = _sufficient(y, X, X[:, 1], codes, 60, True)
    monkeypatch.setattr(core, "_two_waves", lambda X, t: None)  # force the general path
    slow, r_slow = _sufficient(y, X, t, codes, 60, True)
    # tolerance: the two paths shift y by the same OLS fit computed differently (wave means vs
    # lstsq), so they agree to rounding: 1e-9 relative (y around 300)
    np.testing.assert_allclose(r_fast, r_slow, rtol=0, atol=1e-9)
    for name in ("n", "st", "stt", "zx0", "zx1", "zy0", "zy1", "xtx", "shift"):
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-9, atol=1e-9)
    # X'r0 is 0 up to rounding: each path's rounding summed over n rows (1e-9 per row)
    np.testing.assert_allclose(fast.xty, slow.xty, rtol=0, atol=1e-9 * len(y))
    np.testing.assert_allclose(fast.yty, slow.yty, rtol=1e-9)

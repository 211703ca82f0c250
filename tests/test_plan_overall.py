"""The planning simulation's overall test is the change model's own test.

``plan.simulation._overall`` fits the simulated survey from arrays (no frame, no per-community
table); it must give the p-value and convergence flag of
``change_model(frame, dv="score", community="community", min_n=2)`` on the same survey, which
is what ``power_by_simulation`` reports. Tolerance: 1e-12 relative (the same REML engine on
the same arrays; only the route to them differs).
"""

from __future__ import annotations

import numpy as np
import pytest

import collective_efficacy as ce
from collective_efficacy.plan.simulation import _frame, _overall


@pytest.mark.parametrize(
    ("k", "m", "delta", "seed"), [(8, 12, 0.0, 1), (20, 30, 0.3, 2), (5, 4, 0.5, 3)]
)
def test_overall_equals_change_model(k: int, m: int, delta: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    codes = np.repeat(np.arange(k), m)
    u = rng.normal(0, 0.3, size=(k, 2))
    y_b = 3.0 + u[codes, 0] + rng.normal(0, 0.8, codes.size)
    y_a = 3.0 + delta + u[codes, 0] + u[codes, 1] + rng.normal(0, 0.8, codes.size)
    labels = np.array([f"c{j:04d}" for j in range(k)], dtype=object)
    p, ok = _overall(y_b, y_a, codes, k)
    fit = ce.change_model(_frame(y_b, y_a, labels[codes]), dv="score", community="community",
                          min_n=2)  # fmt: skip
    assert ok == bool(fit.converged)
    np.testing.assert_allclose(p, float(fit.fixed["p"].iloc[1]), rtol=1e-12)

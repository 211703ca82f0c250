"""The per-group moment kernel (issue 16: fewer passes, missing-answer terms summed once per
many blocks) against the kernel it replaced (tests/reference_moments.py, verbatim): every
output equal to 1e-12 relative to the output's scale, on data with and without missing answers,
many and few groups, row orders and column layouts, several blocks."""

from __future__ import annotations

import numpy as np
import pytest

import reference_moments as ref
from collective_efficacy import _moments

TOL = 1e-12  # relative to the largest magnitude of each output (sums in another order)


def _compare(x: np.ndarray, codes: np.ndarray, g: int, score: bool) -> None:
    complete = not np.isnan(x).any()
    new = _moments._grouped_products(x, codes, g, complete, score)
    old = ref._grouped_products(x, codes, g, complete, score)
    assert len(new) == len(old)
    for a, b in zip(new, old):
        assert a.shape == b.shape
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        scale = max(float(np.nanmax(np.abs(b), initial=0.0)), 1e-300)
        np.testing.assert_allclose(a, b, rtol=0, atol=TOL * scale, equal_nan=True)


@pytest.mark.parametrize(
    ("n", "g", "k", "missing"),
    [
        (1000, 30, 5, 0.1),
        (5000, 200, 4, 0.0),
        (20000, 7000, 3, 0.2),  # groups of ~3 rows, many empty
        (150000, 300, 6, 0.3),  # several blocks
        (3, 5, 2, 0.5),
        (100, 10, 3, 0.9),  # rows without any answer
    ],
)
@pytest.mark.parametrize("layout", ["C", "F"])
def test_kernel_equals_previous_kernel(n: int, g: int, k: int, missing: float, layout: str) -> None:
    rng = np.random.default_rng(n + g)
    x = rng.integers(1, 6, (n, k)).astype(float) + rng.normal(0, 0.01, (n, k))
    x[rng.random((n, k)) < missing] = np.nan
    x = np.asarray(x, order=layout)
    codes = rng.integers(0, g, n)
    _compare(x, codes, g, score=True)
    _compare(x, np.sort(codes), g, score=False)


def test_missing_terms_over_many_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Terms summed block by block (many small blocks) give the same sums."""
    monkeypatch.setattr(_moments, "_BLOCK_ROWS", 512)
    rng = np.random.default_rng(3)
    x = rng.integers(1, 6, (6000, 4)).astype(float)
    x[rng.random(x.shape) < 0.15] = np.nan
    _compare(x, rng.integers(0, 40, 6000), 40, score=True)

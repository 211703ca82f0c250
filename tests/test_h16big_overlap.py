"""``_hashed_overlap`` (rounds of hashed filtering, then an exact comparison) against the exact
comparison of the whole arrays, also when small tables and thresholds force many rounds."""

from __future__ import annotations

import numpy as np
import pytest

from collective_efficacy.evaluation import _change


@pytest.mark.parametrize("bits, few", [(24, 1 << 16), (10, 8), (12, 0)])
@pytest.mark.parametrize("seed", range(6))
def test_equals_exact_comparison(monkeypatch: pytest.MonkeyPatch, bits: int, few: int, seed: int):
    monkeypatch.setattr(_change, "_HASH_BITS", bits)
    monkeypatch.setattr(_change, "_FEW_KEYS", few)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5000))
    pool = np.unique(rng.integers(0, 2**63, size=3 * n, dtype=np.uint64))[: 2 * n]
    pool = rng.permutation(pool)
    a, b = pool[:n], pool[n:]  # disjoint
    assert _change._hashed_overlap(a, b) is False
    for shared in (b[:1], b[-1:], b[: n // 2], b):  # one, half or every value shared
        a2 = rng.permutation(np.concatenate([a, shared]))
        assert _change._hashed_overlap(a2, b) is True
        assert _change._hashed_overlap(b, a2) is True
    assert _change._hashed_overlap(a, np.repeat(a[:1], 3)) is True  # repeated values
    assert _change._hashed_overlap(a[:0], b) is False

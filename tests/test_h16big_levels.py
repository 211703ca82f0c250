"""The count tables of the agreement statistics computed in blocks of rows
(``agreement._levels._levels_consecutive``) against a plain reference, across block edges."""

from __future__ import annotations

import numpy as np
import pytest

from collective_efficacy.agreement import _levels


def _reference(cols: list[np.ndarray], codes: np.ndarray, n_slots: int, lo: int, n_levels: int):
    tables = np.zeros((len(cols), n_slots, n_levels))
    for j, x in enumerate(cols):
        ok = ~np.isnan(x) & (codes < n_slots)
        np.add.at(tables[j], (codes[ok], (x[ok] - lo).astype(np.int64)), 1.0)
    return tables


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 15])
def test_tables_in_blocks_equal_reference(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(_levels, "_LEVEL_ROWS", block)
    rng = np.random.default_rng(5)
    n, n_slots = 1000, 13
    cols = [rng.integers(1, 6, n).astype(float) for _ in range(3)]
    cols[0][rng.random(n) < 0.2] = np.nan
    cols[2][:] = np.nan
    cols[2][-1] = 3.0  # one answer, in the last block
    codes = rng.integers(0, n_slots + 1, n)  # n_slots: the dummy slot of excluded rows
    miss = [np.isnan(c) for c in cols]
    found = _levels._discrete_tables(cols, miss, codes, n_slots, np.arange(1.0, 6.0))
    assert found is not None
    np.testing.assert_array_equal(found[0], _reference(cols, codes, n_slots, 1, 5))
    np.testing.assert_array_equal(found[1], np.arange(1.0, 6.0))


@pytest.mark.parametrize("block", [1, 7, 1 << 15])
@pytest.mark.parametrize("bad", [0.0, 6.0, 2.5])
def test_value_off_the_levels_in_a_late_block(
    monkeypatch: pytest.MonkeyPatch, block: int, bad: float
) -> None:
    monkeypatch.setattr(_levels, "_LEVEL_ROWS", block)
    x = np.full(100, 2.0)
    x[97] = bad
    codes = np.zeros(100, dtype=np.int64)
    assert _levels._discrete_tables([x], [np.isnan(x)], codes, 1, np.arange(1.0, 6.0)) is None


@pytest.mark.parametrize("block", [1, 7, 1 << 15])
def test_all_missing_column(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    """No answer at all: zero counts when the mask says every row is missing, not a table
    when it does not (the whole-column rule)."""
    monkeypatch.setattr(_levels, "_LEVEL_ROWS", block)
    x = np.full(50, np.nan)
    codes = np.zeros(50, dtype=np.int64)
    lev = np.empty(50, dtype=np.int64)
    assert _levels._levels_consecutive(x, np.ones(50, bool), 1.0, 5, codes, lev)
    assert (lev == 5).all()
    assert not _levels._levels_consecutive(x, np.zeros(50, bool), 1.0, 5, codes, lev)


def test_sorted_text_codes_equal_pandas() -> None:
    """``_groups._text_codes`` (Python's sort of the distinct labels) gives pandas' sorted
    factorization: accents, case, digits, spaces and non-Latin text."""
    import pandas as pd

    from collective_efficacy import _groups as groups

    rng = np.random.default_rng(3)
    words = ["Buurt 10", "Buurt 9", "buurt 9", "Émile", "Zuid", "zuid", "Ω-wijk", "北区", " a", "a"]
    words += [f"Buurt {i}" for i in rng.permutation(2000)]
    cells = np.array(words, dtype=object)[rng.integers(0, len(words), 20_000)]
    found = groups._text_codes(cells)
    assert found is not None
    codes, uniques = pd.factorize(cells, sort=True)
    np.testing.assert_array_equal(found[0], codes)
    assert found[1].tolist() == list(uniques)

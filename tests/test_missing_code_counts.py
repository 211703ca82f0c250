"""validate's count of cells per missing-code text (``recoded``), now counted per distinct
value of a column, equals the per-cell formula it replaced
(``raw[missing].astype(str).str.strip().value_counts()``), order included: ties, texts that
strip to the same text, numbers, labels and every column type validate reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from collective_efficacy.instrument import ResponseScale, normalize_label
from collective_efficacy.responses._cells import _convert_column
from collective_efficacy.responses._checks import Collector

SCALE = ResponseScale(
    codes=[1, 2, 3, 4, 5],
    labels={"en": ["no", "rather not", "neutral", "rather", "yes"]},
    missing={8: {"en": "don't know"}, 9: {"en": "refused"}, -1: {"en": "skipped"}},
)


def _is_missing_code(v: object) -> bool:
    """Row by row: a missing code as a number or as text, or a missing label."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return False
    text = str(v).strip()
    try:
        return float(text.replace(",", ".")) in {8.0, 9.0, -1.0}
    except ValueError:
        labels = {normalize_label(t) for m in SCALE.missing.values() for t in m.values()}
        return normalize_label(text) in labels


def _per_cell(raw: pd.Series) -> dict[str, int]:
    """validate's ``recoded`` for the column, checked against the formula before (per cell)."""
    recoded: dict[str, dict[str, int]] = {}
    _convert_column(raw, SCALE, "c", None, Collector(raw.index), recoded)
    miss = np.array([_is_missing_code(v) for v in raw.tolist()], dtype=bool)
    counts = pd.Series(raw[miss].astype(str).str.strip()).value_counts()
    want = {str(k): int(v) for k, v in counts.items()}
    assert recoded.get("c", {}) == want
    assert list(recoded.get("c", {})) == list(want)  # the order too
    return want


CELLS = [1, 2, 5, 8, 9, -1, " 9", "9 ", "8", "refused", " Refused ", "don't know", "3", None, 4.0]


@pytest.mark.parametrize("seed", range(20))
def test_counts_equal_the_per_cell_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    picks = rng.integers(0, len(CELLS), n)
    mixed = pd.Series([CELLS[i] for i in picks], dtype=object)
    as_text = mixed.map(lambda v: v if v is None else str(v)).astype("str")
    numbers = pd.Series(rng.choice([1.0, 2.0, 3.0, 8.0, 9.0, -1.0, np.nan], n))
    kinds = [mixed, as_text, numbers, numbers.astype("float32"), numbers.astype("Int64"),
             numbers.fillna(9).astype(np.int64), as_text.astype("category")]  # fmt: skip
    found = 0
    for raw in kinds:
        found += bool(_per_cell(raw))
    assert found  # some missing codes in every seed's columns


def test_ties_keep_the_order_of_the_first_cell() -> None:
    raw = pd.Series(["9", "8", " 9", "8", "-1", "-1 "], dtype=object)
    assert _per_cell(raw) == {"9": 2, "8": 2, "-1": 2}
    assert list(_per_cell(raw)) == ["9", "8", "-1"]

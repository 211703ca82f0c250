"""Types and declarations shared by the reliability functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from collective_efficacy._params import (
    COLUMN,
    COLUMNS,
    FRAME,
    ITEM_RANGES,
    KEYS,
    SCALE_RANGE,
    Options,
)

_BLOCK = Options(("pairwise", "listwise"))

#: the parameter constraints shared by cronbach_alpha and item_statistics
SCALE_CONSTRAINTS: dict[str, list[Any]] = {
    "keys": [KEYS, None],
    "weight": [COLUMN, None],
    "data": [FRAME],
    "items": [COLUMNS, None],
    "nan_policy": [_BLOCK],
    "scale_range": [SCALE_RANGE, ITEM_RANGES, None],
}


NanPolicy = Literal["pairwise", "listwise"]


ResponseRange = tuple[float, float] | Mapping[str, tuple[float, float]] | None


# An item-rest correlation counts as negative below -1e-12 (an exact 0 can come out as -1e-17)
_NEG_TOL = 1e-12

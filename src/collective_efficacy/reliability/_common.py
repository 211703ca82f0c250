"""Types and declarations shared by the reliability functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from collective_efficacy._params import Options

_BLOCK = Options(("pairwise", "listwise"))


NanPolicy = Literal["pairwise", "listwise"]


ResponseRange = tuple[float, float] | Mapping[str, tuple[float, float]] | None


# An item-rest correlation counts as negative below -1e-12 (an exact 0 can come out as -1e-17)
_NEG_TOL = 1e-12

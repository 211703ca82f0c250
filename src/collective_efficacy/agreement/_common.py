"""Parameter declarations shared by the agreement functions."""

from __future__ import annotations

from collective_efficacy._params import Options

_OMIT = Options(("omit", "raise"))


_BLOCK = Options(("listwise", "pairwise"))

"""Parameter declarations shared by the agreement functions."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import Options, Predicate

_OMIT = Options(("omit", "raise"))


_BLOCK = Options(("listwise", "pairwise"))

#: the null distribution's variance: a number or a tabulated name (the values are checked by
#: resolve_ranvar, which says which names exist and that the number must be positive)
_RANVAR = [
    Predicate(
        lambda v: isinstance(v, str) or _is_real_number(v),
        "a positive number or the name of a null distribution",
        lambda: "uniform",
        [True, None, [1.0]],
    )
]


def _is_real_number(value: Any) -> bool:
    return isinstance(value, (Real, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _is_options(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_, str)):
        return False
    if isinstance(value, (int, np.integer)):
        return int(value) >= 2
    return hasattr(value, "n_options") or isinstance(value, (Sequence, range, np.ndarray, pd.Index))


#: the response options: a count, the allowed codes, or an instrument's response options
_OPTIONS = [
    Predicate(
        _is_options,
        "an int >= 2, a sequence of the allowed codes or an object with n_options",
        lambda: 5,
        [1, "abc", 3.5],
    ),
    None,
]

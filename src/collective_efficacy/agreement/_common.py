"""Parameter declarations shared by the agreement functions."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import COLUMNS, FRAME, Interval, Options, Predicate
from collective_efficacy.errors import DataError

_OMIT = Options(("omit", "raise"))

#: the parameters of the one-way ANOVA functions (icc, group_reliability)
_ONEWAY: dict[str, Sequence[Any]] = {
    "data": [FRAME],
    "dv": [COLUMNS],
    "community": [COLUMNS],
    "nan_policy": [_OMIT],
}


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

#: the parameters of the item-block functions (rwg_j, ad_index)
_SCALE_BLOCK: dict[str, Sequence[Any]] = {
    "data": [FRAME],
    "items": [COLUMNS],
    "community": [COLUMNS],
    "n_options": [Interval(Integral, 2, None), None],
    "options": _OPTIONS,
    "nan_policy": [_BLOCK],
}


def check_oneway(k: int, n_total: float, name: Any, *, func: str) -> None:
    """Refuse a one-way ANOVA with fewer than 2 communities or no within-community df.

    ``k`` is the number of communities with a value of column ``name``, ``n_total`` the
    number of values (rows or summed counts: one check for both paths).
    """
    if k < 2:
        raise DataError(
            f"{func}: column {name!r} has data in {k} community only; "
            "between-community variance needs at least 2 communities"
        )
    if n_total == k:
        raise DataError(
            f"{func}: every community has a single respondent with a value of {name!r} "
            f"({k} communities, {int(n_total)} rows), so the within-community variance is undefined"
        )

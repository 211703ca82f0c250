"""Group (community) coding shared by every per-community statistic.

Per-community statistics are computed for all communities at once: the group column is
factorised once into integer codes ``0..G-1`` and sums are taken with :func:`numpy.bincount`.
No Python loop over groups, no dense respondents x communities matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._rows import rows_in
from .errors import DataError
from .prepared import memo

__all__ = ["GroupIndex", "factorize_groups"]


@dataclass(frozen=True)
class GroupIndex:
    """Integer codes of a group column.

    Attributes
    ----------
    codes : ndarray of int64, shape (n,)
        Group code per row, in ``0..n_groups-1``.
    labels : Index
        The group label of each code (sorted where the labels are sortable).
    counts : ndarray of int64, shape (n_groups,)
        Rows per group.
    name : str
        Name of the group column (for messages and result columns).
    """

    codes: np.ndarray
    labels: pd.Index
    counts: np.ndarray
    name: str

    @property
    def n_groups(self) -> int:
        return len(self.labels)


def factorize_groups(data: pd.DataFrame, group: str, *, what: str = "group") -> GroupIndex:
    """Factorise ``data[group]`` into integer codes, refusing missing labels.

    Raises
    ------
    DataError
        If the column is absent or has missing values (the message names the rows).
    """
    return memo(data, ("factorize_groups", group), lambda: _factorize(data, group, what))


def _factorize(data: pd.DataFrame, group: str, what: str) -> GroupIndex:
    if group not in data.columns:
        raise DataError(
            f"{what} column {group!r} not found; available columns: {list(map(str, data.columns))}"
        )
    col = data[group]
    missing = col.isna().to_numpy()
    if missing.any():
        raise DataError(
            f"{what} column {group!r} has {int(missing.sum())} missing value(s) at "
            f"{rows_in(data, missing)}; expected a {what} label on every row. "
            "Drop or label those rows first."
        )
    try:
        codes, uniques = pd.factorize(col, sort=True)
    except TypeError:  # mixed, unsortable labels
        codes, uniques = pd.factorize(col, sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    labels = pd.Index(uniques, name=group)
    return GroupIndex(codes=codes, labels=labels, counts=counts, name=str(group))

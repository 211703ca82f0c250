"""Stacking the two waves' scored rows into one table, each cell copied once (private)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["stacked"]


def stacked(
    frames: list[pd.DataFrame],
    rows: np.ndarray | None = None,
    alone: Sequence[str] = (),
    release: bool = False,
) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)``, or its rows ``rows`` (increasing positions,
    kept as the index), with each cell copied once.

    The float64 columns go straight into one block (pandas would concatenate them column by
    column and then copy them again into one block), except those in ``alone`` (an array of
    their own, which outlives the block when the other columns are let go); frames whose
    columns differ are left to pandas. ``release``: each frame of ``frames`` is replaced by
    its empty head once its rows are copied (with no other holder, its memory goes before the
    next frame's rows are copied).
    """
    ends = np.cumsum([len(f) for f in frames])
    if rows is None:
        picks: list[Any] = [slice(None)] * len(frames)
        index: pd.Index = pd.RangeIndex(int(ends[-1]) if len(ends) else 0)
    else:  # each frame's rows among `rows`
        cuts = np.searchsorted(rows, ends)
        starts = np.concatenate([[0], ends[:-1]])
        picks = [rows[a:b] - o for a, b, o in zip([0, *cuts[:-1]], cuts, starts, strict=True)]
        index = pd.Index(rows) if len(rows) < ends[-1] else pd.RangeIndex(int(ends[-1]))
    cols = frames[0].columns
    if cols.has_duplicates or not all(f.columns.equals(cols) for f in frames[1:]):
        parts = [f.iloc[p] for f, p in zip(frames, picks, strict=True)]
        return pd.concat(parts, ignore_index=True).set_axis(index)
    is_float = np.array(
        [c not in alone and all(f[c].dtype == np.float64 for f in frames) for c in cols]
    )
    others = {  # the other columns' pieces first: each frame may go once its floats are in
        k: [f[cols[k]].iloc[p] for f, p in zip(frames, picks, strict=True)]
        for k in map(int, np.flatnonzero(~is_float))
    }
    block = np.empty((int(is_float.sum()), len(index)))  # pages touched as they are filled
    start = 0
    for i, p in enumerate(picks):
        f = frames[i]
        n = len(f) if isinstance(p, slice) else len(p)
        for j, c in enumerate(cols[is_float]):  # no view of the frame's block outlives it
            if isinstance(p, slice):
                block[j, start : start + n] = f[c].to_numpy()
            else:
                np.take(f[c].to_numpy(), p, out=block[j, start : start + n])
        start += n
        if release:  # the caller's list lets go of the frame (its block, with no other holder)
            frames[i] = frames[i].iloc[:0].copy()
        del f
    out = pd.DataFrame(block.T, columns=cols[is_float], index=index, copy=False)
    for k, col in others.items():
        out.insert(k, cols[k], pd.concat(col, ignore_index=True).set_axis(index))
    return out

"""The outer join of two waves' impact levels by community (private; :func:`impact_change`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["outer_join"]

_SIDES = ("before", "after")
#: up to this many labels per wave the join is done with numpy (at 13,000 sorted labels in
#: half the merge's time; at 130,000 a little slower than pandas' merge of text keys)
FEW = 20_000


def outer_join(frames: list[pd.DataFrame], community: str) -> dict[str, np.ndarray]:
    """``frames[0].merge(frames[1], on=community, how="outer", suffixes=("_before",
    "_after"), indicator=True, sort=False)`` as arrays by column (``_merge`` as text).

    Community labels (up to ``FEW``), all text and present, are joined with numpy: the union
    sorted as pandas sorts the keys of an outer join (by code point), each side's rows taken
    by position (the labels hashed once, only the distinct ones sorted). That saves the
    merge's fixed cost; anything else, and more labels (where pandas' merge is the faster),
    go through pandas. The labels are unique in each frame (checked by the caller).
    """
    keys = [f[community].to_numpy(dtype=object) for f in frames]
    if not all(_few_texts(k) for k in keys):
        return _merged(frames, community)
    codes, distinct = pd.factorize(np.concatenate(keys))  # hashed: no sort of every row
    order = np.argsort(np.asarray(distinct, dtype=object))  # as pandas' outer join sorts
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    union = np.asarray(distinct, dtype=object)[order]
    pos = np.split(rank[codes], [len(keys[0])])  # each frame's rows in the union
    out: dict[str, np.ndarray] = {community: union}
    where = []
    for side, f, p in zip(_SIDES, frames, pos, strict=True):
        row = np.full(len(union), -1, dtype=np.intp)
        row[p] = np.arange(len(p))
        where.append(row >= 0)
        full = bool(where[-1].all())
        for c in f.columns.drop(community):
            vals = f[c].to_numpy()
            if full:  # no row missing: the dtype kept, as pandas' merge keeps it
                out[f"{c}_{side}"] = vals[row]
                continue
            kind = vals.dtype.kind
            vals = vals.astype(
                np.float64 if kind in "iu" else vals.dtype if kind == "f" else object
            )
            out[f"{c}_{side}"] = np.append(vals, np.array([np.nan], dtype=vals.dtype))[row]
    out["_merge"] = np.where(
        where[0] & where[1], "both", np.where(where[0], "left_only", "right_only")
    ).astype(object)
    return out


def _few_texts(keys: np.ndarray) -> bool:
    return 0 < len(keys) <= FEW and all(type(k) is str for k in keys.tolist())


def _merged(frames: list[pd.DataFrame], community: str) -> dict[str, np.ndarray]:
    m = frames[0].merge(
        frames[1],
        on=community,
        how="outer",
        suffixes=("_before", "_after"),
        indicator=True,
        sort=False,
    )
    out = {str(c): m[c].to_numpy() for c in m.columns if c != "_merge"}
    out["_merge"] = m["_merge"].astype(str).to_numpy(dtype=object)
    return out

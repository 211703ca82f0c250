"""Disclosure control across the CBS levels of :func:`~collective_efficacy.geography.rollup`
(private): rules 1-3 of its Notes on the per-level tables, on group codes (no loop over areas)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from collective_efficacy.disclosure import SECONDARY_REASON
from collective_efficacy.disclosure._counts import totals_unsafe
from collective_efficacy.disclosure._rules import (
    group_any,
    group_codes,
    group_first,
    group_min,
    pattern_of_groups,
    suppress_rows,
)

__all__ = ["suppress_levels"]


def suppress_levels(tables: list[pd.DataFrame], *, wave: str | None, min_n: int) -> pd.DataFrame:
    """Rules 1-3 of :func:`rollup` on the per-level tables (finest first)."""
    done, areas = [], []
    for t in tables:
        grp = t["parent"].astype(str) if t["parent"].notna().any() else t["community"]
        if wave is not None:
            grp = grp + "\x1f" + t[wave].astype(str)
        pairs = group_codes([t["community"], grp], keep_na=True)
        done.append(pattern_of_groups(t, pairs, group_codes([grp], keep_na=False)))
        areas.append(_Areas.of(done[-1], wave))
    # rule 3, bottom-up: one row per area (and wave); n = smallest over scales
    fine = areas[0]
    n, hidden = fine.n.copy(), fine.suppressed.copy()
    owner = fine.parent  # each fine area's ancestor at this level
    for lvl in range(1, len(areas)):  # two levels at most, never communities
        par = areas[lvl]
        if lvl > 1:
            child = areas[lvl - 1]
            at = _lookup([child.community], [owner])
            owner = np.asarray(np.where(at >= 0, child.parent[np.maximum(at, 0)], None))
        g = _lookup([par.community, *par.waves], [owner, *fine.waves])
        unsafe = _unsafe_parents(n, hidden, fine.reason, g, par.suppressed, min_n)
        if unsafe.any():
            par.suppressed[unsafe] = True
            rows = (par.codes >= 0) & unsafe[np.maximum(par.codes, 0)]
            suppress_rows(done[lvl], rows, SECONDARY_REASON)
        # fine areas under a shown parent leave the residual pool of the levels above
        covered = (g >= 0) & ~par.suppressed[np.maximum(g, 0)]
        hidden |= covered
        n[covered] = 0
    out = pd.concat(done, ignore_index=True)
    out["n"] = out["n"].astype("Int64").mask(out["suppressed"].to_numpy(dtype=bool))
    return out


@dataclass
class _Areas:
    """One row per area (and wave) of a level's table: the codes of its rows (-1: a missing
    wave), its community and wave, smallest n over the scales, suppressed on any, and the
    first reason and parent."""

    codes: np.ndarray
    community: np.ndarray
    waves: list[np.ndarray]
    n: np.ndarray
    suppressed: np.ndarray
    reason: np.ndarray
    parent: np.ndarray

    @classmethod
    def of(cls, t: pd.DataFrame, wave: str | None) -> _Areas:
        cols = [t["community"], *([t[wave]] if wave is not None else [])]
        codes = group_codes(cols, keep_na=False)
        ok = codes >= 0
        size = int(codes.max()) + 1 if codes.size else 0
        g = codes[ok]
        heads = np.flatnonzero(ok)[np.unique(g, return_index=True)[1]]
        values = [c.to_numpy(dtype=object)[heads] for c in cols]
        return cls(
            codes=codes,
            community=values[0],
            waves=values[1:],
            n=group_min(t["n"].to_numpy(dtype=float)[ok], g, size),
            suppressed=group_any(t["suppressed"].to_numpy(dtype=bool)[ok], g),
            reason=group_first(t["reason"].to_numpy(dtype=object)[ok], g, size),
            parent=group_first(t["parent"].to_numpy(dtype=object)[ok], g, size),
        )


def _lookup(table: list[np.ndarray], query: list[np.ndarray]) -> np.ndarray:
    """Position of each query key (columns ``query`` together) among the keys of ``table``
    (its first row with that key), -1 when absent."""
    size = len(table[0])
    codes = group_codes([np.concatenate([a, b]) for a, b in zip(table, query)], keep_na=True)
    pos = np.full(int(codes.max()) + 1 if codes.size else 0, -1, dtype=np.int64)
    known, first = np.unique(codes[:size], return_index=True)
    pos[known] = first
    out: np.ndarray = pos[codes[size:]]
    return out


def _unsafe_parents(
    n: np.ndarray,
    hidden_fine: np.ndarray,
    reason: np.ndarray,
    g: np.ndarray,
    par_suppressed: np.ndarray,
    min_n: int,
) -> np.ndarray:
    """Which shown parents' residual narrows a hidden fine area (vectorised interval test).
    ``g``: each fine area's parent (-1: none)."""
    G = len(par_suppressed)
    hidden = hidden_fine & (n > 0) & (g >= 0)
    shown_fine = ~hidden_fine & (g >= 0)
    smallest = np.full(G, np.inf)
    np.minimum.at(smallest, g[shown_fine], n[shown_fine])
    sec = reason == SECONDARY_REASON
    bad = totals_unsafe(n[hidden], sec[hidden], g[hidden], smallest, min_n=min_n)
    out: np.ndarray = bad & ~par_suppressed
    return out

"""The cells of a :class:`CommunitySummary` grouped, and their moments (private).

The moments themselves come from the one implementation in :mod:`collective_efficacy._moments`
(:func:`~collective_efficacy._moments.moments_from_sums`,
:func:`~collective_efficacy._moments.pairwise_cov_from_sums`).

The summary's cells are summed over the requested labels (a community pools its waves; no
labels pools everything) with one pandas ``groupby`` over the small cell table; the pairwise
matrices and the one-variable moments the statistics need are then read off the sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._moments import GroupMoments, moments_from_sums, pairwise_cov_from_sums
from collective_efficacy.errors import DataError
from collective_efficacy.summaries._engine import detail_columns, pair_columns
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["Column", "Grouped", "column", "grouped", "pairwise_cov"]


@dataclass(frozen=True)
class Grouped:
    """The summary's sums per group (G groups, k items)."""

    labels: pd.DataFrame | None  # one column per label; None: one pooled group
    n_rows: np.ndarray
    n_answered: np.ndarray
    n: np.ndarray  # (G, k, k) pairwise counts
    s: np.ndarray  # (G, k, k) S[g, i, j]: sum of item i over rows answering i and j
    p: np.ndarray  # (G, k, k) cross-products
    score: tuple[np.ndarray, np.ndarray, np.ndarray]  # count, sum, sum of squares
    # the detail sums (None without them): per item the score's sum, sum of score x item and of
    # the squared score over the rows answering it (G, k); q[g, i, j] the sum of x_i^2 over the
    # rows answering i and j (G, k, k)
    detail: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


def grouped(summary: CommunitySummary, by: list[str]) -> Grouped:
    """Sum the cells of ``summary`` within each combination of the ``by`` labels."""
    table = summary.to_frame()
    values = [c for c in table.columns if c not in summary.keys]
    if by:
        try:
            g = table.groupby(by, sort=True, as_index=False)[values].sum()
        except TypeError:  # unsortable labels
            g = table.groupby(by, sort=False, as_index=False)[values].sum()
        labels: pd.DataFrame | None = g[by].reset_index(drop=True)
    else:
        g = table[values].sum().to_frame().T
        labels = None
    k = len(summary.items)
    at = {c: m for m, c in enumerate(values)}
    v = g[values].to_numpy(dtype=np.float64)  # (G, columns): one conversion, not one per sum
    n, s, p = (np.zeros((len(g), k, k)) for _ in range(3))
    for kind, out in (("n", n), ("cross", p), ("sum", s)):  # the item pairs of each kind
        names = [c for c in pair_columns(k) if c[0].split("_")[0] == kind]
        i, j = (np.array([c[pos] for c in names], dtype=np.intp) for pos in (1, 2))
        out[:, i, j] = v[:, [at[c[0]] for c in names]]
        if kind != "sum":  # n and cross are stored for i <= j: symmetric
            out[:, j, i] = out[:, i, j]
    detail = None
    if summary.detail:
        q = p.copy()
        per_item = []
        for kind in ("tsum", "tx", "tsq"):
            per_item.append(v[:, [at[f"{kind}_{j}"] for j in range(k)]])
        sq = [c for c in detail_columns(k) if c[0].startswith("sq_")]
        i, j = (np.array([c[pos] for c in sq], dtype=np.intp) for pos in (1, 2))
        q[:, i, j] = v[:, [at[c[0]] for c in sq]]
        detail = (per_item[0], per_item[1], per_item[2], q)

    def col(name: str) -> np.ndarray:
        return v[:, at[name]].copy()

    return Grouped(
        labels=labels,
        detail=detail,
        n_rows=col("n_rows"),
        n_answered=col("n_answered"),
        n=n,
        s=s,
        p=p,
        score=(col("score_n"), col("score_sum"), col("score_sumsq")),
    )


def pairwise_cov(gr: Grouped) -> np.ndarray:
    """Pairwise-complete covariances of every group (``cov(x, use = "pairwise")``)."""
    return pairwise_cov_from_sums(gr.n, gr.s, gr.p)


@dataclass(frozen=True)
class Column(GroupMoments):
    """One variable per group: :class:`~collective_efficacy._moments.GroupMoments` with the
    sum and the rows (for ``n_missing``)."""

    total: np.ndarray
    n_rows: np.ndarray

    @classmethod
    def of(cls, n: np.ndarray, total: np.ndarray, ss: np.ndarray, n_rows: np.ndarray) -> Column:
        """From count, sum and centred sum of squares (the mean is ``total / n``)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return cls(n=n, mean=total / n, ss=ss, total=total, n_rows=n_rows)


def column(summary: CommunitySummary, gr: Grouped, name: Any, *, keyed: bool = False) -> Column:
    """The moments of one variable: the score, or an item (as in the data unless ``keyed``)."""
    items = list(summary.items)
    if name in items:
        j = items.index(name)
        n, total, sq = gr.n[:, j, j], gr.s[:, j, j], gr.p[:, j, j]
        if summary.signs[j] < 0 and not keyed:  # undo the reversal x' = c - x
            c = float(summary.scale_range[j].sum())
            total, sq = n * c - total, n * c * c - 2.0 * c * total + sq
    elif name == summary.score:
        n, total, sq = gr.score
    else:
        raise DataError(
            f"column {name!r} is not in this summary: it holds the items {items} and the score "
            f"{summary.score!r}",
            argument="dv",
        )
    m = moments_from_sums(n, total, sq)
    return Column(n=m.n, mean=m.mean, ss=m.ss, total=total, n_rows=gr.n_rows)

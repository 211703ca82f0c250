"""Per-group moments from a :class:`CommunitySummary` (private).

The summary's cells are summed over the requested labels (a community pools its waves; no
labels pools everything) with one pandas ``groupby`` over the small cell table; the pairwise
matrices and the one-variable moments the statistics need are then read off the sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

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
    G = len(g)
    n = np.zeros((G, k, k))
    s = np.zeros((G, k, k))
    p = np.zeros((G, k, k))
    for name, i, j in pair_columns(k):  # loop over item pairs (few), never over groups
        v = g[name].to_numpy(dtype=np.float64)
        if name.startswith("n_"):
            n[:, i, j] = n[:, j, i] = v
        elif name.startswith("cross_"):
            p[:, i, j] = p[:, j, i] = v
        else:
            s[:, i, j] = v
    detail = None
    if summary.detail:
        t, tx, tt, q = np.zeros((G, k)), np.zeros((G, k)), np.zeros((G, k)), p.copy()
        for name, i, j in detail_columns(k):  # loop over items and pairs (few)
            v = g[name].to_numpy(dtype=np.float64)
            kind = name.split("_")[0]
            if kind == "sq":
                q[:, i, j] = v
            else:
                {"tsum": t, "tx": tx, "tsq": tt}[kind][:, j] = v
        detail = (t, tx, tt, q)
    return Grouped(
        labels=labels,
        detail=detail,
        n_rows=g["n_rows"].to_numpy(dtype=np.float64),
        n_answered=g["n_answered"].to_numpy(dtype=np.float64),
        n=n,
        s=s,
        p=p,
        score=(
            g["score_n"].to_numpy(dtype=np.float64),
            g["score_sum"].to_numpy(dtype=np.float64),
            g["score_sumsq"].to_numpy(dtype=np.float64),
        ),
    )


def pairwise_cov(gr: Grouped) -> np.ndarray:
    r"""Pairwise-complete covariances: :math:`(P_{ij} - S_{ij} S_{ji} / N_{ij}) / (N_{ij} - 1)`,
    NaN where :math:`N_{ij} < 2` (as ``cov(x, use = "pairwise")``)."""
    st = np.swapaxes(gr.s, 1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            gr.n >= 2, (gr.p - gr.s * st / np.maximum(gr.n, 1.0)) / (gr.n - 1.0), np.nan
        )


@dataclass(frozen=True)
class Column:
    """One variable per group: count, sum, centred sum of squares, rows (for ``n_missing``)."""

    n: np.ndarray
    total: np.ndarray
    ss: np.ndarray
    n_rows: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.total / self.n


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
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.where(n > 0, sq - total * (total / np.maximum(n, 1.0)), 0.0)
    return Column(n=n, total=total, ss=np.maximum(ss, 0.0), n_rows=gr.n_rows)

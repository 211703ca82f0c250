"""rwg and rwg(j) from a :class:`CommunitySummary` (private).

Both need per community the count, mean and within-community variance of each item -- moments
of the summary's cells. They reach the row path's result builders (``rwg_table``,
``rwg_j_table``), so a summary and the rows give the same table. Not from a summary: the check
that every answer is one of the ``options`` (a summary holds no single answer; the row path
raises on an off-scale code), and ``nan_policy="listwise"`` (rwg(j)'s default) when answers are
missing (complete rows are not in the sums; with no missing answer listwise is pairwise).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.summaries._cells import column, grouped
from collective_efficacy.summaries._routes import _one_label, _rows_needed
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["ROUTES_AGREEMENT"]


def _block(summary: CommunitySummary, items: list[str], community: Any, func: str,
           nan_policy: str) -> dict[str, Any]:  # fmt: skip
    """What ``block_stats`` returns, per community, from the summary's sums."""
    from collective_efficacy.agreement._groups import GroupCodes

    label = _one_label(summary, community, func)
    if label is None:
        raise DataError(f"{func}() needs community=", argument="community")
    unknown = [i for i in items if i not in summary.items]
    if unknown:
        raise DataError(f"{func}(): item(s) {unknown} are not in the summary", argument="items")
    gr = grouped(summary, [label])
    assert gr.labels is not None
    cols = [column(summary, gr, i) for i in items]
    n_item = np.column_stack([c.n for c in cols])
    idx = [summary.items.index(i) for i in items]
    pair_n = gr.n[:, idx][:, :, idx]
    complete = bool((pair_n == gr.n_rows[:, None, None]).all())
    if nan_policy == "listwise" and not complete:
        raise _rows_needed(func, 'nan_policy="listwise" with missing answers')
    if len(items) == len(summary.items) or len(items) == 1 or complete:
        n_used = gr.n_answered if len(items) == len(summary.items) else pair_n.max(axis=(1, 2))
        if complete:
            n_used = gr.n_rows
    else:  # rows answering any of a subset of the items: not in the sums
        raise _rows_needed(func, "a subset of the summary's items with missing answers")
    rows = gr.n_rows.astype(np.int64)
    G = len(rows)
    groups = GroupCodes(codes=np.zeros(0, dtype=np.int64), n_slots=G,
                        present=np.arange(G, dtype=np.int64),
                        labels=gr.labels.reset_index(drop=True), rows=rows, names=[label])  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.column_stack([c.mean for c in cols])
        variances = np.where(
            n_item >= 2, np.column_stack([c.ss for c in cols]) / (n_item - 1), np.nan
        )
    n_used = np.asarray(n_used).astype(np.int64)
    return {"groups": groups, "n": n_used, "n_excluded": rows - n_used, "means": means,
            "variances": np.maximum(variances, 0.0), "n_item": n_item.astype(np.int64),
            "ad": None}  # fmt: skip


def _sigma2(kw: dict[str, Any], func: str) -> float:
    from collective_efficacy.agreement._null import resolve_options, resolve_ranvar

    a, _ = resolve_options(kw["n_options"], kw["options"], func=func)
    return float(resolve_ranvar(kw["ranvar"], a, func=func))


def rwg(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.agreement.rwg import rwg_table

    item = kw["item"]
    if not isinstance(item, str):
        raise DataError(f"rwg takes one item column name; got {item!r}. Use rwg_j for a scale.")
    b = _block(summary, [item], kw["community"], "rwg", "pairwise")
    return rwg_table(b, _sigma2(kw, "rwg"))


def rwg_j(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.agreement.rwg import rwg_j_table

    items = [kw["items"]] if isinstance(kw["items"], str) else list(kw["items"])
    b = _block(summary, items, kw["community"], "rwg_j", kw["nan_policy"])
    return rwg_j_table(b, _sigma2(kw, "rwg_j"), bool(kw["lindell"]))


ROUTES_AGREEMENT = {"rwg": rwg, "rwg_j": rwg_j}

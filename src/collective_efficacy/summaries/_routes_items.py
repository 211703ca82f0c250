"""Item statistics and omega from a :class:`CommunitySummary` (private).

Both need, beyond the pairwise sums, the summary's *detail* sums (``summarise(detail=True)``):
the correlation of each item with the scale score, and pairwise-complete correlations (each
pair's means and variances over the rows answering both, as ``cor(x, use = "pairwise")`` and
pandas' ``DataFrame.corr``). They reach the row path's result builders (``item_table``,
``omega_from``), so a summary and the rows give the same result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.summaries._cells import Grouped, grouped, pairwise_cov
from collective_efficacy.summaries._routes import _rows_needed, _same_items, _structural
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["ROUTES_ITEMS"]


def _pooled(summary: CommunitySummary, kw: dict[str, Any], func: str) -> Grouped:
    if kw.get("weight") is not None:
        raise _rows_needed(func, "weight=")
    _same_items(summary, kw["items"], kw["keys"], kw.get("scale_range"), func)
    gr = grouped(summary, [])
    if gr.detail is None:
        raise DataError(
            f"{func}() from a summary needs its detail sums: make it with "
            "summarise(..., detail=True)",
            argument="data",
        )
    _structural(list(summary.items), gr.n[0], gr.s[0], pairwise_cov(gr)[0], gr.n_answered[0], func)
    return gr


def _complete(gr: Grouped) -> bool:
    """No answer missing among the summarised respondents (listwise = pairwise)."""
    return bool((gr.n == gr.n_rows[:, None, None]).all())


def item_statistics(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy.reliability.items import item_table

    func = "item_statistics"
    gr = _pooled(summary, kw, func)
    if kw["nan_policy"] == "listwise" and not _complete(gr):
        raise _rows_needed(func, 'nan_policy="listwise" with missing answers')
    assert gr.detail is not None
    t, tx, tt, _ = (a[0] for a in gr.detail)
    nj, sj, pj = (np.diagonal(a[0]).copy() for a in (gr.n, gr.s, gr.p))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sj / nj
        var = (pj - sj * means) / (nj - 1.0)
        sds = np.where(nj >= 2, np.sqrt(np.maximum(var, 0.0)), np.nan)
        cov_t = tx - t * means
        den = np.sqrt((tt - t * t / nj) * (pj - sj * means))
        r_total = np.where((nj >= 2) & (den > 0), cov_t / den, np.nan)
    return item_table(
        list(summary.items), summary.signs, pairwise_cov(gr), gr.n[0], float(gr.n_answered[0]),
        nj.astype(np.int64), means, sds, r_total,
    )  # fmt: skip


def pairwise_cor(gr: Grouped) -> np.ndarray:
    r"""Pairwise-complete correlations of the pooled group: each pair's moments over the rows
    answering both, :math:`(P_{ij} - S_{ij}S_{ji}/N_{ij}) / \sqrt{(Q_{ij} - S_{ij}^2/N_{ij})
    (Q_{ji} - S_{ji}^2/N_{ij})}`; NaN where :math:`N_{ij} < 2` or a variance is 0."""
    assert gr.detail is not None
    n, s, p, q = gr.n[0], gr.s[0], gr.p[0], gr.detail[3][0]
    st = s.T
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = p - s * st / n
        den = np.sqrt((q - s * s / n) * (q.T - st * st / n))
        r = np.where((n >= 2) & (den > 0), cov / den, np.nan)
    d = np.arange(len(r))
    r[d, d] = np.where(np.isnan(r[d, d]), np.nan, 1.0)
    return np.asarray(r)


def omega(summary: CommunitySummary, **kw: Any) -> Any:
    from collective_efficacy.reliability.omega import omega_from

    func = "omega"
    method = kw["method"]
    nan_policy = kw["nan_policy"] or ("pairwise" if method == "minres" else "listwise")
    if method == "ml" and nan_policy != "listwise":
        raise DataError(
            "omega(method='ml') fits lavaan's listwise model; nan_policy must be 'listwise' "
            f"(got {nan_policy!r})"
        )
    gr = _pooled(summary, {**kw, "scale_range": None}, func)
    if nan_policy == "listwise" and not _complete(gr):
        raise _rows_needed(func, 'nan_policy="listwise" with missing answers')
    if method == "minres":
        v = pairwise_cor(gr)
    else:  # complete data: the ddof-0 covariance
        n = gr.n[0]
        v = (gr.p[0] - gr.s[0] * gr.s[0].T / n) / n
    policy: Any = nan_policy
    return omega_from(v, list(summary.items), summary.signs, method=method,
                      nan_policy=policy, n=int(gr.n_answered[0]))  # fmt: skip


ROUTES_ITEMS = {"item_statistics": item_statistics, "omega": omega}

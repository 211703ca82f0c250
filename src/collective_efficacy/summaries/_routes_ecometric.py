r"""The ecometric model from a :class:`CommunitySummary` (private).

The three-level engine (:mod:`collective_efficacy.multilevel._lmm3`) fits from sums over the
(community, number of answered items :math:`m`) grid. Without covariates its fixed effects are
the item dummies, so a respondent enters only through the answered indicators :math:`o_r` and
the total :math:`T_r` of the keyed answers. The summary's ecometric sums (``summarise(
ecometric=True)``) are those grid sums *unshifted*; the engine's shift :math:`b` (the item
means, the same least-squares solve as the row path) is applied here:

.. math:: s_{y,km} = Y_{km} - X_{km}'b,\quad s_{xy,m} = XY_m - XX_m b,\quad
          s_{yy,m} = YY_m - 2b'XY_m + b'XX_m b,

and :math:`y'y = \sum_i (P_{ii} - 2 b_i S_{ii} + b_i^2 N_{ii})`. The same optimiser then runs
on the same cells as on the rows. Covariates (their centring and cross-products with the
indicators) and the parametric bootstrap (which simulates each respondent's answered items)
need the rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._groups import GroupIndex
from collective_efficacy.errors import DataError
from collective_efficacy.summaries._cells import grouped
from collective_efficacy.summaries._engine import eco_columns
from collective_efficacy.summaries._routes import _one_label, _rows_needed, _same_items
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["ROUTES_ECOMETRIC"]


def _sums(table: pd.DataFrame, k: int) -> dict[str, np.ndarray]:
    """The ecometric sums as arrays: c, y (G, M), x (G, M, k), xx (M, k, k), xy (M, k), yy (M,)."""
    G, M = len(table), k + 1
    out = {"c": np.zeros((G, M)), "y": np.zeros((G, M)), "x": np.zeros((G, M, k)),
           "xx": np.zeros((M, k, k)), "xy": np.zeros((M, k)), "yy": np.zeros(M)}  # fmt: skip
    for name, m, i, j in eco_columns(k):  # loop over (m, item) terms (few), never communities
        v = table[name].to_numpy(dtype=np.float64)
        kind = name.split("_")[1]
        if kind in ("c", "y"):
            out[kind][:, m] = v
        elif kind == "x":
            out["x"][:, m, i] = v
            out["xx"][m, i, i] = v.sum()
        elif kind == "xy":
            out["xy"][m, i] = v.sum()
        elif kind == "yy":
            out["yy"][m] = v.sum()
        else:
            out["xx"][m, i, j] = out["xx"][m, j, i] = v.sum()
    return out


def _cells(summary: CommunitySummary, gr: Any, table: pd.DataFrame, reml: bool) -> Any:
    """The engine's ``_Cells`` from the summed cells (module docstring)."""
    from collective_efficacy.multilevel._lmm3 import _Cells

    k = len(summary.items)
    e = _sums(table, k)
    n_i = np.diagonal(gr.n, axis1=1, axis2=2).sum(axis=0)
    s_i = np.diagonal(gr.s, axis1=1, axis2=2).sum(axis=0)
    p_i = np.diagonal(gr.p, axis1=1, axis2=2).sum(axis=0)
    xtx = np.diag(n_i)
    b = np.linalg.lstsq(xtx, s_i, rcond=None)[0]  # the row path's shift (item means)
    cnt_m = e["c"].sum(axis=0)
    mmax = int(np.flatnonzero(cnt_m).max()) + 1
    G = len(table)
    xx = e["xx"][:mmax]
    xy = e["xy"][:mmax] - np.einsum("mab,b->ma", xx, b)
    yy = e["yy"][:mmax] - 2.0 * (e["xy"][:mmax] @ b) + np.einsum("mab,a,b->m", xx, b, b)
    return _Cells(
        m=np.arange(mmax, dtype=np.float64),
        cnt=np.ascontiguousarray(e["c"][:, :mmax]),
        sx_t=np.ascontiguousarray(e["x"][:, :mmax, :].transpose(0, 2, 1)).reshape(G * k, mmax),
        sy=e["y"][:, :mmax] - np.einsum("gma,a->gm", e["x"][:, :mmax, :], b),
        cnt_m=cnt_m[:mmax],
        sxx=xx,
        sxy=xy,
        syy=yy,
        xtx=xtx,
        xty=s_i - n_i * b,
        yty=float(np.sum(p_i - 2.0 * b * s_i + b * b * n_i)),
        shift=b,
        n_obs=int(np.rint(n_i.sum())),
        n_groups=G,
        reml=reml,
    )


def _check(summary: CommunitySummary, kw: dict[str, Any], func: str) -> str:
    if kw["covariates"]:
        raise _rows_needed(func, "covariates=")
    if kw["n_boot"] is not None:
        raise _rows_needed(func, "n_boot= (the bootstrap simulates each respondent's answers)")
    if not summary.ecometric:
        raise DataError(
            f"{func}() from a summary needs its ecometric sums: make it with "
            "summarise(..., ecometric=True)",
            argument="data",
        )
    _same_items(summary, kw["items"], kw["keys"], kw["scale_range"], func)
    label = _one_label(summary, kw["community"], func)
    assert label is not None
    return label


def ecometric(summary: CommunitySummary, **kw: Any) -> Any:
    from collective_efficacy.multilevel._ecometric import EcoInput
    from collective_efficacy.multilevel._lmm3 import _fit
    from collective_efficacy.multilevel.mixed import _ecometric_result

    func = "ecometric"
    label = _check(summary, kw, func)
    method = kw["method"].upper()
    gr = grouped(summary, [label])
    assert gr.labels is not None
    frame = summary.to_frame()
    values = [c for c in frame.columns if c.startswith("eco_")]
    try:  # the order grouped() used
        table = frame.groupby([label], sort=True)[values].sum()
    except TypeError:  # unsortable labels
        table = frame.groupby([label], sort=False)[values].sum()
    items = list(summary.items)
    empty = [it for it, c in zip(items, np.diagonal(gr.n, axis1=1, axis2=2).sum(axis=0)) if c == 0]
    if empty:
        raise DataError(f"item(s) {empty} were answered by nobody; drop them from items")
    n_used = int(gr.n_answered.sum())
    if n_used == 0:
        raise DataError("no respondent answered an item (with complete covariates)")
    cs = _cells(summary, gr, table, method == "REML")
    fit = _fit(cs, cs.n_groups, method)
    labels = pd.Index(gr.labels[label], name=label)
    lo, hi = summary.scale_range[:, 0], summary.scale_range[:, 1]
    inp = EcoInput(
        y=np.empty((0, len(items))), z=np.empty((0, 0)), codes=np.empty(0, dtype=np.int64),
        gi=GroupIndex(codes=np.empty(0, dtype=np.int64), labels=labels,
                      counts=gr.n_rows.astype(np.int64), name=label),
        reversed_items=[it for it, s in zip(items, summary.signs) if s < 0],
        scale_range=(float(np.min(lo)), float(np.max(hi))), n_used=n_used,
        n_no_items=int(gr.n_rows.sum()) - n_used, n_bad_cov=0,
    )  # fmt: skip
    return _ecometric_result(
        inp, fit, items, [], method, kw["reliability"], kw["ci"], None,
        answered=(cs.m, cs.cnt_m),
    )  # fmt: skip


ROUTES_ECOMETRIC = {"ecometric": ecometric}

r"""``compare_waves`` from a :class:`CommunitySummary` (private).

Independent waves only: Welch's (or Student's) t per community needs each wave's count, mean
and variance, and the overall multilevel wave effect ``score ~ wave + (1 | community)`` (REML)
needs, per community, the wave counts and sums and the within-wave sums of squares -- its
sufficient statistics :math:`X'X`, :math:`X'y`, :math:`y'y` and the per-community sums of
:math:`X` and :math:`y` are read off the summary and handed to the library's one REML engine.
Paired comparisons need the respondent rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError
from collective_efficacy.summaries._moments import Column, column, grouped
from collective_efficacy.summaries._routes import _one_label, _rows_needed
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["compare_waves"]


def _moments(col: Column) -> Any:
    from collective_efficacy._change_data import Moments

    n = col.n
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = col.total / n
        var = np.where(n > 1, col.ss / (n - 1), np.nan)
    return Moments(n=n, mean=mean, var=var)


def _pooled(col: Column) -> Any:
    """All communities of one wave as one group (count, mean, variance)."""
    n = np.array([col.n.sum()])
    total = np.array([col.total.sum()])
    with np.errstate(invalid="ignore", divide="ignore"):
        m = col.total / col.n
        between = np.where(col.n > 0, col.n * (m - total[0] / n[0]) ** 2, 0.0)
    ss = np.array([col.ss.sum() + between.sum()])
    return _moments(Column(n=n, total=total, ss=ss, n_rows=n))


def _wave_lmm(b: Column, a: Column, ci: float) -> dict[str, Any]:
    """The overall row's REML fit of ``score ~ wave + (1 | community)`` from the sums."""
    from collective_efficacy._lmm import _fit, _Stats
    from collective_efficacy.change import overall_from_fit

    used = (b.n + a.n) > 0
    nb, na = b.n[used], a.n[used]
    tb, ta = b.total[used], a.total[used]
    n_b, n_a = float(nb.sum()), float(na.sum())
    n_tot = n_b + n_a
    g = int(used.sum())
    if n_b == 0 or n_a == 0:
        return {"method": "lmm_reml", "reason": "multilevel model not estimable: one wave is empty"}
    mb, ma = float(tb.sum()) / n_b, float(ta.sum()) / n_a
    rb, ra = tb - nb * mb, ta - na * ma  # per-community sums of the OLS residuals
    with np.errstate(invalid="ignore", divide="ignore"):
        dev_b = np.where(nb > 0, rb * rb / np.maximum(nb, 1.0), 0.0)
        dev_a = np.where(na > 0, ra * ra / np.maximum(na, 1.0), 0.0)
    yty = float(b.ss[used].sum() + a.ss[used].sum() + dev_b.sum() + dev_a.sum())
    n = nb + na
    st = _Stats(
        n=n,
        sx=np.column_stack([n, na]),
        sy=rb + ra,
        xtx=np.array([[n_tot, n_a], [n_a, n_a]]),
        xty=np.array([float((rb + ra).sum()), float(ra.sum())]),
        yty=yty,
        shift=np.array([mb, ma - mb]),
        n_obs=round(n_tot),
        reml=True,
    )
    try:
        fit = _fit(st, g, "REML")
    except DataError as exc:
        return {"method": "lmm_reml", "reason": f"multilevel model not estimable: {exc}"}
    both = (nb > 0) & (na > 0)
    df = float(n_tot - g - 1) if both.any() else float(g - 2)
    grand = (n_b * mb + n_a * ma) / n_tot
    scale = (yty + n_b * (mb - grand) ** 2 + n_a * (ma - grand) ** 2) / n_tot
    return overall_from_fit(fit, df, scale if n_tot > 1 else 0.0, ci)


def compare_waves(summary: CommunitySummary, **kw: Any) -> pd.DataFrame:
    from collective_efficacy._change_data import OVERALL, TwoWaves
    from collective_efficacy.change import _independent_rows, finish_waves

    func = "compare_waves"
    if kw["paired_on"] is not None:
        raise _rows_needed(func, "paired_on=")
    if kw["weight"] is not None or kw["design"] is not None:
        raise _rows_needed(func, "a survey design or weight")
    before, after = kw["before"], kw["after"]
    if before == after:
        raise DataError(f"before and after must be different wave labels; both are {before!r}")
    if summary.wave is None or kw["wave"] != summary.wave:
        raise DataError(
            f"{func}(): wave={kw['wave']!r}, but the summary's wave column is {summary.wave!r}",
            argument="wave",
        )
    waves = summary.to_frame()[summary.wave]
    other = sorted({str(v) for v in waves if v not in (before, after)})
    if other:
        raise DataError(
            f"wave column {summary.wave!r}: a label that is neither before={before!r} nor "
            f"after={after!r} (values {other[:10]}). Filter the data to the two waves to compare, "
            "or pass the right before=/after= labels."
        )
    label = _one_label(summary, kw["community"], func)
    by = [summary.wave] if label is None else [label, summary.wave]
    gr = grouped(summary, by)
    assert gr.labels is not None
    cols = column(summary, gr, kw["dv"])
    if kw["nan_policy"] == "raise" and (cols.n_rows > cols.n).any():
        raise DataError(
            f"column {kw['dv']!r} has {int((cols.n_rows - cols.n).sum())} missing score(s); "
            "expected a score on every row (or nan_policy='omit')"
        )
    if label is None:
        names = pd.Index([OVERALL], name="community")
        code = np.zeros(len(gr.labels), dtype=np.int64)
    else:
        codes, uniq = pd.factorize(gr.labels[label], sort=True)
        names, code = pd.Index(uniq, name=label), np.asarray(codes, dtype=np.int64)
    is_a = (gr.labels[summary.wave] == after).to_numpy()
    G = len(names)

    def per_community(mask: np.ndarray) -> Column:
        def s(v: np.ndarray) -> np.ndarray:
            return np.bincount(code[mask], weights=v[mask], minlength=G)

        return Column(n=s(cols.n), total=s(cols.total), ss=s(cols.ss), n_rows=s(cols.n_rows))

    b, a = per_community(~is_a), per_community(is_a)
    tw = TwoWaves(
        y=np.zeros(0), after=np.zeros(0, dtype=bool), codes=np.zeros(0, dtype=np.int64),
        labels=names, community="community" if label is None else label,
        n_missing=(b.n_rows - b.n + a.n_rows - a.n).astype(np.int64), ids=None,
    )  # fmt: skip
    mb, ma = _moments(b), _moments(a)
    res = _independent_rows(
        tw, mb, ma, ci=kw["ci"], equal_var=kw["equal_var"], min_n=int(kw["min_n"])
    )
    lmm = None if label is None else _wave_lmm(b, a, kw["ci"])
    return finish_waves(
        res, tw, mb, ma, lmm, _pooled(b), _pooled(a), ci=kw["ci"], p_adjust=kw["p_adjust"]
    )

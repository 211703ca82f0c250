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
from collective_efficacy.summaries._cells import Column, column, grouped
from collective_efficacy.summaries._routes import _one_label, _rows_needed
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["compare_waves"]


def _moments(col: Column) -> Any:
    from collective_efficacy.change._data import Moments

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
    return _moments(Column.of(n=n, total=total, ss=ss, n_rows=n))


def _wave_lmm(b: Column, a: Column, ci: float) -> dict[str, Any]:
    """The overall row's REML fit of ``score ~ wave + (1 | community)`` from the sums."""
    from collective_efficacy.change import overall_from_fit
    from collective_efficacy.multilevel._lmm import _fit, _Stats

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
    from collective_efficacy.change import finish_waves
    from collective_efficacy.change._common import _independent_rows
    from collective_efficacy.change._data import OVERALL, TwoWaves

    func = "compare_waves"
    if kw["paired_on"] is not None:
        raise _rows_needed(func, "paired_on=")
    if kw["weight"] is not None or kw["design"] is not None:
        raise _rows_needed(func, "a survey design or weight")
    wave = _check_waves(summary, kw, func)
    label = _one_label(summary, kw["community"], func)
    by = [wave] if label is None else [label, wave]
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
    is_a = (gr.labels[wave] == kw["after"]).to_numpy()
    b, a = _split_waves(cols, code, is_a, len(names))
    tw = TwoWaves(
        y=np.zeros(0), after=np.zeros(0, dtype=bool), codes=np.zeros(0, dtype=np.int64),
        labels=names, community="community" if label is None else label,
        n_missing=(b.n_rows - b.n + a.n_rows - a.n).astype(np.int64), ids=None,
    )  # fmt: skip
    mb, ma = _moments(b), _moments(a)
    res = _independent_rows(
        tw, mb, ma, ci=kw["ci"], equal_var=kw["equal_var"], min_n=int(kw["min_n"]),
        hedges=kw["hedges_correction"],
    )  # fmt: skip
    lmm = None if label is None else _wave_lmm(b, a, kw["ci"])
    return finish_waves(
        res, tw, mb, ma, lmm, _pooled(b), _pooled(a), ci=kw["ci"], p_adjust=kw["p_adjust"]
    )


def _check_waves(summary: CommunitySummary, kw: dict[str, Any], func: str) -> str:
    """The wave column; refuses equal before/after labels, another wave column and a third label."""
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
    return summary.wave


def _split_waves(
    cols: Column, code: np.ndarray, is_after: np.ndarray, n_groups: int
) -> tuple[Column, Column]:
    """Per-community sums of the before cells and of the after cells (``code`` per cell)."""

    def per(mask: np.ndarray) -> Column:
        def s(v: np.ndarray) -> np.ndarray:
            return np.bincount(code[mask], weights=v[mask], minlength=n_groups)

        return Column.of(n=s(cols.n), total=s(cols.total), ss=s(cols.ss), n_rows=s(cols.n_rows))

    return per(~is_after), per(is_after)


def _wave_columns(summary: CommunitySummary, kw: dict[str, Any], func: str) -> tuple[Any, ...]:
    """Labels and the before / after moments per community, checking the wave labels."""
    wave = _check_waves(summary, kw, func)
    label = _one_label(summary, kw["community"], func)
    assert label is not None
    gr = grouped(summary, [label, wave])
    assert gr.labels is not None
    cols = column(summary, gr, kw["dv"])
    codes, uniq = pd.factorize(gr.labels[label], sort=True)
    is_a = (gr.labels[wave] == kw["after"]).to_numpy()
    b, a = _split_waves(cols, np.asarray(codes, dtype=np.int64), is_a, len(uniq))
    return pd.Index(uniq, name=label), b, a


def change_model(summary: CommunitySummary, **kw: Any) -> Any:
    """``change_model`` (two waves, no covariates, comparison or respondent level) from sums:
    the random-slope model's per-community 2 x 2 sufficient statistics (``_lmm_slope_core``)."""
    from collective_efficacy.multilevel._change_design import Design
    from collective_efficacy.multilevel._lmm_slope import _fit, _single_thread_blas
    from collective_efficacy.multilevel._lmm_slope_core import _Stats
    from collective_efficacy.multilevel.change_model import _contrast, _result

    func = "change_model"
    for opt in ("time", "covariates", "comparison", "respondent"):
        if kw[opt] is not None:
            raise _rows_needed(func, f"{opt}=")
    labels, b, a = _wave_columns(summary, kw, func)
    if b.n.sum() == 0 or a.n.sum() == 0:
        raise DataError(f"{func}(): one wave has no score; expected rows of both waves")
    missing = (b.n_rows - b.n + a.n_rows - a.n).astype(np.int64)
    if kw["nan_policy"] == "raise" and missing.sum():
        raise DataError(
            f"{int(missing.sum())} row(s) have a missing value in [{kw['dv']!r}]; expected "
            "complete rows (or nan_policy='omit' to drop and count them)"
        )
    n_b, n_a = float(b.n.sum()), float(a.n.sum())
    mb, ma = float(b.total.sum()) / n_b, float(a.total.sum()) / n_a
    rb, ra = b.total - b.n * mb, a.total - a.n * ma  # per-community sums of OLS residuals
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.where(b.n > 0, rb * rb / np.maximum(b.n, 1.0), 0.0)
        dev += np.where(a.n > 0, ra * ra / np.maximum(a.n, 1.0), 0.0)
    n = b.n + a.n
    method = str(kw["method"]).upper()
    st = _Stats(
        n=n, st=a.n, stt=a.n, zx0=np.column_stack([n, a.n]), zx1=np.column_stack([a.n, a.n]),
        zy0=rb + ra, zy1=ra, xtx=np.array([[n_b + n_a, n_a], [n_a, n_a]]),
        xty=np.array([float((rb + ra).sum()), float(ra.sum())]),
        yty=float(b.ss.sum() + a.ss.sum() + dev.sum()), shift=np.array([mb, ma - mb]),
        n_obs=round(n_b + n_a), reml=method == "REML",
    )  # fmt: skip
    nonempty = int(np.count_nonzero(n))
    if st.n_obs <= 2 * nonempty:
        raise DataError(
            f"{st.n_obs} observations for {2 * nonempty} random effects (an intercept and a change "
            f"per community, {nonempty} communities): the model is not identifiable (lme4 stops "
            "here too); expected more observations than twice the number of communities"
        )
    des = Design(
        y=np.zeros(0), X=np.zeros((0, 2)), t=np.zeros(0), codes=np.zeros(0, dtype=np.int64),
        labels=labels, names=["intercept", "change"], programme=None, n_missing=missing,
        n_excluded_covariates=0, after=np.zeros(0, dtype=bool),
    )  # fmt: skip
    opts = {k: kw[k] for k in ("dv", "wave", "before", "after", "time", "comparison",
                               "respondent", "ci", "min_n")}  # fmt: skip
    # one BLAS thread for the fit and the interval step, as on the rows (change_model): the
    # posterior's (nodes x communities) products are small, and a threaded BLAS spent 8-15 ms
    # of CPU waking its threads per product (0.3 ms on one)
    with _single_thread_blas():
        fit = _fit(st, method, _contrast(des))
        return _result(fit, des, community=kw["community"], covariates=[], **opts)

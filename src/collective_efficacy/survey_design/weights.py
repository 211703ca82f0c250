r"""Calibrated weights (raking, linear calibration, post-stratification) and weighted alpha.

:func:`calibrate` adjusts survey weights so that weighted counts match population counts, as
``survey::rake``, ``survey::calibrate(calfun="linear")`` and ``survey::postStratify`` do, for all
communities at once. The weighted reliability helpers behind ``cronbach_alpha(..., weight=)``
and ``item_statistics(..., weight=)`` live here too.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice, check_columns
from collective_efficacy._groups import factorize_groups
from collective_efficacy._moments import group_counts, weighted_cov
from collective_efficacy._params import COLUMN, FRAME, Interval, Options, public
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.survey_design import weight_values

__all__ = ["calibrate"]


@dataclass(frozen=True)
class _Margin:
    cell: np.ndarray  # (n,) code of (group, level) of each row
    target: np.ndarray  # (n_cells,) population count of each (group, level)
    name: str


def _margins(
    data: pd.DataFrame, margins: pd.DataFrame, by: str | None, codes: np.ndarray, labels: pd.Index
) -> list[_Margin]:
    """One :class:`_Margin` per calibration variable; checks every level and community."""
    need = ["variable", "level", "count"] + ([by] if by else [])
    if not isinstance(margins, pd.DataFrame) or any(c not in margins.columns for c in need):
        raise DataError(
            f"margins must be a DataFrame with columns {need} (population counts)",
            argument="margins",
        )
    count = pd.to_numeric(margins["count"], errors="coerce").to_numpy(dtype=np.float64)
    if (~np.isfinite(count) | (count < 0)).any():
        raise DataError("margins: every count must be a finite number >= 0", argument="margins")
    g = len(labels)
    mg = labels.get_indexer(pd.Index(margins[by])) if by else np.zeros(len(margins), np.int64)
    variables = list(dict.fromkeys(margins["variable"].astype(str)))
    check_columns(data, variables, what="calibration variable")
    out = []
    for var in variables:  # loop over calibration variables (few), never over communities
        sel = (margins["variable"].astype(str) == var).to_numpy()
        lev = pd.Index(pd.unique(margins.loc[sel, "level"].astype(str)))
        col = data[var]
        if col.isna().any():
            raise DataError(
                f"calibration variable {var!r} is missing at {rows_in(data, col.isna().to_numpy())}",
                argument="margins",
            )
        lv = lev.get_indexer(pd.Index(col.astype(str)))
        if (lv < 0).any():
            bad = lv < 0
            raise DataError(
                f"calibration variable {var!r} has level(s) {sorted(set(col[bad].astype(str)))} "
                f"at {rows_in(data, bad)} that margins does not list",
                argument="margins",
            )
        target = np.zeros(g * len(lev))
        has = np.zeros(g, dtype=bool)
        ok = mg[sel] >= 0
        mlev = lev.get_indexer(pd.Index(margins.loc[sel, "level"].astype(str)))
        np.add.at(target, (mg[sel] * len(lev) + mlev)[ok], count[sel][ok])
        has[mg[sel][ok]] = True
        if not has[np.unique(codes)].all():
            missing = [str(x) for x in labels[~has][:5]]
            raise DataError(f"margins for {var!r} lack communities {missing}", argument="margins")
        out.append(_Margin(cell=codes * len(lev) + lv, target=target, name=var))
    return out


def _check_margins(margins: list[_Margin], codes: np.ndarray, n_groups: int, w: np.ndarray) -> None:
    """Equal totals across variables and no population cell without respondents."""
    totals = []
    for m in margins:
        per = m.target.reshape(n_groups, -1)
        totals.append(per.sum(axis=1))
        sample = np.bincount(m.cell, weights=w, minlength=len(m.target)).reshape(n_groups, -1)
        empty = (sample == 0) & (per > 0) & (np.bincount(codes, minlength=n_groups) > 0)[:, None]
        if empty.any():
            raise DataError(
                f"margins: {int(empty.sum())} population cell(s) of {m.name!r} have no "
                "respondents in their community; merge levels or drop those cells",
                argument="margins",
            )
    t0 = totals[0]
    for t in totals[1:]:
        if (np.abs(t - t0) > 1e-9 * np.maximum(np.abs(t0), 1.0)).any():
            raise DataError(
                "margins: the population totals of the variables differ (per community); "
                "every variable must add up to the same population",
                argument="margins",
            )


def _rake(w: np.ndarray, margins: list[_Margin], tol: float, max_iter: int) -> np.ndarray:
    """Iterative proportional fitting until every margin matches within ``tol`` (relative)."""
    w = w.copy()
    for _ in range(max_iter):
        for m in margins:
            tot = np.bincount(m.cell, weights=w, minlength=len(m.target))
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(tot > 0, m.target / tot, 1.0)
            w *= ratio[m.cell]
        worst = 0.0
        for m in margins:
            tot = np.bincount(m.cell, weights=w, minlength=len(m.target))
            rel = np.abs(tot - m.target) / np.maximum(m.target, 1e-300)
            worst = max(worst, float(rel[m.target > 0].max(initial=0.0)))
        if worst < tol:
            return w
    warnings.warn(
        f"raking did not converge to {tol} (relative) in {max_iter} sweeps; the weights of the "
        "last sweep are returned (as survey::rake does, with a warning)",
        ConvergenceWarning,
        stacklevel=3,
    )
    return w


def _linear(w: np.ndarray, margins: list[_Margin], codes: np.ndarray, n_groups: int) -> np.ndarray:
    """GREG / linear calibration: ``g_i = 1 + x_i' lambda_c`` per community, batched solves."""
    sizes = [len(m.target) // n_groups for m in margins]
    off = np.concatenate([[0], np.cumsum(sizes)])
    p = int(off[-1])
    xt = np.zeros((n_groups, p, p))
    total = np.zeros((n_groups, p))
    target = np.zeros((n_groups, p))
    for a, ma in enumerate(margins):  # variables x variables (few)
        la = ma.cell - codes * sizes[a]
        total[:, off[a] : off[a + 1]] = np.bincount(
            ma.cell, weights=w, minlength=len(ma.target)
        ).reshape(n_groups, -1)
        target[:, off[a] : off[a + 1]] = ma.target.reshape(n_groups, -1)
        for b, mb in enumerate(margins):
            lb = mb.cell - codes * sizes[b]
            key = (codes * sizes[a] + la) * sizes[b] + lb
            cross = np.bincount(key, weights=w, minlength=n_groups * sizes[a] * sizes[b])
            xt[:, off[a] : off[a + 1], off[b] : off[b + 1]] = cross.reshape(
                n_groups, sizes[a], sizes[b]
            )
    lam = np.einsum("gij,gj->gi", np.linalg.pinv(xt, hermitian=True), target - total)
    g = np.ones(len(w))
    for a, ma in enumerate(margins):
        la = ma.cell - codes * sizes[a]
        g += lam[codes, off[a] + la]
    return w * g


@public(
    constraints={
        "data": [FRAME],
        "weight": [COLUMN, None],
        "margins": [FRAME],
        "by": [COLUMN, None],
        "method": [Options(("raking", "linear"))],
        "tol": [Interval(Real, 0, 1, closed="neither")],
        "max_iter": [Interval(Integral, 1, None)],
    }
)
def calibrate(
    data: pd.DataFrame,
    *,
    weight: str | None = None,
    margins: pd.DataFrame,
    by: str | None = None,
    method: Literal["raking", "linear"] = "raking",
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> pd.Series:
    r"""Calibrated weights: raking or linear calibration to population counts.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (one wave: calibrate each wave separately). Not modified.
    weight : str, optional
        Design weight column (finite, > 0); None starts from weights of 1.
    margins : DataFrame
        Long table of population counts: ``variable`` (a column of ``data``), ``level`` (its
        value, compared as text), ``count``; with ``by``, also a column named as ``by`` giving
        each community's own counts. Every variable must add up to the same total.
    by : str, optional
        Community column: calibrate each community to its own margins (all at once).
    method : {"raking", "linear"}, default="raking"
        Raking (iterative proportional fitting, ``survey::rake``) or linear calibration
        (``survey::calibrate(..., calfun="linear")``, the GREG weights; may give negative
        weights). With one variable both are post-stratification (``survey::postStratify``).
    tol : float, default=1e-10
        Raking stops when every weighted margin is within ``tol`` (relative) of its count
        (``survey::rake``'s default epsilon is 1, i.e. one person).
    max_iter : int, default=1000
        Raking sweeps before giving up with a ``ConvergenceWarning``.

    Returns
    -------
    Series
        The calibrated weights, aligned to ``data``'s index, named ``"calibrated_weight"``.

    Raises
    ------
    DataError
        Unknown variables or levels, a missing value in a calibration variable, a population
        cell with no respondents, totals that differ between variables, a community without
        margins, invalid weights.

    Notes
    -----
    Raking multiplies the weights of every cell of one variable by
    :math:`N_{cl}/\hat N_{cl}` in turn until all margins hold. Linear calibration solves, per
    community :math:`c`, :math:`w^{cal}_i = w_i(1 + x_i'\lambda_c)` with
    :math:`\lambda_c = (\sum_{i\in c} w_i x_i x_i')^{+}(T_c - \sum_{i\in c} w_i x_i)` and
    :math:`x_i` the level indicators of every variable (a pseudo-inverse, as the indicators of
    two variables are collinear; the weights are unique). Deville & Särndal (1992).

    Matches ``survey::rake`` (epsilon 1e-14), ``calibrate(calfun = "linear")`` and
    ``postStratify`` (survey 4.1.1) to 1e-10 relative (tests/fixtures/r/survey_weights.R).

    References
    ----------
    .. [1] Deville, J.-C., & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
       Journal of the American Statistical Association, 87(418), 376-382.
    .. [2] Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R. Wiley, ch. 7.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"sex": ["f", "f", "m", "m", "m"], "w": [1.0, 1.0, 1.0, 1.0, 2.0]})
    >>> m = pd.DataFrame({"variable": "sex", "level": ["f", "m"], "count": [60, 40]})
    >>> ce.calibrate(df, weight="w", margins=m).tolist()
    [30.0, 30.0, 10.0, 10.0, 20.0]
    """
    check_choice("method", str(method).lower(), ("raking", "linear"), func="calibrate")
    from collective_efficacy.summaries._frames import is_frame, to_pandas

    if not isinstance(data, pd.DataFrame) and is_frame(data):  # polars, Arrow, DuckDB, Dask
        data = to_pandas(data)
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    if not (isinstance(tol, float) and 0 < tol < 1):
        raise DataError(f"tol must be a number in (0, 1); got {tol!r}", argument="tol")
    w = weight_values(data, weight)
    if by is None:
        codes = np.zeros(len(data), dtype=np.int64)
        labels = pd.Index(["all"])
    else:
        gi = factorize_groups(data, by, what="community")
        codes, labels = gi.codes, gi.labels
    ms = _margins(data, margins, by, codes, labels)
    _check_margins(ms, codes, len(labels), w)
    if str(method).lower() == "raking":
        out = _rake(w, ms, tol, max_iter)
    else:
        out = _linear(w, ms, codes, len(labels))
    return pd.Series(out, index=data.index.copy(), name="calibrated_weight")


# --- weighted reliability (dispatched to from reliability.py) -----------------------------------


def weighted_alpha_frame(
    x: np.ndarray,
    w: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
) -> dict[str, Any]:
    """psych ``alpha(cov.wt(x, wt)$cov)`` statistics per group plus n, n_eff and score moments."""
    from collective_efficacy.reliability._core import alpha_stats

    cov, _, wsum = weighted_cov(x, w, codes, n_groups)
    st = alpha_stats(cov)
    score = x.mean(axis=1)
    sc, sm, _ = weighted_cov(score[:, None], w, codes, n_groups)
    n = group_counts(codes, n_groups)
    w2 = np.bincount(codes, weights=w * w, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        n_eff = wsum * wsum / w2
    return {
        "stats": st,
        "cov": cov,
        "n": n,
        "n_eff": n_eff,
        "sum_weights": wsum,
        "mean": sm[:, 0],
        "sd": np.sqrt(sc[:, 0, 0]),
    }


def listwise_weighted(
    data: pd.DataFrame, x: np.ndarray, rows: np.ndarray, weight: str, nan_policy: str, func: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complete cases and their weights; pairwise deletion with weights is refused."""
    w_all = weight_values(data, weight)
    miss = np.isnan(x).any(axis=1)
    if miss.any() and nan_policy != "listwise":
        raise DataError(
            f"{func} with weights uses complete cases only (as R cov.wt); "
            f"{int(miss.sum())} respondent(s) miss an item: pass nan_policy='listwise'",
            argument="nan_policy",
        )
    keep = ~miss
    return x[keep], w_all[rows[keep]], rows[keep]


def weighted_item_table(
    items: Sequence[str], signs: np.ndarray, x: np.ndarray, w: np.ndarray
) -> pd.DataFrame:
    """``item_statistics`` under weights: psych's item statistics from the weighted covariance."""
    from collective_efficacy.reliability._core import alpha_stats, item_correlations

    k = len(items)
    codes = np.zeros(len(x), dtype=np.int64)
    cov, mean, _ = weighted_cov(x, w, codes, 1)
    c = cov[0]
    st = alpha_stats(cov)
    _, r_std, r_cor, d = item_correlations(c, bool(st.defined[0]))
    with np.errstate(invalid="ignore", divide="ignore"):
        r_total = c.sum(axis=0) / np.sqrt(d * c.sum())
    idx = np.array([[j for j in range(k) if j != i] for i in range(k)])
    sub = alpha_stats(c[idx[:, :, None], idx[:, None, :]]) if k > 2 else None
    nan = np.full(k, np.nan)
    return pd.DataFrame(
        {
            "item": list(items),
            "reversed": signs < 0,
            "n": np.full(k, len(x), dtype=np.int64),
            "mean": mean[0],
            "sd": np.sqrt(d),
            "r": r_total,
            "r_std": r_std,
            "r_cor": r_cor,
            "r_drop": st.r_drop[0],
            "alpha_if_dropped": sub.alpha if sub else nan,
            "std_alpha_if_dropped": sub.std_alpha if sub else nan,
            "g6_if_dropped": sub.g6 if sub else nan,
            "average_r_if_dropped": sub.average_r if sub else nan,
            "reversed_suspect": np.nan_to_num(st.r_drop[0], nan=0.0) < 0,
        }
    )


def weighted_cronbach(
    data: pd.DataFrame,
    items: Sequence[str] | None,
    *,
    keys: Any,
    community: str | None,
    nan_policy: str,
    response_range: Any,
    weight: str,
) -> pd.DataFrame:
    """``cronbach_alpha(..., weight=)``: psych ``alpha(cov.wt(x, wt)$cov)`` on complete cases."""
    from collective_efficacy.reliability._input import combine_notes, prepare

    func = "cronbach_alpha"
    exclude = [weight] + ([community] if community else [])
    prep = prepare(
        data, items, keys=keys, nan_policy=nan_policy, response_range=response_range,
        func=func, exclude=exclude,
    )  # fmt: skip
    x, w, rows = listwise_weighted(data, prep.x, prep.rows, weight, nan_policy, func)
    if community is None:
        codes, labels = np.zeros(len(x), dtype=np.int64), None
        n_groups = 1
    else:
        gi = factorize_groups(data, community, what="community")
        codes, labels, n_groups = gi.codes[rows], gi.labels, gi.n_groups
    res = weighted_alpha_frame(x, w, codes, n_groups)
    st = res["stats"]
    few = np.where(res["n"] < 2, "fewer than 2 complete respondents", "")
    undefined = np.where((res["n"] >= 2) & ~st.defined, "an item has no weighted variance", "")
    out = pd.DataFrame(
        {
            **st.columns(),
            "n": res["n"],
            "n_eff": res["n_eff"],
            "sum_weights": res["sum_weights"],
            "n_items": len(prep.items),
            "mean": res["mean"],
            "sd": res["sd"],
            "nan_policy": "listwise",
            "note": pd.Series(combine_notes([few, undefined]), dtype=object),
        }
    )
    if labels is not None:
        out.insert(0, str(community), labels)
    return out


def weighted_item_statistics(
    data: pd.DataFrame,
    items: Sequence[str] | None,
    *,
    keys: Any,
    nan_policy: str,
    response_range: Any,
    weight: str,
) -> pd.DataFrame:
    """``item_statistics(..., weight=)`` on complete cases (see :func:`weighted_item_table`)."""
    from collective_efficacy.reliability._input import prepare

    func = "item_statistics"
    prep = prepare(
        data, items, keys=keys, nan_policy=nan_policy, response_range=response_range,
        func=func, exclude=[weight],
    )  # fmt: skip
    x, w, _ = listwise_weighted(data, prep.x, prep.rows, weight, nan_policy, func)
    if len(x) < 2:
        raise DataError(f"{func} with weights needs at least 2 complete respondents")
    return weighted_item_table(prep.items, prep.signs, x, w)

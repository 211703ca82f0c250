r"""Aggregation to communities: ICC(1), ICC(2), r_wg, r_wg(j), r*_wg(j) and the AD index.

Every function takes long survey data (one row per respondent), computes **all communities in
one vectorised pass** (integer group codes and :func:`numpy.bincount`; per-community medians via a
community x response-level count table) and returns a tidy :class:`pandas.DataFrame` at full
precision. Unbalanced communities, communities with one respondent and missing answers are
handled as documented per function. The caller's DataFrame is never modified.

Reference implementation for behaviour and test values: R package ``multilevel`` (Bliese), whose
functions are named in each docstring. See ``docs/methods/agreement.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_choice, resolve_items
from collective_efficacy._params import CI, Options, public
from collective_efficacy.agreement._common import _ONEWAY, _SCALE_BLOCK, check_oneway
from collective_efficacy.agreement._groups import (
    GroupCodes,
    block_frame,
    code_groups,
    column_values,
    item_average,
    result_frame,
)
from collective_efficacy.agreement._levels import block_stats
from collective_efficacy.agreement.rwg import rwg, rwg_j, rwg_j_null, scale_setup
from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._lmm import fit_ri_moments
from collective_efficacy.prepared import accepts_prepared
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design import refuses_weights

#: non-empty group sizes, group means, SSW, SSB and the rows dropped of one variable
OnewayParts = tuple[np.ndarray, np.ndarray, float, float, int]

__all__ = ["ad_index", "group_reliability", "icc", "rwg", "rwg_j", "rwg_j_null"]


# --------------------------------------------------------------------------------------------
# shared plumbing
# --------------------------------------------------------------------------------------------
def _oneway_columns(
    data: pd.DataFrame, dv: str | Sequence[str], community: str | Sequence[str], *, func: str
) -> Iterator[tuple[str, np.ndarray, GroupCodes, OnewayParts]]:
    """Per ``dv`` column: its name, values, the community codes and its one-way ANOVA parts."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"data must be a pandas DataFrame; got {type(data).__name__}")
    names = [dv] if isinstance(dv, str) else list(dv)
    if not names:
        raise DataError(f"{func}: give at least one column")
    cols = resolve_items(data, names)
    groups = code_groups(data, community)
    for name in cols:
        y = column_values(data, name)
        yield name, y, groups, _oneway_parts(y, groups, name, func=func)


# --------------------------------------------------------------------------------------------
# ICC(1), ICC(2)
# --------------------------------------------------------------------------------------------
@refuses_weights
@accepts_prepared
@summary_route("icc")
@public(
    constraints={**_ONEWAY, "ci": [CI]},
    renamed={"group": "community"},
    old_positional=("dv", "group"),
    nan_columns=("dv",),
)
def icc(
    data: pd.DataFrame,
    *,
    dv: str | Sequence[str],
    community: str | Sequence[str],
    nan_policy: str = "omit",
    ci: float = 0.95,
) -> pd.DataFrame:
    r"""ICC(1) and ICC(2) of community means from the one-way ANOVA, for one or several columns.

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent. Not modified.
        A polars, pyarrow, DuckDB or Dask frame is summed per community inside its engine
        (only that table is collected; nested communities collect the rows); a
        :class:`~collective_efficacy.CommunitySummary` gives the same result from the sums
        (see *Large and shared data*).
    dv : str or list of str
        The respondent-level variable(s) (e.g. a scale score). One result row per column.
    community : str or list of str
        The community column; a list (e.g. ``["unit", "platoon"]``) nests groups. Integer or
        categorical community codes take a fast path (no hashing of labels).
    nan_policy : {"omit", "raise"}, default="omit"
        ``"omit"`` drops rows with a missing ``dv`` (counted in ``n_missing``); ``"raise"``
        refuses them.
    ci : float, default=0.95
        Level of the F-based confidence intervals of ICC(1) and ICC(2).

    Returns
    -------
    DataFrame
        One row per ``dv``: ``dv, icc1, icc2, f, df1, df2, p, msb, msw, n_groups, n,
        mean_group_size, n0, icc1_n0, n_missing, n_singletons, tau, sigma2, icc1_reml,
        icc2_reml, icc1_ci_low, icc1_ci_high, icc2_ci_low, icc2_ci_high, confidence, note``
        (``note`` says why a value is NaN or infinite, else None).

    Raises
    ------
    DataError
        Given ``weight=`` or ``design=``: multilevel models do not take survey weights (they
        need level-specific weights, as WeMix or svylme; future work). Use
        :func:`~collective_efficacy.aggregate` / :func:`~collective_efficacy.compare_waves`
        with ``weight=`` for design-based community means and change, or this model
        unweighted, reported as such.

    Notes
    -----
    With :math:`N` respondents in :math:`k` communities of sizes :math:`n_j`,
    :math:`MSB = \sum_j n_j(\bar y_j-\bar y)^2/(k-1)`,
    :math:`MSW = \sum_j\sum_i (y_{ij}-\bar y_j)^2/(N-k)`, :math:`F = MSB/MSW` on
    :math:`(k-1, N-k)` df, and

    .. math::
        ICC(1) = \frac{MSB - MSW}{MSB + (\bar n - 1) MSW},\qquad
        ICC(2) = \frac{MSB - MSW}{MSB},\qquad \bar n = N/k.

    **Group size.** ``icc1`` uses the *mean* community size :math:`\bar n = N/k`, as
    ``multilevel::ICC1`` does (it is the default because it matches R). For unbalanced data the
    ANOVA estimator with the usual size coefficient
    :math:`n_0 = (N - \sum_j n_j^2/N)/(k-1)` is reported separately as ``icc1_n0``
    (``n0`` column); both equal each other when communities are balanced.

    **REML columns.** ``tau``, ``sigma2`` are the REML variance components of the random
    intercept model ``lme(y ~ 1, random = ~1 | group)``; ``icc1_reml`` =
    :math:`\tau/(\tau+\sigma^2)` and ``icc2_reml`` is its Spearman–Brown step-up to
    :math:`\bar n`, which is what ``multilevel::mult.icc`` returns. (``mult.icc`` takes
    :math:`\bar n` over all rows, including rows whose ``dv`` is missing; here :math:`\bar n`
    counts the rows used.) ICC(1) may be negative; it is not truncated.

    **Confidence intervals** (McGraw & Wong 1996, case 1; ``psych::ICC``): with
    :math:`F_L = F / F_{1-p/2}(k-1, N-k)`, :math:`F_U = F \cdot F_{1-p/2}(N-k, k-1)` and
    :math:`p = 1 - ci`,

    .. math::
        ICC(1) \in \left[\frac{F_L - 1}{F_L + \bar n - 1},
        \frac{F_U - 1}{F_U + \bar n - 1}\right],\qquad
        ICC(2) \in \left[1 - \frac{1}{F_L},\ 1 - \frac{1}{F_U}\right].

    The intervals are exact for balanced communities (``psych::ICC``'s ICC1 and ICC1k rows);
    with unbalanced communities the mean size :math:`\bar n` (as in ``icc1``) makes them an
    approximation. They bracket the point estimates (both are monotone in F).

    **Missing data and small communities.** Rows with a missing ``dv`` are dropped for that
    ``dv`` only and counted in ``n_missing``; a community with no remaining row does not count
    in ``n_groups``. Communities of one respondent are kept: they add to MSB and ``df1`` but
    not to MSW, exactly as ``aov`` does (``n_singletons`` counts them). A :class:`DataError` is
    raised when fewer than two communities have data, or when every community has a single
    respondent (MSW undefined). Without any within-community variation (MSW = 0) ``f`` is
    infinite, ``p`` is 0 and both ICCs are 1 (NaN if the column is constant), with a ``note``.

    Matches R: ``multilevel::ICC1(aov(y ~ as.factor(g)))``, ``ICC2(...)``, F, df and p of
    ``summary(aov(...))``, and ``multilevel::mult.icc`` (REML columns). Tested against
    ``multilevel`` 2.7 on ``bh1996``, ``lq2002`` and ``cohesion``, and against
    :func:`scipy.stats.f_oneway`.

    References
    ----------
    .. [1] Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability. In
       K. J. Klein & S. W. J. Kozlowski (Eds.), *Multilevel theory, research, and methods in
       organizations* (pp. 349-381). Jossey-Bass.
    .. [2] Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations. *Psychological
       Bulletin*, 86(2), 420-428.
    .. [3] Searle, S. R., Casella, G., & McCulloch, C. E. (1992). *Variance components*. Wiley
       (``n0`` for unbalanced one-way designs).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"nbh": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
    ...                    "score": [1, 2, 3, 3, 4, 5, 2, 3, 4]})
    >>> res = ce.icc(df, dv="score", community="nbh")
    >>> res[["dv", "icc1", "icc2", "f", "df1", "df2"]].round(4)
          dv  icc1    icc2    f  df1  df2
    0  score   0.4  0.6667  3.0    2    6
    """
    rows = [icc_row(name, *parts, ci=ci) for name, _, _, parts in _oneway_columns(
        data, dv, community, func="icc")]  # fmt: skip
    return pd.DataFrame(rows)


def _icc_intervals(f: float, df1: int, df2: int, gsize: float, ci: float) -> dict[str, float]:
    """F-based intervals of ICC(1) and ICC(2) (McGraw & Wong 1996; psych::ICC)."""
    p = 1.0 - ci
    with np.errstate(divide="ignore", invalid="ignore"):
        f_low = f / _dist.f_ppf(1.0 - p / 2.0, df1, df2)
        f_high = f * _dist.f_ppf(1.0 - p / 2.0, df2, df1)
        one = [1.0 if np.isposinf(x) else (x - 1.0) / (x + gsize - 1.0) for x in (f_low, f_high)]
        two = [1.0 - 1.0 / x for x in (f_low, f_high)]
    return {
        "icc1_ci_low": float(one[0]),
        "icc1_ci_high": float(one[1]),
        "icc2_ci_low": float(two[0]),
        "icc2_ci_high": float(two[1]),
        "confidence": ci,
    }


def _oneway_parts(y: np.ndarray, groups: GroupCodes, name: str, *, func: str) -> OnewayParts:
    """Non-empty group sizes, group means, SSW, SSB and rows dropped, for one variable.

    One pass: the variable is centred at its grand mean (for accuracy) and summed per group
    with :func:`numpy.bincount`; missing values get weight 0 instead of being copied out.
    """
    missing = np.isnan(y)
    n_missing = int(missing.sum())
    n_total = len(y) - n_missing
    if n_total == 0:
        raise DataError(f"{func}: column {name!r} has no non-missing value")
    if n_missing:
        y0 = np.where(missing, 0.0, y)
        grand = float(y0.sum()) / n_total
        yc = y0 - grand
        yc[missing] = 0.0
        nj = groups.rows - groups.count_rows(missing)
    else:
        grand = float(y.sum()) / n_total
        yc = y - grand
        nj = groups.rows
    sj = groups.sum_rows(yc)
    nz = nj > 0
    nj, sj = nj[nz].astype(np.float64), sj[nz]
    check_oneway(len(nj), n_total, name, func=func)
    ssb = float((sj * sj / nj).sum())
    sst = float(np.einsum("i,i->", yc, yc))  # no BLAS threads
    # community means equal to the grand mean leave SSB at rounding level (1e-32), which made
    # ICC(2) = 1 - MSW/MSB about -1e30 in one row order and -3e30 in another: call it 0
    ssb = ssb if ssb > 1e-12 * sst else 0.0
    # SSW = SST - SSB cancels: a remainder at rounding level (relative 1e-12) is exactly 0, so
    # a survey without within-community variation gives F = inf in every row order
    ssw = sst - ssb if sst - ssb > 1e-12 * sst else 0.0
    return nj, sj / nj + grand, ssw, ssb, n_missing


def icc_row(
    name: str,
    nj: np.ndarray,
    ybar: np.ndarray,
    ssw: float,
    ssb: float,
    n_missing: int,
    *,
    ci: float,
) -> dict[str, Any]:
    """One ``icc`` result row from the one-way ANOVA parts (rows or a summary: one code path)."""
    k = len(nj)
    n_total = float(nj.sum())
    df1, df2 = k - 1, int(n_total) - k
    msb, msw = np.float64(ssb / df1), np.float64(ssw / df2)  # MSW may be 0: F = inf
    gsize = n_total / k
    n0 = (n_total - float((nj * nj).sum()) / n_total) / df1
    with np.errstate(divide="ignore", invalid="ignore"):
        f = msb / msw
        icc1 = (msb - msw) / (msb + (gsize - 1.0) * msw)
        icc1_n0 = (msb - msw) / (msb + (n0 - 1.0) * msw)
        icc2 = (msb - msw) / msb
    p = float(_dist.f_sf(f, df1, df2))
    note = None
    if msw == 0:
        note = (
            "no variation at all: ICC undefined"
            if msb == 0
            else "no within-community variation: F infinite, ICC(1) = ICC(2) = 1"
        )
    elif msb == 0:
        note = "no between-community variation: F = 0, ICC(2) = -inf"
    if ssw > 0:
        fit = fit_ri_moments(nj, ybar, ssw)  # the library's one REML engine
        tau, sigma2 = fit.tau2, fit.sigma2
        icc1_reml = tau / (tau + sigma2)
        icc2_reml = gsize * icc1_reml / (1.0 + (gsize - 1.0) * icc1_reml)
    else:
        tau = sigma2 = icc1_reml = icc2_reml = float("nan")
    return {
        "dv": name,
        "icc1": float(icc1),
        "icc2": float(icc2),
        "f": float(f),
        "df1": df1,
        "df2": df2,
        "p": p,
        "msb": float(msb),
        "msw": float(msw),
        "n_groups": k,
        "n": int(n_total),
        "mean_group_size": gsize,
        "n0": n0,
        "icc1_n0": float(icc1_n0),
        "n_missing": n_missing,
        "n_singletons": int((nj == 1).sum()),
        "tau": tau,
        "sigma2": sigma2,
        "icc1_reml": icc1_reml,
        "icc2_reml": icc2_reml,
        **_icc_intervals(float(f), df1, df2, gsize, ci),
        "note": note,
    }


@accepts_prepared
@summary_route("group_reliability")
@public(
    constraints=_ONEWAY,
    renamed={"group": "community"},
    old_positional=("dv", "group"),
    nan_columns=("dv",),
)
def group_reliability(
    data: pd.DataFrame,
    *,
    dv: str | Sequence[str],
    community: str | Sequence[str],
    nan_policy: str = "omit",
) -> pd.DataFrame:
    r"""Reliability of each community's mean: Spearman–Brown ICC(2) at that community's size.

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent. Not modified.
        A polars, pyarrow, DuckDB or Dask frame is summed per community inside its engine
        (only that table is collected; nested communities collect the rows); a
        :class:`~collective_efficacy.CommunitySummary` gives the same result from the sums
        (see *Large and shared data*).
    dv : str or list of str
        Respondent-level variable(s); rows are stacked per ``dv``.
    community : str or list of str
        The community column(s).

    Returns
    -------
    DataFrame
        One row per community (and ``dv``): ``dv``, the group column(s), ``n``, ``mean``,
        ``icc1``, ``icc2_j``, ``note``.

    Notes
    -----
    .. math:: ICC(2)_j = \frac{n_j\, ICC(1)}{1 + (n_j - 1)\, ICC(1)},\qquad
              ICC(1) = \frac{\tau}{\tau + \sigma^2}

    which equals the empirical-Bayes reliability :math:`\tau/(\tau + \sigma^2/n_j)`.
    As in ``multilevel::gmeanrel``, ICC(1) is the **REML** estimate from the random-intercept
    model ``lme(y ~ 1, random = ~1 | group)`` (not the ANOVA ICC(1) of :func:`icc`). The REML
    fit uses only the sufficient statistics (community sizes, means and the pooled within sum of
    squares); see ``_lmm.fit_ri_moments``.

    Missing data: rows with a missing ``dv`` are dropped (as ``lme(..., na.action = na.omit)``);
    a community left without rows gets ``n = 0``, NaN ``mean`` and ``icc2_j`` and a ``note``.
    Errors as in :func:`icc` (fewer than two communities, or no within-community variance).

    Matches R: ``multilevel::gmeanrel(lme(y ~ 1, random = ~1 | g, na.action = na.omit))``
    (``$ICC``, ``$GrpSize``, ``$MeanRel``), multilevel 2.7 / nlme 3.1.

    References
    ----------
    .. [1] Bliese, P. D. (2000). Within-group agreement, non-independence, and reliability.
       In Klein & Kozlowski (Eds.), *Multilevel theory, research, and methods in
       organizations* (pp. 349-381). Jossey-Bass.
    .. [2] Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical linear models* (2nd ed.).
       Sage (reliability of a group mean).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"nbh": ["a", "a", "a", "b", "b", "c", "c", "c", "c"],
    ...                    "score": [1, 2, 3, 3, 5, 2, 3, 4, 3]})
    >>> ce.group_reliability(df, dv="score", community="nbh")[["nbh", "n", "mean", "icc2_j"]].round(3)
      nbh  n  mean  icc2_j
    0   a  3   2.0   0.602
    1   b  2   4.0   0.503
    2   c  4   3.0   0.669
    """
    frames = []
    for name, y, groups, parts in _oneway_columns(data, dv, community, func="group_reliability"):
        missing = np.isnan(y)
        n = groups.rows - groups.count_rows(missing)
        s = groups.sum_rows(np.where(missing, 0.0, y))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s / n
        res = result_frame(
            groups,
            {"n": n, "mean": mean, **mean_reliability(name, parts, n, func="group_reliability")},
            reserved=["dv"],
        )
        res.insert(0, "dv", name)
        frames.append(res)
    return pd.concat(frames, ignore_index=True)


def mean_reliability(
    name: str, parts: OnewayParts, n: np.ndarray, *, func: str
) -> dict[str, np.ndarray | float]:
    """``icc1`` (REML), ``icc2_j`` and ``note`` of ``group_reliability`` for communities of size ``n``.

    ``parts`` are the one-way ANOVA parts of the column (rows or a summary: one code path).
    """
    nj, ybar, ssw, _, _ = parts
    if ssw <= 0:
        raise DataError(
            f"{func}: column {name!r} has no within-community variance; "
            "the REML ICC(1) is undefined"
        )
    fit = fit_ri_moments(nj, ybar, ssw)
    rho = fit.tau2 / (fit.tau2 + fit.sigma2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(n > 0, n * rho / (1.0 + (n - 1.0) * rho), np.nan)
    note = np.full(len(n), None, dtype=object)
    note[n == 0] = f"no respondent with a value of {name!r}"
    return {"icc1": rho, "icc2_j": rel, "note": note}


@accepts_prepared
@public(
    constraints={**_SCALE_BLOCK, "center": [Options(("mean", "median"))]},
    renamed={"group": "community"},
    old_positional=("items", "group"),
)
def ad_index(
    data: pd.DataFrame,
    *,
    items: str | Sequence[str],
    community: str | Sequence[str],
    center: str = "mean",
    n_options: int | None = None,
    options: Any = None,
    nan_policy: str = "listwise",
) -> pd.DataFrame:
    r"""Average deviation (AD) index of within-community agreement (Burke et al. 1999).

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent. Not modified.
    items : str or list of str
        One item or the items of one scale (raw codes).
    community : str or list of str
        The community column(s).
    center : {"mean", "median"}, default="mean"
        Deviations from the community mean (:math:`AD_M`) or median (:math:`AD_{Md}`).
    n_options : int, optional
        Number of response options :math:`A` (codes ``1..A``): gives the practical cut-off
        :math:`A/6` and checks every response against the scale.
    options : int, sequence of codes or object with ``n_options``, optional
        Alternative to ``n_options`` (e.g. ``range(0, 5)`` for a 0-4 scale).
    nan_policy : {"listwise", "pairwise"}, default="listwise"
        As in :func:`rwg_j` ("listwise" matches R ``ad.m``).

    Returns
    -------
    DataFrame
        One row per community: the group column(s), ``n``, ``n_excluded``, ``n_items``,
        ``ad``, ``center``, ``practical_cutoff`` (:math:`A/6`, NaN when :math:`A` is not
        given), ``agreement`` (``ad <= practical_cutoff``; nullable boolean, NA when either is
        missing), ``note``.

    Notes
    -----
    For item :math:`k` in a community of :math:`n` respondents with centre :math:`c_k`
    (mean or median),

    .. math:: AD_k = \frac{1}{n}\sum_{i=1}^{n} |x_{ik} - c_k|,\qquad
              AD_{(J)} = \frac{1}{J}\sum_{k=1}^{J} AD_k .

    Lower is more agreement. Burke & Dunlap (2002) and Dunlap et al. (2003) propose
    :math:`AD \le A/6` as the practical-significance cut-off. Medians for all communities come
    from a community x response-level count table (discrete codes) or one sort by (community,
    value); the median of an even count averages the two middle values (as R ``median``).

    Missing data: see ``nan_policy``. Communities with fewer than 2 respondents get NaN and a
    ``note`` (R: NA).

    Matches R: ``multilevel::ad.m(x, grpid, type = "mean" | "median")`` (multilevel 2.7), for
    one item and for a scale.

    References
    ----------
    .. [1] Burke, M. J., Finkelstein, L. M., & Dusig, M. S. (1999). On average deviation
       indices for estimating interrater agreement. *Organizational Research Methods*, 2(1),
       49-68.
    .. [2] Burke, M. J., & Dunlap, W. P. (2002). Estimating interrater agreement with the
       average deviation index: A user's guide. *Organizational Research Methods*, 5(2),
       159-172.
    .. [3] Dunlap, W. P., Burke, M. J., & Smith-Crowe, K. (2003). Accurate tests of
       statistical significance for r_WG and average deviation interrater agreement indexes.
       *Journal of Applied Psychology*, 88(2), 356-362.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"nbh": ["a", "a", "a", "b", "b", "b"],
    ...                    "SC1": [4, 4, 5, 1, 3, 5], "SC2": [4, 5, 5, 2, 4, 5]})
    >>> res = ce.ad_index(df, items=["SC1", "SC2"], community="nbh", n_options=5)
    >>> res[["nbh", "n", "ad", "practical_cutoff", "agreement"]].round(4)
      nbh  n      ad  practical_cutoff  agreement
    0   a  3  0.4444            0.8333       True
    1   b  3  1.2222            0.8333      False
    """
    check_choice("center", center, ["mean", "median"], func="ad_index")
    cols, a, codes = scale_setup(data, items, n_options, options, nan_policy, func="ad_index")
    b = block_stats(data, cols, community, nan_policy=nan_policy, scale_codes=codes,
                    func="ad_index", center=center)  # fmt: skip
    ad, j = item_average(b["ad"], b["n_item"])
    cutoff = a / 6.0 if a is not None else float("nan")
    with np.errstate(invalid="ignore"):
        agree = pd.array(ad <= cutoff, dtype="boolean")
    agree[np.isnan(ad) | np.isnan(cutoff)] = pd.NA
    return block_frame(
        b,
        {"ad": ad, "center": center, "practical_cutoff": cutoff, "agreement": agree},
        n_items=j,
    )

"""Within-group agreement r_wg, r_wg(j) and its null distribution (James, Demaree and Wolf 1984)."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice, check_columns, resolve_items
from collective_efficacy._params import (
    ARRAY,
    BOOLEAN,
    COLUMNS,
    FRAME,
    SEED,
    Interval,
    Predicate,
    as_generator,
    public,
)
from collective_efficacy.agreement._common import _OMIT, _OPTIONS, _RANVAR, _SCALE_BLOCK
from collective_efficacy.agreement._groups import block_frame, item_average
from collective_efficacy.agreement._levels import block_stats
from collective_efficacy.agreement._null import (
    null_summary,
    resolve_options,
    resolve_ranvar,
    simulate_rwg_j,
)
from collective_efficacy.errors import DataError
from collective_efficacy.prepared import accepts_prepared
from collective_efficacy.summaries._dispatch import summary_route

__all__ = ["rwg", "rwg_j", "rwg_j_null"]


# --------------------------------------------------------------------------------------------
# rwg, rwg(j), r*wg(j), AD
# --------------------------------------------------------------------------------------------
@accepts_prepared
@summary_route("rwg")
@public(
    constraints={
        "data": [FRAME],
        "item": [COLUMNS],  # a list gets the advice to use rwg_j
        "community": [COLUMNS],
        "ranvar": _RANVAR,
        "n_options": [Interval(Integral, 2, None), None],
        "options": _OPTIONS,
        "nan_policy": [_OMIT],
    },
    renamed={"group": "community"},
    old_positional=("item", "group"),
    nan_columns=("item",),
)
def rwg(
    data: pd.DataFrame,
    *,
    item: str,
    community: str | Sequence[str],
    ranvar: float | str = "uniform",
    n_options: int | None = None,
    options: Any = None,
    nan_policy: str = "omit",
) -> pd.DataFrame:
    r"""Within-community agreement on one item, :math:`r_{wg}` (James, Demaree & Wolf 1984).

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent. Not modified.
    item : str
        The item column (raw response codes).
    community : str or list of str
        The community column(s).
    ranvar : float or {"uniform", "slight_skew", "moderate_skew", "heavy_skew", "triangular", "normal"}, default="uniform"
        Expected error variance of the null (no agreement) distribution, or its name.
        "uniform" is :math:`(A^2-1)/12` for :math:`A` response options. The named skewed
        nulls use the 5-point values tabulated by LeBreton & Senter (2008): slight skew 1.34,
        moderate skew 0.90, heavy skew 0.44, triangular 1.32, normal 1.04 (uniform 2.00).
    n_options : int, optional
        Number of response options :math:`A` (codes ``1..A``). When given (or ``options``),
        every response is checked against the scale and a :class:`DataError` names the rows
        outside it.
    options : int, sequence of codes or object with ``n_options``, optional
        Alternative to ``n_options``: an int (same meaning), the allowed codes themselves (e.g.
        ``range(0, 5)`` for a 0-4 scale) or an instrument's response-options object.

    Returns
    -------
    DataFrame
        One row per community: the group column(s), ``n``, ``n_excluded``, ``mean``,
        ``variance``, ``ranvar``, ``rwg``, ``truncated``, ``note``.

    Notes
    -----
    .. math:: r_{wg} = 1 - \frac{\min(s_x^2, \sigma_{EU}^2)}{\sigma_{EU}^2}

    with :math:`s_x^2` the within-community variance (denominator :math:`n-1`). When the
    observed variance exceeds the null variance it is truncated to it, giving
    :math:`r_{wg} = 0` (James et al. 1984); ``truncated`` flags those communities.

    Missing data: respondents with a missing ``item`` are dropped (``n_excluded`` counts them).
    Communities with fewer than 2 respondents get NaN and a ``note`` (as R's NA).

    Matches R: ``multilevel::rwg(x, grpid, ranvar)`` (multilevel 2.7).

    References
    ----------
    .. [1] James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group interrater
       reliability with and without response bias. *Journal of Applied Psychology*, 69(1),
       85-98.
    .. [2] LeBreton, J. M., & Senter, J. L. (2008). Answers to 20 questions about interrater
       reliability and interrater agreement. *Organizational Research Methods*, 11(4), 815-852.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"nbh": ["a", "a", "a", "b", "b", "b"],
    ...                    "SC1": [4, 4, 5, 1, 3, 5]})
    >>> ce.rwg(df, item="SC1", community="nbh", n_options=5)[["nbh", "n", "rwg", "truncated"]].round(4)
      nbh  n     rwg  truncated
    0   a  3  0.8333      False
    1   b  3  0.0000       True
    """
    if not isinstance(item, str):
        raise DataError(f"rwg takes one item column name; got {item!r}. Use rwg_j for a scale.")
    check_columns(data, [item], what="item column")
    a, codes = resolve_options(n_options, options, func="rwg")
    sigma2 = resolve_ranvar(ranvar, a, func="rwg")
    b = block_stats(data, [item], community, nan_policy="listwise", scale_codes=codes, func="rwg")
    return rwg_table(b, sigma2)


def rwg_table(b: dict[str, Any], sigma2: float) -> pd.DataFrame:
    """The :func:`rwg` table from :func:`block_stats` output (shared with the summary path)."""
    var = b["variances"][:, 0]
    with np.errstate(invalid="ignore"):
        value = 1.0 - np.minimum(var, sigma2) / sigma2
    return block_frame(
        b,
        {
            "mean": b["means"][:, 0],
            "variance": var,
            "ranvar": sigma2,
            "rwg": value,
            "truncated": _exceeds(var, sigma2),
        },
    )


@accepts_prepared
@summary_route("rwg_j")
@public(
    constraints={**_SCALE_BLOCK, "lindell": [BOOLEAN], "ranvar": _RANVAR},
    renamed={"group": "community"},
    old_positional=("items", "group"),
)
def rwg_j(
    data: pd.DataFrame,
    *,
    items: Sequence[str],
    community: str | Sequence[str],
    ranvar: float | str = "uniform",
    lindell: bool = False,
    n_options: int | None = None,
    options: Any = None,
    nan_policy: str = "listwise",
) -> pd.DataFrame:
    r"""Within-community agreement on a scale of :math:`J` items: :math:`r_{wg(j)}` or
    Lindell's :math:`r^*_{wg(j)}`.

    Parameters
    ----------
    data : DataFrame
        Long data, one row per respondent. Not modified.
    items : list of str
        The item columns of one scale (raw codes, reversed items already recoded).
    community : str or list of str
        The community column(s).
    ranvar : float or {"uniform", "slight_skew", "moderate_skew", "heavy_skew", "triangular", "normal"}, default="uniform"
        Expected error variance of the null (no agreement) distribution, or its name.
        "uniform" is :math:`(A^2-1)/12` for :math:`A` response options. The named skewed
        nulls use the 5-point values tabulated by LeBreton & Senter (2008): slight skew 1.34,
        moderate skew 0.90, heavy skew 0.44, triangular 1.32, normal 1.04 (uniform 2.00).
    n_options : int, optional
        Number of response options :math:`A` (codes ``1..A``). When given (or ``options``),
        every response is checked against the scale and a :class:`DataError` names the rows
        outside it.
    options : int, sequence of codes or object with ``n_options``, optional
        Alternative to ``n_options``: an int (same meaning), the allowed codes themselves (e.g.
        ``range(0, 5)`` for a 0-4 scale) or an instrument's response-options object.
    lindell : bool, default=False
        Return Lindell, Brandt & Whitney's (1999) :math:`r^*_{wg(j)}` instead.
    nan_policy : {"listwise", "pairwise"}, default="listwise"
        "listwise" drops a respondent with any missing item of the block (as R ``rwg.j``);
        "pairwise" uses every available answer per item.

    Returns
    -------
    DataFrame
        One row per community: the group column(s), ``n``, ``n_excluded``, ``n_items``,
        ``mean_variance``, ``ranvar``, ``rwg_j``, ``truncated``, ``method``
        (``"james1984"`` or ``"lindell1999"``), ``note``.

    Notes
    -----
    With :math:`\bar s^2` the mean of the :math:`J` within-community item variances
    (denominator :math:`n-1`) and :math:`r = \min(\bar s^2, \sigma^2_{EU})/\sigma^2_{EU}`:

    .. math:: r_{wg(j)} = \frac{J(1-r)}{J(1-r) + r},\qquad
              r^*_{wg(j)} = 1 - \frac{\bar s^2}{\sigma^2_{EU}}

    :math:`r_{wg(j)}` truncates :math:`\bar s^2` at :math:`\sigma^2_{EU}` (value 0,
    ``truncated`` True; James et al. 1984). :math:`r^*_{wg(j)}` is not truncated and can be
    negative; it does not grow with :math:`J` (Lindell et al. 1999). With ``nan_policy=
    "pairwise"``, :math:`J` counts the items with at least 2 answers in the community.

    Missing data: see ``nan_policy``; ``n`` is the number of respondents used, ``n_excluded``
    the rows of the community not used. Communities with fewer than 2 respondents get NaN and
    a ``note`` (R: NA).

    Matches R: ``multilevel::rwg.j(x, grpid, ranvar)`` and
    ``multilevel::rwg.j.lindell(x, grpid, ranvar)`` (multilevel 2.7; both apply
    ``na.exclude`` to the item block, i.e. listwise).

    References
    ----------
    .. [1] James, L. R., Demaree, R. G., & Wolf, G. (1984). Estimating within-group interrater
       reliability with and without response bias. *Journal of Applied Psychology*, 69(1),
       85-98.
    .. [2] Lindell, M. K., Brandt, C. J., & Whitney, D. J. (1999). A revised index of
       interrater agreement for multi-item ratings of a single target. *Applied Psychological
       Measurement*, 23(2), 127-135.
    .. [3] LeBreton, J. M., & Senter, J. L. (2008). Answers to 20 questions about interrater
       reliability and interrater agreement. *Organizational Research Methods*, 11(4),
       815-852.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"nbh": ["a", "a", "a", "b", "b", "b"],
    ...                    "SC1": [4, 4, 5, 1, 3, 5], "SC2": [4, 5, 5, 2, 4, 5]})
    >>> res = ce.rwg_j(df, items=["SC1", "SC2"], community="nbh", n_options=5)
    >>> res[["nbh", "n", "mean_variance", "rwg_j", "truncated"]].round(4)
      nbh  n  mean_variance   rwg_j  truncated
    0   a  3         0.3333  0.9091      False
    1   b  3         3.1667  0.0000       True
    """
    cols, a, codes = scale_setup(data, items, n_options, options, nan_policy, func="rwg_j")
    sigma2 = resolve_ranvar(ranvar, a, func="rwg_j")
    b = block_stats(data, cols, community, nan_policy=nan_policy, scale_codes=codes, func="rwg_j")
    return rwg_j_table(b, sigma2, lindell)


def rwg_j_table(b: dict[str, Any], sigma2: float, lindell: bool) -> pd.DataFrame:
    """The :func:`rwg_j` table from :func:`block_stats` output (shared with the summary path)."""
    s2, j = item_average(b["variances"], b["n_item"])
    with np.errstate(invalid="ignore", divide="ignore"):
        if lindell:
            value = 1.0 - s2 / sigma2
            truncated = np.zeros(len(s2), dtype=bool)
        else:
            r = np.minimum(s2, sigma2) / sigma2
            value = j * (1.0 - r) / (j * (1.0 - r) + r)
            truncated = _exceeds(s2, sigma2)
    value = np.where(j > 0, value, np.nan)
    return block_frame(
        b,
        {
            "mean_variance": s2,
            "ranvar": sigma2,
            "rwg_j": value,
            "truncated": truncated,
            "method": "lindell1999" if lindell else "james1984",
        },
        n_items=j,
    )


def _exceeds(s2: np.ndarray, sigma2: float) -> np.ndarray:
    """``s2 > sigma2`` beyond rounding (relative 1e-12): the truncation flag.

    A (mean) variance equal to the null variance in exact arithmetic is computed as slightly
    above or below it depending on the row order; it counts as not truncated in every order.
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(s2 > sigma2 * (1.0 + 1e-12))


def scale_setup(
    data: pd.DataFrame,
    items: Sequence[str],
    n_options: int | None,
    options: Any,
    nan_policy: str,
    *,
    func: str,
) -> tuple[list[str], int | None, np.ndarray | None]:
    """The checked item columns, number of options and allowed codes of an item block."""
    check_choice("nan_policy", nan_policy, ["listwise", "pairwise"], func=func)
    cols = _items(data, items, func=func)
    a, codes = resolve_options(n_options, options, func=func)
    return cols, a, codes


def _items(data: pd.DataFrame, items: Sequence[str], *, func: str) -> list[str]:
    if isinstance(items, str):
        items = [items]
    if items is None or len(list(items)) == 0:
        raise DataError(f"{func}: give the item columns of the scale (a list of names)")
    return resolve_items(data, list(items))


@public(
    constraints={
        "n": [Interval(Integral, 2, None)],
        "n_items": [Interval(Integral, 1, None)],
        "n_options": [Interval(Integral, 2, None)],
        "n_sim": [Interval(Integral, 1, None)],
        "quantiles": [
            Predicate(
                lambda v: (
                    ARRAY.accepts(v)
                    and len(v) > 0
                    and all(Interval(Real, 0, 1, closed="neither").accepts(q) for q in v)
                ),
                "a list of probabilities in (0, 1)",
                lambda: (0.9, 0.95),
                [(0.5, 1.5), 0.95],
            )
        ],
        "seed": [SEED],
    },
    old_positional=("n_items",),
)
def rwg_j_null(
    n: int,
    *,
    n_items: int,
    n_options: int = 5,
    n_sim: int = 10_000,
    quantiles: Sequence[float] = (0.90, 0.95, 0.99),
    seed: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    r"""Simulated null distribution of :math:`r_{wg(j)}` for a community of ``n`` respondents.

    Each of ``n_sim`` simulated communities has ``n`` respondents answering ``n_items`` items
    uniformly at random on codes ``1..n_options``; :math:`r_{wg(j)}` is computed with the uniform
    null variance :math:`(A^2-1)/12` and truncation. All simulations are drawn and scored at once
    (in memory-bounded chunks of simulations).

    Parameters
    ----------
    n : int
        Community size (>= 2).
    n_items : int
        Number of items :math:`J` (>= 1; 1 gives the null of :math:`r_{wg}`).
    n_options : int, default=5
        Number of response options :math:`A`.
    n_sim : int, default=10_000
        Number of simulated communities.
    quantiles : sequence of float, default=(0.90, 0.95, 0.99)
        Levels of the reported quantiles, in (0, 1).
    seed : int or Generator, optional
        Seed of :func:`numpy.random.default_rng`; same seed, same result.

    Returns
    -------
    DataFrame
        One row per quantile: ``quantile``, ``rwg_j`` (type-1 quantile: the smallest simulated
        value whose cumulative proportion reaches the level, R ``quantile(type = 1)``),
        ``rwg_j_multilevel`` (the rule of ``multilevel::quantile.agree.sim``: the next distinct
        simulated value above that one), and the run's ``n, n_items, n_options, ranvar, n_sim,
        mean, sd, p_zero`` (share of simulations truncated to 0).

    Notes
    -----
    An observed :math:`r_{wg(j)}` above the 95 % quantile is unlikely (p < .05) under random
    responding (Dunlap et al. 2003; Cohen, Doveh & Eick 2001). Matches R
    ``multilevel::rwg.j.sim(gsize, nitems, nresp, nrep)`` with ``quantile.agree.sim`` in
    distribution (Monte Carlo; the random streams differ); the quantile rules are tested on R's
    own draws.

    References
    ----------
    .. [1] Dunlap, W. P., Burke, M. J., & Smith-Crowe, K. (2003). Accurate tests of statistical
       significance for r_WG and average deviation interrater agreement indexes. *Journal of
       Applied Psychology*, 88(2), 356-362.
    .. [2] Cohen, A., Doveh, E., & Eick, U. (2001). Statistical properties of the r_WG(J)
       index of agreement. *Psychological Methods*, 6(3), 297-310.

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> res = ce.rwg_j_null(10, n_items=5, n_sim=2000, seed=1)
    >>> list(res.columns[:3])
    ['quantile', 'rwg_j', 'rwg_j_multilevel']
    >>> bool((res["rwg_j"].diff().dropna() >= 0).all())
    True
    """
    for name, value, low in (("n", n, 2), ("n_items", n_items, 1), ("n_options", n_options, 2)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise DataError(f"rwg_j_null: {name} must be an integer >= {low}; got {value!r}")
        if value < low:
            raise DataError(f"rwg_j_null: {name} must be >= {low}; got {value}")
    if isinstance(n_sim, (bool, np.bool_)) or not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise DataError(f"rwg_j_null: n_sim must be a positive integer; got {n_sim!r}")
    q = np.asarray(list(quantiles), dtype=np.float64)
    if q.ndim != 1 or len(q) == 0 or not np.all((q > 0) & (q < 1)):
        raise DataError(f"rwg_j_null: quantiles must be levels in (0, 1); got {quantiles!r}")
    rng = as_generator(seed)
    draws = simulate_rwg_j(int(n), int(n_items), int(n_options), int(n_sim), rng)
    out = null_summary(draws, q.tolist())
    out["n"] = int(n)
    out["n_items"] = int(n_items)
    out["n_options"] = int(n_options)
    out["ranvar"] = (n_options**2 - 1) / 12.0
    out["n_sim"] = int(n_sim)
    out["mean"] = float(draws.mean())
    out["sd"] = float(draws.std(ddof=1)) if n_sim > 1 else float("nan")
    out["p_zero"] = float((draws == 0).mean())
    return out

r"""Internal consistency of a scale: Cronbach's alpha with item analysis and CIs, and omega.

All three functions take respondents in rows and items in columns, reverse keyed items first
(``keys``) and follow R ``psych`` conventions, which the tests check number by number against
``psych::alpha``, ``psych::omega``/``psych::fa`` and ``lavaan::cfa`` + ``semTools::compRelSEM``
(fixtures written by ``tests/fixtures/r/reliability.R``).

:func:`cronbach_alpha` computes every community at once when given ``community=``: one vectorised
pass over the data (per-group sums and cross-products by ``bincount`` over the item pairs), with
the same values as calling it on each community alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_choice, check_ci
from collective_efficacy._groups import factorize_groups
from collective_efficacy._moments import group_counts
from collective_efficacy._params import (
    CI,
    COLUMN,
    SEED,
    Interval,
    Options,
    as_generator,
    public,
)
from collective_efficacy.errors import ParameterError
from collective_efficacy.prepared import accepts_prepared, memo
from collective_efficacy.reliability._common import (
    _NEG_TOL,
    SCALE_CONSTRAINTS,
    NanPolicy,
    ResponseRange,
)
from collective_efficacy.reliability._core import (
    alpha_stats,
    feldt_ci,
    pairwise_moments,
)
from collective_efficacy.reliability._input import (
    combine_notes,
    join_names,
    none_if_empty,
    prepare,
    structural_checks,
)
from collective_efficacy.reliability._pooled import item_moments, item_moments_key
from collective_efficacy.reliability.items import _warn_single, item_statistics
from collective_efficacy.reliability.omega import OmegaItem, OmegaResult, omega
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design.weights import weighted_cronbach

__all__ = ["OmegaItem", "OmegaResult", "cronbach_alpha", "item_statistics", "omega"]


ALPHA_COLUMNS = [
    "alpha",
    "std_alpha",
    "g6",
    "average_r",
    "median_r",
    "var_r",
    "signal_noise",
    "ase",
    "ci_low",
    "ci_high",
    "confidence",
    "ci_method",
    "n",
    "n_items",
    "mean",
    "sd",
    "reversed_suspect",
    "suspect_items",
    "note",
]


def _group_notes(
    items: list[str],
    n_rows: np.ndarray,
    n_pair: np.ndarray,
    cov: np.ndarray,
    alpha: np.ndarray,
    suspect: np.ndarray,
) -> np.ndarray:
    """Reasons for NaN results and warnings, one per group (vectorised over the groups that
    have one; the others get None without any string work)."""
    k = len(items)
    few = n_rows < 2
    diag_n = np.diagonal(n_pair, axis1=1, axis2=2)
    diag_c = np.diagonal(cov, axis1=1, axis2=2)
    iu, ju = np.triu_indices(k, 1)
    pair_bad = (n_pair[:, iu, ju] < 2) & (diag_n[:, iu] >= 2) & (diag_n[:, ju] >= 2)
    unanswered = (diag_n < 2) & ~few[:, None]
    zero_var = (diag_c == 0) & (diag_n >= 2)
    negative = alpha < 0
    rows = np.flatnonzero(few | unanswered.any(1) | zero_var.any(1) | pair_bad.any(1) | negative)
    out = np.full(len(n_rows), None, dtype=object)
    if len(rows) == 0:
        return out
    few, negative = few[rows], negative[rows]
    few_rows = np.where(
        few, "fewer than 2 respondents (n=" + n_rows[rows].astype(np.int64).astype(str) + ")", ""
    ).astype(object)
    parts = [few_rows]
    for mask, names, head, tail in (
        (unanswered, items, "item(s) answered by fewer than 2 respondents: ", ""),
        (zero_var, items, "no variance in item(s) ", ""),
        (
            pair_bad,
            [f"{items[i]} & {items[j]}" for i, j in zip(iu.tolist(), ju.tolist())],
            "covariance undefined: item pair(s) ",
            " answered together by fewer than 2 respondents",
        ),
    ):
        joined = join_names(mask[rows], names)
        parts.append(np.where(joined != "", head + joined + tail, ""))
    sus = join_names(suspect[rows], items)
    neg = np.where(
        negative,
        "negative alpha: the items covary negatively on average, so alpha is not a reliability "
        "here (a reverse-keyed item not reversed, or items not measuring one construct)",
        "",
    ).astype(object)
    parts.append(np.where(negative & (sus != ""), neg + "; suspect item(s): " + sus, neg))
    out[rows] = combine_notes(parts)
    return out


def _bootstrap_alpha(
    x: np.ndarray, codes: np.ndarray, n_groups: int, *, n_boot: int, seed: Any, ci: float
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap of raw alpha, resampling respondents within each group."""
    rng = as_generator(seed)
    k = x.shape[1]
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    counts = group_counts(codes, n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    seg_start = starts[sorted_codes]
    seg_n = counts[sorted_codes]
    boot = np.empty((n_boot, n_groups))
    for b in range(n_boot):  # loop over replicates; each replicate is one vectorised pass
        pick = order[seg_start + np.floor(rng.random(len(order)) * seg_n).astype(np.int64)]
        cov = pairwise_moments(x[pick], sorted_codes, n_groups).cov
        tr = np.trace(cov, axis1=1, axis2=2)
        tot = cov.sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            boot[b] = (1.0 - tr / tot) * k / (k - 1.0)
    p = (1.0 - ci) / 2.0
    finite = np.isfinite(boot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN groups -> NaN bounds
        low = np.nanquantile(boot, p, axis=0)
        high = np.nanquantile(boot, 1.0 - p, axis=0)
    ok = finite.sum(axis=0) >= max(2, n_boot // 2)
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


@accepts_prepared
@summary_route("cronbach_alpha")
@public(
    constraints={
        **SCALE_CONSTRAINTS,
        "community": [COLUMN, None],
        "ci": [CI],
        "ci_method": [Options(("feldt", "duhachek", "bootstrap"))],
        "ci_z": [Interval(Real, 0, None, closed="neither"), None],
        "n_boot": [Interval(Integral, 2, None)],
        "seed": [SEED],
    },
    renamed={"group": "community", "response_range": "scale_range"},
    old_positional=("items",),
)
def cronbach_alpha(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    keys: Any = None,
    community: str | None = None,
    nan_policy: NanPolicy = "pairwise",
    ci: float = 0.95,
    ci_method: Literal["feldt", "duhachek", "bootstrap"] = "feldt",
    ci_z: float | None = None,
    n_boot: int = 1000,
    seed: int | np.random.Generator | None = None,
    scale_range: ResponseRange = None,
    weight: str | None = None,
) -> pd.DataFrame:
    r"""Cronbach's alpha with psych's companion statistics, overall or per community.

    Parameters
    ----------
    data : DataFrame of shape (n_respondents, ...)
        One row per respondent. Not modified.
        A polars, pyarrow, DuckDB or Dask frame is summed per community inside its engine
        (only that table is collected; bootstrap intervals, ``weight`` and ``listwise`` collect the rows); a
        :class:`~collective_efficacy.CommunitySummary` gives the same result from the sums
        (see *Large and shared data*).
    items : list of str, optional
        Item columns; default every column except ``community``.
    keys : list, dict, array or Instrument, optional
        Reverse keying: ``["SC1", "-SC3"]``, ``{"SC3": -1}``, ``[1, 1, -1]`` or an object with
        ``.reverse_keys()`` (an Instrument). A reversed item becomes ``min + max - x``.
    community : str, optional
        Community column: one row per community, all computed in one vectorised pass.
    nan_policy : {"pairwise", "listwise"}, default="pairwise"
        Missing data, see Notes.
    ci : float, default=0.95
        Confidence level.
    ci_method : {"feldt", "duhachek", "bootstrap"}, default="feldt"
        Interval for alpha, see Notes.
    ci_z : float, optional
        ``ci_method="duhachek"`` only: the multiplier of ``ase`` instead of
        :math:`z_{1-p/2}`; ``ci_z=1.96`` reproduces the bounds ``psych::alpha`` prints
        (``alpha +/- 1.96 * ase``). ``confidence`` is then :math:`2\Phi(z) - 1`.
    n_boot : int, default=1000
        Bootstrap replicates (``ci_method="bootstrap"``).
    seed : int or Generator, optional
        Seed of the bootstrap.
    scale_range : (min, max) or dict item -> (min, max), optional
        Response-scale bounds for reversing items (only ``mean`` and ``sd`` depend on them).
        Default: with an Instrument as ``keys``, each item's response scale (its lowest and
        highest code, as :func:`~collective_efficacy.score` uses); else the smallest and largest
        value of the whole item matrix, as ``psych::alpha`` does. (``response_range=`` before
        1.0.)
    weight : str, optional
        Survey weight column (finite, > 0): alpha from the weighted covariance matrix,
        ``psych::alpha(cov.wt(x, wt)$cov)`` (unbiased ``cov.wt``), on complete cases only
        (``nan_policy="pairwise"`` raises when an item is missing). The result then has
        ``alpha, std_alpha, g6, average_r, median_r, var_r, signal_noise, n, n_eff,
        sum_weights, n_items, mean, sd, nan_policy, note`` (no interval: its sampling theory
        under weights is not established); ``mean``/``sd`` are weighted (``cov.wt``).

    Returns
    -------
    DataFrame
        One row (or one row per community, the first column named as ``community``) with columns
        ``alpha, std_alpha, g6, average_r, median_r, var_r, signal_noise, ase, ci_low, ci_high,
        confidence, ci_method, n, n_items, mean, sd, reversed_suspect, suspect_items, note``.
        ``mean``/``sd`` describe the scale score (mean of the answered keyed items);
        ``reversed_suspect`` (bool, as in :func:`item_statistics`) is True when an item's
        item-rest correlation is negative and ``suspect_items`` names those items (None when
        there is none; before 1.0 ``reversed_suspect`` held the names); ``note`` says why a
        value is NaN or suspicious (None when all is well).

    Raises
    ------
    DataError
        Fewer than 2 items, non-numeric cells, unknown columns or keys. Without ``community`` also an
        item without answers or without variance, or fewer than 2 respondents.

    Warns
    -----
    ReliabilityWarning
        Without ``community``: an item correlates negatively with the rest (reverse coding likely
        missing), alpha is negative, or a covariance is undefined. With ``community`` the same
        findings go to ``reversed_suspect``/``suspect_items`` and ``note`` instead (no warning
        per community).

    Notes
    -----
    With :math:`C` the covariance matrix of the :math:`k` keyed items, :math:`R` the matching
    correlation matrix and :math:`\bar r` the mean off-diagonal correlation:

    .. math::

        \alpha = \frac{k}{k-1}\Bigl(1 - \frac{\operatorname{tr} C}{\mathbf 1' C \mathbf 1}\Bigr),
        \quad
        \alpha_{std} = \frac{k}{k-1}\Bigl(1 - \frac{k}{\mathbf 1' R \mathbf 1}\Bigr),
        \quad
        G_6 = 1 - \frac{k - \sum_i \mathrm{smc}_i}{\mathbf 1' R \mathbf 1},
        \quad
        S/N = \frac{k \bar r}{1 - \bar r}

    with :math:`\mathrm{smc}_i = 1 - 1/(R^{+})_{ii}` (pseudo-inverse, clipped to [0, 1]).
    ``median_r``/``var_r`` are the median and variance of the off-diagonal correlations. The
    asymptotic standard error (Duhachek & Iacobucci 2004, in psych's form) is
    :math:`\mathrm{ase} = \sqrt{Q/n}` with

    .. math::

        Q = \frac{2k^2}{(k-1)^2 (\mathbf 1'C\mathbf 1)^3}\Bigl[\mathbf 1'C\mathbf 1
        \bigl(\operatorname{tr} C^2 + (\operatorname{tr} C)^2\bigr)
        - 2 \operatorname{tr} C \, \mathbf 1' C^2 \mathbf 1\Bigr].

    Intervals: ``feldt`` (Feldt, Woodruff & Salih 1987; ``psych::alpha.ci``)
    :math:`[1 - (1-\alpha) F_{1-p/2}, 1 - (1-\alpha) F_{p/2}]` with :math:`F` on
    :math:`(n-1, (n-1)(k-1))` df and :math:`p = 1 - ci`; ``duhachek``
    :math:`\alpha \pm z_{1-p/2}\,\mathrm{ase}` (psych prints it with :math:`z = 1.96`; pass
    ``ci_z=1.96`` for psych's printed bounds); ``bootstrap``:
    percentile interval of alpha over ``n_boot`` resamples of respondents (within each
    community), NaN when fewer than half the replicates give a finite alpha.

    Missing data. ``pairwise`` (psych's default ``use="pairwise"``): each covariance uses the
    respondents who answered both items and each variance every respondent who answered the item
    (``cov(x, use="pairwise")``); :math:`R` is ``cov2cor`` of that matrix. ``listwise``: only
    respondents who answered every item (psych on ``na.omit(x)``). ``n`` counts respondents with
    at least one answered item (pairwise) or complete respondents (listwise) and is the ``n`` of
    the CIs and ``ase``. psych counts all rows, which differs only when a row answers no item.
    When two items were never answered together by 2 respondents their covariance is undefined:
    the row is NaN and ``note`` names the pair (pingouin silently returns a number there).

    Per community, groups with fewer than 2 respondents, an unanswered or constant item, or an
    undefined covariance get NaN with the reason in ``note``. Reversal bounds come from the whole
    data (so every community is reversed alike); pass ``scale_range`` to fix them.

    Matches R ``psych::alpha(x, keys = c("SC3"), use = "pairwise")`` (``$total``, ``$feldt``;
    listwise: ``psych::alpha(na.omit(x), ...)``), psych 2.2.9: closed forms agree to 1e-10.
    pingouin's documented values (0.591719 [0.195, 0.840]; 0.732661 pairwise) are reproduced.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       Psychometrika, 16, 297-334.
    .. [2] Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
       coefficient alpha. Applied Psychological Measurement, 11, 93-103.
    .. [3] Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE). Journal of Applied
       Psychology, 89, 792-808.
    .. [4] Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10.
    .. [5] Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and Personality
       Research. R package 2.2.9.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"SC1": [4, 5, 3, 2, 4, 5, 3, 2], "SC2": [4, 3, 3, 2, 5, 4, 2, 3],
    ...                    "SC3": [2, 1, 4, 4, 2, 2, 3, 3], "SC4": [5, 4, 2, 3, 4, 5, 3, 1],
    ...                    "nbh": ["A"] * 4 + ["B"] * 4})
    >>> items = ["SC1", "SC2", "SC3", "SC4"]
    >>> res = ce.cronbach_alpha(df, items=items, keys=["-SC3"])
    >>> res[["alpha", "std_alpha", "ci_low", "ci_high", "n"]].round(4)
        alpha  std_alpha  ci_low  ci_high  n
    0  0.8822     0.8855  0.6502   0.9735  8
    >>> ce.cronbach_alpha(df, items=items, keys=["-SC3"], community="nbh")[["nbh", "alpha", "n"]].round(4)
      nbh   alpha  n
    0   A  0.8928  4
    1   B  0.8851  4
    """
    func = "cronbach_alpha"
    if weight is not None:
        return weighted_cronbach(
            data, items, keys=keys, community=community, nan_policy=nan_policy,
            response_range=scale_range, weight=weight,
        )  # fmt: skip
    ci = check_ci(ci)
    check_choice("ci_method", ci_method, ("feldt", "duhachek", "bootstrap"), func=func)
    _check_ci_z(ci_z, ci_method, func)
    exclude = [community] if community is not None else []
    prep = prepare(
        data,
        items,
        keys=keys,
        nan_policy=nan_policy,
        response_range=scale_range,
        func=func,
        exclude=exclude,
    )
    if community is None:
        structural_checks(prep, data, func)
        codes = np.zeros(len(prep.x), dtype=np.int64)
        n_groups = 1
        labels: pd.Index | None = None
    else:
        gi = factorize_groups(data, community)
        codes = gi.codes if len(prep.rows) == len(gi.codes) else gi.codes[prep.rows]
        n_groups = gi.n_groups
        labels = gi.labels

    mom = (
        memo(data, item_moments_key(prep.x), lambda: item_moments(prep.x)).pairwise
        if community is None
        else memo(
            data,
            ("pairwise_moments", id(prep.x), repr(community)),
            lambda: pairwise_moments(
                prep.x,
                codes,
                n_groups,
                score=True,
                sizes=gi.counts if codes is gi.codes else None,  # (hints: one pass fewer each)
                value_range=prep.value_range,
            ),
        )
    )
    boot = (
        (lambda: _bootstrap_alpha(prep.x, codes, n_groups, n_boot=n_boot, seed=seed, ci=ci))
        if ci_method == "bootstrap"
        else None
    )
    score = mom.score  # the scale score's moments, from the same passes as the covariances
    assert score is not None
    mean, sd = score.mean, score.sd
    return alpha_frame(
        prep.items, mom.cov, mom.n_pair, mom.n_rows, mean, sd,
        ci=ci, ci_method=ci_method, boot=boot, labels=labels, community=community, ci_z=ci_z,
    )  # fmt: skip


def alpha_frame(
    items: list[str],
    cov: np.ndarray,
    n_pair: np.ndarray,
    n: np.ndarray,
    mean: np.ndarray,
    sd: np.ndarray,
    *,
    ci: float,
    ci_method: str,
    boot: Any,
    labels: pd.Index | None,
    community: str | None,
    ci_z: float | None = None,
) -> pd.DataFrame:
    """The alpha table from per-group pairwise moments (rows or a summary: one code path)."""
    k = len(items)
    st = alpha_stats(cov, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ase = np.where(n > 0, np.sqrt(st.q / np.maximum(n, 1.0)), np.nan)
    if ci_method == "feldt":
        ci_low, ci_high = feldt_ci(st.alpha, n, k, ci)
    elif ci_method == "duhachek":
        ci_low, ci_high, ci = _duhachek(st.alpha, ase, ci, ci_z)
    else:
        ci_low, ci_high = boot()
        ci_low = np.where(st.defined, ci_low, np.nan)
        ci_high = np.where(st.defined, ci_high, np.nan)
    suspect = np.nan_to_num(st.r_drop, nan=0.0) < -_NEG_TOL
    sus_names = join_names(suspect, items)
    note = _group_notes(items, n, n_pair, cov, st.alpha, suspect)
    out = pd.DataFrame(
        {
            **st.columns(),
            "ase": ase,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "confidence": ci,
            "ci_method": ci_method,
            "n": n.astype(np.int64),
            "n_items": k,
            "mean": mean,
            "sd": sd,
            "reversed_suspect": suspect.any(axis=1),  # bool, as in item_statistics
            "suspect_items": pd.Series(none_if_empty(sus_names), dtype=object),
            "note": pd.Series(note, dtype=object),
        }
    )
    if labels is not None:
        out.insert(0, str(community), labels)
        return out
    _warn_single(items, st.r_drop[0], note[0])
    return out


def _check_ci_z(ci_z: float | None, ci_method: str, func: str) -> None:
    if ci_z is not None and ci_method != "duhachek":
        raise ParameterError(
            f"ci_z is the multiplier of the Duhachek interval; pass ci_method='duhachek' with it "
            f"(got ci_method={ci_method!r}) (in {func}())",
            argument="ci_z",
        )


def _duhachek(
    alpha: np.ndarray, ase: np.ndarray, ci: float, ci_z: float | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """alpha -/+ z ase with z = z_{1-p/2} or ``ci_z`` (then the level is 2 Phi(z) - 1)."""
    z = float(_dist.norm_ppf(0.5 + ci / 2.0)) if ci_z is None else float(ci_z)
    level = ci if ci_z is None else float(2.0 * _dist.norm_cdf(z) - 1.0)
    return alpha - z * ase, alpha + z * ase, level

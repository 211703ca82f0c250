"""Item statistics: item-rest correlations and alpha if an item is deleted."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import (
    public,
)
from collective_efficacy.errors import ReliabilityWarning
from collective_efficacy.prepared import accepts_prepared, memo
from collective_efficacy.reliability._common import (
    _NEG_TOL,
    SCALE_CONSTRAINTS,
    NanPolicy,
    ResponseRange,
)
from collective_efficacy.reliability._core import alpha_stats, item_correlations
from collective_efficacy.reliability._input import prepare, structural_checks
from collective_efficacy.reliability._pooled import item_moments, item_moments_key
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design.weights import weighted_item_statistics

__all__ = ["item_statistics", "item_table"]


def _warn_single(items: list[str], r_drop: np.ndarray, note: str | None) -> None:
    """Ungrouped calls: turn suspicious findings into one ReliabilityWarning each."""
    bad = [f"{c} (item-rest r = {r:.3f})" for c, r in zip(items, r_drop) if r < -_NEG_TOL]
    if bad:
        warnings.warn(
            f"item(s) {', '.join(bad)} correlate negatively with the rest of the scale: "
            "reverse-coding likely missing. Pass keys=['-ITEM', ...] if the item is negatively "
            "worded.",
            ReliabilityWarning,
            stacklevel=4,
        )
    if note is not None:
        warnings.warn(note, ReliabilityWarning, stacklevel=4)


@accepts_prepared
@summary_route("item_statistics")
@public(
    constraints=SCALE_CONSTRAINTS,
    renamed={"response_range": "scale_range"},
    old_positional=("items",),
)
def item_statistics(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    keys: Any = None,
    nan_policy: NanPolicy = "pairwise",
    scale_range: ResponseRange = None,
    weight: str | None = None,
) -> pd.DataFrame:
    r"""Item analysis: item-total correlations and alpha if the item is dropped.

    Parameters
    ----------
    data : DataFrame
        One row per respondent. Not modified.
    items : list of str, optional
        Item columns (default: all columns).
    keys : list, dict, array or Instrument, optional
        Reverse keying, as in :func:`cronbach_alpha`.
    nan_policy : {"pairwise", "listwise"}, default="pairwise"
        Missing data, as in :func:`cronbach_alpha`.
    scale_range : (min, max) or dict, optional
        Reversal bounds (affect ``mean`` only), as in :func:`cronbach_alpha`.
    weight : str, optional
        Survey weight column: every statistic from the weighted covariance on complete cases,
        as ``psych::alpha(cov.wt(x, wt)$cov)`` (``$alpha.drop``, ``$item.stats``); ``n`` is the
        number of complete respondents, ``mean``/``sd`` are weighted, ``r`` is computed from
        the covariance; the ``*_if_dropped`` columns stop at ``average_r_if_dropped``.

    Returns
    -------
    DataFrame
        One row per item: ``item, reversed, n, mean, sd, r, r_std, r_cor, r_drop,
        alpha_if_dropped, std_alpha_if_dropped, g6_if_dropped, average_r_if_dropped,
        median_r_if_dropped, var_r_if_dropped, signal_noise_if_dropped, ase_if_dropped,
        reversed_suspect, note``. ``mean``/``sd`` are those of the keyed item.

    Warns
    -----
    ReliabilityWarning
        When an item correlates negatively with the rest (``reversed_suspect`` is True).

    Notes
    -----
    With :math:`C`, :math:`R` as in :func:`cronbach_alpha`, :math:`T` the scale score (mean of
    the answered keyed items) and :math:`R^{*}` equal to :math:`R` with the SMCs on the diagonal:

    .. math::

        r_i = \operatorname{cor}(T, x_i),\quad
        r^{std}_i = \frac{\sum_j R_{ij}}{\sqrt{\mathbf 1'R\mathbf 1}},\quad
        r^{cor}_i = \frac{\sum_j R^{*}_{ij}}{\sqrt{\mathbf 1'R^{*}\mathbf 1}},\quad
        r^{drop}_i = \frac{\sum_{j\ne i} C_{ij}}{\sqrt{C_{ii}\sum_{j,l\ne i} C_{jl}}}

    ``*_if_dropped`` recompute the :func:`cronbach_alpha` statistics on :math:`C` and :math:`R`
    without row and column :math:`i` (psych's ``alpha.drop``). With 2 items they are NaN (a
    single item has no internal consistency; psych prints other numbers there).
    ``reversed_suspect`` is ``r_drop < 0``.

    Missing data: as :func:`cronbach_alpha`; ``n`` counts the answers to the item; ``r`` uses
    the respondents who answered the item; ``ase_if_dropped`` uses the ``n`` of the scale.

    Matches R ``psych::alpha(x, keys = ...)$item.stats`` (``n, raw.r, std.r, r.cor, r.drop,
    mean, sd``) and ``$alpha.drop``, psych 2.2.9, to 1e-10.

    References
    ----------
    .. [1] Revelle, W. (2022). psych, R package 2.2.9, ``alpha``.
    .. [2] Cronbach, L. J. (1951). Psychometrika, 16, 297-334.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"SC1": [4, 5, 3, 2, 4, 5, 3, 2], "SC2": [4, 3, 3, 2, 5, 4, 2, 3],
    ...                    "SC3": [2, 1, 4, 4, 2, 2, 3, 3], "SC4": [5, 4, 2, 3, 4, 5, 3, 1]})
    >>> st = ce.item_statistics(df, keys=["-SC3"])
    >>> st[["item", "reversed", "mean", "r_drop", "alpha_if_dropped"]].round(4)
      item  reversed   mean  r_drop  alpha_if_dropped
    0  SC1     False  3.500  0.8835            0.7923
    1  SC2     False  3.250  0.5938            0.9009
    2  SC3      True  3.375  0.7884            0.8360
    3  SC4     False  3.375  0.7566            0.8535
    """
    func = "item_statistics"
    if weight is not None:
        return weighted_item_statistics(
            data, items, keys=keys, nan_policy=nan_policy, response_range=scale_range,
            weight=weight,
        )  # fmt: skip
    prep = prepare(
        data, items, keys=keys, nan_policy=nan_policy, response_range=scale_range, func=func
    )
    structural_checks(prep, data, func)
    im = memo(data, item_moments_key(prep.x), lambda: item_moments(prep.x))
    mom = im.pairwise
    n_item = np.diagonal(mom.n_pair[0])
    sds = np.sqrt(np.diagonal(mom.cov[0]))
    return item_table(
        prep.items, prep.signs, mom.cov, mom.n_pair[0], float(mom.n_rows[0]), n_item,
        im.mean, sds, im.r_total,
    )  # fmt: skip


def item_table(
    names: list[str],
    signs: np.ndarray,
    cov: np.ndarray,
    n_pair: np.ndarray,
    n_scale: float,
    n_item: np.ndarray,
    means: np.ndarray,
    sds: np.ndarray,
    r_total: np.ndarray,
) -> pd.DataFrame:
    """The :func:`item_statistics` table from the pooled pairwise covariance ``cov`` (1, k, k),
    its pair counts, the respondents of the scale, and per item its count, mean, sd and
    correlation with the scale score (shared by the row and the summary path)."""
    k = len(names)
    c = cov[0]
    st = alpha_stats(cov)
    _, r_std, r_cor, _ = item_correlations(c, bool(st.defined[0]))
    drop_cols = ["alpha", "std_alpha", "g6", "average_r", "median_r", "var_r", "signal_noise"]
    dropped: dict[str, np.ndarray] = {f"{c_}_if_dropped": np.full(k, np.nan) for c_ in drop_cols}
    dropped["ase_if_dropped"] = np.full(k, np.nan)
    if k > 2:
        idx = np.array([[j for j in range(k) if j != i] for i in range(k)])
        sub = c[idx[:, :, None], idx[:, None, :]]  # (k, k-1, k-1)
        sd_ = alpha_stats(sub)
        for c_ in drop_cols:
            dropped[f"{c_}_if_dropped"] = getattr(sd_, c_)
        with np.errstate(invalid="ignore"):
            dropped["ase_if_dropped"] = np.sqrt(sd_.q / n_scale)
    r_drop = st.r_drop[0]
    suspect = np.nan_to_num(r_drop, nan=0.0) < -_NEG_TOL
    iu, ju = np.triu_indices(k, 1)
    undefined = n_pair < 2
    notes: list[str | None] = []
    for i in range(k):  # loop over items
        parts = []
        if suspect[i]:
            parts.append("correlates negatively with the rest: reverse-coding likely missing")
        others = [names[j] for j in range(k) if j != i and undefined[i, j]]
        if others:
            parts.append(
                f"covariance undefined with {', '.join(others)} (answered together by fewer "
                "than 2 respondents)"
            )
        notes.append("; ".join(parts) or None)
    out = pd.DataFrame(
        {
            "item": names,
            "reversed": signs < 0,
            "n": n_item.astype(np.int64),
            "mean": means,
            "sd": sds,
            "r": r_total,
            "r_std": r_std,
            "r_cor": r_cor,
            "r_drop": r_drop,
            **dropped,
            "reversed_suspect": suspect,
            "note": pd.Series(notes, dtype=object),
        }
    )
    bad_pairs = [f"{names[i]} & {names[j]}" for i, j in zip(iu, ju) if undefined[i, j]]
    pair_note = (
        f"covariance undefined: item pair(s) {', '.join(bad_pairs)} answered together by fewer "
        "than 2 respondents"
        if bad_pairs
        else None
    )
    _warn_single(names, r_drop, pair_note)
    return out

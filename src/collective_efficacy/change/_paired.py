r"""Paired before/after statistics of one set of respondents (private; re-exported by change).

:func:`paired_change` (paired t, Wilcoxon signed-rank with Hodges-Lehmann CI, rank-biserial,
d_z / d_av / d_rm / g) and :func:`reliable_change` (Jacobson & Truax RCI).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from collective_efficacy import _dist
from collective_efficacy._checks import check_ci
from collective_efficacy._params import ARRAY, BOOLEAN, CI, Interval, Options, public
from collective_efficacy.change._ranks import rank_biserial, wilcoxon_signed_rank
from collective_efficacy.change._stats import HEDGES_CORRECTIONS, PAIRED_VARIANTS, paired_stats
from collective_efficacy.errors import DataError

__all__ = ["ReliableChange", "paired_change", "reliable_change"]

_D_FORMULAS = {
    "z": "d_z = mean(diff) / sd(diff)",
    "av": "d_av = mean(diff) / sqrt((sd_before^2 + sd_after^2) / 2)  [effectsize]",
    "av_lakens": "d_av = mean(diff) / ((sd_before + sd_after) / 2)  [Lakens 2013]",
    "rm": "d_rm = d_z * sqrt(2 * (1 - r))  [Morris & DeShon 2002]",
}


def _as_vector(x: Any, name: str) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        raise DataError(f"{name} must be one-dimensional (a Series or array); got a DataFrame")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric; {exc}") from exc
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional; got shape {arr.shape}")
    if np.isinf(arr).any():
        pos = np.flatnonzero(np.isinf(arr))[:5].tolist()
        raise DataError(f"{name} has infinite value(s) at position(s) {pos}")
    return arr


def _pairs(before: Any, after: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = _as_vector(before, "before")
    a = _as_vector(after, "after")
    if a.shape != b.shape:
        raise DataError(
            f"before and after must have the same length (one pair per respondent); "
            f"got {b.size} and {a.size}"
        )
    ok = ~(np.isnan(a) | np.isnan(b))
    return b, a, ok


@public(
    constraints={
        "before": [ARRAY],
        "after": [ARRAY],
        "ci": [CI],
        "hedges_correction": [Options(HEDGES_CORRECTIONS)],
    }
)
def paired_change(
    before: Sequence[float] | np.ndarray | pd.Series,
    after: Sequence[float] | np.ndarray | pd.Series,
    *,
    ci: float = 0.95,
    hedges_correction: str = "exact",
) -> pd.DataFrame:
    r"""Every paired statistic of one set of before/after measurements, labelled.

    Parameters
    ----------
    before, after : array-like of float, same length
        Paired measurements (element i of both belongs to respondent i). Pairs with a missing
        value in either are dropped (listwise) and counted in ``n_dropped``.
    ci : float, default=0.95
    hedges_correction : {"exact", "approximate"}, default="exact"
        :math:`J(n-1)` of the ``g_*`` rows: exact (Gamma functions) or Hedges' (1981)
        approximation :math:`1 - 3/(4(n-1) - 1)`; the ``method`` column says which.

    Returns
    -------
    DataFrame, one row per statistic (``measure``): ``mean_difference`` (paired t-test),
    ``pseudo_median`` (Wilcoxon signed-rank test with the Hodges-Lehmann estimate),
    ``rank_biserial``, ``d_z``, ``d_av``, ``d_av_lakens``, ``d_rm``, ``g_z``, ``g_av``,
    ``g_av_lakens``, ``g_rm``. Columns: ``measure``, ``estimate``, ``ci_low``, ``ci_high``,
    ``statistic`` (t or V), ``df``, ``p``, ``n`` (pairs used; non-zero pairs for the rank
    statistics), ``n_dropped``, ``method`` (formula and CI method), ``confidence``, ``note``.

    Notes
    -----
    With :math:`D_i = \mathrm{after}_i - \mathrm{before}_i`, :math:`\bar D`, :math:`s_D`,
    :math:`r` = cor(before, after) and :math:`J = J(n-1)`:

    * paired t: :math:`t = \bar D/(s_D/\sqrt n)`, df = n - 1 (``t.test(paired = TRUE)``);
    * Wilcoxon: V = sum of the ranks of :math:`|D_i|` with :math:`D_i > 0`, zeros dropped; exact
      p and CI when n < 50 without ties or zeros, otherwise the normal approximation with tie and
      continuity correction; the estimate is the Hodges-Lehmann pseudo-median (median of the
      Walsh averages :math:`(D_i + D_j)/2`, i <= j) and the CI its inversion, as
      ``wilcox.test(after, before, paired = TRUE, conf.int = TRUE)``;
    * rank-biserial (Kerby 2014): :math:`r_{rb} = (T_+ - T_-)/(T_+ + T_-)`, positive when the
      scores went up, CI by Fisher's z with :math:`SE = \sqrt{(2n^3+3n^2+n)/6}/(n(n+1)/2)`
      (``effectsize::rank_biserial``);
    * :math:`d_z = \bar D/s_D` (noncentral-t CI), :math:`d_{av} = \bar D/\sqrt{(s_b^2+s_a^2)/2}`
      (effectsize), :math:`d_{av}^{L} = \bar D/((s_b+s_a)/2)` (Lakens 2013), :math:`d_{rm} =
      d_z\sqrt{2(1-r)}`; normal CIs with :math:`SE(d_{av}) = (s_D/\sqrt n)/s` and
      :math:`SE(d_{rm}) = \sqrt{(1/n + d_z^2/2n)\,2(1-r)}`; ``g_*`` = J times d and its limits.

    Validated against R 4.2 on ``lme4::sleepstudy`` (Days 9 vs 0): ``t.test`` (1e-10),
    ``wilcox.test`` exact (1e-12), normal with ties (1e-8 against ``tol.root = 1e-10``; R's
    default tolerance is 1e-4), ``effectsize::rank_biserial``, ``cohens_d(paired = TRUE)``.

    References
    ----------
    .. [1] Hollander, M. & Wolfe, D. A. (1999). Nonparametric Statistical Methods, 2nd ed.
    .. [2] Kerby, D. S. (2014). The simple difference formula. Compr. Psychol. 3, 11.IT.3.1.
    .. [3] Lakens, D. (2013). Front. Psychol. 4:863.
    .. [4] Morris, S. B. & DeShon, R. P. (2002). Psychol. Methods 7, 105-125.

    Examples
    --------
    >>> res = paired_change([3.0, 2.5, 3.5, 2.0, 3.0, 2.8], [3.5, 3.0, 3.6, 2.9, 3.1, 3.4])
    >>> keep = res["measure"].isin(["mean_difference", "pseudo_median", "g_av"])
    >>> res.loc[keep, ["measure", "estimate", "ci_low", "ci_high", "p"]].round(3)
               measure  estimate  ci_low  ci_high      p
    0  mean_difference     0.450   0.127    0.773  0.016
    1    pseudo_median     0.500   0.100    0.700  0.035
    8             g_av     0.914   0.413    1.414    NaN
    """
    ci = check_ci(ci)
    b, a, ok = _pairs(before, after)
    n_dropped = int((~ok).sum())
    b, a = b[ok], a[ok]
    n = b.size
    if n < 2:
        raise DataError(f"paired_change needs at least 2 complete pairs; got {n}")
    d = a - b
    one = np.ones(1)

    def var(x: np.ndarray) -> np.ndarray:
        return np.atleast_1d(np.var(x, ddof=1))

    st = paired_stats(
        n * one, b.mean() * one, a.mean() * one, var(b), var(a), var(d),
        ci=ci, hedges_correction=hedges_correction,
    )  # fmt: skip
    rows: list[dict[str, Any]] = []
    zero_var = float(var(d)[0]) == 0.0
    rows.append(
        {
            "measure": "mean_difference",
            "estimate": float(d.mean()),
            "ci_low": float(st["ci_low"][0]),
            "ci_high": float(st["ci_high"][0]),
            "statistic": float(st["t"][0]),
            "df": float(n - 1),
            "p": float(st["p"][0]),
            "n": n,
            "method": "paired t-test; CI mean(D) +/- t(n-1) * sd(D)/sqrt(n)",
            "note": "zero variance of the differences" if zero_var else None,
        }
    )
    w = wilcoxon_signed_rank(d, ci=ci)
    rows.append(
        {
            "measure": "pseudo_median",
            "estimate": w["estimate"],
            "ci_low": w["ci_low"],
            "ci_high": w["ci_high"],
            "statistic": w["statistic"],
            "df": np.nan,
            "p": w["p"],
            "n": w["n"],
            "method": w["method"] + "; Hodges-Lehmann estimate and CI",
            "note": "; ".join(
                x for x in (w["note"], f"{w['n_zero']} zero difference(s) dropped"
                            if w["n_zero"] else "") if x
            ) or None,
        }
    )  # fmt: skip
    rb, rlo, rhi, rn = rank_biserial(d, ci=ci)
    rows.append(
        {
            "measure": "rank_biserial",
            "estimate": rb,
            "ci_low": rlo,
            "ci_high": rhi,
            "statistic": np.nan,
            "df": np.nan,
            "p": np.nan,
            "n": rn,
            "method": "matched-pairs rank-biserial (Kerby 2014), (T+ - T-)/(T+ + T-); Fisher-z CI",
            "note": None,
        }
    )
    rows += _effect_rows(st, n, zero_var=zero_var, approximate=hedges_correction == "approximate")
    out = pd.DataFrame(rows)
    out["n_dropped"] = n_dropped
    out["confidence"] = ci
    cols = ["measure", "estimate", "ci_low", "ci_high", "statistic", "df", "p", "n"]
    return out[[*cols, "n_dropped", "method", "confidence", "note"]]


def _effect_rows(
    st: dict[str, Any], n: int, *, zero_var: bool, approximate: bool
) -> list[dict[str, Any]]:
    """The d_* and g_* rows of :func:`paired_change` (g = J(n-1) d, J exact or approximate)."""
    j = float(st["J"][0])
    j_text = f"; times J(n-1) = {j:.6g}" + (
        " (approximate: 1 - 3/(4(n-1) - 1))" if approximate else ""
    )
    rows = []
    for prefix, mult in (("d", 1.0), ("g", j)):
        for name in PAIRED_VARIANTS:
            est, lo, hi = (float(v[0]) * mult for v in st["effects"][name])
            ci_method = "noncentral-t CI" if name == "z" else "normal CI (effectsize)"
            label = _D_FORMULAS[name] + (j_text if prefix == "g" else "")
            rows.append(
                {
                    "measure": f"{prefix}_{name}",
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "statistic": np.nan,
                    "df": float(n - 1),
                    "p": np.nan,
                    "n": n,
                    "method": f"{label}; {ci_method}",
                    "note": "zero variance: undefined" if zero_var else None,
                }
            )
    return rows


class ReliableChange(BaseModel):
    """Jacobson & Truax reliable change of every respondent (JSON-ready)."""

    model_config = ConfigDict(extra="forbid")

    reliability: float = Field(description="r_xx used for the standard error of measurement")
    sd_before: float = Field(description="SD s_1 used (baseline SD unless given)")
    se_measurement: float = Field(description="s_1 * sqrt(1 - r_xx)")
    s_diff: float = Field(description="sqrt(2) * se_measurement")
    critical_value: float = Field(description="z_{1-alpha/2}; 1.96 for ci=0.95")
    threshold: float = Field(description="critical_value * s_diff, in score units")
    higher_is_better: bool
    n: int = Field(description="complete pairs")
    n_missing: int = Field(description="pairs with a missing value (RCI None)")
    n_improved: int
    n_declined: int
    n_unchanged: int
    share_improved: float
    share_declined: float
    share_unchanged: float
    diff: list[float | None] = Field(description="after - before per respondent")
    rci: list[float | None] = Field(description="(after - before) / s_diff per respondent")
    category: list[str | None] = Field(
        description="'improved', 'declined', 'no reliable change' or None (missing)"
    )

    def to_frame(self) -> pd.DataFrame:
        """One row per respondent: diff, rci, category."""
        return pd.DataFrame(
            {
                "diff": pd.array(self.diff, dtype="Float64").astype(float),
                "rci": pd.array(self.rci, dtype="Float64").astype(float),
                "category": self.category,
            }
        )


@public(
    constraints={
        "before": [ARRAY],
        "after": [ARRAY],
        "reliability": [Interval(Real, 0, 1, closed="neither")],
        "sd_before": [Interval(Real, 0, None, closed="neither"), None],
        "ci": [CI],
        "higher_is_better": [BOOLEAN],
    }
)
def reliable_change(
    before: Sequence[float] | np.ndarray | pd.Series,
    after: Sequence[float] | np.ndarray | pd.Series,
    *,
    reliability: float,
    sd_before: float | None = None,
    ci: float = 0.95,
    higher_is_better: bool = True,
) -> ReliableChange:
    r"""Jacobson & Truax (1991) reliable change index per respondent.

    Parameters
    ----------
    before, after : array-like of float, same length
        Scores of the same respondents at both waves (NaN allowed: that respondent gets None).
    reliability : float in (0, 1)
        Reliability of the score, e.g. Cronbach's alpha or omega at baseline.
    sd_before : float, optional
        SD :math:`s_1` of the baseline (or of a norm population). Default: the sample SD
        (ddof=1) of the non-missing ``before`` values of the complete pairs.
    ci : float, default=0.95
        Two-sided level of the criterion: :math:`|RC| > z_{1-\alpha/2}` (1.96 for 0.95).
    higher_is_better : bool, default=True
        Whether a reliable increase counts as "improved".

    Returns
    -------
    ReliableChange
        Per respondent ``diff``, ``rci`` and ``category`` (use ``.to_frame()``) and the shares
        reliably improved / declined / unchanged among the complete pairs.

    Notes
    -----
    .. math:: SE = s_1\sqrt{1-r_{xx}},\quad S_{diff} = \sqrt{2 SE^2},\quad
              RC_i = (x_{post,i} - x_{pre,i})/S_{diff}

    Matches ``MDMA::rci`` / the hand formula in tests/fixtures/r/change.R (abs tol 1e-12).

    References
    ----------
    .. [1] Jacobson, N. S. & Truax, P. (1991). J. Consult. Clin. Psychol. 59, 12-19.

    Examples
    --------
    >>> rc = reliable_change([10, 12, 15, 11], [18, 12, 14, 1], reliability=0.8, sd_before=7.5)
    >>> round(rc.s_diff, 6), rc.category
    (4.743416, ['no reliable change', 'no reliable change', 'no reliable change', 'declined'])
    """
    ci = check_ci(ci)
    if not isinstance(reliability, (int, float)) or not 0.0 < float(reliability) < 1.0:
        raise DataError(f"reliability must be a number in (0, 1); got {reliability!r}")
    b, a, ok = _pairs(before, after)
    if not ok.any():
        raise DataError("reliable_change needs at least one complete before/after pair")
    if sd_before is None:
        if ok.sum() < 2:
            raise DataError("sd_before cannot be estimated from one pair; pass sd_before=")
        s1 = float(np.std(b[ok], ddof=1))
    else:
        s1 = float(sd_before)
    if not np.isfinite(s1) or s1 <= 0:
        raise DataError(f"sd_before must be a positive number; got {s1!r}")
    se = s1 * np.sqrt(1.0 - float(reliability))
    s_diff = float(np.sqrt(2.0) * se)
    crit = float(_dist.norm_ppf(0.5 + ci / 2))
    diff = a - b
    rci = diff / s_diff
    sgn = 1.0 if higher_is_better else -1.0
    up = ok & (sgn * rci > crit)
    down = ok & (sgn * rci < -crit)
    cat = np.where(up, "improved", np.where(down, "declined", "no reliable change")).astype(object)
    cat[~ok] = None
    n = int(ok.sum())
    n_up, n_down = int(up.sum()), int(down.sum())

    def opt(v: np.ndarray) -> list[float | None]:
        return [float(x) if m else None for x, m in zip(v, ok)]

    return ReliableChange(
        reliability=float(reliability),
        sd_before=s1,
        se_measurement=float(se),
        s_diff=s_diff,
        critical_value=crit,
        threshold=crit * s_diff,
        higher_is_better=higher_is_better,
        n=n,
        n_missing=int((~ok).sum()),
        n_improved=n_up,
        n_declined=n_down,
        n_unchanged=n - n_up - n_down,
        share_improved=n_up / n,
        share_declined=n_down / n,
        share_unchanged=(n - n_up - n_down) / n,
        diff=opt(diff),
        rci=opt(rci),
        category=list(cat),
    )

r"""Baseline versus end-of-cycle: change per community and overall.

Public functions
----------------
* :func:`compare_waves` - per community (and overall) change in the mean score with t-test, CI,
  Hedges' g (independent waves) or the repeated-measures effect sizes (paired respondents),
  multiplicity control, and the multilevel overall wave effect.
* :func:`compare_waves_eb` - change in the empirical-Bayes (shrunken) community scores, with its
  posterior SD and the probability that a community improved.
* :func:`bootstrap_change` - seeded percentile / BCa bootstrap CIs of the change, all communities
  in one vectorised resampling pass.
* :func:`paired_change` - one set of paired measurements: paired t, Wilcoxon signed-rank with the
  Hodges-Lehmann estimate and CI, matched-pairs rank-biserial, d_z / d_av / d_rm and Hedges' g.
* :func:`reliable_change` - Jacobson & Truax reliable change index per respondent.
* :func:`p_adjust` - R's ``p.adjust``.

The sign convention is the same everywhere: differences are ``after - before``, so a positive
difference or effect size means the score went up. See ``docs/methods/change.md``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from numbers import Integral
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from collective_efficacy._checks import check_choice, check_ci
from collective_efficacy._params import (
    BOOLEAN,
    CI,
    COLUMN,
    FRAME,
    SEED,
    WAVE_LABEL,
    Interval,
    Options,
    public,
    seed_entropy,
)
from collective_efficacy.change._bootstrap import bootstrap_interval, bootstrap_means
from collective_efficacy.change._data import (
    OVERALL,
    TwoWaves,
    moments,
    pair_up,
    prepare,
    suppression,
    text_columns,
)
from collective_efficacy.change._paired import ReliableChange, paired_change, reliable_change
from collective_efficacy.change._stats import (
    P_ADJUST_METHODS,
    PAIRED_VARIANTS,
    independent_stats,
    p_adjust_array,
    paired_stats,
)
from collective_efficacy.change._survey import weighted_change
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.survey_design import SurveyDesign, resolve_design

#: parameters every two-wave comparison declares alike
_TWO_WAVES: dict[str, Sequence[Any]] = {
    "data": [FRAME],
    "dv": [COLUMN],
    "wave": [COLUMN],
    "before": [WAVE_LABEL],
    "after": [WAVE_LABEL],
    "ci": [CI],
    "min_n": [Interval(Integral, 2, None)],
    "nan_policy": [Options(("omit", "raise"))],
}

__all__ = [
    "ReliableChange",
    "bootstrap_change",
    "compare_waves",
    "compare_waves_eb",
    "p_adjust",
    "paired_change",
    "reliable_change",
]


def _check_min_n(min_n: int) -> int:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 2:
        raise DataError(f"min_n must be an integer >= 2; got {min_n!r}", argument="min_n")
    return int(min_n)


def _direction(diff: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Direction of a change: "no change" when ``|diff|`` is within rounding of 0.

    Rounding: ``|diff| <= 1e-8 * scale`` (``scale`` = ``|mean_before| + |mean_after|``); the
    REML wave effect is an optimiser result whose last digits are noise, so a difference of
    1e-16 must not be called an increase (and its swap a decrease).
    """
    tol = 0.0 if scale is None else 1e-8 * np.nan_to_num(np.abs(scale))
    out = np.full(diff.shape, None, dtype=object)
    out[diff > tol] = "increase"
    out[diff < -tol] = "decrease"
    out[np.abs(diff) <= tol] = "no change"
    return out


def _wave_scale(out: pd.DataFrame) -> np.ndarray:
    mb = out["mean_before"].to_numpy(dtype=np.float64)
    ma = out["mean_after"].to_numpy(dtype=np.float64)
    return np.abs(mb) + np.abs(ma)


@public(constraints={"method": [Options(P_ADJUST_METHODS)]}, old_positional=("method",))
def p_adjust(p: Sequence[float] | np.ndarray | pd.Series, *, method: str = "holm") -> np.ndarray:
    r"""Adjust p-values for multiple comparisons exactly as R's ``p.adjust``.

    Parameters
    ----------
    p : array-like of float
        p-values; NaN entries are kept in place and do not count towards the number of tests.
    method : {"holm", "hochberg", "BH", "fdr", "BY", "bonferroni", "none"}, default="holm"
        "fdr" is an alias of "BH" (as in R).

    Returns
    -------
    ndarray of float, same shape as ``p``.

    Notes
    -----
    With :math:`m` non-missing p-values sorted increasingly, :math:`p_{(1)}\le\dots\le p_{(m)}`:
    Bonferroni :math:`\min(1, m p_i)`; Holm (1979) :math:`\max_{j\le i}\min(1,(m-j+1)p_{(j)})`;
    Hochberg (1988) :math:`\min_{j\ge i}\min(1,(m-j+1)p_{(j)})`; Benjamini & Hochberg (1995)
    :math:`\min_{j\ge i}\min(1, m p_{(j)}/j)`; Benjamini & Yekutieli (2001) the same times
    :math:`\sum_{k=1}^m 1/k`. Holm and Hochberg control the family-wise error rate, BH and BY
    the false discovery rate (BY under any dependence).

    Validated against R ``p.adjust(p, method)`` (stats 4.2), abs tol 1e-12, including ties
    and NA.

    References
    ----------
    .. [1] Holm, S. (1979). Scand J Statist 6, 65-70.
    .. [2] Benjamini, Y. & Hochberg, Y. (1995). JRSS B 57, 289-300.

    Examples
    --------
    >>> p_adjust([0.01, 0.04, float("nan"), 0.03], method="holm").round(4)
    array([0.03, 0.06,  nan, 0.06])
    """
    check_choice("method", method, P_ADJUST_METHODS, func="p_adjust")
    arr = np.asarray(p, dtype=np.float64)
    bad = ~np.isnan(arr) & ((arr < 0) | (arr > 1))
    if bad.any():
        raise DataError(
            f"p-values must lie in [0, 1]; got {arr[bad][:5].tolist()} at position(s) "
            f"{np.flatnonzero(bad)[:5].tolist()}"
        )
    return p_adjust_array(arr, method)


def _overall_lmm(tw: TwoWaves, ci: float) -> dict[str, Any]:
    """score ~ wave + (1 | community) by REML; df by nlme's between/within rule."""
    from collective_efficacy.multilevel._lmm import fit_ri_lmm

    y, codes = tw.y, tw.codes
    used = np.unique(codes)
    remap = np.full(len(tw.labels), -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    c = remap[codes]
    x = np.column_stack([np.ones(y.size), tw.after.astype(np.float64)])
    out: dict[str, Any] = {"method": "lmm_reml", "reason": ""}
    try:
        fit = fit_ri_lmm(y, x, c, int(used.size), method="REML")
    except DataError as exc:
        out["reason"] = f"multilevel model not estimable: {exc}"
        return out
    both = np.bincount(c[tw.after], minlength=used.size) > 0
    both &= np.bincount(c[~tw.after], minlength=used.size) > 0
    # nlme::lme between/within df: a level-1 (within-community) term gets N - G - 1
    df = float(y.size - used.size - 1) if both.any() else float(used.size - 2)
    beta, se = float(fit.beta[1]), float(fit.beta_se[1])
    scale = float(np.var(y)) if y.size > 1 else 0.0
    if df < 1:
        out["reason"] = f"multilevel model not estimable: {df:.0f} residual degrees of freedom"
        return out
    if not (fit.sigma2 > 1e-10 * scale and np.isfinite(se) and se > 0):
        out["reason"] = "multilevel model not estimable: no residual variance (perfect fit)"
        return out
    t = beta / se
    q = float(stats.t.ppf(0.5 + ci / 2, df))
    sd_total = float(np.sqrt(fit.tau2 + fit.sigma2))
    out.update(
        diff=beta,
        se=se,
        t=t,
        df=df,
        p=float(2 * stats.t.sf(abs(t), df)),
        ci_low=beta - q * se,
        ci_high=beta + q * se,
        g=beta / sd_total,
        g_ci_low=(beta - q * se) / sd_total,
        g_ci_high=(beta + q * se) / sd_total,
        tau2=float(fit.tau2),
        sigma2=float(fit.sigma2),
    )
    if not fit.converged:
        warnings.warn(
            f"multilevel wave effect: REML fit not verified as converged ({fit.message})",
            ConvergenceWarning,
            stacklevel=3,
        )
        out["reason"] = f"REML fit not verified as converged: {fit.message}"
    return out


@public(
    constraints={
        **_TWO_WAVES,
        "community": [COLUMN, None],
        "paired_on": [COLUMN, None],
        "p_adjust": [Options(P_ADJUST_METHODS)],
        "equal_var": [BOOLEAN],
        "paired_effect": [Options(PAIRED_VARIANTS)],
    },
    renamed={"scores": "data"},
    old_positional=("dv",),
)
def compare_waves(
    data: pd.DataFrame,
    *,
    dv: str,
    wave: str = "wave",
    community: str | None = "community",
    before: Hashable = "baseline",
    after: Hashable = "end_of_cycle",
    paired_on: str | None = None,
    ci: float = 0.95,
    p_adjust: str = "holm",
    min_n: int = 10,
    equal_var: bool = False,
    paired_effect: Literal["av", "z", "rm", "av_lakens"] = "av",
    nan_policy: Literal["omit", "raise"] = "omit",
    weight: str | None = None,
    design: SurveyDesign | None = None,
) -> pd.DataFrame:
    r"""Change in the mean score between two waves, per community and overall.

    Parameters
    ----------
    data : DataFrame
        One row per respondent and wave (long format). Not modified.
    dv : str
        Column with the score to compare (e.g. a scale mean).
    wave : str, default="wave"
        Column with the wave label of each row. Every label must be ``before`` or ``after``.
    community : str or None, default="community"
        Community column; None compares the whole data set (one "overall" row).
    before, after : hashable, default="baseline", "end_of_cycle"
        The two wave labels. Differences are ``after - before``.
    paired_on : str or None, default=None
        Respondent id column. When given, respondents with a score in both waves (in the same
        community) are paired; the others are counted in ``n_attrition``.
    ci : float, default=0.95
        Confidence level of every interval.
    p_adjust : {"holm", "hochberg", "BH", "fdr", "BY", "bonferroni", "none"}, default="holm"
        Multiplicity control over the community rows that are not suppressed (see
        :func:`p_adjust`). The overall row is its own family (``p_adjusted = p``).
    min_n : int, default=10
        Communities with fewer than ``min_n`` respondents in either wave (or, paired, fewer than
        ``min_n`` pairs) are suppressed: kept as a row with ``suppressed=True``, a ``reason`` and
        NaN statistics.
    equal_var : bool, default=False
        Independent waves: Welch t (False) or Student t with pooled variance (True).
    paired_effect : {"av", "z", "rm", "av_lakens"}, default="av"
        Paired only: which repeated-measures d is reported Hedges-corrected in ``g``.
    nan_policy : {"omit", "raise"}, default="omit"
        Rows with a missing score are left out and counted in ``n_missing`` ("omit"), or raise.
    weight : str, optional
        Survey weight column; short for ``design=SurveyDesign(weight=...)``.
    design : SurveyDesign, optional
        Weighted, design-based change (repeated cross-sections; ``paired_on`` must be None):
        per community the difference of the waves' weighted domain means (``svyby`` by community
        and wave on the whole design) with SE :math:`\sqrt{se_a^2+se_b^2}`, a normal interval and
        a z-test (``t`` holds z, ``df`` is inf); overall the wave coefficient of
        ``survey::svyglm(score ~ wave, design)`` with its t, ``df = degf(design) - 1`` and p.
        Columns ``sum_weights_*`` and ``n_eff_*`` are added, effect sizes are not computed.
        See :mod:`collective_efficacy.survey_design`.

    Returns
    -------
    DataFrame
        One row per community (every community of the input, in label order) and one overall
        row last. Columns: ``level`` ("community"/"overall"), the community column (label
        "overall" on the overall row), ``n_before``, ``n_after``, ``n_missing``,
        (paired: ``n_paired``, ``n_attrition``, ``r``), ``mean_before``, ``mean_after``,
        ``sd_before``, ``sd_after``, ``diff``, ``se``, ``ci_low``, ``ci_high``, ``t``, ``df``,
        ``p``, ``p_adjusted``, ``g``, ``g_ci_low``, ``g_ci_high``, ``effect_size`` (which
        variant ``g`` is), (paired: ``d_z``, ``d_av``, ``d_av_lakens``, ``d_rm`` each with
        ``_ci_low``/``_ci_high``), ``direction`` ("increase"/"decrease"/"no change"),
        ``method``, ``confidence``, ``suppressed``, ``reason``.

    Notes
    -----
    **Independent waves** (repeated cross-sections), per community: Welch's t with
    :math:`SE=\sqrt{s_a^2/n_a+s_b^2/n_b}` and Welch-Satterthwaite df, or Student's t with the
    pooled variance. Effect size: Hedges' g with the pooled SD and exact correction,

    .. math:: d = \frac{\bar y_a - \bar y_b}{s_p},\quad
              g = J(\nu)\,d,\quad J(\nu)=\frac{\Gamma(\nu/2)}{\sqrt{\nu/2}\,\Gamma((\nu-1)/2)},
              \quad \nu = n_a+n_b-2,

    and the noncentral-t CI: the noncentrality limits of :math:`t_d = d/\sqrt{1/n_a+1/n_b}`
    times :math:`\sqrt{1/n_a+1/n_b}` times J (as ``effectsize::hedges_g``).

    **Paired** (``paired_on``): paired t on the differences of the paired respondents; means
    and SDs are those of the paired respondents. Effect sizes (formulas in
    ``docs/methods/change.md``): d_z (noncentral-t CI), d_av with the root-mean-square SD
    (effectsize) and with the mean SD (Lakens 2013), d_rm (Morris & DeShon 2002), the last three
    with the normal CIs of effectsize (Algina & Keselman 2003; Cooper et al. 2009); ``g`` is
    :math:`J(n-1)` times the chosen variant and its CI limits.

    **Overall row**: the multilevel wave effect :math:`y_{ij} = \beta_0 + \beta_1
    \mathrm{after}_{ij} + u_j + e_{ij}` fitted by REML on every respondent with a score,
    whatever the attrition; ``diff`` is :math:`\hat\beta_1` with its model SE, and df follow
    nlme's between/within rule (``lme``): :math:`N - G - 1` when the wave varies within
    communities, else :math:`G-2`. ``g`` is :math:`\hat\beta_1/\sqrt{\hat\tau^2+\hat\sigma^2}`
    (the total SD) and its CI the CI of :math:`\beta_1` on that scale (SD treated as known).
    In the paired design this model ignores the correlation within respondents (conservative
    for the overall effect). With ``community=None`` the overall row is the plain t-test.

    Zero variance in both waves (or of the differences) gives NaN t, p and effect sizes with a
    reason; n = 1 in a wave is below any ``min_n`` and is suppressed.

    Validated against R (tests/fixtures/r/change.R): ``t.test`` Welch/Student/paired (abs tol
    1e-9), ``effectsize::hedges_g`` (1e-4: effectsize uses optim; 1e-8 against an exact
    uniroot solution), ``p.adjust`` and ``nlme::lme(score ~ wave, random = ~1 | community,
    method = "REML")`` (coefficient and SE rel tol 1e-6, df exact).

    References
    ----------
    .. [1] Hedges, L. V. & Olkin, I. (1985). Statistical Methods for Meta-Analysis.
    .. [2] Lakens, D. (2013). Front. Psychol. 4:863.
    .. [3] Morris, S. B. & DeShon, R. P. (2002). Psychol. Methods 7, 105-125.
    .. [4] Pinheiro, J. C. & Bates, D. M. (2000). Mixed-Effects Models in S and S-PLUS.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "community": ["A"] * 10 + ["B"] * 10,
    ...     "wave": (["baseline"] * 5 + ["end_of_cycle"] * 5) * 2,
    ...     "score": [3, 3.2, 2.8, 3.1, 2.9, 3.6, 3.4, 3.9, 3.5, 3.7,
    ...               2.5, 2.7, 2.4, 2.6, 2.9, 2.6, 2.8, 2.5, 2.7, 3.0]})
    >>> res = compare_waves(df, dv="score", min_n=5)  # a tiny example: min_n 5
    >>> res[["community", "diff", "p_adjusted", "direction"]].round(3)
      community  diff  p_adjusted direction
    0         A  0.62       0.001  increase
    1         B  0.10       0.435  increase
    2   overall  0.36       0.003  increase
    """
    ci = check_ci(ci)
    min_n = _check_min_n(min_n)
    check_choice("p_adjust", p_adjust, P_ADJUST_METHODS, func="compare_waves")
    check_choice("paired_effect", paired_effect, PAIRED_VARIANTS, func="compare_waves")
    resolved = resolve_design(weight, design)
    if resolved is not None:
        if paired_on is not None:
            raise DataError("weights with paired_on are not supported", argument="paired_on")
        return weighted_change(
            data, dv, wave=wave, community=community, before=before, after=after,
            design=resolved, ci=ci, min_n=min_n, p_adjust=p_adjust, nan_policy=nan_policy,
        )  # fmt: skip
    tw = prepare(
        data, dv, wave=wave, community=community, before=before, after=after,
        nan_policy=nan_policy, paired_on=paired_on,
    )  # fmt: skip
    g_count = len(tw.labels)
    mb = moments(tw.y[~tw.after], tw.codes[~tw.after], g_count)
    ma = moments(tw.y[tw.after], tw.codes[tw.after], g_count)
    if paired_on is None:
        res = _independent_rows(tw, mb, ma, ci=ci, equal_var=equal_var, min_n=min_n)
    else:
        res = _paired_rows(tw, mb, ma, ci=ci, min_n=min_n, variant=paired_effect)
    # overall row
    if community is None:
        overall = res.iloc[[0]].copy()
        res = res.iloc[0:0]
    else:
        overall = pd.DataFrame([_overall_lmm(tw, ci)])
        overall["n_before"] = int(mb.n.sum())
        overall["n_after"] = int(ma.n.sum())
        overall["n_missing"] = int(tw.n_missing.sum())
        yb, ya = tw.y[~tw.after], tw.y[tw.after]
        overall["mean_before"] = float(np.mean(yb)) if yb.size else np.nan
        overall["mean_after"] = float(np.mean(ya)) if ya.size else np.nan
        overall["sd_before"] = float(np.std(yb, ddof=1)) if yb.size > 1 else np.nan
        overall["sd_after"] = float(np.std(ya, ddof=1)) if ya.size > 1 else np.nan
        overall["effect_size"] = "beta_wave / sqrt(tau2 + sigma2)"
        overall["suppressed"] = False
        overall = overall.drop(columns=["tau2", "sigma2"], errors="ignore")
    overall["level"] = "overall"
    overall[tw.community] = OVERALL
    if "p" in overall:
        overall["p_adjusted"] = overall["p"]
    res = res.copy()
    if len(res):
        res["p_adjusted"] = p_adjust_array(res["p"].to_numpy(dtype=np.float64), p_adjust)
    out = pd.concat([res, overall.reindex(columns=res.columns)], ignore_index=True)
    out["direction"] = _direction(out["diff"].to_numpy(dtype=np.float64), _wave_scale(out))
    out["confidence"] = ci
    for col in ("n_before", "n_after", "n_missing", "n_paired", "n_attrition"):
        if col in out:
            out[col] = out[col].fillna(0).astype(np.int64)
    out["suppressed"] = out["suppressed"].astype(bool)
    text_columns(out, ["level", "effect_size", "direction", "method", "reason"])
    return out


def _base_frame(tw: TwoWaves, mb: Any, ma: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": "community",
            tw.community: np.asarray(tw.labels, dtype=object),
            "n_before": mb.n.astype(np.int64),
            "n_after": ma.n.astype(np.int64),
            "n_missing": tw.n_missing.astype(np.int64),
        }
    )


_STAT_COLS = ["diff", "se", "ci_low", "ci_high", "t", "df", "p", "p_adjusted"]


def _independent_rows(
    tw: TwoWaves, mb: Any, ma: Any, *, ci: float, equal_var: bool, min_n: int
) -> pd.DataFrame:
    sup, reason = suppression(mb.n, ma.n, min_n)
    st = independent_stats(mb.n, mb.mean, mb.var, ma.n, ma.mean, ma.var, ci=ci, equal_var=equal_var)
    zero = ~sup & (np.nan_to_num(mb.var) == 0) & (np.nan_to_num(ma.var) == 0)
    reason[zero] = "zero variance in both waves: t, p and g undefined"
    out = _base_frame(tw, mb, ma)
    out["mean_before"], out["mean_after"] = mb.mean, ma.mean
    out["sd_before"], out["sd_after"] = np.sqrt(mb.var), np.sqrt(ma.var)
    for col in _STAT_COLS[:-1]:
        out[col] = st[col]
    out["p_adjusted"] = np.nan
    for col in ("g", "g_ci_low", "g_ci_high"):
        out[col] = st[col]
    out["effect_size"] = "hedges_g (pooled SD)"
    out["method"] = "student_t" if equal_var else "welch_t"
    stat_cols = ["mean_before", "mean_after", "sd_before", "sd_after", *_STAT_COLS]
    stat_cols += ["g", "g_ci_low", "g_ci_high"]
    out.loc[sup, stat_cols] = np.nan
    out.loc[zero, ["se", "t", "p", "ci_low", "ci_high", "g", "g_ci_low", "g_ci_high"]] = np.nan
    out["suppressed"] = sup
    out["reason"] = reason
    return out


def _paired_rows(
    tw: TwoWaves, mb: Any, ma: Any, *, ci: float, min_n: int, variant: str
) -> pd.DataFrame:
    g_count = len(tw.labels)
    pr = pair_up(tw)
    pb = moments(pr.before, pr.codes, g_count)
    pa = moments(pr.after, pr.codes, g_count)
    pdm = moments(pr.after - pr.before, pr.codes, g_count)
    n = pdm.n
    sup, reason = suppression(mb.n, ma.n, min_n, n_pairs=n)
    st = paired_stats(n, pb.mean, pa.mean, pb.var, pa.var, pdm.var, ci=ci)
    zero = ~sup & (np.nan_to_num(pdm.var) == 0)
    reason[zero] = "zero variance of the paired differences: t, p and effect sizes undefined"
    out = _base_frame(tw, mb, ma)
    out["n_paired"] = n.astype(np.int64)
    out["n_attrition"] = (mb.n + ma.n - 2 * n).astype(np.int64)
    out["mean_before"], out["mean_after"] = pb.mean, pa.mean
    out["sd_before"], out["sd_after"] = np.sqrt(pb.var), np.sqrt(pa.var)
    out["r"] = st["r"]
    for col in _STAT_COLS[:-1]:
        out[col] = st[col]
    out["p_adjusted"] = np.nan
    d, lo, hi = st["effects"][variant]
    j = st["J"]
    out["g"], out["g_ci_low"], out["g_ci_high"] = j * d, j * lo, j * hi
    out["effect_size"] = f"g_{variant} = J(n-1) * d_{variant}"
    eff_cols = []
    for name in PAIRED_VARIANTS:
        d, lo, hi = st["effects"][name]
        out[f"d_{name}"], out[f"d_{name}_ci_low"], out[f"d_{name}_ci_high"] = d, lo, hi
        eff_cols += [f"d_{name}", f"d_{name}_ci_low", f"d_{name}_ci_high"]
    out["method"] = "paired_t"
    stat_cols = ["mean_before", "mean_after", "sd_before", "sd_after", "r", *_STAT_COLS]
    stat_cols += ["g", "g_ci_low", "g_ci_high", *eff_cols]
    out.loc[sup, stat_cols] = np.nan
    undefined = ["se", "t", "p", "ci_low", "ci_high", "r", "g", "g_ci_low", "g_ci_high"]
    out.loc[zero, undefined + eff_cols] = np.nan
    out["suppressed"] = sup
    out["reason"] = reason
    return out


@public(
    constraints={
        **_TWO_WAVES,
        "community": [COLUMN, None],  # None is refused by the body, with advice
        "higher_is_better": [BOOLEAN],
    },
    renamed={"scores": "data"},
    old_positional=("dv",),
)
def compare_waves_eb(
    data: pd.DataFrame,
    *,
    dv: str,
    wave: str = "wave",
    community: str = "community",
    before: Hashable = "baseline",
    after: Hashable = "end_of_cycle",
    ci: float = 0.95,
    min_n: int = 10,
    higher_is_better: bool = True,
    nan_policy: Literal["omit", "raise"] = "omit",
) -> pd.DataFrame:
    r"""Change in the empirical-Bayes (shrunken) community scores.

    Each wave is fitted separately with the random-intercept model
    :math:`y_{ij} = \beta_0 + u_j + e_{ij}` (REML). The EB score of community j is
    :math:`\hat\beta_0 + \hat u_j` with :math:`\hat u_j = \lambda_j(\bar y_j - \hat\beta_0)`,
    :math:`\lambda_j = \hat\tau^2/(\hat\tau^2 + \hat\sigma^2/n_j)`, and posterior SD
    :math:`\mathrm{psd}_j = \sqrt{\lambda_j\hat\sigma^2/n_j}` (lme4's conditional variance).

    Parameters
    ----------
    data, dv, wave, community, before, after, nan_policy
        As in :func:`compare_waves` (``community`` is required here).
    ci : float, default=0.95
        Level of the posterior interval of the change.
    min_n : int, default=10
        Communities with fewer respondents in either wave are suppressed (NaN, reason). EB
        scores are meant for small communities, so a lower value (>= 2) is reasonable when
        privacy allows.
    higher_is_better : bool, default=True
        Direction of "improved" in ``p_improved``.

    Returns
    -------
    DataFrame, one row per community: ``n_before``, ``n_after``, ``mean_before``,
    ``mean_after``, ``eb_before``, ``eb_after``, ``psd_before``, ``psd_after``,
    ``reliability_before``, ``reliability_after`` (:math:`\lambda_j`), ``diff`` (EB change),
    ``sd_diff``, ``ci_low``, ``ci_high``, ``p_improved``, ``confidence``, ``suppressed``,
    ``reason``, and each wave's model (the same on every row): ``intercept_before``,
    ``tau2_before``, ``sigma2_before``, ``intercept_after``, ``tau2_after``, ``sigma2_after``.

    Notes
    -----
    .. math:: \Delta_j = \mathrm{EB}_{a,j} - \mathrm{EB}_{b,j},\quad
              \mathrm{sd}_j = \sqrt{\mathrm{psd}_{b,j}^2 + \mathrm{psd}_{a,j}^2},\quad
              P(\text{improved}) = \Phi(\pm\Delta_j / \mathrm{sd}_j)

    assuming the two waves' posteriors are independent (different respondents; with a panel
    this is an approximation) and ignoring the uncertainty of :math:`\hat\beta_0`,
    :math:`\hat\tau^2` and :math:`\hat\sigma^2` (plug-in EB). The interval is
    :math:`\Delta_j \pm z_{1-\alpha/2}\,\mathrm{sd}_j`.

    Validated against R: ``lme4::lmer(score ~ 1 + (1 | community), REML = TRUE)`` per wave,
    ``fixef + ranef`` and ``sqrt(attr(ranef(condVar = TRUE), "postVar"))``, abs tol 1e-6.

    References
    ----------
    .. [1] Raudenbush, S. W. & Bryk, A. S. (2002). Hierarchical Linear Models, ch. 3.
    .. [2] Bates, D. et al. (2015). Fitting linear mixed-effects models using lme4. JSS 67(1).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "community": list("AAAAAABBBBBBCCCCCC") * 2,
    ...     "wave": ["baseline"] * 18 + ["end_of_cycle"] * 18,
    ...     "score": [3, 3.5, 2.5, 3, 3.2, 2.8, 2, 2.4, 2.2, 2.6, 1.8, 2.0, 4, 3.6, 3.8, 4.2,
    ...               4.4, 4.0, 3.6, 3.8, 3.4, 3.2, 4.0, 3.6, 2, 2.2, 2.6, 2.8, 2.4, 2.0,
    ...               4, 4.2, 3.8, 4.4, 4.6, 4.0]})
    >>> compare_waves_eb(df, dv="score", min_n=5)[["community", "diff", "p_improved"]].round(3)
      community   diff  p_improved
    0         A  0.595       1.000
    1         B  0.168       0.832
    2         C  0.170       0.836
    """
    from collective_efficacy.multilevel._lmm import fit_ri_intercept

    ci = check_ci(ci)
    min_n = _check_min_n(min_n)
    if community is None:
        raise DataError("compare_waves_eb needs a community column (community=None was given)")
    tw = prepare(
        data, dv, wave=wave, community=community, before=before, after=after,
        nan_policy=nan_policy,
    )  # fmt: skip
    g_count = len(tw.labels)
    out = pd.DataFrame({"level": "community", tw.community: np.asarray(tw.labels, dtype=object)})
    models: dict[str, float] = {}
    for name, mask in (("before", ~tw.after), ("after", tw.after)):  # two waves
        fit = fit_ri_intercept(tw.y[mask], tw.codes[mask], g_count, method="REML")
        mom = moments(tw.y[mask], tw.codes[mask], g_count)
        out[f"n_{name}"] = mom.n.astype(np.int64)
        out[f"mean_{name}"] = mom.mean
        out[f"eb_{name}"] = fit.beta[0] + fit.eb
        out[f"psd_{name}"] = np.sqrt(fit.eb_var)
        out[f"reliability_{name}"] = fit.lambda_
        # the wave's model (the same on every row): in the table, not hidden in df.attrs
        models[f"intercept_{name}"] = float(fit.beta[0])
        models[f"tau2_{name}"] = float(fit.tau2)
        models[f"sigma2_{name}"] = float(fit.sigma2)
        if not fit.converged:
            warnings.warn(
                f"EB model of the {name} wave not verified as converged ({fit.message})",
                ConvergenceWarning,
                stacklevel=2,
            )
    sup, reason = suppression(out["n_before"].to_numpy(), out["n_after"].to_numpy(), min_n)
    diff = out["eb_after"].to_numpy() - out["eb_before"].to_numpy()
    sd = np.hypot(out["psd_before"].to_numpy(), out["psd_after"].to_numpy())
    z = float(stats.norm.ppf(0.5 + ci / 2))
    out["n_missing"] = tw.n_missing.astype(np.int64)
    out["diff"] = diff
    out["sd_diff"] = sd
    out["ci_low"], out["ci_high"] = diff - z * sd, diff + z * sd
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_improved"] = stats.norm.cdf((diff if higher_is_better else -diff) / sd)
    cols = [c for c in out.columns if c.startswith(("mean_", "eb_", "psd_", "reliab"))]
    cols += ["diff", "sd_diff", "ci_low", "ci_high", "p_improved"]
    out.loc[sup, cols] = np.nan
    out["direction"] = _direction(out["diff"].to_numpy(dtype=np.float64), _wave_scale(out))
    out["confidence"] = ci
    out["suppressed"] = sup
    out["reason"] = reason
    for col, value in models.items():
        out[col] = value
    text_columns(out, ["level", "direction", "reason"])
    return out


@public(
    constraints={
        **_TWO_WAVES,
        "community": [COLUMN, None],
        "paired_on": [COLUMN, None],
        "method": [Options(("percentile", "bca"))],
        "n_boot": [Interval(Integral, 100, None)],
        "seed": [SEED],
        "progress": [BOOLEAN],
    },
    renamed={"scores": "data"},
    old_positional=("dv",),
)
def bootstrap_change(
    data: pd.DataFrame,
    *,
    dv: str,
    wave: str = "wave",
    community: str | None = "community",
    before: Hashable = "baseline",
    after: Hashable = "end_of_cycle",
    paired_on: str | None = None,
    ci: float = 0.95,
    method: Literal["percentile", "bca"] = "percentile",
    n_boot: int = 2000,
    seed: int | np.random.Generator | None = None,
    min_n: int = 10,
    nan_policy: Literal["omit", "raise"] = "omit",
    progress: bool = False,
) -> pd.DataFrame:
    r"""Bootstrap CIs of the change in the mean score, per community, in one vectorised pass.

    Parameters
    ----------
    data, dv, wave, community, before, after, paired_on, min_n, nan_policy
        As in :func:`compare_waves`. Independent waves are resampled separately within each
        community (stratified bootstrap); with ``paired_on`` the pairs are resampled.
    ci : float, default=0.95
    method : {"percentile", "bca"}, default="percentile"
        Percentile interval, or bias-corrected and accelerated (Efron 1987).
    n_boot : int, default=2000
        Number of resamples (>= 100).
    seed : int, numpy.random.Generator or None, default=None
        Seed of the resampling; the same seed gives the same result (a Generator gives one
        draw of entropy and advances).
    progress : bool, default=False
        Show a progress bar of the resampled cells (community x wave) on standard error; needs
        ``tqdm`` (``pip install 'collective-efficacy[progress]'``). Nothing is printed otherwise.

    Returns
    -------
    DataFrame, one row per community: ``level``, the community column, ``n_before``,
    ``n_after`` (paired: ``n_paired``), ``diff``, ``ci_low``, ``ci_high``, ``boot_se`` (SD of
    the bootstrap distribution), ``boot_bias`` (its mean minus ``diff``), ``method``,
    ``n_boot``, ``confidence``, ``suppressed``, ``reason``. With ``community=None`` one
    "overall" row. Communities that are suppressed (min_n) or whose bootstrap distribution is
    degenerate (zero variance) have NaN limits and a reason.

    Notes
    -----
    The statistic is :math:`\bar y_{a} - \bar y_{b}` (or the mean paired difference). The
    percentile interval takes the :math:`\alpha/2` and :math:`1-\alpha/2` quantiles (linear
    interpolation) of the bootstrap distribution; BCa uses
    :math:`\alpha_{1,2} = \Phi(\hat z_0 + (\hat z_0 \pm z_{\alpha/2})/(1-\hat a(\hat z_0 \pm
    z_{\alpha/2})))` with :math:`\hat z_0` from the share of resamples below the estimate and
    the (analytic) jackknife acceleration :math:`\hat a`, as ``scipy.stats.bootstrap``.

    All communities are resampled together: per distinct community size one multinomial count
    matrix is drawn and applied to every community of that size with a matrix product (a loop
    over distinct sizes, never over communities). Communities share random numbers; each
    community's CI is an ordinary bootstrap CI, and equals what bootstrapping that community alone
    with the same seed gives (BCa: bit for bit; percentile: to about 1e-7 of the bootstrap SE,
    float32 rounding), but the resamples of different communities are not independent
    (do not pool them). Replicates are kept centred on the estimate in float32: about 1e-7 of the
    bootstrap SE, far below the Monte Carlo error (``boot_se`` and ``boot_bias`` are summed in
    float32 too: relative error about 1e-6).

    Checked against ``scipy.stats.bootstrap`` (same statistic, 20,000 resamples) within Monte
    Carlo error; the BCa acceleration and bias correction equal SciPy's for given resamples.

    References
    ----------
    .. [1] Efron, B. (1987). Better bootstrap confidence intervals. JASA 82, 171-185.
    .. [2] Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "community": ["A"] * 12,
    ...     "wave": ["baseline"] * 6 + ["end_of_cycle"] * 6,
    ...     "score": [3, 3.2, 2.8, 3.1, 2.9, 3.0, 3.6, 3.4, 3.9, 3.5, 3.7, 3.3]})
    >>> res = bootstrap_change(df, dv="score", n_boot=2000, seed=1, min_n=5)
    >>> res[["community", "diff", "ci_low", "ci_high"]].round(2)
      community  diff  ci_low  ci_high
    0         A  0.57    0.38     0.77
    """
    ci = check_ci(ci)
    min_n = _check_min_n(min_n)
    check_choice("method", method, ["percentile", "bca"], func="bootstrap_change")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise DataError(f"n_boot must be an integer >= 100; got {n_boot!r}")
    if progress:
        from collective_efficacy.errors import require_extra

        require_extra("tqdm", "progress")  # lazily: tqdm is optional
    tw = prepare(
        data, dv, wave=wave, community=community, before=before, after=after,
        nan_policy=nan_policy, paired_on=paired_on,
    )  # fmt: skip
    g_count = len(tw.labels)
    entropy = seed_entropy(seed)
    yb, cb = tw.y[~tw.after], tw.codes[~tw.after]  # split once, used by every step below
    ya, ca = tw.y[tw.after], tw.codes[tw.after]
    mb = moments(yb, cb, g_count)
    ma = moments(ya, ca, g_count)
    out = _base_frame(tw, mb, ma)
    # centred replicates (theta* - theta); rows of skipped communities stay 0
    boot = np.zeros((g_count, int(n_boot)), dtype=np.float32)
    # BCa counts replicates equal to the estimate (a jump): its replicates are computed exactly
    # (bit-identical whatever the other communities); percentile limits are continuous in them
    exact = method == "bca"
    if paired_on is None:
        sup, reason = suppression(mb.n, ma.n, min_n)
        theta = ma.mean - mb.mean
        degenerate = ~sup & (np.nan_to_num(mb.var) == 0) & (np.nan_to_num(ma.var) == 0)
        use = ~sup & ~degenerate
        with _progress_bar(progress, 2 * int(use.sum())) as tick:
            bootstrap_means(yb, cb, g_count, n_boot=int(n_boot), entropy=entropy, stream=0,
                            out=boot, sign=-1.0, include=use, accumulate=False, tick=tick,
                            exact=exact)  # fmt: skip
            bootstrap_means(ya, ca, g_count, n_boot=int(n_boot), entropy=entropy, stream=1,
                            out=boot, sign=1.0, include=use, tick=tick, exact=exact)  # fmt: skip
        accel = _accel_two((ya, ca, ma), (yb, cb, mb), g_count) if method == "bca" else None
    else:
        pr = pair_up(tw)
        dm = moments(pr.after - pr.before, pr.codes, g_count)
        sup, reason = suppression(mb.n, ma.n, min_n, n_pairs=dm.n)
        out["n_paired"] = dm.n.astype(np.int64)
        theta = dm.mean
        degenerate = ~sup & (np.nan_to_num(dm.var) == 0)
        use = ~sup & ~degenerate
        d = pr.after - pr.before
        with _progress_bar(progress, int(use.sum())) as tick:
            bootstrap_means(d, pr.codes, g_count, n_boot=int(n_boot), entropy=entropy, stream=2,
                            out=boot, sign=1.0, include=use, accumulate=False, tick=tick,
                            exact=exact)  # fmt: skip
        accel = _accel_one(d, pr.codes, dm, g_count) if method == "bca" else None
    reason[degenerate] = "zero variance: the bootstrap distribution is degenerate"
    b = boot.shape[1]
    # float32 sums (pairwise / SIMD): the replicates are centred, so the relative error of the
    # SE is about 1e-6, far below the Monte Carlo error, at a fraction of the float64 cost
    s1 = boot.sum(axis=1).astype(np.float64)
    ss = np.einsum("ij,ij->i", boot, boot).astype(np.float64)
    boot_se = np.sqrt(np.maximum(ss - s1 * s1 / b, 0.0) / (b - 1))
    bias = s1 / b
    lo, hi = bootstrap_interval(boot, ci=ci, method=method, accel=accel)
    lo, hi = lo + theta, hi + theta
    out["diff"] = np.where(sup, np.nan, theta)
    out["ci_low"] = np.where(use, lo, np.nan)
    out["ci_high"] = np.where(use, hi, np.nan)
    out["boot_se"] = np.where(use, boot_se, np.nan)
    out["boot_bias"] = np.where(use, bias, np.nan)
    out["method"] = f"bootstrap_{method}"
    out["n_boot"] = int(n_boot)
    out["confidence"] = ci
    out["suppressed"] = sup
    out["reason"] = reason
    if community is None:
        out["level"] = "overall"
    text_columns(out, ["level", "method", "reason"])
    return out


@contextlib.contextmanager
def _progress_bar(on: bool, total: int) -> Iterator[Callable[[int], object] | None]:
    """A tqdm bar's ``update`` (closed on exit) when ``on``, else None (tqdm imported lazily)."""
    if not on:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, unit="cell", desc="bootstrap", leave=False)
    try:
        yield bar.update
    finally:
        bar.close()


def _accel_two(after: tuple[Any, ...], before: tuple[Any, ...], g_count: int) -> np.ndarray:
    """Jackknife acceleration of a difference of two means (SciPy's multi-sample formula).

    ``after`` and ``before`` are ``(scores, community codes, moments)`` of one wave each.
    """
    num = np.zeros(g_count)
    den = np.zeros(g_count)
    for (y, c, mom), sign in ((after, 1.0), (before, -1.0)):  # two waves
        u = y - mom.mean[c]
        u2 = u * u  # products, not u**3: pow is ~10x slower
        with np.errstate(divide="ignore", invalid="ignore"):
            num += sign * np.bincount(c, weights=u2 * u, minlength=g_count) / mom.n**3
            den += np.bincount(c, weights=u2, minlength=g_count) / mom.n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / (6.0 * den**1.5)


def _accel_one(d: np.ndarray, codes: np.ndarray, dm: Any, g_count: int) -> np.ndarray:
    u = d - dm.mean[codes]
    u2 = u * u
    with np.errstate(divide="ignore", invalid="ignore"):
        num = np.bincount(codes, weights=u2 * u, minlength=g_count)
        den = np.bincount(codes, weights=u2, minlength=g_count)
        return num / (6.0 * den**1.5)

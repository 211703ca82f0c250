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

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_choice, check_ci
from collective_efficacy._params import ARRAY, BOOLEAN, COLUMN, Options, public
from collective_efficacy.change._common import (
    _TWO_WAVES,
    _check_min_n,
    _direction,
    _independent_rows,
    _paired_rows,
    _wave_scale,
)
from collective_efficacy.change._data import OVERALL, TwoWaves, prepare, text_columns, wave_moments
from collective_efficacy.change._paired import ReliableChange, paired_change, reliable_change
from collective_efficacy.change._stats import (
    HEDGES_CORRECTIONS,
    P_ADJUST_METHODS,
    PAIRED_VARIANTS,
    p_adjust_array,
)
from collective_efficacy.change._survey import weighted_change
from collective_efficacy.change.bootstrap import bootstrap_change
from collective_efficacy.change.empirical_bayes import compare_waves_eb
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design import WEIGHTING, SurveyDesign, resolve_design

__all__ = [
    "ReliableChange",
    "bootstrap_change",
    "compare_waves",
    "compare_waves_eb",
    "p_adjust",
    "paired_change",
    "reliable_change",
]


@public(
    constraints={"p": [ARRAY], "method": [Options(P_ADJUST_METHODS)]},
    old_positional=("method",),
)
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
    from collective_efficacy.multilevel._lmm import fit_ri_binary

    y, codes = tw.y, tw.codes
    n_all = np.bincount(codes, minlength=len(tw.labels))
    n_after = np.bincount(codes, weights=tw.after, minlength=len(tw.labels)).astype(np.int64)
    n_before = n_all - n_after
    used = np.flatnonzero(n_all > 0)  # the codes present, sorted (no hashing)
    c = codes
    if used.size < len(tw.labels):
        remap = np.full(len(tw.labels), -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        c = remap[codes]
    try:
        fit = fit_ri_binary(y, tw.after, c, n_all[used], n_after[used], method="REML")
    except DataError as exc:
        return {"method": "lmm_reml", "reason": f"multilevel model not estimable: {exc}"}
    both = (n_after[used] > 0) & (n_before[used] > 0)
    # nlme::lme between/within df: a level-1 (within-community) term gets N - G - 1
    df = float(y.size - used.size - 1) if both.any() else float(used.size - 2)
    scale = float(np.var(y)) if y.size > 1 else 0.0
    return overall_from_fit(fit, df, scale, ci)


def overall_from_fit(fit: Any, df: float, scale: float, ci: float) -> dict[str, Any]:
    """The overall row of :func:`compare_waves` from the REML fit of ``score ~ wave``."""
    out: dict[str, Any] = {"method": "lmm_reml", "reason": None}
    beta, se = float(fit.beta[1]), float(fit.beta_se[1])
    if df < 1:
        out["reason"] = f"multilevel model not estimable: {df:.0f} residual degrees of freedom"
        return out
    if not (fit.sigma2 > 1e-10 * scale and np.isfinite(se) and se > 0):
        out["reason"] = "multilevel model not estimable: no residual variance (perfect fit)"
        return out
    t = beta / se
    q = float(_dist.t_ppf(0.5 + ci / 2, df))
    sd_total = float(np.sqrt(fit.tau2 + fit.sigma2))
    out.update(
        diff=beta,
        se=se,
        t=t,
        df=df,
        p=float(2 * _dist.t_sf(abs(t), df)),
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


@summary_route("compare_waves")
@public(
    constraints={
        **WEIGHTING,
        **_TWO_WAVES,
        "community": [COLUMN, None],
        "paired_on": [COLUMN, None],
        "p_adjust": [Options(P_ADJUST_METHODS)],
        "equal_var": [BOOLEAN],
        "paired_effect": [Options(PAIRED_VARIANTS)],
        "hedges_correction": [Options(HEDGES_CORRECTIONS)],
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
    hedges_correction: Literal["exact", "approximate"] = "exact",
    nan_policy: Literal["omit", "raise"] = "omit",
    weight: str | None = None,
    design: SurveyDesign | None = None,
) -> pd.DataFrame:
    r"""Change in the mean score between two waves, per community and overall.

    Parameters
    ----------
    data : DataFrame
        One row per respondent and wave (long format). Not modified.
        A polars, pyarrow, DuckDB or Dask frame is summed per community inside its engine
        (only that table is collected; ``paired_on``, ``weight`` and ``design`` collect the rows); a
        :class:`~collective_efficacy.CommunitySummary` gives the same result from the sums
        (see *Large and shared data*).
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
    hedges_correction : {"exact", "approximate"}, default="exact"
        The small-sample correction :math:`J(\nu)` of ``g`` (and its CI): exact (Gamma
        functions, ``effectsize::hedges_g``) or Hedges' (1981) approximation
        :math:`1 - 3/(4\nu - 1)` (``pingouin.compute_effsize``, ``effsize::cohen.d``, many
        published tables); ``effect_size`` then says so. The two differ by less than
        :math:`10^{-3}` relative for :math:`\nu \ge 10`.
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
    times :math:`\sqrt{1/n_a+1/n_b}` times J (as ``effectsize::hedges_g``). With
    ``hedges_correction="approximate"`` J is :math:`1 - 3/(4\nu - 1)` (Hedges 1981).

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
    .. [5] Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and
       related estimators. J. Educ. Stat. 6, 107-128.

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
    mb, ma, pooled_b, pooled_a = wave_moments(tw)
    if paired_on is None:
        res = _independent_rows(
            tw, mb, ma, ci=ci, equal_var=equal_var, min_n=min_n, hedges=hedges_correction
        )
    else:
        res = _paired_rows(
            tw, mb, ma, ci=ci, min_n=min_n, variant=paired_effect, hedges=hedges_correction
        )
    lmm = None if community is None else _overall_lmm(tw, ci)
    return finish_waves(res, tw, mb, ma, lmm, pooled_b, pooled_a, ci=ci, p_adjust=p_adjust)


def finish_waves(
    res: pd.DataFrame,
    tw: TwoWaves,
    mb: Any,
    ma: Any,
    lmm: dict[str, Any] | None,
    pooled_b: Any,
    pooled_a: Any,
    *,
    ci: float,
    p_adjust: str,
) -> pd.DataFrame:
    """The community rows plus the overall row (``lmm`` None: no community, a plain test)."""
    if lmm is None:
        overall = res.iloc[[0]].copy()
        res = res.iloc[0:0]
    else:  # one row, built as a dict (not a column assignment at a time)
        row = {k: v for k, v in lmm.items() if k not in ("tau2", "sigma2")}
        row["n_before"] = int(mb.n.sum())
        row["n_after"] = int(ma.n.sum())
        row["n_missing"] = int(tw.n_missing.sum())
        for col, m in (("before", pooled_b), ("after", pooled_a)):
            row[f"mean_{col}"] = float(m.mean[0]) if m.n[0] > 0 else np.nan
            row[f"sd_{col}"] = float(np.sqrt(m.var[0])) if m.n[0] > 1 else np.nan
        row["effect_size"] = "beta_wave / sqrt(tau2 + sigma2)"
        row["suppressed"] = False
        row["level"] = "overall"
        row[tw.community] = OVERALL
        if "p" in row:
            row["p_adjusted"] = row["p"]
        overall = pd.DataFrame([row])
    if lmm is None:
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

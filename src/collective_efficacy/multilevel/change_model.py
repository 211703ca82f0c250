r"""The multilevel change model: each community's own change, with partial pooling.

* :func:`change_model` -- ``lmer(dv ~ change + covariates (+ programme * change) +
  (1 + change | community))``: empirical-Bayes change per community with its conditional SD,
  interval, posterior probability of improvement, reliability and verdict; the overall change;
  the difference-in-differences programme effect when comparison communities are given; a
  linear trend over any number of waves with ``time=``.

The engine (:mod:`._lmm_slope`) fits from per-community 2 x 2 sufficient statistics, so a
national survey fits in well under a second. See ``docs/methods/change-model.md``.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from collective_efficacy._checks import check_choice, check_ci
from collective_efficacy._params import (
    CI,
    COLUMN,
    COLUMNS,
    FRAME,
    WAVE_LABEL,
    Interval,
    Options,
    public,
)
from collective_efficacy.change._bootstrap import _single_thread_blas
from collective_efficacy.change._data import suppression
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.multilevel._change_design import Design, design
from collective_efficacy.multilevel._change_posterior import Integrated, integrate_change
from collective_efficacy.multilevel._lmm_slope import RSFit, fit_rs_lmm
from collective_efficacy.multilevel._models import (
    ChangeModel,
    ChangeVarianceComponents,
    FitDiagnostics,
)
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design import refuses_weights

__all__ = ["ChangeModel", "change_model"]


def _fixed_table(fit: RSFit, names: list[str], ci: float) -> dict[str, list[Any]]:
    est, se, df = fit.beta, fit.beta_se, fit.df
    tval = est / se
    p = 2.0 * special.stdtr(df, -np.abs(tval))  # stats.t.sf, without its checks
    q = special.stdtrit(df, 0.5 + ci / 2.0)
    return {
        "term": names,
        "estimate": est.tolist(),
        "se": se.tolist(),
        "df": df.tolist(),
        "t": tval.tolist(),
        "p": p.tolist(),
        "ci_low": (est - q * se).tolist(),
        "ci_high": (est + q * se).tolist(),
        "confidence": [ci] * len(names),
    }


def _contrast(des: Design) -> np.ndarray:
    """Per community the fixed-effect combination that is its expected change."""
    c = np.zeros((len(des.labels), des.X.shape[1]))
    c[:, 1] = 1.0
    if des.programme is not None:
        c[:, 3] = des.programme
    return c


def _integrated(fit: RSFit, des: Design) -> Integrated:
    if fit.stats is None:  # pragma: no cover - every fit of the engine carries them
        raise RuntimeError("change_model: the fit carries no sufficient statistics")
    return integrate_change(fit.stats, fit.theta, _contrast(des), boundary=fit.boundary)


def _community_table(fit: RSFit, des: Design, *, ci: float, min_n: int) -> dict[str, Any]:
    g = len(des.labels)
    out: dict[str, Any] = {str(des.labels.name): des.labels.tolist()}
    if des.after is not None:
        # the engine's per-community sums (t is 0/1: sum of t = rows after, sum of t y = the
        # after wave's sum of y), no second pass over the rows
        n_a = np.rint(fit.group_t).astype(np.int64)
        n_b = fit.group_n - n_a
        sy, sya = fit.group_y[:, 0], fit.group_y[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = sya / n_a - (sy - sya) / n_b
        sup, reason = suppression(n_b, n_a, min_n)
        out |= {"n_before": n_b.tolist(), "n_after": n_a.tolist()}
    else:
        n = np.bincount(des.codes, minlength=g)
        st = np.bincount(des.codes, weights=des.t, minlength=g)
        stt = np.bincount(des.codes, weights=des.t * des.t, minlength=g)
        one_time = (n > 0) & (stt - st * st / np.maximum(n, 1) <= 1e-12 * np.maximum(stt, 1))
        sup = (n < min_n) | one_time
        reason = np.where(n < min_n, f"n below min_n={min_n}", "")
        reason = np.where(~(n < min_n) & one_time, "observed at a single time", reason)
        raw = None
        out["n"] = n.tolist()
    out["n_missing"] = des.n_missing.tolist()
    if des.programme is not None:
        out["programme"] = des.programme.tolist()
    # the community's change: fixed change (+ programme:change for programme communities)
    # plus its random change; the same contrast as _contrast()
    contrast_change = _contrast(des) @ fit.beta
    var_change = float(fit.cov_re[1, 1])
    change = contrast_change + fit.ranef[:, 1]
    psd = np.sqrt(fit.ranef_cov[:, 1, 1])
    # Prasad-Rao MSE (fixed effects and variance parameters' uncertainty), Satterthwaite df
    pred_sd = np.sqrt(fit.pred_var_slope + 2.0 * fit.pred_var_theta)
    # the interval the verdict uses: the posterior integrated over the covariance parameters
    # (._change_posterior), its normal approximation; not centred on `change` in general
    post = _integrated(fit, des)
    q = special.ndtri(0.5 + ci / 2.0)
    lo, hi = post.mean - q * post.sd, post.mean + q * post.sd
    with np.errstate(invalid="ignore", divide="ignore"):
        p_imp = special.ndtr(post.mean / post.sd)
        rel = 1.0 - fit.ranef_cov[:, 1, 1] / var_change if var_change > 0 else np.full(g, np.nan)
    stat = {
        "raw_change": raw,
        "change": change,
        "posterior_sd": psd,
        "prediction_sd": pred_sd,
        "prediction_df": fit.pred_df,
        "integrated_mean": post.mean,
        "integrated_sd": post.sd,
        "ci_low": lo,
        "ci_high": hi,
        "p_improved": p_imp,
        "reliability": rel,
        "shrinkage": 1.0 - rel,
        "ranef_intercept": fit.ranef[:, 0],
        "ranef_change": fit.ranef[:, 1],
        "ranef_intercept_sd": np.sqrt(fit.ranef_cov[:, 0, 0]),
        "ranef_change_sd": psd,
    }
    for key, val in stat.items():
        if val is None:
            continue
        v = np.array(val, dtype=np.float64)
        v[sup] = np.nan
        out[key] = v.tolist()
    verdict = np.full(g, "no clear change", dtype=object)
    verdict[lo > 0] = "improved"
    verdict[hi < 0] = "declined"
    verdict[sup] = None
    out["confidence"] = [ci] * g
    method = np.full(g, post.method, dtype=object)
    method[sup] = None
    out["interval_method"] = method.tolist()
    out["verdict"] = verdict.tolist()
    out["suppressed"] = sup.tolist()
    out["reason"] = [r if r else None for r in reason.tolist()]
    return out


def _check_min_n(min_n: int) -> int:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise DataError(f"min_n must be an integer >= 1; got {min_n!r}")
    return int(min_n)


@refuses_weights
@summary_route("change_model")
@public(
    constraints={
        "data": [FRAME],
        "dv": [COLUMN],
        "community": [COLUMN],
        "wave": [COLUMN],
        "before": [WAVE_LABEL],
        "after": [WAVE_LABEL],
        "time": [COLUMN, None],
        "covariates": [COLUMNS, None],
        "comparison": [COLUMN, None],
        "respondent": [COLUMN, None],
        "method": [Options(("reml", "ml"))],
        "ci": [CI],
        "min_n": [Interval(Integral, 1, None)],
        "nan_policy": [Options(("omit", "raise"))],
    }
)
def change_model(
    data: pd.DataFrame,
    *,
    dv: str,
    community: str,
    wave: str = "wave",
    before: Hashable = "baseline",
    after: Hashable = "end_of_cycle",
    time: str | None = None,
    covariates: Sequence[str] | None = None,
    comparison: str | None = None,
    respondent: str | None = None,
    method: str = "reml",
    ci: float = 0.95,
    min_n: int = 10,
    nan_policy: str = "omit",
) -> ChangeModel:
    r"""Multilevel change model: each community's change with partial pooling (lme4's random slope).

    Parameters
    ----------
    data : DataFrame
        One row per respondent and wave (not modified).
        A polars, pyarrow, DuckDB or Dask frame is summed per community and wave inside its
        engine (two waves without ``time``, ``covariates``, ``comparison`` or ``respondent``;
        otherwise the rows are collected); a :class:`~collective_efficacy.CommunitySummary`
        gives the same fit from the sums (see *Large and shared data*).
    dv : str
        The numeric outcome (e.g. a collective-efficacy scale score).
    community : str
        Community column (labels are kept as they are; missing labels raise).
    wave : str, default="wave"
        Wave column; its labels must be ``before`` or ``after`` (ignored with ``time=``).
    before, after : label, default="baseline", "end_of_cycle"
        The two wave labels; ``change`` is 0 for ``before`` and 1 for ``after``.
    time : str, optional
        A numeric time column (e.g. months since the baseline) for a linear trend over any number
        of waves; then ``change`` is the community's slope per unit of time (term ``time``).
    covariates : sequence of str, optional
        Respondent-level numeric (or boolean) columns that adjust the change for a changed
        composition of respondents; entered as they are (not centred), as in ``lmer``.
    comparison : str, optional
        A boolean/0-1 column, constant within a community, True/1 for comparison communities
        (no programme). Adds ``programme`` (1 for programme communities) and
        ``programme:change``: the difference-in-differences effect of the programme.
    respondent : str, optional
        Respondent id column (ids are labels, compared as they are) for a panel or partial
        panel: adds a respondent random intercept nested in community, ``(1 | respondent)``,
        so that residents answering in both waves and those answering once all contribute.
        Each respondent at most once per wave and in one community.
    method : {"reml", "ml"}, default="reml"
        Upper-case spellings are accepted.
    ci : float, default=0.95
        Level of every interval (for the fixed effects t quantiles with Satterthwaite df; for
        each community's change the normal approximation to its integrated posterior).
    min_n : int, default=10
        Communities with fewer rows in either wave (with ``time=``: in total) are suppressed:
        their row keeps its counts and every statistic is missing. They stay in the fit.
    nan_policy : {"omit", "raise"}, default="omit"
        A missing ``dv`` or covariate: drop the row and count it, or raise.

    Returns
    -------
    ChangeModel
        ``.fixed`` (``term, estimate, se, df, t, p, ci_low, ci_high, confidence``),
        ``.variance_components`` (``var_intercept, var_change, cov, corr, sigma2``, and
        ``var_respondent`` with ``respondent=``), ``loglik``,
        ``aic``, ``bic``, ``converged``, ``boundary``, ``diagnostics``, counts, and
        ``.communities``: ``community`` (named as the column), ``n_before, n_after`` (with
        ``time=``: ``n``), ``n_missing``, [``programme``], ``raw_change`` (difference of means;
        not with ``time=``), ``change`` (EB), ``posterior_sd``, ``prediction_sd``,
        ``prediction_df``, ``integrated_mean``, ``integrated_sd``, ``ci_low, ci_high``
        (centred on ``integrated_mean``, not on ``change``), ``p_improved``, ``reliability``,
        ``shrinkage``, ``ranef_intercept``, ``ranef_change``, ``ranef_intercept_sd``,
        ``ranef_change_sd``, ``confidence``, ``interval_method`` (``"grid"`` or
        ``"gauss_hermite"``), ``verdict``, ``suppressed``, ``reason``.

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
    Model (respondent :math:`i` of community :math:`j`, :math:`c_{ij}` = 0/1 wave or time):

    .. math:: y_{ij} = \beta_0 + \beta_1 c_{ij} + x_{ij}'\gamma
              [+ \beta_2 P_j + \beta_3 P_j c_{ij}] + u_{0j} + u_{1j} c_{ij} + e_{ij},\quad
              (u_{0j}, u_{1j}) \sim N(0, \Sigma),\ e_{ij} \sim N(0, \sigma^2),

    ``lmer(dv ~ change + covariates [+ programme * change] + (1 + change | community))``, with
    ``respondent=`` ``+ (1 | respondent)`` (the respondent blocks are inverted in closed form
    per respondent, so the fit stays at per-community cost). Fitted
    by REML (or ML) from per-community 2 x 2 sufficient statistics with lme4's Cholesky
    parametrisation of :math:`\Sigma/\sigma^2`, the fixed effects and :math:`\sigma^2` profiled
    out, L-BFGS-B with the analytic gradient from a moment start (more starts when that optimum
    does not verify) and a Newton polish; ``converged`` only
    at a verified optimum (gradient, Hessian, boundary conditions), ``boundary`` when a variance
    is 0 or the correlation :math:`\pm1` (lme4's singular fit).

    The community's change (empirical Bayes) is :math:`\hat\beta_1 [+ \hat\beta_3 P_j] +
    \hat u_{1j}` with :math:`\hat u_j = \Sigma Z_j'V_j^{-1}(y_j - X_j\hat\beta)` (lme4's
    ``ranef``). ``posterior_sd`` is its conditional SD given the estimated fixed effects and
    variances (lme4's ``condVar``). ``prediction_sd`` is the root of the Prasad-Rao (1990)
    estimate of its mean squared prediction error (Henderson's prediction-error variance plus
    twice the Kackar-Harville (1984) term), ``prediction_df`` the Satterthwaite df of that
    variance; both are reported, neither makes the interval.

    **The interval** is that of the community's posterior *integrated* over the covariance
    parameters (Morris 1983; Kass & Steffey 1989) instead of plugging in their estimates: with
    :math:`\vartheta = (\theta_2, \theta_3)` (lme4's Cholesky factor; :math:`\theta_1` and,
    with ``respondent=``, the respondent parameter at their estimates),

    .. math:: p(\delta_j \mid y) = \int N\big(m_j(\vartheta), v_j(\vartheta)\big)\,
              \pi(\vartheta \mid y)\,d\vartheta,\quad
              \pi(\vartheta \mid y) \propto L_R(\hat\theta_1, \vartheta)\,\theta_3^2
              \cdot\theta_3,

    :math:`m_j, v_j` the EB change and Henderson's prediction-error variance at
    :math:`\vartheta` (the fixed effects integrated out: flat prior), :math:`L_R` the profiled
    (RE)ML likelihood (:math:`\sigma^2` integrated out with prior :math:`1/\sigma^2` gives the
    same shape), :math:`\theta_3^2 = \det(\Sigma/\sigma^2)/\theta_1^2` the adjustment
    factor of an adjusted likelihood (Li & Lahiri 2010: it keeps the change variance away from
    the boundary with few communities) and :math:`\theta_3` the prior flat in :math:`\theta_2`
    and :math:`\theta_3^2`. The integral is a
    fixed quadrature rule (deterministic): Gauss-Legendre nodes in polar coordinates over the
    region that holds the posterior (``interval_method`` ``"grid"``; always up to 1,250
    communities and at or near the boundary), or adaptive 3 x 3 Gauss-Hermite on the Laplace
    approximation for many communities away from the boundary (``"gauss_hermite"``).
    ``integrated_mean`` and ``integrated_sd`` are the mean and SD of that posterior; the
    interval is ``integrated_mean`` :math:`\pm z_{(1+ci)/2}` ``integrated_sd`` (its normal
    approximation) and is **not centred on** ``change`` in general (near the boundary the
    integrated mean is pulled less towards the overall change than the plug-in EB change);
    ``p_improved`` = :math:`\Phi(\mathrm{integrated\_mean}/\mathrm{integrated\_sd})`, the
    posterior probability of an improvement under that approximation, so that "improved" iff
    ``p_improved > (1 + ci)/2``. With many communities it reduces to the first-order
    Kass-Steffey interval around ``change``. Coverage and detection are checked by simulation in
    ``docs/methods/change-model.md``;
    ``reliability`` = :math:`1 - \mathrm{posterior\_sd}^2/\hat\Sigma_{11}` (the share of the
    community's change variance that is signal), ``shrinkage`` = 1 - reliability. The
    verdict is the interval: "improved" iff ``ci_low > 0``, "declined" iff ``ci_high < 0``,
    else "no clear change" (no multiplicity correction; the interval shown is the one used).

    Fixed effects: SEs from :math:`\hat\sigma^2 (X'V_*^{-1}X)^{-1}` (lme4's ``vcov``);
    Satterthwaite df, t, p as lmerTest's ``summary``; the interval is
    :math:`\hat\beta \pm t_{df} \mathrm{SE}`. AIC/BIC count the fixed effects, 3 covariance
    parameters and :math:`\sigma` and use the REML log-likelihood for REML fits (as lme4).

    Missing data: rows with a missing ``dv`` are dropped and counted per community
    (``n_missing``), rows with a missing covariate are dropped and counted
    (``n_excluded_covariates``). A community observed in one wave only stays in the fit (it
    informs the intercepts) and is suppressed. Errors: one wave only, ``time`` with a single
    value, a ``comparison`` that varies within a community, no more rows than twice the number
    of communities (e.g. all communities of size 1: not identifiable, as lme4).

    Validated against R: lme4 1.1-31 + lmerTest (tests/fixtures/r/change_model.R):
    ``lmer(Reaction ~ Days + (Days | Subject), sleepstudy)`` REML and ML, a simulated two-wave
    survey ``lmer(score ~ wave + (1 + wave | community))`` and
    ``lmer(score ~ wave * programme + (1 + wave | community))``, a partial panel with
    ``+ (1 | respondent)``, a covariate and a boundary fit -- fixed effects, SEs,
    Satterthwaite df, variance components, logLik, ``ranef`` and ``condVar`` SDs agree to
    1e-5 relative. ``prediction_sd`` and ``prediction_df`` are checked against a dense
    implementation (Henderson's mixed-model equations, numerical derivatives) to 1e-4; the
    integrated posterior's node algebra against the dense mixed-model equations to 1e-8, its
    quadrature against brute-force integration to 2e-3 of the SD, and its many-community limit
    against Kass & Steffey's first-order formula.

    References
    ----------
    .. [1] Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical Linear Models* (2nd ed.). Sage.
    .. [2] Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
       models using lme4. *Journal of Statistical Software*, 67(1).
    .. [3] Kuznetsova, A., Brockhoff, P. B., & Christensen, R. H. B. (2017). lmerTest package:
       tests in linear mixed effects models. *Journal of Statistical Software*, 82(13).
    .. [4] Kackar, R. N., & Harville, D. A. (1984). Approximations for standard errors of
       estimators of fixed and random effects in mixed linear models. *JASA*, 79, 853-862.
    .. [5] Prasad, N. G. N., & Rao, J. N. K. (1990). The estimation of the mean squared error of
       small-area estimators. *JASA*, 85, 163-171.
    .. [6] Morris, C. N. (1983). Parametric empirical Bayes inference: theory and applications.
       *JASA*, 78, 47-55.
    .. [7] Kass, R. E., & Steffey, D. (1989). Approximate Bayesian inference in conditionally
       independent hierarchical models. *JASA*, 84, 717-726.
    .. [8] Li, H., & Lahiri, P. (2010). An adjusted maximum likelihood method for solving small
       area estimation problems. *Journal of Multivariate Analysis*, 101, 882-892.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import collective_efficacy as ce
    >>> rng = np.random.default_rng(3)
    >>> comm = np.repeat([f"C{k:02d}" for k in range(30)], 40)
    >>> wave = np.tile(np.repeat(["baseline", "end_of_cycle"], 20), 30)
    >>> growth = rng.normal(0.3, 0.3, 30)[np.repeat(np.arange(30), 40)]
    >>> score = 3 + rng.normal(0, 0.4, 30)[np.repeat(np.arange(30), 40)] \
    ...     + growth * (wave == "end_of_cycle") + rng.normal(0, 0.8, 1200)
    >>> df = pd.DataFrame({"community": comm, "wave": wave, "score": score})
    >>> m = ce.change_model(df, dv="score", community="community")
    >>> m.converged, m.fixed["term"].tolist()
    (True, ['intercept', 'change'])
    >>> m.communities.columns[:6].tolist()
    ['community', 'n_before', 'n_after', 'n_missing', 'raw_change', 'change']
    """
    check_choice("method", method, ["reml", "ml", "REML", "ML"], func="change_model")
    check_choice("nan_policy", nan_policy, ["omit", "raise"], func="change_model")
    meth = str(method).upper()
    ci = check_ci(ci)
    min_n = _check_min_n(min_n)
    covs = [covariates] if isinstance(covariates, str) else list(covariates or [])
    opts: dict[str, Any] = {
        "dv": dv,
        "community": community,
        "wave": wave,
        "before": before,
        "after": after,
        "time": time,
        "covariates": covs,
        "comparison": comparison,
        "respondent": respondent,
    }
    des = design(data, **opts)
    if nan_policy == "raise" and (des.n_missing.sum() or des.n_excluded_covariates):
        cols = [dv, *covs]
        raise DataError(
            f"{int(des.n_missing.sum()) + des.n_excluded_covariates} row(s) have a missing value "
            f"in {cols}; expected complete rows (or nan_policy='omit' to drop and count them)"
        )
    # one BLAS thread for the fit and the interval step: their products are long-and-thin or
    # tiny, and waking a threaded BLAS costs more than they do (several times over on a busy
    # machine)
    with _single_thread_blas():
        fit = fit_rs_lmm(
            des.y,
            des.X,
            des.t,
            des.codes,
            len(des.labels),
            method=meth,
            contrast=_contrast(des),
            resp=des.resp,
        )
        return _result(fit, des, ci=ci, min_n=min_n, **opts)


def _result(fit: RSFit, des: Design, **opts: Any) -> ChangeModel:
    slope = "change" if opts["time"] is None else "time"
    if not fit.converged:
        warnings.warn(
            f"change_model: the fit did not reach a verified optimum ({fit.message}); see "
            ".diagnostics",
            ConvergenceWarning,
            stacklevel=3,
        )
    cov = fit.cov_re
    denom = float(np.sqrt(cov[0, 0] * cov[1, 1]))
    vc = ChangeVarianceComponents(
        var_intercept=float(cov[0, 0]),
        var_change=float(cov[1, 1]),
        cov=float(cov[0, 1]),
        corr=float(cov[0, 1] / denom) if denom > 0 else float("nan"),
        sigma2=fit.sigma2,
        var_respondent=None if des.resp is None else fit.var_respondent,
    )
    boundary_components = []
    if fit.boundary:
        boundary_components = [
            name
            for name, b in (
                ("var_intercept", cov[0, 0] == 0),
                ("var_change", cov[1, 1] == 0),
                ("corr", denom > 0 and fit.theta[2] == 0),
                ("var_respondent", len(fit.theta) > 3 and fit.theta[3] == 0),
            )
            if b
        ]
    diag = FitDiagnostics(
        converged=fit.converged,
        at_boundary=fit.boundary,
        boundary_components=boundary_components,
        max_abs_grad=fit.max_abs_grad,
        hessian_pd=fit.hessian_pd,
        n_iter=fit.n_iter,
        message=fit.message,
    )
    k = len(fit.theta) + fit.n_params + 1  # theta, fixed effects, sigma (as lme4's df)
    comm = _community_table(fit, des, ci=opts["ci"], min_n=opts["min_n"])
    prog = f" + programme + programme:{slope}" if des.programme is not None else ""
    covs = "".join(f" + {c}" for c in opts["covariates"])
    # every field is built here with its type: construct without re-validating each list item
    return ChangeModel.model_construct(
        dv=opts["dv"],
        community=str(des.labels.name),
        wave=opts["wave"] if opts["time"] is None else None,
        before=opts["before"] if opts["time"] is None else None,
        after=opts["after"] if opts["time"] is None else None,
        time=opts["time"],
        covariates=opts["covariates"],
        comparison=opts["comparison"],
        respondent=opts["respondent"],
        n_respondents=des.n_respondents,
        n_repeated=des.n_repeated,
        method="REML" if fit.method == "REML" else "ML",
        ci=opts["ci"],
        min_n=opts["min_n"],
        formula=f"{opts['dv']} ~ {slope}{prog}{covs} + (1 + {slope} | {des.labels.name})"
        + (f" + (1 | {opts['respondent']})" if des.resp is not None else ""),
        variance_components=vc,
        theta=fit.theta.tolist(),
        loglik=fit.loglik,
        aic=-2.0 * fit.loglik + 2.0 * k,
        bic=float(-2.0 * fit.loglik + np.log(fit.n_obs) * k),
        deviance=fit.deviance,
        converged=fit.converged,
        boundary=fit.boundary,
        n_obs=fit.n_obs,
        n_missing=int(des.n_missing.sum()),
        n_excluded_covariates=des.n_excluded_covariates,
        n_communities=len(des.labels),
        n_suppressed=int(np.sum(comm["suppressed"])),
        diagnostics=diag,
        fixed_columns=_fixed_table(fit, des.names, opts["ci"]),
        communities_columns=comm,
    )

r"""Multilevel models for community scores: random-intercept REML and the ecometric model.

* :func:`random_intercept` -- two-level model (residents in communities) with empirical-Bayes
  (shrunken) community means, their posterior SDs and reliabilities; lme4's
  ``lmer(y ~ 1 + (1 | g))``.
* :func:`ecometric` -- the three-level ecometric model of Raudenbush & Sampson (1999) (item
  responses in residents in communities) with item difficulties, three variance components,
  EB community scores and the ecometric reliability; lme4's
  ``lmer(y ~ 0 + item + (1 | community / respondent))`` on the long item data.

Both fit from per-community (and per-respondent) sufficient statistics with closed-form
compound-symmetry inverses (engines in :mod:`._lmm` and :mod:`._lmm3`), so a national survey of
a million residents in 13,000 communities fits in well under a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_columns
from collective_efficacy._groups import factorize_groups
from collective_efficacy._params import (
    CI,
    COLUMN,
    COLUMNS,
    FRAME,
    KEYS,
    SCALE_RANGE,
    SEED,
    Interval,
    Options,
    public,
)
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.multilevel._ecometric import (
    EcoInput,
    answered_mask,
    bootstrap_reliability,
    ecometric_input,
    keyed_items,
    reliabilities,
)
from collective_efficacy.multilevel._lmm import fit_ri_intercept
from collective_efficacy.multilevel._lmm3 import NestedFit, fit_nested_scan, fit_nested_wide
from collective_efficacy.multilevel._models import (
    EcometricResult,
    EcometricVarianceComponents,
    FitDiagnostics,
    FixedEffect,
    RandomInterceptResult,
    VarianceComponents,
)
from collective_efficacy.prepared import accepts_prepared
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design import refuses_weights

__all__ = [
    "EcometricResult",
    "RandomInterceptResult",
    "ecometric",
    "random_intercept",
]


def _diagnostics(
    converged: bool,
    boundary: list[str],
    max_abs_grad: float,
    hessian_pd: bool,
    n_iter: int,
    message: str,
    func: str,
) -> FitDiagnostics:
    if not converged:
        warnings.warn(
            f"{func}: the fit did not reach a verified optimum ({message}); see .diagnostics",
            ConvergenceWarning,
            stacklevel=3,
        )
    return FitDiagnostics(
        converged=converged,
        at_boundary=bool(boundary),
        boundary_components=boundary,
        max_abs_grad=max_abs_grad,
        hessian_pd=hessian_pd,
        n_iter=n_iter,
        message=message,
    )


@refuses_weights
@accepts_prepared
@summary_route("random_intercept")
@public(
    constraints={
        "keys": [KEYS, None],
        "data": [FRAME],
        "dv": [COLUMNS],
        "community": [COLUMN],
        "method": [Options(("reml", "ml"))],
        "scale_range": [SCALE_RANGE, None],
        "nan_policy": [Options(("omit", "raise"))],
    },
    renamed={"group": "community", "scale_min": "scale_range[0]", "scale_max": "scale_range[1]"},
    old_positional=("dv", "group"),
    nan_columns=("dv",),
)
def random_intercept(
    data: pd.DataFrame,
    *,
    dv: str | Sequence[str],
    community: str,
    method: str = "reml",
    keys: Any = None,
    scale_range: tuple[float, float] | None = None,
    nan_policy: str = "omit",
) -> RandomInterceptResult:
    r"""Random-intercept model with empirical-Bayes community means.

    Parameters
    ----------
    data : DataFrame
        One row per respondent (not modified).
        A polars, pyarrow, DuckDB or Dask frame is summed per community inside its engine
        (only that table is collected; values outside ``scale_range`` are not checked there); a
        :class:`~collective_efficacy.CommunitySummary` gives the same result from the sums
        (see *Large and shared data*).
    dv : str or sequence of str
        The outcome column, or several item columns whose mean over the answered items (after
        reverse keying) is the outcome.
    community : str
        Community column; missing labels raise :class:`DataError`.
    method : {"reml", "ml"}, default="reml"
        Upper-case spellings are accepted too.
    keys : list, dict or array, optional
        Reverse keying of the ``dv`` items (``["SC1", "-SC3"]``, ``{"SC3": -1}``, +1/-1 array or
        an instrument). A reversed item is recoded :math:`x' = \min + \max - x`.
    scale_range : (min, max), optional
        The response-scale bounds used for reversing (default: the instrument's codes when
        ``keys`` is an instrument, else the lowest and highest code observed over all ``dv``
        items, pooled).
    nan_policy : {"omit", "raise"}, default="omit"
        ``"omit"`` drops respondents without an answer; ``"raise"`` refuses a missing ``dv``.

    Returns
    -------
    RandomInterceptResult
        ``variance_components`` (``tau2``, ``sigma2``, ``icc``), ``fixed`` (intercept and SE),
        ``loglik`` (REML or ML, as lme4's ``logLik``), ``diagnostics`` (``converged``,
        ``at_boundary``, ``max_abs_grad``, ``hessian_pd``), ``n_used``, ``n_excluded`` and the
        ``.groups`` table: one row per community with ``n``, ``mean``, ``eb_mean``,
        ``eb_deviation``, ``posterior_sd`` and ``reliability``.

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
    Model: :math:`y_{ij} = \gamma_{00} + u_j + e_{ij}`, :math:`u_j \sim N(0, \tau^2)`,
    :math:`e_{ij} \sim N(0, \sigma^2)`. Fitted from the per-community sufficient statistics
    (:math:`n_j`, sums, within sums of squares) with the closed-form inverse of the compound-
    symmetry covariance, :math:`\sigma^2` profiled out and the ratio :math:`\tau^2/\sigma^2`
    optimised (bounded Brent, then the root of the analytic derivative). When the optimum is
    :math:`\tau^2 = 0` the fit is reported on the boundary (``diagnostics.at_boundary``), as lme4's
    "boundary (singular) fit".

    Reliability of community :math:`j` and the EB (posterior) mean:

    .. math:: \lambda_j = \frac{\tau^2}{\tau^2 + \sigma^2/n_j}, \qquad
              \hat\theta_j = \hat\gamma_{00} + \lambda_j(\bar y_j - \hat\gamma_{00}), \qquad
              \mathrm{SD}_j = \sqrt{\tau^2 (1 - \lambda_j)}.

    The posterior SD is conditional on :math:`\hat\gamma_{00}` (lme4's ``condVar``). ``icc`` is
    ICC(1); ``mean_reliability`` the mean of :math:`\lambda_j`.

    Missing data: rows with a missing ``dv`` (with several items: no answered item) are excluded
    and counted in ``n_excluded``; a community left without rows keeps its row in ``.groups`` with
    ``n = 0``, ``mean`` NaN, reliability 0 and the prior (``eb_mean`` = intercept).
    Waves: fit each wave separately, e.g.
    ``{w: random_intercept(d, "ce", "community") for w, d in data.groupby("wave")}``.

    Validated against R: ``lme4::lmer(y ~ 1 + (1 | g), REML = TRUE/FALSE)`` (lme4 1.1-31, bobyqa
    with ``rhoend = 1e-12``) on ``lme4::sleepstudy`` and ``multilevel::bh1996``; EB means as
    ``fixef + ranef`` and posterior SDs as ``sqrt(attr(ranef(m, condVar = TRUE)[[1]],
    "postVar"))``, relative tolerance 1e-5 (observed agreement about 1e-7).

    References
    ----------
    .. [1] Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical Linear Models* (2nd ed.). Sage.
    .. [2] Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
       models using lme4. *Journal of Statistical Software*, 67(1).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"nc": list("AAABBBCCC"), "ce": [3, 4, 5, 2, 3, 3, 4, 4, 5]})
    >>> res = ce.random_intercept(df, dv="ce", community="nc")
    >>> round(res.variance_components.tau2, 4), round(res.variance_components.sigma2, 4)
    (0.5926, 0.5556)
    >>> res.groups[["nc", "n", "mean", "eb_mean", "reliability"]].round(3)
      nc  n   mean  eb_mean  reliability
    0  A  3  4.000    3.921        0.762
    1  B  3  2.667    2.905        0.762
    2  C  3  4.333    4.175        0.762
    """
    method = method.upper()
    items = [dv] if isinstance(dv, str) else list(dv)
    if not items:
        raise DataError("dv must name at least one column")
    check_columns(data, [*items, community])
    y, _, _, _ = keyed_items(data, items, keys, scale_range)
    if len(items) == 1:
        score = y[:, 0]
        has = ~np.isnan(score)
    else:
        answered = ~np.isnan(y)
        cnt = answered.sum(axis=1)
        score = np.full(len(data), np.nan)
        has = cnt > 0
        score[has] = np.where(answered, y, 0.0).sum(axis=1)[has] / cnt[has]
    gi = factorize_groups(data, community)
    if not has.any():
        raise DataError(f"dv {items} has no non-missing value; expected numeric outcomes")
    all_used = bool(has.all())
    codes = gi.codes if all_used else gi.codes[has]
    ys = score if all_used else score[has]
    fit = fit_ri_intercept(ys, codes, gi.n_groups, method=method)
    sums = np.bincount(codes, weights=ys, minlength=gi.n_groups)
    label = dv if isinstance(dv, str) else f"mean({', '.join(items)})"
    return ri_result(
        fit, label, gi.name, gi.labels.tolist(), sums,
        method=method, n_used=int(has.sum()), n_excluded=int((~has).sum()),
    )  # fmt: skip


def ri_result(
    fit: Any,
    dv: str,
    community: str,
    labels: list[Any],
    sums: np.ndarray,
    *,
    method: str,
    n_used: int,
    n_excluded: int,
) -> RandomInterceptResult:
    """The result of :func:`random_intercept` from a fit and the per-community sums."""
    n = fit.group_n
    mean = np.full(len(labels), np.nan)
    np.divide(sums, n, out=mean, where=n > 0)
    intercept = float(fit.beta[0])
    tau2, sigma2 = fit.tau2, fit.sigma2
    used_groups = n > 0
    cols: dict[str, list[Any]] = {
        community: labels,
        "n": n.tolist(),
        "mean": mean.tolist(),
        "eb_mean": (intercept + fit.eb).tolist(),
        "eb_deviation": fit.eb.tolist(),
        "posterior_sd": np.sqrt(fit.eb_var).tolist(),
        "reliability": fit.lambda_.tolist(),
    }
    diag = _diagnostics(
        fit.converged,
        ["tau2"] if fit.at_boundary else [],
        fit.max_abs_grad,
        fit.hessian_pd,
        fit.n_iter,
        fit.message,
        "random_intercept",
    )
    return RandomInterceptResult(
        dv=dv,
        community=community,
        method=method,
        variance_components=VarianceComponents(
            tau2=tau2, sigma2=sigma2, icc=tau2 / (tau2 + sigma2)
        ),
        fixed=FixedEffect(term="(Intercept)", estimate=intercept, se=float(fit.beta_se[0])),
        loglik=fit.loglik,
        deviance=fit.deviance,
        n_used=n_used,
        n_excluded=n_excluded,
        n_groups=len(labels),
        mean_reliability=float(fit.lambda_[used_groups].mean()),
        diagnostics=diag,
        groups_columns=cols,
    )


@refuses_weights
@accepts_prepared
@summary_route("ecometric")
@public(
    constraints={
        "keys": [KEYS, None],
        "data": [FRAME],
        "items": [COLUMNS],
        "community": [COLUMN],
        "respondent": [COLUMN, None],
        "covariates": [COLUMNS, None],
        "method": [Options(("reml", "ml"))],
        "scale_range": [SCALE_RANGE, None],
        "reliability": [Options(("exact", "mean_items"))],
        "ci": [CI],
        "n_boot": [Interval(Integral, 2, None), None],
        "seed": [SEED],
    },
    renamed={"group": "community", "scale_min": "scale_range[0]", "scale_max": "scale_range[1]"},
    old_positional=("items",),
)
def ecometric(
    data: pd.DataFrame,
    *,
    items: Sequence[str],
    community: str,
    respondent: str | None = None,
    keys: Any = None,
    covariates: Sequence[str] | None = None,
    method: str = "reml",
    scale_range: tuple[float, float] | None = None,
    reliability: str = "exact",
    ci: float = 0.95,
    n_boot: int | None = None,
    seed: int | np.random.Generator | None = None,
) -> EcometricResult:
    r"""Ecometric three-level model (Raudenbush & Sampson 1999): items in residents in communities.

    Parameters
    ----------
    data : DataFrame or CommunitySummary
        Wide data, one row per respondent, one column per item (not modified). A missing item is
        simply an absent response. pandas, polars, pyarrow, DuckDB or Dask; a foreign frame is
        summarised inside its engine (a duplicated ``respondent`` id is found there too;
        ``covariates`` or ``n_boot`` collect it). Or a :class:`~collective_efficacy.CommunitySummary` made with
        ``summarise(..., ecometric=True)``, which gives the numbers of the pooled rows (see
        Notes).
    items : sequence of str
        The item columns (at least 2).
    community : str
        Community column.
    respondent : str, optional
        Respondent id column; checked for duplicates (default: each row is a respondent).
    keys : list, dict or array, optional
        Reverse keying (``["SC1", "-SC3"]``, ``{"SC3": -1}``, +1/-1 array or an instrument);
        a reversed item is recoded :math:`x' = \min + \max - x`.
    covariates : sequence of str, optional
        Respondent-level numeric covariates (e.g. age, tenure). They are grand-mean centred and
        enter as fixed effects, so the community scores are adjusted for composition: the EB
        score of a community is its expected score *for residents of average characteristics*.
    method : {"reml", "ml"}, default="reml"
        Upper-case spellings are accepted too.
    scale_range : (min, max), optional
        Bounds for reversing (default: the instrument's codes when ``keys`` is an instrument,
        else the lowest and highest code observed over all items).
    reliability : {"exact", "mean_items"}, default="exact"
        The community reliability :math:`\lambda_k` reported (``reliability`` and the
        per-community column): from each respondent's number of answered items (exact, the
        precision lme4's posterior uses) or Raudenbush & Sampson's (1999) formula with the mean
        number of answered items :math:`\bar n` (to compare with published tables). The EB
        scores and posterior SDs are the same either way.
    ci : float, default=0.95
        Level of the reliability interval (with ``n_boot``).
    n_boot : int, optional
        Parametric bootstrap replicates for an interval of ``reliability`` (see Notes); default
        none. Each replicate is a refit, so the cost is ``n_boot`` fits.
    seed : int or Generator, optional
        Seed of the bootstrap.

    Returns
    -------
    EcometricResult
        ``variance_components`` (``tau_beta``, ``tau_pi``, ``sigma2``,
        ``intra_neighbourhood_correlation``), ``item_effects``, ``covariate_effects``,
        ``grand_mean``, ``reliability`` (mean :math:`\lambda_k`; with ``n_boot`` also
        ``reliability_ci_low``, ``reliability_ci_high``, ``confidence`` and ``n_boot``, the
        replicates used), ``respondent_reliability``,
        ``loglik``, ``diagnostics``, counts, and ``.groups``: one row per community with
        ``n_respondents``, ``n_responses``, ``eb_score``, ``eb_deviation``, ``posterior_sd``,
        ``reliability``.

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
    Model, response to item :math:`i` by respondent :math:`j` in community :math:`k`:

    .. math:: y_{ijk} = \alpha_i + x_{jk}'\gamma + u_k + r_{jk} + e_{ijk},\quad
              u_k \sim N(0, \tau_\beta),\ r_{jk} \sim N(0, \tau_\pi),\
              e_{ijk} \sim N(0, \sigma^2)

    with item effects :math:`\alpha_i` (difficulties) and centred covariates :math:`x_{jk}`.
    Exact REML/ML through nested compound-symmetry (Woodbury) inverses from per-respondent and
    per-community sums; :math:`\sigma^2` is profiled out and the two log variance ratios are
    optimised (Newton's method with the analytic gradient and Hessian, from moment estimates,
    in a box). ``converged`` requires optimizer success, :math:`\max|\nabla| < 10^{-5}` and a
    positive definite Hessian; a variance estimated as 0 is reported in
    ``diagnostics.boundary_components``.

    Reliability of community :math:`k` (unbalanced form; :math:`n_{jk}` = items answered by
    respondent :math:`j`) and its EB score:

    .. math:: \lambda_k = \frac{\tau_\beta}{\tau_\beta +
              \left[\sum_{j} (\tau_\pi + \sigma^2/n_{jk})^{-1}\right]^{-1}},\qquad
              \mathrm{score}_k = \bar\alpha + \hat u_k,\qquad
              \mathrm{SD}_k = \sqrt{\tau_\beta(1-\lambda_k)},

    With ``reliability="mean_items"`` (Raudenbush & Sampson 1999; :math:`J_k` respondents in
    community :math:`k`, :math:`\bar n` the mean number of items answered by the respondents
    used), :math:`\lambda_k = \tau_\beta/(\tau_\beta + \tau_\pi/J_k +
    \sigma^2/(\bar n J_k))`, which equals the exact form when everyone answers the same
    number of items.

    Interval (``n_boot``): parametric bootstrap, as lme4's ``bootMer(fit, FUN, nsim = n_boot,
    type = "parametric", use.u = FALSE)``: each replicate draws community effects, respondent
    effects and residuals from the fitted variances around the fitted fixed effects on the same
    design (respondents, communities, answered items, covariates), refits, and recomputes the
    mean reliability; the bounds are the :math:`p/2` and :math:`1-p/2` quantiles of the
    replicates (R's ``quantile``, type 7), :math:`p = 1 - ci`. Replicates whose refit fails are
    left out (``n_boot`` reports those used); NaN bounds when fewer than half remain.

    Here :math:`\hat u_k` (lme4's ``ranef``) is :math:`\lambda_k` times the precision-weighted
    mean residual of the community's respondents and :math:`\bar\alpha` the mean item effect.
    The intra-neighbourhood correlation is :math:`\tau_\beta/(\tau_\beta + \tau_\pi)`.

    Missing data: item responses that are missing are absent (no imputation); respondents with
    no answered item are excluded and counted (``n_excluded_no_items``), as are respondents with a
    missing covariate (``n_excluded_covariates``). Communities without respondents keep a row
    with ``n_respondents = 0``, reliability 0 and the prior score.
    Waves: fit each wave separately (``data[data.wave == "baseline"]``), since the variance
    components may change over the cycle.

    From a summary: the engine's per-(community, answered items) cell sums -- per number of
    answered items :math:`m`, the respondents' count and the sums of their answered indicators,
    of the indicators' pairwise products, of their keyed total :math:`T`, of indicator x
    :math:`T` and of :math:`T^2` -- are pooled over the summary's cells (its waves too), centred
    by the item means and fitted by the same optimiser: every number equals the row path's to
    a relative :math:`10^{-10}`. Covariates and ``n_boot`` need the rows.

    Validated against R: ``lme4::lmer(y ~ 0 + item + (1 | community/respondent))`` on the long
    item data (lme4 1.1-31, bobyqa ``rhoend = 1e-12``), REML and ML, with and without a
    covariate, relative tolerance 1e-5.

    References
    ----------
    .. [1] Raudenbush, S. W., & Sampson, R. J. (1999). Ecometrics: toward a science of assessing
       ecological settings. *Sociological Methodology*, 29, 1-41.
    .. [2] Sampson, R. J., Raudenbush, S. W., & Earls, F. (1997). Neighborhoods and violent crime:
       a multilevel study of collective efficacy. *Science*, 277, 918-924.
    .. [3] Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical Linear Models* (2nd ed.).
    .. [4] Bates, D., et al. (2015). Fitting linear mixed-effects models using lme4. *JSS* 67(1).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import collective_efficacy as ce
    >>> rng = np.random.default_rng(1)
    >>> nc = np.repeat(np.arange(20), 10)
    >>> true = rng.normal(0, 0.5, 20)[nc] + rng.normal(0, 0.7, 200)
    >>> df = pd.DataFrame({f"SC{i}": np.clip(np.rint(3 + true + rng.normal(0, 0.8, 200)), 1, 5)
    ...                    for i in range(1, 5)})
    >>> df["nc"] = nc
    >>> res = ce.ecometric(df, items=["SC1", "SC2", "SC3", "SC4"], community="nc")
    >>> res.converged, res.groups.shape
    (True, (20, 7))
    >>> bool(0 < res.reliability < 1)
    True
    >>> s = ce.summarise(df, items=["SC1", "SC2", "SC3", "SC4"], community="nc", min_n=None,
    ...                  ecometric=True)
    >>> pooled = ce.ecometric(s, items=["SC1", "SC2", "SC3", "SC4"], community="nc")
    >>> bool(abs(pooled.reliability - res.reliability) < 1e-10)
    True
    """
    method = method.upper()
    items = [items] if isinstance(items, str) else list(items)
    covariates = [covariates] if isinstance(covariates, str) else list(covariates or [])
    inp = ecometric_input(data, items, community, respondent, keys, covariates, scale_range)
    answered = None if n_boot is None else answered_mask(inp)
    if inp.scan is not None:  # no covariates: the item columns read in row blocks, no copy
        fit = fit_nested_scan(
            inp.scan, inp.codes, inp.used, inp.gi.n_groups, method=method, nj=inp.n_answered
        )
    else:
        fit = fit_nested_wide(inp.y, inp.z, inp.codes, inp.gi.n_groups, method=method)
    interval = None
    if answered is not None and n_boot is not None:
        interval = bootstrap_reliability(
            fit, answered, inp.z, inp.codes, inp.gi.n_groups, method=method,
            reliability=reliability, n_boot=n_boot, seed=seed, ci=ci,
        )  # fmt: skip
    return _ecometric_result(inp, fit, items, covariates, method, reliability, ci, interval)


def _ecometric_result(
    inp: EcoInput,
    fit: NestedFit,
    items: list[str],
    covariates: list[str],
    method: str,
    reliability: str,
    ci: float,
    interval: tuple[float, float, int] | None,
    answered: tuple[np.ndarray, np.ndarray] | None = None,
) -> EcometricResult:
    """The result model: variance components, effects, reliability and the community table.

    ``answered`` (a summary's path): the numbers of answered items and how many respondents
    answered that many, in place of ``inp.y``'s respondent rows."""
    n_items_i = len(items)
    grand = float(fit.beta[:n_items_i].mean())
    tb, tp, s2 = fit.tau_beta, fit.tau_pi, fit.sigma2
    if answered is None:
        n_answered = inp.n_answered if inp.n_answered is not None else (~np.isnan(inp.y)).sum(1)
        resp_rel = tp / (tp + s2 / n_answered) if tp > 0 else np.zeros(len(n_answered))
    else:  # weighted by the respondents per number of answered items
        m, w = answered[0][answered[1] > 0], answered[1][answered[1] > 0]
        n_answered = np.array([float(w @ m) / float(w.sum())])  # only its mean is used
        resp_rel = np.array([float(w @ (tp / (tp + s2 / m))) / float(w.sum()) if tp > 0 else 0.0])
    lam = reliabilities(fit, n_answered, reliability)
    boundary = [n for n, b in zip(("tau_beta", "tau_pi"), fit.at_boundary) if b]
    diag = _diagnostics(
        fit.converged, boundary, fit.max_abs_grad, fit.hessian_pd, fit.n_iter, fit.message,
        "ecometric",
    )  # fmt: skip
    cols: dict[str, list[Any]] = {
        inp.gi.name: inp.gi.labels.tolist(),
        "n_respondents": fit.group_n_respondents.tolist(),
        "n_responses": fit.group_n_obs.tolist(),
        "eb_score": (grand + fit.eb).tolist(),
        "eb_deviation": fit.eb.tolist(),
        "posterior_sd": np.sqrt(fit.eb_var).tolist(),
        "reliability": lam.tolist(),
    }
    tot = tb + tp
    effects = [
        FixedEffect(term=t, estimate=float(fit.beta[i]), se=float(fit.beta_se[i]))
        for i, t in enumerate([*items, *covariates])
    ]
    return EcometricResult(
        items=items,
        reversed_items=inp.reversed_items,
        community=inp.gi.name,
        method=method,
        variance_components=EcometricVarianceComponents(
            tau_beta=tb,
            tau_pi=tp,
            sigma2=s2,
            intra_neighbourhood_correlation=tb / tot if tot > 0 else float("nan"),
        ),
        item_effects=effects[:n_items_i],
        covariate_effects=effects[n_items_i:],
        grand_mean=grand,
        reliability=float(lam[fit.group_n_respondents > 0].mean()),
        reliability_method=reliability,
        reliability_ci_low=None if interval is None else interval[0],
        reliability_ci_high=None if interval is None else interval[1],
        confidence=None if interval is None else ci,
        n_boot=None if interval is None else interval[2],
        respondent_reliability=float(np.mean(resp_rel)),
        loglik=fit.loglik,
        deviance=fit.deviance,
        n_respondents=inp.n_used,
        n_responses=fit.n_obs,
        n_excluded_no_items=inp.n_no_items,
        n_excluded_covariates=inp.n_bad_cov,
        n_groups=inp.gi.n_groups,
        scale_range=inp.scale_range,
        diagnostics=diag,
        groups_columns=cols,
    )

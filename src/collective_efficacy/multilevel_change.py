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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from ._change_data import suppression
from ._checks import check_choice, check_ci, check_columns, numeric_matrix
from ._groups import factorize_groups
from ._lmm_slope import RSFit, fit_rs_lmm
from ._mixed_models import ChangeModel, ChangeVarianceComponents, FitDiagnostics
from ._rows import rows_in
from .errors import ConvergenceWarning, DataError

__all__ = ["ChangeModel", "change_model"]


@dataclass(frozen=True)
class _Design:
    y: np.ndarray
    X: np.ndarray
    t: np.ndarray
    codes: np.ndarray
    labels: pd.Index
    names: list[str]
    programme: np.ndarray | None  # per community, bool
    n_missing: np.ndarray  # per community: rows with a missing dv
    n_excluded_covariates: int
    after: np.ndarray | None  # two waves: the row is in the after wave
    resp: np.ndarray | None = None  # respondent code per used row (panel)
    n_respondents: int | None = None
    n_repeated: int | None = None  # respondents with more than one used row


def _covariates(data: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Numeric covariate matrix; booleans become 0/1 (the caller's frame is not modified)."""
    if not covariates:
        return np.empty((len(data), 0))
    frame = pd.DataFrame(
        {
            c: data[c].astype(np.float64) if pd.api.types.is_bool_dtype(data[c]) else data[c]
            for c in covariates
        },
        index=data.index,
    )
    return numeric_matrix(frame, covariates)


def _programme(data: pd.DataFrame, comparison: str, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per community: True for a programme community (comparison False/0 on all its rows)."""
    col = data[comparison]
    miss = col.isna().to_numpy()
    if miss.any():
        raise DataError(
            f"comparison column {comparison!r} has missing values at {rows_in(data, miss)}; "
            "expected True/1 (comparison community) or False/0 (programme) on every row"
        )
    vals = col.to_numpy()
    if pd.api.types.is_bool_dtype(col):
        comp = vals.astype(bool)
    else:
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isin(num, [0.0, 1.0])
        if bad.any():
            raise DataError(
                f"comparison column {comparison!r}: value(s) {list(pd.unique(vals[bad]))[:5]} at "
                f"{rows_in(data, bad)}; expected True/1 (comparison community) or False/0"
            )
        comp = num == 1.0
    n = np.bincount(codes, minlength=n_groups)
    k = np.bincount(codes, weights=comp.astype(np.float64), minlength=n_groups)
    varies = (k > 0) & (k < n)
    if varies.any():
        rows = varies[codes]
        raise DataError(
            f"comparison column {comparison!r} varies within {int(varies.sum())} community(ies) "
            f"({rows_in(data, rows)}); expected one value per community (it marks whole "
            "communities that had no programme)"
        )
    prog = k == 0
    if prog.all() or not prog.any():
        raise DataError(
            f"comparison column {comparison!r}: {'no' if prog.all() else 'every'} community is "
            "a comparison community; expected both programme and comparison communities"
        )
    return prog


def _after(data: pd.DataFrame, wave: str, before: Hashable, after: Hashable) -> np.ndarray:
    """Per row: in the after wave; every label must be ``before`` or ``after`` (as
    :func:`compare_waves`), so each row is compared with the two labels once."""
    check_columns(data, [wave])
    if before == after:
        raise DataError(f"before and after must be different wave labels; both are {before!r}")
    w = data[wave]
    is_a = (w == after).to_numpy(dtype=bool, na_value=False)
    is_b = (w == before).to_numpy(dtype=bool, na_value=False)
    other = ~(is_b | is_a)
    if other.any():
        wmiss = w.isna().to_numpy()
        if wmiss.any():
            raise DataError(
                f"wave column {wave!r} has {int(wmiss.sum())} missing label(s) at "
                f"{rows_in(data, wmiss)}; expected {before!r} or {after!r} on every row"
            )
        vals = sorted({str(v) for v in w[other].unique()})[:10]
        raise DataError(
            f"wave column {wave!r}, {rows_in(data, other)}: a label "
            f"that is neither before={before!r} nor after={after!r} (values {vals}). Filter the "
            "data to the two waves to compare, or pass the right before=/after= labels."
        )
    return is_a


def _design(
    data: pd.DataFrame,
    *,
    dv: str,
    community: str,
    wave: str,
    before: Hashable,
    after: Hashable,
    time: str | None,
    covariates: list[str],
    comparison: str | None,
    respondent: str | None = None,
) -> _Design:
    extra = [comparison] if comparison is not None else []
    extra += [respondent] if respondent is not None else []
    check_columns(data, [dv, community, *covariates, *extra])
    gi = factorize_groups(data, community, what="community")
    y_all = numeric_matrix(data, [dv])[:, 0]
    after_all: np.ndarray | None = None
    if time is None:
        after_all = _after(data, wave, before, after)
        if not after_all.any() or after_all.all():
            present = after if after_all.any() else before
            raise DataError(
                f"wave column {wave!r} holds only {present!r}: one wave only; expected rows of "
                f"both before={before!r} and after={after!r}"
            )
        t_all = after_all.astype(np.float64)
    else:
        check_columns(data, [time])
        t_all = numeric_matrix(data, [time])[:, 0]
        tmiss = np.isnan(t_all)
        if tmiss.any():
            raise DataError(
                f"time column {time!r} has missing values at {rows_in(data, tmiss)}; "
                "expected a number (e.g. months since the baseline) on every row"
            )
        if np.unique(t_all).size < 2:
            raise DataError(
                f"time column {time!r} has a single value ({t_all[0]!r}); expected at least two "
                "measurement times"
            )
    z = _covariates(data, covariates)
    ymiss = np.isnan(y_all)
    zmiss = np.isnan(z).any(axis=1) & ~ymiss
    keep = ~(ymiss | zmiss)
    if not keep.any():
        raise DataError(f"no row has a {dv!r} score (and complete covariates)")
    g = gi.n_groups
    programme = _programme(data, comparison, gi.codes, g) if comparison is not None else None
    every = bool(keep.all())  # then views, not copies, of the row arrays
    codes = gi.codes if every else gi.codes[keep]
    t = t_all if every else t_all[keep]
    cols = [np.ones(int(keep.sum())), t]
    slope = "change" if time is None else "time"
    names = ["intercept", slope]
    if programme is not None:
        pr = programme[codes].astype(np.float64)
        cols += [pr, pr * t]
        names += ["programme", f"programme:{slope}"]
    cols += [z[keep, i] for i in range(z.shape[1])]
    names += covariates
    if covariates and np.any(np.ptp(z[keep], axis=0) == 0):
        raise DataError(f"a covariate in {covariates} is constant; expected variation")
    X = np.empty((len(cols[0]), len(cols)), order="F")  # column-major: every use is by column
    for i, col in enumerate(cols):  # a few fixed effects, never a loop over communities
        X[:, i] = col
    del cols
    panel = _panel(data, respondent, keep, gi.codes, t_all) if respondent is not None else None
    return _Design(
        y=y_all if every else y_all[keep],
        X=X,
        t=t,
        codes=codes,
        labels=gi.labels,
        names=names,
        programme=programme,
        n_missing=np.bincount(gi.codes[ymiss], minlength=g).astype(np.int64),
        n_excluded_covariates=int(zmiss.sum()),
        after=None if after_all is None else (after_all if every else after_all[keep]),
        resp=None if panel is None else panel[0],
        n_respondents=None if panel is None else panel[1],
        n_repeated=None if panel is None else panel[2],
    )


def _panel(
    data: pd.DataFrame, respondent: str, keep: np.ndarray, codes: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """Respondent codes of the used rows (ids as text), checked: nested, once per wave."""
    # unsorted hash factorisation: the codes only index respondents (no labels are published);
    # a missing id goes through factorize_groups for its message
    rc_raw, uniq = pd.factorize(data[respondent], sort=False)
    if (rc_raw < 0).any():
        factorize_groups(data, respondent, what="respondent")
    rc = np.asarray(rc_raw, dtype=np.int64)
    del rc_raw, uniq
    n_r = int(rc.max()) + 1
    every = bool(keep.all())
    rk = rc if every else rc[keep]
    tk = t if every else t[keep]
    if np.all((tk == 0.0) | (tk == 1.0)):  # two waves: the wave is the code (no sort, no hash)
        key = rk * 2
        key += tk == 1.0
        dup = (np.bincount(key, minlength=2 * n_r) > 1)[key]
        del key
    else:
        _, ti = np.unique(tk, return_inverse=True)  # the time of each used row
        dup = pd.Series(rk * (int(ti.max()) + 1) + ti).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(keep)[dup]
        mask = np.zeros(len(data), dtype=bool)
        mask[rows] = True
        raise DataError(
            f"respondent column {respondent!r}: id(s) {list(pd.unique(data[respondent][mask]))[:5]} "
            f"occur more than once in one wave ({rows_in(data, mask)}); expected each respondent "
            "at most once per wave"
        )
    lo = np.full(n_r, np.iinfo(np.int64).max)
    hi = np.full(n_r, -1)
    np.minimum.at(lo, rc, codes)
    np.maximum.at(hi, rc, codes)
    bad = (hi >= 0) & (lo != hi)
    if bad.any():
        mask = bad[rc]
        raise DataError(
            f"respondent column {respondent!r}: {int(bad.sum())} respondent(s) appear in more "
            f"than one community ({rows_in(data, mask)}); expected respondents nested in "
            "communities (give a respondent who moved a new id)"
        )
    used = np.bincount(rk, minlength=n_r)
    repeated = int(np.count_nonzero(used > 1))
    if repeated == 0:
        raise DataError(
            f"respondent column {respondent!r}: no respondent answers in more than one wave, so "
            "the respondent variance is not identifiable; leave out respondent="
        )
    # codes of the used respondents only, 0..R-1 (in the order of the codes above)
    renumber = np.cumsum(used > 0) - 1
    return renumber[rk], int(np.count_nonzero(used)), repeated


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


def _contrast(des: _Design) -> np.ndarray:
    """Per community the fixed-effect combination that is its expected change."""
    c = np.zeros((len(des.labels), des.X.shape[1]))
    c[:, 1] = 1.0
    if des.programme is not None:
        c[:, 3] = des.programme
    return c


def _community_table(fit: RSFit, des: _Design, *, ci: float, min_n: int) -> dict[str, Any]:
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
    # the interval the verdict uses: Prasad-Rao MSE (fixed effects and variance parameters'
    # uncertainty) with a t quantile at the Satterthwaite df of that MSE
    pred_sd = np.sqrt(fit.pred_var_slope + 2.0 * fit.pred_var_theta)
    q = special.stdtrit(fit.pred_df, 0.5 + ci / 2.0)  # stats.t.ppf without its checks
    lo, hi = change - q * pred_sd, change + q * pred_sd
    with np.errstate(invalid="ignore", divide="ignore"):
        p_imp = special.stdtr(fit.pred_df, change / pred_sd)
        rel = 1.0 - fit.ranef_cov[:, 1, 1] / var_change if var_change > 0 else np.full(g, np.nan)
    stat = {
        "raw_change": raw,
        "change": change,
        "posterior_sd": psd,
        "prediction_sd": pred_sd,
        "prediction_df": fit.pred_df,
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
    out["verdict"] = verdict.tolist()
    out["suppressed"] = sup.tolist()
    out["reason"] = [r if r else None for r in reason.tolist()]
    return out


def _check_min_n(min_n: int) -> int:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 1:
        raise DataError(f"min_n must be an integer >= 1; got {min_n!r}")
    return int(min_n)


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
        Level of every interval (t quantiles with Satterthwaite df, for the fixed effects and
        for each community's change).
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
        not with ``time=``), ``change`` (EB), ``posterior_sd``, ``prediction_sd``, ``ci_low,
        ci_high``, ``p_improved``, ``prediction_df``, ``reliability``, ``shrinkage``,
        ``ranef_intercept``,
        ``ranef_change``, ``ranef_intercept_sd``, ``ranef_change_sd``, ``confidence``,
        ``verdict``, ``suppressed``, ``reason``.

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
    estimate of its mean squared prediction error: Henderson's prediction-error variance (adds
    the fixed effects' uncertainty) plus twice the Kackar-Harville (1984) term for the
    estimated variance parameters; ``prediction_df`` the Satterthwaite df of that variance.
    The interval is ``change`` :math:`\pm t_{\nu,(1+ci)/2}` ``prediction_sd``
    (:math:`\nu` = ``prediction_df``); ``p_improved`` =
    :math:`F_{t,\nu}(\mathrm{change}/\mathrm{prediction\_sd})`, so that "improved" iff
    ``p_improved > (1 + ci)/2``; the coverage of this interval is checked by simulation in
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
    implementation (Henderson's mixed-model equations, numerical derivatives) to 1e-4.

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
    des = _design(
        data,
        dv=dv,
        community=community,
        wave=wave,
        before=before,
        after=after,
        time=time,
        covariates=covs,
        comparison=comparison,
        respondent=respondent,
    )
    if nan_policy == "raise" and (des.n_missing.sum() or des.n_excluded_covariates):
        cols = [dv, *covs]
        raise DataError(
            f"{int(des.n_missing.sum()) + des.n_excluded_covariates} row(s) have a missing value "
            f"in {cols}; expected complete rows (or nan_policy='omit' to drop and count them)"
        )
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
    return _result(
        fit,
        des,
        dv=dv,
        community=community,
        wave=wave,
        before=before,
        after=after,
        time=time,
        covariates=covs,
        comparison=comparison,
        respondent=respondent,
        ci=ci,
        min_n=min_n,
    )


def _result(fit: RSFit, des: _Design, **opts: Any) -> ChangeModel:
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

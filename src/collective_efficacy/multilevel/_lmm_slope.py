r"""Random intercept + random slope LMM from per-group 2 x 2 sufficient statistics (private engine).

The change model of :func:`collective_efficacy.change_model` and anything else that needs
``lme4::lmer(y ~ 0 + X + (1 + t | g), REML = method == "REML")``. It extends the random-intercept
engine of :mod:`._lmm` (same shift of y, same profiled-deviance formulation, same input checks)
from a scalar variance ratio to lme4's 2 x 2 relative covariance factor.

Use::

    from collective_efficacy.multilevel._lmm_slope import fit_rs_lmm
    fit = fit_rs_lmm(y, X, t, codes, n_groups, method="REML")

* ``y`` (n,), ``X`` (n, p) with the intercept column, ``t`` (n,) the random-slope covariate
  (0/1 for two waves, or time), ``codes`` (n,) group codes in ``0..n_groups-1`` (empty groups
  allowed: their BLUP is 0 and their conditional covariance the prior).
* Returns :class:`RSFit`: ``beta``, ``beta_cov`` (:math:`\hat\sigma^2 (X'V_*^{-1}X)^{-1}`, lme4's
  ``vcov``), ``beta_se``, ``df`` (Satterthwaite, as lmerTest), ``theta`` (lme4's
  ``getME(m, "theta")``), ``sigma2``, ``cov_re`` (2 x 2 covariance of the random effects),
  ``loglik`` (REML or ML, lme4's ``logLik``), ``converged``, ``boundary``, ``ranef`` (G, 2),
  ``ranef_cov`` (G, 2, 2) (lme4's ``condVar``: conditional on the fixed effects) and
  ``pred_var_slope`` (G,): the prediction variance of ``beta_slope + b_j1`` including the fixed
  effects' uncertainty (Henderson), ``pred_var_theta`` (G,): the Kackar-Harville term for the
  estimated variance parameters, ``pred_df`` (G,): Satterthwaite df of ``pred_var_slope``.

How it works
------------
Group :math:`j` has :math:`V_j = \sigma^2 (I + Z_j \Lambda\Lambda' Z_j')`, :math:`Z_j = [1, t]`,
:math:`\Lambda = \begin{pmatrix}\theta_1 & 0\\ \theta_2 & \theta_3\end{pmatrix}` (lme4's
Cholesky parametrisation, :math:`\theta_1, \theta_3 \ge 0`). With :math:`M_j = I +
\Lambda' Z_j'Z_j \Lambda` (2 x 2) and :math:`K_j = \Lambda M_j^{-1} \Lambda'`, Woodbury gives
:math:`V_{*j}^{-1} = I - Z_j K_j Z_j'` and :math:`\log|V_{*j}| = \log|M_j|`, so every term of the
generalised least-squares problem needs only :math:`Z_j'Z_j`, :math:`Z_j'X_j` (2 x p) and
:math:`Z_j'y_j` per group and the totals :math:`X'X, X'y, y'y`:
:math:`A = X'X - \sum_j X_j'Z_j K_j Z_j'X_j`, :math:`b = X'y - \sum_j X_j'Z_jK_jZ_j'y_j`,
:math:`\hat\beta = A^{-1}b`, :math:`\mathrm{RSS} = y'y - \sum_j y_j'Z_jK_jZ_j'y_j - b'\hat\beta`.
The profiled deviance is :math:`\sum_j\log|M_j| + [\log|A|]_{REML} + m(1 + \log(2\pi
\mathrm{RSS}/m))`, :math:`m = n - p` (REML) or :math:`n` (ML), lme4's ``devfun``. Its gradient
is analytic: with :math:`T = \Lambda\Lambda'` and :math:`H = \sum_j [S_j - (m/\mathrm{RSS})
w_jw_j' - W_jA^{-1}W_j']` (:math:`S_j = Z_j'V_{*j}^{-1}Z_j`, :math:`w_j = Z_j'V_{*j}^{-1}r_j`,
:math:`W_j = Z_j'V_{*j}^{-1}X_j`; the last term for REML only), :math:`\partial d/\partial T = H`
and :math:`\partial d/\partial\Lambda = 2H\Lambda`. One evaluation costs :math:`O(Gp^2)`; no
Python loop over groups, nothing of size n x G.

Without a respondent level the second derivatives are analytic too (:mod:`._lmm_slope_hess`):
the three parameters are optimised by Newton's method with the analytic Hessian (eigenvalues
made positive where it is not positive definite, a backtracking line search; scipy's
``trust-exact`` where that stalls) from a method-of-moments start, over unconstrained theta
(the deviance depends on theta only through :math:`\Lambda\Lambda'`; the result is reported
with lme4's signs), then polished by Newton steps; typically 4-6 evaluations. With a respondent
level: L-BFGS-B with the analytic gradient, then Newton steps with a finite-difference Hessian.
Only when that optimum does not verify are four fixed starts run too (the best optimum is kept
and polished). Evaluations are memoised per parameter vector, so the polish, the verification
and the Satterthwaite and prediction steps reuse them. A boundary candidate (a variance at 0 or a correlation at +-1) is kept when
its deviance is not higher. ``converged`` means: the largest free gradient component of the
log-likelihood is below 1e-6, the Hessian over the free parameters is positive definite and no
direction off the boundary lowers the deviance.

Satterthwaite degrees of freedom follow lmerTest (Kuznetsova et al. 2017): the Hessian of the
(RE)ML deviance in :math:`(\theta, \sigma)` (profiled over :math:`\beta` only; analytic without
a respondent level, else central differences of the analytic gradient) gives
:math:`\mathrm{Cov}(\theta,\sigma) = 2H^{-1}` (Moore-Penrose over the positive eigenvalues), the
Jacobian of :math:`\sigma^2A^{-1}` is analytic, and :math:`\nu_i = 2 C_{ii}^2 / (g_i'\,
\mathrm{Cov}\, g_i)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from collective_efficacy.change._bootstrap import _single_thread_blas
from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._lmm import _check_inputs, all_finite
from collective_efficacy.multilevel._lmm_panel import panel_cells
from collective_efficacy.multilevel._lmm_slope_core import (
    _Eval,
    _evaluate,
    _jacobian,
    _lam,
    _Stats,
    _sufficient,
)
from collective_efficacy.multilevel._lmm_slope_hess import prediction_jacobians, varpar_hessian
from collective_efficacy.multilevel._lmm_slope_optim import _optimise

__all__ = ["RSFit", "fit_rs_lmm", "rs_profile"]


@dataclass(frozen=True)
class RSFit:
    """Result of :func:`fit_rs_lmm` (see the module docstring)."""

    beta: np.ndarray
    beta_se: np.ndarray
    beta_cov: np.ndarray
    df: np.ndarray
    theta: np.ndarray
    sigma2: float
    cov_re: np.ndarray
    var_respondent: float
    loglik: float
    deviance: float
    method: str
    n_obs: int
    n_params: int
    converged: bool
    boundary: bool
    max_abs_grad: float
    hessian_pd: bool
    n_iter: int
    message: str
    group_n: np.ndarray = field(repr=False)
    group_t: np.ndarray = field(repr=False)  # per group: sum of t (rows after, for 0/1 t)
    group_y: np.ndarray = field(repr=False)  # per group: sums of y and of t * y
    ranef: np.ndarray = field(repr=False)
    ranef_cov: np.ndarray = field(repr=False)
    pred_var_slope: np.ndarray = field(repr=False)
    pred_var_theta: np.ndarray = field(repr=False)
    pred_df: np.ndarray = field(repr=False)
    # the per-group statistics of the fit (for the integrated interval of change_model,
    # ._change_posterior); None only when built by hand
    stats: _Stats | None = field(default=None, repr=False)


def rs_profile(
    y: np.ndarray,
    X: np.ndarray,
    t: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    theta: np.ndarray,
    *,
    method: str = "REML",
    resp: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Profiled deviance and its gradient at ``theta`` (3, or 4 with ``resp``: for tests)."""
    y, X, codes = _check_inputs(y, X, codes, n_groups, method)
    t = np.asarray(t, float)
    st, r0 = _sufficient(y, X, t, codes, n_groups, method == "REML")
    if resp is not None:
        cells = panel_cells(r0, X, t, np.asarray(resp, np.int64), codes, n_groups)
        st = dataclasses.replace(st, panel=cells, memo={})
    ev = _evaluate(st, np.asarray(theta, float))
    return ev.deviance, ev.grad


def _vp_grad(st: _Stats, vp: np.ndarray, at: _Eval | None = None) -> np.ndarray:
    """Gradient of lmerTest's deviance in varpar = (theta, sigma), beta profiled; ``at`` is the
    evaluation at ``vp[:-1]`` when the caller has it."""
    ev = _evaluate(st, vp[:-1]) if at is None else at
    sigma = vp[-1]
    s2 = sigma**2
    h = ev.h_s - ev.h_w / s2 - (ev.h_a if st.reml else 0.0)
    gl = 2.0 * h @ _lam(vp[:3])
    m = st.n_obs - st.xtx.shape[0] if st.reml else st.n_obs
    d_sigma = -2.0 * ev.rss / (s2 * sigma) + 2.0 * m / sigma
    out = [gl[0, 0], gl[1, 0], gl[1, 1]]
    if ev.panel_parts is not None:
        tr_r, q_r, a_r = ev.panel_parts
        out.append(2.0 * vp[3] * (tr_r - q_r / s2 - (a_r if st.reml else 0.0)))
    return np.array([*out, d_sigma])


class _Evaluations:
    """Evaluations by parameter vector: the Satterthwaite Hessian and the prediction's
    Jacobian (:func:`_prediction`) use the same finite-difference points, evaluated once."""

    def __init__(self, st: _Stats, params: np.ndarray, ev: _Eval) -> None:
        self.st = st
        self.done: dict[bytes, _Eval] = {np.asarray(params, float).tobytes(): ev}

    def __call__(self, params: np.ndarray) -> _Eval:
        key = np.asarray(params, float).tobytes()
        if key not in self.done:
            self.done[key] = _evaluate(self.st, params)
        return self.done[key]


def _satterthwaite(
    st: _Stats, ev: _Eval, params: np.ndarray, sigma: float, cache: _Evaluations
) -> tuple[np.ndarray, np.ndarray]:
    """Satterthwaite df of the fixed effects and lmerTest's Cov(theta, sigma) = 2 H^-1."""
    vp = np.append(params, sigma)
    theta = params[:3]
    if st.panel is None:  # analytic (no further evaluations)
        hess = varpar_hessian(st, ev, theta, sigma)
    else:  # the sigma column moves sigma only: theta stays at params, whose evaluation is known
        hess = _jacobian(lambda v: _vp_grad(st, v, cache(v[:-1])), vp, richardson=False)
    hess = 0.5 * (hess + hess.T)
    evals, evecs = np.linalg.eigh(hess)
    pos = evals > 1e-8
    cov_vp = 2.0 * (evecs[:, pos] / evals[pos]) @ evecs[:, pos].T
    lam = _lam(theta)
    d_list = [
        np.array([[2 * lam[0, 0], lam[1, 0]], [lam[1, 0], 0.0]]),
        np.array([[0.0, lam[0, 0]], [lam[0, 0], 2 * lam[1, 0]]]),
        np.array([[0.0, 0.0], [0.0, 2 * lam[1, 1]]]),
    ]
    s2 = sigma * sigma
    jac = []
    for d in d_list:
        cross = ev.w0.T @ ev.w1
        dwd = (
            d[0, 0] * (ev.w0.T @ ev.w0) + d[0, 1] * (cross + cross.T) + d[1, 1] * (ev.w1.T @ ev.w1)
        )
        jac.append(s2 * ev.ainv @ dwd @ ev.ainv)
    if ev.xrx is not None:  # d A / d phi = -X'V^-1 R V^-1 X, phi = theta_r^2
        jac.append(2.0 * params[3] * s2 * ev.ainv @ ev.xrx @ ev.ainv)
    jac.append(2.0 * sigma * ev.ainv)
    cdiag = s2 * np.diag(ev.ainv)
    g = np.stack([np.diag(j) for j in jac], -1)  # (p, number of varpar)
    denom = np.einsum("pk,kl,pl->p", g, cov_vp, g)
    with np.errstate(divide="ignore"):
        return np.where(denom > 0, 2.0 * cdiag**2 / denom, np.inf), cov_vp


def fit_rs_lmm(
    y: np.ndarray,
    X: np.ndarray,
    t: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    method: str = "REML",
    contrast: np.ndarray | None = None,
    resp: np.ndarray | None = None,
) -> RSFit:
    """Fit ``y ~ 0 + X + (1 + t | g)`` by REML or ML; see the module docstring.

    ``contrast`` (G, p): per group the fixed-effect combination :math:`c_j'\beta` whose sum
    with the group's random slope is predicted (``pred_var_slope``); default: none (NaN).
    """
    y, X, codes = _check_inputs(y, X, codes, n_groups, method)
    t = np.asarray(t, dtype=np.float64)
    if t.shape != y.shape or not all_finite(t):
        raise DataError("t must be finite with one value per row of y")
    # one BLAS thread throughout: every product here is long-and-thin or tiny, and a threaded
    # BLAS (also inside L-BFGS-B) spends more time waking threads than computing (8x slower
    # on a busy machine)
    with _single_thread_blas():
        st, r0 = _sufficient(y, X, t, codes, n_groups, method == "REML")
        if resp is not None:
            resp = np.asarray(resp, dtype=np.int64)
            if resp.shape != y.shape or (resp.size and resp.min() < 0):
                raise DataError("resp must give a respondent code >= 0 per row of y")
            st = dataclasses.replace(
                st, panel=panel_cells(r0, X, t, resp, codes, n_groups), memo={}
            )
        del r0
    p = X.shape[1]
    nonempty = int(np.count_nonzero(st.n))
    if st.n_obs <= 2 * nonempty:
        raise DataError(
            f"{st.n_obs} observations for {2 * nonempty} random effects (an intercept and a change "
            f"per community, {nonempty} communities): the model is not identifiable (lme4 stops "
            "here too); expected more observations than twice the number of communities"
        )
    if st.n_obs - p <= 0:
        raise DataError(f"{st.n_obs} observations for {p} fixed effects; expected more")
    if contrast is not None:
        contrast = np.asarray(contrast, dtype=np.float64)
        if contrast.shape != (n_groups, p):
            raise DataError(f"contrast must have shape ({n_groups}, {p})")
    with _single_thread_blas():
        return _fit(st, method, contrast)


def _pev_unit(ev: _Eval, contrast: np.ndarray) -> np.ndarray:
    r"""Prediction-error variance of c_j'beta_hat + b_j1 over sigma^2 (Henderson 1975).

    :math:`K_{j,11} + (u_j - c_j)'A^{-1}(u_j - c_j)`, :math:`u_j = (K_jZ_j'X_j)_{1\cdot}`:
    the conditional variance plus the fixed effects' uncertainty and their covariance with the
    BLUP.
    """
    _, k01, k11 = ev.k
    u = k01[:, None] * ev.zx0 + k11[:, None] * ev.zx1 - contrast
    out: np.ndarray = k11 + np.sum((u @ ev.ainv) * u, axis=1)
    return out


def _predicted(ev: _Eval, contrast: np.ndarray) -> np.ndarray:
    """c_j'beta_hat + b_j1 (up to the constant shift of beta)."""
    _, k01, k11 = ev.k
    out: np.ndarray = contrast @ ev.beta + k01 * ev.zr[:, 0] + k11 * ev.zr[:, 1]
    return out


def _prediction(
    ev: _Eval,
    params: np.ndarray,
    sigma2: float,
    contrast: np.ndarray | None,
    cov_vp: np.ndarray,
    evals: _Evaluations,
) -> dict[str, np.ndarray]:
    r"""Prediction variance of each group's change, with the variance parameters' uncertainty.

    ``pred_var_slope``: Henderson's :math:`\sigma^2 g_{1+2,j}` at the estimates (:func:`_pev_unit`).
    ``pred_var_theta``: Kackar & Harville's (1984) term :math:`g_{3,j} = \nabla_\theta
    \tilde c_j'\,\mathrm{Cov}(\hat\theta)\,\nabla_\theta \tilde c_j`, the variance the
    estimated covariance parameters add to the predicted change :math:`\tilde c_j(\theta)` (its
    gradient analytic without a respondent level (:mod:`._lmm_slope_hess`), else by central
    differences at the points of the Satterthwaite Hessian, reusing its evaluations; Cov from
    lmerTest's Hessian; sigma does not move it).
    ``pred_df``: Satterthwaite df of the prediction variance,
    :math:`2\,\mathrm{PEV}_j^2 / \nabla\mathrm{PEV}_j'\,\mathrm{Cov}(\hat\theta,\hat\sigma)
    \,\nabla\mathrm{PEV}_j`.
    """
    g = len(ev.k[0])
    if contrast is None:
        nan = np.full(g, np.nan)
        return {"pred_var_slope": nan, "pred_var_theta": nan, "pred_df": nan}
    q = len(params)
    pu = _pev_unit(ev, contrast)
    if evals.st.panel is None:  # analytic
        d_change, jac_pu = prediction_jacobians(evals.st, ev, params, contrast)
    else:

        def both(x: np.ndarray) -> np.ndarray:
            e = evals(x)
            return np.concatenate([_predicted(e, contrast), _pev_unit(e, contrast)])

        # at a boundary (a theta at 0) the step below 0 is valid: the model depends on theta
        # through Lambda Lambda' (and theta_r^2) only
        jac = _jacobian(both, np.asarray(params, float), richardson=False)  # (2G, q)
        d_change, jac_pu = jac[:g], jac[g:]
    d_pu = np.empty((g, q + 1))
    d_pu[:, :q] = sigma2 * jac_pu
    sigma = float(np.sqrt(sigma2))
    d_pu[:, q] = 2.0 * sigma * pu
    c_tt = cov_vp[:q, :q]
    g3 = np.einsum("gk,kl,gl->g", d_change, c_tt, d_change)
    pev = sigma2 * pu
    var_pev = np.einsum("gk,kl,gl->g", d_pu, cov_vp, d_pu)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = np.where(var_pev > 0, 2.0 * pev**2 / var_pev, np.inf)
    return {"pred_var_slope": pev, "pred_var_theta": np.maximum(g3, 0.0), "pred_df": df}


def _group_y(st: _Stats) -> np.ndarray:
    """Per group the sums of y and t * y (un-shifting Z_j'r0: Z_j'y = Z_j'r0 + Z_j'X beta0)."""
    return np.column_stack([st.zy0 + st.zx0 @ st.shift, st.zy1 + st.zx1 @ st.shift])


def _fit(st: _Stats, method: str, contrast: np.ndarray | None) -> RSFit:
    p = st.xtx.shape[0]
    opt = _optimise(st)
    params, ev, free, n_eval = opt.params, opt.ev, opt.free, opt.n_eval
    max_abs_grad, pd_ = opt.max_abs_grad, opt.hessian_pd
    theta = params[:3]
    boundary = len(free) < len(params)
    converged = bool(opt.ok and max_abs_grad < 1e-6 and pd_)
    mdf = st.n_obs - p if st.reml else st.n_obs
    sigma2 = ev.rss / mdf
    lam = _lam(theta)
    cov_re = sigma2 * lam @ lam.T
    beta_cov = sigma2 * ev.ainv
    evals = _Evaluations(st, params, ev)
    df, cov_vp = _satterthwaite(st, ev, params, float(np.sqrt(sigma2)), evals)
    k00, k01, k11 = ev.k
    ranef = np.column_stack(
        [k00 * ev.zr[:, 0] + k01 * ev.zr[:, 1], k01 * ev.zr[:, 0] + k11 * ev.zr[:, 1]]
    )
    ranef_cov = sigma2 * np.stack([np.stack([k00, k01], -1), np.stack([k01, k11], -1)], 1)
    if converged:
        message = "converged" + ("; boundary (singular) fit" if boundary else "")
    else:
        message = (
            f"not converged: max |gradient| {max_abs_grad:.3g}, Hessian positive definite: {pd_}"
        )
    return RSFit(
        beta=ev.beta + st.shift,
        beta_se=np.sqrt(np.diag(beta_cov)),
        beta_cov=beta_cov,
        df=df,
        theta=params,
        sigma2=float(sigma2),
        cov_re=cov_re,
        var_respondent=float(sigma2 * params[3] ** 2) if len(params) > 3 else float("nan"),
        loglik=-0.5 * ev.deviance,
        deviance=ev.deviance,
        method=method,
        n_obs=st.n_obs,
        n_params=p,
        converged=converged,
        boundary=boundary,
        max_abs_grad=max_abs_grad,
        hessian_pd=pd_,
        n_iter=n_eval,
        message=message,
        group_n=st.n.astype(np.int64),
        group_t=st.st,
        group_y=_group_y(st),
        ranef=ranef,
        ranef_cov=ranef_cov,
        **_prediction(ev, params, sigma2, contrast, cov_vp, evals),
        stats=st,
    )

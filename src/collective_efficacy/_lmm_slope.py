r"""Random intercept + random slope LMM from per-group 2 x 2 sufficient statistics (private engine).

The change model of :func:`collective_efficacy.change_model` and anything else that needs
``lme4::lmer(y ~ 0 + X + (1 + t | g), REML = method == "REML")``. It extends the random-intercept
engine of :mod:`._lmm` (same shift of y, same profiled-deviance formulation, same input checks)
from a scalar variance ratio to lme4's 2 x 2 relative covariance factor.

Use::

    from ._lmm_slope import fit_rs_lmm
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
  effects' uncertainty.

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

The three parameters are optimised by L-BFGS-B from a method-of-moments start and polished by
Newton steps; only when that optimum does not verify are four fixed starts run too (the best
optimum is kept and polished). A boundary candidate (a variance at 0 or a correlation at +-1) is kept when
its deviance is not higher. ``converged`` means: the largest free gradient component of the
log-likelihood is below 1e-6, the Hessian over the free parameters is positive definite and no
direction off the boundary lowers the deviance.

Satterthwaite degrees of freedom follow lmerTest (Kuznetsova et al. 2017): the Hessian of the
(RE)ML deviance in :math:`(\theta, \sigma)` (profiled over :math:`\beta` only) gives
:math:`\mathrm{Cov}(\theta,\sigma) = 2H^{-1}` (Moore-Penrose over the positive eigenvalues), the
Jacobian of :math:`\sigma^2A^{-1}` is analytic, and :math:`\nu_i = 2 C_{ii}^2 / (g_i'\,
\mathrm{Cov}\, g_i)`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from ._change_bootstrap import _single_thread_blas
from ._lmm import _check_inputs
from ._lmm_panel import Panel, panel_cells, panel_evaluate
from .errors import DataError

__all__ = ["RSFit", "fit_rs_lmm", "rs_profile"]

_LOG2PI = float(np.log(2.0 * np.pi))


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
    ranef: np.ndarray = field(repr=False)
    ranef_cov: np.ndarray = field(repr=False)
    pred_var_slope: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class _Stats:
    n: np.ndarray  # (G,): Z_j'Z_j = [[n, st], [st, stt]]
    st: np.ndarray
    stt: np.ndarray
    zx0: np.ndarray  # (G, p): rows of Z_j'X_j (sums of X and of t * X)
    zx1: np.ndarray
    zy0: np.ndarray  # (G,): Z_j'y_j (y shifted)
    zy1: np.ndarray
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    shift: np.ndarray
    n_obs: int
    reml: bool
    panel: Panel | None = None  # respondent level (cells), see ._lmm_panel


@dataclass(frozen=True)
class _Eval:
    deviance: float
    grad: np.ndarray  # d deviance / d theta (profiled over beta and sigma2)
    beta: np.ndarray
    rss: float
    ainv: np.ndarray
    h_s: np.ndarray  # sum_j S_j
    h_w: np.ndarray  # sum_j w_j w_j'
    h_a: np.ndarray  # sum_j W_j A^-1 W_j'
    k: tuple[np.ndarray, np.ndarray, np.ndarray]  # K_j entries (00, 01, 11), each (G,)
    zr: np.ndarray  # (G, 2): Z_j'r_j
    w0: np.ndarray  # (G, p): rows of W_j = Z_j'V_j^-1 X_j
    w1: np.ndarray
    zx0: np.ndarray  # the Z_j'X_j used (with a panel: Z_j'D_j^-1 X_j)
    zx1: np.ndarray
    panel_parts: tuple[float, float, float] | None = None  # d/dphi: trace, quadratic, REML
    xrx: np.ndarray | None = None  # X'V^-1 R V^-1 X (panel)


def _sufficient(
    y: np.ndarray, X: np.ndarray, t: np.ndarray, codes: np.ndarray, g: int, reml: bool
) -> tuple[_Stats, np.ndarray]:
    """The per-group statistics and the shifted outcome ``r0`` (for the respondent cells)."""
    xtx = X.T @ X
    beta0 = np.linalg.lstsq(xtx, X.T @ y, rcond=None)[0]  # shift: sums of small residuals
    r0 = y - X @ beta0
    p = X.shape[1]
    n = np.bincount(codes, minlength=g).astype(np.float64)
    s_t = np.bincount(codes, weights=t, minlength=g)
    s_tt = np.bincount(codes, weights=t * t, minlength=g)
    zx0 = np.empty((g, p))
    zx1 = np.empty((g, p))
    for c in range(p):  # loop over fixed effects (few), never over groups
        col = X[:, c]
        if np.all(col == 1.0):  # the intercept: the same sums as n and s_t (exactly)
            zx0[:, c], zx1[:, c] = n, s_t
        elif np.array_equal(col, t):  # the slope column: s_t and s_tt
            zx0[:, c], zx1[:, c] = s_t, s_tt
        else:
            zx0[:, c] = np.bincount(codes, weights=col, minlength=g)
            zx1[:, c] = np.bincount(codes, weights=col * t, minlength=g)
    st = _Stats(
        n=n,
        st=s_t,
        stt=s_tt,
        zx0=zx0,
        zx1=zx1,
        zy0=np.bincount(codes, weights=r0, minlength=g),
        zy1=np.bincount(codes, weights=r0 * t, minlength=g),
        xtx=xtx,
        xty=X.T @ r0,
        yty=float(r0 @ r0),
        shift=beta0,
        n_obs=len(y),
        reml=reml,
    )
    return st, r0


def _lam(theta: np.ndarray) -> np.ndarray:
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


def _evaluate(st: _Stats, params: np.ndarray) -> _Eval:
    """Profiled deviance and gradient at theta (3) or (theta, theta_respondent) with a panel."""
    if st.panel is not None:
        out: _Eval = panel_evaluate(st, params, _evaluate_core)
        return out
    return _evaluate_core(st, params)


def _evaluate_core(st: _Stats, theta: np.ndarray) -> _Eval:
    # The 2 x 2 algebra per group is written out on (G,) arrays: batched tiny matrix
    # products (einsum "gab,gbc") are an order of magnitude slower.
    l00, l10, l11 = float(theta[0]), float(theta[1]), float(theta[2])
    n, s1, s2 = st.n, st.st, st.stt
    p00, p10 = n * l00 + s1 * l10, s1 * l00 + s2 * l10  # Z'Z Lambda
    p01, p11 = s1 * l11, s2 * l11
    m00 = l00 * p00 + l10 * p10 + 1.0  # M = I + Lambda' Z'Z Lambda
    m01 = l00 * p01 + l10 * p11
    m11 = l11 * p11 + 1.0
    det = m00 * m11 - m01 * m01
    i00, i01, i11 = m11 / det, -m01 / det, m00 / det
    k00 = l00 * l00 * i00  # K = Lambda M^-1 Lambda'
    k01 = l00 * (i00 * l10 + i01 * l11)
    k11 = l10 * l10 * i00 + 2.0 * l10 * l11 * i01 + l11 * l11 * i11
    kzx0 = k00[:, None] * st.zx0 + k01[:, None] * st.zx1
    kzx1 = k01[:, None] * st.zx0 + k11[:, None] * st.zx1
    kzy0 = k00 * st.zy0 + k01 * st.zy1
    kzy1 = k01 * st.zy0 + k11 * st.zy1
    a = st.xtx - (st.zx0.T @ kzx0 + st.zx1.T @ kzx1)
    b = st.xty - (st.zx0.T @ kzy0 + st.zx1.T @ kzy1)
    c = st.yty - float(st.zy0 @ kzy0 + st.zy1 @ kzy1)
    try:
        chol = np.linalg.cholesky(0.5 * (a + a.T))
    except np.linalg.LinAlgError as exc:
        raise DataError(
            "the fixed-effects design is rank deficient (X'V^-1 X is not positive definite); "
            "expected linearly independent columns (is a covariate constant, or the same as "
            "another column?)"
        ) from exc
    linv = np.linalg.inv(chol)
    ainv = linv.T @ linv
    beta = ainv @ b
    rss = max(c - float(b @ beta), np.finfo(float).tiny)
    p = st.xtx.shape[0]
    mdf = st.n_obs - p if st.reml else st.n_obs
    dev = float(np.sum(np.log(det))) + mdf * (1.0 + _LOG2PI + np.log(rss / mdf))
    if st.reml:
        dev += 2.0 * float(np.sum(np.log(np.diag(chol))))
    zr0 = st.zy0 - st.zx0 @ beta
    zr1 = st.zy1 - st.zx1 @ beta
    q00, q01 = n * k00 + s1 * k01, n * k01 + s1 * k11  # Q = Z'Z K
    q10, q11 = s1 * k00 + s2 * k01, s1 * k01 + s2 * k11
    h_s = np.array(
        [
            [np.sum(n - q00 * n - q01 * s1), np.sum(s1 - q00 * s1 - q01 * s2)],
            [0.0, np.sum(s2 - q10 * s1 - q11 * s2)],
        ]
    )
    h_s[1, 0] = h_s[0, 1]
    w0 = zr0 - (q00 * zr0 + q01 * zr1)  # w = Z'V^-1 r
    w1 = zr1 - (q10 * zr0 + q11 * zr1)
    h_w = np.array([[w0 @ w0, w0 @ w1], [w0 @ w1, w1 @ w1]])
    wm0 = st.zx0 - (q00[:, None] * st.zx0 + q01[:, None] * st.zx1)  # W = Z'V^-1 X
    wm1 = st.zx1 - (q10[:, None] * st.zx0 + q11[:, None] * st.zx1)
    wa0, wa1 = wm0 @ ainv, wm1 @ ainv
    h_a = np.array(
        [
            [float(np.sum(wa0 * wm0)), float(np.sum(wa0 * wm1))],
            [float(np.sum(wa0 * wm1)), float(np.sum(wa1 * wm1))],
        ]
    )
    h = h_s - (mdf / rss) * h_w - (h_a if st.reml else 0.0)
    gl = 2.0 * h @ _lam(theta)
    grad = np.array([gl[0, 0], gl[1, 0], gl[1, 1]])
    return _Eval(
        float(dev),
        grad,
        beta,
        rss,
        ainv,
        h_s,
        h_w,
        h_a,
        (k00, k01, k11),
        np.column_stack([zr0, zr1]),
        wm0,
        wm1,
        st.zx0,
        st.zx1,
    )


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
        st = dataclasses.replace(st, panel=cells)
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


def _jacobian(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    rel: float = 1e-4,
    *,
    richardson: bool = True,
) -> np.ndarray:
    """Central differences, with one Richardson step (error O(h^4)), of a vector function."""
    n = len(x)
    out = []
    for i in range(n):  # 3-4 parameters
        h = rel * max(abs(x[i]), 0.1)
        e = np.zeros(n)
        e[i] = h
        d1 = (f(x + e) - f(x - e)) / (2 * h)
        if not richardson:
            out.append(d1)
            continue
        d2 = (f(x + e / 2) - f(x - e / 2)) / h
        out.append((4.0 * d2 - d1) / 3.0)
    return np.column_stack(out)


def _satterthwaite(st: _Stats, ev: _Eval, params: np.ndarray, sigma: float) -> np.ndarray:
    vp = np.append(params, sigma)
    theta = params[:3]
    # the sigma column moves sigma only: theta stays at params, whose evaluation ev is known
    hess = _jacobian(lambda v: _vp_grad(st, v, ev if np.array_equal(v[:-1], params) else None), vp)
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
        return np.where(denom > 0, 2.0 * cdiag**2 / denom, np.inf)


def _starts(st: _Stats) -> list[np.ndarray]:
    """lme4's start (1, 0, 1) and three others: small variances with correlations -+0.5, large
    (and a respondent theta of 1, 0.5, 0.5, 2 with a panel)."""
    out = [
        np.array([1.0, 0.0, 1.0]),
        np.array([0.3, -0.15, 0.26]),
        np.array([0.3, 0.15, 0.26]),
        np.array([3.0, 0.0, 3.0]),
    ]
    if st.panel is not None:
        out = [np.append(x, r) for x, r in zip(out, (1.0, 0.5, 0.5, 2.0))]
    return out


def _moment_start(st: _Stats) -> np.ndarray:
    r"""A method-of-moments start: per-community OLS of (intercept, slope) and their spread.

    :math:`\hat\sigma^2` = pooled within-community residual variance, :math:`\hat\Sigma` = the
    covariance of the per-community coefficients minus :math:`\hat\sigma^2` times the mean of
    :math:`(Z_j'Z_j)^{-1}` (eigenvalues floored), theta = Cholesky factor of
    :math:`\hat\Sigma/\hat\sigma^2`. Near the optimum for the usual survey, so one L-BFGS-B run
    and the Newton polish verify it (the fixed multistart runs only when they do not).
    """
    n, s1, s2 = st.n, st.st, st.stt
    det = n * s2 - s1 * s1
    full = det > 1e-9 * np.maximum(n * s2, 1.0)  # both intercept and slope estimable
    one = (n > 0) & ~full
    dd = det[full]
    i00, i01, i11 = s2[full] / dd, -s1[full] / dd, n[full] / dd
    z0, z1 = st.zy0[full], st.zy1[full]
    b0, b1 = i00 * z0 + i01 * z1, i01 * z0 + i11 * z1
    rss = st.yty - float(np.sum(b0 * z0 + b1 * z1)) - float(np.sum(st.zy0[one] ** 2 / n[one]))
    dof = st.n_obs - 2 * int(full.sum()) - int(one.sum())
    k = int(full.sum())
    if dof <= 0 or k < 3 or rss <= 0:
        return np.array([1.0, 0.0, 1.0, 1.0][: 4 if st.panel is not None else 3])
    s2w = rss / dof
    if st.panel is not None:
        s2w *= 0.5  # half of the within variance to the respondents (theta_r = 1)
    cov = np.cov(np.vstack([b0, b1])) - s2w * np.array(
        [[i00.mean(), i01.mean()], [i01.mean(), i11.mean()]]
    )
    ev, evec = np.linalg.eigh(cov / s2w)
    floor = max(1e-2 * float(np.max(ev)), 1e-4)
    rel = (evec * np.maximum(ev, floor)) @ evec.T
    lam = np.linalg.cholesky(rel)
    th = np.array([lam[0, 0], lam[1, 0], lam[1, 1]])
    return np.append(th, 1.0) if st.panel is not None else th


def _polish(
    st: _Stats, theta: np.ndarray, free: list[int]
) -> tuple[np.ndarray, _Eval, int, np.ndarray | None]:
    """Newton steps over the free parameters (finite-difference Hessian of the analytic gradient).

    The Hessian is kept while full steps shrink the gradient at least tenfold (near the optimum
    it hardly changes; the fixed point is the same) and returned with the point.
    """
    th = theta.copy()
    n_eval = 0
    ev = _evaluate(st, th)
    hess: np.ndarray | None = None
    for _ in range(30):
        g = ev.grad[free]
        gmax = float(np.max(np.abs(g), initial=0.0))
        if gmax < 1e-11:
            break

        def gf(x: np.ndarray, base: np.ndarray = th) -> np.ndarray:
            tt = base.copy()
            tt[free] = x
            return _evaluate(st, tt).grad[free]

        if hess is None:
            hess = _jacobian(gf, th[free], richardson=False)  # a Newton step needs no more
            n_eval += 2 * len(free)
            hess = 0.5 * (hess + hess.T)
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            step = -g
        if not np.all(np.isfinite(step)) or float(g @ step) >= 0:
            step = -g
        lam_ = 1.0
        while lam_ > 1e-10:
            trial = th.copy()
            trial[free] = th[free] + lam_ * step
            bounded = [0, 2, 3][: len(trial) - 1]
            trial[bounded] = np.maximum(trial[bounded], 0.0)
            ev_t = _evaluate(st, trial)
            n_eval += 1
            if ev_t.deviance <= ev.deviance + 1e-14 * abs(ev.deviance):
                break
            lam_ *= 0.5
        if lam_ <= 1e-10:
            break
        moved = float(np.max(np.abs(trial - th)))
        th, ev = trial, ev_t
        if lam_ < 1.0 or float(np.max(np.abs(ev.grad[free]), initial=0.0)) > 0.1 * gmax:
            hess = None  # not in Newton's quadratic region yet: a fresh Hessian next time
        if moved < 1e-13:
            break
    return th, ev, n_eval, hess


def _boundary_candidates(st: _Stats, params: np.ndarray) -> list[tuple[np.ndarray, list[int]]]:
    """The interior point and, when close, the boundary points with their free parameters."""
    cands = _community_candidates(params[:3])
    if st.panel is None:
        return cands
    th_r = float(params[3])
    out = [(np.append(c, th_r), [*f, 3]) for c, f in cands]
    if th_r < 1e-3 * max(1.0, float(np.max(np.abs(params[:3])))):  # respondent variance 0
        out += [(np.append(c, 0.0), f) for c, f in cands]
    return out


def _community_candidates(theta: np.ndarray) -> list[tuple[np.ndarray, list[int]]]:
    th = theta
    scale = max(float(np.hypot(th[0], th[1])), float(np.hypot(th[1], th[2])), 1e-8)
    cands: list[tuple[np.ndarray, list[int]]] = [(th.copy(), [0, 1, 2])]
    if th[2] < 1e-3 * scale:  # correlation +-1
        cands.append((np.array([th[0], th[1], 0.0]), [0, 1]))
    if th[0] < 1e-3 * scale:  # intercept variance 0 (then only the slope variance is free)
        cands.append((np.array([0.0, 0.0, float(np.hypot(th[1], th[2]))]), [2]))
    if np.hypot(th[1], th[2]) < 1e-3 * scale:  # slope variance 0
        cands.append((np.array([th[0], 0.0, 0.0]), [0]))
    if max(th[0], np.hypot(th[1], th[2])) < 1e-4:  # both variances 0
        cands.append((np.zeros(3), []))
    return cands


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
    if t.shape != y.shape or not np.isfinite(t).all():
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
            st = dataclasses.replace(st, panel=panel_cells(r0, X, t, resp, codes, n_groups))
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


def _lbfgs(st: _Stats, starts: list[np.ndarray]) -> tuple[float, np.ndarray, bool, int]:
    """L-BFGS-B from each start: the best optimum, whether any run ended normally, evaluations."""
    n_eval = 0

    def fg(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_eval
        n_eval += 1
        ev = _evaluate(st, th)
        return ev.deviance, ev.grad

    best: tuple[float, np.ndarray] | None = None
    ok = False
    bounds = [(0.0, None), (None, None), (0.0, None)] + ([(0.0, None)] if st.panel else [])
    for x0 in starts:
        res = optimize.minimize(
            fg,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            # the Newton polish below takes the best start to machine precision
            options={"ftol": 1e-12, "gtol": 1e-7, "maxiter": 1000},
        )
        if best is None or float(res.fun) < best[0]:
            best = (float(res.fun), np.asarray(res.x, dtype=float))
        ok = ok or bool(res.success) or "ABNORMAL" in str(res.message)
    assert best is not None
    return best[0], best[1], ok, n_eval


@dataclass(frozen=True)
class _Opt:
    params: np.ndarray
    ev: _Eval
    free: list[int]
    ok: bool  # some L-BFGS-B run ended normally
    n_eval: int
    max_abs_grad: float
    hessian_pd: bool


def _settle(
    st: _Stats, best: np.ndarray
) -> tuple[np.ndarray, _Eval, list[int], int, np.ndarray | None]:
    """Polish the interior point and the nearby boundary candidates; keep the best."""
    n_eval = 0
    results = []
    for th0, free in _boundary_candidates(st, best):
        th, ev, k, hess = _polish(st, th0, free)
        n_eval += k
        # a boundary point wins ties (lme4 reports such fits as singular)
        interior = len(free) == len(th)
        results.append(
            (ev.deviance - (0.0 if interior else 1e-10 * abs(ev.deviance)), th, ev, free, hess)
        )
    results.sort(key=lambda r: (r[0], len(r[3])))
    _, th, ev, free, hess = results[0]
    return th, ev, free, n_eval, hess


def _verify(
    st: _Stats, params: np.ndarray, ev: _Eval, free: list[int], hess_free: np.ndarray | None
) -> tuple[float, bool, int]:
    """Largest free gradient component of the log-likelihood; Hessian check (PD over the free
    parameters and, at a boundary, no negative curvature of the full Hessian); evaluations.

    An interior optimum reuses the polish's last Hessian (taken within a Newton step of the
    optimum, where the gradient was already below L-BFGS-B's 1e-7); otherwise a Richardson
    Hessian is computed here.
    """
    max_abs_grad = 0.5 * float(np.max(np.abs(ev.grad[free]), initial=0.0))
    interior = len(free) == len(params)
    n_eval = 0
    if interior and hess_free is not None:
        hess = hess_free
    else:
        hess = _jacobian(lambda x: _evaluate(st, x).grad, params)
        hess = 0.5 * (hess + hess.T)
        n_eval = 4 * len(params)
    scale = max(1.0, float(np.max(np.abs(hess))))
    if free:
        hf = hess if hess is hess_free else hess[np.ix_(free, free)]
        pd_ = bool(np.all(np.linalg.eigvalsh(hf) > 1e-10 * scale))
    else:
        pd_ = True
    if not interior:  # moving off the boundary must not lower the deviance
        pd_ = pd_ and bool(np.all(np.linalg.eigvalsh(hess) > -1e-6 * scale))
    return max_abs_grad, pd_, n_eval


def _optimise(st: _Stats) -> _Opt:
    """The moment start first; the fixed multistart only when that optimum does not verify."""
    dev, x, ok, n_eval = _lbfgs(st, [_moment_start(st)])
    th, ev, free, k, hess = _settle(st, x)
    mag, pd_, kv = _verify(st, th, ev, free, hess)
    n_eval += k + kv
    if ok and mag < 1e-6 and pd_:
        return _Opt(th, ev, free, ok, n_eval, mag, pd_)
    dev2, x2, ok2, k2 = _lbfgs(st, _starts(st))
    n_eval += k2
    if dev2 < dev:
        th, ev, free, k, hess = _settle(st, x2)
        mag, pd_, kv = _verify(st, th, ev, free, hess)
        n_eval += k + kv
    return _Opt(th, ev, free, ok or ok2, n_eval, mag, pd_)


def _pred_var_slope(
    st: _Stats, ev: _Eval, sigma2: float, contrast: np.ndarray | None
) -> np.ndarray:
    r"""Prediction-error variance of c_j'beta_hat + b_j1 (Henderson's mixed-model equations).

    :math:`\sigma^2[K_{j,11} + (u_j - c_j)'A^{-1}(u_j - c_j)]`, :math:`u_j = (K_jZ_j'X_j)_{1\cdot}`:
    the conditional variance plus the fixed effects' uncertainty and their covariance with the
    BLUP.
    """
    if contrast is None:
        return np.full(len(st.n), np.nan)
    _, k01, k11 = ev.k
    u = k01[:, None] * ev.zx0 + k11[:, None] * ev.zx1 - contrast
    return sigma2 * (k11 + np.sum((u @ ev.ainv) * u, axis=1))


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
    df = _satterthwaite(st, ev, params, float(np.sqrt(sigma2)))
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
        ranef=ranef,
        ranef_cov=ranef_cov,
        pred_var_slope=_pred_var_slope(st, ev, sigma2, contrast),
    )

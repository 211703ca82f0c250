r"""Random-intercept linear mixed model from per-group sufficient statistics (private engine).

For the ``change.py`` engineer (and anyone else who needs a random-intercept LMM)
--------------------------------------------------------------------------------
Use :func:`fit_ri_lmm`; do not write another one::

    from collective_efficacy.multilevel._lmm import RIFit, fit_ri_lmm

    fit = fit_ri_lmm(y, X, codes, n_groups, method="REML")   # or method="ML"

* ``y`` : float array (n,), no NaN (drop/count missing rows before calling).
* ``X`` : float array (n, p), p >= 1, full column rank; put the intercept column in yourself
  (e.g. ``np.column_stack([np.ones(n), wave_indicator, covariate])``).
* ``codes`` : int array (n,) of group codes in ``0..n_groups-1`` (``factorize_groups(...).codes``);
  groups with no rows are allowed (their EB estimate is the prior: 0, variance ``tau2``).
* Model: :math:`y = X\beta + u_{g} + e`, :math:`u_g \sim N(0, \tau^2)`, :math:`e \sim N(0,
  \sigma^2)`; identical to ``lme4::lmer(y ~ 0 + X + (1 | g), REML = method == "REML")``.
* Returns :class:`RIFit` (a frozen dataclass): ``beta``, ``beta_se``, ``beta_cov`` (lme4's
  ``vcov``: :math:`\hat\sigma^2 (X'V_*^{-1}X)^{-1}`), ``tau2``, ``sigma2``, ``ratio``
  (:math:`\tau^2/\sigma^2`), ``loglik`` (REML or ML log-likelihood, lme4's ``logLik``),
  ``deviance`` (-2 loglik), ``n_obs``, ``n_groups``, ``n_params``, ``df_residual`` (n - p),
  ``converged``, ``at_boundary`` (tau2 = 0 is the optimum), ``max_abs_grad``, ``hessian_pd``,
  ``n_iter``, ``message``, and per group (length ``n_groups``): ``group_n``, ``eb`` (posterior
  mean of :math:`u_j`, lme4's ``ranef``), ``eb_var`` (posterior variance given beta, lme4's
  ``condVar`` / ``postVar``) and ``lambda_`` (reliability :math:`\tau^2/(\tau^2+\sigma^2/n_j)`).
* ``fit_ri_intercept(y, codes, n_groups, *, method="REML")`` is the same fit for ``X = 1``
  without building X (used by ``mixed.random_intercept``), ``fit_ri_binary(y, flag, codes,
  n_per, n_flag)`` for ``X = [1, flag]`` (the overall wave effect of ``compare_waves``); ``fit_ri_moments(n, ybar, ssw)`` the
  same fit from group sizes, means and the within sum of squares (used by ``agreement``: the
  REML ICC(1) of ``multilevel::gmeanrel`` and ``mult.icc`` -- nlme's ``lme`` fits this model).
* ``ri_profile(y, X, codes, n_groups, theta, *, method)`` returns the profiled deviance and its
  derivative at ``theta`` (for gradient checks in tests).
* ``converged`` is True only if the optimum was bracketed/located, ``max_abs_grad`` (|d loglik /
  d log theta|, or the KKT-projected derivative at the boundary) < 1e-5 and the curvature is
  positive; check it (and ``at_boundary``) before using the variance components.
* Raises :class:`~collective_efficacy.errors.DataError` when the variance components are not
  identifiable (fewer than 2 non-empty groups, or every group of size 1) or X is rank deficient.

How it works
------------
With :math:`\theta = \tau^2/\sigma^2`, group :math:`j` has
:math:`V_j = \sigma^2 (I + \theta 11')` and the closed form
:math:`V_j^{-1} = \sigma^{-2}(I - w_j 11')`, :math:`w_j = \theta/(1 + n_j\theta)`,
:math:`\log|V_j| = n_j\log\sigma^2 + \log(1 + n_j\theta)`. Hence every quantity of the
generalised least-squares problem is a function of the totals :math:`X'X, X'y, y'y` and of the
per-group sums :math:`s_{xj} = X_j'1`, :math:`s_{yj} = y_j'1` only (a random intercept never needs
the per-group cross-products :math:`X_j'X_j`): :math:`A(\theta) = X'X - \sum_j w_j s_{xj}s_{xj}'`,
:math:`b(\theta) = X'y - \sum_j w_j s_{xj}s_{yj}`, :math:`\hat\beta = A^{-1}b`,
:math:`\mathrm{RSS} = y'y - \sum_j w_j s_{yj}^2 - b'\hat\beta`. :math:`\sigma^2` is profiled out
(:math:`\hat\sigma^2 = \mathrm{RSS}/m`, :math:`m = n - p` for REML and :math:`n` for ML) and the
profiled deviance

.. math:: d(\theta) = \sum_j \log(1+n_j\theta) + [\log|A(\theta)|]_{REML}
          + m\,(1 + \log(2\pi\,\mathrm{RSS}/m))

is minimised over the single parameter :math:`\theta \ge 0`. If :math:`d'(0) < 0` an interior
minimum exists: the root of the analytic derivative is bracketed upwards from a moment (ANOVA)
start and found to machine precision by Brent's root finder. If :math:`d'(0) \ge 0` the boundary
:math:`\theta = 0` satisfies the KKT condition; a bounded Brent search over :math:`\log\theta`
guards against a lower interior minimum, and the boundary is reported (``at_boundary``).
Per evaluation the cost is :math:`O(Gp^2)`; nothing is ever of size n x G and there is no Python
loop over groups. The three-level (ecometric) engine lives in :mod:`._lmm3`; the random
intercept + random change engine (lme4's ``(1 + t | g)``, optionally with a nested respondent
intercept) in :mod:`._lmm_slope` and :mod:`._lmm_panel`, which reuse this module's input checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from collective_efficacy._moments import group_counts, group_sums
from collective_efficacy.errors import DataError

__all__ = [
    "RIFit", "fit_ri_binary", "fit_ri_intercept", "fit_ri_lmm", "fit_ri_moments", "ri_profile",
]  # fmt: skip

_LOG2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class RIFit:
    """Result of :func:`fit_ri_lmm` (see the module docstring for every field)."""

    beta: np.ndarray
    beta_se: np.ndarray
    beta_cov: np.ndarray
    tau2: float
    sigma2: float
    ratio: float
    loglik: float
    deviance: float
    method: str
    n_obs: int
    n_groups: int
    n_params: int
    df_residual: int
    converged: bool
    at_boundary: bool
    max_abs_grad: float
    hessian_pd: bool
    n_iter: int
    message: str
    group_n: np.ndarray = field(repr=False)
    eb: np.ndarray = field(repr=False)
    eb_var: np.ndarray = field(repr=False)
    lambda_: np.ndarray = field(repr=False)

    @property
    def mu(self) -> float:
        """The first fixed effect: the grand mean of an intercept-only fit (nlme's ``fixef``)."""
        return float(self.beta[0])


@dataclass(frozen=True)
class _Stats:
    n: np.ndarray  # (G,) group sizes
    sx: np.ndarray  # (G, p) per-group sums of X
    sy: np.ndarray  # (G,) per-group sums of y (after the OLS shift)
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    shift: np.ndarray  # beta0 subtracted from y for numerical accuracy
    n_obs: int
    reml: bool


@dataclass(frozen=True)
class _Eval:
    deviance: float
    grad: float
    beta: np.ndarray
    rss: float
    chol: np.ndarray
    resid_sums: np.ndarray


def ols_shift(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """The OLS shift shared by the engines' sufficient statistics.

    ``y`` is shifted by its OLS fit, ``r0 = y - X beta0``, so that the sums of squares are of
    small residuals (no catastrophic cancellation when y has a large mean, e.g. reaction times
    around 300 ms). Returns ``r0`` and the whole-sample totals of the shifted outcome, as the
    ``_Stats`` fields ``xtx, xty, yty, shift, n_obs``.
    """
    xtx = X.T @ X
    beta0 = np.linalg.lstsq(xtx, X.T @ y, rcond=None)[0]
    r0 = y - X @ beta0
    totals = {"xtx": xtx, "xty": X.T @ r0, "yty": float(r0 @ r0), "shift": beta0, "n_obs": len(y)}
    return r0, totals


def _sufficient(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_groups: int, reml: bool
) -> _Stats:
    r0, totals = ols_shift(y, X)
    n = group_counts(codes, n_groups).astype(np.float64)
    p = X.shape[1]
    sx = np.empty((n_groups, p))
    for k in range(p):  # loop over covariates (few), never over groups
        col = X[:, k]
        if col[0] == 1.0 and np.all(col == 1.0):  # intercept column: the group sizes
            sx[:, k] = n
        else:
            sx[:, k] = group_sums(col, codes, n_groups)
    return _Stats(n=n, sx=sx, sy=group_sums(r0, codes, n_groups), reml=reml, **totals)


def _sufficient_intercept(y: np.ndarray, codes: np.ndarray, n_groups: int, reml: bool) -> _Stats:
    """Sufficient statistics of ``y ~ 1 + (1 | g)``: n_j, centred sums and sum of squares."""
    mean = float(np.mean(y))
    r0 = y - mean
    n = group_counts(codes, n_groups).astype(np.float64)
    return _Stats(
        n=n,
        sx=n[:, None].copy(),
        sy=group_sums(r0, codes, n_groups),
        xtx=np.array([[float(len(y))]]),
        xty=np.array([float(np.sum(r0))]),
        yty=float(np.einsum("i,i->", r0, r0)),
        shift=np.array([mean]),
        n_obs=len(y),
        reml=reml,
    )


def _evaluate(st: _Stats, theta: float) -> _Eval:
    """Profiled deviance and its derivative with respect to theta = tau2 / sigma2."""
    p = st.xtx.shape[0]
    one_nt = 1.0 + st.n * theta
    w = theta / one_nt
    dw = 1.0 / (one_nt * one_nt)
    wsx = st.sx * w[:, None]
    # einsum, not BLAS: these products are long and thin, and a threaded BLAS on a busy
    # machine spends more time synchronising than computing
    a = st.xtx - np.einsum("gi,gj->ij", wsx, st.sx)
    b = st.xty - np.einsum("gi,g->i", wsx, st.sy)
    c = st.yty - float(np.einsum("g,g,g->", w, st.sy, st.sy))
    try:
        chol = np.linalg.cholesky(a)
    except np.linalg.LinAlgError as exc:
        raise DataError(
            "the fixed-effects design X is rank deficient (X'V^-1 X is not positive definite); "
            "expected linearly independent columns"
        ) from exc
    linv = np.linalg.inv(chol)  # p x p, p small
    beta = linv.T @ (linv @ b)
    rss = max(c - float(b @ beta), np.finfo(float).tiny)
    m = st.n_obs - p if st.reml else st.n_obs
    dev = float(np.sum(np.log1p(st.n * theta))) + m * (1.0 + _LOG2PI + np.log(rss / m))
    resid = st.sy - np.einsum("gi,i->g", st.sx, beta)
    grad = float(np.sum(st.n / one_nt)) - m * float(np.einsum("g,g,g->", dw, resid, resid)) / rss
    if st.reml:
        dev += 2.0 * float(np.sum(np.log(np.diag(chol))))
        q = np.einsum("gj,ij->gi", st.sx, linv)  # (G, p): rows L^-1 s_xj
        grad -= float(np.einsum("g,gi,gi->", dw, q, q))
    return _Eval(dev, grad, beta, rss, chol, resid)


def ri_profile(
    y: np.ndarray,
    X: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    theta: float,
    *,
    method: str = "REML",
) -> tuple[float, float]:
    """Profiled deviance and its derivative at ``theta`` (for tests: gradient checks)."""
    st = _sufficient(
        np.asarray(y, float), np.asarray(X, float), np.asarray(codes), n_groups, method == "REML"
    )
    ev = _evaluate(st, float(theta))
    return ev.deviance, ev.grad


def all_finite(a: np.ndarray) -> bool:
    """Whether every value of ``a`` is finite: one summing pass without a row-sized temporary
    (a NaN or inf makes the sum NaN or inf); the elementwise check only when the sum is not
    finite (a NaN or inf, or an overflow of finite values)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(a, axis=None)
    return bool(np.isfinite(total)) or bool(np.isfinite(a).all())


def _check_inputs(
    y: np.ndarray, X: np.ndarray, codes: np.ndarray, n_groups: int, method: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if method not in ("REML", "ML"):
        raise DataError(f"method must be 'REML' or 'ML'; got {method!r}")
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    codes = np.asarray(codes, dtype=np.int64)
    if y.ndim != 1 or X.shape[0] != y.shape[0] or codes.shape != y.shape:
        raise DataError(
            f"y {y.shape}, X {X.shape} and codes {codes.shape} must have the same number of rows"
        )
    if X.shape[1] < 1:
        raise DataError("X needs at least one column (e.g. an intercept of ones)")
    if not (all_finite(y) and all_finite(X)):
        raise DataError("y and X must be finite; drop (and count) rows with missing values first")
    if codes.size and (codes.min() < 0 or codes.max() >= n_groups):
        raise DataError(f"group codes must lie in 0..{n_groups - 1}")
    return y, X, codes


def fit_ri_lmm(
    y: np.ndarray,
    X: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    method: str = "REML",
) -> RIFit:
    """Fit ``y ~ 0 + X + (1 | g)`` by REML or ML; see the module docstring."""
    y, X, codes = _check_inputs(y, X, codes, n_groups, method)
    if y.size <= X.shape[1]:  # e.g. no respondent reached a scale's minimum of answered items
        raise DataError(
            f"{y.size} observation(s) for {X.shape[1]} fixed effect(s); the model needs more"
        )
    return _fit(_sufficient(y, X, codes, n_groups, method == "REML"), n_groups, method)


def fit_ri_intercept(
    y: np.ndarray, codes: np.ndarray, n_groups: int, *, method: str = "REML"
) -> RIFit:
    """Fast path of :func:`fit_ri_lmm` for ``y ~ 1 + (1 | g)`` (no design matrix is built)."""
    ones = np.ones((0, 1))
    _check_inputs(np.asarray(y)[:0], ones, np.asarray(codes)[:0], n_groups, method)
    y = np.asarray(y, dtype=np.float64)
    codes = np.asarray(codes, dtype=np.int64)
    if y.shape != codes.shape or not np.isfinite(y).all():
        raise DataError("y must be finite and have one group code per value")
    if codes.size and (codes.min() < 0 or codes.max() >= n_groups):
        raise DataError(f"group codes must lie in 0..{n_groups - 1}")
    return _fit(_sufficient_intercept(y, codes, n_groups, method == "REML"), n_groups, method)


def fit_ri_binary(
    y: np.ndarray, flag: np.ndarray, codes: np.ndarray, n_per: np.ndarray, n_flag: np.ndarray,
    *, method: str = "REML",
) -> RIFit:  # fmt: skip
    """:func:`fit_ri_lmm` for ``X = [1, flag]`` (a 0/1 column, e.g. the later wave) without
    building X: ``n_per`` and ``n_flag`` are the rows and the flagged rows per group (the
    group sizes and the sums of the flag column). The sufficient statistics are those of
    :func:`_sufficient` (the same OLS shift: the two cell means) summed in another order."""
    _check_inputs(np.asarray(y)[:0], np.ones((0, 2)), np.asarray(codes)[:0], len(n_per), method)
    y = np.asarray(y, dtype=np.float64)
    if flag.shape != y.shape or codes.shape != y.shape:
        raise DataError("y, flag and codes must have one value per row")
    if not all_finite(y):
        raise DataError("y and X must be finite; drop (and count) rows with missing values first")
    if y.size <= 2:
        raise DataError(f"{y.size} observation(s) for 2 fixed effect(s); the model needs more")
    side = flag.view(np.uint8)
    k = float(np.count_nonzero(side))
    xtx = np.array([[float(y.size), k], [k, k]])
    raw = np.bincount(side, weights=y, minlength=2)
    beta0 = np.linalg.lstsq(xtx, np.array([raw[0] + raw[1], raw[1]]), rcond=None)[0]
    r0 = y - np.array([beta0[0], beta0[0] + beta0[1]])[side]
    rs = np.bincount(side, weights=r0, minlength=2)
    st = _Stats(
        n=n_per.astype(np.float64), sx=np.column_stack([n_per, n_flag]).astype(np.float64),
        sy=group_sums(r0, codes, len(n_per)), xtx=xtx, xty=np.array([rs[0] + rs[1], rs[1]]),
        yty=float(np.einsum("i,i->", r0, r0)), shift=beta0, n_obs=int(y.size),
        reml=method == "REML",
    )  # fmt: skip
    return _fit(st, len(n_per), method)


def fit_ri_moments(n: np.ndarray, ybar: np.ndarray, ssw: float, *, method: str = "REML") -> RIFit:
    """:func:`fit_ri_intercept` from per-group sizes, means and the pooled within-group sum of
    squares (the sufficient statistics of ``y ~ 1 + (1 | g)``); empty groups allowed."""
    n = np.asarray(n, dtype=np.float64)
    ybar = np.where(n > 0, np.asarray(ybar, dtype=np.float64), 0.0)
    n_tot = float(n.sum())
    mean = float(np.einsum("g,g->", n, ybar)) / n_tot
    sy = n * (ybar - mean)
    st = _Stats(
        n=n,
        sx=n[:, None].copy(),
        sy=sy,
        xtx=np.array([[n_tot]]),
        xty=np.array([float(sy.sum())]),
        yty=float(ssw) + float(np.einsum("g,g,g->", n, ybar - mean, ybar - mean)),
        shift=np.array([mean]),
        n_obs=round(n_tot),
        reml=method == "REML",
    )
    return _fit(st, len(n), method)


def _moment_start(st: _Stats) -> float:
    """ANOVA (method-of-moments) estimate of tau2 / sigma2 from the group sums; > 0."""
    used = st.n > 0
    n, sy = st.n[used], st.sy[used]
    n_tot, g = float(n.sum()), int(used.sum())
    between = float(np.sum(sy * sy / n)) - float(sy.sum()) ** 2 / n_tot
    within = max(st.yty - float(np.sum(sy * sy / n)), 1e-300)
    s2w = within / max(n_tot - g, 1.0)
    n0 = (n_tot - float(np.sum(n * n)) / n_tot) / max(g - 1, 1)
    tau2 = (between / max(g - 1, 1) - s2w) / max(n0, 1e-12)
    return float(min(max(tau2 / s2w, 1e-3), 1e3))


def _check_identifiable(st: _Stats) -> None:
    """Refuse a fit whose variance components or fixed effects are not identifiable."""
    nonempty = int(np.count_nonzero(st.n))
    if nonempty < 2:
        raise DataError(
            f"only {nonempty} group(s) with data: the between-group variance tau2 is not "
            "identifiable; expected at least 2 groups"
        )
    if np.all(st.n <= 1):
        raise DataError(
            "every group has a single observation: the between-group variance tau2 and the "
            "within-group variance sigma2 are not separately identifiable; expected at least one "
            "group with 2 or more observations"
        )
    p = st.xtx.shape[0]
    if st.n_obs - p <= 0:
        raise DataError(
            f"{st.n_obs} observations for {p} fixed effects; expected more observations"
        )


@dataclass
class _Search:
    """The optimum of the profiled deviance over theta >= 0 and how it was found."""

    theta: float
    best: _Eval
    at0: _Eval  # the evaluation at theta = 0
    ok: bool = True
    at_boundary: bool = False
    message: str = "interior optimum"
    n_eval: int = 1


def _grad(st: _Stats, theta: float, search: _Search) -> float:
    """The derivative at theta (counted)."""
    search.n_eval += 1
    return _evaluate(st, theta).grad


def _root(st: _Stats, a_: float, b_: float, search: _Search) -> float:
    """Brent's root of the derivative in [a_, b_], to machine precision."""
    return float(
        optimize.brentq(
            lambda t: _grad(st, t, search), a_, b_, xtol=1e-300, rtol=4 * np.finfo(float).eps
        )
    )


def _interior(st: _Stats, search: _Search) -> None:
    """d'(0) < 0: the deviance decreases at tau2 = 0 and grows without bound as theta -> inf,
    so an interior minimum exists: bracket the root of the analytic derivative upwards from a
    moment (ANOVA) start, then Brent's root finder to machine precision."""
    a_, b_ = 0.0, _moment_start(st)
    gb = _grad(st, b_, search)
    k = 0
    while gb < 0 and k < 200:
        a_, b_ = b_, b_ * 4.0
        gb = _grad(st, b_, search)
        k += 1
    if gb >= 0:
        search.theta = _root(st, a_, b_, search)
        search.best = _evaluate(st, search.theta)
    else:
        search.ok, search.theta, search.best = False, b_, _evaluate(st, b_)
        search.message = "could not bracket the root of the profiled-deviance derivative"


def _near_boundary(st: _Stats, search: _Search) -> None:
    """d'(0) >= 0: tau2 = 0 satisfies the KKT condition. Guard against a lower interior
    minimum with a bounded Brent search over log(theta)."""

    def dev_log(t: float) -> float:
        search.n_eval += 1
        return _evaluate(st, float(np.exp(t))).deviance

    res = optimize.minimize_scalar(
        dev_log, bounds=(-25.0, 20.0), method="bounded", options={"xatol": 1e-6}
    )
    theta = float(np.exp(res.x))
    best = _evaluate(st, theta)
    at0 = search.at0
    if at0.deviance <= best.deviance + 1e-9 * max(1.0, abs(best.deviance)):
        search.theta, search.best, search.at_boundary = 0.0, at0, True
        search.message = "boundary: tau2 = 0 (singular fit, as lme4's 'boundary (singular) fit')"
        return
    search.theta, search.best = theta, best  # an interior minimum beyond a local rise: polish
    a_, b_ = theta * 0.9, theta * 1.1
    if _grad(st, a_, search) <= 0 <= _grad(st, b_, search):
        search.theta = _root(st, a_, b_, search)
        search.best = _evaluate(st, search.theta)
    search.ok = bool(res.success)


def _curvature(st: _Stats, search: _Search) -> tuple[bool, float]:
    """Positive curvature of the profiled deviance in log(theta) (interior) or theta (boundary),
    and the largest gradient of the log-likelihood (KKT-projected at the boundary)."""
    at0, theta = search.at0, search.theta
    if search.at_boundary:
        h = 1e-6
        curv = (_evaluate(st, 2 * h).grad - at0.grad) / (2 * h)
        return bool(at0.grad > 0 or curv > 0), max(0.0, -0.5 * at0.grad)
    h = 1e-4
    gp = _evaluate(st, theta * np.exp(h)).grad * theta * np.exp(h)
    gm = _evaluate(st, theta * np.exp(-h)).grad * theta * np.exp(-h)
    return bool((gp - gm) / (2 * h) > 0), abs(0.5 * search.best.grad * theta)


def _fit(st: _Stats, n_groups: int, method: str) -> RIFit:
    _check_identifiable(st)
    n_obs, p_ = st.n_obs, st.xtx.shape[0]
    at0 = _evaluate(st, 0.0)
    search = _Search(theta=0.0, best=at0, at0=at0)
    if at0.grad < 0.0:
        _interior(st, search)
    else:
        _near_boundary(st, search)
    theta, best, at_boundary, message = (
        search.theta,
        search.best,
        search.at_boundary,
        search.message,
    )
    m = n_obs - p_ if method == "REML" else n_obs
    sigma2 = best.rss / m
    tau2 = theta * sigma2
    hessian_pd, max_abs_grad = _curvature(st, search)
    converged = bool(search.ok and max_abs_grad < 1e-5 and hessian_pd)
    if not converged and message == "interior optimum":
        message = "not converged: optimizer failure, gradient not small or Hessian not PD"
    n_eval = search.n_eval

    linv = np.linalg.inv(best.chol)
    cov = sigma2 * (linv.T @ linv)
    beta = best.beta + st.shift
    w = theta / (1.0 + st.n * theta)
    eb = w * best.resid_sums
    eb_var = sigma2 * w
    lam = st.n * w
    loglik = -0.5 * best.deviance
    return RIFit(
        beta=beta,
        beta_se=np.sqrt(np.diag(cov)),
        beta_cov=cov,
        tau2=float(tau2),
        sigma2=float(sigma2),
        ratio=theta,
        loglik=float(loglik),
        deviance=float(best.deviance),
        method=method,
        n_obs=int(n_obs),
        n_groups=int(n_groups),
        n_params=int(p_),
        df_residual=int(n_obs - p_),
        converged=converged,
        at_boundary=at_boundary,
        max_abs_grad=float(max_abs_grad),
        hessian_pd=hessian_pd,
        n_iter=n_eval,
        message=message,
        group_n=st.n.astype(np.int64),
        eb=eb,
        eb_var=eb_var,
        lambda_=lam,
    )

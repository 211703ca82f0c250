"""Optimiser of the random-slope LMM (private; see :mod:`._lmm_slope`).

A method-of-moments start; without a respondent level Newton's method with the analytic
Hessian (:mod:`._lmm_slope_hess`; scipy's ``trust-exact`` where it stalls), with one L-BFGS-B
with the analytic gradient; Newton polish of the interior point and of nearby boundary
candidates, verification (gradient and Hessian); the fixed multistart only when the first
optimum does not verify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from collective_efficacy.multilevel._lmm_slope_core import _Eval, _evaluate, _jacobian, _Stats
from collective_efficacy.multilevel._lmm_slope_hess import profiled_hessian


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
    :math:`\hat\Sigma/\hat\sigma^2`. Near the optimum for the usual survey, so one local run
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

        if st.panel is None:  # analytic, from this evaluation
            hess = profiled_hessian(st, ev, th)[np.ix_(free, free)]
        elif hess is None:
            hess = _jacobian(gf, th[free], richardson=False)  # a Newton step needs no more
            n_eval += 2 * len(free)
            hess = 0.5 * (hess + hess.T)
        try:
            step = -np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            step = -g
        if not np.all(np.isfinite(step)) or float(g @ step) >= 0:
            step = -g
        elif float(np.max(np.abs(step))) < 1e-12 * max(1.0, float(np.max(np.abs(th)))):
            break  # a Newton step below the precision of theta: at the optimum
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


def _local(st: _Stats, starts: list[np.ndarray]) -> tuple[float, np.ndarray, bool, int]:
    """A local optimisation from each start: the best optimum, whether any run ended normally,
    evaluations. Without a respondent level a trust-region Newton method with the analytic
    Hessian (:func:`_trust_newton`); with one, L-BFGS-B with the analytic gradient."""
    if st.panel is None:
        return _trust_newton(st, starts)
    n_eval = 0

    def fg(th: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_eval
        n_eval += 1
        ev = _evaluate(st, th)
        return ev.deviance, ev.grad

    best: tuple[float, np.ndarray] | None = None
    ok = False
    bounds = [(0.0, None), (None, None), (0.0, None), (0.0, None)]
    for x0 in starts:
        res = optimize.minimize(
            fg,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            # loose: the Newton polish (_settle) takes the best start to machine precision;
            # tighter, L-BFGS-B spends its evaluations in line searches at the rounding level
            # of a large deviance
            options={"ftol": 1e-13, "gtol": 1e-3, "maxiter": 1000},
        )
        if best is None or float(res.fun) < best[0]:
            best = (float(res.fun), np.asarray(res.x, dtype=float))
        ok = ok or bool(res.success) or "ABNORMAL" in str(res.message)
    assert best is not None
    return best[0], best[1], ok, n_eval


def _canonical(theta: np.ndarray) -> np.ndarray:
    """The same Lambda Lambda' with lme4's signs (theta_0, theta_2 >= 0): the deviance depends
    on theta only through Lambda Lambda', which flipping a column of Lambda leaves alone."""
    th = np.array(theta, dtype=float)
    if th[0] < 0:
        th[:2] = -th[:2]
    th[2] = abs(th[2])
    return th


def _newton(st: _Stats, x0: np.ndarray) -> tuple[np.ndarray, bool, int]:
    """Newton steps with the analytic Hessian (eigenvalues made positive where it is not
    positive definite) and a backtracking line search, over unconstrained theta; whether the
    gradient fell below 1e-6 (or the step below the precision of theta), evaluations."""
    th = np.asarray(x0, dtype=float).copy()
    ev = _evaluate(st, th)
    n_eval = 1
    for _ in range(50):
        g = ev.grad
        if float(np.max(np.abs(g))) < 1e-6:
            return th, True, n_eval
        lam, vec = np.linalg.eigh(profiled_hessian(st, ev, th))
        scale = max(float(np.max(np.abs(lam))), 1e-300)
        step = -(vec / np.maximum(np.abs(lam), 1e-8 * scale)) @ (vec.T @ g)
        if float(np.max(np.abs(step))) < 1e-12 * max(1.0, float(np.max(np.abs(th)))):
            return th, True, n_eval
        t = 1.0
        while t > 1e-10:
            trial = th + t * step
            ev_t = _evaluate(st, trial)
            n_eval += 1
            if ev_t.deviance <= ev.deviance + 1e-4 * t * float(g @ step):  # Armijo
                break
            if _flat_but_closer(ev, ev_t):
                break
            t *= 0.5
        else:
            return th, False, n_eval
        th, ev = trial, ev_t
    return th, False, n_eval


def _flat_but_closer(ev: _Eval, ev_t: _Eval) -> bool:
    """Whether a trial point that fails Armijo's test is accepted all the same: its deviance is
    the current one to the rounding level (as :func:`_polish` allows) and its gradient smaller.

    Near the optimum of a large sample (a deviance of ~1e7) a Newton step's decrease (~g'H^-1 g,
    ~1e-15 for a gradient of 1e-5) is far below the deviance's rounding: the strict test then
    rejected every step size, depending on the rounding of one evaluation, and the fit fell back
    to ``trust-exact`` (hundreds of evaluations instead of four). The gradient decides there.
    """
    g0 = float(np.max(np.abs(ev.grad)))
    g1 = float(np.max(np.abs(ev_t.grad)))
    return ev_t.deviance <= ev.deviance + 1e-14 * abs(ev.deviance) and g1 < g0


def _trust_newton(st: _Stats, starts: list[np.ndarray]) -> tuple[float, np.ndarray, bool, int]:
    """:func:`_newton` from each start; where it stalls, scipy's ``trust-exact`` (Newton with a
    trust region) from there, with the same analytic gradient and Hessian. Over unconstrained
    theta; the result in lme4's signs (:func:`_canonical`)."""
    n_eval = 0
    best: tuple[float, np.ndarray] | None = None
    ok = False
    for x0 in starts:
        x, done, k = _newton(st, x0)
        n_eval += k
        if not done:
            res = optimize.minimize(
                lambda th: _evaluate(st, th).deviance,
                x,
                jac=lambda th: _evaluate(st, th).grad,
                hess=lambda th: profiled_hessian(st, _evaluate(st, th), th),
                method="trust-exact",
                options={"gtol": 1e-6, "maxiter": 200},
            )
            n_eval += int(res.nfev)
            x = res.x
            # status 2: no predicted improvement left, at the rounding level of the deviance
            # (the polish and the verification decide)
            done = res.status in (0, 2)
        dev = _evaluate(st, x).deviance
        if best is None or dev < best[0]:
            best = (dev, _canonical(x))
        ok = ok or done
    assert best is not None
    return best[0], best[1], ok, n_eval


@dataclass(frozen=True)
class _Opt:
    params: np.ndarray
    ev: _Eval
    free: list[int]
    ok: bool  # some local optimisation ended normally
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
    # among boundary points whose deviances tie (to 1e-10 relative, the rounding level) the one
    # with the fewest free parameters: a variance at 0 rather than a correlation at +-1 with it
    low = min(r[0] for r in results)
    tied = [r for r in results if r[0] <= low + 1e-10 * abs(low)]
    _, th, ev, free, hess = min(tied, key=lambda r: (len(r[3]), r[0]))
    return th, ev, free, n_eval, hess


def _verify(
    st: _Stats, params: np.ndarray, ev: _Eval, free: list[int], hess_free: np.ndarray | None
) -> tuple[float, bool, int]:
    """Largest free gradient component of the log-likelihood; Hessian check (PD over the free
    parameters and, at a boundary, no negative curvature of the full Hessian); evaluations.

    Without a respondent level the Hessian is analytic, at the optimum. With one, an interior
    optimum reuses the polish's last Hessian (taken within a Newton step of the optimum);
    otherwise a Richardson Hessian is computed here.
    """
    max_abs_grad = 0.5 * float(np.max(np.abs(ev.grad[free]), initial=0.0))
    interior = len(free) == len(params)
    n_eval = 0
    if st.panel is None:
        hess = profiled_hessian(st, ev, params)
        hess = 0.5 * (hess + hess.T)
    elif interior and hess_free is not None:
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
    dev, x, ok, n_eval = _local(st, [_moment_start(st)])
    th, ev, free, k, hess = _settle(st, x)
    mag, pd_, kv = _verify(st, th, ev, free, hess)
    n_eval += k + kv
    if ok and mag < 1e-6 and pd_:
        return _Opt(th, ev, free, ok, n_eval, mag, pd_)
    dev2, x2, ok2, k2 = _local(st, _starts(st))
    n_eval += k2
    if dev2 < dev:
        th, ev, free, k, hess = _settle(st, x2)
        mag, pd_, kv = _verify(st, th, ev, free, hess)
        n_eval += k + kv
    return _Opt(th, ev, free, ok or ok2, n_eval, mag, pd_)

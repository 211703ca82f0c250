r"""Three-level nested random-intercept LMM (items in respondents in communities), private engine.

Model (Raudenbush & Sampson 1999, the ecometric model), observation :math:`i` of respondent
:math:`j` in community :math:`k`:

.. math:: y_{ijk} = x_{ijk}'\beta + u_k + r_{jk} + e_{ijk},\quad
          u_k \sim N(0,\tau_\beta),\ r_{jk} \sim N(0,\tau_\pi),\ e_{ijk} \sim N(0,\sigma^2),

the same model as ``lme4::lmer(y ~ 0 + X + (1 | community/respondent))``. The covariance of the
responses of community :math:`k` is :math:`\sigma^2 V_{*k}` with
:math:`V_{*k} = I + \phi_\pi \sum_j 1_j1_j' + \phi_\beta 1 1'`, :math:`\phi_\pi = \tau_\pi/\sigma^2`,
:math:`\phi_\beta = \tau_\beta/\sigma^2`. Two Woodbury / Sherman-Morrison steps give, with
:math:`d_j = 1/(1+n_j\phi_\pi)`, :math:`a_j = \phi_\pi d_j`, :math:`S_k = \sum_j n_j d_j` and
:math:`c_k = \phi_\beta/(1+\phi_\beta S_k)`, for any vectors :math:`u, v` with respondent sums
:math:`U_j, V_j`:

.. math:: u'V_{*k}^{-1}v = u'v - \sum_j a_j U_j V_j
          - c_k \Big(\sum_j d_j U_j\Big)\Big(\sum_j d_j V_j\Big),\qquad
          \log|V_{*k}| = \sum_j \log(1+n_j\phi_\pi) + \log(1+\phi_\beta S_k).

:math:`d_j` and :math:`a_j` depend on respondent :math:`j` only through :math:`n_j` (answered
items), so respondents are summed once per fit into a dense (community, :math:`n_j`) grid of
:math:`s_{xj}, s_{yj}` sums (``(K, M, p)``, M = items + 1), and the cross-products
:math:`s_{xj}s_{xj}', s_{xj}s_{yj}, s_{yj}^2` are only needed summed over communities per
:math:`n_j` (``(M, p, p)``). One evaluation of the profiled (RE)ML deviance and its analytic
gradient then costs :math:`O(K M p + M p^2)` dense array operations, with no pass over
respondents, so the fit is one O(n) pass plus a cost that grows with the number of communities.
:math:`\sigma^2` is profiled out; the deviance is minimised over
:math:`(\log\phi_\beta, \log\phi_\pi)` by Newton's method with the analytic gradient and
Hessian (:mod:`._ecometric_cells`), from moment estimates, in a box. A ratio that runs to its
lower bound is set to exactly 0 (boundary) when the gradient there is non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._ecometric_blocks import Scan
from collective_efficacy.multilevel._ecometric_cells import Cells as _Cells
from collective_efficacy.multilevel._ecometric_cells import Eval as _Eval
from collective_efficacy.multilevel._ecometric_cells import (
    cells_from_scan,
    cells_long,
    cells_wide,
    compact,
    evaluate,
)

__all__ = [
    "NestedFit", "fit_nested_lmm", "fit_nested_scan", "fit_nested_wide", "nested_profile",
]  # fmt: skip


@dataclass(frozen=True)
class NestedFit:
    """Result of :func:`fit_nested_lmm`."""

    beta: np.ndarray
    beta_se: np.ndarray
    beta_cov: np.ndarray
    tau_beta: float
    tau_pi: float
    sigma2: float
    loglik: float
    deviance: float
    method: str
    n_obs: int
    n_respondents: int
    n_groups: int
    n_params: int
    converged: bool
    at_boundary: tuple[bool, bool]
    max_abs_grad: float
    hessian_pd: bool
    n_iter: int
    message: str
    group_n_respondents: np.ndarray = field(repr=False)
    group_n_obs: np.ndarray = field(repr=False)
    eb: np.ndarray = field(repr=False)
    eb_var: np.ndarray = field(repr=False)
    lambda_: np.ndarray = field(repr=False)


def _prepare(
    y: np.ndarray, X: np.ndarray, resp: np.ndarray, n_resp: int, comm_of_resp: np.ndarray,
    n_groups: int, method: str,
) -> _Cells:  # fmt: skip
    """Checks of the long data, then its cells."""
    if method not in ("REML", "ML"):
        raise DataError(f"method must be 'REML' or 'ML'; got {method!r}")
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.int64)
    comm_of_resp = np.asarray(comm_of_resp, dtype=np.int64)
    if X.ndim != 2 or X.shape[0] != y.shape[0] or resp.shape != y.shape:
        raise DataError("y, X and respondent codes must have the same number of rows")
    if comm_of_resp.shape != (n_resp,):
        raise DataError("comm_of_resp must give one community code per respondent")
    if not (np.isfinite(y).all() and np.isfinite(X).all()):
        raise DataError("y and X must be finite; drop (and count) missing responses first")
    if np.bincount(resp, minlength=n_resp).min() < 1:
        raise DataError("every respondent needs at least one observation")
    return cells_long(y, X, resp, n_resp, comm_of_resp, n_groups, method == "REML")


def nested_profile(
    y: np.ndarray, X: np.ndarray, resp: np.ndarray, n_resp: int, comm_of_resp: np.ndarray,
    n_groups: int, phi: tuple[float, float], *, method: str = "REML",
) -> tuple[float, np.ndarray]:  # fmt: skip
    """Profiled deviance and its gradient at ``phi = (phi_beta, phi_pi)`` (for gradient tests)."""
    cs = _prepare(y, X, resp, n_resp, comm_of_resp, n_groups, method)
    ev = evaluate(cs, float(phi[0]), float(phi[1]))
    return ev.deviance, ev.grad


def fit_nested_lmm(
    y: np.ndarray, X: np.ndarray, resp: np.ndarray, n_resp: int, comm_of_resp: np.ndarray,
    n_groups: int, *, method: str = "REML",
) -> NestedFit:  # fmt: skip
    """Fit ``y ~ 0 + X + (1 | community / respondent)`` by REML or ML (see the module docstring).

    ``resp`` codes each observation's respondent (``0..n_resp-1``, each with >= 1 observation),
    ``comm_of_resp`` each respondent's community (``0..n_groups-1``; empty communities allowed).
    """
    cs = _prepare(y, X, resp, n_resp, comm_of_resp, n_groups, method)
    return _fit(cs, n_groups, method)


def fit_nested_wide(
    Y: np.ndarray,
    Z: np.ndarray,
    comm_of_resp: np.ndarray,
    n_groups: int,
    *,
    method: str = "REML",
    overwrite: bool = False,
) -> NestedFit:
    """The ecometric model from wide data: ``Y`` (respondents x items, NaN = not answered, every
    row with >= 1 answer), respondent covariates ``Z`` (respondents x q, may have q = 0).

    Fixed effects are the item dummies followed by the columns of ``Z`` (which should be
    centred); no long-format copy of the data is made.
    """
    if method not in ("REML", "ML"):
        raise DataError(f"method must be 'REML' or 'ML'; got {method!r}")
    Y = np.asarray(Y, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64).reshape(Y.shape[0], -1)
    comm_of_resp = np.asarray(comm_of_resp, dtype=np.int64)
    if Z.shape[1]:  # without covariates the cells check Y in their one pass over it
        if np.isinf(Y).any() or not np.isfinite(Z).all():
            raise DataError("Y must be finite or NaN and Z finite")
        if (~np.isnan(Y)).sum(axis=1).min(initial=1) < 1:
            raise DataError("every respondent needs at least one answered item")
    cs = cells_wide(Y, Z, comm_of_resp, n_groups, method == "REML", overwrite=overwrite)
    return _fit(cs, n_groups, method)


def fit_nested_scan(
    sc: Scan, codes: np.ndarray, used: np.ndarray | None, n_groups: int, *, method: str = "REML",
    nj: np.ndarray | None = None,
) -> NestedFit:  # fmt: skip
    """The ecometric model without covariates from a scan of the item columns
    (:mod:`._ecometric_blocks`: read in row blocks, never copied), for the rows ``used``
    (None: all; only rows without an answer may be left out), ``codes`` their communities,
    ``nj`` (optional) their answered items."""
    if method not in ("REML", "ML"):
        raise DataError(f"method must be 'REML' or 'ML'; got {method!r}")
    codes = np.asarray(codes, dtype=np.int64)
    cs = cells_from_scan(sc, codes, used, n_groups, method == "REML", nj=nj)
    return _fit(cs, n_groups, method)


def _check_identifiable(cs: _Cells, p: int) -> None:
    """Stop when the data cannot separate the three variances (or the fixed effects)."""
    per_comm = cs.cnt.sum(axis=1)
    if np.count_nonzero(per_comm) < 2:
        raise DataError(
            "fewer than 2 communities with responses: the between-community variance tau_beta "
            "is not identifiable; expected at least 2 communities"
        )
    if per_comm.max() <= 1:
        raise DataError(
            "every community has a single respondent: the community variance tau_beta and the "
            "respondent variance tau_pi are not separately identifiable; expected at least one "
            "community with 2 or more respondents"
        )
    if cs.m[cs.cnt_m > 0].max() <= 1:
        raise DataError(
            "every respondent answered a single item: the respondent variance tau_pi and the "
            "item-level variance sigma2 are not separately identifiable"
        )
    if cs.n_obs - p <= 0:
        raise DataError(f"{cs.n_obs} responses for {p} fixed effects; expected more responses")


def _nested_fit(
    cs: _Cells,
    best: _Eval,
    phi: np.ndarray,
    at_b: list[bool],
    *,
    converged: bool,
    max_abs_grad: float,
    hessian_pd: bool,
    optimizer: str,
    n_eval: int,
    method: str,
    n_groups: int,
) -> NestedFit:
    """The fit at the chosen optimum: variances, fixed effects, EB scores and the message."""
    p = cs.xtx.shape[0]
    mdf = cs.n_obs - p if method == "REML" else cs.n_obs
    sigma2 = best.rss / mdf
    one_b = 1.0 + phi[0] * best.s_k
    linv = np.linalg.inv(best.chol)
    cov = sigma2 * (linv.T @ linv)
    if converged:
        message = "converged" + (
            "; boundary: "
            + ", ".join(n for n, b in zip(("tau_beta", "tau_pi"), at_b) if b)
            + " = 0"
            if any(at_b)
            else ""
        )
    else:
        message = (
            f"not converged (optimizer: {optimizer}; max |gradient| {max_abs_grad:.3g}; "
            f"Hessian positive definite: {hessian_pd})"
        )
    return NestedFit(
        beta=best.beta + cs.shift,
        beta_se=np.sqrt(np.diag(cov)),
        beta_cov=cov,
        tau_beta=float(phi[0] * sigma2),
        tau_pi=float(phi[1] * sigma2),
        sigma2=float(sigma2),
        loglik=-0.5 * best.deviance,
        deviance=best.deviance,
        method=method,
        n_obs=cs.n_obs,
        n_respondents=int(np.rint(cs.cnt.sum())),
        n_groups=n_groups,
        n_params=p,
        converged=converged,
        at_boundary=(at_b[0], at_b[1]),
        max_abs_grad=max_abs_grad,
        hessian_pd=hessian_pd,
        n_iter=n_eval,
        message=message,
        group_n_respondents=np.rint(cs.cnt.sum(axis=1)).astype(np.int64),
        group_n_obs=np.rint(cs.cnt @ cs.m).astype(np.int64),
        eb=phi[0] * best.tr_k / one_b,
        eb_var=sigma2 * phi[0] / one_b,
        lambda_=phi[0] * best.s_k / one_b,
    )


def _candidates(cs: _Cells, phi_opt: np.ndarray) -> list[tuple[bool, bool]]:
    """The boundary masks (ratio = 0) that pass the KKT check, for small ratios."""
    candidates: list[tuple[bool, bool]] = []
    small = [i for i in range(2) if phi_opt[i] < 1e-2]
    for mask in ((True, False), (False, True), (True, True)):
        idx = [i for i in range(2) if mask[i]]
        if idx and all(i in small for i in idx):
            trial = np.where(mask, 0.0, phi_opt)
            g0 = evaluate(cs, float(trial[0]), float(trial[1])).grad
            if all(g0[i] >= 0.0 for i in idx):
                candidates.append(mask)
    return candidates


_LO, _HI = -30.0, 20.0  # box of the log variance ratios


@dataclass
class _Newton:
    """One Newton run: the optimum reached, its evaluation and how the run ended."""

    phi: np.ndarray
    ev: _Eval
    hessian_pd: bool
    stop: str  # "gradient", "step", "ftol", "line search", "maxiter"
    n_eval: int


def _newton(
    cs: _Cells, phi0: np.ndarray, at_b: tuple[bool, bool], *, ftol: float, maxiter: int,
    start: _Eval | None = None,
) -> _Newton:  # fmt: skip
    """Newton's method in the log ratios of the free (non-boundary) ratios, with the analytic
    gradient and Hessian, an eigenvalue-modified Hessian where it is not positive definite,
    steps of at most 2 in the log ratios, the box [_LO, _HI] and Armijo backtracking.

    Stops when half the largest log-ratio gradient is below 1e-10, the step or the relative
    deviance change (``ftol``) is negligible, or no step decreases the deviance. ``start``: the
    (order 2) evaluation at ``phi0``, when the caller has it. A trial at the current point
    (a step below the log ratios' rounding) reuses its evaluation: the numbers are those of a
    new one, and it is counted as one."""
    phi = np.array(phi0, dtype=float)
    free = np.array([not b for b in at_b])
    ev = start if start is not None else evaluate(cs, float(phi[0]), float(phi[1]), order=2)
    at = phi.copy()  # where ``ev`` was evaluated
    n_eval, stop = 1, "maxiter"
    if not free.any():
        return _Newton(phi, ev, True, "gradient", n_eval)
    t = np.clip(np.log(phi[free]), _LO, _HI)
    phi[free] = np.exp(t)
    for _ in range(maxiter):
        g, h = _log_derivatives(ev, phi, free)
        blocked = ((t <= _LO) & (g > 0)) | ((t >= _HI) & (g < 0))
        pg = np.where(blocked, 0.0, g)
        if 0.5 * float(np.max(np.abs(pg))) < 1e-10:
            stop = "gradient"
            break
        w, v = np.linalg.eigh(h)
        w = np.maximum(np.abs(w), 1e-8 * max(float(np.max(np.abs(w))), 1e-300))
        step = np.where(blocked, 0.0, -(v @ ((v.T @ pg) / w)))
        step /= max(1.0, float(np.max(np.abs(step))) / 2.0)
        lam, f0 = 1.0, ev.deviance
        while True:
            tn = np.clip(t + lam * step, _LO, _HI)
            ph = phi.copy()
            ph[free] = np.exp(tn)
            same = bool(np.array_equal(ph, at))  # the point of ``ev``, to the last bit
            trial = ev if same else evaluate(cs, float(ph[0]), float(ph[1]), order=2)
            n_eval += 1
            slack = 8.0 * float(np.finfo(float).eps) * abs(f0)
            if trial.deviance <= f0 + 1e-4 * float(pg @ (tn - t)) + slack or lam < 1e-8:
                break
            lam *= 0.5
        if trial.deviance > f0 + 8.0 * float(np.finfo(float).eps) * abs(f0):
            stop = "line search"
            break
        moved = float(np.max(np.abs(tn - t)))
        t, phi, ev, at = tn, ph, trial, ph
        if moved < 1e-11:
            stop = "step"
            break
        if abs(f0 - ev.deviance) <= ftol * max(abs(f0), 1.0):
            stop = "ftol"
            break
    _, h = _log_derivatives(ev, phi, free)
    return _Newton(phi, ev, bool(np.all(np.linalg.eigvalsh(h) > 0)), stop, n_eval)


def _log_derivatives(ev: _Eval, phi: np.ndarray, free: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the deviance in the log ratios of the free ratios."""
    assert ev.hess is not None
    pf = phi[free]
    g = ev.grad[free] * pf
    return g, ev.hess[np.ix_(free, free)] * np.outer(pf, pf) + np.diag(g)


def _fit(cs: _Cells, n_groups: int, method: str) -> NestedFit:
    """The fit from the cells; BLAS single-threaded (its products are long and thin: threads
    cost more to synchronise than they save, badly so on a busy machine)."""
    from collective_efficacy.change._bootstrap import _single_thread_blas

    _check_identifiable(cs, cs.xtx.shape[0])
    with _single_thread_blas():
        return _fit_cells(compact(cs), n_groups, method)


def _start(cs: _Cells) -> np.ndarray:
    """Moment estimates of the two ratios (the start of Newton's method): the within-respondent
    variance of the centred responses, the variance of the respondent means and of the
    community means of respondent means; (0.1, 0.5) when they are not usable."""
    inv_m = np.divide(1.0, cs.m, out=np.zeros_like(cs.m), where=cs.m > 0)
    n_resp = float(cs.cnt_m.sum())
    sigma2 = (cs.yty - float(cs.syy @ inv_m)) / max(cs.n_obs - n_resp, 1.0)
    inv_n = float(cs.cnt_m @ inv_m) / n_resp
    total = float(cs.syy @ inv_m**2) / n_resp - sigma2 * inv_n  # tau_beta + tau_pi
    j_k = cs.cnt.sum(axis=1)
    has = j_k > 0
    means = (cs.sy @ inv_m)[has] / j_k[has]
    tau_b = float(np.mean(means**2)) - (total + sigma2 * inv_n) * float(np.mean(1.0 / j_k[has]))
    phi = np.array([tau_b, total - tau_b]) / sigma2
    if not (sigma2 > 0 and np.all(np.isfinite(phi))):
        return np.array([0.1, 0.5])
    return np.clip(phi, 1e-3, 1e3)


def _fit_cells(cs: _Cells, n_groups: int, method: str) -> NestedFit:
    main = _newton(cs, _start(cs), (False, False), ftol=1e-12, maxiter=200)
    ok = main.stop != "maxiter"
    n_eval = main.n_eval
    # candidates: the interior optimum and, for small ratios whose derivative at 0 is >= 0
    # (KKT), the boundary ratio = 0; the lowest deviance wins (ties go to the boundary).
    results = []
    for mask in [(False, False), *_candidates(cs, main.phi)]:
        if mask == (False, False) and main.stop == "gradient":
            run = main
        else:
            start = main.ev if mask == (False, False) else None  # evaluated at main.phi
            run = _newton(
                cs, np.where(mask, 0.0, main.phi), mask, ftol=0.0, maxiter=40, start=start
            )
            n_eval += run.n_eval
        dv = run.ev.deviance
        results.append((dv - (1e-10 * abs(dv) if any(mask) else 0.0), mask, run))
    results.sort(key=lambda r: (r[0], -sum(r[1])))
    _, at_b_t, best = results[0]
    at_b = list(at_b_t)
    phi, ev = best.phi, best.ev
    proj = np.where(np.array(at_b), np.maximum(0.0, -ev.grad), np.abs(ev.grad * phi))
    max_abs_grad = float(0.5 * np.max(proj))
    converged = bool(ok and max_abs_grad < 1e-5 and best.hessian_pd)
    return _nested_fit(
        cs, ev, phi, at_b, converged=converged, max_abs_grad=max_abs_grad,
        hessian_pd=best.hessian_pd, optimizer=f"Newton stopped on {main.stop}",
        n_eval=n_eval, method=method, n_groups=n_groups,
    )  # fmt: skip

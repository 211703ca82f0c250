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
items), so respondents of one community with the same :math:`n_j` are merged into a *cell*;
the sufficient statistics are the cell sums of :math:`s_{xj}, s_{yj}, s_{xj}s_{xj}', s_{xj}s_{yj},
s_{yj}^2` (``(cells, p, p)`` arrays, p small) and one evaluation of the profiled (RE)ML deviance
and its analytic gradient costs :math:`O(\text{cells}\cdot p^2)`, with ``bincount`` for the
community sums. :math:`\sigma^2` is profiled out; the deviance is minimised over
:math:`(\log\phi_\beta, \log\phi_\pi)` by L-BFGS-B, then polished by Newton steps with the
analytic gradient and a finite-difference Hessian. A ratio that runs to its lower bound is set to
exactly 0 (boundary) when the gradient there is non-negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from .errors import DataError

__all__ = ["NestedFit", "fit_nested_lmm", "fit_nested_wide", "nested_profile"]

_LOG2PI = float(np.log(2.0 * np.pi))


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


@dataclass(frozen=True)
class _Cells:
    comm: np.ndarray  # (U,) community of each cell
    m: np.ndarray  # (U,) answered items per respondent in the cell
    cnt: np.ndarray  # (U,) respondents in the cell
    sx: np.ndarray  # (U, p)
    sy: np.ndarray  # (U,)
    sxx: np.ndarray  # (U, p, p)
    sxx_flat: np.ndarray  # (U, p * p)
    sxy: np.ndarray  # (U, p)
    syy: np.ndarray  # (U,)
    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    shift: np.ndarray
    n_obs: int
    n_groups: int
    reml: bool


@dataclass(frozen=True)
class _Eval:
    deviance: float
    grad: np.ndarray  # d deviance / d (phi_beta, phi_pi)
    beta: np.ndarray
    rss: float
    chol: np.ndarray
    s_k: np.ndarray
    tr_k: np.ndarray


def _bincols(idx: np.ndarray, vals: np.ndarray, size: int) -> np.ndarray:
    cols = np.ascontiguousarray(vals.T)
    out = np.empty((size, vals.shape[1]))
    for c in range(vals.shape[1]):  # loop over columns (few), never over groups
        out[:, c] = np.bincount(idx, weights=cols[c], minlength=size)
    return out


def _cells(
    nj: np.ndarray,
    sxj: np.ndarray,
    syj: np.ndarray,
    xtx: np.ndarray,
    xty: np.ndarray,
    yty: float,
    shift: np.ndarray,
    comm_of_resp: np.ndarray,
    n_groups: int,
    reml: bool,
) -> _Cells:
    """Merge respondents of one community with the same number of answered items into cells.

    ``nj, sxj, syj`` are per-respondent counts and sums of X and of the shifted outcome
    ``y - X shift``; ``xtx, xty, yty`` the totals of that shifted problem.
    """
    p = sxj.shape[1]
    mmax = int(nj.max()) + 1
    key = comm_of_resp.astype(np.int64) * mmax + nj
    present = np.bincount(key, minlength=n_groups * mmax) > 0  # dense key space, no sort
    ukey = np.flatnonzero(present)
    cell = (np.cumsum(present) - 1)[key]
    n_cells = len(ukey)
    iu, ju = np.triu_indices(p)
    cols = np.ascontiguousarray(sxj.T)  # (p, R): contiguous columns
    sxx = np.empty((n_cells, p, p))
    prod = np.empty(cols.shape[1])
    for a, b in zip(iu, ju):  # p(p+1)/2 column pairs (few); one column product at a time
        np.multiply(cols[a], cols[b], out=prod)
        col = np.bincount(cell, weights=prod, minlength=n_cells)
        sxx[:, a, b] = col
        sxx[:, b, a] = col
    return _Cells(
        comm=(ukey // mmax).astype(np.int64),
        m=(ukey % mmax).astype(np.float64),
        cnt=np.bincount(cell, minlength=n_cells).astype(np.float64),
        sx=_bincols(cell, sxj, n_cells),
        sy=np.bincount(cell, weights=syj, minlength=n_cells),
        sxx=sxx,
        sxx_flat=sxx.reshape(n_cells, p * p),
        sxy=_bincols(cell, sxj * syj[:, None], n_cells),
        syy=np.bincount(cell, weights=syj * syj, minlength=n_cells),
        xtx=xtx,
        xty=xty,
        yty=float(yty),
        shift=shift,
        n_obs=int(nj.sum()),
        n_groups=n_groups,
        reml=reml,
    )


def _cells_long(
    y: np.ndarray,
    X: np.ndarray,
    resp: np.ndarray,
    n_resp: int,
    comm_of_resp: np.ndarray,
    n_groups: int,
    reml: bool,
) -> _Cells:
    xtx = X.T @ X
    beta0 = np.linalg.lstsq(xtx, X.T @ y, rcond=None)[0]  # shift for numerical accuracy
    r0 = y - X @ beta0
    nj = np.bincount(resp, minlength=n_resp)
    sxj = _bincols(resp, X, n_resp)
    syj = np.bincount(resp, weights=r0, minlength=n_resp)
    return _cells(nj, sxj, syj, xtx, X.T @ r0, float(r0 @ r0), beta0, comm_of_resp, n_groups, reml)


def _cells_wide(
    Y: np.ndarray, Z: np.ndarray, comm_of_resp: np.ndarray, n_groups: int, reml: bool
) -> _Cells:
    """Cells for X = [item dummies, respondent covariates Z] straight from the wide matrix.

    Sums use ``einsum`` (single-threaded loops) rather than BLAS for the long-and-thin products.
    """
    mask = ~np.isnan(Y)
    mf = mask.astype(np.float64)
    n_items, q = Y.shape[1], Z.shape[1]
    nj_f = np.einsum("ri->r", mf)
    nj = nj_f.astype(np.int64)
    y0 = np.where(mask, Y, 0.0)
    xtx = np.zeros((n_items + q, n_items + q))
    xtx[:n_items, :n_items] = np.diag(np.einsum("ri->i", mf))
    if q:
        xtx[:n_items, n_items:] = np.einsum("ri,rq->iq", mf, Z)
        xtx[n_items:, :n_items] = xtx[:n_items, n_items:].T
        xtx[n_items:, n_items:] = np.einsum("rq,rs,r->qs", Z, Z, nj_f)
    xty = np.concatenate([np.einsum("ri->i", y0), np.einsum("rq,r->q", Z, np.einsum("ri->r", y0))])
    beta0 = np.linalg.lstsq(xtx, xty, rcond=None)[0]
    fitted = beta0[:n_items][None, :]
    if q:
        fitted = fitted + np.einsum("rq,q->r", Z, beta0[n_items:])[:, None]
    r0 = np.where(mask, y0 - fitted, 0.0)
    syj = np.einsum("ri->r", r0)
    sxj = np.concatenate([mf, Z * nj_f[:, None]], axis=1)
    xty_r = np.concatenate([np.einsum("ri->i", r0), np.einsum("rq,r->q", Z, syj)])
    yty = float(np.einsum("ri,ri->", r0, r0))
    return _cells(nj, sxj, syj, xtx, xty_r, yty, beta0, comm_of_resp, n_groups, reml)


def _evaluate(cs: _Cells, phi_b: float, phi_p: float, *, need_grad: bool = True) -> _Eval:
    p = cs.xtx.shape[0]
    k = cs.n_groups
    d = 1.0 / (1.0 + cs.m * phi_p)
    a = phi_p * d
    t_k = _bincols(cs.comm, cs.sx * d[:, None], k)  # (K, p)
    s_k = np.bincount(cs.comm, weights=d * cs.m * cs.cnt, minlength=k)
    ty_k = np.bincount(cs.comm, weights=d * cs.sy, minlength=k)
    one_b = 1.0 + phi_b * s_k
    c_k = phi_b / one_b
    # einsum, not BLAS, for the long-and-thin products (a threaded BLAS on a busy machine
    # spends more time synchronising than computing)
    amat = cs.xtx - np.einsum("u,uab->ab", a, cs.sxx) - np.einsum("k,ka,kb->ab", c_k, t_k, t_k)
    bvec = cs.xty - np.einsum("ua,u->a", cs.sxy, a) - np.einsum("ka,k,k->a", t_k, c_k, ty_k)
    cval = (
        cs.yty - float(np.einsum("u,u->", a, cs.syy)) - float(np.einsum("k,k,k->", c_k, ty_k, ty_k))
    )
    try:
        chol = np.linalg.cholesky(amat)
    except np.linalg.LinAlgError as exc:
        raise DataError(
            "the fixed-effects design is rank deficient (X'V^-1 X is not positive definite); "
            "expected linearly independent item and covariate columns"
        ) from exc
    linv = np.linalg.inv(chol)
    ainv = linv.T @ linv
    beta = ainv @ bvec
    rss = max(cval - float(bvec @ beta), np.finfo(float).tiny)
    mdf = cs.n_obs - p if cs.reml else cs.n_obs
    logdet_v = float(np.einsum("u,u->", cs.cnt, np.log1p(cs.m * phi_p))) + float(
        np.sum(np.log1p(phi_b * s_k))
    )
    dev = logdet_v + mdf * (1.0 + _LOG2PI + np.log(rss / mdf))
    if cs.reml:
        dev += 2.0 * float(np.sum(np.log(np.diag(chol))))
    tr_k = ty_k - np.einsum("ka,a->k", t_k, beta)
    if not need_grad:
        return _Eval(float(dev), np.zeros(2), beta, rss, chol, s_k, tr_k)
    # d/d phi_beta
    g_b = float(np.sum(s_k / one_b)) - mdf * float(np.sum(tr_k**2 / one_b**2)) / rss
    # d/d phi_pi
    cu = c_k[cs.comm]
    tru = tr_k[cs.comm]
    r_u = cs.sy - np.einsum("ua,a->u", cs.sx, beta)
    rr_u = (
        cs.syy
        - 2.0 * np.einsum("ua,a->u", cs.sxy, beta)
        + np.einsum("uf,f->u", cs.sxx_flat, np.outer(beta, beta).ravel())
    )
    trace_p = float(np.sum(cs.cnt * d * cs.m * (1.0 - cu * cs.m * d)))
    drss_p = -float(
        np.sum(d**2 * (rr_u - 2.0 * cu * cs.m * r_u * tru + cs.cnt * cu**2 * cs.m**2 * tru**2))
    )
    g_p = trace_p + mdf * drss_p / rss
    if cs.reml:
        ta = np.einsum("ka,ab->kb", t_k, ainv)  # (K, p)
        tat = np.einsum("ka,ka->k", ta, t_k)  # T_k' A^-1 T_k
        g_b -= float(np.sum(tat / one_b**2))
        tr_sxx = np.einsum("uf,f->u", cs.sxx_flat, ainv.ravel())
        tas = np.einsum("ua,ua->u", ta[cs.comm], cs.sx)
        quad = tr_sxx - 2.0 * cu * cs.m * tas + cs.cnt * cu**2 * cs.m**2 * tat[cs.comm]
        g_p -= float(np.sum(d**2 * quad))
    return _Eval(float(dev), np.array([g_b, g_p]), beta, rss, chol, s_k, tr_k)


def _prepare(
    y: np.ndarray,
    X: np.ndarray,
    resp: np.ndarray,
    n_resp: int,
    comm_of_resp: np.ndarray,
    n_groups: int,
    method: str,
) -> _Cells:
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
    return _cells_long(y, X, resp, n_resp, comm_of_resp, n_groups, method == "REML")


def nested_profile(
    y: np.ndarray,
    X: np.ndarray,
    resp: np.ndarray,
    n_resp: int,
    comm_of_resp: np.ndarray,
    n_groups: int,
    phi: tuple[float, float],
    *,
    method: str = "REML",
) -> tuple[float, np.ndarray]:
    """Profiled deviance and its gradient at ``phi = (phi_beta, phi_pi)`` (for gradient tests)."""
    cs = _prepare(y, X, resp, n_resp, comm_of_resp, n_groups, method)
    ev = _evaluate(cs, float(phi[0]), float(phi[1]))
    return ev.deviance, ev.grad


def _fd_hessian(grad: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float) -> np.ndarray:
    n = len(x)
    hess = np.empty((n, n))
    for i in range(n):  # n <= 2 parameters
        e = np.zeros(n)
        e[i] = h
        hess[:, i] = (grad(x + e) - grad(x - e)) / (2 * h)
    return 0.5 * (hess + hess.T)


def fit_nested_lmm(
    y: np.ndarray,
    X: np.ndarray,
    resp: np.ndarray,
    n_resp: int,
    comm_of_resp: np.ndarray,
    n_groups: int,
    *,
    method: str = "REML",
) -> NestedFit:
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
    if np.isinf(Y).any() or not np.isfinite(Z).all():
        raise DataError("Y must be finite or NaN and Z finite")
    if (~np.isnan(Y)).sum(axis=1).min(initial=1) < 1:
        raise DataError("every respondent needs at least one answered item")
    cs = _cells_wide(Y, Z, comm_of_resp, n_groups, method == "REML")
    return _fit(cs, n_groups, method)


def _fit(cs: _Cells, n_groups: int, method: str) -> NestedFit:
    p = cs.xtx.shape[0]
    if np.count_nonzero(np.bincount(cs.comm, minlength=n_groups)) < 2:
        raise DataError(
            "fewer than 2 communities with responses: the between-community variance tau_beta "
            "is not identifiable; expected at least 2 communities"
        )
    if np.bincount(cs.comm, weights=cs.cnt, minlength=n_groups).max() <= 1:
        raise DataError(
            "every community has a single respondent: the community variance tau_beta and the "
            "respondent variance tau_pi are not separately identifiable; expected at least one "
            "community with 2 or more respondents"
        )
    if cs.m.max() <= 1:
        raise DataError(
            "every respondent answered a single item: the respondent variance tau_pi and the "
            "item-level variance sigma2 are not separately identifiable"
        )
    if cs.n_obs - p <= 0:
        raise DataError(f"{cs.n_obs} responses for {p} fixed effects; expected more responses")

    n_eval = 0
    lo, hi = -30.0, 20.0

    def fg(t: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal n_eval
        n_eval += 1
        phi = np.exp(t)
        ev = _evaluate(cs, float(phi[0]), float(phi[1]))
        return ev.deviance, ev.grad * phi

    res = optimize.minimize(
        fg,
        np.log([0.1, 0.5]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(lo, hi), (lo, hi)],
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 500},
    )
    ok = bool(res.success) or "ABNORMAL" in str(res.message)
    phi_opt = np.exp(np.asarray(res.x, dtype=float))

    def polish(phi0: np.ndarray, at_b: tuple[bool, bool]) -> tuple[np.ndarray, float, bool]:
        """Newton steps in log-ratio space over the free ratios; returns phi, deviance, PD."""
        nonlocal n_eval
        phi = phi0.copy()
        free = [i for i in range(2) if not at_b[i]]

        def grad_free(tf: np.ndarray) -> np.ndarray:
            nonlocal n_eval
            n_eval += 1
            ph = phi.copy()
            ph[free] = np.exp(tf)
            return _evaluate(cs, float(ph[0]), float(ph[1])).grad[free] * np.exp(tf)

        def dev_free(tf: np.ndarray) -> float:
            nonlocal n_eval
            n_eval += 1
            ph = phi.copy()
            ph[free] = np.exp(tf)
            return _evaluate(cs, float(ph[0]), float(ph[1]), need_grad=False).deviance

        if not free:
            return phi, _evaluate(cs, float(phi[0]), float(phi[1])).deviance, True
        tf = np.log(phi[free])
        for _ in range(40):
            g = grad_free(tf)
            if 0.5 * float(np.max(np.abs(g))) < 1e-10:  # already at the optimum
                break
            hess = _fd_hessian(grad_free, tf, 1e-5)
            try:
                step = -np.linalg.solve(hess, g)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)) or float(g @ step) >= 0:
                step = -g  # not a descent direction: fall back to steepest descent
            step = np.clip(step, -2.0, 2.0)
            d0 = dev_free(tf)
            lam = 1.0
            while lam > 1e-8 and dev_free(tf + lam * step) > d0 + 1e-13 * abs(d0):
                lam *= 0.5
            tf = np.clip(tf + lam * step, lo, hi)
            if np.max(np.abs(lam * step)) < 1e-11 or lam <= 1e-8:
                break
        phi[free] = np.exp(tf)
        hess = _fd_hessian(grad_free, tf, 1e-5)
        pd_ = bool(np.all(np.linalg.eigvalsh(hess) > 0))
        return phi, dev_free(tf), pd_

    # candidates: the interior optimum and, for small ratios whose derivative at 0 is >= 0
    # (KKT), the boundary ratio = 0; the lowest deviance wins (ties go to the boundary).
    candidates: list[tuple[bool, bool]] = [(False, False)]
    small = [i for i in range(2) if phi_opt[i] < 1e-2]
    for mask in ((True, False), (False, True), (True, True)):
        idx = [i for i in range(2) if mask[i]]
        if idx and all(i in small for i in idx):
            trial = np.where(mask, 0.0, phi_opt)
            g0 = _evaluate(cs, float(trial[0]), float(trial[1])).grad
            if all(g0[i] >= 0.0 for i in idx):
                candidates.append(mask)
    results = []
    for mask in candidates:
        ph, dv, pd_ = polish(np.where(mask, 0.0, phi_opt), mask)
        results.append((dv - (1e-10 * abs(dv) if any(mask) else 0.0), mask, ph, pd_))
    results.sort(key=lambda r: (r[0], -sum(r[1])))
    _, at_b_t, phi, hessian_pd = results[0]
    at_b = list(at_b_t)
    best = _evaluate(cs, float(phi[0]), float(phi[1]))
    proj = np.where(np.array(at_b), np.maximum(0.0, -best.grad), np.abs(best.grad * phi))
    max_abs_grad = float(0.5 * np.max(proj))
    converged = bool(ok and max_abs_grad < 1e-5 and hessian_pd)
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
            f"not converged (optimizer: {res.message}; max |gradient| {max_abs_grad:.3g}; "
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
        n_respondents=int(cs.cnt.sum()),
        n_groups=n_groups,
        n_params=p,
        converged=converged,
        at_boundary=(at_b[0], at_b[1]),
        max_abs_grad=max_abs_grad,
        hessian_pd=hessian_pd,
        n_iter=int(res.nit) + n_eval,
        message=message,
        group_n_respondents=np.bincount(cs.comm, weights=cs.cnt, minlength=n_groups).astype(
            np.int64
        ),
        group_n_obs=np.bincount(cs.comm, weights=cs.cnt * cs.m, minlength=n_groups).astype(
            np.int64
        ),
        eb=phi[0] * best.tr_k / one_b,
        eb_var=sigma2 * phi[0] / one_b,
        lambda_=phi[0] * best.s_k / one_b,
    )

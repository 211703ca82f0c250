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
:math:`(\log\phi_\beta, \log\phi_\pi)` by BFGS in a box (:func:`._qn.quasi_newton`), then polished by Newton steps with the
analytic gradient and a finite-difference Hessian. A ratio that runs to its lower bound is set to
exactly 0 (boundary) when the gradient there is non-negative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
from scipy import sparse

from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._qn import quasi_newton

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
    """Sufficient statistics, computed once per fit, on a dense (community, answered items)
    grid: respondents of community k who answered m items share d_m, a_m (module docstring)."""

    m: np.ndarray  # (M,) answered items 0..M-1 (float)
    cnt: np.ndarray  # (K, M) respondents
    sx: np.ndarray  # (K * M, p) sums of s_xj, row k * M + m
    sx_t: np.ndarray  # (K * p, M) the same sums, row k * p + a (contiguous for products with d)
    sy: np.ndarray  # (K, M) sums of s_yj
    cnt_m: np.ndarray  # (M,) respondents over all communities
    sxx: np.ndarray  # (M, p, p) totals of s_xj s_xj'
    sxy: np.ndarray  # (M, p) totals of s_xj s_yj
    syy: np.ndarray  # (M,) totals of s_yj^2
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


def _scatter_rows(idx: np.ndarray, vals: np.ndarray, size: int) -> np.ndarray:
    """Per-code sums of the rows of ``vals`` (n, c): one sparse indicator product that reads
    ``vals`` row by row (no transposed copy, no bincount per column)."""
    n = len(idx)
    ind = sparse.csc_matrix(
        (np.ones(n), idx.astype(np.int64), np.arange(n + 1, dtype=np.int64)), shape=(size, n)
    )
    return np.asarray(ind @ np.ascontiguousarray(vals, dtype=np.float64))


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
    """Sum respondents into the (community, answered items) grid, in one pass over them.

    ``nj, sxj, syj`` are per-respondent counts and sums of X and of the shifted outcome
    ``y - X shift``; ``xtx, xty, yty`` the totals of that shifted problem. The grid sums of
    ``s_xj`` are ``bincount``s; the cross-products ``s_xj s_xj'`` are only needed summed over
    communities, one matrix product per answered-items count (few), never per cell.
    """
    p = sxj.shape[1]
    mmax = int(nj.max()) + 1
    key = comm_of_resp.astype(np.int64) * mmax + nj
    size = n_groups * mmax
    cnt = np.bincount(key, minlength=size).astype(np.float64)
    sx = _scatter_rows(key, sxj, size)
    sy = np.bincount(key, weights=syj, minlength=size)
    sxx = np.zeros((mmax, p, p))
    sxy = np.zeros((mmax, p))
    syy = np.zeros(mmax)
    for m in np.flatnonzero(np.bincount(nj, minlength=mmax)):  # answered-items counts (few)
        sel = nj == m
        xm, ym = sxj[sel], syj[sel]
        sxx[m] = np.einsum("ra,rb->ab", xm, xm)
        sxy[m] = np.einsum("r,ra->a", ym, xm)
        syy[m] = np.einsum("r,r->", ym, ym)
    return _Cells(
        m=np.arange(mmax, dtype=np.float64),
        cnt=cnt.reshape(n_groups, mmax),
        sx=sx,
        sx_t=np.ascontiguousarray(sx.reshape(n_groups, mmax, p).transpose(0, 2, 1)).reshape(
            n_groups * p, mmax
        ),
        sy=sy.reshape(n_groups, mmax),
        cnt_m=np.bincount(nj, minlength=mmax).astype(np.float64),
        sxx=sxx,
        sxy=sxy,
        syy=syy,
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
    sxj = _scatter_rows(resp, X, n_resp)
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
    r0 = y0  # in place: one respondents x items work array, not three
    r0 -= fitted
    r0 *= mf
    del y0
    syj = np.einsum("ri->r", r0)
    sxj = np.concatenate([mf, Z * nj_f[:, None]], axis=1) if q else mf
    xty_r = np.concatenate([np.einsum("ri->i", r0), np.einsum("rq,r->q", Z, syj)])
    yty = float(np.einsum("ri,ri->", r0, r0))
    return _cells(nj, sxj, syj, xtx, xty_r, yty, beta0, comm_of_resp, n_groups, reml)


def _mv(mat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """``mat @ vec`` by ``einsum``: single-threaded loops, not BLAS, for the long-and-thin
    products (a threaded BLAS on a busy machine spends more time synchronising than computing)."""
    return np.einsum("ij,j->i", mat, vec)


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.einsum("i,i->", u, v))


def _evaluate(cs: _Cells, phi_b: float, phi_p: float, *, need_grad: bool = True) -> _Eval:
    """Profiled deviance and its analytic gradient: O(K M p + M p^2) on the grid, no pass over
    respondents."""
    p = cs.xtx.shape[0]
    m = cs.m
    d = 1.0 / (1.0 + m * phi_p)
    a = phi_p * d
    t_k = _mv(cs.sx_t, d).reshape(-1, p)  # (K, p)
    s_k = _mv(cs.cnt, d * m)
    ty_k = _mv(cs.sy, d)
    one_b = 1.0 + phi_b * s_k
    c_k = phi_b / one_b
    amat = cs.xtx - np.einsum("m,mab->ab", a, cs.sxx) - np.einsum("k,ka,kb->ab", c_k, t_k, t_k)
    bvec = cs.xty - a @ cs.sxy - np.einsum("ka,k->a", t_k, c_k * ty_k)
    cval = cs.yty - float(a @ cs.syy) - float(np.einsum("k,k,k->", c_k, ty_k, ty_k))
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
    logdet_v = float(cs.cnt_m @ np.log1p(m * phi_p)) + float(np.sum(np.log1p(phi_b * s_k)))
    dev = logdet_v + mdf * (1.0 + _LOG2PI + np.log(rss / mdf))
    if cs.reml:
        dev += 2.0 * float(np.sum(np.log(np.diag(chol))))
    tr_k = ty_k - _mv(t_k, beta)
    if not need_grad:
        return _Eval(float(dev), np.zeros(2), beta, rss, chol, s_k, tr_k)
    # d/d phi_beta
    g_b = float(np.sum(s_k / one_b)) - mdf * float(np.sum(tr_k**2 / one_b**2)) / rss
    # d/d phi_pi (sums over cells u = (k, m) regrouped by community and by m)
    d2 = d * d
    n_d2m2 = _mv(cs.cnt, d2 * m * m)  # (K,) sum_m cnt d^2 m^2
    trace_p = float(cs.cnt_m @ (d * m)) - _dot(c_k, n_d2m2)
    rr_m = cs.syy - 2.0 * (cs.sxy @ beta) + np.einsum("mab,a,b->m", cs.sxx, beta, beta)
    r_km = cs.sy - _mv(cs.sx, beta).reshape(cs.sy.shape)  # (K, M)
    drss_p = -(
        float(d2 @ rr_m)
        - 2.0 * _dot(c_k * tr_k, _mv(r_km, d2 * m))
        + _dot(c_k * c_k * tr_k * tr_k, n_d2m2)
    )
    g_p = trace_p + mdf * drss_p / rss
    if cs.reml:
        ta = np.einsum("ka,ab->kb", t_k, ainv)  # (K, p)
        tat = np.einsum("ka,ka->k", ta, t_k)  # T_k' A^-1 T_k
        g_b -= float(np.sum(tat / one_b**2))
        tr_sxx = float(d2 @ np.einsum("mab,ab->m", cs.sxx, ainv))
        tas = np.einsum("ka,ka->k", ta, _mv(cs.sx_t, d2 * m).reshape(-1, p))
        g_p -= tr_sxx - 2.0 * _dot(c_k, tas) + _dot(c_k * c_k * tat, n_d2m2)
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
    optimizer: SimpleNamespace,
    n_eval: int,
    method: str,
    n_groups: int,
) -> NestedFit:
    """The fit at the chosen optimum: variances, fixed effects, EB scores and the message."""
    p = cs.xtx.shape[0]
    res = optimizer
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
        n_respondents=int(np.rint(cs.cnt.sum())),
        n_groups=n_groups,
        n_params=p,
        converged=converged,
        at_boundary=(at_b[0], at_b[1]),
        max_abs_grad=max_abs_grad,
        hessian_pd=hessian_pd,
        n_iter=int(res.nit) + n_eval,
        message=message,
        group_n_respondents=np.rint(cs.cnt.sum(axis=1)).astype(np.int64),
        group_n_obs=np.rint(cs.cnt @ cs.m).astype(np.int64),
        eb=phi[0] * best.tr_k / one_b,
        eb_var=sigma2 * phi[0] / one_b,
        lambda_=phi[0] * best.s_k / one_b,
    )


def _candidates(cs: _Cells, phi_opt: np.ndarray) -> list[tuple[bool, bool]]:
    """The interior optimum and the boundary masks (ratio = 0) that pass the KKT check."""
    candidates: list[tuple[bool, bool]] = [(False, False)]
    small = [i for i in range(2) if phi_opt[i] < 1e-2]
    for mask in ((True, False), (False, True), (True, True)):
        idx = [i for i in range(2) if mask[i]]
        if idx and all(i in small for i in idx):
            trial = np.where(mask, 0.0, phi_opt)
            g0 = _evaluate(cs, float(trial[0]), float(trial[1])).grad
            if all(g0[i] >= 0.0 for i in idx):
                candidates.append(mask)
    return candidates


_LO, _HI = -30.0, 20.0  # box of the log variance ratios


class _Counter:
    """Deviance evaluations of one fit (reported in ``n_iter``)."""

    def __init__(self) -> None:
        self.n = 0


def _polish(
    cs: _Cells, phi0: np.ndarray, at_b: tuple[bool, bool], count: _Counter
) -> tuple[np.ndarray, float, bool]:
    """Newton steps in log-ratio space over the free ratios; returns phi, deviance, PD."""
    phi = phi0.copy()
    free = [i for i in range(2) if not at_b[i]]

    def at(tf: np.ndarray) -> np.ndarray:
        ph = phi.copy()
        ph[free] = np.exp(tf)
        return ph

    def grad_free(tf: np.ndarray) -> np.ndarray:
        count.n += 1
        ph = at(tf)
        return _evaluate(cs, float(ph[0]), float(ph[1])).grad[free] * np.exp(tf)

    def dev_free(tf: np.ndarray) -> float:
        count.n += 1
        ph = at(tf)
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
        tf = np.clip(tf + lam * step, _LO, _HI)
        if np.max(np.abs(lam * step)) < 1e-11 or lam <= 1e-8:
            break
    phi[free] = np.exp(tf)
    hess = _fd_hessian(grad_free, tf, 1e-5)
    pd_ = bool(np.all(np.linalg.eigvalsh(hess) > 0))
    return phi, dev_free(tf), pd_


def _fit(cs: _Cells, n_groups: int, method: str) -> NestedFit:
    p = cs.xtx.shape[0]
    _check_identifiable(cs, p)
    count = _Counter()

    def fg(t: np.ndarray) -> tuple[float, np.ndarray]:
        count.n += 1
        phi = np.exp(t)
        ev = _evaluate(cs, float(phi[0]), float(phi[1]))
        return ev.deviance, ev.grad * phi

    res = quasi_newton(fg, np.log([0.1, 0.5]), _LO, _HI)  # Newton polishes
    ok = bool(res.success)
    phi_opt = np.exp(np.asarray(res.x, dtype=float))
    # candidates: the interior optimum and, for small ratios whose derivative at 0 is >= 0
    # (KKT), the boundary ratio = 0; the lowest deviance wins (ties go to the boundary).
    results = []
    for mask in _candidates(cs, phi_opt):
        ph, dv, pd_ = _polish(cs, np.where(mask, 0.0, phi_opt), mask, count)
        results.append((dv - (1e-10 * abs(dv) if any(mask) else 0.0), mask, ph, pd_))
    results.sort(key=lambda r: (r[0], -sum(r[1])))
    _, at_b_t, phi, hessian_pd = results[0]
    at_b = list(at_b_t)
    best = _evaluate(cs, float(phi[0]), float(phi[1]))
    proj = np.where(np.array(at_b), np.maximum(0.0, -best.grad), np.abs(best.grad * phi))
    max_abs_grad = float(0.5 * np.max(proj))
    converged = bool(ok and max_abs_grad < 1e-5 and hessian_pd)
    return _nested_fit(
        cs, best, phi, at_b, converged=converged, max_abs_grad=max_abs_grad,
        hessian_pd=hessian_pd, optimizer=res, n_eval=count.n, method=method, n_groups=n_groups,
    )  # fmt: skip

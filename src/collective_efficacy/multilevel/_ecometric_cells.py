r"""The ecometric model's sufficient statistics and its profiled deviance with analytic first
and second derivatives (private; the engine is :mod:`._lmm3`, whose docstring gives the model).

Notation (:mod:`._lmm3`): for a ratio pair :math:`(\phi_\beta, \phi_\pi)`, :math:`d_m =
1/(1+m\phi_\pi)`, :math:`a_m = \phi_\pi d_m`, per community :math:`T_k = \sum_m d_m s_{x,km}`,
:math:`S_k = \sum_m n_{km} d_m m`, :math:`c_k = \phi_\beta/(1+\phi_\beta S_k)`, and for any
vectors :math:`Q(u, v) = u'v - \sum_m a_m \sum_{j:n_j=m} U_jV_j - \sum_k c_k (\sum_m d_m
U_{km})(\sum_m d_m V_{km})` is :math:`u'V_*^{-1}v`. With :math:`A = Q(X, X)`, :math:`b = Q(X,
y)`, :math:`\hat\beta = A^{-1}b`, :math:`e = y - X\hat\beta` and :math:`\mathrm{rss} = Q(e, e)`,
the profiled deviance is

.. math:: D = \log|V_*| + \nu \log \mathrm{rss} + [\mathrm{REML}]\ \log|A| + \mathrm{const},

(:math:`\nu` = n - p for REML, n for ML). Its derivatives in :math:`\theta = (\phi_\beta,
\phi_\pi)`, by the envelope rule for :math:`\hat\beta`:

.. math:: \mathrm{rss}_i = Q_i(e, e),\qquad
          \mathrm{rss}_{ij} = Q_{ij}(e, e) - 2\, g_i' A^{-1} g_j,\quad g_i = Q_i(X, e),

.. math:: D_{ij} = (\log|V_*|)_{ij} + \nu\Big(\frac{\mathrm{rss}_{ij}}{\mathrm{rss}}
          - \frac{\mathrm{rss}_i\,\mathrm{rss}_j}{\mathrm{rss}^2}\Big)
          + [\mathrm{REML}]\ \mathrm{tr}(A^{-1}A_{ij}) - \mathrm{tr}(A^{-1}A_iA^{-1}A_j),

where :math:`Q_i, Q_{ij}` differentiate the weights only (:math:`d' = -m d^2`, :math:`d'' = 2m^2
d^3`, :math:`a' = d^2`, :math:`a'' = -2md^3`, :math:`\partial c_k/\partial\phi_\beta =
(1+\phi_\beta S_k)^{-2}`, :math:`\partial c_k/\partial S_k = -c_k^2`). Every term is a product
on the (community, answered items) grid, so a Hessian costs a few gradient evaluations' worth
of dense operations and no pass over respondents.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import sparse

from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._ecometric_blocks import Scan, cells_blocked, scan

__all__ = ["Cells", "Eval", "cells_from_scan", "cells_long", "cells_wide", "compact", "evaluate"]

_LOG2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Cells:
    """Sufficient statistics, computed once per fit, on a dense (community, answered items)
    grid: respondents of community k who answered m items share d_m, a_m (module docstring)."""

    m: np.ndarray  # (M,) answered items 0..M-1 (float)
    cnt: np.ndarray  # (K, M) respondents
    sx_t: np.ndarray  # (K * p, M) sums of s_xj, row k * p + a (contiguous for products with d)
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

    @cached_property
    def sx_m(self) -> np.ndarray:
        """The grid sums as (M, K * p): row m holds every community's s_x sums for m answered
        items (the layout of :func:`evaluate`'s one pass over them)."""
        return np.ascontiguousarray(self.sx_t.T)


@dataclass(frozen=True)
class Eval:
    """The deviance at one ratio pair, its gradient and (``order=2``) Hessian in the ratios."""

    deviance: float
    grad: np.ndarray  # d deviance / d (phi_beta, phi_pi)
    beta: np.ndarray
    rss: float
    chol: np.ndarray
    s_k: np.ndarray
    tr_k: np.ndarray
    hess: np.ndarray | None = None


def _scatter_rows(idx: np.ndarray, vals: np.ndarray, size: int) -> np.ndarray:
    """Per-code sums of the rows of ``vals`` (n, c): one sparse indicator product that reads
    ``vals`` row by row (no transposed copy, no bincount per column)."""
    n = len(idx)
    ind = sparse.csc_matrix(
        (np.ones(n), idx.astype(np.int64), np.arange(n + 1, dtype=np.int64)), shape=(size, n)
    )
    return np.asarray(ind @ np.ascontiguousarray(vals, dtype=np.float64))


def _grid(
    key: np.ndarray, nj: np.ndarray, syj: np.ndarray, n_groups: int, mmax: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Respondent counts and outcome sums per (community, answered items) cell, and the
    respondents per answered-items count."""
    size = n_groups * mmax
    cnt = np.bincount(key, minlength=size).astype(np.float64)
    sy = np.bincount(key, weights=syj, minlength=size)
    return cnt.reshape(n_groups, mmax), sy.reshape(n_groups, mmax), cnt.reshape(-1, mmax).sum(0)


def _make(
    sx_t: np.ndarray, grid: tuple[np.ndarray, np.ndarray, np.ndarray], tot: tuple[np.ndarray, ...],
    xtx: np.ndarray, xty: np.ndarray, yty: float, shift: np.ndarray, reml: bool,
) -> Cells:  # fmt: skip
    """The :class:`Cells` from the grid sums ``sx_t`` (K * p, M), ``grid`` (counts, outcome
    sums, counts per m) and the per-m totals ``tot = (sxx, sxy, syy)``."""
    cnt, sy, cnt_m = grid
    n_groups, mmax = cnt.shape
    return Cells(
        m=np.arange(mmax, dtype=np.float64), cnt=cnt, sx_t=sx_t, sy=sy, cnt_m=cnt_m,
        sxx=tot[0], sxy=tot[1], syy=tot[2], xtx=xtx, xty=xty,
        yty=float(yty), shift=shift, n_obs=int(np.rint(cnt_m @ np.arange(mmax))),
        n_groups=n_groups, reml=reml,
    )  # fmt: skip


def _cells(
    nj: np.ndarray, sxj: np.ndarray, syj: np.ndarray, xtx: np.ndarray, xty: np.ndarray,
    yty: float, shift: np.ndarray, comm_of_resp: np.ndarray, n_groups: int, reml: bool,
) -> Cells:  # fmt: skip
    """Sum respondents into the (community, answered items) grid, in one pass over them.

    ``nj, sxj, syj`` are per-respondent counts and sums of X and of the shifted outcome
    ``y - X shift``; ``xtx, xty, yty`` the totals of that shifted problem. The grid sums of
    ``s_xj`` are one sparse product; the cross-products ``s_xj s_xj'`` are only needed summed
    over communities, one matrix product per answered-items count (few), never per cell.
    """
    p = sxj.shape[1]
    mmax = int(nj.max()) + 1
    key = comm_of_resp.astype(np.int64) * mmax + nj
    sxx, sxy, syy = np.zeros((mmax, p, p)), np.zeros((mmax, p)), np.zeros(mmax)
    for m in np.flatnonzero(np.bincount(nj, minlength=mmax)):  # answered-items counts (few)
        sel = nj == m
        xm, ym = sxj[sel], syj[sel]
        sxx[m] = np.einsum("ra,rb->ab", xm, xm)
        sxy[m] = np.einsum("r,ra->a", ym, xm)
        syy[m] = np.einsum("r,r->", ym, ym)
    grid = _grid(key, nj, syj, n_groups, mmax)
    sx = _scatter_rows(key, sxj, n_groups * mmax).reshape(n_groups, mmax, p)
    sx_t = np.ascontiguousarray(sx.transpose(0, 2, 1)).reshape(n_groups * p, mmax)
    return _make(sx_t, grid, (sxx, sxy, syy), xtx, xty, yty, shift, reml)


def cells_long(
    y: np.ndarray, X: np.ndarray, resp: np.ndarray, n_resp: int, comm_of_resp: np.ndarray,
    n_groups: int, reml: bool,
) -> Cells:  # fmt: skip
    """Cells from long data: one row per response, ``resp`` its respondent."""
    xtx = X.T @ X
    beta0 = np.linalg.lstsq(xtx, X.T @ y, rcond=None)[0]  # shift for numerical accuracy
    r0 = y - X @ beta0
    nj = np.bincount(resp, minlength=n_resp)
    sxj = _scatter_rows(resp, X, n_resp)
    syj = np.bincount(resp, weights=r0, minlength=n_resp)
    return _cells(nj, sxj, syj, xtx, X.T @ r0, float(r0 @ r0), beta0, comm_of_resp, n_groups, reml)


def cells_wide(
    Y: np.ndarray, Z: np.ndarray, comm_of_resp: np.ndarray, n_groups: int, reml: bool,
    *, overwrite: bool = False, block: int | None = None,
) -> Cells:  # fmt: skip
    """Cells for X = [item dummies, respondent covariates Z] straight from the wide matrix.

    Without covariates a respondent's X sums are its answered indicators, so every X sum is a
    count less the missing answers, which are few: the columns of ``Y`` are read in row
    blocks (:mod:`._ecometric_blocks`; ``Y`` is never copied nor modified) and every
    cross-product of indicators is a ``bincount`` over the missing answers -- two passes over
    the responses in all. Raises :class:`DataError` for a row without an answered item or an
    infinite answer. ``overwrite`` is accepted for compatibility (the input is never
    modified); ``block`` the rows per block (default :func:`._ecometric_blocks.block_rows`).
    """
    if Z.shape[1]:
        return _cells_covariates(Y, Z, comm_of_resp, n_groups, reml)
    n_items = Y.shape[1]
    sc = scan([Y[:, j] for j in range(n_items)], np.full(n_items, np.nan), block=block)
    if len(Y) and sc.n_answered.min() < 1:
        raise DataError("every respondent needs at least one answered item")
    return cells_from_scan(sc, comm_of_resp, None, n_groups, reml, block=block)


def cells_from_scan(
    sc: Scan, codes: np.ndarray, used: np.ndarray | None, n_groups: int, reml: bool,
    *, nj: np.ndarray | None = None, block: int | None = None,
) -> Cells:  # fmt: skip
    """Cells of the model without covariates from a :class:`._ecometric_blocks.Scan` of the
    item columns, for the rows ``used`` (None: all; it may only leave out rows without an
    answer), ``codes`` the community of each used row, ``nj`` (optional) their answered items."""
    sm = cells_blocked(sc, codes, used, n_groups, reml, nj=nj, block=block)
    grid = _grid(sm.key, sm.nj, sm.syj, n_groups, len(sm.totals[2]))
    n_items, mmax = len(sc.cols), grid[0].shape[1]
    sx_m = np.empty((mmax, n_groups, n_items))  # counts less the missing answers
    cnt_t = grid[0].T
    for j, cells_j in enumerate(sm.miss):  # loop over items: a scatter into K x M (cache-sized)
        miss_j = np.bincount(cells_j, minlength=n_groups * mmax).reshape(n_groups, mmax)
        np.subtract(cnt_t, miss_j.T, out=sx_m[:, :, j])
    sx_rows = sx_m.reshape(mmax, -1)
    cs = _make(sx_rows.T, grid, sm.totals, np.diag(sc.col_count), sm.xty, sm.yty, sm.shift, reml)
    cs.__dict__["sx_m"] = sx_rows  # built in the layout of the fit (no transposed copy)
    return cs


def _cells_covariates(
    Y: np.ndarray, Z: np.ndarray, comm_of_resp: np.ndarray, n_groups: int, reml: bool
) -> Cells:
    """:func:`cells_wide` with respondent covariates: X sums are ``[indicators, Z n_j]``."""
    mask = ~np.isnan(Y)
    mf = mask.astype(np.float64)
    n_items = Y.shape[1]
    nj_f = np.einsum("ri->r", mf)
    nj = nj_f.astype(np.int64)
    r0 = np.where(mask, Y, 0.0)
    xtx = np.zeros((n_items + Z.shape[1],) * 2)
    xtx[:n_items, :n_items] = np.diag(np.einsum("ri->i", mf))
    xtx[:n_items, n_items:] = np.einsum("ri,rq->iq", mf, Z)
    xtx[n_items:, :n_items] = xtx[:n_items, n_items:].T
    xtx[n_items:, n_items:] = np.einsum("rq,rs,r->qs", Z, Z, nj_f)
    xty = np.concatenate([np.einsum("ri->i", r0), np.einsum("rq,r->q", Z, np.einsum("ri->r", r0))])
    beta0 = np.linalg.lstsq(xtx, xty, rcond=None)[0]
    r0 -= beta0[:n_items][None, :] + np.einsum("rq,q->r", Z, beta0[n_items:])[:, None]
    r0 *= mf
    syj = np.einsum("ri->r", r0)
    sxj = np.concatenate([mf, Z * nj_f[:, None]], axis=1)
    xty_r = np.concatenate([np.einsum("ri->i", r0), np.einsum("rq,r->q", Z, syj)])
    yty = float(np.einsum("ri,ri->", r0, r0))
    return _cells(nj, sxj, syj, xtx, xty_r, yty, beta0, comm_of_resp, n_groups, reml)


def _mv(mat: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """``mat @ vec`` (BLAS; the fit runs it single-threaded, see :func:`._lmm3._fit`)."""
    return mat @ vec


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.einsum("i,i->", u, v))


def _gram(w: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``sum_k w_k u_k v_k'`` for (K, p) ``u, v``."""
    return (u * w[:, None]).T @ v


def _cholesky_inverse(amat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Cholesky factor of X'V^-1 X and its inverse; DataError when it is singular."""
    if not np.all(np.isfinite(amat)):
        amat = np.full_like(amat, np.nan)
    try:
        chol = np.linalg.cholesky(amat)
    except np.linalg.LinAlgError:
        chol = None
    if chol is None or not np.all(np.isfinite(chol)):
        raise DataError(
            "the fixed-effects design is rank deficient (X'V^-1 X is not positive definite); "
            "expected linearly independent item and covariate columns"
        )
    half = np.linalg.inv(chol)
    return chol, half.T @ half


def compact(cs: Cells) -> Cells:
    """The same cells without the answered-items counts nobody has (their columns are zero),
    with the grid sums also stored as :attr:`Cells.sx_m` (M, K * p): every product of the fit
    with them is then one pass over the occupied columns only."""
    keep = cs.cnt_m > 0
    if keep.all():
        return cs
    sx_m = cs.sx_m[keep]  # a copy of the occupied rows
    out = replace(
        cs, m=cs.m[keep], cnt=np.ascontiguousarray(cs.cnt[:, keep]), sx_t=sx_m.T,
        sy=np.ascontiguousarray(cs.sy[:, keep]), cnt_m=cs.cnt_m[keep], sxx=cs.sxx[keep],
        sxy=cs.sxy[keep], syy=cs.syy[keep],
    )  # fmt: skip
    out.__dict__["sx_m"] = sx_m  # the cached property
    return out


def _weighted(cs: Cells, weights: list[np.ndarray]) -> np.ndarray:
    """``sum_m w_m s_x,km`` for each weight vector: (len(weights), K, p), one pass."""
    p = cs.xtx.shape[0]
    return (np.stack(weights) @ cs.sx_m).reshape(len(weights), -1, p)


def evaluate(cs: Cells, phi_b: float, phi_p: float, *, order: int = 1) -> Eval:
    """Profiled deviance (``order=0``), its analytic gradient (1) and Hessian (2) in the ratios:
    O(K M p + M p^2) on the grid, no pass over respondents (one over the grid sums)."""
    p = cs.xtx.shape[0]
    m = cs.m
    d = 1.0 / (1.0 + m * phi_p)
    a = phi_p * d
    d2 = d * d
    dd2 = 2.0 * m * m * d**3  # d''
    weights = [d, -(d2 * m), dd2][: order + 1]  # d, d' and d'': T_k and its derivatives
    tw = _weighted(cs, weights)
    t_k = tw[0]  # (K, p)
    s_k = _mv(cs.cnt, d * m)
    ty_k = _mv(cs.sy, d)
    one_b = 1.0 + phi_b * s_k
    c_k = phi_b / one_b
    amat = cs.xtx - np.einsum("m,mab->ab", a, cs.sxx) - _gram(c_k, t_k, t_k)
    bvec = cs.xty - a @ cs.sxy - np.einsum("ka,k->a", t_k, c_k * ty_k)
    cval = cs.yty - float(a @ cs.syy) - float(np.einsum("k,k,k->", c_k, ty_k, ty_k))
    chol, ainv = _cholesky_inverse(amat)
    beta = ainv @ bvec
    rss = max(cval - float(bvec @ beta), np.finfo(float).tiny)
    mdf = cs.n_obs - p if cs.reml else cs.n_obs
    logdet_v = float(cs.cnt_m @ np.log1p(m * phi_p)) + float(np.sum(np.log1p(phi_b * s_k)))
    dev = logdet_v + mdf * (1.0 + _LOG2PI + np.log(rss / mdf))
    if cs.reml:
        dev += 2.0 * float(np.sum(np.log(np.diag(chol))))
    tr_k = ty_k - _mv(t_k, beta)
    if order == 0:
        return Eval(float(dev), np.zeros(2), beta, rss, chol, s_k, tr_k)
    # d/d phi_beta
    rss_b = -float(np.sum(tr_k**2 / one_b**2))
    g_b = float(np.sum(s_k / one_b)) + mdf * rss_b / rss
    # d/d phi_pi (sums over cells u = (k, m) regrouped by community and by m)
    n_d2m2 = _mv(cs.cnt, d2 * m * m)  # (K,) sum_m cnt d^2 m^2
    trace_p = float(cs.cnt_m @ (d * m)) - _dot(c_k, n_d2m2)
    rr_m = cs.syy - 2.0 * (cs.sxy @ beta) + np.einsum("mab,a,b->m", cs.sxx, beta, beta)
    t1_k = tw[1]  # sum_m d'_m s_x,km
    r1_k = _mv(cs.sy, weights[1]) - _mv(t1_k, beta)  # sum_m d'_m r_km, r_km = s_y,km - beta's_x,km
    rss_p = -(
        float(d2 @ rr_m) + 2.0 * _dot(c_k * tr_k, r1_k) + _dot(c_k * c_k * tr_k * tr_k, n_d2m2)
    )
    g_p = trace_p + mdf * rss_p / rss
    ta = None
    if cs.reml:
        ta = t_k @ ainv  # (K, p)
        tat = np.einsum("ka,ka->k", ta, t_k)  # T_k' A^-1 T_k
        g_b -= float(np.sum(tat / one_b**2))
        tr_sxx = float(d2 @ np.einsum("mab,ab->m", cs.sxx, ainv))
        tas = -np.einsum("ka,ka->k", ta, t1_k)
        g_p -= tr_sxx - 2.0 * _dot(c_k, tas) + _dot(c_k * c_k * tat, n_d2m2)
    grad = np.array([g_b, g_p])
    ev = Eval(float(dev), grad, beta, rss, chol, s_k, tr_k)
    if order == 1:
        return ev
    t2_k = tw[2]
    r2_k = _mv(cs.sy, dd2) - _mv(t2_k, beta)  # sum_m d''_m r_km
    parts = _Parts(m, d, phi_b, t_k, t1_k, t2_k, one_b, c_k, s_k, tr_k, r1_k, r2_k, rr_m, ainv, ta)
    hess = _hessian(cs, parts, beta, rss, np.array([rss_b, rss_p]), mdf)
    return Eval(float(dev), grad, beta, rss, chol, s_k, tr_k, hess)


@dataclass(frozen=True)
class _Parts:
    """Intermediates of :func:`evaluate` that the Hessian reuses."""

    m: np.ndarray
    d: np.ndarray
    phi_b: float
    t_k: np.ndarray
    t1_k: np.ndarray
    t2_k: np.ndarray
    one_b: np.ndarray
    c_k: np.ndarray
    s_k: np.ndarray
    r_k: np.ndarray
    r1_k: np.ndarray
    r2_k: np.ndarray
    rr_m: np.ndarray
    ainv: np.ndarray
    ta: np.ndarray | None  # T_k A^-1 (REML)


def _hessian(
    cs: Cells, q: _Parts, beta: np.ndarray, rss: float, rss_g: np.ndarray, mdf: int
) -> np.ndarray:
    """Second derivatives of the deviance in (phi_beta, phi_pi) (module docstring)."""
    m, d, c, r, r1, r2 = q.m, q.d, q.c_k, q.r_k, q.r1_k, q.r2_k
    d3 = d**3
    dd2, a2 = 2.0 * m * m * d3, -2.0 * m * d3  # d'' and a''
    s1, s2 = _mv(cs.cnt, -m * m * d * d), _mv(cs.cnt, dd2 * m)
    cb = 1.0 / q.one_b**2
    cp = -c * c * s1
    cbb, cbp, cpp = -2.0 * q.s_k * cb / q.one_b, -2.0 * c * cb * s1, -2.0 * c * cp * s1 - c * c * s2
    rsq, rr1 = r * r, r * r1
    q_bb = -_dot(cbb, rsq)
    q_bp = -_dot(cbp, rsq) - 2.0 * _dot(cb, rr1)
    q_pp = (
        -float(a2 @ q.rr_m) - _dot(cpp, rsq) - 4.0 * _dot(cp, rr1)
        - 2.0 * _dot(c, r1 * r1 + r * r2)
    )  # fmt: skip
    res_m = cs.sxy - np.einsum("mab,b->ma", cs.sxx, beta)
    g_b = -np.einsum("ka,k->a", q.t_k, cb * r)
    g_p = -(d * d) @ res_m - np.einsum("ka,k->a", q.t_k, cp * r + c * r1)
    g_p -= np.einsum("ka,k->a", q.t1_k, c * r)
    gm = np.stack([g_b, g_p])
    rss_h = np.array([[q_bb, q_bp], [q_bp, q_pp]]) - 2.0 * gm @ q.ainv @ gm.T
    ld = np.array(
        [
            [-float(np.sum(q.s_k**2 * cb)), _dot(cb, s1)],
            [_dot(cb, s1), -float(cs.cnt_m @ (m * m * d * d)) + _dot(cp, s1) + _dot(c, s2)],
        ]
    )
    hess = ld + mdf * (rss_h / rss - np.outer(rss_g, rss_g) / rss**2)
    if cs.reml:
        hess += _reml_hessian(cs, q, q.t2_k, a2, (cb, cp, cbb, cbp, cpp))
    return 0.5 * (hess + hess.T)


def _reml_hessian(
    cs: Cells, q: _Parts, t2_k: np.ndarray, a2: np.ndarray, cw: tuple[np.ndarray, ...]
) -> np.ndarray:
    """Second derivatives of log|A|: tr(A^-1 A_ij) - tr(A^-1 A_i A^-1 A_j)."""
    cb, cp, cbb, cbp, cpp = cw
    c, t, t1, ainv = q.c_k, q.t_k, q.t1_k, q.ainv
    w = q.t_k @ ainv if q.ta is None else q.ta
    w1 = t1 @ ainv
    q_tt = np.einsum("ka,ka->k", w, t)
    q_t1t = np.einsum("ka,ka->k", w, t1)
    q_t1t1 = np.einsum("ka,ka->k", w1, t1)
    q_t2t = np.einsum("ka,ka->k", w, t2_k)
    tr_sxx = np.einsum("mab,ab->m", cs.sxx, ainv)
    tr_bb = -_dot(cbb, q_tt)
    tr_bp = -_dot(cbp, q_tt) - 2.0 * _dot(cb, q_t1t)
    tr_pp = -float(a2 @ tr_sxx) - _dot(cpp, q_tt) - 4.0 * _dot(cp, q_t1t)
    tr_pp -= 2.0 * _dot(c, q_t2t + q_t1t1)
    a_b = -_gram(cb, t, t)
    sym = _gram(c, t1, t)
    a_p = -np.einsum("m,mab->ab", q.d * q.d, cs.sxx) - _gram(cp, t, t) - sym - sym.T
    mb, mp = ainv @ a_b, ainv @ a_p
    return np.array(
        [
            [tr_bb - float(np.sum(mb * mb.T)), tr_bp - float(np.sum(mb * mp.T))],
            [tr_bp - float(np.sum(mb * mp.T)), tr_pp - float(np.sum(mp * mp.T))],
        ]
    )

r"""Respondent random intercept for the change engine (private; used by :mod:`._lmm_slope`).

Model: ``lmer(y ~ 0 + X + (1 + t | community) + (1 | respondent))`` with respondents nested in
communities (a panel or a partial panel: some respondents answer once, some several times).
With :math:`\phi = \tau_r/\sigma^2` (:math:`\theta_r = \sqrt\phi`, lme4's theta of the respondent
term) the covariance of community :math:`j` is :math:`\sigma^2 V_{*j}`,
:math:`V_{*j} = D_j + Z_j\Lambda\Lambda'Z_j'`, :math:`D_j = I + \phi\sum_i 1_i1_i'`. The respondent
blocks invert in closed form (:math:`1_i'D^{-1} = d_i 1_i'`, :math:`d_i = 1/(1+n_i\phi)`,
:math:`D^{-1} = I - \sum_i a_i 1_i1_i'`, :math:`a_i = \phi d_i`), so the community-level 2 x 2
algebra of :mod:`._lmm_slope` applies unchanged to the *effective* statistics
:math:`Z_j'D_j^{-1}Z_j`, :math:`Z_j'D_j^{-1}X_j`, :math:`X'D^{-1}X`, ... and
:math:`\log|V_{*j}| = \sum_i\log(1+n_i\phi) + \log|M_j|` (the nested block structure of the
ecometric engine :mod:`._lmm3`; nothing of size n x respondents).

:math:`a_i` depends on the respondent only through :math:`n_i` (answers given), so respondents of
one community with the same :math:`n_i` form a *cell*, and the statistics are cell sums of
:math:`z_iz_i'`, :math:`z_ix_i'`, :math:`z_iy_i`, :math:`x_ix_i'`, :math:`x_iy_i`, :math:`y_i^2`
(:math:`z_i = (n_i, \sum t)`, :math:`x_i, y_i` the respondent's sums of X and y).

The derivative in :math:`\phi` is analytic: with :math:`q_j = Z_j'D_j^{-1}r_j`,
:math:`P_j = (K_jZ_j'D_j^{-1}X_j)'`,

.. math:: \partial_\phi d = \sum_i [n_id_i - d_i^2 z_i'K_jz_i]
          - \frac{m}{\mathrm{RSS}}\sum_i d_i^2 (r_i - z_i'K_jq_j)^2
          - [\mathrm{tr}(A^{-1}\textstyle\sum_i d_i^2 (x_i - P_jz_i)(x_i-P_jz_i)')]_{REML}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from collective_efficacy.errors import DataError

__all__ = ["Panel", "panel_cells", "panel_evaluate"]


@dataclass(frozen=True)
class Panel:
    comm: np.ndarray  # (C,) community of each cell
    m: np.ndarray  # (C,) answers per respondent in the cell
    cnt: np.ndarray  # (C,) respondents in the cell
    szz: tuple[np.ndarray, np.ndarray, np.ndarray]  # sums of z z' (00, 01, 11)
    szx0: np.ndarray  # (C, p): sums of n_i x_i
    szx1: np.ndarray  # (C, p): sums of s_i x_i
    szy0: np.ndarray
    szy1: np.ndarray
    sxx: np.ndarray  # (C, p, p)
    sxy: np.ndarray  # (C, p)
    syy: np.ndarray
    n_groups: int


def _bc(idx: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    if w.ndim == 1:
        return np.bincount(idx, weights=w, minlength=size)
    out = np.empty((size, w.shape[1]))
    for c in range(w.shape[1]):  # columns (few), never groups
        out[:, c] = np.bincount(idx, weights=w[:, c], minlength=size)
    return out


def _bcw(idx: np.ndarray, cols: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    """(size, p): per index the sums of ``cols[c] * w`` (one row-sized temporary at a time)."""
    out = np.empty((size, cols.shape[0]))
    for c in range(cols.shape[0]):  # columns (few), never groups
        out[:, c] = np.bincount(idx, weights=cols[c] * w, minlength=size)
    return out


def panel_cells(
    r0: np.ndarray,
    X: np.ndarray,
    t: np.ndarray,
    resp: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
) -> Panel:
    """Cell sums from the shifted outcome ``r0``, ``X``, ``t`` and respondent codes ``resp``."""
    n_resp = int(resp.max()) + 1
    ni = np.bincount(resp, minlength=n_resp)
    comm_r = np.full(n_resp, -1, dtype=np.int64)
    comm_r[resp] = codes
    lo = np.full(n_resp, np.iinfo(np.int64).max)
    np.minimum.at(lo, resp, codes)
    if np.any((comm_r != lo) & (ni > 0)):
        raise DataError(
            "a respondent appears in more than one community; expected respondents nested in "
            "communities (one community per respondent id)"
        )
    del lo
    used = ni > 0
    every = bool(used.all())  # (always from change_model): no subset copies
    si = np.bincount(resp, weights=t, minlength=n_resp)
    xi = _bc(resp, X, n_resp).T  # (p, R): respondent sums of each column, rows contiguous
    yi = np.bincount(resp, weights=r0, minlength=n_resp)
    if not every:
        ni, comm_r, si, xi, yi = ni[used], comm_r[used], si[used], xi[:, used], yi[used]
    ni_f, ni_u, ci = ni.astype(np.float64), ni, comm_r
    mmax = int(ni_u.max()) + 1
    key = ci * mmax + ni_u
    present = np.bincount(key, minlength=n_groups * mmax) > 0
    ukey = np.flatnonzero(present)
    cell = (np.cumsum(present) - 1)[key]
    del key, comm_r
    nc = len(ukey)
    p = X.shape[1]
    sxx = np.empty((nc, p, p))
    for a in range(p):  # p(p+1)/2 column products (few)
        for b in range(a, p):
            col = np.bincount(cell, weights=xi[a] * xi[b], minlength=nc)
            sxx[:, a, b] = col
            sxx[:, b, a] = col
    return Panel(
        comm=(ukey // mmax).astype(np.int64),
        m=(ukey % mmax).astype(np.float64),
        cnt=np.bincount(cell, minlength=nc).astype(np.float64),
        szz=(
            np.bincount(cell, weights=ni_f * ni_f, minlength=nc),
            np.bincount(cell, weights=ni_f * si, minlength=nc),
            np.bincount(cell, weights=si * si, minlength=nc),
        ),
        szx0=_bcw(cell, xi, ni_f, nc),
        szx1=_bcw(cell, xi, si, nc),
        szy0=np.bincount(cell, weights=ni_f * yi, minlength=nc),
        szy1=np.bincount(cell, weights=si * yi, minlength=nc),
        sxx=sxx,
        sxy=_bcw(cell, xi, yi, nc),
        syy=np.bincount(cell, weights=yi * yi, minlength=nc),
        n_groups=n_groups,
    )


def panel_evaluate(st: Any, params: np.ndarray, core: Callable[[Any, np.ndarray], Any]) -> Any:
    """The core evaluation on the effective statistics, plus the respondent level."""
    pn: Panel = st.panel
    theta_r = float(params[3])
    phi = theta_r * theta_r
    d = 1.0 / (1.0 + pn.m * phi)
    a = phi * d
    g = pn.n_groups
    eff = dataclasses.replace(
        st,
        n=st.n - np.bincount(pn.comm, weights=a * pn.szz[0], minlength=g),
        st=st.st - np.bincount(pn.comm, weights=a * pn.szz[1], minlength=g),
        stt=st.stt - np.bincount(pn.comm, weights=a * pn.szz[2], minlength=g),
        zx0=st.zx0 - _bc(pn.comm, pn.szx0 * a[:, None], g),
        zx1=st.zx1 - _bc(pn.comm, pn.szx1 * a[:, None], g),
        zy0=st.zy0 - np.bincount(pn.comm, weights=a * pn.szy0, minlength=g),
        zy1=st.zy1 - np.bincount(pn.comm, weights=a * pn.szy1, minlength=g),
        xtx=st.xtx - (a @ pn.sxx.reshape(len(a), -1)).reshape(st.xtx.shape),
        xty=st.xty - a @ pn.sxy,
        yty=st.yty - float(a @ pn.syy),
        panel=None,
    )
    ev = core(eff, params[:3])
    ld_r = float(pn.cnt @ np.log1p(pn.m * phi))
    k00, k01, k11 = (k[pn.comm] for k in ev.k)
    s00, s01, s11 = pn.szz
    tr_r = float(pn.cnt @ (pn.m * d)) - float(d * d @ (k00 * s00 + 2 * k01 * s01 + k11 * s11))
    q = ev.zr[pn.comm]  # (C, 2)
    kq0, kq1 = k00 * q[:, 0] + k01 * q[:, 1], k01 * q[:, 0] + k11 * q[:, 1]
    beta = ev.beta
    rr = pn.syy - 2.0 * pn.sxy @ beta + pn.sxx.reshape(len(a), -1) @ np.outer(beta, beta).ravel()
    sr0, sr1 = pn.szy0 - pn.szx0 @ beta, pn.szy1 - pn.szx1 @ beta
    quad = rr - 2.0 * (sr0 * kq0 + sr1 * kq1) + kq0 * kq0 * s00 + 2 * kq0 * kq1 * s01
    quad = quad + kq1 * kq1 * s11
    q_r = float(d * d @ quad)
    p0 = (ev.k[0][:, None] * eff.zx0 + ev.k[1][:, None] * eff.zx1)[pn.comm]  # P_j columns
    p1 = (ev.k[1][:, None] * eff.zx0 + ev.k[2][:, None] * eff.zx1)[pn.comm]
    w = d * d
    # sums over cells as matrix products (BLAS is single-threaded in the engine)
    u = (pn.szx0 * w[:, None]).T @ p0 + (pn.szx1 * w[:, None]).T @ p1
    c01 = (p0 * (w * s01)[:, None]).T @ p1
    pzz = (p0 * (w * s00)[:, None]).T @ p0 + c01 + c01.T + (p1 * (w * s11)[:, None]).T @ p1
    xrx = (w @ pn.sxx.reshape(len(w), -1)).reshape(u.shape) - u - u.T + pzz
    a_r = float(np.sum(ev.ainv * xrx))
    p = st.xtx.shape[0]
    mdf = st.n_obs - p if st.reml else st.n_obs
    dphi = tr_r - (mdf / ev.rss) * q_r - (a_r if st.reml else 0.0)
    return dataclasses.replace(
        ev,
        deviance=ev.deviance + ld_r,
        grad=np.append(ev.grad, 2.0 * theta_r * dphi),
        panel_parts=(tr_r, q_r, a_r),
        xrx=xrx,
    )

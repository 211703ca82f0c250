r"""Each community's change integrated over the uncertain covariance parameters (private).

The interval and verdict of :func:`~collective_efficacy.change_model` come from here. Plugging
the estimated covariance parameters into the empirical-Bayes posterior (lme4's ``ranef`` /
``condVar``) treats them as known; near the boundary (a change variance estimated near 0, or a
correlation of intercept and change near :math:`\pm1`, common with 10-100 communities of 10-30
residents) that makes the interval wrong in both directions, and derivative (delta-method)
corrections cannot repair it because the likelihood of the variance is far from normal there.
Following Morris (1983) and Kass & Steffey (1989), the posterior of community :math:`j`'s change
:math:`\delta_j` is instead *integrated* over the two covariance parameters that carry the
change, numerically:

.. math:: p(\delta_j \mid y) = \int N\big(m_j(\vartheta),\ v_j(\vartheta)\big)\,
          \pi(\vartheta \mid y)\, d\vartheta,\qquad
          \pi(\vartheta \mid y) \propto L_R(\hat\theta_1, \vartheta)\,\theta_3^2
          \cdot \theta_3,
          \quad \vartheta = (\theta_2, \theta_3),

* :math:`\theta = (\theta_1, \theta_2, \theta_3)` is lme4's Cholesky factor of
  :math:`\Sigma/\sigma^2`; :math:`\theta_2` carries the covariance of change and intercept,
  :math:`\theta_3 \ge 0` the part of the change's SD not tied to the intercept.
  :math:`\theta_1` (the intercepts' SD) and, with a panel, the respondent parameter stay at
  their estimates (integrating :math:`\theta_1` too was measured and not adopted: it
  over-covered with 10-20 communities and found fewer improved communities than the adjusted
  likelihood below, ``docs/methods/change-model.md``).
* :math:`L_R` is the profiled restricted likelihood (:math:`\beta` integrated out, :math:`\sigma^2`
  at its profile value :math:`\mathrm{RSS}(\vartheta)/m`), i.e. the deviance the fit minimises;
  ML fits use the profiled ML likelihood. With the prior :math:`1/\sigma^2` the likelihood
  integrated over :math:`\sigma^2` is proportional to the profiled one, so :math:`\sigma` is
  integrated too (up to the normal instead of a :math:`t_m` conditional, :math:`m` = rows -
  fixed effects, hundreds or more).
* :math:`\theta_3^2 = \det(\Sigma/\sigma^2)/\theta_1^2` is the **adjustment factor** of an
  adjusted restricted likelihood (Li & Lahiri 2010, who multiply the likelihood of a variance
  :math:`A` by :math:`A`; here its bivariate analogue, the determinant of the random-effects
  covariance): it keeps the change variance away from 0 with few communities, where the plain
  likelihood often peaks at the boundary and every community is shrunk to the overall change.
  :math:`\theta_3` is the prior flat in :math:`\theta_2` and :math:`\theta_3^2` (flat on
  :math:`\Sigma` given :math:`\theta_1`); together :data:`PRIOR_THETA3`. The posterior is proper
  because the restricted likelihood decays in :math:`\theta_3` at least as
  :math:`\theta_3^{-K}` for :math:`K` communities (:math:`K \ge 5` in every use).
* :math:`m_j, v_j` are the community's EB change :math:`c_j'\hat\beta(\vartheta) +
  \hat u_{1j}(\vartheta)` and Henderson's prediction-error variance
  :math:`\sigma^2(\vartheta)\,[K_{j,22} + (u_j - c_j)'A^{-1}(u_j - c_j)]` at :math:`\vartheta`
  (the fixed effects' uncertainty included).

The integral is a weighted sum over nodes :math:`\vartheta_k` (a Python loop over nothing:
all nodes and communities are evaluated as one ``(nodes, communities)`` array):
``mean`` :math:`= \sum_k w_k m_j(\vartheta_k)`, ``sd``\ :math:`^2 = \sum_k w_k [v_j(\vartheta_k)
+ (m_j(\vartheta_k) - \mathrm{mean}_j)^2]`.

* ``"gauss_hermite"``: with many communities (nodes of the grid x communities above
  :data:`GRID_CELLS`) away from the boundary (not a boundary fit and :math:`\hat\theta_3 >`
  :data:`NEAR` posterior SDs, from the Hessian of the deviance in :math:`\vartheta`), where the
  posterior of :math:`\vartheta` is close to normal: adaptive Gauss-Hermite quadrature,
  :data:`GH_NODES` x :data:`GH_NODES` nodes on the Laplace approximation, with importance
  weights :math:`w_k \propto \omega_k e^{\|z_k\|^2} L_R(\vartheta_k)\theta_{3k}^3` (Naylor &
  Smith 1982; Liu & Pierce 1994). It costs 4 evaluations of the deviance's gradient and 9
  node evaluations (at 4,000 communities it agrees with a 161 x 161 brute-force grid to
  1e-5 of the SD).
* ``"grid"``: otherwise (always with up to 1,250 communities), Gauss-Legendre nodes (:data:`GRID` = 16 x 20) in polar coordinates
  :math:`\theta_2 = r\cos\varphi`, :math:`\theta_3 = r\sin\varphi`: :math:`\varphi \in
  [0, \pi]` (every correlation of intercept and change, :math:`\cos\varphi` times the sign of
  :math:`\theta_1`), :math:`r \in [0, R]` (:math:`r\sigma` is the change's SD), :math:`R` where
  the deviance is at least :data:`REACH` above its minimum at every angle; the nodes cover the
  part of that half-disc where the deviance is less than :data:`REACH` above its minimum (found
  on a :data:`SCOUT` x :data:`SCOUT` grid of deviances, widened by one step) (weights
  :math:`w_k \propto \omega_k L_R(\vartheta_k)\,\theta_{3k}^3\, r_k`, the last factor the
  Jacobian). The weighted sums run over chunks of nodes (memory bounded by :data:`GRID_CELLS`).

The interval is ``mean`` :math:`\pm z_{(1+ci)/2}` ``sd`` (the normal approximation to the
integrated posterior) and :math:`P(\delta_j > 0) \approx \Phi(\mathrm{mean}/\mathrm{sd})`.
Deterministic (fixed quadrature rules, no random numbers).

References: Morris, C. N. (1983), *JASA* 78, 47-55; Kass, R. E. & Steffey, D. (1989), *JASA*
84, 717-726; Li, H. & Lahiri, P. (2010), *J. Multivariate Analysis* 101, 882-892; Naylor, J. C. & Smith, A. F. M. (1982), *Applied Statistics* 31, 214-225; Liu, Q.
& Pierce, D. A. (1994), *Biometrika* 81, 624-629.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collective_efficacy.multilevel._lmm_panel import panel_evaluate
from collective_efficacy.multilevel._lmm_slope_core import _evaluate_core, _Stats

__all__ = [
    "GH_NODES",
    "GRID",
    "GRID_CELLS",
    "NEAR",
    "REACH",
    "SCOUT",
    "Integrated",
    "integrate_change",
    "node_moments",
]

#: Gauss-Hermite is used when theta_3 is more than this many posterior SDs from 0.
NEAR = 4.0
#: Gauss-Legendre nodes in (theta_2, theta_3) near the boundary.
GRID = (16, 20)
#: The grid's box ends where the deviance is this much above its minimum (along each axis).
REACH = 35.0

#: Scouting grid (angles x radii) that finds where the posterior lies.
SCOUT = 25
#: The grid is used whenever nodes x communities stays below this (it is cheap there).
GRID_CELLS = 400_000
#: Gauss-Hermite nodes per parameter.
GH_NODES = 3
#: The power of theta_3 in the weights: theta_3^2 (adjustment) times theta_3 (prior), module doc.
PRIOR_THETA3 = 3.0

_GH = np.polynomial.hermite.hermgauss(GH_NODES)
_GL = {n: np.polynomial.legendre.leggauss(n) for n in set(GRID)}  # rules computed once
_LOG2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Integrated:
    """Per community: mean and SD of the integrated posterior of the change; the rule used."""

    mean: np.ndarray
    sd: np.ndarray
    method: str
    n_nodes: int


def _fixed_level(st: _Stats, params: np.ndarray) -> _Stats:
    """With a respondent level: the effective community statistics at the estimated
    respondent variance (held fixed), so that the 2 x 2 algebra below applies unchanged."""
    if st.panel is None:
        return st
    out: list[_Stats] = []

    def core(eff: _Stats, theta: np.ndarray) -> object:
        out.append(eff)
        return _evaluate_core(eff, theta)

    panel_evaluate(st, np.asarray(params, float), core)
    return out[0]


def node_moments(
    st: _Stats, l00: float, nodes: np.ndarray, contrast: np.ndarray, *, moments: bool = True
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    r"""Deviance (M,), EB change (M, G) and prediction-error variance (M, G) at M nodes
    :math:`(\theta_2, \theta_3)` with :math:`\theta_1` = ``l00``: the algebra of
    :func:`._lmm_slope_core._evaluate_core` on ``(nodes, communities)`` arrays (no panel)."""
    l10, l11 = nodes[:, :1], nodes[:, 1:2]
    n, s1, s2 = st.n[None, :], st.st[None, :], st.stt[None, :]
    p00, p10 = n * l00 + s1 * l10, s1 * l00 + s2 * l10
    p01, p11 = s1 * l11, s2 * l11
    m00 = l00 * p00 + l10 * p10 + 1.0
    m01 = l00 * p01 + l10 * p11
    m11 = l11 * p11 + 1.0
    det = m00 * m11 - m01 * m01
    i00, i01, i11 = m11 / det, -m01 / det, m00 / det
    k01 = l00 * (i00 * l10 + i01 * l11)
    k00 = l00 * l00 * i00
    k11 = l10 * l10 * i00 + 2.0 * l10 * l11 * i01 + l11 * l11 * i11
    zx0, zx1, zy0, zy1 = st.zx0, st.zx1, st.zy0, st.zy1
    p = zx0.shape[1]
    x00 = (zx0[:, :, None] * zx0[:, None, :]).reshape(len(zy0), p * p)
    x01 = (zx0[:, :, None] * zx1[:, None, :]).reshape(len(zy0), p * p)
    x10 = (zx1[:, :, None] * zx0[:, None, :]).reshape(len(zy0), p * p)
    x11 = (zx1[:, :, None] * zx1[:, None, :]).reshape(len(zy0), p * p)
    a = st.xtx[None] - (k00 @ x00 + k01 @ (x01 + x10) + k11 @ x11).reshape(-1, p, p)
    b = st.xty[None] - (
        k00 @ (zx0 * zy0[:, None]) + k01 @ (zx0 * zy1[:, None] + zx1 * zy0[:, None])
        + k11 @ (zx1 * zy1[:, None])
    )  # fmt: skip
    c = st.yty - (k00 @ (zy0 * zy0) + 2.0 * (k01 @ (zy0 * zy1)) + k11 @ (zy1 * zy1))
    chol = np.linalg.cholesky(0.5 * (a + a.transpose(0, 2, 1)))
    ainv = np.linalg.inv(a)
    beta = np.einsum("mab,mb->ma", ainv, b)
    rss = np.maximum(c - np.einsum("ma,ma->m", b, beta), np.finfo(float).tiny)
    mdf = st.n_obs - p if st.reml else st.n_obs
    dev = np.sum(np.log(det), axis=1) + mdf * (1.0 + _LOG2PI + np.log(rss / mdf))
    if st.reml:
        dev = dev + 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    if not moments:
        return dev, None, None
    zr0 = zy0[None, :] - beta @ zx0.T
    zr1 = zy1[None, :] - beta @ zx1.T
    # c_j'beta + b_j1, beta un-shifted (the engine works with y minus X beta0)
    change = (beta + st.shift[None, :]) @ contrast.T + k01 * zr0 + k11 * zr1
    # Henderson: K_11 + (u - c)'A^-1(u - c), u = row 2 of K Z'X; written out over the few
    # fixed effects (a loop over p, never over communities)
    us = [k01 * zx0[None, :, i] + k11 * zx1[None, :, i] - contrast[None, :, i] for i in range(p)]
    pev = k11.copy()
    for i in range(p):
        pev += ainv[:, i, i][:, None] * us[i] * us[i]
        for j in range(i + 1, p):
            pev += (2.0 * ainv[:, i, j])[:, None] * us[i] * us[j]
    return dev, change, (rss / mdf)[:, None] * pev


def _hessian(st: _Stats, theta: np.ndarray) -> np.ndarray:
    """Hessian of the deviance in (theta_2, theta_3): central differences of the analytic
    gradient (4 evaluations)."""
    cols = []
    for i in (1, 2):
        h = 1e-4 * max(abs(theta[i]), 0.1)
        e = np.zeros(3)
        e[i] = h
        gp, gm = _evaluate_core(st, theta + e).grad, _evaluate_core(st, theta - e).grad
        cols.append((gp[1:] - gm[1:]) / (2.0 * h))
    hess = np.column_stack(cols)
    out: np.ndarray = 0.5 * (hess + hess.T)
    return out


def _ring_rise(st: _Stats, theta: np.ndarray, r: float, phi: np.ndarray, base: float) -> float:
    """The lowest deviance rise over the points at radius r and angles phi."""
    nodes = np.column_stack([r * np.cos(phi), r * np.sin(phi)])
    dev = node_moments(st, float(theta[0]), nodes, np.zeros((len(st.n), st.xtx.shape[0])),
                       moments=False)[0]  # fmt: skip
    return float(np.min(dev) - base)


def _radius(st: _Stats, theta: np.ndarray, base: float, start: float, phi: np.ndarray) -> float:
    """A radius R at which the deviance is at least REACH above its minimum at every angle
    (and at most 4 REACH at the lowest one, so that the grid is not needlessly wide)."""
    r = max(start, 1e-6)
    for _ in range(80):  # doubling / halving, bounded
        rise = _ring_rise(st, theta, r, phi, base)
        if rise < REACH:
            r *= 1.5
        elif rise > 4.0 * REACH and r > 1e-6:
            r /= 1.3
            if _ring_rise(st, theta, r, phi, base) < REACH:
                return r * 1.3
        else:
            break
    return r


def _gauss_hermite(theta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z, w = _GH
    zz = np.array([(a, b) for a in z for b in z])
    ww = np.array([a * b for a in w for b in w])
    chol = np.linalg.cholesky(cov)
    nodes = theta[1:3][None, :] + np.sqrt(2.0) * zz @ chol.T
    return nodes, np.log(ww) + np.sum(zz * zz, axis=1)


def _box(st: _Stats, theta: np.ndarray, base: float, big: float) -> tuple[float, ...]:
    """The part of [0, pi] x [0, R] (angle, radius) where the deviance is less than REACH
    above its minimum, from a scouting grid of deviances, widened by one scouting step."""
    n = SCOUT
    phi, r = np.linspace(0.0, np.pi, n), np.linspace(0.0, big, n)
    pp, rr = np.meshgrid(phi, r, indexing="ij")
    nodes = np.column_stack([(rr * np.cos(pp)).ravel(), (rr * np.sin(pp)).ravel()])
    zero = np.zeros((len(st.n), st.xtx.shape[0]))
    dev = node_moments(st, float(theta[0]), nodes, zero, moments=False)[0].reshape(n, n)
    inside = dev - min(base, float(dev.min())) < REACH
    i = np.flatnonzero(inside.any(axis=1))
    j = np.flatnonzero(inside.any(axis=0))
    return (
        float(phi[max(i[0] - 1, 0)]),
        float(phi[min(i[-1] + 1, n - 1)]),
        float(r[max(j[0] - 1, 0)]),
        float(r[min(j[-1] + 1, n - 1)]),
    )


def _grid(
    st: _Stats, theta: np.ndarray, base: float, sd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes in polar coordinates: theta_2 = r cos(phi), theta_3 = r sin(phi)
    (r = the change's SD over sigma, cos(phi) = the correlation of intercept and change times
    the sign of theta_1), on the part of [0, pi] x [0, R] that carries the posterior."""
    n_phi, n_r = GRID
    r_hat = float(np.hypot(theta[1], theta[2]))
    ring = 0.5 * np.pi * (1.0 + _GL[n_phi][0])
    big = _radius(st, theta, base, r_hat + 3.0 * float(np.hypot(sd[0], sd[1])), ring)
    p_lo, p_hi, r_lo, r_hi = _box(st, theta, base, big)
    u_p, w_p = _GL[n_phi]
    u_r, w_r = _GL[n_r]
    phi = p_lo + 0.5 * (p_hi - p_lo) * (1.0 + u_p)
    r = r_lo + 0.5 * (r_hi - r_lo) * (1.0 + u_r)
    pp, rr = np.meshgrid(phi, r, indexing="ij")
    nodes = np.column_stack([(rr * np.cos(pp)).ravel(), (rr * np.sin(pp)).ravel()])
    logw = (np.log(w_p)[:, None] + np.log(w_r)[None, :] + np.log(rr)).ravel()  # Jacobian r
    return nodes, logw


def integrate_change(
    st: _Stats, params: np.ndarray, contrast: np.ndarray, *, boundary: bool
) -> Integrated:
    """Mean and SD of each community's change under the integrated posterior (module doc)."""
    params = np.asarray(params, dtype=np.float64)
    eff = _fixed_level(st, params)
    theta = params[:3].copy()
    theta[2] = abs(theta[2])  # the model depends on theta through Lambda Lambda'
    base = _evaluate_core(eff, theta).deviance
    hess = _hessian(eff, theta)
    ev, evec = np.linalg.eigh(hess)
    pd_ = bool(np.all(ev > 0))
    cov = 2.0 * (evec / np.where(ev > 0, ev, np.inf)) @ evec.T  # of (theta_2, theta_3)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    sd = np.where(sd > 0, sd, 0.1 * np.maximum(np.abs(theta[1:3]), 0.1))
    far = not boundary and pd_ and theta[2] > NEAR * sd[1]
    if far and GRID[0] * GRID[1] * len(eff.n) > GRID_CELLS:
        nodes, logw = _gauss_hermite(theta, cov)
        method = "gauss_hermite"
    else:
        nodes, logw = _grid(eff, theta, base, sd)
        method = "grid"
    mean, var = _moments(eff, float(theta[0]), nodes, logw, base, contrast)
    return Integrated(mean=mean, sd=np.sqrt(var), method=method, n_nodes=len(nodes))


def _moments(
    st: _Stats, l00: float, nodes: np.ndarray, logw: np.ndarray, base: float, con: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The weighted mean and variance over the nodes, in chunks of at most GRID_CELLS node x
    community cells (a running log-sum-exp: the memory stays bounded)."""
    size = max(1, GRID_CELLS // max(len(st.n), 1))
    ref = -np.inf
    tot, s1, s2 = 0.0, np.zeros(len(st.n)), np.zeros(len(st.n))
    for i in range(0, len(nodes), size):  # a loop over chunks of nodes, never communities
        dev, change, pev = node_moments(st, l00, nodes[i : i + size], con)
        assert change is not None and pev is not None
        lw = logw[i : i + size] - 0.5 * (dev - base)
        lw += PRIOR_THETA3 * np.log(np.abs(nodes[i : i + size, -1]))
        new = max(ref, float(lw.max()))
        scale = np.exp(ref - new) if np.isfinite(ref) else 0.0
        w = np.exp(lw - new)
        tot = tot * scale + float(w.sum())
        s1 = s1 * scale + w @ change
        s2 = s2 * scale + w @ (pev + change * change)
        ref = new
    mean = s1 / tot
    return mean, np.maximum(s2 / tot - mean * mean, 0.0)

r"""Profiled deviance and analytic gradient of the random-slope LMM (private; see :mod:`._lmm_slope`).

Per-group 2 x 2 sufficient statistics (:class:`_Stats`), one evaluation of lme4's profiled
(RE)ML deviance with its gradient in theta (:func:`_evaluate`; the respondent level of
:mod:`._lmm_panel` on top when there is one) and the finite-difference Jacobian used for
Hessians. The formulas are in the docstring of :mod:`._lmm_slope`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from collective_efficacy._moments import group_counts, group_sums
from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._lmm import ols_shift
from collective_efficacy.multilevel._lmm_panel import Panel, panel_evaluate

_LOG2PI = float(np.log(2.0 * np.pi))


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
    # the latest evaluations by parameter vector (and their Hessian parts): the optimiser, the
    # polish, the verification and the Satterthwaite/prediction steps ask for the same points
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


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
    after = _two_waves(X, t)
    if after is not None:
        return _sufficient_two_waves(y, after, codes, g, reml)
    r0, totals = ols_shift(y, X)  # shift: sums of small residuals
    p = X.shape[1]
    n = group_counts(codes, g).astype(np.float64)
    s_t = group_sums(t, codes, g)
    # two waves (t 0/1): t * t is t, so its sums are s_t exactly
    s_tt = s_t if not np.any(t * (1.0 - t)) else group_sums(t * t, codes, g)
    zx0 = np.empty((g, p))
    zx1 = np.empty((g, p))
    for c in range(p):  # loop over fixed effects (few), never over groups
        col = X[:, c]
        if np.all(col == 1.0):  # the intercept: the same sums as n and s_t (exactly)
            zx0[:, c], zx1[:, c] = n, s_t
        elif np.array_equal(col, t):  # the slope column: s_t and s_tt
            zx0[:, c], zx1[:, c] = s_t, s_tt
        else:
            zx0[:, c] = group_sums(col, codes, g)
            zx1[:, c] = group_sums(col * t, codes, g)
    st = _Stats(
        n=n,
        st=s_t,
        stt=s_tt,
        zx0=zx0,
        zx1=zx1,
        zy0=group_sums(r0, codes, g),
        zy1=group_sums(r0 * t, codes, g),
        reml=reml,
        **totals,
    )
    return st, r0


def _two_waves(X: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """``t == 1`` when the design is ``[1, t]`` with ``t`` 0/1 (two waves, no other fixed
    effect), else None."""
    if X.shape[1] != 2 or not len(t):
        return None
    after = t == 1.0
    n_after = int(np.count_nonzero(after))
    if n_after + int(np.count_nonzero(t == 0.0)) != len(t):
        return None
    slope = X[:, 1]
    same = slope.ctypes.data == t.ctypes.data and slope.strides == t.strides  # t is X's column
    if not ((same or np.array_equal(slope, t)) and np.all(X[:, 0] == 1.0)):
        return None
    return after


def _sufficient_two_waves(
    y: np.ndarray, after: np.ndarray, codes: np.ndarray, g: int, reml: bool
) -> tuple[_Stats, np.ndarray]:
    """:func:`_sufficient` for ``X = [1, t]``, ``t`` 0/1, from per-community-and-wave counts and
    sums (two weighted passes, no row-sized design products): the OLS shift is the two wave
    means, ``Z_j'Z_j = Z_j'X_j = [[n_j, n_aj], [n_aj, n_aj]]``."""
    key = codes * 2
    key += after
    cnt = np.bincount(key, minlength=2 * g).astype(np.float64).reshape(g, 2)
    sy = np.bincount(key, weights=y, minlength=2 * g).reshape(g, 2)
    del key
    n_b, n_a = float(cnt[:, 0].sum()), float(cnt[:, 1].sum())
    mb, ma = float(sy[:, 0].sum()) / n_b, float(sy[:, 1].sum()) / n_a
    r0 = y - mb  # then the after rows less (ma - mb): one row-sized temporary, not three
    np.subtract(r0, ma - mb, out=r0, where=after)
    rb = sy[:, 0] - cnt[:, 0] * mb  # per community: sums of r0 in each wave
    ra = sy[:, 1] - cnt[:, 1] * ma
    n, s_t = cnt[:, 0] + cnt[:, 1], cnt[:, 1].copy()
    st = _Stats(
        n=n,
        st=s_t,
        stt=s_t,
        zx0=np.column_stack([n, s_t]),
        zx1=np.column_stack([s_t, s_t]),
        zy0=rb + ra,
        zy1=ra,
        xtx=np.array([[n_b + n_a, n_a], [n_a, n_a]]),
        xty=np.array([float(rb.sum() + ra.sum()), float(ra.sum())]),
        yty=float(r0 @ r0),
        shift=np.array([mb, ma - mb]),
        n_obs=len(y),
        reml=reml,
    )
    return st, r0


def _lam(theta: np.ndarray) -> np.ndarray:
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


def _evaluate(st: _Stats, params: np.ndarray) -> _Eval:
    """Profiled deviance and gradient at theta (3) or (theta, theta_respondent) with a panel."""
    params = np.asarray(params, dtype=np.float64)
    key = params.tobytes()
    out: _Eval | None = st.memo.get(key)
    if out is not None:
        return out
    if st.panel is not None:
        out = panel_evaluate(st, params, _evaluate_core)
    else:
        out = _evaluate_core(st, params)
    if len(st.memo) >= 32:
        st.memo.clear()
    st.memo[key] = out
    assert out is not None
    return out


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
    # sum_j S_j, S = C - Q C (dot products: no temporaries)
    sn, s1s, s2s = n.sum(), s1.sum(), s2.sum()
    h01 = s1s - q00 @ s1 - q01 @ s2
    h_s = np.array([[sn - q00 @ n - q01 @ s1, h01], [h01, s2s - q10 @ s1 - q11 @ s2]])
    w0 = zr0 - (q00 * zr0 + q01 * zr1)  # w = Z'V^-1 r
    w1 = zr1 - (q10 * zr0 + q11 * zr1)
    h_w = np.array([[w0 @ w0, w0 @ w1], [w0 @ w1, w1 @ w1]])
    wm0 = st.zx0 - (q00[:, None] * st.zx0 + q01[:, None] * st.zx1)  # W = Z'V^-1 X
    wm1 = st.zx1 - (q10[:, None] * st.zx0 + q11[:, None] * st.zx1)
    wa0, wa1 = wm0 @ ainv, wm1 @ ainv
    ha01 = float(np.vdot(wa0, wm1))
    h_a = np.array([[float(np.vdot(wa0, wm0)), ha01], [ha01, float(np.vdot(wa1, wm1))]])
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

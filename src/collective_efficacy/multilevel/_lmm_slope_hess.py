r"""Analytic second derivatives of the random-slope LMM (private; see :mod:`._lmm_slope`).

Without a respondent level, everything the fit needs beyond the deviance and its gradient is
analytic here, from the quantities of one evaluation (:class:`._lmm_slope_core._Eval`): the
Hessian of the profiled deviance (Newton steps and the optimum's verification), the Hessian of
lmerTest's deviance in :math:`(\theta, \sigma)` (Satterthwaite df) and the Jacobians of each
group's predicted change and prediction-error variance (Kackar-Harville term and its df). No
finite differences, so no further evaluations.

Derivation (in :math:`T = \Lambda\Lambda'`; directions :math:`E, F` symmetric)
---------------------------------------------------------------------------
Per group :math:`C_j = Z_j'Z_j`, :math:`P_j = (I + C_jT)^{-1}`, :math:`S_j = P_jC_j` (=
:math:`Z_j'V_{*j}^{-1}Z_j`), :math:`K_j = TP_j'` ... with :math:`w_j = P_jZ_j'r_j`,
:math:`W_j = P_jZ_j'X_j`, :math:`N_j = W_jA^{-1}W_j'`, :math:`G_E = \sum_j W_j'Ew_j`,
:math:`U_E = \sum_j W_j'EW_j`:

* :math:`dS_j = -S_jFS_j`, :math:`dP_j = -S_jFP_j`, :math:`dK_j = P_j'FP_j`,
  :math:`dA = -U_F`, :math:`d\hat\beta = -A^{-1}G_F`, :math:`dw_j = -S_jFw_j - W_jd\hat\beta`;
* :math:`\partial^2\sum_j\log|M_j| = -\sum_j\mathrm{tr}(S_jES_jF)`;
* :math:`\partial^2\log|A| = -\mathrm{tr}(A^{-1}U_EA^{-1}U_F) + 2\sum_j\mathrm{tr}(ES_jFN_j)`;
* :math:`\partial\mathrm{RSS} = -\sum_j w_j'Ew_j`,
  :math:`\partial^2\mathrm{RSS} = 2\sum_j w_j'ES_jFw_j - 2G_E'A^{-1}G_F`.

The profiled deviance :math:`\sum_j\log|M_j| + [\log|A|] + m\log\mathrm{RSS}` and lmerTest's
:math:`\sum_j\log|M_j| + [\log|A|] + \mathrm{RSS}/\sigma^2 + m\log\sigma^2` follow; the chain
rule through :math:`T(\theta) = \Lambda\Lambda'` gives the derivatives in lme4's theta. For the
prediction :math:`\tilde c_j = c_j'\hat\beta + (K_jZ_j'r_j)_1`:
:math:`d\tilde c_j = (P_j'Fw_j)_1 - (u_j - c_j)'d\hat\beta` and
:math:`d(K_{j,11} + (u_j-c_j)'A^{-1}(u_j-c_j)) = (P_j'FP_j)_{11} + 2(P_j'FW_j)_1A^{-1}(u_j-c_j)
+ v_j'U_Fv_j`, :math:`v_j = A^{-1}(u_j - c_j)`, :math:`u_j = (K_jZ_j'X_j)_{1\cdot}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collective_efficacy.multilevel._lmm_slope_core import _Eval, _Stats

#: the three directions of T: (0, 0), (0, 1) + (1, 0), (1, 1) as index pairs (k, l)
_PAIRS = (((0, 0),), ((0, 1), (1, 0)), ((1, 1),))
#: position of the symmetric 2 x 2 entry (k, l) in a stacked (00, 01, 11) triple
_SYM = ((0, 1), (1, 2))


@dataclass(frozen=True)
class _Parts:
    """Per-group pieces of one evaluation (see the module docstring)."""

    s: np.ndarray  # (G, 3): S_j entries 00, 01, 11
    p: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # P_j entries 00, 01, 10, 11
    w: np.ndarray  # (G, 2)
    n3: np.ndarray  # (G, 3): N_j entries
    gv: list[list[np.ndarray]]  # G_kl = sum_j W_j[k]' w_j[l]
    um: list[list[np.ndarray]]  # U_kl = sum_j W_j[k]' W_j[l]


def _parts(st: _Stats, ev: _Eval) -> _Parts:
    """:func:`_parts_of`, once per evaluation."""
    key = ("parts", id(ev))
    hit = st.memo.get(key)
    if hit is not None and hit[0] is ev:
        out: _Parts = hit[1]
        return out
    out = _parts_of(st, ev)
    st.memo[key] = (ev, out)
    return out


def _parts_of(st: _Stats, ev: _Eval) -> _Parts:
    n, s1, s2 = st.n, st.st, st.stt
    k00, k01, k11 = ev.k
    q00, q01 = n * k00 + s1 * k01, n * k01 + s1 * k11  # Q = C K, P = I - Q
    q10, q11 = s1 * k00 + s2 * k01, s1 * k01 + s2 * k11
    s = np.column_stack(
        [n - q00 * n - q01 * s1, s1 - q00 * s1 - q01 * s2, s2 - q10 * s1 - q11 * s2]
    )
    zr0, zr1 = ev.zr[:, 0], ev.zr[:, 1]
    w = np.column_stack([zr0 - (q00 * zr0 + q01 * zr1), zr1 - (q10 * zr0 + q11 * zr1)])
    wm = (ev.w0, ev.w1)
    wa0, wa1 = ev.w0 @ ev.ainv, ev.w1 @ ev.ainv
    n3 = np.column_stack(
        [np.einsum("gi,gi->g", wa0, ev.w0), np.einsum("gi,gi->g", wa0, ev.w1),
         np.einsum("gi,gi->g", wa1, ev.w1)]
    )  # fmt: skip
    gv = [[wm[k].T @ w[:, m] for m in range(2)] for k in range(2)]
    um = [[wm[k].T @ wm[m] for m in range(2)] for k in range(2)]
    return _Parts(s, (1.0 - q00, -q01, -q10, 1.0 - q11), w, n3, gv, um)


def _tau_terms(st: _Stats, ev: _Eval, pt: _Parts) -> dict[str, np.ndarray]:
    """:func:`_tau_terms_of`, once per evaluation."""
    key = ("tau", id(ev))
    hit = st.memo.get(key)
    if hit is not None and hit[0] is ev:
        out: dict[str, np.ndarray] = hit[1]
        return out
    out = _tau_terms_of(st, ev, pt)
    st.memo[key] = (ev, out)
    return out


def _tau_terms_of(st: _Stats, ev: _Eval, pt: _Parts) -> dict[str, np.ndarray]:
    """In tau = (T00, T01, T11): -sum tr(S E S F), the REML terms, d RSS and d^2 RSS."""
    s, w, n3 = pt.s, pt.w, pt.n3
    ss = s.T @ s  # sums of S_x S_y
    sn = s.T @ n3  # sums of S_x N_y
    ww = np.column_stack([w[:, 0] * w[:, 0], w[:, 0] * w[:, 1], w[:, 1] * w[:, 1]])
    sw = s.T @ ww  # sums of S_x (w w')_y
    h_s = np.zeros((3, 3))
    h_n = np.zeros((3, 3))
    h_w = np.zeros((3, 3))
    for a, pa in enumerate(_PAIRS):
        for b, pb in enumerate(_PAIRS):
            for k, l_ in pa:
                for m, n in pb:
                    lm, nk, kn = _SYM[l_][m], _SYM[n][k], _SYM[k][n]
                    h_s[a, b] += ss[lm, nk]
                    h_n[a, b] += sn[lm, nk]
                    h_w[a, b] += sw[lm, kn]
    ainv = ev.ainv
    ua = [sum(pt.um[k][l_] for k, l_ in pa) for pa in _PAIRS]
    ga = np.array([sum(pt.gv[k][l_] for k, l_ in pa) for pa in _PAIRS])  # (3, p)
    au = np.stack([ainv @ u for u in ua])
    h_a = np.einsum("aij,bji->ab", au, au)  # tr(A^-1 U_a A^-1 U_b)
    d_rss = -ww.sum(0) * np.array([1.0, 2.0, 1.0])
    d2_rss = 2.0 * h_w - 2.0 * ga @ ainv @ ga.T
    reml = 2.0 * h_n - h_a if st.reml else np.zeros((3, 3))
    return {"logdet": -h_s + reml, "d_rss": d_rss, "d2_rss": d2_rss}


def _jac_tau(theta: np.ndarray) -> np.ndarray:
    """d tau / d theta (3 x 3), tau = (T00, T01, T11), T = Lambda Lambda'."""
    t0, t1, t2 = (float(x) for x in theta[:3])
    return np.array([[2 * t0, 0.0, 0.0], [t1, t0, 0.0], [0.0, 2 * t1, 2 * t2]])


def _to_theta(h_tau: np.ndarray, g_tau: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Hessian in theta from the Hessian and gradient in tau (chain rule, second order)."""
    j = _jac_tau(theta)
    out = j.T @ h_tau @ j
    out[0, 0] += 2.0 * g_tau[0]  # d^2 T00 / d theta0^2
    out[0, 1] += g_tau[1]  # d^2 T01 / d theta0 d theta1
    out[1, 0] += g_tau[1]
    out[1, 1] += 2.0 * g_tau[2]  # d^2 T11 / d theta1^2
    out[2, 2] += 2.0 * g_tau[2]
    return out


def _g_tau(ev: _Eval, rss_weight: float, reml: bool) -> np.ndarray:
    h = ev.h_s - rss_weight * ev.h_w - (ev.h_a if reml else 0.0)
    return np.array([h[0, 0], 2.0 * h[0, 1], h[1, 1]])


def profiled_hessian(st: _Stats, ev: _Eval, theta: np.ndarray) -> np.ndarray:
    """Hessian of the profiled (RE)ML deviance in theta (3 x 3)."""
    tt = _tau_terms(st, ev, _parts(st, ev))
    mdf = st.n_obs - st.xtx.shape[0] if st.reml else st.n_obs
    rss = ev.rss
    d = tt["d_rss"]
    h_tau = tt["logdet"] + mdf * (tt["d2_rss"] / rss - np.outer(d, d) / rss**2)
    return _to_theta(h_tau, _g_tau(ev, mdf / rss, st.reml), theta)


def varpar_hessian(st: _Stats, ev: _Eval, theta: np.ndarray, sigma: float) -> np.ndarray:
    """Hessian (4 x 4) of lmerTest's deviance in (theta, sigma), beta profiled."""
    tt = _tau_terms(st, ev, _parts(st, ev))
    mdf = st.n_obs - st.xtx.shape[0] if st.reml else st.n_obs
    s2 = sigma * sigma
    out = np.empty((4, 4))
    h_tau = tt["logdet"] + tt["d2_rss"] / s2
    out[:3, :3] = _to_theta(h_tau, _g_tau(ev, 1.0 / s2, st.reml), theta)
    cross = _jac_tau(theta).T @ (-2.0 * tt["d_rss"] / (s2 * sigma))
    out[:3, 3] = cross
    out[3, :3] = cross
    out[3, 3] = 6.0 * ev.rss / (s2 * s2) - 2.0 * mdf / s2
    return out


def prediction_jacobians(
    st: _Stats, ev: _Eval, theta: np.ndarray, contrast: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per group d(c_j'beta + b_j1)/d theta and d(PEV_j / sigma^2)/d theta, each (G, 3)."""
    pt = _parts(st, ev)
    _, k01, k11 = ev.k
    ainv = ev.ainv
    uc = k01[:, None] * ev.zx0 + k11[:, None] * ev.zx1 - contrast  # u_j - c_j
    v = uc @ ainv
    p00, p01, p10, p11 = pt.p
    pcol = (p01, p11)  # P_j[k, 1]
    wm = (ev.w0, ev.w1)
    wv = [np.sum(wm[k] * v, 1) for k in range(2)]  # W_j[k] . v_j
    d_c = np.empty((len(k01), 3))
    d_p = np.empty((len(k01), 3))
    for a, pa in enumerate(_PAIRS):
        g_a = sum(pt.gv[k][l_] for k, l_ in pa)
        u_a = sum(pt.um[k][l_] for k, l_ in pa)
        d_beta = -(ainv @ g_a)
        d_c[:, a] = sum(pcol[k] * pt.w[:, l_] for k, l_ in pa) - uc @ d_beta
        d_p[:, a] = sum(pcol[k] * pcol[l_] + 2.0 * pcol[k] * wv[l_] for k, l_ in pa)
        d_p[:, a] += np.sum((v @ u_a) * v, 1)
    del p00, p10
    j = _jac_tau(theta)
    return d_c @ j, d_p @ j

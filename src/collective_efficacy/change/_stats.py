r"""Vectorised two-wave statistics for :mod:`collective_efficacy.change` (private).

Every function takes arrays of per-community summaries (one element per community) and returns
arrays, so that all communities are handled in one pass. Nothing here loops over communities.

* :func:`hedges_j` - exact small-sample correction :math:`J(\nu)`.
* :func:`nct_ci` - noncentral-t confidence limits of the noncentrality parameter, solved for all
  elements at once by a vectorised Newton iteration on :func:`scipy.special.nctdtr` with its
  analytic derivative (a noncentral-t density), and a safeguarded regula falsi (Illinois) for
  the elements where Newton does not converge.
* :func:`independent_stats` - Welch / Student t and Hedges' g with its noncentral-t CI.
* :func:`paired_stats` - paired t, d_z, d_av (RMS and mean SD), d_rm and their Hedges-corrected
  versions with CIs.
* :func:`p_adjust_array` - R's ``p.adjust``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

from collective_efficacy import _dist

__all__ = [
    "HEDGES_CORRECTIONS",
    "PAIRED_VARIANTS",
    "P_ADJUST_METHODS",
    "hedges_j",
    "independent_stats",
    "nct_ci",
    "p_adjust_array",
    "paired_stats",
]

P_ADJUST_METHODS = ("holm", "hochberg", "BH", "fdr", "BY", "bonferroni", "none")
PAIRED_VARIANTS = ("z", "av", "av_lakens", "rm")

Arr = np.ndarray


#: Hedges' small-sample correction: exact (Gamma functions) or Hedges' (1981) approximation
HEDGES_CORRECTIONS = ("exact", "approximate")


def hedges_j(df: Arr | float, correction: str = "exact") -> Arr:
    r"""Hedges' small-sample correction :math:`J(\nu)`, exact or approximate.

    ``"exact"``: :math:`J(\nu)=\Gamma(\nu/2)/(\sqrt{\nu/2}\,\Gamma((\nu-1)/2))`
    (``effectsize::hedges_g``); ``"approximate"``: :math:`J(\nu) \approx 1 - 3/(4\nu - 1)`
    (Hedges 1981; ``pingouin.compute_effsize``, ``effsize::cohen.d``). NaN for
    :math:`\nu \le 1` (no correction defined).
    """
    df = np.asarray(df, dtype=np.float64)
    out = np.full(df.shape, np.nan)
    ok = df > 1
    d = df[ok]
    if correction == "approximate":
        out[ok] = 1.0 - 3.0 / (4.0 * d - 1.0)
    else:
        out[ok] = np.exp(
            special.gammaln(d / 2) - 0.5 * np.log(d / 2) - special.gammaln((d - 1) / 2)
        )
    return out


def _solve_ncp(t: Arr, df: Arr, target: Arr) -> Arr:
    """ncp with ``P(T_{df,ncp} <= t) = target`` for every element (F is decreasing in ncp)."""
    n = t.size
    out = np.full(n, np.nan)
    ok = np.isfinite(t) & np.isfinite(df) & (df > 0)
    if not ok.any():
        return out
    tt, dd, pp = t[ok], df[ok], target[ok]

    def f(ncp: Arr, idx: Arr | slice = slice(None)) -> Arr:
        with np.errstate(all="ignore"):
            return np.asarray(special.nctdtr(dd[idx], ncp, tt[idx]), dtype=np.float64) - pp[idx]

    # bracket: start around t with the normal-approximation width, widen until the sign changes
    z = float(_dist.norm_ppf(0.999))
    w = z * np.sqrt(1.0 + tt**2 / (2.0 * dd)) + 1.0
    lo, hi = tt - w, tt + w
    flo, fhi = f(lo), f(hi)
    for _ in range(60):
        bad_lo = flo < 0  # need F(lo) >= target
        bad_hi = fhi > 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        lo = np.where(bad_lo, lo - w, lo)
        hi = np.where(bad_hi, hi + w, hi)
        w = w * 2.0
        if bad_lo.any():
            flo[bad_lo] = f(lo[bad_lo], bad_lo)
        if bad_hi.any():
            fhi[bad_hi] = f(hi[bad_hi], bad_hi)
    good = (flo >= 0) & (fhi <= 0) & np.isfinite(flo) & np.isfinite(fhi)
    # Illinois (safeguarded regula falsi) on all elements at once
    side = np.zeros(tt.size, dtype=np.int8)
    x = 0.5 * (lo + hi)
    active = good.copy()
    for _ in range(200):
        if not active.any():
            break
        a = np.flatnonzero(active)
        fl, fh = flo[a], fhi[a]
        denom = fl - fh
        with np.errstate(all="ignore"):
            xa = np.where(denom > 0, (lo[a] * (-fh) + hi[a] * fl) / denom, 0.5 * (lo[a] + hi[a]))
        # fall back to bisection when the secant point is outside the bracket
        outside = ~((xa > lo[a]) & (xa < hi[a]))
        xa = np.where(outside, 0.5 * (lo[a] + hi[a]), xa)
        fx = f(xa, a)
        x[a] = xa
        pos = fx > 0  # root is to the right
        # update bracket; Illinois halving of the retained end point
        newlo = np.where(pos, xa, lo[a])
        newhi = np.where(pos, hi[a], xa)
        newflo = np.where(pos, fx, flo[a])
        newfhi = np.where(pos, fhi[a], fx)
        s = side[a]
        newfhi = np.where(pos & (s == 1), newfhi / 2, newfhi)
        newflo = np.where(~pos & (s == -1), newflo / 2, newflo)
        side[a] = np.where(pos, 1, -1)
        lo[a], hi[a], flo[a], fhi[a] = newlo, newhi, newflo, newfhi
        width = hi[a] - lo[a]
        done = (fx == 0) | (width <= 1e-12 * np.maximum(1.0, np.abs(xa))) | (np.abs(fx) < 1e-15)
        active[a[done]] = False
    res = np.where(good, x, np.nan)
    out[ok] = res
    return out


#: Newton steps tried before an element falls back to the bracketing solver
_NEWTON_MAX = 12
#: A Newton step is the last when the error it leaves, bounded by ``_SAFETY`` times its
#: quadratic estimate, is below ``_TOL * max(1, |delta|)`` and the step itself below ``_STEP_MAX``
_TOL, _SAFETY, _STEP_MAX = 1e-14, 10.0, 1e-5


def _ncp_start(t: Arr, df: Arr, p: Arr) -> Arr:
    r"""Cornish-Fisher start for :math:`F(\delta) = P(T_{\nu,\delta} \le t) = p`.

    :math:`F(\delta) = P(W \ge \delta)` with :math:`W = t\,\chi_\nu/\sqrt\nu - Z`, so the root
    is the :math:`1-p` quantile of :math:`W`; its cumulants follow from the moments of
    :math:`X = \chi_\nu/\sqrt\nu` (:math:`E X = c`, :math:`E X^2 = 1`,
    :math:`E X^3 = c(\nu+1)/\nu`, :math:`E X^4 = (\nu+2)/\nu`,
    :math:`c = \sqrt{2/\nu}\,\Gamma((\nu+1)/2)/\Gamma(\nu/2)`), and the quantile from the
    Cornish-Fisher expansion to the fourth cumulant (Abramowitz & Stegun 26.2.49). Off by
    ~1e-10 (median) to ~1e-6 for a community's Hedges' g, so that one Newton step is the last.
    """
    c = np.sqrt(2.0 / df) * np.exp(special.gammaln((df + 1.0) / 2.0) - special.gammaln(df / 2.0))
    c2 = c * c
    k3 = c * ((df + 1.0) / df - 3.0 + 2.0 * c2)
    k4 = (df + 2.0) / df - 4.0 * c2 * (df + 1.0) / df - 3.0 + 12.0 * c2 - 6.0 * c2 * c2
    var = t * t * (1.0 - c2) + 1.0
    g1, g2 = t**3 * k3 / var**1.5, t**4 * k4 / var**2
    z = special.ndtri(1.0 - p)
    w = z + (z * z - 1.0) * g1 / 6.0 + (z**3 - 3.0 * z) * g2 / 24.0
    w -= (2.0 * z**3 - 5.0 * z) * g1 * g1 / 36.0
    return np.asarray(t * c + np.sqrt(var) * w, dtype=np.float64)


def _newton_ncp(t: Arr, df: Arr, target: Arr) -> tuple[Arr, Arr]:
    r"""Newton's method on :math:`F(\delta) = P(T_{\nu,\delta} \le t)` for every element.

    Write :math:`F = E\,\Phi(t\sqrt{V/\nu}-\delta)`, :math:`V\sim\chi^2_\nu`. The derivative is
    a noncentral-t density with one df less, :math:`F' = -D = -\sqrt{(\nu-1)/\nu}\,J(\nu)^{-1}
    f_{\nu-1}(t\sqrt{(\nu-1)/\nu};\delta)` (differentiate, and change the :math:`\chi^2_\nu`
    weight into a :math:`\chi^2_{\nu-1}` one), and the second derivative
    :math:`F'' = \delta D - t f_\nu(t;\delta)` (the density of :math:`T` is
    :math:`E[\sqrt{V/\nu}\,\phi(t\sqrt{V/\nu}-\delta)]`). Start: :func:`_ncp_start`.
    Stopping rule: Newton's error after a step :math:`h` is
    :math:`|F''(\xi)/(2F')|\,h^2` (:math:`\xi` within :math:`|h|` of the iterate), so a step
    below ``_STEP_MAX`` whose estimate, times ``_SAFETY``, is below
    ``_TOL * max(1, |delta|)`` is the last (one evaluation of :func:`scipy.special.nctdtr` for
    nearly every community). Returns the roots and a mask of the elements that converged (the
    others, df <= 1 among them, are left to :func:`_solve_ncp`).
    """
    n = t.size
    x = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    act = np.flatnonzero(np.isfinite(t) & np.isfinite(df) & (df > 1))
    if act.size == 0:
        return x, done
    tt, dd, pp = t[act], df[act], target[act]
    with np.errstate(all="ignore"):
        xs = _ncp_start(tt, dd, pp)
        shrink = np.sqrt((dd - 1.0) / dd)
        scale = shrink / hedges_j(dd)  # sqrt((df - 1) / df) / J(df)
    idx = np.arange(act.size)
    for _ in range(_NEWTON_MAX):
        ti, di = tt[idx], dd[idx]
        with np.errstate(all="ignore"):
            f = np.asarray(special.nctdtr(di, xs, ti), dtype=np.float64) - pp[idx]
            dens = _dist.nct_pdf(ti * shrink[idx], di - 1.0, xs) * scale[idx]  # -F'
            step = -f / dens
            xn = xs - step
            curv = xs * dens - ti * _dist.nct_pdf(ti, di, xs)  # F''
            err = _SAFETY * np.abs(curv / (2.0 * dens)) * step * step
        bad = ~(np.isfinite(xn) & (dens > 0))
        big = np.maximum(1.0, np.abs(xn))
        conv = ~bad & (np.abs(step) <= _STEP_MAX * big) & (err <= _TOL * big)
        x[act[idx[conv]]] = xn[conv]
        done[act[idx[conv]]] = True
        keep = ~(conv | bad)
        idx, xs = idx[keep], xn[keep]
        if idx.size == 0:
            break
    return x, done


def nct_ci(t: Arr, df: Arr, ci: float) -> tuple[Arr, Arr]:
    r"""Confidence limits of the noncentrality parameter of an observed t.

    Solves :math:`P(T_{\nu,\delta_L} \le t) = 1-\alpha/2` and
    :math:`P(T_{\nu,\delta_U} \le t) = \alpha/2` (Steiger & Fouladi 1997) for every element:
    by Newton's method with the analytic derivative (:func:`_newton_ncp`, from a
    Cornish-Fisher start: one evaluation of :func:`scipy.special.nctdtr` per limit for nearly
    every community), and for the elements where that
    does not converge by the bracketing solver :func:`_solve_ncp`. Both find the same root of
    the same monotone function (to ~1e-12).
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    df = np.broadcast_to(np.asarray(df, dtype=np.float64), t.shape).copy()
    a = 1.0 - ci
    # solve for |t| and reflect (P(T_d <= t) = 1 - P(T_-d <= -t)): the limits of -t are exactly
    # minus those of t, and scipy's nctdtr is only solved in its accurate (right) half; with
    # df = 1 and t = -9 the left half gave no limit at all
    neg = t < 0
    ta = np.abs(t)
    # both limits in one vectorised pass: the lower limit's target first, then the upper's
    t2, df2 = np.concatenate([ta, ta]), np.concatenate([df, df])
    target = np.repeat([1.0 - a / 2, a / 2], t.size)
    x, ok = _newton_ncp(t2, df2, target)
    rest = ~ok
    if rest.any():
        x[rest] = _solve_ncp(t2[rest], df2[rest], target[rest])
    lo_a, hi_a = x[: t.size], x[t.size :]
    return np.where(neg, -hi_a, lo_a), np.where(neg, -lo_a, hi_a)


def _t_test(diff: Arr, se: Arr, df: Arr, ci: float) -> dict[str, Arr]:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / se
        t = np.where(se > 0, t, np.nan)
        p = 2.0 * _dist.t_sf(np.abs(t), df)
        q = _dist.t_ppf(0.5 + ci / 2.0, df)
    return {
        "se": se,
        "t": t,
        "df": df,
        "p": p,
        "ci_low": diff - q * se,
        "ci_high": diff + q * se,
    }


def independent_stats(
    n_b: Arr,
    m_b: Arr,
    v_b: Arr,
    n_a: Arr,
    m_a: Arr,
    v_a: Arr,
    *,
    ci: float,
    equal_var: bool,
    hedges_correction: str = "exact",
) -> dict[str, Arr]:
    r"""Welch or Student t of ``after - before`` and Hedges' g (pooled SD, noncentral-t CI).

    Inputs are per-community counts, means and unbiased variances of the two waves.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = m_a - m_b
        dfp = n_a + n_b - 2.0
        sp2 = ((n_a - 1) * v_a + (n_b - 1) * v_b) / dfp
        if equal_var:
            se = np.sqrt(sp2 * (1.0 / n_a + 1.0 / n_b))
            df = dfp
        else:
            qa, qb = v_a / n_a, v_b / n_b
            se = np.sqrt(qa + qb)
            df = (qa + qb) ** 2 / (qa**2 / (n_a - 1) + qb**2 / (n_b - 1))
        out = _t_test(diff, se, df, ci)
        out["diff"] = diff
        sp = np.sqrt(sp2)
        d = np.where(sp > 0, diff / sp, np.nan)
        hn = np.sqrt(1.0 / n_a + 1.0 / n_b)
        lo, hi = nct_ci(d / hn, dfp, ci)
        j = hedges_j(dfp, hedges_correction)
        out["d"] = d
        out["g"] = j * d
        out["g_ci_low"] = j * lo * hn
        out["g_ci_high"] = j * hi * hn
        out["sd_pooled"] = sp
    return out


def paired_stats(
    n: Arr,
    m_b: Arr,
    m_a: Arr,
    v_b: Arr,
    v_a: Arr,
    v_d: Arr,
    *,
    ci: float,
    hedges_correction: str = "exact",
) -> dict[str, Any]:
    r"""Paired t and the repeated-measures standardised differences, per community.

    ``v_d`` is the variance of the differences; ``r`` follows from
    :math:`v_d = v_a + v_b - 2 r s_a s_b`.
    """
    z = float(_dist.norm_ppf(0.5 + ci / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = m_a - m_b
        sd_d = np.sqrt(v_d)
        out: dict[str, Any] = dict(_t_test(diff, sd_d / np.sqrt(n), n - 1.0, ci))
        out["diff"] = diff
        s_b, s_a = np.sqrt(v_b), np.sqrt(v_a)
        r = (v_a + v_b - v_d) / (2.0 * s_a * s_b)
        out["r"] = r
        j = hedges_j(n - 1.0, hedges_correction)
        out["J"] = j
        # d_z with noncentral-t CI
        d_z = np.where(sd_d > 0, diff / sd_d, np.nan)
        lo, hi = nct_ci(d_z * np.sqrt(n), n - 1.0, ci)
        eff: dict[str, tuple[Arr, Arr, Arr]] = {"z": (d_z, lo / np.sqrt(n), hi / np.sqrt(n))}
        se_mean = sd_d / np.sqrt(n)
        for name, s in (("av", np.sqrt((v_a + v_b) / 2.0)), ("av_lakens", (s_a + s_b) / 2.0)):
            d = np.where(s > 0, diff / s, np.nan)
            se = se_mean / s  # Algina & Keselman (2003)
            eff[name] = (d, d - z * se, d + z * se)
        d_rm = d_z * np.sqrt(2.0 * (1.0 - r))
        se_rm = np.sqrt((1.0 / n + d_z**2 / (2.0 * n)) * 2.0 * (1.0 - r))
        eff["rm"] = (d_rm, d_rm - z * se_rm, d_rm + z * se_rm)
    out["effects"] = eff
    return out


def p_adjust_array(p: Arr, method: str) -> Arr:
    """R's ``p.adjust(p, method)`` with NaN kept in place (n = number of non-NaN p).

    Written from R's definitions (``stats::p.adjust``; Holm 1979, Hochberg 1988, Benjamini &
    Hochberg 1995, Benjamini & Yekutieli 2001): with the m non-missing p-values sorted,
    Holm is ``cummax((m - i + 1) p_(i))``, Hochberg ``cummin((m - i + 1) p_(i))`` from the largest
    down, BH ``cummin(m / i p_(i))`` from the largest down, BY the same times ``sum(1/(1:m))``,
    Bonferroni ``m p``; each capped at 1. R drops NA from ``m`` the same way.

    ``statsmodels.stats.multitest.multipletests`` gives the same numbers (to 3e-16 on the R
    oracle), but its Holm branch runs ``gc.collect()`` on every call, which cost 0.1-0.7 s per
    call inside a large process (a test run, a notebook); two cumulative extrema are cheaper.
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    q = p[ok]
    m = q.size
    if method == "none":
        adj = q
    elif method == "bonferroni":
        adj = np.minimum(1.0, m * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = np.arange(m, 0, -1, dtype=np.float64)  # m - i + 1 for i = 1..m
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, np.maximum.accumulate(steps * q[order]))
    else:  # step-up methods, from the largest p down
        order = np.argsort(-q, kind="stable")
        i = np.arange(m, 0, -1, dtype=np.float64)  # rank of each p from the largest down
        if method == "hochberg":
            factor = m + 1.0 - i
        else:  # BH / fdr / BY
            factor = m / i
            if method == "BY":
                factor = factor * np.sum(1.0 / np.arange(1, m + 1))
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, np.minimum.accumulate(factor * q[order]))
    out[ok] = adj
    return out

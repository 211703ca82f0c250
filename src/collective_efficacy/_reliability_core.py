"""Vectorised engine behind :mod:`collective_efficacy.reliability` (private).

Everything here works on a stack of ``G`` groups at once: the pairwise-complete covariance
matrices of all groups are built from per-group sums and cross-products (``np.bincount`` over
the ``k(k+1)/2`` item pairs), and every statistic of psych's ``alpha.1`` is then computed on the
``(G, k, k)`` stack with batched numpy linear algebra. There is no Python loop over groups; the
loops that remain run over item pairs or items (few).

Conventions follow R ``psych::alpha`` 2.2.9 (read for behaviour, re-derived from the formulas):

* ``C`` is ``cov(x, use = "pairwise")``: each covariance uses the rows where both items are
  answered (divisor ``n_ij - 1``); each variance uses every row where the item is answered;
* ``R = cov2cor(C)`` (so a correlation divides a pairwise covariance by the available-case
  standard deviations, not by the pairwise ones);
* SMCs are ``1 - 1 / diag(pinv(R))`` with psych's ``Pinv`` tolerance ``sqrt(eps)``, clipped
  to ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "AlphaStats",
    "PairwiseMoments",
    "alpha_stats",
    "feldt_ci",
    "pairwise_moments",
    "scale_score_moments",
    "segment_sums",
]

_PINV_RTOL = float(np.sqrt(np.finfo(np.float64).eps))


@dataclass(frozen=True)
class PairwiseMoments:
    """Pairwise-complete covariance matrices of every group.

    Attributes
    ----------
    cov : ndarray (G, k, k)
        Pairwise-complete covariances (divisor ``n_ij - 1``); NaN where ``n_ij < 2``.
    n_pair : ndarray (G, k, k)
        Rows answering both items (the diagonal: rows answering the item).
    n_rows : ndarray (G,)
        Respondents with at least one answered item.
    """

    cov: np.ndarray
    n_pair: np.ndarray
    n_rows: np.ndarray


class _Segments:
    """Rows sorted by group once; per-group sums of 1-D columns by ``np.add.reduceat``."""

    def __init__(self, codes: np.ndarray, n_groups: int) -> None:
        self.n_groups = n_groups
        if len(codes) and bool(np.all(codes[1:] >= codes[:-1])):
            self.order: np.ndarray | None = None  # already sorted (e.g. data sorted by group)
            sc = codes
        else:
            self.order = np.argsort(codes, kind="stable")
            sc = codes[self.order]
        self.starts = np.flatnonzero(np.r_[True, sc[1:] != sc[:-1]]) if len(sc) else sc
        self.present = sc[self.starts] if len(sc) else sc

    def sort(self, a: np.ndarray) -> np.ndarray:
        return a if self.order is None else a[self.order]

    def sum(self, col: np.ndarray) -> np.ndarray:
        """Per-group sum of a sorted 1-D column."""
        out = np.zeros(self.n_groups)
        if len(col):
            out[self.present] = np.add.reduceat(col, self.starts)
        return out


def segment_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-group column sums of ``values`` (n, m) (one sort, one reduceat per column)."""
    seg = _Segments(codes, n_groups)
    v = seg.sort(values)
    return np.stack([seg.sum(np.ascontiguousarray(v[:, j])) for j in range(v.shape[1])], axis=1)


def pairwise_moments(x: np.ndarray, codes: np.ndarray, n_groups: int) -> PairwiseMoments:
    """Per-group pairwise-complete covariance matrices in one pass.

    Rows are sorted by group once. Items are centred on their per-group available-case means
    (for numerical accuracy: no catastrophic cancellation on 1-5 codes at national scale); then
    for every pair ``(i, j)`` the per-group count ``n_ij``, the sums of the centred values of
    ``i`` and ``j`` over the rows where both are present and the sum of their products are
    segment sums (``np.add.reduceat``) of contiguous columns. The loops run over item pairs,
    never over groups.
    """
    k = x.shape[1]
    seg = _Segments(codes, n_groups)
    xs = seg.sort(x)
    cs = seg.sort(codes)
    obs = ~np.isnan(xs)
    cols_obs = [np.ascontiguousarray(obs[:, j], dtype=np.float64) for j in range(k)]
    cols_x = [np.where(obs[:, j], xs[:, j], 0.0) for j in range(k)]
    counts = np.stack([seg.sum(c) for c in cols_obs], axis=1)
    sums = np.stack([seg.sum(c) for c in cols_x], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1.0), 0.0)
    z = [np.where(obs[:, j], cols_x[j] - means[cs, j], 0.0) for j in range(k)]
    complete = bool(obs.all())
    iu, ju = np.triu_indices(k)
    cov = np.empty((n_groups, k, k))
    n_pair = np.empty((n_groups, k, k))
    for i, j in zip(iu.tolist(), ju.tolist()):  # loop over item pairs, never over groups
        s_ij = seg.sum(z[i] * z[j])
        if complete or i == j:
            n_ij = counts[:, i]
            dev = np.zeros(n_groups)
        else:
            both = cols_obs[i] * cols_obs[j]
            n_ij = seg.sum(both)
            s_i, s_j = seg.sum(z[i] * cols_obs[j]), seg.sum(z[j] * cols_obs[i])
            with np.errstate(invalid="ignore", divide="ignore"):
                dev = np.where(n_ij > 0, s_i * s_j / np.maximum(n_ij, 1.0), 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(n_ij >= 2, (s_ij - dev) / (n_ij - 1.0), np.nan)
        cov[:, i, j] = c
        cov[:, j, i] = c
        n_pair[:, i, j] = n_ij
        n_pair[:, j, i] = n_ij
    n_rows = seg.sum(obs.any(axis=1).astype(np.float64))
    return PairwiseMoments(cov=cov, n_pair=n_pair, n_rows=n_rows)


def scale_score_moments(
    x: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group mean and sd (ddof=1) of the row mean of the answered items (psych's total)."""
    obs = ~np.isnan(x)
    n_ans = obs.sum(axis=1)
    has = n_ans > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(has, np.where(obs, x, 0.0).sum(axis=1) / np.maximum(n_ans, 1), 0.0)
    cnt = np.bincount(codes, weights=has.astype(np.float64), minlength=n_groups)
    tot = np.bincount(codes, weights=score, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1.0), np.nan)
        dev = np.where(has, score - np.nan_to_num(mean)[codes], 0.0)
        ss = np.bincount(codes, weights=dev * dev, minlength=n_groups)
        sd = np.where(cnt >= 2, np.sqrt(ss / (cnt - 1.0)), np.nan)
    return mean, sd


@dataclass(frozen=True)
class AlphaStats:
    """psych ``alpha.1`` statistics for a stack of covariance matrices (all shape (G,))."""

    alpha: np.ndarray
    std_alpha: np.ndarray
    g6: np.ndarray
    average_r: np.ndarray
    median_r: np.ndarray
    var_r: np.ndarray
    signal_noise: np.ndarray
    q: np.ndarray  # Duhachek-Hattori asymptotic variance times n
    r_drop: np.ndarray  # (G, k) item-rest correlation (covariance based)
    defined: np.ndarray  # bool: the covariance matrix was usable


def smc_stack(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations of each item with the others, as ``psych::smc``.

    psych inverts with ``Pinv`` (singular values below ``sqrt(eps)`` times the largest are
    dropped). For well-conditioned matrices that is the ordinary inverse, used here for speed;
    the pseudo-inverse is taken only for the ill-conditioned ones.
    """
    w = np.abs(np.linalg.eigvalsh(r))
    ill = w.min(axis=-1) <= _PINV_RTOL * w.max(axis=-1)
    inv = np.empty_like(r)
    if (~ill).any():
        inv[~ill] = np.linalg.inv(r[~ill])
    if ill.any():
        inv[ill] = np.linalg.pinv(r[ill], rcond=_PINV_RTOL, hermitian=True)
    d = np.diagonal(inv, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        smc = 1.0 - 1.0 / d
    return np.clip(smc, 0.0, 1.0)


def alpha_stats(cov: np.ndarray) -> AlphaStats:
    """Alpha, standardised alpha, G6, mean/median/var of r, S/N and Q for each matrix.

    A matrix with a missing entry or a non-positive variance yields NaN everywhere.
    """
    g, k, _ = cov.shape
    diag = np.diagonal(cov, axis1=1, axis2=2)
    defined = np.isfinite(cov).all(axis=(1, 2)) & (diag > 0).all(axis=1)
    eye = np.broadcast_to(np.eye(k), cov.shape)
    c = np.where(defined[:, None, None], cov, eye)
    d = np.diagonal(c, axis1=1, axis2=2)
    sd = np.sqrt(d)
    r = c / (sd[:, :, None] * sd[:, None, :])
    tr = d.sum(axis=1)
    total = c.sum(axis=(1, 2))
    sum_r = r.sum(axis=(1, 2))
    kk = float(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (1.0 - tr / total) * kk / (kk - 1.0)
        std_alpha = (1.0 - kk / sum_r) * kk / (kk - 1.0)
        smc = smc_stack(r)
        g6 = 1.0 - (kk - smc.sum(axis=1)) / sum_r
        av_r = (sum_r - kk) / (kk * (kk - 1.0))
        il, jl = np.tril_indices(k, -1)
        low = r[:, il, jl]
        med_r = np.median(low, axis=1)
        var_r = low.var(axis=1, ddof=1) if low.shape[1] > 1 else np.full(g, np.nan)
        sn = kk * av_r / (1.0 - av_r)
        cc = c @ c
        tr_cc = np.trace(cc, axis1=1, axis2=2)
        q = (2.0 * kk**2 / ((kk - 1.0) ** 2 * total**3)) * (
            total * (tr_cc + tr**2) - 2.0 * tr * cc.sum(axis=(1, 2))
        )
        rowsum = c.sum(axis=2)
        r_drop = (rowsum - d) / np.sqrt(d * (total[:, None] - 2.0 * rowsum + d))
    nan = np.where(defined, 1.0, np.nan)
    return AlphaStats(
        alpha=alpha * nan,
        std_alpha=std_alpha * nan,
        g6=g6 * nan,
        average_r=av_r * nan,
        median_r=med_r * nan,
        var_r=var_r * nan,
        signal_noise=sn * nan,
        q=q * nan,
        r_drop=r_drop * nan[:, None],
        defined=defined,
    )


def feldt_ci(alpha: np.ndarray, n: np.ndarray, k: int, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Feldt, Woodruff & Salih (1987) F-based interval, as ``psych::alpha.ci``."""
    p = 1.0 - ci
    with np.errstate(invalid="ignore"):
        df1 = np.where(n >= 2, n - 1.0, np.nan)
        df2 = df1 * (k - 1.0)
        low = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - p / 2.0, df1, df2)
        high = 1.0 - (1.0 - alpha) * stats.f.ppf(p / 2.0, df1, df2)
    return low, high

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

import itertools
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


#: rows per chunk of the moment passes: the work arrays stay O(chunk x k^2), never O(n x k^2)
_CHUNK_CELLS = 1 << 22


def _chunk_rows(k: int) -> int:
    return max(256, _CHUNK_CELLS // max(k * k, 1))


def _group_means(x: np.ndarray, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group available-case counts and means of each item (``bincount``, no sort)."""
    k = x.shape[1]
    counts = np.empty((n_groups, k))
    sums = np.empty((n_groups, k))
    for j in range(k):  # loop over items (few), never over groups
        col = x[:, j]
        ok = ~np.isnan(col)
        counts[:, j] = np.bincount(codes, weights=ok, minlength=n_groups)
        sums[:, j] = np.bincount(codes, weights=np.where(ok, col, 0.0), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1.0), 0.0)
    return counts, means


def _pooled_products(
    x: np.ndarray, means: np.ndarray, complete: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One group: ``Z'Z``, ``O'O`` and ``Z'O`` by matrix products over row chunks."""
    n, k = x.shape
    s = np.zeros((k, k))
    npair = np.zeros((k, k))
    a = np.zeros((k, k))
    n_rows = 0.0
    step = _chunk_rows(k)
    for lo in range(0, n, step):  # loop over row chunks (memory), never over groups
        xc = x[lo : lo + step]
        oc = ~np.isnan(xc)
        zc = np.where(oc, xc - means, 0.0)
        s += zc.T @ zc
        if not complete:
            of = oc.astype(np.float64)
            npair += of.T @ of
            a += zc.T @ of
        n_rows += float(np.count_nonzero(oc.any(axis=1)))
    return s[None], npair[None], a[None], n_rows


def _chunks(sorted_codes: np.ndarray, step: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Segment starts of sorted codes, and row chunks of about ``step`` rows that end on a
    segment boundary (so every group lies in one chunk)."""
    n = len(sorted_codes)
    if n == 0:
        return np.zeros(0, dtype=np.int64), []
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    cuts = np.unique(starts[np.searchsorted(starts, np.arange(0, n, step), side="left")[1:]])
    bounds = np.r_[0, cuts, n].astype(np.int64)
    return starts, [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


def _group_order(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Stable order of the rows by group: a radix sort (O(n)) when the codes fit in 16 bits."""
    if n_groups <= np.iinfo(np.uint16).max:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return np.argsort(codes, kind="stable")


def _grouped_products(
    x: np.ndarray, codes: np.ndarray, n_groups: int, means: np.ndarray, complete: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-group ``Z'Z``, ``O'O``, ``Z'O`` and answering rows: rows in group order, in chunks
    that hold whole groups, row products summed per segment (:func:`numpy.add.reduceat`)."""
    n, k = x.shape
    ordered = n < 2 or bool((codes[1:] >= codes[:-1]).all())
    order = None if ordered else _group_order(codes, n_groups)
    sc = codes if order is None else codes[order]
    starts, chunks = _chunks(sc, _chunk_rows(k))
    present = sc[starts]
    s = np.zeros((k, k, n_groups))
    npair = np.zeros((k, k, n_groups))
    a = np.zeros((k, k, n_groups))
    n_rows = np.zeros(n_groups)
    for lo, hi in chunks:  # loop over row chunks (memory), never over groups
        idx = slice(lo, hi) if order is None else order[lo:hi]
        first = np.searchsorted(starts, lo)
        seg = starts[first : np.searchsorted(starts, hi)] - lo
        gs = present[first : first + len(seg)]
        xt = np.ascontiguousarray(x[idx].T)  # (k, m): every product row is contiguous
        ot = ~np.isnan(xt)
        zt = np.where(ot, xt - means[sc[lo:hi]].T, 0.0)
        of = ot.astype(np.float64)
        for i in range(k):  # loop over items (few), never over groups
            s[i, i:, gs] = np.add.reduceat(zt[i] * zt[i:], seg, axis=1).T
            if not complete:
                npair[i, i:, gs] = np.add.reduceat(of[i] * of[i:], seg, axis=1).T
                a[i, :, gs] = np.add.reduceat(zt[i] * of, seg, axis=1).T
        n_rows[gs] = np.add.reduceat(of.max(axis=0), seg)
    iu, ju = np.triu_indices(k, 1)
    s[ju, iu] = s[iu, ju]
    npair[ju, iu] = npair[iu, ju]
    return (
        np.moveaxis(s, 2, 0),
        np.moveaxis(npair, 2, 0),
        np.moveaxis(a, 2, 0),
        n_rows,
    )


def pairwise_moments(x: np.ndarray, codes: np.ndarray, n_groups: int) -> PairwiseMoments:
    """Per-group pairwise-complete covariance matrices in one pass.

    Items are centred on their per-group available-case means (for numerical accuracy: no
    catastrophic cancellation on 1-5 codes at national scale). With ``Z`` the centred values (0
    where missing) and ``O`` the answered mask, per group ``S = Z'Z`` (sums of products),
    ``N = O'O`` (rows answering both items) and ``A = Z'O`` (the centred sum of item ``i`` over
    the rows answering ``j``); then ``cov_ij = (S_ij - A_ij A_ji / N_ij) / (N_ij - 1)``. One
    group is three matrix products; several groups are row products summed per segment. Both
    run over row chunks, so the work memory is O(chunk x k^2), never a per-pair array of n rows.
    """
    k = x.shape[1]
    complete = bool(not np.isnan(x).any())
    counts, means = _group_means(x, codes, n_groups)
    if n_groups == 1:
        s, npair, a, nr = _pooled_products(x, means[0], complete)
        n_rows = np.array([nr])
    else:
        s, npair, a, n_rows = _grouped_products(x, codes, n_groups, means, complete)
    if complete:
        n_ij = np.repeat(counts[:, :, None], k, axis=2)  # every pair: the item's rows
        dev = np.zeros_like(s)
    else:
        n_ij = npair
        with np.errstate(invalid="ignore", divide="ignore"):
            dev = np.where(n_ij > 0, a * np.swapaxes(a, 1, 2) / np.maximum(n_ij, 1.0), 0.0)
        diag = np.arange(k)
        dev[:, diag, diag] = 0.0
        n_ij[:, diag, diag] = counts
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(n_ij >= 2, (s - dev) / (n_ij - 1.0), np.nan)
    return PairwiseMoments(cov=cov, n_pair=n_ij, n_rows=n_rows)


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

    def columns(self) -> dict[str, np.ndarray]:
        """The published psych ``alpha.1`` columns, in the order every alpha table uses."""
        return {
            "alpha": self.alpha,
            "std_alpha": self.std_alpha,
            "g6": self.g6,
            "average_r": self.average_r,
            "median_r": self.median_r,
            "var_r": self.var_r,
            "signal_noise": self.signal_noise,
        }


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

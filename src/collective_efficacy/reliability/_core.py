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

from collective_efficacy import _dist
from collective_efficacy._moments import PairwiseMoments, pairwise_moments

__all__ = [
    "AlphaStats",
    "PairwiseMoments",
    "alpha_stats",
    "feldt_ci",
    "item_correlations",
    "pairwise_moments",
]

_PINV_RTOL = float(np.sqrt(np.finfo(np.float64).eps))


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


def smc_stack(r: np.ndarray, n: np.ndarray | None = None) -> np.ndarray:
    """Squared multiple correlations of each item with the others, as ``psych::smc``.

    psych inverts with ``Pinv`` (singular values below ``sqrt(eps)`` times the largest are
    dropped). For a well-conditioned matrix that is the ordinary inverse, used here; a matrix
    is certified well conditioned without an eigen-decomposition by the norm bound of
    :func:`_certified`, and only the matrices it cannot certify are decomposed (the
    pseudo-inverse is taken for the ill-conditioned ones). ``n``, the respondents behind each
    matrix, sends the matrices of at most ``k`` respondents (singular) to the decomposition
    directly.
    """
    inv = np.empty_like(r)
    small = np.zeros(len(r), bool) if n is None else np.asarray(n) <= r.shape[-1]  # a copy
    rest = np.flatnonzero(~small)
    det = np.linalg.det(r[rest])  # batched LU, no raise: an exactly singular matrix (det 0)
    lu_ok = np.isfinite(det) & (det != 0)  # goes to the decomposition, not into inv's batch
    small[rest[~lu_ok]] = True
    rest = rest[lu_ok]
    try:
        inv[rest] = np.linalg.inv(r[rest])
    except np.linalg.LinAlgError:  # pragma: no cover - LU already screened the batch
        small[rest], rest = True, rest[:0]
    todo = np.concatenate([np.flatnonzero(small), rest[~_certified(r[rest], inv[rest])]])
    if len(todo):
        sub = r[todo]
        w = np.abs(np.linalg.eigvalsh(sub))
        ill = w.min(axis=-1) <= _PINV_RTOL * w.max(axis=-1)
        part = np.empty_like(sub)
        if (~ill).any():
            part[~ill] = np.linalg.inv(sub[~ill])
        if ill.any():
            part[ill] = np.linalg.pinv(sub[ill], rcond=_PINV_RTOL, hermitian=True)
        inv[todo] = part
    d = np.diagonal(inv, axis1=-2, axis2=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(1.0 - 1.0 / d, 0.0, 1.0)


def _certified(r: np.ndarray, inv: np.ndarray) -> np.ndarray:
    r"""Which matrices of a stack of symmetric matrices are certified well conditioned.

    For a symmetric matrix the spectral norm is at most the 1-norm, so
    :math:`\sigma_{min}/\sigma_{max} \ge 1/(\|R^{-1}\|_1 \|R\|_1)`; when that bound
    exceeds psych's ``Pinv`` tolerance, ``Pinv`` is the ordinary inverse.
    """
    # column sums by einsum: several times faster than .sum(axis=-2) on a stack of small
    # matrices
    norm_r = np.einsum("gij->gj", np.abs(r)).max(axis=-1, initial=0.0)
    norm_inv = np.einsum("gij->gj", np.abs(inv)).max(axis=-1, initial=0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(1.0 / (norm_inv * norm_r) > _PINV_RTOL)


def alpha_stats(cov: np.ndarray, n: np.ndarray | None = None) -> AlphaStats:
    """Alpha, standardised alpha, G6, mean/median/var of r, S/N and Q for each matrix.

    A matrix with a missing entry or a non-positive variance yields NaN everywhere. ``n``
    (respondents per matrix, optional) only speeds up the SMCs (:func:`smc_stack`).
    """
    g, k, _ = cov.shape
    diag = np.diagonal(cov, axis1=1, axis2=2)
    defined = np.isfinite(cov.reshape(g, -1)).all(axis=1) & (diag > 0).all(axis=1)
    eye = np.broadcast_to(np.eye(k), cov.shape)
    c = np.where(defined[:, None, None], cov, eye)
    d = np.diagonal(c, axis1=1, axis2=2)
    sd = np.sqrt(d)
    r = c / (sd[:, :, None] * sd[:, None, :])
    # sums over the small axes by einsum (several times faster than .sum(axis=...) there)
    tr = np.einsum("gii->g", c)
    rowsum = np.einsum("gij->gi", c)
    total = np.einsum("gi->g", rowsum)
    sum_r = np.einsum("gij->g", r)
    kk = float(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (1.0 - tr / total) * kk / (kk - 1.0)
        std_alpha = (1.0 - kk / sum_r) * kk / (kk - 1.0)
        smc = smc_stack(r, n)
        g6 = 1.0 - (kk - np.einsum("gi->g", smc)) / sum_r
        av_r = (sum_r - kk) / (kk * (kk - 1.0))
        il, jl = np.tril_indices(k, -1)
        low = r[:, il, jl]
        med_r = _median_rows(low)
        var_r = low.var(axis=1, ddof=1) if low.shape[1] > 1 else np.full(g, np.nan)
        sn = kk * av_r / (1.0 - av_r)
        # tr(C C) and 1'C C 1 = (1'C)(C 1), without the stack of products C C
        tr_cc = np.einsum("gij,gji->g", c, c)
        sum_cc = np.einsum("gi,gi->g", np.einsum("gij->gj", c), rowsum)
        q = (2.0 * kk**2 / ((kk - 1.0) ** 2 * total**3)) * (
            total * (tr_cc + tr**2) - 2.0 * tr * sum_cc
        )
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


def _median_rows(v: np.ndarray) -> np.ndarray:
    """``np.median(v, axis=1)`` of a finite (G, m) array by one sort of the rows (the same
    middle values and mean; ``np.median``'s partition is several times slower on short
    rows)."""
    m = v.shape[1]
    if m == 0:
        return np.full(len(v), np.nan)
    s = np.sort(v, axis=1)
    mid = m // 2
    if m % 2:
        return s[:, mid].copy()
    return np.mean(s[:, mid - 1 : mid + 1], axis=1)


def item_correlations(
    c: np.ndarray, defined: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""psych's item-total correlations from one covariance matrix ``c`` (k, k): the
    correlation matrix :math:`R`, ``std.r`` :math:`\sum_j R_{ij} / \sqrt{\mathbf 1'R\mathbf 1}`
    and ``r.cor`` (the same with the SMCs on the diagonal; only for a ``defined`` matrix),
    and the diagonal of ``c``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.diag(c)
        r = c / np.sqrt(np.outer(d, d))
        r_std = r.sum(axis=0) / np.sqrt(r.sum())
        rc = r.copy()
        if defined:
            np.fill_diagonal(rc, smc_stack(r[None])[0])
        r_cor = rc.sum(axis=0) / np.sqrt(rc.sum())
    return r, r_std, r_cor, d


def feldt_ci(alpha: np.ndarray, n: np.ndarray, k: int, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Feldt, Woodruff & Salih (1987) F-based interval, as ``psych::alpha.ci``."""
    p = 1.0 - ci
    # the quantiles depend on n only: one per distinct group size (few), not per group
    n_u, inv = _distinct(np.asarray(n, dtype=np.float64))
    with np.errstate(invalid="ignore"):
        df1 = np.where(n_u >= 2, n_u - 1.0, np.nan)
        df2 = df1 * (k - 1.0)
        f_hi = _dist.f_ppf(1.0 - p / 2.0, df1, df2)[inv]
        f_lo = _dist.f_ppf(p / 2.0, df1, df2)[inv]
        low = 1.0 - (1.0 - alpha) * f_hi
        high = 1.0 - (1.0 - alpha) * f_lo
    return low, high


def _distinct(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(n, return_inverse=True)`` of group sizes; for whole numbers in a range of at
    most a few per value, by one ``bincount`` instead of a sort."""
    top = float(n.max(initial=0.0)) if len(n) else 0.0
    if not (len(n) and n.min() >= 0 and top <= 4 * len(n) + 1024 and np.all(n == np.floor(n))):
        return np.unique(n, return_inverse=True)
    idx = n.astype(np.intp)
    present = np.bincount(idx, minlength=int(top) + 1) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present).astype(np.float64), rank[idx]

r"""Whole-sample item moments shared by :func:`cronbach_alpha`, :func:`item_statistics` and
:func:`omega` (private).

One object holds every second-order statistic the three functions read from the (keyed) item
matrix: available-case means, pairwise-complete covariances (R ``cov(x, use="pairwise")``),
pairwise-complete Pearson correlations (R ``cor(x, use="pairwise")``, pandas ``DataFrame.corr``),
the moments of the scale score (the mean of a row's answered items) and each item's correlation
with that score. On a :class:`~collective_efficacy.PreparedSurvey` it is computed once and shared.

With the score :math:`t` appended as column :math:`k+1`, :math:`Z` the values minus a shift
(the means of the first row chunk; 0 where missing) and :math:`O` the answered mask, one pass
over row chunks accumulates :math:`S = Z'Z`, :math:`A = Z'O`, :math:`N = O'O`
and :math:`Q = (Z \circ Z)'O`. Over the :math:`N_{ij}` rows answering both :math:`i` and
:math:`j` the centred cross-product and sums of squares are

.. math:: C_{ij} = S_{ij} - A_{ij}A_{ji}/N_{ij},\qquad
          V_{i|j} = Q_{ij} - A_{ij}^2/N_{ij},

so :math:`\operatorname{cov}_{ij} = C_{ij}/(N_{ij}-1)` and
:math:`r_{ij} = C_{ij}/\sqrt{V_{i|j}V_{j|i}}` -- the pairwise-complete formulas. They hold for
any shift; one close to the means (the first chunk's) keeps the subtraction free of
catastrophic cancellation (the shifted-data algorithm, Chan, Golub & LeVeque 1983).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collective_efficacy._moments import (
    GroupMoments,
    PairwiseMoments,
    _chunk_rows,
    pairwise_moments,
)

__all__ = ["ItemMoments", "item_moments", "item_moments_key"]

#: rows per chunk: the work arrays stay O(chunk x k)
_CHUNK = 1 << 16


@dataclass(frozen=True)
class ItemMoments:
    """Pooled pairwise moments of ``k`` items and their scale score.

    Attributes
    ----------
    pairwise : PairwiseMoments
        Covariances (1, k, k), pair counts (1, k, k), respondents with an answer (1,) and the
        scale score's moments (``.score``). Up to one chunk of rows of
        :func:`~collective_efficacy._moments.pairwise_moments` (the per-community kernel, so a
        community's alpha has the same bits alone as among others); beyond, from the pooled
        products here.
    mean : ndarray (k,)
        Available-case item means.
    corr : ndarray (k, k)
        Pairwise-complete Pearson correlations (NaN where fewer than 2 rows or no variance).
    r_total : ndarray (k,)
        Each item's Pearson correlation with the scale score, over the rows answering it.
    """

    pairwise: PairwiseMoments
    mean: np.ndarray
    corr: np.ndarray
    r_total: np.ndarray


def _chunk_products(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Shift (k + 1,) and S, A, N, Q ((k + 1) x (k + 1)) of ``[x, score]`` about the shift,
    in one pass: per chunk one symmetric product ``W'W`` of ``W = [Z o Z, Z, O]`` (BLAS
    ``syrk``, several times faster than the rectangular product of the blocks needed)."""
    n, k = x.shape
    kk = k + 1
    g = np.zeros((3 * kk, 3 * kk))
    shift: np.ndarray | None = None
    for lo in range(0, n, _CHUNK):  # loop over row chunks (memory)
        xc = x[lo : lo + _CHUNK]
        obs = ~np.isnan(xc)
        n_ans = obs.sum(axis=1)
        some = n_ans > 0
        w = np.empty((len(xc), 3 * kk), order="F")  # columns (each contiguous): Z o Z, Z, O
        z, o = w[:, kk : 2 * kk], w[:, 2 * kk :]
        z[:, :k] = xc
        np.copyto(z[:, :k], 0.0, where=~obs)
        with np.errstate(invalid="ignore", divide="ignore"):
            z[:, k] = np.where(some, z[:, :k].sum(axis=1) / n_ans, 0.0)
        o[:, :k] = obs
        o[:, k] = some
        if shift is None:  # the first chunk's means: any centre is exact, a close one accurate
            with np.errstate(invalid="ignore", divide="ignore"):
                shift = np.nan_to_num(z.sum(axis=0) / o.sum(axis=0))
        z -= shift
        z *= o
        np.multiply(z, z, out=w[:, :kk])
        g += w.T @ w
    if shift is None:
        shift = np.zeros(kk)
    s, a = g[kk : 2 * kk, kk : 2 * kk], g[kk : 2 * kk, 2 * kk :]
    q, npair = g[:kk, 2 * kk :], g[2 * kk :, 2 * kk :]
    return shift, s, a, npair, q


def item_moments(x: np.ndarray) -> ItemMoments:
    """:class:`ItemMoments` of the item matrix ``x`` (n, k), NaN = missing.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 5.0], [4.0, 4.0]])
    >>> m = item_moments(x)
    >>> m.mean.round(4).tolist(), m.pairwise.cov[0].round(4).tolist()
    ([2.5, 3.6667], [[1.6667, 1.8333], [1.8333, 2.3333]])
    >>> float(m.corr[0, 1].round(4))
    0.7857
    """
    k = x.shape[1]
    shift, s, a, npair, q = _chunk_products(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = s - np.where(npair > 0, a * a.T / np.maximum(npair, 1.0), 0.0)
        v = q - np.where(npair > 0, a * a / np.maximum(npair, 1.0), 0.0)
        corr = np.where(npair >= 2, c / np.sqrt(v * v.T), np.nan)
        cov = np.where(npair >= 2, c / (npair - 1.0), np.nan)
        n_item = np.diag(npair).copy()
        means = shift + np.diag(a) / n_item
    d = np.diag(c)
    corr[np.diag_indices(k + 1)] = np.where((n_item >= 2) & (d > 0), 1.0, np.nan)
    score = GroupMoments(n=n_item[k:], mean=np.where(n_item[k:] > 0, means[k:], np.nan), ss=d[k:])
    if len(x) <= _chunk_rows(k):  # the per-community kernel's bits (alone == among others)
        pairwise = pairwise_moments(x, np.zeros(len(x), np.intp), 1, score=True)
    else:
        pairwise = PairwiseMoments(
            cov=cov[None, :k, :k], n_pair=npair[None, :k, :k], n_rows=n_item[k:], score=score
        )
    mean = np.where(n_item[:k] > 0, means[:k], np.nan)
    return ItemMoments(pairwise=pairwise, mean=mean, corr=corr[:k, :k], r_total=corr[k, :k])


def item_moments_key(x: np.ndarray) -> tuple[str, int]:
    """The preparation key of :func:`item_moments` of a prepared item matrix: computed once
    per preparation (``memo(data, item_moments_key(x), lambda: item_moments(x))``)."""
    return ("item_moments", id(x))

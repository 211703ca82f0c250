r"""Whole-sample item moments shared by :func:`cronbach_alpha`, :func:`item_statistics` and
:func:`omega` (private).

One object holds every second-order statistic the three functions read from the (keyed) item
matrix: available-case means, pairwise-complete covariances (R ``cov(x, use="pairwise")``),
pairwise-complete Pearson correlations (R ``cor(x, use="pairwise")``, pandas ``DataFrame.corr``),
the moments of the scale score (the mean of a row's answered items) and each item's correlation
with that score. On a :class:`~collective_efficacy.PreparedSurvey` it is computed once and shared.

With the score :math:`t` appended as column :math:`k+1`, :math:`Z` the values centred on their
available-case means (0 where missing) and :math:`O` the answered mask, two passes over row
chunks (the first for the means) accumulate :math:`S = Z'Z`, :math:`A = Z'O`, :math:`N = O'O`
and :math:`Q = (Z \circ Z)'O`. Over the :math:`N_{ij}` rows answering both :math:`i` and
:math:`j` the centred cross-product and sums of squares are

.. math:: C_{ij} = S_{ij} - A_{ij}A_{ji}/N_{ij},\qquad
          V_{i|j} = Q_{ij} - A_{ij}^2/N_{ij},

so :math:`\operatorname{cov}_{ij} = C_{ij}/(N_{ij}-1)` and
:math:`r_{ij} = C_{ij}/\sqrt{V_{i|j}V_{j|i}}` -- the pairwise-complete formulas, with every
product taken about the available-case means (no catastrophic cancellation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collective_efficacy._moments import GroupMoments, PairwiseMoments

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
        scale score's moments (``.score``).
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
    """Means (k + 1,) and S, A, N, Q ((k + 1) x (k + 1)) of ``[x, score]``, two passes."""
    n, k = x.shape
    sums, counts = np.zeros(k + 1), np.zeros(k + 1)
    chunks = [slice(lo, min(lo + _CHUNK, n)) for lo in range(0, n, _CHUNK)]
    for c in chunks:  # loop over row chunks (memory)
        y, o = _augmented(x[c])
        sums += y.sum(axis=0)
        counts += o.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, 0.0)
    s, a, npair, q = (np.zeros((k + 1, k + 1)) for _ in range(4))
    for c in chunks:  # loop over row chunks (memory)
        y, o = _augmented(x[c])
        z = np.where(o, y - means, 0.0)
        of = o.astype(np.float64)
        s += z.T @ z
        a += z.T @ of
        npair += of.T @ of
        q += (z * z).T @ of
    return means, s, a, npair, q


def _augmented(xc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chunk with its row scores appended (0 where missing) and the answered mask."""
    obs = ~np.isnan(xc)
    vals = np.where(obs, xc, 0.0)
    n_ans = obs.sum(axis=1)
    some = n_ans > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(some, vals.sum(axis=1) / n_ans, 0.0)
    return np.column_stack([vals, score]), np.column_stack([obs, some])


def item_moments(x: np.ndarray) -> ItemMoments:
    """:class:`ItemMoments` of the item matrix ``x`` (n, k), NaN = missing.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 5.0], [4.0, 4.0]])
    >>> m = item_moments(x)
    >>> m.mean.round(4).tolist(), m.pairwise.cov[0].round(4).tolist()
    ([2.5, 3.6667], [[1.6667, 2.5], [2.5, 2.3333]])
    >>> float(m.corr[0, 1].round(4))
    0.9177
    """
    k = x.shape[1]
    means, s, a, npair, q = _chunk_products(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = s - np.where(npair > 0, a * a.T / np.maximum(npair, 1.0), 0.0)
        v = q - np.where(npair > 0, a * a / np.maximum(npair, 1.0), 0.0)
        corr = np.where(npair >= 2, c / np.sqrt(v * v.T), np.nan)
        d = np.diag(s)
        c[np.diag_indices(k + 1)] = d
        cov = np.where(npair >= 2, c / (npair - 1.0), np.nan)
    n_item = np.diag(npair)
    corr[np.diag_indices(k + 1)] = np.where((n_item >= 2) & (d > 0), 1.0, np.nan)
    score = GroupMoments(n=n_item[k:], mean=np.where(n_item[k:] > 0, means[k:], np.nan), ss=d[k:])
    pairwise = PairwiseMoments(
        cov=cov[None, :k, :k], n_pair=npair[None, :k, :k], n_rows=n_item[k:], score=score
    )
    mean = np.where(n_item[:k] > 0, means[:k], np.nan)
    return ItemMoments(pairwise=pairwise, mean=mean, corr=corr[:k, :k], r_total=corr[k, :k])


def item_moments_key(x: np.ndarray) -> tuple[str, int]:
    """The preparation key of :func:`item_moments` of a prepared item matrix: computed once
    per preparation (``memo(data, item_moments_key(x), lambda: item_moments(x))``)."""
    return ("item_moments", id(x))

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
catastrophic cancellation (the shifted-data algorithm, Chan, Golub & LeVeque 1983). Where
:math:`V_{i|j}` is within rounding of 0, the data decides: a column constant over the pair's
rows gets exact zeros, so its correlation is NaN, as pandas' two-pass ``corr`` gives.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from collective_efficacy._moments import (
    GroupMoments,
    PairwiseMoments,
    _chunk_rows,
    pairwise_moments,
    single_thread_blas,
)

__all__ = ["ItemMoments", "item_moments", "item_moments_key"]

#: rows per chunk: the work arrays stay O(chunk x k) and in cache between the passes over a
#: chunk
_CHUNK = 1 << 13


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
    r"""Shift (k + 1,) and S, A, N, Q ((k + 1) x (k + 1)) of ``[x, score]`` about the shift,
    in one pass over cache-sized row chunks.

    With :math:`M = 1 - O` the missing mask (non-zero only in rows missing an answer), the
    products are split into one over all rows and one over the incomplete rows only:
    ``[Z, 1]'[Z, 1]`` (BLAS ``syrk``) gives :math:`S`, the column sums :math:`Z'1` and the row
    count :math:`n`; ``[Z, Z o Z, M]'M`` over the rows missing an answer gives the rest, as
    :math:`A = Z'1\,1' - Z'M`, :math:`Q = \operatorname{diag}(S)\,1' - (Z \circ Z)'M` and
    :math:`N = n - m_i - m_j + (M'M)_{ij}` (:math:`m = \operatorname{diag}(M'M)`, the rows
    missing each column). BLAS runs single-threaded: the products are small and a
    multi-threaded BLAS spends more time waking and synchronising threads than computing them.
    """
    n, k = x.shape
    kk = k + 1
    s1 = np.zeros((kk + 1, kk + 1))  # [Z, 1]'[Z, 1]
    sm = np.zeros((3 * kk, kk))  # [Z, Z o Z, M]'M
    shift: np.ndarray | None = None
    w = np.empty((min(n, _CHUNK), kk + 1), order="F")  # columns (each contiguous): Z, 1
    with single_thread_blas():
        for lo in range(0, n, _CHUNK):  # loop over row chunks (cache)
            xc = x[lo : lo + _CHUNK]
            w = w[: len(xc)]
            miss, n_ans = _fill(xc, w)
            if shift is None:  # the first chunk's means: any centre is exact, a close one accurate
                with np.errstate(invalid="ignore", divide="ignore"):
                    cnt = np.append(len(xc) - miss.sum(axis=0), np.count_nonzero(n_ans))
                    shift = np.nan_to_num(w[:, :kk].sum(axis=0) / cnt)
            _centre(w[:, :kk], miss, n_ans, shift)
            s1 += w.T @ w
            part = np.flatnonzero(n_ans < k)
            if len(part):
                sm += _missing_products(w[:, :kk], miss, n_ans, part)
    if shift is None:
        shift = np.zeros(kk)
    s, zsum, rows = s1[:kk, :kk], s1[:kk, kk], s1[kk, kk]
    zm, zzm, mm = sm[:kk], sm[kk : 2 * kk], sm[2 * kk :]
    m_col = np.diag(mm)
    a = zsum[:, None] - zm
    q = np.diag(s)[:, None] - zzm
    npair = rows - m_col[:, None] - m_col[None, :] + mm
    return shift, s, a, npair, q


def _fill(xc: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ``xc`` (NaN = missing) into ``w``: the values (0 where missing), the row score
    (the mean of a row's answers; 0 without any) and a column of ones; returns the missing
    mask and the answers per row."""
    k = xc.shape[1]
    miss = np.isnan(xc)
    n_ans = np.add.reduce(miss, axis=1, dtype=np.int16)  # missing per row
    np.subtract(k, n_ans, out=n_ans)
    z = w[:, :k]
    z[...] = xc
    np.copyto(z, 0.0, where=miss)
    with np.errstate(invalid="ignore", divide="ignore"):
        w[:, k] = np.where(n_ans > 0, z.sum(axis=1) / n_ans, 0.0)
    w[:, k + 1] = 1.0
    return miss, n_ans


def _centre(z: np.ndarray, miss: np.ndarray, n_ans: np.ndarray, shift: np.ndarray) -> None:
    """``z - shift`` in place, 0 again where missing (the score: in rows without an answer)."""
    z -= shift
    np.copyto(z[:, :-1], 0.0, where=miss)
    if not n_ans.all():
        np.copyto(z[:, -1], 0.0, where=n_ans == 0)


def _missing_products(
    z: np.ndarray, miss: np.ndarray, n_ans: np.ndarray, part: np.ndarray
) -> np.ndarray:
    """``[Z, Z o Z, M]'M`` over the rows ``part`` (those missing an answer), (3(k+1), k+1)."""
    kk = z.shape[1]
    u = np.empty((len(part), 3 * kk), order="F")
    for j in range(kk):  # loop over columns (few): one contiguous gather each
        z[:, j].take(part, out=u[:, j])
    np.multiply(u[:, :kk], u[:, :kk], out=u[:, kk : 2 * kk])
    mb = u[:, 2 * kk :]
    mb[:, :-1] = miss.take(part, axis=0)
    mb[:, -1] = n_ans.take(part) == 0
    return u.T @ mb


#: a column's centred sum of squares over a pair's rows below this fraction of its sum of
#: squares about the shift is checked against the data (rounding leaves about 1e-16)
_SETTLE = 1e-9


def _settle_constant(x: np.ndarray, c: np.ndarray, v: np.ndarray, q: np.ndarray) -> None:
    """Exact zeros for columns constant over a pair's rows: where the sum of squares
    ``v[i, j]`` of column ``i`` (items, then the score) over the rows answering ``i`` and ``j``
    is within rounding of 0, the data decides; if the column is constant there, ``v[i, j]``
    and the cross-products ``c[i, j] = c[j, i]`` are set to 0 (pandas' two-pass sums give
    exact zeros; the pooled sums leave rounding, which would give a correlation instead of
    NaN). Only suspect pairs are read (none in ordinary data)."""
    k = x.shape[1]
    suspect = np.argwhere(v <= _SETTLE * q)
    if not len(suspect):
        return
    for i, j in suspect:  # loop over suspect pairs (few)
        both = _answered(x, i) & _answered(x, j)
        vals = (x[:, i] if i < k else _row_scores(x))[both]
        if len(vals) and vals.min() == vals.max():
            v[i, j] = 0.0
            c[i, j] = c[j, i] = 0.0


def _answered(x: np.ndarray, i: int) -> np.ndarray:
    """Rows answering column ``i`` of ``[x, score]`` (the score: rows answering any item)."""
    if i < x.shape[1]:
        return ~np.isnan(x[:, i])
    out = np.zeros(len(x), bool)
    for j in range(x.shape[1]):  # loop over items (few)
        out |= ~np.isnan(x[:, j])
    return out


def _row_scores(x: np.ndarray) -> np.ndarray:
    """The mean of each row's answers (NaN without any), by row chunks (memory O(n))."""
    out = np.empty(len(x))
    for lo in range(0, len(x), _CHUNK):  # loop over row chunks (memory)
        xc = x[lo : lo + _CHUNK]
        answered = ~np.isnan(xc)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + _CHUNK] = np.where(answered, xc, 0.0).sum(axis=1) / answered.sum(axis=1)
    return out


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
        _settle_constant(x, c, v, q)
        vv = v * v.T  # zero (or rounding below zero) when either item is constant in the pair
        corr = np.where((npair >= 2) & (vv > 0), c / np.sqrt(np.maximum(vv, 0.0)), np.nan)
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

r"""Per-group moments: the library's one implementation of counts, sums, means, centred sums of
squares and pairwise cross-products per group (community).

Every per-community statistic (reliability, agreement, aggregation, change, the mixed models'
sufficient statistics) takes its per-group moments from here. All groups are done at once: the
group column is coded ``0..G-1`` (:mod:`collective_efficacy._groups`) and sums are
:func:`numpy.bincount` passes (or segment sums, :func:`numpy.add.reduceat`, when the rows are
already in group order). There is no Python loop over groups and no dense respondents x groups
matrix.

With :math:`n_g` the non-missing values of group :math:`g`,

.. math:: \bar y_g = \frac{1}{n_g}\sum_{i \in g} y_i,\qquad
          SS_g = \sum_{i \in g} (y_i - \bar y_g)^2,\qquad s_g^2 = \frac{SS_g}{n_g - 1},

computed in two passes (the deviations from the group mean are summed, not
:math:`\sum y^2 - n\bar y^2`), so there is no catastrophic cancellation (Chan, Golub & LeVeque
1983). Missing values (NaN) are skipped: they get weight 0 rather than being copied out.
Pairwise-complete covariance matrices (:func:`pairwise_moments`) follow R's
``cov(x, use = "pairwise")`` (each covariance over the rows answering both items).

References
----------
Chan, T. F., Golub, G. H., & LeVeque, R. J. (1983). Algorithms for computing the sample variance:
analysis and recommendations. *The American Statistician*, 37(3), 242-247.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "GroupMoments",
    "PairwiseMoments",
    "WeightedMoments",
    "column_means",
    "group_counts",
    "group_means",
    "group_moments",
    "group_sums",
    "moments_from_sums",
    "pairwise_cov_from_sums",
    "pairwise_moments",
    "single_thread_blas",
    "weighted_cov",
    "weighted_group_moments",
]


#: the threadpoolctl controller, created on first use (it scans the loaded libraries once)
_BLAS: list[Any] = []


def single_thread_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while small matrix products run (a multi-threaded BLAS spends
    more time waking and synchronising threads than computing a product of a few thousand
    rows, badly so on a busy machine); a no-op without threadpoolctl."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency
        return contextlib.nullcontext()
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def group_counts(codes: np.ndarray, n_groups: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Rows per group (int64), or rows where ``mask`` is True."""
    sel = codes if mask is None else codes[mask]
    return np.bincount(sel, minlength=n_groups).astype(np.int64, copy=False)


def group_sums(
    values: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    segments: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Per-group sums of ``values`` (one per row, no NaN).

    ``segments = (starts, present)``: the rows are in group order and group ``present[i]``
    starts at row ``starts[i]``; the sums are then contiguous segment sums
    (:func:`numpy.add.reduceat`, several times faster than a weighted ``bincount``).
    """
    if segments is None:
        return np.bincount(codes, weights=values, minlength=n_groups)
    starts, present = segments
    out = np.zeros(n_groups)
    if len(starts):
        out[present] = np.add.reduceat(values, starts)
    return out


def _count_total(
    values: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Non-missing count (float) and sum per group, and (when a value is missing) ``values``
    with NaN as 0, a fresh array the caller may reuse as its work buffer. The counts are
    integer ``bincount`` passes (the same numbers as summing weights of 1.0, without a float
    copy of the mask)."""
    miss = np.isnan(values)
    n = np.bincount(codes, minlength=n_groups)
    if not miss.any():
        return n.astype(np.float64), np.bincount(codes, weights=values, minlength=n_groups), None
    n = (n - np.bincount(codes[miss], minlength=n_groups)).astype(np.float64)
    zeroed = np.where(miss, 0.0, values)
    return n, np.bincount(codes, weights=zeroed, minlength=n_groups), zeroed


def group_means(
    values: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Non-missing count (float) and mean per group of ``values`` (NaN skipped; the mean of an
    empty group is NaN)."""
    n, total, _ = _count_total(values, codes, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return n, total / n


@dataclass(frozen=True)
class GroupMoments:
    """Count, mean and centred sum of squares of one variable per group.

    Attributes
    ----------
    n : ndarray (G,)
        Non-missing values per group (float).
    mean : ndarray (G,)
        Group means (NaN for an empty group).
    ss : ndarray (G,)
        Sum of squared deviations from the group mean.
    """

    n: np.ndarray
    mean: np.ndarray
    ss: np.ndarray

    @property
    def var(self) -> np.ndarray:
        """Unbiased variance ``ss / (n - 1)``; NaN where ``n < 2``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.n >= 2, self.ss / (self.n - 1.0), np.nan)

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation (ddof=1); NaN where ``n < 2``."""
        return np.sqrt(self.var)


def group_moments(values: np.ndarray, codes: np.ndarray, n_groups: int) -> GroupMoments:
    """Per-group count, mean and centred sum of squares of ``values`` (NaN skipped), two-pass.

    Examples
    --------
    >>> import numpy as np
    >>> m = group_moments(np.array([1.0, 2.0, np.nan, 4.0, 6.0]), np.array([0, 0, 0, 1, 1]), 2)
    >>> m.n.tolist(), m.mean.tolist(), m.ss.tolist(), m.var.tolist()
    ([2.0, 2.0], [1.5, 5.0], [0.5, 2.0], [0.5, 2.0])
    """
    n, total, buf = _count_total(values, codes, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
    # one work array, squared and NaN-zeroed in place: the same operations (bits) as
    # ``dev = values - mean[codes]; dev * dev`` with NaN -> 0, without a fresh column per step
    # (at 10M rows with missing values 0.29 s instead of 0.48 s CPU: fewer pages faulted in)
    # (the NaN-zeroed copy is not needed any more: reused)
    sq = np.empty(len(values)) if buf is None or buf.dtype != np.float64 else buf
    np.take(mean, codes, out=sq)
    with np.errstate(invalid="ignore"):
        np.subtract(values, sq, out=sq)
    np.multiply(sq, sq, out=sq)
    if buf is not None:  # missing values: weight 0
        np.copyto(sq, 0.0, where=np.isnan(sq))
    return GroupMoments(n=n, mean=mean, ss=np.bincount(codes, weights=sq, minlength=n_groups))


def moments_from_sums(n: np.ndarray, total: np.ndarray, sumsq: np.ndarray) -> GroupMoments:
    """:class:`GroupMoments` from per-group count, sum and sum of squares (one pass, mergeable:
    the sums of a :class:`~collective_efficacy.CommunitySummary`);
    ``ss = sumsq - total^2 / n`` (0 for an empty group, never below 0).

    Examples
    --------
    >>> import numpy as np
    >>> m = moments_from_sums(np.array([2.0, 2.0]), np.array([3.0, 10.0]), np.array([5.0, 52.0]))
    >>> m.mean.tolist(), m.ss.tolist()
    ([1.5, 5.0], [0.5, 2.0])
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.where(n > 0, sumsq - total * (total / np.maximum(n, 1.0)), 0.0)
        return GroupMoments(n=n, mean=total / n, ss=np.maximum(ss, 0.0))


def pairwise_cov_from_sums(n: np.ndarray, s: np.ndarray, p: np.ndarray) -> np.ndarray:
    r"""Pairwise-complete covariances from per-group sums (G, k, k): pair counts
    :math:`N_{ij}`, :math:`S_{ij}` (the sum of item i over the rows answering i and j) and
    cross-products :math:`P_{ij}`: :math:`(P_{ij} - S_{ij} S_{ji} / N_{ij}) / (N_{ij} - 1)`,
    NaN where :math:`N_{ij} < 2` -- the formula :func:`pairwise_moments` applies to its centred
    sums, here on plain (mergeable) sums."""
    st = np.swapaxes(s, 1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= 2, (p - s * st / np.maximum(n, 1.0)) / (n - 1.0), np.nan)


def column_means(x: np.ndarray, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group available-case counts and means of each column of ``x`` (G, k); an empty
    group's mean is 0 (a harmless centre)."""
    k = x.shape[1]
    counts = np.empty((n_groups, k))
    means = np.empty((n_groups, k))
    for j in range(k):  # loop over columns (few), never over groups
        counts[:, j], means[:, j] = group_means(x[:, j], codes, n_groups)
    means[counts == 0] = 0.0
    return counts, means


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
    score : GroupMoments, optional
        With ``pairwise_moments(..., score=True)``: the moments of the row score (the mean of
        a row's answered items) per group.
    """

    cov: np.ndarray
    n_pair: np.ndarray
    n_rows: np.ndarray
    score: GroupMoments | None = None


#: rows per chunk of the moment passes: the work arrays stay O(chunk x k^2), never O(n x k^2)
_CHUNK_CELLS = 1 << 22


def _chunk_rows(k: int) -> int:
    return max(256, _CHUNK_CELLS // max(k * k, 1))


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
    with single_thread_blas():
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


#: rows per cache block of the bincount passes: every pass over a block (means, products,
#: missing-data corrections) reads it from cache, so the data is streamed from memory twice in
#: all (once per sweep) instead of once per pass; at least ``8 x groups`` rows, so the per-call
#: cost of a group-length bincount stays small next to the rows summed
_BLOCK_ROWS = 1 << 16


def _blocks(n: int, n_groups: int) -> list[slice]:
    step = max(_BLOCK_ROWS, 8 * n_groups)
    return [slice(lo, min(lo + step, n)) for lo in range(0, n, step)]


def _missing_cells(miss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and items of the missing cells, item by item (one 1-D ``flatnonzero`` per
    column: several times faster than a 2-D ``nonzero``)."""
    rows = [np.flatnonzero(miss[:, j]) for j in range(miss.shape[1])]  # loop over items (few)
    items = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
    return np.concatenate(rows), items


class _MissingTerms:
    r"""Per group, the sums over the rows missing item ``j`` of the answers to (``drop_n``) and
    centred values of (``drop_z``) each item ``i``: :math:`|\{r \in M_j: i\ \text{answered}\}|`
    and :math:`\sum_{r \in M_j} z_{ri}`. A block's terms (one per missing cell and item) are
    summed by one ``bincount`` on the index ``(j, group, i)``, so the cost grows with the
    missing cells (and one output per block), not with items x groups per block; each sum runs
    over the rows in their order."""

    def __init__(self, k: int, g: int) -> None:
        self.k, self.g = k, g
        self.drop_n, self.drop_z = np.zeros(k * g * k), np.zeros(k * g * k)

    def add(self, miss: np.ndarray, cb: np.ndarray, z: np.ndarray) -> None:
        """One block: ``miss`` (m, k) the missing cells, ``z`` (k, m) the centred values."""
        rr, jj = _missing_cells(miss)
        if len(rr) == 0:
            return
        idx = (((jj * self.g + cb[rr]) * self.k)[:, None] + np.arange(self.k)).ravel()
        size = len(self.drop_n)
        self.drop_n += np.bincount(idx, weights=~miss[rr].ravel(), minlength=size)
        self.drop_z += np.bincount(idx, weights=z[:, rr].T.ravel(), minlength=size)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``drop_n``, ``drop_z`` as (k, k, G) arrays indexed ``[i, j, group]``."""
        k, g = self.k, self.g
        shape = (k, g, k)  # [j, group, i]
        return (
            self.drop_n.reshape(shape).transpose(2, 0, 1),
            self.drop_z.reshape(shape).transpose(2, 0, 1),
        )


def _first_sweep(
    x: np.ndarray, codes: np.ndarray, g: int, complete: bool, score: bool
) -> tuple[np.ndarray, ...]:
    """Per group: rows answering at least one item, answers per item (G, k), sums per
    item (G, k) and the score's sum; and the row scores (NaN: no answer). The answers are
    counted from the missing cells (one ``bincount`` per block on ``(item, group)``)."""
    k = x.shape[1]
    size, empty, s_sum = np.zeros(g), np.zeros(g), np.zeros(g)
    missing, sums = np.zeros(k * g), np.zeros((k, g))
    scores = np.empty(len(x) if score else 0)  # kept for the second sweep (one value a row)
    for b in _blocks(len(x), g):  # loop over row blocks (cache), never over groups
        cb, xb = codes[b], x[b]
        size += np.bincount(cb, minlength=g)
        n_ans: np.ndarray | int = k
        if not complete:
            miss = np.isnan(xb)
            xb = np.where(miss, 0.0, xb)
            rr, jj = _missing_cells(miss)
            missing += np.bincount(jj * g + cb[rr], minlength=k * g)
            n_ans = k - miss.sum(axis=1)
            empty += np.bincount(cb[n_ans == 0], minlength=g)
        for i in range(k):  # loop over items (few)
            sums[i] += np.bincount(cb, weights=xb[:, i], minlength=g)
        if score:
            with np.errstate(invalid="ignore", divide="ignore"):
                sc = xb.sum(axis=1) / n_ans  # NaN where no answer
            s_sum += np.bincount(cb, weights=np.where(n_ans > 0, sc, 0.0), minlength=g)
            scores[b] = sc
    counts = size - missing.reshape(k, g)
    return size - empty, counts.T, sums.T, s_sum, scores


def _grouped_products(
    x: np.ndarray, codes: np.ndarray, n_groups: int, complete: bool, score: bool = False
) -> tuple[np.ndarray, ...]:
    r"""Per-group ``Z'Z``, ``O'O``, ``Z'O``, answering rows and item counts by ``bincount``
    (and, with ``score``, the count, mean and centred sum of squares of the row scores).

    Two sweeps over row blocks that stay in cache: the first sums the answers per group (the
    available-case means), the second the products of the centred values ``Z`` (0 where
    missing). ``O'O`` and ``Z'O`` need only the rows with a missing answer: with :math:`M_j`
    the rows missing item ``j``, :math:`(O'O)_{ij} = n_i - |\{r \in M_j: i\ \text{answered}\}|`
    and :math:`(Z'O)_{ij} = \sum_r z_{ri} - \sum_{r \in M_j} z_{ri} = -\sum_{r \in M_j} z_{ri}`
    (the centred values sum to 0; :class:`_MissingTerms`), so the cost of missing data grows
    with the number of missing cells. Every sum runs over the rows in their order,
    block by block, so a group's sums do not depend on the other groups (the same bits alone,
    for data of up to one block).
    """
    n, k = x.shape
    g = n_groups
    codes = np.asarray(codes, dtype=np.intp)
    n_rows, counts, sums, s_sum, scores = _first_sweep(x, codes, g, complete, score)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.ascontiguousarray(np.where(counts > 0, sums / counts, 0.0).T)  # (k, G)
        s_mean = np.where(n_rows > 0, s_sum / n_rows, np.nan)
    s_centre = np.nan_to_num(s_mean)
    s = np.zeros((k, k, g))
    terms = _MissingTerms(k, g)
    s_ss = np.zeros(g)
    iu, ju = np.triu_indices(k)
    for b in _blocks(n, g):  # loop over row blocks (cache), never over groups
        cb, xb = codes[b], x[b]
        z = np.empty((k, len(cb)))
        for i in range(k):  # loop over items (few)
            np.subtract(xb[:, i], means[i].take(cb), out=z[i])
        if not complete:
            miss = np.isnan(xb)
            np.copyto(z, 0.0, where=miss.T)
        for i, j in zip(iu.tolist(), ju.tolist()):  # loop over item pairs (few)
            s[i, j] += np.bincount(cb, weights=z[i] * z[j], minlength=g)
        if not complete:
            terms.add(miss, cb, z)
        if score:
            sc = scores[b]
            dev = np.where(np.isnan(sc), 0.0, sc - s_centre.take(cb))
            s_ss += np.bincount(cb, weights=dev * dev, minlength=g)
    s[ju, iu] = s[iu, ju]
    s = np.moveaxis(s, 2, 0)
    npair = np.repeat(counts[:, :, None], k, axis=2)
    a = np.zeros((g, k, k))
    if not complete:
        drop_n, drop_z = terms.result()
        off = ~np.eye(k, dtype=bool)
        npair[:, off] = (counts.T[:, None, :] - drop_n)[off].T
        a[:, off] = -drop_z[off].T  # sum_r z_ri = 0 (centred on the available-case mean)
    out: tuple[np.ndarray, ...] = (s, npair, a, n_rows, counts)
    return (*out, n_rows, s_mean, s_ss) if score else out


def pairwise_moments(
    x: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    score: bool = False,
    sizes: np.ndarray | None = None,
    value_range: tuple[float, float] | None = None,
) -> PairwiseMoments:
    """Per-group pairwise-complete covariance matrices in one pass.

    Items are centred on their per-group available-case means (for numerical accuracy: no
    catastrophic cancellation on 1-5 codes at national scale). With ``Z`` the centred values (0
    where missing) and ``O`` the answered mask, per group ``S = Z'Z`` (sums of products),
    ``N = O'O`` (rows answering both items) and ``A = Z'O`` (the centred sum of item ``i`` over
    the rows answering ``j``); then ``cov_ij = (S_ij - A_ij A_ji / N_ij) / (N_ij - 1)``. One
    group larger than a chunk is three matrix products; otherwise the sums are ``bincount``
    passes over cache-sized row blocks (:func:`_grouped_products`), and the sums of a group do
    not depend on the other groups (a group's matrix has the same bits alone as among others,
    for data up to one block, ``2**16`` rows; beyond, the sums are accumulated per block). Both
    run over row chunks, so the work memory is O(chunk x k^2), never a per-pair array of n rows.
    ``score=True`` also returns the per-group moments of the row score (the mean of a row's
    answered items; :attr:`PairwiseMoments.score`), from the same two sweeps.

    When every answer is a whole number in a small range (Likert codes, also reverse keyed),
    the sums are computed exactly with integer arithmetic packed into fewer ``bincount``
    passes instead (:func:`collective_efficacy._moments_int.integer_pairwise_moments`; same
    results, to rounding). ``sizes`` (rows per group, int) and ``value_range`` (the smallest
    and largest non-missing value of ``x``, as ``np.fmin.reduce``/``np.fmax.reduce`` give
    them) are optional: a caller that already has them saves that pass.
    """
    if not (n_groups == 1 and len(x) > _chunk_rows(x.shape[1]) and not score):
        from collective_efficacy._moments_int import integer_pairwise_moments

        exact = integer_pairwise_moments(
            x, codes, n_groups, score=score, sizes=sizes, value_range=value_range
        )
        if exact is not None:
            return exact
    k = x.shape[1]
    complete = bool(not np.isnan(x).any())
    score_moments = None
    if n_groups == 1 and len(x) > _chunk_rows(k) and not score:  # one large group: products
        counts, means = column_means(x, codes, n_groups)
        s, npair, a, nr = _pooled_products(x, means[0], complete)
        n_rows = np.array([nr])
    else:
        s, npair, a, n_rows, counts, *extra = _grouped_products(x, codes, n_groups, complete, score)
        if score:
            score_moments = GroupMoments(n=extra[0], mean=extra[1], ss=extra[2])
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
    return PairwiseMoments(cov=cov, n_pair=n_ij, n_rows=n_rows, score=score_moments)


@dataclass(frozen=True)
class WeightedMoments:
    """Survey-weighted moments of one variable per group (missing values: weight 0).

    Attributes
    ----------
    n : ndarray of int64 (G,)
        Non-missing values per group (unweighted).
    wsum, w2 : ndarray (G,)
        Sums of the weights and of the squared weights of those values.
    mean : ndarray (G,)
        Weighted means :math:`\\sum w y / \\sum w` (NaN for an empty group).
    ss : ndarray (G,)
        Weighted centred sums of squares :math:`\\sum w (y - \\bar y_w)^2`.
    dev : ndarray (n,)
        Each row's deviation from its group's weighted mean (0 where missing).
    """

    n: np.ndarray
    wsum: np.ndarray
    w2: np.ndarray
    mean: np.ndarray
    ss: np.ndarray
    dev: np.ndarray


def weighted_group_moments(
    values: np.ndarray, weights: np.ndarray, codes: np.ndarray, n_groups: int
) -> WeightedMoments:
    """Per-group weighted count, sums of weights, mean and centred sum of squares (two-pass)."""
    ok = ~np.isnan(values)
    wv = np.where(ok, weights, 0.0)
    yv = np.where(ok, values, 0.0)
    n = np.bincount(codes, weights=ok, minlength=n_groups).astype(np.int64)
    wsum = np.bincount(codes, weights=wv, minlength=n_groups)
    w2 = np.bincount(codes, weights=wv * wv, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=wv * yv, minlength=n_groups) / wsum
        dev = np.where(ok, yv - mean[codes], 0.0)
        ss = np.bincount(codes, weights=wv * dev * dev, minlength=n_groups)
    return WeightedMoments(n=n, wsum=wsum, w2=w2, mean=mean, ss=ss, dev=dev)


def weighted_cov(
    x: np.ndarray, w: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group ``cov.wt(x, wt)`` (unbiased): :math:`\\sum\\tilde w (x-\\bar x)(x-\\bar x)'
    / (1-\\sum\\tilde w^2)` with :math:`\\tilde w = w/\\sum w`; complete rows only.

    Returns the (G, k, k) covariances, (G, k) weighted means and (G,) sums of weights.
    """
    k = x.shape[1]
    wsum = np.bincount(codes, weights=w, minlength=n_groups)
    w2 = np.bincount(codes, weights=w * w, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (
            np.stack(
                [np.bincount(codes, weights=w * x[:, j], minlength=n_groups) for j in range(k)], 1
            )
            / wsum[:, None]
        )
        dev = x - mean[codes]
        denom = wsum - w2 / wsum
        cov = np.empty((n_groups, k, k))
        for a in range(k):  # loop over item pairs (few), never over communities
            for b in range(a, k):
                c = np.bincount(codes, weights=w * dev[:, a] * dev[:, b], minlength=n_groups)
                cov[:, a, b] = cov[:, b, a] = c / denom
    return cov, mean, wsum

r"""Vectorised per-community bootstrap of a change in means (private).

The statistic is :math:`\hat\theta_j = \bar y_{a,j} - \bar y_{b,j}` (independent waves, each wave
resampled within the community: a stratified bootstrap) or :math:`\bar d_j` (paired: pairs
resampled within the community).

How all communities are resampled at once
-----------------------------------------
A bootstrap mean of a cell (community x wave) of size :math:`n` is
:math:`\bar y^*_b = \frac1n \sum_i C_{bi} y_i` with multinomial counts :math:`C_{b\cdot} \sim
\mathrm{Mult}(n, 1/n)` (equivalently: n indices drawn with replacement). For every distinct cell
size :math:`n` one count matrix :math:`C^{(n)}` (``n_boot x n``) is drawn and applied to *every*
cell of that size with one matrix product :math:`Y^{(n)} C^{(n)\top}` (cells x n_boot). The work
is one BLAS product per distinct size - the number of distinct sizes is bounded by the largest
community, not by the number of communities - and there is no Python loop over communities.

Random numbers: each stream (0 = baseline wave, 1 = end-of-cycle wave, 2 = paired differences)
draws one matrix ``R`` of 32-bit integers (rows = draw j, columns = resample b) from
``SeedSequence(seed, spawn_key=(stream,))``; a cell of size n <= 512 uses the indices
:math:`\lfloor n R_{jb} / 2^{32} \rfloor`, j < n (the multiply-shift map: each index has
probability 1/n to within :math:`2^{-32}`). The index is computed exactly in float64 as
:math:`\lfloor n V_{jb} \rfloor - n b'` with :math:`V_{jb} = b' + R_{jb} 2^{-32}` and
:math:`b' = b \bmod 2048` (43 bits; times n <= 512 still below :math:`2^{53}`), and
:math:`\lfloor n V_{jb} \rfloor` is directly the position of the draw in the flat count matrix
of its pass of 2,048 resamples - one multiply, then one unbuffered ``np.add.at``. Larger cells
use their own stream ``spawn_key=(stream, n)``, in blocks of resamples. Within a community the
two waves use independent streams, so each community's bootstrap distribution is that of the
ordinary (stratified) nonparametric bootstrap. Different communities share random numbers
("common random numbers"): this leaves every community's own CI an ordinary bootstrap CI but
makes the resamples of different communities dependent, so do not combine bootstrap
distributions across communities. Row j of ``R`` does not depend on how many rows are drawn, so
a community's result depends only on the seed, its own data and its own sizes: it equals the
result of bootstrapping it alone.

Arithmetic: for the percentile method the products are float32 BLAS products, whose last bits
can depend on how many cells share a size (the limits then agree with bootstrapping the
community alone to about 1e-7 of the bootstrap SE). BCa's bias correction counts the replicates
*equal* to the estimate - a jump, which last-bit noise can flip - so for BCa each cell's centred
values are first rounded to a power-of-two grid (relative rounding about 1e-13) on which float64
products with integer counts are exact in any summation order: the replicates, and so the
limits, are bit-identical to bootstrapping the community alone.

CIs: percentile, and BCa (Efron 1987) with :math:`\hat z_0 = \Phi^{-1}(\#\{\theta^*<\hat\theta\}
/2B + \#\{\theta^*\le\hat\theta\}/2B)` and the jackknife acceleration, which for a difference of
means is analytic: :math:`\hat a = \frac{\sum_i U_{ai}^3/n_a^3 - \sum_i U_{bi}^3/n_b^3}
{6(\sum_i U_{ai}^2/n_a^2 + \sum_i U_{bi}^2/n_b^2)^{3/2}}` with :math:`U_{wi} = y_{wi} - \bar
y_w` - the formula of ``scipy.stats.bootstrap(method="BCa")`` for several samples. Quantiles are
interpolated linearly (``numpy.quantile`` default), as in SciPy. Each row is sorted once
(float32); the two counts of :math:`\hat z_0` are found by bisection of the sorted rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import special

from collective_efficacy._moments import group_means
from collective_efficacy._moments import single_thread_blas as _single_thread_blas

__all__ = ["bootstrap_interval", "bootstrap_means"]

_BLOCK = 2_000_000  # max draws held in memory at once per size class
_SHARED = 512  # cell sizes up to this use one shared matrix of random integers per stream
_WIDTH = 2048  # resamples per pass, shared sizes (512 x 2048 x 2^32 = 2^52: the floor is exact)
_FAST_ADD_AT = tuple(int(x) for x in np.__version__.split(".")[:2]) >= (1, 25)


def bootstrap_means(
    values: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    n_boot: int,
    entropy: int,
    stream: int,
    out: np.ndarray,
    sign: float,
    include: np.ndarray,
    accumulate: bool = True,
    tick: Callable[[int], object] | None = None,
    exact: bool = False,
) -> None:
    r"""Put ``sign`` x the *centred* bootstrap means of every included group into ``out``.

    Row j of ``out`` (G x n_boot, float32) receives :math:`\pm(\bar y^*_{jb} - \bar y_j)`:
    added with ``accumulate``, else overwritten. The replicates are centred on the sample mean,
    so float32 storage keeps a precision of about 1e-7 of the bootstrap SE (far below the
    Monte Carlo error). ``values`` must be free of NaN. Groups with ``include == False`` or no
    values are skipped. ``tick(k)`` (e.g. a progress bar's ``update``) is called after each size
    class with its number of groups ``k``.

    With ``exact`` the values are first rounded to a grid on which the float64 products are
    exact (:func:`_exact_grid`): the replicates are then bit-identical however the groups are
    batched (BCa needs this: its bias correction counts replicates *equal* to the estimate).
    Otherwise the products are float32 BLAS products, whose last bits depend on the batch.
    """
    n_f, mean = group_means(values, codes, n_groups)
    counts = n_f.astype(np.int64)
    vq, starts = _centred_sorted(values, codes, mean, counts, sign=sign, exact=exact)
    dtype = vq.dtype
    use = include & (counts > 0)
    sizes = counts[use]
    groups_all = np.flatnonzero(use)
    by_size = np.argsort(sizes, kind="stable")
    bounds = np.flatnonzero(np.diff(sizes[by_size])) + 1
    small = sizes[sizes <= _SHARED]
    pool = _SharedDraws(small, n_boot, entropy, stream, dtype)
    draws = np.arange(int(sizes.max()) if sizes.size else 0)
    store = _store_add if accumulate else _store_set
    with _single_thread_blas():
        # loop over distinct cell sizes, never over communities
        for chunk in np.split(by_size, bounds):
            if chunk.size == 0:
                continue
            n = int(sizes[chunk[0]])
            groups = groups_all[chunk]
            ymat = vq[starts[groups][:, None] + draws[:n]]  # (k, n)
            if n <= _SHARED:
                pool.resample(ymat, out, groups, store, exact=exact)
            else:  # large community: own stream, in blocks of resamples
                rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream, n)))
                _resample_large(ymat, out, groups, store, n_boot=n_boot, rng=rng)
            if tick is not None:
                tick(groups.size)


def _store_add(out: np.ndarray, groups: np.ndarray, b0: int, means: np.ndarray) -> None:
    out[groups, b0 : b0 + means.shape[1]] += means


def _store_set(out: np.ndarray, groups: np.ndarray, b0: int, means: np.ndarray) -> None:
    out[groups, b0 : b0 + means.shape[1]] = means


_Store = Callable[[np.ndarray, np.ndarray, int, np.ndarray], None]


def _centred_sorted(
    values: np.ndarray,
    codes: np.ndarray,
    mean: np.ndarray,
    counts: np.ndarray,
    *,
    sign: float,
    exact: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Every value centred on its group mean and scaled by ``sign / n``, in group order.

    With ``exact`` rounded to a grid on which every bootstrap sum is exact (see
    :func:`_exact_grid`, float64), else float32. Also returns each group's first position.
    """
    order = np.argsort(codes, kind="stable")
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = sign / counts
    c_sorted = codes[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    centred = (values[order] - mean[c_sorted]) * scale[c_sorted]
    if exact:
        return _exact_grid(centred, counts, starts, c_sorted), starts
    return centred.astype(np.float32), starts


class _SharedDraws:
    """The 32-bit integers shared by the cell sizes <= ``_SHARED``, and reused work buffers.

    Row j holds draw j of every resample; row j does not depend on how many rows are drawn, so
    a community's draws depend only on its size. ``V_jb = (b mod _WIDTH) + R_jb / 2^32`` is
    exact in float64 (43 bits); for n <= 512 the product n V_jb is exact too (<= 52 bits), so
    ``floor(n V_jb) = n (b mod _WIDTH) + floor(n R_jb / 2^32)``: the drawn index and its flat
    position in the count matrix of the pass, in one multiply.
    """

    def __init__(
        self, small: np.ndarray, n_boot: int, entropy: int, stream: int, dtype: Any
    ) -> None:
        n_shared = int(small.max()) if small.size else 0
        base = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))
        self.vmat = base.integers(0, 1 << 32, size=(n_shared, n_boot), dtype=np.uint32) * 2.0**-32
        self.vmat += np.arange(n_boot, dtype=np.int64) % _WIDTH
        self.n_boot = n_boot
        # work buffers reused by every size class: allocating (and page-faulting) fresh arrays
        # of n x n_boot elements per class costs more than the arithmetic on a busy machine
        self.width = width = min(n_boot, _WIDTH)
        k_max = int(np.bincount(small).max()) if small.size else 0
        self.ibuf = np.empty(n_shared * width, dtype=np.int64)
        self.fbuf = np.empty(n_shared * width, dtype=dtype)
        self.mbuf = np.empty(k_max * width, dtype=dtype)
        self.mbuf32 = np.empty(k_max * width if dtype == np.float64 else 0, dtype=np.float32)

    def resample(
        self, ymat: np.ndarray, out: np.ndarray, groups: np.ndarray, store: _Store, *, exact: bool
    ) -> None:
        """Bootstrap means of the cells ``ymat`` (k x n), passes of ``width`` resamples."""
        n = ymat.shape[1]
        for b0 in range(0, self.n_boot, self.width):
            m = min(self.width, self.n_boot - b0)
            # index layout (n, m): row j = draw j of each resample
            idx = self.ibuf[: n * m].reshape(n, m)
            np.multiply(self.vmat[:n, b0 : b0 + m], n, out=idx, casting="unsafe")  # floor
            cmat = _counts(self.ibuf[: n * m], self.fbuf[: n * m]).reshape(m, n)  # C[b - b0, i]
            means = np.matmul(ymat, cmat.T, out=self.mbuf[: groups.size * m].reshape(-1, m))
            if exact:  # exact sums, rounded once to float32
                m32 = self.mbuf32[: means.size].reshape(means.shape)
                np.copyto(m32, means, casting="same_kind")
                means = m32
            store(out, groups, b0, means)


def _resample_large(
    ymat: np.ndarray,
    out: np.ndarray,
    groups: np.ndarray,
    store: _Store,
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> None:
    """Bootstrap means of cells of one size above ``_SHARED``, in blocks of resamples."""
    n = ymat.shape[1]
    block = max(1, _BLOCK // n)
    for b0 in range(0, n_boot, block):
        m = min(block, n_boot - b0)
        bidx = rng.integers(0, n, size=(m, n))
        bidx += (np.arange(m) * n)[:, None]
        bmat = np.bincount(bidx.ravel(), minlength=m * n).reshape(m, n)
        store(out, groups, b0, (ymat @ bmat.T.astype(ymat.dtype)).astype(np.float32))


def _exact_grid(
    v: np.ndarray, counts: np.ndarray, starts: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Round each group's values to a power-of-two grid on which bootstrap sums are exact.

    For a group of n values, let L = bits of n - 1 (so n <= 2^L) and pick the grid 2^-s with
    max|v| 2^s < 2^(52-L); then every sum of n grid values with integer weights summing to
    n is an integer multiple of 2^-s below 2^52 of them: float64 computes it exactly in any
    order. The BLAS product then gives the same bits however the cells are batched, so a
    community's replicates do not depend on the other communities. The rounding is below
    2^-(51-L) of the largest |value| of the group (about 1e-13 relative).
    """
    nonempty = counts > 0
    top = np.zeros(counts.size)
    if v.size:
        top[nonempty] = np.maximum.reduceat(np.abs(v), starts[nonempty])
    bits = np.frexp(np.maximum(counts - 1, 0).astype(np.float64))[1]  # 2^bits >= n
    exp = np.frexp(top)[1]  # top < 2^exp
    shift = (52 - bits - exp)[codes]
    return np.ldexp(np.rint(np.ldexp(v, shift)), -shift)


def _counts(idx: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[i]`` = number of ``idx == i`` (float, exact: counts are small integers)."""
    if _FAST_ADD_AT:
        out.fill(0.0)
        np.add.at(out, idx, out.dtype.type(1.0))  # numpy >= 1.25: faster than bincount + cast
    else:  # pragma: no cover - old numpy, where ufunc.at is slow
        np.copyto(out, np.bincount(idx, minlength=out.size), casting="unsafe")
    return out


def _quantile_rows(sorted_rows: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Linear-interpolated quantile of each (sorted) row at its own probability ``p``."""
    b = sorted_rows.shape[1]
    nan = ~np.isfinite(p)
    h = (b - 1) * np.clip(np.where(nan, 0.0, p), 0.0, 1.0)
    lo = np.floor(h).astype(np.int64)
    hi = np.minimum(lo + 1, b - 1)
    rows = np.arange(sorted_rows.shape[0])
    vlo = sorted_rows[rows, lo].astype(np.float64)
    vhi = sorted_rows[rows, hi]
    res = vlo + (h - lo) * (vhi.astype(np.float64) - vlo)
    return np.where(nan, np.nan, res)


def bootstrap_interval(
    centred: np.ndarray,
    *,
    ci: float,
    method: str,
    accel: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile or BCa limits, relative to the estimate, per row of ``centred``.

    ``centred`` holds the bootstrap replicates minus the estimate (one row per community); it
    is sorted in place. Add the estimate to the returned limits.
    """
    alpha = (1.0 - ci) / 2.0
    g, b = centred.shape
    centred.sort(axis=1)
    if method == "percentile":
        p_lo = np.full(g, alpha)
        p_hi = np.full(g, 1.0 - alpha)
    else:
        if accel is None:
            raise ValueError("BCa needs the acceleration")
        # rows are sorted: #{< 0} and #{<= 0} by binary search, not by a pass over every row
        below = _count_below_zero(centred, strict=True) + _count_below_zero(centred, strict=False)
        z0 = special.ndtri(below / (2.0 * b))
        za = special.ndtri(alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            n1 = z0 + za
            p_lo = special.ndtr(z0 + n1 / (1 - accel * n1))
            n2 = z0 - za
            p_hi = special.ndtr(z0 + n2 / (1 - accel * n2))
    return _quantile_rows(centred, p_lo), _quantile_rows(centred, p_hi)


def _count_below_zero(sorted_rows: np.ndarray, *, strict: bool) -> np.ndarray:
    """Per sorted row, the number of entries < 0 (``strict``) or <= 0: a vectorised bisection."""
    g, b = sorted_rows.shape
    rows = np.arange(g)
    lo = np.zeros(g, dtype=np.int64)  # invariant: entries before lo are below, from hi on not
    hi = np.full(g, b, dtype=np.int64)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        val = sorted_rows[rows, np.minimum(mid, b - 1)]
        below = (val < 0) if strict else (val <= 0)
        lo = np.where(active & below, mid + 1, lo)
        hi = np.where(active & ~below, mid, hi)

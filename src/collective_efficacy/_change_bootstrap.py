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
draws one matrix of uniforms ``U`` (rows = draw j, columns = resample b) from
``SeedSequence(seed, spawn_key=(stream,))``; a cell of size n <= 512 uses the indices
:math:`\lfloor n U_{jb} \rfloor`, j < n. Larger cells use their own stream
``spawn_key=(stream, n)``, in blocks of resamples. Within a community the two waves use
independent streams, so each community's bootstrap distribution is exactly that of the ordinary
(stratified) nonparametric bootstrap. Different communities share random numbers ("common random
numbers"): this leaves every community's own CI an ordinary bootstrap CI but makes the resamples
of different communities dependent, so do not combine bootstrap distributions across
communities. Row j of ``U`` does not depend on how many rows are drawn, so a community's result
depends only on the seed, its own data and its own sizes: it equals the result of bootstrapping
it alone.

CIs: percentile, and BCa (Efron 1987) with :math:`\hat z_0 = \Phi^{-1}(\#\{\theta^*<\hat\theta\}
/2B + \#\{\theta^*\le\hat\theta\}/2B)` and the jackknife acceleration, which for a difference of
means is analytic: :math:`\hat a = \frac{\sum_i U_{ai}^3/n_a^3 - \sum_i U_{bi}^3/n_b^3}
{6(\sum_i U_{ai}^2/n_a^2 + \sum_i U_{bi}^2/n_b^2)^{3/2}}` with :math:`U_{wi} = y_{wi} - \bar
y_w` - the formula of ``scipy.stats.bootstrap(method="BCa")`` for several samples. Quantiles are
interpolated linearly (``numpy.quantile`` default), as in SciPy.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from scipy import special

__all__ = ["bootstrap_interval", "bootstrap_means"]

_BLOCK = 2_000_000  # max draws held in memory at once per size class
_SHARED = 512  # cell sizes up to this use one shared matrix of uniforms per stream


_CONTROLLER: list[Any] = []  # lazily created threadpoolctl.ThreadpoolController (scan once)


def _single_thread_blas() -> contextlib.AbstractContextManager[Any]:
    """Limit BLAS to one thread while the many small products run, when threadpoolctl exists.

    The products are small (cells x n times n x n_boot); a multi-threaded BLAS spends more
    time starting and synchronising threads than computing them, badly so on a busy machine.
    """
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - optional
        return contextlib.nullcontext()
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


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
) -> None:
    r"""Put ``sign`` x the *centred* bootstrap means of every included group into ``out``.

    Row j of ``out`` (G x n_boot, float32) receives :math:`\pm(\bar y^*_{jb} - \bar y_j)`:
    added with ``accumulate``, else overwritten. The replicates are centred on the sample mean,
    so float32 storage keeps a precision of about 1e-7 of the bootstrap SE (far below the
    Monte Carlo error). ``values`` must be free of NaN. Groups with ``include == False`` or no
    values are skipped.
    """
    order = np.argsort(codes, kind="stable")
    v = values[order]
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    use = include & (counts > 0)
    sizes = counts[use]
    groups_all = np.flatnonzero(use)
    by_size = np.argsort(sizes, kind="stable")
    bounds = np.flatnonzero(np.diff(sizes[by_size])) + 1
    # uniforms shared by the sizes <= _SHARED: row j holds draw j of every resample; row j does
    # not depend on how many rows are drawn, so a community's draws depend only on its size
    n_shared = min(int(sizes.max()), _SHARED) if sizes.size else 0
    base = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream,)))
    uni = base.random((n_shared, n_boot))
    with _single_thread_blas():
        # loop over distinct cell sizes, never over communities
        for chunk in np.split(by_size, bounds):
            if chunk.size == 0:
                continue
            n = int(sizes[chunk[0]])
            groups = groups_all[chunk]
            ymat = v[starts[groups][:, None] + np.arange(n)[None, :]]  # (k, n)
            ymat = ymat - ymat.mean(axis=1, keepdims=True)
            ymat32 = (ymat * (sign / n)).astype(np.float32)
            blocks: list[tuple[int, int, int | None]]
            if n <= _SHARED:
                blocks = [(0, n_boot, None)]
            else:  # large community: own stream, in blocks of resamples
                block = max(1, _BLOCK // n)
                blocks = [(b0, min(block, n_boot - b0), n) for b0 in range(0, n_boot, block)]
                rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(stream, n)))
            for b0, m, own in blocks:
                if own is None:  # (n, m) layout: row j = draw j of every resample
                    idx = (uni[:n] * n).astype(np.int64)  # floor(u n): uniform on 0..n-1
                    idx += (np.arange(m) * n)[None, :]
                else:
                    idx = rng.integers(0, n, size=(m, n))
                    idx += (np.arange(m) * n)[:, None]
                cmat = np.bincount(idx.ravel(), minlength=m * n).reshape(m, n)
                means = ymat32 @ cmat.T.astype(np.float32)
                if accumulate:
                    out[groups, b0 : b0 + m] += means
                else:
                    out[groups, b0 : b0 + m] = means


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
    if method == "percentile":
        p_lo = np.full(g, alpha)
        p_hi = np.full(g, 1.0 - alpha)
    else:
        if accel is None:
            raise ValueError("BCa needs the acceleration")
        below = np.count_nonzero(centred < 0, axis=1) + np.count_nonzero(centred <= 0, axis=1)
        z0 = special.ndtri(below / (2.0 * b))
        za = special.ndtri(alpha)
        with np.errstate(divide="ignore", invalid="ignore"):
            n1 = z0 + za
            p_lo = special.ndtr(z0 + n1 / (1 - accel * n1))
            n2 = z0 - za
            p_hi = special.ndtr(z0 + n2 / (1 - accel * n2))
    centred.sort(axis=1)
    return _quantile_rows(centred, p_lo), _quantile_rows(centred, p_hi)

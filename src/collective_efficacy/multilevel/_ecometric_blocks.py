r"""The ecometric model's sufficient statistics from wide item columns, in row blocks (private;
used by :func:`._ecometric_cells.cells_wide` and :func:`collective_efficacy.ecometric`).

The items are read as they are -- one 1-D array per item (the DataFrame's own columns, or the
columns of a matrix) -- and never copied whole: each pass copies a block of rows into one
scratch array of ``block`` rows (keyed, ``lo + hi - x`` for a reversed item), so every
temporary is O(block x items) and stays in cache, and no respondents x items array is built.

* :func:`scan` (one pass): answered items per row and the per-item sums and counts of the
  keyed answers (the item means are the least-squares shift of :mod:`._ecometric_cells`).
* :func:`cells_blocked` (one pass): the centred per-respondent outcome sums, the totals of the
  shifted problem, per item the (community, answered items) cells of its missing answers and the
  per-answered-items totals of the answered indicators (:func:`_indicator_totals`), block by block
  (each block's missing answers are already ordered by row: no sort over all respondents).

The sums are those of the former whole-matrix computation, added in another order (identical
to rounding; ``tests/test_ecometric_blocks.py`` checks 1e-12).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from collective_efficacy.errors import DataError

__all__ = ["BLOCK_FLOATS", "Scan", "Sums", "block_rows", "cells_blocked", "scan"]

BLOCK_FLOATS = 1 << 17  # floats per block (1 MiB): the scratch and its masks stay in L2


def block_rows(n_items: int) -> int:
    """Rows per block for ``n_items`` columns."""
    return max(256, BLOCK_FLOATS // max(n_items, 1))


class Scan(NamedTuple):
    """The first pass over the item columns (:func:`scan`)."""

    cols: Sequence[np.ndarray]  # one 1-D array per item, all rows
    flip: np.ndarray  # (p,) lo + hi of a reversed item, NaN for the others
    n_answered: np.ndarray  # (n,) answered items per row (int16)
    col_sum: np.ndarray  # (p,) sums of the keyed answers
    col_count: np.ndarray  # (p,) answers per item


class Sums(NamedTuple):
    """The second pass (:func:`cells_blocked`): the grid inputs of :mod:`._ecometric_cells`."""

    nj: np.ndarray  # (n_used,) answered items per used row
    syj: np.ndarray  # (n_used,) sums of the centred answers
    key: np.ndarray  # (n_used,) grid cell: community * mmax + nj
    miss: list[np.ndarray]  # per item, the grid cells (community * mmax + nj) missing it
    totals: tuple[np.ndarray, np.ndarray, np.ndarray]  # per nj: sum xx', sum x s_y, sum s_y^2
    xty: np.ndarray
    yty: float
    shift: np.ndarray  # the item means


def _fill(
    cols: Sequence[np.ndarray], flip: np.ndarray, a: int, b: int, out: np.ndarray
) -> np.ndarray:
    """Rows ``a:b`` of the keyed items in ``out[:, : b - a]`` (items x rows: each item's
    block a contiguous copy of its column)."""
    blk = out[:, : b - a]
    for j, col in enumerate(cols):  # loop over items (few)
        blk[j] = col[a:b]
    for r in np.flatnonzero(~np.isnan(flip)):  # reversed items: lo + hi - x
        np.subtract(flip[r], blk[r], out=blk[r])
    return blk


def _scratch(p: int, n: int, block: int | None) -> tuple[int, np.ndarray, np.ndarray]:
    """Rows per block, the block's float scratch and an int64 scratch of the same shape."""
    step = block or block_rows(p)
    shape = (p, min(step, max(n, 1)))
    return step, np.empty(shape), np.empty(shape, dtype=np.int64)


def _zero_missing(blk: np.ndarray, miss: np.ndarray, bits: np.ndarray) -> None:
    """``blk[miss] = 0.0`` in place, as the bit mask ``miss - 1`` (all ones where answered,
    0 where missing) and-ed into the floats' bits: the same +0.0 as ``np.copyto(blk, 0.0,
    where=miss)``, about twice as fast (a masked copy is not vectorised)."""
    mask = bits[:, : blk.shape[1]]
    np.copyto(mask, miss, casting="unsafe")
    np.subtract(mask, 1, out=mask)
    as_int = blk.view(np.int64)
    np.bitwise_and(as_int, mask, out=as_int)


def scan(cols: Sequence[np.ndarray], flip: np.ndarray, *, block: int | None = None) -> Scan:
    """Answered items per row and the per-item sums and counts of the keyed answers."""
    p = len(cols)
    n = len(cols[0]) if p else 0
    step, out, bits = _scratch(p, n, block)
    nj = np.empty(n, dtype=np.int16 if p < 1 << 15 else np.int64)  # few bytes per row
    col_sum, col_count = np.zeros(p), np.zeros(p)
    for a in range(0, n, step):  # loop over row blocks: each block's work is vectorised
        b = min(a + step, n)
        blk = _fill(cols, flip, a, b, out)
        miss = np.isnan(blk)
        nj[a:b] = p - _row_counts(miss)
        col_count += b - a - np.array([np.count_nonzero(m) for m in miss])
        _zero_missing(blk, miss, bits)
        col_sum += np.sum(blk, axis=1)
    return Scan(cols, flip, nj, col_sum, col_count)


def _row_counts(miss: np.ndarray) -> np.ndarray:
    """Missing answers per row of an items x rows mask (int8 sums: no casting buffers)."""
    if len(miss) < 128:
        return np.add.reduce(miss.view(np.int8), axis=0, dtype=np.int8)
    return np.sum(miss, axis=0)


_MAX_PATTERN_ITEMS = 12  # up to 2**12 missing-answer patterns: totals by pattern


class _Totals:
    """Per answered-items count m, the totals of x x', x s_y and s_y^2 (x the answered
    indicators), accumulated block by block: by missing-answer pattern (a bit per item) when
    there are at most ``_MAX_PATTERN_ITEMS`` items, else from the missing answers' pairs."""

    def __init__(self, p: int, mmax: int) -> None:
        self.p, self.mmax = p, mmax
        self.by_pattern = p <= _MAX_PATTERN_ITEMS
        size = 1 << p if self.by_pattern else 0
        self.pat = [np.zeros(size), np.zeros(size), np.zeros(size)]
        self.tot = [np.zeros((mmax, p, p)), np.zeros((mmax, p)), np.zeros(mmax)]

    def add(self, miss: np.ndarray, nj: np.ndarray, syj: np.ndarray) -> None:
        """One block: ``miss`` (items x rows) its missing answers."""
        if self.by_pattern:
            code = np.zeros(miss.shape[1], dtype=np.int16)
            for j, mj in enumerate(miss):  # loop over items (few): a bit per item
                np.bitwise_or(code, np.left_shift(mj.view(np.uint8), j, dtype=np.int16), out=code)
            size = 1 << self.p
            self.pat[0] += np.bincount(code, minlength=size)
            self.pat[1] += np.bincount(code, weights=syj, minlength=size)
            self.pat[2] += np.bincount(code, weights=syj * syj, minlength=size)
            return
        rows, cj = np.nonzero(np.ascontiguousarray(miss.T))  # ordered by row
        cnt_m = np.bincount(nj, minlength=self.mmax)
        for acc, part in zip(self.tot, _indicator_totals(nj, syj, rows, cj, cnt_m, self.p)):
            acc += part

    def totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sxx, sxy, syy = self.tot
        if self.by_pattern:  # answered indicators of each pattern, grouped by their count
            x = 1.0 - ((np.arange(1 << self.p)[:, None] >> np.arange(self.p)) & 1)
            m_of = np.rint(x.sum(axis=1)).astype(np.int64)
            cnt, sy, sq = self.pat
            for m in range(self.mmax):  # loop over answered-items counts (few)
                sel = m_of == m
                xm = x[sel]
                sxx[m] = (xm * cnt[sel, None]).T @ xm
                sxy[m] = sy[sel] @ xm
                syy[m] = float(np.sum(sq[sel]))
        return sxx, sxy, syy


def cells_blocked(
    sc: Scan, codes: np.ndarray, used: np.ndarray | None, n_groups: int, reml: bool,
    *, nj: np.ndarray | None = None, block: int | None = None,
) -> Sums:  # fmt: skip
    """The grid inputs of :func:`._ecometric_cells._make` for the rows ``used`` (all when
    None; it may only leave out rows without an answer), ``codes`` the community of each
    used row, ``nj`` (optional) their answered items, ``sc.n_answered[used]``.

    Raises :class:`DataError` for an infinite answer."""
    cols, p = sc.cols, len(sc.cols)
    n = len(sc.n_answered)
    if nj is None:
        nj = sc.n_answered if used is None else sc.n_answered[used]
    beta0 = sc.col_sum / sc.col_count  # the item means: the least-squares shift
    mmax = int(nj.max()) + 1
    key = np.multiply(codes, mmax, dtype=np.int64)
    key += nj
    step, out, bits = _scratch(p, n, block)
    syj = np.empty(len(nj))
    xty, yty = np.zeros(p), 0.0
    acc = _Totals(p, mmax)
    miss_keys: list[list[np.ndarray]] = [[] for _ in range(p)]
    pos = 0
    for a in range(0, n, step):  # loop over row blocks: each block's work is vectorised
        b = min(a + step, n)
        blk = _fill(cols, sc.flip, a, b, out)
        if used is not None:
            blk = blk[:, used[a:b]]
        nb = blk.shape[1]
        miss = np.isnan(blk)
        blk -= beta0[:, None]
        _zero_missing(blk, miss, bits)
        s = np.sum(blk, axis=0)
        syj[pos : pos + nb] = s
        xty += np.sum(blk, axis=1)
        yty += float(np.einsum("ir,ir->", blk, blk))
        key_b = key[pos : pos + nb]
        for j, miss_j in enumerate(miss):  # loop over items (few): its missing rows, in order
            miss_keys[j].append(key_b[np.flatnonzero(miss_j)])
        acc.add(miss, nj[pos : pos + nb], s)
        pos += nb
    if not np.isfinite(yty):
        raise DataError("Y must be finite or NaN and Z finite")
    miss = [np.concatenate(m) if m else np.empty(0, dtype=np.int64) for m in miss_keys]
    return Sums(nj, syj, key, miss, acc.totals(), xty, yty, beta0)


def _indicator_totals(
    nj: np.ndarray, syj: np.ndarray, rows: np.ndarray, cols: np.ndarray, cnt_m: np.ndarray,
    n_items: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    r"""Per answered-items count m, the totals of x x', x s_y and s_y^2 over respondents, x the
    answered indicators, from the missing answers' (row, column), sorted by row: with
    :math:`q_i` the respondents missing item i and :math:`q_{ij}` those missing both,
    :math:`\sum xx' = n_m - q_i - q_j + q_{ij}`."""
    mmax = len(cnt_m)
    m_of = nj[rows]
    both = np.bincount(
        (m_of * n_items + cols) * n_items + cols, minlength=mmax * n_items * n_items
    ).astype(np.float64)
    for lag in range(1, n_items):  # pairs of missing answers of one respondent
        same = np.flatnonzero(rows[lag:] == rows[:-lag])
        if not same.size:
            break
        i, j = cols[same], cols[same + lag]
        for a, b in ((i, j), (j, i)):
            both += np.bincount(
                (m_of[same] * n_items + a) * n_items + b, minlength=mmax * n_items * n_items
            )
    both = both.reshape(mmax, n_items, n_items)
    q = np.diagonal(both, axis1=1, axis2=2)
    sxx = cnt_m[:, None, None] - q[:, :, None] - q[:, None, :] + both
    sy_m = np.bincount(nj, weights=syj, minlength=mmax)
    sq = np.bincount(m_of * n_items + cols, weights=syj[rows], minlength=mmax * n_items)
    sxy = sy_m[:, None] - sq.reshape(mmax, n_items)
    return sxx, sxy, np.bincount(nj, weights=syj * syj, minlength=mmax)

r"""Exact per-group pairwise moments of whole-number answers (Likert codes) in few passes.

When every answer is a whole number in a small range (1-5 codes, also after reverse keying),
the per-group sums :math:`S_i = \sum y_i` and cross-products :math:`P_{ij} = \sum y_i y_j` of
the shifted answers :math:`y = x - \min x` (0 where missing) are integers with a known bound:
with :math:`r = \max x - \min x` and :math:`n_{\max}` the largest group,
:math:`0 \le P_{ij} \le n_{\max} r^2`. Several of them are then summed by one
:func:`numpy.bincount` pass: each row's values are packed into one float64 weight as bit fields,
:math:`w = y_i \sum_j y_j 2^{s_j}`, the field widths are set from those bounds so that no
field carries into the next and every partial sum stays below :math:`2^{53}` (float64 sums of
such integers are exact), and the per-group totals are unpacked with integer shifts. A
5-item scale needs 6-7 passes instead of 20.

The pairwise-complete covariances are then exact rationals,
:math:`\mathrm{cov}_{ij} = (N_{ij} P_{ij} - S_{i|j} S_{j|i}) / (N_{ij} (N_{ij} - 1))`
(integer numerator, one rounding), where :math:`S_{i|j}` is the sum of item ``i`` over the rows
answering ``j`` and :math:`N_{ij}` the rows answering both; the missing-cell corrections are
packed the same way, from the rows missing an item only (with :math:`M_j` the rows missing
item ``j``: :math:`N_{ij} = n_i - |\{r \in M_j: i\ \text{answered}\}|` and
:math:`S_{i|j} = S_i - \sum_{r \in M_j} y_{ri}`). The row score's moments (the mean of a row's answered items, not an
integer) are summed two-pass in float as in the float kernel. Data that is not whole numbers,
or whose fields would not fit, returns ``None`` and the caller uses the float kernel.
"""

from __future__ import annotations

import numpy as np

from collective_efficacy import _moments as m

__all__ = ["integer_pairwise_moments"]

#: largest range of whole-number answers taken by the packed path
_MAX_RANGE = 255
#: bits of a float64 mantissa: every packed partial sum stays below 2**53 (exact)
_MANTISSA = 53

#: packed weights: each a list of fields ``(source, shift)``
Plan = list[list[tuple[int, int]]]


def _plan(bits: list[int]) -> Plan | None:
    """Greedy packing of fields of the given widths (in order) into weights of at most 53
    bits; ``None`` when a field alone is wider."""
    plan: Plan = []
    fields: list[tuple[int, int]] = []
    used = 0
    for f, b in enumerate(bits):
        if b > _MANTISSA:
            return None
        if used + b > _MANTISSA:
            plan.append(fields)
            fields, used = [], 0
        fields.append((f, used))
        used += b
    if fields:
        plan.append(fields)
    return plan


def _evaluate(srcs: list[np.ndarray | None], fields: list[tuple[int, int]], n: int) -> np.ndarray:
    """One packed weight per row: ``sum_f srcs[f] * 2**shift`` (``None``: the constant 1)."""
    w = np.zeros(n)
    const = 0.0
    for f, s in fields:  # loop over fields (few)
        src = srcs[f]
        if src is None:
            const += float(2**s)
        elif s == 0:
            w += src
        else:
            w += src * float(2**s)
    if const:
        w += const
    return w


def _unpack(total: np.ndarray, fields: list[tuple[int, int]], bits: list[int]) -> list[np.ndarray]:
    """The fields of packed per-group totals (exact integers below 2**53), as int64."""
    t = total.astype(np.int64)
    return [(t >> s) & ((1 << bits[f]) - 1) for f, s in fields]


def _whole_range(x: np.ndarray) -> tuple[float, int] | None:
    """``(min, max - min)`` when the answers' range is whole and small, else None."""
    flat = x.ravel(order="K")
    lo, hi = float(np.fmin.reduce(flat)), float(np.fmax.reduce(flat))
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo != np.floor(lo) or hi - lo > _MAX_RANGE:
        return None
    return lo, int(hi - lo)


class _Packer:
    """The packing plans for ``k`` items, groups of at most ``n_max`` rows, range ``r``:
    per item ``i`` its products with items ``j >= i`` and its sum (``rows``), and per item
    ``j`` the sums and answer counts of the other items over the rows missing ``j`` and
    their count (``miss``)."""

    def __init__(self, k: int, n_max: int, r: int) -> None:
        self.k = k
        b_p, b_s, b_n = (max(int(v).bit_length(), 1) for v in (n_max * r * r, n_max * r, n_max))
        self.row_bits = [[b_p] * (k - i) + [b_s] for i in range(k)]
        self.miss_bits = [b_s] * (k - 1) + [b_n] * (k - 1) + [b_n]
        rows = [_plan(bits) for bits in self.row_bits]
        miss = _plan(self.miss_bits)
        self.ok = miss is not None and all(p is not None for p in rows)
        self.rows: list[Plan] = [p or [] for p in rows]
        self.miss: Plan = miss or []
        self.n_row_weights = sum(len(p) for p in self.rows)
        # the row score times L = lcm(1..k) is a whole number: L * sum(y) / answers
        self.lcm = int(np.lcm.reduce(np.arange(1, k + 1)))
        self.to_lcm = np.array([0.0] + [self.lcm // a for a in range(1, k + 1)])
        top = n_max * self.lcm * r
        self.score_bits = [max(int(v).bit_length(), 1) for v in (top, top * self.lcm * r)]
        score_plan = _plan(self.score_bits)
        self.ok = self.ok and score_plan is not None and n_max * top * self.lcm * r < 2**62
        self.score: Plan = score_plan or []

    def row_weights(self, y: np.ndarray) -> list[np.ndarray]:
        """Packed ``y_i * (sum_j y_j 2**s_j + 2**s)`` for every row plan."""
        out = []
        n = y.shape[1]
        for i in range(self.k):  # loop over items (few)
            srcs: list[np.ndarray | None] = [*y[i:], None]
            for fields in self.rows[i]:
                w = _evaluate(srcs, fields, n)
                w *= y[i]
                out.append(w)
        return out

    def miss_weights(self, y: np.ndarray, ans: np.ndarray, j: int) -> list[np.ndarray]:
        """Over the rows missing item ``j``: the other items' values and answers, and 1."""
        others = [i for i in range(self.k) if i != j]
        srcs: list[np.ndarray | None] = [*y[others], *ans[others], None]
        return [_evaluate(srcs, fields, y.shape[1]) for fields in self.miss]


def integer_pairwise_moments(
    x: np.ndarray, codes: np.ndarray, n_groups: int, *, score: bool = False
) -> m.PairwiseMoments | None:
    """:func:`collective_efficacy._moments.pairwise_moments` for whole-number answers, exact
    (module docstring); ``None`` when the answers are not whole numbers in a small range (the
    caller then uses the float kernel).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, np.nan], [4.0, 4.0]])
    >>> pm = integer_pairwise_moments(x, np.array([0, 0, 0, 0]), 1)
    >>> pm.cov[0].round(4).tolist(), pm.n_pair[0].tolist()
    ([[1.6667, 1.8333], [1.8333, 2.3333]], [[4.0, 3.0], [3.0, 3.0]])
    """
    n, k = x.shape
    rng = _whole_range(x) if n and k else None
    if rng is None:
        return None
    lo, r = rng
    codes = np.asarray(codes, dtype=np.intp)
    size = np.bincount(codes, minlength=n_groups)
    n_max = int(size.max(initial=0))
    packer = _Packer(k, n_max, r)
    # int64 numerators without overflow; at least two fields a pass on average
    if not packer.ok or (n_max * r) ** 2 >= 2**62 or 2 * packer.n_row_weights > k * (k + 3) // 2:
        return None
    sweep = _packed_sweep(x, codes, n_groups, lo, packer, score)
    if sweep is None:
        return None
    return _assemble(sweep, packer, size, lo, score)


def _packed_sweep(
    x: np.ndarray, codes: np.ndarray, g: int, lo: float, packer: _Packer, score: bool
) -> tuple[np.ndarray, ...] | None:
    """One sweep over cache-sized row blocks: the packed per-group totals, the missing-row
    totals, the rows without an answer and the row scores; ``None`` when an answer is not a
    whole number."""
    n, k = x.shape
    packed = np.zeros((packer.n_row_weights, g))
    dropped = np.zeros((k, len(packer.miss), g))
    empty = np.zeros(g)
    s_pack = np.zeros((len(packer.score), g))
    for b in m._blocks(n, g):  # loop over row blocks (cache), never over groups
        cb, xb = codes[b], x[b]
        y = np.empty((k, len(cb)))
        for i in range(k):  # loop over items (few)
            np.subtract(xb[:, i], lo, out=y[i])
        miss: np.ndarray | None = np.isnan(y)
        if not miss.any():  # type: ignore[union-attr]
            miss = None
        np.fmax(y, 0.0, out=y)  # missing: 0 (every answer is >= 0 after the shift)
        if not np.array_equal(y, np.trunc(y)):
            return None
        for w, v in enumerate(packer.row_weights(y)):  # loop over packed weights (few)
            packed[w] += np.bincount(cb, weights=v, minlength=g)
        n_ans: np.ndarray | int = k
        if miss is not None:
            ans = ~miss
            for j in range(k):  # loop over items (few)
                rr = np.flatnonzero(miss[j])
                cj = cb.take(rr)
                for w, v in enumerate(packer.miss_weights(y.take(rr, 1), ans.take(rr, 1), j)):
                    dropped[j, w] += np.bincount(cj, weights=v, minlength=g)
            n_ans = k - miss.sum(axis=0)
            empty += np.bincount(cb[n_ans == 0], minlength=g)
        if score:
            sc = y.sum(axis=0)
            sc *= packer.to_lcm[n_ans]  # L * score (0 for a row without an answer)
            for w, fields in enumerate(packer.score):  # loop over packed weights (one or two)
                v = _evaluate([sc, sc * sc], fields, len(sc))
                s_pack[w] += np.bincount(cb, weights=v, minlength=g)
    return packed, dropped, empty, s_pack


def _sums(
    packed: np.ndarray, dropped: np.ndarray, packer: _Packer, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unpacked int64 cross-products (G, k, k), sums of ``y_i`` over the rows answering ``j``
    (G, k, k; diagonal: all rows), pair counts (G, k, k) and answers per item (G, k)."""
    k, g = packer.k, len(size)
    prod = np.zeros((g, k, k), dtype=np.int64)
    s_ij = np.zeros((g, k, k), dtype=np.int64)
    w = 0
    for i in range(k):  # loop over items (few)
        for fields in packer.rows[i]:
            for (f, _), val in zip(fields, _unpack(packed[w], fields, packer.row_bits[i])):
                if i + f == k:
                    s_ij[:, i, :] = val[:, None]
                else:
                    prod[:, i, i + f] = prod[:, i + f, i] = val
            w += 1
    vals: list[list[np.ndarray]] = []
    for j in range(k):  # loop over items (few): the terms of the rows missing j
        vals.append([])
        for w, fields in enumerate(packer.miss):
            vals[j] += _unpack(dropped[j, w], fields, packer.miss_bits)
    counts = size[:, None] - np.stack([v[-1] for v in vals], axis=1)  # (G, k)
    n_ij = np.repeat(counts[:, :, None], k, axis=2)  # [g, i, j]: n_i, less the rows missing j
    for j in range(k):  # loop over items (few)
        for t, i in enumerate(i for i in range(k) if i != j):
            s_ij[:, i, j] -= vals[j][t]
            n_ij[:, i, j] -= vals[j][k - 1 + t]
    return prod, s_ij, n_ij, counts


def _assemble(
    sweep: tuple[np.ndarray, ...], packer: _Packer, size: np.ndarray, lo: float, score: bool
) -> m.PairwiseMoments:
    """Exact covariances from the integer sums (one rounding each) and the score's moments."""
    packed, dropped, empty, s_pack = sweep
    prod, s_ij, n_ij, _ = _sums(packed, dropped, packer, size)
    num = n_ij * prod - s_ij * np.swapaxes(s_ij, 1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(n_ij >= 2, num / (n_ij * (n_ij - 1.0)), np.nan)
    n_rows = (size - empty).astype(np.int64)
    score_moments = None
    if score:
        vals: list[np.ndarray] = []
        for w, fields in enumerate(packer.score):
            vals += _unpack(s_pack[w], fields, packer.score_bits)
        s1, s2 = vals  # sums of L * score and of its square
        lcm = float(packer.lcm)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n_rows > 0, lo + s1 / (lcm * n_rows), np.nan)
            ss = np.where(n_rows > 0, (n_rows * s2 - s1 * s1) / (lcm * lcm * n_rows), 0.0)
        score_moments = m.GroupMoments(n=n_rows.astype(np.float64), mean=mean, ss=ss)
    return m.PairwiseMoments(
        cov=cov,
        n_pair=n_ij.astype(np.float64),
        n_rows=n_rows.astype(np.float64),
        score=score_moments,
    )

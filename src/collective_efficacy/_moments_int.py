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
:math:`S_{i|j} = S_i - \sum_{r \in M_j} y_{ri}`). The row score (the mean of a row's answered
items) is not a whole number, but :math:`L` times it is, with :math:`L = \mathrm{lcm}(1, \dots, k)`:
its sum and sum of squares are packed as integers too, and the mean and sum of squared deviations
follow with one rounding each. Data that is not whole numbers, or whose fields would not fit,
returns ``None`` and the caller uses the float kernel.

Pattern path (few items, small range: :math:`(r+2)^k \le 2^{15}`, e.g. 7,776 patterns for 5
items coded 1-5). A row's answers take one of :math:`(r+2)^k` patterns (each item missing or
one of :math:`r+1` codes), so every per-row statistic is a function of the row's pattern
number :math:`\sum_i d_i (r+2)^i`. The packed weights are then tabulated per pattern (tables
that stay in cache) and each pass is one table look-up and one ``bincount``: no per-row
arithmetic beyond coding the pattern (one matrix-vector product per row block). All rows give
the cross-products and sums (5 weights for the 1-5 codes of 5 items in groups of up to 500);
the rows missing an answer alone give the corrections for pairwise deletion and the score
(7 weights over about a fifth of the rows at 5 % missing cells). The integers, and so the
results, are those of the packed sweep.
"""

from __future__ import annotations

import functools
import math

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


def _whole_range(
    x: np.ndarray, known: tuple[float, float] | None = None
) -> tuple[float, int] | None:
    """``(min, max - min)`` when the answers' range is whole and small, else None; ``known``:
    the smallest and largest answer, already read by the caller."""
    if known is None:
        flat = x.ravel(order="K")
        known = float(np.fmin.reduce(flat)), float(np.fmax.reduce(flat))
    lo, hi = known
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
    x: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    score: bool = False,
    sizes: np.ndarray | None = None,
    value_range: tuple[float, float] | None = None,
) -> m.PairwiseMoments | None:
    """:func:`collective_efficacy._moments.pairwise_moments` for whole-number answers, exact
    (module docstring); ``None`` when the answers are not whole numbers in a small range (the
    caller then uses the float kernel). ``sizes`` (rows per group) and ``value_range`` (the
    smallest and largest non-missing value of ``x``, NaN when none), when the caller already
    has them, save a pass each.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, np.nan], [4.0, 4.0]])
    >>> pm = integer_pairwise_moments(x, np.array([0, 0, 0, 0]), 1)
    >>> pm.cov[0].round(4).tolist(), pm.n_pair[0].tolist()
    ([[1.6667, 1.8333], [1.8333, 2.3333]], [[4.0, 3.0], [3.0, 3.0]])
    """
    n, k = x.shape
    rng = _whole_range(x, value_range) if n and k else None
    if rng is None:
        return None
    lo, r = rng
    codes = np.asarray(codes, dtype=np.intp)
    size = np.bincount(codes, minlength=n_groups) if sizes is None else sizes
    n_max = int(size.max(initial=0))
    packer = _Packer(k, n_max, r)
    # int64 numerators without overflow; at least two fields a pass on average
    if not packer.ok or (n_max * r) ** 2 >= 2**62 or 2 * packer.n_row_weights > k * (k + 3) // 2:
        return None
    if _patterns_pay(x, lo, r, k):
        u = _row_patterns(x, lo, r)
        if u is None:
            return None
        sums = _pattern_sums(u, codes, n_groups, k, r, size, packer.lcm)
        if sums is not None:
            return _finish(*sums, size=size, lo=lo, lcm=packer.lcm, score=score)
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
    """The moments from the packed sweep's totals."""
    packed, dropped, empty, s_pack = sweep
    prod, s_ij, n_ij, _ = _sums(packed, dropped, packer, size)
    vals: list[np.ndarray] = []
    for w, fields in enumerate(packer.score):
        vals += _unpack(s_pack[w], fields, packer.score_bits)
    s1, s2 = vals if score else (None, None)
    return _finish(prod, s_ij, n_ij, empty, s1, s2, size=size, lo=lo, lcm=packer.lcm, score=score)


def _finish(
    prod: np.ndarray,
    s_ij: np.ndarray,
    n_ij: np.ndarray,
    empty: np.ndarray,
    s1: np.ndarray | None,
    s2: np.ndarray | None,
    *,
    size: np.ndarray,
    lo: float,
    lcm: int,
    score: bool,
) -> m.PairwiseMoments:
    """Exact covariances from the integer sums (one rounding each) and the score's moments
    from the sums of ``L * score`` and of its square (``s1``, ``s2``)."""
    num = n_ij * prod - s_ij * np.swapaxes(s_ij, 1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = np.where(n_ij >= 2, num / (n_ij * (n_ij - 1.0)), np.nan)
    n_rows = (size - empty).astype(np.int64)
    score_moments = None
    if score:
        assert s1 is not None and s2 is not None
        fl = float(lcm)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n_rows > 0, lo + s1 / (fl * n_rows), np.nan)
            ss = np.where(n_rows > 0, (n_rows * s2 - s1 * s1) / (fl * fl * n_rows), 0.0)
        score_moments = m.GroupMoments(n=n_rows.astype(np.float64), mean=mean, ss=ss)
    return m.PairwiseMoments(
        cov=cov,
        n_pair=n_ij.astype(np.float64),
        n_rows=n_rows.astype(np.float64),
        score=score_moments,
    )


# ---- the pattern path: each row's answers as one table index ---------------------------------

#: largest number of answer patterns ``(r + 2) ** k`` tabulated (each table stays in cache)
_MAX_PATTERNS = 1 << 15
#: rows per block when coding the patterns (the block's work arrays stay in cache)
_PATTERN_ROWS = 1 << 14


def _patterns_pay(x: np.ndarray, lo: float, r: int, k: int) -> bool:
    """Whether the answer-pattern path is exact and pays: float64 answers (``lo - 1`` would
    round in float32), ``|lo| + r + 2`` below 2**52 (else ``lo - 1`` rounds to ``lo`` and the
    smallest answer reads as missing), no more patterns than ``_MAX_PATTERNS`` nor than 8 per
    row (the tables cost the same for 10 rows as for 10 million), and per-pattern tables of
    about 8 MB at most (they are cached)."""
    patterns = (r + 2) ** k
    return (
        x.dtype == np.float64
        and abs(lo) + r + 2 < 2.0**52
        and patterns <= min(_MAX_PATTERNS, 8 * len(x))
        and patterns * (k + 1) ** 2 <= 2**20
    )


def _row_patterns(x: np.ndarray, lo: float, r: int) -> np.ndarray | None:
    """Each row's answers as one number ``sum_i d_i B**i`` with ``B = r + 2`` and ``d_i`` 0
    for a missing answer, else ``1 + x_i - lo``; ``None`` when an answer is not whole.

    Block by block: missing cells become ``lo - 1`` (``fmax`` skips NaN), the answers are
    checked to equal their floor, and one matrix-vector product with the powers of ``B``
    codes the rows (whole numbers below 2**52: every product and partial sum is exact)."""
    n, k = x.shape
    powers = float(r + 2) ** np.arange(k)
    low = lo - 1.0
    shift = abs(low) * float(powers.sum()) >= 2.0**52  # then shift the answers first
    out = np.empty(n, dtype=np.intp)
    step = min(_PATTERN_ROWS, n)
    d, whole = np.empty((step, k), order="F"), np.empty((step, k), order="F")
    differ = np.empty((step, k), dtype=bool, order="F")
    for s in range(0, n, step):  # loop over row blocks (cache), never over groups
        xb = x[s : s + step]
        db, wb = d[: len(xb)], whole[: len(xb)]
        if shift:
            np.subtract(xb, low, out=db)
            np.fmax(db, 0.0, out=db)
        else:
            np.fmax(xb, low, out=db)
        np.floor(db, out=wb)  # (several times faster than np.modf)
        if np.not_equal(db, wb, out=differ[: len(xb)]).any():
            return None
        out[s : s + len(xb)] = db @ powers
    if not shift and low:
        out -= int(low * float(powers.sum()))
    return out


@functools.lru_cache(maxsize=8)
def _pattern_stats(k: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per answer pattern (``(r + 2) ** k`` of them): whether it misses an answer; every
    row's statistics (cross-products ``y_i y_j``, i <= j, and ``y_i``; ``y`` is 0 where
    missing); and the corrections, 0 for a complete pattern: ``y_i`` where ``j`` is missing
    (i != j), item ``i`` missing, items ``i`` and ``j`` missing (i < j), no answer, and
    ``L * score - (L / k) sum_i y_i`` and ``(L * score)**2 - ((L / k) sum_i y_i)**2`` (never
    negative: a row answers at most ``k`` items). Read-only: shared between calls."""
    base = r + 2
    d = (np.arange(base**k)[:, None] // base ** np.arange(k)) % base
    y, ans = np.maximum(d - 1, 0), d > 0
    miss = ~ans
    missing: np.ndarray = np.any(miss, axis=1)
    iu, ju = np.triu_indices(k)
    iu1, ju1 = np.triu_indices(k, 1)
    lcm = math.lcm(*range(1, k + 1))
    n_ans = ans.sum(axis=1)
    total = y.sum(axis=1)
    sc = np.where(n_ans > 0, total * lcm // np.maximum(n_ans, 1), 0)
    sc_k = total * (lcm // k)  # L * score of the row were it complete
    full = np.hstack([y[:, iu] * y[:, ju], y]).astype(np.int64)
    off = ~np.eye(k, dtype=bool)
    parts = [(y[:, :, None] * miss[:, None, :])[:, off], miss, miss[:, iu1] & miss[:, ju1]]
    parts += [(n_ans == 0)[:, None], (sc - sc_k)[:, None], (sc * sc - sc_k * sc_k)[:, None]]
    part = np.hstack(parts).astype(np.int64) * missing[:, None]
    for v in (missing, full, part):
        v.flags.writeable = False
    return missing, full, part


def _bits(*bounds: int) -> list[int]:
    return [max(int(v).bit_length(), 1) for v in bounds]


#: per-pattern statistics packed into weights: the tables (float64), plan and field widths
Tables = tuple[list[np.ndarray], Plan, list[int]]


@functools.lru_cache(maxsize=8)  # (~8 MB at most each: see _patterns_pay)
def _tables(k: int, r: int, which: int, bits: tuple[int, ...]) -> Tables | None:
    """Packed per-pattern weights of statistics ``which`` (1: complete rows, 2: the others)
    of :func:`_pattern_stats` with field widths ``bits``; ``None`` when a field is wider
    than a weight."""
    plan = _plan(list(bits))
    if plan is None:
        return None
    stats = _pattern_stats(k, r)[which]
    tables = []
    for fields in plan:  # loop over packed weights (few)
        t = np.zeros(len(stats), dtype=np.int64)
        for f, s in fields:
            t += stats[:, f] << s
        tables.append(t.astype(np.float64))
    return tables, plan, list(bits)


def _pass(tab: Tables, u: np.ndarray, cb: np.ndarray, g: int) -> np.ndarray:
    """Per-group totals (G, fields) of the tabulated statistics: one ``bincount`` per weight,
    unpacked (a weight's fields are consecutive)."""
    tables, plan, bits = tab
    out = np.empty((g, len(bits)), dtype=np.int64)
    for t, fields in zip(tables, plan):  # loop over packed weights (few)
        total = np.bincount(cb, weights=t.take(u), minlength=g).astype(np.int64)
        shift = np.array([s for _, s in fields])
        mask = np.array([(1 << bits[f]) - 1 for f, _ in fields])
        out[:, fields[0][0] : fields[-1][0] + 1] = (total[:, None] >> shift) & mask
    return out


def _pattern_sums(
    u: np.ndarray, codes: np.ndarray, g: int, k: int, r: int, size: np.ndarray, lcm: int
) -> tuple[np.ndarray, ...] | None:
    """The integer sums of :func:`_sums` from the row patterns ``u``; ``None`` when a field
    does not fit in a weight.

    Over all rows, the cross-products and sums (missing answers count 0); over the rows
    missing an answer alone, the corrections that turn them into pairwise sums and counts and
    the score's sums (:func:`_pattern_stats`). Field widths come from the largest group of
    each set of rows."""
    missing = _pattern_stats(k, r)[0]
    npairs = k * (k + 1) // 2
    n_c = int(size.max(initial=0))
    b_p, b_s = _bits(n_c * r * r, n_c * r)
    full = _tables(k, r, 1, (b_p,) * npairs + (b_s,) * k)
    rows = np.flatnonzero(missing.take(u))
    cm = codes.take(rows)
    n_m = int(np.bincount(cm, minlength=g).max(initial=0))
    b_s, b_n, b_1, b_2 = _bits(n_m * r, n_m, n_m * lcm * r, n_m * (lcm * r) ** 2)
    bits = (b_s,) * (k * k - k) + (b_n,) * (k + k * (k - 1) // 2 + 1) + (b_1, b_2)
    part = _tables(k, r, 2, bits)
    if full is None or part is None:
        return None
    c = _pass(full, u, codes, g)
    mm = _pass(part, u.take(rows), cm, g) if len(rows) else np.zeros((g, len(bits)), np.int64)
    return _combine(c, mm, k, size, lcm)


def _combine(
    cc: np.ndarray, mt: np.ndarray, k: int, size: np.ndarray, lcm: int
) -> tuple[np.ndarray, ...]:
    """(prod, s_ij, n_ij, empty, s1, s2) from every row's totals ``cc`` and the corrections
    ``mt`` (G, fields; in :func:`_pattern_stats`' field order). The (G, k, k) sums are in C
    order, as the sweep's: the statistics downstream sum over the items in memory order, so
    the same layout gives the same bits."""
    iu, ju = np.triu_indices(k)
    iu1, ju1 = np.triu_indices(k, 1)
    npairs, diag = len(iu), np.arange(k)
    pair = np.empty((k, k), dtype=np.intp)
    pair[iu, ju] = pair[ju, iu] = np.arange(npairs)
    prod = np.ascontiguousarray(cc[:, pair])
    s_i = cc[:, npairs : npairs + k]
    s_ij = np.repeat(s_i[:, :, None], k, axis=2)  # [g, i, j]: S_i, less the rows missing j
    s_ij[:, ~np.eye(k, dtype=bool)] -= mt[:, : k * k - k]
    miss = mt[:, k * k - k : k * k]
    both = np.empty_like(prod)  # rows missing i and j (the diagonal: missing i)
    both[:, iu1, ju1] = both[:, ju1, iu1] = mt[:, k * k : k * k + len(iu1)]
    both[:, diag, diag] = miss
    n_ij = size[:, None, None] - miss[:, :, None] - miss[:, None, :] + both
    per = lcm // k
    s1 = per * s_i.sum(axis=1) + mt[:, -2]
    s2 = per * per * (cc[:, :npairs] @ np.where(iu == ju, 1, 2)) + mt[:, -1]
    return prod, s_ij, n_ij, mt[:, -3], s1, s2

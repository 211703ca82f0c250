"""The per-group moment kernel of session 7 (``bincount`` passes, one bincount per item and
missing-data term per block), kept verbatim as the reference of the tests of the faster kernel
in :mod:`collective_efficacy._moments` (issue 16: results identical to 1e-12)."""

# ruff: noqa
from __future__ import annotations

import numpy as np

_BLOCK_ROWS = 1 << 16


def _blocks(n: int, n_groups: int) -> list[slice]:
    step = max(_BLOCK_ROWS, 8 * n_groups)
    return [slice(lo, min(lo + step, n)) for lo in range(0, n, step)]


def _row_scores(xb: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row the mean of the answered items (0 where none) and whether it has one."""
    n_ans = obs.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(obs, xb, 0.0).sum(axis=1) / n_ans
    some = n_ans > 0
    return np.where(some, score, 0.0), some


def _first_sweep(
    x: np.ndarray, codes: np.ndarray, g: int, complete: bool, score: bool
) -> tuple[np.ndarray, ...]:
    """Per group: rows, answers per item (G, k), sums per item (G, k), and the score's
    count and sum (rows with an answer); and the row scores (NaN: no answer)."""
    k = x.shape[1]
    size, s_n, s_sum = np.zeros(g), np.zeros(g), np.zeros(g)
    missing, sums = np.zeros((k, g)), np.zeros((k, g))
    scores = np.empty(len(x) if score else 0)  # kept for the second sweep (one value a row)
    for b in _blocks(len(x), g):  # loop over row blocks (cache), never over groups
        cb, xb = codes[b], x[b]
        size += np.bincount(cb, minlength=g)
        obs = np.ones(xb.shape, bool) if complete else ~np.isnan(xb)
        for i in range(k):  # loop over items (few)
            xi = xb[:, i] if complete else np.where(obs[:, i], xb[:, i], 0.0)
            sums[i] += np.bincount(cb, weights=xi, minlength=g)
            if not complete:
                missing[i] += np.bincount(cb[~obs[:, i]], minlength=g)
        if score:
            sc, some = _row_scores(xb, obs)
            s_n += np.bincount(cb, weights=some, minlength=g)
            s_sum += np.bincount(cb, weights=sc, minlength=g)
            scores[b] = np.where(some, sc, np.nan)
    return size, (size - missing).T, sums.T, s_n, s_sum, scores


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
    (the centred values sum to 0), so the cost of missing data grows with the number of
    missing cells. Every sum runs over the rows in their order,
    block by block, so a group's sums do not depend on the other groups (the same bits alone,
    for data of up to one block).
    """
    n, k = x.shape
    g = n_groups
    codes = np.asarray(codes, dtype=np.intp)
    size, counts, sums, s_n, s_sum, scores = _first_sweep(x, codes, g, complete, score)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.ascontiguousarray(np.where(counts > 0, sums / counts, 0.0).T)  # (k, G)
        s_mean = np.where(s_n > 0, s_sum / s_n, np.nan)
    s_centre = np.nan_to_num(s_mean)
    s = np.zeros((k, k, g))
    drop_n, drop_z = np.zeros((k, k, g)), np.zeros((k, k, g))
    empty, s_ss = np.zeros(g), np.zeros(g)
    iu, ju = np.triu_indices(k)
    for b in _blocks(n, g):  # loop over row blocks (cache), never over groups
        cb, xb = codes[b], x[b]
        obs = np.ones(xb.shape, bool) if complete else ~np.isnan(xb)
        z = np.empty((k, len(cb)))
        for i in range(k):  # loop over items (few)
            np.subtract(xb[:, i], means[i].take(cb), out=z[i])
            if not complete:
                z[i][~obs[:, i]] = 0.0
        for i, j in zip(iu.tolist(), ju.tolist()):  # loop over item pairs (few)
            s[i, j] += np.bincount(cb, weights=z[i] * z[j], minlength=g)
        if not complete:
            _missing_terms(z, obs, cb, g, drop_n, drop_z)
            empty += np.bincount(cb[~obs.any(axis=1)], minlength=g)
        if score:
            sc = scores[b]
            dev = np.where(np.isnan(sc), 0.0, sc - s_centre.take(cb))
            s_ss += np.bincount(cb, weights=dev * dev, minlength=g)
    s[ju, iu] = s[iu, ju]
    s = np.moveaxis(s, 2, 0)
    npair = np.repeat(counts[:, :, None], k, axis=2)
    a = np.zeros((g, k, k))
    if not complete:
        off = ~np.eye(k, dtype=bool)
        npair[:, off] = (counts.T[:, None, :] - drop_n)[off].T
        a[:, off] = -drop_z[off].T  # sum_r z_ri = 0 (centred on the available-case mean)
    out: tuple[np.ndarray, ...] = (s, npair, a, size - empty, counts)
    return (*out, s_n, s_mean, s_ss) if score else out


def _missing_terms(
    z: np.ndarray,
    obs: np.ndarray,
    cb: np.ndarray,
    g: int,
    drop_n: np.ndarray,
    drop_z: np.ndarray,
) -> None:
    """Add one block's sums over the rows missing item ``j`` of the answers to and centred
    values of each other item ``i`` (``drop_n[i, j]``, ``drop_z[i, j]``; one ``bincount`` per
    item ``j`` over the cells (row, i)), in place."""
    k = z.shape[0]
    for j in range(k):  # loop over items (few)
        mj = np.flatnonzero(~obs[:, j])
        if len(mj) == 0:
            continue
        cells = (cb[mj, None] * k + np.arange(k)).ravel()  # (row, i) -> group * k + i
        drop_n[:, j] += np.bincount(cells, weights=obs[mj].ravel(), minlength=g * k).reshape(g, k).T
        drop_z[:, j] += (
            np.bincount(cells, weights=z[:, mj].T.ravel(), minlength=g * k).reshape(g, k).T
        )

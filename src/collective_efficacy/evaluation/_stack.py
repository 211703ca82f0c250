"""Stacking the two waves' scored rows into one table, each cell copied once, with the
codings of its community and wave columns, and giving freed memory back to the system between
the steps (private)."""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from collective_efficacy._groups import GroupIndex, factorize_objects
from collective_efficacy.evaluation._sections import AFTER, BEFORE, WAVE

if TYPE_CHECKING:
    from collective_efficacy.responses import IdCodes

__all__ = [
    "frame_rows",
    "repeated_text",
    "stacked",
    "stacked_codings",
    "taken",
    "trim_memory",
]


def stacked(
    frames: list[pd.DataFrame],
    rows: np.ndarray | None = None,
    alone: Sequence[str] = (),
    release: bool = False,
) -> pd.DataFrame:
    """``pd.concat(frames, ignore_index=True)``, or its rows ``rows`` (increasing positions,
    kept as the index), with each cell copied once.

    The float64 columns go straight into one block (pandas would concatenate them column by
    column and then copy them again into one block), except those in ``alone`` (an array of
    their own, which outlives the block when the other columns are let go); frames whose
    columns differ are left to pandas. ``release``: each frame of ``frames`` is replaced by
    its empty head once its rows are copied (with no other holder, its memory goes before the
    next frame's rows are copied).
    """
    ends = np.cumsum([len(f) for f in frames])
    if rows is None:
        picks: list[Any] = [slice(None)] * len(frames)
        index: pd.Index = pd.RangeIndex(int(ends[-1]) if len(ends) else 0)
    else:  # each frame's rows among `rows`
        picks = list(frame_rows(frames, rows))
        index = pd.Index(rows) if len(rows) < ends[-1] else pd.RangeIndex(int(ends[-1]))
    cols = frames[0].columns
    if cols.has_duplicates or not all(f.columns.equals(cols) for f in frames[1:]):
        parts = [f.iloc[p] for f, p in zip(frames, picks, strict=True)]
        return pd.concat(parts, ignore_index=True).set_axis(index)
    is_float = np.array(
        [c not in alone and all(f[c].dtype == np.float64 for f in frames) for c in cols]
    )
    others = {  # the other columns' pieces first: each frame may go once its floats are in
        k: [f[cols[k]].iloc[p] for f, p in zip(frames, picks, strict=True)]
        for k in map(int, np.flatnonzero(~is_float))
    }
    block = np.empty((int(is_float.sum()), len(index)))  # pages touched as they are filled
    start = 0
    for i, p in enumerate(picks):
        f = frames[i]
        n = len(f) if isinstance(p, slice) else len(p)
        for j, c in enumerate(cols[is_float]):  # no view of the frame's block outlives it
            if isinstance(p, slice):
                block[j, start : start + n] = f[c].to_numpy()
            else:
                np.take(f[c].to_numpy(), p, out=block[j, start : start + n])
        start += n
        if release:  # the caller's list lets go of the frame (its block, with no other holder)
            frames[i] = frames[i].iloc[:0].copy()
        del f
    out = pd.DataFrame(block.T, columns=cols[is_float], index=index, copy=False)
    for k, col in others.items():
        out.insert(k, cols[k], pd.concat(col, ignore_index=True).set_axis(index))
    return out


def frame_rows(frames: Sequence[pd.DataFrame], rows: np.ndarray) -> list[np.ndarray]:
    """Each frame's own positions among ``rows``: increasing positions in the frames stacked
    in order (as :func:`stacked` numbers them).

    >>> f = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    >>> [p.tolist() for p in frame_rows([f, f], np.array([0, 2, 4]))]
    [[0, 2], [1]]
    """
    ends = np.cumsum([len(f) for f in frames])
    cuts = np.searchsorted(rows, ends)
    starts = np.concatenate([[0], ends[:-1]])
    return [rows[a:b] - o for a, b, o in zip([0, *cuts[:-1]], cuts, starts, strict=True)]


def taken(
    frame: pd.DataFrame, columns: Sequence[str], pick: np.ndarray, index: pd.Index
) -> pd.DataFrame:
    """``frame[columns].iloc[pick]`` indexed by ``index``, float64 columns copied once into one
    block (pandas would take them column by column, then copy them again into one block).

    >>> f = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    >>> taken(f, ["b", "a"], np.array([2, 0]), pd.Index([7, 8])).to_dict("list")
    {'b': [6.0, 4.0], 'a': [3.0, 1.0]}
    """
    cols = list(columns)
    if frame.columns.has_duplicates or not all(frame[c].dtype == np.float64 for c in cols):
        return frame[cols].iloc[pick].set_axis(index)
    block = np.empty((len(cols), len(pick)))
    for j, c in enumerate(cols):
        np.take(frame[c].to_numpy(), pick, out=block[j])
    return pd.DataFrame(block.T, columns=pd.Index(cols), index=index, copy=False)


def repeated_text(value: str, n: int) -> Any:
    """What ``frame[column] = value`` stores for a frame of ``n`` rows: when pandas keeps text
    in Arrow (its ``str`` dtype), the Arrow column made by Arrow (a wave label on five million
    rows: no Python object per row, 73 -> 28 ms); otherwise ``value`` itself (pandas
    broadcasts it)."""
    one = pd.Series([value])
    dtype = one.dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return value
    import pyarrow as pa  # type: ignore[import-untyped]

    kind = pa.array(one.array).type  # the Arrow type pandas gives this text
    return pd.array(pa.repeat(pa.scalar(value, kind), n), dtype=dtype)


def trim_memory() -> None:
    """Give the heap memory freed so far back to the system (glibc's ``malloc_trim``, and
    the unused memory of Arrow's pool, which holds pandas' ``str`` columns).

    Row-sized columns below glibc's mmap threshold live on the heap; once freed (the full
    table, after the shown rows were taken) glibc keeps them unless told, and the process
    holds that memory through every later step. Elsewhere this does nothing.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    pool = _arrow_pool()
    if pool is not None:  # text columns (pandas' str dtype) live in Arrow's own allocator
        pool.release_unused()


def _arrow_pool() -> Any:
    """Arrow's default memory pool once pyarrow is in use (pandas' ``str`` dtype), else None."""
    pa = sys.modules.get("pyarrow")
    pool = pa.default_memory_pool() if pa is not None else None
    return pool if hasattr(pool, "release_unused") else None


@functools.cache
def _libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        lib = ctypes.CDLL("libc.so.6")
        lib.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):  # not glibc (musl) or no malloc_trim
        return None
    return lib


def stacked_codings(
    scores: pd.DataFrame, community: str, coded: Sequence[IdCodes | None], sizes: Sequence[int]
) -> dict[str, GroupIndex]:
    """The codings of the stacked waves' community and wave columns that
    :func:`~collective_efficacy._groups.factorize_groups` would make, from the waves' own
    codings (:attr:`ValidatedResponses.id_codes`): the distinct labels of the waves merged
    and sorted, no hashing of a label per row. Only ``str`` labels (else factorize_groups
    codes them itself: nothing is returned for the community).

    The waves are stacked in order (baseline, end of cycle: sorted labels): the wave codes are the
    wave's position.
    """
    waves = _wave_coding(scores, sizes)
    out = {WAVE: waves} if waves is not None else {}
    col = scores[community]
    text = isinstance(col.dtype, pd.StringDtype) or col.dtype == object
    if not text or any(c is None for c in coded) or len(coded) != len(sizes):
        return out
    if any(c is None or len(c.codes) != n for c, n in zip(coded, sizes, strict=True)):
        return out  # a wave's coding is not of its scored rows
    parts = [c for c in coded if c is not None]
    if any(len(c.codes) and c.codes.min() < 0 for c in parts):
        return out
    # the waves' distinct labels coded together, sorted (the group coding's own function)
    merged = factorize_objects(
        np.concatenate([np.asarray(c.labels, dtype=object) for c in parts]), sort=True
    )
    if merged is None:  # a label that is not a ``str``
        return out
    label_codes, uniques = merged
    offsets = np.cumsum([0, *(len(c.labels) for c in parts[:-1])])
    codes = np.concatenate([label_codes[o + c.codes] for o, c in zip(offsets, parts, strict=True)])
    codes = codes.astype(np.int64, copy=False)
    index = pd.Index(uniques, dtype=col.dtype, name=community)
    counts = np.bincount(codes, minlength=len(uniques)).astype(np.int64)
    out[community] = GroupIndex(codes=codes, labels=index, counts=counts, name=str(community))
    return out


def _wave_coding(scores: pd.DataFrame, sizes: Sequence[int]) -> GroupIndex | None:
    """The wave column's coding: each wave's rows in a block, its position the code (None
    unless every wave has rows and the labels are in the sorted order of factorize_groups)."""
    labels = [BEFORE, AFTER][: len(sizes)]
    if labels != sorted(labels) or min(sizes, default=0) == 0:
        return None
    codes = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    index = pd.Index(labels, dtype=scores[WAVE].dtype, name=WAVE)
    return GroupIndex(
        codes=codes, labels=index, counts=np.asarray(sizes, dtype=np.int64), name=WAVE
    )

"""Reverse-keying specifications in the style of R psych (``keys``).

Accepted forms, for items ``SC1..SC5``:

* a list of names where a leading ``-`` marks a reversed item: ``["SC1", "-SC3"]``;
* a mapping of item to +1 / -1: ``{"SC3": -1}`` (unlisted items are +1);
* a list/array of +1 / -1 in the order of the items;
* an :class:`~collective_efficacy.instrument.Instrument` or ``Scale`` (its ``reverse`` flags).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from collective_efficacy.errors import DataError

__all__ = ["flip", "key_bounds", "parse_keys", "reverse_keyed", "split_keyed_names"]


def split_keyed_names(keys: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Split ``["SC1", "-SC3"]`` into names and a sign vector."""
    names: list[str] = []
    signs: list[float] = []
    for k in keys:
        if not isinstance(k, str):
            raise DataError(f"keys entry {k!r} is not an item name; expected e.g. 'SC1' or '-SC3'")
        if k.startswith("-"):
            names.append(k[1:])
            signs.append(-1.0)
        else:
            names.append(k[1:] if k.startswith("+") else k)
            signs.append(1.0)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"keys name item(s) {dup} more than once")
    return names, np.asarray(signs)


def parse_keys(keys: Any, items: Sequence[str]) -> np.ndarray:
    """Return a +1/-1 vector aligned with ``items`` from any accepted ``keys`` form."""
    items = list(items)
    if keys is None:
        return np.ones(len(items))
    if hasattr(keys, "reverse_keys"):  # Instrument or Scale: its flags for the items at hand
        keys = {k: v for k, v in keys.reverse_keys().items() if k in items}
    if isinstance(keys, Mapping):
        unknown = [k for k in keys if k not in items]
        if unknown:
            raise DataError(f"keys name item(s) {unknown} that are not among the items {items}")
        signs = np.ones(len(items))
        for name, sign in keys.items():
            if isinstance(sign, bool):
                sign = -1 if sign else 1
            if sign not in (1, -1):
                raise DataError(
                    f"keys[{name!r}] = {sign!r}; expected +1 or -1 (or True = reversed)"
                )
            signs[items.index(name)] = float(sign)
        return signs
    seq = list(keys)
    if all(isinstance(k, str) for k in seq):
        names, sgn = split_keyed_names(seq)
        unknown = [n for n in names if n not in items]
        if unknown:
            raise DataError(f"keys name item(s) {unknown} that are not among the items {items}")
        signs = np.ones(len(items))
        for n, s in zip(names, sgn):
            signs[items.index(n)] = s
        return signs
    arr = np.asarray(seq, dtype=float)
    if arr.shape != (len(items),) or not np.isin(arr, (1.0, -1.0)).all():
        raise DataError(f"keys {seq!r} must hold one +1/-1 per item ({len(items)} items: {items})")
    return arr


def _range_from(spec: Any, items: list[str], what: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-item (lo, hi) arrays from a (min, max) pair or a mapping item -> (min, max)."""
    if spec is None:
        return None
    k = len(items)
    if isinstance(spec, Mapping):
        unknown = [c for c in spec if c not in items]
        missing = [c for c in items if c not in spec]
        if unknown or missing:
            raise DataError(
                f"{what} must give (min, max) for every item {items}; "
                f"unknown: {unknown}, missing: {missing}"
            )
        pairs = [spec[c] for c in items]
    else:
        pairs = [spec] * k
    try:
        arr = np.asarray(pairs, dtype=np.float64).reshape(k, 2)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{what} must be (min, max) or a mapping item -> (min, max); got {spec!r}"
        ) from exc
    if not np.isfinite(arr).all() or (arr[:, 0] >= arr[:, 1]).any():
        raise DataError(f"{what} must hold finite bounds with min < max; got {spec!r}")
    return arr[:, 0].copy(), arr[:, 1].copy()


def key_bounds(
    x: np.ndarray, items: Sequence[str], keys: Any, scale_range: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The response-scale bounds (lo, hi) per item used to reverse-key ``items``.

    The one rule of the library: ``scale_range`` when given (a pair, or a mapping item ->
    pair); else, when ``keys`` is an instrument, each item's response scale (its lowest and
    highest valid code), so ``cronbach_alpha(keys=inst)`` and ``score(inst)`` agree; else the
    smallest and largest value of the whole matrix ``x`` (as ``psych::alpha`` and
    ``psych::reverse.code`` do).
    """
    items = list(items)
    bounds = _range_from(scale_range, items, "scale_range")
    if bounds is not None:
        return bounds
    lo, hi = np.full(len(items), np.nan), np.full(len(items), np.nan)
    if hasattr(keys, "response_scale") and hasattr(keys, "item_ids"):  # an Instrument
        known = set(keys.item_ids)
        for j, it in enumerate(items):
            if it in known:
                rs = keys.response_scale(it)
                lo[j], hi[j] = float(rs.min), float(rs.max)
    todo = np.isnan(lo)
    if todo.any():  # the observed range, read only when an item needs it (no copy of x)
        lo_v, hi_v = _observed_range(x)
        lo[todo], hi[todo] = lo_v, hi_v
    return lo, hi


def _observed_range(x: np.ndarray) -> tuple[float, float]:
    """Smallest and largest non-missing value of ``x`` (0, 0 when there is none)."""
    if x.size == 0:
        return 0.0, 0.0
    lo_v = float(np.fmin.reduce(x, axis=None))  # fmin/fmax skip NaN, without a filtered copy
    if np.isnan(lo_v):
        return 0.0, 0.0
    return lo_v, float(np.fmax.reduce(x, axis=None))


def reverse_keyed(x: np.ndarray, signs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    r"""``x`` with the columns whose sign is -1 reversed, :math:`x' = lo + hi - x` (a copy)."""
    rev = np.asarray(signs) < 0
    if not rev.any():
        return x
    out = np.array(x, dtype=np.float64, copy=True)
    out[:, rev] = flip(out[:, rev], lo[rev], hi[rev])
    return out


def flip(x: Any, lo: Any, hi: Any) -> Any:
    r"""The reverse-keying formula, :math:`x' = lo + hi - x` (NaN stays NaN)."""
    return lo + hi - x

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

from .errors import DataError

__all__ = ["parse_keys", "split_keyed_names"]


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

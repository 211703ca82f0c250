"""Long tables as text a row at a time: one ``%`` template per signature of cell types (private).

A per-community table has tens of thousands of rows of the same shape (a name, counts, floats
with two decimals). Rather than branching on every cell, the rows are grouped by the types of
their cells; each group's columns are converted column-wise (``map`` of a memo's lookup for
text, nothing for numbers) and every row is one ``template % cells``. ``%.2f`` and ``%d`` give
the text of ``f"{v:.2f}"`` and ``str(v)``. Rows a template could get wrong are rendered by the
caller's generic row function instead: rows of a rare signature, and rows with a float that is
not finite or lies in [-0.01, 0] (where ``-0.00`` must read ``0.00``) -- a safe superset.
The grouping (:func:`layout`) depends on the rows only: the HTML and the Markdown report of one
evaluation share it (a fifth of a long table's time).
``tests/test_report_render.py`` checks the output cell for cell against the generic formatter.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["CONSTANT", "Group", "Piece", "layout", "literal", "templated"]

#: The converter of a cell whose text is the same for every row of its type (None): its text is
#: part of the template and it is no argument.
CONSTANT: Callable[[Any], Any] = lambda v: v  # noqa: E731 -- a unique marker, never called
#: A cell type's part of the template and its converter (None: the value itself, for ``%d`` and
#: ``%.2f``; :data:`CONSTANT`: no argument); or None when the type has no template
Piece = tuple[str, Callable[[Any], Any] | None] | None

#: Fewer rows of one signature are rendered by the generic row function
MIN_ROWS = 16
#: Rows of one signature of cell types: the signature, the row numbers and, for a group large
#: enough for a template, its columns and which of its rows a template could get wrong
Group = tuple[tuple[type, ...], list[int], list[tuple[Any, ...]] | None, list[bool] | None]


def literal(text: str) -> str:
    """``text`` as a literal part of a ``%`` template."""
    return text.replace("%", "%%")


def _unsafe(cols: Sequence[Sequence[Any]], sig: tuple[type, ...]) -> np.ndarray[Any, Any]:
    """Rows with a float a template could format differently: not finite, or in [-0.01, 0]."""
    bad = np.zeros(len(cols[0]), dtype=bool)
    for k, tp in enumerate(sig):
        if tp is float:
            x = np.fromiter(cols[k], dtype=float, count=len(cols[k]))
            with np.errstate(invalid="ignore"):
                bad |= ~np.isfinite(x) | ((x <= 0.0) & (x >= -0.01))
    return bad


def layout(rows: Sequence[Sequence[Any]]) -> list[Group]:
    """``rows`` grouped by the types of their cells, in order of first occurrence."""
    groups: dict[tuple[type, ...], list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(map(type, r)), []).append(i)
    out: list[Group] = []
    for sig, idx in groups.items():
        if len(idx) < MIN_ROWS or not sig:
            out.append((sig, idx, None, None))
            continue
        cols = list(zip(*[rows[i] for i in idx]))
        out.append((sig, idx, cols, _unsafe(cols, sig).tolist()))
    return out


def templated(
    rows: Sequence[Sequence[Any]],
    piece: Callable[[type], Piece],
    generic: Callable[[Sequence[Any]], str],
    frame: tuple[str, str, str],
    groups: list[Group] | None = None,
) -> list[str]:
    """Every row as ``head + sep.join(cell texts) + tail`` (``frame``), in order.

    ``piece(type)`` gives each cell type's template part and converter; ``generic(row)`` the
    text of a row the templates do not take (the reference: a template gives its text).
    ``groups``: :func:`layout` of ``rows`` when the caller has it (made here otherwise).
    """
    head, sep, tail = frame
    out = [""] * len(rows)
    for sig, idx, cols, bad in layout(rows) if groups is None else groups:
        spec = [piece(tp) for tp in sig]
        if cols is None or bad is None or any(s is None for s in spec):
            for i in idx:
                out[i] = generic(rows[i])
            continue
        parts = [s for s in spec if s is not None]
        args = [
            col if conv is None else list(map(conv, col))
            for (_, conv), col in zip(parts, cols)
            if conv is not CONSTANT
        ]
        template = literal(head) + literal(sep).join(p for p, _ in parts) + literal(tail)
        cells = zip(*args) if args else itertools.repeat((), len(idx))
        for i, a, b in zip(idx, cells, bad):
            out[i] = generic(rows[i]) if b else template % a
    return out

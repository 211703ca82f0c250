"""Cell conversion of :func:`~collective_efficacy.responses.validate`: answers to numeric codes, ids to text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.instrument import Instrument, ResponseScale, normalize_label
from collective_efficacy.responses._checks import CHUNK, IdColumn, factorize_item, id_text
from collective_efficacy.responses._checks import Collector as _Collector


def _is_empty_column(codes: np.ndarray, uniques: Any) -> bool:
    """Every cell missing, or every cell a blank string (from a column's factorisation)."""
    if not (codes >= 0).any():
        return True
    if (codes < 0).any():
        return False
    return all(isinstance(u, str) and u.strip() == "" for u in uniques)


def _expected_codes(rs: ResponseScale) -> str:
    codes = (
        f"integer {rs.min}-{rs.max}"
        if rs.codes == list(range(rs.min, rs.max + 1))
        else (f"one of {rs.codes}")
    )
    if rs.missing:
        codes += f" or missing code {'/'.join(str(c) for c in rs.missing)}"
    langs = ", ".join(rs.labels)
    return f"{codes}, or an answer label ({langs})" if langs else codes


def _labels_to_codes(rs: ResponseScale, value_labels: Mapping[Any, str] | None) -> dict[str, float]:
    """Normalised answer label -> code: the scale's labels, then SPSS/Stata value labels."""
    codes_of_label = rs.label_map()
    if value_labels:  # SPSS/Stata value labels: their labels map to their codes
        for code, lab in value_labels.items():
            try:
                code_f = float(code)
            except (TypeError, ValueError):  # a code that is no number answers nothing
                continue  # (as check_value_labels skips it)
            codes_of_label.setdefault(normalize_label(lab), code_f)
    return codes_of_label


def _prints_alike(raw: pd.Series, uniq_codes: np.ndarray, status: np.ndarray) -> bool:
    """Whether the missing-code cells that factorise alike also print alike: a text or integer
    column, or an object column whose missing-code cells are all text (C-speed check). Equal
    values of different types (``9``, ``9.0``, ``Decimal("9.00")``) or signed zeros do not."""
    kind = raw.dtype.kind
    if isinstance(raw.dtype, pd.StringDtype) or kind in "iub":
        return True
    if kind != "O":
        return False
    cells = raw.iloc[np.flatnonzero(status.take(uniq_codes) == 1)]
    return bool(pd.api.types.infer_dtype(cells, skipna=False) == "string")


def _missing_code_counts(
    raw: pd.Series, uniq_codes: np.ndarray, status: np.ndarray
) -> dict[str, int]:
    """Cells per missing-code text, most frequent first (ties: the text seen first first):
    ``raw[missing].astype(str).str.strip().value_counts()``, with the text made from one cell
    per distinct value (the column's factorisation) instead of from every cell where the cells
    of one value all print alike (text or integers; not ``9`` beside ``9.0``, or ``-0.0``)."""
    if not _prints_alike(raw, uniq_codes, status):
        miss = status.take(uniq_codes) == 1
        per_cell = raw[miss].astype(str).str.strip().value_counts()
        return {str(k): int(v) for k, v in per_cell.items()}
    distinct = len(status) - 1  # the last slot is the sentinel for missing cells
    per_value = np.bincount(uniq_codes[uniq_codes >= 0], minlength=distinct)
    first = np.full(distinct, len(uniq_codes), dtype=np.intp)  # each value's first cell
    cells = np.flatnonzero(uniq_codes >= 0)
    np.minimum.at(first, uniq_codes[cells], cells)
    values = sorted(np.flatnonzero(status[:distinct] == 1), key=lambda v: first[v])
    texts = _stripped_texts(raw, first[values])  # the same conversion, per value
    counts: dict[str, int] = {}
    for text, v in zip(texts, values):
        counts[text] = counts.get(text, 0) + int(per_value[v])
    return {str(k): n for k, n in sorted(counts.items(), key=lambda kv: -kv[1])}  # stable


#: up to this many cells are read one by one (a few missing codes per column)
_FEW_TEXTS = 16


def _stripped_texts(raw: pd.Series, rows: np.ndarray) -> list[Any]:
    """``raw.iloc[rows].astype(str).str.strip().tolist()``, read cell by cell (no Series made,
    converted and stripped per column: 0.3 ms each) when the cells are few and all text that
    starts and ends with a printable ASCII character: nothing to strip then, by Python's or
    Arrow's idea of white space alike."""
    if len(rows) <= _FEW_TEXTS:
        arr = raw.array
        cells = [arr[int(r)] for r in rows]
        if all(isinstance(c, str) and c and _plain(c[0]) and _plain(c[-1]) for c in cells):
            return [str(c) for c in cells]  # a str subclass (numpy's) as astype(str) gives it
    return list(raw.iloc[rows].astype(str).str.strip().tolist())


def _plain(ch: str) -> bool:
    return "!" <= ch <= "~"


def _convert_column(
    raw: pd.Series,
    rs: ResponseScale,
    column: str,
    value_labels: Mapping[Any, str] | None,
    col: _Collector,
    recoded: dict[str, dict[str, int]],
    factorized: tuple[np.ndarray, Any] | None = None,
) -> np.ndarray:
    """Codes as float (NaN = missing); problems recorded; bad cells become NaN.

    ``factorized`` is ``pd.factorize(raw, use_na_sentinel=True)`` when the caller has it.
    """
    codes_of_label: dict[str, float] | None = None  # built on the first label (numbers need none)
    valid = {float(c) for c in rs.codes}  # set membership: what np.isin answered per value
    missing_codes = {float(c) for c in rs.missing}
    uniq_codes, uniques = (
        factorized if factorized is not None else pd.factorize(raw, use_na_sentinel=True)
    )
    mapped = np.full(len(uniques), np.nan)
    status = np.zeros(len(uniques), dtype=np.int8)  # 0 ok, 1 missing, 2 blank, 3 range, 4 label
    for i, u in enumerate(uniques):  # loop over distinct values (few), not rows
        if isinstance(u, (bool, np.bool_)):
            status[i] = 3
            continue
        num: float | None = None
        if isinstance(u, (int, float, np.integer, np.floating)):
            num = float(u)
        else:
            text = str(u).strip()
            if text == "":
                status[i] = 2
                continue
            try:
                num = float(text.replace(",", "."))
            except ValueError:
                if codes_of_label is None:
                    codes_of_label = _labels_to_codes(rs, value_labels)
                key = normalize_label(text)
                if key in codes_of_label:
                    val = codes_of_label[key]
                    mapped[i] = val
                    status[i] = 1 if np.isnan(val) else 0
                else:
                    status[i] = 4
                continue
        if num is not None:
            if np.isnan(num):
                status[i] = 2
            elif num in valid:
                mapped[i] = num
            elif num in missing_codes:
                status[i] = 1
            else:
                status[i] = 3
    found = set(status.tolist())  # every distinct value occurs: a kind absent here is absent
    # append a sentinel slot for NaN cells: code -1 takes the last slot
    mapped = np.append(mapped, np.nan)
    status = np.append(status, np.int8(2))
    out = mapped.take(uniq_codes)
    cell_status = status.take(uniq_codes)
    if 1 in found:
        recoded[column] = _missing_code_counts(raw, uniq_codes, status)
    for kind, code in ((3, "out_of_range"), (4, "unknown_label")):
        sel = np.flatnonzero(cell_status == kind) if kind in found else np.zeros(0, np.intp)
        if sel.size:
            mask = np.zeros(len(raw), dtype=bool)
            mask[sel] = True
            col.add(
                code,
                column,
                mask,
                raw.iloc[sel].tolist(),
                expected=_expected_codes(rs),
                hint="Check the spelling of the answer labels" if kind == 4 else "",
            )
    return out


_CHUNK = CHUNK  # rows per pass of the numeric checks and of the output gather


def _float_view(raw: pd.Series) -> np.ndarray | None:
    """A numeric column as float64 (a view of a float64 column, strided or not); else None."""
    if not (isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iuf"):
        return None
    return raw.to_numpy(dtype=np.float64)


def _numeric_codes(raw: pd.Series, rs: ResponseScale) -> np.ndarray | None:
    """A float or integer column whose cells are all valid codes or missing, as float64.

    The common case of a clean numeric column, without a copy of a float64 column (the array
    is only read -- also a strided column of a row-major block: the output takes its usable
    rows); None (the general path, :func:`_convert_column`, decides) when any cell is a
    missing code, out of range or not finite, so that problems and recoded missing codes are
    reported by one path.
    """
    x = _float_view(raw)
    return None if x is None else _numeric_checked([x], rs.codes)[0]


def _numeric_checked(xs: list[np.ndarray], valid: list[int]) -> list[np.ndarray | None]:
    """Each float64 column if all its cells are ``valid`` codes or NaN, else None.

    Codes that are consecutive integers (every scale of the bundled instruments) are checked
    by reductions that skip NaN (``fmin``/``fmax``, and no fraction), over row chunks of all
    columns at once: the columns of one row-major block share their cache lines, so the block
    is read once, and no temporary is larger than a chunk. Columns of one row-major block
    (:func:`row_major`) are checked together, a chunk of the block's rows as one contiguous
    run of cells (strided reductions of one column are several times slower); only a chunk
    where that fails is checked column by column.
    """
    codes = np.asarray(valid, dtype=np.float64)
    if not (codes.size and np.array_equal(codes, codes[0] + np.arange(codes.size))):
        out: list[np.ndarray | None] = []
        for x in xs:
            ok = np.isnan(x)
            for code in valid:
                ok |= x == code
            out.append(x if bool(ok.all()) else None)
        return out
    lo_code, hi_code = float(codes[0]), float(codes[-1])
    good = [True] * len(xs)
    n = len(xs[0]) if xs else 0
    blocks = row_major(xs)
    for lo in range(0, n, _CHUNK):
        for block, js, _ in blocks:
            if len(js) > 1 and _codes_only(block[lo : lo + _CHUNK], lo_code, hi_code):
                continue  # every cell of the chunk (of all its columns) a code or NaN
            for j in js:
                if good[j]:
                    good[j] = _codes_only(xs[j][lo : lo + _CHUNK], lo_code, hi_code)
    return [x if ok else None for x, ok in zip(xs, good)]


def _codes_only(part: np.ndarray, lo: float, hi: float) -> bool:
    """Whether every cell of ``part`` is NaN or a whole number in ``[lo, hi]``."""
    low, high = (
        np.fmin.reduce(part, axis=None, initial=np.inf),
        np.fmax.reduce(part, axis=None, initial=-np.inf),
    )
    if not (low >= lo and high <= hi):
        return False
    frac = np.floor(part)
    np.subtract(part, frac, out=frac)  # in range: a whole number is a code
    return not np.fmax.reduce(frac, axis=None, initial=0.0) > 0


def row_major(xs: list[np.ndarray]) -> list[tuple[np.ndarray, list[int], list[int]]]:
    """The columns grouped by the row-major float64 block they are strided views of.

    Each group: a 2-D view of the block's rows and of the columns from the group's first to
    its last (other columns between them come along: they are only read), the positions in
    ``xs`` of its columns and their columns in that view. A column that is no such view is a
    group of its own (itself, ``[j]``, ``[0]``).
    """
    groups: dict[tuple[int, int, int], list[int]] = {}
    spans: dict[tuple[int, int, int], tuple[np.ndarray, int, int]] = {}
    alone: list[tuple[np.ndarray, list[int], list[int]]] = []
    where: list[int] = [0] * len(xs)
    for j, x in enumerate(xs):
        base = x.base
        row = x.strides[0] if x.ndim == 1 else 0
        if not (
            isinstance(base, np.ndarray)
            and base.ndim == 2
            and base.dtype == np.float64
            and x.dtype == np.float64
            and base.flags.c_contiguous
            and row == base.strides[0] > 8
        ):
            alone.append((x, [j], [0]))
            continue
        offset = x.ctypes.data - base.ctypes.data
        first, column = divmod(offset, row)
        if offset < 0 or column % 8 or first + len(x) > base.shape[0]:
            alone.append((x, [j], [0]))  # pragma: no cover - a view of the block is in it
            continue
        key = (id(base), first, len(x))
        groups.setdefault(key, []).append(j)
        where[j] = column // 8
        left, right = spans.get(key, (base, column // 8, column // 8))[1:]
        spans[key] = (base, min(left, column // 8), max(right, column // 8))
    out = alone
    for key, js in groups.items():
        base, left, right = spans[key]
        view = base[key[1] : key[1] + key[2], left : right + 1]
        out.append((view, js, [where[j] - left for j in js]))
    return out


def _empty_column(col: _Collector, column: str, item: str, n: int) -> None:
    col.add(
        "empty_column",
        column,
        None,
        n=n,
        expected=f"answers to item {item!r}",
        hint="The column is entirely empty; is it the right column?",
    )


def _convert_items(
    data: pd.DataFrame,
    out: dict[str, Any],
    inst: Instrument,
    item_ids: list[str],
    item_to_col: dict[str, str],
    value_labels: Mapping[str, Mapping[Any, str]],
    col: _Collector,
) -> dict[str, dict[str, int]]:
    """Each item's codes into ``out`` (float, NaN = missing); the recoded missing codes."""
    recoded: dict[str, dict[str, int]] = {}
    views = {
        i: x
        for i in item_ids
        if item_to_col[i] in data.columns and (x := _float_view(data[item_to_col[i]])) is not None
    }
    by_scale: dict[tuple[int, ...], list[str]] = {}
    for i in views:  # columns of one scale checked together (one pass over a shared block)
        by_scale.setdefault(tuple(inst.response_scale(i).codes), []).append(i)
    fast = {
        i: x
        for codes, ids in by_scale.items()
        for i, x in zip(ids, _numeric_checked([views[i] for i in ids], list(codes)))
    }
    for i in item_ids:
        c = item_to_col[i]
        x = fast.get(i)
        if x is not None:  # numbers that are all answer codes or missing: no hashing
            if _all_missing(x):
                _empty_column(col, c, i, len(data))
            out[i] = x
            continue
        factorized = factorize_item(data[c], c, col) if c in data.columns else None
        if factorized is None:
            out[i] = np.full(len(data), np.nan)
            continue
        if _is_empty_column(*factorized):  # distinct values once, not a copy of every cell
            _empty_column(col, c, i, len(data))
        out[i] = _convert_column(
            data[c], inst.response_scale(i), c, value_labels.get(c), col, recoded, factorized
        )
    return recoded


def _all_missing(x: np.ndarray) -> bool:
    """Whether every cell of ``x`` is NaN, chunk by chunk: an answered column stops at its first
    chunk (a reduction over a whole strided column of a row-major block reads the block)."""
    return all(bool(np.isnan(x[lo : lo + _CHUNK]).all()) for lo in range(0, len(x), _CHUNK))


def _id_columns(
    data: pd.DataFrame,
    id_cols: list[str],
    community: str | None,
    wave: str | None,
    col: _Collector,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The id columns as text, coded (the wave as given); the community labels normalised."""
    out: dict[str, Any] = {}
    relabelled: dict[str, str] = {}
    for c in id_cols:
        if c == wave:  # the column pandas makes of the cells (its dtype inferred as before)
            out[c] = pd.Series(data[c].to_numpy(), index=data.index)
            continue
        alone = c != community and wave is None  # respondent ids: only their repeats matter
        coded, changed = id_text(data, c, col, normalise=c == community, repeats_only=alone)
        n = len(data)
        out[c] = coded if coded is not None else IdColumn(np.full(n, -1), np.zeros(0, object))
        relabelled = changed if c == community else relabelled
    return out, relabelled


def _taken(value: Any, rows: np.ndarray, index: pd.Index, codes: Any = None) -> pd.Series:
    """One column's usable ``rows`` as a Series on ``index`` (its dtype as the full column's);
    ``codes``: an id column's codes of ``rows`` when the caller has them."""
    if isinstance(value, IdColumn):
        text = value.text(rows, codes)
        kind = object if isinstance(text, np.ndarray) else None  # str objects stay objects
        return pd.Series(text, index=index, dtype=kind, copy=False)
    if isinstance(value, pd.Series):  # the wave, date and weight columns
        return pd.Series(value.array.take(rows), index=index, dtype=value.dtype, copy=False)
    return pd.Series(np.take(value, rows), index=index, copy=False)


def output_frame(
    parts: dict[str, Any],
    index: pd.Index,
    rows: np.ndarray,
    item_ids: list[str],
    codes: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """The usable ``rows`` of every column, in order; the items as one float64 block.

    Each cell is copied once (the caller's arrays are only read), the items straight into one
    contiguous block (column after column), not column by column and then consolidated.
    ``codes``: the id columns' codes of ``rows``, by column, when the caller has them.
    """
    kept = index[rows]
    names = list(parts)
    codes = codes or {}
    items = [i for i in item_ids if i in parts and isinstance(parts[i], np.ndarray)]
    start = names.index(items[0]) if items else 0
    if not items or names[start : start + len(items)] != items:  # not one run: column by column
        frame = pd.DataFrame(index=kept)
        for name, value in parts.items():
            frame[name] = _taken(value, rows, kept, codes.get(name))
        return frame
    block = np.empty((len(items), len(rows)))
    _gather([np.asarray(parts[i], dtype=np.float64) for i in items], rows, len(index), block)
    frame = pd.DataFrame(block.T, index=kept, columns=items, copy=False)
    for k, name in enumerate(names[:start]):
        frame.insert(k, name, _taken(parts[name], rows, kept, codes.get(name)))
    for name in names[start + len(items) :]:
        frame[name] = _taken(parts[name], rows, kept, codes.get(name))
    return frame


def _gather(columns: list[np.ndarray], rows: np.ndarray, n: int, block: np.ndarray) -> None:
    """``block[j] = columns[j][rows]`` (``rows`` increasing, of ``n``), in row chunks of all
    columns: a row-major block's cache lines are read once, not once per column (np.take would
    copy a strided column whole first). When few rows are dropped, a chunk is a slice of a run
    of kept rows (no index array is read, a strided copy instead of a gather)."""
    gone = dropped_rows(n, rows)
    if gone is None:
        for lo in range(0, len(rows), _CHUNK):
            part = rows[lo : lo + _CHUNK]
            for j, x in enumerate(columns):
                block[j, lo : lo + _CHUNK] = x[part]
        return
    dst = 0
    for src, end in zip(np.append(0, gone + 1).tolist(), np.append(gone, n).tolist()):
        for lo in range(src, end, _CHUNK):  # a run of kept rows, chunk by chunk
            hi = min(lo + _CHUNK, end)
            for j, x in enumerate(columns):
                block[j, dst : dst + hi - lo] = x[lo:hi]
            dst += hi - lo


def dropped_rows(n: int, rows: np.ndarray) -> np.ndarray | None:
    """The positions of ``range(n)`` not in ``rows`` (increasing), when they are few (at most
    one in 64); else None.

    >>> dropped_rows(128, np.delete(np.arange(128), [1, 4])).tolist()
    [1, 4]
    """
    if n - len(rows) > n >> 6:
        return None
    dropped = np.ones(n, dtype=bool)
    dropped[rows] = False
    return np.flatnonzero(dropped)


def kept_codes(ids: IdColumn, rows: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
    """``pd.factorize`` codes of an id column's usable ``rows`` from the codes of all rows.

    The codes of all rows number the ids in order of first appearance; those of the usable
    rows keep that order, with gaps (ids whose rows were all excluded: closed by renumbering
    the codes that occur, in one pass) and, when an id's first row was excluded, perhaps out
    of order (checked in one pass: each new code is the running maximum plus one; only then
    are the codes ranked by their first row). When few rows are dropped only the ids whose
    first row was dropped are looked at (:func:`_few_dropped`). ``taken``: the codes of
    ``rows`` when the caller has them. Returned read-only.

    >>> ids = IdColumn(np.array([0, 1, 0, 2, 3]), np.zeros(0, dtype=object))
    >>> kept_codes(ids, np.array([1, 2, 4])).tolist()
    [0, 1, 2]
    """
    assert ids.codes is not None
    codes = np.asarray(ids.codes[rows] if taken is None else taken, dtype=np.int64)
    few = _few_dropped(ids.codes, codes, rows) if codes.size else None
    if few is not None:
        codes = few
    elif codes.size:
        present = np.zeros(int(codes.max()) + 1, dtype=bool)
        present[codes] = True
        if not present.all():
            codes = (np.cumsum(present) - 1)[codes]
        top = np.maximum.accumulate(codes)
        if codes[0] != 0 or int(np.diff(top).max(initial=0)) > 1:  # ranked by first row
            first = np.full(int(top[-1]) + 1, codes.size)
            np.minimum.at(first, codes, np.arange(codes.size))
            rank = np.empty(first.size, dtype=np.int64)
            rank[np.argsort(first)] = np.arange(first.size)
            codes = rank[codes]
    codes.flags.writeable = False
    return codes


def _few_dropped(codes: np.ndarray, kept: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """:func:`kept_codes` of ``kept`` (``codes[rows]``) when few rows are dropped; else None.

    First-appearance codes: a row is its code's first exactly when its code exceeds every code
    before it, so the dropped first rows are found from one maximum per run of kept rows. The
    codes keep their order unless such a row was dropped; then only those codes move: each to
    its first kept row ``r``, i.e. right after the largest code before ``r`` (codes up to it
    appear before ``r``, larger ones after), and the codes are ranked once (their number, not
    the rows). Kept rows never have code -1 (rows without an id are dropped).
    """
    gone = dropped_rows(len(codes), rows)
    if gone is None:
        return None
    if not gone.size:
        return kept
    before, n_codes = _maxima_before(codes, gone)
    lost = codes[gone][codes[gone] > before]  # codes whose first row was dropped
    if not lost.size:
        return kept
    moved = np.zeros(n_codes, dtype=bool)
    moved[lost] = True
    hit = np.flatnonzero(moved[kept])  # kept rows of those codes (a lookup in a small table)
    back, at = np.unique(kept[hit], return_index=True)  # codes that keep a row; first one
    again = rows[hit[at]]
    order = np.argsort(again)
    back, again = back[order], again[order]
    key = 2 * np.arange(n_codes, dtype=np.int64)  # a code's place; a moved code's, odd:
    key[back] = 2 * _maxima_before(codes, again)[0] + 1  # right after the largest before it
    tie = np.zeros(n_codes, dtype=np.int64)  # moved codes after the same code: by their row
    tie[back] = again
    ranked = np.lexsort((tie, key))
    present = ~moved
    present[back] = True
    ranked = ranked[present[ranked]]
    rank = np.full(n_codes, -1, dtype=np.int64)
    rank[ranked] = np.arange(ranked.size)
    return rank[kept]


def _maxima_before(codes: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, int]:
    """The largest code before each position of ``at`` (increasing; -1 before the first
    row), from one maximum per run between them; and the number of codes (the largest + 1)."""
    bounds = np.append(0, at)
    seg = np.maximum.reduceat(codes, bounds)  # codes[bounds[k]:bounds[k + 1]], the last to the end
    n_codes = int(seg.max()) + 1
    seg = seg[:-1]
    seg[bounds[:-1] == bounds[1:]] = -1  # an empty run (reduceat gives its first code)
    return np.maximum.accumulate(seg), n_codes

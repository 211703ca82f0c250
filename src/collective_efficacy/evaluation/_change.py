"""The change model inside :func:`~collective_efficacy.evaluate` (private).

Fits :func:`~collective_efficacy.change_model` (``score ~ change + (1 + change | community)``,
REML; ``+ (1 | respondent)`` when some respondents answer in both waves; ``programme *
change`` with comparison communities) on the scored respondents of the communities shown in
their wave (disclosure control: published pooled figures see nothing else) and stores three
sections: ``change_model`` (per community: EB change, interval, p_improved, reliability,
verdict), ``change_model_fixed`` (lmerTest's fixed-effects table) and ``change_model_fit``
(variance components, fit criteria, whether the verdicts use it). The per-community rows follow
the evaluation's suppression (community table incl. secondary suppression, and the ``change``
section): a hidden community carries no statistic and no count.

When the model cannot be used for the verdicts (an error, no verified optimum,
fewer than :data:`MIN_COMMUNITIES` communities measured in both waves) ``change_model`` is left
out and ``notes["change_model"]`` says why; the report then falls back to the simultaneous
intervals of the raw differences, and says so.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from collective_efficacy._groups import factorize_groups
from collective_efficacy._messages import Note
from collective_efficacy.errors import CollectiveEfficacyError, DataError
from collective_efficacy.evaluation._sections import AFTER, BEFORE, WAVE, records
from collective_efficacy.evaluation._stack import trim_memory
from collective_efficacy.prepared import PreparedSurvey
from collective_efficacy.responses._ids import ids_as_text, normalise_labels

if TYPE_CHECKING:
    from collective_efficacy.evaluation._inputs import Inputs

__all__ = [
    "COMPARISON",
    "MIN_COMMUNITIES",
    "change_model_sections",
    "check_comparison",
    "comparison_column",
    "comparison_values",
    "in_both_waves",
    "shown_in_both",
]

COMPARISON = "_comparison"
_RESPONDENT = "_respondent"
#: Fewer communities with both waves than this: the between-community variance of the change
#: is not estimable with any precision, so the verdicts fall back to the per-community rule.
MIN_COMMUNITIES = 5
_TRUE, _FALSE = {"true", "yes", "ja", "1", "1.0"}, {"false", "no", "nee", "0", "0.0"}
# counts a hidden community must not show (as the change section)
_COUNTS = ("n_before", "n_after", "n_missing", "programme")


def _flags(values: pd.Series, what: str) -> np.ndarray:
    """0/1, True/False (also as text, yes/no, ja/nee) as 1.0/0.0; missing stays NaN."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        out = pd.to_numeric(values, errors="coerce").astype(np.float64).to_numpy()
    else:
        text = values.astype("string").str.strip().str.lower()
        out = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
        out[text.isna().to_numpy()] = np.nan
        bad = text.notna().to_numpy() & np.isnan(out)
        if bad.any():
            raise DataError(
                f"{what}: value(s) {list(pd.unique(values[bad]))[:5]}; expected 1/True for a "
                "comparison community (no programme) and 0/False for a programme community",
                argument="comparison",
            )
    return out


def comparison_values(
    comparison: str | pd.DataFrame | Path,
    raw: pd.DataFrame,
    used: pd.Index,
    community_labels: pd.Series,
    *,
    community: Sequence[str],
    label: str,
) -> np.ndarray:
    """The comparison flag (1.0/0.0) of each used row of one wave.

    ``comparison`` is a column of the survey file (a ``str``), or a table (a DataFrame, or a
    :class:`~pathlib.Path` to a file :func:`read_responses` reads) with the community column and
    one 0/1 column (every community of the survey must be in it).
    """
    if isinstance(comparison, str):
        if comparison not in raw.columns:
            raise DataError(
                f"comparison column {comparison!r} is not in the {label} data; columns are "
                f"{list(raw.columns)}",
                argument="comparison",
            )
        return _flags(raw.loc[used, comparison], f"comparison column {comparison!r}")
    table = comparison
    if not isinstance(table, pd.DataFrame):
        from collective_efficacy.responses.io import read_responses

        table = read_responses(table, id_columns=list(community))
    key = next((c for c in community if c in table.columns), None)
    other = [c for c in table.columns if c != key]
    if key is None or len(other) != 1:
        raise DataError(
            f"the comparison table needs the community column {community[0]!r} and one 0/1 "
            f"column; it has {list(table.columns)}",
            argument="comparison",
        )
    community = [key]
    text, mixed = ids_as_text(table[key])
    if text is None:
        raise DataError(f"community ids of the comparison table mix types: {mixed}")
    keys, _ = normalise_labels(text)
    flag = pd.Series(_flags(table[other[0]], f"comparison table column {other[0]!r}"), index=keys)
    if flag.index.duplicated().any():
        dup = flag.index[flag.index.duplicated()].unique().tolist()[:5]
        raise DataError(f"the comparison table lists community(ies) {dup} more than once")
    out = community_labels.map(flag).to_numpy(dtype=np.float64)
    missing = pd.unique(community_labels[np.isnan(out)])
    if missing.size:
        raise DataError(
            f"the comparison table has no 0/1 value for {missing.size} community(ies) of the "
            f"{label} data, e.g. {list(missing[:5])}; expected every community",
            argument="comparison",
        )
    return out


def comparison_column(
    comparison: str | pd.DataFrame | Path,
    inp: Inputs,
    community: Mapping[str, str],
    scores: pd.DataFrame,
) -> np.ndarray:
    """The comparison flag of every scored row of both waves (aligned with ``scores``).

    ``community`` is the community column of each wave; the scores name it as the baseline
    does. A comparison table may name its community column either way.
    """
    names = list(dict.fromkeys((community[BEFORE], community[AFTER])))
    if isinstance(comparison, Path):  # a table file: read once for both waves
        from collective_efficacy.responses.io import read_responses

        comparison = read_responses(comparison, id_columns=names)
    out = np.empty(len(scores))
    waves = scores[WAVE].to_numpy()
    for label in (BEFORE, AFTER):  # the two waves, not a loop over rows
        rows = waves == label
        out[rows] = comparison_values(
            comparison,
            inp.raw[label],
            inp.used_rows[label],
            scores.loc[rows, community[BEFORE]],
            community=names,
            label=label,
        )
    return out


def check_comparison(data: pd.DataFrame, community: str, what: str) -> None:
    """One comparison value per community, and both kinds of community (else no DiD)."""
    g = data.groupby(community, observed=True)[COMPARISON].agg(["min", "max"])
    varies = g.index[g["min"] != g["max"]]
    if len(varies):
        raise DataError(
            f"{what} varies within {len(varies)} community(ies), e.g. {list(varies[:5])}; "
            "expected one value per community (1 = comparison community, 0 = programme)",
            argument="comparison",
        )
    if g["min"].nunique() < 2:
        kind = "comparison" if bool(g["min"].iloc[0]) else "programme"
        raise DataError(
            f"{what}: every community is a {kind} community; expected both programme and "
            "comparison communities",
            argument="comparison",
        )


def _hidden(sections: dict[str, list[dict[str, Any]]], community: str) -> dict[Any, str | None]:
    """Communities the evaluation hides in any wave, with the reason the change table gives
    (both waves' reasons joined), else the first the community table gives."""
    out: dict[Any, str | None] = {}
    for name in ("change", "community_scores"):
        for r in sections.get(name, []):
            if r.get("suppressed") and r.get("level", "community") != "overall":
                out.setdefault(r[community], r.get("reason") or None)
    return out


def _per_community(
    comm: pd.DataFrame, sections: dict[str, list[dict[str, Any]]], community: str
) -> pd.DataFrame:
    hidden = _hidden(sections, community)
    # each community's place among the hidden ones (-1: shown), one hashed lookup
    at = pd.Index(list(hidden), dtype=object).get_indexer(comm[community].to_numpy(dtype=object))
    hide = comm["suppressed"].to_numpy(dtype=bool) | (at >= 0)
    stats = [c for c in comm.columns if c not in (community, "suppressed", "reason", *_COUNTS)]
    stats.remove("confidence")
    cols: dict[str, Any] = {c: comm[c] for c in comm.columns}  # column by column, one frame
    for c in stats:  # a hidden community has no statistics (NaN, as pandas would upcast)
        vals = comm[c].to_numpy()
        kind = vals.dtype.kind
        if not hide.any() and c != "verdict":
            continue
        vals = vals.astype(np.float64 if kind in "iu" else object) if kind not in "f" else vals
        vals = vals.copy()
        vals[hide] = None if c == "verdict" else np.nan
        cols[c] = vals
    for c in _COUNTS:
        if c in cols:
            cols[c] = _hidden_counts(comm[c], hide)
    # the evaluation's reason wins over the model's: the model saw a community suppressed in a
    # wave as having no respondents there, which a report must not claim beside its score
    reason = comm["reason"].to_numpy(dtype=object, copy=True)
    # the hidden one's reason, NaN where none (as ``Series.map`` of the dict gives)
    given = np.array([*(np.nan if v is None else v for v in hidden.values()), np.nan], object)[at]
    fill = pd.isna(reason) | (hide & pd.notna(given))
    reason[fill] = given[fill]
    cols["reason"] = reason
    cols["suppressed"] = hide
    return pd.DataFrame(cols, index=comm.index)


def _hidden_counts(counts: pd.Series, hide: np.ndarray) -> Any:
    """A count column with the hidden communities' counts missing: integers as pandas' Int64
    (masked; the records hold the same int or None as of an object column, converted by
    column instead of cell by cell), another dtype as objects with None."""
    if isinstance(counts.dtype, np.dtype) and counts.dtype.kind == "i":
        return pd.arrays.IntegerArray(counts.to_numpy().astype(np.int64), hide.copy())
    vals = counts.to_numpy(dtype=object, copy=True)
    vals[hide] = None
    return vals


def store_change_model(
    m: Any, sections: dict[str, Any], notes: dict[str, Any], community: str
) -> None:
    """The fitted change model into the sections: fit row, fixed effects, per-community rows
    (the last two only when they may be used; otherwise the note says why)."""
    # a boundary fit is used: its intervals integrate over the covariance parameters and keep
    # their coverage there (docs/methods/change-model.md, "Why a boundary fit no longer falls
    # back"); only a fit without a verified optimum falls back
    why = Note("change_model_not_converged") if not m.converged else ""
    sections["change_model_fit"] = [_fit_row(m, not why, str(why))]
    if not m.converged:
        notes["change_model"] = why
        return
    sections["change_model_fixed"] = records(m.fixed)
    sections["change_model"] = records(_per_community(m.communities, sections, community))


def _fit_row(m: Any, used: bool, why: str) -> dict[str, Any]:
    vc = m.variance_components
    return {
        "formula": m.formula,
        "method": m.method,
        **{k: getattr(vc, k, None) for k in ("var_intercept", "var_change", "cov", "corr")},
        "sigma2": vc.sigma2,
        "var_respondent": getattr(vc, "var_respondent", None),
        "loglik": m.loglik,
        "aic": m.aic,
        "bic": m.bic,
        "converged": m.converged,
        "boundary": m.boundary,
        "n_obs": m.n_obs,
        "n_communities": m.n_communities,
        "n_respondents": m.n_respondents,
        "n_repeated": m.n_repeated,
        "used_for_verdicts": used,
        "not_used_because": why or None,
    }


def _answers_twice(ids: pd.Series, before: np.ndarray, rows: np.ndarray | None = None) -> bool:
    """Whether some respondent id among ``ids.iloc[rows]`` (default: all) occurs in both waves
    (``before`` marks the baseline's rows among them), hashing, not sorting, the ids and
    without copying the ids of the rows first.

    Arrow-backed text (pandas' ``str`` dtype): Arrow's hashed membership test on the column's
    own data, filtered by full-length masks, without a Python string per id. Other ids: a set
    of the baseline's ids and one pass over the others (Python caches a string's hash;
    ``Series.isin`` on object ids is many times slower).
    """
    if isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow":
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        if rows is None:
            rows = np.arange(len(ids))
        arr = pa.array(ids.array)  # the column's Arrow data, no copy
        whole = _whole_keys(arr)
        if whole is not None:  # short ids without nulls: one integer each, no text copied
            return _hashed_overlap(whole[rows[before]], whole[rows[~before]])
        mask = np.zeros(len(ids), dtype=bool)
        mask[rows[before]] = True
        first = arr.filter(pa.array(mask)).drop_null()
        mask[:] = False
        mask[rows[~before]] = True
        second = arr.filter(pa.array(mask)).drop_null()
        keys = _short_id_keys(first, second)
        if keys is not None:  # ids of at most 8 bytes: sorted integers, no hashing of text
            return _sorted_overlap(*keys)
        return bool(pc.any(pc.is_in(second, value_set=first)).as_py())
    values = ids.to_numpy()
    if rows is None:
        rows = np.arange(len(ids))
    b = set(pd.Series(values[rows[before]]).dropna().tolist())
    return bool(b) and not b.isdisjoint(pd.Series(values[rows[~before]]).dropna().tolist())


def in_both_waves(first: pd.Series, second: pd.Series) -> bool:
    """Whether some id of ``first`` (one wave's respondent ids) is in ``second`` (the other
    wave's), without stacking the ids when they are short Arrow text: their integer keys
    (:func:`_short_id_keys`, one encoding for both) compared by :func:`_hashed_overlap`."""
    arrow = [
        isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"
        for s in (first, second)
    ]
    if all(arrow):
        import pyarrow as pa

        arrs = [pa.array(s.array) for s in (first, second)]
        chunks = [a.chunks if isinstance(a, pa.ChunkedArray) else [a] for a in arrs]
        if all(c and not a.null_count for a, c in zip(arrs, chunks, strict=True)):
            keys = _short_id_keys(*chunks[0], *chunks[1])
            if keys is not None:
                n = len(chunks[0])
                return _hashed_overlap(np.concatenate(keys[:n]), np.concatenate(keys[n:]))
    ids = pd.concat([first, second], ignore_index=True)
    return _answers_twice(ids, np.arange(len(ids)) < len(first))


def _whole_keys(arr: Any) -> np.ndarray | None:
    """:func:`_short_id_keys` of a whole (possibly chunked) id column without nulls, chunk by
    chunk (no combined copy of the text); None when an id is missing or too long."""
    import pyarrow as pa

    if arr.null_count:
        return None
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    keys = _short_id_keys(*chunks) if chunks else None
    if keys is None:
        return None
    return keys[0] if len(keys) == 1 else np.concatenate(keys)


#: odd multipliers of the Fibonacci-style hashes of :func:`_hashed_overlap`, one per round
_HASH_FACTORS = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)
#: buckets of its bitmap at most: 16 MB, about the size of the last-level cache
_HASH_BITS = 24
#: survivors few enough to compare exactly at once
_FEW_KEYS = 1 << 16


def _hashed_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the uint64 arrays share a value: each array in turn is kept to its values whose
    hash bucket the other fills (a bitmap of at most 2^24 buckets, reused: in cache, not a
    fresh page per write), a new hash each round, until the survivors are few or stop
    shrinking; those are compared exactly (:func:`_sorted_overlap`). A value shared is never
    dropped (its bucket is filled by the other array's copy of it).

    >>> _hashed_overlap(np.array([1, 5, 9], np.uint64), np.array([4, 9], np.uint64))
    True
    >>> _hashed_overlap(np.array([1, 5], np.uint64), np.array([4, 8], np.uint64))
    False
    """
    if not a.size or not b.size:
        return False
    bits = min(max(int(max(a.size, b.size)).bit_length() + 4, 10), _HASH_BITS)
    shift = np.uint64(64 - bits)
    filled = np.zeros(1 << bits, dtype=bool)
    for k in itertools.count():
        if min(a.size, b.size) <= _FEW_KEYS:
            break
        factor = np.uint64(_HASH_FACTORS[k % len(_HASH_FACTORS)])
        fill, keep = (a, b) if k % 2 == 0 else (b, a)  # filter each array in turn
        filled[:] = False
        # the top bits of value * factor, as int64 (an index numpy need not convert first)
        filled[((fill * factor) >> shift).view(np.int64)] = True
        kept = keep[filled[((keep * factor) >> shift).view(np.int64)]]
        if not kept.size:
            return False
        shrunk = kept.size < keep.size * 3 // 4
        a, b = (a, kept) if k % 2 == 0 else (kept, b)
        if not shrunk and k:  # shared values (both arrays stopped shrinking): compare them
            break
    return _sorted_overlap(a, b)


def _utf8_parts(arr: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """The byte lengths and the bytes (in order) of an Arrow ``string`` / ``large_string``
    array without nulls (views of its buffers); None for another type."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    wide = {pa.string(): np.int32, pa.large_string(): np.int64}.get(arr.type)
    if wide is None:
        return None
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=wide)[arr.offset : arr.offset + len(arr) + 1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    return np.diff(off).astype(np.int64), raw[int(off[0]) : int(off[-1])]


def _short_id_keys(*arrays: Any) -> list[np.ndarray] | None:
    """Each text array's ids as one uint64 each, equal exactly when the ids are equal: the
    bytes zero-padded to 8, and the length in the last byte unless every id has the same
    length (at most 8). None when an id is longer (7 bytes with mixed lengths)."""
    parts = [_utf8_parts(a) for a in arrays]
    if any(p is None for p in parts):
        return None
    lens = [p[0] for p in parts if p is not None and p[0].size]
    if not lens:
        return [np.empty(0, np.uint64) for _ in arrays]
    lo, hi = min(int(x.min()) for x in lens), max(int(x.max()) for x in lens)
    if hi > 8 or (lo != hi and hi > 7):
        return None
    out = []
    for n, data in (p for p in parts if p is not None):
        buf = np.zeros((n.size, 8), dtype=np.uint8)
        if lo == hi:
            buf[:, :hi] = data.reshape(n.size, hi)
        else:
            buf[np.arange(8) < n[:, None]] = data  # row by row, as the bytes lie
            buf[:, 7] = n
        out.append(buf.view(np.uint64).ravel())
    return out


def _sorted_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether the integer arrays share a value (both sorted, then one binary search each)."""
    if not a.size or not b.size:
        return False
    sa, sb = np.sort(a), np.sort(b)
    at = np.minimum(np.searchsorted(sa, sb), sa.size - 1)
    return bool((sa[at] == sb).any())


def _respondent_note(exc: DataError) -> Note:
    """Why the respondent term was dropped, in plain words when the engine's reason is
    technical (the respondent variance cannot be separated: few repeat respondents)."""
    text = str(exc)
    if "rank deficient" in text or "not identifiable" in text:
        return Note("change_model_respondent_few")
    return Note("change_model_respondent", detail=text)


def shown_in_both(table: pd.DataFrame, community: str) -> int:
    """The number of communities shown in both waves of the community table.

    A shown community has at least ``min_n`` scored respondents (``aggregate``'s ``n`` counts
    the valid scores), so these are the communities with scores in both waves among the
    shown respondents, counted on the table instead of on a million rows.
    """
    shown = table.loc[~table["suppressed"].to_numpy(dtype=bool), [community, "wave"]]
    per = shown.drop_duplicates()[community].value_counts(sort=False)
    return int((per == 2).sum())


def change_model_sections(
    scores: pd.DataFrame,
    scale: str,
    community: str,
    *,
    respondent_ids: pd.Series | None,
    comparison: str | None,
    ci: float,
    min_n: int,
    sections: dict[str, list[dict[str, Any]]],
    notes: dict[str, str],
    n_both: int,
    step: Callable[[str], None] | None = None,
    skip: bool = False,
) -> None:
    """Fit the change model and store its sections (see the module docstring).

    ``scores`` are the respondents of the communities shown in their wave (published pooled
    figures see nothing else, see :mod:`collective_efficacy.disclosure`); ``respondent_ids``
    (indexed as the full scores) add ``(1 | respondent)`` when some
    respondent answers in both waves. ``comparison`` names where the comparison flags (column
    :data:`COMPARISON`) came from, for messages; an inconsistent flag is the caller's mistake
    and is checked on the full scores by :func:`check_comparison` first. ``n_both`` is the
    number of communities shown in both waves (:func:`shown_in_both`): those with scores in
    both waves among ``scores``.
    """
    from collective_efficacy.multilevel.change_model import change_model

    if step is not None:
        step("change model")
    if skip:  # weighted evaluation: the note says why (multilevel models take no weights)
        return
    # rows without a score stay in: change_model drops and counts them (n_missing), as the
    # change section and the out-of-core path count them
    cols = [community, WAVE, scale] + ([COMPARISON] if comparison is not None else [])
    data = scores[cols]
    if comparison is not None and data[COMPARISON].nunique() < 2:
        notes["change_model_comparison"] = Note("change_model_comparison")
        comparison = None
    panel = None
    if respondent_ids is not None:
        # scores may be a subset (shown communities): their positions among the ids
        rows = respondent_ids.index.get_indexer(data.index)
        if _answers_twice(respondent_ids, (data[WAVE] == BEFORE).to_numpy(), rows):
            panel = _RESPONDENT
            data[panel] = respondent_ids.to_numpy()[rows]  # copied only for a panel
    if n_both < MIN_COMMUNITIES:
        notes["change_model"] = Note("change_model_too_few", k=MIN_COMMUNITIES)
        return
    trim_memory()  # the id test's arrays are freed: the model starts from less
    kw: dict[str, Any] = {"dv": scale, "community": community, "wave": WAVE, "ci": ci}
    kw |= {"before": BEFORE, "after": AFTER, "min_n": min_n}
    kw |= {"comparison": COMPARISON if comparison else None}
    prep = PreparedSurvey(data)  # the community coding of the scores, restricted to these rows
    prep.get(
        ("factorize_groups", community),
        lambda: factorize_groups(scores, community, what="community"),
    )
    try:
        try:
            with prep:
                m = change_model(data, respondent=panel, **kw)
        except DataError as exc:
            if panel is None:
                raise
            # e.g. a respondent who moved community, or too few answering twice
            with prep:
                m = change_model(data, **kw)
            notes["change_model_respondent"] = _respondent_note(exc)
    except CollectiveEfficacyError as exc:
        notes["change_model"] = Note("change_model_failed", detail=str(exc))
        return
    store_change_model(m, sections, notes, community)

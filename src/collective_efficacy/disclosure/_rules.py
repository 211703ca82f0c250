"""Suppression of small communities (private; the public names are in the package)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import COLUMN, FRAME, MAPPING, Interval, public
from collective_efficacy.impact import EVIDENCE_COLUMNS
from collective_efficacy.prepared import lookup

__all__ = [
    "ABSENT_REASON",
    "HIDDEN_WHEN_SUPPRESSED",
    "SECONDARY_REASON",
    "hide_suppressed",
    "one_pattern",
    "publishable_table",
    "secondary_suppression",
    "shown_respondents",
]

#: The reason of a community suppressed to protect a smaller one (no count in it: a count
#: would give away the hidden communities' n).
SECONDARY_REASON = "secondary suppression: protects smaller communities"
#: The reason of a community that has no respondents in a wave (its n, 0, is no secret).
ABSENT_REASON = "no respondents in this wave"

_STATS = ["mean", "sd", "se", "ci_low", "ci_high"]

#: Per-community columns blanked on a suppressed row, by section of an evaluation.
HIDDEN_WHEN_SUPPRESSED: dict[str, list[str]] = {
    "community_scores": ["n", *_STATS],
    "community_agreement": ["n", "rwg_j", "ad"],
    "change": ["n_before", "n_after", "n_missing", "n_paired", "n_attrition"],
    "impact": [
        "n",
        "cohesion_score",
        "partner_cooperation",
        "group_development",
        *EVIDENCE_COLUMNS,
    ],
}


_MIN_N = Interval(Integral, 1, None)
#: a community table beside respondent rows (or counts): its community and wave columns
_TWO_FRAMES: dict[str, list[Any]] = {"table": [FRAME], "community": [COLUMN], "wave": [COLUMN]}


@public(
    constraints={"table": [FRAME], "community": [COLUMN], "wave": [COLUMN, None], "min_n": [_MIN_N]}
)
def secondary_suppression(
    table: pd.DataFrame, *, community: str, wave: str | None = "wave", min_n: int = 10
) -> pd.DataFrame:
    """Also suppress the smallest shown community of every wave that has a community
    suppressed for size.

    Parameters
    ----------
    table : DataFrame
        Community scores as :func:`~collective_efficacy.aggregate` returns them (``n``,
        ``suppressed``, ``reason`` and the statistics), one row per community, wave and scale.
        Not modified.
    community : str
        The community column.
    wave : str or None, default="wave"
        The wave column (None: one wave). Each wave and scale is treated on its own.
    min_n : int
        The privacy threshold.

    Returns
    -------
    DataFrame
        A copy with the chosen communities' statistics blanked, ``suppressed=True`` and
        ``reason`` :data:`SECONDARY_REASON`. ``n`` is kept (blank it with
        :func:`publishable_table` before publishing).

    Notes
    -----
    The suppressed communities of a wave then never form a pool of fewer than ``min_n``
    respondents, so a published total minus the shown communities cannot isolate them (the
    classic secondary cell suppression of tabular statistics; Hundepool et al., 2012,
    *Statistical Disclosure Control*, ch. 4). The rule depends only on *which* communities are
    below ``min_n``, never on how many respondents they hold: a rule that suppressed a second
    community only when the small ones hold fewer than ``min_n`` together would tell that
    they do (two communities below 10 with a secondary suppression hold 8 or fewer each; nine
    hold one each).

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.disclosure import secondary_suppression
    >>> t = pd.DataFrame({"buurt": ["A", "B", "C"], "n": [30, 40, 4], "mean": [3.1, 3.4, None],
    ...                   "suppressed": [False, False, True], "reason": ["", "", "fewer than 10"]})
    >>> secondary_suppression(t, community="buurt", wave=None, min_n=10)["suppressed"].tolist()
    [True, False, True]
    """
    out = table.copy()
    n = out["n"].to_numpy(dtype=float)
    sup = out["suppressed"].to_numpy(dtype=bool)
    small = sup & ~out["reason"].isin([ABSENT_REASON, SECONDARY_REASON]).to_numpy()
    keys = [out[c] for c in (wave, "scale") if c is not None and c in out.columns]
    # waves x scales, each on its own (a row with a missing wave or scale in none of them)
    group = group_codes(keys, keep_na=False) if keys else np.zeros(len(out), dtype=np.int64)
    rows = np.zeros(len(out), dtype=bool)
    rows[smallest_shown(n, ~sup, group, wanted=group_any(small, group))] = True
    suppress_rows(out, rows, SECONDARY_REASON)
    return out


def group_codes(columns: Sequence[Any], *, keep_na: bool) -> np.ndarray:
    """Codes ``0..G-1`` of the rows by the values of ``columns`` together, in order of first
    appearance (the groups of ``groupby(columns, sort=False)``). A missing value is a label of
    its own with ``keep_na`` (``dropna=False``); otherwise its row gets -1."""
    size = len(columns[0])
    code = np.zeros(size, dtype=np.int64)
    missing = np.zeros(size, dtype=bool)
    for col in columns:  # a community and a wave column, never communities
        k, labels = pd.factorize(col, use_na_sentinel=not keep_na)
        missing |= k < 0
        code = pd.factorize(code * (len(labels) + 1) + (k + 1))[0]
    if missing.any():
        code[missing] = -1
        code[~missing] = pd.factorize(code[~missing])[0]
    return code


def group_any(flag: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group code (of :func:`group_codes`, -1 left out): whether any of its rows is flagged."""
    ok = group >= 0
    size = int(group.max()) + 1 if group.size else 0
    out: np.ndarray = np.bincount(group[ok], weights=flag[ok], minlength=size) > 0
    return out


def smallest_shown(
    n: np.ndarray, shown: np.ndarray, group: np.ndarray, *, wanted: np.ndarray
) -> np.ndarray:
    """Positions of the shown row with the smallest ``n`` of every group ``g`` with
    ``wanted[g]`` and a shown row (the first of equals; a missing n counts as the smallest,
    as :func:`numpy.argmin` takes it). Groups are codes of :func:`group_codes`; -1: none."""
    rows = np.flatnonzero(shown & (group >= 0))
    key = np.where(np.isnan(n[rows]), -np.inf, n[rows])
    rows = rows[np.lexsort((rows, key, group[rows]))]  # by group, then n, then position
    g = group[rows]
    first = np.ones(rows.size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    pick = rows[first]
    out: np.ndarray = pick[wanted[group[pick]]]
    return out


def suppress_rows(out: pd.DataFrame, rows: np.ndarray, reason: Any) -> None:
    """Blank, in place, the statistics of the rows of mask ``rows`` and mark them suppressed
    with ``reason`` (one text, or one per row of ``rows``)."""
    if not rows.any():
        return
    # whole columns where the dtype allows it (a masked .loc assignment costs a millisecond)
    for c in [c for c in _STATS if c in out.columns]:
        if out[c].dtype == np.float64:
            values = out[c].to_numpy(dtype=float, copy=True)
            values[rows] = np.nan
            out[c] = values
        else:
            out.loc[rows, c] = np.nan
    if out["suppressed"].dtype == bool:
        out["suppressed"] = out["suppressed"].to_numpy() | rows
    else:
        out.loc[rows, "suppressed"] = True
    kind = out["reason"].dtype
    if kind == np.dtype(object) or isinstance(kind, pd.StringDtype):
        text = out["reason"].to_numpy(dtype=object, copy=True)
        text[rows] = reason
        out["reason"] = pd.Series(text, index=out.index, dtype=kind)
    else:
        out.loc[rows, "reason"] = reason


@public(constraints={"scores": [FRAME], **_TWO_FRAMES, "table_wave": [COLUMN]})
def shown_respondents(
    scores: pd.DataFrame, table: pd.DataFrame, *, community: str, wave: str, table_wave: str
) -> pd.DataFrame:
    """The respondents of the communities shown in their wave: the only input of pooled
    statistics that are published.

    ``scores`` has one row per respondent with ``community`` and ``wave`` columns; ``table``
    the community scores after suppression (column ``table_wave`` for the wave). Rows of a
    community suppressed in a wave are dropped for that wave only.

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.disclosure import shown_respondents
    >>> s = pd.DataFrame({"c": ["A", "A", "B"], "w": ["x", "y", "x"], "v": [1.0, 2.0, 3.0]})
    >>> t = pd.DataFrame({"c": ["A", "A", "B"], "wave": ["x", "y", "x"],
    ...                   "suppressed": [False, True, False]})
    >>> shown_respondents(s, t, community="c", wave="w", table_wave="wave")["v"].tolist()
    [1.0, 3.0]
    """
    keep = shown_mask(scores, table, community=community, wave=wave, table_wave=table_wave)
    if keep.all():  # nothing hidden: the rows as they are (no copy of a million rows)
        return scores.copy(deep=False)
    return scores[keep]


def shown_mask(
    scores: pd.DataFrame, table: pd.DataFrame, *, community: str, wave: str, table_wave: str
) -> np.ndarray:
    """The rows :func:`shown_respondents` keeps, as a mask (for a caller that takes those
    rows from elsewhere, e.g. the columns of the waves' own frames)."""
    ok = table.loc[~table["suppressed"].to_numpy(dtype=bool), [community, table_wave]]
    keep = _prepared_keep(scores, ok, community, wave, table_wave)
    return keep if keep is not None else _keep(scores, ok, community, wave, table_wave)


def _keep(
    scores: pd.DataFrame, ok: pd.DataFrame, community: str, wave: str, table_wave: str
) -> np.ndarray:
    """The rows of ``scores`` whose (community, wave) is a row of ``ok``."""
    waves = scores[wave]
    # the labels coded once (one hashing pass), then per wave (a handful) a lookup by code:
    # no (community, wave) index of a million rows
    codes, uniques = pd.factorize(scores[community], use_na_sentinel=False)  # NA: a label
    keep = np.zeros(len(scores), dtype=bool)
    for w, shown in ok.groupby(table_wave, sort=False, dropna=False)[community]:
        in_wave = waves.isna() if pd.isna(w) else waves == w
        hit = pd.Index(uniques).isin(pd.unique(shown.to_numpy(dtype=object)))
        keep |= in_wave.to_numpy(dtype=bool, na_value=False) & hit[codes]
    return keep


def _prepared_keep(
    scores: pd.DataFrame, ok: pd.DataFrame, community: str, wave: str, table_wave: str
) -> np.ndarray | None:
    """:func:`_keep` from the community and wave codings of a preparation of ``scores``
    (:mod:`.prepared`; no label is hashed per row), or None when it holds none. Prepared
    codings have no missing label, so the two agree."""
    gi = lookup(scores, ("factorize_groups", community))
    gw = lookup(scores, ("factorize_groups", wave))
    if gi is None or gw is None:
        return None
    ci = gi.labels.get_indexer(ok[community].to_numpy(dtype=object))
    wi = gw.labels.get_indexer(ok[table_wave].to_numpy(dtype=object))
    hit = (ci >= 0) & (wi >= 0)
    cell = np.zeros(gi.n_groups * gw.n_groups, dtype=bool)  # communities x waves (a handful)
    cell[ci[hit] * gw.n_groups + wi[hit]] = True
    out: np.ndarray = cell[gi.codes * gw.n_groups + gw.codes]
    return out


@public(constraints={"sections": [MAPPING]})
def hide_suppressed(sections: Mapping[str, list[dict[str, Any]]]) -> None:
    """Blank, in place, the n, ratings and evidence of every suppressed per-community record.

    Overall rows (``level == "overall"``) are pooled over shown communities and kept.

    Examples
    --------
    >>> from collective_efficacy.disclosure import hide_suppressed
    >>> s = {"community_scores": [{"c": "A", "n": 4, "suppressed": True}]}
    >>> hide_suppressed(s)
    >>> s["community_scores"][0]["n"] is None
    True
    """
    for name, cols in HIDDEN_WHEN_SUPPRESSED.items():
        for rec in sections.get(name, []):  # a plain loop: as quick as map / compress in C
            if rec.get("suppressed") and rec.get("level") != "overall":
                for c in cols:
                    if c in rec:
                        rec[c] = None


@public(
    constraints={"table": [FRAME], "community": [COLUMN], "wave": [COLUMN, None], "min_n": [_MIN_N]}
)
def one_pattern(
    table: pd.DataFrame, *, community: str, wave: str | None = "wave", min_n: int = 10
) -> pd.DataFrame:
    """One suppression pattern per community and wave across all scales, then secondary
    suppression on that pattern.

    A community suppressed for size on any scale of a wave is suppressed (for size) on every
    scale of that wave; then in every wave with such a community the shown community with the
    smallest n (its smallest n over the scales) is secondarily suppressed on every scale
    (:func:`secondary_suppression` on one row per community and wave).

    Parameters
    ----------
    table : DataFrame
        Community scores with ``scale``, ``n``, ``suppressed``, ``reason`` and the statistics
        (one row per community, wave and scale). Not modified.
    community : str
        The community column.
    wave : str or None, default="wave"
        The wave column (None: one wave).
    min_n : int
        The privacy threshold.

    Returns
    -------
    DataFrame
        A copy in which every community of a wave is shown on all scales or on none.

    Notes
    -----
    Suppression per scale leaks: a community with 10 respondents of whom one skipped items of
    one scale is suppressed there (n = 9) but shown on the others, so its n is bounded, and a
    mean shown on two related scales gives the suppressed third (collective efficacy is the
    mean of the social cohesion and informal social control items). With one pattern the
    shown communities are the same on every scale and no scale's figures involve a hidden one.

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.disclosure import one_pattern
    >>> t = pd.DataFrame({"buurt": ["A", "A", "B", "B", "C", "C"], "scale": ["x", "y"] * 3,
    ...                   "n": [30, 30, 25, 25, 10, 9], "mean": [3.0, 3.1, 2.9, 3.2, 2.0, None],
    ...                   "suppressed": [False, False, False, False, False, True],
    ...                   "reason": ["", "", "", "", "", "fewer than 10 respondents"]})
    >>> one_pattern(t, community="buurt", wave=None, min_n=10)["suppressed"].tolist()
    [False, False, True, True, True, True]
    """
    waves = [table[wave]] if wave is not None else []
    pairs = group_codes([table[community], *waves], keep_na=True)
    wave_codes = group_codes(waves, keep_na=False) if waves else np.zeros(len(table), np.int64)
    return pattern_of_groups(table, pairs, wave_codes)


def pattern_of_groups(table: pd.DataFrame, pairs: np.ndarray, waves: np.ndarray) -> pd.DataFrame:
    """:func:`one_pattern` on group codes (:func:`group_codes`): ``pairs`` codes the rows by
    community and wave (missing labels kept), ``waves`` by wave (-1: a missing wave, which
    takes no part in secondary suppression)."""
    out = table.copy()
    size = int(pairs.max()) + 1 if pairs.size else 0
    reason = out["reason"].fillna("").astype(str).to_numpy(dtype=object)
    sup = out["suppressed"].to_numpy(dtype=bool)
    small = sup & ~np.isin(reason, [ABSENT_REASON, SECONDARY_REASON])
    # a community suppressed for size on one scale: on all, with its (one) size reason
    hit = group_any(small, pairs)[pairs] & ~small
    text, rank = np.unique(np.where(small, reason, ""), return_inverse=True)
    top = np.zeros(size, dtype=np.int64)
    np.maximum.at(top, pairs, rank.reshape(-1))
    first = text[top][pairs]
    # secondary suppression on one row per community and wave (n: its smallest over scales)
    now = np.where(hit, first, out["reason"].to_numpy(dtype=object))
    sup_now = sup | hit
    one_reason = group_first(now, pairs, size)
    one_sup = group_any(sup_now, pairs)
    one_small = one_sup & ~np.isin(one_reason, [ABSENT_REASON, SECONDARY_REASON])
    heads = np.unique(pairs, return_index=True)[1]  # each pair's first row: its wave
    one_wave = waves[heads]
    chosen = smallest_shown(
        group_min(out["n"].to_numpy(dtype=float), pairs, size),
        ~one_sup,
        one_wave,
        wanted=group_any(one_small, one_wave),
    )
    newly = one_reason == SECONDARY_REASON
    newly[chosen] = True
    pick = newly[pairs] & (now != SECONDARY_REASON) & ~sup_now
    suppress_rows(out, hit | pick, np.where(hit, first, SECONDARY_REASON)[hit | pick])
    return out


def group_first(values: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    """Per group: its first value that is not missing (None when all are), as ``first``."""
    ok = np.flatnonzero(pd.notna(values))
    out = np.full(size, None, dtype=object)
    codes, at = np.unique(group[ok], return_index=True)
    out[codes] = values[ok[at]]
    return out


def group_min(n: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    """Per group: its smallest n (missing n left out; NaN when all are missing), as ``min``."""
    ok = ~np.isnan(n)
    out = np.full(size, np.inf)
    np.minimum.at(out, group[ok], n[ok])
    out[np.bincount(group[ok], minlength=size) == 0] = np.nan
    return out


@public(
    constraints={"table": [FRAME], "community": [COLUMN], "wave": [COLUMN, None], "min_n": [_MIN_N]}
)
def publishable_table(
    table: pd.DataFrame, *, community: str, wave: str | None = None, min_n: int = 10
) -> pd.DataFrame:
    """A table of community scores as it may be published: one suppression pattern per
    community and wave over the scales, secondary suppression on it (:func:`one_pattern`) and
    no n of a suppressed community (``n`` becomes a nullable integer column).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> from collective_efficacy.disclosure import publishable_table
    >>> s = pd.DataFrame({"buurt": ["A"] * 12 + ["B"] * 15 + ["C"] * 3, "ce": [3.0] * 30})
    >>> t = publishable_table(ce.aggregate(s, community="buurt", min_n=10),
    ...                       community="buurt", min_n=10)
    >>> t[["buurt", "n", "suppressed"]].to_dict("records")
    [{'buurt': 'A', 'n': None, 'suppressed': True}, {'buurt': 'B', 'n': 15, 'suppressed': False}, {'buurt': 'C', 'n': None, 'suppressed': True}]
    """
    out = one_pattern(table, community=community, wave=wave, min_n=min_n)
    sup = out["suppressed"].to_numpy(dtype=bool)
    out["n"] = out["n"].astype("Int64")
    out.loc[sup & ~(out["reason"] == ABSENT_REASON).to_numpy(), "n"] = pd.NA
    return out

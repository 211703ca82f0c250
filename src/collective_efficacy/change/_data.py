"""Input checking and per-community moments for :mod:`collective_efficacy.change` (private)."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice, check_columns, numeric_matrix
from collective_efficacy._groups import factorize_groups
from collective_efficacy._moments import group_moments
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.multilevel._change_design import _after_arrow

__all__ = [
    "Moments",
    "Pairs",
    "TwoWaves",
    "moments",
    "pair_up",
    "prepare",
    "suppression",
    "text_columns",
    "wave_moments",
]

OVERALL = "overall"
_PANDAS3 = int(pd.__version__.split(".")[0]) >= 3
_STR = pd.array([], dtype="str").dtype if _PANDAS3 else None


def text_columns(out: pd.DataFrame, cols: list[str]) -> None:
    """Give text columns one dtype whatever their content (missing = NaN/None), in place."""
    for c in cols:
        # a column of the very dtype it would get (pandas 3's str) is that column already
        if c in out and not (_PANDAS3 and out[c].dtype == _STR):
            vals = np.array(out[c].to_numpy(), dtype=object)
            vals[pd.isna(vals)] = None
            out[c] = (
                pd.array(vals, dtype="str")
                if _PANDAS3
                else pd.Series(vals, dtype=object, index=out.index)
            )


@dataclass(frozen=True)
class TwoWaves:
    """The usable rows of a two-wave data set (valid score, wave before or after)."""

    y: np.ndarray  # scores of the rows used (no NaN)
    after: np.ndarray  # bool: row belongs to the after wave
    codes: np.ndarray  # community code per used row
    labels: pd.Index  # community label per code
    community: str  # name of the community column ("community" when None was given)
    n_missing: np.ndarray  # per community: rows in either wave with a missing score
    ids: np.ndarray | None  # paired_on ids of the used rows


@dataclass(frozen=True)
class Moments:
    """Per-community count, mean and unbiased variance."""

    n: np.ndarray
    mean: np.ndarray
    var: np.ndarray


@dataclass(frozen=True)
class Pairs:
    """Respondents with a score in both waves (same community)."""

    codes: np.ndarray
    before: np.ndarray
    after: np.ndarray


def _refuse_missing(scores: pd.DataFrame, column: str, role: str, what: str, expected: str) -> None:
    """A :class:`DataError` naming the rows where ``column`` is missing, if there are any."""
    miss = scores[column].isna().to_numpy()
    if miss.any():
        raise DataError(
            f"{role} column {column!r} has {int(miss.sum())} missing {what}(s) at "
            f"{rows_in(scores, miss)}; expected {expected} on every row"
        )


def wave_masks(
    scores: pd.DataFrame, wave: str, before: Hashable, after: Hashable
) -> tuple[np.ndarray, np.ndarray]:
    """The before and after rows; every row must carry one of the two (different) labels."""
    if before == after:
        raise DataError(f"before and after must be different wave labels; both are {before!r}")
    w = scores[wave]
    fast = _after_arrow(w, before, after)  # an arrow text column: one pass, no missing label
    if fast is not None:
        return ~fast, fast
    _refuse_missing(scores, wave, "wave", "label", f"{before!r} or {after!r}")
    is_b = (w == before).to_numpy(dtype=bool)
    is_a = (w == after).to_numpy(dtype=bool)
    other = ~(is_b | is_a)
    if other.any():
        vals = sorted({str(v) for v in w[other].unique()})[:10]
        raise DataError(
            f"wave column {wave!r}, {rows_in(scores, other)}: a label "
            f"that is neither before={before!r} nor after={after!r} (values {vals}). Filter the "
            "data to the two waves to compare, or pass the right before=/after= labels."
        )
    return is_b, is_a


def prepare(
    scores: pd.DataFrame,
    dv: str,
    *,
    wave: str,
    community: str | None,
    before: Hashable,
    after: Hashable,
    nan_policy: str,
    paired_on: str | None = None,
) -> TwoWaves:
    """Validate the inputs of a two-wave comparison and return the usable rows."""
    check_choice("nan_policy", nan_policy, ["omit", "raise"])
    cols = [dv, wave] + ([community] if community is not None else [])
    cols += [paired_on] if paired_on is not None else []
    check_columns(scores, cols)
    is_a = wave_masks(scores, wave, before, after)[1]
    y = numeric_matrix(scores, [dv])[:, 0]
    ymiss = np.isnan(y)
    if ymiss.any() and nan_policy == "raise":
        raise DataError(
            f"column {dv!r} has {int(ymiss.sum())} missing score(s) at "
            f"{rows_in(scores, ymiss)}; expected a score on every row (or nan_policy='omit')"
        )
    if community is None:
        codes_all = np.zeros(len(scores), dtype=np.int64)
        labels = pd.Index([OVERALL], name="community")
        name = "community"
    else:
        gi = factorize_groups(scores, community, what="community")
        codes_all, labels, name = gi.codes, gi.labels, gi.name
    ids = None
    if paired_on is not None:
        idcol = scores[paired_on]
        _refuse_missing(scores, paired_on, "paired_on", "id", "a respondent id")
        key = pd.DataFrame({"w": is_a, "id": idcol.to_numpy()})
        dup = key.duplicated(keep=False).to_numpy()
        if dup.any():
            vals = list(pd.unique(idcol[dup]))[:5]
            raise DataError(
                f"paired_on column {paired_on!r}: id(s) {vals} occur more than once within a wave "
                f"({rows_in(scores, dup)}); expected each respondent at most once per wave"
            )
        ids = idcol.to_numpy()
    n_groups = len(labels)
    n_missing = np.bincount(codes_all[ymiss], minlength=n_groups)
    keep = ~ymiss
    return TwoWaves(
        y=y[keep],
        after=is_a[keep],
        codes=codes_all[keep],
        labels=labels,
        community=name,
        n_missing=n_missing,
        ids=None if ids is None else ids[keep],
    )


def moments(y: np.ndarray, codes: np.ndarray, n_groups: int) -> Moments:
    """Count, mean and unbiased variance per group (two-pass, by bincount)."""
    mom = group_moments(y, codes, n_groups)
    return Moments(n=mom.n, mean=mom.mean, var=mom.var)


def wave_moments(tw: TwoWaves) -> tuple[Moments, Moments, Moments, Moments]:
    """Per-community moments of the before and after rows, and the pooled moments of each
    wave: the wave as a second code, so each group's sums are those of :func:`moments` on
    that wave's rows, added in the same order (identical results, no copy of either wave)."""
    side = tw.after.view(np.uint8)
    g = len(tw.labels)
    both = moments(tw.y, tw.codes * 2 + side, 2 * g)
    pooled = moments(tw.y, side, 2)
    per = [Moments(n=both.n[w::2], mean=both.mean[w::2], var=both.var[w::2]) for w in (0, 1)]
    one = [
        Moments(n=pooled.n[w : w + 1], mean=pooled.mean[w : w + 1], var=pooled.var[w : w + 1])
        for w in (0, 1)
    ]
    return per[0], per[1], one[0], one[1]


def pair_up(tw: TwoWaves) -> Pairs:
    """Pairs of scores of the same respondent in the same community (pandas merge)."""
    if tw.ids is None:  # pragma: no cover - guarded by the caller
        raise DataError("pairing needs paired_on ids")
    frame = pd.DataFrame({"code": tw.codes, "id": tw.ids, "y": tw.y})
    b = frame[~tw.after]
    a = frame[tw.after]
    m = b.merge(a, on=["code", "id"], suffixes=("_b", "_a"), sort=False)
    return Pairs(
        codes=m["code"].to_numpy(dtype=np.int64),
        before=m["y_b"].to_numpy(dtype=np.float64),
        after=m["y_a"].to_numpy(dtype=np.float64),
    )


def suppression(
    n_b: np.ndarray, n_a: np.ndarray, min_n: int, *, n_pairs: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Suppression flag and reason per community (small or missing waves); no reason is None."""
    reason = np.full(n_b.shape, None, dtype=object)
    sup = np.zeros(n_b.shape, dtype=bool)
    checks: list[tuple[np.ndarray, str]] = [
        (n_b == 0, "no respondents in the before wave"),
        (n_a == 0, "no respondents in the after wave"),
        ((n_b > 0) & (n_b < min_n), f"n_before below min_n={min_n}"),
        ((n_a > 0) & (n_a < min_n), f"n_after below min_n={min_n}"),
    ]
    if n_pairs is not None:
        checks.append(
            ((n_b >= min_n) & (n_a >= min_n) & (n_pairs < min_n), f"n_paired below min_n={min_n}")
        )
    for mask, text in checks:
        new = mask & ~sup
        reason[new] = text
        both = mask & sup & (reason != text)
        reason[both] = reason[both] + "; " + text
        sup |= mask
    return sup, reason

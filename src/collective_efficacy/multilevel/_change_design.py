"""The design of the change model (private): rows, fixed-effect columns, programme and panel.

Checks and codes the input of :func:`collective_efficacy.change_model` (see there): the wave
or time column, the covariates, the comparison column (constant within a community) and the
respondent ids of a panel (nested in communities, once per wave). Everything vectorised over
rows; nothing loops over communities.
"""

from __future__ import annotations

import importlib
from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._groups import factorize_groups
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError

__all__ = ["Design", "design"]


@dataclass(frozen=True)
class Design:
    y: np.ndarray
    X: np.ndarray
    t: np.ndarray
    codes: np.ndarray
    labels: pd.Index
    names: list[str]
    programme: np.ndarray | None  # per community, bool
    n_missing: np.ndarray  # per community: rows with a missing dv
    n_excluded_covariates: int
    after: np.ndarray | None  # two waves: the row is in the after wave
    resp: np.ndarray | None = None  # respondent code per used row (panel)
    n_respondents: int | None = None
    n_repeated: int | None = None  # respondents with more than one used row


def _covariates(data: pd.DataFrame, covariates: list[str]) -> np.ndarray:
    """Numeric covariate matrix; booleans become 0/1 (the caller's frame is not modified)."""
    if not covariates:
        return np.empty((len(data), 0))
    frame = pd.DataFrame(
        {
            c: data[c].astype(np.float64) if pd.api.types.is_bool_dtype(data[c]) else data[c]
            for c in covariates
        },
        index=data.index,
    )
    return numeric_matrix(frame, covariates)


def _outcome(data: pd.DataFrame, dv: str) -> np.ndarray:
    """The outcome as float64: a read-only view of a plain numeric column (no copy), else
    :func:`numeric_matrix` (which converts and names non-numeric or infinite cells)."""
    col = data[dv]
    if isinstance(col, pd.Series) and isinstance(col.dtype, np.dtype) and col.dtype.kind in "iuf":
        y = col.to_numpy(dtype=np.float64).view()
        if not y.size or (np.isfinite(np.fmin.reduce(y)) and np.isfinite(np.fmax.reduce(y))):
            y.flags.writeable = False  # the caller's data: never written
            return y
    out: np.ndarray = numeric_matrix(data, [dv])[:, 0]
    return out


def _programme(data: pd.DataFrame, comparison: str, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Per community: True for a programme community (comparison False/0 on all its rows)."""
    col = data[comparison]
    miss = col.isna().to_numpy()
    if miss.any():
        raise DataError(
            f"comparison column {comparison!r} has missing values at {rows_in(data, miss)}; "
            "expected True/1 (comparison community) or False/0 (programme) on every row"
        )
    vals = col.to_numpy()
    if pd.api.types.is_bool_dtype(col):
        comp = vals.astype(bool)
    else:
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isin(num, [0.0, 1.0])
        if bad.any():
            raise DataError(
                f"comparison column {comparison!r}: value(s) {list(pd.unique(vals[bad]))[:5]} at "
                f"{rows_in(data, bad)}; expected True/1 (comparison community) or False/0"
            )
        comp = num == 1.0
    n = np.bincount(codes, minlength=n_groups)
    k = np.bincount(codes, weights=comp.astype(np.float64), minlength=n_groups)
    varies = (k > 0) & (k < n)
    if varies.any():
        rows = varies[codes]
        raise DataError(
            f"comparison column {comparison!r} varies within {int(varies.sum())} community(ies) "
            f"({rows_in(data, rows)}); expected one value per community (it marks whole "
            "communities that had no programme)"
        )
    prog = k == 0
    if prog.all() or not prog.any():
        raise DataError(
            f"comparison column {comparison!r}: {'no' if prog.all() else 'every'} community is "
            "a comparison community; expected both programme and comparison communities"
        )
    return prog


def _after_arrow(w: pd.Series, before: Hashable, after: Hashable) -> np.ndarray | None:
    """One pass over an arrow-backed text column (pandas' default for text): the position of
    each label in (before, after); None when that does not apply or a label is missing or
    other (the general path then names the rows)."""
    if getattr(w.dtype, "storage", None) != "pyarrow" or not (
        isinstance(before, str) and isinstance(after, str)
    ):
        return None
    pa = importlib.import_module("pyarrow")  # present: it stores the column
    pc = importlib.import_module("pyarrow.compute")

    idx = pc.index_in(w.array.__arrow_array__(), value_set=pa.array([before, after]))
    if idx.null_count:
        return None
    out: np.ndarray = idx.to_numpy(zero_copy_only=False) == 1
    return out


def _after(data: pd.DataFrame, wave: str, before: Hashable, after: Hashable) -> np.ndarray:
    """Per row: in the after wave; every label must be ``before`` or ``after`` (as
    :func:`compare_waves`), so each row is compared with the two labels once."""
    check_columns(data, [wave])
    if before == after:
        raise DataError(f"before and after must be different wave labels; both are {before!r}")
    w = data[wave]
    fast = _after_arrow(w, before, after)
    if fast is not None:
        return fast
    is_a = (w == after).to_numpy(dtype=bool, na_value=False)
    is_b = (w == before).to_numpy(dtype=bool, na_value=False)
    other = ~(is_b | is_a)
    if other.any():
        wmiss = w.isna().to_numpy()
        if wmiss.any():
            raise DataError(
                f"wave column {wave!r} has {int(wmiss.sum())} missing label(s) at "
                f"{rows_in(data, wmiss)}; expected {before!r} or {after!r} on every row"
            )
        vals = sorted({str(v) for v in w[other].unique()})[:10]
        raise DataError(
            f"wave column {wave!r}, {rows_in(data, other)}: a label "
            f"that is neither before={before!r} nor after={after!r} (values {vals}). Filter the "
            "data to the two waves to compare, or pass the right before=/after= labels."
        )
    return is_a


def design(
    data: pd.DataFrame,
    *,
    dv: str,
    community: str,
    wave: str,
    before: Hashable,
    after: Hashable,
    time: str | None,
    covariates: list[str],
    comparison: str | None,
    respondent: str | None = None,
) -> Design:
    extra = [comparison] if comparison is not None else []
    extra += [respondent] if respondent is not None else []
    check_columns(data, [dv, community, *covariates, *extra])
    gi = factorize_groups(data, community, what="community")
    y_all = _outcome(data, dv)
    after_all: np.ndarray | None = None
    if time is None:
        after_all = _after(data, wave, before, after)
        if not after_all.any() or after_all.all():
            present = after if after_all.any() else before
            raise DataError(
                f"wave column {wave!r} holds only {present!r}: one wave only; expected rows of "
                f"both before={before!r} and after={after!r}"
            )
        t_all = after_all.astype(np.float64)
    else:
        check_columns(data, [time])
        t_all = numeric_matrix(data, [time])[:, 0]
        tmiss = np.isnan(t_all)
        if tmiss.any():
            raise DataError(
                f"time column {time!r} has missing values at {rows_in(data, tmiss)}; "
                "expected a number (e.g. months since the baseline) on every row"
            )
        if np.unique(t_all).size < 2:
            raise DataError(
                f"time column {time!r} has a single value ({t_all[0]!r}); expected at least two "
                "measurement times"
            )
    z = _covariates(data, covariates)
    ymiss = np.isnan(y_all)
    zmiss = np.isnan(z).any(axis=1) & ~ymiss
    keep = ~(ymiss | zmiss)
    if not keep.any():
        raise DataError(f"no row has a {dv!r} score (and complete covariates)")
    g = gi.n_groups
    programme = _programme(data, comparison, gi.codes, g) if comparison is not None else None
    every = bool(keep.all())  # then views, not copies, of the row arrays
    codes = gi.codes if every else gi.codes[keep]
    t = t_all if every else t_all[keep]
    cols = [np.ones(int(keep.sum())), t]
    slope = "change" if time is None else "time"
    names = ["intercept", slope]
    if programme is not None:
        pr = programme[codes].astype(np.float64)
        cols += [pr, pr * t]
        names += ["programme", f"programme:{slope}"]
    cols += [z[keep, i] for i in range(z.shape[1])]
    names += covariates
    if covariates and np.any(np.ptp(z[keep], axis=0) == 0):
        raise DataError(f"a covariate in {covariates} is constant; expected variation")
    X = np.empty((len(cols[0]), len(cols)), order="F")  # column-major: every use is by column
    for i, col in enumerate(cols):  # a few fixed effects, never a loop over communities
        X[:, i] = col
    del cols
    if every:  # t is X's slope column: a view, not a second row-sized array
        t = t_all = X[:, 1]
    panel = _panel(data, respondent, keep, gi.codes, t_all) if respondent is not None else None
    return Design(
        y=y_all if every else y_all[keep],
        X=X,
        t=t,
        codes=codes,
        labels=gi.labels,
        names=names,
        programme=programme,
        n_missing=np.bincount(gi.codes[ymiss], minlength=g).astype(np.int64),
        n_excluded_covariates=int(zmiss.sum()),
        after=None if after_all is None else (after_all if every else after_all[keep]),
        resp=None if panel is None else panel[0],
        n_respondents=None if panel is None else panel[1],
        n_repeated=None if panel is None else panel[2],
    )


def _panel(
    data: pd.DataFrame, respondent: str, keep: np.ndarray, codes: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """Respondent codes of the used rows (ids as text), checked: nested, once per wave."""
    # unsorted hash factorisation: the codes only index respondents (no labels are published);
    # a missing id goes through factorize_groups for its message
    rc_raw, uniq = pd.factorize(data[respondent], sort=False)
    if (rc_raw < 0).any():
        factorize_groups(data, respondent, what="respondent")
    rc = np.asarray(rc_raw, dtype=np.int64)
    del rc_raw, uniq
    n_r = int(rc.max()) + 1
    every = bool(keep.all())
    rk = rc if every else rc[keep]
    tk = t if every else t[keep]
    if np.all((tk == 0.0) | (tk == 1.0)):  # two waves: the wave is the code (no sort, no hash)
        key = rk * 2
        key += tk == 1.0
        dup = (np.bincount(key, minlength=2 * n_r) > 1)[key]
        del key
    else:
        _, ti = np.unique(tk, return_inverse=True)  # the time of each used row
        dup = pd.Series(rk * (int(ti.max()) + 1) + ti).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(keep)[dup]
        mask = np.zeros(len(data), dtype=bool)
        mask[rows] = True
        raise DataError(
            f"respondent column {respondent!r}: id(s) {list(pd.unique(data[respondent][mask]))[:5]} "
            f"occur more than once in one wave ({rows_in(data, mask)}); expected each respondent "
            "at most once per wave"
        )
    lo = np.full(n_r, np.iinfo(np.int64).max)
    hi = np.full(n_r, -1)
    np.minimum.at(lo, rc, codes)
    np.maximum.at(hi, rc, codes)
    bad = (hi >= 0) & (lo != hi)
    if bad.any():
        mask = bad[rc]
        raise DataError(
            f"respondent column {respondent!r}: {int(bad.sum())} respondent(s) appear in more "
            f"than one community ({rows_in(data, mask)}); expected respondents nested in "
            "communities (give a respondent who moved a new id)"
        )
    used = np.bincount(rk, minlength=n_r)
    repeated = int(np.count_nonzero(used > 1))
    if repeated == 0:
        raise DataError(
            f"respondent column {respondent!r}: no respondent answers in more than one wave, so "
            "the respondent variance is not identifiable; leave out respondent="
        )
    # codes of the used respondents only, 0..R-1 (in the order of the codes above)
    renumber = np.cumsum(used > 0) - 1
    return renumber[rk], int(np.count_nonzero(used)), repeated

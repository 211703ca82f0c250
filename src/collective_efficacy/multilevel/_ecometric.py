r"""The ecometric model's input and reliability (private; used by
:func:`collective_efficacy.ecometric`): keying and exclusions, the per-community
:math:`\lambda_k` and its parametric bootstrap interval.

The parametric bootstrap is lme4's ``bootMer(fit, FUN, type = "parametric", use.u = FALSE)``:
each replicate draws new community effects :math:`u_k^* \sim N(0, \hat\tau_\beta)`, respondent
effects :math:`r_{jk}^* \sim N(0, \hat\tau_\pi)` and residuals :math:`e^*_{ijk} \sim N(0,
\hat\sigma^2)` around the fitted fixed effects, on the same design (the same respondents,
communities, answered items and covariates), refits the model and recomputes the mean
reliability; the interval is the percentile interval of the replicates (R's ``quantile``,
type 7).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._groups import GroupIndex, factorize_groups
from collective_efficacy._messages import Message
from collective_efficacy._params import as_generator
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import ConvergenceWarning, DataError
from collective_efficacy.instrument._keys import key_bounds, parse_keys
from collective_efficacy.multilevel._ecometric_blocks import Scan, scan
from collective_efficacy.multilevel._lmm3 import NestedFit, fit_nested_wide
from collective_efficacy.reliability._input import item_columns

__all__ = [
    "EcoInput",
    "answered_mask",
    "bootstrap_reliability",
    "ecometric_input",
    "keyed_items",
    "mean_reliability",
    "reliabilities",
]


def keyed_items(
    data: pd.DataFrame,
    items: Sequence[str],
    keys: Any,
    scale_range: tuple[float, float] | None,
) -> tuple[np.ndarray, list[str], float, float]:
    """Numeric item matrix with reversed items recoded as min + max - x (``_keys``' one rule).

    The matrix returned is always a private copy (the caller may overwrite it), column-major:
    the reliability functions' column reader (a fresh copy, or their shared matrix copied). The
    bounds are checked on each column's extremes, the offending cell located only when one is
    outside."""
    y, owned = item_columns(data, list(items))
    signs = parse_keys(keys, list(items))
    lo_j, hi_j = key_bounds(y, items, keys, scale_range)
    if y.size and (
        (np.fmin.reduce(y, axis=0) < lo_j).any() or (np.fmax.reduce(y, axis=0) > hi_j).any()
    ):
        bad = np.argwhere((y < lo_j) | (y > hi_j))[0]
        raise DataError(
            f"column {items[bad[1]]!r}, {rows_in(data, [bad[0]])}: value {y[bad[0], bad[1]]} "
            f"lies outside scale_range = ({lo_j[bad[1]]:g}, {hi_j[bad[1]]:g}); expected codes "
            "within the scale"
        )
    rev = signs < 0
    out = y if owned else np.array(y, dtype=np.float64, order="F", copy=True)
    for j in np.flatnonzero(rev):  # in place, column by column: flip = lo + hi - x
        np.subtract(lo_j[j] + hi_j[j], out[:, j], out=out[:, j])
    return out, [it for it, r in zip(items, rev) if r], float(lo_j.min()), float(hi_j.max())


class EcoInput(NamedTuple):
    """The ecometric model's input: used respondents' keyed items, centred covariates, codes."""

    y: np.ndarray
    z: np.ndarray
    codes: np.ndarray
    gi: GroupIndex
    reversed_items: list[str]
    scale_range: tuple[float, float]
    n_used: int
    n_no_items: int
    n_bad_cov: int
    n_answered: np.ndarray | None = None  # answered items per used respondent
    scan: Scan | None = None  # without covariates: the item columns' scan (``y`` is empty)
    used: np.ndarray | None = None  # with ``scan``: the rows used (None: all)


def answered_mask(inp: EcoInput) -> np.ndarray:
    """Used respondents x items: answered (for the parametric bootstrap)."""
    if inp.scan is None:
        return ~np.isnan(inp.y)
    sel = slice(None) if inp.used is None else inp.used
    return np.column_stack([~np.isnan(c[sel]) for c in inp.scan.cols])


def ecometric_input(
    data: pd.DataFrame,
    items: list[str],
    community: str,
    respondent: str | None,
    keys: Any,
    covariates: list[str],
    scale_range: tuple[float, float] | None,
) -> EcoInput:
    """Checks, keying and the exclusions (no answered item, a missing covariate)."""
    if len(items) < 1:
        raise DataError("items must name at least one item column")
    extra = [respondent] if respondent is not None else []
    check_columns(data, [*items, community, *covariates, *extra])
    if respondent is not None:
        dup = data[respondent].duplicated(keep=False).to_numpy()
        if dup.any():
            raise DataError(
                f"respondent column {respondent!r} has duplicated ids at {rows_in(data, dup)}; "
                "expected "
                "wide data with one row per respondent (fit each wave separately)"
            )
    if not covariates:
        return _input_columns(data, items, community, keys, scale_range)
    y, reversed_items, lo, hi = keyed_items(data, items, keys, scale_range)
    gi = factorize_groups(data, community)
    cols, rows = np.divmod(np.flatnonzero(np.isnan(y.ravel(order="F"))), max(len(y), 1))
    n_answered = len(items) - np.bincount(rows, minlength=len(y))
    any_item = n_answered > 0
    z = numeric_matrix(data, covariates)
    cov_ok = ~np.isnan(z).any(axis=1)
    used = any_item & cov_ok
    if not used.any():
        raise DataError(_NO_ITEM)
    yu = y if used.all() else y[used]
    _check_counts(items, int(used.sum()) - np.bincount(cols[used[rows]], minlength=len(items)))
    zu = z[used]
    zc = zu - zu.mean(axis=0)
    if np.any(zc.std(axis=0) == 0):
        raise DataError(f"a covariate in {covariates} is constant; expected variation")
    return EcoInput(
        y=yu, z=zc, codes=gi.codes if used.all() else gi.codes[used], gi=gi,
        reversed_items=reversed_items, scale_range=(lo, hi), n_used=int(used.sum()),
        n_no_items=int((~any_item).sum()), n_bad_cov=int((any_item & ~cov_ok).sum()),
        n_answered=n_answered[used],
    )  # fmt: skip


_NO_ITEM = "no respondent answered an item (with complete covariates)"


def _check_counts(items: list[str], item_counts: np.ndarray) -> None:
    if (item_counts == 0).any():
        empty = [it for it, c in zip(items, item_counts) if c == 0]
        raise DataError(
            f"item(s) {empty} were answered by nobody; drop them from items",
            keyed=Message(code="items_no_answers", params={"items": ", ".join(map(str, empty))}),
        )


def _item_views(
    data: pd.DataFrame, items: list[str], keys: Any, scale_range: tuple[float, float] | None
) -> tuple[list[np.ndarray], np.ndarray, list[str], float, float]:
    """The item columns as they are (numeric columns: the frame's own arrays; otherwise the
    columns of :func:`numeric_matrix`), with :func:`keyed_items`' checks and reversal rule
    as ``flip`` (lo + hi of a reversed item, NaN otherwise): no copy of the items."""
    frame_cols = [data[c] for c in items] if len(set(items)) == len(items) else []
    cols: list[np.ndarray] = []
    if frame_cols and all(
        isinstance(c.dtype, np.dtype) and c.dtype.kind in "iuf" for c in frame_cols
    ):
        cols = [c.to_numpy() for c in frame_cols]
    lo_v = np.array([np.fmin.reduce(c) if len(c) else np.nan for c in cols], dtype=np.float64)
    hi_v = np.array([np.fmax.reduce(c) if len(c) else np.nan for c in cols], dtype=np.float64)
    if not cols or np.isinf(lo_v).any() or np.isinf(hi_v).any():
        y = numeric_matrix(data, items)  # its typed errors (an infinite cell names its row)
        cols = [y[:, j] for j in range(len(items))]
        lo_v, hi_v = np.fmin.reduce(y, axis=0), np.fmax.reduce(y, axis=0)
    signs = parse_keys(keys, items)
    lo_j, hi_j = key_bounds(np.array([lo_v, hi_v]), items, keys, scale_range)
    if ((lo_v < lo_j) | (hi_v > hi_j)).any():
        first = [
            (int(np.flatnonzero((c < lo_j[j]) | (c > hi_j[j]))[0]), j)
            for j, c in enumerate(cols)
            if lo_v[j] < lo_j[j] or hi_v[j] > hi_j[j]
        ]
        row, j = min(first)
        raise DataError(
            f"column {items[j]!r}, {rows_in(data, [row])}: value {float(cols[j][row])} "
            f"lies outside scale_range = ({lo_j[j]:g}, {hi_j[j]:g}); expected codes "
            "within the scale"
        )
    rev = signs < 0
    flip = np.where(rev, lo_j + hi_j, np.nan)
    reversed_items = [it for it, r in zip(items, rev) if r]
    return cols, flip, reversed_items, float(lo_j.min()), float(hi_j.max())


def _input_columns(
    data: pd.DataFrame, items: list[str], community: str, keys: Any,
    scale_range: tuple[float, float] | None,
) -> EcoInput:  # fmt: skip
    """:func:`ecometric_input` without covariates: one blocked pass over the item columns
    (:func:`._ecometric_blocks.scan`), no copy of the items."""
    cols, flip, reversed_items, lo, hi = _item_views(data, items, keys, scale_range)
    gi = factorize_groups(data, community)
    sc = scan(cols, flip)
    any_item = sc.n_answered > 0
    n_used = int(np.count_nonzero(any_item))
    if n_used == 0:
        raise DataError(_NO_ITEM)
    _check_counts(items, sc.col_count)
    everyone = n_used == len(any_item)
    return EcoInput(
        y=np.empty((0, len(items))), z=np.empty((n_used, 0)),
        codes=gi.codes if everyone else gi.codes[any_item], gi=gi,
        reversed_items=reversed_items, scale_range=(lo, hi), n_used=n_used,
        n_no_items=len(any_item) - n_used, n_bad_cov=0,
        n_answered=sc.n_answered if everyone else sc.n_answered[any_item],
        scan=sc, used=None if everyone else any_item,
    )  # fmt: skip


def reliabilities(fit: NestedFit, n_answered: np.ndarray, reliability: str) -> np.ndarray:
    r"""Per-community :math:`\lambda_k`: exact (each respondent's answered items) or
    Raudenbush & Sampson's (1999) form with the mean number of answered items :math:`\bar n`,
    :math:`\tau_\beta/(\tau_\beta + \tau_\pi/J_k + \sigma^2/(\bar n J_k))` (0 when
    :math:`J_k = 0`)."""
    if reliability == "exact":
        return fit.lambda_
    n_bar = float(n_answered.mean())
    j = fit.group_n_respondents.astype(np.float64)
    out = np.zeros(len(j))
    has = j > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out[has] = fit.tau_beta / (
            fit.tau_beta + fit.tau_pi / j[has] + fit.sigma2 / (n_bar * j[has])
        )
    return out


def mean_reliability(fit: NestedFit, n_answered: np.ndarray, reliability: str) -> float:
    """The reported reliability: mean :math:`\\lambda_k` over communities with respondents."""
    lam = reliabilities(fit, n_answered, reliability)
    return float(lam[fit.group_n_respondents > 0].mean())


def bootstrap_reliability(
    fit: NestedFit,
    answered: np.ndarray,
    z: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    *,
    method: str,
    reliability: str,
    n_boot: int,
    seed: Any,
    ci: float,
) -> tuple[float, float, int]:
    """Percentile interval of the mean reliability over ``n_boot`` parametric replicates.

    ``answered`` (respondents x items) is the design's answered mask, ``z`` the centred
    covariates, ``codes`` the community of each respondent. Replicates whose refit fails (a
    variance not identifiable in the simulated data) are left out; returns ``(low, high,
    replicates used)``, NaN bounds when fewer than half the replicates could be refitted.
    """
    rng = as_generator(seed)
    n, k = answered.shape
    mean = np.broadcast_to(fit.beta[:k], (n, k))
    if z.shape[1]:
        mean = mean + (z @ fit.beta[k:])[:, None]
    sd = np.sqrt([fit.tau_beta, fit.tau_pi, fit.sigma2])
    n_answered = answered.sum(axis=1)
    stats = []
    for _ in range(n_boot):  # loop over replicates; each one is a vectorised refit
        u = rng.normal(0.0, sd[0], n_groups)
        r = rng.normal(0.0, sd[1], n)
        y = mean + (u[codes] + r)[:, None] + rng.normal(0.0, sd[2], (n, k))
        y[~answered] = np.nan
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                refit = fit_nested_wide(y, z, codes, n_groups, method=method)
        except DataError:
            continue
        stats.append(mean_reliability(refit, n_answered, reliability))
    used = np.asarray(stats)
    if len(used) < max(2, n_boot // 2):
        return float("nan"), float("nan"), len(used)
    p = (1.0 - ci) / 2.0
    low, high = np.quantile(used, [p, 1.0 - p])  # type 7, as R's quantile()
    return float(low), float(high), len(used)

"""Declarations and table helpers shared by the two-wave comparisons."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._params import CI, COLUMN, FRAME, WAVE_LABEL, Interval, Options
from collective_efficacy.change._data import TwoWaves, moments, pair_up, suppression
from collective_efficacy.change._stats import PAIRED_VARIANTS, independent_stats, paired_stats
from collective_efficacy.errors import DataError

#: parameters every two-wave comparison declares alike
_TWO_WAVES: dict[str, Sequence[Any]] = {
    "data": [FRAME],
    "dv": [COLUMN],
    "wave": [COLUMN],
    "before": [WAVE_LABEL],
    "after": [WAVE_LABEL],
    "ci": [CI],
    "min_n": [Interval(Integral, 2, None)],
    "nan_policy": [Options(("omit", "raise"))],
}


def _check_min_n(min_n: int) -> int:
    if isinstance(min_n, bool) or not isinstance(min_n, (int, np.integer)) or min_n < 2:
        raise DataError(f"min_n must be an integer >= 2; got {min_n!r}", argument="min_n")
    return int(min_n)


def _direction(diff: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
    """Direction of a change: "no change" when ``|diff|`` is within rounding of 0.

    Rounding: ``|diff| <= 1e-8 * scale`` (``scale`` = ``|mean_before| + |mean_after|``); the
    REML wave effect is an optimiser result whose last digits are noise, so a difference of
    1e-16 must not be called an increase (and its swap a decrease).
    """
    tol = 0.0 if scale is None else 1e-8 * np.nan_to_num(np.abs(scale))
    out = np.full(diff.shape, None, dtype=object)
    out[diff > tol] = "increase"
    out[diff < -tol] = "decrease"
    out[np.abs(diff) <= tol] = "no change"
    return out


def _wave_scale(out: pd.DataFrame) -> np.ndarray:
    mb = out["mean_before"].to_numpy(dtype=np.float64)
    ma = out["mean_after"].to_numpy(dtype=np.float64)
    return np.abs(mb) + np.abs(ma)


def _base_frame(tw: TwoWaves, mb: Any, ma: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": "community",
            tw.community: np.asarray(tw.labels, dtype=object),
            "n_before": mb.n.astype(np.int64),
            "n_after": ma.n.astype(np.int64),
            "n_missing": tw.n_missing.astype(np.int64),
        }
    )


_STAT_COLS = ["diff", "se", "ci_low", "ci_high", "t", "df", "p", "p_adjusted"]


def _independent_rows(
    tw: TwoWaves, mb: Any, ma: Any, *, ci: float, equal_var: bool, min_n: int, hedges: str
) -> pd.DataFrame:
    sup, reason = suppression(mb.n, ma.n, min_n)
    st = independent_stats(
        mb.n, mb.mean, mb.var, ma.n, ma.mean, ma.var,
        ci=ci, equal_var=equal_var, hedges_correction=hedges,
    )  # fmt: skip
    zero = ~sup & (np.nan_to_num(mb.var) == 0) & (np.nan_to_num(ma.var) == 0)
    reason[zero] = "zero variance in both waves: t, p and g undefined"
    cols: dict[str, Any] = {
        "mean_before": mb.mean, "mean_after": ma.mean,
        "sd_before": np.sqrt(mb.var), "sd_after": np.sqrt(ma.var),
        **{col: st[col] for col in _STAT_COLS[:-1]},
        "p_adjusted": np.full(len(sup), np.nan),
        **{col: st[col] for col in ("g", "g_ci_low", "g_ci_high")},
    }  # fmt: skip
    for col, v in cols.items():  # suppressed: no statistics; zero variance: no test
        v = np.array(v, dtype=np.float64)  # a copy
        v[sup | (zero if col in _ZERO_COLS else False)] = np.nan
        cols[col] = v
    out = _base_frame(tw, mb, ma)
    # the columns added at once (one block), not one assignment each
    out = pd.concat([out, pd.DataFrame(cols, index=out.index)], axis=1)
    out["effect_size"] = "hedges_g (pooled SD)" + _HEDGES_NOTE[hedges]
    out["method"] = "student_t" if equal_var else "welch_t"
    out["suppressed"] = sup
    out["reason"] = reason
    return out


#: the statistics a community with zero variance in both waves has none of
_ZERO_COLS = frozenset(["se", "t", "p", "ci_low", "ci_high", "g", "g_ci_low", "g_ci_high"])


def _paired_rows(
    tw: TwoWaves, mb: Any, ma: Any, *, ci: float, min_n: int, variant: str, hedges: str
) -> pd.DataFrame:
    g_count = len(tw.labels)
    pr = pair_up(tw)
    pb = moments(pr.before, pr.codes, g_count)
    pa = moments(pr.after, pr.codes, g_count)
    pdm = moments(pr.after - pr.before, pr.codes, g_count)
    n = pdm.n
    sup, reason = suppression(mb.n, ma.n, min_n, n_pairs=n)
    st = paired_stats(n, pb.mean, pa.mean, pb.var, pa.var, pdm.var, ci=ci, hedges_correction=hedges)
    zero = ~sup & (np.nan_to_num(pdm.var) == 0)
    reason[zero] = "zero variance of the paired differences: t, p and effect sizes undefined"
    d, lo, hi = st["effects"][variant]
    j = st["J"]
    cols: dict[str, Any] = {
        "mean_before": pb.mean, "mean_after": pa.mean,
        "sd_before": np.sqrt(pb.var), "sd_after": np.sqrt(pa.var), "r": st["r"],
        **{col: st[col] for col in _STAT_COLS[:-1]},
        "p_adjusted": np.full(g_count, np.nan), "g": j * d, "g_ci_low": j * lo, "g_ci_high": j * hi,
    }  # fmt: skip
    eff: dict[str, Any] = {}
    for name in PAIRED_VARIANTS:
        d, lo, hi = st["effects"][name]
        eff.update({f"d_{name}": d, f"d_{name}_ci_low": lo, f"d_{name}_ci_high": hi})
    # suppressed: no statistics; zero variance of the differences: no test, r or effect size
    for part in (cols, eff):
        for col, v in part.items():
            v = np.array(v, dtype=np.float64)  # a copy
            v[sup | (zero if part is eff or col in _PAIRED_ZERO_COLS else False)] = np.nan
            part[col] = v
    out = _base_frame(tw, mb, ma)
    head = {"n_paired": n.astype(np.int64), "n_attrition": (mb.n + ma.n - 2 * n).astype(np.int64)}
    # the columns added at once (one block each), not one assignment each
    out = pd.concat([out, pd.DataFrame({**head, **cols}, index=out.index)], axis=1)
    out["effect_size"] = f"g_{variant} = J(n-1) * d_{variant}" + _HEDGES_NOTE[hedges]
    out = pd.concat([out, pd.DataFrame(eff, index=out.index)], axis=1)
    out["method"] = "paired_t"
    out["suppressed"] = sup
    out["reason"] = reason
    return out


#: the statistics a community with zero variance of its paired differences has none of
_PAIRED_ZERO_COLS = frozenset(
    ["se", "t", "p", "ci_low", "ci_high", "r", "g", "g_ci_low", "g_ci_high"]
)


#: the effect_size label says when J is Hedges' approximation (exact: the label of before 1.0)
_HEDGES_NOTE = {"exact": "", "approximate": "; J approximate: 1 - 3/(4 df - 1)"}

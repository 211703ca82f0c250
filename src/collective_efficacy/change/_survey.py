"""Weighted change between two waves (dispatched to from ``compare_waves(..., weight=)``).

Per community the difference of the waves' domain means; overall ``svyglm(score ~ wave)``.
Formulas and references: :mod:`collective_efficacy.survey_design`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._groups import factorize_groups
from collective_efficacy._rows import rows_in
from collective_efficacy.change._common import _direction
from collective_efficacy.change._data import wave_masks
from collective_efficacy.errors import DataError
from collective_efficacy.survey_design import (
    DesignArrays,
    DomainMeans,
    SurveyDesign,
    design_arrays,
    design_df,
    domain_means,
    domain_variance,
    reasons,
)


def weighted_change(
    scores: pd.DataFrame,
    dv: str,
    *,
    wave: str,
    community: str | None,
    before: Hashable,
    after: Hashable,
    design: SurveyDesign,
    ci: float,
    min_n: int,
    p_adjust: str,
    nan_policy: str,
) -> pd.DataFrame:
    """Weighted :func:`collective_efficacy.compare_waves` (see its docstring; called from there).

    Per community: the difference of the two waves' domain means (``svyby`` over community and
    wave on the whole design), SE :math:`\\sqrt{se_a^2+se_b^2}` (independent samples), normal
    interval and z-test (``t`` holds z, ``df`` is inf). Overall: the wave coefficient of
    ``svyglm(score ~ wave, design)``, t with ``degf(design) - 1`` df as ``summary(svyglm)``.
    """
    check_columns(scores, [dv, wave] + ([community] if community else []), what="column")
    y = numeric_matrix(scores, [dv])[:, 0]
    is_b, is_a = wave_masks(scores, wave, before, after)
    miss = np.isnan(y)
    if nan_policy == "raise" and miss.any():
        raise DataError(f"column {dv!r} has missing scores at {rows_in(scores, miss)}", argument=dv)
    da = design_arrays(scores, design)
    if community is None:
        labels = pd.Index(["overall"])
        cc = np.zeros(len(scores), dtype=np.int64)
    else:
        gc = factorize_groups(scores, community, what="community")
        labels, cc = gc.labels, gc.codes
    dom = cc * 2 + is_a.astype(np.int64)
    dm = domain_means(y, dom, 2 * len(labels), da)
    n_missing = np.bincount(cc, weights=miss, minlength=len(labels)).astype(np.int64)
    out = _community_rows(dm, labels, n_missing, str(community or "community"), ci, min_n,
                          p_adjust)  # fmt: skip
    out["method"] = "weighted domain means (Taylor linearisation), z"
    overall = _overall_row(y, is_a, is_b, da, ci, community, min_n)
    out = pd.concat([out, overall], ignore_index=True) if community is not None else overall
    out["suppressed"] = out["suppressed"].astype(bool)
    scale = np.abs(out["mean_before"].to_numpy(np.float64)) + np.abs(
        out["mean_after"].to_numpy(np.float64)
    )
    out["direction"] = _direction(out["diff"].to_numpy(np.float64), scale)
    out["confidence"] = ci
    out["reason"] = reasons(
        out["suppressed"].to_numpy(dtype=bool), f"fewer than {min_n} respondents in a wave"
    )
    return out


def _community_rows(
    dm: DomainMeans,
    labels: pd.Index,
    n_missing: np.ndarray,
    name: str,
    ci: float,
    min_n: int,
    p_adjust: str,
) -> pd.DataFrame:
    """Per community: difference of the after and before domain means, SE, z, p, p_adjusted."""
    from collective_efficacy.change import p_adjust as _p_adjust

    g = len(labels)
    mb, ma = dm.mean[0::2], dm.mean[1::2]
    se = np.sqrt(dm.se[0::2] ** 2 + dm.se[1::2] ** 2)
    zq = float(_dist.norm_ppf(0.5 + ci / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = ma - mb
        zstat = diff / se
    p = 2 * _dist.norm_sf(np.abs(zstat))
    n_b, n_a = dm.n[0::2], dm.n[1::2]
    sup = (n_b < min_n) | (n_a < min_n)
    stat: dict[str, Any] = {
        "sum_weights_before": dm.sum_weights[0::2],
        "sum_weights_after": dm.sum_weights[1::2],
        "n_eff_before": dm.n_eff[0::2],
        "n_eff_after": dm.n_eff[1::2],
        "mean_before": mb,
        "mean_after": ma,
        "sd_before": dm.sd[0::2],
        "sd_after": dm.sd[1::2],
        "diff": diff,
        "se": se,
        "ci_low": diff - zq * se,
        "ci_high": diff + zq * se,
        "t": zstat,
        "df": np.inf,
        "p": p,
    }
    if sup.any():  # suppressed: no statistics (each array masked, not a .loc assignment)
        stat = {c: np.where(sup, np.nan, v) for c, v in stat.items()}
    out = pd.DataFrame(
        {
            "level": "community",
            name: labels.to_numpy(dtype=object),
            "n_before": n_b,
            "n_after": n_a,
            "n_missing": n_missing,
            **stat,
        }
    )
    keep = ~sup & np.isfinite(out["p"].to_numpy(dtype=np.float64))
    padj = np.full(g, np.nan)
    if keep.any():
        padj[keep] = _p_adjust(out["p"].to_numpy(dtype=np.float64)[keep], method=p_adjust)
    out["p_adjusted"] = padj
    out["suppressed"] = sup
    return out


def _overall_row(
    y: np.ndarray,
    is_a: np.ndarray,
    is_b: np.ndarray,
    da: DesignArrays,
    ci: float,
    community: str | None,
    min_n: int,
) -> pd.DataFrame:
    """``svyglm(y ~ wave, design)``: wave coefficient, SE, t, df = degf - 1, p, t interval."""
    ok = ~np.isnan(y)
    dom = is_a.astype(np.int64)
    dm = domain_means(y, dom, 2, da)
    # influence of the wave coefficient: +w e / W_after on after rows, -w e / W_before on before
    wv = np.where(ok, da.w, 0.0)
    e = np.where(ok, y - dm.mean[dom], 0.0)
    sign = np.where(is_a, 1.0, -1.0)
    u = sign * wv * e / dm.sum_weights[dom]
    var = domain_variance(u, np.zeros(len(y), dtype=np.int64), da, 1)[0]
    diff = float(dm.mean[1] - dm.mean[0])
    se = float(np.sqrt(var))
    df = design_df(ok & (is_a | is_b), da) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        t = diff / se
    p = float(2 * _dist.t_sf(abs(t), df)) if df > 0 else np.nan
    q = float(_dist.t_ppf(0.5 + ci / 2, df)) if df > 0 else np.nan
    sup = bool(dm.n[0] < min_n or dm.n[1] < min_n)
    row = {
        "level": "overall",
        str(community or "community"): "overall",
        "n_before": int(dm.n[0]),
        "n_after": int(dm.n[1]),
        "n_missing": int((~ok).sum()),
        "sum_weights_before": dm.sum_weights[0],
        "sum_weights_after": dm.sum_weights[1],
        "n_eff_before": dm.n_eff[0],
        "n_eff_after": dm.n_eff[1],
        "mean_before": dm.mean[0],
        "mean_after": dm.mean[1],
        "sd_before": dm.sd[0],
        "sd_after": dm.sd[1],
        "diff": diff,
        "se": se,
        "ci_low": diff - q * se,
        "ci_high": diff + q * se,
        "t": t,
        "df": float(df),
        "p": p,
        "p_adjusted": p,
        "method": "svyglm(score ~ wave): Taylor linearisation, t",
        "suppressed": sup,
    }
    out = pd.DataFrame([row])
    if sup:
        out.loc[:, "mean_before":"p_adjusted"] = np.nan
    return out

"""Input checks of the impact scale and the steps of :func:`~collective_efficacy.impact.impact_levels`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.impact._rules import (
    _DIMENSIONS,
    ASSESSMENT_INSTRUMENT,
    EVIDENCE_COLUMNS,
    SURVEY_ONLY_CAP,
    _int_or_na,
)
from collective_efficacy.responses import ValidatedResponses


# -- input checks -----------------------------------------------------------------------------
def _select_scale(df: pd.DataFrame, scale: str | None) -> pd.DataFrame:
    if "scale" not in df.columns:
        if scale is not None:
            raise DataError(
                f"scale={scale!r} given but cohesion_scores has no 'scale' column; "
                f"columns: {list(map(str, df.columns))}"
            )
        return df
    scales = list(pd.unique(df["scale"]))
    if scale is None:
        if len(scales) == 1:
            return df
        if "collective_efficacy" in scales:
            scale = "collective_efficacy"
        else:
            raise DataError(
                f"cohesion_scores holds several scales {scales}; choose one with scale=..."
            )
    if scale not in scales:
        raise DataError(f"scale {scale!r} not found in column 'scale'; scales: {scales}")
    return df.loc[df["scale"] == scale]


def _check_unique(df: pd.DataFrame, keys: list[str], what: str) -> None:
    if len(keys) == 1 and df[keys[0]].is_unique:  # the usual case, without a frame of flags
        return
    dup = df.duplicated(subset=keys, keep=False).to_numpy()
    if dup.any():
        shown = df.loc[dup, keys].drop_duplicates().head(5).to_dict("records")
        raise DataError(
            f"{what} has {int(dup.sum())} rows sharing the same {' and '.join(keys)}, e.g. "
            f"{shown}; expected one row per {'/'.join(keys)}"
            + (" (pass wave= for a table of several waves)" if len(keys) == 1 else "")
        )


def _assessment_frame(
    assessments: pd.DataFrame | ValidatedResponses, keys: list[str]
) -> pd.DataFrame:
    frame = assessments.data if isinstance(assessments, ValidatedResponses) else assessments
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            "assessments must be a DataFrame or the result of ce.validate(..., "
            f"'{ASSESSMENT_INSTRUMENT}'); got {type(assessments).__name__}"
        )
    check_columns(frame, keys + list(_DIMENSIONS), what="assessments column")
    x = numeric_matrix(frame, list(_DIMENSIONS))
    bad = ~np.isnan(x) & ((x < 0) | (x > 5) | (x != np.floor(x)))
    for j, col in enumerate(_DIMENSIONS):
        if bad[:, j].any():
            vals = x[bad[:, j], j][:5].tolist()
            raise DataError(
                f"assessments column {col!r}, {rows_in(frame, bad[:, j])}: value(s) {vals}; expected an "
                f"integer level 0-5 or missing. Run ce.validate(assessments, "
                f"'{ASSESSMENT_INSTRUMENT}', community=..., wave=...) first to recode "
                "answer labels and the missing code 9 (not assessed)."
            )
    _check_unique(frame, keys, "assessments")
    # one frame made of the columns (was the keys' frame copied, then a column set at a time)
    if len(set(keys)) < len(keys):  # a key named twice: the keys' frame as pandas takes it
        out = frame[keys].copy()
        out[list(_DIMENSIONS)] = x
        return out.assign(
            **{c: frame[c].to_numpy(copy=True) for c in EVIDENCE_COLUMNS if c in frame}
        )
    # the keys as Series (the frame's own index object: no alignment), keeping their dtypes: an
    # array of objects would be inferred as text
    cols: dict[str, Any] = {k: frame[k] for k in keys}
    cols.update({c: x[:, j] for j, c in enumerate(_DIMENSIONS)})
    for c in EVIDENCE_COLUMNS:
        if c in frame.columns:
            cols[c] = frame[c].to_numpy(copy=True)
    return pd.DataFrame(cols, index=frame.index)


def _key_index(df: pd.DataFrame, keys: list[str]) -> pd.Index:
    """Index of the key column(s), for vectorised row matching."""
    if len(keys) == 1:
        return pd.Index(_key_values(df[keys[0]]))
    return pd.MultiIndex.from_arrays([_key_values(df[k]) for k in keys])


#: pandas' default text dtype (what a column of str objects is inferred as)
_TEXT = pd.Series(np.array([""], dtype=object)).dtype


def _key_values(s: pd.Series) -> Any:
    """A key column's values: a column of pandas' default text dtype without missing cells as it
    is (coded by pandas' own text hashing, no str object per cell: they match as the same texts
    would), any other column as objects (another text storage meeting this one would be
    converted to it, which fails on a lone surrogate)."""
    if s.dtype == _TEXT and not s.hasnans:
        return s.array
    return s.to_numpy()


def own_column(s: pd.Series) -> Any:
    """A copy of ``s``'s values for a result frame, whose constructor infers their dtype: a
    column of pandas' default text dtype without missing cells as it is (what its cells as
    objects would be inferred as, without the round trip through str objects)."""
    if len(s) and not s.hasnans and s.dtype == _TEXT:
        return s.array.copy()
    return s.to_numpy(copy=True)


def _scatter(values: pd.Series, pos: np.ndarray, n: int) -> Any:
    """``values`` placed at rows ``pos`` of a length-``n`` column (missing elsewhere)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(dtype=float, na_value=np.nan)
        out = np.full(n, np.nan)
        out[pos] = v
        ok = ~np.isnan(out)
        if np.all(out[ok] == np.floor(out[ok])):
            return _int_or_na(np.where(ok, out, 0).astype(np.int64), ok)
        return out
    obj = np.full(n, None, dtype=object)
    obj[pos] = values.to_numpy(dtype=object)
    return obj


def _cohesion_inputs(
    cohesion_scores: Any,
    keys: list[str],
    score: str,
    ci_low: str | None,
    ci_high: str | None,
    scale: str | None,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The checked score table and its score, interval, suppression and reason arrays."""
    if not isinstance(cohesion_scores, pd.DataFrame):
        raise DataError(
            f"cohesion_scores must be a DataFrame (e.g. from ce.aggregate); got "
            f"{type(cohesion_scores).__name__}"
        )
    ci_cols = [c for c in (ci_low, ci_high) if c is not None]
    if (ci_low is None) != (ci_high is None):
        raise DataError("give both ci_low and ci_high column names, or neither (None)")
    optional = [c for c in ("suppressed", "reason") if c in cohesion_scores.columns]
    check_columns(
        cohesion_scores, keys + [score] + ci_cols + optional, what="cohesion_scores column"
    )
    coh = _select_scale(cohesion_scores, scale)
    _check_unique(coh, keys, "cohesion_scores")
    s = numeric_matrix(coh, [score])[:, 0]
    if ci_low is not None and ci_high is not None:
        lo, hi = numeric_matrix(coh, [ci_low, ci_high]).T
        outside = (lo > s) | (hi < s)
        if outside.any():
            raise DataError(
                f"cohesion_scores, {rows_in(coh, outside)}: score {score!r} lies outside "
                f"[{ci_low!r}, {ci_high!r}] ({s[outside][:5].tolist()} not in "
                f"{list(zip(lo[outside][:5].tolist(), hi[outside][:5].tolist()))}); "
                "are the interval columns the score's own?"
            )
    else:
        lo, hi = s.copy(), s.copy()
    if "suppressed" in coh.columns:
        sup = coh["suppressed"].fillna(False).to_numpy(dtype=bool)
    else:
        sup = np.zeros(len(coh), dtype=bool)
    in_reason = (
        coh["reason"].fillna("").astype(str).to_numpy()
        if "reason" in coh.columns
        else np.full(len(coh), "", dtype=object)
    )

    return coh, s, lo, hi, sup, in_reason


def _assessment_arrays(
    assessments: pd.DataFrame | ValidatedResponses | None,
    coh: pd.DataFrame,
    keys: list[str],
    wave: str | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Partner and group ratings (and evidence columns) aligned with the rows of ``coh``."""
    n_rows = len(coh)
    p = np.full(n_rows, np.nan)
    g = np.full(n_rows, np.nan)
    evidence: dict[str, np.ndarray] = {}
    if assessments is not None:
        ass = _assessment_frame(assessments, keys)
        pos = _key_index(coh, keys).get_indexer(_key_index(ass, keys))
        absent = pos < 0
        if absent.any():
            listed = ass.loc[absent, keys].head(20).to_dict("records")
            raise DataError(
                f"{int(absent.sum())} (community{', wave' if wave else ''}) row(s) of "
                f"assessments are absent from cohesion_scores: {listed}"
                f"{' ...' if absent.sum() > 20 else ''}. Check the spelling of the community "
                "names (and waves); a community assessed but not surveyed needs a row in "
                "cohesion_scores (e.g. from aggregate, suppressed), or drop it from assessments."
            )
        p[pos] = ass["partner_cooperation"].to_numpy(dtype=float)
        g[pos] = ass["group_development"].to_numpy(dtype=float)
        for col in EVIDENCE_COLUMNS:
            if col in ass.columns:
                evidence[col] = _scatter(ass[col], pos, n_rows)

    return p, g, evidence


def _reasons(
    *,
    survey: np.ndarray,
    sup: np.ndarray,
    c_ok: np.ndarray,
    no_ci: np.ndarray,
    p: np.ndarray,
    g: np.ndarray,
    in_reason: np.ndarray,
    score: str,
) -> np.ndarray:
    """Why a level is missing or survey-only (empty otherwise)."""
    n_rows = len(sup)
    reason = np.full(n_rows, "", dtype=object)
    p_missing, g_missing = np.isnan(p), np.isnan(g)
    no_assess = p_missing & g_missing
    reason[survey & no_assess] = (
        f"no assessment: survey-only level (cohesion only, at most {SURVEY_ONLY_CAP})"
    )
    part = survey & ~no_assess
    miss_name = np.where(p_missing, "partner_cooperation", "group_development")
    reason[part] = [
        f"assessment incomplete ({m} missing): survey-only level (cohesion only, at most "
        f"{SURVEY_ONLY_CAP})"
        for m in miss_name[part]
    ]
    reason[sup] = [r if r else "suppressed" for r in in_reason[sup]]
    nos = ~sup & ~c_ok
    reason[nos] = [r if r else f"no cohesion score ({score!r} missing)" for r in in_reason[nos]]
    reason[no_ci] = [
        (r + "; " if r else "") + "no confidence interval: level_low/level_high unknown"
        for r in reason[no_ci]
    ]

    return reason

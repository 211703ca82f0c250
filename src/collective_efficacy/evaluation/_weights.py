"""Survey weights inside :func:`~collective_efficacy.evaluate` (private).

What is weighted, and how (``docs/methods/survey-weights.md``, *In an evaluation*):

- the community table (weighted domain means, Taylor-linearisation SE, ``sum_weights``,
  ``n_eff``, ``deff``; ``n`` and suppression stay on the unweighted count), the change per
  community (difference of the waves' domain means, z) and the overall change
  (``svyglm(score ~ wave)``); the impact levels and the verdicts are read from these, so they
  cannot contradict the weighted table;
- each wave is its own sample: the strata are crossed with the wave (the wave alone is the
  stratum when no strata are given), clusters nested in them;
- the design is the respondents of the communities shown in their wave (as every pooled
  figure of an evaluation, :mod:`collective_efficacy.disclosure`): no published standard error
  depends on a suppressed community, not even through the number of PSUs of a stratum;
- the multilevel parts do not take weights: the change model is not fitted (its verdicts
  would be unweighted), the ICC, the ecometric model, reliability and agreement describe the
  respondents unweighted, and the report says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._rows import describe_rows, file_row_offset
from collective_efficacy.errors import CollectiveEfficacyError, DataError
from collective_efficacy.scoring import aggregate
from collective_efficacy.survey_design import SurveyDesign, resolve_design

__all__ = [
    "WEIGHT",
    "design_frame",
    "internal_design",
    "no_weight",
    "record",
    "resolve",
    "weighted_table",
]

WEIGHT, STRATA, CLUSTER, FPC = "_w", "_strata", "_cluster", "_fpc"
#: the statistics of the community table that the weighted table replaces or adds
_STATS = ["mean", "sd", "se", "ci_low", "ci_high", "sum_weights", "n_eff", "deff"]
ESTIMATOR = (
    "weighted domain means with Taylor-linearisation standard errors "
    "(survey::svyby(~score, ~community, design, svymean)); change per community: difference "
    "of the waves' domain means, z-test; overall change: svyglm(score ~ wave, design)"
)


def resolve(weight: Any, design: Any) -> SurveyDesign | None:
    """``weight=`` / ``design=`` of :func:`evaluate` as one design (or None)."""
    return resolve_design(weight, design)


def design_frame(
    raw: pd.DataFrame, data: pd.DataFrame, design: SurveyDesign, *, label: str, source: str
) -> pd.DataFrame:
    """The design columns of one wave's used rows under internal names.

    ``data`` is :func:`validate`'s ``.data`` (it holds the checked weight); strata, clusters
    and fpc are read from the file's rows (``raw``). The stratum is crossed with the wave.
    A missing stratum, cluster or fpc raises, naming the file and its rows.
    """
    out = pd.DataFrame(index=data.index)
    if design.weight is not None:
        out[WEIGHT] = data[design.weight].to_numpy(dtype=np.float64)
    for what, col, name in (("strata", design.strata, STRATA), ("cluster", design.cluster, CLUSTER),
                            ("fpc", design.fpc, FPC)):  # fmt: skip
        if col is None:
            continue
        if col not in raw.columns:
            raise DataError(
                f"{what} column {col!r} is not in the {label} file {source!r}; its columns are "
                f"{list(map(str, raw.columns))[:30]}",
                argument=what,
            )
        values = raw.loc[data.index, col]
        miss = values.isna().to_numpy()
        if miss.any():
            rows = describe_rows(data.index[miss], offset=file_row_offset(raw), source=source)
            raise DataError(
                f"{what} column {col!r} of the {label} file is empty at {rows}; expected a "
                f"{what} on every row used (the design needs it)",
                argument=what,
            )
        if name == FPC:
            out[name] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        else:
            out[name] = values.astype(str).to_numpy(dtype=object)
    inner = out[STRATA].astype(str) if STRATA in out.columns else pd.Series("", index=out.index)
    out[STRATA] = label + "\x1f" + inner  # each wave its own sample: strata within the wave
    return out


def no_weight(raw: pd.DataFrame, v: Any, weight: str, label: str) -> None:
    """Raise a clear error when a wave has no usable row because no weight could be used
    (a text column, every weight zero or missing); otherwise return (the caller's general
    "no usable rows" error follows)."""
    n = v.report.exclusions_by_reason().get("invalid_weight", 0)
    if not n:
        return
    shown = [str(x) for x in pd.unique(raw[weight].dropna())[:3]] if weight in raw else []
    raise DataError(
        f"weight column {weight!r} of the {label} data ({v.report.source}): {n} of "
        f"{v.report.n_rows_in} rows have no usable weight (values such as {shown}) and no row "
        "is left; expected finite numbers > 0 (numeric text such as '1,5' is read)",
        argument="weight",
    )


def internal_design(design: SurveyDesign) -> SurveyDesign:
    """The caller's design on the internal columns (strata crossed with the wave)."""
    return SurveyDesign(
        weight=WEIGHT if design.weight is not None else None,
        strata=STRATA,
        cluster=CLUSTER if design.cluster is not None else None,
        fpc=FPC if design.fpc is not None else None,
        lonely_psu=design.lonely_psu,
    )


def weighted_table(
    table: pd.DataFrame,
    shown: pd.DataFrame,
    *,
    community: str,
    wave: str,
    scale: str,
    design: SurveyDesign,
    min_n: int,
    ci: float,
) -> pd.DataFrame:
    """The community table with the weighted statistics of the shown communities.

    ``table`` is the unweighted table after (secondary) suppression: it decides what is shown,
    on the unweighted count. The weighted statistics are computed on ``shown`` (the respondents
    of the shown communities, the design restricted to them) and replace the unweighted ones;
    a suppressed row keeps no statistic.
    """
    cols = [community, wave, scale, *internal_design(design).columns()]
    try:
        w = aggregate(
            shown[cols], community=community, wave=wave, design=internal_design(design),
            min_n=min_n, ci=ci,
        )  # fmt: skip
    except CollectiveEfficacyError as exc:
        raise DataError(f"survey design: {exc}", argument="design") from None
    w = w.rename(columns={wave: "wave"})
    key = [community, "wave"]
    out = table.drop(columns=[c for c in _STATS if c in table.columns])
    out = out.merge(w[[*key, *_STATS]], on=key, how="left", validate="one_to_one")
    hide = out["suppressed"].to_numpy(dtype=bool)
    out.loc[hide, _STATS] = np.nan
    lead = [c for c in table.columns if c not in _STATS and c not in ("suppressed", "reason")]
    return out[[*lead, *_STATS, "suppressed", "reason"]]


def record(design: SurveyDesign) -> dict[str, Any]:
    """What results.json records of the design: the caller's columns, the lonely-PSU rule, how
    the waves enter it and the estimator."""
    return {
        **design.model_dump(),
        "waves": "separate samples: strata crossed with the wave (the wave alone when no strata)",
        "design_restricted_to": "respondents of the communities shown in their wave",
        "estimator": ESTIMATOR,
        "unweighted": "reliability, item statistics, omega, ICC, agreement, ecometric model",
        "not_fitted": "change model (multilevel models do not take survey weights)",
    }

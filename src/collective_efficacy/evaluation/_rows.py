"""The sections of an evaluation as typed rows (private): the JSON contract of results.json.

Each section is a list of rows; a row is a :class:`~typing_extensions.TypedDict` that pydantic
validates (a results.json read back) and describes in the committed JSON Schema. The rows stay
plain ``dict`` objects in Python, in the column order of the table they came from, so that the
report, ``Evaluation.tables`` and applications index them as before (``row["buurt"]``). A row
of a per-community section also holds the community column, named as the data names it
(``Evaluation.community``, e.g. ``buurt``): the one key that is not declared here (extra keys
are allowed). Every statistic may be missing (None): a suppressed community, or a figure that
cannot be computed. Optional columns (``sum_weights`` ... under a survey design, ``programme``
with comparison communities, the evidence counts of the assessments) are declared and absent
when not computed.
"""

from __future__ import annotations

from pydantic import ConfigDict
from typing_extensions import TypedDict

__all__ = ["ROW_TYPES", "Sections"]

_ROW = ConfigDict(extra="allow")


class CommunityScoreRow(TypedDict, total=False):
    """A row of ``sections["community_scores"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    scale: str | None
    n: int | None
    mean: float | None
    sd: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool
    reason: str | None
    sum_weights: float | None
    n_eff: float | None
    deff: float | None


class ReliabilityRow(TypedDict, total=False):
    """A row of ``sections["reliability"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    alpha: float | None
    std_alpha: float | None
    g6: float | None
    average_r: float | None
    median_r: float | None
    var_r: float | None
    signal_noise: float | None
    ase: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float | None
    ci_method: str | None
    n: int | None
    n_items: int | None
    mean: float | None
    sd: float | None
    reversed_suspect: bool | None
    suspect_items: str | None
    note: str | None


class ItemStatisticsRow(TypedDict, total=False):
    """A row of ``sections["item_statistics"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    item: str | None
    reversed: bool | None
    n: int | None
    mean: float | None
    sd: float | None
    r: float | None
    r_std: float | None
    r_cor: float | None
    r_drop: float | None
    alpha_if_dropped: float | None
    std_alpha_if_dropped: float | None
    g6_if_dropped: float | None
    average_r_if_dropped: float | None
    median_r_if_dropped: float | None
    var_r_if_dropped: float | None
    signal_noise_if_dropped: float | None
    ase_if_dropped: float | None
    reversed_suspect: bool | None
    note: str | None


class OmegaRow(TypedDict, total=False):
    """A row of ``sections["omega"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    method: str | None
    variant: str | None
    omega: float | None
    omega_total: float | None
    omega_observed: float | None
    omega_model: float | None
    n: int | None
    n_items: int | None
    nan_policy: str | None
    converged: bool | None
    heywood: bool | None
    objective: float | None
    max_abs_grad: float | None


class AggregationRow(TypedDict, total=False):
    """A row of ``sections["aggregation"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    dv: str | None
    icc1: float | None
    icc2: float | None
    f: float | None
    df1: int | None
    df2: int | None
    p: float | None
    msb: float | None
    msw: float | None
    n_groups: int | None
    n: int | None
    mean_group_size: float | None
    n0: float | None
    icc1_n0: float | None
    n_missing: int | None
    n_singletons: int | None
    tau: float | None
    sigma2: float | None
    icc1_reml: float | None
    icc2_reml: float | None
    icc1_ci_low: float | None
    icc1_ci_high: float | None
    icc2_ci_low: float | None
    icc2_ci_high: float | None
    confidence: float | None
    note: str | None


class AgreementRow(TypedDict, total=False):
    """A row of ``sections["agreement"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    n_communities: int | None
    n_shown: int | None
    n_with_rwg_j: int | None
    n_suppressed: int | None
    median_rwg_j: float | None
    share_rwg_j_strong: float | None
    threshold: float | None
    median_ad: float | None


class CommunityAgreementRow(TypedDict, total=False):
    """A row of ``sections["community_agreement"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    n: int | None
    rwg_j: float | None
    ad: float | None
    suppressed: bool
    wave: str


class EcometricRow(TypedDict, total=False):
    """A row of ``sections["ecometric"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str
    tau_beta: float | None
    tau_pi: float | None
    sigma2: float | None
    intra_neighbourhood_correlation: float | None
    reliability: float | None
    respondent_reliability: float | None
    converged: bool | None


class ChangeRow(TypedDict, total=False):
    """A row of ``sections["change"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    level: str
    n_before: int | None
    n_after: int | None
    n_missing: int | None
    mean_before: float | None
    mean_after: float | None
    sd_before: float | None
    sd_after: float | None
    diff: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    t: float | None
    df: float | None
    p: float | None
    p_adjusted: float | None
    g: float | None
    g_ci_low: float | None
    g_ci_high: float | None
    effect_size: str | None
    method: str | None
    suppressed: bool
    reason: str | None
    direction: str | None
    confidence: float | None
    sum_weights_before: float | None
    sum_weights_after: float | None
    n_eff_before: float | None
    n_eff_after: float | None


class ChangeModelFitRow(TypedDict, total=False):
    """A row of ``sections["change_model_fit"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    formula: str | None
    method: str | None
    var_intercept: float | None
    var_change: float | None
    cov: float | None
    corr: float | None
    sigma2: float | None
    var_respondent: float | None
    loglik: float | None
    aic: float | None
    bic: float | None
    converged: bool | None
    boundary: bool | None
    n_obs: int | None
    n_communities: int | None
    n_respondents: int | None
    n_repeated: int | None
    used_for_verdicts: bool | None
    not_used_because: str | None


class ChangeModelFixedRow(TypedDict, total=False):
    """A row of ``sections["change_model_fixed"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    term: str | None
    estimate: float | None
    se: float | None
    df: float | None
    t: float | None
    p: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float | None


class ChangeModelRow(TypedDict, total=False):
    """A row of ``sections["change_model"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    n_before: int | None
    n_after: int | None
    n_missing: int | None
    raw_change: float | None
    change: float | None
    posterior_sd: float | None
    prediction_sd: float | None
    prediction_df: float | None
    ci_low: float | None
    ci_high: float | None
    p_improved: float | None
    reliability: float | None
    shrinkage: float | None
    ranef_intercept: float | None
    ranef_change: float | None
    ranef_intercept_sd: float | None
    ranef_change_sd: float | None
    confidence: float | None
    verdict: str | None
    suppressed: bool
    reason: str | None
    programme: bool | None


class ImpactRow(TypedDict, total=False):
    """A row of ``sections["impact"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    wave: str | None
    cohesion_score: float | None
    cohesion_level: int | None
    cohesion_level_low: int | None
    cohesion_level_high: int | None
    partner_cooperation: int | None
    group_development: int | None
    level: int | None
    level_low: int | None
    level_high: int | None
    basis: str | None
    decided_by: str | None
    rule: str | None
    suppressed: bool | None
    reason: str | None
    n: int | None
    meetings_held: int | None
    self_organised_activities: int | None
    active_members: int | None
    leaders: int | None


class ImpactChangeRow(TypedDict, total=False):
    """A row of ``sections["impact_change"]``."""

    __pydantic_config__ = _ROW  # type: ignore[misc]
    level_before: int | None
    level_after: int | None
    change: int | None
    basis_before: str | None
    basis_after: str | None
    crossed_release_threshold: bool | None
    fell_below_threshold: bool | None
    note: str | None


class Sections(TypedDict, total=False):
    """The sections of an evaluation, by name (a section that was not computed is absent;
    ``Evaluation.notes`` says why)."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    community_scores: list[CommunityScoreRow]
    reliability: list[ReliabilityRow]
    item_statistics: list[ItemStatisticsRow]
    omega: list[OmegaRow]
    aggregation: list[AggregationRow]
    agreement: list[AgreementRow]
    community_agreement: list[CommunityAgreementRow]
    ecometric: list[EcometricRow]
    change: list[ChangeRow]
    change_model_fit: list[ChangeModelFitRow]
    change_model_fixed: list[ChangeModelFixedRow]
    change_model: list[ChangeModelRow]
    impact: list[ImpactRow]
    impact_change: list[ImpactChangeRow]


#: section name -> row type
ROW_TYPES: dict[str, type] = {
    "community_scores": CommunityScoreRow,
    "reliability": ReliabilityRow,
    "item_statistics": ItemStatisticsRow,
    "omega": OmegaRow,
    "aggregation": AggregationRow,
    "agreement": AgreementRow,
    "community_agreement": CommunityAgreementRow,
    "ecometric": EcometricRow,
    "change": ChangeRow,
    "change_model_fit": ChangeModelFitRow,
    "change_model_fixed": ChangeModelFixedRow,
    "change_model": ChangeModelRow,
    "impact": ImpactRow,
    "impact_change": ImpactChangeRow,
}

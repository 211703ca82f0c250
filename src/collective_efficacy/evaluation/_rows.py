"""The sections of an evaluation as typed rows (private): the JSON contract of results.json.

Each section is a list of rows; a row type is a :class:`~typing_extensions.TypedDict` that
pydantic validates (a results.json read back) and writes into the committed JSON Schema. The
rows stay plain ``dict`` objects in Python, in the column order of the table they came from, so
that the report, ``Evaluation.tables`` and applications index them as before (``row["buurt"]``).
A row of a per-community section also holds the community column, named as the data names it
(``Evaluation.community``, e.g. ``buurt``): the one key not declared here (extra keys are
allowed). Every statistic may be missing (None: a suppressed community, or a figure that cannot
be computed); ``wave``, ``level`` and ``suppressed`` are always there. Optional columns
(``sum_weights``, ``n_eff``, ``deff`` under a survey design, ``programme`` with comparison
communities, the evidence counts of the assessments) are declared and absent when not computed.

The columns are declared as ``name:code`` in table order, one string per section (``f`` float,
``i`` integer, ``s`` text, ``b`` bool, each or None; ``S`` text, ``B`` bool, never None).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

__all__ = ["COLUMNS", "ROW_TYPES", "Sections"]

_typed_dict: Any = TypedDict  # the functional form, with the columns as data
_LIST: Any = list

_TYPES: dict[str, Any] = {
    "f": float | None,
    "i": int | None,
    "s": str | None,
    "b": bool | None,
    "S": str,
    "B": bool,
}

#: section -> its columns as ``name:type-code``, in table order (the community column aside)
COLUMNS: dict[str, str] = {
    "community_scores": "wave:S scale:s n:i mean:f sd:f se:f ci_low:f ci_high:f sum_weights:f "
    "n_eff:f deff:f suppressed:B reason:s",
    "reliability": "wave:S alpha:f std_alpha:f g6:f average_r:f median_r:f var_r:f "
    "signal_noise:f ase:f ci_low:f ci_high:f confidence:f ci_method:s n:i n_items:i mean:f "
    "sd:f reversed_suspect:b suspect_items:s note:s",
    "item_statistics": "wave:S item:s reversed:b n:i mean:f sd:f r:f r_std:f r_cor:f r_drop:f "
    "alpha_if_dropped:f std_alpha_if_dropped:f g6_if_dropped:f average_r_if_dropped:f "
    "median_r_if_dropped:f var_r_if_dropped:f signal_noise_if_dropped:f ase_if_dropped:f "
    "reversed_suspect:b note:s",
    "omega": "wave:S method:s variant:s omega:f omega_total:f omega_observed:f omega_model:f "
    "n:i n_items:i nan_policy:s converged:b heywood:b objective:f max_abs_grad:f",
    "aggregation": "wave:S dv:s icc1:f icc2:f f:f df1:i df2:i p:f msb:f msw:f n_groups:i n:i "
    "mean_group_size:f n0:f icc1_n0:f n_missing:i n_singletons:i tau:f sigma2:f icc1_reml:f "
    "icc2_reml:f icc1_ci_low:f icc1_ci_high:f icc2_ci_low:f icc2_ci_high:f confidence:f note:s",
    "agreement": "wave:S n_communities:i n_shown:i n_with_rwg_j:i n_suppressed:i "
    "median_rwg_j:f share_rwg_j_strong:f threshold:f median_ad:f",
    "community_agreement": "n:i rwg_j:f ad:f suppressed:B wave:S",
    "ecometric": "wave:S tau_beta:f tau_pi:f sigma2:f intra_neighbourhood_correlation:f "
    "reliability:f respondent_reliability:f converged:b",
    "change": "level:S n_before:i n_after:i n_missing:i sum_weights_before:f "
    "sum_weights_after:f n_eff_before:f n_eff_after:f mean_before:f mean_after:f sd_before:f "
    "sd_after:f diff:f se:f ci_low:f ci_high:f t:f df:f p:f p_adjusted:f g:f g_ci_low:f "
    "g_ci_high:f effect_size:s method:s suppressed:B reason:s direction:s confidence:f",
    "change_model_fit": "formula:s method:s var_intercept:f var_change:f cov:f corr:f sigma2:f "
    "var_respondent:f loglik:f aic:f bic:f converged:b boundary:b n_obs:i n_communities:i "
    "n_respondents:i n_repeated:i used_for_verdicts:b not_used_because:s",
    "change_model_fixed": "term:s estimate:f se:f df:f t:f p:f ci_low:f ci_high:f confidence:f",
    "change_model": "n_before:i n_after:i n_missing:i programme:b raw_change:f change:f "
    "posterior_sd:f prediction_sd:f prediction_df:f ci_low:f ci_high:f p_improved:f "
    "reliability:f shrinkage:f ranef_intercept:f ranef_change:f ranef_intercept_sd:f "
    "ranef_change_sd:f confidence:f verdict:s suppressed:B reason:s",
    "impact": "wave:s cohesion_score:f cohesion_level:i cohesion_level_low:i "
    "cohesion_level_high:i partner_cooperation:i group_development:i level:i level_low:i "
    "level_high:i basis:s decided_by:s rule:s suppressed:b reason:s n:i meetings_held:i "
    "self_organised_activities:i active_members:i leaders:i",
    "impact_change": "level_before:i level_after:i change:i basis_before:s basis_after:s "
    "crossed_release_threshold:b fell_below_threshold:b note:s",
}


def _row_type(section: str, spec: str) -> Any:
    """The row type of one section: a TypedDict of its declared columns (extra keys allowed)."""
    name = "".join(w.title() for w in section.split("_")) + "Row"
    fields = {col: _TYPES[code] for col, code in (c.split(":") for c in spec.split())}
    row = _typed_dict(name, fields, total=False)
    row.__module__ = __name__
    row.__doc__ = f'A row of ``sections["{section}"]``.'
    return with_config(ConfigDict(extra="allow"))(row)


#: section name -> row type
ROW_TYPES: dict[str, Any] = {s: _row_type(s, spec) for s, spec in COLUMNS.items()}

#: the sections of an evaluation, by name (a section that was not computed is absent, and
#: ``Evaluation.notes`` says why); no other name
Sections: Any = with_config(ConfigDict(extra="forbid"))(
    _typed_dict("Sections", {s: _LIST[t] for s, t in ROW_TYPES.items()}, total=False)
)
Sections.__module__ = __name__

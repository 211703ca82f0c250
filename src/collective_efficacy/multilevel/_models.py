"""Result models of :mod:`collective_efficacy.multilevel.mixed` (pydantic v2, JSON-ready)."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import pandas as pd
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from collective_efficacy._version import Versioned

__all__ = [
    "ChangeModel",
    "ChangeVarianceComponents",
    "EcometricResult",
    "EcometricVarianceComponents",
    "FitDiagnostics",
    "FixedEffect",
    "RandomInterceptResult",
    "VarianceComponents",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, ser_json_inf_nan="null")


class VarianceComponents(_Frozen):
    """Two-level variance components."""

    tau2: float = Field(description="between-community variance of the random intercept")
    sigma2: float = Field(description="within-community (residual) variance")
    icc: float = Field(description="intraclass correlation tau2 / (tau2 + sigma2), i.e. ICC(1)")


class EcometricVarianceComponents(_Frozen):
    """Three-level (ecometric) variance components."""

    tau_beta: float = Field(description="between-community variance")
    tau_pi: float = Field(description="between-respondent variance within communities")
    sigma2: float = Field(description="item-level (residual) variance")
    intra_neighbourhood_correlation: float = Field(
        description="tau_beta / (tau_beta + tau_pi): correlation of two residents' true scores"
    )


class FixedEffect(_Frozen):
    """One fixed effect with its standard error (lme4's ``fixef`` and ``sqrt(diag(vcov))``)."""

    term: str
    estimate: float
    se: float


class FitDiagnostics(_Frozen):
    """How the optimum was reached; ``converged`` needs all three checks to pass."""

    converged: bool = Field(
        description="optimizer success AND max_abs_grad < 1e-5 AND hessian_pd (or boundary KKT)"
    )
    at_boundary: bool = Field(description="a variance component is estimated as exactly 0")
    boundary_components: list[str] = Field(default_factory=list)
    max_abs_grad: float = Field(
        description="largest |d loglik / d log(variance ratio)| (projected at a boundary)"
    )
    hessian_pd: bool
    n_iter: int = Field(description="profiled-deviance evaluations")
    message: str


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"result.{old} is deprecated and will be removed in 2.0; use result.{new} instead.",
        FutureWarning,
        stacklevel=3,
    )


class _WithGroups(_Frozen, Versioned):
    community: str = Field(
        validation_alias=AliasChoices("community", "group"),  # JSON of schema 1.0 said "group"
        description="name of the community column (the first column of .communities)",
    )
    groups_columns: dict[str, list[Any]] = Field(
        description="the per-community table, column-wise (see the .communities property)"
    )

    @property
    def communities(self) -> pd.DataFrame:
        """One row per community, built from the stored columns."""
        return pd.DataFrame(self.groups_columns)

    @property
    def groups(self) -> pd.DataFrame:
        """The per-community table (the same as :attr:`communities`)."""
        return self.communities

    @property
    def group(self) -> str:
        """Deprecated spelling of :attr:`community` (removed in 2.0)."""
        _deprecated("group", "community")
        return self.community

    def to_frame(self) -> pd.DataFrame:
        """The per-community table (the same as :attr:`communities`)."""
        return self.communities

    def _fixed_effects(self) -> list[FixedEffect]:
        raise NotImplementedError

    def summary(self) -> pd.DataFrame:
        """Fixed effects, then the variance components: ``kind, term, estimate, se``."""
        fixed = [
            {"kind": "fixed", "term": f.term, "estimate": f.estimate, "se": f.se}
            for f in self._fixed_effects()
        ]
        vc = self.variance_components.model_dump()  # type: ignore[attr-defined]
        var = [
            {"kind": "variance", "term": k, "estimate": v, "se": float("nan")}
            for k, v in vc.items()
        ]
        return pd.DataFrame([*fixed, *var], columns=["kind", "term", "estimate", "se"])

    def to_json(self, **kwargs: Any) -> str:
        """The result as JSON (``model_dump_json``); NaN becomes null."""
        return self.model_dump_json(**kwargs)


class RandomInterceptResult(_WithGroups):
    """Result of :func:`collective_efficacy.random_intercept`.

    ``.communities`` (also ``.groups``, ``.to_frame()``) columns: the community column, ``n``,
    ``mean``, ``eb_mean``, ``eb_deviation``, ``posterior_sd``, ``reliability``.
    ``.summary()``: the fixed intercept and the variance components.

    Attributes
    ----------
    community : str
        Name of the community column (``group`` in schema 1.0; ``.group`` still works until 2.0).
    """

    dv: str
    method: Literal["REML", "ML"]
    variance_components: VarianceComponents
    fixed: FixedEffect
    loglik: float = Field(description="REML or ML log-likelihood at the optimum (lme4 logLik)")
    deviance: float
    n_used: int
    n_excluded: int = Field(description="rows excluded because the dv was missing")
    n_groups: int
    mean_reliability: float = Field(
        description="mean of lambda_j over communities with at least one observation"
    )
    diagnostics: FitDiagnostics

    @property
    def converged(self) -> bool:
        return self.diagnostics.converged

    def _fixed_effects(self) -> list[FixedEffect]:
        return [self.fixed]


class EcometricResult(_WithGroups):
    """Result of :func:`collective_efficacy.ecometric`.

    ``.communities`` (also ``.groups``, ``.to_frame()``) columns: the community column,
    ``n_respondents``, ``n_responses``, ``eb_score``, ``eb_deviation``, ``posterior_sd``,
    ``reliability``. ``.summary()``: item and covariate effects, then the variance components.

    Attributes
    ----------
    community : str
        Name of the community column (``group`` in schema 1.0; ``.group`` works until 2.0).
    scale_range : (float, float)
        The response range used to reverse items (``scale_min``/``scale_max`` in schema 1.0;
        those attributes work until 2.0).
    reliability_method : {"exact", "mean_items"}
        How ``reliability`` and the per-community ``reliability`` column were computed.
    """

    items: list[str]
    reversed_items: list[str]
    method: Literal["REML", "ML"]
    variance_components: EcometricVarianceComponents
    item_effects: list[FixedEffect] = Field(
        description="item difficulty: the expected response to each item (at mean covariates)"
    )
    covariate_effects: list[FixedEffect]
    grand_mean: float = Field(description="mean of the item effects: the score of an average NC")
    reliability: float = Field(description="mean lambda_k over communities with respondents")
    reliability_method: Literal["exact", "mean_items"] = Field(
        default="exact",
        description="lambda_k from each respondent's answered items (exact) or from their mean "
        "number (mean_items, Raudenbush & Sampson 1999)",
    )
    reliability_ci_low: float | None = Field(
        default=None,
        description="lower bound of the parametric bootstrap interval of reliability (n_boot=)",
    )
    reliability_ci_high: float | None = Field(
        default=None, description="upper bound of that interval"
    )
    confidence: float | None = Field(default=None, description="level of that interval")
    n_boot: int | None = Field(
        default=None,
        description="bootstrap replicates behind the interval (refits that failed are left out)",
    )
    respondent_reliability: float = Field(
        description="mean over respondents of tau_pi / (tau_pi + sigma2 / n_items_answered)"
    )
    loglik: float
    deviance: float
    n_respondents: int
    n_responses: int
    n_excluded_no_items: int = Field(description="respondents who answered no item")
    n_excluded_covariates: int = Field(description="respondents with a missing covariate")
    n_groups: int
    scale_range: tuple[float, float] = Field(description="(min, max) used to reverse items")
    diagnostics: FitDiagnostics

    @model_validator(mode="before")
    @classmethod
    def _schema_1_0(cls, data: Any) -> Any:
        """Read JSON of schema 1.0 (``scale_min``/``scale_max``)."""
        if isinstance(data, dict) and "scale_range" not in data and "scale_min" in data:
            data = dict(data)
            data["scale_range"] = (data.pop("scale_min"), data.pop("scale_max"))
        return data

    @property
    def converged(self) -> bool:
        return self.diagnostics.converged

    @property
    def scale_min(self) -> float:
        """Deprecated: ``scale_range[0]`` (removed in 2.0)."""
        _deprecated("scale_min", "scale_range[0]")
        return self.scale_range[0]

    @property
    def scale_max(self) -> float:
        """Deprecated: ``scale_range[1]`` (removed in 2.0)."""
        _deprecated("scale_max", "scale_range[1]")
        return self.scale_range[1]

    def _fixed_effects(self) -> list[FixedEffect]:
        return [*self.item_effects, *self.covariate_effects]


class ChangeVarianceComponents(_Frozen):
    """Variance components of the change model (lme4's ``VarCorr``)."""

    var_intercept: float = Field(description="variance of the community intercepts")
    var_change: float = Field(
        description="variance of the community changes (slopes per unit of time with time=)"
    )
    cov: float = Field(description="covariance of intercept and change")
    corr: float = Field(description="their correlation (NaN when a variance is 0)")
    sigma2: float = Field(description="residual (within-community) variance")
    var_respondent: float | None = Field(
        default=None, description="variance of the respondent intercepts (respondent=)"
    )


class ChangeModel(_Frozen, Versioned):
    """Result of :func:`collective_efficacy.change_model`.

    Tables (DataFrames built from the stored columns): ``.fixed`` (``term, estimate, se, df, t,
    p, ci_low, ci_high, confidence``) and ``.communities`` (one row per community; columns in the
    docstring of :func:`~collective_efficacy.change_model`).
    """

    dv: str
    community: str
    wave: str | None
    before: Any
    after: Any
    time: str | None
    covariates: list[str]
    comparison: str | None
    respondent: str | None = None
    n_respondents: int | None = Field(default=None, description="respondents in the fit")
    n_repeated: int | None = Field(
        default=None, description="respondents who answered in more than one wave"
    )
    method: Literal["REML", "ML"]
    ci: float
    min_n: int
    formula: str = Field(description="the model in lme4 notation")
    variance_components: ChangeVarianceComponents
    theta: list[float] = Field(description="lme4's relative covariance factor getME(m, 'theta')")
    loglik: float = Field(description="REML or ML log-likelihood (lme4's logLik)")
    aic: float = Field(
        description="-2 loglik + 2 k (k fixed effects + 4), from the REML loglik "
        "for REML fits as lme4"
    )
    bic: float = Field(description="-2 loglik + log(n_obs) k")
    deviance: float
    converged: bool
    boundary: bool = Field(
        description="a variance at 0 or the correlation at +-1 (lme4's singular fit)"
    )
    n_obs: int = Field(description="rows used in the fit")
    n_missing: int = Field(description="rows dropped: missing dv")
    n_excluded_covariates: int = Field(description="rows dropped: a missing covariate")
    n_communities: int
    n_suppressed: int
    diagnostics: FitDiagnostics
    fixed_columns: dict[str, list[Any]]
    communities_columns: dict[str, list[Any]]

    @property
    def fixed(self) -> pd.DataFrame:
        """Fixed effects with SEs, Satterthwaite df, t, p and CI (as lmerTest)."""
        return pd.DataFrame(self.fixed_columns)

    @property
    def communities(self) -> pd.DataFrame:
        """One row per community: counts, EB change, interval, verdict, BLUPs."""
        return pd.DataFrame(self.communities_columns)

    def to_frame(self) -> pd.DataFrame:
        """The per-community table (same as ``.communities``)."""
        return self.communities

    def summary(self) -> pd.DataFrame:
        """Fixed effects followed by the variance components, one row each (``kind`` column)."""
        fixed = self.fixed.assign(kind="fixed")
        vc = self.variance_components.model_dump(exclude_none=True)
        var = pd.DataFrame({"term": list(vc), "estimate": list(vc.values()), "kind": "variance"})
        return pd.concat([fixed, var], ignore_index=True)[["kind", *self.fixed.columns]]

    def to_json(self, **kwargs: Any) -> str:
        """The result as JSON (``model_dump_json``); NaN becomes null."""
        return self.model_dump_json(**kwargs)

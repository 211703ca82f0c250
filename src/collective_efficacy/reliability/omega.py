"""McDonald's omega from a one-factor model (omega total, hierarchical variants)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from collective_efficacy._checks import check_choice
from collective_efficacy._params import COLUMNS, FRAME, KEYS, Options, public
from collective_efficacy.errors import ConvergenceWarning, DataError, ReliabilityWarning
from collective_efficacy.prepared import accepts_prepared, memo
from collective_efficacy.reliability._common import _BLOCK, NanPolicy
from collective_efficacy.reliability._factor import fit_minres, fit_ml
from collective_efficacy.reliability._input import prepare, structural_checks
from collective_efficacy.reliability._pooled import item_moments, item_moments_key
from collective_efficacy.summaries._dispatch import summary_route

__all__ = ["OmegaItem", "OmegaResult", "omega", "omega_from"]


class OmegaItem(BaseModel):
    """Loading of one item in the one-factor model behind :func:`omega`."""

    model_config = ConfigDict(frozen=True)

    item: str
    reversed: bool
    loading: float
    uniqueness: float
    communality: float


class OmegaResult(BaseModel):
    """Result of :func:`omega`: one summary record and one loading record per item.

    ``summary()`` and ``loadings_frame()`` give them as tidy DataFrames; ``model_dump_json()``
    gives JSON.
    """

    model_config = ConfigDict(frozen=True)

    method: Literal["minres", "ml"]
    variant: str
    omega: float
    omega_total: float
    omega_observed: float
    omega_model: float
    n: int
    n_items: int
    nan_policy: str
    converged: bool
    heywood: bool
    objective: float
    max_abs_grad: float
    loadings: list[OmegaItem]

    def summary(self) -> pd.DataFrame:
        """One-row DataFrame of every scalar field."""
        return pd.DataFrame([self.model_dump(exclude={"loadings"})])

    def loadings_frame(self) -> pd.DataFrame:
        """One row per item: ``item, reversed, loading, uniqueness, communality``."""
        return pd.DataFrame([row.model_dump() for row in self.loadings])


_VARIANTS = {
    "minres": "psych::omega(nfactors=1, fm='minres')$omega.tot: (sum(R) - sum(u2)) / sum(R)",
    "ml": "semTools::compRelSEM(lavaan::cfa(std.lv=TRUE)), obs.var=TRUE: (sum l)^2 / sum(S)",
}


@accepts_prepared
@summary_route("omega")
@public(
    constraints={
        "keys": [KEYS, None],
        "data": [FRAME],
        "items": [COLUMNS, None],
        "method": [Options(("minres", "ml"))],
        "nan_policy": [_BLOCK, None],
    },
    old_positional=("items",),
)
def omega(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    keys: Any = None,
    method: Literal["minres", "ml"] = "minres",
    nan_policy: NanPolicy | None = None,
) -> OmegaResult:
    r"""McDonald's omega from a one-factor model (psych's minres or lavaan's ML CFA).

    Parameters
    ----------
    data : DataFrame
        Respondents in rows (the frame is left unchanged).
    items : list of str, optional
        The item columns; all columns when omitted.
    keys : list, dict, array or Instrument, optional
        Which items are reverse keyed, as for :func:`cronbach_alpha` (only the sign matters).
    method : {"minres", "ml"}, default="minres"
        ``minres``: minimum-residual factor analysis of the correlation matrix, as
        ``psych::omega(nfactors=1)``. ``ml``: maximum-likelihood CFA of the covariance matrix,
        as ``lavaan::cfa(std.lv=TRUE)`` with ``semTools::compRelSEM``.
    nan_policy : {"pairwise", "listwise"}, optional
        Default ``"pairwise"`` for minres (psych: ``cor(x, use="pairwise")``) and
        ``"listwise"`` for ml (lavaan's default). ``ml`` accepts only ``"listwise"``.

    Returns
    -------
    OmegaResult
        ``omega`` (the headline value of the chosen ``method``; ``variant`` names it),
        ``omega_total``, ``omega_observed``, ``omega_model``, fit diagnostics and ``loadings``
        (``summary()`` / ``loadings_frame()`` for DataFrames).

    Warns
    -----
    ReliabilityWarning
        A negative loading (reverse coding likely missing) or a Heywood case.
    ConvergenceWarning
        The optimiser did not reach a verified optimum.

    Notes
    -----
    With loadings :math:`\lambda`, residual variances :math:`\psi` and :math:`V` the observed
    correlation (minres) or covariance (ml, divisor n) matrix:

    .. math::

        \omega_{total} = \frac{\mathbf 1'V\mathbf 1 - \sum\psi}{\mathbf 1'V\mathbf 1},\quad
        \omega_{observed} = \frac{(\sum\lambda)^2}{\mathbf 1'V\mathbf 1},\quad
        \omega_{model} = \frac{(\sum\lambda)^2}{(\sum\lambda)^2 + \sum\psi}.

    ``omega`` is :math:`\omega_{total}` for minres (psych's ``omega.tot``: observed correlation
    sum in the denominator) and :math:`\omega_{observed}` for ml (``compRelSEM``'s default
    ``obs.var=TRUE``). :math:`\omega_{model}` is the model-implied form (``compRelSEM(...,
    obs.var=FALSE)``, Raykov 2001). With one factor psych's ``omega_h`` equals
    :math:`\omega_{observed}` (psych warns that omega_h is not meaningful with one factor).

    Minres minimises :math:`\sum_{i<j}(r_{ij}-\lambda_i\lambda_j)^2` with uniquenesses in
    [0.005, 1] (psych's bounds); ML minimises
    :math:`\log|\Sigma| + \operatorname{tr}(S\Sigma^{-1}) - \log|S| - k` with
    :math:`\Sigma = \lambda\lambda' + \operatorname{diag}(\psi)`. Unlike ``psych::omega``,
    items with negative loadings are not flipped automatically: reverse them with ``keys``.

    Missing data: minres ``pairwise`` uses pairwise-complete Pearson correlations (psych), an
    undefined correlation raises DataError; ``listwise`` and ml use complete respondents only.

    Matches R ``psych::omega(x, nfactors=1, key=...)$omega.tot`` and ``$schmid$sl``,
    ``psych::fa(x, 1, fm="minres")$loadings`` (tolerance 1e-5: psych's optimiser stops early)
    and ``semTools::compRelSEM(lavaan::cfa("f =~ ...", x, std.lv=TRUE))`` (1e-5).

    References
    ----------
    .. [1] McDonald, R. P. (1999). Test Theory: A Unified Treatment. Erlbaum.
    .. [2] Raykov, T. (2001). Estimation of congeneric scale reliability using covariance
       structure analysis with nonlinear constraints. BJMSP, 54, 315-323.
    .. [3] Revelle, W., & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the glb.
       Psychometrika, 74, 145-154.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import collective_efficacy as ce
    >>> answers = np.array([[4, 4, 2, 5], [5, 3, 1, 4], [3, 3, 4, 2], [2, 2, 4, 3],
    ...                     [4, 5, 2, 4], [5, 4, 2, 5], [3, 2, 3, 3], [2, 3, 3, 1]])
    >>> df = pd.DataFrame(answers, columns=["SC1", "SC2", "SC3", "SC4"])
    >>> res = ce.omega(df, keys=["-SC3"])
    >>> res.method, res.variant.startswith("psych::omega(nfactors=1")
    ('minres', True)
    >>> round(res.omega, 4)
    0.8929
    >>> res.loadings_frame()[["item", "loading"]].round(2)
      item  loading
    0  SC1     0.98
    1  SC2     0.62
    2  SC3     0.85
    3  SC4     0.81
    >>> round(ce.omega(df, keys=["-SC3"], method="ml").omega, 4)
    0.8884
    """
    func = "omega"
    check_choice("method", method, ("minres", "ml"), func=func)
    if nan_policy is None:
        nan_policy = "pairwise" if method == "minres" else "listwise"
    if method == "ml" and nan_policy != "listwise":
        raise DataError(
            "omega(method='ml') fits lavaan's listwise model; nan_policy must be 'listwise' "
            f"(got {nan_policy!r})"
        )
    prep = prepare(data, items, keys=keys, nan_policy=nan_policy, response_range=None, func=func)
    structural_checks(prep, data, func)
    x, names = prep.x, prep.items
    im = memo(data, item_moments_key(x), lambda: item_moments(x))
    # minres: the pairwise-complete correlations (R cor(x, use="pairwise"), pandas .corr)
    v = im.corr.copy() if method == "minres" else np.cov(x, rowvar=False, ddof=0)
    n_used = int(im.pairwise.n_rows[0])
    return omega_from(v, names, prep.signs, method=method, nan_policy=nan_policy, n=n_used)


def omega_from(
    v: np.ndarray,
    names: list[str],
    signs: np.ndarray,
    *,
    method: Literal["minres", "ml"],
    nan_policy: NanPolicy,
    n: int,
) -> OmegaResult:
    """:func:`omega` from the item correlation (minres) or ddof-0 covariance (ml) matrix ``v``
    of ``n`` respondents (shared by the row and the summary path)."""
    if method == "minres":
        if np.isnan(v).any():
            i, j = np.argwhere(np.isnan(v))[0]
            raise DataError(
                f"omega: the correlation of {names[i]!r} and {names[j]!r} is undefined (fewer "
                "than 2 respondents answered both); expected every pair answered together."
            )
        fit = fit_minres(v)
    else:
        fit = fit_ml(v)
    lam, psi = fit.loadings, fit.uniquenesses
    total_v = float(v.sum())
    sum_l2 = float(lam.sum()) ** 2
    om_total = (total_v - float(psi.sum())) / total_v
    om_obs = sum_l2 / total_v
    om_model = sum_l2 / (sum_l2 + float(psi.sum()))
    neg = [n_ for n_, val in zip(names, lam) if val < 0]
    if neg:
        warnings.warn(
            f"item(s) {neg} load negatively on the factor: reverse-coding likely missing "
            "(psych::omega would flip them silently). Pass keys=['-ITEM', ...].",
            ReliabilityWarning,
            stacklevel=2,
        )
    if fit.heywood:
        warnings.warn(
            "Heywood case: a uniqueness reached its bound (loading near 1 or residual variance "
            "<= 0); omega is unreliable.",
            ReliabilityWarning,
            stacklevel=2,
        )
    if not fit.converged:
        warnings.warn(
            f"omega({method!r}) fit did not converge (max |gradient| = {fit.max_abs_grad:.2e})",
            ConvergenceWarning,
            stacklevel=2,
        )
    comm = lam**2 if method == "minres" else lam**2 / np.diag(v)
    return OmegaResult(
        method=method,
        variant=_VARIANTS[method],
        omega=om_total if method == "minres" else om_obs,
        omega_total=om_total,
        omega_observed=om_obs,
        omega_model=om_model,
        n=n,
        n_items=len(names),
        nan_policy=nan_policy,
        converged=fit.converged,
        heywood=fit.heywood,
        objective=fit.objective,
        max_abs_grad=fit.max_abs_grad,
        loadings=[
            OmegaItem(
                item=nm,
                reversed=bool(s < 0),
                loading=float(lv),
                uniqueness=float(pv),
                communality=float(cv),
            )
            for nm, s, lv, pv, cv in zip(names, signs, lam, psi, comm)
        ],
    )

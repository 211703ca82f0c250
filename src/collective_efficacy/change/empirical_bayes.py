"""Change per community with empirical-Bayes (shrunken) community means."""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Literal

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_ci
from collective_efficacy._params import BOOLEAN, COLUMN, public
from collective_efficacy.change._common import _TWO_WAVES, _check_min_n, _direction, _wave_scale
from collective_efficacy.change._data import moments, prepare, suppression, text_columns
from collective_efficacy.errors import ConvergenceWarning, DataError

__all__ = ["compare_waves_eb"]


@public(
    constraints={
        **_TWO_WAVES,
        "community": [COLUMN, None],  # None is refused by the body, with advice
        "higher_is_better": [BOOLEAN],
    },
    renamed={"scores": "data"},
    old_positional=("dv",),
)
def compare_waves_eb(
    data: pd.DataFrame,
    *,
    dv: str,
    wave: str = "wave",
    community: str = "community",
    before: Hashable = "baseline",
    after: Hashable = "end_of_cycle",
    ci: float = 0.95,
    min_n: int = 10,
    higher_is_better: bool = True,
    nan_policy: Literal["omit", "raise"] = "omit",
) -> pd.DataFrame:
    r"""Change in the empirical-Bayes (shrunken) community scores.

    Each wave is fitted separately with the random-intercept model
    :math:`y_{ij} = \beta_0 + u_j + e_{ij}` (REML). The EB score of community j is
    :math:`\hat\beta_0 + \hat u_j` with :math:`\hat u_j = \lambda_j(\bar y_j - \hat\beta_0)`,
    :math:`\lambda_j = \hat\tau^2/(\hat\tau^2 + \hat\sigma^2/n_j)`, and posterior SD
    :math:`\mathrm{psd}_j = \sqrt{\lambda_j\hat\sigma^2/n_j}` (lme4's conditional variance).

    Parameters
    ----------
    data, dv, wave, community, before, after, nan_policy
        As in :func:`compare_waves` (``community`` is required here).
    ci : float, default=0.95
        Level of the posterior interval of the change.
    min_n : int, default=10
        Communities with fewer respondents in either wave are suppressed (NaN, reason). EB
        scores are meant for small communities, so a lower value (>= 2) is reasonable when
        privacy allows.
    higher_is_better : bool, default=True
        Direction of "improved" in ``p_improved``.

    Returns
    -------
    DataFrame, one row per community: ``n_before``, ``n_after``, ``mean_before``,
    ``mean_after``, ``eb_before``, ``eb_after``, ``psd_before``, ``psd_after``,
    ``reliability_before``, ``reliability_after`` (:math:`\lambda_j`), ``diff`` (EB change),
    ``sd_diff``, ``ci_low``, ``ci_high``, ``p_improved``, ``confidence``, ``suppressed``,
    ``reason``, and each wave's model (the same on every row): ``intercept_before``,
    ``tau2_before``, ``sigma2_before``, ``intercept_after``, ``tau2_after``, ``sigma2_after``.

    Notes
    -----
    .. math:: \Delta_j = \mathrm{EB}_{a,j} - \mathrm{EB}_{b,j},\quad
              \mathrm{sd}_j = \sqrt{\mathrm{psd}_{b,j}^2 + \mathrm{psd}_{a,j}^2},\quad
              P(\text{improved}) = \Phi(\pm\Delta_j / \mathrm{sd}_j)

    assuming the two waves' posteriors are independent (different respondents; with a panel
    this is an approximation) and ignoring the uncertainty of :math:`\hat\beta_0`,
    :math:`\hat\tau^2` and :math:`\hat\sigma^2` (plug-in EB). The interval is
    :math:`\Delta_j \pm z_{1-\alpha/2}\,\mathrm{sd}_j`.

    Validated against R: ``lme4::lmer(score ~ 1 + (1 | community), REML = TRUE)`` per wave,
    ``fixef + ranef`` and ``sqrt(attr(ranef(condVar = TRUE), "postVar"))``, abs tol 1e-6.

    References
    ----------
    .. [1] Raudenbush, S. W. & Bryk, A. S. (2002). Hierarchical Linear Models, ch. 3.
    .. [2] Bates, D. et al. (2015). Fitting linear mixed-effects models using lme4. JSS 67(1).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "community": list("AAAAAABBBBBBCCCCCC") * 2,
    ...     "wave": ["baseline"] * 18 + ["end_of_cycle"] * 18,
    ...     "score": [3, 3.5, 2.5, 3, 3.2, 2.8, 2, 2.4, 2.2, 2.6, 1.8, 2.0, 4, 3.6, 3.8, 4.2,
    ...               4.4, 4.0, 3.6, 3.8, 3.4, 3.2, 4.0, 3.6, 2, 2.2, 2.6, 2.8, 2.4, 2.0,
    ...               4, 4.2, 3.8, 4.4, 4.6, 4.0]})
    >>> compare_waves_eb(df, dv="score", min_n=5)[["community", "diff", "p_improved"]].round(3)
      community   diff  p_improved
    0         A  0.595       1.000
    1         B  0.168       0.832
    2         C  0.170       0.836
    """
    from collective_efficacy.multilevel._lmm import fit_ri_intercept

    ci = check_ci(ci)
    min_n = _check_min_n(min_n)
    if community is None:
        raise DataError("compare_waves_eb needs a community column (community=None was given)")
    tw = prepare(
        data, dv, wave=wave, community=community, before=before, after=after,
        nan_policy=nan_policy,
    )  # fmt: skip
    g_count = len(tw.labels)
    out = pd.DataFrame({"level": "community", tw.community: np.asarray(tw.labels, dtype=object)})
    models: dict[str, float] = {}
    for name, mask in (("before", ~tw.after), ("after", tw.after)):  # two waves
        fit = fit_ri_intercept(tw.y[mask], tw.codes[mask], g_count, method="REML")
        mom = moments(tw.y[mask], tw.codes[mask], g_count)
        out[f"n_{name}"] = mom.n.astype(np.int64)
        out[f"mean_{name}"] = mom.mean
        out[f"eb_{name}"] = fit.beta[0] + fit.eb
        out[f"psd_{name}"] = np.sqrt(fit.eb_var)
        out[f"reliability_{name}"] = fit.lambda_
        # the wave's model (the same on every row): in the table, not hidden in df.attrs
        models[f"intercept_{name}"] = float(fit.beta[0])
        models[f"tau2_{name}"] = float(fit.tau2)
        models[f"sigma2_{name}"] = float(fit.sigma2)
        if not fit.converged:
            warnings.warn(
                f"EB model of the {name} wave not verified as converged ({fit.message})",
                ConvergenceWarning,
                stacklevel=2,
            )
    sup, reason = suppression(out["n_before"].to_numpy(), out["n_after"].to_numpy(), min_n)
    diff = out["eb_after"].to_numpy() - out["eb_before"].to_numpy()
    sd = np.hypot(out["psd_before"].to_numpy(), out["psd_after"].to_numpy())
    z = float(_dist.norm_ppf(0.5 + ci / 2))
    out["n_missing"] = tw.n_missing.astype(np.int64)
    out["diff"] = diff
    out["sd_diff"] = sd
    out["ci_low"], out["ci_high"] = diff - z * sd, diff + z * sd
    with np.errstate(divide="ignore", invalid="ignore"):
        out["p_improved"] = _dist.norm_cdf((diff if higher_is_better else -diff) / sd)
    cols = [c for c in out.columns if c.startswith(("mean_", "eb_", "psd_", "reliab"))]
    cols += ["diff", "sd_diff", "ci_low", "ci_high", "p_improved"]
    out.loc[sup, cols] = np.nan
    out["direction"] = _direction(out["diff"].to_numpy(dtype=np.float64), _wave_scale(out))
    out["confidence"] = ci
    out["suppressed"] = sup
    out["reason"] = reason
    for col, value in models.items():
        out[col] = value
    text_columns(out, ["level", "direction", "reason"])
    return out

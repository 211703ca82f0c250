r"""The change a survey design can detect, and the residents it needs to detect a change.

Per community: a two-sample (cross-section) or paired (panel) t test of the change, planned at
:math:`\alpha/K` over :math:`K` communities. Overall: the mean change over the communities,
with the clustering of residents in communities (design effect, or the change model's variance
of change). Programme versus comparison communities: Bloom's (2005) minimum detectable effect
size of a two-level cluster design (:func:`mdes_cluster`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_choice
from collective_efficacy.errors import DataError
from collective_efficacy.plan._baseline import from_fit
from collective_efficacy.plan._power import POWER_TOL, detectable, multiplier, power_t, smallest_n

__all__ = ["detectable_change", "mdes_cluster", "residents_for_change"]

_ADJUST = ("holm", "bonferroni", "none")
_DESIGNS = ("cross-section", "panel")


def _num(
    name: str, value: Any, *, low: float, high: float = math.inf, open_low: bool = True
) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    inside = (v > low if open_low else v >= low) and v < high
    if not ok or not inside:
        rng = f"{'(' if open_low else '['}{low:g}, {high:g})"
        raise DataError(f"{name} must be a number in {rng}; got {value!r}", argument=name)
    return v


def _int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise DataError(f"{name} must be a whole number >= {low}; got {value!r}", argument=name)
    return int(value)


def _cluster_se2(icc: float, m: float, j: float, share: float, r2c: float, r2r: float) -> float:
    """Bloom (2005) / Dong & Maynard (2013) variance of a two-level cluster contrast (SD = 1)."""
    pq = share * (1.0 - share)
    return icc * (1.0 - r2c) / (pq * j) + (1.0 - icc) * (1.0 - r2r) / (pq * j * m)


class _Plan:
    """Validated inputs of detectable_change / residents_for_change and their SE at n."""

    def __init__(self, kw: dict[str, Any]) -> None:
        fit = kw["fit"]
        base = from_fit(fit) if fit is not None else None
        sd, icc, k = kw["sd"], kw["icc"], kw["n_communities"]
        if base is not None:
            sd = base.sd if sd is None else sd
            icc = base.icc if icc is None else icc
            k = base.n_communities if k is None else k
        if sd is None:
            raise DataError("sd= is needed (or a fit= to read it from)", argument="sd")
        self.sd = _num("sd", sd, low=0.0)
        self.icc = None if icc is None else _num("icc", icc, low=0.0, high=1.0, open_low=False)
        self.k = _int("n_communities", 1 if k is None else k, 1)
        self.var_change = None if base is None else base.var_change
        self.alpha = _num("alpha", kw["alpha"], low=0.0, high=1.0)
        self.power = _num("power", kw["power"], low=0.0, high=1.0)
        check_choice("adjust", kw["adjust"], _ADJUST)
        check_choice("design", kw["design"], _DESIGNS)
        check_choice("method", kw["method"], ("exact", "bloom"))
        check_choice("tails", kw["tails"], (1, 2))
        self.adjust, self.design, self.method = kw["adjust"], kw["design"], kw["method"]
        self.tails = int(kw["tails"])
        r = kw["panel_correlation"]
        if self.design == "panel":
            if r is None:
                raise DataError(
                    "design='panel' needs panel_correlation=", argument="panel_correlation"
                )
            self.r = _num("panel_correlation", r, low=-1.0, high=1.0)
        else:
            self.r = 0.0
        self.alpha_each = self.alpha / self.k if self.adjust != "none" else self.alpha

    def community(self, n: int) -> tuple[float, float]:
        """SE and df of one community's change with ``n`` residents per wave."""
        if self.design == "panel":
            return self.sd * math.sqrt(2.0 * (1.0 - self.r) / n), n - 1.0
        return self.sd * math.sqrt(2.0 / n), 2.0 * n - 2.0

    def overall(self, n: int) -> tuple[float, float, float | None]:
        """SE, df and design effect of the mean change over the K communities."""
        within = self.sd**2 * (1.0 - self.r)
        if self.var_change is not None:
            se2 = (self.var_change + 2.0 * within / n) / self.k
            return math.sqrt(se2), self.k - 1.0, None
        icc = self.icc or 0.0
        # Bloom's cluster variance with J = 2K groups of n, P = 1/2, on the total variance
        total = within / (1.0 - icc)
        se2 = total * _cluster_se2(icc, n, 2.0 * self.k, 0.5, 0.0, 0.0)
        return math.sqrt(se2), self.k - 1.0, 1.0 + (n - 1.0) * icc

    def row(self, level: str, n: int) -> dict[str, Any]:
        if level == "community":
            se, df = self.community(n)
            a, deff = self.alpha_each, None
        else:
            se, df, deff = self.overall(n)
            a = self.alpha
        return {"level": level, "design": self.design, "n_per_wave": n, "n_communities": self.k,
                "adjust": self.adjust if level == "community" else "none", "alpha": self.alpha,
                "alpha_per_test": a, "power": self.power, "tails": self.tails,
                "method": self.method, "sd": self.sd, "icc": self.icc,
                "var_change": self.var_change, "design_effect": deff, "se": se,
                "df": df}  # fmt: skip

    def levels(self) -> list[str]:
        return ["community", "overall"] if self.k >= 2 else ["community"]


_SCHEMA = {"level": "object", "design": "object", "n_per_wave": "int64", "n_communities": "int64",
           "adjust": "object", "alpha": "float64", "alpha_per_test": "float64",
           "power": "float64", "tails": "int64", "method": "object", "sd": "float64",
           "icc": "float64", "var_change": "float64", "design_effect": "float64",
           "se": "float64", "df": "float64"}  # fmt: skip


def _frame(rows: list[dict[str, Any]], extra: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    for col, dtype in {**_SCHEMA, **extra}.items():
        out[col] = out[col].astype(dtype)
    return out


def _kw(**kw: Any) -> dict[str, Any]:
    return kw


def detectable_change(
    n_per_wave: int,
    *,
    sd: float | None = None,
    icc: float | None = None,
    n_communities: int | None = None,
    alpha: float = 0.05,
    power: float = 0.80,
    adjust: str = "holm",
    design: str = "cross-section",
    panel_correlation: float | None = None,
    fit: Any = None,
    method: str = "exact",
    tails: int = 2,
) -> pd.DataFrame:
    r"""Minimal detectable change per community and overall, for ``n_per_wave`` residents.

    **Per community** (a t test of the community's change), with :math:`s` the within-community
    SD of the score and :math:`n` residents per wave:

    .. math:: SE = s\sqrt{2/n},\ df = 2n-2 \ \text{(cross-section)};\qquad
              SE = s\sqrt{2(1-r)/n},\ df = n-1 \ \text{(panel, correlation } r).

    tested at :math:`\alpha/K` for :math:`K` communities: ``"bonferroni"`` uses :math:`\alpha/K`
    and ``"holm"`` is planned at its most stringent step, also :math:`\alpha/K` (Holm's later
    steps test at larger levels, so the plan is conservative); ``"none"`` uses :math:`\alpha`.

    **Overall** (the mean change over :math:`K \ge 2` communities, its own family at
    :math:`\alpha`, :math:`df = K-1`), from ICC(1) :math:`\rho` with the design effect
    :math:`1 + (n-1)\rho`,

    .. math:: SE^2 = \frac{2\,s^2}{1-\rho}\,\frac{1 + (n-1)\rho}{Kn}
              = \frac{2(\tau + s^2/n)}{K},\qquad \tau = \frac{\rho s^2}{1-\rho},

    (community effects that do not persist between waves: Bloom's two-level formula with
    :math:`J = 2K` groups, :math:`P = 1/2`), or, with a change-model ``fit``, from its
    variance of change :math:`\tau_\Delta` and residual :math:`\sigma^2`:
    :math:`SE^2 = (\tau_\Delta + 2\sigma^2/n)/K`.

    The detectable change :math:`\delta` solves power :math:`=` ``power`` for the noncentral t
    with :math:`ncp = \delta/SE` (``method="exact"``, both tails as R's
    ``power.t.test(strict = TRUE)``), or is Bloom's :math:`M \cdot SE` with
    :math:`M = t_{1-\alpha/2,df} + t_{power,df}` (``method="bloom"``, as PowerUpR / Optimal
    Design's MDES).

    Parameters
    ----------
    n_per_wave : int
        Residents per community in each wave (>= 2).
    sd : float, optional
        Within-community SD of the score (as ``compare_waves``' ``sd_before``); from ``fit``
        when not given.
    icc : float, optional
        ICC(1) in [0, 1) for the overall design effect; 0 when neither it nor a fit is given.
    n_communities : int, optional
        :math:`K` (default: the fit's shown communities, else 1).
    alpha, power : float, default=0.05, 0.80
    adjust : {"holm", "bonferroni", "none"}, default="holm"
    design : {"cross-section", "panel"}, default="cross-section"
        New residents each wave, or the same residents (then ``panel_correlation``).
    panel_correlation : float, optional
        Correlation of a resident's two scores (panel design).
    fit : Evaluation, random_intercept or change_model result, optional
        Baseline to read ``sd``, ``icc``, :math:`K` and the variance of change from; a fit that
        did not converge raises.
    method : {"exact", "bloom"}, default="exact"
    tails : {1, 2}, default=2

    Returns
    -------
    DataFrame
        One row per ``level`` (``"community"``, and ``"overall"`` when :math:`K \ge 2`):
        ``design, n_per_wave, n_communities, adjust, alpha, alpha_per_test, power, tails,
        method, sd, icc, var_change, design_effect, se, df`` and ``change`` (scale points),
        ``change_std`` (change / ``sd``).

    References
    ----------
    Bloom (1995), *Evaluation Review* 19, 547-556; Bloom (2005), in *Learning more from social
    experiments*, ch. 4; Raudenbush (1997), *Psychological Methods* 2, 173-185; Dong & Maynard
    (2013), *J. Research on Educational Effectiveness* 6, 24-67; Holm (1979).

    Examples
    --------
    >>> from collective_efficacy.plan import detectable_change
    >>> t = detectable_change(30, sd=0.6, icc=0.15, n_communities=20)
    >>> t[["level", "change", "change_std"]].round(3)
           level  change  change_std
    0  community   0.623       1.039
    1    overall   0.257       0.428
    """
    p = _Plan(_kw(sd=sd, icc=icc, n_communities=n_communities, alpha=alpha, power=power,
                  adjust=adjust, design=design, panel_correlation=panel_correlation, fit=fit,
                  method=method, tails=tails))  # fmt: skip
    n = _int("n_per_wave", n_per_wave, 2)
    rows = []
    for level in p.levels():  # two rows, not communities
        row = p.row(level, n)
        a, se, df = row["alpha_per_test"], row["se"], row["df"]
        row["change"] = detectable(se, df, a, p.power, method=p.method, tails=p.tails)
        row["change_std"] = row["change"] / p.sd
        rows.append(row)
    return _frame(rows, {"change": "float64", "change_std": "float64"})


def residents_for_change(
    delta: float,
    *,
    sd: float | None = None,
    icc: float | None = None,
    n_communities: int | None = None,
    alpha: float = 0.05,
    power: float = 0.80,
    adjust: str = "holm",
    design: str = "cross-section",
    panel_correlation: float | None = None,
    fit: Any = None,
    method: str = "exact",
    tails: int = 2,
) -> pd.DataFrame:
    r"""Residents per community and wave needed to detect a change of ``delta`` scale points.

    The inverse of :func:`detectable_change` (same parameters, formulas and levels): the
    smallest whole :math:`n \ge 2` whose power at ``delta`` reaches ``power`` (``method="exact"``;
    a power within ``1e-10`` below the target counts as reaching it, so that an exact boundary is
    not rounded up by floating-point error) or whose Bloom MDE is at most ``delta``
    (``method="bloom"``). The answer is checked directly at :math:`n` and :math:`n-1`.

    Overall, with a change-model fit, more residents cannot push :math:`SE` below
    :math:`\sqrt{\tau_\Delta/K}`: a ``delta`` that needs more communities gets
    ``n_per_wave`` missing and a ``note``.

    Returns
    -------
    DataFrame
        The columns of :func:`detectable_change` (``n_per_wave`` is Int64, missing when no
        number of residents reaches the target), ``delta``, ``delta_std``, ``power_reached``
        (power at ``delta`` with that many, float) and ``note`` (missing when there is none).

    Examples
    --------
    >>> from collective_efficacy.plan import residents_for_change
    >>> t = residents_for_change(0.3, sd=0.6, icc=0.15, n_communities=20)
    >>> t[["level", "n_per_wave", "power_reached"]].round(3)
           level  n_per_wave  power_reached
    0  community         122          0.801
    1    overall          10          0.814
    """
    p = _Plan(_kw(sd=sd, icc=icc, n_communities=n_communities, alpha=alpha, power=power,
                  adjust=adjust, design=design, panel_correlation=panel_correlation, fit=fit,
                  method=method, tails=tails))  # fmt: skip
    d = _num("delta", abs(delta) if isinstance(delta, (int, float)) else delta, low=0.0)
    rows = []
    for level in p.levels():
        rows.append(_solve(p, level, d))
    extra = {"n_per_wave": "Int64", "delta": "float64", "delta_std": "float64"}
    out = _frame(rows, {**extra, "power_reached": "float64"})
    out["note"] = out["note"].astype("object").where(out["note"].notna(), None)
    return out


def _solve(p: _Plan, level: str, d: float) -> dict[str, Any]:
    def stats_at(n: int) -> tuple[float, float, float]:
        r = p.row(level, n)
        return r["se"], r["df"], r["alpha_per_test"]

    def reaches(n: int) -> bool:
        se, df, a = stats_at(n)
        if p.method == "bloom":
            return multiplier(df, a, p.power, p.tails) * se <= d * (1.0 + 1e-12)
        return power_t(d / se, df, a, p.tails) >= p.power - POWER_TOL

    n = smallest_n(reaches, lo=2, hi=10_000_000)
    row = p.row(level, n if n is not None else 2)
    note = None
    if n is None:
        note = "no number of residents reaches the target: survey more communities"
        row.update(n_per_wave=None, se=math.nan, df=math.nan, design_effect=math.nan)
        reached = math.nan
    else:
        reached = power_t(d / row["se"], row["df"], row["alpha_per_test"], p.tails)
    row.update(delta=d, delta_std=d / p.sd, power_reached=reached, note=note)
    return row


def mdes_cluster(
    n_communities: int,
    n_per_community: float,
    *,
    icc: float,
    share: float = 0.5,
    r2_community: float = 0.0,
    r2_resident: float = 0.0,
    n_covariates: int = 0,
    alpha: float = 0.05,
    power: float = 0.80,
    tails: int = 2,
) -> pd.DataFrame:
    r"""Minimum detectable effect size of a two-level cluster design (programme vs comparison).

    :math:`J` communities, a share :math:`P` of them in the programme, :math:`n` residents each,
    outcome SD 1 (Bloom 2005; Dong & Maynard 2013, CRA2; PowerUpR's ``mdes.cra2``):

    .. math:: MDES = M_{J-g-2}\sqrt{\frac{\rho(1-R_2^2)}{P(1-P)J}
              + \frac{(1-\rho)(1-R_1^2)}{P(1-P)Jn}},\qquad
              M_{df} = t_{1-\alpha/2,df} + t_{power,df}.

    Returns
    -------
    DataFrame
        One row: ``n_communities, n_per_community, icc, share, df, se, multiplier, mdes`` and
        ``power_at_mdes`` (the noncentral-t power at that MDES, slightly off ``power`` because
        Bloom's multiplier is an approximation).

    Examples
    --------
    >>> from collective_efficacy.plan import mdes_cluster
    >>> round(float(mdes_cluster(40, 25, icc=0.10)["mdes"].iloc[0]), 3)
    0.335
    """
    j = _int("n_communities", n_communities, 3 + int(n_covariates))
    n = _num("n_per_community", n_per_community, low=0.0)
    rho = _num("icc", icc, low=0.0, high=1.0, open_low=False)
    pshare = _num("share", share, low=0.0, high=1.0)
    r2c = _num("r2_community", r2_community, low=0.0, high=1.0, open_low=False)
    r2r = _num("r2_resident", r2_resident, low=0.0, high=1.0, open_low=False)
    a = _num("alpha", alpha, low=0.0, high=1.0)
    pw = _num("power", power, low=0.0, high=1.0)
    check_choice("tails", tails, (1, 2))
    df = float(j - int(n_covariates) - 2)
    se = math.sqrt(_cluster_se2(rho, n, float(j), pshare, r2c, r2r))
    m = multiplier(df, a, pw, int(tails))
    return pd.DataFrame({"n_communities": [j], "n_per_community": [n], "icc": [rho],
                         "share": [pshare], "df": [df], "se": [se], "multiplier": [m],
                         "mdes": [m * se],
                         "power_at_mdes": [power_t(m, df, a, int(tails))]})  # fmt: skip

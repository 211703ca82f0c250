r"""Per-community plan of the next wave from an evaluation (report section and ``plan`` command)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy import _dist
from collective_efficacy._checks import check_choice
from collective_efficacy.errors import DataError
from collective_efficacy.evaluation import Evaluation
from collective_efficacy.plan._power import POWER_TOL
from collective_efficacy.plan.change import _num
from collective_efficacy.plan.reliability import residents_for_reliability

__all__ = ["next_cycle"]


def _power(delta: np.ndarray, sd: np.ndarray, n: np.ndarray, alpha: float) -> np.ndarray:
    """Two-sided two-sample t power, vectorised over communities."""
    df = 2.0 * n - 2.0
    ncp = np.abs(delta) / (sd * np.sqrt(2.0 / n))
    crit = _dist.t_ppf(1.0 - alpha / 2.0, df)
    upper = np.asarray(_dist.nct_sf(crit, df, ncp), dtype=float)
    lower = np.asarray(_dist.nct_cdf(-crit, df, ncp), dtype=float)
    # scipy's nct loses the far tail (NaN): the normal limit is exact there, as in _power
    upper = np.where(np.isfinite(upper), upper, _dist.norm_sf(crit - ncp))
    return np.asarray(upper + np.where(np.isfinite(lower), lower, 0.0))


def _residents(delta: np.ndarray, sd: np.ndarray, alpha: float, power: float) -> np.ndarray:
    """Smallest n per wave reaching ``power`` at ``delta``, every community at once (float, NaN
    where delta or sd is missing or 0): doubling from the normal approximation, then bisection,
    so that n reaches the target and n - 1 does not."""
    ok = np.isfinite(delta) & np.isfinite(sd) & (np.abs(delta) > 0) & (sd > 0)
    d, s = np.where(ok, np.abs(delta), 1.0), np.where(ok, sd, 1.0)
    z = _dist.norm_ppf(1.0 - alpha / 2.0) + _dist.norm_ppf(power)
    hi = np.maximum(2.0, np.ceil(2.0 * (s * z / d) ** 2))

    def reaches(n: np.ndarray) -> np.ndarray:
        return (n >= 2) & (_power(d, s, np.maximum(n, 2.0), alpha) >= power - POWER_TOL)

    for _ in range(60):  # doublings, not communities
        short = ~reaches(hi)
        if not short.any():
            break
        hi = np.where(short, hi * 2.0, hi)
    lo = np.ones_like(hi)  # n = 1 never reaches (no degrees of freedom)
    while (hi - lo > 1).any():  # bisection over all communities at once
        mid = np.floor((lo + hi) / 2.0)
        good = reaches(mid)
        active = hi - lo > 1
        hi = np.where(active & good, mid, hi)
        lo = np.where(active & ~good, mid, lo)
    return np.where(ok, hi, np.nan)


def next_cycle(
    evaluation: Evaluation,
    *,
    target: float = 0.70,
    alpha: float = 0.05,
    power: float = 0.80,
    adjust: str = "holm",
) -> pd.DataFrame:
    r"""How many residents each community needs in the next wave, from this cycle's evaluation.

    Per shown community: the residents for a reliability of ``target`` of the community score
    (Spearman–Brown on the end-of-cycle ICC(1); the same for every community), and the residents
    per wave to detect, with ``power``, a change as large as the one observed this cycle (a
    two-sample t test at :math:`\alpha/K` over the :math:`K` shown communities, ``"holm"``
    planned at its most stringent step; the within-community SD pooled over the two waves).
    Suppressed communities keep their row, with no number (``suppressed=True``), as in every
    table of the evaluation.

    Returns
    -------
    DataFrame
        ``<community>`` (the evaluation's community column), ``n_before``, ``n_after``
        (Int64), ``observed_change``, ``sd`` (float), ``residents_for_reliability``,
        ``residents_to_detect_change`` (Int64 per wave; missing for a change of 0),
        ``suppressed`` (bool).

    Examples
    --------
    >>> import collective_efficacy as ce
    >>> from collective_efficacy.plan import next_cycle
    >>> b, a = ce.datasets.load_example(split=True)
    >>> ev = ce.evaluate(b, a, community="buurt", columns=ce.datasets.EXAMPLE_COLUMNS,
    ...                  skip_impact=True)  # doctest: +SKIP
    >>> next_cycle(ev).columns[0]  # doctest: +SKIP
    'buurt'
    """
    if not isinstance(evaluation, Evaluation):
        raise DataError(
            f"evaluation must be an Evaluation; got {type(evaluation).__name__}",
            argument="evaluation",
        )
    check_choice("adjust", adjust, ("holm", "bonferroni", "none"))
    a = _num("alpha", alpha, low=0.0, high=1.0)
    pw = _num("power", power, low=0.0, high=1.0)
    change = evaluation.tables.get("change", pd.DataFrame())
    if change.empty:
        raise DataError("the evaluation has no change table to plan from", argument="evaluation")
    com = evaluation.community
    rows = change[change["level"] == "community"].reset_index(drop=True)
    shown = ~rows["suppressed"].astype(bool).to_numpy()
    k = int(shown.sum())
    rel = residents_for_reliability(target, fit=evaluation)
    m_rel = int(rel["residents"].iloc[0])
    sd = np.sqrt((rows["sd_before"].astype(float) ** 2 + rows["sd_after"].astype(float) ** 2) / 2)
    diff = rows["diff"].astype(float).to_numpy()
    a_each = a / max(k, 1) if adjust != "none" else a
    need = _residents(diff, sd.to_numpy(), a_each, pw)
    out = pd.DataFrame({com: rows[com].astype(str),
                        "n_before": rows["n_before"], "n_after": rows["n_after"],
                        "observed_change": diff, "sd": sd,
                        "residents_for_reliability": m_rel,
                        "residents_to_detect_change": need, "suppressed": ~shown})  # fmt: skip
    hide = ["n_before", "n_after", "observed_change", "sd", "residents_to_detect_change"]
    hide += ["residents_for_reliability"]
    out.loc[~shown, hide] = np.nan
    for col in ("n_before", "n_after", "residents_for_reliability", "residents_to_detect_change"):
        out[col] = pd.array(np.round(out[col].astype(float)), dtype="Int64")
    return out


def summary_lines(table: pd.DataFrame, evaluation: Evaluation, **opts: Any) -> list[str]:
    """Plain-text lines for the command line: the parameters, then the per-community table."""
    k = int((~table["suppressed"]).sum())
    rel = table["residents_for_reliability"].dropna()
    lines = [
        f"communities shown: {k} (suppressed: {int(table['suppressed'].sum())})",
        f"residents per community for reliability {opts.get('target', 0.70):.2f}: "
        + (str(int(rel.iloc[0])) if len(rel) else "-"),
    ]
    return lines

"""The one verdict rule for a community's change (private): improved, declined or no clear change.

The report draws, for every community, the interval that decides its verdict, so that the table,
the plot and the summary can never disagree: a community **improved** if and only if its drawn
interval lies entirely above 0, **declined** if and only if it lies entirely below 0, and shows
**no clear change** otherwise.

The intervals are those of the multilevel change model (:func:`model_verdicts`): each
community's posterior for its change integrated over the uncertain covariance parameters,
``integrated_mean -/+ z * integrated_sd`` (it includes the uncertainty of the fixed effects and
of the variances; not centred on the EB ``change`` in general), as
:func:`~collective_efficacy.change_model` gives them in ``ci_low``, ``ci_high``. Partial pooling pulls the changes of
small communities towards the overall change (of their own group, with comparison
communities), which is what guards against chance extremes among many communities, so these
intervals are not corrected further (Gelman, Hill & Yajima 2012): in the simulation of
``docs/methods/change-model.md`` the share of surveys of 40 communities with any verdict of
the wrong sign was 6.8 % (Welch + Holm 0.5 %, uncorrected Welch 22.5 %; with 100 communities
16.3 %, so this is not a family-wise guarantee). When the model cannot be used (see
:mod:`collective_efficacy.evaluation._change`), the rule falls back to the raw differences
with simultaneous intervals (:func:`change_verdicts`).

In the fallback, because the verdict is given for many communities at once, the drawn intervals are
*simultaneous* (Bonferroni): with :math:`m` communities with a change and confidence level
:math:`1-\\alpha`, each interval is

.. math:: \\hat\\Delta_j \\pm t_{\\nu_j}\\left(1 - \\frac{\\alpha}{2m}\\right)\\,\\mathrm{SE}_j

(Welch's :math:`\\nu_j`, as in :func:`~collective_efficacy.change.compare_waves`), so all
:math:`m` intervals cover their true change together with probability at least
:math:`1-\\alpha`. Its dual p-value is the Bonferroni-adjusted :math:`\\min(1, m\\,p_j)`: the
interval excludes 0 exactly when that p is below :math:`\\alpha` (Bonferroni 1936; Dunn 1961).
With ``p_adjust="none"`` there is no correction (:math:`m = 1`). Holm's step-down p-values
(the default of :func:`~collective_efficacy.change.compare_waves`) have no simultaneous
intervals, so they stay in ``results.json`` but do not decide the verdict.

Everything that gives or counts a verdict goes through :func:`change_verdicts` and
:func:`count_verdicts`, so a different rule (the empirical-Bayes change model) replaces it here
only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from collective_efficacy import _dist

__all__ = [
    "VERDICTS",
    "change_verdicts",
    "count_verdicts",
    "model_verdicts",
    "simultaneous_intervals",
]

#: The verdict codes, in the order the report names them.
VERDICTS = ("improved", "declined", "no_change")


def simultaneous_intervals(
    estimate: Sequence[float] | np.ndarray,
    se: Sequence[float] | np.ndarray,
    df: Sequence[float] | np.ndarray,
    *,
    ci: float = 0.95,
    m: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Bonferroni-simultaneous t intervals ``estimate -/+ t_df(1 - (1 - ci) / (2 m)) * se``.

    Matches R's ``est + c(-1, 1) * qt(1 - (1 - ci) / (2 * m), df) * se``; with ``m = 1`` it is
    the ordinary (Welch) interval. Missing inputs give missing bounds.

    Examples
    --------
    >>> low, high = simultaneous_intervals([0.5], [0.2], [30.0], ci=0.95, m=10)
    >>> round(float(low[0]), 4), round(float(high[0]), 4)
    (-0.106, 1.106)
    """
    if m < 1:
        raise ValueError(f"m must be at least 1; got {m}")
    est = np.asarray(estimate, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    q = _dist.t_ppf(1.0 - (1.0 - ci) / (2.0 * m), np.asarray(df, dtype=np.float64))
    return est - q * s, est + q * s


def _family_size(p_adjust: str, m: int) -> int:
    return 1 if p_adjust == "none" else max(m, 1)


def change_verdicts(
    rows: Iterable[Mapping[str, Any]], *, ci: float, p_adjust: str
) -> list[dict[str, Any]]:
    """Per-community rows of a change table with the drawn interval and its verdict added.

    ``rows`` are the records of :func:`~collective_efficacy.change.compare_waves` (the overall
    row is skipped). Each returned row is the input row plus ``shown_low``, ``shown_high``
    (the simultaneous interval), ``shown_p`` (its dual Bonferroni p), ``shown_level`` (the
    per-interval confidence level, ``1 - (1 - ci) / m``), ``family`` (``m``) and ``verdict``
    (one of :data:`VERDICTS`; ``None`` for a suppressed community or one without a change).

    Examples
    --------
    >>> rows = [{"level": "community", "diff": d, "se": 0.1, "df": 40.0, "p": p,
    ...          "suppressed": False} for d, p in ((0.5, 1e-5), (0.1, 0.32), (-0.3, 0.005))]
    >>> [r["verdict"] for r in change_verdicts(rows, ci=0.95, p_adjust="holm")]
    ['improved', 'no_change', 'declined']
    """
    per = [dict(r) for r in rows if r.get("level") != "overall"]
    has = [not r.get("suppressed") and r.get("diff") is not None for r in per]
    m = _family_size(p_adjust, sum(has))

    def col(key: str) -> np.ndarray:
        return np.array(
            [np.nan if not h or r.get(key) is None else float(r[key]) for r, h in zip(per, has)]
        )

    low, high = simultaneous_intervals(col("diff"), col("se"), col("df"), ci=ci, m=m)
    p = np.minimum(1.0, m * col("p"))
    for k, r in enumerate(per):
        ok = has[k] and np.isfinite(low[k]) and np.isfinite(high[k])
        r["rule"] = "bonferroni"
        r["estimate"] = r.get("diff") if has[k] else None
        r["rank"] = r.get("p")  # which communities the plot keeps when it has too many
        r["family"] = m
        r["shown_level"] = 1.0 - (1.0 - ci) / m
        r["shown_low"] = float(low[k]) if ok else None
        r["shown_high"] = float(high[k]) if ok else None
        r["shown_p"] = float(p[k]) if ok and np.isfinite(p[k]) else None
        if not has[k]:
            r["verdict"] = None
        elif not ok:
            r["verdict"] = "no_change"  # no interval (e.g. no variation): nothing to conclude
        else:
            r["verdict"] = "improved" if low[k] > 0 else "declined" if high[k] < 0 else "no_change"
    return per


_MODEL_CODES = {"improved": "improved", "declined": "declined", "no clear change": "no_change"}


def model_verdicts(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The per-community rows of the change model with the drawn interval and its verdict.

    ``rows`` are the records of :attr:`ChangeModel.communities
    <collective_efficacy.change_model>` (as the evaluation stores them). Each returned row adds
    ``estimate`` (the EB change), ``shown_low``, ``shown_high`` (its interval ``ci_low``,
    ``ci_high``), ``shown_level`` (``confidence``), ``family`` (1: no correction), ``diff``
    (the raw difference of means), ``rank`` (the posterior two-sided tail
    ``2 min(p_improved, 1 - p_improved)``) and ``verdict`` in the codes of :data:`VERDICTS`.

    Examples
    --------
    >>> rows = [{"change": c, "ci_low": c - 0.2, "ci_high": c + 0.2, "p_improved": p,
    ...          "raw_change": c, "confidence": 0.95, "verdict": v, "suppressed": False}
    ...         for c, p, v in ((0.5, 0.99, "improved"), (0.1, 0.7, "no clear change"))]
    >>> [(r["verdict"], r["shown_low"]) for r in model_verdicts(rows)]
    [('improved', 0.3), ('no_change', -0.1)]
    """
    out = []
    for row in rows:
        r = dict(row)
        ok = not r.get("suppressed") and r.get("verdict") is not None
        lo, hi = r.get("ci_low"), r.get("ci_high")
        code = _MODEL_CODES.get(str(r.get("verdict"))) if ok else None
        if code is not None and lo is not None and hi is not None:  # the rule is the interval
            code = "improved" if lo > 0 else "declined" if hi < 0 else "no_change"
        p = r.get("p_improved")
        r |= {
            "rule": "model",
            "estimate": r.get("change") if ok else None,
            "diff": r.get("raw_change") if ok else None,
            "shown_low": lo if ok else None,
            "shown_high": hi if ok else None,
            "shown_level": r.get("confidence"),
            "family": 1,
            "rank": None if p is None else 2.0 * min(p, 1.0 - p),
            "verdict": code,
        }
        out.append(r)
    return out


def count_verdicts(verdicts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many communities got each verdict, plus ``not_shown`` (no verdict).

    Examples
    --------
    >>> count_verdicts([{"verdict": "improved"}, {"verdict": None}, {"verdict": "no_change"}])
    {'improved': 1, 'declined': 0, 'no_change': 1, 'not_shown': 1}
    """
    out = dict.fromkeys((*VERDICTS, "not_shown"), 0)
    for r in verdicts:
        out[r.get("verdict") or "not_shown"] += 1
    return out

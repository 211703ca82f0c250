"""Respondent scale scores and their aggregation to communities.

Both functions are vectorised over the whole table: scoring is one masked matrix product per
scale, aggregation one ``bincount`` pass over all communities (and waves) at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._groups import factorize_groups
from collective_efficacy._params import (
    CI,
    COLUMN,
    COLUMNS,
    FRAME,
    SCALE_RANGE,
    InstanceOf,
    Interval,
    public,
)
from collective_efficacy.errors import DataError
from collective_efficacy.instrument import Instrument, load_instrument
from collective_efficacy.instrument._keys import flip, key_bounds, split_keyed_names
from collective_efficacy.prepared import accepts_prepared
from collective_efficacy.responses import ValidatedResponses
from collective_efficacy.survey_design import SurveyDesign, resolve_design, weighted_aggregate

__all__ = ["aggregate", "reverse_items", "score"]


@public(
    constraints={"scale_range": [SCALE_RANGE]},
    renamed={"low": "scale_range[0]", "high": "scale_range[1]"},
    old_positional=("low", "high"),
)
def reverse_items(values: np.ndarray, *, scale_range: tuple[float, float]) -> np.ndarray:
    r"""Reverse-key item codes: :math:`x' = \min + \max - x` (NaN stays NaN).

    Applying it twice returns the original codes. The same rule reverses keyed items in
    :func:`score`, :func:`~collective_efficacy.cronbach_alpha` and the mixed models.

    Parameters
    ----------
    values : array-like
        Item codes (any shape).
    scale_range : (min, max)
        The response-scale bounds (``low``/``high`` before 1.0).

    Examples
    --------
    >>> import numpy as np
    >>> reverse_items(np.array([1.0, 4.0, np.nan]), scale_range=(1, 5)).tolist()
    [5.0, 2.0, nan]
    """
    return flip(np.asarray(values, dtype=float), float(scale_range[0]), float(scale_range[1]))


def _scale_specs(
    inst: Instrument | None,
    scales: Sequence[str] | None,
    keys: Mapping[str, Sequence[str]] | None,
    min_items: int | Mapping[str, int] | None,
) -> list[dict[str, Any]]:
    specs: list[dict[str, Any]] = []
    if keys is not None:
        for name, spec in keys.items():
            if isinstance(spec, str):
                raise DataError(
                    f"keys[{name!r}] must be a list of item names, e.g. ['SC1', '-SC3']"
                )
            items, signs = split_keyed_names(list(spec))
            specs.append(
                {
                    "id": name,
                    "items": items,
                    "signs": signs,
                    "rule": "mean",
                    "min_items": None,
                    "rescale": None,
                }
            )
    else:
        if inst is None:
            raise DataError("score() needs an instrument or keys={'scale': ['item', '-item', ...]}")
        chosen = [inst.scale(s) for s in scales] if scales is not None else list(inst.scales)
        if not chosen:
            raise DataError(f"instrument {inst.id!r} defines no scales; pass keys=")
        for s in chosen:
            signs = np.array([-1.0 if inst.item(i).reverse else 1.0 for i in s.items])
            specs.append(
                {
                    "id": s.id,
                    "items": list(s.items),
                    "signs": signs,
                    "rule": s.rule,
                    "min_items": s.min_items,
                    "rescale": s.rescale,
                }
            )
    for sp in specs:
        if isinstance(min_items, Mapping):
            if sp["id"] in min_items:
                sp["min_items"] = min_items[sp["id"]]
        elif min_items is not None:
            sp["min_items"] = min_items
        mi = sp["min_items"]
        if mi is not None and not 1 <= int(mi) <= len(sp["items"]):
            raise DataError(
                f"min_items={mi} for scale {sp['id']!r} must be between 1 and its "
                f"{len(sp['items'])} items"
            )
    return specs


@accepts_prepared
@public(
    constraints={
        "data": [
            InstanceOf(
                pd.DataFrame,
                ValidatedResponses,
                description="a DataFrame or ValidatedResponses",
                example=pd.DataFrame,
            )
        ],
        "scales": [COLUMNS, None],
        "min_items": [
            Interval(Integral, 1, None),
            InstanceOf(Mapping, description="a mapping scale -> int", example=dict),
            None,
        ],
        "scale_range": [SCALE_RANGE, None],
    },
    renamed={"responses": "data", "scale_min": "scale_range[0]", "scale_max": "scale_range[1]"},
)
def score(
    data: ValidatedResponses | pd.DataFrame,
    instrument: Instrument | str | None = None,
    *,
    scales: Sequence[str] | None = None,
    keys: Mapping[str, Sequence[str]] | None = None,
    min_items: int | Mapping[str, int] | None = None,
    scale_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    r"""Score every respondent on every scale.

    Parameters
    ----------
    data : ValidatedResponses or DataFrame
        Output of :func:`validate`, or a frame whose item columns are named by item id and hold
        numeric codes (missing as NaN).
    instrument : Instrument or id, optional
        Needed with a plain DataFrame unless ``keys`` is given.
    scales : sequence of str, optional
        Scale ids to score (default: all scales of the instrument).
    keys : mapping of scale name -> list of items, optional
        Score without an instrument, in the style of R ``psych::scoreItems``:
        ``{"cohesion": ["SC1", "SC2", "-SC3", "-SC4", "SC5"]}``; ``-`` reverses an item.
    min_items : int or mapping, optional
        Minimum answered items for a score (default: the scale's ``min_items``, else 1).
    scale_range : (min, max), optional
        Bounds used to reverse items (default: with an instrument, each item's response scale
        lowest and highest codes; with ``keys``, the minimum and maximum observed over the
        scale's items, as ``psych::scoreItems`` does).

    Returns
    -------
    DataFrame
        Same index as the usable rows; the id columns, then per scale a column with the score and
        ``n_answered_<scale>``.

    Notes
    -----
    Reverse keying: :math:`x' = \min + \max - x`. The mean rule averages the answered items;
    the sum rule is the prorated sum :math:`k \bar{x}` (equal to the plain sum when every item is
    answered, and not biased downwards by a skipped item). A score is NaN when fewer than
    ``min_items`` items were answered. With ``rescale: [lo, hi]`` in the scale definition, the mean
    is mapped linearly from the response range to ``[lo, hi]``.

    Matches ``psych::scoreItems(keys, items, totals=FALSE, impute="none", min=, max=)$scores``.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> df = pd.DataFrame({"SC1": [5, 2], "SC2": [4, None], "SC3": [1, 4]})
    >>> ce.score(df, keys={"coh": ["SC1", "SC2", "-SC3"]}, scale_range=(1, 5))["coh"].tolist()
    [4.666666666666667, 2.0]
    """
    inst: Instrument | None
    id_cols: list[str] = []
    responses = data
    if isinstance(responses, ValidatedResponses):
        inst = responses.instrument if instrument is None else load_instrument(instrument)
        frame = responses.data
        id_cols = [c for c in (responses.respondent, responses.community, responses.wave) if c]
    elif isinstance(responses, pd.DataFrame):
        frame = responses
        inst = load_instrument(instrument) if instrument is not None else None
    else:
        raise DataError(
            f"responses must be ValidatedResponses or a DataFrame; got {type(responses).__name__}"
        )
    specs = _scale_specs(inst, scales, keys, min_items)
    needed = list(dict.fromkeys(i for sp in specs for i in sp["items"]))
    check_columns(frame, needed, what="item column")
    x = numeric_matrix(frame, needed)
    answered_mask = ~np.isnan(x)
    x0 = np.where(answered_mask, x, 0.0)
    m = answered_mask.astype(np.float64)
    pos = {c: j for j, c in enumerate(needed)}
    # One matrix product for all scales: a reversed item contributes lo + hi - x, so
    # sum_s = x0 @ signs_s + m @ offset_s and answered_s = m @ member_s.
    k, n_s = len(needed), len(specs)
    signed = np.zeros((k, n_s))
    offset = np.zeros((k, n_s))
    member = np.zeros((k, n_s))
    bounds: list[tuple[float, float]] = []
    for s, sp in enumerate(specs):
        rows = [pos[i] for i in sp["items"]]
        keyed_by = inst if keys is None else None
        lo, hi = key_bounds(x[:, rows], sp["items"], keyed_by, scale_range)
        signed[rows, s] = sp["signs"]
        offset[rows, s] = np.where(sp["signs"] < 0, lo + hi, 0.0)
        member[rows, s] = 1.0
        bounds.append((float(lo.mean()), float(hi.mean())))
    sums = x0 @ signed + m @ offset
    answered_all = np.rint(m @ member).astype(np.int64)
    out = frame[id_cols].copy() if id_cols else pd.DataFrame(index=frame.index.copy())
    for s, sp in enumerate(specs):
        answered = answered_all[:, s]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums[:, s] / answered
        mi = sp["min_items"] or 1
        mean[answered < max(mi, 1)] = np.nan
        if sp["rule"] == "sum":
            value = mean * len(sp["items"])
        elif sp["rescale"] is not None:
            a, b = sp["rescale"]
            lo_m, hi_m = bounds[s]
            value = a + (b - a) * (mean - lo_m) / (hi_m - lo_m)
        else:
            value = mean
        out[sp["id"]] = value
        out[f"n_answered_{sp['id']}"] = answered
    return out


_AGGREGATE_COLUMNS = ("scale", "n", "mean", "sd", "se", "ci_low", "ci_high", "suppressed", "reason")


@accepts_prepared
@public(
    constraints={
        "data": [FRAME],
        "community": [COLUMN],
        "wave": [COLUMN, None],
        "columns": [COLUMNS, None],
        "min_n": [Interval(Integral, 1, None)],
        "ci": [CI],
    },
    renamed={"scores": "data"},
)
def aggregate(
    data: pd.DataFrame,
    *,
    community: str,
    wave: str | None = None,
    columns: Sequence[str] | None = None,
    min_n: int = 10,
    ci: float = 0.95,
    weight: str | None = None,
    design: SurveyDesign | None = None,
) -> pd.DataFrame:
    r"""Aggregate respondent scores to communities (and waves), all at once.

    Parameters
    ----------
    data : DataFrame
        Respondent scores (e.g. from :func:`score`) with a community column.
    community : str
        The community column. It may not be named like a result column (``n``, ``mean``, ...).
    wave : str, optional
        A wave column; then one row per community and wave.
    columns : sequence of str, optional
        Score columns to aggregate (default: every numeric column except ``n_answered_*`` and
        the id columns).
    min_n : int, default=10
        Communities with fewer valid scores are suppressed (privacy): the row is kept with ``n``
        and ``suppressed=True`` but carries no statistics.
    ci : float, default=0.95
        Confidence level of the interval of the mean.
    weight : str, optional
        Survey weight column; short for ``design=SurveyDesign(weight=...)``.
    design : SurveyDesign, optional
        Weights, strata, clusters and fpc: weighted means with Taylor-linearisation standard
        errors as ``survey::svyby(~score, ~community, design, svymean, deff=TRUE)`` (see
        :mod:`collective_efficacy.survey_design`). ``n`` (and suppression) stays the unweighted
        count of respondents with a score.

    Returns
    -------
    DataFrame
        One row per community (and wave) and scale: ``community``, [``wave``], ``scale``, ``n``,
        ``mean``, ``sd``, ``se``, ``ci_low``, ``ci_high``, ``suppressed``, ``reason``. Weighted:
        ``sd`` is ``svyvar``'s, the interval is normal (``confint`` of ``svyby``), and
        ``confidence``, ``sum_weights``, ``n_eff`` (Kish) and ``deff`` are added before
        ``suppressed``.

    Notes
    -----
    :math:`\bar{x}_j`, :math:`s_j` with denominator :math:`n_j - 1`, :math:`se_j = s_j/\sqrt{n_j}`,
    CI :math:`\bar{x}_j \pm t_{1-(1-ci)/2,\,n_j-1}\, se_j`. Missing scores are left out
    (``n`` counts the valid ones). Computed for all communities in one ``bincount`` pass
    (two-pass centred sums for numerical accuracy).

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> s = pd.DataFrame({"buurt": ["A"] * 5 + ["B"] * 2, "ce": [3, 4, 4, 5, 4, 2, 3]})
    >>> agg = ce.aggregate(s, community="buurt", min_n=5)
    >>> agg[["buurt", "n", "mean", "suppressed"]].to_dict("records")
    [{'buurt': 'A', 'n': 5, 'mean': 4.0, 'suppressed': False}, {'buurt': 'B', 'n': 2, 'mean': nan, 'suppressed': True}]
    """
    scores = data
    for arg, col in (("community", community), ("wave", wave)):
        if col in _AGGREGATE_COLUMNS:
            raise DataError(
                f"the {arg} column is named {col!r}, which aggregate() uses for a result column; "
                f"rename it (e.g. data.rename(columns={{{col!r}: '{arg}'}})). Reserved names: "
                f"{', '.join(_AGGREGATE_COLUMNS)}",
                argument=arg,
            )
    check_columns(scores, [community] + ([wave] if wave else []), what="id column")
    resolved = resolve_design(weight, design)
    skip = [community, wave, *(resolved.columns() if resolved else [])]
    if columns is None:
        columns = [
            str(c)
            for c in scores.columns
            if c not in skip
            and not str(c).startswith("n_answered_")
            and pd.api.types.is_numeric_dtype(scores[c])
            and not pd.api.types.is_bool_dtype(scores[c])
        ]
    columns = list(columns)
    if not columns:
        raise DataError("no numeric score columns to aggregate; pass columns=[...]")
    check_columns(scores, columns, what="score column")
    if resolved is not None:
        return weighted_aggregate(
            scores, community=community, wave=wave, columns=columns, design=resolved,
            min_n=int(min_n), ci=ci,
        )  # fmt: skip
    keys = [community] + ([wave] if wave else [])
    gc = factorize_groups(scores, community, what="community")
    if wave:
        # combined (community, wave) code without building tuples: c * W + w, then compacted
        gw = factorize_groups(scores, wave, what="wave")
        W = gw.n_groups
        comb = gc.codes * W + gw.codes
        present = np.bincount(comb, minlength=gc.n_groups * W) > 0
        remap = np.cumsum(present) - 1
        codes = remap[comb]
        cells = np.flatnonzero(present)
        label_cols = {
            community: gc.labels.to_numpy()[cells // W],
            wave: gw.labels.to_numpy()[cells % W],
        }
    else:
        codes = gc.codes
        cells = np.arange(gc.n_groups)
        label_cols = {community: gc.labels.to_numpy()}
    x = numeric_matrix(scores, columns)
    G = len(cells)
    frames = []
    for j, name in enumerate(columns):  # loop over scales (few), never over communities
        v = x[:, j]
        ok = ~np.isnan(v)
        cc = codes[ok]
        vv = v[ok]
        n = np.bincount(cc, minlength=G).astype(np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.bincount(cc, weights=vv, minlength=G) / n
            ss = np.bincount(cc, weights=(vv - mean[cc]) ** 2, minlength=G)
            sd = np.sqrt(ss / (n - 1))
            se = sd / np.sqrt(n)
            tcrit = stats.t.ppf(0.5 + ci / 2, np.maximum(n - 1, 1))
            half = tcrit * se
        sup = n < min_n
        res = pd.DataFrame(
            {
                "scale": name,
                "n": n,
                "mean": mean,
                "sd": sd,
                "se": se,
                "ci_low": mean - half,
                "ci_high": mean + half,
            }
        )
        res.loc[n < 2, ["sd", "se", "ci_low", "ci_high"]] = np.nan
        res.loc[sup, ["mean", "sd", "se", "ci_low", "ci_high"]] = np.nan
        res["suppressed"] = sup
        reason = np.full(len(res), None, dtype=object)
        reason[sup] = f"fewer than {min_n} respondents"
        res["reason"] = reason
        for pos, (name_, lab) in enumerate(label_cols.items()):
            res.insert(pos, name_, lab)
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(keys + ["scale"], kind="stable", ignore_index=True)

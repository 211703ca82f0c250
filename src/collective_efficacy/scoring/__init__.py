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

from collective_efficacy import _dist
from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._groups import factorize_groups
from collective_efficacy._moments import group_moments
from collective_efficacy._params import (
    CI,
    CODES,
    COLUMN,
    COLUMNS,
    FRAME,
    MAPPING,
    SCALE_RANGE,
    InstanceOf,
    Interval,
    public,
)
from collective_efficacy.errors import DataError
from collective_efficacy.instrument import INSTRUMENT_SOURCE, Instrument, load_instrument
from collective_efficacy.instrument._keys import flip, key_bounds, split_keyed_names
from collective_efficacy.prepared import accepts_prepared, lookup
from collective_efficacy.responses import ValidatedResponses
from collective_efficacy.summaries._dispatch import summary_route
from collective_efficacy.survey_design import (
    WEIGHTING,
    SurveyDesign,
    resolve_design,
    weighted_aggregate,
)

__all__ = ["aggregate", "reverse_items", "score"]


@public(
    constraints={"values": [CODES], "scale_range": [SCALE_RANGE]},
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
        "instrument": [*INSTRUMENT_SOURCE, None],
        "keys": [MAPPING, None],
        "data": [
            FRAME,
            InstanceOf(
                ValidatedResponses,
                description="a ValidatedResponses",
                example=pd.DataFrame,
            ),
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
    plain = _plain_columns(frame, needed)
    # the observed range (for key_bounds) from each column's extremes: no matrix needed
    x = numeric_matrix(frame, needed) if plain is None else plain[1]
    pos = {c: j for j, c in enumerate(needed)}
    # One matrix product for all scales: sum_s = x0 @ signs_s, plus lo + hi for every answered
    # reversed item (a reversed item contributes lo + hi - x); answered_s counts the items.
    k, n_s = len(needed), len(specs)
    signed = np.zeros((k, n_s))
    offsets: list[tuple[int, int, float]] = []
    bounds: list[tuple[float, float]] = []
    item_cols: list[np.ndarray | slice] = []
    for s, sp in enumerate(specs):
        rows = np.array([pos[i] for i in sp["items"]])
        keyed_by = inst if keys is None else None
        contiguous = np.array_equal(rows, rows[0] + np.arange(len(rows)))
        cols: np.ndarray | slice = slice(rows[0], rows[-1] + 1) if contiguous else rows
        lo, hi = key_bounds(x[:, cols], sp["items"], keyed_by, scale_range)
        signed[rows, s] = sp["signs"]
        offsets += [
            (s, int(rows[i]), float(lo[i] + hi[i])) for i in np.flatnonzero(sp["signs"] < 0)
        ]
        item_cols.append(cols)
        bounds.append((float(lo.mean()), float(hi.mean())))
    if plain is not None:  # row blocks: small temporaries, reused (no copy of every cell)
        sums = np.empty((len(frame), n_s))
        answered_all = np.empty((len(frame), n_s), dtype=np.int64)
        block = np.empty((min(_BLOCK, len(frame)), k))
        for start in range(0, len(frame), _BLOCK):
            part = block[: min(_BLOCK, len(frame) - start)]
            for j, col in enumerate(plain[0]):
                part[:, j] = col[start : start + _BLOCK]
            sums[start : start + len(part)], answered_all[start : start + len(part)] = (
                _sums_answered(part, signed, offsets, item_cols)
            )
    else:
        sums, answered_all = _sums_answered(x, signed, offsets, item_cols)
    columns_out: dict[str, np.ndarray] = {}
    for s, sp in enumerate(specs):
        answered = np.ascontiguousarray(answered_all[:, s])
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
        columns_out[sp["id"]] = value
        columns_out[f"n_answered_{sp['id']}"] = answered
    if not id_cols:  # the arrays are this call's own: the frame takes them without a copy
        return pd.DataFrame(columns_out, index=frame.index.copy(), copy=False)
    out = frame[id_cols].copy()
    for name, col in columns_out.items():
        out[name] = col
    return out


_BLOCK = 1 << 14  # rows per block of score()'s plain path (a 1.3 MB block of 10 items)


def _plain_columns(
    frame: pd.DataFrame, needed: list[str]
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """The item columns (numpy numbers, read in place) and each one's smallest and largest
    non-missing value as a (2, items) matrix; None sends ``score`` to ``numeric_matrix``
    (other dtypes, an infinite value -- it raises naming the cell --, no rows, or a matrix
    already held by a preparation)."""
    if not len(frame) or frame.columns.has_duplicates:
        return None
    if lookup(frame, ("numeric_matrix", *needed)) is not None:
        return None
    cols = []
    for c in needed:
        dtype = frame[c].dtype
        if not (isinstance(dtype, np.dtype) and dtype.kind in "iuf"):
            return None
        col = frame[c].to_numpy()
        if col.strides[0] != col.itemsize:
            # a column that is a strided view of a row-major block (a frame built from one
            # 2-D array): gathering it item by item reads every row k times (2x slower at 1M
            # than one copy of the block)
            return None
        cols.append(col)
    extremes = np.array([[np.fmin.reduce(c), np.fmax.reduce(c)] for c in cols], dtype=float).T
    if np.isinf(extremes).any():
        return None
    return cols, extremes


def _sums_answered(
    x: np.ndarray,
    signed: np.ndarray,
    offsets: list[tuple[int, int, float]],
    item_cols: list[np.ndarray | slice],
) -> tuple[np.ndarray, np.ndarray]:
    """Signed item sums per row and scale (missing as 0, ``lo + hi`` added for each answered
    reversed item) and the answered items per row and scale. ``x`` is zeroed where missing
    when writeable (score's own copy or block), else read only."""
    missing = np.isnan(x)
    if x.flags.writeable:  # our own copy (read-only when shared by a PreparedSurvey)
        np.copyto(x, 0.0, where=missing)  # after key_bounds, which reads the observed range
        x0 = x
    else:
        x0 = np.where(missing, 0.0, x)
    sums = x0 @ signed
    for s, j, off in offsets:  # reversed items (few)
        sums[:, s] += np.where(missing[:, j], 0.0, off)
    answered = np.stack([_answered(missing[:, c]) for c in item_cols], axis=1)
    return sums, answered


def _answered(missing: np.ndarray) -> np.ndarray:
    """Answered items per row of a (rows, items) missing mask (int64): an integer product of
    the mask's bytes with ones (several times faster than ``count_nonzero(axis=1)``)."""
    k = missing.shape[1]
    if k > 255:  # the byte sum could overflow
        return k - np.count_nonzero(missing, axis=1).astype(np.int64)
    return k - (missing.view(np.uint8) @ np.ones(k, np.uint8)).astype(np.int64)


_AGGREGATE_COLUMNS = ("scale", "n", "mean", "sd", "se", "ci_low", "ci_high", "suppressed", "reason")


@accepts_prepared
@summary_route("aggregate")
@public(
    constraints={
        **WEIGHTING,
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
        A polars, pyarrow, DuckDB or Dask frame is summed per community inside its engine
        (only that table is collected; ``weight``/``design`` collect the rows); a
        :class:`~collective_efficacy.CommunitySummary` gives the same result from the sums
        (see *Large and shared data*).
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
        waves_ordered = gw.labels.is_monotonic_increasing
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
        waves_ordered = True
        label_cols = {community: gc.labels.to_numpy()}
    x = numeric_matrix(scores, columns)
    G = len(cells)
    frames = []
    for j, name in enumerate(columns):  # loop over scales (few), never over communities
        mom = group_moments(x[:, j], codes, G)
        n = mom.n.astype(np.int64)
        mean = mom.mean
        frames.append(aggregate_rows(name, n, mean, mom.ss, label_cols, min_n=min_n, ci=ci))
    out = pd.concat(frames, ignore_index=True)
    ordered = gc.labels.is_monotonic_increasing and waves_ordered
    if not ordered:
        return out.sort_values(keys + ["scale"], kind="stable", ignore_index=True)
    # the cells are already in label order (codes of sorted labels): order by (cell, scale name)
    # with one integer sort instead of a sort of the labels
    rank = np.argsort(np.argsort(np.asarray(columns, dtype=object), kind="stable"))
    key = np.arange(G)[None, :] * len(columns) + rank[:, None]
    return out.take(np.argsort(key.ravel(), kind="stable")).reset_index(drop=True)


def aggregate_rows(
    name: str,
    n: np.ndarray,
    mean: np.ndarray,
    ss: np.ndarray,
    label_cols: Mapping[str, Any],
    *,
    min_n: int,
    ci: float,
) -> pd.DataFrame:
    """One scale's :func:`aggregate` rows from per-cell n, mean and centred sum of squares."""
    n = np.asarray(n).astype(np.int64)
    mean = np.asarray(mean, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(ss / (n - 1))
        se = sd / np.sqrt(n)
        # one quantile per distinct group size (few), not per community
        df_u, inv = np.unique(np.maximum(n - 1, 1), return_inverse=True)
        tcrit = _dist.t_ppf(0.5 + ci / 2, df_u)[inv]
        half = tcrit * se
    sup = n < min_n
    lo_, hi_ = mean - half, mean + half
    for arr in (sd, se, lo_, hi_):  # masks in numpy, not .loc on the frame (fixed cost)
        arr[(n < 2) | sup] = np.nan
    mean = np.where(sup, np.nan, mean)
    reason = np.full(len(n), None, dtype=object)
    reason[sup] = f"fewer than {min_n} respondents"
    return pd.DataFrame(
        {
            **label_cols,
            "scale": name,
            "n": n,
            "mean": mean,
            "sd": sd,
            "se": se,
            "ci_low": lo_,
            "ci_high": hi_,
            "suppressed": sup,
            "reason": reason,
        }
    )

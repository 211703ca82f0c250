r"""The 0-5 impact scale (Strongpact-style): a transparent, documented operationalisation.

In Dutch *collectieve weerbaarheid* programmes the end-of-cycle evaluation places every community
on a 0-5 impact level that combines (1) measured cohesion, (2) cooperation with municipality and
police and (3) the development of the group (Stöpler 2021, section 3). The published practice text
describes only levels 0-1 (communities under pressure) and 3 (ready to be "released"); the rubric
and the way the dimensions combine here are THIS LIBRARY'S OWN, stated in full in
``docs/impact-scale.md``. It is not a validated psychometric scale.

* :func:`cohesion_levels` maps a community's survey score to 0-5 by cut-points.
* :func:`impact_levels` combines the cohesion level with the programme lead's assessment
  (instrument ``strongpact_assessment``) into one level per community (and wave).
* :func:`impact_change` compares the levels of two waves.

All functions work on whole tables at once (vectorised); no loop over communities.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._params import COLUMN, FRAME, public
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.responses import ValidatedResponses

__all__ = [
    "ASSESSMENT_INSTRUMENT",
    "DEFAULT_CUTPOINTS",
    "EVIDENCE_COLUMNS",
    "IMPACT_LEVEL_LABELS",
    "IMPACT_PALETTE",
    "IMPACT_RULES",
    "NO_LEVEL_COLOUR",
    "RELEASE_LEVEL",
    "SURVEY_ONLY_CAP",
    "cohesion_levels",
    "impact_change",
    "impact_levels",
]

#: Cut-points on the 1-5 mean scale: cohesion level = number of cut-points <= score.
DEFAULT_CUTPOINTS: tuple[float, float, float, float, float] = (2.0, 2.5, 3.0, 3.5, 4.0)
#: The level from which a community is "ready to be released" (seed, section 3.4).
RELEASE_LEVEL = 3
#: Highest level without a full assessment (and without partner and group both >= 3).
SURVEY_ONLY_CAP = 2
#: The built-in instrument of the two assessed dimensions.
ASSESSMENT_INSTRUMENT = "strongpact_assessment"
#: Optional evidence counts of the assessment, carried through by :func:`impact_levels`.
EVIDENCE_COLUMNS: tuple[str, ...] = (
    "meetings_held",
    "self_organised_activities",
    "active_members",
    "leaders",
)
#: Fixed colour per level: blues below the release threshold (0-2), oranges from it (3-5), with
#: lightness rising strictly with the level (CIE L* 16, 33, 49 | 66, 80, 94) so that the order
#: survives greyscale printing and the simulated protan, deutan and tritan deficiencies (Machado
#: et al. 2009), and the blue-to-orange step marks level 3 in all of them.
IMPACT_PALETTE: dict[int, str] = {
    0: "#152450",
    1: "#2A4C8C",
    2: "#4377BA",
    3: "#E68A35",
    4: "#F5BC68",
    5: "#FEEEB8",
}
#: Colour of a community without a level (suppressed, no score, or no data).
NO_LEVEL_COLOUR = "#BDBDBD"
#: Short labels of the levels (legends, GeoJSON ``label``).
IMPACT_LEVEL_LABELS: dict[str, dict[int, str]] = {
    "en": {
        0: "0 - residents do not know each other",
        1: "1 - known by face, no supported leadership",
        2: "2 - core group with support",
        3: "3 - self-starting, knows the way to partners (ready for release)",
        4: "4 - self-organising with partners",
        5: "5 - embedded, renewing, supports others",
    },
    "nl": {
        0: "0 - bewoners kennen elkaar niet",
        1: "1 - van gezicht bekend, geen gedragen leiderschap",
        2: "2 - kerngroep met ondersteuning",
        3: "3 - zelf initiatief, kent weg naar partners (klaar om los te laten)",
        4: "4 - zelforganiserend met partners",
        5: "5 - verankerd, vernieuwt zich, helpt anderen",
    },
}

_DIMENSIONS = ("partner_cooperation", "group_development")
Rule = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]


# -- the combination rules --------------------------------------------------------------------
def _rule_default(c: np.ndarray, p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Round-down of the mean of the three dimensions: floor((c + p + g) / 3)."""
    return (c + p + g) // 3


def _rule_mean(c: np.ndarray, p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Nearest integer to the mean (never a tie, since the mean of three integers is k/3)."""
    return (c + p + g + 1) // 3


def _rule_min(c: np.ndarray, p: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The weakest dimension."""
    return np.minimum(np.minimum(c, p), g)


#: The built-in combination rules (before the readiness gate): name -> function.
IMPACT_RULES: dict[str, Rule] = {
    "default": _rule_default,
    "mean": _rule_mean,
    "min": _rule_min,
}


def _resolve_rule(rule: str | Rule) -> tuple[str, Rule]:
    if callable(rule):
        return f"custom:{getattr(rule, '__name__', type(rule).__name__)}", rule
    if isinstance(rule, str) and rule in IMPACT_RULES:
        return rule, IMPACT_RULES[rule]
    raise DataError(
        f"The 'rule' parameter of impact_levels must be one of {list(IMPACT_RULES)} or a "
        f"function f(cohesion, partner, group) -> levels. Got {rule!r} instead."
    )


def _apply_rule(name: str, fn: Rule, c: np.ndarray, p: np.ndarray, g: np.ndarray) -> np.ndarray:
    raw = np.asarray(fn(c.copy(), p.copy(), g.copy()), dtype=float)
    if raw.shape != c.shape:
        raise DataError(
            f"impact rule {name!r} returned shape {raw.shape}; expected one level per community "
            f"{c.shape}"
        )
    bad = ~np.isfinite(raw) | (raw < 0) | (raw > 5) | (raw != np.floor(raw))
    if bad.any():
        raise DataError(
            f"impact rule {name!r} returned {raw[bad][:5].tolist()} for (cohesion, partner, "
            f"group) = {list(zip(c[bad][:5].tolist(), p[bad][:5].tolist(), g[bad][:5].tolist()))}"
            "; expected integers 0-5"
        )
    return raw.astype(np.int64)


def _combine(
    name: str, fn: Rule, c: np.ndarray, p: np.ndarray, g: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Level after the readiness gate and whether the gate decided it."""
    raw = _apply_rule(name, fn, c, p, g)
    gate = np.where((p >= RELEASE_LEVEL) & (g >= RELEASE_LEVEL), 5, SURVEY_ONLY_CAP)
    return np.minimum(raw, gate), raw > gate


# -- cohesion ---------------------------------------------------------------------------------
def _check_cutpoints(cutpoints: Sequence[float]) -> np.ndarray:
    try:
        cut = np.asarray(list(cutpoints), dtype=float)
    except (TypeError, ValueError):
        raise DataError(
            f"cutpoints must be 5 increasing numbers (the lower bounds of levels 1-5); got "
            f"{cutpoints!r}"
        ) from None
    if cut.shape != (5,) or not np.isfinite(cut).all() or (np.diff(cut) <= 0).any():
        raise DataError(
            f"cutpoints must be 5 finite, strictly increasing numbers (the lower bounds of "
            f"levels 1-5, e.g. {list(DEFAULT_CUTPOINTS)}); got {list(np.ravel(cut))}"
        )
    return cut


def cohesion_levels(
    scores: Sequence[float] | np.ndarray | pd.Series,
    *,
    cutpoints: Sequence[float] = DEFAULT_CUTPOINTS,
) -> pd.Series:
    r"""Map cohesion scores to levels 0-5 by cut-points.

    Parameters
    ----------
    scores : array-like of float
        Community scores (e.g. the mean or the empirical-Bayes score on the 1-5 scale).
    cutpoints : sequence of 5 floats, default=DEFAULT_CUTPOINTS
        Strictly increasing lower bounds of levels 1, ..., 5.

    Returns
    -------
    Series of Int64
        The level of each score; missing (``<NA>``) where the score is missing.

    Notes
    -----
    .. math:: \mathrm{level}(x) = \#\{k : c_k \le x\},\qquad c_1 < \dots < c_5

    A score equal to a cut-point belongs to the higher level. The default cut-points
    (2.0, 2.5, 3.0, 3.5, 4.0) on the 1-5 mean scale are the library's convention (no published
    norm exists): below 2 (on average disagreeing) is level 0, 3 (neutral) starts level 3,
    4 (on average agreeing) is level 5. For a score on another range (e.g. a 0-10 rescaled
    scale) pass cut-points on that range. Being monotone, the mapping carries a confidence
    interval: ``level(ci_low) <= level(score) <= level(ci_high)``.

    Examples
    --------
    >>> from collective_efficacy.impact import cohesion_levels
    >>> cohesion_levels([1.9, 2.0, 2.99, 3.0, 4.2, float("nan")]).tolist()
    [0, 1, 2, 3, 5, <NA>]
    """
    cut = _check_cutpoints(cutpoints)
    x = pd.to_numeric(pd.Series(np.asarray(scores, dtype=object)), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan
    )
    ok = ~np.isnan(x)
    lev = np.searchsorted(cut, np.where(ok, x, 0.0), side="right").astype(np.int64)
    return pd.Series(_int_or_na(lev, ok))


def _int_or_na(values: np.ndarray, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Nullable Int64 array: ``values`` where ``ok``, ``<NA>`` elsewhere."""
    arr = pd.array(np.where(ok, values, 0).astype(np.int64), dtype="Int64")
    arr[~np.asarray(ok, dtype=bool)] = pd.NA
    return arr


def _bool_or_na(values: np.ndarray, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Nullable boolean array: ``values`` where ``ok``, ``<NA>`` elsewhere."""
    arr = pd.array(np.asarray(values, dtype=bool), dtype="boolean")
    arr[~np.asarray(ok, dtype=bool)] = pd.NA
    return arr


# -- input checks -----------------------------------------------------------------------------
def _select_scale(df: pd.DataFrame, scale: str | None) -> pd.DataFrame:
    if "scale" not in df.columns:
        if scale is not None:
            raise DataError(
                f"scale={scale!r} given but cohesion_scores has no 'scale' column; "
                f"columns: {list(map(str, df.columns))}"
            )
        return df
    scales = list(pd.unique(df["scale"]))
    if scale is None:
        if len(scales) == 1:
            return df
        if "collective_efficacy" in scales:
            scale = "collective_efficacy"
        else:
            raise DataError(
                f"cohesion_scores holds several scales {scales}; choose one with scale=..."
            )
    if scale not in scales:
        raise DataError(f"scale {scale!r} not found in column 'scale'; scales: {scales}")
    return df.loc[df["scale"] == scale]


def _check_unique(df: pd.DataFrame, keys: list[str], what: str) -> None:
    dup = df.duplicated(subset=keys, keep=False).to_numpy()
    if dup.any():
        shown = df.loc[dup, keys].drop_duplicates().head(5).to_dict("records")
        raise DataError(
            f"{what} has {int(dup.sum())} rows sharing the same {' and '.join(keys)}, e.g. "
            f"{shown}; expected one row per {'/'.join(keys)}"
            + (" (pass wave= for a table of several waves)" if len(keys) == 1 else "")
        )


def _assessment_frame(
    assessments: pd.DataFrame | ValidatedResponses, keys: list[str]
) -> pd.DataFrame:
    frame = assessments.data if isinstance(assessments, ValidatedResponses) else assessments
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            "assessments must be a DataFrame or the result of ce.validate(..., "
            f"'{ASSESSMENT_INSTRUMENT}'); got {type(assessments).__name__}"
        )
    check_columns(frame, keys + list(_DIMENSIONS), what="assessments column")
    x = numeric_matrix(frame, list(_DIMENSIONS))
    bad = ~np.isnan(x) & ((x < 0) | (x > 5) | (x != np.floor(x)))
    for j, col in enumerate(_DIMENSIONS):
        if bad[:, j].any():
            vals = x[bad[:, j], j][:5].tolist()
            raise DataError(
                f"assessments column {col!r}, {rows_in(frame, bad[:, j])}: value(s) {vals}; expected an "
                f"integer level 0-5 or missing. Run ce.validate(assessments, "
                f"'{ASSESSMENT_INSTRUMENT}', community=..., wave=...) first to recode "
                "answer labels and the missing code 9 (not assessed)."
            )
    _check_unique(frame, keys, "assessments")
    out = frame[keys].copy()
    out[list(_DIMENSIONS)] = x
    for c in EVIDENCE_COLUMNS:
        if c in frame.columns:
            out[c] = frame[c].to_numpy(copy=True)
    return out


def _key_index(df: pd.DataFrame, keys: list[str]) -> pd.Index:
    """Index of the key column(s), for vectorised row matching."""
    if len(keys) == 1:
        return pd.Index(df[keys[0]].to_numpy())
    return pd.MultiIndex.from_arrays([df[k].to_numpy() for k in keys])


def _scatter(values: pd.Series, pos: np.ndarray, n: int) -> Any:
    """``values`` placed at rows ``pos`` of a length-``n`` column (missing elsewhere)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        v = values.to_numpy(dtype=float, na_value=np.nan)
        out = np.full(n, np.nan)
        out[pos] = v
        ok = ~np.isnan(out)
        if np.all(out[ok] == np.floor(out[ok])):
            return _int_or_na(np.where(ok, out, 0).astype(np.int64), ok)
        return out
    obj = np.full(n, None, dtype=object)
    obj[pos] = values.to_numpy(dtype=object)
    return obj


# -- impact levels ----------------------------------------------------------------------------
@public(
    constraints={"data": [FRAME], "community": [COLUMN], "wave": [COLUMN, None]},
    renamed={"cohesion_scores": "data"},
    old_positional=("assessments",),
)
def impact_levels(
    data: pd.DataFrame,
    *,
    assessments: pd.DataFrame | ValidatedResponses | None = None,
    community: str = "community",
    wave: str | None = None,
    score: str = "mean",
    ci_low: str | None = "ci_low",
    ci_high: str | None = "ci_high",
    scale: str | None = None,
    rule: str | Rule = "default",
    cutpoints: Sequence[float] = DEFAULT_CUTPOINTS,
) -> pd.DataFrame:
    r"""Impact level 0-5 per community (and wave) from survey cohesion and the programme's rating.

    Parameters
    ----------
    data : DataFrame
        One row per community (and wave): the output of :func:`aggregate` (columns ``mean``,
        ``ci_low``, ``ci_high``, ``suppressed``, ``reason``, ``n``, and ``scale`` when several
        scales were aggregated), or any table with a score column (e.g. empirical-Bayes scores).
    assessments : DataFrame or ValidatedResponses, optional
        The programme lead's ratings (instrument ``strongpact_assessment``): columns
        ``community`` (and ``wave``), ``partner_cooperation`` and ``group_development``
        (integers 0-5, missing allowed), optionally the evidence counts
        :data:`EVIDENCE_COLUMNS` (carried through). ``None``: every level is survey-only.
    community, wave : str
        Names of the community and (optional) wave columns, the same in both tables.
    score : str, default="mean"
        The cohesion score column (``"eb_score"`` for empirical-Bayes scores).
    ci_low, ci_high : str or None, default="ci_low", "ci_high"
        Columns of the score's confidence interval. ``None``: no interval; the low and high
        levels then equal the level.
    scale : str, optional
        With a ``scale`` column holding several scales: the one to use (default
        ``"collective_efficacy"`` when present).
    rule : {"default", "mean", "min"} or callable, default="default"
        How the three dimensions combine before the readiness gate (see Notes). A callable gets
        three int64 arrays ``(cohesion, partner, group)`` and returns integer levels 0-5.
    cutpoints : sequence of 5 floats, default=DEFAULT_CUTPOINTS
        Cut-points of the cohesion level, on the scale of ``score`` (:func:`cohesion_levels`).

    Returns
    -------
    DataFrame
        One row per row of ``cohesion_scores`` (same order): ``community``, [``wave``],
        ``cohesion_score``, ``cohesion_level``, ``cohesion_level_low``, ``cohesion_level_high``,
        ``partner_cooperation``, ``group_development``, ``level``, ``level_low``,
        ``level_high`` (nullable Int64), ``basis`` (``"full"``, ``"survey_only"`` or
        ``"none"``), ``decided_by`` (``"combined"``, ``"readiness_gate"``,
        ``"survey_only_cap"``, ``"cohesion_only"`` or ``"none"``), ``rule``, ``suppressed``,
        ``reason`` (why a level is missing or survey-only; empty otherwise), ``n`` when the
        input has it, and the evidence columns present in ``assessments``.

    Raises
    ------
    DataError
        A level outside 0-5 (or not an integer) in ``assessments``; a (community, wave) in
        ``assessments`` absent from ``cohesion_scores`` (the message lists them: usually a
        misspelt name); duplicate rows; a score outside its own confidence interval; bad
        cut-points or a rule returning something other than integers 0-5.

    Notes
    -----
    Three dimensions, each an integer 0-5: cohesion :math:`C` = :func:`cohesion_levels` of the
    score, partner cooperation :math:`P` and group development :math:`G` from the assessment.
    With the assessment complete (basis ``"full"``):

    .. math:: L = \min\bigl(r(C, P, G),\ g(P, G)\bigr),\qquad
              g(P, G) = \begin{cases} 5 & P \ge 3 \text{ and } G \ge 3 \\
                                      2 & \text{otherwise} \end{cases}

    with the combination rule :math:`r` = ``"default"``:
    :math:`\lfloor (C + P + G)/3 \rfloor`; ``"mean"``: the nearest integer to the mean;
    ``"min"``: :math:`\min(C, P, G)`. The *readiness gate* :math:`g` encodes the practice
    text's level 3: a community that "starts initiatives by itself and knows the way to its
    partners", which only the programme's assessment can establish. Without an assessment (or
    with one of its two ratings missing) the level is survey-only, :math:`L = \min(C, 2)`,
    basis ``"survey_only"``: never silently a full level, never 3 or more.

    Guaranteed (and property-tested) for the built-in rules: :math:`0 \le L \le 5`; raising
    any dimension never lowers :math:`L` (both :math:`r` and :math:`g` are non-decreasing);
    :math:`L \ge 3` only if :math:`P \ge 3` and :math:`G \ge 3`. A custom rule keeps the bounds,
    the gate and the survey-only cap (they are applied after it); its monotonicity is its
    author's responsibility.

    Uncertainty: ``level_low`` and ``level_high`` apply the same rule to the cohesion levels
    of ``ci_low`` and ``ci_high`` (the assessment is taken as given); by monotonicity
    ``level_low <= level <= level_high``.

    Missing data: a suppressed community (``suppressed`` True, e.g. fewer than ``min_n``
    respondents in :func:`aggregate`) or one without a score gets no level (basis ``"none"``,
    ``reason`` says why); its assessment is still shown. A community with a score but no
    interval gets a level but no ``level_low``/``level_high``.

    This is the library's operationalisation, not the (unpublished) Strongpact rubric, and not
    a validated psychometric scale; see ``docs/impact-scale.md``. There is no R (or other)
    reference implementation to match: the tests check hand-computed cases and prove the
    properties above exhaustively over all 216 integer combinations and with hypothesis.

    References
    ----------
    .. [1] Stöpler, L. (2021). Collectieve weerbaarheid in wooncomplex en wijk. Visie,
       ontwikkeling, beproeving (concept v1.0), sections 3 and 3.4.
    .. [2] Sampson, R. J., Raudenbush, S. W., & Earls, F. (1997). Neighborhoods and violent
       crime: A multilevel study of collective efficacy. Science, 277, 918-924.

    Examples
    --------
    >>> import pandas as pd
    >>> import collective_efficacy as ce
    >>> from collective_efficacy.impact import impact_levels
    >>> coh = pd.DataFrame({"buurt": ["A", "B", "C"], "mean": [3.6, 3.6, 2.2],
    ...                     "ci_low": [3.3, 3.4, 1.9], "ci_high": [3.9, 3.8, 2.5]})
    >>> ass = pd.DataFrame({"buurt": ["A", "B"], "partner_cooperation": [3, 1],
    ...                     "group_development": [4, 4]})
    >>> out = impact_levels(coh, assessments=ass, community="buurt")
    >>> out[["buurt", "cohesion_level", "level", "level_low", "level_high", "basis",
    ...      "decided_by"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'buurt': 'A', 'cohesion_level': 4, 'level': 3, 'level_low': 3, 'level_high': 3,
      'basis': 'full', 'decided_by': 'combined'},
     {'buurt': 'B', 'cohesion_level': 4, 'level': 2, 'level_low': 2, 'level_high': 2,
      'basis': 'full', 'decided_by': 'readiness_gate'},
     {'buurt': 'C', 'cohesion_level': 1, 'level': 1, 'level_low': 0, 'level_high': 2,
      'basis': 'survey_only', 'decided_by': 'cohesion_only'}]
    """
    cohesion_scores = data
    rule_name, rule_fn = _resolve_rule(rule)
    cut = _check_cutpoints(cutpoints)
    if not isinstance(cohesion_scores, pd.DataFrame):
        raise DataError(
            f"cohesion_scores must be a DataFrame (e.g. from ce.aggregate); got "
            f"{type(cohesion_scores).__name__}"
        )
    keys = [community] + ([wave] if wave else [])
    ci_cols = [c for c in (ci_low, ci_high) if c is not None]
    if (ci_low is None) != (ci_high is None):
        raise DataError("give both ci_low and ci_high column names, or neither (None)")
    check_columns(cohesion_scores, keys + [score] + ci_cols, what="cohesion_scores column")
    coh = _select_scale(cohesion_scores, scale)
    _check_unique(coh, keys, "cohesion_scores")
    s = numeric_matrix(coh, [score])[:, 0]
    if ci_low is not None and ci_high is not None:
        lo, hi = numeric_matrix(coh, [ci_low, ci_high]).T
        outside = (lo > s) | (hi < s)
        if outside.any():
            raise DataError(
                f"cohesion_scores, {rows_in(coh, outside)}: score {score!r} lies outside "
                f"[{ci_low!r}, {ci_high!r}] ({s[outside][:5].tolist()} not in "
                f"{list(zip(lo[outside][:5].tolist(), hi[outside][:5].tolist()))}); "
                "are the interval columns the score's own?"
            )
    else:
        lo, hi = s.copy(), s.copy()
    if "suppressed" in coh.columns:
        sup = coh["suppressed"].fillna(False).to_numpy(dtype=bool)
    else:
        sup = np.zeros(len(coh), dtype=bool)
    in_reason = (
        coh["reason"].fillna("").astype(str).to_numpy()
        if "reason" in coh.columns
        else np.full(len(coh), "", dtype=object)
    )

    n_rows = len(coh)
    p = np.full(n_rows, np.nan)
    g = np.full(n_rows, np.nan)
    evidence: dict[str, np.ndarray] = {}
    if assessments is not None:
        ass = _assessment_frame(assessments, keys)
        pos = _key_index(coh, keys).get_indexer(_key_index(ass, keys))
        absent = pos < 0
        if absent.any():
            listed = ass.loc[absent, keys].head(20).to_dict("records")
            raise DataError(
                f"{int(absent.sum())} (community{', wave' if wave else ''}) row(s) of "
                f"assessments are absent from cohesion_scores: {listed}"
                f"{' ...' if absent.sum() > 20 else ''}. Check the spelling of the community "
                "names (and waves); a community assessed but not surveyed needs a row in "
                "cohesion_scores (e.g. from aggregate, suppressed), or drop it from assessments."
            )
        p[pos] = ass["partner_cooperation"].to_numpy(dtype=float)
        g[pos] = ass["group_development"].to_numpy(dtype=float)
        for col in EVIDENCE_COLUMNS:
            if col in ass.columns:
                evidence[col] = _scatter(ass[col], pos, n_rows)

    c_ok, lo_ok, hi_ok = ~np.isnan(s), ~np.isnan(lo), ~np.isnan(hi)
    c = np.searchsorted(cut, np.where(c_ok, s, 0.0), side="right").astype(np.int64)
    c_lo = np.searchsorted(cut, np.where(lo_ok, lo, 0.0), side="right").astype(np.int64)
    c_hi = np.searchsorted(cut, np.where(hi_ok, hi, 0.0), side="right").astype(np.int64)
    assessed = ~np.isnan(p) & ~np.isnan(g)
    has_level = c_ok & ~sup
    full = has_level & assessed
    survey = has_level & ~assessed
    pi = np.where(np.isnan(p), 0, p).astype(np.int64)
    gi = np.where(np.isnan(g), 0, g).astype(np.int64)

    level = np.zeros(n_rows, dtype=np.int64)
    level_lo = np.zeros(n_rows, dtype=np.int64)
    level_hi = np.zeros(n_rows, dtype=np.int64)
    gated = np.zeros(n_rows, dtype=bool)
    if full.any():
        f = full
        level[f], gated[f] = _combine(rule_name, rule_fn, c[f], pi[f], gi[f])
        level_lo[f] = _combine(rule_name, rule_fn, c_lo[f], pi[f], gi[f])[0]
        level_hi[f] = _combine(rule_name, rule_fn, c_hi[f], pi[f], gi[f])[0]
    level[survey] = np.minimum(c[survey], SURVEY_ONLY_CAP)
    level_lo[survey] = np.minimum(c_lo[survey], SURVEY_ONLY_CAP)
    level_hi[survey] = np.minimum(c_hi[survey], SURVEY_ONLY_CAP)

    basis = np.where(full, "full", np.where(survey, "survey_only", "none")).astype(object)
    decided = np.full(n_rows, "none", dtype=object)
    decided[full] = np.where(gated[full], "readiness_gate", "combined")
    decided[survey] = np.where(c[survey] > SURVEY_ONLY_CAP, "survey_only_cap", "cohesion_only")

    reason = np.full(n_rows, "", dtype=object)
    p_missing, g_missing = np.isnan(p), np.isnan(g)
    no_assess = p_missing & g_missing
    reason[survey & no_assess] = (
        f"no assessment: survey-only level (cohesion only, at most {SURVEY_ONLY_CAP})"
    )
    part = survey & ~no_assess
    miss_name = np.where(p_missing, "partner_cooperation", "group_development")
    reason[part] = [
        f"assessment incomplete ({m} missing): survey-only level (cohesion only, at most "
        f"{SURVEY_ONLY_CAP})"
        for m in miss_name[part]
    ]
    reason[sup] = [r if r else "suppressed" for r in in_reason[sup]]
    nos = ~sup & ~c_ok
    reason[nos] = [r if r else f"no cohesion score ({score!r} missing)" for r in in_reason[nos]]
    no_ci = has_level & ~(lo_ok & hi_ok)
    reason[no_ci] = [
        (r + "; " if r else "") + "no confidence interval: level_low/level_high unknown"
        for r in reason[no_ci]
    ]

    cols: dict[str, Any] = {k: coh[k].to_numpy(copy=True) for k in keys}
    cols.update(
        {
            "cohesion_score": s,
            "cohesion_level": _int_or_na(c, c_ok),
            "cohesion_level_low": _int_or_na(c_lo, lo_ok & c_ok),
            "cohesion_level_high": _int_or_na(c_hi, hi_ok & c_ok),
            "partner_cooperation": _int_or_na(pi, ~np.isnan(p)),
            "group_development": _int_or_na(gi, ~np.isnan(g)),
            "level": _int_or_na(level, has_level),
            "level_low": _int_or_na(level_lo, has_level & lo_ok & hi_ok),
            "level_high": _int_or_na(level_hi, has_level & lo_ok & hi_ok),
            "basis": basis,
            "decided_by": decided,
            "rule": np.full(n_rows, rule_name, dtype=object),
            "suppressed": sup,
            "reason": reason,
        }
    )
    if "n" in coh.columns:
        cols["n"] = coh["n"].to_numpy(copy=True)
    cols.update(evidence)
    res = pd.DataFrame(cols)
    return res


# -- change between waves ---------------------------------------------------------------------
def impact_change(
    levels_before: pd.DataFrame,
    levels_after: pd.DataFrame,
    *,
    community: str = "community",
) -> pd.DataFrame:
    r"""Change of the impact level per community between two waves.

    Parameters
    ----------
    levels_before, levels_after : DataFrame
        :func:`impact_levels` of the baseline and of the end-of-cycle wave (one row per
        community each; filter a multi-wave table first, e.g. ``lv[lv.meting == "nulmeting"]``).
    community : str, default="community"
        The community column of both tables.

    Returns
    -------
    DataFrame
        One row per community present in either table (those of ``levels_before`` first):
        ``community``, ``level_before``, ``level_after``, ``change`` (after - before),
        ``basis_before``, ``basis_after``, ``crossed_release_threshold``
        (:math:`L_{before} < 3 \le L_{after}`), ``fell_below_threshold``
        (:math:`L_{after} < 3 \le L_{before}`), ``note``.

    Notes
    -----
    A community in only one table, or without a level in a wave (suppressed, no score), is
    kept with a ``note`` saying so; its ``change`` and threshold flags are missing (``<NA>``),
    never guessed. A note also flags a change between a survey-only and a full level (the two
    are not measured alike: survey-only levels are capped at 2). Levels are ordinal: ``change``
    counts steps on the rubric, not an interval-scale difference.

    Examples
    --------
    >>> import pandas as pd
    >>> from collective_efficacy.impact import impact_change
    >>> before = pd.DataFrame({"community": ["A", "B"], "level": [1, 3], "basis": "full"})
    >>> after = pd.DataFrame({"community": ["A", "C"], "level": [3, 2], "basis": "full"})
    >>> impact_change(before, after)[["community", "change", "crossed_release_threshold",
    ...                               "note"]].to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'community': 'A', 'change': 2, 'crossed_release_threshold': True, 'note': ''},
     {'community': 'B', 'change': None, 'crossed_release_threshold': None,
      'note': 'only in levels_before (no end-of-cycle row)'},
     {'community': 'C', 'change': None, 'crossed_release_threshold': None,
      'note': 'only in levels_after (no baseline row)'}]
    """
    frames = []
    for name, df in (("levels_before", levels_before), ("levels_after", levels_after)):
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{name} must be a DataFrame; got {type(df).__name__}")
        check_columns(df, [community, "level"], what=f"{name} column")
        _check_unique(df, [community], name)
        lv = numeric_matrix(df, ["level"])[:, 0]
        bad = ~np.isnan(lv) & ((lv < 0) | (lv > 5) | (lv != np.floor(lv)))
        if bad.any():
            raise DataError(
                f"{name} column 'level', {rows_in(df, bad)}: value(s) "
                f"{lv[bad][:5].tolist()}; expected an integer level 0-5 or missing"
            )
        f = pd.DataFrame({community: df[community].to_numpy(copy=True), "level": lv})
        f["basis"] = df["basis"].to_numpy(copy=True) if "basis" in df.columns else ""
        f["reason"] = df["reason"].fillna("").to_numpy(copy=True) if "reason" in df else ""
        frames.append(f)
    m = frames[0].merge(
        frames[1],
        on=community,
        how="outer",
        suffixes=("_before", "_after"),
        indicator=True,
        sort=False,
    )
    b = m["level_before"].to_numpy(dtype=float)
    a = m["level_after"].to_numpy(dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    res = pd.DataFrame({community: m[community].to_numpy()})
    res["level_before"] = _int_or_na(np.nan_to_num(b).astype(np.int64), ~np.isnan(b))
    res["level_after"] = _int_or_na(np.nan_to_num(a).astype(np.int64), ~np.isnan(a))
    res["change"] = res["level_after"] - res["level_before"]
    res["basis_before"] = m["basis_before"].fillna("").to_numpy()
    res["basis_after"] = m["basis_after"].fillna("").to_numpy()
    cross = (b < RELEASE_LEVEL) & (a >= RELEASE_LEVEL)
    fell = (a < RELEASE_LEVEL) & (b >= RELEASE_LEVEL)
    res["crossed_release_threshold"] = _bool_or_na(cross, both)
    res["fell_below_threshold"] = _bool_or_na(fell, both)
    ind = m["_merge"].astype(str).to_numpy()
    inner = (ind != "left_only") & (ind != "right_only")
    bb = res["basis_before"].to_numpy(dtype=object)
    ba = res["basis_after"].to_numpy(dtype=object)

    def why(col: str) -> np.ndarray:  # the reason text, "missing" when empty
        r = m[col].to_numpy(dtype=object)
        blank = ~inner.copy()
        blank[inner] = ~r[inner].astype(bool)
        return np.where(blank, "missing", r).astype(str)

    known = {"full", "survey_only"}
    basis_changed = both & (bb != ba) & pd.Series(bb).isin(known).to_numpy()
    basis_changed &= pd.Series(ba).isin(known).to_numpy()
    both_survey = both & ~basis_changed & (bb == "survey_only") & (ba == "survey_only")
    # the parts of each row's note, in order, joined by "; " (vectorised string assembly)
    parts: list[tuple[np.ndarray, np.ndarray | str]] = [
        (ind == "left_only", "only in levels_before (no end-of-cycle row)"),
        (ind == "right_only", "only in levels_after (no baseline row)"),
        (inner & np.isnan(b), np.char.add("no level before: ", why("reason_before"))),
        (inner & np.isnan(a), np.char.add("no level after: ", why("reason_after"))),
        (
            basis_changed,
            np.char.add(
                np.char.add("basis changed (", bb.astype(str)),
                np.char.add(np.char.add(" -> ", ba.astype(str)), "): levels not measured alike"),
            ),
        ),
        (both_survey, f"survey-only levels in both waves (capped at {SURVEY_ONLY_CAP})"),
    ]
    notes = np.full(len(m), "", dtype=object)
    for mask, text in parts:
        txt = np.broadcast_to(np.asarray(text, dtype=object), notes.shape)
        joined = np.where(notes == "", txt, notes + "; " + txt)
        notes = np.where(mask, joined, notes)
    res["note"] = notes
    return res


# -- example data -----------------------------------------------------------------------------
def load_example_assessments() -> pd.DataFrame:
    """The bundled fictional programme assessments of the example communities.

    Columns ``buurt``, ``meting`` (``nulmeting`` / ``eindmeting``), ``partner_cooperation``,
    ``group_development`` and the evidence counts; four communities are not assessed and
    ``Buurt N2`` only at the end of the cycle. Made by ``data/make_example_geometry.py``.

    Examples
    --------
    >>> from collective_efficacy.impact import load_example_assessments
    >>> load_example_assessments().shape
    (71, 8)
    """
    text = (
        resources.files("collective_efficacy.datasets.data") / "example_assessments.csv"
    ).read_text(encoding="utf-8")
    return pd.read_csv(io.StringIO(text))


def load_example_geometry() -> dict[str, Any]:
    """The bundled fictional GeoJSON of the 40 example communities (property ``buurt``).

    Examples
    --------
    >>> from collective_efficacy.impact import load_example_geometry
    >>> len(load_example_geometry()["features"])
    40
    """
    import json

    text = (
        resources.files("collective_efficacy.datasets.data") / "example_buurten.geojson"
    ).read_text(encoding="utf-8")
    out: dict[str, Any] = json.loads(text)
    return out

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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy._checks import check_columns, numeric_matrix
from collective_efficacy._params import ARRAY, COLUMN, FRAME, TEXT, InstanceOf, Predicate, public
from collective_efficacy._rows import rows_in
from collective_efficacy.errors import DataError
from collective_efficacy.impact._inputs import (
    _assessment_arrays,
    _check_unique,
    _cohesion_inputs,
    _reasons,
    own_column,
)
from collective_efficacy.impact._join import outer_join
from collective_efficacy.impact._rules import (
    ASSESSMENT_INSTRUMENT,
    DEFAULT_CUTPOINTS,
    EVIDENCE_COLUMNS,
    IMPACT_LEVEL_LABELS,
    IMPACT_RULES,
    RELEASE_LEVEL,
    SURVEY_ONLY_CAP,
    Rule,
    _bool_or_na,
    _check_cutpoints,
    _combine,
    _int_or_na,
    _resolve_rule,
)
from collective_efficacy.responses import ValidatedResponses

__all__ = [
    "ASSESSMENT_INSTRUMENT",
    "DEFAULT_CUTPOINTS",
    "EVIDENCE_COLUMNS",
    "IMPACT_LEVEL_LABELS",
    "IMPACT_RULES",
    "RELEASE_LEVEL",
    "SURVEY_ONLY_CAP",
    "cohesion_levels",
    "impact_change",
    "impact_levels",
]


# -- cohesion ---------------------------------------------------------------------------------
def _cutpoints_ok(value: Any) -> bool:
    if isinstance(value, (str, bytes)):
        return False
    try:
        _check_cutpoints(value)
    except DataError:
        return False
    return True


#: five increasing cut-points (the lower bounds of levels 1-5)
CUTPOINTS = Predicate(
    _cutpoints_ok,
    "5 finite, strictly increasing numbers (the lower bounds of levels 1-5)",
    lambda: DEFAULT_CUTPOINTS,
    [(1.0, 2.0, 3.0), (5.0, 4.0, 3.0, 2.0, 1.0), "abc"],
)


@public(constraints={"scores": [ARRAY], "cutpoints": [CUTPOINTS]})
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


#: ``decided_by`` by code gated + 2 full + 4 survey + 8 capped (full and survey exclusive;
#: a row gated is full, one capped is survey-only)
_DECIDED = np.array(
    ["none"] * 2 + ["combined", "readiness_gate"] + ["cohesion_only"] * 4 + ["none"] * 4
    + ["survey_only_cap"] * 4,
    dtype=object,
)  # fmt: skip


def _none_if_empty(texts: np.ndarray) -> np.ndarray:
    """An empty note or reason is missing (None), never "" (the result contract)."""
    out = np.asarray(texts, dtype=object).copy()
    out[out == ""] = None
    return out


# -- impact levels ----------------------------------------------------------------------------
@public(
    constraints={
        "data": [FRAME],
        "assessments": [
            FRAME,
            InstanceOf(ValidatedResponses, description="ValidatedResponses", example=pd.DataFrame),
            None,
        ],
        "community": [COLUMN],
        "wave": [COLUMN, None],
        "score": [COLUMN],
        "ci_low": [COLUMN, None],
        "ci_high": [COLUMN, None],
        "scale": [TEXT, None],
        "rule": [  # the name is checked by _resolve_rule, which lists IMPACT_RULES
            Predicate(
                lambda v: isinstance(v, str) or callable(v),
                "a rule name or a function f(cohesion, partner, group)",
                lambda: "default",
                [3.5, None],
            )
        ],
        "cutpoints": [CUTPOINTS],
    },
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
    keys = [community] + ([wave] if wave else [])
    coh, s, lo, hi, sup, in_reason = _cohesion_inputs(
        cohesion_scores, keys, score, ci_low, ci_high, scale
    )
    n_rows = len(coh)
    p, g, evidence = _assessment_arrays(assessments, coh, keys, wave)

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

    # the texts by code (one str object each, shared by the rows)
    basis = np.array(["none", "full", "survey_only"], dtype=object)[full + 2 * survey]
    how = gated + 2 * full + 4 * survey + 8 * (survey & (c > SURVEY_ONLY_CAP))
    decided = _DECIDED[how]

    no_ci = has_level & ~(lo_ok & hi_ok)
    reason = _reasons(
        survey=survey, sup=sup, c_ok=c_ok, no_ci=no_ci, p=p, g=g, in_reason=in_reason, score=score
    )

    cols: dict[str, Any] = {k: own_column(coh[k]) for k in keys}
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
            "reason": _none_if_empty(reason),
        }
    )
    if "n" in coh.columns:
        cols["n"] = coh["n"].to_numpy(copy=True)
    cols.update(evidence)
    res = pd.DataFrame(cols)
    return res


# -- change between waves ---------------------------------------------------------------------
@public(constraints={"levels_before": [FRAME], "levels_after": [FRAME], "community": [COLUMN]})
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
    [{'community': 'A', 'change': 2, 'crossed_release_threshold': True, 'note': None},
     {'community': 'B', 'change': None, 'crossed_release_threshold': None,
      'note': 'only in levels_before (no end-of-cycle row)'},
     {'community': 'C', 'change': None, 'crossed_release_threshold': None,
      'note': 'only in levels_after (no baseline row)'}]
    """
    frames = []
    for name, df in (("levels_before", levels_before), ("levels_after", levels_after)):
        if not isinstance(df, pd.DataFrame):
            raise DataError(f"{name} must be a DataFrame; got {type(df).__name__}")
        optional = [c for c in ("basis", "reason") if c in df.columns]
        check_columns(df, [community, "level", *optional], what=f"{name} column")
        _check_unique(df, [community], name)
        lv = numeric_matrix(df, ["level"])[:, 0]
        bad = ~np.isnan(lv) & ((lv < 0) | (lv > 5) | (lv != np.floor(lv)))
        if bad.any():
            raise DataError(
                f"{name} column 'level', {rows_in(df, bad)}: value(s) "
                f"{lv[bad][:5].tolist()}; expected an integer level 0-5 or missing"
            )
        # no basis column, or a community in one table only: the basis is missing (None)
        f = {
            community: own_column(df[community]),
            "level": lv,
            "basis": own_column(df["basis"]) if "basis" in df.columns else None,
            "reason": own_column(df["reason"].fillna("")) if "reason" in df else "",
        }
        frames.append(pd.DataFrame(f))  # one frame of the columns (no insert per column)
    m = outer_join(frames, community)  # arrays by column, as a pandas outer merge gives
    b = m["level_before"].astype(float)
    a = m["level_after"].astype(float)
    both = ~np.isnan(a) & ~np.isnan(b)
    # the columns gathered, then one frame made of them (not a column insert each)
    res: dict[str, Any] = {community: m[community]}
    res["level_before"] = _int_or_na(np.nan_to_num(b).astype(np.int64), ~np.isnan(b))
    res["level_after"] = _int_or_na(np.nan_to_num(a).astype(np.int64), ~np.isnan(a))
    res["change"] = res["level_after"] - res["level_before"]
    for col in ("basis_before", "basis_after"):  # a missing basis is None, never ""
        basis = m[col].astype(object)  # a copy
        basis[pd.isna(basis)] = ""
        res[col] = _none_if_empty(basis)
    cross = (b < RELEASE_LEVEL) & (a >= RELEASE_LEVEL)
    fell = (a < RELEASE_LEVEL) & (b >= RELEASE_LEVEL)
    res["crossed_release_threshold"] = _bool_or_na(cross, both)
    res["fell_below_threshold"] = _bool_or_na(fell, both)
    ind = m["_merge"].astype(str)
    inner = (ind != "left_only") & (ind != "right_only")
    bb, ba = res["basis_before"], res["basis_after"]

    def why(col: str, rows: np.ndarray) -> np.ndarray:  # the reason text, "missing" when empty
        r = m[col][rows].astype(object)
        return np.where(~r.astype(bool), "missing", r).astype(str)

    known = {"full", "survey_only"}
    basis_changed = both & (bb != ba) & pd.Series(bb).isin(known).to_numpy()
    basis_changed &= pd.Series(ba).isin(known).to_numpy()
    both_survey = both & ~basis_changed & (bb == "survey_only") & (ba == "survey_only")
    # the parts of each row's note, in order, joined by "; " (vectorised string assembly);
    # each part's text is built for the rows it applies to only
    parts: list[tuple[np.ndarray, Callable[[np.ndarray], np.ndarray | str]]] = [
        (ind == "left_only", lambda _: "only in levels_before (no end-of-cycle row)"),
        (ind == "right_only", lambda _: "only in levels_after (no baseline row)"),
        (inner & np.isnan(b), lambda i: np.char.add("no level before: ", why("reason_before", i))),
        (inner & np.isnan(a), lambda i: np.char.add("no level after: ", why("reason_after", i))),
        (
            basis_changed,
            lambda i: np.char.add(
                np.char.add("basis changed (", bb[i].astype(str)),
                np.char.add(np.char.add(" -> ", ba[i].astype(str)), "): levels not measured alike"),
            ),
        ),
        (both_survey, lambda _: f"survey-only levels in both waves (capped at {SURVEY_ONLY_CAP})"),
    ]
    notes = np.full(len(bb), "", dtype=object)
    for mask, text in parts:
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        txt = np.broadcast_to(np.asarray(text(rows), dtype=object), rows.shape)
        old = notes[rows]
        notes[rows] = np.where(old == "", txt, old + "; " + txt)
    res["note"] = _none_if_empty(notes)
    for col in ("basis_before", "basis_after", "note"):  # object, as set (no text inference)
        res[col] = pd.Series(res[col], dtype=object)
    return pd.DataFrame(res)

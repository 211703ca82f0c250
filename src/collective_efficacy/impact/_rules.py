"""The constants and combination rules of the 0-5 impact scale (see :mod:`collective_efficacy.impact`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError

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


def _int_or_na(values: np.ndarray, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Nullable Int64 array: ``values`` where ``ok``, ``<NA>`` elsewhere."""
    ok = np.asarray(ok, dtype=bool)
    # the masked array built directly (pd.array then a masked assignment: 13x the time)
    return pd.arrays.IntegerArray(np.where(ok, values, 0).astype(np.int64), ~ok)


def _bool_or_na(values: np.ndarray, ok: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Nullable boolean array: ``values`` where ``ok``, ``<NA>`` elsewhere."""
    return pd.arrays.BooleanArray(np.array(values, dtype=bool), ~np.asarray(ok, dtype=bool))

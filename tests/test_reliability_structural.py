"""The reliability structural checks: the one-pass form against the old formula, and their
sharing on a prepared table (a later function on the same matrix skips them, a failure is
never stored)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.reliability import _input
from collective_efficacy.reliability._input import Prepared, structural_checks


def _old_checks(prep: Prepared, data: pd.DataFrame, func: str) -> None:
    """``structural_checks`` as it was (per-item answer counts, the respondents counted)."""
    x = prep.x
    obs = ~np.isnan(x)
    answered = obs.sum(axis=0)
    empty = [c for c, a in zip(prep.items, answered, strict=True) if a == 0]
    if empty:
        raise DataError(
            f"{func}: item(s) {empty} have no answers in the rows used; expected at least 2 "
            "answers per item. Drop the item(s) from `items`."
        )
    n_resp = int(obs.any(axis=1).sum())
    if n_resp < 2:
        raise DataError(
            f"{func} needs at least 2 respondents with answers; got {n_resp} (after nan_policy)."
        )
    mn, mx = np.fmin.reduce(x, axis=0), np.fmax.reduce(x, axis=0)
    const = [
        f"{c!r} (every answer = {_input._scalar(data[c].dropna().iloc[0])!r})"
        for c, a, b in zip(prep.items, mn, mx, strict=True)
        if a == b
    ]
    if const:
        raise DataError(
            f"{func}: item(s) {', '.join(const)} have no variance, so their correlations are "
            "undefined; expected items whose answers vary. Drop them from `items` "
            "(psych::alpha drops such items with a warning)."
        )


def _outcome(fn: Any, prep: Prepared, data: pd.DataFrame) -> str | None:
    try:
        fn(prep, data, "cronbach_alpha")
    except DataError as exc:
        return str(exc)
    return None


def _case(rng: np.random.Generator) -> tuple[Prepared, pd.DataFrame]:
    n, k = int(rng.integers(0, 6)), int(rng.integers(2, 4))
    x = rng.choice([1.0, 2.0, 3.0, np.nan, np.inf], size=(n, k), p=[0.2, 0.2, 0.1, 0.4, 0.1])
    if rng.random() < 0.3:
        x[:, int(rng.integers(k))] = np.nan  # an item without answers
    if rng.random() < 0.3 and n:
        x[:, int(rng.integers(k))] = np.where(rng.random(n) < 0.5, 2.0, np.nan)  # constant
    items = [f"q{j}" for j in range(k)]
    data = pd.DataFrame(x, columns=items)
    ones = np.ones(k)
    return Prepared(items, ones, x, np.arange(n), ones, ones), data


@pytest.mark.parametrize("seed", range(300))
def test_structural_checks_as_old_formula(seed: int) -> None:
    """Same error (message) or none, on small matrices with empty, constant, infinite items
    and no rows at all."""
    prep, data = _case(np.random.default_rng(seed))
    assert _outcome(structural_checks, prep, data) == _outcome(_old_checks, prep, data)


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    common = rng.integers(1, 6, size=(60, 1))  # correlated items: no reverse-coding warning
    x = np.clip(common + rng.integers(-1, 2, size=(60, 4)), 1, 5).astype(float)
    return pd.DataFrame(x, columns=list("abcd"))


def test_structural_checks_shared_on_prepared_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a PreparedSurvey the checks of one matrix run once for cronbach_alpha and
    item_statistics; on a plain frame every call checks."""
    calls: list[str] = []
    real = _input._structural_checks

    def counted(prep: Prepared, data: pd.DataFrame, func: str) -> bool:
        calls.append(func)
        return real(prep, data, func)

    monkeypatch.setattr(_input, "_structural_checks", counted)
    df = _frame()
    prep = ce.PreparedSurvey(df)
    a = ce.cronbach_alpha(prep)
    s = ce.item_statistics(prep)
    assert calls == ["cronbach_alpha"]
    pd.testing.assert_frame_equal(a, ce.cronbach_alpha(df))
    pd.testing.assert_frame_equal(s, ce.item_statistics(df))
    assert calls == ["cronbach_alpha"] * 2 + ["item_statistics"]


def test_failing_structural_check_raises_every_time_on_prepared_table() -> None:
    """A failed check is not stored: every function on the prepared table raises, naming
    itself."""
    df = _frame().assign(c=3.0)  # a constant item
    prep = ce.PreparedSurvey(df)
    with pytest.raises(DataError, match="cronbach_alpha: item"):
        ce.cronbach_alpha(prep)
    with pytest.raises(DataError, match="item_statistics: item"):
        ce.item_statistics(prep)

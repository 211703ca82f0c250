"""Parametric bootstrap interval of the ecometric reliability (``ecometric(n_boot=, seed=)``).

Reference: lme4's ``bootMer(lmer(y ~ 0 + item + (1 | community/respondent)), FUN = mean
lambda_k, nsim = 1000, type = "parametric", use.u = FALSE)`` on the baseline wave of
tests/fixtures/mixed/survey.csv (script: tests/fixtures/r/ecometric_boot.R, fixture:
tests/fixtures/ecometric_boot/bootmer.json). Both sides are Monte Carlo draws from the same
distribution, so their quantiles agree only to Monte Carlo error: the tolerances below are
about 4 standard errors of the difference (bootstrap sd about 0.067; 150 replicates here, 1000
in R). The statistic the replicates compute (the mean reliability) is checked exactly against
R's ``FUN`` at the fitted model (relative 1e-5, the lme4 tolerance of tests/test_mixed.py).

Coverage of the interval is simulated in benchmarks/sim_ecometric_boot.py (60 data sets of 30
communities, n_boot=100: 53/60 = 0.88 for a nominal 0.90).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

import collective_efficacy as ce
from collective_efficacy.errors import ConvergenceWarning, ParameterError

FIX = Path(__file__).parent / "fixtures"
ITEMS = ["SC1", "SC2", "SC3", "SC4", "SC5"]


@pytest.fixture(scope="module")
def baseline() -> pd.DataFrame:
    survey = pd.read_csv(FIX / "mixed" / "survey.csv")
    return survey[survey["wave"] == "baseline"].reset_index(drop=True)


@pytest.fixture(scope="module")
def bootmer() -> dict:
    return json.loads((FIX / "ecometric_boot" / "bootmer.json").read_text())


def _fit(data: pd.DataFrame, **kw: object) -> ce.EcometricResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ce.ecometric(
            data, items=ITEMS, community="community", keys=["-SC3"], scale_range=(1, 5), **kw
        )


def test_statistic_matches_bootmer_fun(baseline: pd.DataFrame, bootmer: dict) -> None:
    assert_allclose(_fit(baseline).reliability, bootmer["reliability"], rtol=1e-5)


def test_bootstrap_distribution_agrees_with_bootmer(baseline: pd.DataFrame, bootmer: dict) -> None:
    probs = dict(zip(bootmer["probs"], bootmer["quantiles"]))
    # the 90 % interval: R's 5 % and 95 % quantiles; 4 SE of the difference is about 0.045
    res = _fit(baseline, n_boot=150, seed=11, ci=0.90)
    assert res.n_boot == 150 and res.confidence == 0.90
    assert res.reliability_ci_low is not None and res.reliability_ci_high is not None
    assert abs(res.reliability_ci_low - probs[0.05]) < 0.045
    assert abs(res.reliability_ci_high - probs[0.95]) < 0.045
    # the 50 % interval: quartiles, SE of the difference about 0.007 -> 0.03
    mid = _fit(baseline, n_boot=150, seed=11, ci=0.50)
    assert abs(mid.reliability_ci_low - probs[0.25]) < 0.03
    assert abs(mid.reliability_ci_high - probs[0.75]) < 0.03
    # same seed, same replicates: the quartiles lie inside the 90 % interval
    assert res.reliability_ci_low < mid.reliability_ci_low < mid.reliability_ci_high
    assert mid.reliability_ci_high < res.reliability_ci_high
    # the interval's width agrees with R's spread (sd 0.067; 20 % relative)
    width_r = probs[0.95] - probs[0.05]
    assert abs((res.reliability_ci_high - res.reliability_ci_low) / width_r - 1) < 0.2


def _small(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    comm = np.repeat(np.arange(12), 8)
    y = 3 + (rng.normal(0, 0.4, 12)[comm] + rng.normal(0, 0.6, len(comm)))[:, None]
    y = np.clip(np.rint(y + rng.normal(0, 0.7, (len(comm), 5))), 1, 5)
    y[rng.random(y.shape) < 0.1] = np.nan
    y[np.isnan(y).all(axis=1), 0] = 3
    df = pd.DataFrame(y, columns=ITEMS)
    df["community"] = [f"N{c}" for c in comm]
    return df


def test_seeded_bootstrap_is_deterministic_and_data_unchanged() -> None:
    df = _small()
    before = df.copy(deep=True)
    a = _fit(df, n_boot=12, seed=5)
    b = _fit(df, n_boot=12, seed=5)
    c = _fit(df, n_boot=12, seed=np.random.default_rng(5))
    d = _fit(df, n_boot=12, seed=6)
    assert (a.reliability_ci_low, a.reliability_ci_high) == (
        b.reliability_ci_low,
        b.reliability_ci_high,
    )
    assert (a.reliability_ci_low, a.reliability_ci_high) == (
        c.reliability_ci_low,
        c.reliability_ci_high,
    )
    assert (a.reliability_ci_low, a.reliability_ci_high) != (
        d.reliability_ci_low,
        d.reliability_ci_high,
    )
    assert a.reliability_ci_low <= a.reliability_ci_high
    pd.testing.assert_frame_equal(df, before)
    # without n_boot: no interval, and the point estimates are those of the bootstrap call
    plain = _fit(df)
    assert plain.reliability_ci_low is None and plain.n_boot is None and plain.confidence is None
    assert plain.reliability == a.reliability
    assert json.loads(a.to_json())["reliability_ci_high"] == a.reliability_ci_high


def test_n_boot_is_checked() -> None:
    with pytest.raises(ParameterError, match="n_boot"):
        _fit(_small(), n_boot=1)

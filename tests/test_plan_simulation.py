"""power_by_simulation: the analytic power lies in the simulated power's Monte Carlo interval.

Designs, reps and seeds are fixed below; each replication refits ``change_model`` (overall) or
``compare_waves`` (per community) on a simulated survey. Tolerance: the 95 % Wilson interval of
the simulated power (overall) or the normal interval of the mean share detected (community).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy.errors import DataError
from collective_efficacy.plan import detectable_change, power_by_simulation


def _fit(var_change: float = 0.15) -> ce.ChangeModel:
    rng = np.random.default_rng(3)
    k, m = 20, 20
    codes = np.repeat(np.arange(k), m)
    u = rng.normal(size=(k, 2)) * [0.3, var_change]
    y = np.concatenate([3 + u[codes, 0] + rng.normal(0, 0.6, k * m),
                        3.2 + u[codes, 0] + u[codes, 1] + rng.normal(0, 0.6, k * m)])  # fmt: skip
    data = pd.DataFrame({"buurt": np.tile(codes, 2).astype(str),
                         "wave": np.repeat(["baseline", "end_of_cycle"], k * m), "score": y})  # fmt: skip
    return ce.change_model(data, dv="score", community="buurt")


# (communities, residents per wave, true change, seed); reps = 150 each
DESIGNS = [(12, 15, 0.25, 11), (20, 10, 0.15, 12), (8, 30, 0.30, 13)]


@pytest.mark.parametrize("k,m,delta,seed", DESIGNS)
def test_formula_power_within_monte_carlo_interval(k: int, m: int, delta: float, seed: int) -> None:
    fit = _fit()
    sim = power_by_simulation(
        fit, m, delta, n_communities=k, reps=150, seed=seed, levels=["overall"]
    )
    row = sim.iloc[0]
    assert row["power_ci_low"] <= row["formula_power"] <= row["power_ci_high"]
    # the formula is detectable_change's: its detectable change has the planned power
    plan = detectable_change(m, fit=fit, n_communities=k).set_index("level")
    assert plan.loc["overall", "se"] == pytest.approx(
        np.sqrt((fit.variance_components.var_change + 2 * fit.variance_components.sigma2 / m) / k)
    )
    # false positives at the nominal level, within the Monte Carlo interval
    assert row["fpr_ci_low"] <= 0.05 <= row["fpr_ci_high"]
    assert row["reps"] == 150 and row["n_not_converged"] >= 0


def test_community_level_matches_t_test_power() -> None:
    # no variance of change: every community changes by delta; Bonferroni at alpha / K
    fit = _fit(var_change=0.0)
    sim = power_by_simulation(
        fit, 25, 0.45, n_communities=5, reps=60, seed=5, adjust="bonferroni", levels=["community"]
    )
    row = sim.iloc[0]
    assert row["alpha_per_test"] == pytest.approx(0.01)
    # Welch (simulated test) vs Student (formula): equal n, the same within MC error
    assert row["power_ci_low"] <= row["formula_power"] <= row["power_ci_high"]


def test_same_seed_same_result_and_bad_input() -> None:
    fit = _fit()
    a = power_by_simulation(fit, 10, 0.2, n_communities=6, reps=5, seed=1, levels=["overall"])
    b = power_by_simulation(fit, 10, 0.2, n_communities=6, reps=5, seed=1, levels=["overall"])
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(DataError, match="did not converge"):
        power_by_simulation(fit.model_copy(update={"converged": False}), 10, 0.2, reps=5)
    with pytest.raises(DataError, match="levels"):
        power_by_simulation(fit, 10, 0.2, reps=5, levels=["nope"])
    with pytest.raises(DataError, match="reps"):
        power_by_simulation(fit, 10, 0.2, reps=1)

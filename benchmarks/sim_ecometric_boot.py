"""Coverage of the ecometric reliability's parametric bootstrap interval (a small simulation).

Data from the ecometric model with known variances (``K`` communities of ``J`` respondents,
4 items, 10 % of the answers missing); the true mean reliability is computed from the true
variances on each data set's design (the exact form, as ``ecometric`` reports it). Each data set
gets ``ce.ecometric(..., n_boot=B, ci=0.90, seed=...)``; the script prints how often the 90 %
interval covers the truth. Percentile intervals of a variance ratio from few communities are
expected to cover somewhat below nominal.

Run: ``python benchmarks/sim_ecometric_boot.py [n_datasets] [n_boot]`` (default 100 x 200).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd

import collective_efficacy as ce
from collective_efficacy.errors import ConvergenceWarning

from .timing import exit_on_help

K, J, ITEMS = 30, 10, ["I1", "I2", "I3", "I4"]
TAU_B, TAU_P, SIGMA2 = 0.15, 0.4, 0.6


def dataset(rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    comm = np.repeat(np.arange(K), J)
    n = len(comm)
    y = (
        3.0
        + np.array([0.0, 0.2, -0.1, 0.1])[None, :]
        + (rng.normal(0, np.sqrt(TAU_B), K)[comm] + rng.normal(0, np.sqrt(TAU_P), n))[:, None]
        + rng.normal(0, np.sqrt(SIGMA2), (n, len(ITEMS)))
    )
    y[rng.random(y.shape) < 0.10] = np.nan
    y[np.isnan(y).all(axis=1), 0] = 3.0  # every respondent answers at least one item
    n_jk = (~np.isnan(y)).sum(axis=1)
    prec = np.bincount(comm, weights=1.0 / (TAU_P + SIGMA2 / n_jk), minlength=K)
    truth = float(np.mean(TAU_B / (TAU_B + 1.0 / prec)))
    df = pd.DataFrame(y, columns=ITEMS)
    df["nc"] = [f"C{c:02d}" for c in comm]
    return df, truth


def main(n_sets: int = 100, n_boot: int = 200) -> None:
    rng = np.random.default_rng(20261203)
    hits = 0
    for i in range(n_sets):
        df, truth = dataset(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = ce.ecometric(df, items=ITEMS, community="nc", n_boot=n_boot, ci=0.90, seed=i)
        assert res.reliability_ci_low is not None and res.reliability_ci_high is not None
        hits += res.reliability_ci_low <= truth <= res.reliability_ci_high
    print(
        f"coverage of the 90% interval: {hits}/{n_sets} = {hits / n_sets:.2f} "
        f"(K={K}, J={J}, {len(ITEMS)} items, n_boot={n_boot})"
    )


if __name__ == "__main__":
    exit_on_help(__doc__, sys.argv[1:], "[REPS [SEED]]")
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)

"""Plan the next survey cycle: residents per community, items, and the change it can detect.

>>> import collective_efficacy as ce
>>> int(ce.plan.residents_for_reliability(0.70, icc=0.15)["residents"].iloc[0])
14
"""

from __future__ import annotations

from collective_efficacy.plan.change import detectable_change, mdes_cluster, residents_for_change
from collective_efficacy.plan.next_cycle import next_cycle
from collective_efficacy.plan.plot import plot_reliability
from collective_efficacy.plan.reliability import residents_for_reliability, spearman_brown
from collective_efficacy.plan.simulation import power_by_simulation

__all__ = [
    "detectable_change",
    "mdes_cluster",
    "next_cycle",
    "plot_reliability",
    "power_by_simulation",
    "residents_for_change",
    "residents_for_reliability",
    "spearman_brown",
]

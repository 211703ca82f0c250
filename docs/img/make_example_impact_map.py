"""Regenerate docs/img/example_impact_map.png from the bundled fictional example.

Run from the repository root: ``python docs/img/make_example_impact_map.py``.
"""

from __future__ import annotations

from pathlib import Path

import collective_efficacy as ce
from collective_efficacy.datasets import load_example_assessments, load_example_geometry
from collective_efficacy.impact import impact_levels
from collective_efficacy.report.plot import impact_map

raw = ce.datasets.load_example()
survey = ce.validate(
    raw,
    "sampson1997",
    respondent="respondent_id",
    community="buurt",
    wave="meting",
    columns=ce.datasets.EXAMPLE_COLUMNS,
    errors="exclude",
)
cohesion = ce.aggregate(
    ce.score(survey, scales=["collective_efficacy"]), community="buurt", wave="meting"
)
assessments = ce.validate(
    load_example_assessments(), "strongpact_assessment", community="buurt", wave="meting"
)
levels = impact_levels(cohesion, assessments, community="buurt", wave="meting")
end = levels[levels["meting"] == "eindmeting"]
impact_map(
    end,
    load_example_geometry(),
    community="buurt",
    title="Example (fictional): impact level at the end of the cycle (eindmeting)",
    path=Path(__file__).parent / "example_impact_map.png",
)

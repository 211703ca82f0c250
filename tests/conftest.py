from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def example_evaluation():
    """The bundled example evaluated as ``collective-efficacy evaluate --example`` does it."""
    import collective_efficacy as ce
    from collective_efficacy.cli import _example_assessments
    from collective_efficacy.datasets import load_example_geometry

    before, after = ce.datasets.load_example(split=True)
    return ce.evaluate(
        before,
        after,
        community="buurt",
        respondent="respondent_id",
        columns=ce.datasets.EXAMPLE_COLUMNS,
        assessments=_example_assessments(),
        geometry=load_example_geometry(),
        min_n=10,
    )

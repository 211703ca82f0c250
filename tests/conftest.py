from __future__ import annotations

import contextlib
import io
import stat
from collections.abc import Callable
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


@pytest.fixture(scope="session")
def example_outputs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The folder ``collective-efficacy evaluate --example --lang LANG --out DIR`` writes.

    Run in-process once per language and shared by the tests that only read the outputs
    (report.html, report.md, results.json, communities.csv, the GeoJSON maps). The files are
    made read-only, so a test that writes into the folder fails instead of changing what the
    next test reads: such a test needs its own run. ``--quiet`` only silences the console (the
    files are byte-identical with and without it).
    """
    from collective_efficacy.cli import main

    made: dict[str, Path] = {}

    def outputs(lang: str = "en") -> Path:
        if lang not in made:
            d = tmp_path_factory.mktemp(f"example-{lang}")
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(["evaluate", "--example", "--out", str(d), "--lang", lang]) == 0
            for f in d.iterdir():
                f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
            d.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
            made[lang] = d
        return made[lang]

    return outputs

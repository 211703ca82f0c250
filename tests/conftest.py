from __future__ import annotations

import contextlib
import gc
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

# One BLAS thread per test process. The suite runs one process per core (pytest -n auto), so a
# multi-threaded BLAS in each would oversubscribe the cores; and the suite's matrices are small
# (hundreds of rows), where OpenBLAS spends more time starting and synchronising threads than
# computing (the dense reference in test_change_model_prediction.py: 0.36 s -> 0.015 s per REML
# deviance on a busy 2-core machine). The variables reach the CLI subprocesses the tests start
# and any BLAS loaded later (scipy's); threadpoolctl limits the ones already loaded (numpy's,
# imported by the plugins). Only the thread count changes, not what is computed; set
# CE_TEST_BLAS_THREADS to run the suite with more.
_BLAS_THREADS = os.environ.get("CE_TEST_BLAS_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _BLAS_THREADS)

import numpy as np  # noqa: E402  (after the variables: a BLAS reads them when it loads)
from threadpoolctl import threadpool_limits  # noqa: E402

_BLAS_LIMIT = threadpool_limits(limits=int(_BLAS_THREADS), user_api="blas")
del np

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything alive after collection (modules, test functions, parametrisations:
    about a million objects in each worker) out of the cyclic garbage collector's view.

    A full collection then walks only what the tests create. ``gc.collect()`` in a worker's
    heap cost 0.1-0.4 s, and statsmodels' Holm branch of ``multipletests`` (the reference in
    test_p_adjust.py) runs one per call; automatic full collections walk the same heap. The
    frozen objects live to the end of the session anyway; no test result depends on it.
    """
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the notebooks first (about 4 s of CPU each, in a kernel process).

    Collected last (``testpaths`` ends with notebooks/), they were the last two items the
    xdist scheduler handed out, so one worker ran both while the other was idle. First, they
    overlap with the rest. The order of the other items is unchanged.
    """
    items.sort(key=lambda item: 0 if item.path.suffix == ".ipynb" else 1)  # stable


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

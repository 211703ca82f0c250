from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Bytecode caches. With PYTHONDONTWRITEBYTECODE=1 (set in some containers and CI images) Python
# compiles every module of src/ again in each test process and in every subprocess the tests
# start (the CLI, the out-of-core memory check, notebook kernels, dask workers), and pytest
# rewrites the asserts of every test module again in each xdist worker: about 5 s of the 8 s a
# worker spends collecting, on a 2-core machine. The caches go to .pytest_cache/pycache (git
# ignores it), never beside the sources, which is what the variable is usually set to avoid.
# Only where the interpreter looks for compiled code changes, not what runs; set
# CE_TEST_NO_BYTECODE=1 to keep the environment's choice.
if sys.dont_write_bytecode and not os.environ.get("CE_TEST_NO_BYTECODE"):
    sys.pycache_prefix = sys.pycache_prefix or str(
        Path(__file__).resolve().parent.parent / ".pytest_cache" / "pycache"
    )
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the subprocesses the tests start
    os.environ["PYTHONPYCACHEPREFIX"] = sys.pycache_prefix

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


# The longest items, longest first: CPU seconds (the process's own plus the subprocesses it
# waits for), measured serially on the loaded 2-core machine of session 10 with the library of
# issue 17's speed-ups (the Dask cell sums, the simulation engine); the wall time under
# ``-n auto`` is about twice that for items that start processes. They run before everything
# else so that the last items the xdist scheduler hands out are short and both workers finish
# together: the memory check alone was the whole tail when it came last. Whole modules are
# listed where a module-scoped fixture is expensive (Chromium), so that it starts once. A prefix
# of a node id; an item not listed keeps its collection order. Re-measure with a plugin that
# records ``resource.getrusage`` (RUSAGE_SELF + RUSAGE_CHILDREN) around
# ``pytest_runtest_protocol``: ``--durations`` shows wall seconds, which a busy machine inflates
# unevenly.
SLOW_FIRST = (
    "tests/test_out_of_core.py::test_memory_does_not_grow_with_rows",  # 16 s, 2 processes
    "tests/test_report_browser.py",  # Chromium ~7 s (its processes), 10 pages for 11 tests
    "tests/test_summaries.py::test_a_local_dask_cluster_with_two_worker_processes",  # 4.5 s, 3 pr.
    "tests/test_disclosure.py::test_no_suppressed_community_is_solvable",  # 6.3 s
    "tests/test_agreement.py::test_invariant_to_row_order_and_labels",  # 4.2 s
    "tests/test_change.py::test_community_alone_equals_full_and_none_disappear",  # 4.1 s
    "tests/test_reading_engine.py::test_a_200k_row_file_is_read_by_arrow",  # 3.8 s
    "notebooks/evaluation.ipynb",  # 3.7 s, mostly in a kernel process
    "tests/test_impact.py::test_levels_properties_hypothesis",  # 3.5 s
    "tests/test_plan_simulation.py::test_community_level_matches_t_test_power",  # 3.5 s
    "tests/test_cli_exit.py::test_exit_statuses_are_mains",  # 3 s, 3 processes (1 shared)
    "tests/test_out_of_core.py::test_generated_equals_in_memory",  # 3.1 s
    "tests/test_cli_startup.py::test_import_leaves_the_garbage_collector_as_it_was",  # 2 proc.
    "src/collective_efficacy/out_of_core.py",  # the evaluate_parquet doctest, 2.5 s
    "tests/test_bench_reliability.py::test_bench_reliability_help_runs_nothing",  # 2.4 s, 2 proc.
    "tests/test_change.py::test_swapping_waves_flips_signs_keeps_p",  # 2.4 s
    "tests/test_reading_engine.py::test_property_well_formed_files_read_alike",  # 2.2 s
    "notebooks/quickstart.ipynb",  # 2.1 s
    "tests/test_out_of_core.py::test_example_equals_in_memory",  # 2.1 s
    "tests/test_geography.py::test_rollup_of_a_rollup_equals_a_direct_rollup",  # 1.6 s
    "tests/test_validate_codes.py::test_validate_with_the_byte_coding_equals_validate_without",
    "tests/test_validate_repeats.py::test_validate_with_uncoded_respondents_equals_the_coded",
    "tests/test_plan_simulation.py::test_formula_power_within_monte_carlo_interval",  # 3 x 1.1 s
    "tests/test_geography.py::test_attacker_learns_no_hidden_buurt",  # 0.9 s
)


def _cost_rank(item: pytest.Item) -> int:
    for rank, prefix in enumerate(SLOW_FIRST):
        if item.nodeid.startswith(prefix):
            return rank
    return len(SLOW_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest items first (:data:`SLOW_FIRST`); the order of the others is unchanged.

    With ``--dist worksteal`` (pyproject ``addopts``) each worker starts on half of the list and
    an idle worker takes the back half of the other's queue, so the long items, at the front,
    overlap with the short ones, and what is left at the end is short. The notebooks (collected
    last, as ``testpaths`` ends with notebooks/) were once the last two items handed out, so one
    worker ran both while the other was idle.
    """
    items.sort(key=_cost_rank)  # stable


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def example_evaluation():
    """The bundled example evaluated as ``collective-efficacy evaluate --example`` does it."""
    import pandas as pd

    import collective_efficacy as ce
    from collective_efficacy.cli import _example_assessments
    from collective_efficacy.datasets import load_example_geometry

    before, after = ce.datasets.load_example(split=True)
    copies = (before.copy(), after.copy())
    ev = ce.evaluate(
        before,
        after,
        community="buurt",
        respondent="respondent_id",
        columns=ce.datasets.EXAMPLE_COLUMNS,
        assessments=_example_assessments(),
        geometry=load_example_geometry(),
        min_n=10,
    )
    # the caller's frames are untouched (test_evaluation_sections.py's check, which shares this
    # run: the same call)
    pd.testing.assert_frame_equal(before, copies[0])
    pd.testing.assert_frame_equal(after, copies[1])
    return ev


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


#: The last line of a checking program a test runs in a fresh interpreter (after it has printed
#: what the test reads): leave without the interpreter's teardown, which frees every object of
#: pandas, scipy and the package one by one (about 0.25 s CPU) and is not what such a test
#: checks. The command line's own exit is tested with the real console script.
FAST_EXIT = "\nimport os, sys; sys.stdout.flush(); sys.stderr.flush(); os._exit(0)"


@pytest.fixture(scope="session")
def modules_after() -> Callable[[str], frozenset[str]]:
    """``sys.modules`` of a fresh interpreter after it runs ``code`` (the tested package's tree
    first on the path); the process fails the test if ``code`` raises.

    One process per distinct ``code`` and test process: the tests that ask what the same import
    loads (the console entry's imports, scipy.stats left out) share it, instead of starting
    an interpreter and importing the package each (about 1.5 s CPU). Frozen: only read. The
    process ends with :data:`FAST_EXIT` once it has printed the modules.
    """
    import collective_efficacy

    src = str(Path(collective_efficacy.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    seen: dict[str, frozenset[str]] = {}

    def modules(code: str) -> frozenset[str]:
        if code not in seen:
            run = subprocess.run(
                [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"
                 f"{FAST_EXIT}"],
                capture_output=True, text=True, check=True, env=env,
            )  # fmt: skip
            seen[code] = frozenset(json.loads(run.stdout.splitlines()[-1]))
        return seen[code]

    return modules


@pytest.fixture(scope="session")
def cli_process(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``python -m collective_efficacy.cli ARGS`` (the console script's entry, fast exit and
    all) as a real process in an empty folder, with ``COLUMNS=100``: its exit status, stdout
    and stderr. Run once per distinct ``ARGS`` and test process, for the commands that write
    nothing (errors, listings): the tests that check what the same command gives (one on its
    exit status, one on its message) share the process (about 1.2 s CPU each).
    """
    seen: dict[tuple[str, ...], subprocess.CompletedProcess[str]] = {}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        if args not in seen:
            cwd = tmp_path_factory.mktemp("cli-process")
            seen[args] = subprocess.run(
                [sys.executable, "-m", "collective_efficacy.cli", *args],
                capture_output=True, text=True, cwd=cwd, check=False, timeout=300,
                env={**os.environ, "COLUMNS": "100"},
            )  # fmt: skip
            assert list(cwd.iterdir()) == [], f"{args} wrote files: use a process of its own"
        return seen[args]

    return run

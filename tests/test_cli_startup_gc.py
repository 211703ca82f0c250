"""Importing the package hands the objects it made to the collector's oldest generation at once
(issue 16: no collection walking them all as the import ends), and leaves the caller's
collector settings as they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import collective_efficacy
from conftest import FAST_EXIT

SRC = str(Path(collective_efficacy.__file__).resolve().parent.parent)


def _after_import(before: str) -> dict[str, object]:
    """The collector's state in a fresh interpreter after ``before`` and the package import."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    code = (
        f"import gc, json\n{before}\nruns = [s['collections'] for s in gc.get_stats()]\n"
        "import collective_efficacy\n"
        "runs = [s['collections'] - r for s, r in zip(gc.get_stats(), runs)]\n"
        "young = [len(gc.get_objects(generation=g)) for g in (0, 1)]\n"
        "print(json.dumps({'enabled': gc.isenabled(), 'runs': runs, 'young': young,"
        " 'old': len(gc.get_objects(generation=2)), 'frozen': gc.get_freeze_count()}))"
        f"{FAST_EXIT}"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return dict(json.loads(out.stdout.splitlines()[-1]))


def test_import_moves_its_objects_to_the_oldest_generation() -> None:
    """No collection walked the import's ~200,000 objects: they are in the
    oldest generation, nothing stays frozen, the collector is on."""
    state = _after_import("")
    assert state["enabled"] is True
    assert state["frozen"] == 0
    assert state["runs"][1:] == [0, 0]  # (a few collections of the youngest: cheap)
    young, old = state["young"], state["old"]
    assert isinstance(young, list) and isinstance(old, int)
    assert max(young) < 5000 < 100_000 < old


def test_import_keeps_the_callers_frozen_objects_frozen() -> None:
    """A caller that froze its objects before importing finds them still frozen."""
    state = _after_import(
        "keep = [[] for _ in range(1000)]\ngc.freeze()\nn = gc.get_freeze_count()"
    )
    frozen = state["frozen"]
    assert isinstance(frozen, int) and frozen >= 1000

"""The versioned JSON contract: committed JSON Schemas, and a bump for every model change.

The schemas are generated from the pydantic models (``python -m collective_efficacy._schemas``)
and committed under ``src/collective_efficacy/schemas``; ``versions.json`` records, per
``SCHEMA_VERSION``, the SHA-256 of every schema. A model change that alters a schema without a
schema-version bump fails here.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import collective_efficacy as ce
from collective_efficacy._schemas import MODELS, SCHEMA_DIR, digest, schema_text
from collective_efficacy._version import SCHEMA_VERSION

RECORD = json.loads((SCHEMA_DIR / "versions.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_change_needs_a_schema_version_bump(name: str) -> None:
    text = schema_text(MODELS[name])
    assert SCHEMA_VERSION in RECORD, (
        f"SCHEMA_VERSION {SCHEMA_VERSION} is not recorded: run python -m collective_efficacy._schemas"
    )
    assert digest(text) == RECORD[SCHEMA_VERSION][name], (
        f"the JSON schema of {name} changed but SCHEMA_VERSION is still {SCHEMA_VERSION}: bump it "
        "in src/collective_efficacy/_version.py and run python -m collective_efficacy._schemas"
    )
    committed = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert committed == text, (
        f"{name}.schema.json is stale: run python -m collective_efficacy._schemas"
    )


def test_recorded_versions_never_change_silently() -> None:
    # each recorded version is a set of hashes of real schema files; older versions stay listed
    assert all(set(v) == set(MODELS) for v in RECORD.values()), sorted(RECORD)
    assert max(RECORD, key=lambda v: tuple(int(x) for x in v.split("."))) == SCHEMA_VERSION


def test_every_to_json_carries_the_versions() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"nc": np.repeat(list("ABCDEF"), 6), "y": rng.normal(size=36)})
    ri = ce.random_intercept(df, dv="y", community="nc")
    wide = pd.DataFrame(
        {f"I{j}": rng.integers(1, 6, 36).astype(float) for j in range(3)} | {"nc": df["nc"]}
    )
    eco = ce.ecometric(wide, items=["I0", "I1", "I2"], community="nc")
    long = pd.DataFrame(
        {
            "community": np.tile(np.repeat(list("ABCDEF"), 6), 2),
            "wave": np.repeat(["baseline", "end_of_cycle"], 36),
            "y": rng.normal(3, 0.5, 72),
        }
    )
    cm = ce.change_model(long, dv="y", community="community", min_n=3)
    for result in (ri, eco, cm):
        doc = json.loads(result.to_json())
        assert doc["schema_version"] == SCHEMA_VERSION
        assert doc["library_version"] == ce.__version__

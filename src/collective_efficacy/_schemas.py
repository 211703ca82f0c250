"""Generate the committed JSON Schemas of the results that leave the library as JSON.

Run ``python -m collective_efficacy._schemas`` after changing a result model (and bumping
``_version.SCHEMA_VERSION``). It writes one ``<Model>.schema.json`` per model into
``src/collective_efficacy/schemas/`` and records their SHA-256 under the schema version in
``versions.json``; it refuses to change the hashes recorded for an existing version, so a model
change without a version bump cannot be committed with a green ``tests/test_schemas.py``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from collective_efficacy._version import SCHEMA_VERSION
from collective_efficacy.evaluation import Evaluation
from collective_efficacy.multilevel._models import (
    ChangeModel,
    EcometricResult,
    RandomInterceptResult,
)

__all__ = ["MODELS", "SCHEMA_DIR", "generate", "schema_text"]

#: every result model with a ``to_json()`` (results.json is ``Evaluation``)
MODELS: dict[str, type[BaseModel]] = {
    "ChangeModel": ChangeModel,
    "EcometricResult": EcometricResult,
    "Evaluation": Evaluation,
    "RandomInterceptResult": RandomInterceptResult,
}

SCHEMA_DIR = Path(__file__).with_name("schemas")


def schema_text(model: type[BaseModel]) -> str:
    """The JSON Schema of ``model`` as committed (sorted keys, 2-space indent, newline)."""
    schema: dict[str, Any] = model.model_json_schema(mode="serialization")
    schema["$id"] = f"collective-efficacy/{model.__name__}/{SCHEMA_VERSION}"
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generate(out: Path = SCHEMA_DIR) -> dict[str, str]:
    """Write the schema files and the version record; return ``{model: sha256}``."""
    out.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for name, model in MODELS.items():
        text = schema_text(model)
        (out / f"{name}.schema.json").write_text(text, encoding="utf-8")
        hashes[name] = digest(text)
    record_path = out / "versions.json"
    record = json.loads(record_path.read_text(encoding="utf-8")) if record_path.exists() else {}
    if SCHEMA_VERSION in record and record[SCHEMA_VERSION] != hashes:
        raise SystemExit(
            f"the result models changed but SCHEMA_VERSION is still {SCHEMA_VERSION}: bump it in "
            "src/collective_efficacy/_version.py, then run this again"
        )
    record[SCHEMA_VERSION] = hashes
    record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return hashes


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    for model_name, sha in generate().items():
        sys.stdout.write(f"{model_name}: {sha[:12]}\n")

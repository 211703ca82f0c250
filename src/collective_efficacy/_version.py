"""The library version and the version of its JSON contract (one place for both).

``SCHEMA_VERSION`` versions the JSON that leaves the library (every ``to_json()`` and
results.json). Bump it whenever a result model changes shape, then regenerate the committed JSON
Schemas with ``python -m collective_efficacy._schemas``; ``tests/test_schemas.py`` fails on a
model change without a bump.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["SCHEMA_VERSION", "Versioned", "__version__"]

__version__ = "0.1.0"

#: major.minor: a minor bump adds fields; a major bump renames, removes or retypes one
SCHEMA_VERSION = "2.2"


class Versioned(BaseModel):
    """Mixin of every result that leaves the library as JSON: which contract, which library."""

    schema_version: str = Field(
        default=SCHEMA_VERSION, description="version of this JSON contract (major.minor)"
    )
    library_version: str = Field(
        default_factory=lambda: __version__,  # a factory: the schema does not embed the version
        description="collective-efficacy version that produced the result",
    )

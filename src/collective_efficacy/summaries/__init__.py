"""Per-community summaries that merge, and the engine layer behind "any frame in".

:func:`summarise` computes per-community sums inside the data's own engine (pandas, polars,
pyarrow, DuckDB, Dask); a :class:`CommunitySummary` adds (``s1 + s2``,
:func:`merge_summaries`), saves (JSON, Parquet) and stands in for the rows in the
sum-reducible statistics.
"""

from collective_efficacy.summaries.summary import (
    SCHEMA_VERSION,
    CommunitySummary,
    merge_summaries,
    summarise,
)

__all__ = ["SCHEMA_VERSION", "CommunitySummary", "merge_summaries", "summarise"]

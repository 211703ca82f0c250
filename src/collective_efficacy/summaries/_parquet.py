"""One survey file summarised inside DuckDB, for the out-of-core evaluation (private).

:func:`wave_sums` opens a Parquet file (or a folder / glob of them) as a DuckDB relation and,
in two streaming passes, returns what :func:`~collective_efficacy.validate` and
:func:`~collective_efficacy.score` would have told about it -- rows read, rows excluded with
their reason, out-of-range cells per item -- and the per-community sums of the scale's keyed
items and of its score. Validation is the row path's, expressed as column expressions:

* item codes of the instrument's response scale are kept, its missing codes and any other value
  become missing (``out_of_range`` problems are counted per item);
* a row without a community label is excluded (``missing_community``), so is a row without a
  respondent id (``missing_respondent``) and a row without an answered item
  (``no_items_answered``);
* a respondent id found twice is refused: the row path keeps the first occurrence, and "first"
  has no meaning in a parallel scan. Deduplicate the file first.

Memory is that of DuckDB's hash aggregate over the communities (``memory_limit``), never of the
rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError, ParameterError, require_extra
from collective_efficacy.instrument import Instrument
from collective_efficacy.instrument._keys import parse_keys
from collective_efficacy.summaries._engine import _collect, cell_sums, check_respondents
from collective_efficacy.summaries.summary import CommunitySummary

__all__ = ["WaveSums", "duckdb_connection", "keep_cells", "open_parquet", "wave_sums"]


@dataclass
class WaveSums:
    """One wave: the summaries of its valid rows and its data-quality counts."""

    items: CommunitySummary  # the scale's keyed items (alpha, item statistics, ICC of items)
    score: CommunitySummary  # the scale score as one "item" (community table, ICC, change)
    n_rows_in: int
    exclusions: dict[str, int]
    problems: dict[str, int] = field(default_factory=dict)  # out-of-range cells per item


#: a DuckDB memory size: a number and a unit (KB ... TB, KiB ... TiB) or a percentage
_MEMORY_LIMIT = re.compile(r"\s*\d+(\.\d+)?\s*(%|[KMGT]i?B)\s*", re.IGNORECASE)


def duckdb_connection(*, memory_limit: str = "1GB", threads: int | None = None) -> Any:
    """A DuckDB connection with the memory limit and threads of an out-of-core evaluation
    (one for both files: a connection takes 30-50 ms of CPU to open)."""
    require_extra("duckdb", "engines")
    import duckdb

    # the value lands in SQL text (SET takes no parameters): only a size passes
    if not isinstance(memory_limit, str) or not _MEMORY_LIMIT.fullmatch(memory_limit):
        raise ParameterError(
            f"memory_limit={memory_limit!r} is not a memory size; expected a number and a unit "
            "such as '1GB', '500MB', '2GiB' or a share of the machine's memory such as '80%'",
            argument="memory_limit",
        )
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")  # lets the aggregate stream
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


def open_parquet(con: Any, path: str | Path) -> Any:
    """A DuckDB relation over a Parquet file, a folder of them or a glob (nothing read yet)."""
    import duckdb

    p = Path(path)
    pattern = str(p / "**" / "*.parquet") if p.is_dir() else str(path)
    try:
        return con.read_parquet(pattern)
    except duckdb.Error as exc:
        raise DataError(f"{path}: not a readable Parquet file or folder ({exc})") from None


def _one_of(x: Any, values: list[float]) -> Any:
    """``x`` equals one of ``values`` (null for null): ``x.is_in(values)`` as a chain of
    comparisons, which DuckDB evaluates in the scan; it plans ``is_in`` as a join per item."""
    out = x == values[0]
    for v in values[1:]:
        out = out | (x == v)
    return out


def _prepared(
    rel: Any,
    inst: Instrument,
    items: list[str],
    community: str,
    respondent: str | None,
    columns: dict[str, str] | None,
    source: str,
    name: str,
) -> tuple[Any, Any]:
    """The frame with item ids as column names, codes checked, labels as text; the query of
    the counts (over every row)."""
    frame = nw.from_native(rel)
    names = frame.collect_schema().names()
    if columns:
        frame = frame.rename({k: v for k, v in columns.items() if k in names})
        names = frame.collect_schema().names()
    need = [community, *items] + ([respondent] if respondent else [])
    missing = [c for c in need if c not in names]
    if missing:
        raise DataError(f"{source}: column(s) {missing} not found; the file has {names}")
    schema = frame.collect_schema()
    text = [c for c in items if not schema[c].is_numeric()]
    if text:
        raise DataError(
            f"{source}: item column(s) {text} are not numeric; the out-of-core evaluation "
            "reads answer codes (numbers). Recode the labels first, or evaluate in memory."
        )
    label = nw.col(community).cast(nw.String).str.strip_chars()
    has_label = ~label.is_null() & (label != "")
    # the codes as floats (NaN as null) in a column of their own: the comparisons below read
    # it, where inline each would repeat the cast and the NaN test (a third of the scan's CPU)
    frame = frame.with_columns(*[nw.col(i).cast(nw.Float64).fill_nan(None) for i in items])
    clean, counts = [], [nw.len().alias("n_rows_in"), (~has_label).sum().alias("no_label")]
    for item in items:
        codes = [float(c) for c in inst.response_scale(item).codes]
        missing_codes = [float(c) for c in inst.response_scale(item).missing]
        x = nw.col(item)
        clean.append(nw.when(_one_of(x, codes)).then(x).alias(item))
        bad = ~x.is_null() & ~_one_of(x, codes + missing_codes)
        counts.append(bad.sum().alias(f"bad_{item}"))
    out = frame.with_columns(label.alias(name), *clean)
    keep = has_label
    if respondent:
        has_id = ~nw.col(respondent).is_null()
        counts.append((has_label & ~has_id).sum().alias("no_id"))
        keep = keep & has_id
    return out.filter(keep), frame.select(*counts)


def wave_sums(
    rel: Any,
    inst: Instrument,
    scale: str,
    *,
    community: str,
    respondent: str | None,
    columns: dict[str, str] | None,
    wave_label: str,
    wave: str,
    source: str,
    name: str | None = None,
) -> WaveSums:
    """Validate, score and summarise one wave inside DuckDB (see the module docstring).

    ``community`` is the file's column; the summaries call it ``name`` (default: the same).
    """
    name = community if name is None else name
    sc = inst.scale(scale)
    if sc.rule != "mean" or sc.rescale is not None:
        raise DataError(
            f"scale {scale!r} uses rule {sc.rule!r}"
            + (" with rescale" if sc.rescale is not None else "")
            + "; the out-of-core evaluation computes mean-rule scales only. Evaluate in memory."
        )
    items = list(sc.items)
    frame, counts = _prepared(rel, inst, items, community, respondent, columns, source, name)
    tally = _collect(counts).iloc[0]
    if respondent:
        _refuse_duplicates(frame, respondent, source)
    frame = frame.with_columns(nw.lit(wave_label).alias(wave))
    signs = parse_keys(inst.keys(scale), items)
    lo = np.array([min(inst.response_scale(i).codes) for i in items], dtype=np.float64)
    hi = np.array([max(inst.response_scale(i).codes) for i in items], dtype=np.float64)
    table = cell_sums(
        frame, items, signs, lo, hi, [name, wave], min_items=sc.min_items or 1, detail=True
    )
    no_answer = int((table["n_rows"] - table["n_answered"]).sum())
    table = table[table["n_answered"] > 0].reset_index(drop=True)  # excluded: no answer
    table["n_rows"] = table["n_answered"]  # the rows validate keeps
    item_sum = CommunitySummary(
        table, items=items, signs=signs, scale_range=np.column_stack([lo, hi]),
        community=name, wave=wave, score=scale,
    )  # fmt: skip
    exclusions = {"missing_community": int(tally["no_label"])}
    if respondent:
        exclusions["missing_respondent"] = int(tally["no_id"])
    exclusions["no_items_answered"] = no_answer
    return WaveSums(
        items=item_sum,
        score=_score_summary(table, scale, name, wave),
        n_rows_in=int(tally["n_rows_in"]),
        exclusions={k: v for k, v in exclusions.items() if v},
        problems={i: int(tally[f"bad_{i}"]) for i in items if int(tally[f"bad_{i}"])},
    )


def _score_summary(table: pd.DataFrame, scale: str, community: str, wave: str) -> CommunitySummary:
    """The scale score's moments as a one-item summary (the score is its own "item")."""
    n, total, sq = table["scale_n"], table["scale_sum"], table["scale_sumsq"]
    t = pd.DataFrame(
        {
            community: table[community],
            wave: table[wave],
            "n_rows": table["n_answered"],
            "n_answered": n,
            "score_n": n,
            "score_sum": total,
            "score_sumsq": sq,
            "n_0_0": n,
            "cross_0_0": sq,
            "sum_0_0": total,
        }
    )
    return CommunitySummary(
        t, items=[scale], signs=[1.0], scale_range=[[np.nan, np.nan]], community=community,
        wave=wave, score=scale,
    )  # fmt: skip


def keep_cells(summary: CommunitySummary, cells: pd.DataFrame) -> CommunitySummary:
    """The summary's cells whose labels are rows of ``cells`` (its label columns)."""
    t = summary.to_frame()
    keys = summary.keys
    want = pd.MultiIndex.from_frame(cells[keys].astype(object))
    mask = pd.MultiIndex.from_frame(t[keys].astype(object)).isin(want)
    return summary._like(t.loc[mask].reset_index(drop=True))


def _refuse_duplicates(frame: Any, respondent: str, source: str) -> None:
    try:
        check_respondents(frame, respondent, None)
    except DataError as exc:
        raise DataError(
            f"{source}: {exc}. In memory the first occurrence is kept; a parallel scan has no "
            "first row. Deduplicate the file first.",
            argument="respondent",
        ) from None

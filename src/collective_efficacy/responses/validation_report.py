"""Pydantic models of the validation report (JSON-ready)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from collective_efficacy._messages import Message
from collective_efficacy._rows import describe_rows

__all__ = ["ExcludedRow", "Problem", "ValidationReport"]

RowLabel = int | str


class Problem(BaseModel):
    """One kind of problem in one column: the rows and values involved and what was expected."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="machine-readable kind, e.g. 'out_of_range', 'unknown_label'")
    column: str | None = Field(description="the caller's column name (None for row-level problems)")
    rows: list[RowLabel] = Field(default_factory=list, description="caller's row labels (first 50)")
    values: list[Any] = Field(default_factory=list, description="offending values (first 50)")
    n: int = Field(description="number of cells or rows with this problem")
    expected: str = ""
    hint: str = ""

    def describe(self, first_row: int | None = None, source: str = "") -> str:
        """The problem for a reader; ``first_row`` as in :class:`ValidationReport` (None: the
        rows are named by their index labels, else as spreadsheet rows of ``source``)."""
        where = f"column {self.column!r}" if self.column is not None else "rows"
        if self.rows:
            where += f", {describe_rows(self.rows, offset=first_row, source=source, n=self.n)}"
        text = f"{where}: {self.code.replace('_', ' ')}"
        if self.values:
            vals = ", ".join(repr(v) for v in self.values[:5])
            text += f", value{'s' if len(self.values) > 1 else ''} {vals}"
        if self.expected:
            text += f"; expected {self.expected}"
        if self.hint:
            text += f". {self.hint}"
        return text

    def __str__(self) -> str:
        return self.describe()


class ExcludedRow(BaseModel):
    """A row that was not scored, and why."""

    model_config = ConfigDict(extra="forbid")

    row: RowLabel
    reason: str
    detail: str = ""


class ValidationReport(BaseModel):
    """Every input row accounted for: usable, or excluded with a reason; every problem named.

    ``n_rows_in == n_rows_usable + n_rows_excluded`` always holds. Row labels (``Problem.rows``,
    ``ExcludedRow.row``) are the caller's index labels; the text (:meth:`summary`,
    :meth:`describe`) names spreadsheet rows when the data are a file's records as read
    (``first_row`` set: the header is row 1, the first record row 2), else the index labels.
    """

    model_config = ConfigDict(extra="forbid")

    source: str = ""
    first_row: int | None = Field(
        default=None,
        description="spreadsheet row of the data's first record (2: the header is row 1) when "
        "the data are a file's records as read; row label r is then row r + first_row. None: "
        "rows are named by the caller's index labels",
    )
    instrument_id: str
    instrument_version: str
    n_rows_in: int
    n_rows_usable: int
    n_rows_excluded: int
    excluded: list[ExcludedRow] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    recoded_missing: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="column -> missing code -> count turned into NaN"
    )
    column_map: dict[str, str] = Field(default_factory=dict, description="caller column -> item id")
    ignored_columns: list[str] = Field(default_factory=list)
    normalised_labels: dict[str, str] = Field(
        default_factory=dict,
        description="community label as in the data -> label used (Unicode NFC, trimmed, "
        "inner white space collapsed); labels that were already clean are not listed",
    )
    notes: list[str] = Field(
        default_factory=list, description="how the file was read (e.g. an encoding fallback)"
    )
    note_messages: list[Message] = Field(
        default_factory=list, description="the same notes keyed (code + parameters)"
    )

    @property
    def ok(self) -> bool:
        return not self.problems

    def exclusions_by_reason(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.excluded:
            out[e.reason] = out.get(e.reason, 0) + 1
        return out

    def problems_frame(self) -> pd.DataFrame:
        """One row per problem: code, column, n, rows, values, expected, hint."""
        cols = ["code", "column", "n", "rows", "values", "expected", "hint"]
        return pd.DataFrame([p.model_dump() for p in self.problems], columns=cols)

    def excluded_frame(self) -> pd.DataFrame:
        """One row per excluded input row: row label, reason, detail."""
        return pd.DataFrame(
            [e.model_dump() for e in self.excluded], columns=["row", "reason", "detail"]
        )

    def summary(self, max_problems: int = 10, *, row_detail: bool = True) -> str:
        """Counts of rows, exclusions per reason and the problems; ``row_detail=False`` names
        each problem by column and kind with its count only (no rows, no values: what the
        command line prints without ``--with-row-detail``)."""
        head = (
            f"{self.n_rows_in} rows in, {self.n_rows_usable} usable, "
            f"{self.n_rows_excluded} excluded"
        )
        if self.source:
            head = f"{self.source}: {head}"
        lines = [head]
        for reason, n in sorted(self.exclusions_by_reason().items()):
            lines.append(f"  excluded ({reason}): {n}")
        lines += [f"note: {t}" for t in self.notes]
        if self.normalised_labels:
            lines.append(f"{len(self.normalised_labels)} community label(s) normalised:")
            lines += [f"  {a!r} -> {b!r}" for a, b in list(self.normalised_labels.items())[:20]]
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            for p in self.problems[:max_problems]:
                if row_detail:
                    lines.append(f"  {self.describe(p)}")
                    continue
                bare = p.model_copy(update={"rows": [], "values": []})
                lines.append(f"  {self.describe(bare)} (n = {p.n})")
            if len(self.problems) > max_problems:
                lines.append(f"  ... and {len(self.problems) - max_problems} more")
            if not row_detail:
                lines.append("  (rows and values: --with-row-detail)")
        return "\n".join(lines)

    def describe(self, problem: Problem) -> str:
        """A problem's text with its rows named as the reader counts them (see ``first_row``)."""
        return problem.describe(self.first_row, self.source)

    def __str__(self) -> str:
        return self.summary()

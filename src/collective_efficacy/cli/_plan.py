"""The ``collective-efficacy plan`` command (private): the next wave's residents per community,
from the ``results.json`` of ``collective-efficacy evaluate``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from collective_efficacy.errors import DataError, ReadError

__all__ = ["add_plan_parser"]


def add_plan_parser(sub: Any, formatter: Any) -> None:
    """Register the ``plan`` subcommand."""
    pp = sub.add_parser(
        "plan",
        help="plan the next cycle: residents per community for reliability and change",
        formatter_class=formatter,
    )
    pp.add_argument(
        "--from", dest="source", metavar="FILE", required=True,
        help="results.json written by 'collective-efficacy evaluate'",
    )  # fmt: skip
    pp.add_argument("--target", type=float, default=0.70, help="reliability wanted (0-1)")
    pp.add_argument("--alpha", type=float, default=0.05, help="significance level")
    pp.add_argument("--power", type=float, default=0.80, help="power wanted (0-1)")
    pp.add_argument(
        "--adjust", choices=["holm", "bonferroni", "none"], default="holm",
        help="multiplicity over the communities (holm is planned at alpha/K)",
    )  # fmt: skip
    pp.add_argument("--csv", metavar="FILE", default=None, help="also write the table as CSV")
    pp.set_defaults(func=_cmd_plan)


def _load(path: str) -> Any:
    from pydantic import ValidationError

    from collective_efficacy.evaluation import Evaluation

    p = Path(path)
    if not p.is_file():
        raise ReadError(f"--from: file not found: {path}", argument="source")
    try:
        return Evaluation.model_validate_json(p.read_text(encoding="utf-8"))
    except (ValidationError, ValueError) as exc:
        raise ReadError(
            f"--from: {path} is not a results.json of 'collective-efficacy evaluate' "
            f"({str(exc).splitlines()[0]})",
            argument="source",
        ) from None


def _cmd_plan(args: argparse.Namespace) -> int:
    from collective_efficacy.plan.next_cycle import next_cycle, summary_lines

    ev = _load(args.source)
    try:
        table = next_cycle(
            ev, target=args.target, alpha=args.alpha, power=args.power, adjust=args.adjust
        )
    except DataError as exc:  # name the option, not the Python argument
        opt = {"target": "--target", "alpha": "--alpha", "power": "--power"}.get(
            exc.argument or "", "--from"
        )
        raise DataError(f"{opt}: {exc}", argument=exc.argument) from None
    for line in summary_lines(table, ev, target=args.target):
        print(line)
    with pd.option_context("display.width", 200, "display.max_rows", None):
        shown = table.drop(columns=["residents_for_reliability"]).astype(object)
        print(shown.where(shown.notna(), "-").to_string(index=False))
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0

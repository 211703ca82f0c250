"""The per-file options of ``collective-efficacy evaluate`` (private): two exports that name
their columns and their community column differently, the assessments' wave labels, and the
explicit ``--skip-impact`` / ``--skip-map``, and the survey design (``--weight``, ``--strata``,
``--cluster``, ``--fpc``, ``--lonely-psu``)."""

from __future__ import annotations

import argparse
from typing import Any

from collective_efficacy.cli._support import columns_arg, keyed_error
from collective_efficacy.evaluation._inputs import merge_columns
from collective_efficacy.survey_design import SurveyDesign

__all__ = ["add_design_options", "add_wave_options", "design_arg", "per_wave_args"]


def add_wave_options(pe: argparse.ArgumentParser) -> None:
    """Add the per-file column options, the wave-label options and the skip options."""
    pe.add_argument(
        "--community-baseline",
        metavar="COL",
        default=None,
        help="community column of BASELINE, when it differs from --community",
    )
    pe.add_argument(
        "--community-end",
        metavar="COL",
        default=None,
        help="community column of END, when it differs from --community",
    )
    for wave, name in (("baseline", "BASELINE"), ("end", "END")):
        pe.add_argument(
            f"--columns-{wave}",
            metavar="JSON",
            default=None,
            help=f"column map of {name} only (JSON file or inline JSON), added to --columns; "
            "its entries win where both map a column or an item",
        )
    pe.add_argument(
        "--wave",
        metavar="COL",
        default=None,
        help="wave column of --assessments (default: the column the two survey files share "
        "with one label each, such as meting; else 'wave')",
    )
    pe.add_argument(
        "--before",
        metavar="LABEL",
        default="baseline",
        help="baseline label in --assessments (the survey files' own labels work too)",
    )
    pe.add_argument(
        "--after",
        metavar="LABEL",
        default="end_of_cycle",
        help="end-of-cycle label in --assessments (the survey files' own labels work too)",
    )
    pe.add_argument(
        "--skip-impact",
        action="store_true",
        help="leave the impact levels and the maps out; --assessments is not read",
    )
    pe.add_argument(
        "--skip-map", action="store_true", help="leave the maps out; --geometry is not read"
    )


def per_wave_args(args: argparse.Namespace) -> dict[str, Any]:
    """``community`` and ``columns`` of each file for :func:`evaluate`: the file's own option,
    else the common one."""
    community = {
        "baseline": args.community_baseline or args.community,
        "end_of_cycle": args.community_end or args.community,
    }
    if not all(community.values()):
        raise keyed_error("cli_community_required")
    given = {
        "--community-baseline": args.community_baseline,
        "--community-end": args.community_end,
        # --community only where a file uses it (not overridden for both)
        "--community": args.community
        if None in (args.community_baseline, args.community_end)
        else None,
    }
    same = [o for o, c in given.items() if c is not None and c == args.respondent]
    if args.respondent is not None and same:
        raise keyed_error("cli_same_column", option=same[0], column=str(args.respondent))
    common = columns_arg(args.columns, "--columns")
    columns = {
        "baseline": merge_columns(common, columns_arg(args.columns_baseline, "--columns-baseline")),
        "end_of_cycle": merge_columns(common, columns_arg(args.columns_end, "--columns-end")),
    }
    return {"community": community, "columns": columns}


def add_design_options(pe: Any) -> None:
    """Survey weights and design (columns of both files); see the Survey weights page."""
    g = pe.add_argument_group("survey weights (weighted community scores and change)")
    g.add_argument("--weight", metavar="COL", default=None, help="survey weight column")
    g.add_argument("--strata", metavar="COL", default=None, help="stratum column")
    g.add_argument("--cluster", metavar="COL", default=None, help="cluster (PSU) column")
    g.add_argument(
        "--fpc",
        metavar="COL",
        default=None,
        help="finite population correction: PSUs in the stratum, or the sampling fraction",
    )
    g.add_argument(
        "--lonely-psu",
        choices=["fail", "remove", "certainty", "adjust"],
        default="fail",
        help="a stratum with one PSU, as R's options(survey.lonely.psu)",
    )


def design_arg(args: argparse.Namespace) -> SurveyDesign | None:
    """--weight, --strata, --cluster, --fpc, --lonely-psu as one survey design (or None)."""
    cols = {k: getattr(args, k) for k in ("weight", "strata", "cluster", "fpc")}
    if all(v is None for v in cols.values()):
        return None
    return SurveyDesign(**cols, lonely_psu=args.lonely_psu)

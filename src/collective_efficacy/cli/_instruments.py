"""``collective-efficacy instruments xlsform|codebook ID -o FILE`` (private).

collective-efficacy instruments xlsform sampson1997 -o form.xlsx [--lang nl,en] [--wave baseline]
collective-efficacy instruments codebook sampson1997 -o codebook.sps [--format sps] [--lang nl]
"""

from __future__ import annotations

import argparse

from collective_efficacy.cli._support import CliError

__all__ = ["EXPORT_ACTIONS", "add_export_options", "run_export"]

EXPORT_ACTIONS = ("xlsform", "codebook")


def add_export_options(pi: argparse.ArgumentParser) -> None:
    """The options of the two export actions of ``instruments``."""
    pi.add_argument("-o", "--output", metavar="FILE", help="file to write (xlsform, codebook)")
    pi.add_argument(
        "--format",
        choices=["csv", "xlsx", "md", "sps", "ddi"],
        default=None,
        help="codebook format (default: from the file's extension: .csv .xlsx .md .sps .xml)",
    )
    pi.add_argument(
        "--form-wave",
        metavar="LABEL",
        default="baseline",
        help="xlsform: the value of the form's wave field",
    )


def run_export(args: argparse.Namespace) -> int:
    """Write the XLSForm or the codebook of ``args.id``."""
    from collective_efficacy.export import to_codebook, to_xlsform

    if not args.id:
        raise CliError(f"instruments {args.action} needs an instrument id (see: instruments list)")
    if not args.output:
        raise CliError(f"instruments {args.action} needs -o/--output FILE")
    if args.action == "xlsform":
        langs = tuple(x.strip() for x in (args.lang or "nl,en").split(",") if x.strip())
        path = to_xlsform(args.id, args.output, lang=langs, wave=args.form_wave)
    else:
        path = to_codebook(args.id, args.output, format=args.format, lang=args.lang)
    print(f"wrote {path}")
    return 0

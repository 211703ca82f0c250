"""Command-line interface: a thin shell over the public functions.

collective-efficacy instruments [list | show ID | xlsform ID -o FILE | codebook ID -o FILE]
collective-efficacy geo (codes | rollup | geojson) FILE [--community COL] [-o FILE]
collective-efficacy validate FILE --instrument ID [--community COL] [--respondent COL] ...
collective-efficacy score (FILE | --example) [--instrument ID] [--community COL] [--out DIR]
collective-efficacy evaluate (BASELINE END | --example) --community COL [--geometry FILE] --out DIR

Every failure exits with status 2 and one ``error: ...`` line that names the option or file at
fault (never a Python argument); an unexpected internal error prints one line, asks to report
it and leaves the traceback in a log file. Inputs and the output folder are checked before any
computation. See ``docs/getting-started.md`` ("The command line").
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from collective_efficacy import __version__
from collective_efficacy._messages import message, problem_message
from collective_efficacy.cli import _concurrent, _support
from collective_efficacy.cli._commands import (
    MIN_N,
    _cmd_evaluate,
    _cmd_instruments,
    _cmd_score,
    _cmd_validate,
)
from collective_efficacy.cli._commands import _example_assessments as _example_assessments
from collective_efficacy.cli._geo import add_geo_command, add_level_option
from collective_efficacy.cli._instruments import EXPORT_ACTIONS, add_export_options
from collective_efficacy.cli._plan import add_plan_parser
from collective_efficacy.cli._support import (
    cli_message,
    internal_error,
    os_error_message,
    pipe_safe_stdout,
)
from collective_efficacy.cli._waves import add_design_options, add_wave_options
from collective_efficacy.errors import CollectiveEfficacyError

__all__ = ["build_parser", "console_main", "main"]


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Each option's help, then its default (when it has a meaningful one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" not in text
            and action.option_strings
            and default not in (None, False, argparse.SUPPRESS)
        ):
            text += " (default: %(default)s)"
        return text


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one ``error: ...`` line like every other failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number; got {value}")
    return value


#: An option table: (flag, keyword arguments of ``add_argument``) per option, in help order.
Options = list[tuple[str, dict[str, Any]]]

#: How to read survey files (every command that reads one).
INPUT_OPTIONS: Options = [
    ("--example", {"action": "store_true", "help": "use the bundled example data"}),
    ("--instrument", {"metavar": "ID", "default": "sampson1997",
                      "help": "instrument id or YAML file"}),
    ("--community", {"metavar": "COL", "help": "column naming each respondent's community"}),
    ("--respondent", {"metavar": "COL", "help": "respondent id column (checks duplicates)"}),
    ("--columns", {"metavar": "JSON", "help": "JSON file or inline JSON mapping your columns "
                   'to item ids: {"hecht": "SC1"}'}),
    ("--sep", {"help": "separator of CSV files: ',', ';', '|' or 'tab' (default: found in the "
               "header line among these)"}),
    ("--encoding", {"help": "text encoding of CSV files, e.g. utf-8, cp1252, utf-16 (default: "
                    "UTF-8 or UTF-16 by byte-order mark, else UTF-8, else cp1252 with a note)"}),
]  # fmt: skip

#: What to check in one survey file (validate, score).
DATA_OPTIONS: Options = [
    ("--wave", {"metavar": "COL", "help": "column naming the wave of each row"}),
    ("--items", {"metavar": "IDS", "help": "comma-separated item ids to check (default: all)"}),
    ("--strict", {"action": "store_true",
                  "help": "stop at any problem instead of excluding rows"}),
    ("--with-row-detail", {"action": "store_true", "help": "list excluded rows and offending "
                           "values in the JSON report (personal data)"}),
]  # fmt: skip

#: The tables written (score, evaluate).
OUTPUT_OPTIONS: Options = [
    ("--min-n", {"metavar": "N", "type": _positive_int, "default": MIN_N,
                 "help": "suppress communities below this n"}),
    ("--csv-dialect", {"choices": ["en", "nl"], "default": "en", "help": "communities.csv for "
                       "English (, and .) or Dutch Excel (; and decimal comma)"}),
    ("--xlsx", {"action": "store_true", "help": "also write results.xlsx, one sheet per table"}),
    ("--force", {"action": "store_true", "help": "replace or remove files of the output names "
                 "not written by this program"}),
]  # fmt: skip

#: The evaluation's own inputs (evaluate), before the design and wave options.
EVALUATE_OPTIONS: Options = [
    ("--assessments", {"metavar": "FILE", "help": "programme ratings per community and wave"}),
    ("--geometry", {"metavar": "FILE", "help": "GeoJSON of the communities (for maps)"}),
    ("--geometry-key", {"metavar": "NAME", "help": "feature property with the community name"}),
    ("--comparison", {"metavar": "FILE_OR_COLUMN", "help": "comparison communities (no "
                      "programme): a column of the survey files, or a file with the community "
                      "column and one column, 1/true for a comparison community and 0/false for "
                      "a programme community; the report then leads with the programme effect"}),
    ("--date", {"metavar": "COL", "help": "column with the date of each answer"}),
]  # fmt: skip


def _add(sp: argparse.ArgumentParser, table: Options) -> None:
    for flag, kwargs in table:
        sp.add_argument(flag, **kwargs)


def _data_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file", nargs="?", help="survey file: CSV, XLSX, SAV, DTA or Parquet")
    _add(sp, INPUT_OPTIONS + DATA_OPTIONS)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``collective-efficacy`` command (all options, with help)."""
    p = _Parser(
        prog="collective-efficacy",
        description="Measure the collective efficacy of neighbourhoods.",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pi = sub.add_parser(
        "instruments",
        help="list the built-in instruments or show one",
        formatter_class=_HelpFormatter,
    )
    pi.add_argument(
        "action",
        nargs="?",
        choices=["list", "show", *EXPORT_ACTIONS],
        default="list",
        help="list, show one, or write its XLSForm or codebook",
    )
    pi.add_argument("id", nargs="?", help="instrument id (for show)")
    pi.add_argument("--lang", default=None, help="language of the wording (default: the first)")
    add_export_options(pi)
    pi.set_defaults(func=_cmd_instruments)
    add_geo_command(sub, _HelpFormatter)

    pv = sub.add_parser(
        "validate", help="check a survey file against an instrument", formatter_class=_HelpFormatter
    )
    _data_args(pv)
    pv.add_argument(
        "--json", metavar="FILE", default=None, help="write the validation report to this file"
    )
    pv.set_defaults(func=_cmd_validate)

    ps = sub.add_parser(
        "score",
        help="score respondents and aggregate to communities",
        formatter_class=_HelpFormatter,
    )
    _data_args(ps)
    _add(ps, OUTPUT_OPTIONS)
    ps.add_argument(
        "--out", metavar="DIR", default=None, help="folder for communities.csv and validation.json"
    )
    ps.set_defaults(func=_cmd_score)

    add_plan_parser(sub, _HelpFormatter)
    _evaluate_parser(sub)
    return p


def _evaluate_parser(sub: Any) -> None:
    pe = sub.add_parser(
        "evaluate", help="baseline versus end-of-cycle report", formatter_class=_HelpFormatter
    )
    pe.add_argument("baseline", nargs="?", help="baseline survey file")
    pe.add_argument("end", nargs="?", help="end-of-cycle survey file")
    _add(pe, INPUT_OPTIONS + EVALUATE_OPTIONS)
    add_design_options(pe)
    add_wave_options(pe)
    add_level_option(pe)
    pe.add_argument(
        "--out-of-core",
        action="store_true",
        help="Parquet files larger than memory: stream them through DuckDB (bounded memory); "
        "the sections that need respondent rows (agreement, ecometric model, dates, "
        "assessments, maps, weights) are left out with a note",
    )
    pe.add_argument("--quiet", action="store_true", help="no progress bar")
    pe.add_argument("--lang", choices=["en", "nl"], default="en", help="language of the report")
    _add(pe, OUTPUT_OPTIONS)
    pe.add_argument("--out", metavar="DIR", default="out", help="folder for the report and tables")
    pe.set_defaults(func=_cmd_evaluate)


@contextmanager
def _warnings_as_lines(lang: str = "en") -> Iterator[None]:
    """Warnings as one ``warning: ...`` line each, not Python's file-and-source-line format."""

    say = message

    def show(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
        line = say("cli_warning", lang, text=f"{message}{say('cli_english', lang)}")
        print(line, file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _id_options(args: argparse.Namespace) -> dict[str, str | None]:
    """Option -> the column it names, so that an absent column is reported by its option."""
    opts = ["community", "community_baseline", "community_end", "respondent", "wave", "date"]
    opts += ["geometry_key"]
    return {f"--{o.replace('_', '-')}": getattr(args, o, None) for o in opts}


def _in_language(exc: CollectiveEfficacyError, args: argparse.Namespace, lang: str) -> str:
    """A library error in ``lang`` when it is keyed, or a validation report's problems ("" when
    neither: the caller shows the English text)."""
    if exc.keyed is not None:
        return exc.keyed.render(lang)
    report = getattr(exc, "report", None)
    problems = list(getattr(report, "problems", []))
    if not problems:
        return ""
    option = {col: opt for opt, col in _id_options(args).items() if col is not None}
    source = str(getattr(report, "source", "") or "")
    lines = []
    for p in problems[:10]:
        text = problem_message(p.code, p.column, p.n).render(lang)
        lead = f"{option[p.column]} " if p.column in option else ""
        lines.append(f"{lead}{text}" + (f" ({source})" if source else ""))
    if any(p.code == "absent_column" and p.column not in option for p in problems):
        lines.append(message("cli_hint_columns", lang))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``collective-efficacy`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # the console speaks the report's language; a library message stays English, and says so
    lang = str(getattr(args, "lang", None) or "en")
    english = message("cli_english", lang)
    try:
        with _warnings_as_lines(lang), pipe_safe_stdout():
            return int(args.func(args))
    except CollectiveEfficacyError as exc:
        strict = bool(getattr(args, "strict", False))
        text = cli_message(exc, _id_options(args), strict=strict)
        text = text if lang == "en" else _in_language(exc, args, lang) or text + english
        print(message("cli_error", lang, text=text), file=sys.stderr)
    except BrokenPipeError:  # stdout is guarded; a pipe lost elsewhere is an error
        print(message("cli_error", lang, text="output pipe closed" + english), file=sys.stderr)
    except OSError as exc:  # a file that cannot be read or written: name it, no traceback
        print(message("cli_error", lang, text=os_error_message(exc) + english), file=sys.stderr)
    except KeyboardInterrupt:
        print(message("cli_interrupted", lang), file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback in a log file
        print(internal_error(exc), file=sys.stderr)
    return 2


def console_main() -> NoReturn:
    """The ``collective-efficacy`` console script (and ``python -m collective_efficacy.cli``):
    :func:`main`, then a fast exit with its status.

    By then every output file is written and closed (each is written whole, with
    ``Path.write_text`` or a ``with`` block); the console streams are flushed here. The exit
    skips the interpreter's teardown, which frees every object and module one by one: a
    quarter of a second and more after an evaluation of a million respondents, for a process
    that ends anyway. Library calls (and :func:`main`) never exit.

    Before the command, everything alive (the imported modules, their functions, classes and
    tables: a few hundred thousand objects that live until the exit) is moved out of the
    garbage collector's reach (:func:`gc.freeze`): its full collections, triggered again and
    again by the containers a run builds, no longer walk them every time. Cyclic garbage made
    later is still collected. Not in :func:`main`, which a long-lived caller may call.
    """
    gc.freeze()
    _concurrent.ENABLED = True  # the output files in two processes (cli._concurrent)
    _support.FAST_EXIT = True  # results kept until the exit, not freed (keep_until_exit)
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:  # the reader left (as `| head`): no error, as in main
            pass
        except (OSError, ValueError):  # output lost (a full disk, a closed stream)
            code = code or 1
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console_main()

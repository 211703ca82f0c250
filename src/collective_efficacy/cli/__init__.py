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
import json
import shutil
import sys
import textwrap
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import pandas as pd

from collective_efficacy import __version__, datasets
from collective_efficacy._messages import message, problem_message
from collective_efficacy.cli._geo import add_geo_command, add_level_option, read_at_level
from collective_efficacy.cli._instruments import EXPORT_ACTIONS, add_export_options, run_export
from collective_efficacy.cli._plan import add_plan_parser
from collective_efficacy.cli._support import (
    CliError,
    OutputFolder,
    check_input_file,
    cli_message,
    columns_arg,
    internal_error,
    keyed_error,
    os_error_message,
    pipe_safe_stdout,
)
from collective_efficacy.cli._waves import add_wave_options, per_wave_args
from collective_efficacy.errors import CollectiveEfficacyError
from collective_efficacy.instrument import list_instruments, load_instrument
from collective_efficacy.responses import ValidatedResponses, validate
from collective_efficacy.responses.io import read_responses
from collective_efficacy.responses.validation_report import ValidationReport
from collective_efficacy.scoring import aggregate, score

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

__all__ = ["build_parser", "main"]

MIN_N = 10  # the library's one privacy threshold (see CONVENTIONS.md: min_n=10 everywhere)


def _columns_arg(text: str | None, option: str = "--columns") -> dict[str, str] | None:
    return columns_arg(text, option)


def _load(args: argparse.Namespace) -> ValidatedResponses:
    columns: dict[str, str] | None
    if getattr(args, "example", False):
        data: pd.DataFrame | Any = datasets.load_example()
        source = "bundled example (nulmeting + eindmeting)"
        columns = datasets.EXAMPLE_COLUMNS
        community, respondent, wave = "buurt", "respondent_id", "meting"
        instrument = "sampson1997"
    else:
        if not args.file:
            raise CliError("give a FILE, or --example to try the bundled example")
        check_input_file(args.file, "FILE")
        columns = _columns_arg(args.columns)
        data = read_responses(args.file, sep=args.sep, encoding=args.encoding)
        source = Path(args.file).name
        community, respondent, wave = args.community, args.respondent, args.wave
        instrument = args.instrument
    items = [s.strip() for s in args.items.split(",")] if getattr(args, "items", None) else None
    if getattr(args, "example", False):
        items = None
    return validate(
        data,
        instrument,
        respondent=respondent,
        community=community,
        wave=wave,
        columns=columns,
        items=items,
        errors="raise" if getattr(args, "strict", False) else "exclude",
        source=source,
    )


def _wrap(text: str, indent: int = 0, hang: int = 4) -> str:
    """Text wrapped to the terminal (at most 100 columns), continuation lines indented."""
    width = max(40, min(shutil.get_terminal_size((100, 24)).columns, 100))
    return textwrap.fill(
        str(text),
        width=width,
        initial_indent=" " * indent,
        subsequent_indent=" " * (indent + hang),
        break_on_hyphens=False,
    )


def _cmd_instruments(args: argparse.Namespace) -> int:
    if args.action in EXPORT_ACTIONS:
        return run_export(args)
    if args.action == "show":
        if not args.id:
            raise CliError("instruments show needs an instrument id (see: instruments list)")
        inst = load_instrument(args.id)
        lang = str(args.lang or "en")
        print(_wrap(f"{inst.id} v{inst.version}: {inst.title_in(args.lang)}"))
        print(_wrap(inst.source))
        for row in inst.codebook(args.lang).to_dict("records"):
            print()
            print(_wrap(f"{row['item']}  {row['text']}", hang=len(str(row["item"])) + 2))
            keying = message(f"cli_keying_{row['keying']}", lang)
            print(_wrap(message("cli_item_scales", lang, scales=row["scales"], keying=keying), 4))
            codes = {"scale": row["response_scale"], "codes": row["codes"]}
            print(_wrap(message("cli_item_answers", lang, **codes), 4))
            if row.get("missing_codes"):
                print(_wrap(message("cli_item_missing", lang, codes=row["missing_codes"]), 4))
        return 0
    for row in list_instruments().to_dict("records"):
        print(_wrap(f"{row['id']} (v{row['version']}, {row['n_items']} items): {row['title']}"))
        scales = f"scales: {row['scales']}; " if row["scales"] else ""
        print(_wrap(f"{scales}languages: {row['languages']}", 4))
    return 0


def _validation_json(report: ValidationReport, with_row_detail: bool) -> str:
    """The validation report for a file: counts per reason and problem, rows only on request."""
    if with_row_detail:
        return report.model_dump_json(indent=2)
    data = report.model_dump(
        mode="json", exclude={"excluded": True, "problems": {"__all__": {"rows", "values"}}}
    )
    data["exclusions"] = report.exclusions_by_reason()
    data["row_detail"] = "not written; --with-row-detail lists the rows and values"
    return json.dumps(data, indent=2, ensure_ascii=False)


def _cmd_validate(args: argparse.Namespace) -> int:
    if args.json and Path(args.json).is_dir():
        raise CliError(f"--json {args.json}: is a folder; expected a file name")
    v = _load(args)
    if args.json:  # the file first: a closed console pipe does not lose it
        Path(args.json).write_text(
            _validation_json(v.report, args.with_row_detail), encoding="utf-8"
        )
    print(v.report.summary(max_problems=30, row_detail=args.with_row_detail))
    return 0 if v.report.ok else 1


def _write_tables(
    folder: OutputFolder, tables: dict[str, pd.DataFrame], args: argparse.Namespace
) -> list[str]:
    """communities.csv (in --csv-dialect) and, with --xlsx, results.xlsx: one sheet per table."""
    from collective_efficacy.export.tables import write_csv, write_xlsx

    write_csv(tables["communities"], folder.path / "communities.csv", dialect=args.csv_dialect)
    if not args.xlsx:
        return ["communities.csv"]
    write_xlsx(tables, folder.path / "results.xlsx")
    return ["communities.csv", "results.xlsx"]


def _prepare(folder: OutputFolder, files: list[str], lang: str = "en") -> None:
    for name in folder.prepare(files):
        print(message("cli_removed", lang, file=str(folder.path / name)))


def _publishable(
    v: ValidatedResponses, table: pd.DataFrame, community: str, min_n: int
) -> tuple[pd.DataFrame, bool]:
    """The community table as it may be published (secondary suppression, no n of suppressed
    communities) and whether the rows read and used may be (collective_efficacy.disclosure)."""
    from collective_efficacy.disclosure import counts_publishable, publishable_table

    wave = v.wave or "_wave"
    one = table if v.wave else table.assign(**{wave: ""})
    out = publishable_table(one, community=community, wave=wave, min_n=min_n)
    used = v.data[[community]].assign(**{wave: v.data[v.wave] if v.wave else ""})
    rows = used.groupby([community, wave], sort=False).size().rename("rows").reset_index()
    safe = counts_publishable(out, rows, community=community, wave=wave, min_n=min_n)
    return (out if v.wave else out.drop(columns=[wave])), all(safe.values())


def _cmd_score(args: argparse.Namespace) -> int:
    folder = OutputFolder(args.out, force=args.force) if args.out else None
    if folder is not None:
        folder.check()
    v = _load(args)
    scores = score(v)
    if v.community is None:
        print(v.report.summary(max_problems=10, row_detail=args.with_row_detail))
        print(scores.describe().T.to_string())
        if folder is not None:
            print(f"note: no --community, so no community table; nothing written to {args.out}")
        return 0
    table = aggregate(
        scores.drop(columns=[c for c in (v.respondent,) if c]),
        community=v.community,
        wave=v.wave,
        min_n=args.min_n,
    )
    table, safe = _publishable(v, table, v.community, args.min_n)
    summary = v.report.summary(max_problems=10, row_detail=args.with_row_detail).splitlines()
    if not safe:
        summary[0] = (
            f"{v.report.source + ': ' if v.report.source else ''}{v.report.n_rows_excluded} rows "
            "excluded (rows read and used not published: they would give away the size of a "
            "suppressed community)"
        )
    if folder is not None:  # the files first: a closed console pipe does not lose them
        files = ["communities.csv", "validation.json"] + (["results.xlsx"] if args.xlsx else [])
        _prepare(folder, files)
        _write_tables(folder, {"communities": table}, args)
        text = _validation_json(v.report, args.with_row_detail)
        if not safe:  # withheld as on the console
            data = json.loads(text)
            data.update(n_rows_in=None, n_rows_usable=None)
            text = json.dumps(data, indent=2, ensure_ascii=False)
        (folder.path / "validation.json").write_text(text, encoding="utf-8")
        folder.finish(files, "score")
    print("\n".join(summary))
    shown = (
        table[table["scale"] == "collective_efficacy"]
        if "collective_efficacy" in set(table["scale"])
        else table
    )
    print()
    print(f"Community scores (communities with fewer than {args.min_n} respondents suppressed):")
    with pd.option_context("display.width", 200, "display.max_rows", 60):
        print(shown.drop(columns=["reason"]).round(3).to_string(index=False))
    if folder is not None:
        print(f"\nwrote {', '.join(str(folder.path / f) for f in files)}")
    return 0


def _example_assessments() -> pd.DataFrame:
    """The bundled fictional programme ratings, with the evaluation's wave labels."""
    from collective_efficacy.datasets import load_example_assessments

    a = load_example_assessments()
    waves = {"nulmeting": "baseline", "eindmeting": "end_of_cycle"}
    return a.assign(wave=a["meting"].map(waves)).drop(columns=["meting"])


def _has_tqdm() -> bool:
    import importlib.util

    return importlib.util.find_spec("tqdm") is not None


def _run_evaluation(args: argparse.Namespace) -> Evaluation:
    """Check every input before computing, then evaluate."""
    from collective_efficacy.evaluation import evaluate

    progress = not args.quiet and sys.stderr.isatty() and _has_tqdm()
    if args.example:
        from collective_efficacy.datasets import load_example_geometry

        before, after = cast("tuple[pd.DataFrame, pd.DataFrame]", datasets.load_example(split=True))
        return evaluate(
            before,
            after,
            instrument="sampson1997",
            community="buurt",
            respondent="respondent_id",
            columns=datasets.EXAMPLE_COLUMNS,
            assessments=_example_assessments(),
            geometry=load_example_geometry(),
            comparison=_comparison_arg(args.comparison),
            min_n=args.min_n,
            progress=progress,
        )
    if not (args.baseline and args.end):
        raise keyed_error("cli_two_files")
    check_input_file(args.baseline, "BASELINE")
    check_input_file(args.end, "END")
    if not args.skip_impact:  # a skipped input is not read, so not checked
        check_input_file(args.assessments, "--assessments")
    if not (args.skip_map or args.skip_impact):
        check_input_file(args.geometry, "--geometry")
    per_wave = per_wave_args(args)  # community and column map of each file
    before, after = read_at_level(args, per_wave["community"])  # --level wijk: recoded
    return evaluate(
        before,
        after,
        instrument=args.instrument,
        respondent=args.respondent,
        **per_wave,
        assessments=args.assessments,  # read by evaluate: its messages name the file
        wave=args.wave,
        before=args.before,
        after=args.after,
        geometry=args.geometry,
        geometry_key=args.geometry_key,
        date=args.date,
        comparison=_comparison_arg(args.comparison),
        min_n=args.min_n,
        skip_impact=args.skip_impact,
        skip_map=args.skip_map,
        progress=progress,
    )


def _comparison_arg(text: str | None) -> str | Path | None:
    """--comparison: an existing file is a table of communities, other text a column name."""
    if text is None:
        return None
    if Path(text).is_file():
        check_input_file(text, "--comparison")
        return Path(text)
    if Path(text).suffix.lower() in {".csv", ".txt", ".tsv", ".xlsx", ".xls", ".parquet"}:
        raise CliError(
            f"--comparison: file {text!r} not found (give a file with the community column and "
            "one 0/1 column, or the name of a column of the survey files)"
        )
    return text


def _cmd_evaluate(args: argparse.Namespace) -> int:
    folder = OutputFolder(args.out, force=args.force)
    folder.check()
    ev = _run_evaluation(args)
    maps = ev.geometry is not None and "impact" in ev.tables
    files = ["report.html", "report.md", "results.json", "communities.csv"]
    files += ["results.xlsx"] if args.xlsx else []
    files += [f"map_{w}.geojson" for w in ("baseline", "end_of_cycle")] if maps else []
    _prepare(folder, files, args.lang)
    out = folder.path
    ev.to_html(out / "report.html", lang=args.lang)
    ev.to_markdown(out / "report.md", lang=args.lang)
    ev.to_json(out / "results.json")
    tables = {"communities": ev.tables["community_scores"]}
    tables.update({k: t for k, t in ev.tables.items() if k != "community_scores"})
    _write_tables(folder, tables, args)
    if maps and ev.geometry is not None:
        from collective_efficacy.export import to_geojson

        levels = ev.tables["impact"]
        for wave in ("baseline", "end_of_cycle"):
            to_geojson(
                levels[levels["wave"] == wave],
                ev.geometry,
                community=ev.community,
                geometry_key=ev.geometry_key,
                path=out / f"map_{wave}.geojson",
                lang=args.lang,
            )
    folder.finish(files, "evaluate")
    for w in ev.waves:
        if w.n_rows_usable is None:  # withheld: it would give away a suppressed community's n
            print(
                message("cli_wave_withheld", args.lang, wave=w.wave, n_excluded=w.n_rows_excluded)
            )
        else:
            counts = {"n_in": w.n_rows_in, "n_used": w.n_rows_usable}
            print(
                message("cli_wave", args.lang, wave=w.wave, n_excluded=w.n_rows_excluded, **counts)
            )
    print(message("cli_wrote", args.lang, files=f"{out / 'report.html'}, " + ", ".join(files[1:])))
    return 0


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


def _input_args(sp: argparse.ArgumentParser) -> None:
    """Options that say how to read survey files (every command that reads one)."""
    sp.add_argument("--example", action="store_true", help="use the bundled example data")
    sp.add_argument(
        "--instrument", metavar="ID", default="sampson1997", help="instrument id or YAML file"
    )
    sp.add_argument(
        "--community", metavar="COL", default=None, help="column naming each respondent's community"
    )
    sp.add_argument(
        "--respondent", metavar="COL", default=None, help="respondent id column (checks duplicates)"
    )
    sp.add_argument(
        "--columns",
        metavar="JSON",
        default=None,
        help='JSON file or inline JSON mapping your columns to item ids: {"hecht": "SC1"}',
    )
    sp.add_argument(
        "--sep",
        default=None,
        help="separator of CSV files: ',', ';', '|' or 'tab' (default: found in the header "
        "line among these)",
    )
    sp.add_argument(
        "--encoding",
        default=None,
        help="text encoding of CSV files, e.g. utf-8, cp1252, utf-16 (default: UTF-8 or "
        "UTF-16 by byte-order mark, else UTF-8, else cp1252 with a note)",
    )


def _data_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("file", nargs="?", help="survey file: CSV, XLSX, SAV, DTA or Parquet")
    _input_args(sp)
    sp.add_argument(
        "--wave", metavar="COL", default=None, help="column naming the wave of each row"
    )
    sp.add_argument(
        "--items",
        metavar="IDS",
        default=None,
        help="comma-separated item ids to check (default: all)",
    )
    sp.add_argument(
        "--strict", action="store_true", help="stop at any problem instead of excluding rows"
    )
    sp.add_argument(
        "--with-row-detail",
        action="store_true",
        help="list excluded rows and offending values in the JSON report (personal data)",
    )


def _output_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument(
        "--min-n",
        metavar="N",
        type=_positive_int,
        default=MIN_N,
        help="suppress communities below this n",
    )
    sp.add_argument(
        "--csv-dialect",
        choices=["en", "nl"],
        default="en",
        help="communities.csv for English (, and .) or Dutch Excel (; and decimal comma)",
    )
    sp.add_argument(
        "--xlsx", action="store_true", help="also write results.xlsx, one sheet per table"
    )
    sp.add_argument(
        "--force",
        action="store_true",
        help="replace or remove files of the output names not written by this program",
    )


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
    _output_args(ps)
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
    _input_args(pe)
    pe.add_argument(
        "--assessments",
        metavar="FILE",
        default=None,
        help="programme ratings per community and wave",
    )
    pe.add_argument(
        "--geometry", metavar="FILE", default=None, help="GeoJSON of the communities (for maps)"
    )
    pe.add_argument(
        "--geometry-key",
        metavar="NAME",
        default=None,
        help="feature property with the community name",
    )
    pe.add_argument(
        "--comparison",
        metavar="FILE_OR_COLUMN",
        default=None,
        help="comparison communities (no programme): a column of the survey files, or a file "
        "with the community column and one column, 1/true for a comparison community and "
        "0/false for a programme community; the report then leads with the programme effect",
    )
    pe.add_argument(
        "--date", metavar="COL", default=None, help="column with the date of each answer"
    )
    add_wave_options(pe)
    add_level_option(pe)
    pe.add_argument("--quiet", action="store_true", help="no progress bar")
    pe.add_argument("--lang", choices=["en", "nl"], default="en", help="language of the report")
    _output_args(pe)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

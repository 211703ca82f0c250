"""The commands of the command line (instruments, validate, score, evaluate): read, compute, write."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from collective_efficacy import datasets, evaluation
from collective_efficacy._messages import message
from collective_efficacy.cli._concurrent import write_split
from collective_efficacy.cli._geo import read_at_level
from collective_efficacy.cli._instruments import EXPORT_ACTIONS, run_export
from collective_efficacy.cli._support import (
    CliError,
    OutputFolder,
    check_input_file,
    columns_arg,
    keep_until_exit,
    keyed_error,
)
from collective_efficacy.cli._waves import design_arg, per_wave_args
from collective_efficacy.datasets import load_example_assessments, load_example_geometry
from collective_efficacy.disclosure import counts_publishable, publishable_table
from collective_efficacy.export import to_geojson
from collective_efficacy.export.tables import write_csv, write_xlsx
from collective_efficacy.instrument import list_instruments, load_instrument
from collective_efficacy.responses import ValidatedResponses, validate
from collective_efficacy.responses.io import read_responses
from collective_efficacy.responses.validation_report import ValidationReport
from collective_efficacy.scoring import aggregate, score

if TYPE_CHECKING:
    from collective_efficacy.evaluation import Evaluation

MIN_N = 10  # the library's one privacy threshold (see CONVENTIONS.md: min_n=10 everywhere)
#: Options ``evaluate`` passes on to :func:`collective_efficacy.evaluate` as they are.
PASSED_ON = ("assessments", "wave", "before", "after", "geometry", "geometry_key", "date",
             "min_n", "skip_impact", "skip_map")  # fmt: skip


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
    a = load_example_assessments()
    waves = {"nulmeting": "baseline", "eindmeting": "end_of_cycle"}
    return a.assign(wave=a["meting"].map(waves)).drop(columns=["meting"])


def _has_tqdm() -> bool:
    return importlib.util.find_spec("tqdm") is not None


def _run_evaluation(args: argparse.Namespace) -> Evaluation:
    """Check every input before computing, then evaluate."""
    progress = not args.quiet and sys.stderr.isatty() and _has_tqdm()
    if args.example:
        before, after = cast("tuple[pd.DataFrame, pd.DataFrame]", datasets.load_example(split=True))
        return evaluation.evaluate(
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
    if args.out_of_core:  # Parquet streamed through DuckDB (collective_efficacy.out_of_core)
        return _out_of_core(args, per_wave)
    before, after = read_at_level(args, per_wave["community"])  # --level wijk: recoded
    keep_until_exit(before, after)  # the console script exits without freeing them
    return evaluation.evaluate(
        before,
        after,
        instrument=args.instrument,
        respondent=args.respondent,
        **per_wave,
        # the files (assessments, geometry) are read by evaluate: its messages name them
        **{k: getattr(args, k) for k in PASSED_ON},
        comparison=_comparison_arg(args.comparison),
        progress=progress,
        design=design_arg(args),
    )


def _out_of_core(args: argparse.Namespace, per_wave: dict[str, Any]) -> Evaluation:
    """``evaluate --out-of-core``: refuse the options that need respondent rows."""
    from collective_efficacy.out_of_core import evaluate_parquet

    rows = {"--assessments": args.assessments, "--geometry": args.geometry, "--date": args.date,
            "--comparison": args.comparison, "--level": getattr(args, "level", None),
            "--weight/--strata/--cluster": design_arg(args)}  # fmt: skip
    given = [k for k, v in rows.items() if v is not None]
    if given:
        raise CliError(f"--out-of-core cannot use {', '.join(given)} (they need the respondent "
                       "rows); leave them out, or evaluate without --out-of-core")  # fmt: skip
    return evaluate_parquet(args.baseline, args.end, instrument=args.instrument,
                            respondent=args.respondent, min_n=args.min_n, **per_wave)  # fmt: skip


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


def _write_json(ev: Evaluation, path: Path) -> None:
    """results.json: the bytes of :meth:`Evaluation.to_json`, written as serialised.

    ``to_json`` returns text: pydantic's (Rust) serialiser makes UTF-8 bytes, which become a
    str and are encoded again on writing -- at 1,000,000 rows ~50 MB twice over, a third of
    the file's time. The bytes are the same (``test_results_json_is_to_json``).
    """
    path.write_bytes(ev.__pydantic_serializer__.to_json(ev, indent=2))


def _section_tables(ev: Evaluation, folder: OutputFolder, args: argparse.Namespace) -> None:
    """communities.csv and, with --xlsx, results.xlsx (every section a sheet)."""
    wanted = list(ev.sections) if args.xlsx else ["community_scores"]
    frames = {k: pd.DataFrame(ev.sections[k]) for k in wanted if k in ev.sections}
    tables = {"communities": frames.pop("community_scores"), **frames}
    _write_tables(folder, tables, args)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    folder = OutputFolder(args.out, force=args.force)
    folder.check()
    ev = _run_evaluation(args)
    keep_until_exit(ev)
    maps = ev.geometry is not None and "impact" in ev.sections
    files = ["report.html", "report.md", "results.json", "communities.csv"]
    files += ["results.xlsx"] if args.xlsx else []
    files += [f"map_{w}.geojson" for w in ("baseline", "end_of_cycle")] if maps else []
    _prepare(folder, files, args.lang)
    out = folder.path
    write_split(  # two processes for the console script (cli._concurrent), the same bytes
        here=[
            lambda: ev.to_html(out / "report.html", lang=args.lang),
            lambda: ev.to_markdown(out / "report.md", lang=args.lang),
        ],
        there=[
            lambda: _write_json(ev, out / "results.json"),
            lambda: _section_tables(ev, folder, args),
        ],
    )
    if maps and ev.geometry is not None:
        levels = pd.DataFrame(ev.sections["impact"])
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

"""Command-line interface: a thin shell over the public functions.

collective-efficacy instruments [list | show ID]
collective-efficacy validate FILE --instrument ID [--community COL] [--respondent COL] ...
collective-efficacy score (FILE | --example) [--instrument ID] [--community COL] [--out DIR]
collective-efficacy evaluate (BASELINE END | --example) --community COL [--geometry FILE] --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from . import datasets
from .errors import CollectiveEfficacyError
from .instrument import list_instruments, load_instrument
from .io import read_responses
from .responses import ValidatedResponses, validate
from .scoring import aggregate, score

__all__ = ["main"]


def _columns_arg(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    path = Path(text)
    raw = path.read_text(encoding="utf-8") if path.exists() else text
    mapping = json.loads(raw)
    if not isinstance(mapping, dict):
        raise CollectiveEfficacyError('--columns must be a JSON object {"your_column": "ITEM"}')
    return {str(k): str(v) for k, v in mapping.items()}


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
            raise CollectiveEfficacyError("give a FILE or --example")
        data = read_responses(args.file, sep=args.sep, encoding=args.encoding)
        source = Path(args.file).name
        columns = _columns_arg(args.columns)
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


def _cmd_instruments(args: argparse.Namespace) -> int:
    if args.action == "show":
        if not args.id:
            raise CollectiveEfficacyError("instruments show needs an instrument id")
        inst = load_instrument(args.id)
        print(f"{inst.id} v{inst.version}: {inst.title_in(args.lang)}")
        print(inst.source)
        with pd.option_context("display.max_colwidth", 80, "display.width", 200):
            print(inst.codebook(args.lang).to_string(index=False))
        return 0
    with pd.option_context("display.width", 200):
        print(list_instruments().to_string(index=False))
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    v = _load(args)
    print(v.report.summary(max_problems=30))
    if args.json:
        Path(args.json).write_text(v.report.model_dump_json(indent=2), encoding="utf-8")
    return 0 if v.report.ok else 1


def _cmd_score(args: argparse.Namespace) -> int:
    v = _load(args)
    print(v.report.summary(max_problems=10))
    scores = score(v)
    if v.community is None:
        print(scores.describe().T.to_string())
        return 0
    table = aggregate(
        scores.drop(columns=[c for c in (v.respondent,) if c]),
        community=v.community,
        wave=v.wave,
        min_n=args.min_n,
    )
    shown = (
        table[table["scale"] == "collective_efficacy"]
        if "collective_efficacy" in set(table["scale"])
        else table
    )
    print()
    print(f"Community scores (communities with fewer than {args.min_n} respondents suppressed):")
    with pd.option_context("display.width", 200, "display.max_rows", 60):
        print(shown.drop(columns=["reason"]).round(3).to_string(index=False))
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        table.to_csv(out / "communities.csv", index=False)
        (out / "validation.json").write_text(v.report.model_dump_json(indent=2), encoding="utf-8")
        print(f"\nwrote {out / 'communities.csv'} and {out / 'validation.json'}")
    return 0


def _example_assessments() -> pd.DataFrame:
    """The bundled fictional programme ratings, with the evaluation's wave labels."""
    from .impact import load_example_assessments

    a = load_example_assessments()
    waves = {"nulmeting": "baseline", "eindmeting": "end_of_cycle"}
    return a.assign(wave=a["meting"].map(waves)).drop(columns=["meting"])


def _has_tqdm() -> bool:
    import importlib.util

    return importlib.util.find_spec("tqdm") is not None


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    progress = not args.quiet and sys.stderr.isatty() and _has_tqdm()
    if args.example:
        from .impact import load_example_geometry

        before, after = cast("tuple[pd.DataFrame, pd.DataFrame]", datasets.load_example(split=True))
        ev = evaluate(
            before,
            after,
            instrument="sampson1997",
            community="buurt",
            respondent="respondent_id",
            columns=datasets.EXAMPLE_COLUMNS,
            assessments=_example_assessments(),
            geometry=load_example_geometry(),
            min_n=args.min_n,
            progress=progress,
        )
    else:
        if not (args.baseline and args.end):
            raise CollectiveEfficacyError("give BASELINE and END files, or --example")
        ev = evaluate(
            read_responses(args.baseline, sep=args.sep, encoding=args.encoding),
            read_responses(args.end, sep=args.sep, encoding=args.encoding),
            instrument=args.instrument,
            community=args.community,
            respondent=args.respondent,
            columns=_columns_arg(args.columns),
            assessments=(
                read_responses(args.assessments, id_columns=[args.community])
                if args.assessments
                else None
            ),
            geometry=args.geometry,
            geometry_key=args.geometry_key,
            date=args.date,
            min_n=args.min_n,
            progress=progress,
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ev.to_html(out / "report.html", lang=args.lang)
    ev.to_markdown(out / "report.md", lang=args.lang)
    ev.to_json(out / "results.json")
    ev.tables["community_scores"].to_csv(out / "communities.csv", index=False)
    written = ["report.md", "results.json", "communities.csv"]
    if ev.geometry is not None and "impact" in ev.tables:
        from .export import to_geojson

        levels = ev.tables["impact"]
        for wave in ("baseline", "end_of_cycle"):
            to_geojson(
                levels[levels["wave"] == wave],
                ev.geometry,
                key=ev.community,
                geometry_key=ev.geometry_key,
                path=out / f"map_{wave}.geojson",
                lang=args.lang,
            )
            written.append(f"map_{wave}.geojson")
    for w in ev.waves:
        print(
            f"{w.wave}: {w.n_rows_in} rows in, {w.n_rows_usable} used, {w.n_rows_excluded} excluded"
        )
    print(f"wrote {out / 'report.html'}, " + ", ".join(written))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="collective-efficacy",
        description="Measure the collective efficacy of neighbourhoods.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    pi = sub.add_parser("instruments", help="list the built-in instruments or show one")
    pi.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    pi.add_argument("id", nargs="?")
    pi.add_argument("--lang", default=None)
    pi.set_defaults(func=_cmd_instruments)

    def reading_args(sp: argparse.ArgumentParser) -> None:
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

    def data_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file", nargs="?", help="CSV, XLSX, SAV, DTA or Parquet file")
        sp.add_argument("--example", action="store_true", help="use the bundled example data")
        sp.add_argument("--instrument", default="sampson1997")
        sp.add_argument("--community", default=None, help="community column")
        sp.add_argument("--respondent", default=None, help="respondent id column")
        sp.add_argument("--wave", default=None, help="wave column")
        sp.add_argument(
            "--columns", default=None, help="JSON object (or file) mapping your columns to item ids"
        )
        sp.add_argument(
            "--items",
            default=None,
            help="comma-separated item ids to check (default: all of the instrument)",
        )
        reading_args(sp)
        sp.add_argument(
            "--strict",
            action="store_true",
            help="stop at any problem instead of excluding and reporting",
        )

    pv = sub.add_parser("validate", help="check a survey file against an instrument")
    data_args(pv)
    pv.add_argument("--json", default=None, help="write the validation report as JSON")
    pv.set_defaults(func=_cmd_validate)

    ps = sub.add_parser("score", help="score respondents and aggregate to communities")
    data_args(ps)
    ps.add_argument("--min-n", type=int, default=5, help="suppress communities below this n")
    ps.add_argument("--out", default=None, help="folder for communities.csv and validation.json")
    ps.set_defaults(func=_cmd_score)
    pe = sub.add_parser("evaluate", help="baseline versus end-of-cycle report")
    pe.add_argument("baseline", nargs="?")
    pe.add_argument("end", nargs="?")
    pe.add_argument("--example", action="store_true", help="use the bundled example data")
    pe.add_argument("--instrument", default="sampson1997")
    pe.add_argument("--community", default="community")
    pe.add_argument("--respondent", default=None)
    pe.add_argument("--columns", default=None)
    reading_args(pe)
    pe.add_argument("--assessments", default=None, help="programme ratings per community and wave")
    pe.add_argument(
        "--geometry", default=None, help="GeoJSON of the communities: maps in the report"
    )
    pe.add_argument("--geometry-key", default=None, help="feature property with the community name")
    pe.add_argument("--date", default=None, help="column with the date of each answer")
    pe.add_argument("--min-n", type=int, default=10)
    pe.add_argument("--quiet", action="store_true", help="no progress bar")
    pe.add_argument("--lang", choices=["en", "nl"], default="en")
    pe.add_argument("--out", default="out")
    pe.set_defaults(func=_cmd_evaluate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``collective-efficacy`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CollectiveEfficacyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``geo`` command and the ``--level`` option of ``evaluate`` (private).

collective-efficacy geo codes FILE --community COL
collective-efficacy geo rollup FILE --community COL [--to wijk|gemeente] [--min-n N] -o OUT.csv
collective-efficacy geo geojson MAP (.gpkg/.shp/.geojson) [--layer L] [--geometry-key P] -o OUT
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pandas as pd

from collective_efficacy.cli._support import CliError, check_input_file
from collective_efficacy.errors import DataError
from collective_efficacy.geography import parse_codes, read_geometry, rollup
from collective_efficacy.responses.io import read_responses

__all__ = ["add_geo_command", "add_level_option", "at_level", "read_at_level"]


def add_level_option(pe: argparse.ArgumentParser) -> None:
    """``evaluate --level wijk|gemeente``: evaluate buurt-coded surveys at a coarser level."""
    pe.add_argument(
        "--level",
        choices=["buurt", "wijk", "gemeente"],
        default=None,
        help="evaluate and map at this CBS level: the community column holds CBS codes "
        "(BU03630001) and is recoded to its wijk (WK036300) or gemeente (GM0363); give "
        "--geometry the matching layer (e.g. a GeoPackage's wijken) and --geometry-key",
    )


def at_level(frame: pd.DataFrame, community: str, level: str | None) -> pd.DataFrame:
    """A copy of ``frame`` whose community column holds the codes of ``level``.

    Rows without a community code keep it missing (validate excludes them, with the reason).
    """
    if level is None or level == "buurt" or community not in frame.columns:
        return frame
    col = frame[community]
    has = col.notna().to_numpy() & (col.astype(str).str.strip() != "").to_numpy()
    try:
        codes = parse_codes(col[has].astype(str), argument="--community")
    except DataError as exc:
        raise CliError(f"--level {level}: {exc}") from None
    out = frame.copy()
    recoded = pd.Series(None, index=out.index, dtype=object)
    recoded[has] = codes[level].to_numpy(dtype=object)
    if codes[level].isna().any():
        raise CliError(
            f"--level {level}: column {community!r} holds codes coarser than {level} "
            f"(e.g. {codes.loc[codes[level].isna(), 'code'].iloc[0]!r})"
        )
    out[community] = recoded
    out.attrs = dict(frame.attrs)
    return out


def read_at_level(
    args: argparse.Namespace, community: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read BASELINE and END for ``evaluate``; with ``--level``, their communities recoded."""
    files = {"baseline": args.baseline, "end_of_cycle": args.end}
    before, after = (
        at_level(
            read_responses(f, sep=args.sep, encoding=args.encoding),
            community[w],
            getattr(args, "level", None),
        )
        for w, f in files.items()
    )
    return before, after


def add_geo_command(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    """Register ``collective-efficacy geo``."""
    pg = sub.add_parser(
        "geo",
        help="CBS geography: check codes, roll scores up, convert a map to WGS84 GeoJSON",
        formatter_class=formatter,
    )
    pg.add_argument("action", choices=["codes", "rollup", "geojson"], help="what to do")
    pg.add_argument("file", help="a survey or scores file (codes, rollup) or a map (geojson)")
    pg.add_argument("--community", metavar="COL", help="column (or map property) of CBS codes")
    pg.add_argument("--to", choices=["wijk", "gemeente"], default="wijk", help="rollup level")
    pg.add_argument("--min-n", type=int, default=10, help="privacy threshold at every level")
    pg.add_argument("--layer", default=None, help="layer of a GeoPackage (e.g. buurten)")
    pg.add_argument("-o", "--output", metavar="FILE", help="the file to write")
    pg.set_defaults(func=_cmd_geo)


def _cmd_geo(args: argparse.Namespace) -> int:
    check_input_file(args.file, "FILE")
    if args.action == "geojson":
        if not args.output:
            raise CliError("geo geojson needs -o/--output FILE.geojson")
        fc = read_geometry(args.file, layer=args.layer, community=args.community)
        Path(args.output).write_text(json.dumps(fc, ensure_ascii=False), encoding="utf-8")
        print(f"wrote {args.output}: {len(fc['features'])} features in WGS84")
        return 0
    if not args.community:
        raise CliError(f"geo {args.action} needs --community COL (the column of CBS codes)")
    data = read_responses(args.file, id_columns=[args.community])
    if args.community not in data.columns:
        raise CliError(f"--community {args.community}: no such column in {args.file}")
    if args.action == "codes":
        codes = parse_codes(data[args.community], argument=f"--community {args.community}")
        counts = codes["level"].value_counts()
        print(f"{len(codes)} valid CBS codes: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
        if args.output:
            codes.to_csv(args.output, index=False)
        return 0
    if args.min_n < 1:
        raise CliError(f"--min-n must be a positive whole number; got {args.min_n}")
    if not args.output:
        raise CliError("geo rollup needs -o/--output FILE.csv")
    # a scores file: columns of numbers (1.0 and blanks included) are scores
    for c in data.columns:
        if c != args.community and not pd.api.types.is_numeric_dtype(data[c]):
            num = pd.to_numeric(data[c].replace("", None), errors="coerce")
            if num.notna().sum() == data[c].replace("", None).notna().sum() and num.notna().any():
                data[c] = num
    table = rollup(data, community=args.community, to=args.to, min_n=args.min_n)
    table.to_csv(args.output, index=False)
    shown = int((~table["suppressed"]).sum())
    print(f"wrote {args.output}: {len(table)} rows, {shown} shown, min_n={args.min_n}")
    return 0

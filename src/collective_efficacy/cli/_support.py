"""The command line's boundary: options in, files out, errors as one line a user can act on.

Kept apart from :mod:`collective_efficacy.cli` (the commands and their options) so that each
stays small. Nothing here computes a statistic.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from collective_efficacy._messages import Message
from collective_efficacy.errors import CollectiveEfficacyError, ResponseValidationError

__all__ = [
    "OPTION_OF",
    "CliError",
    "OutputFolder",
    "check_input_file",
    "cli_message",
    "columns_arg",
    "internal_error",
    "keep_until_exit",
    "os_error_message",
    "pipe_safe_stdout",
]

#: Set by the console script (:func:`collective_efficacy.cli.console_main`) only: its process
#: ends with ``os._exit``, which frees nothing
FAST_EXIT = False
_UNTIL_EXIT: list[Any] = []


def keep_until_exit(*objects: Any) -> None:
    """Under the console script, hold ``objects`` until the process's fast exit.

    Freeing an evaluation of a million respondents and the frames read for it, object by
    object, takes some 50 ms of a process that ends anyway. Called by :func:`main` from a
    program (no fast exit), this keeps nothing: the objects are freed as usual.
    """
    if FAST_EXIT:
        _UNTIL_EXIT.extend(objects)


#: Python argument -> the command-line option that sets it. Errors that carry an ``argument``
#: (and Python advice such as ``errors='exclude'`` in messages) are shown with the option.
OPTION_OF: dict[str, str] = {
    "community": "--community",
    "respondent": "--respondent",
    "wave": "--wave",
    "columns": "--columns",
    "items": "--items",
    "instrument": "--instrument",
    "min_n": "--min-n",
    "assessments": "--assessments",
    "comparison": "--comparison",
    "geometry": "--geometry",
    "geometry_key": "--geometry-key",
    "date": "--date",
    "lang": "--lang",
    "errors": "--strict",
    "sep": "--sep",
    "encoding": "--encoding",
}


class CliError(CollectiveEfficacyError):
    """A command-line mistake (an option, a file or the output folder); the message says which."""


# ---------------------------------------------------------------------------------- inputs


def keyed_error(code: str, **params: str) -> CliError:
    """A command-line error from the catalogue: English text, shown in the command's --lang."""
    keyed = Message(code=code, params=params)
    return CliError(keyed.render(), keyed=keyed)


def check_input_file(path: str | None, what: str) -> None:
    """Stop before any computation when an input file is absent or is a folder."""
    if path is None:
        return
    p = Path(path)
    if p.is_dir():
        raise keyed_error("cli_is_folder", what=what, path=path)
    if not p.exists():
        raise keyed_error("cli_no_such_file", what=what, path=path)


def columns_arg(text: str | None, option: str = "--columns") -> dict[str, str] | None:
    """A column map given as a JSON file or inline JSON, with a message that says which failed."""
    if not text:
        return None
    inline = text.lstrip().startswith("{")
    path = Path(text)
    if not inline and path.is_dir():
        raise CliError(f"{option} {text}: is a folder; expected a JSON file or inline JSON")
    if not inline and path.is_file():
        where = f"{option} {text}"
        try:
            raw = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CliError(f"{where}: cannot be read as UTF-8 text ({exc})") from None
    elif inline:
        where, raw = f"{option} (inline JSON)", text
    else:
        raise CliError(
            f"{option} {text}: no such file, and not inline JSON either; expected a JSON file "
            f'or an object such as \'{{"your_column": "ITEM"}}\''
        )
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f'expected an object such as {{"your_column": "ITEM"}}'
        ) from None
    except RecursionError:  # json gives up on nesting deeper than Python's stack
        raise CliError(
            f"{where}: JSON nested too deeply to be read; expected a flat object such as "
            '{"your_column": "ITEM"}'
        ) from None
    if not isinstance(mapping, dict):
        raise CliError(
            f'{where}: expected a JSON object {{"your_column": "ITEM"}}; '
            f"got a {type(mapping).__name__}"
        )
    return {str(k): str(v) for k, v in mapping.items()}


# --------------------------------------------------------------------------------- outputs

#: Every file name the commands write (patterns); only these are ever replaced or removed.
OWN_OUTPUTS = (
    "report.html",
    "report.md",
    "results.json",
    "results.xlsx",
    "communities.csv",
    "validation.json",
    "map_*.geojson",
)
MANIFEST = ".collective-efficacy.json"


def _own(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pat) for pat in OWN_OUTPUTS)


class OutputFolder:
    """The ``--out`` folder, checked before any computation and left with one run's outputs.

    ``check`` stops early when the folder is a file, lies below a file or cannot be created or
    written. A folder reused from an earlier run of this program (it holds the manifest
    ``.collective-efficacy.json``) gets a clean set of outputs: files of the program's own
    names that this run does not write (an old ``map_baseline.geojson``) are removed, with a
    notice. Files of those names *not* written by this program are never replaced unless
    ``--force`` is given; other files are never touched.
    """

    def __init__(self, path: str | Path, *, force: bool = False) -> None:
        self.path = Path(path)
        self.force = force

    def check(self) -> None:
        p, opt = self.path, f"--out {self.path}"
        if p.exists() and not p.is_dir():
            raise CliError(f"{opt}: is a file; expected a folder (it is created if absent)")
        existing = p
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        if existing.exists() and not existing.is_dir():
            raise CliError(f"{opt}: {existing} is a file, so no folder can be made below it")
        try:  # a real write, because permission bits do not tell the whole truth (root, ACLs)
            fd, probe = tempfile.mkstemp(prefix=".ce-write-test-", dir=existing)
            os.close(fd)
            os.remove(probe)
        except OSError as exc:
            raise CliError(f"{opt}: cannot write in {existing} ({exc.strerror})") from None
        if p.is_dir():
            self._check_foreign()

    def _previous(self) -> set[str]:
        try:
            files = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))["files"]
            return {str(f) for f in files}
        except (OSError, ValueError, KeyError, TypeError):
            return set()

    def _check_foreign(self) -> None:
        ours = self._previous()
        foreign = sorted(f.name for f in self.path.iterdir() if _own(f.name) and f.name not in ours)
        if foreign and not self.force:
            raise CliError(
                f"--out {self.path}: already holds {', '.join(foreign)}, not written by an "
                "earlier run of collective-efficacy; choose another folder, or pass --force "
                "to replace them"
            )

    def prepare(self, will_write: Iterable[str]) -> list[str]:
        """Create the folder; remove the program's own files this run will not write again."""
        self.path.mkdir(parents=True, exist_ok=True)
        keep = set(will_write)
        removed = []
        for f in sorted(self.path.iterdir()):
            if f.is_file() and _own(f.name) and f.name not in keep:
                f.unlink()
                removed.append(f.name)
        return removed

    def finish(self, written: Iterable[str], command: str) -> None:
        """Record what this run wrote, so that the next run may replace exactly these files."""
        from collective_efficacy import __version__

        manifest = {
            "program": "collective-efficacy",
            "library_version": __version__,
            "command": command,
            "files": sorted(set(written)),
        }
        (self.path / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


# ---------------------------------------------------------------------------------- errors

_PY_ADVICE: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"Pass columns=\{'your_column': item_id\}"),
        'Map it with --columns \'{"your_column": "ITEM"}\'',
    ),
    (re.compile(r"\(see the error's \.report\)"), "(run `validate` to see them all)"),
]


#: "(encoding= in Python, --encoding on the command line)" -> "(--encoding)"
_BOTH_SPELLINGS = re.compile(
    r"\b\w+= in Python, (--[\w-]+) (?:on the command line|op de opdrachtregel)"
)


def _translate(text: str, strict: bool) -> str:
    """Python advice in a library message -> the command-line option that does the same."""
    advice = "Pass errors='exclude' to "
    lines = []
    for line in text.splitlines():
        if line.startswith(advice):
            if strict:
                lines.append("Run without --strict to " + line[len(advice) :])
            continue  # without --strict the command already excludes; the advice cannot help
        lines.append(line)
    text = "\n".join(lines)
    for pattern, repl in _PY_ADVICE:
        text = pattern.sub(repl, text)
    # advice that names both spellings keeps the command-line one only
    text = _BOTH_SPELLINGS.sub(r"\1", text)
    for arg, opt in OPTION_OF.items():
        text = re.sub(rf"(?<![\w-]){arg}=", f"{opt} ", text)  # min_n=5 -> --min-n 5
        if "_" in arg:  # a Python-only spelling (min_n) is never an ordinary word
            text = re.sub(rf"(?<![\w-]){arg}\b", opt, text)
    text = re.sub(r"The '(\w+)' parameter( of \w+)?", lambda m: _option_text(m[1]), text)
    return text


def _option_text(arg: str) -> str:
    return OPTION_OF.get(arg, f"'{arg}'")


def cli_message(
    exc: CollectiveEfficacyError, id_columns: Mapping[str, str | None], *, strict: bool = False
) -> str:
    """The message of a library error as the command line shows it (options, not kwargs).

    ``id_columns`` maps an option (``--community``) to the column the user gave with it; an
    absent column of that name is reported under the option's name.
    """
    text = _translate(str(exc), strict=strict)
    argument = getattr(exc, "argument", None)
    if argument in OPTION_OF and not text.startswith(OPTION_OF[argument]):
        text = f"{OPTION_OF[argument]}: {text}"
    report = getattr(exc, "report", None) if isinstance(exc, ResponseValidationError) else None
    problems = list(getattr(report, "problems", []))
    source = getattr(report, "source", "") or "the file"
    heads = []
    for p in problems:
        for opt, col in id_columns.items():
            if p.code == "absent_column" and col is not None and p.column == col:
                heads.append(f"{opt} {col}: no such column in {source}; {p.hint}")
                text = "\n".join(
                    line for line in text.splitlines() if f"column {col!r}: absent" not in line
                )
    if heads and len(heads) == len(problems):
        return "\n".join(heads)
    return "\n".join([*heads, text])


def internal_error(exc: BaseException) -> str:
    """Log the traceback of an unexpected error to a file; return the one line to show."""
    from collective_efficacy import __version__

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    first = (str(exc).splitlines() or [""])[0][:200]
    head = f"error: internal error ({type(exc).__name__}: {first}); please report it to the "
    try:
        fd, name = tempfile.mkstemp(prefix=f"collective-efficacy-{stamp}-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as log:
            log.write(f"collective-efficacy {__version__}\n")
            log.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    except OSError:  # no writable temporary folder: still one line, never a traceback
        return head + "collective-efficacy developers (the details could not be logged)"
    return head + f"collective-efficacy developers with the log file {name}"


def os_error_message(exc: OSError) -> str:
    """A failed read or write, naming the file and the reason (no traceback)."""
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    return f"{name}: {reason}" if name else reason


class _PipeSafe:
    """stdout that, once its reader has gone (``... | head``), sends the rest to devnull.

    The command carries on and writes its files; without this a closed pipe aborted it (the
    recipe of the Python docs, *signal: note on SIGPIPE*).
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def pipe_safe_stdout() -> Iterator[None]:
    """Within the block, a closed stdout pipe is no error: output goes to devnull instead."""
    try:
        sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured (tests): no pipe to lose
        yield
        return
    real = sys.stdout
    sys.stdout = guarded = _PipeSafe(real)
    try:
        yield
        guarded.flush()  # the last buffered lines, inside the guard
    finally:
        sys.stdout = real

"""Reading survey files: CSV, Excel, SPSS, Stata and Parquet, without silent guesses.

Readers for the optional formats need extras; a missing extra raises
:class:`~collective_efficacy.errors.MissingExtraError` naming the ``pip install`` that fixes it.
Every other failure (a missing, empty, corrupt or truncated file, a folder, a format that does not
match the extension, a row with more fields than the header) raises
:class:`~collective_efficacy.errors.ReadError` naming the file and what to do.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from collective_efficacy._messages import Note
from collective_efficacy._params import COLUMNS, PATH, TEXT, Constraint, public
from collective_efficacy.errors import CollectiveEfficacyError, ReadError, require_extra
from collective_efficacy.responses._csv_arrow import read_plain_csv
from collective_efficacy.responses._ids import ids_as_text, number_text, numbers_if_lossless
from collective_efficacy.responses._odk import recognise_export

__all__ = ["SEPARATORS", "ResponseFile", "read_response_file", "read_responses"]

#: The separators a CSV file's header line is searched for (nothing else is guessed).
SEPARATORS = (",", ";", "\t", "|")
_SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SEP_ALIASES = {"\\t": "\t", "tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_EXCEL = {".xlsx", ".xlsm"}
_READSTAT = {".sav": "read_sav", ".zsav": "read_sav", ".por": "read_por", ".dta": "read_dta"}
_KIND = {".sav": "an SPSS .sav", ".zsav": "an SPSS .zsav", ".por": "an SPSS portable .por"}
_KIND |= {".dta": "a Stata .dta", ".parquet": "a Parquet", ".xlsx": "an Excel .xlsx"}
_KIND |= {".xlsm": "an Excel .xlsm"}
log = logging.getLogger(__name__)


class ResponseFile(BaseModel):
    """A survey file as :func:`read_response_file` read it: the table and the reading notes.

    Pass it to :func:`~collective_efficacy.validate` as ``data``: the file name, the value
    labels and the notes travel with it (into the validation report and its row numbers).

    Attributes
    ----------
    data : DataFrame
        The responses, columns as in the file (ids as text); ``data.attrs`` is empty.
    source : str
        The file name (without its folder: it is published in reports).
    notes : list of str
        What the reader decided and the user should know (encoding guessed, another sheet,
        a form export recognised, ...), in English.
    messages : list of dict
        The same notes keyed (``code``, ``params``), for a report in the reader's language.
    value_labels : dict
        SPSS/Stata value labels: column -> {code: label} (empty for other formats).
    column_labels : dict
        SPSS/Stata variable labels: column -> label (empty for other formats).
    form_export : str or None
        The survey tool whose export was recognised (``"ODK"``, ``"KoboToolbox"``), else None.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    data: pd.DataFrame
    source: str
    notes: list[str] = Field(default_factory=list)
    messages: list[dict[str, Any]] = Field(default_factory=list)
    value_labels: dict[Any, dict[Any, Any]] = Field(default_factory=dict)
    column_labels: dict[Any, str | None] = Field(default_factory=dict)
    form_export: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """A copy of the responses (no ``attrs``)."""
        return self.data.copy()

    def legacy_frame(self) -> pd.DataFrame:
        """The responses with the metadata in ``attrs``, as :func:`read_responses` returns them.

        The 1.x form; the ``attrs`` keys are ``source``, ``reading_notes``,
        ``reading_messages`` and, when present, ``value_labels``, ``column_labels`` and
        ``form_export``.
        """
        return self._legacy(copy=True)

    def _legacy(self, *, copy: bool) -> pd.DataFrame:
        df = self.data.copy() if copy else self.data
        attrs: dict[str, Any] = {"source": self.source}
        if self.value_labels or self.column_labels:
            attrs["value_labels"] = self.value_labels
            attrs["column_labels"] = self.column_labels
        if self.form_export is not None:
            attrs["form_export"] = self.form_export
        attrs["reading_notes"] = list(self.notes)
        attrs["reading_messages"] = list(self.messages)
        df.attrs = attrs
        return df


_READ_CONSTRAINTS: dict[str, list[Constraint | None]] = {
    "path": [PATH],
    "id_columns": [COLUMNS, None],
    "sep": [TEXT, None],
    "encoding": [TEXT, None],
}


@public(constraints=_READ_CONSTRAINTS)
def read_responses(
    path: str | Path,
    *,
    id_columns: Sequence[str] | None = None,
    sep: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a survey file into a DataFrame (the 1.x form of :func:`read_response_file`).

    Reads exactly as :func:`read_response_file` (parameters, errors and notes there) and
    returns its ``legacy_frame()``: the responses with the file name, value labels and reading
    notes in ``df.attrs``. That hidden state is deprecated (the API contract allows no
    ``attrs``): from 2.0 ``read_responses`` returns the plain table. Use
    :func:`read_response_file` to get the notes as documented fields, and pass the
    :class:`ResponseFile` to :func:`~collective_efficacy.validate`.

    Examples
    --------
    >>> from pathlib import Path
    >>> from tempfile import mkdtemp
    >>> from collective_efficacy import read_responses
    >>> wave = Path(mkdtemp(), "nulmeting.csv")
    >>> wave.write_text("buurt;SC1\\n0101;4\\n101;5\\n", encoding="utf-8")
    23
    >>> df = read_responses(wave)
    >>> df["buurt"].tolist(), df.attrs["source"]
    (['0101', '101'], 'nulmeting.csv')
    """
    rf = read_response_file(path, id_columns=id_columns, sep=sep, encoding=encoding)
    return rf._legacy(copy=False)  # rf is ours alone: no copy of a million rows


@public(constraints=_READ_CONSTRAINTS)
def read_response_file(
    path: str | Path,
    *,
    sep: str | None = None,
    encoding: str | None = None,
    id_columns: Sequence[str] | None = None,
) -> ResponseFile:
    """Read a survey file: ids as text, SPSS/Stata value labels kept, every guess noted.

    Parameters
    ----------
    path : str or Path
        ``.csv`` / ``.txt`` / ``.tsv``, ``.xlsx``/``.xlsm`` (extra ``[excel]``),
        ``.sav``/``.zsav``/``.por`` and ``.dta`` (extra ``[spss]``), ``.parquet`` (extra
        ``[parquet]``). The first sheet of a workbook is read (with a note when it has more).
    sep : str, optional
        CSV separator (one character; ``"tab"`` or ``"\\t"`` for a tab). Default: the one of
        ``, ; <tab> |`` that occurs most often in the header line outside quotes; a header
        without any of them is one column.
    encoding : str, optional
        CSV text encoding. Default: a byte-order mark decides (UTF-8 or UTF-16); otherwise UTF-8,
        and when the file is not valid UTF-8, Windows-1252 (cp1252, a superset of latin-1's
        letters) with a note in ``notes``.
    id_columns : sequence of str, optional
        Columns always returned as text (community, respondent). Other columns are text too
        unless every cell is the plain text of a number (see Notes), so ids are never changed.

    Returns
    -------
    ResponseFile
        ``data`` (columns as in the file, no ``attrs``), ``source`` (the file name), ``notes``
        and ``messages`` (what the reader decided), and for SPSS and Stata ``value_labels``
        (column -> {code: label}, so that :func:`validate` accepts codes and labels and checks
        the labels against the instrument) and ``column_labels``.

    Raises
    ------
    ReadError
        The file is missing, a folder, empty, header-only, corrupt or truncated, not in the
        format of its extension, not decodable, or has a row with more fields than its header
        (the message names the line).

    Notes
    -----
    A CSV file is read by Apache Arrow's reader when pyarrow is installed (extra ``[parquet]``;
    about three times faster) and the file is plain: two or more named columns, every row with
    one field per column, quotes only around whole fields. Any other file is read by pandas' C
    parser, whose errors name the line; both give the same frame.

    Only empty cells are missing (``NA`` or ``null`` in a CSV stay text: they may be codes).
    A text column becomes numeric only when every cell is the canonical text of its number
    (``12``, ``-3``, ``2.5``; not ``012``, ``1.0``, ``+1`` or ``4,0``), so writing the numbers
    back gives exactly the file's text: ids ``0101``, ``101``, ``1.0`` and ``1`` stay four
    different ids, and :func:`validate` compares ids as text across files. An Excel column
    mixing text and number cells is read as text (numbers written as ``101``, ``2.5``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import collective_efficacy as ce
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "wave.csv"
    >>> _ = p.write_text("buurt;SC1\\n0101;4\\n101;5\\n", encoding="utf-8")
    >>> f = ce.read_response_file(p)
    >>> f.data["buurt"].tolist(), f.data["SC1"].tolist(), f.source
    (['0101', '101'], [4, 5], 'wave.csv')
    """
    path = Path(path)
    where = f"file {str(path)!r}"
    _check_path(path, where)
    suffix = path.suffix.lower()
    notes: list[str] = []
    settled = False
    try:
        if suffix in {".csv", ".txt", ".tsv"}:
            df, settled = _read_csv(path, where, sep, encoding, notes, set(id_columns or ()))
        elif suffix in _EXCEL:
            df = _read_excel(path, where, notes)
        elif suffix == ".xls":
            raise ReadError(
                f"{where} is an old Excel .xls workbook, which is not supported; save it as "
                ".xlsx or CSV"
            )
        elif suffix in _READSTAT:
            df = _read_readstat(path, suffix)
        elif suffix == ".parquet":
            require_extra("pyarrow", "parquet")
            df = pd.read_parquet(path)
        else:
            raise ReadError(
                f"{where}: unsupported format {suffix!r}; expected .csv, .txt, .tsv, .xlsx, .sav, "
                ".zsav, .por, .dta or .parquet"
            )
    except CollectiveEfficacyError:
        raise
    except Exception as exc:  # every reader's own exception becomes one typed error
        raise ReadError(
            f"{where} could not be read as {_KIND.get(suffix, 'a')} file "
            f"({type(exc).__name__}: {str(exc)[:200]}). The file may be corrupt, truncated or "
            f"in another format than its extension {suffix!r} says: open it in the program "
            "that made it and save or export it again (or as CSV)."
        ) from None
    _check_shape(df, where)
    if not settled:
        df = _settle_columns(df, id_columns)
    df = recognise_export(df)  # ODK / KoboToolbox exports: a date column, a note
    found = dict(df.attrs)  # what the format readers found (labels, form export)
    df.attrs = {}
    return ResponseFile(
        data=df,
        source=path.name,
        # notes travel into published outputs (results.json): the file's name, not its folder
        notes=[t.replace(where, f"file {path.name!r}") for t in notes]
        + list(found.get("form_notes", [])),
        # the same notes keyed, for the report in the reader's language
        messages=[
            {"code": t.message.code, "params": {**t.message.params, "file": path.name}}
            for t in notes
            if isinstance(t, Note)
        ],
        value_labels=found.get("value_labels", {}),
        column_labels=found.get("column_labels", {}),
        form_export=found.get("form_export"),
    )


def _check_path(path: Path, where: str) -> None:
    if not path.exists():
        raise ReadError(f"{where} does not exist; check the path and the working folder")
    if path.is_dir():
        raise ReadError(f"{where} is a folder, not a file; give the survey file inside it")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ReadError(
            f"{where} cannot be opened ({exc.strerror}); check its permissions"
        ) from None
    if size == 0:
        raise ReadError(f"{where} is empty (0 bytes); expected a header row and responses")


def _check_shape(df: pd.DataFrame, where: str) -> None:
    if df.shape[1] == 0:
        raise ReadError(f"{where} has no columns; expected a header row and responses")
    if len(df) == 0:
        raise ReadError(
            f"{where} has a header row but no responses; is it the right file (or sheet)?"
        )
    if isinstance(df.columns, pd.MultiIndex):  # pragma: no cover - readers give flat columns
        raise ReadError(f"{where} has several header rows; keep one")
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise ReadError(
            f"{where} has duplicate column names {dup}; rename them so that each is unique"
        )


def _settle_columns(df: pd.DataFrame, id_columns: Sequence[str] | None) -> pd.DataFrame:
    """Id columns as text; other text columns as numbers when lossless (see Notes)."""
    ids = set(id_columns or ())
    out = {}
    for c in df.columns:
        s = df[c]
        kind = pd.api.types.infer_dtype(s, skipna=True) if s.dtype == object else ""
        if kind.startswith("mixed"):  # e.g. Excel text "0101" beside number 101: all as text
            s, kind = s.map(_cell_text).astype(object), "string"
        if c in ids:
            out[c] = pd.Series(ids_as_text(s)[0], index=df.index, dtype=object)
        elif kind in {"string", "empty"} or (
            pd.api.types.is_string_dtype(s.dtype) and s.dtype != object
        ):
            out[c] = numbers_if_lossless(s)
        else:
            out[c] = s
    settled = pd.DataFrame(out, index=df.index)
    settled.attrs = dict(df.attrs)
    return settled


def _cell_text(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return number_text(v)
    return str(v)


def _read_excel(path: Path, where: str, notes: list[str]) -> pd.DataFrame:
    require_extra("openpyxl", "excel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl's notes on styles/validation
        with pd.ExcelFile(path, engine="openpyxl") as book:
            names = [str(n) for n in book.sheet_names]
            df = pd.read_excel(book, sheet_name=0, dtype=object)
    if len(names) > 1:
        notes.append(
            Note(
                "read_first_sheet",
                f"{where} has {len(names)} sheets ({', '.join(map(repr, names[:5]))}"
                f"{', ...' if len(names) > 5 else ''}); the first, {names[0]!r}, was read",
                k=len(names),
                sheet=names[0],
            )
        )
    return df


def _read_readstat(path: Path, suffix: str) -> pd.DataFrame:
    pyreadstat: Any = require_extra("pyreadstat", "spss")
    df, meta = getattr(pyreadstat, _READSTAT[suffix])(str(path))
    df.attrs["value_labels"] = {
        col: dict(meta.value_labels.get(name, {})) for col, name in meta.variable_to_label.items()
    }
    df.attrs["column_labels"] = dict(zip(meta.column_names, meta.column_labels))
    return df


def _decode(
    raw: bytes, where: str, encoding: str | None, notes: list[str]
) -> tuple[str, bytes | None]:
    """The file's text, and the file's own bytes when they are that text in UTF-8 (it was read
    as UTF-8: decoding and encoding UTF-8 are inverse), else None (encode the text).

    The CSV reader hands Arrow the bytes, not the text encoded again: 15 ms a 20 MB file."""
    text, codec = _decoded(raw, where, encoding, notes)
    codec = codecs.lookup(codec).name
    if codec == "utf-8":
        return text, raw
    if codec == "utf-8-sig":  # the byte-order mark (when there is one) is not in the text
        return text, raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw
    return text, None


def _decoded(raw: bytes, where: str, encoding: str | None, notes: list[str]) -> tuple[str, str]:
    """The file's text and its encoding: an explicit one, a byte-order mark, UTF-8, or cp1252
    with a note."""
    hint = "pass the file's encoding (encoding= in Python, --encoding on the command line)"
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise ReadError(
                f"unknown encoding {encoding!r} for {where}; e.g. utf-8, cp1252, utf-16"
            ) from None
        except UnicodeDecodeError as exc:
            raise ReadError(
                f"{where} is not valid {encoding} (byte {raw[exc.start]:#04x} at position "
                f"{exc.start}); {hint}"
            ) from None
    if raw.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        enc = "utf-32"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        enc = "utf-16"
    elif b"\x00" in raw[:4096]:
        raise ReadError(
            f"{where} holds NUL bytes: it is UTF-16 without a byte-order mark, or not a text "
            f"file at all; {hint} (e.g. utf-16-le), or export it again as UTF-8 CSV"
        )
    else:
        try:
            return raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReadError(
                f"{where} is neither UTF-8 nor Windows-1252 text (byte {raw[exc.start]:#04x} at "
                f"position {exc.start}); {hint}"
            ) from None
        notes.append(
            Note(
                "read_cp1252",
                f"{where} is not UTF-8; it was read as Windows-1252 (cp1252, which includes the "
                f"latin-1 letters such as é and ë). If letters look wrong, {hint}.",
            )
        )
        return text, "cp1252"
    try:
        return raw.decode(enc), enc
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{where} starts with a {enc} byte-order mark but is not valid {enc} "
            f"(position {exc.start}); {hint}"
        ) from None


def _separator(header: str, where: str, sep: str | None) -> str:
    """The explicit separator, or the one of SEPARATORS most frequent in the header line."""
    if sep is not None:
        sep = _SEP_ALIASES.get(sep.lower(), sep)
        if len(sep) != 1 or sep in {'"', "\n", "\r"}:
            raise ReadError(
                f"separator {sep!r} for {where}: expected one character, e.g. ',', ';', "
                "'|' or 'tab'"
            )
        return sep
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for ch in header:  # the header line only; separators inside quotes do not count
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(counts.values())
    if best == 0:
        return ","  # one column
    winners = [s for s, n in counts.items() if n == best]
    if len(winners) > 1:
        names = " and ".join(f"{best} {_SEP_NAMES[s]}{'s' * (best > 1)}" for s in winners)
        raise ReadError(
            f"{where}: the header line holds {names}, so the separator is unclear; pass it "
            "(sep= in Python, --sep on the command line)"
        )
    return winners[0]


def _read_csv(
    path: Path,
    where: str,
    sep: str | None,
    encoding: str | None,
    notes: list[str],
    id_columns: set[str],
) -> tuple[pd.DataFrame, bool]:
    """The frame and whether it is settled: by Arrow when possible, else pandas' C parser."""
    text, utf8 = _decode(path.read_bytes(), where, encoding, notes)
    if not text or text.isspace():
        raise ReadError(f"{where} holds only blank lines; expected a header row and responses")
    header = _HEADER.match(text).group(1)  # type: ignore[union-attr]  # (always matches)
    sep = _separator(header, where, sep)
    names = next(csv.reader([header], delimiter=sep))
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ReadError(f"{where} has duplicate column names {dup}; rename them so each is unique")
    _check_line_breaks(text, where)
    fast = read_plain_csv(text.encode("utf-8") if utf8 is None else utf8, sep, names, id_columns)
    if fast is not None:
        return fast, True
    log.debug("read %s with pandas' C engine", where)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                engine="c",
                dtype=object,  # text; numbers only where lossless (_settle_columns)
                keep_default_na=False,
                na_values=[""],
                index_col=False,
                skip_blank_lines=True,
            )
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            raise _ragged(text, sep, where, len(names)) from None
    if _short_rows(text, sep, len(names), len(df)):
        raise _ragged(text, sep, where, len(names))
    return df, False


def _short_rows(text: str, sep: str, n_fields: int, n_rows: int) -> bool:
    """Whether the separators outside quotes fall short of (fields - 1) per row.

    pandas pads a short row with blanks (too-long rows stop its parser), so this is true exactly
    when some row is short -- or when a stray quote inside a field makes the quoting unclear.
    """
    unquoted = _QUOTED.sub("", text) if '"' in text else text
    return unquoted.count(sep) < (n_fields - 1) * (n_rows + 1)


# the first line after blank ones (CR alone ends a line too: old Mac files); no copy of the text
_HEADER = re.compile(r"[\r\n]*([^\r\n]*)")
# a quoted field (a doubled quote inside splits it into two matches, which is harmless)
_QUOTED = re.compile(r'"[^"]*"')
_BARE_CR = re.compile(r'"[^"]*"|\r(?!\n)')


def _check_line_breaks(text: str, where: str) -> None:
    """Refuse a carriage return alone outside quotes in a file whose lines end in LF or CRLF.

    The C parser ends a row at a bare CR, which splits one respondent into two shifted rows; a
    file with CR line endings throughout (old Mac) has no LF at all and is read as it is.
    """
    if "\r" not in text:  # LF line ends: nothing to check, and no copy of the text
        return
    body = text.rstrip("\r\n")
    if "\n" not in body or "\r" not in body or not re.search(r"\r(?!\n)", body):
        return
    for m in _BARE_CR.finditer(body):
        if m.group() == "\r":
            line = body.count("\n", 0, m.start()) + 1
            raise ReadError(
                f"{where}, line {line}: a carriage return (CR) inside a row, which would split "
                "it in two. Remove it or put that value in double quotes; or save the file "
                "again with one kind of line ending"
            )


def _ragged(text: str, sep: str, where: str, n_fields: int) -> ReadError:
    """The first line with more or fewer fields than the header (an error path: csv is fine)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    shown = {"\t": "tab"}.get(sep, repr(sep))
    for rec in reader:
        if rec and len(rec) < n_fields:
            return ReadError(
                f"{where}, line {reader.line_num}: {len(rec)} fields where the header has "
                f"{n_fields} (separator {shown}). Every row needs one field per column: write a "
                f"missing answer as an empty field (e.g. 'A{sep}1{sep}{sep}'), or pass the right "
                "separator (sep= in Python, --sep on the command line)"
            )
        if len(rec) > n_fields:
            return ReadError(
                f"{where}, line {reader.line_num}: {len(rec)} fields where the header has "
                f"{n_fields} (separator {shown}). A value holding the separator must be in "
                "double quotes; or pass the right separator (sep= in Python, --sep on the "
                "command line)"
            )
    return ReadError(  # pragma: no cover - pandas and csv disagree on quoting
        f"{where} could not be split into columns with separator {shown}; check its quoting"
    )

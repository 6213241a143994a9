"""Streaming readers for lead sources: CSV (``,`` or ``;``), JSON Lines, or an inline list from the conf.

Everything here yields one row at a time, and holds at most one line (1 MiB) and one CSV value (the csv
module's field limit) in memory, so neither a 100,000-row file nor a 100 MB line can exhaust a worker. Every
row of the source is accounted for: a row that cannot be read is yielded with the reason (it becomes an
``invalid`` row of the report), and a file that cannot be used at all raises :class:`LeadFileError`
naming the file, the row or line, and the problem, never quoting its content. The second happens where
reading on would misplace rows: a quoted value that is never closed (it would swallow the rest of the file),
or a quoted value that spans lines and breaks a limit.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .errors import LeadFileError
from .fields import HeaderMap

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_DELIMITERS = (",", ";", "\t")
#: no line of lead data is this long; a longer one is skipped in pieces, never held
MAX_LINE_BYTES = 1 << 20
NUL_ROW = "contains a NUL character (a binary or UTF-16 file saved as .csv?)"


@dataclass
class SourceRow:
    """One input row: its 1-based number in the source, the lead body, or why it cannot be read."""

    row: int
    lead: dict[str, str] | None
    error: str | None = None


def _open_binary(path: Any) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise LeadFileError(f"Lead source {path}: file not found.") from None
    except IsADirectoryError:
        raise LeadFileError(f"Lead source {path}: is a directory, not a file.") from None
    except PermissionError:
        raise LeadFileError(f"Lead source {path}: permission denied when opening it.") from None


class _LongLine(Exception):
    """Line ``line`` was longer than :data:`MAX_LINE_BYTES`; it has been skipped. ``open_quote``: it ends
    inside a quoted CSV value, so the record goes on past it."""

    def __init__(self, line: int, open_quote: bool = False) -> None:
        super().__init__(line)
        self.line = line
        self.open_quote = open_quote


class _QuoteScan:
    """Whether a CSV line read in pieces ends inside a quoted value (the csv module's rules: a value is quoted
    when a quote opens it, ``""`` inside it is a quote), using ``bytes.find`` so that 100 MB scan quickly."""

    def __init__(self, delimiter: bytes) -> None:
        self.delimiter = delimiter
        self.field_start, self.quoted, self.quote_pending = True, False, False

    def feed(self, chunk: bytes) -> None:
        i, n = 0, len(chunk)
        if self.quote_pending and n:  # a quote ended the last piece: doubled, or the value's end
            self.quote_pending = False
            if chunk[:1] == b'"':
                i = 1
            else:
                self.quoted = False
        while i < n:
            if self.quoted:
                j = chunk.find(b'"', i)
                if j < 0:
                    return
                if j + 1 == n:
                    self.quote_pending = True
                    return
                if chunk[j + 1 : j + 2] == b'"':
                    i = j + 2
                else:
                    self.quoted, i = False, j + 1
            elif self.field_start and chunk[i : i + 1] == b'"':
                self.quoted, self.field_start, i = True, False, i + 1
            else:
                j = chunk.find(self.delimiter, i)
                self.field_start, i = (False, n) if j < 0 else (True, j + 1)

    @property
    def open(self) -> bool:
        return self.quoted and not self.quote_pending


class _Lines:
    """The lines of a byte stream decoded as UTF-8 (BOM optional) and counted. A line over
    :data:`MAX_LINE_BYTES` is read past in pieces and reported by raising :class:`_LongLine`; a decode error
    becomes a clear :class:`LeadFileError`. ``delimiter`` (once known) lets a long line say whether it ends
    inside a quoted value."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._raw = raw
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.number = 0
        self.delimiter: str | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        chunk = self._raw.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            tail = self._decode(b"", final=True)
            if tail:
                return tail
            raise StopIteration
        self.number += 1
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            scan = _QuoteScan(self.delimiter.encode()) if self.delimiter else None
            while chunk:
                if scan is not None:
                    scan.feed(chunk)
                if chunk.endswith(b"\n"):
                    break
                chunk = self._raw.readline(1 << 16)
            self._decoder.reset()
            raise _LongLine(self.number, open_quote=scan is not None and scan.open)
        return self._decode(chunk)

    def _decode(self, chunk: bytes, final: bool = False) -> str:
        try:
            return self._decoder.decode(chunk, final)
        except UnicodeDecodeError:
            raise LeadFileError(
                f"Lead source {self._name}: not UTF-8 text (an invalid byte on line {self.number}). Save the file "
                "as UTF-8 (with or without BOM) and run again."
            ) from None


def _sniff_delimiter(header_line: str) -> str:
    """The header's most frequent delimiter outside quotes: ``,`` by default, ``;`` for European Excel."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _unreadable(exc: Exception) -> str:
    """What is wrong with a CSV record, in words (the csv module's own messages are about its parser)."""
    if isinstance(exc, _LongLine):
        opens = ", in a quoted value that goes on past it" if exc.open_quote else ""
        return f"a line longer than {MAX_LINE_BYTES:,} bytes{opens}"
    text = str(exc)
    if "field larger than field limit" in text:
        return f"a value longer than {csv.field_size_limit():,} characters"
    if "expected after" in text:
        return 'a quoted value with text after its closing quote (write a quote inside a value as "")'
    if "end of data" in text:
        return "a quoted value that is never closed"
    return f"a line the CSV format cannot read ({text})"


def _header(lines: _Lines, name: str) -> str:
    try:
        for line in lines:
            if line.strip():
                if "\x00" in line:
                    raise LeadFileError(
                        f"Lead source {name}: NUL characters in its header: not CSV text (a UTF-16 or spreadsheet "
                        "file saved as .csv?). Save it as CSV UTF-8 and run again."
                    )
                return line
    except _LongLine as long:
        raise LeadFileError(
            f"Lead source {name}: line {long.line} is longer than {MAX_LINE_BYTES:,} bytes before any header: "
            "not a CSV file of leads."
        ) from None
    raise LeadFileError(f"Lead source {name}: the file is empty (no header, no rows).")


def iter_csv(path: Any) -> Iterator[SourceRow]:
    name = str(path)
    with _open_binary(path) as raw:
        lines = _Lines(raw, name)
        header_line = _header(lines, name)
        delimiter = lines.delimiter = _sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=delimiter))
        mapping = HeaderMap(header)
        if mapping.duplicates:
            # header names are file content: the message names columns by number and our own field names
            raise LeadFileError(
                f"Lead source {name}: {mapping.duplicates_message()}; keep one column for each and run again."
            )
        if not mapping.has_email:
            raise LeadFileError(
                f"Lead source {name}: no email column among its {len(header)} columns. Name one column 'email'."
            )
        row_number = 0
        for row_number, values, problem in _records(lines, delimiter, name):
            if problem:
                yield SourceRow(row_number, None, problem)
            elif any("\x00" in value for value in values):
                yield SourceRow(row_number, None, NUL_ROW)
            elif len(values) > len(mapping.headers) and any(
                v.strip() for v in values[len(mapping.headers) :]
            ):
                yield SourceRow(
                    row_number, None,
                    f"{len(values)} fields for {len(mapping.headers)} columns (unquoted delimiter in a value?)",
                )  # fmt: skip
            else:
                yield SourceRow(row_number, mapping.lead(dict(zip(mapping.headers, values, strict=False))))
        if row_number == 0:
            raise LeadFileError(f"Lead source {name}: the file has a header but no data rows.")


def _records(lines: _Lines, delimiter: str, name: str) -> Iterator[tuple[int, list[str], str | None]]:
    """``(row number, values, problem)`` for every non-blank record after the header.

    A record that breaks a limit or the quoting rules on its own line is one unreadable row, and reading goes
    on at the next line. One that does so across lines (inside a quoted value that started earlier) cannot be
    told apart from the rows after it, so the file is refused instead of guessing.
    """
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    boundary = lines.number  # the last line of the last complete record
    row = 0
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except (_LongLine, csv.Error) as exc:
            first, last = boundary + 1, exc.line if isinstance(exc, _LongLine) else lines.number
            problem = _unreadable(exc)
            if first != last or "end of data" in str(exc) or getattr(exc, "open_quote", False):
                where = f"line {first}" if first == last else f"lines {first} to {last}"
                raise LeadFileError(
                    f"Lead source {name}: row {row + 1} ({where}) has {problem}: a quote that is never closed "
                    "swallows the rows after it, so the file is not read on. Close the quote (a quote inside a "
                    'value is written "") and run again.'
                ) from None
            row += 1
            yield row, [], f"{problem} (line {first})"
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            boundary = lines.number
            continue
        boundary = lines.number
        if any(value.strip() for value in values):
            row += 1
            yield row, values, None


def iter_jsonl(path: Any) -> Iterator[SourceRow]:
    name = str(path)
    row_number = 0
    saw_email = False
    with _open_binary(path) as raw:
        lines = _Lines(raw, name)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                break
            except _LongLine as long:
                row_number += 1
                yield SourceRow(
                    row_number, None, f"a line longer than {MAX_LINE_BYTES:,} bytes (line {long.line})"
                )
                continue
            if not line.strip():
                continue
            row_number += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield SourceRow(row_number, None, f"not valid JSON ({exc.msg})")
                continue
            row = _object_row(row_number, obj, "a JSON Lines row must be an object")
            saw_email = saw_email or bool(row.lead and "email" in row.lead)
            yield row
    if row_number == 0:
        raise LeadFileError(f"Lead source {name}: the file is empty (no JSON Lines rows).")
    if not saw_email:
        raise LeadFileError(f"Lead source {name}: no row has an email field. Name the field 'email'.")


def _object_row(row_number: int, obj: Any, not_an_object: str) -> SourceRow:
    """A JSON object (or an inline one) as a row: its fields mapped like a header, each meaning once."""
    if not isinstance(obj, dict):
        return SourceRow(row_number, None, not_an_object)
    mapping = HeaderMap(list(obj))
    if mapping.duplicates:
        return SourceRow(row_number, None, mapping.duplicates_message().replace("columns", "fields"))
    return SourceRow(row_number, mapping.lead(obj))


def iter_inline(leads: Iterable[Any]) -> Iterator[SourceRow]:
    """Rows given in the DAG run conf: objects, or plain email strings."""
    row_number = 0
    for item in leads:
        row_number += 1
        if isinstance(item, str):
            item = {"email": item}
        yield _object_row(row_number, item, "an inline lead must be an object or an email string")
    if row_number == 0:
        raise LeadFileError("Inline leads: the list is empty.")


def iter_source(path: Any) -> Iterator[SourceRow]:
    """Rows of a file, format chosen by its suffix (``.jsonl``/``.ndjson``/``.json`` → JSON Lines, else CSV)."""
    suffix = Path(str(path)).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return iter_jsonl(path)
    return iter_csv(path)

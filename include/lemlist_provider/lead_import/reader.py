"""Streaming readers for lead sources: CSV (``,`` or ``;``), JSON Lines, or an inline list from the conf.

Everything here yields one row at a time so a 100,000-row file never sits in memory. A file that cannot be
used at all raises :class:`LeadFileError` naming the file and the problem; a bad row is yielded with an error
so it ends in the report instead of failing the run.
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


class _Utf8Text:
    """Decode a byte stream as UTF-8 (BOM optional) line by line, turning a decode error into a clear message."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._raw = raw
        self._name = name
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._line = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        chunk = self._raw.readline()
        self._line += 1
        if not chunk:
            tail = self._decoder.decode(b"", final=True)
            if tail:
                return tail
            raise StopIteration
        try:
            return self._decoder.decode(chunk)
        except UnicodeDecodeError:
            raise LeadFileError(
                f"Lead source {self._name}: not UTF-8 text (an invalid byte on line {self._line}). Save the file "
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


def iter_csv(path: Any) -> Iterator[SourceRow]:
    name = str(path)
    with _open_binary(path) as raw:
        text = _Utf8Text(raw, name)
        header_line = ""
        for line in text:
            if line.strip():
                header_line = line
                break
        if not header_line:
            raise LeadFileError(f"Lead source {name}: the file is empty (no header, no rows).")
        delimiter = _sniff_delimiter(header_line)
        header = next(csv.reader([header_line], delimiter=delimiter))
        mapping = HeaderMap(header)
        if not mapping.has_email:
            # the header is file content: the message counts the columns instead of quoting them
            raise LeadFileError(
                f"Lead source {name}: no email column among its {len(header)} columns. Name one column 'email'."
            )
        reader = csv.reader(text, delimiter=delimiter)
        headers = mapping.headers
        row_number = 0
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank line: not a row
            row_number += 1
            if len(values) > len(headers):
                extra = [v for v in values[len(headers) :] if v.strip()]
                if extra:
                    yield SourceRow(
                        row_number,
                        None,
                        f"{len(values)} fields for {len(headers)} columns (unquoted delimiter in a value?)",
                    )
                    continue
            yield SourceRow(row_number, mapping.lead(dict(zip(headers, values, strict=False))))
        if row_number == 0:
            raise LeadFileError(f"Lead source {name}: the file has a header but no data rows.")


def iter_jsonl(path: Any) -> Iterator[SourceRow]:
    name = str(path)
    row_number = 0
    saw_email = False
    with _open_binary(path) as raw:
        for line in _Utf8Text(raw, name):
            if not line.strip():
                continue
            row_number += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield SourceRow(row_number, None, f"not valid JSON ({exc.msg})")
                continue
            if not isinstance(obj, dict):
                yield SourceRow(row_number, None, "a JSON Lines row must be an object")
                continue
            lead = HeaderMap(list(obj)).lead(obj)
            saw_email = saw_email or "email" in lead
            yield SourceRow(row_number, lead)
    if row_number == 0:
        raise LeadFileError(f"Lead source {name}: the file is empty (no JSON Lines rows).")
    if not saw_email:
        raise LeadFileError(f"Lead source {name}: no row has an email field. Name the field 'email'.")


def iter_inline(leads: Iterable[Any]) -> Iterator[SourceRow]:
    """Rows given in the DAG run conf: objects, or plain email strings."""
    row_number = 0
    for item in leads:
        row_number += 1
        if isinstance(item, str):
            item = {"email": item}
        if not isinstance(item, dict):
            yield SourceRow(row_number, None, "an inline lead must be an object or an email string")
            continue
        yield SourceRow(row_number, HeaderMap(list(item)).lead(item))
    if row_number == 0:
        raise LeadFileError("Inline leads: the list is empty.")


def iter_source(path: Any) -> Iterator[SourceRow]:
    """Rows of a file, format chosen by its suffix (``.jsonl``/``.ndjson``/``.json`` → JSON Lines, else CSV)."""
    suffix = Path(str(path)).suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return iter_jsonl(path)
    return iter_csv(path)

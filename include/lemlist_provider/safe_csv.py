"""Spreadsheet-safe CSV: the one way the provider writes CSV files that people open.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula by Excel,
LibreOffice and Google Sheets (``=HYPERLINK(...)`` from a LinkedIn headline, ``=cmd|' /C calc'!A0`` in an
email's local part), so every such text cell gets a leading ``'`` (OWASP's rule for CSV injection): the
spreadsheet then shows the text as it is. This applies to text only, including text that merely looks like
a number (``"-5"``, a phone ``"+33 6 12 34 56 78"``, as OWASP does): whoever needs those cells raw turns the
guard off with ``[lemlist] neutralise_csv_formulas = False`` (an admin's setting, not a trigger-form field,
because the people protected are the ones who open the file, not the one who asks for it). Numbers the
pipelines compute (row numbers, credits) are written as numbers.

- :func:`writer` and :class:`DictWriter` are ``csv.writer`` / ``csv.DictWriter`` with the guard.
- :class:`FormulaGuard` applies the same rule to a CSV that is already written (lemlist's campaign export)
  as it streams through, chunk by chunk, in constant memory, changing nothing but the inserted ``'``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

from lemlist_provider import settings

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"
_FORMULA_BYTES = frozenset(c.encode() for c in FORMULA_STARTS)
_BOM = b"\xef\xbb\xbf"


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return GUARD + value
    return value


def _guarded(raw: bool | None) -> bool:
    return settings.neutralise_csv_formulas() if raw is None else not raw


class _Writer:
    """``csv.writer`` whose rows are neutralised first."""

    def __init__(self, handle: IO[str], **fmtparams: Any) -> None:
        self._writer = csv.writer(handle, **fmtparams)
        self.dialect = self._writer.dialect

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(handle: IO[str], *, raw: bool | None = None, **fmtparams: Any) -> Any:
    """A ``csv.writer`` on ``handle`` that neutralises formula cells, unless ``raw`` (by default: unless the
    admin turned ``neutralise_csv_formulas`` off)."""
    return csv.writer(handle, **fmtparams) if not _guarded(raw) else _Writer(handle, **fmtparams)


class DictWriter(csv.DictWriter):
    """``csv.DictWriter`` that neutralises formula cells (the header too), unless ``raw`` / the admin says."""

    def __init__(self, handle: IO[str], fieldnames: Any, *args: Any, raw: bool | None = None, **kwargs: Any):
        super().__init__(handle, fieldnames, *args, **kwargs)
        self.guarded = _guarded(raw)

    def writerow(self, rowdict: dict) -> Any:
        if self.guarded:
            rowdict = {key: neutralise(value) for key, value in rowdict.items()}
        return super().writerow(rowdict)

    def writerows(self, rowdicts: Iterable[dict]) -> None:
        for rowdict in rowdicts:
            self.writerow(rowdict)


# States of FormulaGuard between two bytes.
_FIELD_START, _UNQUOTED, _QUOTED_START, _QUOTED, _QUOTE_SEEN = range(5)
_UNQUOTED_END = re.compile(rb"[,\r\n]")
_LINE_OR_FIELD_END = (b",", b"\n", b"\r")
# an unquoted field starting with a formula character, right after a comma or a line break (a \r there
# ends the line: a field that starts with one is quoted by every CSV writer)
_UNQUOTED_FORMULA = re.compile(rb"(?<=[,\r\n])(?=[=+\-@\t])")
_UNQUOTED_FORMULA_BYTES = _FORMULA_BYTES - {b"\r"}


class FormulaGuard:
    """A byte stream filter that neutralises the formula cells of a comma-separated UTF-8 CSV on its way to
    ``handle``: ``write(chunk)`` as often as needed, then ``finish()``.

    It follows RFC 4180 field boundaries (quoted fields may hold commas, ``""`` and line breaks) across chunk
    boundaries, and inserts ``'`` at the start of a field's content, inside its quotes when it has them. All
    other bytes pass unchanged, so line endings, quoting and a BOM stay as lemlist wrote them. The characters
    it looks at are ASCII, which never occur inside a multi-byte UTF-8 sequence. With ``raw`` (default: the
    admin's setting) it passes everything through.
    """

    def __init__(self, handle: IO[bytes], *, raw: bool | None = None) -> None:
        self.handle = handle
        self.guarded = _guarded(raw)
        self.state = _FIELD_START
        self.head = b""  # the stream's first bytes while they may still be a BOM
        self.started = False
        self.inserted = 0

    def write(self, chunk: bytes) -> int:
        if not self.guarded:
            self.handle.write(chunk)
            return len(chunk)
        data = chunk
        if not self.started:
            self.head += data
            if len(self.head) < len(_BOM) and _BOM.startswith(self.head):
                return len(chunk)
            self.started = True
            data, self.head = self.head, b""
            if data.startswith(_BOM):
                self.handle.write(_BOM)
                data = data[len(_BOM) :]
        self.handle.write(self._filter(data))
        return len(chunk)

    def finish(self) -> None:
        """Pass on what is still held back (a stream shorter than a BOM)."""
        if self.head:
            self.started = True
            head, self.head = self.head, b""
            self.handle.write(self._filter(head) if self.guarded else head)

    def _filter(self, data: bytes) -> bytes:
        if data and self.state in (_FIELD_START, _UNQUOTED) and b'"' not in data:
            return self._filter_unquoted(data)
        out: list[bytes] = []
        start = i = 0
        size = len(data)
        state = self.state
        while i < size:
            byte = data[i : i + 1]
            if state == _FIELD_START:
                if byte == b'"':
                    state, i = _QUOTED_START, i + 1
                    continue
                if byte in _LINE_OR_FIELD_END:  # an empty field, or a line break (\r\n, \r)
                    i += 1
                    continue
                if byte in _FORMULA_BYTES:
                    out += [data[start:i], b"'"]
                    start = i
                    self.inserted += 1
                state = _UNQUOTED
            elif state == _UNQUOTED:
                found = _UNQUOTED_END.search(data, i)
                if found is None:
                    i = size
                    continue
                state, i = _FIELD_START, found.end()
                continue
            elif state == _QUOTED_START:
                if byte in _FORMULA_BYTES:
                    out += [data[start:i], b"'"]
                    start = i
                    self.inserted += 1
                state = _QUOTED
                continue  # this byte is content (or a quote): look at it again in _QUOTED
            elif state == _QUOTED:
                found = data.find(b'"', i)
                if found < 0:
                    i = size
                    continue
                state, i = _QUOTE_SEEN, found + 1
                continue
            else:  # _QUOTE_SEEN: "" is an escaped quote; anything else closes the field
                if byte == b'"':
                    state, i = _QUOTED, i + 1
                    continue
                state = _FIELD_START if byte in _LINE_OR_FIELD_END else _UNQUOTED
            i += 1
        self.state = state
        out.append(data[start:])
        return b"".join(out)

    def _filter_unquoted(self, data: bytes) -> bytes:
        """The common case, at C speed: a chunk without quotes, outside a quoted field (lemlist's synthetic
        and most real exports quote nothing): every field starts at the chunk's start or after , \\r \\n."""
        first = b"'" if self.state == _FIELD_START and data[:1] in _UNQUOTED_FORMULA_BYTES else b""
        body, count = _UNQUOTED_FORMULA.subn(b"'", data)
        self.inserted += count + len(first)
        self.state = _FIELD_START if data[-1:] in _LINE_OR_FIELD_END else _UNQUOTED
        return first + body

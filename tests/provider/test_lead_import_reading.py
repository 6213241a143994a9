"""Reading and validating lead files: formats, header mapping, normalisation, dedupe, bad files, checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lemlist_provider.lead_import import (
    Checkpoint,
    LeadFileError,
    Unsubscribes,
    Workspace,
    canonical_field,
    iter_inline,
    iter_source,
    normalise_email,
    run_summary_line,
    stage_rows,
)


def _rows(path: Path) -> list:
    return list(iter_source(path))


def test_semicolon_csv_with_bom_crlf_and_quotes(tmp_path):
    src = tmp_path / "excel.csv"
    text = 'E-Mail;FIRST_NAME;Company;Note\r\n"Ada@Example.io ";Ada;"Analytical; Engines";"line one\r\nline two"\r\n\r\nbob@b.example;Bob;;\r\n'
    src.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    rows = _rows(src)
    assert [r.row for r in rows] == [1, 2]  # the blank line is not a row
    assert rows[0].lead == {
        "email": "Ada@Example.io",
        "firstName": "Ada",
        "companyName": "Analytical; Engines",
        "Note": "line one\r\nline two",
    }
    assert rows[1].lead == {"email": "bob@b.example", "firstName": "Bob"}  # empty values are not sent


def test_header_mapping_is_case_and_punctuation_insensitive():
    assert canonical_field("First Name") == "firstName"
    assert canonical_field("LINKEDIN_URL") == "linkedinUrl"
    assert canonical_field("company") == "companyName"
    assert canonical_field("Favourite colour") is None  # a custom variable


def test_json_lines_with_a_broken_line(tmp_path):
    src = tmp_path / "leads.jsonl"
    src.write_text(
        '{"email": "a@x.example", "jobTitle": "CTO", "score": 3}\n{broken\n\n["not", "an", "object"]\n'
    )
    rows = _rows(src)
    assert rows[0].lead == {"email": "a@x.example", "jobTitle": "CTO", "score": "3"}
    assert rows[1].lead is None and "not valid JSON" in rows[1].error
    assert rows[2].lead is None and "object" in rows[2].error


def test_normalise_email():
    assert normalise_email("  Ada.Lovelace@Example.IO ") == ("ada.lovelace@example.io", None)
    assert normalise_email("")[1] == "missing email"
    assert normalise_email("a@b")[1].startswith("invalid email:")
    assert normalise_email("x@@y.example")[0] is None


def test_unsubscribes_match_emails_and_domains():
    unsubs = Unsubscribes.from_entries(
        [{"value": "no-thanks@example.com"}, {"value": "@Competitor.example"}, "x@y.example"]
    )
    assert unsubs.match("no-thanks@example.com")
    assert "@competitor.example" in unsubs.match("ceo@competitor.example")
    assert unsubs.match("ceo@notcompetitor.example") is None


def test_stage_rows_counts_dedupes_and_batches(tmp_path):
    items = [
        "a@x.example",
        "A@X.example ",
        "b@x.example",
        "bad",
        "c@blocked.example",
        "d@x.example",
        "e@x.example",
    ]
    workspace = Workspace(tmp_path / "w")
    manifest = stage_rows(
        iter_inline(items), workspace, batch_size=2, unsubscribes=Unsubscribes(["@blocked.example"])
    )
    assert manifest["total_rows"] == 7
    assert manifest["counts"] == {"valid": 4, "invalid": 1, "duplicate_in_file": 1, "unsubscribed": 1}
    assert [(b["rows"], b["first_row"], b["last_row"]) for b in manifest["batches"]] == [(2, 1, 3), (2, 6, 7)]
    rejected = [json.loads(line) for line in workspace.rejected_path.read_text().splitlines()]
    assert rejected[0] == {
        "row": 2,
        "email": "a@x.example",
        "status": "duplicate_in_file",
        "reason": "duplicate of row 1",
    }


def test_bad_files_name_the_file_and_the_problem_and_quote_nothing(bad_lead_file):
    src, problem, cells = bad_lead_file
    with pytest.raises(LeadFileError) as err:
        _rows(src)
    assert str(src) in str(err.value) and problem in str(err.value)
    assert not [cell for cell in cells if cell in str(err.value)]


def test_checkpoint_survives_a_torn_last_line(tmp_path):
    path = tmp_path / "cp.jsonl"
    with Checkpoint(path) as cp:
        cp.attempting([(1, "a@x.example")])
        cp.outcome(1, "a@x.example", "imported", "lea_1")
        cp.attempting([(2, "b@x.example")])
    with path.open("a") as handle:
        handle.write('{"row": 2, "email": "b@x.ex')  # killed mid-write
    done, attempted = Checkpoint(path).load()
    assert set(done) == {1} and attempted == {2}
    with Checkpoint(path) as cp:
        cp.outcome(2, "b@x.example", "imported", "lea_2")
    done, attempted = Checkpoint(path).load()
    assert set(done) == {1, 2} and attempted == set()


def test_run_summary_line_names_every_status():
    line = run_summary_line(
        {"total_rows": 3, "counts": {"imported": 2, "invalid": 1}, "duration_seconds": 1.5, "leads_per_second": 9.5,
         "requests": 4, "rate_limited": 0, "retries": 1, "report": "r.csv"}
    )  # fmt: skip
    assert "3 rows -> 2 imported, 0 already_in_campaign" in line and "1 invalid" in line and "r.csv" in line


def test_unwritable_output_location_says_what_to_do(tmp_path):
    from lemlist_provider.lead_import import OutputLocationError, output_folder

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(OutputLocationError) as err:
        output_folder(blocker / "reports")  # a folder cannot be created inside a file
    assert "Choose another output_uri" in str(err.value) and str(blocker) in str(err.value)
    assert output_folder(tmp_path / "reports") == tmp_path / "reports"


def test_a_report_missing_rows_is_never_published(storage_roots):
    from lemlist_provider.lead_import import write_report

    workspace = Workspace(storage_roots / "work")
    manifest = stage_rows(iter_inline(["a@x.example", "b@x.example"]), workspace, batch_size=10)
    report = storage_roots / "leads.results.csv"
    assert write_report(workspace, manifest, report)["total_rows"] == 2
    published = report.read_text()
    with pytest.raises(RuntimeError, match="accounts for 0 rows but the source had 2"):
        write_report(workspace, {**manifest, "batches": []}, report)  # the staged rows are missing
    assert report.read_text() == published  # the complete report stays; no partial one replaces it


def _statuses(path: Path, tmp_path: Path) -> tuple[dict, list[dict]]:
    """Stage ``path`` and read back every rejected row (rows, statuses and reasons)."""
    workspace = Workspace(tmp_path / "work")
    manifest = stage_rows(iter_source(path), workspace, batch_size=100)
    rejected = [json.loads(line) for line in workspace.rejected_path.read_text().splitlines()]
    return manifest, rejected


def test_oversized_values_and_nul_bytes_are_invalid_rows_and_every_row_is_counted(tmp_path):
    """A value over the csv module's limit, a single line of 100 MB and a NUL byte each make one row
    ``invalid`` with the reason; the rows around them are read as usual and the count is the file's."""
    import csv as csv_module

    src = tmp_path / "hostile.csv"
    with src.open("wb") as handle:
        handle.write(b"email,firstName,Notes\n")
        handle.write(b"one@x.example,One,short\n")
        handle.write(b"two@x.example,Two," + b"a" * (csv_module.field_size_limit() + 10) + b"\n")
        handle.write(b"three@x.example,Three,short\n")
        handle.write(b"four@x.example,Four," + b"b" * (100 * 1024 * 1024) + b"\n")  # one line of 100 MB
        handle.write(b"five@x.example,Fi\x00ve,short\n")
        handle.write(b'six@x.example,"Six, quoted",short\n')
    manifest, rejected = _statuses(src, tmp_path)
    assert manifest["total_rows"] == 6 and manifest["counts"] == {
        "valid": 3, "invalid": 3, "duplicate_in_file": 0, "unsubscribed": 0,
    }  # fmt: skip
    reasons = {r["row"]: r["reason"] for r in rejected}
    assert reasons[2] == "a value longer than 131,072 characters (line 3)"
    assert reasons[4] == "a line longer than 1,048,576 bytes (line 5)"
    assert "NUL character" in reasons[5]


def test_a_quote_never_closed_is_refused_before_it_swallows_rows(tmp_path):
    src = tmp_path / "swallow.csv"
    src.write_text("email,note\n" + "".join(f"p{n}@x.example,ok\n" for n in range(3)) + 'p3@x.example,"oops\n'
                   + "".join(f"p{n}@x.example,ok\n" for n in range(4, 200)))  # fmt: skip
    with pytest.raises(LeadFileError) as err:
        _statuses(src, tmp_path)
    assert "row 4 (lines 5 to 201) has a quoted value that is never closed" in str(err.value)
    # a long quoted value that spans lines and breaks the field limit is refused the same way
    big = tmp_path / "swallow_big.csv"
    big.write_text('email,note\na@x.example,"' + "x\n" * 70_000 + "b@x.example,ok\n")
    with pytest.raises(LeadFileError, match=r"row 1 \(lines 2 to \d+\) has a value longer than 131,072"):
        _statuses(big, tmp_path)


def test_a_badly_quoted_value_on_its_own_line_is_one_invalid_row(tmp_path):
    src = tmp_path / "sloppy.csv"
    src.write_text('email,note\na@x.example,"quoted"tail\nb@x.example,ok\n')
    manifest, rejected = _statuses(src, tmp_path)
    assert manifest["total_rows"] == 2 and manifest["counts"]["valid"] == 1
    assert rejected[0]["row"] == 1 and "after its closing quote" in rejected[0]["reason"]


def test_json_lines_rows_with_a_long_line_or_two_fields_for_one_column_are_invalid(tmp_path):
    src = tmp_path / "leads.jsonl"
    with src.open("wb") as handle:
        handle.write(b'{"email": "a@x.example"}\n')
        handle.write(b'{"email": "' + b"b" * (2 * 1024 * 1024) + b'@x.example"}\n')
        handle.write(b'{"email": "c@x.example", "Email ": "d@x.example"}\n')
        handle.write(b'{"email": "e@x.example"}\n')
    rows = _rows(src)
    assert [r.row for r in rows] == [1, 2, 3, 4] and rows[0].lead and rows[3].lead
    assert "longer than 1,048,576 bytes" in rows[1].error and "the lead field email" in rows[2].error


def test_a_long_line_that_opens_a_quoted_value_is_refused_not_split_into_rows(tmp_path):
    """A quote opened on a line over 1 MiB and closed lines later: the lines in between are not rows."""
    src = tmp_path / "long_quote.csv"
    with src.open("wb") as handle:
        handle.write(b'email,note\na@x.example,ok\nb@x.example,"' + b"y" * (2 * 1024 * 1024) + b"\n")
        handle.write(b"c@x.example,inside the quoted value\n" + b'"\nd@x.example,ok\n')
    with pytest.raises(
        LeadFileError, match=r"row 2 \(line 3\) has a line longer than 1,048,576 bytes, in a quoted"
    ):
        _statuses(src, tmp_path)

"""The storage roots (``lemlist_provider.paths``): every file Param resolved once, confined, never overwriting
a file the provider did not write. Local paths use ``tmp_path`` as the admin's root; URIs are only resolved
(no object store is reached)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import paths, settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def roots(tmp_path, monkeypatch) -> tuple[Path, Path]:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    monkeypatch.setenv("AIRFLOW__LEMLIST__INPUT_ROOTS", str(inputs))
    monkeypatch.setenv("AIRFLOW__LEMLIST__OUTPUT_ROOTS", f"{outputs}, s3://acme-lemlist/out/")
    monkeypatch.setenv("AIRFLOW__LEMLIST__STORAGE_CONN_IDS", "aws_lemlist")
    return inputs, outputs


def _refused(param: str, value: str, kind: str = "input") -> str:
    with pytest.raises(paths.StoragePathError) as caught:
        paths.resolve(param, value, kind=kind)
    assert isinstance(caught.value, AirflowFailException)  # fails the task without retries
    message = str(caught.value)
    assert f"{param}={value!r}" in message and f"allowed {kind} roots:" in message, message
    return message


def test_defaults_are_the_projects_data_and_output_folders(monkeypatch):
    for key in ("INPUT_ROOTS", "OUTPUT_ROOTS", "STORAGE_CONN_IDS", "MIN_POLL_SECONDS"):
        monkeypatch.delenv(f"AIRFLOW__LEMLIST__{key}", raising=False)
    assert settings.project_root() == ROOT  # the parent of [core] dags_folder
    assert (
        paths.input_location("source", "include/data/sample_leads.csv")
        == ROOT / "include/data/sample_leads.csv"
    )
    assert paths.output_location("output_uri", "output/x.csv") == ROOT / "output/x.csv"
    assert paths.default_output("lemlist_lead_import") == "output/lemlist_lead_import"
    assert settings.storage_conn_ids() == frozenset() and settings.min_poll_seconds() == 5.0
    message = _refused("source", "/etc/passwd")
    assert str(ROOT / "include/data") in message and "AIRFLOW__LEMLIST__INPUT_ROOTS" in message


def test_paths_inside_the_roots_resolve(roots):
    inputs, outputs = roots
    (inputs / "leads.csv").write_text("email\n")
    assert paths.input_location("source", str(inputs / "leads.csv")) == inputs / "leads.csv"
    assert paths.input_location("source", f"file://{inputs}/sub/../leads.csv") == inputs / "leads.csv"
    assert (
        paths.output_location("output_uri", str(outputs / "new" / "report.csv")) == outputs / "new/report.csv"
    )


@pytest.mark.parametrize("value", ["/etc/passwd", "/proc/self/environ", "include/data/sample_leads.csv", ""])
def test_anything_outside_the_roots_is_refused(roots, value):
    _refused("source", value)


def test_dot_dot_is_resolved_before_the_check(roots):
    inputs, outputs = roots
    message = _refused("source", f"{inputs}{'/..' * 30}/etc/passwd")
    assert "resolves to /etc/passwd" in message
    _refused("output_uri", f"{outputs}/../in/report.csv", kind="output")  # an input root is not an output


def test_a_symlink_inside_a_root_pointing_out_is_refused(roots, tmp_path):
    inputs, outputs = roots
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n")
    (inputs / "innocent.csv").symlink_to(secret)
    (outputs / "escape").symlink_to(tmp_path)
    message = _refused("source", str(inputs / "innocent.csv"))
    assert "hunter2" not in message and f"resolves to {secret}" in message
    _refused("output_uri", str(outputs / "escape" / "report.csv"), kind="output")


def test_uris_need_a_uri_root_and_an_allowed_connection(roots):
    target = paths.output_location("output_uri", "s3://acme-lemlist/out/exports/../2026/x.csv")
    assert str(target) == "s3://acme-lemlist/out/2026/x.csv"
    assert str(paths.output_location("output_uri", "s3://aws_lemlist@acme-lemlist/out/x.csv")).startswith(
        "s3://aws_lemlist@acme-lemlist/out/"
    )
    _refused("output_uri", "s3://acme-lemlist/elsewhere/x.csv", kind="output")
    _refused("output_uri", "s3://acme-lemlist/out/../elsewhere/x.csv", kind="output")
    _refused("output_uri", "s3://other-bucket/out/x.csv", kind="output")
    _refused("output_uri", "gcs://acme-lemlist/out/x.csv", kind="output")  # the scheme of no root
    assert "storage_conn_ids" in _refused(
        "output_uri", "s3://aws_admin@acme-lemlist/out/x.csv", kind="output"
    )
    _refused("source", "s3://acme-lemlist/out/x.csv")  # an output root is not an input root


def test_writing_never_replaces_a_foreign_file_and_publishes_whole(roots):
    _, outputs = roots
    foreign = outputs / "suppression_list.csv"
    foreign.write_text("value\nkeep@me.io\n")
    with pytest.raises(paths.StoragePathError, match="not written by a lemlist pipeline"):
        with paths.writing("output_uri", foreign, "w") as handle:
            handle.write("an export\n")
    assert foreign.read_text() == "value\nkeep@me.io\n"

    own = outputs / "export.csv"
    with paths.writing("output_uri", own, "w") as handle:
        handle.write("first\n")
    with paths.writing("output_uri", own, "w") as handle:  # its own file: replaced
        handle.write("second\n")
    assert own.read_text() == "second\n"
    with pytest.raises(RuntimeError), paths.writing("output_uri", own, "w") as handle:
        handle.write("half")
        raise RuntimeError("killed mid-write")
    assert own.read_text() == "second\n"
    assert sorted(os.listdir(outputs)) == [".export.csv.lemlist", "export.csv", "suppression_list.csv"]

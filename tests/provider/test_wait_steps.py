"""The wait steps shared by the triggers, the sensors' pokes and the operators (no I/O: statuses in,
decisions out), and their floor on poll delays (issue 11)."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from lemlist_provider.enrichment.wait import EnrichmentWait
from lemlist_provider.exports.wait import ExportWait, done_export
from lemlist_provider.hooks.errors import LemlistAuthError, LemlistNotFoundError, LemlistServerError


def _round(wait: EnrichmentWait, statuses: dict[str, str]) -> list[list[str]]:
    """Run one round, answering each id from ``statuses`` (``pending`` when absent); the waves it polled."""
    waves = []
    wait.begin_round()
    while wave := wait.next_wave():
        waves.append(wave)
        wait.record({eid: statuses.get(eid, "pending") for eid in wave})
    return waves


def test_an_all_pending_wave_ends_the_round_and_the_rest_go_first_next_time():
    ids = [f"enr_{n}" for n in range(10)]
    wait = EnrichmentWait(ids, wave=3, floor=0)
    assert _round(wait, {"enr_0": "done", "enr_2": "failed"}) == [ids[0:3], ids[3:6]]
    assert wait.done == ["enr_0"] and wait.failed == ["enr_2"]
    assert wait.pending == [*ids[6:], "enr_1", *ids[3:6]]  # never polled, then polled and still pending
    assert _round(wait, dict.fromkeys(ids, "done"))[0] == ids[6:9]
    assert wait.finished and wait.outcome("success")["pending"] == []


def test_a_404_is_final_and_never_counts_as_pending():
    """The trigger, the poke and the in-worker wait once disagreed here; the step decides for all three."""
    wait = EnrichmentWait(["a", "b", "c", "d"], wave=2, floor=0)
    waves = _round(wait, {"a": "not_found"})
    assert waves == [["a", "b"], ["c", "d"]]  # a wave with a 404 is not all pending: the round goes on
    assert wait.failed == ["a"] and wait.pending == ["b", "c", "d"]


def test_enrichment_intervals_grow_and_never_go_below_the_floor():
    wait = EnrichmentWait(["a"], first_poll=0, backoff=0.5, max_interval=0.01, floor=5)
    pauses = []
    for _ in range(4):
        pauses.append(wait.pause())
        _round(wait, {})
    assert pauses == [5, 5, 5, 5]
    grows = EnrichmentWait(["a"], first_poll=6, backoff=2, max_interval=20, floor=5)
    seen = []
    for _ in range(4):
        seen.append(grows.pause())
        _round(grows, {})
    assert seen == [6, 12, 20, 20] and grows.pause(remaining=3) == 3


def test_the_floor_comes_from_the_admins_setting(monkeypatch):
    monkeypatch.delenv("AIRFLOW__LEMLIST__MIN_POLL_SECONDS", raising=False)
    assert EnrichmentWait(["a"], first_poll=0.01).pause() == 5.0  # the default floor
    assert ExportWait("cam_1", "axp_1", first_poll=0, poll_min=0, poll_max=0).pause() == 5.0
    monkeypatch.setenv("AIRFLOW__LEMLIST__MIN_POLL_SECONDS", "12")
    assert EnrichmentWait(["a"], first_poll=0.01).pause() == 12.0


def test_export_decisions():
    wait = ExportWait("cam_1", "axp_1", first_poll=1, poll_min=2, poll_max=3, floor=0)
    assert wait.pause() == 1
    assert wait.record({"status": "running", "progress": 10, "total": 20}) is None and "10/20" in wait.note
    assert 2 <= wait.pause() <= 3
    assert wait.record_error(LemlistServerError("boom", status=503)) is None  # transient: back off
    assert wait.backoff == 1 and wait.record_error(LemlistServerError("boom", status=503)) is None
    assert wait.backoff == 2 and wait.record({"status": "pending"}) is None and wait.backoff == 0
    done = wait.record({"status": "done", "url": "https://files/x.csv", "fileSize": 5, "secret": {"no": 1}})
    assert done["status"] == "done" and done_export(done) == {"status": "done", "url": "https://files/x.csv",
                                                              "fileSize": 5}  # fmt: skip
    error = ExportWait("cam_1", "axp_1").record({"status": "error", "error": "too large"})
    with pytest.raises(AirflowFailException, match="too large"):
        done_export(error)
    gone = ExportWait("cam_1", "axp_1").record_error(LemlistNotFoundError("gone", status=404))
    assert gone["status"] == "not_found"
    refused = ExportWait("cam_1", "axp_1").record_error(LemlistAuthError("no", status=401))
    assert refused["status"] == "failed"
    with pytest.raises(AirflowException):
        done_export(ExportWait("cam_1", "axp_1").timeout())

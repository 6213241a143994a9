"""The one summary shape and its wall-clock seconds waited: parallel waits count once."""

from __future__ import annotations

import pytest

from lemlist_provider.figures import MAX_INTERVALS, WaitIntervals, merge_intervals, union_seconds
from lemlist_provider.ops.summary import run_summary, task_record
from lemlist_provider.ops.views import credits_over_time, last_runs, per_hour, per_run


def test_parallel_waits_count_once_and_never_exceed_the_run():
    # three batches pacing side by side over the same 50 s: a sum said 150 s, the clock says 50 s
    batches = [[[1000.0, 1050.0]], [[1000.5, 1049.0]], [[1001.0, 1050.0]]]
    assert sum(b[0][1] - b[0][0] for b in batches) > 140
    assert union_seconds([i for b in batches for i in b]) == 50.0
    assert merge_intervals([[5, 6], [1, 2], [1.5, 3], [6, 7]]) == [[1.0, 3.0], [5.0, 7.0]]


def test_a_hook_keeps_few_intervals_however_many_waits():
    waits = WaitIntervals()
    for i in range(5 * MAX_INTERVALS):
        waits.add(i * 1.0, i * 1.0 + 0.5)  # half of every second spent pacing
    assert len(waits.since(0)) <= MAX_INTERVALS
    assert waits.seconds() == 5 * MAX_INTERVALS * 0.5  # the hook's own total stays exact
    assert waits.since(100.25)[0] == [100.25, 100.5]  # the oldest waits keep their detail
    waits.add(10.2, 10.9)  # out of order (another thread): only the part not yet covered counts
    assert waits.seconds() == 5 * MAX_INTERVALS * 0.5 + 0.4


def _record(task_id, *, conn="lemlist_default", requests=10, intervals=(), state="success", **facts):
    record = task_record(
        {"requests": requests, "rate_limited": 1, "retries": 2, "failures": 0},
        [list(i) for i in intervals],
        conn_id=conn, try_number=1, state=state, started_at=1000.0, ended_at=1100.0, facts=facts,
    )  # fmt: skip
    return {**record, "dag_id": "lemlist_lead_import", "run_id": "r1", "task_id": task_id, "map_index": -1}


def test_every_task_has_the_same_shape_and_a_run_adds_them_up():
    validate = _record("validate", requests=3, campaign_id="cam_X", rows=300)
    batches = [
        _record(f"b{i}", intervals=[(1000, 1040)], outcomes={"imported": 100, "failed": 0}) for i in range(3)
    ]
    report = _record("write_report", requests=0, report="/out/r.csv", rows=300)
    assert set(validate) == set(report) == set(batches[0])
    run = run_summary([validate, *batches, report])
    assert run["requests"] == 33 and run["rate_limited"] == 5 and run["retries"] == 10
    assert run["waited_seconds"] == 40.0  # not 120
    assert run["outcomes"] == {"imported": 300}
    assert (run["campaign_id"], run["rows"], run["report"]) == ("cam_X", 300, "/out/r.csv")
    with pytest.raises(ValueError, match="unknown ops facts"):
        task_record(
            {}, [], conn_id="c", try_number=1, state="success", started_at=0, ended_at=0, facts={"x": 1}
        )


def test_page_views_per_hour_per_run_and_credits():
    from datetime import UTC, datetime

    records = [_record("b1", intervals=[(3590, 3610)]), _record("a", conn="other", credits=50)]
    for record in records:
        record["started_at"] = datetime.fromtimestamp(3500, UTC)
        record["ended_at"] = datetime.fromtimestamp(3620, UTC)
    hours = per_hour(records)
    assert [h["waited_seconds"] for h in hours["lemlist_default"]] == [10.0, 10.0]  # split at the hour
    assert hours["lemlist_default"][0]["requests"] == 10
    runs = per_run(records, {("lemlist_lead_import", "r1"): "running"})
    assert runs[0]["state"] == "running" and runs[0]["conn_ids"] == ["lemlist_default", "other"]
    assert last_runs(runs)["lemlist_lead_import"][0]["run_id"] == "r1"
    assert credits_over_time(records, 100) == {
        "other": [{"at": records[1]["ended_at"], "credits": 50, "low": True}]
    }

"""The task side of the ops data: each lemlist task try pushes its summary (``summary.task_record``) as the
XCom ``lemlist_ops``.

Task code cannot open metadata-DB sessions in Airflow 3 (workers talk to the API server), so the XCom is the
channel: the API server stores it in the metadata database, wherever the worker runs, and the ops store
(``ops.store``) copies it into its own table, which keeps it past the run's XComs for the retention. A
successful try pushes it after ``execute`` (``post_execute``), a failed one from the incident notifier.
Pushing never fails a task: the figures are for people, the task's work is what counts.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .summary import OPS_XCOM_KEY, task_record

log = logging.getLogger(__name__)


def try_record(task: Any, context: Any, state: str) -> dict[str, Any] | None:
    """The summary of the running try of ``task``; ``None`` when it never built a hook (sent nothing)."""
    hook = getattr(task, "__dict__", {}).get("hook")
    facts = dict(getattr(task, "__dict__", {}).get("_ops_facts") or {})
    if hook is None and not facts:
        return None
    ti = context.get("ti")
    started = getattr(ti, "start_date", None)
    started_at = started.timestamp() if started is not None else time.time()
    params = context.get("params") or {}
    if not facts.get("campaign_id") and isinstance(params.get("campaign_id"), str):
        facts["campaign_id"] = params["campaign_id"]
    return task_record(
        hook.metrics() if hook is not None else {},
        hook.wait_intervals.since(started_at) if hook is not None else [],
        conn_id=str(getattr(task, "lemlist_conn_id", "") or ""),
        try_number=int(getattr(ti, "try_number", 0) or 0),
        state=state,
        started_at=started_at,
        ended_at=time.time(),
        facts=facts,
    )


def push(task: Any, context: Any, state: str) -> None:
    """Push the try's summary as XCom ``lemlist_ops`` (never raises)."""
    try:
        record = try_record(task, context, state)
        if record is not None:
            context["ti"].xcom_push(key=OPS_XCOM_KEY, value=record)
    except Exception as exc:  # noqa: BLE001 - the ops figures must never fail the task
        log.warning("lemlist ops summary not recorded: %s: %s", type(exc).__name__, exc)

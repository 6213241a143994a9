"""The enrichment ledger: every start of a run, announced before it is sent and settled once answered.

Where it lives, and why there: beside the run's results file, in the output storage (``<output>.starts.jsonl``
unless ``ledger_path`` says otherwise), through :mod:`lemlist_provider.journal`. That is the one place an
admin already makes visible to every worker (the storage roots: a shared bucket or volume when tasks run on
several hosts), it is durable the moment an append returns (an fsync'd local append, or an object written
whole), and it is kept with the results a person checks afterwards. Airflow's metadata database is not used:
a task's XComs are cleared when it is retried, Variables are editable by anyone who may trigger the DAG and
hold no per-run history, and task code in Airflow 3 has no database session of its own.

Records (JSON Lines): ``{"intent": start_id, "identities": [...], "route": ...}`` before a start is sent, and
``{"outcome": start_id, "records": [...]}`` once its answer was understood. An intent without an outcome is a
start whose result is unknown: it may have been applied and charged.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from lemlist_provider import paths
from lemlist_provider.journal import journal_at


class Ledger:
    """What earlier tries of this run started: settled records by identity, and identities whose start has no
    known outcome (announced, never settled)."""

    def __init__(self, location: Any) -> None:
        self.location = location
        self.journal = journal_at(location)
        self.settled: dict[str, dict] = {}
        self.unknown: dict[str, str] = {}  # identity -> the start that may have been applied
        for entry in self.journal.read():
            if "intent" in entry:
                for identity in entry.get("identities") or []:
                    self.unknown[str(identity)] = str(entry["intent"])
                    self.settled.pop(str(identity), None)
            elif "outcome" in entry:
                for record in entry.get("records") or []:
                    identity = str(record.get("identity"))
                    self.settled[identity] = record
                    self.unknown.pop(identity, None)

    def claim(self) -> None:
        """Make sure the ledger is this provider's own (or new), and mark it so: a foreign file at the
        ledger's place is never appended to."""
        marker = paths.marker(self.location)
        if self.journal.exists() and not marker.exists():
            raise paths.StoragePathError(
                f"ledger_path: {self.location} already exists and was not written by a lemlist pipeline; refusing "
                "to append to it. Choose another ledger_path, or move the file away."
            )
        if not marker.exists():
            self.location.parent.mkdir(parents=True, exist_ok=True)
            paths.mark("ledger_path", self.location)

    def announce(self, identities: list[str], route: str) -> str:
        """Record, durably, that a start for ``identities`` is about to be sent; returns the start's id."""
        start = uuid.uuid4().hex[:12]
        self.journal.append(
            [{"intent": start, "identities": identities, "route": route, "at": round(time.time(), 3)}]
        )
        for identity in identities:
            self.unknown[identity] = start
            self.settled.pop(identity, None)
        return start

    def settle(self, start: str, records: list[dict]) -> None:
        """Record the understood answer of ``start``: one record per identity it carried."""
        self.journal.append([{"outcome": start, "records": records}])
        for record in records:
            self.settled[record["identity"]] = record
            self.unknown.pop(record["identity"], None)

    def close(self) -> None:
        self.journal.close()

"""The validate step: stream the source once, stage valid rows per batch, record rejected rows with reasons.

Nothing but counts and batch descriptors leave this module, so XCom stays small whatever the file size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import IO, Any

from .errors import LeadFileError
from .reader import SourceRow
from .validation import SeenEmails, Unsubscribes, normalise_email
from .workspace import Workspace

REJECTED_STATUSES = ("invalid", "duplicate_in_file", "unsubscribed")
#: rows one import takes: ~24 MB of duplicate detection, and 28 hours at lemlist's 10 leads/s per key
MAX_ROWS = 1_000_000


class _BatchWriter:
    """Cuts the valid rows into files of ``batch_size`` rows and remembers one small descriptor per file."""

    def __init__(self, workspace: Workspace, batch_size: int) -> None:
        self.workspace = workspace
        self.batch_size = batch_size
        self.batches: list[dict] = []
        self._handle: IO[str] | None = None
        self._current: dict | None = None

    def add(self, row: int, email: str, lead: dict) -> None:
        if self._current is None or self._current["rows"] >= self.batch_size:
            self._close()
            index = len(self.batches)
            self._current = {"batch": index, "rows": 0, "first_row": row, "last_row": row}
            self.batches.append(self._current)
            self._handle = self.workspace.batch_path(index).open("w", encoding="utf-8")
        assert self._handle is not None
        self._handle.write(json.dumps({"row": row, "email": email, "lead": lead}, ensure_ascii=False) + "\n")
        self._current["rows"] += 1
        self._current["last_row"] = row

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def close(self) -> None:
        self._close()


def stage_rows(
    rows: Iterable[SourceRow],
    workspace: Workspace,
    *,
    batch_size: int,
    unsubscribes: Unsubscribes | None = None,
    log: Any = None,
    progress_every: float = 5.0,
) -> dict:
    """Validate and stage every row; returns the manifest (also written to the work folder).

    Order of checks per row: readable → email syntax → duplicate of an earlier row → unsubscribed. A
    duplicate is judged on the normalised email, so ``Ada@X.io`` and ``ada@x.io `` collapse to the first.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    workspace.create()
    seen = SeenEmails()
    counts = {"valid": 0, **dict.fromkeys(REJECTED_STATUSES, 0)}
    writer = _BatchWriter(workspace, batch_size)
    started = last_log = time.monotonic()
    total = 0
    with workspace.rejected_path.open("w", encoding="utf-8") as rejected:

        def reject(row: int, email: str, status: str, reason: str) -> None:
            counts[status] += 1
            rejected.write(
                json.dumps(
                    {"row": row, "email": email, "status": status, "reason": reason}, ensure_ascii=False
                )
                + "\n"
            )

        try:
            for item in rows:
                total = item.row
                if total > MAX_ROWS:
                    raise LeadFileError(
                        f"Lead source has more than {MAX_ROWS:,} rows: split it into several imports (at lemlist's "
                        "10 leads/s per API key, a million leads take 28 hours)."
                    )
                if item.lead is None:
                    reject(item.row, "", "invalid", item.error or "unreadable row")
                    continue
                raw_email = item.lead.get("email", "")
                email, problem = normalise_email(raw_email)
                if email is None:
                    # An address the team unsubscribed stays "unsubscribed" even where the validator
                    # refuses its domain (e.g. a reserved TLD such as .test): the list is the stronger fact.
                    candidate = str(raw_email or "").strip().lower()
                    if (
                        unsubscribes is not None
                        and candidate.count("@") == 1
                        and unsubscribes.match(candidate)
                    ):
                        email = candidate
                    else:
                        reject(item.row, raw_email, "invalid", problem or "invalid email")
                        continue
                first = seen.first_row(email, item.row)
                if first is not None:
                    reject(item.row, email, "duplicate_in_file", f"duplicate of row {first}")
                    continue
                if unsubscribes is not None:
                    why = unsubscribes.match(email)
                    if why:
                        reject(item.row, email, "unsubscribed", why)
                        continue
                lead = dict(item.lead)
                lead["email"] = email
                writer.add(item.row, email, lead)
                counts["valid"] += 1
                now = time.monotonic()
                if log is not None and now - last_log >= progress_every:
                    last_log = now
                    log.info("validated %d rows (%.0f rows/s)", total, total / max(now - started, 1e-9))
        finally:
            writer.close()
    manifest = {
        "total_rows": total,
        "counts": counts,
        "batch_size": batch_size,
        "batches": writer.batches,
        "validated_in_seconds": round(time.monotonic() - started, 3),
    }
    return manifest

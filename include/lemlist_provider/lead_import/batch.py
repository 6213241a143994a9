"""Import one staged batch into a campaign, one lead per request, resumable after a kill.

Per row: skip it when the checkpoint already has its outcome; else journal ``attempting`` (for a window of
rows at a time on object storage), add the lead through the hook (which paces to the key's budget and
replays ambiguous failures), journal the outcome.
"already in the campaign" is never a failure: it is ``already_in_campaign``, or ``imported`` when our own
earlier attempt (killed task, or a replay inside the hook) is what put it there.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lemlist_provider.hooks.endpoints import ENRICHMENT_LOOKUPS
from lemlist_provider.journal import journal_at

from .checkpoint import Checkpoint
from .workspace import Workspace

log = logging.getLogger(__name__)

#: lemlist's query flag -> the hook's keyword argument
_FLAG_KWARGS = {
    "deduplicate": "deduplicate",
    "findEmail": "find_email",
    "verifyEmail": "verify_email",
    "linkedinEnrichment": "linkedin_enrichment",
    "findPhone": "find_phone",
}


@dataclass
class ImportOptions:
    """What every row of a run is sent with."""

    campaign_id: str
    deduplicate: bool = False
    enrichment: dict[str, bool] = field(default_factory=dict)
    dry_run: bool = False
    strategy: str = "per_lead"  # or "csv_upload"
    upload_chunk: int = 500
    progress_every: float = 5.0

    def flags(self) -> dict[str, bool]:
        """The hook's keyword arguments for lemlist's query flags (only those switched on)."""
        out = {_FLAG_KWARGS[name]: True for name in ENRICHMENT_LOOKUPS if self.enrichment.get(name)}
        if self.deduplicate:
            out["deduplicate"] = True
        return out


def iter_batch(workspace: Workspace, index: int) -> Iterator[dict]:
    with workspace.batch_path(index).open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


class Progress:
    """Logs done/total, rate and ETA every few seconds, so a long batch never looks stuck."""

    def __init__(self, label: str, total: int, already: int, every: float, logger: Any) -> None:
        self.label, self.total, self.done, self.every, self.log = label, total, already, every, logger
        self.started = self.last = time.monotonic()
        self.sent_here = 0

    def step(self, force: bool = False) -> None:
        self.done += 1
        self.sent_here += 1
        now = time.monotonic()
        if force or now - self.last >= self.every:
            self.last = now
            self.report()

    def report(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.sent_here / elapsed
        left = self.total - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 else "unknown"
        self.log.info(
            "%s: %d/%d rows done (%.1f%%), %.2f leads/s, ETA %s",
            self.label, self.done, self.total, 100.0 * self.done / max(self.total, 1), rate, eta,
        )  # fmt: skip


def _is_client_error(exc: Exception) -> bool:
    status = getattr(exc, "status", None)
    return isinstance(status, int) and 400 <= status < 500 and status not in (401, 402, 403, 404, 429)


def classify(answer: Any, attempted_before: bool) -> tuple[str, str, str]:
    """``(status, lead_id, reason)`` for the hook's answer to an add-lead call."""
    if isinstance(answer, dict) and answer.get("alreadyInCampaign"):
        scope = answer.get("duplicateScope") or "campaign"
        if scope == "campaign" and (attempted_before or answer.get("afterReplay")):
            why = (
                "an earlier attempt of this run was interrupted"
                if attempted_before
                else "replayed after a transient error"
            )
            return "imported", "", f"created by this run ({why}); confirmed by lemlist"
        if scope == "team":
            return "already_in_campaign", "", "already exists in another campaign of the team (deduplicate)"
        return "already_in_campaign", "", "lead already in the campaign"
    if isinstance(answer, dict) and answer.get("_id"):
        return "imported", str(answer["_id"]), ""
    return "failed", "", f"unexpected answer from lemlist: {str(answer)[:200]}"


@dataclass
class _Batch:
    """What every row of one batch's try is sent with, and where its outcomes go."""

    hook: Any
    checkpoint: Checkpoint
    options: ImportOptions
    attempted: set[int]  # rows an earlier try sent without recording the answer
    record: Callable[[dict], None]
    log: Any
    label: str

    def add_each(self, items: Iterator[dict] | list[dict]) -> None:
        """``per_lead``: add the leads one by one, each window of rows announced in the checkpoint first."""
        for window in _chunks(iter(items), self.checkpoint.window):
            self.checkpoint.attempting((int(item["row"]), item["email"]) for item in window)
            for item in window:
                self.add_one(item)

    def add_one(self, item: dict) -> None:
        """Add one lead (announced by :meth:`add_each`) and journal its outcome."""
        row, email = int(item["row"]), item["email"]
        try:
            fields = {k: v for k, v in item["lead"].items() if k != "email"}
            answer = self.hook.add_lead_to_campaign(
                self.options.campaign_id, email, **self.options.flags(), fields=fields
            )
        except Exception as exc:
            if _is_client_error(exc):
                # lemlist refused this one lead (e.g. a field it rejects): the row fails, the batch goes on.
                reason = getattr(exc, "reason", "") or str(exc)
                self.record(
                    self.checkpoint.outcome(
                        row, email, "failed", "", f"lemlist refused the lead: {reason}"[:300]
                    )
                )
                return
            raise  # transient left after the hook's retries, auth, campaign not found: the task decides
        status, lead_id, reason = classify(answer, row in self.attempted)
        if status == "imported" and not lead_id:
            lead_id = _lookup_lead_id(self.hook, self.options.campaign_id, email)
        self.record(self.checkpoint.outcome(row, email, status, lead_id, reason))

    def upload(self, pending: Iterator[dict]) -> str:
        """``csv_upload``: one multipart import per chunk; rows interrupted by an earlier try go one by one.

        Returns the strategy that was finally used: a 402 (plan-gated route) switches to ``per_lead``.
        """
        uploading = True
        for chunk in _chunks(pending, self.options.upload_chunk):
            fresh = [item for item in chunk if int(item["row"]) not in self.attempted]
            one_by_one = [item for item in chunk if int(item["row"]) in self.attempted]
            if uploading and fresh:
                outcomes = self._upload_chunk(fresh)
                if outcomes is None:
                    uploading = False
                    self.log.warning(
                        "%s: lemlist answered 402 to the CSV import (route not in this account's plan); "
                        "falling back to adding leads one by one (per_lead)", self.label,
                    )  # fmt: skip
                    one_by_one += fresh
                else:
                    for outcome in outcomes:
                        self.record(outcome)
            elif fresh:
                one_by_one += fresh
            self.add_each(one_by_one)
        return "csv_upload" if uploading else "per_lead"

    def _upload_chunk(self, items: list[dict]) -> list[dict] | None:
        """Upload rows as one CSV; their outcomes, or ``None`` when the route is plan-gated (402)."""
        columns: list[str] = ["email"]
        for item in items:
            columns.extend(k for k in item["lead"] if k not in columns)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for item in items:
            writer.writerow(item["lead"])
        self.checkpoint.attempting((int(item["row"]), item["email"]) for item in items)
        try:
            answer = self.hook.import_leads_csv(
                self.options.campaign_id, buffer.getvalue().encode("utf-8"),
                filename=f"{self.label.replace(' ', '_')}.csv",
            )  # fmt: skip
        except Exception as exc:
            if getattr(exc, "status", None) == 402:
                # Refused before any processing: these rows were never attempted, so release them.
                for item in items:
                    self.checkpoint.release(int(item["row"]))
                return None
            raise
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise RuntimeError(
                f"{self.label}: the CSV import answered without one result per row: {str(answer)[:200]}"
            )
        return [self._upload_outcome(item, result) for item, result in zip(items, results, strict=True)]

    def _upload_outcome(self, item: dict, result: dict) -> dict:
        row, email = int(item["row"]), item["email"]
        state, error = result.get("status"), str(result.get("error") or "")
        if state == "imported":
            return self.checkpoint.outcome(row, email, "imported", str(result.get("leadId") or ""), "")
        if state == "duplicate" or error.lower().startswith("lead already"):
            scope = (
                "another campaign of the team (deduplicate)" if "another" in error.lower() else "the campaign"
            )
            return self.checkpoint.outcome(row, email, "already_in_campaign", "", f"lead already in {scope}")
        return self.checkpoint.outcome(row, email, "failed", "", f"lemlist refused the lead: {error}"[:300])


def import_batch(
    hook: Any, workspace: Workspace, descriptor: dict, options: ImportOptions, logger: Any = log
) -> dict:
    """Import the rows of one staged batch; returns this try's counts (the checkpoint holds the rows)."""
    index = int(descriptor["batch"])
    total = int(descriptor["rows"])
    checkpoint = Checkpoint(workspace.checkpoint_path(index))
    done, attempted = checkpoint.load()
    label = f"batch {index}"
    if done or attempted:
        logger.info(
            "%s: resuming from its checkpoint: %d rows already done, %d interrupted mid-request (will be checked)",
            label, len(done), len(attempted),
        )  # fmt: skip
    counts: dict[str, int] = {}
    progress = Progress(label, total, len(done), options.progress_every, logger)
    started = time.time()
    metrics_before = dict(hook.metrics()) if hook is not None else {}
    strategy = options.strategy

    def record(outcome: dict) -> None:
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
        progress.step()

    batch = _Batch(hook, checkpoint, options, attempted, record, logger, label)
    try:
        with checkpoint:
            pending = (item for item in iter_batch(workspace, index) if int(item["row"]) not in done)
            if options.dry_run:
                for item in pending:
                    record(checkpoint.outcome(int(item["row"]), item["email"], "would_import", "",
                                              "dry run: nothing sent"))  # fmt: skip
            elif strategy == "csv_upload":
                strategy = batch.upload(pending)
            else:
                batch.add_each(pending)
        progress.report()
    finally:
        _write_metrics(workspace, index, hook, metrics_before, started)
    return {
        "batch": index,
        "rows": total,
        "skipped_from_checkpoint": len(done),
        "counts": counts,
        "strategy": strategy,
    }


def _chunks(items: Iterator[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _lookup_lead_id(hook: Any, campaign_id: str, email: str) -> str:
    """The id of a lead we created but whose creation answer we lost (one extra GET, rare)."""
    try:
        lead = hook.get_campaign_lead(campaign_id, email)
    except Exception as exc:  # the id is a nicety; the row is imported either way
        log.warning("could not look up the lead id of a replayed row: %s", type(exc).__name__)
        return ""
    if isinstance(lead, list):
        lead = lead[0] if lead else {}
    return str((lead or {}).get("_id") or (lead or {}).get("id") or "")


def _write_metrics(workspace: Workspace, index: int, hook: Any, before: dict, started: float) -> None:
    """Each try appends its own request counters, so the report can add up every try of every batch."""
    if hook is None:
        return
    after = hook.metrics()
    delta = {k: round(float(after.get(k, 0)) - float(before.get(k, 0)), 3) for k in after}
    delta.update(started=round(started, 3), ended=round(time.time(), 3))
    delta["intervals"] = hook.wait_intervals.since(started)  # the report's seconds waited are their union
    metrics = journal_at(workspace.metrics_path(index))
    metrics.append([delta])
    metrics.close()

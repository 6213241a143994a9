"""One sync run: read both sides, plan, apply (or not, in dry run), write the audit file, summarise.

lemlist side: the v2 unsubscribe routes (every kind of value, one CSV export for the whole list, bulk adds
of up to 10,000 values per call). When the account refuses v2 (402 on plans below emailPro, or 404), the
run logs a WARNING and uses the legacy routes (emails and @domains only, one value per call).
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lemlist_provider import safe_csv
from lemlist_provider.figures import http_figures
from lemlist_provider.paths import writing

from .diff import Side, SyncPlan, plan_sync
from .guards import MissingSourceError, Refusal, RemovalLimits, RemovalRefused, check_removals
from .normalise import Entry, Invalid, normalise
from .stores import SuppressionStore

BULK_LIMIT = 10_000
LEGACY_KINDS = ("email", "domain")
AUDIT_COLUMNS = ("action", "side", "value", "kind", "from_side", "source", "reason")
PULLS = ("export", "paginate")
#: (CSV export route, paginated list route) of each API generation
ROUTES = {
    "v2": ("/v2/unsubscribes/exports/variables", "/v2/unsubscribes/variables"),
    "legacy": ("/unsubs/export", "/unsubscribes"),
}
log = logging.getLogger(__name__)


@dataclass
class SyncOptions:
    mode: str = "add_only"
    truth: str = "local"
    dry_run: bool = False
    confirm_removals: bool = False  # mirror removes only with this set (a mirror run without it reports)
    limits: RemovalLimits = field(default_factory=RemovalLimits)  # the guards every removal must pass
    pull: str = "export"  # one of PULLS: one CSV request, or 100 per request
    bulk_size: int = BULK_LIMIT


@dataclass
class SyncReport:
    """Everything the audit file and the summary are built from."""

    plan: SyncPlan | None = None
    pull_route: str = ""
    push_route: str = ""
    bulk_calls: int = 0
    legacy_calls: int = 0
    added_remote: list[Entry] = field(default_factory=list)
    added_local: list[Entry] = field(default_factory=list)
    removed_remote: list[Entry] = field(default_factory=list)
    removed_local: list[Entry] = field(default_factory=list)
    rejected: list[tuple[Entry, str]] = field(default_factory=list)
    unsupported: list[Entry] = field(default_factory=list)
    removals_pending: bool = False
    refusal: Refusal | None = None  # the guard a confirmed mirror run of this plan fails (see guards.py)
    applied: bool = False  # False: a dry run, or a run refused before any write
    legacy_fallback: bool = False


def _is_v2_refused(exc: Exception) -> bool:
    from lemlist_provider.hooks.errors import LemlistAuthError, LemlistNotFoundError

    if isinstance(exc, LemlistNotFoundError):
        return True
    return isinstance(exc, LemlistAuthError) and getattr(exc, "status", None) == 402


class LemlistSide:
    """Reads and writes lemlist's unsubscribes through a ``LemlistHook``, switching to legacy routes once
    v2 is refused (and remembering it for the rest of the run)."""

    def __init__(self, hook: Any, logger: logging.Logger | Any = log) -> None:
        self.hook = hook
        self.log = logger
        self.legacy = False
        self.report = SyncReport()

    def _fallback(self, exc: Exception, what: str) -> None:
        if not self.legacy:
            self.log.warning(
                "lemlist refused the v2 unsubscribe routes while %s (HTTP %s: %s); falling back to the legacy "
                "per-value routes (emails and @domains only, one request per value)",
                what, getattr(exc, "status", "?"), getattr(exc, "reason", "") or exc,
            )  # fmt: skip
        self.legacy = True

    # -- reading ------------------------------------------------------------------------------------
    def read(self, pull: str = "export") -> Iterator[Entry | Invalid]:
        """Every unsubscribe, normalised. The whole list is materialised by the caller (a set of keys)."""
        rows: list[tuple[str, str, str]] = []
        if not self.legacy:
            try:
                rows = list(self._rows(ROUTES["v2"], pull))
            except Exception as exc:
                if not _is_v2_refused(exc):
                    raise
                self._fallback(exc, "reading the unsubscribes")
        if self.legacy:
            rows = list(self._rows(ROUTES["legacy"], pull))
        for value, source, created in rows:
            yield normalise(value, source=source or "", created_at=created or "")

    def _rows(self, routes: tuple[str, str], pull: str) -> Iterator[tuple[str, str, str]]:
        """``(value, source, created)`` from the CSV export route, or page by page from the list route."""
        export, listing = routes
        if pull == "export":
            self.report.pull_route = f"GET {export}"
            yield from self._csv_rows(export)
            return
        self.report.pull_route = f"GET {listing} (paginated)"
        for item in self.hook.paginate(listing, style="offset", page_size=100):
            yield (item.get("value") or item.get("email") or "", item.get("source") or "",
                   item.get("createdAt") or item.get("unsubscribedAt") or "")  # fmt: skip

    def _csv_rows(self, path: str) -> Iterator[tuple[str, str, str]]:
        response = self.hook.request("GET", path, stream=True)
        with response:
            response.encoding = response.encoding or "utf-8"
            reader = csv.reader(response.iter_lines(decode_unicode=True))
            header = [h.strip().lower() for h in next(reader, [])]
            if "value" not in header:
                raise ValueError(f"{path} answered a CSV without a value column: {header[:5]}")
            vi = header.index("value")
            si = header.index("source") if "source" in header else None
            ci = header.index("createdat") if "createdat" in header else None
            for row in reader:
                if not row or vi >= len(row):
                    continue
                yield (
                    row[vi],
                    row[si] if si is not None and si < len(row) else "",
                    row[ci] if ci is not None and ci < len(row) else "",
                )

    # -- writing ------------------------------------------------------------------------------------
    def push(self, entries: list[Entry], bulk_size: int = BULK_LIMIT) -> None:
        """Add entries: bulk v2 calls of ≤ ``bulk_size`` values, or legacy per-value calls once refused."""
        bulk_size = max(1, min(bulk_size, BULK_LIMIT))
        pending = list(entries)
        while pending and not self.legacy:
            chunk, pending = pending[:bulk_size], pending[bulk_size:]
            try:
                self._bulk(chunk)
            except Exception as exc:
                if not _is_v2_refused(exc):
                    raise
                self._fallback(exc, "adding unsubscribes in bulk")
                pending = chunk + pending
        if pending:
            self._legacy_adds(pending)

    def _bulk(self, chunk: list[Entry]) -> None:
        from lemlist_provider.hooks.errors import LemlistClientError

        self.report.push_route = "POST /v2/unsubscribes/variables"
        try:
            self.report.bulk_calls += 1
            self.hook.add_unsubscribes_bulk([e.value for e in chunk])
        except LemlistClientError as exc:
            if len(chunk) == 1:  # lemlist refuses this one value: report it, push the others
                self.report.rejected.append((chunk[0], getattr(exc, "reason", "") or str(exc)))
                return
            half = len(chunk) // 2
            self.log.warning("lemlist refused a bulk of %d values (%s); splitting it to find the bad ones",
                             len(chunk), getattr(exc, "reason", "") or exc)  # fmt: skip
            self._bulk(chunk[:half])
            self._bulk(chunk[half:])
            return
        self.report.added_remote.extend(chunk)

    def _legacy_adds(self, entries: list[Entry]) -> None:
        from lemlist_provider.hooks.errors import LemlistClientError

        self.report.push_route = "POST /unsubscribes/{value}"
        for entry in entries:
            if entry.kind not in LEGACY_KINDS:
                self.report.unsupported.append(entry)
                continue
            try:
                self.report.legacy_calls += 1
                self.hook.add_unsubscribe(entry.value)
            except LemlistClientError as exc:
                self.report.rejected.append((entry, getattr(exc, "reason", "") or str(exc)))
                continue
            self.report.added_remote.append(entry)

    def remove(self, entries: list[Entry]) -> None:
        from lemlist_provider.hooks.errors import LemlistNotFoundError

        for entry in entries:
            if not self.legacy:
                try:
                    self.hook.delete_unsubscribe_variable(entry.value)
                    self.report.removed_remote.append(entry)
                    continue
                except Exception as exc:
                    if not _is_v2_refused(exc):
                        raise
                    self._fallback(exc, "removing an unsubscribe")
            try:
                self.hook.remove_unsubscribe(entry.value)
            except LemlistNotFoundError:
                pass  # already gone: the goal is reached
            self.report.removed_remote.append(entry)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def read_local(store: SuppressionStore) -> Side:
    return Side.collect(
        normalise(value, source=source, created_at=created) for value, source, created in store.read()
    )


def run_sync(
    hook: Any,
    store: SuppressionStore,
    options: SyncOptions,
    audit_path: Any = None,
    logger: logging.Logger | Any = log,
) -> dict[str, Any]:
    """Run one sync and return its summary (JSON-native, for XCom). Writes the audit file if a path is given.

    Mirror mode never works from a list it cannot see: a missing local file or table raises
    :class:`MissingSourceError` before anything is read, and a plan that fails a removal guard raises
    :class:`RemovalRefused` once the audit file holds the plan, before anything is written on either side.
    """
    started = time.monotonic()
    if options.mode == "mirror" and not store.exists():
        raise MissingSourceError(
            f"mirror mode needs the local list, but {store.describe()} does not exist; nothing was read or "
            "changed. Create it (an add_only run creates it with lemlist's entries) or point the sync at the "
            "right file or table."
        )
    lemlist = LemlistSide(hook, logger)
    report = lemlist.report
    local = read_local(store)
    remote = Side.collect(lemlist.read(options.pull))
    plan = plan_sync(local, remote, mode=options.mode, truth=options.truth)
    report.plan = plan
    report.refusal = check_removals(plan, options.limits, store.describe())
    removals = plan.remove_remote + plan.remove_local
    execute_removals = options.mode == "mirror" and options.confirm_removals and not options.dry_run
    report.removals_pending = bool(removals) and not execute_removals
    if execute_removals and report.refusal is not None:
        raise RemovalRefused(report.refusal, write_audit(audit_path, report, options) if audit_path else None)
    if not options.dry_run:
        report.applied = True
        lemlist.push(plan.to_remote, options.bulk_size)
        stamp = now_iso()
        report.added_local = list(plan.to_local)
        store.add(
            [Entry(e.value, e.kind, f"lemlist:{e.source or 'unknown'}", stamp) for e in plan.to_local],
            "lemlist",
            stamp,
        )
        if execute_removals:
            lemlist.remove(plan.remove_remote)
            store.remove(plan.remove_local)
            report.removed_local = list(plan.remove_local)
    report.legacy_fallback = lemlist.legacy
    audit_file = write_audit(audit_path, report, options) if audit_path else None
    return summarise(report, options, store.describe(), hook, audit_file, time.monotonic() - started)


def _removal_action(done: bool, refusal: Refusal | None) -> tuple[str, str]:
    """A planned removal's audit action and the reason's suffix: done, refused by a guard, or pending."""
    if done:
        return "removed", ""
    if refusal is not None:
        return "refused", f"; refused by the {refusal.guard} guard"
    return "would_remove", ""


def _audit_rows(report: SyncReport, options: SyncOptions) -> Iterator[tuple[str, ...]]:
    """Every planned or applied change, then the entries kept, refused by lemlist and invalid.

    A run that wrote nothing (dry run, or refused by a guard) lists its planned adds as ``would_add``; a
    planned removal is ``removed``, ``would_remove`` (a confirmed run would remove it) or ``refused`` (a
    confirmed run fails that guard and removes nothing).
    """
    plan = report.plan
    assert plan is not None
    would = not report.applied
    adds_remote = plan.to_remote if would else report.added_remote
    adds_local = plan.to_local if would else report.added_local
    for e in adds_remote:
        yield ("would_add" if would else "added", "lemlist", e.value, e.kind, "local", e.source, "")
    for e in adds_local:
        yield ("would_add" if would else "added", "local", e.value, e.kind, "lemlist", e.source, "")
    done_remote = {e.key for e in report.removed_remote}
    for e in plan.remove_remote:
        action, refused = _removal_action(e.key in done_remote, report.refusal)
        yield (
            action,
            "lemlist",
            e.value,
            e.kind,
            "local",
            e.source,
            f"not in the local list (mirror){refused}",
        )
    done_local = {e.key for e in report.removed_local}
    for e in plan.remove_local:
        action, refused = _removal_action(e.key in done_local, report.refusal)
        yield (action, "local", e.value, e.kind, "lemlist", e.source, f"not on lemlist (mirror){refused}")
    for e in plan.kept_protected:
        yield (
            "kept",
            "lemlist",
            e.value,
            e.kind,
            "lemlist",
            e.source,
            "created by the person: never removed",
        )
    for e, reason in report.rejected:
        yield ("rejected", "lemlist", e.value, e.kind, "local", e.source, reason)
    for e in report.unsupported:
        yield (
            "not_pushed",
            "lemlist",
            e.value,
            e.kind,
            "local",
            e.source,
            "the legacy route takes emails and @domains only",
        )
    for bad in plan.local_invalid:
        yield ("invalid", "local", bad.raw, "", "local", bad.source, bad.reason)
    for bad in plan.remote_invalid:
        yield ("invalid", "lemlist", bad.raw, "", "lemlist", bad.source, bad.reason)


def write_audit(path: Any, report: SyncReport, options: SyncOptions) -> str:
    with writing("audit_dir", path, "w", newline="", encoding="utf-8") as handle:
        writer = safe_csv.writer(handle, lineterminator="\n")
        writer.writerow(AUDIT_COLUMNS)
        writer.writerows(_audit_rows(report, options))
    return str(path)


def summarise(
    report: SyncReport, options: SyncOptions, store: str, hook: Any, audit_file: str | None, seconds: float
) -> dict[str, Any]:
    plan = report.plan
    assert plan is not None
    metrics = hook.metrics()
    removed_remote = len(report.removed_remote)
    removed_local = len(report.removed_local)
    return {
        "mode": options.mode,
        "truth": options.truth if options.mode == "mirror" else None,
        "dry_run": options.dry_run,
        "local_store": store,
        "pull_route": report.pull_route,
        "push_route": report.push_route or None,
        "legacy_fallback": report.legacy_fallback,
        "local_total": plan.local_total,
        "lemlist_total": plan.remote_total,
        "in_both": plan.in_both,
        "to_lemlist": len(plan.to_remote),
        "to_local": len(plan.to_local),
        "added_to_lemlist": len(report.added_remote),
        "added_to_local": len(report.added_local),
        "removed_from_lemlist": removed_remote,
        "removed_from_local": removed_local,
        "would_remove_from_lemlist": len(plan.remove_remote) - removed_remote,
        "would_remove_from_local": len(plan.remove_local) - removed_local,
        "removals_pending": report.removals_pending,
        "removal_guard": report.refusal.guard if report.refusal else None,
        "removal_refused": report.refusal.message if report.refusal else None,
        "kept_protected": len(plan.kept_protected),
        "invalid_local": len(plan.local_invalid),
        "invalid_lemlist": len(plan.remote_invalid),
        "duplicates_local": plan.local_duplicates,
        "rejected_by_lemlist": len(report.rejected),
        "not_pushed_legacy": len(report.unsupported),
        "bulk_calls": report.bulk_calls,
        "legacy_calls": report.legacy_calls,
        **http_figures(metrics),
        "waited_seconds": float(metrics.get("waited_seconds", 0.0)),
        "audit_file": audit_file,
        "seconds": round(seconds, 3),
    }


def run_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Log the run's one line and hand the summary on: the last task of the sync DAG, what ``make demo`` reads."""
    log.info("%s", run_summary_line(summary))
    return summary


def run_summary_line(summary: dict[str, Any]) -> str:
    """One line for ``make demo`` and the task log."""
    if not summary:
        return "unsubscribe sync: no summary"
    mode = summary.get("mode", "?") + (" dry run" if summary.get("dry_run") else "")
    removed = summary.get("removed_from_lemlist", 0) + summary.get("removed_from_local", 0)
    pending = summary.get("would_remove_from_lemlist", 0) + summary.get("would_remove_from_local", 0)
    verb = "would add" if summary.get("dry_run") else "added"
    guard = summary.get("removal_guard")
    return (
        f"unsubscribe sync [{mode}, {summary.get('local_store')}]: local {summary.get('local_total')} / "
        f"lemlist {summary.get('lemlist_total')} ({summary.get('in_both')} in both); {verb} "
        f"{summary.get('to_lemlist') if summary.get('dry_run') else summary.get('added_to_lemlist')} to lemlist "
        f"and {summary.get('to_local') if summary.get('dry_run') else summary.get('added_to_local')} locally; "
        f"removed {removed}{f' ({pending} pending confirmation)' if pending else ''}"
        f"{f', a confirmed run is refused by the {guard} guard' if guard else ''}; "
        f"invalid {summary.get('invalid_local', 0)} local + {summary.get('invalid_lemlist', 0)} lemlist, "
        f"{summary.get('rejected_by_lemlist', 0)} refused by lemlist; "
        f"{summary.get('requests')} requests ({summary.get('bulk_calls')} bulk, {summary.get('legacy_calls')} legacy), "
        f"{summary.get('rate_limited')} x 429, {summary.get('retries')} retries"
    )

"""Start enrichments so that each person is charged at most once, whatever happens to the answers.

A start spends credits, and lemlist offers no lookup of enrichments by their ``metadata``: a start whose answer
was lost (worker killed, connection reset, a 5xx or a body that is not JSON after lemlist applied it, any
exception after the send) cannot be told apart from one that never arrived. So:

- every start is announced in the run's :class:`~lemlist_provider.enrichment.ledger.Ledger` before it is sent
  (durably) and settled there once its answer is understood; a refusal (4xx, 402) is settled too, since a
  refused request was not applied;
- a start announced but never settled is never resent blindly: its people are reported ``outcome_unknown``
  (charged at most once). ``resend_unknown`` resends them on purpose;
- where a safe check exists it is used instead: ``POST /leads/{id}/enrich`` sent again *without* ``force``
  answers 409 while that lead is being enriched, and once it has the data, so a lead whose start is unknown
  is checked that way and never charged twice (lemlist does not run two enrichments of one contact);
- the hook never resends a start itself (a 5xx or timeout on these POSTs raises at once).

People are started once per ``identity`` (see :mod:`.items`); :func:`per_row` reports every input row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lemlist_provider.hooks.endpoints import ENRICHMENT_LOOKUPS

from .items import bulk_payload, query_flags
from .ledger import Ledger
from .results import result_row

BULK_LIMIT = 500
ALREADY = ("already_enriched", "already being enriched", "recently enriched")
UNKNOWN = (
    "the start was sent but its answer was lost ({why}): it may have been applied and charged, so it is not "
    "resent; set resend_unknown to resend it on purpose (it may be charged again)"
)


def _record(item: dict, status: str, enrichment_id: str | None = None, error: str = "") -> dict:
    """The outcome of one person's start (by ``identity``), as the ledger keeps it."""
    return {"identity": item["identity"], "leadId": item.get("leadId"), "input": item.get("input") or {},
            "enrichmentId": enrichment_id, "status": status, "error": error}  # fmt: skip


def _lost(exc: BaseException) -> str:
    """Why an answer was lost, for the ``outcome_unknown`` reason (never the answer's content)."""
    status = getattr(exc, "status", None)
    return f"HTTP {status}" if status else type(exc).__name__


def _refused(exc: Exception) -> str | None:
    """The reason when lemlist refused the request before applying it (a 4xx), else ``None``."""
    from lemlist_provider.hooks.errors import LemlistClientError, LemlistRateLimitError

    if isinstance(exc, LemlistRateLimitError):
        return "rate limited (429) for longer than the hook waits; not started"
    status = getattr(exc, "status", None)
    if isinstance(exc, LemlistClientError) or (isinstance(status, int) and 400 <= status < 500):
        code = "NOT_ENOUGH_CREDITS: " if status == 402 else ""
        return f"{code}{status} {getattr(exc, 'reason', '') or exc}".strip()
    return None


class _Starter:
    """One try's starts: announce, send, settle; what this try started, reused, or could not confirm."""

    def __init__(self, hook: Any, ledger: Ledger, kinds: list[str], flags: dict[str, bool], *,
                 force: bool, webhook_url: str | None, log: Any) -> None:  # fmt: skip
        self.hook, self.ledger, self.kinds, self.flags = hook, ledger, kinds, flags
        self.force, self.webhook_url, self.log = force, webhook_url, log
        self.records: dict[str, dict] = {}
        self.counters = {
            "bulk_calls": 0,
            "single_calls": 0,
            "reused": 0,
            "rechecked": 0,
            "outcome_unknown": 0,
        }

    def unknown(self, people: list[dict], why: str) -> None:
        for person in people:
            self.records[person["identity"]] = _record(
                person, "outcome_unknown", error=UNKNOWN.format(why=why)
            )
        self.counters["outcome_unknown"] += len(people)
        if self.log is not None and people:
            self.log.warning(
                "%d enrichment start(s) with an unknown outcome (%s): not resent", len(people), why
            )

    def _settle(self, start: str, records: list[dict]) -> None:
        self.ledger.settle(start, records)
        for record in records:
            self.records[record["identity"]] = record

    def bulk(self, chunk: list[dict]) -> None:
        """One ``POST /v2/enrichments/bulk`` for ``chunk``, announced first."""
        start = self.ledger.announce([p["identity"] for p in chunk], "POST /v2/enrichments/bulk")
        self.counters["bulk_calls"] += 1
        try:
            answers = self.hook.enrich_bulk([bulk_payload(p, self.kinds, start) for p in chunk],
                                            webhook_url=self.webhook_url)  # fmt: skip
            if not isinstance(answers, list):
                raise ValueError("the bulk answer is not a list")
        except Exception as exc:
            refused = _refused(exc)
            if refused is None:
                self.unknown(chunk, _lost(exc))
                return
            self._settle(start, [_record(p, "error", error=refused) for p in chunk])
            if getattr(exc, "status", None) in (401, 403):
                raise
            return
        self._settle(start, _match_bulk(chunk, answers))

    def lead(self, person: dict, *, recheck: bool = False) -> None:
        """One ``POST /leads/{id}/enrich``, announced first. A ``recheck`` (the earlier start's outcome is
        unknown) goes without ``force``: lemlist then answers 409 if that start was applied."""
        start = self.ledger.announce([person["identity"]], "POST /leads/{leadId}/enrich")
        self.counters["rechecked" if recheck else "single_calls"] += 1
        try:
            answer = self.hook.enrich_lead(
                person["leadId"], lookups={name: self.flags.get(name) for name in ENRICHMENT_LOOKUPS},
                force=True if self.force and not recheck else None, webhook_url=self.webhook_url,
            )  # fmt: skip
            enrichment_id = answer.get("id") if isinstance(answer, dict) else None
            if not enrichment_id:
                raise ValueError("no enrichment id in the answer")
        except Exception as exc:
            record = self._lead_refusal(person, exc, recheck)
            if record is None:
                self.unknown([person], _lost(exc))
                return
            self._settle(start, [record])
            if getattr(exc, "status", None) in (401, 403):
                raise
            return
        self._settle(start, [_record(person, "started", str(enrichment_id))])

    def _lead_refusal(self, person: dict, exc: Exception, recheck: bool) -> dict | None:
        from lemlist_provider.hooks.errors import LemlistNotFoundError

        if isinstance(exc, LemlistNotFoundError):
            return _record(person, "error", error="LEAD_NOT_FOUND")
        reason = getattr(exc, "reason", "") or ""
        if getattr(exc, "status", None) == 409 or any(a in reason.lower() for a in ALREADY):
            if recheck:
                reason = (
                    f"{reason or '409'}: an earlier try's start of this run reached lemlist (charged once)"
                )
            return _record(person, "skipped", error=reason or "ALREADY_ENRICHED")
        refused = _refused(exc)
        return None if refused is None else _record(person, "error", error=refused)


def start_enrichments(
    hook: Any,
    people: list[dict],
    enrichments: list[str],
    kinds: list[str],
    *,
    ledger: Ledger,
    force: bool = False,
    resend_unknown: bool = False,
    chunk_size: int = BULK_LIMIT,
    webhook_url: str | None = None,
    log: Any = None,
) -> tuple[dict[str, dict], dict[str, int]]:
    """Start every person of ``people`` (one item per ``identity``) that the ledger has not seen yet.

    Bulk where the person has data, ``/leads/{id}/enrich`` otherwise. A person the ledger already settled is
    reused; one whose start is unknown is rechecked (lead) or reported ``outcome_unknown`` (bulk) unless
    ``resend_unknown``. ``webhook_url`` is passed to lemlist with every start. Returns the records by
    identity (status ``started``, ``skipped``, ``error`` or ``outcome_unknown``) and the try's counters.
    """
    starter = _Starter(hook, ledger, kinds, query_flags(enrichments), force=force, webhook_url=webhook_url,
                       log=log)  # fmt: skip
    bulk: list[dict] = []
    single: list[tuple[dict, bool]] = []
    for person in people:
        identity = person["identity"]
        if identity in ledger.settled:
            starter.records[identity] = ledger.settled[identity]
            starter.counters["reused"] += 1
        elif identity in ledger.unknown and person["mode"] != "bulk":
            single.append((person, True))
        elif identity in ledger.unknown and not resend_unknown:
            starter.unknown([person], "an earlier try of this run was interrupted after sending it")
        elif person["mode"] == "bulk":
            bulk.append(person)
        else:
            single.append((person, False))
    chunk_size = max(1, min(BULK_LIMIT, chunk_size))
    for begin in range(0, len(bulk), chunk_size):
        starter.bulk(bulk[begin : begin + chunk_size])
    for person, recheck in single:
        starter.lead(person, recheck=recheck)
    return starter.records, starter.counters


def per_row(items: list[dict], by_identity: dict[str, dict]) -> list[dict]:
    """One record per input row, in input order: each row reports its person's record under its own key."""
    rows = []
    for item in items:
        record = by_identity[item["identity"]]
        rows.append({**record, "key": item["key"], "leadId": item.get("leadId") or record.get("leadId"),
                     "input": item.get("input") or record.get("input") or {}})  # fmt: skip
    return rows


def _match_bulk(chunk: list[dict], answers: list[Any]) -> list[dict]:
    """One answer per input, in order; metadata ``key`` (the identity) is checked when lemlist echoes it."""
    by_key = {}
    for answer in answers:
        meta = answer.get("metadata") if isinstance(answer, dict) else None
        if isinstance(meta, dict) and meta.get("key") is not None:
            by_key[str(meta["key"])] = answer
    out = []
    for index, person in enumerate(chunk):
        answer = by_key.get(person["identity"]) or (
            answers[index] if index < len(answers) and not by_key else None
        )
        if not isinstance(answer, dict):
            out.append(_record(person, "error", error="no answer for this item in the bulk response"))
        elif answer.get("id"):
            out.append(_record(person, "started", str(answer["id"])))
        else:
            out.append(_record(person, "error", error=str(answer.get("error") or "UNKNOWN_ERROR")))
    return out


def collect_results(hook: Any, records: Iterable[dict], *, pending_ids: Iterable[str] = ()) -> list[dict]:
    """Result rows for every record: started ones are read once more (``GET /enrich/{id}``, once per id even
    when several rows share a person), except the ids the wait already reported pending (they stay
    ``pending``)."""
    from lemlist_provider.hooks.errors import LemlistNotFoundError

    pending = set(pending_ids)
    read: dict[str, Any] = {}
    rows = []
    for record in records:
        item = {"key": record["key"], "leadId": record.get("leadId"), "input": record.get("input") or {}}
        eid = record.get("enrichmentId")
        if record["status"] != "started" or not eid:
            rows.append(result_row(item, record["status"], enrichment_id=eid, error=record.get("error", "")))
            continue
        if eid in pending:
            rows.append(result_row(item, "pending", enrichment_id=eid, error="not final at the deadline"))
            continue
        try:
            result = read[eid] if eid in read else hook.get_enrichment(eid)
        except LemlistNotFoundError:
            rows.append(result_row(item, "failed", enrichment_id=eid, error="enrichment not found (404)"))
            continue
        read[eid] = result
        error = str(result.body.get("error") or "") if result.status == "failed" else ""
        rows.append(result_row(item, result.status, enrichment_id=eid, error=error, body=result.body))
    return rows


def write_back(hook: Any, rows: list[dict], log: Any = None) -> dict[str, int]:
    """Set the found data as lead variables (``enrichmentStatus``, ``enrichedEmail``, ...) on final leads."""
    from lemlist_provider.hooks.errors import LemlistError

    counts = {"written": 0, "write_errors": 0}
    for row in rows:
        if not row.get("lead_id") or row["status"] not in ("done", "not_found"):
            continue
        variables = {"enrichmentStatus": row["status"], "enrichedEmail": row.get("found_email"),
                     "enrichedEmailStatus": row.get("email_status"), "enrichedPhone": row.get("found_phone"),
                     "enrichedLinkedinUrl": row.get("linkedin_url")}  # fmt: skip
        try:
            hook.set_lead_variables(row["lead_id"], {k: v for k, v in variables.items() if v})
            counts["written"] += 1
        except LemlistError as exc:
            counts["write_errors"] += 1
            if log is not None:
                log.warning("writing enrichment variables on lead %s failed: %s", row["lead_id"], exc)
    return counts

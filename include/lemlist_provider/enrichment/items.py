"""Turn the user's inputs (lead ids, people, a campaign's leads, a file's rows) into enrichment items.

An item is a JSON-native dict, so it can travel through XCom and a checkpoint file unchanged:
``{"key": str, "leadId": str | None, "input": {...}, "mode": "bulk" | "lead"}``. ``mode="lead"`` is
``POST /leads/{id}/enrich`` (the only way to enrich a lead known by id alone, and the only route that answers
409 ALREADY_ENRICHED); everything that has person data goes through ``POST /v2/enrichments/bulk``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any

#: user-facing enrichment name -> (bulk ``enrichmentRequests`` kind, single-call query flag)
ENRICHMENTS: dict[str, tuple[str, str]] = {
    "find_email": ("find_email", "findEmail"),
    "verify_email": ("verify", "verifyEmail"),
    "linkedin_enrichment": ("linkedin_enrichment", "linkedinEnrichment"),
    "find_phone": ("find_phone", "findPhone"),
}
INPUT_KEYS = ("email", "firstName", "lastName", "companyName", "companyDomain", "linkedinUrl", "jobTitle")
LEAD_ID_KEYS = ("leadId", "lead_id", "_id")
#: the variable written back on enriched leads; a campaign lead carrying a final value is not re-enriched
STATUS_VARIABLE = "enrichmentStatus"
FINAL_WRITTEN_BACK = {"done", "not_found"}


def kinds_for(enrichments: Iterable[str]) -> list[str]:
    """Bulk kinds for the user's enrichment names; unknown names fail before anything is spent."""
    names = list(dict.fromkeys(enrichments))
    unknown = [n for n in names if n not in ENRICHMENTS]
    if unknown:
        raise ValueError(f"unknown enrichment(s) {unknown}; choose from {sorted(ENRICHMENTS)}")
    if not names:
        raise ValueError("no enrichment requested: choose at least one of " + ", ".join(sorted(ENRICHMENTS)))
    return [ENRICHMENTS[n][0] for n in names]


def query_flags(enrichments: Iterable[str]) -> dict[str, bool]:
    return {ENRICHMENTS[n][1]: True for n in enrichments}


def _person(data: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(data[k]).strip() for k in INPUT_KEYS if data.get(k) not in (None, "") and str(data[k]).strip()
    }


def _lead_id(data: dict[str, Any]) -> str | None:
    for key in LEAD_ID_KEYS:
        if data.get(key):
            return str(data[key])
    return None


def items_from_lead_ids(lead_ids: Iterable[str]) -> list[dict]:
    return [{"key": str(i), "leadId": str(i), "input": {}, "mode": "lead"} for i in dict.fromkeys(lead_ids)]


def items_from_people(people: Iterable[dict | str], *, prefix: str = "person") -> list[dict]:
    """People as dicts (email / linkedinUrl / firstName+lastName+companyName) or bare emails."""
    items = []
    for number, person in enumerate(people, start=1):
        data = {"email": person} if isinstance(person, str) else dict(person)
        lead_id = _lead_id(data)
        person_data = _person(data)
        if lead_id and not person_data:
            items.append({"key": lead_id, "leadId": lead_id, "input": {}, "mode": "lead"})
            continue
        key = lead_id or person_data.get("email") or person_data.get("linkedinUrl") or f"{prefix}:{number}"
        items.append(
            {
                "key": f"{prefix}:{number}" if not lead_id else key,
                "leadId": lead_id,
                "input": person_data,
                "mode": "bulk",
            }
        )
    return items


def items_from_leads(leads: Iterable[dict], *, force: bool = False) -> tuple[list[dict], list[dict]]:
    """A campaign's exported leads -> (items, skipped). Without ``force``, leads whose written-back
    ``enrichmentStatus`` is already final are skipped: bulk enrichment cannot see lead history itself."""
    items, skipped = [], []
    for lead in leads:
        lead_id = _lead_id(lead)
        if not lead_id:
            continue
        item = {
            "key": lead_id,
            "leadId": lead_id,
            "input": _person(lead),
            "mode": "bulk" if _person(lead) else "lead",
        }
        if not force and str(lead.get(STATUS_VARIABLE, "")).lower() in FINAL_WRITTEN_BACK:
            skipped.append(item)
        else:
            items.append(item)
    return items, skipped


def read_rows(path: Any) -> list[dict]:
    """Rows of a CSV (comma or semicolon), JSON Lines or JSON array file (a ``Path`` or ``ObjectStoragePath``).

    A file that cannot be read raises ``ValueError`` naming the file and the line, never quoting its content.
    """
    suffix = path.suffix.lower()
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise ValueError(f"source {path}: not UTF-8 text; save it as UTF-8 and run again") from None
    if suffix not in (".jsonl", ".ndjson", ".json"):
        sample = text[:4096]
        delimiter = ";" if sample.count(";") > sample.count(",") else ","
        return [dict(row) for row in csv.DictReader(text.splitlines(), delimiter=delimiter)]
    try:
        if suffix == ".json" and text.lstrip().startswith("["):
            return list(json.loads(text))
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise ValueError(f"source {path}: not valid JSON Lines (line {exc.lineno}: {exc.msg})") from None


def build_items(
    *,
    lead_ids: Iterable[str] | None = None,
    people: Iterable[dict | str] | None = None,
    rows: Iterable[dict] | None = None,
) -> list[dict]:
    """Items from every explicit input, deduplicated by key (first one wins)."""
    items: list[dict] = []
    if lead_ids:
        items += items_from_lead_ids(lead_ids)
    if people:
        items += items_from_people(people)
    if rows:
        items += items_from_people(rows, prefix="row")
    seen: dict[str, dict] = {}
    for item in items:
        seen.setdefault(item["key"], item)
    return list(seen.values())


def bulk_payload(item: dict, kinds: list[str]) -> dict:
    """One element of ``POST /v2/enrichments/bulk``; the key travels as metadata to check the answer order."""
    return {"input": item["input"], "enrichmentRequests": kinds, "metadata": {"key": item["key"]}}

"""Turn the user's inputs (lead ids, people, a campaign's leads, a file's rows) into enrichment items.

An item is one input row, as a JSON-native dict so it can travel through XCom and the ledger unchanged:
``{"key": str, "identity": str, "leadId": str | None, "input": {...}, "mode": "bulk" | "lead"}``. ``key``
names the row in the results (``person:3``, ``row:12``, or the lead id); ``identity`` names the person, so
that rows repeating a person (the same lead, or the same email in any spelling) are enriched, and charged,
once. ``mode="lead"`` is ``POST /leads/{id}/enrich`` (the only way to enrich a lead known by id alone, and the
only route that answers 409 ALREADY_ENRICHED); everything that has person data goes through
``POST /v2/enrichments/bulk``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any

from lemlist_provider.emails import email_key

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


def identity(lead_id: str | None, person: dict[str, str], key: str) -> str:
    """Who a row enriches: the lead, else the email (in its comparison form), the LinkedIn profile, or the
    name at the company; a row with none of these is a person of its own (``key``)."""
    if lead_id:
        return f"lead:{lead_id}"
    if person.get("email") and (canonical := email_key(person["email"])):
        return f"email:{canonical}"
    if person.get("linkedinUrl"):
        return "linkedin:" + person["linkedinUrl"].strip().rstrip("/").lower()
    name = [
        person.get(k, "").strip().lower() for k in ("firstName", "lastName", "companyName", "companyDomain")
    ]
    if name[0] and name[1] and (name[2] or name[3]):
        return "name:" + "|".join(name)
    return f"row:{key}"


def _item(key: str, lead_id: str | None, person: dict[str, str]) -> dict:
    mode = "bulk" if person else "lead"
    return {
        "key": key,
        "identity": identity(lead_id, person, key),
        "leadId": lead_id,
        "input": person,
        "mode": mode,
    }


def items_from_lead_ids(lead_ids: Iterable[str]) -> list[dict]:
    """One row per id given; a repeated id is reported under ``<id>#<n>``."""
    seen: dict[str, int] = {}
    items = []
    for lead_id in map(str, lead_ids):
        seen[lead_id] = seen.get(lead_id, 0) + 1
        items.append(_item(lead_id if seen[lead_id] == 1 else f"{lead_id}#{seen[lead_id]}", lead_id, {}))
    return items


def items_from_people(people: Iterable[dict | str], *, prefix: str = "person") -> list[dict]:
    """People as dicts (email / linkedinUrl / firstName+lastName+companyName, optionally a lead id) or bare
    emails; each is reported as ``<prefix>:<n>``, its place in the input."""
    items = []
    for number, person in enumerate(people, start=1):
        data = {"email": person} if isinstance(person, str) else dict(person)
        items.append(_item(f"{prefix}:{number}", _lead_id(data), _person(data)))
    return items


def items_from_leads(leads: Iterable[dict], *, force: bool = False) -> tuple[list[dict], list[dict]]:
    """A campaign's exported leads -> (items, skipped). Without ``force``, leads whose written-back
    ``enrichmentStatus`` is already final are skipped: bulk enrichment cannot see lead history itself."""
    items, skipped = [], []
    for lead in leads:
        lead_id = _lead_id(lead)
        if not lead_id:
            continue
        item = _item(lead_id, lead_id, _person(lead))
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
    """One item per input row of every explicit input (rows repeating a person share its ``identity``)."""
    items: list[dict] = []
    if lead_ids:
        items += items_from_lead_ids(lead_ids)
    if people:
        items += items_from_people(people)
    if rows:
        items += items_from_people(rows, prefix="row")
    return items


def people_of(items: Iterable[dict]) -> dict[str, list[dict]]:
    """The input rows of each person (``identity``), in input order; the first row speaks for the person."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item["identity"], []).append(item)
    return groups


def bulk_payload(item: dict, kinds: list[str], start: str) -> dict:
    """One element of ``POST /v2/enrichments/bulk``. The metadata carries the person's identity (to match the
    answers) and the ledger's start id, which a late ``enrichmentDone`` webhook echoes back."""
    return {"input": item["input"], "enrichmentRequests": kinds,
            "metadata": {"key": item["identity"], "start": start}}  # fmt: skip

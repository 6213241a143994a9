"""The campaigns the last account overview saw, offered as suggestions in the trigger forms.

``lemlist_account_overview`` writes ``known_campaigns.json`` (ids, names, statuses: no lead data) in its
folder of the first output root; a DAG file reads it when it is parsed, to put the ids in its ``campaign_id``
Param's ``examples`` (Airflow's form shows them as a suggestion list, any other ``cam_...`` id may still be
typed). Reading is local, small and never fails a parse: no file, a remote output root or a damaged file
simply means no suggestions.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from lemlist_provider import paths, settings
from lemlist_provider.hooks.transport import slot_problem

log = logging.getLogger(__name__)

FOLDER = "lemlist_account_overview"
FILE_NAME = "known_campaigns.json"
MAX_SUGGESTIONS = 50
MAX_BYTES = 256 * 1024


def known_file() -> str:
    """Where the overview writes the campaigns it saw (first output root)."""
    return paths.default_output(FOLDER, FILE_NAME)


def write_known(campaigns: list[dict[str, Any]]) -> str:
    """Write the campaigns' ids, names and statuses, running ones first; returns the file written."""
    order = {"running": 0, "draft": 1, "paused": 2}
    known = sorted(
        ({"id": c.get("_id") or c.get("id"), "name": str(c.get("name") or ""), "status": str(c.get("status") or "")}
         for c in campaigns),
        key=lambda c: (order.get(c["status"], 3), c["name"]),
    )  # fmt: skip
    known = [c for c in known if slot_problem("campaign_id", c["id"]) is None]
    target = paths.output_location("known_campaigns", known_file())
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
    with paths.writing("known_campaigns", target, "w", encoding="utf-8") as handle:
        json.dump(known, handle)
    return str(target)


def known_campaign_ids() -> list[str] | None:
    """Up to ``MAX_SUGGESTIONS`` campaign ids for a form's suggestions; ``None`` when there are none."""
    try:
        roots = settings.output_roots()
        if not roots or "://" in roots[0]:
            return None
        target = paths.output_location("known_campaigns", known_file())
        if not target.is_file() or target.stat().st_size > MAX_BYTES:
            return None
        ids = [c["id"] for c in json.loads(target.read_text(encoding="utf-8")) if isinstance(c, dict)]
    except Exception as exc:  # noqa: BLE001 - a parse must never fail for want of suggestions
        log.debug("no campaign suggestions: %s", type(exc).__name__)
        return None
    ids = [i for i in ids if slot_problem("campaign_id", i) is None][:MAX_SUGGESTIONS]
    return ids or None

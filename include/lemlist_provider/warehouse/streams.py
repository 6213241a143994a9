"""The streams: each reads one part of lemlist and writes one table, for one data interval.

- ``lemlist_activities``: incremental on ``createdAt``. ``minDate`` is the interval's start less a small
  overlap (the lookback when the table is empty: the first run loads the history), ``maxDate`` the
  interval's end less 1 ms; pages are merged on the id, each with its checkpoint, so a retry resumes.
- ``lemlist_campaigns``: every campaign, merged on its id.
- ``lemlist_leads``: per campaign, its leads' current state, replacing that campaign's rows.
- ``lemlist_campaign_stats_daily``: v2 stats per campaign for each UTC day the interval touches, the day's
  rows replaced in one transaction (an hourly run refreshes today's partition).
- ``lemlist_unsubscribes``: every unsubscribed email and ``@domain``, replacing the table.
- ``lemcal_meetings``: every lemcal meeting, only when the lemcal connection exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from . import checkpoints
from .checkpoints import Checkpoint
from .database import Warehouse
from .tables import ACTIVITIES, CAMPAIGN_STATS_DAILY, CAMPAIGNS, LEADS, LEMCAL_MEETINGS, UNSUBSCRIBES

log = logging.getLogger(__name__)

PAGE = 100  # lemlist's largest page
LEADS_CAP = 500  # GET /campaigns/{id}/leads/ answers at most this many, with no offset
STATS_BATCH = 100  # campaign ids per POST /v2/campaigns/stats/batch


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Window:
    """The run's data interval ``[start, end)`` and how far activities reach back."""

    start: datetime
    end: datetime
    lookback: timedelta = timedelta(days=365)
    overlap: timedelta = timedelta(minutes=10)

    @property
    def key(self) -> str:
        return f"{iso(self.start)}/{iso(self.end)}"

    def days(self) -> list[datetime]:
        """Midnight (UTC) of each day the interval touches."""
        first = self.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        last = self.end - timedelta(milliseconds=1) if self.end > self.start else self.start
        out = [first]
        while out[-1] + timedelta(days=1) <= last:
            out.append(out[-1] + timedelta(days=1))
        return out


@dataclass(frozen=True)
class Sources:
    lemlist: Any  # LemlistHook
    lemcal: Any | None = None  # LemcalHook, when the lemcal connection exists


def sync_activities(sources: Sources, warehouse: Warehouse, window: Window) -> dict:
    checkpoint = checkpoints.load(warehouse, ACTIVITIES.name, window.key)
    resumed_from = checkpoint.next_offset if checkpoint else None
    if checkpoint is None:
        first_load = warehouse.count(ACTIVITIES) == 0
        low = window.end - window.lookback if first_load else window.start - window.overlap
        high = window.end - timedelta(milliseconds=1)
        checkpoint = Checkpoint(ACTIVITIES.name, window.key, iso(low), iso(high))
        if first_load:
            log.info(
                "lemlist warehouse: %s is empty; loading the history since %s", ACTIVITIES.name, iso(low)
            )
    else:
        log.info("lemlist warehouse: resuming %s %s at offset %d", ACTIVITIES.name, window.key, resumed_from)
    items = sources.lemlist.iter_activities(
        page_size=PAGE, start=checkpoint.next_offset, minDate=checkpoint.min_date, maxDate=checkpoint.max_date
    )
    loaded = 0
    while page := list(islice(items, PAGE)):
        checkpoint = checkpoint.advanced(checkpoint.next_offset + len(page))
        with warehouse.transaction() as cursor:
            warehouse.upsert(cursor, ACTIVITIES, [ACTIVITIES.row(record) for record in page])
            checkpoints.save(warehouse, cursor, checkpoint)
        loaded += len(page)
    with warehouse.transaction() as cursor:
        checkpoints.clear(warehouse, cursor, checkpoint)
    return {"rows": loaded, "min_date": checkpoint.min_date, "max_date": checkpoint.max_date,
            "resumed_from": resumed_from}  # fmt: skip


def sync_campaigns(sources: Sources, warehouse: Warehouse, window: Window) -> dict:
    rows = [CAMPAIGNS.row(record) for record in sources.lemlist.iter_campaigns()]
    with warehouse.transaction() as cursor:
        warehouse.upsert(cursor, CAMPAIGNS, rows)
    return {"rows": len(rows)}


def sync_leads(sources: Sources, warehouse: Warehouse, window: Window) -> dict:
    total = 0
    for campaign in sources.lemlist.iter_campaigns():
        campaign_id = campaign["_id"]
        leads = sources.lemlist.list_campaign_leads(campaign_id, state="all", limit=LEADS_CAP)
        if len(leads) >= LEADS_CAP:
            log.warning("lemlist warehouse: campaign %s answered %d leads, lemlist's cap for this route: "
                        "leads beyond it are not loaded", campaign_id, len(leads))  # fmt: skip
        # the route's lead carries no campaign id: the sync adds the one it asked for
        rows = [LEADS.row({**lead, "campaignId": campaign_id}) for lead in leads]
        warehouse.replace(LEADS, {"campaign_id": campaign_id}, rows)
        total += len(rows)
    return {"rows": total}


def sync_campaign_stats_daily(sources: Sources, warehouse: Warehouse, window: Window) -> dict:
    ids = [campaign["_id"] for campaign in sources.lemlist.iter_campaigns()]
    total, refused = 0, []
    for day in window.days():
        label = day.date().isoformat()
        end = iso(day + timedelta(days=1) - timedelta(milliseconds=1))
        rows = []
        for at in range(0, len(ids), STATS_BATCH):
            answer = sources.lemlist.get_campaigns_stats_batch(ids[at : at + STATS_BATCH], iso(day), end)
            for stats in answer.get("results", []):
                rows.append(CAMPAIGN_STATS_DAILY.row({**stats, "day": label}))
            refused += [{"day": label, **error} for error in answer.get("errors", [])]
        warehouse.replace(CAMPAIGN_STATS_DAILY, {"day": label}, rows)
        total += len(rows)
    for error in refused:
        log.warning("lemlist warehouse: no stats for campaign %s on %s: %s", error.get("campaignId"),
                    error["day"], error.get("error"))  # fmt: skip
    return {"rows": total, "days": [d.date().isoformat() for d in window.days()], "refused": refused}


def sync_unsubscribes(sources: Sources, warehouse: Warehouse, window: Window) -> dict:
    rows = [UNSUBSCRIBES.row(record) for record in sources.lemlist.list_unsubscribes(page_size=PAGE)]
    warehouse.replace(UNSUBSCRIBES, {}, rows)
    return {"rows": len(rows)}


def sync_lemcal_meetings(sources: Sources, warehouse: Warehouse, window: Window) -> dict:
    if sources.lemcal is None:
        log.info("lemlist warehouse: no lemcal connection; %s skipped", LEMCAL_MEETINGS.name)
        return {"rows": 0, "skipped": "no lemcal connection"}
    rows = [LEMCAL_MEETINGS.row(record) for record in sources.lemcal.list_meetings()]
    warehouse.replace(LEMCAL_MEETINGS, {}, rows)
    return {"rows": len(rows)}


STREAMS: dict[str, Callable[[Sources, Warehouse, Window], dict]] = {
    ACTIVITIES.name: sync_activities,
    CAMPAIGNS.name: sync_campaigns,
    LEADS.name: sync_leads,
    CAMPAIGN_STATS_DAILY.name: sync_campaign_stats_daily,
    UNSUBSCRIBES.name: sync_unsubscribes,
    LEMCAL_MEETINGS.name: sync_lemcal_meetings,
}

"""What the tests compare: the warehouse tables as plain rows, and what the sandbox holds, in the same form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lemlist_provider.warehouse.database import Warehouse, warehouse_hook
from lemlist_provider.warehouse.tables import STATS_COUNTERS, TABLES, raw_json
from lemlist_sandbox.routes.common import clean
from lemlist_sandbox.routes.stats import compute_stats

#: the sandbox history of every test ends here; intervals are hours around it
END = datetime(2026, 11, 28, tzinfo=UTC)


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def tables() -> dict[str, list[tuple]]:
    """Every warehouse table's rows, ordered by key, values in one form on SQLite and PostgreSQL."""
    warehouse = Warehouse(warehouse_hook())
    out = {}
    for name, table in TABLES.items():
        sql = f"SELECT {', '.join(table.column_names)} FROM {name} ORDER BY {', '.join(table.key)}"
        out[name] = [tuple(_plain(v) for v in row) for row in warehouse.hook.get_records(sql)]
    return out


def activities_of(team, low: datetime, high: datetime) -> list[tuple]:
    """The sandbox's activities with ``low <= createdAt < high`` as (id, type, created_at, raw_json) rows."""
    fmt = "%Y-%m-%dT%H:%M:%S.%f"
    lo, hi = low.strftime(fmt)[:-3] + "Z", high.strftime(fmt)[:-3] + "Z"
    rows = [(a["_id"], a["type"], a["createdAt"], raw_json(clean(a))) for a in team.activities
            if lo <= a["createdAt"] < hi]  # fmt: skip
    return sorted(rows)


def activity_rows(loaded: dict[str, list[tuple]]) -> list[tuple]:
    return [(row[0], row[1], row[2], row[-1]) for row in loaded["lemlist_activities"]]


def assert_matches_sandbox(loaded: dict[str, list[tuple]], team, first_end: datetime, last_end: datetime,
                           lookback: timedelta = timedelta(days=365)) -> None:  # fmt: skip
    """Row by row: activities of the loaded window, every campaign, lead and unsubscribe, and the stats of
    the last interval's day computed by the sandbox from its activities."""
    assert activity_rows(loaded) == activities_of(team, first_end - lookback, last_end)
    assert [row[0] for row in loaded["lemlist_campaigns"]] == sorted(team.campaigns)
    assert [(row[0], row[1], row[3]) for row in loaded["lemlist_leads"]] == sorted(
        (lead["_id"], lead["campaignId"], lead.get("state", "scanned")) for lead in team.leads.values()
    )
    assert [row[0] for row in loaded["lemlist_unsubscribes"]] == sorted(team.unsubscribes)
    day = (last_end - timedelta(milliseconds=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    start = day.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    end = (day + timedelta(days=1) - timedelta(milliseconds=1)).isoformat(timespec="milliseconds")
    end = end.replace("+00:00", "Z")
    expected = sorted(
        (cid, day.date().isoformat(), *(compute_stats(team, cid, start, end)[c] for c in STATS_COUNTERS))
        for cid in team.campaigns
    )
    got = [row[:-1] for row in loaded["lemlist_campaign_stats_daily"] if row[1] == day.date().isoformat()]
    assert got == expected

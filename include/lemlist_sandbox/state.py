"""In-memory state of the sandbox: several teams, each with its own key and its own data.

Every route is ``async def`` and runs on the one event loop, so no locking is needed.
"""

from __future__ import annotations

import itertools
import random
import string
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_ALPHABET = string.ascii_letters + string.digits
#: how many answered ``/api`` requests ``RequestStats.log`` keeps (the oldest go first)
REQUEST_LOG_SIZE = 100_000


class IdFactory:
    """lemlist ids look like ``cam_`` + 17 random characters; ours are random but reproducible."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._counter = itertools.count()

    def new(self, prefix: str) -> str:
        body = "".join(self._rng.choices(_ALPHABET, k=13)) + f"{next(self._counter) % 10000:04d}"
        return f"{prefix}_{body}"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Team:
    """One lemlist team. Collections are plain dicts keyed by id so routes stay simple."""

    id: str
    name: str
    api_key: str
    user_id: str  # the owner; lemcal authenticates with userId:apiKey
    credits: int = 1000
    info: dict[str, Any] = field(default_factory=dict)
    users: dict[str, dict] = field(default_factory=dict)
    campaigns: dict[str, dict] = field(default_factory=dict)
    sequences: dict[str, dict] = field(default_factory=dict)  # sequenceId -> {campaignId, steps: [...]}
    schedules: dict[str, dict] = field(default_factory=dict)
    leads: dict[str, dict] = field(default_factory=dict)  # leadId -> lead (with campaignId)
    unsubscribes: dict[str, dict] = field(default_factory=dict)  # normalised value -> entry
    enrichments: dict[str, dict] = field(default_factory=dict)
    exports: dict[str, dict] = field(default_factory=dict)
    hooks: dict[str, dict] = field(default_factory=dict)
    activities: list[dict] = field(default_factory=list)
    tasks: dict[str, dict] = field(default_factory=dict)
    inbox: dict[str, dict] = field(default_factory=dict)  # contactId -> conversation
    labels: dict[str, dict] = field(default_factory=dict)
    companies: dict[str, dict] = field(default_factory=dict)
    contacts: dict[str, dict] = field(default_factory=dict)
    mailboxes: dict[str, dict] = field(default_factory=dict)  # lemwarm, keyed by userMailboxId
    lemcal_meetings: dict[str, dict] = field(default_factory=dict)
    lemcal_meeting_types: dict[str, dict] = field(default_factory=dict)
    lemcal_hooks: dict[str, dict] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # anything else a route group needs

    def leads_in_campaign(self, campaign_id: str) -> list[dict]:
        return [lead for lead in self.leads.values() if lead.get("campaignId") == campaign_id]

    def find_lead(self, campaign_id: str | None, id_or_email: str) -> dict | None:
        """Find by lead id, or by email (case-insensitive), optionally within one campaign."""
        if id_or_email in self.leads:
            lead = self.leads[id_or_email]
            if campaign_id is None or lead.get("campaignId") == campaign_id:
                return lead
            return None
        email = id_or_email.strip().lower()
        for lead in self.leads.values():
            if (lead.get("email") or "").lower() == email and (
                campaign_id is None or lead.get("campaignId") == campaign_id
            ):
                return lead
        return None


@dataclass
class RequestStats:
    """What the sandbox saw, for tests and benchmarks to assert on."""

    total: int = 0
    by_route: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_route_status: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    rate_limited: int = 0  # 429 answered because the key was over its budget
    forced_429: int = 0  # 429 answered because of the force_429 fault
    faults_5xx: int = 0
    resets: int = 0
    unauthorized: int = 0
    server_errors: int = 0  # 500 answered because a route raised unexpectedly (a sandbox bug: keep at 0)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per team id
    peak_concurrency: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests_by_team: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    started_at: float = field(default_factory=time.time)
    #: one ``(unix time, team id, "METHOD /route/template", status)`` per answered request of a known key,
    #: in order (``GET /_sandbox/requests``); not part of ``to_dict``
    log: deque = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))
    logged: int = 0  # entries ever appended (more than ``len(log)`` once the oldest were dropped)

    def to_dict(self) -> dict:
        return {
            "total_requests": self.total,
            "by_route": dict(self.by_route),
            "by_status": dict(self.by_status),
            "by_route_status": {k: dict(v) for k, v in self.by_route_status.items()},
            "rate_limited_429": self.rate_limited,
            "forced_429": self.forced_429,
            "faults_5xx": self.faults_5xx,
            "connection_resets": self.resets,
            "unauthorized_401": self.unauthorized,
            "server_errors": self.server_errors,
            "peak_concurrency": dict(self.peak_concurrency),
            "requests_by_team": dict(self.requests_by_team),
            "uptime_seconds": round(time.time() - self.started_at, 3),
        }

    def requests(self, team_id: str | None = None, since: float = 0.0) -> dict:
        """The logged requests (of one team, answered at or after ``since``), oldest first, and how many
        older ones the bounded log no longer holds."""
        rows = [
            {"t": t, "team_id": team, "route": route, "status": status}
            for t, team, route, status in self.log
            if t >= since and (team_id is None or team == team_id)
        ]
        return {"requests": rows, "dropped": self.logged - len(self.log)}


class World:
    """All teams, looked up by API key (lemlist) or by userId:key (lemcal)."""

    def __init__(self, seed: int = 0) -> None:
        self.ids = IdFactory(seed)
        self.teams_by_key: dict[str, Team] = {}
        self.stats = RequestStats()

    def add_team(self, name: str, api_key: str, credits: int = 1000) -> Team:
        team = Team(
            id=self.ids.new("tea"),
            name=name,
            api_key=api_key,
            user_id=self.ids.new("usr"),
            credits=credits,
        )
        self.teams_by_key[api_key] = team
        return team

    def team_for_key(self, key: str | None) -> Team | None:
        if not key:
            return None
        return self.teams_by_key.get(key)

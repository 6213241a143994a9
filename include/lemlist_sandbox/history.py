"""Realistic volumes on demand: campaigns, leads, activities spread over past days, and unsubscribes.

``add_history(world, team, activities=100_000)`` gives a team what a data team loads into its warehouse:
``campaigns`` new campaigns (each with its sequence and schedule; 0: the team's own campaigns that have
leads, so nothing else of the team changes), up to ``leads_per_campaign`` leads each (the
campaign leads route answers at most 500 per campaign, as lemlist does), ``activities`` activities of every
type lemlist's webhooks list (sends, opens and clicks most often), their ``createdAt`` spread over the
``days`` days (or ``hours`` hours) before ``end``, and a few unsubscribed emails and domains. The same ``seed`` and ``end`` on the
same world give the same data, and 100,000 activities take about a second.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .routes.webhooks import ACTIVITY_EVENTS
from .seed import add_campaign, add_lead, add_unsubscribe
from .state import Team, World

#: the most frequent kinds, weighted; every other kind of ACTIVITY_EVENTS shares the rest
_COMMON = {"emailsSent": 40, "emailsOpened": 25, "emailsClicked": 8, "emailsReplied": 4, "emailsBounced": 2}
_RARE_WEIGHT = 0.3


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_history(
    world: World,
    team: Team,
    *,
    activities: int,
    campaigns: int = 10,
    leads_per_campaign: int = 200,
    days: int = 30,
    hours: int = 0,
    end: datetime | None = None,
    unsubscribes: int = 20,
    seed: int = 0,
) -> dict:
    """Add the volumes to ``team``; answers what was added and the time span of the activities."""
    if activities < 0 or campaigns < 0 or not 1 <= leads_per_campaign <= 500 or days < 1:
        raise ValueError("activities >= 0, campaigns >= 0, leads_per_campaign 1..500 and days >= 1")
    rng = random.Random(seed)
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = end - (timedelta(hours=hours) if hours else timedelta(days=days))
    span_ms = int((end - start).total_seconds() * 1000)
    kinds = list(ACTIVITY_EVENTS)
    weights = [_COMMON.get(kind, _RARE_WEIGHT) for kind in kinds]
    made = []
    for c in range(campaigns):
        campaign = add_campaign(world, team, f"History campaign {c + 1}", "running")
        campaign["createdAt"] = _iso(start)
        step_id = team.sequences[campaign["sequenceId"]]["steps"][0]["_id"]
        leads = [
            add_lead(
                world,
                team,
                campaign,
                f"lead{c}-{n}@history{c % 7}.example",
                firstName=f"Lead{n}",
                lastName=f"C{c}",
                companyName=f"Company {n % 50}",
                state="emailsSent",
                createdAt=_iso(start),
            )  # fmt: skip
            for n in range(leads_per_campaign)
        ]
        made.append((campaign, step_id, leads))
    if not campaigns:  # the activities go to the team's own campaigns and leads
        for campaign in team.campaigns.values():
            leads = team.leads_in_campaign(campaign["_id"])
            steps = team.sequences.get(campaign["sequenceId"], {}).get("steps") or [{}]
            if leads:
                made.append((campaign, steps[0].get("_id"), leads))
        if not made and activities:
            raise ValueError("campaigns=0 needs a team with a campaign that has leads")
    types = rng.choices(kinds, weights, k=activities)
    rows = team.activities
    for i in range(activities):
        campaign, step_id, leads = made[i % len(made)]
        lead = leads[rng.randrange(len(leads))]
        moment = start + timedelta(milliseconds=rng.randrange(1, span_ms))
        rows.append(
            {
                "_id": world.ids.new("act"),
                "type": types[i],
                "leadId": lead["_id"],
                "contactId": lead["contactId"],
                "campaignId": campaign["_id"],
                "sequenceId": campaign["sequenceId"],
                "stepId": step_id,
                "isFirst": rng.random() < 0.5,
                "createdAt": _iso(moment),
            }
        )
    for n in range(unsubscribes):
        add_unsubscribe(world, team, f"@optout{n}.example" if n % 4 == 0 else f"gone{n}@history.example")
    return {
        "campaigns": len(made),
        "leads": sum(len(leads) for _, _, leads in made),
        "activities": activities,
        "unsubscribes": unsubscribes,
        "start": _iso(start),
        "end": _iso(end),
    }

"""Initial data. ``demo`` gives the team behind ``sandbox-api-key`` something to look at; ``empty`` nothing.

Keys seeded by ``demo`` (documented in the README):
- ``sandbox-api-key``: "Sandbox Demo Team", 3 campaigns with sequences, leads, activities, unsubscribes.
- ``sandbox-other-key``: "Other Team", one campaign: proves that teams do not see each other's data.
"""

from __future__ import annotations

from .state import Team, World, now_iso

DEMO_KEY = "sandbox-api-key"
OTHER_KEY = "sandbox-other-key"

_DEMO_CAMPAIGNS = [
    ("Q4 Outbound - SaaS founders", "running"),
    ("Webinar follow-up", "paused"),
    ("Partner recruitment", "draft"),
]
_DEMO_PEOPLE = [
    ("ada@analytical.io", "Ada", "Lovelace", "Analytical Engines"),
    ("grace@cobol.dev", "Grace", "Hopper", "Cobol Labs"),
    ("alan@enigma.co.uk", "Alan", "Turing", "Enigma Ltd"),
    ("margaret@apollo.space", "Margaret", "Hamilton", "Apollo Software"),
    ("linus@kernel.org", "Linus", "Torvalds", "Kernel Org"),
    ("barbara@clu.edu", "Barbara", "Liskov", "CLU University"),
]
_DEMO_UNSUBSCRIBES = ["no-thanks@example.com", "optout@acme.test", "@competitor.example"]


def add_campaign(world: World, team: Team, name: str, status: str = "draft") -> dict:
    """Create a campaign with its sequence (one email step), as ``POST /campaigns`` does."""
    campaign_id = world.ids.new("cam")
    sequence_id = world.ids.new("seq")
    created = now_iso()
    campaign = {
        "_id": campaign_id,
        "name": name,
        "labels": [],
        "createdAt": created,
        "createdBy": team.user_id,
        "status": status,
        "sequenceId": sequence_id,
        "scheduleIds": [],
        "teamId": team.id,
        "hasError": False,
        "errors": [],
    }
    team.campaigns[campaign_id] = campaign
    team.sequences[sequence_id] = {
        "_id": sequence_id,
        "campaignId": campaign_id,
        "createdAt": created,
        "steps": [
            {
                "_id": world.ids.new("stp"),
                "sequenceId": sequence_id,
                "type": "email",
                "index": 0,
                "sequenceStep": 0,
                "delay": 0,
                "subject": "Hello {{firstName}}",
                "message": "Hi {{firstName}}, ...",
                "createdAt": created,
            }
        ],
    }
    schedule = add_schedule(world, team, "Default schedule")
    campaign["scheduleIds"].append(schedule["_id"])
    return campaign


def add_schedule(world: World, team: Team, name: str, **fields) -> dict:
    """A sending window; ``POST /campaigns`` gives every new campaign one (Mon-Fri 09:00-18:00)."""
    schedule = {
        "_id": world.ids.new("skd"),
        "name": name,
        "secondsToWait": 1200,
        "timezone": "Europe/Paris",
        "start": "09:00",
        "end": "18:00",
        "weekdays": [1, 2, 3, 4, 5],
        "public": False,
        "teamId": team.id,
        "createdBy": team.user_id,
        "createdAt": now_iso(),
        **fields,
    }
    team.schedules[schedule["_id"]] = schedule
    return schedule


def contact_id_for(world: World, team: Team, email: str | None) -> str:
    """One contact per email and team: a lead added to two campaigns shares its ``contactId``."""
    contacts: dict[str, str] = team.extra.setdefault("contact_ids", {})
    if not email:
        return world.ids.new("ctc")
    key = email.strip().lower()
    if key not in contacts:
        contacts[key] = world.ids.new("ctc")
    return contacts[key]


def add_lead(world: World, team: Team, campaign: dict, email: str | None, **fields) -> dict:
    lead_id = world.ids.new("lea")
    lead = {
        "_id": lead_id,
        "email": email.strip().lower() if email else None,
        "campaignId": campaign["_id"],
        "campaignName": campaign["name"],
        "contactId": contact_id_for(world, team, email),
        "isPaused": False,
        "state": "scanned",
        "createdAt": now_iso(),
        **fields,
    }
    team.leads[lead_id] = lead
    return lead


def add_unsubscribe(world: World, team: Team, value: str, source: str = "user") -> dict:
    value = value.strip().lower()
    entry = {
        "_id": world.ids.new("uns"),
        "value": value,
        "variable": variable_kind(value),
        "source": source,
        "unsubscribedAt": now_iso(),
        "createdAt": now_iso(),
    }
    if entry["variable"] == "email":
        entry["email"] = value
    team.unsubscribes[value] = entry
    return entry


def variable_kind(value: str) -> str:
    """What an unsubscribed value is: ``email``, ``domain`` (``@acme.com``), ``linkedinUrl`` or ``phone``."""
    if value.startswith("@"):
        return "domain"
    if "linkedin.com/" in value:
        return "linkedinUrl"
    if "@" in value:
        return "email"
    return "phone"


def seed_team(world: World, team: Team, seed: str) -> None:
    if seed == "empty":
        return
    if seed != "demo":
        raise ValueError(f"unknown seed {seed!r}: use 'demo' or 'empty'")
    campaigns = [add_campaign(world, team, name, status) for name, status in _DEMO_CAMPAIGNS]
    for i, (email, first, last, company) in enumerate(_DEMO_PEOPLE):
        campaign = campaigns[i % 2]
        lead = add_lead(world, team, campaign, email, firstName=first, lastName=last, companyName=company)
        team.activities.append(
            {
                "_id": world.ids.new("act"),
                "type": "emailsSent",
                "leadId": lead["_id"],
                "campaignId": campaign["_id"],
                "sequenceId": campaign["sequenceId"],
                "createdAt": now_iso(),
            }
        )
    for value in _DEMO_UNSUBSCRIBES:
        add_unsubscribe(world, team, value)


def apply_seed(world: World, seed: str) -> None:
    """Create the seeded teams. Every seed has the two documented keys, so clients can always log in."""
    demo = world.add_team("Sandbox Demo Team", DEMO_KEY, credits=5000)
    seed_team(world, demo, seed)
    other = world.add_team("Other Team", OTHER_KEY, credits=100)
    if seed == "demo":
        add_campaign(world, other, "Other team's campaign", "running")

"""What happens to a lead in a running campaign: sends, opens, clicks, replies, unsubscribes, bounces.

lemlist sends a running campaign's emails and then sees what the people do. The sandbox plays that as a
deterministic journey per lead, chosen by a word in the email's local part, one step every
``scaled(activity_delay)`` seconds (60 s before ``time_scale``), each step an activity and its webhooks:

| word in the local part | journey |
| --- | --- |
| ``softbounce`` | emailsSent, emailsBounced (``bounceType: soft``) |
| ``bounce`` | emailsSent, emailsBounced (``bounceType: hard``; the address joins the unsubscribes, source ``bounced``) |
| ``unsub`` | emailsSent, emailsOpened, emailsUnsubscribed (the address joins the unsubscribes, source ``lead``) |
| ``interested`` | emailsSent, emailsOpened, emailsReplied, emailsInterested |
| ``reply`` | emailsSent, emailsOpened, emailsReplied |
| ``click`` | emailsSent, emailsOpened, emailsClicked |
| anything else | emailsSent, emailsOpened |

The first time a lead is contacted, opens, clicks or replies, lemlist's lead-state event (``contacted``,
``hooked``, ``attracted``, ``warmed``) follows the channel event, and a lead marked interested also gets
``interested``. A journey runs while its campaign runs: a step that comes due in a paused campaign stops the
journey, and starting the campaign again resumes it where it stopped. Unsubscribed leads are never contacted.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .events import LEAD_STATE_OF, activity, emit
from .seed import add_unsubscribe
from .state import Team

if TYPE_CHECKING:
    from .sandbox import Sandbox

JOURNEYS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("softbounce", ("emailsSent", "emailsBounced")),
    ("bounce", ("emailsSent", "emailsBounced")),
    ("unsub", ("emailsSent", "emailsOpened", "emailsUnsubscribed")),
    ("interested", ("emailsSent", "emailsOpened", "emailsReplied", "emailsInterested")),
    ("reply", ("emailsSent", "emailsOpened", "emailsReplied")),
    ("click", ("emailsSent", "emailsOpened", "emailsClicked")),
)
DEFAULT_JOURNEY = ("emailsSent", "emailsOpened")
#: steps that become the lead's ``state`` (the others leave it as it is)
STATE_STEPS = frozenset({"emailsSent", "emailsOpened", "emailsClicked", "emailsReplied", "emailsBounced",
                         "emailsUnsubscribed"})  # fmt: skip


def journey_of(email: str | None) -> tuple[str, ...]:
    local = (email or "").split("@", 1)[0].lower()
    return next((steps for word, steps in JOURNEYS if word in local), DEFAULT_JOURNEY)


def start_campaign_journeys(sandbox: Sandbox, team: Team, campaign_id: str) -> int:
    """Start (or resume) the journey of every lead of a campaign that was just started; returns how many."""
    return sum(start_journey(sandbox, team, lead) for lead in team.leads_in_campaign(campaign_id))


def start_journey(sandbox: Sandbox, team: Team, lead: dict) -> bool:
    """Schedule the lead's next step if its campaign runs and the journey is not over (or already going)."""
    campaign = team.campaigns.get(lead.get("campaignId") or "")
    if campaign is None or campaign.get("status") != "running" or lead.get("__unsubscribed"):
        return False
    if lead.get("__journey_scheduled") or lead.get("__journey_step", 0) >= len(journey_of(lead.get("email"))):
        return False
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False  # no event loop (a direct call in a unit test): nothing is simulated
    lead["__journey_scheduled"] = True
    loop.call_later(sandbox.config.scaled(sandbox.config.activity_delay), _step, sandbox, team, lead)
    return True


def _step(sandbox: Sandbox, team: Team, lead: dict) -> None:
    lead["__journey_scheduled"] = False
    if team.leads.get(lead["_id"]) is not lead:
        return  # the lead was deleted meanwhile
    campaign = team.campaigns.get(lead.get("campaignId") or "", {})
    if campaign.get("status") != "running":
        return  # resumed by the next start of the campaign
    steps = journey_of(lead.get("email"))
    index = lead.get("__journey_step", 0)
    event_type = steps[index]
    lead["__journey_step"] = index + 1
    _happen(sandbox, team, lead, event_type)
    if lead["__journey_step"] < len(steps):
        start_journey(sandbox, team, lead)


def _happen(sandbox: Sandbox, team: Team, lead: dict, event_type: str) -> None:
    """One step: the lead's state, the unsubscribe list, the activity and its webhooks."""
    world, sender = sandbox.world, sandbox.sender
    extra: dict = {"sequenceStep": 0}
    if event_type == "emailsBounced":
        soft = "softbounce" in (lead.get("email") or "")
        extra["bounceType"] = "soft" if soft else "hard"
        if not soft and lead.get("email"):
            add_unsubscribe(world, team, lead["email"], source="bounced")
    if event_type == "emailsUnsubscribed" and lead.get("email"):
        add_unsubscribe(world, team, lead["email"], source="lead")
        lead["__unsubscribed"] = True
    if event_type == "emailsInterested":
        lead["interest"] = "interested"
    if event_type in STATE_STEPS:
        lead["state"] = event_type
    emit(world, team, sender, activity(world, team, event_type, lead=lead, **extra))
    state_event = "interested" if event_type == "emailsInterested" else LEAD_STATE_OF.get(event_type)
    reached = lead.setdefault("__states", [])
    if state_event and state_event not in reached:
        reached.append(state_event)
        emit(world, team, sender, activity(world, team, state_event, lead=lead))

"""lemlist's webhook event types grouped into a few families, one Airflow Asset each.

lemlist sends ~75 event types (the ``Webhook.type`` enum of its OpenAPI spec). A DAG rarely cares about one
channel's spelling of an outcome: a reply is a reply whether it came by email, LinkedIn, WhatsApp or SMS. So
every type belongs to exactly one family, and each family is one Asset URI (``lemlist://events/<family>``)
that DAGs schedule on; the exact type stays in the asset event's ``extra``. A type lemlist adds later lands
in ``other`` instead of being refused, so no event is lost while this table catches up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

URI_PREFIX = "lemlist://events/"
OTHER = "other"


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    types: tuple[str, ...]

    @property
    def uri(self) -> str:
        return URI_PREFIX + self.name


FAMILIES: tuple[Family, ...] = (
    Family(
        "unsubscribed",
        "the lead unsubscribed: stop contacting them everywhere",
        ("emailsUnsubscribed",),
    ),
    Family(
        "bounced",
        "an email bounced: the address is bad",
        ("emailsBounced",),
    ),
    Family(
        "replied",
        "the lead replied on any channel (``warmed`` is lemlist's lead-state name for it)",
        ("warmed", "emailsReplied", "linkedinReplied", "whatsappReplied", "smsReplied"),
    ),
    Family(
        "interested",
        "the lead was marked interested, on any channel or by hand",
        (
            "interested",
            "emailsInterested",
            "linkedinInterested",
            "aircallInterested",
            "apiInterested",
            "manualInterested",
        ),
    ),  # fmt: skip
    Family(
        "not_interested",
        "the lead was marked not interested, on any channel or by hand",
        (
            "notInterested",
            "emailsNotInterested",
            "linkedinNotInterested",
            "aircallNotInterested",
            "apiNotInterested",
            "manualNotInterested",
        ),
    ),  # fmt: skip
    Family(
        "engaged",
        "the lead opened or clicked a message, or accepted an invite",
        (
            "hooked",
            "attracted",
            "emailsOpened",
            "emailsClicked",
            "linkedinOpened",
            "linkedinInviteAccepted",
            "whatsappMessageOpened",
        ),
    ),  # fmt: skip
    Family(
        "step_done",
        "a sequence step ran (message sent or delivered, visit, follow, invite, call, API step), or was skipped",
        (
            "contacted",
            "emailsSent",
            "linkedinSent",
            "linkedinVisitDone",
            "linkedinFollowDone",
            "linkedinFollowSkipped",
            "linkedinInviteDone",
            "linkedinEndorseDone",
            "linkedinEndorseSkipped",
            "linkedinVoiceNoteDone",
            "linkedinLikeLastPostDone",
            "linkedinLikeLastPostNoPost",
            "linkedinWithdrawInvitationDone",
            "whatsappMessageSent",
            "whatsappMessageDelivered",
            "smsSent",
            "smsDelivered",
            "aircallCreated",
            "aircallEnded",
            "aircallDone",
            "apiDone",
        ),
    ),  # fmt: skip
    Family(
        "step_failed",
        "a sequence step failed to run",
        (
            "emailsFailed",
            "linkedinSendFailed",
            "linkedinVisitFailed",
            "linkedinFollowFailed",
            "linkedinInviteFailed",
            "linkedinEndorseFailed",
            "linkedinVoiceNoteFailed",
            "linkedinLikeLastPostFailed",
            "linkedinWithdrawInvitationFailed",
            "whatsappMessageFailed",
            "smsFailed",
            "apiFailed",
        ),
    ),  # fmt: skip
    Family(
        "campaign",
        "a campaign was paused, resumed, stopped or completed",
        ("paused", "resumed", "stopped", "campaignComplete"),
    ),
    Family(
        "enrichment",
        "an enrichment finished or failed",
        ("enrichmentDone", "enrichmentError"),
    ),
    Family(
        "account_alert",
        "something on the account needs a person: sending domain, mailbox connection, send limit, lemwarm, "
        "deliverability",
        (
            "customDomainErrors",
            "connectionIssue",
            "sendLimitReached",
            "lemwarmPaused",
            "deliverabilityAlertTriggered",
        ),
    ),  # fmt: skip
    Family(
        "activity",
        "other lead activity: notes, call recordings and transcripts, inbox labels, signals",
        ("annotated", "callRecordingDone", "callTranscriptDone", "inboxLabelUpdated", "signalRegistered"),
    ),
    Family(OTHER, "an event type this table does not know yet (lemlist added it later)", ()),
)

BY_NAME: dict[str, Family] = {family.name: family for family in FAMILIES}
FAMILY_OF_TYPE: dict[str, str] = {t: family.name for family in FAMILIES for t in family.types}
EVENT_TYPES: frozenset[str] = frozenset(FAMILY_OF_TYPE)


def family_of(event_type: str) -> Family:
    """The family of an event type; an unknown type belongs to ``other``."""
    return BY_NAME[FAMILY_OF_TYPE.get(event_type, OTHER)]


#: lemlist's lead-state events ("Lead state groups"): each reports once per lead an outcome that a channel's
#: own event (``emailsReplied``, ``linkedinInterested`` ...) reports too
LEAD_STATE_TYPES = frozenset({"contacted", "hooked", "attracted", "warmed", "interested", "notInterested"})


def hook_types(families: Iterable[str]) -> list[str]:
    """The event types a hook subscribes to for ``families``: every channel's event, without the lead-state
    events, which would deliver each outcome a second time (under another dedupe key)."""
    return sorted(t for name in families for t in BY_NAME[name].types if t not in LEAD_STATE_TYPES)

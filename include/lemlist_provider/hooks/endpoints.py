"""Typed methods for every lemlist endpoint (``endpoint-reference.md``, the v2 routes and legacy add-lead).

Each method names its route, ``"GET /campaigns/{campaign_id}"``, and hands it with the slot values, in the
route's order, to the hook's ``_route``, which checks every value against its slot, URL-encodes it and
sends through the transport. Names follow lemlist's docs; ids are lemlist's (``cam_...``, ``lea_...``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from .errors import LemlistClientError
from .transport import split_route

ALREADY_IN_CAMPAIGN = "already in the campaign"
ALREADY_IN_TEAM = "already exists in another campaign"
ENRICHMENT_FAILED = {"failed", "error"}
CHUNK = 64 * 1024  # bytes per write when a download streams into a file


#: lemlist's enrichment lookups, by the names of its query flags
ENRICHMENT_LOOKUPS = ("findEmail", "verifyEmail", "linkedinEnrichment", "findPhone")


def _flags(**flags: Any) -> dict[str, Any]:
    """Query flags: booleans as lemlist's ``true``/``false``; ``None`` left out."""
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in flags.items() if v is not None}


@dataclass(frozen=True)
class EnrichmentResult:
    """``GET /enrich/{id}``: 202 while in progress, 200 when finished (``done`` or ``failed``)."""

    enrichment_id: str
    http_status: int
    status: str  # "pending" | "done" | "failed"
    body: dict

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def done(self) -> bool:
        return self.status == "done"

    @classmethod
    def from_response(cls, enrichment_id: str, http_status: int, body: Any) -> EnrichmentResult:
        body = body if isinstance(body, dict) else {}
        spelled = str(body.get("enrichmentStatus") or body.get("status") or "").lower()
        if http_status == 202 or spelled in ("pending", "in_progress", "running", "processing"):
            status = "pending"
        elif spelled in ENRICHMENT_FAILED:
            status = "failed"
        else:
            status = "done"
        return cls(enrichment_id, http_status, status, body)


def _export_status(http_status: int, body: Any) -> Any:
    """lemlist wraps an export's status: ``{"ok": true, "status": {...}}``."""
    return body["status"] if isinstance(body, dict) and isinstance(body.get("status"), dict) else body


class LemlistPollingMixin:
    """The reads a trigger polls, defined once for both hooks: each method only names its route, so on
    ``LemlistAsyncHook`` (whose ``_route`` is a coroutine) the same methods are awaited."""

    def get_team(self) -> dict:
        """``GET /team``: the key's team (``name``, ``_id``, ...)."""
        return self._route("GET /team")

    def get_enrichment(self, enrich_id: str) -> EnrichmentResult:
        """``GET /enrich/{enrichId}``: the enrichment ``enrich_id`` (``enr_...``), pending until 200."""
        then = partial(EnrichmentResult.from_response, enrich_id)
        return self._route("GET /enrich/{enrich_id}", enrich_id, then=then)

    def get_export_status(self, campaign_id: str, export_id: str) -> dict:
        """``GET /campaigns/{campaignId}/export/{exportId}/status``: the unwrapped status of the export
        ``export_id`` (``axp_...``) of ``campaign_id``: ``{"status": "pending"|"done"|"error", "url", ...}``."""
        route = "GET /campaigns/{campaign_id}/export/{export_id}/status"
        return self._route(route, campaign_id, export_id, then=_export_status)


class LemlistEndpointsMixin(LemlistPollingMixin):
    """Every endpoint; needs ``_route``, ``request`` and ``paginate`` (``LemlistHook``)."""

    # ---------------------------------------------------------------- team
    def get_team_members(self) -> list:
        """``GET /team/members``."""
        return self._route("GET /team/members")

    def get_team_overview(self) -> dict:
        """``GET /team/overview``."""
        return self._route("GET /team/overview")

    def get_credits(self) -> dict:
        """``GET /team/credits``: the enrichment credit balance."""
        return self._route("GET /team/credits")

    def get_senders(self, state: str | None = None) -> list:
        """``GET /team/senders``: senders and their campaigns, optionally of campaigns in ``state``."""
        return self._route("GET /team/senders", params=_flags(state=state))

    def get_crm_users(self) -> list:
        """``GET /team/crmUsers``."""
        return self._route("GET /team/crmUsers")

    def get_send_users(self) -> list:
        """``GET /team/sendUsers``."""
        return self._route("GET /team/sendUsers")

    def get_user(self, user_id: str) -> dict:
        """``GET /users/{userId}``: the user ``user_id`` (``usr_...``)."""
        return self._route("GET /users/{user_id}", user_id)

    # ---------------------------------------------------------------- campaigns
    def iter_campaigns(
        self, *, status: str | None = None, page_size: int = 100, **filters: Any
    ) -> Iterator[dict]:
        """``GET /campaigns?version=v2``, page by page: campaigns in ``status``, with lemlist's ``filters``."""
        params = {"version": "v2", **_flags(status=status, **filters)}
        return self.paginate("/campaigns", params, style="auto", page_size=page_size, items_key=None)

    def list_campaigns(
        self, *, status: str | None = None, page_size: int = 100, **filters: Any
    ) -> list[dict]:
        """``GET /campaigns?version=v2``: every campaign (a list or ``{campaigns, pagination}`` per page)."""
        return list(self.iter_campaigns(status=status, page_size=page_size, **filters))

    def create_campaign(self, name: str, **fields: Any) -> dict:
        """``POST /campaigns``: a campaign called ``name`` with lemlist's other ``fields``."""
        return self._route("POST /campaigns", json={"name": name, **fields})

    def get_campaign(self, campaign_id: str) -> dict:
        """``GET /campaigns/{campaignId}``: the campaign ``campaign_id`` (``cam_...``)."""
        return self._route("GET /campaigns/{campaign_id}", campaign_id)

    def update_campaign(self, campaign_id: str, **fields: Any) -> dict:
        """``PATCH /campaigns/{campaignId}``: set ``fields`` on the campaign ``campaign_id``."""
        return self._route("PATCH /campaigns/{campaign_id}", campaign_id, json=fields)

    def get_campaigns_reports(self, campaign_ids: Iterable[str] | None = None) -> Any:
        """``GET /campaigns/reports``: reports of ``campaign_ids`` (all campaigns when ``None``)."""
        params = {"campaignIds": ",".join(campaign_ids)} if campaign_ids else None
        return self._route("GET /campaigns/reports", params=params)

    def pause_campaign(self, campaign_id: str) -> Any:
        """``POST /campaigns/{campaignId}/pause`` (idempotent: resent after an ambiguous failure)."""
        return self._route("POST /campaigns/{campaign_id}/pause", campaign_id, replay_safe=True)

    def start_campaign(self, campaign_id: str) -> Any:
        """``POST /campaigns/{campaignId}/start`` (idempotent: resent after an ambiguous failure)."""
        return self._route("POST /campaigns/{campaign_id}/start", campaign_id, replay_safe=True)

    def get_campaign_stats(self, campaign_id: str, **params: Any) -> dict:
        """``GET /campaigns/{campaignId}/stats`` (v1) of ``campaign_id``, with lemlist's query ``params``."""
        return self._route("GET /campaigns/{campaign_id}/stats", campaign_id, params=params or None)

    def get_campaign_stats_v2(self, campaign_id: str, start_date: str, end_date: str, **params: Any) -> dict:
        """``GET /v2/campaigns/{campaignId}/stats`` of ``campaign_id`` between ``start_date`` and ``end_date``."""
        params = {"startDate": start_date, "endDate": end_date, **params}
        return self._route("GET /v2/campaigns/{campaign_id}/stats", campaign_id, params=params)

    def get_campaigns_stats_batch(
        self, campaign_ids: list[str], start_date: str, end_date: str, **body: Any
    ) -> Any:
        """``POST /v2/campaigns/stats/batch``: stats of up to 100 ``campaign_ids`` (a read: safe to resend)."""
        body = {"campaignIds": list(campaign_ids), "startDate": start_date, "endDate": end_date, **body}
        return self._route("POST /v2/campaigns/stats/batch", json=body, replay_safe=True)

    def import_leads_csv(self, campaign_id: str, file: IO[bytes] | bytes, filename: str = "leads.csv") -> Any:
        """``POST /campaigns/{campaignId}/leads/import``: a multipart CSV ``file`` into ``campaign_id``.

        Not resent on an ambiguous failure (the import may have run)."""
        files = {"file": (filename, file, "text/csv")}
        return self._route("POST /campaigns/{campaign_id}/leads/import", campaign_id, files=files)

    def import_leads_from_crm(
        self, campaign_id: str, crm: str, user_id: str, filter_id: str, **body: Any
    ) -> Any:
        """``POST /campaigns/{campaignId}/leads/import``: leads of the ``crm`` filter ``filter_id`` of
        ``user_id`` into ``campaign_id`` (``openapi-v2.json``)."""
        body = {"crm": crm, "userId": user_id, "filterId": filter_id, **body}
        return self._route("POST /campaigns/{campaign_id}/leads/import", campaign_id, json=body)

    # ---------------------------------------------------------------- sequences & steps
    def get_campaign_sequences(self, campaign_id: str) -> Any:
        """``GET /campaigns/{campaignId}/sequences``: an object keyed by sequence id, with the steps."""
        return self._route("GET /campaigns/{campaign_id}/sequences", campaign_id)

    def create_step(self, sequence_id: str, **step: Any) -> dict:
        """``POST /sequences/{sequenceId}/steps``: add ``step`` (``type``, ``subject``, ...) to ``sequence_id``."""
        return self._route("POST /sequences/{sequence_id}/steps", sequence_id, json=step)

    def update_step(self, sequence_id: str, step_id: str, **fields: Any) -> dict:
        """``PATCH /sequences/{sequenceId}/steps/{stepId}``: set ``fields`` on ``step_id`` (``stp_...``)."""
        route = "PATCH /sequences/{sequence_id}/steps/{step_id}"
        return self._route(route, sequence_id, step_id, json=fields)

    def delete_step(self, sequence_id: str, step_id: str) -> Any:
        """``DELETE /sequences/{sequenceId}/steps/{stepId}``."""
        return self._route("DELETE /sequences/{sequence_id}/steps/{step_id}", sequence_id, step_id)

    # ---------------------------------------------------------------- leads in a campaign
    def list_campaign_leads(
        self, campaign_id: str, *, state: str | None = None, limit: int | None = None
    ) -> list:
        """``GET /campaigns/{campaignId}/leads/``: ``limit`` and ``state`` only (no offset)."""
        route = "GET /campaigns/{campaign_id}/leads/"
        return self._route(route, campaign_id, params=_flags(state=state, limit=limit))

    def add_lead_to_campaign(
        self,
        campaign_id: str,
        email: str,
        *,
        deduplicate: bool | None = None,
        find_email: bool | None = None,
        verify_email: bool | None = None,
        linkedin_enrichment: bool | None = None,
        find_phone: bool | None = None,
        fields: Mapping[str, Any] | None = None,
        **more_fields: Any,
    ) -> dict:
        """``POST /campaigns/{campaignId}/leads/``: add the lead ``email``; "already there" is success.

        The flags (``deduplicate`` across the team, ``find_email``, ``verify_email``,
        ``linkedin_enrichment``, ``find_phone``) are lemlist's query flags. Lead fields and custom variables
        go in ``fields`` (any name, even one that matches an argument here, such as a CSV column called
        ``deduplicate``) or as keyword arguments for convenience.

        Returns the created lead, or ``{"email", "alreadyInCampaign": True, "duplicateScope":
        "campaign"|"team", "afterReplay"}``: ``afterReplay`` is True when an earlier attempt of this call failed
        ambiguously and was resent, so the lead may have been created by that first attempt.
        """
        params = _flags(
            deduplicate=deduplicate, findEmail=find_email, verifyEmail=verify_email,
            linkedinEnrichment=linkedin_enrichment, findPhone=find_phone,
        )  # fmt: skip
        body = {**(fields or {}), **more_fields, "email": email}
        return self._add_lead("POST /campaigns/{campaign_id}/leads/", (campaign_id,), email, params, body)

    def add_lead_to_campaign_legacy(
        self, campaign_id: str, email: str, *, deduplicate: bool | None = None, **fields: Any
    ) -> dict:
        """``POST /campaigns/{campaignId}/leads/{email}``: the older add-lead route every public client still
        uses; answers as ``add_lead_to_campaign``."""
        params = _flags(deduplicate=deduplicate)
        return self._add_lead(
            "POST /campaigns/{campaign_id}/leads/{email}", (campaign_id, email), email, params, fields
        )

    def _add_lead(self, route: str, values: tuple, email: str, params: dict, body: dict) -> dict:
        try:
            return self._route(route, *values, params=params or None, json=body, replay_safe=True)
        except LemlistClientError as exc:
            reason = (exc.reason or "").lower()
            if exc.status == 400 and (ALREADY_IN_CAMPAIGN in reason or ALREADY_IN_TEAM in reason):
                scope = "campaign" if ALREADY_IN_CAMPAIGN in reason else "team"
                return {
                    "email": email,
                    "alreadyInCampaign": True,
                    "duplicateScope": scope,
                    "afterReplay": exc.after_replay,
                }
            raise

    def get_campaign_lead(self, campaign_id: str, id_or_email: str) -> dict:
        """``GET /campaigns/{campaignId}/leads/{idOrEmail}``: the lead (``lea_...`` or email) in ``campaign_id``."""
        return self._route("GET /campaigns/{campaign_id}/leads/{lead}", campaign_id, id_or_email)

    def update_campaign_lead(self, campaign_id: str, id_or_email: str, **fields: Any) -> dict:
        """``PATCH /campaigns/{campaignId}/leads/{idOrEmail}``: set ``fields`` on the lead."""
        route = "PATCH /campaigns/{campaign_id}/leads/{lead}"
        return self._route(route, campaign_id, id_or_email, json=fields)

    def remove_lead_from_campaign(self, campaign_id: str, id_or_email: str, *, delete: bool = False) -> Any:
        """``DELETE /campaigns/{campaignId}/leads/{idOrEmail}``: unsubscribe the lead from the campaign;
        ``delete=True`` sends ``action=remove``."""
        params = {"action": "remove"} if delete else None
        route = "DELETE /campaigns/{campaign_id}/leads/{lead}"
        return self._route(route, campaign_id, id_or_email, params=params)

    def mark_campaign_lead_interested(self, campaign_id: str, id_or_email: str) -> Any:
        """``POST /campaigns/{campaignId}/leads/{idOrEmail}/interested``."""
        route = "POST /campaigns/{campaign_id}/leads/{lead}/interested"
        return self._route(route, campaign_id, id_or_email, replay_safe=True)

    def mark_campaign_lead_not_interested(self, campaign_id: str, id_or_email: str) -> Any:
        """``POST /campaigns/{campaignId}/leads/{idOrEmail}/notinterested``."""
        route = "POST /campaigns/{campaign_id}/leads/{lead}/notinterested"
        return self._route(route, campaign_id, id_or_email, replay_safe=True)

    # ---------------------------------------------------------------- leads (global)
    def search_leads(self, *, email: str | None = None, lead_id: str | None = None, **params: Any) -> Any:
        """``GET /leads?version=v2``: leads by ``email`` or ``lead_id``, with lemlist's other ``params``."""
        route = "GET /leads"
        return self._route(route, params={"version": "v2", **_flags(email=email, id=lead_id, **params)})

    def get_lead(self, email: str) -> Any:
        """``GET /leads/{email}?version=v2``: the lead ``email`` across campaigns."""
        return self._route("GET /leads/{email}", email, params={"version": "v2"})

    def pause_lead(self, id_or_email: str, campaign_id: str | None = None) -> Any:
        """``POST /leads/pause/{idOrEmail}``: pause the lead, in ``campaign_id`` only when given."""
        params = _flags(campaignId=campaign_id) or None
        return self._route("POST /leads/pause/{lead}", id_or_email, params=params, replay_safe=True)

    def resume_lead(self, id_or_email: str, campaign_id: str | None = None) -> Any:
        """``POST /leads/start/{idOrEmail}``: resume the lead, in ``campaign_id`` only when given."""
        params = _flags(campaignId=campaign_id) or None
        return self._route("POST /leads/start/{lead}", id_or_email, params=params, replay_safe=True)

    def mark_lead_interested(self, id_or_email: str) -> Any:
        """``POST /leads/interested/{idOrEmail}``."""
        return self._route("POST /leads/interested/{lead}", id_or_email, replay_safe=True)

    def mark_lead_not_interested(self, id_or_email: str) -> Any:
        """``POST /leads/notinterested/{idOrEmail}``."""
        return self._route("POST /leads/notinterested/{lead}", id_or_email, replay_safe=True)

    def set_lead_variables(self, lead_id: str, variables: dict[str, Any]) -> Any:
        """``POST /leads/{leadId}/variables``: ``variables`` as query parameters (as the OAS documents)."""
        return self._route("POST /leads/{lead_id}/variables", lead_id, params=variables, replay_safe=True)

    def update_lead_variables(self, lead_id: str, variables: dict[str, Any]) -> Any:
        """``PATCH /leads/{leadId}/variables``: ``variables`` as query parameters."""
        return self._route("PATCH /leads/{lead_id}/variables", lead_id, params=variables)

    def delete_lead_variables(self, lead_id: str, names: Iterable[str]) -> Any:
        """``DELETE /leads/{leadId}/variables``: delete the variables ``names`` (not the lead), each sent
        as an empty query parameter."""
        return self._route("DELETE /leads/{lead_id}/variables", lead_id, params={n: "" for n in names})

    def upload_voice_note(
        self, lead_id: str, step_id: str, file: IO[bytes] | bytes, filename: str = "note.mp3"
    ) -> Any:
        """``POST /leads/audio``: an mp3 ``file`` for the lead ``lead_id`` at the step ``step_id``."""
        files = {"file": (filename, file, "audio/mpeg")}
        return self._route("POST /leads/audio", params={"leadId": lead_id, "stepId": step_id}, files=files)

    # ---------------------------------------------------------------- enrichment (costs credits: never resent)
    def enrich_lead(
        self,
        lead_id: str,
        *,
        lookups: Mapping[str, bool | None] | None = None,
        force: bool | None = None,
        webhook_url: str | None = None,
    ) -> dict:
        """``POST /leads/{leadId}/enrich``: enrich the lead ``lead_id`` with ``lookups`` (lemlist's query flags
        by their names, ``ENRICHMENT_LOOKUPS``: ``{"findEmail": True}``); ``force`` re-runs them,
        ``webhook_url`` is called when done. An unknown lookup name is refused before anything is sent."""
        lookups = dict(lookups or {})
        unknown = sorted(set(lookups) - set(ENRICHMENT_LOOKUPS))
        if unknown:
            raise ValueError(f"unknown enrichment lookups {unknown}: use {', '.join(ENRICHMENT_LOOKUPS)}")
        params = _flags(**lookups, force=force, webhookUrl=webhook_url)
        return self._route("POST /leads/{lead_id}/enrich", lead_id, params=params)

    def enrich_person(self, **params: Any) -> dict:
        """``POST /enrich``: the person and the flags as query ``params``."""
        return self._route("POST /enrich", params=_flags(**params))

    def enrich_bulk(self, items: list[dict], *, webhook_url: str | None = None) -> list[dict]:
        """``POST /v2/enrichments/bulk``: at most 500 ``items``; one ``{id}`` or ``{error}`` per input."""
        if len(items) > 500:
            raise ValueError("lemlist accepts at most 500 enrichments per bulk call")
        route = "POST /v2/enrichments/bulk"
        return self._route(route, params=_flags(webhookUrl=webhook_url) or None, json=items)

    # ---------------------------------------------------------------- activities
    def iter_activities(self, *, page_size: int = 100, start: int = 0, **filters: Any) -> Iterator[dict]:
        """``GET /activities?version=v2``, page by page from offset ``start``, with ``filters`` (``type``,
        ``campaignId``, ``minDate``, ``maxDate``, ...): newest first."""
        return self.paginate(
            "/activities",
            {"version": "v2", **_flags(**filters)},
            style="offset",
            page_size=page_size,
            start=start,
        )

    def list_activities(self, *, page_size: int = 100, **filters: Any) -> list[dict]:
        """``GET /activities?version=v2`` with filters (``type``, ``campaignId``, ``minDate``, ...)."""
        return list(self.iter_activities(page_size=page_size, **filters))

    def get_lead_ids_from_activities(self, **filters: Any) -> Any:
        """``POST /overview/activities/leadIds``: lead ids matching the activity ``filters`` (a read)."""
        return self._route("POST /overview/activities/leadIds", json=filters, replay_safe=True)

    def get_lead_ids_from_overview(self, **filters: Any) -> Any:
        """``POST /overview/leads/ids``: lead ids matching the overview ``filters`` (a read)."""
        return self._route("POST /overview/leads/ids", json=filters, replay_safe=True)

    # ---------------------------------------------------------------- schedules
    def list_schedules(self, *, page_size: int = 100) -> list[dict]:
        """``GET /schedules``: every schedule."""
        return list(self.paginate("/schedules", style="auto", page_size=page_size))

    def create_schedule(self, name: str, **fields: Any) -> dict:
        """``POST /schedules``: a schedule ``name`` with ``timezone``, ``start``, ``end``, ``weekdays``."""
        return self._route("POST /schedules", json={"name": name, **fields})

    def get_schedule(self, schedule_id: str) -> dict:
        """``GET /schedules/{scheduleId}``: the schedule ``schedule_id`` (``skd_...``)."""
        return self._route("GET /schedules/{schedule_id}", schedule_id)

    def update_schedule(self, schedule_id: str, **fields: Any) -> dict:
        """``PATCH /schedules/{scheduleId}``: set ``fields`` on ``schedule_id``."""
        return self._route("PATCH /schedules/{schedule_id}", schedule_id, json=fields)

    def delete_schedule(self, schedule_id: str) -> Any:
        """``DELETE /schedules/{scheduleId}``."""
        return self._route("DELETE /schedules/{schedule_id}", schedule_id)

    def get_campaign_schedules(self, campaign_id: str) -> Any:
        """``GET /campaigns/{campaignId}/schedules/``: the schedules of ``campaign_id``."""
        return self._route("GET /campaigns/{campaign_id}/schedules/", campaign_id)

    def assign_schedules(self, campaign_id: str, schedule_ids: list[str]) -> Any:
        """``POST /campaigns/{campaignId}/schedules``: give ``campaign_id`` the ``schedule_ids``."""
        body = {"scheduleIds": list(schedule_ids)}
        route = "POST /campaigns/{campaign_id}/schedules"
        return self._route(route, campaign_id, json=body, replay_safe=True)

    def assign_schedule(self, campaign_id: str, schedule_id: str) -> Any:
        """``POST /campaigns/{campaignId}/schedules/{scheduleId}``: give ``campaign_id`` one schedule."""
        route = "POST /campaigns/{campaign_id}/schedules/{schedule_id}"
        return self._route(route, campaign_id, schedule_id, replay_safe=True)

    # ---------------------------------------------------------------- unsubscribes
    def list_unsubscribes(self, *, page_size: int = 100) -> list[dict]:
        """``GET /unsubscribes``: every unsubscribed email and ``@domain``."""
        return list(self.paginate("/unsubscribes", style="offset", page_size=page_size))

    def get_unsubscribe(self, value: str) -> Any:
        """``GET /unsubscribes/{value}``: whether the email or ``@domain`` ``value`` is unsubscribed."""
        return self._route("GET /unsubscribes/{value}", value)

    def add_unsubscribe(self, value: str) -> Any:
        """``POST /unsubscribes/{value}``: an email or ``@domain.com``; idempotent, so resent after an
        ambiguous failure."""
        return self._route("POST /unsubscribes/{value}", value, replay_safe=True)

    def remove_unsubscribe(self, value: str) -> Any:
        """``DELETE /unsubscribes/{value}``."""
        return self._route("DELETE /unsubscribes/{value}", value)

    def export_unsubscribes(self, fileobj: IO[bytes] | None = None, chunk_size: int = CHUNK) -> Any:
        """``GET /unsubs/export`` (CSV ``value,source,createdAt``): text, or written to ``fileobj``."""
        return self._download("GET /unsubs/export", fileobj=fileobj, chunk_size=chunk_size)

    def list_unsubscribe_variables(self, *, page_size: int = 100) -> list[dict]:
        """``GET /v2/unsubscribes/variables``: every unsubscribed value (email, domain, LinkedIn, phone)."""
        return list(self.paginate("/v2/unsubscribes/variables", style="offset", page_size=page_size))

    def add_unsubscribes_bulk(self, values: list[str]) -> Any:
        """``POST /v2/unsubscribes/variables`` with up to 10,000 ``values``; adds are idempotent."""
        if len(values) > 10_000:
            raise ValueError("lemlist accepts at most 10,000 values per bulk unsubscribe call")
        return self._route("POST /v2/unsubscribes/variables", json={"values": list(values)}, replay_safe=True)

    def get_unsubscribe_variable(self, value: str) -> dict:
        """``GET /v2/unsubscribes/variables/{value}``."""
        return self._route("GET /v2/unsubscribes/variables/{value}", value)

    def add_unsubscribe_variable(self, value: str) -> dict:
        """``POST /v2/unsubscribes/variables/{value}``: unsubscribe ``value`` (idempotent)."""
        return self._route("POST /v2/unsubscribes/variables/{value}", value, replay_safe=True)

    def delete_unsubscribe_variable(self, value: str) -> Any:
        """``DELETE /v2/unsubscribes/variables/{value}``: re-subscribe ``value``."""
        return self._route("DELETE /v2/unsubscribes/variables/{value}", value)

    # ---------------------------------------------------------------- webhooks
    def list_webhooks(self) -> list:
        """``GET /hooks``."""
        return self._route("GET /hooks")

    def create_webhook(
        self,
        target_url: str,
        *,
        type: str | list[str] | None = None,
        campaign_id: str | None = None,
        is_first: bool | None = None,
        secret: str | None = None,
    ) -> dict:
        """``POST /hooks``: call ``target_url`` on the events ``type`` (all when ``None``), of ``campaign_id``
        only, first touch only with ``is_first``; ``secret`` comes back in each payload."""
        body: dict[str, Any] = {"targetUrl": target_url}
        if type:
            body["type"] = ",".join(type) if isinstance(type, list) else type
        if secret:
            body["secret"] = secret
        params = _flags(campaignId=campaign_id, isFirst=is_first) or None
        return self._route("POST /hooks", json=body, params=params)

    def delete_webhook(self, hook_id: str) -> Any:
        """``DELETE /hooks/{_id}``: the webhook ``hook_id`` (``hoo_...``)."""
        return self._route("DELETE /hooks/{hook_id}", hook_id)

    # ---------------------------------------------------------------- inbox
    def list_inbox(self, *, user_id: str | None = None, page_size: int = 100) -> list[dict]:
        """``GET /inbox``: every conversation, of ``user_id`` only when given."""
        return list(self.paginate("/inbox", _flags(userId=user_id), style="page", page_size=page_size))

    def get_conversation(self, contact_id: str, **params: Any) -> Any:
        """``GET /inbox/{contactId}``: the conversation with ``contact_id`` (``ctc_...``)."""
        return self._route("GET /inbox/{contact_id}", contact_id, params=params or None)

    def send_email(self, **body: Any) -> Any:
        """``POST /inbox/email``: ``body`` as lemlist documents it (``contactId``, ``sendUserId``, ...)."""
        return self._route("POST /inbox/email", json=body)

    def send_linkedin_message(self, **body: Any) -> Any:
        """``POST /inbox/linkedin``."""
        return self._route("POST /inbox/linkedin", json=body)

    def send_whatsapp_message(self, **body: Any) -> Any:
        """``POST /inbox/whatsapp``."""
        return self._route("POST /inbox/whatsapp", json=body)

    def send_sms(self, **body: Any) -> Any:
        """``POST /inbox/sms``."""
        return self._route("POST /inbox/sms", json=body)

    def list_inbox_labels(self) -> Any:
        """``GET /inbox/labels``."""
        return self._route("GET /inbox/labels")

    def create_inbox_label(self, name: str, **fields: Any) -> dict:
        """``POST /inbox/labels``: a label ``name``."""
        return self._route("POST /inbox/labels", json={"labelName": name, **fields})

    def get_inbox_label(self, label_id: str) -> dict:
        """``GET /inbox/labels/{id}``: the label ``label_id`` (``lbl_...``)."""
        return self._route("GET /inbox/labels/{label_id}", label_id)

    def update_inbox_label(self, label_id: str, name: str | None = None, **fields: Any) -> dict:
        """``PATCH /inbox/labels/{id}``: rename ``label_id`` to ``name`` and set ``fields``."""
        if name is not None:
            fields["labelName"] = name
        return self._route("PATCH /inbox/labels/{label_id}", label_id, json=fields)

    def delete_inbox_label(self, label_id: str) -> Any:
        """``DELETE /inbox/labels/{id}``."""
        return self._route("DELETE /inbox/labels/{label_id}", label_id)

    def get_conversation_labels(self, contact_id: str) -> Any:
        """``GET /inbox/conversations/labels/{contactId}``."""
        return self._route("GET /inbox/conversations/labels/{contact_id}", contact_id)

    def assign_conversation_label(self, contact_id: str, label_id: str | list[str]) -> Any:
        """``POST /inbox/conversations/labels/{contactId}``: add the label(s) ``label_id``."""
        body = {"labelIds": label_id if isinstance(label_id, list) else [label_id], "appendLabels": True}
        route = "POST /inbox/conversations/labels/{contact_id}"
        return self._route(route, contact_id, json=body, replay_safe=True)

    def remove_conversation_label(self, contact_id: str, label_id: str | list[str]) -> Any:
        """``DELETE /inbox/conversations/labels/{contactId}``: remove the label(s) ``label_id``."""
        body = {"labelIds": label_id if isinstance(label_id, list) else [label_id]}
        return self._route("DELETE /inbox/conversations/labels/{contact_id}", contact_id, json=body)

    # ---------------------------------------------------------------- companies & contacts
    def list_companies(self, *, page_size: int = 100, **filters: Any) -> list[dict]:
        """``GET /companies``: every company matching lemlist's ``filters``."""
        return list(self.paginate("/companies", _flags(**filters), style="offset", page_size=page_size))

    def get_company_notes(self, company_id: str, *, page_size: int = 100) -> list[dict]:
        """``GET /companies/{companyId}/notes``: every note of ``company_id``."""
        notes = self.paginate(
            "/companies/{company_id}/notes",
            path_params={"company_id": company_id},
            style="page",
            page_size=page_size,
        )
        return list(notes)

    def create_company_note(self, company_id: str, content: str, **fields: Any) -> dict:
        """``POST /companies/{companyId}/notes``: a note with ``content`` on ``company_id``."""
        route = "POST /companies/{company_id}/notes"
        return self._route(route, company_id, json={"content": content, **fields})

    def search_contacts(self, ids_or_emails: Iterable[str] | None = None, **params: Any) -> Any:
        """``GET /contacts``: contacts by ``ids_or_emails`` (sent as ``idsOrEmails``) and lemlist's ``params``."""
        query = _flags(**params)
        if ids_or_emails:
            query["idsOrEmails"] = ",".join(ids_or_emails)
        return self._route("GET /contacts", params=query or None)

    def get_contact(self, id_or_email: str) -> dict:
        """``GET /contacts/{idOrEmail}``: the contact ``ctc_...`` or email."""
        return self._route("GET /contacts/{contact}", id_or_email)

    # ---------------------------------------------------------------- exports
    def export_campaign(self, campaign_id: str, fileobj: IO[bytes] | None = None, **params: Any) -> Any:
        """``GET /campaigns/{campaignId}/export``: the synchronous CSV export, text or written to ``fileobj``."""
        return self._download(
            "GET /campaigns/{campaign_id}/export", campaign_id, params=params, fileobj=fileobj
        )

    def start_export(self, campaign_id: str) -> dict:
        """``GET /campaigns/{campaignId}/export/start`` → ``{"id"/"_id": "axp_...", "status": "pending", ...}``."""
        return self._route("GET /campaigns/{campaign_id}/export/start", campaign_id)

    def email_export(self, campaign_id: str, export_id: str, email: str) -> Any:
        """``PUT /campaigns/{campaignId}/export/{exportId}/email/{email}``: mail the export's link to ``email``."""
        route = "PUT /campaigns/{campaign_id}/export/{export_id}/email/{email}"
        return self._route(route, campaign_id, export_id, email)

    def export_campaign_leads(
        self, campaign_id: str, *, state: str = "all", format: str = "csv", fileobj: IO[bytes] | None = None
    ) -> Any:
        """``GET /campaigns/{campaignId}/export/leads``: leads in ``state`` as CSV text (JSON with
        ``format="json"``), or written to ``fileobj``."""
        params = {"state": state, "format": format}
        return self._download(
            "GET /campaigns/{campaign_id}/export/leads", campaign_id, params=params, fileobj=fileobj
        )

    def export_campaign_list(self, campaign_id: str, fileobj: IO[bytes] | None = None, **params: Any) -> Any:
        """``GET /campaigns/{campaignId}/export/list``: CSV text, or written to ``fileobj``."""
        return self._download(
            "GET /campaigns/{campaign_id}/export/list", campaign_id, params=params, fileobj=fileobj
        )

    def export_contacts(self, fileobj: IO[bytes] | None = None, **params: Any) -> Any:
        """``GET /contacts/export``: CSV text, or written to ``fileobj``."""
        return self._download("GET /contacts/export", params=params, fileobj=fileobj)

    def export_activities(self, **filters: Any) -> Any:
        """``POST /overview/activities/export``: activities matching ``filters`` (a read)."""
        return self._route("POST /overview/activities/export", json=filters, replay_safe=True)

    def export_leads_overview(self, **filters: Any) -> Any:
        """``POST /overview/leads/export``: leads matching ``filters`` (a read)."""
        return self._route("POST /overview/leads/export", json=filters, replay_safe=True)

    def export_hot_leads(self, **filters: Any) -> Any:
        """``POST /leads/export/hot-leads``: hot leads matching ``filters`` (a read)."""
        return self._route("POST /leads/export/hot-leads", json=filters, replay_safe=True)

    def download_export(self, url: str, fileobj: IO[bytes] | None = None, chunk_size: int = CHUNK) -> Any:
        """``GET {url}``: a finished export's link, as a streamed response or written to ``fileobj`` in chunks.

        The key goes only if ``url`` is on the exact scheme, host and port of the connection's base URL:
        a signed storage link never sees it.
        """
        return self._write(self.request("GET", url, stream=True), fileobj, chunk_size)

    def _download(
        self, route: str, *values: str, params: dict | None = None, fileobj=None, chunk_size=CHUNK
    ) -> Any:
        """A CSV route: its text, or with ``fileobj`` streamed into it in chunks (the byte count returned)."""
        if fileobj is None:
            return self._route(route, *values, params=params or None)
        method, path, path_params = split_route(route, values)
        response = self.request(method, path, path_params=path_params, params=params or None, stream=True)
        return self._write(response, fileobj, chunk_size)

    @staticmethod
    def _write(response: Any, fileobj: IO[bytes] | None, chunk_size: int) -> Any:
        if fileobj is None:
            return response
        written = 0
        with response:
            for chunk in response.iter_content(chunk_size=chunk_size):
                if chunk:
                    fileobj.write(chunk)
                    written += len(chunk)
        return written

    # ---------------------------------------------------------------- tasks
    def list_tasks(self, *, page_size: int = 100, **params: Any) -> list[dict]:
        """``GET /tasks``: every task (0-indexed pages), filtered by lemlist's ``params``."""
        return list(self.paginate("/tasks", _flags(**params), style="page0", page_size=page_size))

    def create_task(self, **task: Any) -> dict:
        """``POST /tasks``: ``task`` as lemlist documents it (``type``, ``leadId``, ``title``, ...)."""
        return self._route("POST /tasks", json=task)

    def update_task(self, **fields: Any) -> Any:
        """``PATCH /tasks``: ``fields`` (``taskIds``, ``done``, ...)."""
        return self._route("PATCH /tasks", json=fields)

    def ignore_tasks(self, task_ids: list[str]) -> Any:
        """``POST /tasks/ignore``: ignore ``task_ids``."""
        return self._route("POST /tasks/ignore", json={"ids": list(task_ids)}, replay_safe=True)

    # ---------------------------------------------------------------- lemwarm
    def start_lemwarm(self, mailbox_id: str) -> Any:
        """``POST /lemwarm/{userMailboxId}/start``: warm the mailbox ``mailbox_id`` (``usm_...``)."""
        return self._route("POST /lemwarm/{mailbox_id}/start", mailbox_id, replay_safe=True)

    def pause_lemwarm(self, mailbox_id: str) -> Any:
        """``POST /lemwarm/{userMailboxId}/pause``."""
        return self._route("POST /lemwarm/{mailbox_id}/pause", mailbox_id, replay_safe=True)

    def get_lemwarm_settings(self, mailbox_id: str) -> dict:
        """``GET /lemwarm/{userMailboxId}/settings``."""
        return self._route("GET /lemwarm/{mailbox_id}/settings", mailbox_id)

    def update_lemwarm_settings(self, mailbox_id: str, **settings: Any) -> dict:
        """``PATCH /lemwarm/{userMailboxId}/settings``: set ``settings`` (``dailyLimit``, ...)."""
        return self._route("PATCH /lemwarm/{mailbox_id}/settings", mailbox_id, json=settings)

    # ---------------------------------------------------------------- CRM, domains
    def get_crm_filters(
        self, crm: str | None = None, user_id: str | None = None, type: str | None = None
    ) -> Any:
        """``GET /crm/filters``: the filters of ``crm`` for ``user_id``, of ``type``."""
        return self._route("GET /crm/filters", params=_flags(crm=crm, userId=user_id, type=type) or None)

    def check_domain_redirects(self, **params: Any) -> Any:
        """``GET /domains/redirect``."""
        return self._route("GET /domains/redirect", params=params or None)

"""Typed methods for every lemlist endpoint (``endpoint-reference.md``, the v2 routes and legacy add-lead).

A mixin over ``request()`` / ``paginate()`` so the hook module stays about transport and policy. Path
values (emails, ids, ``@domains``) are URL-encoded by ``request``; names follow lemlist's docs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from .errors import LemlistClientError

ALREADY_IN_CAMPAIGN = "already in the campaign"
ALREADY_IN_TEAM = "already exists in another campaign"
ENRICHMENT_DONE = {"done", "completed", "finished", "success"}
ENRICHMENT_FAILED = {"failed", "error"}


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


class LemlistEndpointsMixin:
    """Every endpoint; needs ``request(method, path, ...)`` and ``paginate(path, params, ...)``."""

    # ---------------------------------------------------------------- team
    def get_team(self) -> dict:
        return self.request("GET", "/team")

    def get_team_members(self) -> list:
        return self.request("GET", "/team/members")

    def get_team_overview(self) -> dict:
        return self.request("GET", "/team/overview")

    def get_credits(self) -> dict:
        return self.request("GET", "/team/credits")

    def get_senders(self, state: str | None = None) -> list:
        return self.request("GET", "/team/senders", params=_flags(state=state))

    def get_crm_users(self) -> list:
        return self.request("GET", "/team/crmUsers")

    def get_send_users(self) -> list:
        return self.request("GET", "/team/sendUsers")

    def get_user(self, user_id: str) -> dict:
        return self.request("GET", "/users/{user_id}", path_params={"user_id": user_id})

    # ---------------------------------------------------------------- campaigns
    def iter_campaigns(
        self, *, status: str | None = None, page_size: int = 100, **filters: Any
    ) -> Iterator[dict]:
        params = {"version": "v2", **_flags(status=status, **filters)}
        return self.paginate("/campaigns", params, style="auto", page_size=page_size, items_key=None)

    def list_campaigns(
        self, *, status: str | None = None, page_size: int = 100, **filters: Any
    ) -> list[dict]:
        """Every campaign (``version=v2``; the answer may be a list or ``{campaigns, pagination}``)."""
        return list(self.iter_campaigns(status=status, page_size=page_size, **filters))

    def create_campaign(self, name: str, **fields: Any) -> dict:
        return self.request("POST", "/campaigns", json={"name": name, **fields})

    def get_campaign(self, campaign_id: str) -> dict:
        return self.request("GET", "/campaigns/{campaign_id}", path_params={"campaign_id": campaign_id})

    def update_campaign(self, campaign_id: str, **fields: Any) -> dict:
        return self.request(
            "PATCH", "/campaigns/{campaign_id}", path_params={"campaign_id": campaign_id}, json=fields
        )

    def get_campaigns_reports(self, campaign_ids: Iterable[str] | None = None) -> Any:
        params = {"campaignIds": ",".join(campaign_ids)} if campaign_ids else None
        return self.request("GET", "/campaigns/reports", params=params)

    def pause_campaign(self, campaign_id: str) -> Any:
        return self.request(
            "POST",
            "/campaigns/{campaign_id}/pause",
            path_params={"campaign_id": campaign_id},
            replay_safe=True,
        )

    def start_campaign(self, campaign_id: str) -> Any:
        return self.request(
            "POST",
            "/campaigns/{campaign_id}/start",
            path_params={"campaign_id": campaign_id},
            replay_safe=True,
        )

    def get_campaign_stats(self, campaign_id: str, **params: Any) -> dict:
        """v1 stats."""
        return self.request(
            "GET",
            "/campaigns/{campaign_id}/stats",
            path_params={"campaign_id": campaign_id},
            params=params or None,
        )

    def get_campaign_stats_v2(self, campaign_id: str, start_date: str, end_date: str, **params: Any) -> dict:
        return self.request(
            "GET", "/v2/campaigns/{campaign_id}/stats", path_params={"campaign_id": campaign_id},
            params={"startDate": start_date, "endDate": end_date, **params},
        )  # fmt: skip

    def get_campaigns_stats_batch(
        self, campaign_ids: list[str], start_date: str, end_date: str, **body: Any
    ) -> Any:
        """``POST /v2/campaigns/stats/batch`` for up to 100 campaigns (a read: safe to resend)."""
        return self.request(
            "POST", "/v2/campaigns/stats/batch", replay_safe=True,
            json={"campaignIds": list(campaign_ids), "startDate": start_date, "endDate": end_date, **body},
        )  # fmt: skip

    def import_leads_csv(self, campaign_id: str, file: IO[bytes] | bytes, filename: str = "leads.csv") -> Any:
        """Multipart CSV import (``endpoint-reference.md``). Not resent on an ambiguous failure."""
        return self.request(
            "POST", "/campaigns/{campaign_id}/leads/import", path_params={"campaign_id": campaign_id},
            files={"file": (filename, file, "text/csv")},
        )  # fmt: skip

    def import_leads_from_crm(
        self, campaign_id: str, crm: str, user_id: str, filter_id: str, **body: Any
    ) -> Any:
        """CRM import on the same path (``openapi-v2.json``)."""
        return self.request(
            "POST", "/campaigns/{campaign_id}/leads/import", path_params={"campaign_id": campaign_id},
            json={"crm": crm, "userId": user_id, "filterId": filter_id, **body},
        )  # fmt: skip

    # ---------------------------------------------------------------- sequences & steps
    def get_campaign_sequences(self, campaign_id: str) -> Any:
        return self.request(
            "GET", "/campaigns/{campaign_id}/sequences", path_params={"campaign_id": campaign_id}
        )

    def create_step(self, sequence_id: str, **step: Any) -> dict:
        return self.request(
            "POST", "/sequences/{sequence_id}/steps", path_params={"sequence_id": sequence_id}, json=step
        )

    def update_step(self, sequence_id: str, step_id: str, **fields: Any) -> dict:
        return self.request(
            "PATCH", "/sequences/{sequence_id}/steps/{step_id}",
            path_params={"sequence_id": sequence_id, "step_id": step_id}, json=fields,
        )  # fmt: skip

    def delete_step(self, sequence_id: str, step_id: str) -> Any:
        return self.request(
            "DELETE",
            "/sequences/{sequence_id}/steps/{step_id}",
            path_params={"sequence_id": sequence_id, "step_id": step_id},
        )

    # ---------------------------------------------------------------- leads in a campaign
    def list_campaign_leads(
        self, campaign_id: str, *, state: str | None = None, limit: int | None = None
    ) -> list:
        """``GET /campaigns/{id}/leads/``: ``limit`` and ``state`` only (no offset)."""
        return self.request(
            "GET", "/campaigns/{campaign_id}/leads/", path_params={"campaign_id": campaign_id},
            params=_flags(state=state, limit=limit),
        )  # fmt: skip

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
        """Add a lead; "already there" is success.

        Lead fields and custom variables go in ``fields`` (any name, even one that matches an argument
        here, such as a CSV column called ``deduplicate``) or as keyword arguments for convenience.

        Returns the created lead, or ``{"email", "alreadyInCampaign": True, "duplicateScope":
        "campaign"|"team", "afterReplay"}``: ``afterReplay`` is True when an earlier attempt of this call failed
        ambiguously and was resent, so the lead may have been created by that first attempt.
        """
        params = _flags(
            deduplicate=deduplicate, findEmail=find_email, verifyEmail=verify_email,
            linkedinEnrichment=linkedin_enrichment, findPhone=find_phone,
        )  # fmt: skip
        return self._add_lead(
            "/campaigns/{campaign_id}/leads/",
            {"campaign_id": campaign_id},
            email,
            params,
            {**(fields or {}), **more_fields, "email": email},
        )

    def add_lead_to_campaign_legacy(
        self, campaign_id: str, email: str, *, deduplicate: bool | None = None, **fields: Any
    ) -> dict:
        """The older ``POST /campaigns/{id}/leads/{email}`` still used by every public client."""
        return self._add_lead(
            "/campaigns/{campaign_id}/leads/{email}", {"campaign_id": campaign_id, "email": email},
            email, _flags(deduplicate=deduplicate), fields,
        )  # fmt: skip

    def _add_lead(self, path: str, path_params: dict, email: str, params: dict, body: dict) -> dict:
        try:
            return self.request(
                "POST", path, path_params=path_params, params=params or None, json=body, replay_safe=True
            )
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
        return self.request(
            "GET",
            "/campaigns/{campaign_id}/leads/{lead}",
            path_params={"campaign_id": campaign_id, "lead": id_or_email},
        )

    def update_campaign_lead(self, campaign_id: str, id_or_email: str, **fields: Any) -> dict:
        return self.request(
            "PATCH", "/campaigns/{campaign_id}/leads/{lead}",
            path_params={"campaign_id": campaign_id, "lead": id_or_email}, json=fields,
        )  # fmt: skip

    def remove_lead_from_campaign(self, campaign_id: str, id_or_email: str, *, delete: bool = False) -> Any:
        """Unsubscribe the lead from the campaign; ``delete=True`` sends ``action=remove``."""
        return self.request(
            "DELETE", "/campaigns/{campaign_id}/leads/{lead}",
            path_params={"campaign_id": campaign_id, "lead": id_or_email}, params={"action": "remove"} if delete else None,
        )  # fmt: skip

    def mark_campaign_lead_interested(self, campaign_id: str, id_or_email: str) -> Any:
        return self.request(
            "POST", "/campaigns/{campaign_id}/leads/{lead}/interested",
            path_params={"campaign_id": campaign_id, "lead": id_or_email}, replay_safe=True,
        )  # fmt: skip

    def mark_campaign_lead_not_interested(self, campaign_id: str, id_or_email: str) -> Any:
        return self.request(
            "POST", "/campaigns/{campaign_id}/leads/{lead}/notinterested",
            path_params={"campaign_id": campaign_id, "lead": id_or_email}, replay_safe=True,
        )  # fmt: skip

    # ---------------------------------------------------------------- leads (global)
    def search_leads(self, *, email: str | None = None, lead_id: str | None = None, **params: Any) -> Any:
        return self.request(
            "GET", "/leads", params={"version": "v2", **_flags(email=email, id=lead_id, **params)}
        )

    def get_lead(self, email: str) -> Any:
        """``GET /leads/{email}?version=v2``."""
        return self.request("GET", "/leads/{email}", path_params={"email": email}, params={"version": "v2"})

    def pause_lead(self, id_or_email: str, campaign_id: str | None = None) -> Any:
        return self.request(
            "POST", "/leads/pause/{lead}", path_params={"lead": id_or_email},
            params=_flags(campaignId=campaign_id) or None, replay_safe=True,
        )  # fmt: skip

    def resume_lead(self, id_or_email: str, campaign_id: str | None = None) -> Any:
        return self.request(
            "POST", "/leads/start/{lead}", path_params={"lead": id_or_email},
            params=_flags(campaignId=campaign_id) or None, replay_safe=True,
        )  # fmt: skip

    def mark_lead_interested(self, id_or_email: str) -> Any:
        return self.request(
            "POST", "/leads/interested/{lead}", path_params={"lead": id_or_email}, replay_safe=True
        )

    def mark_lead_not_interested(self, id_or_email: str) -> Any:
        return self.request(
            "POST", "/leads/notinterested/{lead}", path_params={"lead": id_or_email}, replay_safe=True
        )

    def set_lead_variables(self, lead_id: str, variables: dict[str, Any]) -> Any:
        """``POST /leads/{leadId}/variables``: variables as query parameters (as the OAS documents)."""
        return self.request(
            "POST",
            "/leads/{lead_id}/variables",
            path_params={"lead_id": lead_id},
            params=variables,
            replay_safe=True,
        )

    def update_lead_variables(self, lead_id: str, variables: dict[str, Any]) -> Any:
        return self.request(
            "PATCH", "/leads/{lead_id}/variables", path_params={"lead_id": lead_id}, params=variables
        )

    def delete_lead_variables(self, lead_id: str, names: Iterable[str]) -> Any:
        """Delete variables (not the lead): each name as an empty query parameter."""
        return self.request(
            "DELETE",
            "/leads/{lead_id}/variables",
            path_params={"lead_id": lead_id},
            params={n: "" for n in names},
        )

    def upload_voice_note(
        self, lead_id: str, step_id: str, file: IO[bytes] | bytes, filename: str = "note.mp3"
    ) -> Any:
        return self.request(
            "POST", "/leads/audio", params={"leadId": lead_id, "stepId": step_id},
            files={"file": (filename, file, "audio/mpeg")},
        )  # fmt: skip

    # ---------------------------------------------------------------- enrichment (costs credits: never resent)
    def enrich_lead(
        self,
        lead_id: str,
        *,
        find_email: bool | None = None,
        verify_email: bool | None = None,
        linkedin_enrichment: bool | None = None,
        find_phone: bool | None = None,
        force: bool | None = None,
        webhook_url: str | None = None,
    ) -> dict:
        params = _flags(
            findEmail=find_email, verifyEmail=verify_email, linkedinEnrichment=linkedin_enrichment,
            findPhone=find_phone, force=force, webhookUrl=webhook_url,
        )  # fmt: skip
        return self.request(
            "POST", "/leads/{lead_id}/enrich", path_params={"lead_id": lead_id}, params=params
        )

    def enrich_person(self, **params: Any) -> dict:
        """``POST /enrich`` with the person and the flags as query parameters."""
        return self.request("POST", "/enrich", params=_flags(**params))

    def enrich_bulk(self, items: list[dict], *, webhook_url: str | None = None) -> list[dict]:
        """``POST /v2/enrichments/bulk`` (at most 500 items): one ``{id}`` or ``{error}`` per input."""
        if len(items) > 500:
            raise ValueError("lemlist accepts at most 500 enrichments per bulk call")
        return self.request(
            "POST", "/v2/enrichments/bulk", params=_flags(webhookUrl=webhook_url) or None, json=items
        )

    def get_enrichment(self, enrich_id: str) -> EnrichmentResult:
        response = self.request("GET", "/enrich/{enrich_id}", path_params={"enrich_id": enrich_id}, raw=True)
        body = (
            response.json() if response.content and "json" in response.headers.get("Content-Type", "") else {}
        )
        return EnrichmentResult.from_response(enrich_id, response.status_code, body)

    # ---------------------------------------------------------------- activities
    def iter_activities(self, *, page_size: int = 100, **filters: Any) -> Iterator[dict]:
        return self.paginate(
            "/activities", {"version": "v2", **_flags(**filters)}, style="offset", page_size=page_size
        )

    def list_activities(self, *, page_size: int = 100, **filters: Any) -> list[dict]:
        """``GET /activities?version=v2`` with filters (``type``, ``campaignId``, ``minDate``, ...)."""
        return list(self.iter_activities(page_size=page_size, **filters))

    def get_lead_ids_from_activities(self, **filters: Any) -> Any:
        return self.request("POST", "/overview/activities/leadIds", json=filters, replay_safe=True)

    def get_lead_ids_from_overview(self, **filters: Any) -> Any:
        return self.request("POST", "/overview/leads/ids", json=filters, replay_safe=True)

    # ---------------------------------------------------------------- schedules
    def list_schedules(self, *, page_size: int = 100) -> list[dict]:
        return list(self.paginate("/schedules", style="auto", page_size=page_size))

    def create_schedule(self, name: str, **fields: Any) -> dict:
        return self.request("POST", "/schedules", json={"name": name, **fields})

    def get_schedule(self, schedule_id: str) -> dict:
        return self.request("GET", "/schedules/{schedule_id}", path_params={"schedule_id": schedule_id})

    def update_schedule(self, schedule_id: str, **fields: Any) -> dict:
        return self.request(
            "PATCH", "/schedules/{schedule_id}", path_params={"schedule_id": schedule_id}, json=fields
        )

    def delete_schedule(self, schedule_id: str) -> Any:
        return self.request("DELETE", "/schedules/{schedule_id}", path_params={"schedule_id": schedule_id})

    def get_campaign_schedules(self, campaign_id: str) -> Any:
        return self.request(
            "GET", "/campaigns/{campaign_id}/schedules/", path_params={"campaign_id": campaign_id}
        )

    def assign_schedules(self, campaign_id: str, schedule_ids: list[str]) -> Any:
        return self.request(
            "POST", "/campaigns/{campaign_id}/schedules", path_params={"campaign_id": campaign_id},
            json={"scheduleIds": list(schedule_ids)}, replay_safe=True,
        )  # fmt: skip

    def assign_schedule(self, campaign_id: str, schedule_id: str) -> Any:
        return self.request(
            "POST", "/campaigns/{campaign_id}/schedules/{schedule_id}",
            path_params={"campaign_id": campaign_id, "schedule_id": schedule_id}, replay_safe=True,
        )  # fmt: skip

    # ---------------------------------------------------------------- unsubscribes
    def list_unsubscribes(self, *, page_size: int = 100) -> list[dict]:
        return list(self.paginate("/unsubscribes", style="offset", page_size=page_size))

    def get_unsubscribe(self, value: str) -> Any:
        return self.request("GET", "/unsubscribes/{value}", path_params={"value": value})

    def add_unsubscribe(self, value: str) -> Any:
        """Email or ``@domain.com``; idempotent, so resent after an ambiguous failure."""
        return self.request("POST", "/unsubscribes/{value}", path_params={"value": value}, replay_safe=True)

    def remove_unsubscribe(self, value: str) -> Any:
        return self.request("DELETE", "/unsubscribes/{value}", path_params={"value": value})

    def export_unsubscribes(self, fileobj: IO[bytes] | None = None, chunk_size: int = 64 * 1024) -> Any:
        """``GET /unsubs/export`` (CSV ``value,source,createdAt``): text, or written to ``fileobj``."""
        return self._download("/unsubs/export", None, None, fileobj, chunk_size)

    def list_unsubscribe_variables(self, *, page_size: int = 100) -> list[dict]:
        return list(self.paginate("/v2/unsubscribes/variables", style="offset", page_size=page_size))

    def add_unsubscribes_bulk(self, values: list[str]) -> Any:
        """``POST /v2/unsubscribes/variables`` with up to 10,000 values; adds are idempotent."""
        if len(values) > 10_000:
            raise ValueError("lemlist accepts at most 10,000 values per bulk unsubscribe call")
        return self.request(
            "POST", "/v2/unsubscribes/variables", json={"values": list(values)}, replay_safe=True
        )

    def get_unsubscribe_variable(self, value: str) -> dict:
        return self.request("GET", "/v2/unsubscribes/variables/{value}", path_params={"value": value})

    def add_unsubscribe_variable(self, value: str) -> dict:
        return self.request(
            "POST", "/v2/unsubscribes/variables/{value}", path_params={"value": value}, replay_safe=True
        )

    def delete_unsubscribe_variable(self, value: str) -> Any:
        return self.request("DELETE", "/v2/unsubscribes/variables/{value}", path_params={"value": value})

    # ---------------------------------------------------------------- webhooks
    def list_webhooks(self) -> list:
        return self.request("GET", "/hooks")

    def create_webhook(
        self,
        target_url: str,
        *,
        type: str | list[str] | None = None,
        campaign_id: str | None = None,
        is_first: bool | None = None,
        secret: str | None = None,
    ) -> dict:
        body: dict[str, Any] = {"targetUrl": target_url}
        if type:
            body["type"] = ",".join(type) if isinstance(type, list) else type
        if secret:
            body["secret"] = secret
        return self.request(
            "POST", "/hooks", json=body, params=_flags(campaignId=campaign_id, isFirst=is_first) or None
        )

    def delete_webhook(self, hook_id: str) -> Any:
        return self.request("DELETE", "/hooks/{hook_id}", path_params={"hook_id": hook_id})

    # ---------------------------------------------------------------- inbox
    def list_inbox(self, *, user_id: str | None = None, page_size: int = 100) -> list[dict]:
        return list(self.paginate("/inbox", _flags(userId=user_id), style="page", page_size=page_size))

    def get_conversation(self, contact_id: str, **params: Any) -> Any:
        return self.request(
            "GET", "/inbox/{contact_id}", path_params={"contact_id": contact_id}, params=params or None
        )

    def send_email(self, **body: Any) -> Any:
        return self.request("POST", "/inbox/email", json=body)

    def send_linkedin_message(self, **body: Any) -> Any:
        return self.request("POST", "/inbox/linkedin", json=body)

    def send_whatsapp_message(self, **body: Any) -> Any:
        return self.request("POST", "/inbox/whatsapp", json=body)

    def send_sms(self, **body: Any) -> Any:
        return self.request("POST", "/inbox/sms", json=body)

    def list_inbox_labels(self) -> Any:
        return self.request("GET", "/inbox/labels")

    def create_inbox_label(self, name: str, **fields: Any) -> dict:
        return self.request("POST", "/inbox/labels", json={"labelName": name, **fields})

    def get_inbox_label(self, label_id: str) -> dict:
        return self.request("GET", "/inbox/labels/{label_id}", path_params={"label_id": label_id})

    def update_inbox_label(self, label_id: str, name: str | None = None, **fields: Any) -> dict:
        if name is not None:
            fields["labelName"] = name
        return self.request(
            "PATCH", "/inbox/labels/{label_id}", path_params={"label_id": label_id}, json=fields
        )

    def delete_inbox_label(self, label_id: str) -> Any:
        return self.request("DELETE", "/inbox/labels/{label_id}", path_params={"label_id": label_id})

    def get_conversation_labels(self, contact_id: str) -> Any:
        return self.request(
            "GET", "/inbox/conversations/labels/{contact_id}", path_params={"contact_id": contact_id}
        )

    def assign_conversation_label(self, contact_id: str, label_id: str | list[str]) -> Any:
        ids = label_id if isinstance(label_id, list) else [label_id]
        return self.request(
            "POST", "/inbox/conversations/labels/{contact_id}", path_params={"contact_id": contact_id},
            json={"labelIds": ids, "appendLabels": True}, replay_safe=True,
        )  # fmt: skip

    def remove_conversation_label(self, contact_id: str, label_id: str | list[str]) -> Any:
        ids = label_id if isinstance(label_id, list) else [label_id]
        return self.request(
            "DELETE",
            "/inbox/conversations/labels/{contact_id}",
            path_params={"contact_id": contact_id},
            json={"labelIds": ids},
        )

    # ---------------------------------------------------------------- companies & contacts
    def list_companies(self, *, page_size: int = 100, **filters: Any) -> list[dict]:
        return list(self.paginate("/companies", _flags(**filters), style="offset", page_size=page_size))

    def get_company_notes(self, company_id: str, *, page_size: int = 100) -> list[dict]:
        return list(
            self.paginate(
                "/companies/{company_id}/notes",
                path_params={"company_id": company_id},
                style="page",
                page_size=page_size,
            )
        )

    def create_company_note(self, company_id: str, content: str, **fields: Any) -> dict:
        return self.request(
            "POST",
            "/companies/{company_id}/notes",
            path_params={"company_id": company_id},
            json={"content": content, **fields},
        )

    def search_contacts(self, ids_or_emails: Iterable[str] | None = None, **params: Any) -> Any:
        query = _flags(**params)
        if ids_or_emails:
            query["idsOrEmails"] = ",".join(ids_or_emails)
        return self.request("GET", "/contacts", params=query or None)

    def get_contact(self, id_or_email: str) -> dict:
        return self.request("GET", "/contacts/{contact}", path_params={"contact": id_or_email})

    # ---------------------------------------------------------------- exports
    def export_campaign(self, campaign_id: str, fileobj: IO[bytes] | None = None, **params: Any) -> Any:
        """Synchronous CSV export ``GET /campaigns/{id}/export``."""
        return self._download(
            "/campaigns/{campaign_id}/export", {"campaign_id": campaign_id}, params, fileobj
        )

    def start_export(self, campaign_id: str) -> dict:
        """``GET /campaigns/{id}/export/start`` → ``{"id"/"_id": "axp_...", "status": "pending", ...}``."""
        return self.request(
            "GET", "/campaigns/{campaign_id}/export/start", path_params={"campaign_id": campaign_id}
        )

    def get_export_status(self, campaign_id: str, export_id: str) -> dict:
        """The unwrapped status: ``{"status": "pending"|"done"|"error", "progress", "total", "url", ...}``."""
        body = self.request(
            "GET", "/campaigns/{campaign_id}/export/{export_id}/status",
            path_params={"campaign_id": campaign_id, "export_id": export_id},
        )  # fmt: skip
        if isinstance(body, dict) and isinstance(body.get("status"), dict):
            return body["status"]
        return body

    def email_export(self, campaign_id: str, export_id: str, email: str) -> Any:
        return self.request(
            "PUT", "/campaigns/{campaign_id}/export/{export_id}/email/{email}",
            path_params={"campaign_id": campaign_id, "export_id": export_id, "email": email},
        )  # fmt: skip

    def export_campaign_leads(
        self, campaign_id: str, *, state: str = "all", format: str = "csv", fileobj: IO[bytes] | None = None
    ) -> Any:
        """``GET /campaigns/{id}/export/leads``: CSV text (or JSON with ``format="json"``), or into ``fileobj``."""
        return self._download(
            "/campaigns/{campaign_id}/export/leads",
            {"campaign_id": campaign_id},
            {"state": state, "format": format},
            fileobj,
        )

    def export_campaign_list(self, campaign_id: str, fileobj: IO[bytes] | None = None, **params: Any) -> Any:
        return self._download(
            "/campaigns/{campaign_id}/export/list", {"campaign_id": campaign_id}, params, fileobj
        )

    def export_contacts(self, fileobj: IO[bytes] | None = None, **params: Any) -> Any:
        return self._download("/contacts/export", None, params, fileobj)

    def export_activities(self, **filters: Any) -> Any:
        return self.request("POST", "/overview/activities/export", json=filters, replay_safe=True)

    def export_leads_overview(self, **filters: Any) -> Any:
        return self.request("POST", "/overview/leads/export", json=filters, replay_safe=True)

    def export_hot_leads(self, **filters: Any) -> Any:
        return self.request("POST", "/leads/export/hot-leads", json=filters, replay_safe=True)

    def download_export(self, url: str, fileobj: IO[bytes] | None = None, chunk_size: int = 64 * 1024) -> Any:
        """Download a finished export's CSV ``url``: a streamed response, or written to ``fileobj`` in chunks.

        The key is sent only when the URL is on the API's own host: a signed storage link never sees it.
        """
        same_host = url.startswith(self.base_url.rsplit("/api", 1)[0]) if self.base_url else False
        response = self.request("GET", url, stream=True, auth=same_host)
        return self._write(response, fileobj, chunk_size)

    def _download(
        self,
        path: str,
        path_params: dict | None,
        params: dict | None,
        fileobj: IO[bytes] | None,
        chunk_size: int = 64 * 1024,
    ) -> Any:
        if fileobj is None:
            return self.request("GET", path, path_params=path_params, params=params or None)
        response = self.request("GET", path, path_params=path_params, params=params or None, stream=True)
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
        """``GET /tasks``: 0-indexed pages."""
        return list(self.paginate("/tasks", _flags(**params), style="page0", page_size=page_size))

    def create_task(self, **task: Any) -> dict:
        return self.request("POST", "/tasks", json=task)

    def update_task(self, **fields: Any) -> Any:
        return self.request("PATCH", "/tasks", json=fields)

    def ignore_tasks(self, task_ids: list[str]) -> Any:
        return self.request("POST", "/tasks/ignore", json={"ids": list(task_ids)}, replay_safe=True)

    # ---------------------------------------------------------------- lemwarm
    def start_lemwarm(self, mailbox_id: str) -> Any:
        return self.request(
            "POST", "/lemwarm/{mailbox_id}/start", path_params={"mailbox_id": mailbox_id}, replay_safe=True
        )

    def pause_lemwarm(self, mailbox_id: str) -> Any:
        return self.request(
            "POST", "/lemwarm/{mailbox_id}/pause", path_params={"mailbox_id": mailbox_id}, replay_safe=True
        )

    def get_lemwarm_settings(self, mailbox_id: str) -> dict:
        return self.request("GET", "/lemwarm/{mailbox_id}/settings", path_params={"mailbox_id": mailbox_id})

    def update_lemwarm_settings(self, mailbox_id: str, **settings: Any) -> dict:
        return self.request(
            "PATCH", "/lemwarm/{mailbox_id}/settings", path_params={"mailbox_id": mailbox_id}, json=settings
        )

    # ---------------------------------------------------------------- CRM, domains
    def get_crm_filters(
        self, crm: str | None = None, user_id: str | None = None, type: str | None = None
    ) -> Any:
        return self.request("GET", "/crm/filters", params=_flags(crm=crm, userId=user_id, type=type) or None)

    def check_domain_redirects(self, **params: Any) -> Any:
        return self.request("GET", "/domains/redirect", params=params or None)

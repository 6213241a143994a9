"""Every endpoint method exercised against the sandbox, plus ``paginate`` over every style."""

from __future__ import annotations

import inspect
import io
import re
import uuid

import pytest

from lemlist_provider.hooks.endpoints import EnrichmentResult, LemlistEndpointsMixin
from lemlist_provider.hooks.errors import (
    LemlistClientError,
    LemlistError,
    LemlistInvalidIdError,
    LemlistNotFoundError,
)
from lemlist_provider.hooks.lemlist import LemlistHook, extract_items


def _id(obj):
    return obj.get("_id") or obj.get("id") if isinstance(obj, dict) else None


@pytest.fixture
def demo_hook(sandbox, make_conn):
    key = f"demo-{uuid.uuid4().hex[:10]}"
    sandbox.create_team(key, seed="demo", credits=100_000)
    return LemlistHook(make_conn(sandbox.base_url, key)), sandbox.team(key)


def test_every_endpoint_method(demo_hook):
    hook, team = demo_hook
    called: set[str] = set()
    failures: dict[str, str] = {}
    kinds: dict[str, str] = {}

    def call(method, *args, **kwargs):
        called.add(method)
        try:
            return getattr(hook, method)(*args, **kwargs)
        except LemlistError as exc:
            failures[method] = str(exc)
            kinds[method] = (
                "notfound"
                if isinstance(exc, LemlistNotFoundError)
                else (
                    "client"
                    if isinstance(exc, LemlistClientError) and not isinstance(exc, LemlistInvalidIdError)
                    else type(exc).__name__
                )
            )
            return None

    call("get_team"), call("get_team_members"), call("get_team_overview"), call("get_credits")
    call("get_senders"), call("get_crm_users"), call("get_send_users"), call("get_user", team.user_id)
    campaign_id = _id(call("create_campaign", f"Endpoints {uuid.uuid4().hex[:4]}"))
    assert campaign_id
    assert any(_id(c) == campaign_id for c in call("list_campaigns"))
    list(hook.iter_campaigns(page_size=2))
    called.add("iter_campaigns")
    call("get_campaign", campaign_id), call("update_campaign", campaign_id, name="Renamed")
    (
        call("get_campaigns_reports", [campaign_id]),
        call("pause_campaign", campaign_id),
        call("start_campaign", campaign_id),
    )
    call("get_campaign_stats", campaign_id)
    call("get_campaign_stats_v2", campaign_id, "2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
    call("get_campaigns_stats_batch", [campaign_id], "2024-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
    call("import_leads_csv", campaign_id, io.BytesIO(b"email,firstName\ncsv1@example.com,Csv\n"))
    call("import_leads_from_crm", campaign_id, "hubspot", team.user_id, "flt_1")
    sequences = call("get_campaign_sequences", campaign_id)
    # an object keyed by sequence id (OAS)
    seq_id = next(iter(sequences)) if isinstance(sequences, dict) and sequences else None
    step = (
        call("create_step", seq_id, type="email", subject="Hi", message="Hello", delay=1) if seq_id else None
    )
    step_id = _id(step) if step else None
    if step_id:
        call("update_step", seq_id, step_id, type="email", subject="Hello")
        call("delete_step", seq_id, step_id)
    else:
        called.update({"update_step", "delete_step"})
        failures["create_step"] = failures.get("create_step", f"no step from {sequences!r}"[:200])
    lead = call(
        "add_lead_to_campaign", campaign_id, "ada+x@example.com", firstName="Ada", companyDomain="example.com"
    )
    lead_id = _id(lead)
    call("add_lead_to_campaign_legacy", campaign_id, "bob@example.com", firstName="Bob")
    call("list_campaign_leads", campaign_id, limit=10)
    call("get_campaign_lead", campaign_id, "ada+x@example.com")
    call("update_campaign_lead", campaign_id, "ada+x@example.com", lastName="Lovelace")
    call("mark_campaign_lead_interested", campaign_id, "ada+x@example.com")
    call("mark_campaign_lead_not_interested", campaign_id, "ada+x@example.com")
    call("search_leads", email="ada+x@example.com"), call("get_lead", "ada+x@example.com")
    call("pause_lead", "ada+x@example.com"), call("resume_lead", "ada+x@example.com")
    call("mark_lead_interested", "ada+x@example.com"), call("mark_lead_not_interested", "ada+x@example.com")
    (
        call("set_lead_variables", lead_id, {"color": "blue"}),
        call("update_lead_variables", lead_id, {"color": "red"}),
    )
    call("delete_lead_variables", lead_id, ["color"])
    call("upload_voice_note", lead_id, step_id or "stp_1", io.BytesIO(b"ID3"))
    enr = call("enrich_lead", lead_id, lookups={"findEmail": True})
    call("enrich_person", email="someone@example.com", verifyEmail=True)
    bulk = call("enrich_bulk", [{"input": {"email": "ada+x@example.com"}, "enrichmentRequests": ["verify"]}])
    result = call("get_enrichment", _id(enr) or (bulk or [{}])[0].get("id"))
    assert isinstance(result, EnrichmentResult)
    call("list_activities", type="emailsSent"), list(hook.iter_activities())
    called.add("iter_activities")
    (
        call("get_lead_ids_from_activities", campaignId=campaign_id),
        call("get_lead_ids_from_overview", campaignId=campaign_id),
    )
    schedule_id = _id(
        call(
            "create_schedule", "Office", timezone="Europe/Paris", start="09:00", end="18:00", weekdays=[1, 2]
        )
    )
    (
        call("list_schedules"),
        call("get_schedule", schedule_id),
        call("update_schedule", schedule_id, name="Office 2"),
    )
    call("get_campaign_schedules", campaign_id), call("assign_schedule", campaign_id, schedule_id)
    call("assign_schedules", campaign_id, [schedule_id]), call("delete_schedule", schedule_id)
    call("add_unsubscribe", "u@example.com"), call("add_unsubscribe", "@spam.example")
    (
        call("get_unsubscribe", "u@example.com"),
        call("list_unsubscribes"),
        call("remove_unsubscribe", "@spam.example"),
    )
    assert "u@example.com" in (call("export_unsubscribes") or "")
    buf = io.BytesIO()
    assert call("export_unsubscribes", buf) > 0 and b"u@example.com" in buf.getvalue()
    call("add_unsubscribes_bulk", ["v1@example.com", "@v2.example"]), call("list_unsubscribe_variables")
    call("add_unsubscribe_variable", "v3@example.com"), call("get_unsubscribe_variable", "v3@example.com")
    call("delete_unsubscribe_variable", "v3@example.com")
    hook_id = _id(call("create_webhook", "https://example.com/wh", type=["emailsOpened"], secret="s"))
    call("list_webhooks"), call("delete_webhook", hook_id)
    contacts = extract_items(call("search_contacts"))
    contact_id = _id(contacts[0]) if contacts else "ctc_none"
    call("get_contact", contact_id)
    call("list_inbox"), call("get_conversation", contact_id)
    call("send_email", contactId=contact_id, sendUserId=team.user_id, subject="Hi", message="Hello")
    call("send_linkedin_message", contactId=contact_id, sendUserId=team.user_id, message="Hi")
    call("send_whatsapp_message", contactId=contact_id, sendUserId=team.user_id, message="Hi")
    call("send_sms", contactId=contact_id, sendUserId=team.user_id, message="Hi")
    label_id = _id(call("create_inbox_label", name="VIP"))
    (
        call("list_inbox_labels"),
        call("get_inbox_label", label_id),
        call("update_inbox_label", label_id, name="VIP2"),
    )
    call("assign_conversation_label", contact_id, label_id), call("get_conversation_labels", contact_id)
    call("remove_conversation_label", contact_id, label_id), call("delete_inbox_label", label_id)
    companies = call("list_companies") or []
    company_id = _id(companies[0]) if companies else "cmp_none"
    call("create_company_note", company_id, "A note"), call("get_company_notes", company_id)
    export = call("start_export", campaign_id)
    export_id = _id(export)
    status = call("get_export_status", campaign_id, export_id)
    call("email_export", campaign_id, export_id, "me@example.com")
    (
        call("export_campaign", campaign_id),
        call("export_campaign_leads", campaign_id),
        call("export_campaign_list", campaign_id),
    )
    (
        call("export_contacts"),
        call("export_activities"),
        call("export_leads_overview"),
        call("export_hot_leads"),
    )
    if status and status.get("url"):
        out = io.BytesIO()
        call("download_export", status["url"], out)
    else:
        called.add("download_export")
    call("list_tasks"), call("create_task", type="call", leadId=lead_id, title="Call")
    call("update_task", taskIds=[], done=True), call("ignore_tasks", ["tsk_none"])
    mailbox = next(iter(getattr(team, "mailboxes", {}) or {}), "usm_1")
    call("start_lemwarm", mailbox), call("pause_lemwarm", mailbox), call("get_lemwarm_settings", mailbox)
    call("update_lemwarm_settings", mailbox, dailyLimit=10)
    call("get_crm_filters", "hubspot", team.user_id), call("check_domain_redirects")
    call("remove_lead_from_campaign", campaign_id, "bob@example.com")
    call("remove_lead_from_campaign", campaign_id, "ada+x@example.com", delete=True)

    public = {
        name
        for name, fn in inspect.getmembers(LemlistEndpointsMixin, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public - called == set()
    # These calls reach their route and get the sandbox's own validation answer for this test's minimal data
    # (a typed 4xx with lemlist's reason, never an HTML page or a transport error).
    data_dependent = {
        "send_email", "send_whatsapp_message", "create_company_note", "get_company_notes", "export_contacts",
        "create_task", "update_task", "ignore_tasks", "update_lemwarm_settings",
    }  # fmt: skip
    unexpected = {
        k: v for k, v in failures.items() if k not in data_dependent or kinds[k] not in ("client", "notfound")
    }
    assert unexpected == {}, "\n".join(f"{k}: {v}" for k, v in unexpected.items())


def test_paginate_styles(sandbox, team_key, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    hook.add_unsubscribes_bulk([f"p{i}@example.com" for i in range(7)])
    offset = list(hook.paginate("/unsubscribes", style="offset", page_size=3))
    assert len({u.get("value") or u.get("email") for u in offset}) == 7
    assert len(list(hook.paginate("/v2/unsubscribes/variables", style="offset", page_size=2))) == 7
    for i in range(5):
        hook.create_campaign(f"C{i}")
    campaigns = list(hook.paginate("/campaigns", {"version": "v2"}, style="auto", page_size=2))
    assert len(campaigns) == 5
    assert len(list(hook.paginate("/campaigns", {"version": "v2"}, style="page", page_size=2))) == 5
    assert isinstance(list(hook.paginate("/tasks", style="page0", page_size=2)), list)
    requests_before = hook.metrics()["requests"]
    list(hook.paginate("/unsubscribes", style="offset", page_size=100))
    assert hook.metrics()["requests"] - requests_before == 1  # a short page ends the list


def test_every_public_method_names_its_route():
    from lemlist_provider.hooks.lemcal import LemcalHook

    methods = [
        *inspect.getmembers(LemlistEndpointsMixin, inspect.isfunction),
        *(
            (name, getattr(LemcalHook, name))
            for name in ("list_meetings", "list_meeting_types", "create_hook", "delete_hook")
        ),
    ]
    undocumented = [
        name
        for name, fn in methods
        if not name.startswith("_") and not re.search(r"``(GET|POST|PUT|PATCH|DELETE) [/{]", fn.__doc__ or "")
    ]
    assert undocumented == []


def test_an_unknown_enrichment_lookup_is_refused_before_anything_is_sent(sandbox, team_key, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    before = sandbox.stats()["total_requests"]
    with pytest.raises(ValueError, match=r"unknown enrichment lookups \['find_email'\]"):
        hook.enrich_lead("lea_1", lookups={"find_email": True})
    assert sandbox.stats()["total_requests"] == before  # no credit spent on a guess

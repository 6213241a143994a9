"""``LemlistWebhooksSetupOperator`` against the sandbox: lemlist's hooks end as declared, created once, never
duplicated, only ours deleted, deletions before creations under the 200-hook cap, dry run, and no secret in
what it reports. What a user sees: the hooks the sandbox holds for the team."""

from __future__ import annotations

import json
import uuid

import pytest
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.events.families import hook_types
from lemlist_provider.events.registration import owner_of
from lemlist_provider.operators.events import LemlistWebhooksSetupOperator
from lemlist_sandbox import connection_json

RECEIVER = "https://airflow.example.com/lemlist/webhooks"
SECRET = "setup-secret-of-at-least-16-chars"
DEFAULT_TYPES = hook_types(("unsubscribed", "bounced", "replied", "interested"))


@pytest.fixture
def team(sandbox, monkeypatch):
    """A fresh team; ``lemlist_default`` points at it with a webhook secret; the receiver URL is configured."""
    key = f"hooks-{uuid.uuid4().hex[:10]}"
    sandbox.create_team(key)
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(sandbox.base_url, key, webhook_secret=SECRET)
    )
    monkeypatch.setenv("AIRFLOW__LEMLIST__WEBHOOK_RECEIVER_URL", RECEIVER)
    return sandbox.team(key)


def run(**kwargs) -> dict:
    return LemlistWebhooksSetupOperator(task_id=f"setup_{uuid.uuid4().hex[:6]}", **kwargs).execute({})


def hook(team, url: str, types: list[str], campaign_id: str | None = None) -> dict:
    """A hook put straight into the team's state, as if another tool (or an earlier run) created it."""
    record = {"_id": f"hoo_{uuid.uuid4().hex[:17]}", "targetUrl": url, "types": types, "campaignId": campaign_id,
              "isFirst": False, "secret": "someone-elses", "createdAt": "2026-11-01T00:00:00.000Z"}  # fmt: skip
    team.hooks[record["_id"]] = record
    return record


def test_the_default_hook_is_created_once_with_the_secret_and_our_marker(team):
    first = run()
    second = run()

    [created] = team.hooks.values()
    assert sorted(created["types"]) == DEFAULT_TYPES
    assert created["secret"] == SECRET and owner_of(created["targetUrl"]) == "default"
    assert created["targetUrl"].startswith(RECEIVER + "?")
    assert first["counts"]["create"] == 1 and first["applied"]["created"] == [created["_id"]]
    assert second["counts"] == {**second["counts"], "create": 0, "keep": 1, "delete": 0}
    assert SECRET not in json.dumps([first, second])


def test_only_our_undeclared_hooks_are_deleted(team):
    zapier = hook(team, "https://hooks.zapier.com/hooks/standard/1/2/", ["emailsReplied"])
    staging = hook(team, f"{RECEIVER}?airflow_lemlist=staging", ["emailsOpened"])
    stale = hook(team, f"{RECEIVER}?airflow_lemlist=default", ["emailsOpened"])

    report = run()

    ids = set(team.hooks)
    assert zapier["_id"] in ids and staging["_id"] in ids and stale["_id"] not in ids
    assert len(ids) == 3 and report["applied"]["deleted"] == [stale["_id"]]
    assert {h["id"] for h in report["foreign"]} == {zapier["_id"], staging["_id"]}


def test_dry_run_reports_the_plan_and_changes_nothing(team):
    stale = hook(team, f"{RECEIVER}?airflow_lemlist=default", ["emailsOpened"])

    report = run(dry_run=True)

    assert list(team.hooks) == [stale["_id"]]
    assert report["dry_run"] is True and report["applied"] == {}
    assert report["counts"]["create"] == 1 and [h["id"] for h in report["delete"]] == [stale["_id"]]


def test_deletions_come_first_so_a_full_team_can_still_be_replanned(team):
    for n in range(199):
        hook(team, f"https://example.com/other/{n}", ["emailsOpened"])
    stale = hook(team, f"{RECEIVER}?airflow_lemlist=default", ["emailsOpened"])  # 200 hooks: the cap

    report = run()  # creating first would be refused by lemlist (the 201st hook)

    assert len(team.hooks) == 200 and stale["_id"] not in team.hooks
    assert report["counts"]["hooks_after"] == 200 and len(report["applied"]["created"]) == 1


def test_a_plan_above_the_cap_fails_before_any_change(team):
    for n in range(200):
        hook(team, f"https://example.com/other/{n}", ["emailsOpened"])
    before = dict(team.hooks)

    with pytest.raises(AirflowFailException, match="201 hooks .* allows 200"):
        run()
    assert team.hooks == before


def test_recreate_replaces_our_hooks(team):
    run()
    [old] = team.hooks

    report = run(recreate=True)

    [new] = team.hooks
    assert new != old and report["applied"]["deleted"] == [old]


def test_declared_hooks_are_checked_then_created(team):
    report = run(
        hooks=[{"types": ["emailsBounced"]}, {"types": "emailsReplied,emailsOpened", "is_first": True}]
    )
    assert sorted(tuple(sorted(h["types"])) for h in team.hooks.values()) == [
        ("emailsBounced",),
        ("emailsOpened", "emailsReplied"),
    ]
    assert report["counts"]["create"] == 2
    with pytest.raises(AirflowFailException, match="unknown lemlist event type"):
        run(hooks=[{"types": ["emailsSnailMailed"]}])
    with pytest.raises(AirflowFailException, match="campaign_id must be a lemlist id"):
        run(campaign_id="../../etc")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AIRFLOW__LEMLIST__WEBHOOK_RECEIVER_URL": ""}, "no receiver URL"),
        (
            {"AIRFLOW__LEMLIST__WEBHOOK_RECEIVER_URL": "https://user:pw@example.com/x"},
            "must not carry credentials",
        ),
    ],
)
def test_refused_before_any_call(team, sandbox, monkeypatch, env, message):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = sandbox.stats()["total_requests"]
    with pytest.raises(AirflowFailException, match=message):
        run()
    assert sandbox.stats()["total_requests"] == before and team.hooks == {}


def test_a_connection_without_a_usable_secret_registers_nothing(team, sandbox, monkeypatch):
    key = team.api_key
    monkeypatch.setenv(
        "AIRFLOW_CONN_LEMLIST_DEFAULT", connection_json(sandbox.base_url, key, webhook_secret="short")
    )
    with pytest.raises(AirflowFailException, match="shorter than 16"):
        run()
    assert team.hooks == {}

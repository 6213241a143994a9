"""The registration plan: declared hooks vs lemlist's list. Pure, plus one round trip through the sandbox."""

from __future__ import annotations

import pytest

from lemlist_provider.events.registration import (
    MAX_HOOKS,
    OWNER_PARAM,
    PlanError,
    declared_hooks,
    owner_of,
    plan_hooks,
    receiver_target,
)

RECEIVER = "https://airflow.example.com/lemlist/webhooks"
TARGET = receiver_target(RECEIVER, owner="prod")


def declare(*items, owner="prod", **kwargs):
    return declared_hooks(items, receiver_url=RECEIVER, owner=owner, **kwargs)


def lemlist_hook(hook_id, target=TARGET, type=None, campaign=None, is_first=None, **more):
    """A hook as GET /hooks lists it (``type`` a single type or a comma list)."""
    hook = {"_id": hook_id, "targetUrl": target, "createdAt": "2026-01-01T00:00:00.000Z", **more}
    if type:
        hook["type"] = type
    if campaign:
        hook["campaignId"] = campaign
    if is_first is not None:
        hook["isFirst"] = is_first
    return hook


def test_marker_makes_a_hook_ours():
    assert TARGET == f"https://airflow.example.com/lemlist/webhooks?{OWNER_PARAM}=prod"
    assert owner_of(TARGET) == "prod"
    assert owner_of("https://hooks.zapier.com/hooks/standard/1/2/") is None
    assert owner_of(receiver_target(RECEIVER, owner="staging")) == "staging"
    with_conn = receiver_target(RECEIVER + "?x=1", owner="prod", conn_id="lemlist_team_b")
    assert with_conn == f"{RECEIVER}?{OWNER_PARAM}=prod&conn_id=lemlist_team_b&x=1"  # sorted


def test_empty_lemlist_gets_every_declared_hook():
    plan = plan_hooks(
        declare(
            {"types": ["emailsUnsubscribed"]},
            {"types": "emailsReplied,linkedinReplied", "campaign_id": "cam_1"},
        ),
        [],
        owner="prod",
    )
    assert plan.ok and len(plan.create) == 2 and not plan.delete and not plan.keep
    kwargs = plan.create[1].create_kwargs("the-secret")
    assert kwargs == {
        "target_url": TARGET,
        "type": ["emailsReplied", "linkedinReplied"],
        "campaign_id": "cam_1",
        "is_first": None,
        "secret": "the-secret",
    }
    assert "the-secret" not in str(plan.report())


def test_applying_twice_creates_nothing_the_second_time():
    declared = declare({"types": ["emailsReplied", "linkedinReplied"]}, {"types": []})
    existing = [
        lemlist_hook("hoo_1", type="linkedinReplied,emailsReplied"),  # order and spelling differ
        lemlist_hook(
            "hoo_2", target=TARGET.replace("https://airflow.example.com", "https://AIRFLOW.example.com")
        ),
    ]
    plan = plan_hooks(declared, existing, owner="prod")
    assert plan.create == [] and plan.delete == []
    assert [h["_id"] for h in plan.keep] == ["hoo_1", "hoo_2"]


def test_only_our_undeclared_hooks_are_deleted():
    existing = [
        lemlist_hook("hoo_ours_old", type="emailsOpened"),
        lemlist_hook("hoo_zapier", target="https://hooks.zapier.com/x", type="emailsOpened"),
        lemlist_hook("hoo_staging", target=receiver_target(RECEIVER, owner="staging"), type="emailsOpened"),
        lemlist_hook("hoo_unmarked", target=RECEIVER, type="emailsOpened"),  # our URL but no marker: not ours
    ]
    plan = plan_hooks(declare({"types": ["emailsUnsubscribed"]}), existing, owner="prod")
    assert [h["_id"] for h in plan.delete] == ["hoo_ours_old"]
    assert {h["_id"] for h in plan.foreign} == {"hoo_zapier", "hoo_staging", "hoo_unmarked"}
    assert len(plan.create) == 1


def test_identity_includes_campaign_and_is_first():
    existing = [lemlist_hook("hoo_1", type="emailsReplied", campaign="cam_1")]
    plan = plan_hooks(declare({"types": ["emailsReplied"], "campaign_id": "cam_2"}), existing, owner="prod")
    assert len(plan.create) == 1 and [h["_id"] for h in plan.delete] == ["hoo_1"]
    plan = plan_hooks(
        declare({"types": ["emailsReplied"], "campaign_id": "cam_1", "is_first": True}),
        existing,
        owner="prod",
    )
    assert len(plan.create) == 1 and len(plan.delete) == 1


def test_duplicates_are_never_created_and_extra_copies_of_ours_are_removed():
    declared = declare({"types": ["emailsReplied"]}, {"types": ["emailsReplied"]})
    existing = [lemlist_hook("hoo_a", type="emailsReplied"), lemlist_hook("hoo_b", type="emailsReplied")]
    plan = plan_hooks(declared, existing, owner="prod")
    assert plan.declared_twice == 1 and plan.create == []
    assert [h["_id"] for h in plan.keep] == ["hoo_a"] and [h["_id"] for h in plan.delete] == ["hoo_b"]


def test_recreate_replaces_all_of_ours_for_a_new_secret():
    existing = [
        lemlist_hook("hoo_1", type="emailsReplied"),
        lemlist_hook("hoo_z", target="https://n8n.example.com/x"),
    ]
    plan = plan_hooks(declare({"types": ["emailsReplied"]}), existing, owner="prod", recreate=True)
    assert [h["_id"] for h in plan.delete] == ["hoo_1"] and len(plan.create) == 1 and plan.keep == []


def test_the_200_hook_cap_counts_every_hook_and_refuses_the_whole_plan():
    foreign = [lemlist_hook(f"hoo_{i}", target=f"https://hooks.zapier.com/{i}") for i in range(MAX_HOOKS - 1)]
    fits = plan_hooks(declare({"types": ["emailsReplied"]}), foreign, owner="prod")
    assert fits.ok and fits.total_after == MAX_HOOKS
    over = plan_hooks(
        declare({"types": ["emailsReplied"]}, {"types": ["emailsBounced"]}), foreign, owner="prod"
    )
    assert not over.ok and "201 hooks" in over.problems[0]
    assert over.report()["counts"]["hooks_after"] == 201
    # deleting our stale hooks makes room in the same plan
    ours_stale = [lemlist_hook("hoo_stale", type="emailsOpened")]
    swap = plan_hooks(declare({"types": ["emailsReplied"]}), foreign + ours_stale, owner="prod")
    assert swap.ok and swap.total_after == MAX_HOOKS


@pytest.mark.parametrize(
    "item, message",
    [
        ({"types": ["emailsReplyed"]}, "unknown lemlist event type"),
        ({"types": ["emailsReplied"], "campaign_id": "cam/../x"}, "campaign_id"),
        ({"types": ["emailsReplied"], "is_first": "yes"}, "is_first"),
        ({"types": ["emailsReplied"], "secret": "x"}, "unknown key"),
    ],
)
def test_invalid_declarations_are_refused_before_any_plan(item, message):
    with pytest.raises(PlanError, match=message):
        declare(item)


@pytest.mark.parametrize(
    "url",
    ["ftp://x/y", "/lemlist/webhooks", "https://user:pw@airflow.example.com/lemlist/webhooks", "https://"],
)
def test_receiver_url_must_be_absolute_http_without_credentials(url):
    with pytest.raises(PlanError):
        receiver_target(url, owner="prod")


def test_plan_matches_the_hooks_lemlist_lists_after_creating_them(sandbox, lemlist_conn):
    """Round trip through the sandbox: create the plan's hooks, list them, plan again: nothing to do."""
    from lemlist_provider.hooks.lemlist import LemlistHook

    hook = LemlistHook()
    hook.create_webhook("https://n8n.example.com/webhook/abc", type="emailsReplied")  # someone else's
    declared = declare(
        {"types": ["emailsUnsubscribed"]},
        {"types": ["emailsReplied", "linkedinReplied"], "is_first": True},
        {"types": []},
    )
    first = plan_hooks(declared, hook.list_webhooks(), owner="prod")
    assert len(first.create) == 3 and len(first.foreign) == 1
    for spec in first.create:
        hook.create_webhook(**spec.create_kwargs("a-secret-of-at-least-16"))

    second = plan_hooks(declared, hook.list_webhooks(), owner="prod")

    assert second.ok and second.create == [] and second.delete == []
    assert len(second.keep) == 3 and len(second.foreign) == 1

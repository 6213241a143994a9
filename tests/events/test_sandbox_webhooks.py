"""The sandbox sends webhooks like lemlist: payloads with the secret, hook filters, the retry schedule, hook
deletion on 404/410, the duplicate and lost-answer switches, campaign journeys, enrichment callbacks, and a
sender that never holds up the API. Everything over real HTTP, to a recording target."""

from __future__ import annotations

import time

import pytest
import requests
from recorder import Recorder

from lemlist_sandbox import DEMO_KEY, SandboxServer
from lemlist_sandbox.delivery import MAX_RETRIES, retry_delay

SCALE = 0.01  # lemlist's 10 s * 2^n retry delays become 0.1 s * 2^n
SECRET = "s3cret-shared-with-airflow"


@pytest.fixture
def sandbox():
    with SandboxServer(time_scale=SCALE, rate_limit=0, activity_delay=5.0) as server:
        yield server


@pytest.fixture
def target():
    with Recorder() as recorder:
        yield recorder


@pytest.fixture
def api(sandbox):
    session = requests.Session()
    session.auth = ("", DEMO_KEY)

    def call(method: str, path: str, **kwargs):
        answer = session.request(method, f"{sandbox.base_url}{path}", timeout=10, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text[:200]}"
        return answer.json()

    return call


def add_hook(api, url: str, types: str | None = None, **params) -> dict:
    body = {"targetUrl": url, "secret": SECRET, **({"type": types} if types else {})}
    return api("POST", "/hooks", json=body, params=params or None)


def campaign_with_leads(api, *emails: str) -> str:
    campaign = api("POST", "/campaigns", json={"name": f"journeys {time.monotonic()}"})["_id"]
    for email in emails:
        api("POST", f"/campaigns/{campaign}/leads/", json={"email": email, "firstName": "Ada"})
    return campaign


def test_an_emitted_event_reaches_the_hooks_that_want_it_with_lemlists_payload(sandbox, target, api):
    add_hook(api, target.url("unsub"), "emailsUnsubscribed")
    add_hook(api, target.url("all"))  # no type: every event
    add_hook(api, target.url("replies"), "emailsReplied,warmed")

    emitted = sandbox.emit("emailsUnsubscribed", email="Gone@Example.com", fields={"campaignId": "cam_x"})
    sandbox.wait_for_webhooks(timeout=30)

    assert emitted["deliveries"] == 2
    [body] = target.bodies("unsub")
    assert target.bodies("all") == [body] and target.bodies("replies") == []
    event = emitted["events"][0]
    assert body == {**event, "secret": SECRET}
    assert body["type"] == "emailsUnsubscribed" and body["email"] == "gone@example.com"
    assert {"_id", "createdAt", "teamId", "campaignId"} <= set(body)
    assert body["teamId"] == sandbox.team_id()


def test_campaign_and_is_first_filters(sandbox, target, api):
    campaign = campaign_with_leads(api, "ada@example.com")
    lead_id = api("GET", f"/campaigns/{campaign}/leads/")[0]["_id"]
    add_hook(api, target.url("campaign"), "emailsOpened", campaignId=campaign)
    add_hook(api, target.url("first"), "emailsOpened", isFirst="true")

    sandbox.emit("emailsOpened", lead_id=lead_id, count=2)
    sandbox.emit("emailsOpened", email="other@example.com", campaign_id="cam_elsewhere")
    sandbox.wait_for_webhooks(timeout=30)

    assert [b["leadId"] for b in target.bodies("campaign")] == [lead_id, lead_id]
    assert {b.get("leadId") for b in target.bodies("first")} == {lead_id, None}  # once per lead
    assert len(target.bodies("first")) == 2


def test_failed_deliveries_follow_lemlists_retry_schedule_then_stop(sandbox, target, api):
    add_hook(api, target.url("flaky"), "emailsReplied")
    add_hook(api, target.url("down"), "emailsReplied")
    target.answers["flaky"].extend([503, 500, 502])  # the fourth attempt succeeds
    target.answers["down"].extend([500] * 20)

    sandbox.emit("emailsReplied", email="ada@example.com")
    stats = sandbox.wait_for_webhooks(timeout=60)

    flaky, down = target.received["flaky"], target.received["down"]
    assert len(flaky) == 4 and len(down) == 1 + MAX_RETRIES
    assert len({str(body) for _, body in flaky + down}) == 1  # every retry sends the same body
    gaps = [later - earlier for (earlier, _), (later, _) in zip(down, down[1:], strict=False)]
    for retry, gap in enumerate(gaps):
        assert gap >= retry_delay(retry, SCALE) * 0.9, (retry, gap)
    assert gaps[-1] > gaps[0] * 8  # 10 s * 2^n: the fifth wait is 16 times the first
    assert stats["delivered"] == 1 and stats["gave_up"] == 1 and stats["retries"] == 3 + MAX_RETRIES


@pytest.mark.parametrize("status", [404, 410])
def test_a_404_or_410_deletes_the_hook_and_is_not_retried(sandbox, target, api, status):
    gone = add_hook(api, target.url("gone"), "emailsBounced")
    kept = add_hook(api, target.url("kept"), "emailsBounced")
    target.answers["gone"].append(status)

    sandbox.emit("emailsBounced", email="ada@example.com")
    stats = sandbox.wait_for_webhooks(timeout=30)

    assert len(target.received["gone"]) == 1 and stats["hooks_deleted"] == 1
    assert [h["_id"] for h in api("GET", "/hooks")] == [kept["_id"]]
    assert gone["_id"] not in {h["_id"] for h in api("GET", "/hooks")}
    sandbox.emit("emailsBounced", email="bob@example.com")
    sandbox.wait_for_webhooks(timeout=30)
    assert len(target.received["gone"]) == 1 and len(target.received["kept"]) == 2


def test_duplicate_and_lost_answer_switches_deliver_the_same_body_again(sandbox, target, api):
    add_hook(api, target.url("dup"), "emailsReplied")
    sandbox.set_faults(webhook_duplicate_rate=1.0)
    sandbox.emit("emailsReplied", email="ada@example.com")
    stats = sandbox.wait_for_webhooks(timeout=30)
    assert len(target.bodies("dup")) == 2 and target.bodies("dup")[0] == target.bodies("dup")[1]
    assert stats["duplicates"] == 1

    sandbox.set_faults(webhook_duplicate_rate=0.0, webhook_lost_answer_rate=1.0)
    sandbox.emit("emailsReplied", email="bob@example.com")
    stats = sandbox.wait_for_webhooks(timeout=60)
    bobs = [b for b in target.bodies("dup") if b["email"] == "bob@example.com"]
    assert len(bobs) == 1 + MAX_RETRIES and all(b == bobs[0] for b in bobs)
    assert stats["lost_answers"] == 1 + MAX_RETRIES


def test_a_started_campaign_plays_each_leads_journey_with_webhooks(sandbox, target, api):
    add_hook(api, target.url("all"))
    campaign = campaign_with_leads(
        api, "unsub.ada@example.com", "bounce.bob@example.com", "interested.cy@example.com", "dee@example.com"
    )
    assert target.bodies("all") == []  # a draft campaign sends nothing

    expected = {
        "unsub.ada@example.com": ["emailsSent", "contacted", "emailsOpened", "hooked", "emailsUnsubscribed"],
        "bounce.bob@example.com": ["emailsSent", "contacted", "emailsBounced"],
        "interested.cy@example.com": ["emailsSent", "contacted", "emailsOpened", "hooked", "emailsReplied",
                                      "warmed", "emailsInterested", "interested"],
        "dee@example.com": ["emailsSent", "contacted", "emailsOpened", "hooked"],
    }  # fmt: skip
    total = sum(map(len, expected.values()))
    api("POST", f"/campaigns/{campaign}/start")
    deadline = time.monotonic() + 60
    while len(target.bodies("all")) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    sandbox.wait_for_webhooks(timeout=30)

    journeys: dict[str, list[str]] = {}
    for body in target.bodies("all"):  # the two events of one step travel side by side: compare as sets
        journeys.setdefault(body["email"], []).append(body["type"])
    assert {email: sorted(types) for email, types in journeys.items()} == {
        email: sorted(types) for email, types in expected.items()
    }
    assert all(b["campaignId"] == campaign and b["secret"] == SECRET for b in target.bodies("all"))
    unsubscribes = {u["value"]: u["source"] for u in api("GET", "/unsubscribes")}
    assert (
        unsubscribes["unsub.ada@example.com"] == "lead"
        and unsubscribes["bounce.bob@example.com"] == "bounced"
    )
    types = [a["type"] for a in api("GET", "/activities", params={"version": "v2", "campaignId": campaign})]
    assert len(types) == total  # every event is also an activity of the campaign


def test_a_finished_enrichment_calls_its_webhook_url_without_secret_and_the_hooks_with_it(
    sandbox, target, api
):
    add_hook(api, target.url("hooks"), "enrichmentDone,enrichmentError")
    started = api(
        "POST", "/v2/enrichments/bulk", params={"webhookUrl": target.url("callback?run=abc")},
        json=[{"input": {"email": "ada@example.com"}, "enrichmentRequests": ["verify"], "metadata": "row-1"},
              {"input": {"email": "x@enrich-fail.example"}, "enrichmentRequests": ["verify"]}],
    )  # fmt: skip
    ids = {item["id"] for item in started}
    deadline = time.monotonic() + 30
    while len(target.bodies("callback")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    sandbox.wait_for_webhooks(timeout=30)

    callbacks = {b["enrichmentId"]: b for b in target.bodies("callback")}
    assert set(callbacks) == ids and all("secret" not in b for b in callbacks.values())
    assert sorted(b["type"] for b in callbacks.values()) == ["enrichmentDone", "enrichmentError"]
    done = next(b for b in callbacks.values() if b["type"] == "enrichmentDone")
    assert done["metadata"] == "row-1" and done["data"]["verify"]["status"] == "deliverable"
    assert {b["enrichmentId"] for b in target.bodies("hooks")} == ids
    assert all(b["secret"] == SECRET for b in target.bodies("hooks"))


def test_a_slow_target_never_holds_up_the_api(sandbox, target, api):
    add_hook(api, target.url("slow"), "emailsOpened")
    target.hold.clear()  # the target keeps every request waiting until released

    emitted = sandbox.emit("emailsOpened", email="ada@example.com", count=20)
    assert target.waiting.wait(10)  # a delivery is in the target's hands, unanswered ...
    assert api("GET", "/team")["_id"]  # ... and the API answers all the same
    assert sandbox.webhooks()["in_flight"] == 20 and emitted["deliveries"] == 20

    target.hold.set()
    assert sandbox.wait_for_webhooks(timeout=30)["delivered"] == 20

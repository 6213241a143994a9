"""Each line of the error policy against the sandbox's fault switches; counters match the sandbox's."""

from __future__ import annotations

import logging

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.hooks.errors import (
    LemlistAuthError,
    LemlistClientError,
    LemlistNotFoundError,
    LemlistRateLimitError,
    LemlistResponseError,
    LemlistServerError,
)
from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.hooks.policy import RetryConfig

FAST = RetryConfig(backoff_base=0.01, backoff_max=0.05)
PATIENT = RetryConfig(backoff_base=0.01, max_attempts=50)


@pytest.fixture
def faulty(fresh_team, make_conn):
    """``faulty(faults, retry=FAST, **conn_extra) -> (sandbox, hook)``: a hook on a team of a sandbox of its
    own, whose fault switches ``faults`` are then turned on."""
    sandbox, key, _ = fresh_team

    def make(faults: dict, retry: RetryConfig = FAST, **conn_extra):
        hook = LemlistHook(make_conn(sandbox.base_url, key, **conn_extra), retry_config=retry)
        sandbox.set_faults(**faults)
        return sandbox, hook

    return make


def _flags(sandbox, team_id: str, **flags) -> None:
    r = requests.post(
        f"{sandbox.root_url}/_sandbox/teams/{team_id}/flags",
        json=flags,
        headers={"X-Sandbox-Token": "sandbox-control"},
    )
    r.raise_for_status()


def _logs(caplog, capsys) -> str:
    """Airflow 3 logs through structlog to stdout; stdlib records land in caplog: read both."""
    captured = capsys.readouterr()
    return "\n".join([caplog.text, captured.out, captured.err])


def test_429_is_waited_and_resent(faulty, caplog, capsys):
    sandbox, hook = faulty({"force_429": 2})
    with caplog.at_level(logging.WARNING):
        assert hook.get_team()["name"]
    stats = sandbox.stats()
    assert stats["forced_429"] == 2
    assert hook.metrics()["rate_limited"] == 2
    assert hook.metrics()["requests"] == stats["total_requests"] == 3
    assert hook.metrics()["waited_seconds"] >= 2.0  # Retry-After: 1 honoured twice
    waits = [line for line in _logs(caplog, capsys).splitlines() if "rate limited" in line]
    assert len(waits) == 2 and "GET /team" in waits[0] and "waiting" in waits[0]
    assert "429 #1 of this call" in waits[0] and "429 #2 of this call" in waits[1]


def test_429_cap_ends_in_clear_error(faulty):
    _, hook = faulty({"force_429": 10}, retry=RetryConfig(max_rate_limit_wait=1.5))
    with pytest.raises(LemlistRateLimitError, match="429") as err:
        hook.get_team()
    assert hook.lemlist_conn_id in str(err.value) and "GET /team" in str(err.value)
    assert hook.metrics()["failures"] == 1


def test_5xx_retried_with_backoff_and_counted(faulty, caplog, capsys):
    sandbox, hook = faulty({"error_rate": 0.5}, retry=PATIENT, rate_limit=0)
    with caplog.at_level(logging.WARNING):
        for _ in range(20):
            hook.get_credits()
    stats = sandbox.stats()
    assert stats["faults_5xx"] > 0
    assert hook.metrics()["retries"] == stats["faults_5xx"]
    assert hook.metrics()["rate_limited"] == stats["rate_limited_429"]  # pacing is off here
    assert (
        hook.metrics()["requests"]
        == stats["total_requests"]
        == 20 + stats["faults_5xx"] + stats["rate_limited_429"]
    )
    assert any(
        "attempt 1/50" in line and "retrying in" in line for line in _logs(caplog, capsys).splitlines()
    )


def test_5xx_bounded_attempts(faulty):
    sandbox, hook = faulty({"error_rate": 1.0})
    with pytest.raises(LemlistServerError, match="after 5 attempts"):
        hook.get_team()
    assert sandbox.stats()["faults_5xx"] == 5


def test_connection_resets_are_retried(faulty):
    sandbox, hook = faulty({"reset_rate": 0.3}, retry=PATIENT, rate_limit=0)
    for _ in range(15):
        assert hook.get_credits()["credits"] == 10_000
    stats = sandbox.stats()
    assert stats["connection_resets"] > 0
    assert hook.metrics()["retries"] == stats["connection_resets"]


def test_timeout_is_retried(faulty):
    _, hook = faulty({"latency_ms": 500}, retry=RetryConfig(backoff_base=0.01, max_attempts=2), timeout=0.2)
    with pytest.raises(LemlistServerError, match="timeout"):
        hook.get_team()
    assert hook.metrics()["retries"] == 1 and hook.metrics()["requests"] == 2


def test_post_not_replay_safe_is_not_resent(faulty):
    sandbox, hook = faulty({"error_rate": 1.0})
    with pytest.raises(LemlistServerError, match="not safe to replay"):
        hook.create_campaign("Never twice")
    assert sandbox.stats()["total_requests"] == 1


def test_add_lead_replayed_after_ambiguous_failure(fresh_team, make_conn):
    sandbox, key, _ = fresh_team
    hook = LemlistHook(make_conn(sandbox.base_url, key), retry_config=FAST)
    campaign = hook.create_campaign("Replay")
    campaign_id = campaign.get("_id") or campaign.get("id")
    first = hook.add_lead_to_campaign(campaign_id, "a@example.com", firstName="A")
    assert "alreadyInCampaign" not in first
    again = hook.add_lead_to_campaign(campaign_id, "a@example.com")
    assert again == {
        "email": "a@example.com",
        "alreadyInCampaign": True,
        "duplicateScope": "campaign",
        "afterReplay": False,
    }
    other = hook.create_campaign("Other")
    dup = hook.add_lead_to_campaign(other.get("_id") or other.get("id"), "a@example.com", deduplicate=True)
    assert dup["duplicateScope"] == "team"
    # replay-safe POST: resent through 5xx until it lands
    sandbox.set_faults(error_rate=0.6)
    hook2 = LemlistHook(
        make_conn(sandbox.base_url, key), retry_config=RetryConfig(backoff_base=0.01, max_attempts=60)
    )
    result = hook2.add_lead_to_campaign(campaign_id, "b@example.com")
    assert result.get("email") == "b@example.com"
    sandbox.set_faults(error_rate=0.0)
    leads = sandbox.team(key).leads_in_campaign(campaign_id)
    assert [lead["email"] for lead in leads].count("b@example.com") == 1


def test_401_fails_at_once_with_clear_message(fresh_team, make_conn):
    sandbox, _, _ = fresh_team
    conn_id = make_conn(sandbox.base_url, "not-a-real-key")
    hook = LemlistHook(conn_id)
    with pytest.raises(AirflowFailException) as err:
        hook.get_team()
    assert isinstance(err.value, LemlistAuthError)
    msg = str(err.value)
    assert conn_id in msg and "GET /team" in msg and "authentication you supplied is incorrect" in msg
    assert "not-a-real-key" not in msg
    assert sandbox.stats()["total_requests"] == 1
    ok, message = hook.test_connection()
    assert not ok and "rejected the API key" in message and conn_id in message


@pytest.mark.parametrize("flag,status", [("blocked", 403), ("plan_gated", 402)])
def test_402_403_fail_at_once(fresh_team, make_conn, flag, status):
    sandbox, key, team_id = fresh_team
    _flags(sandbox, team_id, **{flag: True})
    hook = LemlistHook(make_conn(sandbox.base_url, key))
    with pytest.raises(LemlistAuthError) as err:
        if flag == "blocked":
            hook.get_team()
        else:
            hook.add_unsubscribes_bulk(["x@example.com"])
    assert err.value.status == status and isinstance(err.value, AirflowFailException)
    assert hook.metrics()["requests"] == 1 and hook.metrics()["retries"] == 0


def test_404_is_typed_and_other_4xx_carry_reason(team_key, sandbox, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    with pytest.raises(LemlistNotFoundError) as err:
        hook.get_campaign("cam_doesnotexist")
    assert err.value.status == 404 and "/campaigns/{campaign_id}" in str(err.value)
    with pytest.raises(LemlistClientError) as err:
        hook.create_webhook("not a url")  # 400 with lemlist's reason
    assert err.value.reason


def test_html_200_is_an_error(team_key, sandbox, make_conn):
    hook = LemlistHook(make_conn(sandbox.base_url, team_key))
    with pytest.raises(LemlistResponseError, match="HTML"):
        hook.request("GET", "/no/such/route")


def test_key_never_in_logs_even_when_sandbox_echoes_it(fresh_team, make_conn, caplog, capsys):
    import base64

    sandbox, key, _ = fresh_team
    hook = LemlistHook(make_conn(sandbox.base_url, key), retry_config=FAST)
    sandbox.set_faults(error_rate=1.0, echo_key_in_errors=True)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(LemlistServerError) as err:
            hook.get_team()
    basic = base64.b64encode(f":{key}".encode()).decode()
    captured = capsys.readouterr()
    texts = [caplog.text, captured.out, captured.err, str(err.value), err.value.reason]
    for text in texts:
        assert key not in text and basic not in text
    assert "***" in err.value.reason  # the echo was there, and scrubbed

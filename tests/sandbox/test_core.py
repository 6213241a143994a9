"""The sandbox's core behaviour over real HTTP: auth, the 20 / 2 s budget and its headers, team isolation,
every fault switch, the team flags and the request counters."""

from __future__ import annotations

import base64
import re
import threading
import time

import pytest
import requests

JS_DATE = re.compile(r"^\w{3} \w{3} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT[+-]\d{4} \(.+\)$")


def session(key: str) -> requests.Session:
    s = requests.Session()
    s.auth = ("", key)
    return s


def test_21st_request_in_a_window_gets_429_with_headers(sandbox, team_key):
    s = session(team_key)
    answers = [s.get(f"{sandbox.base_url}/team", timeout=5) for _ in range(21)]
    assert [a.status_code for a in answers[:20]] == [200] * 20
    last = answers[20]
    assert last.status_code == 429 and int(last.headers["Retry-After"]) >= 1
    for answer in answers:
        for header in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            assert header in answer.headers
        assert JS_DATE.match(answer.headers["X-RateLimit-Reset"])
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers[:3]] == [19, 18, 17]
    assert answers[0].headers["X-RateLimit-Limit"] == "20"


def test_bad_key_is_401_text_plain(sandbox):
    basic = requests.get(f"{sandbox.base_url}/team", auth=("", "wrong-key"), timeout=5)
    token = requests.get(f"{sandbox.base_url}/team", params={"access_token": "wrong-key"}, timeout=5)
    none = requests.get(f"{sandbox.base_url}/team", timeout=5)
    for answer in (basic, token, none):
        assert answer.status_code == 401 and answer.headers["content-type"].startswith("text/plain")


def test_access_token_and_basic_both_authenticate(sandbox, team_key):
    header = {"Authorization": "Basic " + base64.b64encode(f":{team_key}".encode()).decode()}
    assert requests.get(f"{sandbox.base_url}/team", headers=header, timeout=5).status_code == 200
    assert (
        requests.get(f"{sandbox.base_url}/team", params={"access_token": team_key}, timeout=5).status_code
        == 200
    )


def test_team_isolation(sandbox, team_key):
    other = f"{team_key}-other"
    sandbox.create_team(other)
    mine, theirs = session(team_key), session(other)
    cid = mine.post(f"{sandbox.base_url}/campaigns", json={"name": "private"}, timeout=5).json()["_id"]
    mine.post(f"{sandbox.base_url}/campaigns/{cid}/leads/", json={"email": "secret@lead.test"}, timeout=5)
    assert theirs.get(f"{sandbox.base_url}/campaigns", timeout=5).json() == []
    assert theirs.get(f"{sandbox.base_url}/campaigns/{cid}/leads/", timeout=5).status_code == 404
    assert (
        theirs.get(f"{sandbox.base_url}/leads", params={"email": "secret@lead.test"}, timeout=5).status_code
        == 404
    )
    assert (
        mine.get(f"{sandbox.base_url}/leads", params={"email": "secret@lead.test"}, timeout=5).status_code
        == 200
    )


def test_error_rate_answers_5xx_and_counts_them(fresh_sandbox):
    fresh_sandbox.set_faults(error_rate=1.0, rate_limit=0)
    answer = session("sandbox-api-key").get(f"{fresh_sandbox.base_url}/team", timeout=5)
    assert answer.status_code in (500, 502, 503)
    assert fresh_sandbox.stats()["faults_5xx"] == 1


def test_reset_rate_breaks_the_connection(fresh_sandbox):
    fresh_sandbox.set_faults(reset_rate=1.0)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{fresh_sandbox.base_url}/team", auth=("", "sandbox-api-key"), timeout=5)
    assert fresh_sandbox.stats()["connection_resets"] == 1


def test_latency_slows_answers(fresh_sandbox):
    s = session("sandbox-api-key")
    fresh_sandbox.set_faults(latency_ms=300)
    started = time.perf_counter()
    assert s.get(f"{fresh_sandbox.base_url}/team", timeout=5).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_force_429(fresh_sandbox):
    s = session("sandbox-api-key")
    fresh_sandbox.set_faults(force_429=2)
    codes = [s.get(f"{fresh_sandbox.base_url}/team", timeout=5).status_code for _ in range(3)]
    assert codes == [429, 429, 200]
    assert fresh_sandbox.stats()["forced_429"] == 2


def test_html_for_unknown_routes(fresh_sandbox):
    s = session("sandbox-api-key")
    html = s.get(f"{fresh_sandbox.base_url}/no/such/route", timeout=5)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    fresh_sandbox.set_faults(html_for_unknown=False)
    assert s.get(f"{fresh_sandbox.base_url}/no/such/route", timeout=5).status_code == 404


def test_blocked_flag(sandbox, team_key):
    sandbox.set_team_flags(team_key, blocked=True)
    answer = session(team_key).get(f"{sandbox.base_url}/campaigns", timeout=5)
    assert (answer.status_code, answer.text) == (403, "User linked to this API key is blocked")
    assert answer.headers["content-type"].startswith("text/plain")
    sandbox.set_team_flags(team_key, blocked=False)
    assert session(team_key).get(f"{sandbox.base_url}/campaigns", timeout=5).status_code == 200


def test_plan_gated_flag(sandbox, team_key):
    s = session(team_key)
    sandbox.set_team_flags(team_key, plan_gated=True)
    gated = s.post(f"{sandbox.base_url}/v2/unsubscribes/variables", json={"values": ["a@b.io"]}, timeout=5)
    assert (gated.status_code, gated.text) == (402, "route is available starting emailPro plan")
    assert s.post(f"{sandbox.base_url}/unsubscribes/a%40b.io", timeout=5).status_code == 200


def test_unknown_flag_is_refused(sandbox, team_key):
    with pytest.raises(requests.HTTPError):
        sandbox.set_team_flags(team_key, teleport=True)


def test_stats_count_routes_statuses_and_concurrency(fresh_sandbox):
    fresh_sandbox.set_faults(latency_ms=150, rate_limit=0)
    key = "sandbox-api-key"
    s = session(key)
    s.get(f"{fresh_sandbox.base_url}/campaigns/cam_missing", timeout=5)
    threads = [
        threading.Thread(
            target=lambda: requests.get(f"{fresh_sandbox.base_url}/team", auth=("", key), timeout=5)
        )
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = fresh_sandbox.stats()
    assert stats["by_route"]["GET /api/campaigns/{campaignId}"] == 1
    assert stats["by_route_status"]["GET /api/campaigns/{campaignId}"] == {"404": 1}
    assert stats["by_route"]["GET /api/team"] == 4 and stats["by_status"]["200"] == 4
    team_id = fresh_sandbox.team_id(key)
    assert stats["peak_concurrency"][team_id] >= 3


def test_request_log_times_each_answer_per_team(fresh_sandbox):
    fresh_sandbox.set_faults(rate_limit=2, rate_window=60.0)
    key, other = "sandbox-api-key", "sandbox-other-key"
    before = time.time()
    for _ in range(3):
        session(key).get(f"{fresh_sandbox.base_url}/team", timeout=5)
    session(other).get(f"{fresh_sandbox.base_url}/campaigns/cam_missing", timeout=5)
    requests.get(f"{fresh_sandbox.base_url}/team", auth=("", "no-such-key"), timeout=5)
    after = time.time()
    team_id = fresh_sandbox.team_id(key)
    log = fresh_sandbox.requests(team_id)
    assert log["dropped"] == 0
    assert [(r["route"], r["status"]) for r in log["requests"]] == [("GET /api/team", "200")] * 2 + [
        ("GET /api/team", "429")
    ]
    times = [r["t"] for r in log["requests"]]
    assert before <= times[0] <= times[1] <= times[2] <= after
    everyone = fresh_sandbox.requests()["requests"]
    assert len(everyone) == 4 and everyone[-1]["route"] == "GET /api/campaigns/{campaignId}"  # no 401 logged
    assert fresh_sandbox.requests(team_id, since=times[2])["requests"] == log["requests"][2:]
    fresh_sandbox.reset(data=False)
    assert fresh_sandbox.requests() == {"requests": [], "dropped": 0}

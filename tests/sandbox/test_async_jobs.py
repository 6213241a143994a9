"""The asynchronous lifecycles over real HTTP: enrichments (202 → 200, credits, 409s, bulk) and campaign
exports (pending → done → streamed CSV download → expiry), with time_scale 0.01 (0.2 s / 0.3 s)."""

from __future__ import annotations

import csv
import io
import time

import pytest
import requests
from test_pipeline_routes import Api


@pytest.fixture
def api(sandbox, team_key) -> Api:
    return Api(sandbox.base_url, team_key)


def credits(sandbox, key: str) -> int:
    return sandbox.team(key).credits


def wait_done(api: Api, enrichment_id: str, timeout: float = 5.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api("GET", f"/enrich/{enrichment_id}")
        if answer.status_code != 202:
            return answer
        time.sleep(0.1)
    raise AssertionError("enrichment never finished")


# -- enrichment ------------------------------------------------------------------------------------------------
def test_lead_enrichment_lifecycle_and_409s(api, sandbox, team_key):
    cid = api("POST", "/campaigns", json={"name": "enrich"}).json()["_id"]
    lead = api(
        "POST",
        f"/campaigns/{cid}/leads/",
        json={
            "email": "ada@analytical.io",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "companyDomain": "analytical.io",
        },
    ).json()
    before = credits(sandbox, team_key)
    none = api("POST", f"/leads/{lead['_id']}/enrich")
    assert none.status_code == 400 and none.text.startswith("No enrichment requested")
    started = api(
        "POST", f"/leads/{lead['_id']}/enrich", params={"findPhone": "true", "verifyEmail": "true"}
    ).json()
    assert started["id"].startswith("enr_")
    assert credits(sandbox, team_key) == before - 2  # one credit per requested type, charged at once
    pending = api("GET", f"/enrich/{started['id']}")
    assert pending.status_code == 202 and pending.content == b""
    busy = api(
        "POST", f"/leads/{lead['_id']}/enrich", params={"findPhone": "true"}, check=False
    )  # 409 bodies: see OAS examples
    assert busy.status_code == 409 and busy.json()["error"] == "lead is already being enriched"
    done = wait_done(api, started["id"]).json()
    assert done["enrichmentStatus"] == "done" and done["status"] == "completed"
    assert (
        done["data"]["phone"]["phone"].startswith("+33")
        and done["data"]["verification"]["status"] == "deliverable"
    )
    assert done["input"]["email"] == "ada@analytical.io"
    again = api("POST", f"/leads/{lead['_id']}/enrich", params={"findPhone": "true"}, check=False)
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_ENRICHED"
    forced = api("POST", f"/leads/{lead['_id']}/enrich", params={"findPhone": "true", "force": "true"})
    assert forced.status_code == 200
    assert (
        api("POST", "/leads/lea_missing/enrich", params={"findPhone": "true"}).json()["code"]
        == "LEAD_NOT_FOUND"
    )
    assert sandbox.team(team_key).leads[lead["_id"]]["phone"].startswith("+33")  # results land on the lead


def test_enrichment_failure_refunds_and_not_found(api, sandbox, team_key):
    before = credits(sandbox, team_key)
    failing = api("POST", "/enrich", params={"verifyEmail": "true", "email": "x@enrich-fail.test"}).json()[
        "id"
    ]
    nobody = api(
        "POST",
        "/enrich",
        params={"findEmail": "true", "firstName": "Nobody", "lastName": "Here", "companyDomain": "acme.test"},
    ).json()["id"]
    assert credits(sandbox, team_key) == before - 2
    failed = wait_done(api, failing).json()
    assert failed["enrichmentStatus"] == "failed" and failed["status"] == "failed"
    found = wait_done(api, nobody).json()
    assert found["enrichmentStatus"] == "done" and found["data"]["email"]["notFound"] is True
    assert credits(sandbox, team_key) == before - 1  # the failed one was refunded
    assert api("GET", "/enrich/enr_missing").status_code == 404
    assert api("POST", "/enrich", params={"email": "a@b.io"}).status_code == 400


def test_enrichment_refused_when_credits_are_short(api, sandbox, team_key):
    sandbox._call("POST", f"/teams/{sandbox.team_id(team_key)}/credits", {"credits": 1})
    short = api(
        "POST",
        "/enrich",
        params={
            "findEmail": "true",
            "verifyEmail": "true",
            "email": "a@b.io",
            "linkedinUrl": "https://www.linkedin.com/in/a",
        },
        check=False,
    )
    assert short.status_code == 402 and "credits" in short.text
    assert credits(sandbox, team_key) == 1


def test_bulk_enrichment_limits_and_item_errors(api, sandbox, team_key):
    items = [
        {
            "input": {"firstName": "Ada", "lastName": "L", "companyDomain": "a.io"},
            "enrichmentRequests": ["find_email"],
            "metadata": {"row": 1},
        },
        {"input": {"firstName": "Ada"}, "enrichmentRequests": ["find_email"], "metadata": "row-2"},
        {"input": {"email": "b@b.io"}, "enrichmentRequests": ["verify", "find_phone"]},
    ]
    before = credits(sandbox, team_key)
    # A malformed item makes the whole request a 400 with the spec's code, and nothing is charged.
    teleport = {"input": {"email": "b@b.io"}, "enrichmentRequests": ["teleport"]}
    malformed = api("POST", "/v2/enrichments/bulk", json=[*items, teleport], check=False)
    assert (malformed.status_code, malformed.json()) == (400, {"error": "WRONG_ENRICHMENT_REQUEST_FORMAT"})
    assert credits(sandbox, team_key) == before
    answers = api("POST", "/v2/enrichments/bulk", json=items).json()
    assert (
        answers[0]["id"].startswith("enr_")
        and answers[0]["metadata"] == {"row": 1}
        and answers[0]["error"] is None
    )
    assert answers[1] == {"error": "MISSING_INPUTS", "metadata": "row-2", "id": None}
    assert answers[2]["id"] and answers[2]["error"] is None
    assert credits(sandbox, team_key) == before - 3
    assert wait_done(api, answers[2]["id"]).json()["data"]["verification"]["email"] == "b@b.io"
    too_many = api("POST", "/v2/enrichments/bulk", json=[items[0]] * 501)
    assert too_many.status_code == 400 and too_many.json() == {"error": "TOO_MANY_ENRICHMENTS_REQUESTED"}
    assert api("POST", "/v2/enrichments/bulk", json={"not": "a list"}).json()["error"] == "WRONG_BODY_FORMAT"
    assert len(api("POST", "/v2/enrichments/bulk", json=[items[0]] * 500).json()) == 500


def test_add_lead_with_enrichment_flags_starts_an_enrichment(api, sandbox, team_key):
    cid = api("POST", "/campaigns", json={"name": "flags"}).json()["_id"]
    before = credits(sandbox, team_key)
    lead = api(
        "POST", f"/campaigns/{cid}/leads/", params={"findPhone": "true"}, json={"email": "p@phone.test"}
    ).json()
    assert credits(sandbox, team_key) == before - 1
    assert any(e["leadId"] == lead["_id"] for e in sandbox.team(team_key).enrichments.values())


# -- exports ---------------------------------------------------------------------------------------------------------
def _wait_export(api: Api, cid: str, export_id: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    progress = []
    while time.monotonic() < deadline:
        status = api("GET", f"/campaigns/{cid}/export/{export_id}/status").json()
        assert status["ok"] is True
        progress.append(status["status"]["progress"])
        if status["status"]["status"] != "pending":
            assert progress == sorted(progress)  # progress only grows
            return status["status"]
        time.sleep(0.1)
    raise AssertionError("export never finished")


def test_export_lifecycle_download_and_expiry(api, sandbox, team_key):
    cid = api("POST", "/campaigns", json={"name": 'export, "quoted"'}).json()["_id"]
    for i in range(7):
        api(
            "POST",
            f"/campaigns/{cid}/leads/",
            json={"email": f"e{i}@export.test", "companyName": "Acme, Inc."},
        )
    started = api("GET", f"/campaigns/{cid}/export/start").json()
    assert started["_id"].startswith("axp_") and started["status"] == "pending" and started["total"] == 7
    status = _wait_export(api, cid, started["_id"])
    assert status["status"] == "done" and status["progress"] == 7 and status["endedAt"]
    assert "/_sandbox/downloads/" in status["url"] and "/api/" not in status["url"]
    before = sandbox.stats()["total_requests"]
    download = requests.get(status["url"], timeout=10)  # no auth: like an S3 link
    assert download.status_code == 200 and len(download.content) == status["fileSize"]
    assert int(download.headers["content-length"]) == status["fileSize"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == 7 and rows[0]["companyName"] == "Acme, Inc."
    assert sandbox.stats()["total_requests"] == before  # downloads are not API requests
    emailed = api("PUT", f"/campaigns/{cid}/export/{started['_id']}/email/ops%40acme.test").json()
    assert emailed["status"]["email"] == "ops@acme.test"
    sandbox.expire_export(team_key, started["_id"])
    gone = api("GET", f"/campaigns/{cid}/export/{started['_id']}/status")
    assert gone.status_code == 404 and gone.json() == {"ok": False, "message": "Export not found"}


def test_export_status_expires_by_the_clock(fresh_sandbox):
    key = "expiry-key"
    fresh_sandbox.create_team(key)
    fresh_sandbox.set_faults(export_expiry=50.0)  # 0.5 s at time_scale 0.01
    api = Api(fresh_sandbox.base_url, key)
    cid = api("POST", "/campaigns", json={"name": "expiry"}).json()["_id"]
    export_id = api("GET", f"/campaigns/{cid}/export/start").json()["_id"]
    assert api("GET", f"/campaigns/{cid}/export/{export_id}/status").status_code == 200
    time.sleep(0.6)
    assert api("GET", f"/campaigns/{cid}/export/{export_id}/status").status_code == 404


def test_forced_export_error(api, sandbox, team_key):
    cid = api("POST", "/campaigns", json={"name": "broken"}).json()["_id"]
    export_id = api("GET", f"/campaigns/{cid}/export/start").json()["_id"]
    sandbox.fail_export(team_key, export_id, reason="disk full")
    status = api("GET", f"/campaigns/{cid}/export/{export_id}/status").json()["status"]
    assert status["status"] == "error" and status["error"] == "disk full" and "url" not in status


def test_synthetic_leads_stream_with_exact_size(api, sandbox, team_key):
    cid = api("POST", "/campaigns", json={"name": "big"}).json()["_id"]
    api("POST", f"/campaigns/{cid}/leads/", json={"email": "real@big.test"})
    sandbox.add_synthetic_leads(team_key, cid, 25_000)
    export_id = api("GET", f"/campaigns/{cid}/export/start").json()["_id"]
    status = _wait_export(api, cid, export_id)
    assert status["total"] == 25_001
    with requests.get(status["url"], stream=True, timeout=30) as download:
        size, lines = 0, 0
        for chunk in download.iter_content(64 * 1024):
            size += len(chunk)
            lines += chunk.count(b"\n")
    assert size == status["fileSize"] and lines == 25_002  # header + real + synthetic
    second = requests.get(status["url"], timeout=30).content
    assert len(second) == size and second.splitlines()[-1].startswith(
        b"lea_syn0000000024999,"
    )  # deterministic


def test_sync_exports(api):
    cid = api("POST", "/campaigns", json={"name": "sync"}).json()["_id"]
    lead = api("POST", f"/campaigns/{cid}/leads/", json={"email": "s@sync.test", "firstName": "S"}).json()
    api("POST", f"/campaigns/{cid}/leads/", json={"email": "t@sync.test"})
    api("POST", f"/campaigns/{cid}/leads/{lead['_id']}/interested")
    full = api("GET", f"/campaigns/{cid}/export", check=False)
    assert full.headers["content-type"].startswith("text/csv") and len(full.text.splitlines()) == 3
    as_json = api(
        "GET", f"/campaigns/{cid}/export/leads", params={"state": "interested", "format": "json"}
    ).json()
    assert [x["email"] for x in as_json] == ["s@sync.test"]
    as_csv = api("GET", f"/campaigns/{cid}/export/leads", params={"state": "all", "format": "csv"})
    assert len(as_csv.text.splitlines()) == 3
    assert len(api("GET", f"/campaigns/{cid}/export/list", check=False).text.splitlines()) == 3
    assert api("GET", f"/campaigns/{cid}/export/leads", params={"format": "xml"}).status_code == 400

"""Both generations of the API: v1 clients (no ``version``, ``access_token`` auth, the v1 docs' shapes and
paths) get v1 answers; ``version=v2`` gets the spec's shapes."""

from __future__ import annotations

import pytest
import requests


@pytest.fixture
def v1(sandbox, team_key):
    """A client as the v1 documentation writes one: the key as ``access_token``, no ``version``."""

    def get(path: str, **params) -> requests.Response:
        return requests.get(
            f"{sandbox.base_url}{path}", params={"access_token": team_key, **params}, timeout=10
        )

    return get


@pytest.fixture
def lead(sandbox, team_key) -> dict:
    auth = ("", team_key)
    campaign = requests.post(
        f"{sandbox.base_url}/campaigns", json={"name": "Versions"}, auth=auth, timeout=10
    )
    cid = campaign.json()["_id"]
    body = {"firstName": "Richard", "lastName": "Hendricks"}
    added = requests.post(
        f"{sandbox.base_url}/campaigns/{cid}/leads/richard@piedpiper.com", json=body, auth=auth
    )
    return added.json()


def test_campaigns_v1_are_an_array_v2_pages_are_the_captured_object(v1, lead):
    [old] = v1("/campaigns", page=1).json()
    assert (old["_id"], old["name"], old["status"]) == (lead["campaignId"], "Versions", "draft")
    paged = v1("/campaigns", version="v2", page=1).json()
    assert [c["_id"] for c in paged["campaigns"]] == [lead["campaignId"]]
    assert paged["pagination"] == {"totalRecords": 1, "currentPage": 1, "totalPage": 1, "nextPage": None}


def test_lead_by_email_v1_is_the_lead_v2_one_item_per_campaign(v1, lead):
    one = v1("/leads/richard@piedpiper.com").json()
    assert one["_id"] == lead["_id"] and one["email"] == "richard@piedpiper.com"
    assert one["firstName"] == "Richard" and one["lastName"] == "Hendricks"
    items = v1("/leads/richard@piedpiper.com", version="v2").json()
    assert [item["_id"] for item in items] == [lead["_id"]] and items[0]["campaign"]["id"] == lead[
        "campaignId"
    ]


def test_activities_v1_name_the_lead_v2_are_the_spec_shape(v1, sandbox, team_key, lead):
    sandbox.team(team_key).activities.append(
        {"_id": "act_v1", "type": "emailsSent", "leadId": lead["_id"], "campaignId": lead["campaignId"],
         "createdAt": "2024-05-01T10:00:00.000Z"}
    )  # fmt: skip
    [old] = v1("/activities").json()
    assert (old["leadEmail"], old["leadFirstName"], old["campaignName"]) == (
        "richard@piedpiper.com", "Richard", "Versions",
    )  # fmt: skip
    assert old["isFirst"] is True and old["sendUserId"] and old["teamId"]
    [new] = v1("/activities", version="v2").json()
    assert "leadEmail" not in new and new["_id"] == "act_v1"


def test_v1_unsubscribes_export_path(v1, sandbox, team_key):
    requests.post(f"{sandbox.base_url}/unsubscribes/a%40a.com", auth=("", team_key), timeout=10)
    exported = v1("/unsubscribes/export")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0] == "value,source,createdAt" and "a@a.com" in exported.text

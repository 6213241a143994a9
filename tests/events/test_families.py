"""Every event type lemlist documents belongs to exactly one family, and each family is one Asset URI."""

from __future__ import annotations

import json
from pathlib import Path

from lemlist_provider.events.families import BY_NAME, EVENT_TYPES, FAMILIES, OTHER, family_of
from lemlist_sandbox.routes.webhooks import ACTIVITY_EVENTS

SPEC = Path(__file__).resolve().parents[3] / "shared" / "lemlist-api" / "openapi-v2.json"


def spec_types() -> list[str]:
    return json.loads(SPEC.read_text())["components"]["schemas"]["Webhook"]["properties"]["type"]["enum"]


def test_every_type_of_the_spec_has_exactly_one_family():
    types = spec_types()
    assert len(types) == 75
    assert set(types) == EVENT_TYPES
    listed = [t for family in FAMILIES for t in family.types]
    assert len(listed) == len(set(listed)), "a type is in two families"


def test_the_sandbox_knows_the_same_types():
    assert set(ACTIVITY_EVENTS) == EVENT_TYPES


def test_families_are_few_with_unique_stable_uris():
    uris = [family.uri for family in FAMILIES]
    assert len(uris) == len(set(uris)) == len(FAMILIES) <= 15
    assert BY_NAME["unsubscribed"].uri == "lemlist://events/unsubscribed"
    assert all(uri.startswith("lemlist://events/") and uri.islower() for uri in uris)


def test_channels_of_one_outcome_share_a_family():
    assert {family_of(t).name for t in ("emailsReplied", "linkedinReplied", "smsReplied", "warmed")} == {
        "replied"
    }
    assert family_of("emailsUnsubscribed").name == "unsubscribed"
    assert family_of("enrichmentDone").name == family_of("enrichmentError").name == "enrichment"


def test_an_unknown_type_falls_into_other():
    assert family_of("brandNewEvent").name == OTHER
    assert BY_NAME[OTHER].types == ()


def test_each_family_is_an_airflow_asset_with_its_uri():
    from lemlist_provider.events.assets import EVENT_ASSETS

    assert set(EVENT_ASSETS) == set(BY_NAME)
    for name, asset in EVENT_ASSETS.items():
        assert asset.uri == asset.name == BY_NAME[name].uri

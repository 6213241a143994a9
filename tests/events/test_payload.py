"""Body rules without Airflow: parsing, the secret check, stripping, the dedupe key, the streamed cap."""

from __future__ import annotations

import asyncio
import json

import pytest

from lemlist_provider.events.payload import (
    BodyError,
    BodyTooLarge,
    dedupe_key,
    parse_body,
    read_capped,
    secret_matches,
    strip_secret,
    to_event,
)

SECRET = "s3cret-value-of-32-characters!!!"
ACTIVITY = {
    "_id": "act_A1",
    "type": "emailsOpened",
    "createdAt": "2026-11-29T10:00:00.000Z",
    "teamId": "tea_1",
    "campaignId": "cam_1",
    "leadId": "lea_1",
    "email": "Ada@Example.com",
    "secret": SECRET,
}


def test_parse_body_accepts_only_json_objects():
    assert parse_body(b'{"a": 1}') == {"a": 1}
    for raw in (
        b"",
        b"x",
        b"[]",
        b"1",
        b"null",
        b'{"a": Infinity}',
        b"\xff",
        b'{"a": ' * 40 + b"1" + b"}" * 40,
    ):
        with pytest.raises(BodyError):
            parse_body(raw)


def test_body_errors_never_echo_the_body():
    with pytest.raises(BodyError) as caught:
        parse_body(b"{'secret': 'abc-very-private'}")
    assert "very-private" not in str(caught.value)


def test_secret_is_compared_exactly():
    assert secret_matches(ACTIVITY, SECRET)
    assert not secret_matches(ACTIVITY, SECRET + "x")
    assert not secret_matches(ACTIVITY, SECRET[:-1])
    assert not secret_matches({**ACTIVITY, "secret": SECRET.upper()}, SECRET)
    assert not secret_matches({k: v for k, v in ACTIVITY.items() if k != "secret"}, SECRET)
    assert not secret_matches({**ACTIVITY, "secret": 123}, SECRET)
    assert not secret_matches({**ACTIVITY, "secret": ""}, "")  # an unset secret admits nothing


def test_strip_secret_removes_the_field_and_every_echo():
    body = {**ACTIVITY, "variables": {"x": f"a{SECRET}b", "y": [SECRET, 1]}}
    stripped = strip_secret(body, SECRET)
    assert "secret" not in stripped
    assert stripped["variables"] == {"x": "a***b", "y": ["***", 1]}
    assert SECRET not in json.dumps(stripped)
    assert body["secret"] == SECRET  # the input is not changed


def test_dedupe_key_is_stable_across_retries_key_order_and_secrets():
    once = dedupe_key(strip_secret(ACTIVITY, SECRET))
    reordered = dict(reversed(list(ACTIVITY.items())))
    assert dedupe_key(strip_secret(reordered, SECRET)) == once
    other_secret = {**ACTIVITY, "secret": "another-hook-secret"}
    assert dedupe_key(strip_secret(other_secret, "another-hook-secret")) == once
    # the same activity delivered with extra display fields (another hook's view) is the same event
    assert dedupe_key({**strip_secret(ACTIVITY, SECRET), "campaignName": "renamed"}) == once
    assert dedupe_key({**strip_secret(ACTIVITY, SECRET), "email": "ada@example.com"}) == once
    assert len(once) == 64 and int(once, 16) >= 0


@pytest.mark.parametrize(
    "change",
    [
        {"_id": "act_A2"},
        {"type": "emailsClicked"},
        {"leadId": "lea_2"},
        {"createdAt": "2026-11-29T10:00:01.000Z"},
    ],
    ids=["activity-id", "type", "lead", "timestamp"],
)
def test_dedupe_key_differs_for_another_activity(change):
    base = strip_secret(ACTIVITY, SECRET)
    assert dedupe_key({**base, **change}) != dedupe_key(base)


def test_a_body_without_ids_or_timestamp_is_keyed_on_its_whole_content():
    system = {"type": "sendLimitReached", "sendUserEmail": "me@example.com"}
    assert dedupe_key(system) == dedupe_key(dict(reversed(list(system.items()))))
    assert dedupe_key(system) != dedupe_key({**system, "sendUserEmail": "you@example.com"})


def test_to_event_needs_a_type():
    event = to_event(ACTIVITY, SECRET)
    assert (event.type, event.family.name) == ("emailsOpened", "engaged")
    assert "secret" not in event.payload
    for bad in (None, "", 3, "has space", "x" * 101, "1starts-with-digit"):
        with pytest.raises(BodyError):
            to_event({**ACTIVITY, "type": bad}, SECRET)


def test_read_capped_stops_at_the_first_chunk_past_the_limit():
    pulled = []

    async def chunks():
        for i in range(1000):
            pulled.append(i)
            yield b"x" * 1024

    with pytest.raises(BodyTooLarge):
        asyncio.run(read_capped(chunks(), 10 * 1024))
    assert len(pulled) == 11  # the rest of a huge body is never read

    async def small():
        yield b'{"a":'
        yield b"1}"

    assert asyncio.run(read_capped(small(), 100)) == b'{"a":1}'

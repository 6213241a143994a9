"""The store's group commit: a burst of events of several families, taken by the writer in batches, still
ends as one ledger row and one Asset event per event, each with its own payload (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from events_support import activity

from lemlist_provider.events.payload import to_event

TYPES = ("emailsUnsubscribed", "emailsReplied", "emailsBounced", "emailsInterested", "linkedinReplied")


def test_a_burst_of_several_families_gets_one_asset_event_per_event(backend, webhook_secret):
    before = backend.last_asset_event_id()
    events = [
        to_event(activity(TYPES[n % len(TYPES)], secret=webhook_secret), webhook_secret) for n in range(60)
    ]
    for event in events:
        backend.store.prepare(event.family.uri)
    again = events[:5]  # the same events delivered again within the burst

    outcomes = [
        backend.store.submit(event, conn_id="lemlist_default", received_at=datetime.now(UTC))
        for event in [*events, *again]
    ]
    results = [outcome.result(timeout=60) for outcome in outcomes]

    assert [r.duplicate for r in results] == [False] * 60 + [True] * 5
    for event, result in zip(events, results, strict=False):
        [row] = backend.rows(event.dedupe_key)
        [asset_event] = [
            e
            for e in backend.asset_events(event.family.uri, after_id=before)
            if e.id == row["asset_event_id"]
        ]
        assert result.asset_event_id == asset_event.id
        assert asset_event.extra["dedupe_key"] == event.dedupe_key
        assert asset_event.extra["payload"]["_id"] == event.payload["_id"]
    per_family = {
        uri: len(backend.asset_events(uri, after_id=before)) for uri in {e.family.uri for e in events}
    }
    assert per_family == {"lemlist://events/unsubscribed": 12, "lemlist://events/replied": 24,
                          "lemlist://events/bounced": 12, "lemlist://events/interested": 12}  # fmt: skip

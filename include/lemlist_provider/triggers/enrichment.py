"""``LemlistEnrichmentTrigger``: wait in the triggerer for a set of enrichments, without a worker slot.

The schedule and the decisions are :class:`lemlist_provider.enrichment.wait.EnrichmentWait`'s (shared with
the sensor's poke mode); this trigger polls each wave concurrently through the async hook, so every request is
paced by the key's shared limiter. It yields one small event (ids only; results are read afterwards):
``{"status": "success"|"timeout"|"error", "done", "failed", "pending", "message", "rounds", "requests",
"rate_limited", "retries"}``.

Between rounds it also listens for the enrichments' callbacks (``lemlist_provider.events.callbacks``): when
one names a pending id, the round starts at once with that id first, instead of at the end of the interval.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from lemlist_provider.enrichment.wait import DEFAULT_POLL, DEFAULT_WAVE, EnrichmentWait
from lemlist_provider.events.callbacks import scope_of_trigger, sleep_until_called_back
from lemlist_provider.hooks.errors import LemlistNotFoundError
from lemlist_provider.triggers.base import LemlistPollTrigger


class LemlistEnrichmentTrigger(LemlistPollTrigger):
    """Poll ``GET /enrich/{id}`` for every id until all are final or ``deadline`` (epoch seconds) passes.

    :param enrichment_ids: the ``enr_...`` ids to wait for
    :param deadline: absolute Unix time after which the trigger reports the ids still pending
    :param lemlist_conn_id: connection of type ``lemlist``
    :param first_poll: seconds before the first round (lemlist: results typically within ~30 s)
    :param backoff: factor applied to the interval after every round that left ids pending
    :param max_interval: cap of the interval between rounds
    :param wave: ids polled concurrently; a wave that is entirely pending ends the round
    """

    def __init__(
        self,
        enrichment_ids: list[str],
        deadline: float,
        lemlist_conn_id: str = "lemlist_default",
        first_poll: float = DEFAULT_POLL["first_poll"],
        backoff: float = DEFAULT_POLL["backoff"],
        max_interval: float = DEFAULT_POLL["max_interval"],
        wave: int = DEFAULT_WAVE,
    ) -> None:
        super().__init__(lemlist_conn_id=lemlist_conn_id)
        self.enrichment_ids = [str(i) for i in enrichment_ids]
        self.deadline = float(deadline)
        self.first_poll = float(first_poll)
        self.backoff = float(backoff)
        self.max_interval = float(max_interval)
        self.wave = max(1, int(wave))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "lemlist_provider.triggers.enrichment.LemlistEnrichmentTrigger",
            {"enrichment_ids": list(self.enrichment_ids), "deadline": self.deadline,
             "lemlist_conn_id": self.lemlist_conn_id, "first_poll": self.first_poll, "backoff": self.backoff,
             "max_interval": self.max_interval, "wave": self.wave},
        )  # fmt: skip

    failed_status = "error"

    def new_state(self) -> EnrichmentWait:
        return EnrichmentWait(self.enrichment_ids, first_poll=self.first_poll, backoff=self.backoff,
                              max_interval=self.max_interval, wave=self.wave)  # fmt: skip

    async def wait(self, hook: Any, state: EnrichmentWait) -> dict[str, Any]:
        while not state.finished:
            remaining = self.deadline - time.time()
            if remaining <= 0:
                return state.outcome("timeout")
            state.prefer(
                await sleep_until_called_back(
                    scope_of_trigger(self), state.awaiting_callback, state.pause(remaining)
                )
            )
            state.begin_round()
            while wave := state.next_wave():
                statuses = await asyncio.gather(*(self._status(hook, eid) for eid in wave))
                state.record(dict(zip(wave, statuses, strict=True)))
            self.log.info(
                "lemlist enrichments: round %d, %d done, %d failed, %d pending",
                state.rounds, len(state.done), len(state.failed), len(state.pending),
            )  # fmt: skip
        return state.outcome("success")

    @staticmethod
    async def _status(hook: Any, enrichment_id: str) -> str:
        try:
            return (await hook.get_enrichment(enrichment_id)).status
        except LemlistNotFoundError:
            return "not_found"

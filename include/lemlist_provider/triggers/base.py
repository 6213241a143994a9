"""What both lemlist triggers share: the async hook's lifetime, one event, and running in a worker.

A trigger opens ``LemlistAsyncHook`` (the key's shared pacing and the error policy, without blocking the
event loop), waits for its one outcome, closes the hook and yields that outcome once, with the hook's request
figures. An unexpected error becomes that one event too: the task then fails with a clear message instead of
the triggerer logging a traceback and the task waiting for its deferral timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from lemlist_provider.figures import http_figures
from lemlist_provider.hooks.async_lemlist import LemlistAsyncHook


class LemlistPollTrigger(BaseTrigger):
    """Subclasses give the wait's step (``new_state()``, with ``label`` and ``outcome(status, message)``)
    and ``wait(hook, state)``, which polls until the step has an outcome."""

    #: the outcome status of a wait that an unexpected error ended
    failed_status = "failed"

    def __init__(self, *, lemlist_conn_id: str) -> None:
        super().__init__()
        self.lemlist_conn_id = lemlist_conn_id

    def new_state(self) -> Any:
        raise NotImplementedError

    async def wait(self, hook: LemlistAsyncHook, state: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        state = self.new_state()
        hook = LemlistAsyncHook(lemlist_conn_id=self.lemlist_conn_id)
        try:
            payload = await self.wait(hook, state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one clear event instead of a triggerer traceback
            payload = state.outcome(
                self.failed_status, f"{state.label}: polling failed: {type(exc).__name__}: {exc}"
            )
        finally:
            try:
                await hook.close()
            except Exception:  # noqa: BLE001 - a session that fails to close changes no outcome
                self.log.debug("closing the lemlist async hook failed", exc_info=True)
        yield TriggerEvent({**payload, **http_figures(hook.metrics())})


def run_in_worker(trigger: LemlistPollTrigger) -> dict[str, Any]:
    """The trigger's one event, waited for in this process: what ``deferrable=False`` means."""

    async def first_event() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise RuntimeError(f"{type(trigger).__name__} ended without an event")

    return asyncio.run(first_event())

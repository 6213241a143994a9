"""Operators of lemlist events: keep lemlist's hooks in step, and act on the events the receiver stored.

- ``LemlistWebhooksSetupOperator`` makes lemlist's hooks match a declared list (``events/registration.py``
  plans; this operator reads lemlist's list, applies deletions before creations, and reports).
- ``LemlistUnsubscribeEventsOperator`` adds the people of unsubscribe (and hard-bounce) events to the local
  suppression list, through the unsubscribe sync's own store code.
- ``LemlistReplyHandoffOperator`` upserts leads that replied or became interested into a SQL table for
  sales and calls a notifier for the new ones.

The two event operators read ``context["triggering_asset_events"]`` (every event of every family Asset that
queued the run) and call no lemlist route, so they take no slot of the ``lemlist_api`` pool. Both are
idempotent: an event they already applied changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from airflow.providers.sqlite.hooks.sqlite import SqliteHook
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import allowlists, paths, settings
from lemlist_provider.events import config
from lemlist_provider.events.credentials import SecretUnavailable, task_webhook_secret
from lemlist_provider.events.families import URI_PREFIX, hook_types
from lemlist_provider.events.handoff import COLUMNS, handoff_rows, is_news, lead_key
from lemlist_provider.events.registration import MAX_HOOKS, PlanError, declared_hooks, plan_hooks
from lemlist_provider.events.unsubscribes import suppressions
from lemlist_provider.hooks.errors import LemlistClientError, LemlistNotFoundError
from lemlist_provider.notifiers import HANDOFF_LEADS_KEY, LemlistHandoffNotifier
from lemlist_provider.operators.base import KeepArgumentsMixin, LemlistBaseOperator, as_bool, given
from lemlist_provider.operators.local_store import LocalStoreTask
from lemlist_provider.unsubscribes import Side, normalise

HANDOFF_SQLITE = "lemlist_reply_handoff.sqlite"
READ_CHUNK = 500


def default_hooks(campaign_id: str | None = None) -> list[dict[str, Any]]:
    """What the shipped event DAGs use: one hook on the types of their families (unsubscribes, bounces unless
    switched off, replies, interest), channel events only. Unused families are not subscribed: each of their
    events would be stored and logged for nothing."""
    families = (*config.unsubscribe_families(), *config.HANDOFF_FAMILIES)
    return [{"types": hook_types(families), **({"campaign_id": campaign_id} if campaign_id else {})}]


def lemlist_events(context: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The ``extra`` of every lemlist event that queued this run (any family), oldest first."""
    triggering = context.get("triggering_asset_events") or {}
    found = [
        event
        for asset in triggering
        if str(getattr(asset, "uri", "")).startswith(URI_PREFIX)
        for event in triggering[asset]
    ]
    for event in sorted(found, key=lambda e: e.timestamp):
        if isinstance(event.extra, dict):
            yield event.extra


class LemlistWebhooksSetupOperator(LemlistBaseOperator):
    """Make lemlist's hooks match ``hooks``: create what is missing, never a duplicate, delete only this
    deployment's hooks that are not declared, stay within lemlist's 200 hooks; report the plan (XCom).

    :param receiver_url: the receiver's public URL (default ``[lemlist] webhook_receiver_url``)
    :param hooks: declared hooks, ``[{"types": [...], "campaign_id": ..., "is_first": ...}]``; default: the
        types the shipped event DAGs use (``default_hooks``)
    :param campaign_id: restrict the default hooks to one campaign
    :param hook_owner: the marker of this deployment's hooks (default ``[lemlist] webhook_owner``); not
        ``owner``, which is every task's owner in Airflow
    :param recreate: replace every hook of ours (after the connection's ``webhook_secret`` changed)
    :param dry_run: plan and report only

    The secret of new hooks is the ``webhook_secret`` of ``lemlist_conn_id``; when that is not the
    receiver's default connection, the hooks' URL names it (``conn_id=``). A plan with a problem (over the
    cap) fails before any change; deletions run before creations, so the team never passes the cap.
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "receiver_url", "hooks", "campaign_id", "hook_owner", "recreate",
        "dry_run",
    )  # fmt: skip
    ui_color = "#efe6ff"

    def __init__(
        self,
        *,
        receiver_url: str | None = None,
        hooks: Any = None,
        campaign_id: str | None = None,
        hook_owner: str | None = None,
        recreate: Any = False,
        dry_run: Any = False,
        max_hooks: int = MAX_HOOKS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        receiver = given(self.receiver_url) or settings.webhook_receiver_url()
        if not receiver:
            raise AirflowFailException(
                "no receiver URL: set [lemlist] webhook_receiver_url (AIRFLOW__LEMLIST__WEBHOOK_RECEIVER_URL) to "
                "https://<your airflow>/lemlist/webhooks, or pass receiver_url"
            )
        owner = given(self.hook_owner) or settings.webhook_owner()
        declared = given(self.hooks)
        if declared is not None and not isinstance(declared, list):
            raise AirflowFailException("hooks must be a list of {types, campaign_id, is_first} objects")
        named = None if self.lemlist_conn_id == settings.webhook_conn_id() else self.lemlist_conn_id
        try:
            specs = declared_hooks(
                declared if declared is not None else default_hooks(given(self.campaign_id)),
                receiver_url=receiver, owner=owner, conn_id=named,
            )  # fmt: skip
        except PlanError as exc:
            raise AirflowFailException(str(exc)) from None
        try:
            secret = task_webhook_secret(self.lemlist_conn_id)
        except SecretUnavailable as exc:
            raise AirflowFailException(f"cannot register hooks: {exc}") from None
        existing = self.hook.list_webhooks() or []
        plan = plan_hooks(
            specs, existing, owner=owner, recreate=as_bool(self.recreate), max_hooks=self.max_hooks
        )
        report = plan.report()
        counts = report["counts"]
        self.log.info(
            "lemlist hooks of owner %r: %d to create, %d kept, %d to delete, %d not ours; %d -> %d of %d",
            owner, counts["create"], counts["keep"], counts["delete"], counts["foreign"], counts["hooks_before"],
            counts["hooks_after"], counts["max_hooks"],
        )  # fmt: skip
        if not plan.ok:
            raise AirflowFailException("; ".join(plan.problems))
        if as_bool(self.dry_run):
            return {**report, "dry_run": True, "applied": {}}
        return {**report, "dry_run": False, "applied": self._apply(plan, secret)}

    def _apply(self, plan: Any, secret: str) -> dict[str, Any]:
        """Deletions, then creations. A hook already gone (404) or already there (409) is what was wanted."""
        deleted, gone, created, present = [], [], [], 0
        for hook in plan.delete:
            try:
                self.hook.delete_webhook(hook["_id"])
                deleted.append(hook["_id"])
            except LemlistNotFoundError:
                gone.append(hook["_id"])
        for spec in plan.create:
            try:
                created.append((self.hook.create_webhook(**spec.create_kwargs(secret)) or {}).get("_id"))
            except LemlistClientError as exc:
                if exc.status != 409:
                    raise
                present += 1
        self.log.info(
            "lemlist hooks: %d deleted (%d already gone), %d created (%d already there)",
            len(deleted), len(gone), len(created), present,
        )  # fmt: skip
        return {"deleted": deleted, "already_gone": gone, "created": created, "already_present": present,
                "http": self.hook.metrics()}  # fmt: skip


class LemlistUnsubscribeEventsOperator(LocalStoreTask):
    """Add the people of the run's unsubscribe and bounce events to the local suppression list.

    The store is the unsubscribe sync's (``LocalStoreTask``: ``store``, ``csv_path``, ``sql_conn_id``,
    ``table``, resolved the same way), and entries are compared on the sync's keys, so a person already
    listed is not added again, whether the sync or an earlier event put them there. Returns counts (no email)
    for XCom.

    :param bounces: add hard bounces too (default ``[lemlist] events_suppress_bounces``)
    """

    template_fields: Sequence[str] = (*LocalStoreTask.template_fields, "bounces")

    def __init__(self, *, bounces: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        events = list(lemlist_events(context))
        bounces = settings.events_suppress_bounces() if given(self.bounces) is None else as_bool(self.bounces)
        found = suppressions(events, bounces=bounces)
        store = self.local_store()
        listed = Side.collect(normalise(v, s, c) for v, s, c in store.read()).entries if found.entries else {}
        new = [entry for entry in found.entries if entry.key not in listed]
        added = store.add(new, "lemlist", datetime.now(UTC).isoformat(timespec="seconds"))
        for skip in found.skipped:
            self.log.warning("lemlist event %s (%s) not suppressed: %s", skip["dedupe_key"][:12], skip["type"],
                             skip["reason"])  # fmt: skip
        summary = {"events": len(events), "added": added, "already_listed": len(found.entries) - len(new),
                   "repeated": found.repeated, "skipped": len(found.skipped), "store": store.describe()}  # fmt: skip
        self.log.info("lemlist unsubscribe events: %s", summary)
        return summary


class LemlistReplyHandoffOperator(KeepArgumentsMixin, BaseOperator):
    """Upsert leads that replied or became interested into a SQL table for sales; notify about new ones.

    One row per lead (``events/handoff.py``: merged, idempotent). The table (default ``[lemlist]
    reply_handoff_table``, created if missing) is reached through any common-sql connection (default
    ``[lemlist] reply_handoff_conn_id``), or, when none is configured, a SQLite file in the first output
    root. ``notifier`` (a notifier or a callable taking the context) is called with the leads that are new to
    the table or became interested in ``context["lemlist_handoff_leads"]``; a failing notifier is logged and
    does not fail the task (the rows are written first).
    """

    template_fields: Sequence[str] = ("sql_conn_id", "table")
    ui_color = "#e8fde8"

    def __init__(
        self,
        *,
        sql_conn_id: str | None = None,
        table: str | None = None,
        notifier: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())
        self.notifier = notifier if notifier is not None else LemlistHandoffNotifier()

    def _target(self) -> tuple[Any, str]:
        """The hook and table, both from the admin's allow-lists (``sql_conn_ids``, ``sql_tables``)."""
        conn_id, table = settings.reply_handoff_target()
        conn_id, table = given(self.sql_conn_id) or conn_id, given(self.table) or table
        table = allowlists.sql_table("table", table)
        if conn_id:
            conn_id = allowlists.sql_connection("sql_conn_id", conn_id)
            from airflow.providers.common.sql.hooks.sql import DbApiHook
            from airflow.sdk import BaseHook

            hook = BaseHook.get_hook(conn_id)
            if not isinstance(hook, DbApiHook):
                raise AirflowFailException(f"connection {conn_id!r} is not a SQL connection")
            return hook, table
        return OutputSqliteHook(
            paths.output_location("reply_handoff", paths.default_output(HANDOFF_SQLITE))
        ), table

    def execute(self, context: Any) -> dict[str, Any]:
        events = list(lemlist_events(context))
        hook, table = self._target()
        hook.run(f"CREATE TABLE IF NOT EXISTS {table} (lead_key VARCHAR(300) NOT NULL PRIMARY KEY, "
                 + ", ".join(f"{c} VARCHAR(300)" for c in COLUMNS[1:]) + ")", autocommit=True)  # fmt: skip
        keys = sorted(
            {key for e in events if isinstance(e.get("payload"), Mapping) and (key := lead_key(e["payload"]))}
        )
        stored = self._stored(hook, table, keys)
        changed, skipped = handoff_rows(events, stored)
        if changed:
            rows = [tuple(row[c] for c in COLUMNS) for row in changed.values()]
            hook.insert_rows(table, rows, target_fields=list(COLUMNS), replace=True, replace_index="lead_key")
        news = [row for key, row in changed.items() if is_news(stored.get(key), row)]
        for skip in skipped:
            self.log.warning("lemlist event %s (%s) not handed off: %s", skip["dedupe_key"][:12], skip["type"],
                             skip["reason"])  # fmt: skip
        if news:
            try:
                self.notifier({**context, HANDOFF_LEADS_KEY: news})
            except Exception as exc:  # noqa: BLE001 - the rows are written; a notifier never undoes that
                self.log.warning("lemlist hand-off: notifier failed: %s: %s", type(exc).__name__, exc)
        summary = {"events": len(events), "leads_changed": len(changed), "notified": len(news),
                   "skipped": len(skipped), "table": table}  # fmt: skip
        self.log.info("lemlist reply hand-off: %s", summary)
        return summary

    @staticmethod
    def _stored(hook: Any, table: str, keys: list[str]) -> dict[str, dict[str, Any]]:
        stored: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), READ_CHUNK):
            chunk = keys[start : start + READ_CHUNK]
            marks = ", ".join([hook.placeholder] * len(chunk))
            sql = f"SELECT {', '.join(COLUMNS)} FROM {table} WHERE lead_key IN ({marks})"
            for record in hook.get_records(sql, parameters=chunk):
                stored[record[0]] = dict(zip(COLUMNS, record, strict=True))
        return stored


class OutputSqliteHook(SqliteHook):
    """SQLite in a file of the output roots, without an Airflow connection: the default target of the hand-off
    and of the warehouse (``conn_id`` names it in logs)."""

    def __init__(self, path: Path | Any, conn_id: str = "lemlist_reply_handoff_file") -> None:
        from airflow.sdk import Connection

        conn = Connection(conn_id=conn_id, conn_type="sqlite", host=str(path))
        super().__init__(connection=conn)
        Path(str(path)).parent.mkdir(parents=True, exist_ok=True)
        self.path = path

    def get_uri(self) -> str:
        return f"sqlite:///{self.path}"

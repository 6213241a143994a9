"""Notifications of lemlist tasks: one ERROR line per failed task (``LemlistIncidentNotifier``), one INFO line
per hand-off of replying leads to sales (``LemlistHandoffNotifier``), each optionally forwarded elsewhere.

Why one line: when a run fails at 3 a.m., the person on call greps the logs (or a log aggregator) for
``lemlist incident`` and must see at once which task, which run, which try, what error and whether lemlist
was pushing back (429s, retries), without opening the task log. The line is built from the callback context
only, and scrubbed: an exception message that quotes a key or an Authorization header comes out as ``***``.

Forwarding is pluggable and optional: ``sink`` is any callable taking the Airflow context, a dotted path to
one, or another notifier, for example ``SlackNotifier`` (``apache-airflow-providers-slack``) or
``SmtpNotifier`` (``apache-airflow-providers-smtp``). Before the sink is called the line is put in the
context as ``lemlist_incident``, so a notifier's templated text can say ``"{{ lemlist_incident }}"``::

    from airflow.providers.slack.notifications.slack import SlackNotifier

    LemlistIncidentNotifier(sink=SlackNotifier(slack_conn_id="slack", text="{{ lemlist_incident }}",
                                               channel="#data-ops"))

A sink that fails is logged at WARNING and never hides the incident line, which is written first.
"""

from __future__ import annotations

import copy
import importlib
import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider.figures import FIGURES, http_figures
from lemlist_provider.hooks.errors import secret_forms
from lemlist_provider.ops import record as ops_record

SUMMARY_XCOM_KEY = "summary"
INCIDENT_CONTEXT_KEY = "lemlist_incident"
HANDOFF_CONTEXT_KEY = "lemlist_handoff"
HANDOFF_LEADS_KEY = "lemlist_handoff_leads"
MAX_MESSAGE_CHARS = 240

_PATTERNS = (
    (re.compile(r"(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{6,}"), r"\1 ***"),
    (re.compile(r"(?i)\b(access_token|api_?key|apikey|password|token)=([^&\s'\"]+)"), r"\1=***"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\",})\]\s]+(\s+[^'\",})\]\s]+)?"), r"\1***"),
)
_LABELS = {"requests": "requests", "rate_limited": "429s", "retries": "retries"}

log = logging.getLogger(__name__)


def _redact_known(text: str) -> str:
    """Airflow's secrets masker knows every connection password a task has read (the hook masks the key)."""
    try:
        from airflow.sdk.log import redact  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - older Airflow
        return text
    try:
        return str(redact(text))
    except Exception:  # pragma: no cover - masking must never break the notification
        return text


def scrub_message(text: str, secrets: Iterable[str] = ()) -> str:
    """First line of ``text`` with every known secret form, Basic/Bearer token and ``key=`` value replaced."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    out = lines[0] if lines else ""
    for form in secret_forms(list(secrets)):
        out = out.replace(form, "***")
    out = _redact_known(out)
    for pattern, replacement in _PATTERNS:
        out = pattern.sub(replacement, out)
    out = " ".join(out.split())
    return out if len(out) <= MAX_MESSAGE_CHARS else out[:MAX_MESSAGE_CHARS] + "..."


def _resolve_sink(sink: str | Callable[..., Any] | None) -> Callable[..., Any] | None:
    if sink is None or callable(sink):
        return sink
    module_name, _, attr = str(sink).rpartition(".")
    if not module_name:
        raise ValueError(f"sink must be a callable or a dotted path 'package.module.name', got {sink!r}")
    target = getattr(importlib.import_module(module_name), attr)
    if isinstance(target, type) and issubclass(target, BaseNotifier):
        target = target()
    if not callable(target):
        raise TypeError(f"sink {sink!r} is not callable")
    return target


class LemlistIncidentNotifier(BaseNotifier):
    """Log one ERROR line summarising a failed lemlist task, then call the optional ``sink``.

    :param sink: where else to send the incident: a callable taking the context, its dotted path, or a
        notifier instance (Slack, email...). The line is in ``context["lemlist_incident"]``.
    :param lemlist_conn_id: connection whose key is scrubbed from the message when the task does not name
        its own (``task.lemlist_conn_id``).
    """

    template_fields = ()

    def __init__(
        self,
        *,
        sink: str | Callable[..., Any] | None = None,
        lemlist_conn_id: str = "lemlist_default",
    ) -> None:
        super().__init__()
        self.sink = sink
        self.lemlist_conn_id = lemlist_conn_id

    # -- building the line --------------------------------------------------------------------------
    def incident_line(self, context: Any) -> str:
        """The one line, from the context alone (also usable by tests and other callbacks)."""
        ti = context.get("ti") or context.get("task_instance")
        dag = context.get("dag")
        dag_run = context.get("dag_run")
        task = context.get("task") or getattr(ti, "task", None)
        dag_id = (
            getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", "?")
        )
        run_id = context.get("run_id") or getattr(ti, "run_id", None) or getattr(dag_run, "run_id", "?")
        parts = [f"lemlist incident: dag={dag_id}"]
        if ti is not None:
            task_id = getattr(ti, "task_id", "?")
            map_index = getattr(ti, "map_index", -1)
            parts.append(
                f"task={task_id}" + (f"[{map_index}]" if map_index is not None and map_index >= 0 else "")
            )
        parts.append(f"run={run_id}")
        if ti is not None:
            parts.append(f"try={self._tries(ti, task)}")
        parts.append(f"error={self._error(context, task)}")
        figures = self._figures(ti, task)
        if figures:
            parts.append("lemlist " + " ".join(f"{_LABELS[key]}={value}" for key, value in figures.items()))
        return " ".join(" ".join(parts).split())

    @staticmethod
    def _tries(ti: Any, task: Any) -> str:
        try_number = getattr(ti, "try_number", None) or 1
        max_tries = getattr(ti, "max_tries", None)
        if max_tries is None:
            max_tries = getattr(task, "retries", 0) or 0
        return f"{try_number}/{int(max_tries) + 1}"

    def _error(self, context: Any, task: Any) -> str:
        error = context.get("exception")
        if error is None:
            reason = context.get("reason")
            return scrub_message(str(reason), self._secrets(task)) if reason else "unknown"
        if isinstance(error, BaseException):
            text = scrub_message(str(error), self._secrets(task))
            return f"{type(error).__name__}: {text}" if text else type(error).__name__
        return scrub_message(str(error), self._secrets(task)) or "unknown"

    def _secrets(self, task: Any) -> list[str]:
        """The keys that could appear in a message: the task's connection password and LEMLIST_API_KEY."""
        secrets = [os.environ.get("LEMLIST_API_KEY", "")]
        conn_ids = {getattr(task, "lemlist_conn_id", None) or self.lemlist_conn_id, self.lemlist_conn_id}
        for conn_id in conn_ids:
            try:
                from airflow.sdk import BaseHook

                conn = BaseHook.get_connection(conn_id)
            except Exception:  # no such connection here: nothing to scrub for it
                continue
            secrets.extend([conn.password or "", conn.login or ""])
        return [s for s in secrets if s and len(s) >= 4]

    @staticmethod
    def _figures(ti: Any, task: Any) -> dict[str, int]:
        """requests / 429s / retries of the failed try: the task's own hook (every ``LemlistBaseOperator``
        keeps one), else the ``summary`` the task pushed before failing (the lead import's report does)."""
        hook = getattr(task, "__dict__", {}).get("hook")
        if hook is not None and hasattr(hook, "metrics"):
            return http_figures(hook.metrics())
        if ti is None or not hasattr(ti, "xcom_pull"):
            return {}
        try:
            kwargs: dict[str, Any] = {"task_ids": ti.task_id, "key": SUMMARY_XCOM_KEY}
            if getattr(ti, "map_index", -1) is not None and ti.map_index >= 0:
                kwargs["map_indexes"] = ti.map_index
            value = ti.xcom_pull(**kwargs)
        except Exception:  # no XCom reachable here: the line goes out without figures
            return {}
        if not isinstance(value, dict):
            return {}
        source = value.get("http") if isinstance(value.get("http"), dict) else value
        return {k: int(source[k]) for k in FIGURES if isinstance(source.get(k), (int, float))}

    # -- sending ------------------------------------------------------------------------------------
    def notify(self, context: Any) -> None:
        task = context.get("task")
        if task is not None and context.get("ti") is not None:
            ops_record.push(task, context, "failed")
        if isinstance(context.get("exception"), UpstreamIncident):
            self.log.info("lemlist: not a new incident: %s", context["exception"])
            return
        line = self.incident_line(context)
        self.log.error("%s", line)
        forward(self.sink, context, INCIDENT_CONTEXT_KEY, line, self.log)


class UpstreamIncident(AirflowFailException):
    """A task fails only because an upstream task failed (the lead import's report after a failed validate):
    the run fails, but the incident is the upstream task's, so no second incident line is written."""


def forward(sink: str | Callable[..., Any] | None, context: Any, key: str, line: str, logger: Any) -> None:
    """Call ``sink`` (a callable, its dotted path or a notifier) with ``line`` in ``context[key]``; a sink
    that fails is logged at WARNING, never raised: the line was already written."""
    target = None
    try:
        target = _resolve_sink(sink)
        if target is not None:
            context[key] = line
            # notifiers render their templates in place: give each call its own copy
            (copy.deepcopy(target) if isinstance(target, BaseNotifier) else target)(context)
    except Exception as exc:
        logger.warning(
            "lemlist %s: forwarding to %s failed: %s: %s",
            key.removeprefix("lemlist_"),
            getattr(target, "__name__", type(target).__name__) if target is not None else sink,
            type(exc).__name__,
            scrub_message(str(exc)),
        )


class LemlistHandoffNotifier(BaseNotifier):
    """Tell sales about leads that replied or became interested: one INFO line per hand-off, then the
    optional ``sink`` (Slack, email ...) with that line in ``context["lemlist_handoff"]``.

    ``LemlistReplyHandoffOperator`` calls it with the leads in ``context["lemlist_handoff_leads"]`` (rows of
    the hand-off table), only for leads that are new to the table or changed status, so a repeated event
    never notifies twice.
    """

    template_fields = ()

    def __init__(self, *, sink: str | Callable[..., Any] | None = None) -> None:
        super().__init__()
        self.sink = sink

    @staticmethod
    def handoff_line(leads: list[dict[str, Any]]) -> str:
        shown = ", ".join(
            f"{lead.get('email') or lead.get('lead_key')} ({lead.get('status')}, {lead.get('campaign_name') or lead.get('campaign_id') or '?'})"
            for lead in leads[:20]
        )
        more = f" and {len(leads) - 20} more" if len(leads) > 20 else ""
        return f"lemlist hand-off: {len(leads)} lead(s) for sales: {shown}{more}"

    def notify(self, context: Any) -> None:
        leads = list(context.get(HANDOFF_LEADS_KEY) or [])
        if not leads:
            return
        line = self.handoff_line(leads)
        self.log.info("%s", line)
        forward(self.sink, context, HANDOFF_CONTEXT_KEY, line, self.log)

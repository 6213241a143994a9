"""What every lemlist task shares: the pool, the templated connection id and one cached hook.

Modelled on the dbt Cloud provider's operators: ``lemlist_conn_id`` is a templated field (so a DAG can take it
from a Param), and ``hook`` is built on first use, after templates are rendered, then reused for every call of
the task (one ``requests`` session, one set of request counters that the incident notifier reads when the
task fails). Every task runs in the ``lemlist_api`` pool unless told otherwise: the pool is what caps how
many processes share the key's 20 requests / 2 s. The rendered ``lemlist_conn_id`` must be on the admin's
allow-list (``[lemlist] lemlist_conn_ids``): checked before ``execute`` (and before a deferred task
resumes), and again whenever the hook is built, so no request, trigger or sensor poke uses another one.
After ``execute`` every task pushes its ops summary, one shape for every DAG (``lemlist_provider.ops``).
"""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, BaseSensorOperator
from airflow.sdk.configuration import conf
from airflow.triggers.base import BaseTrigger

from lemlist_provider import allowlists, paths
from lemlist_provider.hooks.lemlist import LemlistHook
from lemlist_provider.ops import record as ops_record
from lemlist_provider.settings import poll_floor

LEMLIST_POOL = "lemlist_api"
DEFAULT_CONN_ID = LemlistHook.default_conn_name


class KeepArgumentsMixin:
    """One way for an operator's ``__init__`` to keep its own keyword arguments as attributes.

    Each ``__init__`` still names its arguments (Airflow applies ``default_args`` only to the parameters a
    class's own ``__init__`` names, and the signature is the operator's documentation); what it no longer
    does is copy each of them by hand. Template fields must be attributes of the same name, which this keeps
    true for every argument at once.
    """

    def keep_arguments(self, arguments: Mapping[str, Any], *, but: Collection[str] = ()) -> None:
        """Set each of ``arguments`` (the caller's ``locals()``, right after ``super().__init__(**kwargs)``)
        as the attribute of the same name, except ``self``, ``kwargs``, ``__class__`` (``super()``'s cell)
        and the names in ``but``: arguments the caller handed to ``super().__init__`` (the base keeps those)
        or keeps in another form itself."""
        for name, value in arguments.items():
            if name not in ("self", "kwargs", "__class__") and name not in but:
                setattr(self, name, value)


class LemlistTaskMixin(KeepArgumentsMixin):
    """The templated connection id and the cached ``hook`` of a lemlist operator or sensor."""

    template_fields: Sequence[str] = ("lemlist_conn_id",)
    lemlist_conn_id: str

    def pre_execute(self, context: Any) -> None:
        """Refuse a connection outside the allow-list before ``execute`` (or the method a trigger resumes)
        starts: a deferring sensor hands ``lemlist_conn_id`` to its trigger without building a hook."""
        allowlists.lemlist_connection("lemlist_conn_id", self.lemlist_conn_id)

    def note_ops(self, **facts: Any) -> None:
        """Note what this try did for its ops summary: ``campaign_id``, ``rows``, ``outcomes`` (counts by
        outcome), ``report`` (the file written), ``credits`` (left on the account). See ``ops.summary``."""
        self.__dict__.setdefault("_ops_facts", {}).update(facts)

    def post_execute(self, context: Any, result: Any = None) -> None:
        """Push this try's ops summary (XCom ``lemlist_ops``); a failed try's goes from the notifier."""
        ops_record.push(self, context, "success")

    @cached_property
    def hook(self) -> LemlistHook:
        return LemlistHook(
            lemlist_conn_id=allowlists.lemlist_connection("lemlist_conn_id", self.lemlist_conn_id)
        )


# The __init__s below are written out in each class because Airflow applies default_args (a DAG's pool, say)
# only to an __init__ that the class itself defines.
class LemlistBaseOperator(LemlistTaskMixin, BaseOperator):
    """Base of the provider's operators."""

    def __init__(
        self, *, lemlist_conn_id: str = DEFAULT_CONN_ID, pool: str = LEMLIST_POOL, **kwargs: Any
    ) -> None:
        super().__init__(pool=pool, **kwargs)
        self.keep_arguments(locals(), but=("pool",))


class LemlistBaseSensor(LemlistTaskMixin, BaseSensorOperator):
    """Base of the provider's sensors: deferred to their ``trigger`` when ``deferrable`` (by default
    ``[operators] default_deferrable``, as in the apache providers), else poking in ``poke`` or
    ``reschedule`` mode, never more often than the admin's floor of poll intervals allows."""

    def __init__(
        self,
        *,
        lemlist_conn_id: str = DEFAULT_CONN_ID,
        pool: str = LEMLIST_POOL,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(pool=pool, **kwargs)
        self.keep_arguments(locals(), but=("pool",))

    def trigger(self, deadline: float) -> BaseTrigger:
        """The trigger that waits in the triggerer until ``deadline`` (epoch seconds)."""
        raise NotImplementedError

    def waits_for(self) -> str:
        """What the sensor waits for, in words, for its first log line (``"lemlist export axp_1 ..."``)."""
        return f"{type(self).__name__} to succeed"

    def execute(self, context: Any) -> Any:
        timeout = self.timeout.total_seconds() if isinstance(self.timeout, timedelta) else float(self.timeout)
        until = datetime.fromtimestamp(time.time() + timeout, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        how = "in the triggerer" if self.deferrable else f"{self.mode} mode"
        self.log.info("Waiting for %s until %s (%s, on connection '%s')", self.waits_for(), until, how,
                      self.lemlist_conn_id)  # fmt: skip
        if self.deferrable:
            # Airflow's own deferral timeout only backs up the trigger's deadline, which ends with a clear event
            self.defer(trigger=self.trigger(time.time() + timeout), method_name="execute_complete",
                       timeout=timedelta(seconds=timeout + 300))  # fmt: skip
        self.poke_interval = poll_floor(self.poke_interval)
        return super().execute(context)


def as_bool(value: Any) -> bool:
    """A rendered flag: a bool, or its text (``"true"``, ``"1"``, ``"yes"``, ``"on"``) from a template."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def as_list(value: Any) -> list | None:
    """A rendered list: a list, or a comma-separated string; ``None`` when empty."""
    if value in (None, "", [], "None"):
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return list(value)


def given(value: Any) -> Any:
    """A rendered optional Param: ``None`` when the form left it empty (``None``, ``""`` or ``"None"``)."""
    return None if value in (None, "", "None") else value


def run_output(context: Any, suffix: str) -> str | None:
    """A task's default output: ``<first output root>/<dag_id>/<run_id><suffix>``; ``None`` outside a run."""
    dag_id = getattr(context.get("dag"), "dag_id", None)
    run_id = context.get("run_id")
    if not dag_id or not run_id:
        return None
    return paths.default_output(dag_id, paths.safe_name(run_id) + suffix)

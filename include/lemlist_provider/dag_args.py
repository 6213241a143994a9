"""What the lemlist DAGs share: their default_args, their own settings, the kinds of trigger-form field and how
a field reaches a task (``from_params``).

Every Param gets a title and a description (the form shows both); optional fields accept ``null``, so an
empty form field means "use the default", which the operators resolve at run time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Param

from lemlist_provider.account.campaigns import known_campaign_ids
from lemlist_provider.hooks.transport import SLOT_SHAPES
from lemlist_provider.notifiers import LemlistIncidentNotifier
from lemlist_provider.operators.base import LEMLIST_POOL


def default_lemlist_args(*, pool: str | None = LEMLIST_POOL, **overrides: Any) -> dict[str, Any]:
    """``default_args`` for the project's DAGs: patient retries, an incident line on failure, the shared pool.

    3 retries after 30 s, 60 s, 120 s (``retry_exponential_backoff`` is a float multiplier in Airflow 3.3),
    never more than 10 min apart, so a lemlist outage of a few minutes heals by itself; the hook already
    absorbs 429s and short 5xx bursts inside a try. The pool is set here, at DAG level, because only a DAG's
    default reaches the tasks of a mapped operator (an operator's own default does not); ``pool=None``
    leaves it to each operator. Any key can be overridden: ``default_lemlist_args(retries=0)``.
    """
    args: dict[str, Any] = {
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": LemlistIncidentNotifier(),
    }
    if pool is not None:
        args["pool"] = pool
    args.update(overrides)
    return args


def lemlist_dag(doc: str, *tags: str, **default_args: Any) -> dict[str, Any]:
    """The ``@dag`` arguments every lemlist DAG takes: no catchup, native rendering (so a Param's list or
    number reaches the operator as one), the ``lemlist`` tag, the DAG file's docstring, ``default_lemlist_args``."""
    return {"catchup": False, "render_template_as_native_obj": True, "tags": ["lemlist", *tags], "doc_md": doc,
            "default_args": default_lemlist_args(**default_args)}  # fmt: skip


def from_params(*names: str) -> dict[str, str]:
    """Operator arguments that each take the run's Param of the same name: ``from_params("mode", "pull")`` is
    ``{"mode": "{{ params.mode }}", "pull": "{{ params.pull }}"}``, the one way the DAG files wire their trigger
    form into their tasks (rendered natively, so a list or a number reaches the operator as one). Only a
    Param's name goes into a template, never a value, and it must be an identifier."""
    for name in names:
        if not name.isidentifier():
            raise ValueError(f"not a Param name: {name!r}")
    return {name: "{{ params." + name + " }}" for name in names}


def flag(title: str, description: str, default: bool = False) -> Param:
    return Param(default, type="boolean", title=title, description=description)


def text(
    title: str, description: str, default: str | None = None, *, nullable: bool | None = None, **schema: Any
) -> Param:
    """A string field; ``null`` (left empty) is allowed when there is no default, or when ``nullable``."""
    kind = ["null", "string"] if (default is None if nullable is None else nullable) else "string"
    return Param(default, type=kind, title=title, description=description, **schema)


def campaign(title: str, description: str, *, required: bool = False) -> Param:
    """A campaign id: the form refuses anything but ``cam_...`` before submitting (the same shape the hook
    checks before a request) and suggests the campaigns the last account overview saw."""
    schema: dict[str, Any] = {"title": title, "description": description,
                              "pattern": f"^{SLOT_SHAPES['campaign_id'][1]}$"}  # fmt: skip
    if examples := known_campaign_ids():
        schema["examples"] = examples
    if required:  # no default: the form cannot be submitted empty
        return Param(type="string", **schema)
    return Param(None, type=["null", "string"], **schema)


def choice(default: str, options: list[str], title: str, description: str) -> Param:
    return Param(default, type="string", enum=options, title=title, description=description)


def count(
    default: int | None, title: str, description: str, *, nullable: bool | None = None, **schema: Any
) -> Param:
    """A whole number, at least 0 unless ``minimum`` says otherwise; ``null`` as for :func:`text`."""
    kind = ["null", "integer"] if (default is None if nullable is None else nullable) else "integer"
    return Param(default, type=kind, title=title, description=description, **{"minimum": 0, **schema})


def seconds(default: float, title: str, description: str, minimum: float = 0) -> Param:
    """A duration; poll delays under the admin's floor (``[lemlist] min_poll_seconds``) are raised to it when
    the task runs, whatever the form said."""
    return Param(default, type="number", minimum=minimum, title=title, description=description)


def percent(default: float, title: str, description: str) -> Param:
    """A share in percent, 0 to 100."""
    return Param(default, type="number", minimum=0, maximum=100, title=title, description=description)

"""Admin configuration of the provider: the Airflow config section ``[lemlist]``.

Whoever may trigger a DAG in the UI may often edit Variables, but not the deployment's configuration, so the
limits on what a trigger form may ask for live here: where files may be read and written, which storage,
lemlist and SQL connections and which tables a run may use, whether CSV files keep spreadsheet formulas, how
often a wait may poll; and the webhook receiver's limits. Set them in ``airflow.cfg`` or as
``AIRFLOW__LEMLIST__<KEY>`` environment variables; they are read on every use, never cached, so what a task
sees is what its process was deployed with. The defaults make the project work as shipped (``make demo``).
The checks that apply the allow-lists are in :mod:`lemlist_provider.allowlists`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECTION = "lemlist"


@dataclass(frozen=True)
class Option:
    default: str
    type: str
    description: str
    example: str | None = None


OPTIONS: dict[str, Option] = {
    "input_roots": Option(
        "include/data",
        "string",
        "Comma-separated folders (relative to the project, the parent of [core] dags_folder, or absolute) or "
        "URIs (s3://bucket/prefix) that file Params may be read from (lead import and enrichment sources).",
        "include/data, /srv/lemlist/in, s3://acme-lemlist/in",
    ),
    "output_roots": Option(
        "output",
        "string",
        "Comma-separated folders or URIs that file Params may write to (reports, exports, results, audit "
        "files, the unsubscribe sync's CSV list). The first one takes the pipelines' default outputs.",
        "output, s3://acme-lemlist/out",
    ),
    "storage_conn_ids": Option(
        "",
        "string",
        "Comma-separated Airflow connection ids a URI Param may name (s3://<conn_id>@bucket/key). Empty: a URI "
        "may not name one, and uses its storage's default connection.",
        "aws_lemlist",
    ),
    "lemlist_conn_ids": Option(
        "lemlist_default",
        "string",
        "Comma-separated lemlist connection ids a task may use (every operator's lemlist_conn_id, checked "
        "before any request) and the webhook receiver may verify events with (?conn_id=).",
        "lemlist_default, lemlist_team_b",
    ),
    "sql_conn_ids": Option(
        "suppression_db, lemlist_warehouse",
        "string",
        "Comma-separated SQL connection ids a DAG may read and write tables through (the unsubscribe sync's "
        "sql_conn_id, the warehouse).",
        "suppression_db, lemlist_warehouse",
    ),
    "sql_tables": Option(
        "lemlist_*, lemcal_*",
        "string",
        "Comma-separated table names a DAG may create, fill or empty in those connections; * matches any "
        "characters (lemlist_* is every table whose name starts with lemlist_), case-insensitively. A "
        "schema-qualified name (schema.table) must be listed as such.",
        "lemlist_*, crm.optout",
    ),
    "neutralise_csv_formulas": Option(
        "True",
        "boolean",
        "Prefix with ' every CSV cell the provider writes that starts with = + - @ tab or carriage return "
        "(reports, results, audit files, campaign exports), so a spreadsheet shows it as text instead of "
        "running it as a formula. False writes cells raw.",
        "False",
    ),
    "webhook_conn_id": Option(
        "lemlist_default",
        "string",
        "lemlist connection whose webhook_secret verifies webhook events that name no ?conn_id=; it must also "
        "be in lemlist_conn_ids.",
        "lemlist_default",
    ),
    "webhook_max_body_bytes": Option(
        "262144",
        "integer",
        "Webhook bodies above this many bytes are answered 413.",
        "1048576",
    ),
    "webhook_retention_days": Option(
        "30",
        "integer",
        "Stored webhook events older than this many days are deleted (also the deduplication window).",
        "90",
    ),
    "webhook_receiver_url": Option(
        "",
        "string",
        "The webhook receiver's public URL, https://<airflow>/lemlist/webhooks: where lemlist_webhooks_setup "
        "points lemlist's hooks and where enrichments call back. Empty: no hook can be registered and "
        "enrichments are polled only. Not a form field: the hooks send the webhook secret to this URL.",
        "https://airflow.example.com/lemlist/webhooks",
    ),
    "webhook_owner": Option(
        "default",
        "string",
        "Tag of the hooks this deployment registers (airflow_lemlist=<owner> in their URL); only hooks with it "
        "are ever deleted. Give staging and production different owners.",
        "production",
    ),
    "webhook_gc_freeze": Option(
        "True",
        "boolean",
        "At its first event the receiver freezes the API server's objects out of Python's garbage collector "
        "(gc.freeze), so full collections over that heap no longer hold requests for hundreds of ms.",
        "False",
    ),
    "events_suppress_bounces": Option(
        "True",
        "boolean",
        "lemlist_unsubscribe_events also runs on bounce events and adds hard-bounced addresses to the local "
        "suppression list.",
        "False",
    ),
    "reply_handoff_conn_id": Option(
        "",
        "string",
        "SQL connection of lemlist_reply_handoff's table (it must be in sql_conn_ids). Empty: a SQLite file "
        "lemlist_reply_handoff.sqlite in the first output root.",
        "crm_db",
    ),
    "reply_handoff_table": Option(
        "lemlist_reply_handoff",
        "string",
        "Table lemlist_reply_handoff upserts leads into (created if missing; it must match sql_tables).",
        "lemlist_reply_handoff",
    ),
    "scheduled_enrichment_spends": Option(
        "False",
        "boolean",
        "lemlist_enrichment_new_leads (scheduled daily, spends credits) starts enrichments only when this is "
        "True: unpausing the DAG, or the UI's 'Unpause on trigger' box, is not enough. Off, its runs skip "
        "before any request.",
        "True",
    ),
    "ops_retention_days": Option(
        "30",
        "integer",
        "The ops page's task figures (requests, 429s, retries, seconds waited, credits per task try, table "
        "lemlist_ops_call_stats in Airflow's metadata database) older than this many days are deleted.",
        "90",
    ),
    "low_credits_threshold": Option(
        "100",
        "integer",
        "The ops page marks a key's credits as low below this many (drawn as a line on its credits chart).",
        "500",
    ),
    "min_poll_seconds": Option(
        "5",
        "float",
        "Floor of every status-poll interval and first-poll delay (enrichment and export waits, sensor pokes), "
        "whatever the DAG's Params say, so that no run spends the key's shared budget on polls.",
        "10",
    ),
    "local_rate_store": Option(
        "True",
        "boolean",
        "Share each lemlist key's send window between all processes on this host through a SQLite file "
        "(pyrate-limiter with a file lock), when its connection names no Redis (rate_store / redis_conn_id). "
        "False: each process paces itself by the response headers alone.",
        "False",
    ),
    "local_rate_store_dir": Option(
        "",
        "string",
        "Folder of those SQLite files (one per key and base URL, named by a hash, never the key). Empty: "
        "lemlist-rate-windows in the system's temp folder. Every process of the deployment on this host must "
        "see the same folder.",
        "/var/lib/airflow/lemlist-rate",
    ),
}


def _get(key: str) -> str:
    from airflow.sdk.configuration import conf

    return str(conf.get(SECTION, key, fallback=OPTIONS[key].default) or "")


def _list(key: str) -> list[str]:
    return [item.strip() for item in _get(key).split(",") if item.strip()]


def project_root() -> Path:
    """The project folder: the parent of Airflow's ``[core] dags_folder``."""
    from airflow.sdk.configuration import conf

    return Path(conf.get("core", "dags_folder")).expanduser().resolve().parent


def input_roots() -> list[str]:
    """Where file Params may be read from, as configured (paths relative to the project, or URIs)."""
    return _list("input_roots")


def output_roots() -> list[str]:
    """Where file Params may write to, as configured; the first takes default outputs."""
    return _list("output_roots")


def storage_conn_ids() -> frozenset[str]:
    """Connection ids a URI Param may name."""
    return frozenset(_list("storage_conn_ids"))


def _number(key: str, cast: type, minimum: float) -> Any:
    """A numeric key; a value that is not a number, or is below ``minimum``, is the safe default instead."""
    default = cast(OPTIONS[key].default)
    try:
        value = cast(_get(key).strip())
    except ValueError:
        return default
    return value if value >= minimum else default


def min_poll_seconds() -> float:
    """The floor of every poll interval; a value that is not a number falls back to the default."""
    return _number("min_poll_seconds", float, 0.0)


def lemlist_conn_ids() -> list[str]:
    """The lemlist connections tasks and the webhook receiver may use, in the admin's order."""
    return _list("lemlist_conn_ids")


def sql_conn_ids() -> list[str]:
    """The SQL connections a DAG may reach tables through."""
    return _list("sql_conn_ids")


def sql_tables() -> list[str]:
    """Table names (``*`` patterns allowed) a DAG may create, fill or empty."""
    return _list("sql_tables")


def neutralise_csv_formulas() -> bool:
    """Whether CSV cells that a spreadsheet would run as formulas get a ``'`` prefix; anything but a clear
    "off" (``false``, ``0``, ``no``, ``off``) keeps the guard on."""
    return _flag("neutralise_csv_formulas")


def webhook_conn_id() -> str:
    """The connection whose secret verifies webhook events that name none."""
    return _get("webhook_conn_id").strip() or OPTIONS["webhook_conn_id"].default


def webhook_max_body_bytes() -> int:
    return _number("webhook_max_body_bytes", int, 1)


def webhook_retention_days() -> int:
    return _number("webhook_retention_days", int, 1)


def scheduled_enrichment_spends() -> bool:
    """Whether the scheduled enrichment may spend credits: on only for a clear yes (``true``, ``1``, ``yes``,
    ``on``), so that a typo never starts spending."""
    return _get("scheduled_enrichment_spends").strip().lower() in ("true", "1", "yes", "on")


def ops_retention_days() -> int:
    return _number("ops_retention_days", int, 1)


def low_credits_threshold() -> int:
    return _number("low_credits_threshold", int, 0)


def _flag(key: str) -> bool:
    """A boolean key: anything but a clear "off" (``false``, ``0``, ``no``, ``off``) is on."""
    return _get(key).strip().lower() not in ("false", "0", "no", "off")


def webhook_receiver_url() -> str:
    return _get("webhook_receiver_url").strip()


def webhook_owner() -> str:
    return _get("webhook_owner").strip() or OPTIONS["webhook_owner"].default


def webhook_gc_freeze() -> bool:
    return _flag("webhook_gc_freeze")


def events_suppress_bounces() -> bool:
    return _flag("events_suppress_bounces")


def local_rate_store() -> bool:
    """Whether processes on this host share each key's send window through a local SQLite file."""
    return _flag("local_rate_store")


def local_rate_store_dir() -> str:
    """Folder of the local send-window files; empty means the system's temp folder."""
    return _get("local_rate_store_dir").strip()


def reply_handoff_target() -> tuple[str, str]:
    """``(conn_id, table)`` of the reply hand-off; an empty ``conn_id`` means the default SQLite file."""
    table = _get("reply_handoff_table").strip() or OPTIONS["reply_handoff_table"].default
    return _get("reply_handoff_conn_id").strip(), table


def poll_floor(seconds: Any, floor: float | None = None) -> float:
    """``seconds`` raised to the floor of poll intervals (``floor``, else ``min_poll_seconds()``)."""
    return max(float(seconds), min_poll_seconds() if floor is None else floor)


def provider_config() -> dict:
    """The ``config`` entry of ``get_provider_info()``: the section as ``airflow config list`` shows it."""
    return {
        SECTION: {
            "description": "Limits an admin sets on what the lemlist DAGs' trigger forms may ask for, and the "
            "webhook receiver's settings.",
            "options": {
                key: {
                    "description": option.description,
                    "version_added": "0.1.0",
                    "type": option.type,
                    "example": option.example,
                    "default": option.default,
                }
                for key, option in OPTIONS.items()
            },
        }
    }

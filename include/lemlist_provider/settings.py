"""Admin configuration of the provider: the Airflow config section ``[lemlist]``.

Whoever may trigger a DAG in the UI may often edit Variables, but not the deployment's configuration, so the
limits on what a trigger form may ask for live here: where files may be read and written, which storage
connections a URI may name, how often a wait may poll. Set them in ``airflow.cfg`` or as
``AIRFLOW__LEMLIST__<KEY>`` environment variables; they are read on every use, never cached, so what a task
sees is what its process was deployed with. The defaults make the project work as shipped (``make demo``).
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
    "min_poll_seconds": Option(
        "5",
        "float",
        "Floor of every status-poll interval and first-poll delay (enrichment and export waits, sensor pokes), "
        "whatever the DAG's Params say, so that no run spends the key's shared budget on polls.",
        "10",
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


def min_poll_seconds() -> float:
    """The floor of every poll interval; a value that is not a number falls back to the default."""
    try:
        return max(0.0, float(_get("min_poll_seconds")))
    except ValueError:
        return float(OPTIONS["min_poll_seconds"].default)


def poll_floor(seconds: Any, floor: float | None = None) -> float:
    """``seconds`` raised to the floor of poll intervals (``floor``, else ``min_poll_seconds()``)."""
    return max(float(seconds), min_poll_seconds() if floor is None else floor)


def provider_config() -> dict:
    """The ``config`` entry of ``get_provider_info()``: the section as ``airflow config list`` shows it."""
    return {
        SECTION: {
            "description": "Limits an admin sets on what the lemlist DAGs' trigger forms may ask for.",
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

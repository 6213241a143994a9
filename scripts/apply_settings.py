"""Apply ``airflow_settings.yaml`` (Astro CLI format) to the Airflow configured by ``AIRFLOW_HOME``.

The Astro CLI is not needed: connections, pools and variables are written through Airflow's own models.
``${VAR:-default}`` in the file is expanded from the environment, so keys never live in the file. A lemlist
key (``LEMLIST_API_KEY``) given without ``LEMLIST_BASE_URL`` goes with lemlist's real API, never with the
file's sandbox default: a real key must not be sent to whatever listens on the sandbox's port.

    python scripts/apply_settings.py [--migrate] [airflow_settings.yaml]

``--migrate`` first creates or upgrades the metadata database (what ``airflow db migrate`` does), in the
same process: ``make up`` and ``make demo`` save one Airflow start-up that way.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


def settings_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables the file is expanded with: ``environ``, plus lemlist's real API as ``LEMLIST_BASE_URL``
    when a key is set and no URL is."""
    from lemlist_provider.hooks.transport import LEMLIST_API

    env = dict(environ)
    if env.get("LEMLIST_API_KEY") and not env.get("LEMLIST_BASE_URL"):
        env["LEMLIST_BASE_URL"] = LEMLIST_API
    return env


def expand(value, env: Mapping[str, str]):
    if isinstance(value, str):
        return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)
    if isinstance(value, dict):
        return {k: expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env) for v in value]
    return value


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> dict:
    env = settings_environment(os.environ if environ is None else environ)
    return expand(yaml.safe_load(path.read_text()) or {}, env).get("airflow", {}) or {}


def apply(settings: dict) -> list[str]:
    # Admin tooling writes metadata-DB rows, so it uses the ORM models, not the task SDK's read-only ones.
    from airflow.models import Connection, Pool, Variable  # noqa: AIR311
    from airflow.utils.session import create_session

    done = []
    with create_session() as session:
        for item in settings.get("connections", []) or []:
            conn_id = item["conn_id"]
            extra = item.get("conn_extra")
            session.query(Connection).filter(Connection.conn_id == conn_id).delete()  # noqa: AIR311
            session.add(
                Connection(  # noqa: AIR311
                    conn_id=conn_id,
                    conn_type=item.get("conn_type"),
                    host=item.get("conn_host") or None,
                    schema=item.get("conn_schema") or None,
                    login=item.get("conn_login") or None,
                    password=item.get("conn_password") or None,
                    port=int(item["conn_port"]) if item.get("conn_port") else None,
                    extra=json.dumps(extra) if isinstance(extra, dict) else extra,
                )
            )
            done.append(f"connection {conn_id} ({item.get('conn_type')}, {item.get('conn_host')})")
        for item in settings.get("pools", []) or []:
            Pool.create_or_update_pool(
                name=item["pool_name"],
                slots=int(item["pool_slot"]),
                description=item.get("pool_description", ""),
                include_deferred=bool(item.get("include_deferred", False)),
                session=session,
            )
            done.append(f"pool {item['pool_name']} ({item['pool_slot']} slots)")
    for item in settings.get("variables", []) or []:
        Variable.set(item["variable_name"], item.get("variable_value", ""))  # noqa: AIR311
        done.append(f"variable {item['variable_name']}")
    return done


def migrate() -> None:
    """What ``airflow db migrate`` does: write ``airflow.cfg`` if the home has none, then create or upgrade
    the metadata DB. The file holds generated secrets (the JWT key every component must share), so it has
    to exist before several components start at once, each of which would otherwise write its own."""
    from airflow.configuration import write_default_airflow_configuration_if_needed
    from airflow.utils import db

    write_default_airflow_configuration_if_needed()
    db.initdb()


def main(argv: list[str]) -> int:
    if "--migrate" in argv:
        argv = [a for a in argv if a != "--migrate"]
        migrate()
        print("migrated the metadata database")
    path = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "airflow_settings.yaml"
    for line in apply(load_settings(path)):
        print(f"applied {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

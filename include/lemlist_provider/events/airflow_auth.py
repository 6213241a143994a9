"""Opt-in Airflow login for routes of the lemlist plugin app.

Airflow mounts a plugin's FastAPI app as it is: none of its routes sits behind Airflow's auth unless it asks.
The webhook route must stay public (lemlist has no Airflow account; the body secret is its proof), while an
operator's view of the events must not. A router opts in with ``dependencies=[Depends(requires_asset_read)]``.

The dependency resolves the caller exactly as Airflow's own REST API does (``get_user``: bearer token, else
the UI's session cookie) and asks the configured auth manager whether that user may read assets. Airflow's
security module is imported on first use, not when the plugin is loaded: plugins are imported by every Airflow
process, and only the API server needs it.
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer = HTTPBearer(auto_error=False)


async def airflow_user(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Any:
    """The logged-in Airflow user (401 when there is none, as Airflow's API answers)."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, credentials)


def requires_dag_read(user: Any = Depends(airflow_user)) -> Any:
    """403 unless the auth manager lets ``user`` read DAGs (the ops page shows runs of every lemlist DAG)."""
    from airflow.api_fastapi.app import get_auth_manager

    if not get_auth_manager().is_authorized_dag(method="GET", user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return user


def requires_asset_read(user: Any = Depends(airflow_user)) -> Any:
    """403 unless the auth manager lets ``user`` read assets (lemlist events are asset events)."""
    from airflow.api_fastapi.app import get_auth_manager

    if not get_auth_manager().is_authorized_asset(method="GET", user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    return user

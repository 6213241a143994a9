"""The few calls of Airflow's public REST API (``/api/v2``) that the demo and the tests make, as the UI does."""

from __future__ import annotations

import time
from typing import Any

import requests

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


class AirflowClient:
    """An API client logged in with a user's name and password (the token the UI's login would get)."""

    #: SQLite (the local metadata DB) answers "database is locked" when the scheduler and the dag-processor
    #: write at the same moment; the API server turns that into a 500 "Database error" after rolling the
    #: transaction back, so the same request can be sent again safely.
    DB_ERROR_ATTEMPTS = 5

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        response = self.session.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """``method`` on ``/api/v2{path}``; an answer of 400 or more raises ``RuntimeError`` with its body."""
        for attempt in range(1, self.DB_ERROR_ATTEMPTS + 1):
            response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
            locked = response.status_code == 500 and "Database error" in response.text
            if not locked or attempt == self.DB_ERROR_ATTEMPTS:
                break
            print(
                f"{method} {path}: metadata DB busy (attempt {attempt}); retrying in {attempt} s", flush=True
            )
            time.sleep(attempt)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        """Any read, e.g. ``get("/pools/lemlist_api")``; a list value repeats the parameter."""
        return self.call("GET", path, params=params or None)

    def import_errors(self) -> list[dict]:
        return self.get("/importErrors").get("import_errors", [])

    def unpause(self, dag_id: str) -> dict:
        return self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def set_pool(self, name: str, slots: int) -> dict:
        """Change a pool's slots only (the API validates a whole pool body, ``update_mask`` picks the field)."""
        body = {"pool": name, "slots": slots, "include_deferred": False}
        return self.call("PATCH", f"/pools/{name}", params={"update_mask": "slots"}, json=body)

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """What the UI's trigger button sends, with the campaign as the run's note (so the runs list says
        what each run was for); returns the new run's id."""
        body: dict = {"logical_date": None, "conf": conf or {}}
        if (conf or {}).get("campaign_id"):
            body["note"] = f"campaign {conf['campaign_id']}"
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def list_runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="-start_date")["dag_runs"]

    def get_run(self, dag_id: str, run_id: str) -> dict:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")

    def task_instances(self, dag_id: str = "~", run_id: str = "~", **filters: Any) -> list[dict]:
        """Task instances of one run (``~`` for any DAG or run), e.g. ``state=["running", "queued"]``."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self.get(path, limit=1000, **filters)["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom value as the task returned it (``deserialize=true`` gives JSON, not a repr string)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.get(path, deserialize="true", stringify="false").get("value")

"""``make up``: a local Airflow with the project's DAGs and the lemlist sandbox (or the real lemlist), until Ctrl-C.

The home (default ``.airflow/up``) keeps the metadata DB, the admin password and the task logs between
sessions. The DAGs that only run when triggered are unpaused, so the UI's Trigger button works at once;
scheduled DAGs stay paused until you enable them, so nothing spends credits unasked. With
``LEMLIST_API_KEY`` (and optionally ``LEMLIST_BASE_URL``) the connection points at the real lemlist.

    python -m lemlist_dev.up [--port 8080] [--sandbox-port 8089] [--time-scale 0.1] [--home DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from . import PROJECT, UP_HOME
from .deployment import LocalAirflow, lemlist_target


def port_or_free(port: int, what: str) -> int:
    """The requested port if nobody listens there, else 0 (a free one) with a note."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return port
        except OSError:
            print(f"port {port} for the {what} is taken: using a free one instead")
            return 0


def unpause_manual_dags(local: LocalAirflow, timeout: float = 120.0) -> list[str]:
    """Unpause every DAG without a schedule, once each file in ``dags/`` is parsed (or failed to import)."""
    files = {path.name for path in (PROJECT / "dags").glob("*.py")}

    def parsed() -> list[dict] | None:
        dags = local.client.get("/dags", limit=100)["dags"]
        seen = {Path(d["fileloc"]).name for d in dags}
        seen |= {Path(e["filename"]).name for e in local.client.import_errors()}
        return dags if files <= seen else None

    dags = local.wait_until(parsed, timeout, f"every file in dags/ parsed ({len(files)})", interval=2)
    manual = sorted(d["dag_id"] for d in dags if d.get("timetable_summary") in (None, "None", ""))
    for dag_id in manual:
        local.client.unpause(dag_id)
    return manual


@contextlib.contextmanager
def running(
    home: Path,
    *,
    real_key: str | None = None,
    real_url: str | None = None,
    api_port: int = 0,
    sandbox_port: int = 0,
    time_scale: float = 0.1,
    echo: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[LocalAirflow]:
    """What ``make up`` starts, ready to use: the tests enter it with free ports and a temporary home."""
    with (
        lemlist_target(real_key, real_url=real_url, port=sandbox_port, time_scale=time_scale) as lemlist,
        LocalAirflow(home, lemlist, api_port=api_port, echo=echo, extra_env=extra_env) as local,
    ):
        unpause_manual_dags(local)
        yield local


def banner(local: LocalAirflow) -> str:
    user, password = local.login
    unpaused = sorted(d["dag_id"] for d in local.client.get("/dags", paused=False, limit=100)["dags"])
    lemlist = local.lemlist
    target = (
        f"the sandbox at {lemlist.base_url}" if lemlist.sandbox else f"the REAL lemlist at {lemlist.base_url}"
    )
    lines = [
        f"Airflow UI   {local.ui_url}",
        f"login        {user} / {password}",
        f"lemlist      connection lemlist_default -> {target}",
        *([f"sandbox key  {lemlist.api_key} (demo team)"] if lemlist.sandbox else []),
        f"unpaused     {', '.join(unpaused) or '-'} (manual; scheduled DAGs stay paused until you enable them)",
        f"logs         {local.home}/<component>.log, task logs under {local.home}/logs",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(["=" * 78, *(f"  {line}" for line in lines), "=" * 78])


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_UI_PORT", "8080")))
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8089")))
    parser.add_argument(
        "--time-scale", type=float, default=0.1, help="sandbox: multiplies enrichment/export delays"
    )
    parser.add_argument("--home", type=Path, default=UP_HOME, help="the Airflow home (default .airflow/up)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    real_key = os.environ.get("LEMLIST_API_KEY") or None
    try:
        with running(
            args.home,
            real_key=real_key,
            real_url=os.environ.get("LEMLIST_BASE_URL"),
            api_port=port_or_free(args.port, "Airflow UI"),
            sandbox_port=0 if real_key else port_or_free(args.sandbox_port, "lemlist sandbox"),
            time_scale=args.time_scale,
            echo=True,
        ) as local:
            print("\n" + banner(local), flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)
                    local.check_alive()
            print("\nstopping airflow and the sandbox ...", flush=True)
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        print(f"make up failed: {exc}", file=sys.stderr)
        return 1
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make up`: a local Airflow with the project's DAGs, talking to the lemlist sandbox (or the real lemlist).

Starts the sandbox (unless ``LEMLIST_API_KEY`` is set) and ``airflow standalone`` with ``$AIRFLOW_HOME``
(default ``.airflow/``: the metadata DB, the admin password and the task logs persist between sessions),
applies ``airflow_settings.yaml``, prints the UI address and the login, and keeps running until Ctrl-C,
then stops every process it started.

    python scripts/up.py [--port 8080] [--sandbox-port 8089] [--time-scale 0.1]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from airflow_local import LocalAirflow  # noqa: E402


def _port_or_free(port: int, what: str) -> int:
    """The requested port if nobody listens there, else 0 (pick a free one) with a note."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return port
        except OSError:
            print(f"port {port} for the {what} is taken: using a free one instead")
            return 0


def unpause_manual_dags(local: LocalAirflow) -> list[str]:
    """Unpause the DAGs that only run when triggered, so the UI's Trigger button just works.

    Scheduled DAGs (enrichment of new leads, sync, export, overview) stay paused: against a real key they
    would start at once and could spend credits before anyone asked for it.
    """
    client = local.client()
    deadline = time.monotonic() + 60
    dags: list[dict] = []
    while time.monotonic() < deadline:
        dags = client.get("/dags", limit=100).get("dags", [])
        if dags:
            break
        time.sleep(2)
    manual = sorted(d["dag_id"] for d in dags if d.get("timetable_summary") in (None, "None", ""))
    for dag_id in manual:
        client.unpause(dag_id)
    return manual


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("AIRFLOW_UI_PORT", "8080")))
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8089")))
    parser.add_argument(
        "--time-scale",
        type=float,
        default=0.1,
        help="sandbox: multiplies enrichment/export delays (1 = real)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(os.environ.get("AIRFLOW_HOME", ROOT / ".airflow"))
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    real = bool(os.environ.get("LEMLIST_API_KEY"))
    local = LocalAirflow(
        home,
        api_port=_port_or_free(args.port, "Airflow UI"),
        sandbox_port=0 if real else _port_or_free(args.sandbox_port, "lemlist sandbox"),
        time_scale=args.time_scale,
        echo=True,
        unpause_dags=False,
    )
    try:
        local.start()
        user, password = local.login
        manual = unpause_manual_dags(local)
        target = (
            f"the REAL lemlist at {local.lemlist_base_url}"
            if real
            else f"the sandbox at {local.lemlist_base_url}"
        )
        print(
            "\n"
            + "=" * 78
            + f"\n  Airflow UI   {local.ui_url}"
            + f"\n  login        {user} / {password}"
            + f"\n  lemlist      connection lemlist_default -> {target}"
            + (f"\n  sandbox key  {local.api_key} (demo team)" if not real else "")
            + f"\n  unpaused     {', '.join(manual) or '-'} (manual; scheduled DAGs stay paused until you enable them)"
            + f"\n  logs         {home}/standalone.log, task logs under {home}/logs"
            + "\n  Ctrl-C stops everything.\n"
            + "=" * 78,
            flush=True,
        )
        while True:
            time.sleep(1)
            local.check_alive()
    except KeyboardInterrupt:
        print("\nstopping airflow and the sandbox ...", flush=True)
        return 0
    except Exception as exc:
        print(f"make up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        local.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())

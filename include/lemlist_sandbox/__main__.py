"""``python -m lemlist_sandbox --host 127.0.0.1 --port 8089 --seed demo``"""

from __future__ import annotations

import argparse

from .app import create_app
from .config import Faults, SandboxConfig
from .history import add_history
from .ratelimit import WINDOW_KINDS
from .seed import DEMO_KEY
from .server import http_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="lemlist_sandbox", description="A local lemlist API for tests and demos."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--rate-limit", type=int, default=20, help="requests per window per key; 0 = off")
    parser.add_argument("--rate-window", type=float, default=2.0, help="window length in seconds")
    parser.add_argument(
        "--rate-window-kind", default="sliding", choices=WINDOW_KINDS, help="how the window moves"
    )
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiplies enrichment/export delays")
    parser.add_argument("--enrichment-delay", type=float, default=20.0)
    parser.add_argument("--export-delay", type=float, default=30.0)
    parser.add_argument("--control-token", default="sandbox-control")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of requests answered 5xx")
    parser.add_argument("--reset-rate", type=float, default=0.0, help="fraction of connections reset")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--activities", type=int, default=0, help="give the demo team a history of N activities (history.py)"
    )
    parser.add_argument("--history-days", type=int, default=30, help="the days that history spans")
    parser.add_argument(
        "--no-html-for-unknown", action="store_true", help="answer unknown routes 404, not HTML 200"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    config = SandboxConfig(
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        rate_window_kind=args.rate_window_kind,
        time_scale=args.time_scale,
        enrichment_delay=args.enrichment_delay,
        export_delay=args.export_delay,
        control_token=args.control_token,
        seed=args.seed,
        faults=Faults(
            error_rate=args.error_rate,
            reset_rate=args.reset_rate,
            latency_ms=args.latency_ms,
            html_for_unknown=not args.no_html_for_unknown,
        ),
    )
    app = create_app(config)
    if args.activities:
        sandbox = app.state.sandbox
        add_history(sandbox.world, sandbox.world.team_for_key(DEMO_KEY), activities=args.activities,
                    days=args.history_days)  # fmt: skip
    print(
        f"lemlist sandbox on http://{args.host}:{args.port}/api (seed={args.seed}, "
        f"rate={args.rate_limit}/{args.rate_window}s {args.rate_window_kind}, time-scale={args.time_scale})",
        flush=True,
    )
    http_server(app, args.host, args.port).run()


if __name__ == "__main__":
    main()

"""Runtime settings of the sandbox, all changeable at start (CLI) and most at runtime (control routes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .ratelimit import WINDOW_KINDS


@dataclass
class Faults:
    """Switches that make the sandbox misbehave like a real, loaded service.

    Every switch is observable: faulted requests are counted in ``/_sandbox/stats``.
    """

    error_rate: float = 0.0  # fraction of API requests answered 500/502/503
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503])
    reset_rate: float = 0.0  # fraction of API requests whose TCP connection is reset
    latency_ms: float = 0.0  # added before every API answer
    force_429: int = 0  # the next N API requests answer 429 whatever the budget
    outage_after: int = 0  # N > 0: N more API requests are answered, then an outage begins (0 = no countdown)
    outage: bool = False  # every API request answers 503 (a service down); set by outage_after or directly
    html_for_unknown: bool = True  # unknown routes answer HTTP 200 with HTML, like the real web app
    echo_key_in_errors: bool = False  # 5xx bodies quote the Authorization header (tests that keys never leak)
    webhook_duplicate_rate: float = 0.0  # fraction of webhook deliveries sent twice at once
    webhook_lost_answer_rate: float = (
        0.0  # fraction of 2xx webhook answers ignored, so the body is sent again
    )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SandboxConfig:
    rate_limit: int = 20  # requests per window per key; 0 disables the limit
    rate_window: float = 2.0  # seconds
    rate_window_kind: str = "sliding"  # "sliding", "fixed" or "fixed-aligned" (see ratelimit.py)
    time_scale: float = 1.0  # multiplies every simulated delay (enrichment, export, expiry)
    enrichment_delay: float = 20.0  # seconds (before time_scale) until an enrichment is done
    export_delay: float = 30.0  # seconds (before time_scale) until an export is done
    export_expiry: float = 7200.0  # seconds (before time_scale) a status lives: lemlist keeps 2 h
    download_expiry: float = 86400.0  # seconds (before time_scale) an export's CSV link works: 24 h
    enrichment_cost: int = 1  # credits per requested enrichment type (find_email, verify, ...)
    activity_delay: float = 60.0  # seconds (before time_scale) between the steps of a lead's journey
    control_token: str = "sandbox-control"
    seed: str = "demo"
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.rate_window_kind not in WINDOW_KINDS:
            raise ValueError(f"rate_window_kind must be one of {', '.join(WINDOW_KINDS)}")

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def runtime_settings(self) -> dict:
        """What ``GET /_sandbox/config`` shows and ``POST /_sandbox/faults`` accepts (every key of it)."""
        return {
            **{name: getattr(self, name) for name in RUNTIME_FIELDS},
            "faults": self.faults.to_dict(),
        }


# Settings changeable at runtime through ``POST /_sandbox/faults``, with the type each value must have.
RATE_FIELDS = {"rate_limit": int, "rate_window": float, "rate_window_kind": str}
TIMING_FIELDS = {
    "time_scale": float,
    "enrichment_delay": float,
    "export_delay": float,
    "export_expiry": float,
    "download_expiry": float,
    "enrichment_cost": int,
    "activity_delay": float,
}
RUNTIME_FIELDS = {**RATE_FIELDS, **TIMING_FIELDS}
FAULT_FIELDS = {
    "error_rate": float,
    "error_statuses": list,
    "reset_rate": float,
    "latency_ms": float,
    "force_429": int,
    "outage_after": int,
    "outage": bool,
    "html_for_unknown": bool,
    "echo_key_in_errors": bool,
    "webhook_duplicate_rate": float,
    "webhook_lost_answer_rate": float,
}
_FRACTIONS = ("error_rate", "reset_rate", "webhook_duplicate_rate", "webhook_lost_answer_rate")


def checked_settings(body: object) -> dict:
    """The runtime settings in ``body`` (faults and ``RUNTIME_FIELDS``), each of the right type and range.

    Raises ``ValueError`` naming the first bad one, so a wrong value is refused instead of breaking every
    later request.
    """
    if not isinstance(body, dict):
        raise ValueError("settings must be a JSON object")
    kinds = {**FAULT_FIELDS, **RUNTIME_FIELDS}
    checked: dict = {}
    for name, value in body.items():
        kind = kinds.get(name)
        if kind is None:
            raise ValueError(f"unknown setting {name!r}")
        if kind is bool or kind is str:
            ok = isinstance(value, kind)
        elif kind is list:
            ok = (
                isinstance(value, list)
                and bool(value)
                and all(isinstance(v, int) and not isinstance(v, bool) and 500 <= v <= 599 for v in value)
            )
        else:
            ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
            ok = ok and (kind is float or float(value).is_integer())
            ok = ok and (name not in _FRACTIONS or value <= 1)
        if name == "rate_window_kind" and value not in WINDOW_KINDS:
            ok = False
        if name == "rate_window" and ok and value <= 0:
            ok = False
        if not ok:
            raise ValueError(f"invalid value for {name}: {value!r}")
        checked[name] = kind(value) if kind in (int, float) else value
    return checked

"""Runtime settings of the sandbox, all changeable at start (CLI) and most at runtime (control routes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
    html_for_unknown: bool = True  # unknown routes answer HTTP 200 with HTML, like the real web app
    echo_key_in_errors: bool = False  # 5xx bodies quote the Authorization header (tests that keys never leak)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SandboxConfig:
    rate_limit: int = 20  # requests per window per key; 0 disables the limit
    rate_window: float = 2.0  # seconds
    time_scale: float = 1.0  # multiplies every simulated delay (enrichment, export, expiry)
    enrichment_delay: float = 20.0  # seconds (before time_scale) until an enrichment is done
    export_delay: float = 30.0  # seconds (before time_scale) until an export is done
    export_expiry: float = 7200.0  # seconds (before time_scale) a status lives: lemlist keeps 2 h
    download_expiry: float = 86400.0  # seconds (before time_scale) an export's CSV link works: 24 h
    enrichment_cost: int = 1  # credits per requested enrichment type (find_email, verify, ...)
    control_token: str = "sandbox-control"
    seed: str = "demo"
    faults: Faults = field(default_factory=Faults)

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

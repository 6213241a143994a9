"""The state of one running sandbox: its settings, its key budgets, its teams and what it has seen."""

from __future__ import annotations

from .config import SandboxConfig
from .delivery import WebhookSender
from .ratelimit import make_limiter
from .seed import apply_seed
from .state import RequestStats, World


class Sandbox:
    """Everything one sandbox process knows. The app, the middleware and the control routes share one."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.limiter = make_limiter(
            self.config.rate_window_kind, self.config.rate_limit, self.config.rate_window
        )
        self.world = World()
        apply_seed(self.world, self.config.seed)
        self.sender = WebhookSender(self._sender_settings)

    def _sender_settings(self) -> dict[str, float]:
        faults = self.config.faults
        return {
            "time_scale": self.config.time_scale,
            "webhook_duplicate_rate": faults.webhook_duplicate_rate,
            "webhook_lost_answer_rate": faults.webhook_lost_answer_rate,
        }

    def reset(self, *, data: bool = True) -> None:
        """Forget the traffic seen (and, with ``data``, every team's data), the webhook counters, and clear the
        key budgets."""
        if data:
            self.world = World()
            apply_seed(self.world, self.config.seed)
        else:
            self.world.stats = RequestStats()
        self.limiter.reset()
        self.sender.reset()

    def set_rate_limit(self, limit: int, window: float, kind: str | None = None) -> None:
        """A new budget for every key (the kind of window too, when given); earlier requests are forgotten."""
        self.config.rate_limit = limit
        self.config.rate_window = window
        if kind is not None:
            self.config.rate_window_kind = kind
        self.limiter = make_limiter(self.config.rate_window_kind, limit, window)

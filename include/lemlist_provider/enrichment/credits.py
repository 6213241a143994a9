"""Credits first: decide what can be paid for before a single enrichment is started."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from airflow.sdk.exceptions import AirflowFailException


@dataclass
class CreditPlan:
    """What to start, what is left out for lack of credits, and the figures behind the decision."""

    selected: list[dict]
    unaffordable: list[dict] = field(default_factory=list)
    needed: int = 0
    available: int = 0
    budget: int = 0
    cost_per_item: int = 0

    @property
    def fits(self) -> bool:
        return not self.unaffordable

    def shortfall_message(self) -> str:
        cap = f", capped at max_credits={self.budget}" if self.budget < self.available else ""
        return (
            f"lemlist enrichment needs {self.needed} credits ({self.needed // max(self.cost_per_item, 1)} items x "
            f"{self.cost_per_item} per item) but {self.available} are available{cap}; enriching nothing. Add credits, "
            "lower the inputs, or set on_insufficient_credits='partial' to enrich what fits"
        )


def plan_credits(
    items: list[dict], cost_per_item: int, available: int, max_credits: int | None = None
) -> CreditPlan:
    """Keep items in order while they fit in ``min(available, max_credits)``. The worst case is charged:
    lemlist charges every requested type at start and refunds failures later."""
    budget = max(0, available if max_credits is None else min(available, max_credits))
    needed = cost_per_item * len(items)
    affordable = len(items) if cost_per_item <= 0 else min(len(items), budget // cost_per_item)
    return CreditPlan(items[:affordable], items[affordable:], needed, available, budget, cost_per_item)


def credits_of(body: dict | None) -> int:
    """``GET /team/credits`` -> ``{"credits": N, ...}``."""
    if not isinstance(body, dict):
        return 0
    try:
        return int(body.get("credits") or 0)
    except (TypeError, ValueError):
        return 0


def require_credits(credits: int, minimum: Any) -> None:
    """Fail (without retries: waiting does not add credits) when fewer than ``minimum`` are left."""
    if minimum not in (None, "", "None") and credits < int(minimum):
        raise AirflowFailException(f"lemlist has {credits} credits left, fewer than the {minimum} required")

"""The request figures every summary, trigger event and incident line reports, from a hook's counters."""

from __future__ import annotations

from typing import Any

FIGURES = ("requests", "rate_limited", "retries")


def http_figures(metrics: dict[str, Any] | None) -> dict[str, int]:
    """``{"requests", "rate_limited", "retries"}`` from ``hook.metrics()`` (missing counters are 0)."""
    metrics = metrics or {}
    return {key: int(metrics.get(key) or 0) for key in FIGURES}

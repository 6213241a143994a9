"""``LemlistAccountOverviewOperator``: is the key valid, how many credits are left, what does the account hold.

The first task to run after configuring a key (and the demo's smoke test), and a daily early warning
before credits run out: a few read-only requests, well inside the budget.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from lemlist_provider.account.campaigns import write_known
from lemlist_provider.enrichment.credits import credits_of, require_credits
from lemlist_provider.figures import http_figures
from lemlist_provider.operators.base import LemlistBaseOperator


class LemlistAccountOverviewOperator(LemlistBaseOperator):
    """Team name, credits, campaigns by status and unsubscribes; fails when fewer than ``min_credits`` are left.

    Returns ``{"team_name", "credits", "campaigns", "campaigns_by_status", "unsubscribes", "requests",
    "rate_limited", "retries"}``.
    """

    template_fields: Sequence[str] = (*LemlistBaseOperator.template_fields, "min_credits")

    def __init__(self, *, min_credits: Any = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict[str, Any]:
        team = self.hook.get_team()
        credits = credits_of(self.hook.get_credits())
        campaigns = self.hook.list_campaigns()
        overview = {
            "team_name": team.get("name"),
            "credits": credits,
            "campaigns": len(campaigns),
            "campaigns_by_status": dict(Counter(c.get("status", "unknown") for c in campaigns)),
            "unsubscribes": len(self.hook.list_unsubscribes()),
            **http_figures(self.hook.metrics()),
        }
        known = write_known(campaigns)  # the trigger forms' campaign suggestions
        self.log.info("lemlist account: %s (campaign suggestions in %s)", overview, known)
        self.note_ops(credits=credits)
        require_credits(credits, self.min_credits or None)
        return overview

"""Pure helpers of the enrichment pipeline: what to enrich, what it costs, and what came back.

Nothing here talks to lemlist; the operators, the sensor and the trigger do. Keeping the planning and the
result rows pure makes them testable without a server and reusable from a DAG's ``@task`` functions.
"""

from .credits import CreditPlan, plan_credits
from .items import (
    ENRICHMENTS,
    build_items,
    bulk_payload,
    items_from_leads,
    items_from_people,
    kinds_for,
    people_of,
)
from .ledger import Ledger
from .results import result_row, run_summary_line, status_counts, write_results

__all__ = [
    "ENRICHMENTS",
    "CreditPlan",
    "Ledger",
    "build_items",
    "bulk_payload",
    "items_from_leads",
    "items_from_people",
    "kinds_for",
    "people_of",
    "plan_credits",
    "result_row",
    "run_summary_line",
    "status_counts",
    "write_results",
]

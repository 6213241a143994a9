"""Lead import pipeline: read → validate → stage batches → import (resumable) → report.

The operators in ``lemlist_provider.operators.lead_import`` and the ``lemlist_lead_import`` DAG are thin wrappers
around these pieces, which can also be used (and tested) without Airflow running.
"""

from __future__ import annotations

from .batch import ENRICHMENT_LOOKUPS, ImportOptions, import_batch
from .checkpoint import Checkpoint
from .errors import LeadFileError, OutputLocationError
from .fields import LEAD_FIELDS, HeaderMap, canonical_field
from .reader import SourceRow, iter_inline, iter_source
from .report import REPORT_COLUMNS, STATUSES, iter_outcomes, run_summary_line, write_report
from .staging import stage_rows
from .validation import SeenEmails, Unsubscribes, normalise_email
from .workspace import Workspace, output_folder, run_key

__all__ = [
    "ENRICHMENT_LOOKUPS",
    "LEAD_FIELDS",
    "REPORT_COLUMNS",
    "STATUSES",
    "Checkpoint",
    "HeaderMap",
    "ImportOptions",
    "LeadFileError",
    "OutputLocationError",
    "SeenEmails",
    "SourceRow",
    "Unsubscribes",
    "Workspace",
    "canonical_field",
    "import_batch",
    "iter_inline",
    "iter_outcomes",
    "iter_source",
    "normalise_email",
    "output_folder",
    "run_key",
    "run_summary_line",
    "stage_rows",
    "write_report",
]

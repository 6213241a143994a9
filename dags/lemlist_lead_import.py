"""Import a list of leads (CSV, JSON Lines or an inline list) into a lemlist campaign.

validate (stream the file once, stage batches) → import_batch (mapped, pool ``lemlist_api``) → write_report.
Idempotent: a retried batch resumes from its checkpoint, a re-run reports ``already_in_campaign``.
The logic lives in ``lemlist_provider``; this file only wires it and declares the trigger form.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag

from lemlist_provider.dag_args import campaign, choice, count, flag, from_params, lemlist_dag, text
from lemlist_provider.operators.lead_import import (
    LemlistImportLeadBatchOperator,
    LemlistLeadImportReportOperator,
    LemlistValidateLeadsOperator,
)


@dag(
    dag_id="lemlist_lead_import",
    schedule=None,
    max_active_runs=4,
    **lemlist_dag(__doc__, "leads", retry_delay=timedelta(seconds=10), max_retry_delay=timedelta(minutes=5)),
    params={
        "campaign_id": campaign(
            "Campaign", "lemlist campaign id to add the leads to (cam_...).", required=True
        ),
        "source": text(
            "Source",
            "CSV (comma or semicolon) or JSON Lines file inside the input roots: a path relative "
            "to the project, or a URI such as s3://bucket/key.csv. Ignored when inline leads are given.",
            default="include/data/sample_leads.csv",
            nullable=True,
        ),
        "leads": Param(
            None,
            type=["null", "array"],
            title="Inline leads",
            description="For small imports: a list of emails or of objects with lemlist lead fields.",
        ),
        "output_uri": text(
            "Output folder",
            "Where the results file goes (path or URI inside the output roots). "
            "Default: output/lemlist_lead_import.",
        ),
        "strategy": choice(
            "per_lead",
            ["per_lead", "csv_upload"],
            "Strategy",
            "per_lead: one request per lead "
            "(works on every plan). csv_upload: lemlist's multipart CSV import; falls back to "
            "per_lead when the plan does not include it (402).",
        ),
        "batch_size": count(
            150,
            "Batch size",
            "Leads per mapped import task. Batches run in the lemlist_api pool.",
            minimum=1,
            maximum=10000,
        ),
        "deduplicate": flag("Deduplicate", "lemlist's deduplicate: skip leads already in another campaign."),
        "skip_unsubscribed": flag(
            "Skip unsubscribed", "Skip emails and @domains on the team's unsubscribe list.", default=True
        ),
        "findEmail": flag("Find email", "Enrichment: ask lemlist to find the email (costs credits)."),
        "verifyEmail": flag("Verify email", "Enrichment: ask lemlist to verify the email (costs credits)."),
        "linkedinEnrichment": flag(
            "LinkedIn enrichment", "Enrichment: LinkedIn profile data (costs credits)."
        ),
        "findPhone": flag("Find phone", "Enrichment: ask lemlist to find a phone number (costs credits)."),
        "dry_run": flag("Dry run", "Validate and report (status would_import) without sending anything."),
    },  # fmt: skip
)
def lemlist_lead_import():
    validate = LemlistValidateLeadsOperator(
        task_id="validate",
        **from_params("campaign_id", "source", "leads", "output_uri"),
        **from_params("batch_size", "deduplicate", "skip_unsubscribed", "dry_run", "strategy"),
        enrichment=from_params("findEmail", "verifyEmail", "linkedinEnrichment", "findPhone"),
    )
    batches = LemlistImportLeadBatchOperator.partial(
        task_id="import_batch",
        # the runs list and the grid name each batch by the rows of the file it holds: "rows 1-150"
        map_index_template="rows {{ task.batch['first_row'] }}-{{ task.batch['last_row'] }}",
    ).expand(batch=validate.output)
    report = LemlistLeadImportReportOperator(task_id="write_report", trigger_rule="all_done")
    validate >> batches >> report


lemlist_lead_import()

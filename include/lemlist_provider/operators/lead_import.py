"""Operators of the lead import: validate a source, import one staged batch, write the report.

They are thin: the work is in :mod:`lemlist_provider.lead_import`. Only small things travel through XCom
(batch descriptors, the summary); rows live in the run's work folder next to the report, in the output
storage, where a batch on any worker finds them (the folder named in XCom is checked against the output
roots like any file Param).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import paths
from lemlist_provider.hooks.errors import LemlistNotFoundError
from lemlist_provider.lead_import import (
    ENRICHMENT_LOOKUPS,
    ImportOptions,
    LeadFileError,
    OutputLocationError,
    Unsubscribes,
    Workspace,
    import_batch,
    iter_inline,
    iter_source,
    output_folder,
    run_key,
    run_summary_line,
    stage_rows,
    write_report,
)
from lemlist_provider.notifiers import UpstreamIncident
from lemlist_provider.operators.base import LemlistBaseOperator, as_bool, given

STRATEGIES = ("per_lead", "csv_upload")


class LemlistValidateLeadsOperator(LemlistBaseOperator):
    """Stream the source once: validate, dedupe, drop unsubscribed, stage valid rows in batches.

    Returns the list of batch descriptors (``{"work_dir", "batch", "rows", "first_row", "last_row"}``) to
    map the import over, and pushes ``work_dir`` for the report. The source must lie in the input roots and
    the output folder (``output_uri``, default ``<first output root>/<dag_id>``) in the output roots. A file
    that cannot be used fails the task at once (no retries: the file will not fix itself) with a message
    naming the file and the problem, never its content.
    """

    template_fields: Sequence[str] = (
        *LemlistBaseOperator.template_fields, "campaign_id", "source", "leads", "output_uri", "batch_size",
        "deduplicate", "skip_unsubscribed", "enrichment", "dry_run", "strategy",
    )  # fmt: skip
    ui_color = "#e8f1ff"

    def __init__(
        self,
        *,
        campaign_id: str,
        source: str | None = None,
        leads: list | None = None,
        output_uri: str | None = None,
        batch_size: int = 150,
        deduplicate: bool = False,
        skip_unsubscribed: bool = True,
        enrichment: dict[str, bool] | None = None,
        dry_run: bool = False,
        strategy: str = "per_lead",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())
        self.enrichment = enrichment or {}

    def execute(self, context: Any) -> list[dict]:
        started = time.time()
        campaign_id = str(self.campaign_id or "").strip()
        if not campaign_id.startswith("cam_"):
            raise AirflowFailException(
                f"campaign_id must be a lemlist campaign id (cam_...), got {campaign_id!r}"
            )
        strategy = str(self.strategy or "per_lead")
        if strategy not in STRATEGIES:
            raise AirflowFailException(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
        leads = self.leads if isinstance(self.leads, list) and self.leads else None
        source = None if leads else given(self.source)
        if not leads and not source:
            raise AirflowFailException(
                "Nothing to import: give a source (path or URI) or an inline list of leads."
            )
        dag_id = context["dag"].dag_id if context.get("dag") else "lemlist_lead_import"
        run_id = context.get("run_id") or context["dag_run"].run_id
        location = paths.input_location("source", source) if source else None
        folder = paths.output_location("output_uri", given(self.output_uri) or paths.default_output(dag_id))
        stem = Path(str(location)).stem if location else f"inline_leads_{run_key(dag_id, run_id)}"
        # the campaign is in the name: the same file imported into two campaigns gives two reports
        report = folder / f"{stem}.{paths.safe_name(campaign_id)}.results.csv"
        paths.check_replaceable("output_uri", report)
        try:
            output_folder(folder)
        except OutputLocationError as exc:
            raise AirflowFailException(str(exc)) from None
        workspace = Workspace.for_run(folder, dag_id, run_id).create()
        context["ti"].xcom_push(key="work_dir", value=str(workspace.root))

        self._check_campaign(campaign_id)
        unsubscribes = None
        if as_bool(self.skip_unsubscribed):
            unsubscribes = Unsubscribes.from_entries(self.hook.paginate("/unsubscribes"))
            self.log.info("lemlist unsubscribe list: %d emails, %d domains", len(unsubscribes.emails),
                          len(unsubscribes.domains))  # fmt: skip
        rows = iter_inline(leads) if leads else iter_source(location)
        try:
            manifest = stage_rows(
                rows, workspace, batch_size=int(self.batch_size), unsubscribes=unsubscribes, log=self.log
            )
        except LeadFileError as exc:
            raise AirflowFailException(str(exc)) from None
        manifest.update(
            campaign_id=campaign_id, source=source or f"inline ({len(leads or [])} leads)", report=str(report),
            strategy=strategy, dry_run=as_bool(self.dry_run), deduplicate=as_bool(self.deduplicate),
            enrichment={k: as_bool((self.enrichment or {}).get(k)) for k in ENRICHMENT_LOOKUPS},
            started_at=started, dag_id=dag_id, run_id=run_id,
        )  # fmt: skip
        workspace.write_manifest(manifest)
        self.note_ops(campaign_id=campaign_id, rows=manifest["total_rows"])
        counts = manifest["counts"]
        self.log.info(
            "validated %d rows: %d valid in %d batches of up to %d, %d invalid, %d duplicate in file, %d unsubscribed",
            manifest["total_rows"], counts["valid"], len(manifest["batches"]), manifest["batch_size"],
            counts["invalid"], counts["duplicate_in_file"], counts["unsubscribed"],
        )  # fmt: skip
        return [{"work_dir": str(workspace.root), **batch} for batch in manifest["batches"]]

    def _check_campaign(self, campaign_id: str) -> None:
        """Fail before reading anything when the campaign does not exist: retries would not help."""
        try:
            self.hook.get_campaign(campaign_id)
        except LemlistNotFoundError:
            raise AirflowFailException(
                f"lemlist campaign {campaign_id} not found for connection '{self.lemlist_conn_id}'"
            ) from None


class LemlistImportLeadBatchOperator(LemlistBaseOperator):
    """Add the leads of one staged batch to the campaign; resumable after a kill (see ``lead_import.batch``).

    Meant to be mapped: ``.partial(...).expand(batch=validate.output)``. Runs in the ``lemlist_api`` pool, and
    the hook paces every request to the key's budget, so any number of batches keeps the key within limits.
    """

    template_fields: Sequence[str] = (*LemlistBaseOperator.template_fields, "batch")
    ui_color = "#fff3e0"

    def __init__(self, *, batch: dict, progress_every: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def execute(self, context: Any) -> dict:
        workspace = Workspace(paths.output_location("work_dir", self.batch["work_dir"]))
        manifest = workspace.read_manifest()
        options = ImportOptions(
            campaign_id=manifest["campaign_id"],
            deduplicate=bool(manifest.get("deduplicate")),
            enrichment=manifest.get("enrichment") or {},
            dry_run=bool(manifest.get("dry_run")),
            strategy=manifest.get("strategy", "per_lead"),
            progress_every=self.progress_every,
        )
        # the "lemlist campaign" extra link (lemlist_provider.links) reads it
        context["ti"].xcom_push(key="lemlist_campaign_id", value=options.campaign_id)
        self.note_ops(campaign_id=options.campaign_id)
        try:
            result = import_batch(None if options.dry_run else self.hook, workspace, self.batch, options,
                                  logger=self.log)  # fmt: skip
        except LemlistNotFoundError as exc:
            raise AirflowFailException(f"batch {self.batch['batch']}: {exc}") from None
        self.log.info("batch %s done: %s", self.batch["batch"], result["counts"])
        self.note_ops(rows=result["rows"], outcomes=result["counts"])
        return result


class LemlistLeadImportReportOperator(LemlistBaseOperator):
    """Merge every row's outcome into the results file, push the summary, fail the run if a row failed.

    Runs whatever happened upstream (``trigger_rule="all_done"`` in the DAG), so a failed batch still gets a
    report in which its unfinished rows are ``failed`` with the reason. It calls no lemlist route.
    """

    template_fields: Sequence[str] = (*LemlistBaseOperator.template_fields, "work_dir")
    ui_color = "#e8f5e9"

    def __init__(
        self, *, validate_task_id: str = "validate", work_dir: str | None = None, keep_work_dir: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.keep_arguments(locals())

    def _nothing_staged(self, why: str) -> None:
        """``validate`` failed before staging the rows: no report to write. This task (``all_done``, the DAG's
        last) still fails so that the run fails, but as ``UpstreamIncident``: the run's one incident line is
        the validate task's."""
        raise UpstreamIncident(
            f"Nothing to report: the {self.validate_task_id} task did not stage the rows ({why}); its own failure "
            "says why"
        )

    def execute(self, context: Any) -> dict:
        work_dir = self.work_dir or context["ti"].xcom_pull(task_ids=self.validate_task_id, key="work_dir")
        if not work_dir:
            self._nothing_staged("it published no work folder")
        workspace = Workspace(paths.output_location("work_dir", work_dir))
        try:
            manifest = workspace.read_manifest()
        except FileNotFoundError as exc:
            if not self.work_dir:
                self._nothing_staged("its work folder has no manifest")
            raise AirflowFailException(str(exc)) from None
        summary = write_report(workspace, manifest, paths.output_location("output_uri", manifest["report"]))
        self.log.info("%s", run_summary_line(summary))
        context["ti"].xcom_push(key="summary", value=summary)
        self.note_ops(
            campaign_id=summary["campaign_id"], rows=summary["total_rows"], report=summary["report"]
        )
        failed = summary["counts"].get("failed", 0)
        if failed:
            context["ti"].xcom_push(key="return_value", value=summary)
            raise AirflowFailException(
                f"{failed} of {summary['total_rows']} rows failed to import; see the report {summary['report']} "
                f"(the work folder {workspace.root} is kept: clear the failed batch tasks to resume them)"
            )
        if not self.keep_work_dir:
            workspace.remove()
        return summary

"""A person's first import, in a real browser: log in, fill the lead import's trigger form, watch it succeed.

Drives the real Airflow UI (``airflow standalone``) in Debian's headless Chromium through Playwright, with
the lemlist sandbox behind the ``lemlist_default`` connection. Screenshots of the filled form and of the
finished run go to ``test-artifacts/``. The leads are then checked where a user would look: in lemlist.
"""

from __future__ import annotations

import csv
import time
import uuid
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt")

DAG_ID = "lemlist_lead_import"
ROWS = 20


def write_leads(path: Path, tag: str) -> list[str]:
    emails = [f"ui-{tag}-{i:02d}@example.com" for i in range(ROWS)]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "firstName", "lastName", "companyName"])
        for i, email in enumerate(emails):
            writer.writerow([email, f"Ada{i}", "Lovelace", "Analytical Engines"])
    return emails


@pytest.mark.integration
@pytest.mark.timeout(360)
def test_trigger_lead_import_from_the_ui(local_airflow, chromium, artifacts_dir, tmp_path):
    local = local_airflow
    team = local.lemlist.sandbox.team()  # the demo team behind lemlist_default
    campaign_id = next(cid for cid, c in team.campaigns.items() if c["status"] == "running")
    tag = uuid.uuid4().hex[:8]
    source = tmp_path / f"leads-{tag}.csv"
    emails = write_leads(source, tag)
    leads_before = len(team.leads_in_campaign(campaign_id))
    assert local.wait_for_dags([DAG_ID]) == {}
    user, password = local.login
    client = local.client
    runs_before = {r["dag_run_id"] for r in client.list_runs(DAG_ID)}

    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh profile every run
            **chromium,
            viewport={"width": 1400, "height": 1000},
        )
        page = browser.new_page()
        page.set_default_timeout(30_000)
        try:
            # Log in the way a person does: the login page is where an anonymous visitor lands.
            page.goto(f"{local.ui_url}/")
            page.get_by_label("Username").fill(user)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{local.ui_url}/")

            page.goto(f"{local.ui_url}/dags/{DAG_ID}")
            page.get_by_role("button", name="Trigger").first.click()
            form = page.get_by_role("dialog")
            form.get_by_text("Trigger Dag - lemlist_lead_import").wait_for()
            form.locator("[name=element_campaign_id]").fill(campaign_id)
            form.locator("[name=element_source]").fill(str(source))
            form.locator("[name=element_batch_size]").fill("10")
            page.screenshot(path=str(artifacts_dir / "ui-trigger-form.png"), full_page=True)
            form.get_by_role("button", name="Trigger", exact=True).click()

            run_id = _wait_for_new_run(client, runs_before)
            finished = local.wait_for_run(DAG_ID, run_id, timeout=240)
            page.goto(f"{local.ui_url}/dags/{DAG_ID}/runs/{run_id}")
            page.get_by_text(run_id).first.wait_for()
            page.get_by_text("success", exact=False).first.wait_for()
            page.screenshot(path=str(artifacts_dir / "ui-run-finished.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(artifacts_dir / "ui-failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    tis = client.task_instances(DAG_ID, run_id)
    assert finished["state"] == "success", [(t["task_id"], t["map_index"], t["state"]) for t in tis]
    assert finished["conf"]["campaign_id"] == campaign_id
    assert finished["conf"]["source"] == str(source)
    assert len([t for t in tis if t["task_id"] == "import_batch"]) == 2  # 20 rows / batch size 10

    summary = client.xcom(DAG_ID, run_id, "write_report")
    assert summary["counts"].get("imported") == ROWS, summary
    # The leads arrived in lemlist, in that campaign.
    assert len(team.leads_in_campaign(campaign_id)) == leads_before + ROWS
    for email in (emails[0], emails[-1]):
        assert team.find_lead(campaign_id, email)["email"] == email


def _wait_for_new_run(client, known: set[str], timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [r["dag_run_id"] for r in client.list_runs(DAG_ID) if r["dag_run_id"] not in known]
        if new:
            return new[0]
        time.sleep(0.5)
    raise AssertionError("the trigger form did not create a run")

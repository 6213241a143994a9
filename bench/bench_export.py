"""``export_stream``: peak RSS growth while the campaign export operator's download streams a ~200 MB export.

The sandbox runs in its own process (``_sandbox_proc.SandboxProcess``) with a campaign of synthetic leads;
each download runs in a fresh Python process so ``ru_maxrss`` (peak RSS) measures that download alone:
growth = peak after − peak before the download. Ratio = growth ÷ file size (target < 0.1). The naive
``response.content`` download is measured the same way beside it, for scale.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_BYTES = 200 * 1024 * 1024
CONTROL = {"X-Sandbox-Token": "sandbox-control"}


def _worker(mode: str, base_url: str, key: str, url: str, size: int, out: str) -> None:
    """Runs in a child process: download ``url`` and print peak RSS before/after (KiB) as JSON."""
    import resource

    os.environ["AIRFLOW_CONN_LEMLIST_DEFAULT"] = json.dumps(
        {
            "conn_type": "lemlist",
            "host": base_url,
            "password": key,
            "extra": {"rate_limit": 20, "rate_window": 2.0},
        }
    )
    from lemlist_provider.exports import CHUNK_SIZE, stream_to
    from lemlist_provider.hooks.lemlist import LemlistHook

    hook = LemlistHook()
    hook.get_conn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    if mode == "stream":
        written = stream_to(
            Path(out), lambda w: hook.download_export(url, fileobj=w, chunk_size=CHUNK_SIZE), size
        )
        nbytes = written["bytes"]
    else:
        body = hook.request("GET", url, raw=True, auth=False).content
        Path(out).write_bytes(body)
        nbytes = len(body)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "after_kib": after, "bytes": nbytes, "seconds": seconds}))


def _measure(mode: str, base_url: str, key: str, url: str, size: int, out: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", mode, base_url, key, url, str(size), str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{mode} worker failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    growth = (result["after_kib"] - result["before_kib"]) * 1024
    return {"peak_rss_growth_mb": round(growth / 2**20, 2), "ratio": round(growth / size, 4),
            "seconds": round(result["seconds"], 2), "bytes": result["bytes"]}  # fmt: skip


def export_stream() -> dict:
    from bench._sandbox_proc import SandboxProcess
    from lemlist_sandbox.routes.exports import SYNTHETIC_ROW_BYTES

    with SandboxProcess(rate_limit=20) as sandbox:
        requests.post(
            f"{sandbox.root}/_sandbox/faults", json={"export_delay": 0.5}, headers=CONTROL, timeout=10
        )
        key = sandbox.new_team()
        auth = ("", key)
        team_id = requests.get(f"{sandbox.base_url}/team", auth=auth, timeout=10).json()["_id"]
        campaign = requests.post(
            f"{sandbox.base_url}/campaigns", json={"name": "Big export"}, auth=auth, timeout=10
        ).json()
        cid = campaign["_id"]
        rows = TARGET_BYTES // SYNTHETIC_ROW_BYTES
        requests.post(f"{sandbox.root}/_sandbox/teams/{team_id}/campaigns/{cid}/synthetic-leads",
                      json={"count": rows}, headers=CONTROL, timeout=10).raise_for_status()  # fmt: skip
        export = requests.get(
            f"{sandbox.base_url}/campaigns/{cid}/export/start", auth=auth, timeout=30
        ).json()
        eid = export.get("id") or export["_id"]
        while True:
            time.sleep(0.5)
            status = requests.get(
                f"{sandbox.base_url}/campaigns/{cid}/export/{eid}/status", auth=auth, timeout=10
            ).json()
            if status["status"]["status"] == "done":
                break
        url, size = status["status"]["url"], int(status["status"]["fileSize"])
        with tempfile.TemporaryDirectory() as scratch:  # the export and its marker never land in the tree
            out = Path(scratch) / "export_stream.csv"
            streamed = _measure("stream", sandbox.base_url, key, url, size, out)
            naive = _measure("naive", sandbox.base_url, key, url, size, out)
    return {
        "figures": {
            "file_size_mb": round(size / 2**20, 1),
            "rows": rows,
            "streamed": streamed,
            "naive_response_content": naive,
        },
        "ratio": streamed["ratio"],
        "target": "< 0.1",
        "passed": streamed["ratio"] < 0.1 and streamed["bytes"] == size,
    }


BENCHMARKS = {"export_stream": export_stream}

if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--worker":
    _worker(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]), sys.argv[7])

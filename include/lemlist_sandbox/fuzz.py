"""Property-based testing of the sandbox against lemlist's spec, with schemathesis (a test tool, not needed
to run the sandbox).

    python -m lemlist_sandbox.fuzz [--max-examples 10]   # its own sandbox; prints the figures as JSON

Every operation of the spec the sandbox serves (``openapi-v2.json`` with ``deviations.py`` applied) gets
generated requests, well-formed and malformed: the spec's examples, schemathesis' coverage phase (edge
and invalid values of every parameter and body field) and its fuzzing phase, with deterministic
generation and at most ``max_examples`` cases per operation and phase. Each answer must be no 5xx, have
a status, content type and body the spec documents, and a request that breaks the schema must be refused
with a 4xx. Ids in paths and queries come from data created through the API first (and, part of the
time, from the generator), so requests get past the 404s into the routes.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from . import contract
from .seed import DEMO_KEY
from .server import SandboxServer

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
PHASES = ("examples", "coverage", "fuzzing")
KNOWN_ID_SHARE = 0.8  # how often a path or query id is one that exists, not a generated one


@dataclass
class FuzzResult:
    operations: int  # in the spec
    tested: int  # operations schemathesis ran
    cases: int  # requests generated and sent
    failures: list[dict]  # one per kind of failure: code, title, operations
    server_errors: int  # 500s the sandbox counted (routes that raised)
    seconds: float
    output: str = field(repr=False, default="")  # schemathesis' report, for a failing test's message

    def figures(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "output"}


def known_ids(base_url: str, key: str) -> dict[str, list[str]]:
    """Parameter name -> ids that exist, made through the API (what a careful client would send)."""
    session = requests.Session()
    session.auth = ("", key)

    def ok(method: str, path: str, **kwargs) -> dict:
        response = session.request(method, base_url + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    user_id = ok("GET", "/team")["createdBy"]
    mailbox_id = ok("GET", f"/users/{user_id}")["mailboxes"][0]["_id"]
    campaign = ok("POST", "/campaigns", json={"name": "Fuzzed campaign"})
    email = "fuzz.lead@fuzz.example.com"
    lead = ok("POST", f"/campaigns/{campaign['_id']}/leads/", json={"email": email, "firstName": "Fuzz"})
    step = {"type": "email", "subject": "Hi", "message": "Hello"}
    schedule = {"name": "Fuzz", "timezone": "Europe/Paris", "start": "09:00", "end": "18:00", "weekdays": [1]}
    account = {
        **{k: "fuzz" for k in ("sender_name", "smtp_host", "smtp_login", "smtp_password")},
        **{k: "fuzz" for k in ("imap_host", "imap_login", "imap_password")},
        "sender_email": "sender@fuzz.example.com",
        "smtp_port": 587,
        "imap_port": 993,
    }
    ok("POST", f"/v2/unsubscribes/variables/{email}")
    draft = ok(
        "POST",
        f"/inbox/{lead['contactId']}/drafts",
        params={"draftOwner": user_id},
        json={"channel": "email", "content": "Hi"},
    )
    ids = {
        "campaignId": campaign["_id"],
        "sequenceId": campaign["sequenceId"],
        "stepId": ok("POST", f"/sequences/{campaign['sequenceId']}/steps", json=step)["_id"],
        "scheduleId": ok("POST", "/schedules", json=schedule)["_id"],
        "leadId": lead["_id"],
        "leadIdOrEmail": lead["_id"],
        "email": email,
        "value": email,
        "contactId": lead["contactId"],
        "idOrEmail": lead["contactId"],
        "exportId": ok("GET", f"/campaigns/{campaign['_id']}/export/start")["_id"],
        "enrichId": ok("POST", "/enrich", params={"email": email, "verifyEmail": "true"})["id"],
        "activityId": ok("GET", "/activities", params={"version": "v2", "limit": 1})[0]["_id"],
        "hookId": ok("POST", "/hooks", json={"targetUrl": "https://hooks.fuzz.example.com/x"})["_id"],
        "labelId": ok("POST", "/inbox/labels", json={"labelName": "Fuzz"})["_id"],
        "draftId": draft["draftId"],
        "userId": user_id,
        "draftOwner": user_id,
        "userMailboxId": mailbox_id,
        "emailAccountId": ok("POST", "/user/email-accounts", json=account)["id"],
        "companyId": ok("POST", "/companies", json={"name": "Fuzz Co", "domain": "fuzz.example"})["data"][
            "_id"
        ],
        "listId": ok("POST", "/contacts/lists", json={"name": "Fuzz list"})["list"]["id"],
    }
    return {name: [value] for name, value in ids.items()}


def _toml(value: object) -> str:
    return json.dumps(value)  # JSON strings, numbers and arrays are valid TOML


def config_toml(ids: dict[str, list[str]]) -> str:
    """schemathesis' configuration: known ids in paths and queries, part of the time."""
    lines = ["[parameters]"]
    for name in ids:
        for location in ("path", "query"):
            binding = f"{{ dictionary = {_toml(name)}, probability = {KNOWN_ID_SHARE} }}"
            lines.append(f"{_toml(f'{location}.{name}')} = {binding}")
    for name, values in ids.items():
        lines += ["", f"[dictionaries.{name}]", f"values = {_toml(values)}"]
    return "\n".join(lines) + "\n"


def run(server: SandboxServer, *, key: str = DEMO_KEY, max_examples: int = 10, workdir: Path) -> FuzzResult:
    """Fuzz a running sandbox with schemathesis in a process of its own; the figures and the report."""
    spec = dict(contract.spec(), servers=[{"url": server.base_url}])
    spec_file, config_file, report = (
        workdir / "spec.json",
        workdir / "schemathesis.toml",
        workdir / "report.json",
    )
    spec_file.write_text(json.dumps(spec))
    config_file.write_text(config_toml(known_ids(server.base_url, key)))
    token = base64.b64encode(f":{key}".encode()).decode()
    before = server.stats()["server_errors"]
    started = time.monotonic()
    completed = subprocess.run(
        [
            sys.executable, "-m", "schemathesis.cli", "--config-file", str(config_file), "run", str(spec_file),
            "--url", server.base_url, "--header", f"Authorization: Basic {token}",
            "--checks", ",".join(CHECKS), "--phases", ",".join(PHASES), "--max-examples", str(max_examples),
            "--generation-deterministic", "--workers", "1", "--no-color",
            "--report", "json", "--report-json-path", str(report), "--output-sanitize", "true",
        ],
        capture_output=True, text=True, cwd=workdir, timeout=900,
    )  # fmt: skip
    seconds = round(time.monotonic() - started, 1)
    if not report.exists():
        raise RuntimeError(
            f"schemathesis did not run:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
        )
    figures = json.loads(report.read_text())
    return FuzzResult(
        operations=len(contract.spec_operations()),
        tested=figures["operations"]["tested"],
        cases=figures["test_cases"]["generated"],
        failures=[
            {"code": f["code"], "title": f["title"], "operations": f["operations"]}
            for f in figures["failures"]
        ],
        server_errors=server.stats()["server_errors"] - before,
        seconds=seconds,
        output=completed.stdout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lemlist_sandbox.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=10)
    args = parser.parse_args(argv)
    with SandboxServer(rate_limit=0, time_scale=0.001) as server, tempfile.TemporaryDirectory() as tmp:
        result = run(server, max_examples=args.max_examples, workdir=Path(tmp))
    print(json.dumps(result.figures(), indent=2))
    return 0 if not result.failures and not result.server_errors else 1


if __name__ == "__main__":
    sys.exit(main())

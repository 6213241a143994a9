"""Where the sandbox knowingly differs from ``openapi-v2.json``, each with its reason: the one table.

The spec is the contract for shapes, but it is wrong or silent in a few places that lemlist's other
documentation (``v1-docs-*``, ``api-facts.md``, ``endpoint-reference.md``) settles. Each deviation is an
edit of the spec: ``contract.py`` serves the edited spec (request checks, error shapes), and the
property-based test checks the sandbox against the same edited spec, so nothing differs silently.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

TEXT_ERROR = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@dataclass(frozen=True)
class Deviation:
    operations: tuple[str, ...]  # "METHOD /path" as the spec writes them
    change: str
    reason: str
    edit: Callable[[dict], None]  # applied to each operation object of the spec


def _optional_parameter(name: str) -> Callable[[dict], None]:
    def edit(op: dict) -> None:
        for parameter in op.get("parameters", []):
            if parameter.get("name") == name:
                parameter["required"] = False

    return edit


def _optional_body_field(name: str) -> Callable[[dict], None]:
    def edit(op: dict) -> None:
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        schema["required"] = [field for field in schema.get("required", []) if field != name]

    return edit


def _documented(*statuses: str) -> Callable[[dict], None]:
    def edit(op: dict) -> None:
        for status in statuses:
            op["responses"].setdefault(
                status, {"description": "lemlist's error", **copy.deepcopy(TEXT_ERROR)}
            )

    return edit


def _event_lists(op: dict) -> None:
    """``type``: one event of the enum, or several joined by commas, in the body and in the answer."""
    body = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["type"]
    answer = op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["type"]
    events = "|".join(body.pop("enum"))
    for schema in (body, answer):
        schema.pop("enum", None)
        schema["pattern"] = f"^({events})(,({events}))*$"


V1_LEAD = {
    "type": "object",
    "required": ["_id"],
    "properties": {k: {"type": "string"} for k in ("_id", "email", "firstName", "lastName", "campaignId")},
}


def _unversioned(op: dict) -> None:
    """``version`` is optional and has no default: without it, the v1 answer."""
    for parameter in op.get("parameters", []):
        if parameter.get("name") == "version":
            parameter["required"] = False
            parameter["schema"].pop("default", None)


def _unversioned_lead(op: dict) -> None:
    """As ``_unversioned``; the 200 answer is the v2 array or, without ``version``, v1's one lead."""
    _unversioned(op)
    media = op["responses"]["200"]["content"]["application/json"]
    media["schema"] = {"anyOf": [media["schema"], V1_LEAD]}


DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        ("GET /activities", "GET /campaigns"),
        "`version` is optional, with no default: without `version=v2`, v1 answers (v1 activity items; "
        "campaigns always as the array, never the captured v2 `{campaigns, pagination}` object)",
        "v1-docs-reference.txt documents these routes without `version`, and api-facts.md says v1 is still "
        "the default there; clients written against v1 get v1 answers, not a 400 (issue 14). The v2 item "
        "schemas also describe the v1 items (no required fields)",
        _unversioned,
    ),
    Deviation(
        ("GET /leads/{email}",),
        "without `version=v2`, the v1 answer: the lead itself, not an array",
        "v1-docs-reference.txt (Get a Specific Lead by Email) and api-facts.md, as above",
        _unversioned_lead,
    ),
    Deviation(
        ("POST /hooks",),
        "`type` may name several events, comma-separated (request and answer)",
        "api-facts.md: `type` is a comma-separated list of events; the spec's enum allows one event only",
        _event_lists,
    ),
    Deviation(
        ("POST /hooks",),
        'documents 409 "Duplicate hook" (text/plain) for a hook identical to one the team has',
        "the sandbox's choice, as lemcal answers (api-facts.md), so a client cannot subscribe twice; "
        "lemlist's spec is silent",
        _documented("409"),
    ),
    Deviation(
        (
            "GET /campaigns/{campaignId}/leads/",
            "POST /campaigns/{campaignId}/leads/import",
            "POST /sequences/{sequenceId}/steps",
            "PATCH /sequences/{sequenceId}/steps/{stepId}",
        ),
        "documents 404 (text/plain) for an unknown campaign, sequence or step",
        "the spec forgets it here; every other operation on these ids documents its 404",
        _documented("404"),
    ),
    Deviation(
        ("GET /campaigns/{campaignId}/leads/", "GET /user/channels"),
        "documents 401 (and 400 on the leads list) as text/plain",
        "the spec lists only 200; every route answers 401 without a valid key (api-facts.md, v1 Errors), "
        "and an invalid `limit` or `state` is a 400 as on every other list",
        _documented("400", "401"),
    ),
    Deviation(
        ("GET /inbox",),
        "`userId` is optional: without it, the inbox of the key's owner",
        "lenient on purpose: a sandbox team has one user, and the provider's `list_inbox()` sends no "
        "`userId` unless given one (tests/provider/test_endpoints.py); lemlist may answer 400",
        _optional_parameter("userId"),
    ),
    Deviation(
        ("POST /inbox/linkedin",),
        "`leadId` is optional when `contactId` names the conversation",
        "lenient on purpose: the provider's `send_linkedin_message` is called with a contact only "
        "(tests/provider/test_endpoints.py); lemlist may answer 400",
        _optional_body_field("leadId"),
    ),
)


def served(spec: dict) -> dict:
    """A copy of ``spec`` with every deviation applied: the contract the sandbox serves."""
    spec = copy.deepcopy(spec)
    for deviation in DEVIATIONS:
        for operation in deviation.operations:
            method, path = operation.split(" ", 1)
            try:
                deviation.edit(spec["paths"][path][method.lower()])
            except KeyError:
                raise ValueError(f"deviation names an operation the spec lacks: {operation}") from None
    return spec


def table() -> str:
    """The deviations as a Markdown table (for ``docs/sandbox.md``)."""
    rows = ["| operations | what the sandbox does | why |", "| --- | --- | --- |"]
    for deviation in DEVIATIONS:
        operations = "<br>".join(f"`{op}`" for op in deviation.operations)
        rows.append(f"| {operations} | {deviation.change} | {deviation.reason} |")
    return "\n".join(rows)

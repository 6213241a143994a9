"""Tasks (a.k.a. opportunities): list with 0-indexed pages, create, update, ignore."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import Request

from ..deps import SandboxDep, TeamDep, json_object
from ..errors import LemlistError
from ..state import now_iso
from .common import api_router, array, id_list, require
from .users import find_user

router = api_router()

PAGE_SIZE = 100
_TYPES = ("email", "manual", "phone", "linkedin")
_PRIORITIES = ("", "0", "1", "2")


def _iso(value, name: str) -> str:
    if not isinstance(value, str):
        raise LemlistError(400, f"{name} must be an ISO 8601 date")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise LemlistError(400, f"{name} must be an ISO 8601 date") from exc
    return value


def _parse_filters(raw: str | None) -> dict:
    """``filters`` is a JSON object (``{"status": "pending", "type": ["email"]}``) or a list of
    ``{"filterId", "in"}`` items, the way the People database takes them."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise LemlistError(400, "filters must be JSON") from exc
    if isinstance(parsed, list):
        parsed = {
            f["filterId"]: f.get("in")
            for f in parsed
            if isinstance(f, dict) and isinstance(f.get("filterId"), str)
        }
    if not isinstance(parsed, dict):
        raise LemlistError(400, "filters must be a JSON object")
    return {k: v if isinstance(v, list) else [v] for k, v in parsed.items() if v is not None}


def _render(task: dict) -> dict:
    return {k: v for k, v in task.items() if v is not None}


@router.get("/tasks")
async def list_tasks(team: TeamDep, page: int = 0, filters: str | None = None) -> dict:
    if page < 0:
        raise LemlistError(400, "page is 0-indexed and must be >= 0")
    wanted = _parse_filters(filters)
    tasks = [
        t
        for t in team.tasks.values()
        if all(
            str(t.get("assignedTo" if key == "userId" else key)) in map(str, values)
            for key, values in wanted.items()
        )
    ]
    tasks.sort(key=lambda t: (t.get("dueDate") or "", t["createdAt"]))
    start = page * PAGE_SIZE
    return {"results": [_render(t) for t in tasks[start : start + PAGE_SIZE]], "page": str(page)}


@router.post("/tasks")
async def create_task(team: TeamDep, sandbox: SandboxDep, request: Request) -> dict:
    body = await json_object(request)
    record_id = body.get("leadId") or body.get("recordId")
    missing = [
        n
        for n, v in (
            ("leadId", record_id),
            ("type", body.get("type")),
            ("assignedTo", body.get("assignedTo")),
            ("dueDate", body.get("dueDate")),
        )
        if not v
    ]
    if missing:
        raise LemlistError(400, f"Missing required fields: {', '.join(missing)}")
    if body["type"] not in _TYPES or not isinstance(record_id, str):
        raise LemlistError(400, f"type must be one of {', '.join(_TYPES)}")
    priority = str(body.get("priority", ""))
    if priority not in _PRIORITIES:
        raise LemlistError(400, "priority must be '', '0', '1' or '2'")
    if find_user(team, body["assignedTo"]) is None:
        raise LemlistError(400, "Invalid assignedTo: not a member of the team")
    lead = team.find_lead(None, record_id)
    if lead is None and record_id not in team.contacts:
        raise LemlistError(400, "Lead not found")
    task = {
        "_id": sandbox.world.ids.new("tsk"),
        "type": body["type"],
        "leadId": lead["_id"] if lead else None,
        "contactId": lead.get("contactId") if lead else record_id,
        "campaignId": lead.get("campaignId") if lead else None,
        "userId": body["assignedTo"],
        "assignedTo": body["assignedTo"],
        "status": "pending",
        "dueDate": _iso(body["dueDate"], "dueDate"),
        "message": str(body.get("message", "")),
        "priority": priority,
        "images": array(body, "images"),
        "videos": array(body, "videos"),
        "createdAt": now_iso(),
        "createdBy": team.user_id,
    }
    team.tasks[task["_id"]] = task
    return _render(task)


@router.patch("/tasks")
async def update_task(team: TeamDep, request: Request) -> dict:
    body = await json_object(request)
    task_id = body.get("id")
    task = require(team.tasks.get(task_id) if isinstance(task_id, str) else None, "Task", status=400)
    if "assignedTo" in body:
        if find_user(team, body["assignedTo"]) is None:
            raise LemlistError(400, "Invalid assignedTo: not a member of the team")
        task["assignedTo"] = task["userId"] = body["assignedTo"]
    if "dueDate" in body:
        task["dueDate"] = _iso(body["dueDate"], "dueDate")
    if "priority" in body:
        if str(body["priority"]) not in _PRIORITIES:
            raise LemlistError(400, "priority must be '', '0', '1' or '2'")
        task["priority"] = str(body["priority"])
    for key in ("message",):
        if key in body:
            task[key] = str(body[key])
    for key in ("images", "videos"):
        if key in body:
            task[key] = array(body, key)
    if "done" in body:
        if not isinstance(body["done"], bool):
            raise LemlistError(400, "done must be a boolean")
        task["status"] = "completed" if body["done"] else "pending"
        task["completedAt"] = now_iso() if body["done"] else None
    return _render(task)


@router.post("/tasks/ignore")
async def ignore_tasks(team: TeamDep, request: Request) -> dict:
    ids = id_list(await json_object(request), "ids", 1000)
    unknown = [i for i in ids if not isinstance(i, str) or i not in team.tasks]
    if unknown:
        raise LemlistError(400, f"Unknown task ids: {', '.join(map(str, unknown[:5]))}")
    for task_id in ids:
        team.tasks[task_id]["status"] = "ignored"
    return {"ok": True, "ignored": len(set(ids))}

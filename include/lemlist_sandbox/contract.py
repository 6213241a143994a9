"""lemlist's OpenAPI spec as the sandbox's contract: what each operation accepts, and how its errors look.

One place checks every request of an operation the spec describes (path and query parameters, JSON body)
against the spec's own schemas, and one place renders every error in the shape the spec documents for
that operation and status (``text/plain`` for most, JSON such as ``{"error": ...}`` or
``{"success": false, "error": {"code", "message"}}`` where the spec says so). Routes then only check what
a schema cannot say (that a campaign exists, that a date is a date).

``openapi-v2.json`` beside this module is a byte-for-byte copy of ``shared/lemlist-api/openapi-v2.json``
(a test keeps them equal), so the sandbox carries its contract wherever it is installed; the few places
where the sandbox knowingly differs from it are the table of ``deviations.py``.
"""

from __future__ import annotations

import json
import re
from functools import cache, cached_property
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from openapi_schema_validator import OAS30WriteValidator, oas30_format_checker

from .deviations import served
from .errors import LemlistError

SPEC_FILE = Path(__file__).with_name("openapi-v2.json")
METHODS = ("get", "post", "put", "patch", "delete")
_TRUE, _FALSE = ("true", "1"), ("false", "0")
_MAX_DETAIL = 160


@cache
def official_spec() -> dict:
    return json.loads(SPEC_FILE.read_text())


@cache
def spec() -> dict:
    """The spec the sandbox serves: the official one with the deviations of ``deviations.py`` applied."""
    return served(official_spec())


def shape(path: str) -> str:
    """A path template with its parameter names and trailing slash dropped: ``/campaigns/{}/leads``."""
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/") or "/"


def _validator(schema: dict) -> OAS30WriteValidator:
    """A validator for ``schema`` whose ``#/components/...`` references resolve in the spec."""
    return OAS30WriteValidator(
        {**schema, "components": spec().get("components", {})}, format_checker=oas30_format_checker
    )


def _first_error(validator: OAS30WriteValidator, value: Any, where: str) -> str | None:
    error = next(iter(validator.iter_errors(value)), None)
    if error is None:
        return None
    at = ".".join(str(p) for p in error.absolute_path)
    if where == "body" and not at and error.validator == "type":
        return f"Body must be a JSON {error.validator_value}"
    detail = error.message if len(error.message) <= _MAX_DETAIL else error.message[:_MAX_DETAIL] + "..."
    return f"Invalid {where}{'.' + at if at else ''}: {detail}"


class Parameter:
    """One path or query parameter: its raw text is read as the schema's type, then validated."""

    def __init__(self, raw: dict) -> None:
        self.name: str = raw["name"]
        self.location: str = raw["in"]
        self.required: bool = bool(raw.get("required"))
        self.schema: dict = raw.get("schema") or {}
        # Any text passes a plain string schema: nothing to check (most ids in paths).
        constraints = set(self.schema) - {"description", "example", "default"}
        self.any_text = constraints <= {"type"} and self.schema.get("type", "string") == "string"

    @cached_property
    def validator(self) -> OAS30WriteValidator:
        return _validator(self.schema)

    def _typed(self, values: list[str]) -> Any:
        kinds = {self.schema.get("type")} | {b.get("type") for b in self.schema.get("oneOf", [])}
        if "array" in kinds and (len(values) > 1 or self.schema.get("type") == "array"):
            return [v for value in values for v in value.split(",") if v]
        raw = values[-1]
        if "integer" in kinds or "number" in kinds:
            try:
                return int(raw) if "integer" in kinds else float(raw)
            except ValueError:
                return raw  # the schema check names the mistake
        if "boolean" in kinds and raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        return raw

    def problem(self, values: list[str]) -> str | None:
        if self.any_text and len(values) == 1:
            return None
        return _first_error(self.validator, self._typed(values), f"{self.location} parameter {self.name}")


class Operation:
    """One operation of the spec: the checks on its input and the shapes of its documented errors."""

    def __init__(self, method: str, path: str, raw: dict, shared_parameters: list[dict]) -> None:
        self.method = method.upper()
        self.path = path
        self.raw = raw
        parameters = {
            (p["in"], p["name"]): Parameter(p) for p in [*shared_parameters, *raw.get("parameters", [])]
        }
        self.query = {p.name: p for p in parameters.values() if p.location == "query"}
        by_name = {p.name: p for p in parameters.values() if p.location == "path"}
        self.path_parameters = [by_name.get(name) for name in re.findall(r"\{([^}]+)\}", path)]
        body = raw.get("requestBody") or {}
        self.body_required = bool(body.get("required"))
        self.body_schema = (body.get("content") or {}).get("application/json", {}).get("schema")

    def __repr__(self) -> str:
        return f"<Operation {self.method} {self.path}>"

    @cached_property
    def body_validator(self) -> OAS30WriteValidator | None:
        return _validator(self.body_schema) if self.body_schema is not None else None

    # -- input ---------------------------------------------------------------------------------------
    async def check(self, request: Request, *, body: bool = True) -> None:
        """Raise the ``LemlistError`` lemlist answers when the request breaks the spec (400)."""
        problem = self._parameters_problem(request)
        if problem is None and body and self.body_validator is not None:
            problem = await self._body_problem(request)
        if problem is not None:
            raise LemlistError(400, problem, code="INVALID_REQUEST")

    def _parameters_problem(self, request: Request) -> str | None:
        values = list(request.path_params.values())
        for parameter, value in zip(self.path_parameters, values, strict=False):
            if parameter is not None and (problem := parameter.problem([value])):
                return problem
        query = request.query_params
        for name, parameter in self.query.items():
            given = query.getlist(name)
            if not given:
                if parameter.required:
                    return f"Missing query parameter {name}"
                continue
            if problem := parameter.problem(given):
                return problem
        return None

    async def _body_problem(self, request: Request) -> str | None:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return None  # the route reads its form (the CSV import the reference documents besides the spec)
        raw = await request.body()
        if not raw.strip():
            return "Body must be JSON" if self.body_required else None
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return "Body must be JSON"
        return self.body_problem(body)

    def body_problem(self, body: Any) -> str | None:
        """What is wrong with a parsed body, by the spec's schema (None when it is right)."""
        return _first_error(self.body_validator, body, "body") if self.body_validator is not None else None

    # -- errors --------------------------------------------------------------------------------------
    def error_media(self, status: int) -> tuple[str, dict] | None:
        """``("application/json", schema)`` when the spec documents a JSON body for this error status."""
        content = (self.raw.get("responses", {}).get(str(status)) or {}).get("content") or {}
        media = content.get("application/json")
        return ("application/json", media.get("schema") or {}) if media is not None else None

    def error_response(self, status: int, message: str, code: str | None = None) -> Response:
        media = self.error_media(status)
        if media is None:
            return PlainTextResponse(message, status_code=status)
        return JSONResponse(error_body(media[1], status, message, code), status_code=status)


def error_body(schema: dict, status: int, message: str, code: str | None = None) -> Any:
    """A JSON error body of the documented ``schema`` carrying ``message`` (and ``code``).

    ``error`` holds the message, or a short title when the schema has a ``message`` beside it; flags such as
    ``success``/``ok`` are false; an enum takes ``code`` when it is one of its values.
    """
    schema = _resolve(schema)
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        objects = [b for b in map(_resolve, branches) if b.get("type") == "object" or "properties" in b]
        schema = objects[0] if objects else _resolve(branches[0])
    if schema.get("type") == "string":
        return message
    properties = schema.get("properties")
    if not properties:
        return {"error": message}
    title = code or HTTPStatus(status).phrase
    body: dict[str, Any] = {}
    for name, raw in properties.items():
        prop = _resolve(raw)
        kind = prop.get("type")
        if "enum" in prop:
            body[name] = code if code in prop["enum"] else prop["enum"][0]
        elif kind == "boolean":
            body[name] = False
        elif kind == "object" or "properties" in prop:
            body[name] = error_body(prop, status, message, code)
        elif name == "message":
            body[name] = message
        elif name == "error":
            body[name] = title if "message" in properties else message
        elif name == "code":
            body[name] = title
    return body


def _resolve(schema: dict) -> dict:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not ref:
        return schema
    node: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return _resolve(node)


def spec_operations() -> list[str]:
    """Every operation of the spec as ``"METHOD /path"`` (two may share a route: ``{leadId}``/``{email}``)."""
    return [f"{m.upper()} {p}" for p, item in spec()["paths"].items() for m in item if m in METHODS]


@cache
def operations() -> dict[tuple[str, str], Operation]:
    """Every operation of the spec by ``(METHOD, shape(path))``."""
    found = {}
    for path, item in spec()["paths"].items():
        shared = item.get("parameters", [])
        for method, raw in item.items():
            if method in METHODS:
                found[(method.upper(), shape(path))] = Operation(method, path, raw, shared)
    return found


def operation_for(method: str, route_path: str) -> Operation | None:
    """The operation a sandbox route serves (its template under ``/api``), or None for routes off the spec."""
    if not route_path.startswith("/api/"):
        return None
    return operations().get((method.upper(), shape(route_path.removeprefix("/api"))))


@cache
def _json_401_patterns() -> list[tuple[str, re.Pattern[str], Operation]]:
    return [
        (method, re.compile("^/api" + re.sub(r"\{[^}]+\}", "[^/]+", op.path.rstrip("/")) + "/?$"), op)
        for (method, _), op in operations().items()
        if op.error_media(401) is not None
    ]


def unauthorized_operation(method: str, path: str) -> Operation | None:
    """Before routing (auth runs first): the operation ``method path`` hits when its 401 is JSON."""
    for wanted, pattern, op in _json_401_patterns():
        if wanted == method and pattern.match(path):
            return op
    return None

"""What every route group shares: the router (checked against the spec), lookups, query parsing, paging, CSV.

Helpers live here rather than in the route group that used them first, so route groups import this module
and the package's core modules, and no import goes round in a circle.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from .. import contract
from ..errors import LemlistError
from ..state import Team

PLAN_GATED = "route is available starting emailPro plan"
BODY_CHECKED_BY_ROUTE = {"x-sandbox-body-checked-by-route": True}


class ContractRoute(APIRoute):
    """A route whose request is checked against its operation in lemlist's spec before the handler runs.

    ``operation`` (None off the spec) also gives the route's errors their documented shape. A route that
    answers a malformed body item by item (bulk enrichment) declares ``openapi_extra=BODY_CHECKED_BY_ROUTE``.
    """

    operation: contract.Operation | None = None

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()
        self.operation = contract.operation_for(next(iter(self.methods)), self.path)
        operation = self.operation
        if operation is None:
            return handler
        check_body = not (self.openapi_extra or {}).get("x-sandbox-body-checked-by-route")

        async def checked_handler(request: Request) -> Response:
            await operation.check(request, body=check_body)
            return await handler(request)

        return checked_handler


def api_router(**kwargs: Any) -> APIRouter:
    """The router of a route group (mounted under ``/api``)."""
    return APIRouter(route_class=ContractRoute, **kwargs)


# -- lookups and values ---------------------------------------------------------------------------------
def team_flag(team: Team, name: str) -> bool:
    """A flag set by ``POST /_sandbox/teams/{id}/flags`` (blocked, plan_gated, ...)."""
    return bool(team.extra.get("flags", {}).get(name))


def require(item: dict | None, what: str, *, status: int = 404) -> dict:
    """``item``, or the error lemlist answers for an unknown ``what`` (404 unless the spec says 400)."""
    if item is None:
        raise LemlistError(status, f"{what} not found", code=f"{what.upper().replace(' ', '_')}_NOT_FOUND")
    return item


def is_unsubscribed(team: Team, email: str | None) -> bool:
    """Whether the email, or its ``@domain``, is on the team's unsubscribe list."""
    if not email:
        return False
    email = email.lower()
    return email in team.unsubscribes or ("@" + email.rsplit("@", 1)[-1]) in team.unsubscribes


def get_campaign(team: Team, campaign_id: str) -> dict:
    return require(team.campaigns.get(campaign_id), "Campaign")


def clean(data: dict) -> dict:
    """Drop ``None`` values and internal keys (``__...``): the spec's strings are not nullable."""
    return {k: v for k, v in data.items() if v is not None and not k.startswith("__")}


def int_param(value: str | None, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    """Parse a query integer the way lemlist does: a 400 when it is not a number in range."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise LemlistError(400, f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        raise LemlistError(
            400, f"{name} must be between {low} and {high}" if high else f"{name} must be >= {low}"
        )
    return number


def bool_param(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def is_v2(request: Request) -> bool:
    """Whether the client asked for the v2 shapes (``version=v2``); without it lemlist answers v1 shapes."""
    return request.query_params.get("version") == "v2"


def array(body: dict, key: str) -> list:
    """``body[key]`` as a list (absent or null: empty); anything else is lemlist's 400."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise LemlistError(400, f"{key} must be an array")
    return list(value)


def id_list(body: Any, name: str, limit: int) -> list:
    """``body[name]`` as a non-empty array of at most ``limit`` items (the bulk routes' body)."""
    values = body.get(name) if isinstance(body, dict) else None
    if not isinstance(values, list) or not values:
        raise LemlistError(400, f"{name} must be a non-empty array")
    if len(values) > limit:
        raise LemlistError(400, f"{name} must contain at most {limit} items")
    return values


# -- paging -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    """The window a list request asks for, however it spells it (``offset``, ``page``, ``skip``; ``limit``,
    ``size``). ``number`` counts pages from 1."""

    offset: int
    limit: int

    @property
    def number(self) -> int:
        return self.offset // self.limit + 1

    def of(self, items: list) -> list:
        return items[self.offset : self.offset + self.limit]

    def pagination(self, total: int, *, null_next: bool = False) -> dict:
        """``{totalRecords, currentPage, totalPage, nextPage}``, the envelope of lemlist's paged v2 lists.
        On the last page ``nextPage`` is absent, or null with ``null_next`` (captured campaign lists)."""
        pages = max(1, math.ceil(total / self.limit))
        out = {"totalRecords": total, "currentPage": self.number, "totalPage": pages}
        if self.number < pages or null_next:
            out["nextPage"] = self.number + 1 if self.number < pages else None
        return out

    def listing(self, items: list, render: Callable[[Any], Any]) -> dict:
        """``{data, total, limit, offset}``, the envelope of the contacts and companies lists."""
        return {
            "data": [render(item) for item in self.of(items)],
            "total": len(items),
            "limit": self.limit,
            "offset": self.offset,
        }


def page_of(
    query: Mapping[str, str],
    *,
    limit: int = 100,
    max_limit: int = 100,
    limit_name: str = "limit",
    first_page: int = 1,
    offset_name: str = "offset",
) -> Page:
    """Read the window from the query: ``page`` (counted from ``first_page``) wins over ``offset``."""
    size = int_param(query.get(limit_name), limit_name, limit, low=1, high=max_limit)
    if query.get("page") not in (None, ""):
        page = int_param(query.get("page"), "page", first_page, low=first_page)
        return Page((page - first_page) * size, size)
    return Page(int_param(query.get(offset_name), offset_name, 0), size)


# -- CSV ----------------------------------------------------------------------------------------------------
def csv_response(header: Iterable[str], rows: Iterable[Iterable[Any]], filename: str) -> Response:
    """A CSV attachment (small files; exports of synthetic leads stream instead)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_table(columns: list[str], records: Iterable[Mapping[str, Any]], filename: str) -> Response:
    """Records as CSV rows of ``columns``; missing, null and nested values are empty cells."""
    rows = (["" if isinstance(r.get(c), dict | list | None) else r.get(c) for c in columns] for r in records)
    return csv_response(columns, rows, filename)

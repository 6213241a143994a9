"""Every route the project is specified from resolves to a real sandbox route, not the HTML-200 fallback.

Sources: the tables of ``endpoint-reference.md`` (``:param`` → ``{param}``), the v2 routes of ``api-facts.md``,
the legacy ``POST /campaigns/{id}/leads/{email}`` and the lemcal routes. Checked twice: against the FastAPI
route table (method + path pattern, and the matched template must be the same shape, so ``/contacts/export``
cannot pass by falling into ``/contacts/{idOrEmail}``), and over real HTTP (the answer must not be HTML).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import requests
from fastapi.routing import APIRoute

from lemlist_sandbox import DEMO_KEY, SandboxServer
from lemlist_sandbox.app import create_app

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("LEMLIST_SHARED_DIR") or REPO.parent / "shared")
REFERENCE = SHARED / "lemlist-api" / "endpoint-reference.md"

EXTRA_ROUTES = [
    ("POST", "/v2/enrichments/bulk"),
    ("POST", "/v2/unsubscribes/variables"),
    ("GET", "/v2/campaigns/{campaignId}/stats"),
    ("POST", "/v2/campaigns/stats/batch"),
    ("POST", "/campaigns/{campaignId}/leads/{email}"),  # legacy add-lead form every public client uses
]
LEMCAL_ROUTES = [
    ("GET", "/lemcal/me"),
    ("GET", "/lemcal/meetings"),
    ("GET", "/lemcal/meeting-types"),
    ("GET", "/lemcal/meetingTypes"),
    ("GET", "/lemcal/hooks"),
    ("POST", "/lemcal/hooks"),
    ("DELETE", "/lemcal/hooks/{hookId}"),
]

_ROW = re.compile(r"^\|\s*(GET|POST|PUT|PATCH|DELETE)\s*\|\s*`([^`]+)`\s*\|", re.MULTILINE)


def reference_routes() -> list[tuple[str, str]]:
    """(method, path without the ``/api`` prefix, ``{param}`` style) for each table row, in order."""
    routes = []
    for method, raw in _ROW.findall(REFERENCE.read_text()):
        path = re.sub(r":(\w+)", r"{\1}", raw.strip())
        path = path.removeprefix("/api")
        if (method, path) not in routes:
            routes.append((method, path))
    return routes


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path).rstrip("/")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "sample_123", path)


def resolve(app, method: str, path: str) -> str | None:
    """The template of the route that serves ``method path`` (first match in routing order), or None."""
    concrete = "/api" + _concrete(path)
    for candidate in (concrete, concrete.rstrip("/") + "/", concrete.rstrip("/")):
        for route in app.router.routes:
            if isinstance(route, APIRoute) and method in route.methods and route.path_regex.match(candidate):
                return route.path
    return None


ALL_ROUTES = [*reference_routes(), *EXTRA_ROUTES, *LEMCAL_ROUTES]


@pytest.fixture(scope="module")
def app():
    return create_app()


def test_reference_was_parsed():
    routes = reference_routes()
    assert len(routes) >= 90, f"only {len(routes)} rows parsed from {REFERENCE}"
    assert ("GET", "/contacts/export") in routes and (
        "PATCH",
        "/sequences/{sequenceId}/steps/{stepId}",
    ) in routes


def test_every_route_resolves_in_the_route_table(app):
    reference = reference_routes()
    missing, wrong_shape = [], []
    for method, path in ALL_ROUTES:
        template = resolve(app, method, path)
        if template is None:
            missing.append(f"{method} {path}")
        elif _shape(template.removeprefix("/api")) != _shape(path):
            wrong_shape.append(f"{method} {path} -> {template}")
    implemented_ref = sum(
        1
        for m, p in reference
        if f"{m} {p}" not in missing and not any(w.startswith(f"{m} {p} ") for w in wrong_shape)
    )
    print(f"\n{implemented_ref}/{len(reference)} endpoint-reference routes implemented")
    print(
        f"{len(ALL_ROUTES) - len(missing) - len(wrong_shape)}/{len(ALL_ROUTES)} routes incl. v2, legacy and lemcal"
    )
    assert not missing, f"routes with no sandbox route: {missing}"
    assert not wrong_shape, f"routes served by a route of another shape: {wrong_shape}"


def test_every_route_answers_over_http_without_the_html_fallback():
    """A real request per route (ids that do not exist are fine: a 404 is an answer, the HTML 200 is not)."""
    with SandboxServer(rate_limit=0, time_scale=0.001) as server:
        team = server.team(DEMO_KEY)
        session = requests.Session()
        html = []
        for method, path in ALL_ROUTES:
            if path.startswith("/lemcal"):
                auth = (team.user_id, DEMO_KEY)
            else:
                auth = ("", DEMO_KEY)
            response = session.request(method, server.base_url + _concrete(path), auth=auth, timeout=10)
            if "text/html" in response.headers.get("content-type", ""):
                html.append(f"{method} {path}")
        assert not html, f"answered with the web app's HTML (route missing): {html}"
        # The fallback itself still exists for unknown paths, so the check above can fail.
        unknown = session.get(server.base_url + "/no/such/route", auth=("", DEMO_KEY), timeout=10)
        assert unknown.status_code == 200 and "text/html" in unknown.headers["content-type"]

"""The People database (lemlist's B2B data): filters, people search and company search.

The data is synthetic and deterministic: the same query always gives the same people, so tests can assert.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from fastapi import Request

from ..deps import TeamDep, json_object
from ..errors import LemlistError
from ..state import Team
from .common import api_router

router = api_router()

_FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Margaret",
    "Linus",
    "Barbara",
    "Ken",
    "Radia",
    "Dennis",
    "Frances",
    "John",
    "Hedy",
    "Tim",
    "Katherine",
    "Edsger",
    "Sophie",
]
_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Hamilton",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Perlman",
    "Ritchie",
    "Allen",
    "Backus",
    "Lamarr",
    "Berners-Lee",
    "Johnson",
    "Dijkstra",
    "Wilson",
]
_TITLES = ["CEO", "CTO", "Head of Sales", "VP Marketing", "Software Engineer", "Growth Manager", "Founder"]
_COUNTRIES = ["France", "United States", "Germany", "United Kingdom", "Spain", "Canada"]
_INDUSTRIES = ["Software Development", "Financial Services", "Marketing Services", "Education", "Retail"]
_SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000"]
_COMPANY_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
]

FILTERS = [
    {"_id": "country", "name": "Country", "criteria": {"type": "list", "values": _COUNTRIES}},
    {"_id": "currentTitle", "name": "Current job title", "criteria": {"type": "text"}},
    {
        "_id": "companyIndustry",
        "name": "Company industry",
        "criteria": {"type": "list", "values": _INDUSTRIES},
    },
    {"_id": "companySize", "name": "Company size", "criteria": {"type": "list", "values": _SIZES}},
    {"_id": "companyName", "name": "Company name", "criteria": {"type": "text"}},
]
_FILTER_FIELDS = {
    "country": "country",
    "currentTitle": "title",
    "companyIndustry": "industry",
    "companySize": "size",
    "companyName": "company",
}


def _companies() -> list[dict]:
    rng = random.Random(7)
    out = []
    for i, word in enumerate(_COMPANY_WORDS):
        domain = f"{word.lower()}.example"
        out.append(
            {
                "id": 1000 + i,
                "company": f"{word} {rng.choice(['Inc', 'Labs', 'SAS', 'GmbH'])}",
                "domain": domain,
                "industry": rng.choice(_INDUSTRIES),
                "size": rng.choice(_SIZES),
                "country": rng.choice(_COUNTRIES),
                "employees": rng.randint(3, 900),
            }
        )
    return out


def _people() -> list[dict]:
    rng = random.Random(11)
    companies = _companies()
    out = []
    for i in range(240):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        company = rng.choice(companies)
        out.append(
            {
                "id": 50_000 + i,
                "name": f"{first} {last}",
                "title": rng.choice(_TITLES),
                "country": rng.choice(_COUNTRIES),
                "connections": rng.randint(10, 500),
                "slug": f"{first}-{last}-{i}".lower(),
                **{k: company[k] for k in ("company", "domain", "industry", "size")},
            }
        )
    return out


_PEOPLE = _people()
_COMPANY_ROWS = _companies()


def _matches(row: dict, filters: list) -> bool:
    for item in filters:
        filter_id = item.get("filterId")
        field = _FILTER_FIELDS.get(filter_id) if isinstance(filter_id, str) else None
        if field is None:
            raise LemlistError(400, f"Unknown filterId {filter_id!r}")
        value = str(row.get(field, "")).lower()
        include = [str(v).lower() for v in item.get("in") or []]
        exclude = [str(v).lower() for v in item.get("out") or []]
        if include and not any(v == value or v in value for v in include):
            return False
        if any(v == value or v in value for v in exclude):
            return False
    return True


def _checked_query(body: dict, max_size: int) -> tuple[list, int, int, str]:
    filters = body.get("filters") or []
    page, size = body.get("page", 1), body.get("size", 20)
    lists = ("in", "out")
    if not isinstance(filters, list) or not all(
        isinstance(f, dict) and all(isinstance(f.get(k) or [], list) for k in lists) for f in filters
    ):
        raise LemlistError(400, "filters must be an array of {filterId, in, out}")
    if not isinstance(page, int) or page < 1 or not isinstance(size, int) or not 1 <= size <= max_size:
        raise LemlistError(400, f"page must be >= 1 and size between 1 and {max_size}")
    if not isinstance(body.get("excludes") or [], list):
        raise LemlistError(400, "excludes must be an array")
    return filters, page, size, str(body.get("search") or "")


async def _search(
    request: Request,
    team: Team,
    rows: list[dict],
    text: Callable[[dict], str],
    render: Callable[[dict], dict],
) -> dict:
    """One search of the database: filters, ``excludes``, free ``search`` text, pages of ``size``."""
    body = await json_object(request, allow_empty=True)
    filters, page, size, search = _checked_query(body, 100)
    excludes = set(map(str, body.get("excludes") or []))
    rows = [r for r in rows if _matches(r, filters) and str(r["id"]) not in excludes]
    if search:
        rows = [r for r in rows if search.lower() in text(r).lower()]
    start = (page - 1) * size
    return {
        "results": [render(r) for r in rows[start : start + size]],
        "total": len(rows),
        "took": 3,
        "page": page,
        "size": size,
        "search": search,
        "limitation": 10_000,
        "team": team.id,
    }


@router.get("/database/filters")
async def database_filters(team: TeamDep) -> list[dict]:
    return FILTERS


def _person(p: dict) -> dict:
    return {
        "_id": f"ppl_{p['id']}",
        "lead_id": p["id"],
        "full_name": p["name"],
        "title": p["title"],
        "country": p["country"],
        "location": p["country"],
        "connections_count": p["connections"],
        "lead_linkedin_url": f"https://www.linkedin.com/in/{p['slug']}",
        "current_exp_company_name": p["company"],
        "experience_count": 1,
        "experiences": [
            {
                "company_name": p["company"],
                "company_domain": p["domain"],
                "company_industry": p["industry"],
                "company_size": p["size"],
                "title_normalized": p["title"].lower(),
                "main_in_profile": True,
            }
        ],
    }


def _company(c: dict) -> dict:
    return {
        "_id": f"cdb_{c['id']}",
        "company_id": str(c["id"]),
        "company_name": c["company"],
        "company_domain": c["domain"],
        "company_website_url": f"https://www.{c['domain']}",
        "company_industry": c["industry"],
        "company_size": c["size"],
        "company_employee_count": str(c["employees"]),
        "company_headquarters_country": c["country"],
        "company_location": c["country"],
    }


@router.post("/database/people")
async def search_people(request: Request, team: TeamDep) -> dict:
    return await _search(
        request, team, _PEOPLE, lambda p: f"{p['name']} {p['title']} {p['company']}", _person
    )


@router.post("/database/companies")
async def search_companies(request: Request, team: TeamDep) -> dict:
    return await _search(request, team, _COMPANY_ROWS, lambda c: c["company"], _company)

"""The People database (lemlist's B2B data): filters, people search and company search.

The data is synthetic and deterministic: the same query always gives the same people, so tests can assert.
"""

from __future__ import annotations

import random

from fastapi import APIRouter, Depends, Request

from ..deps import current_team, json_object
from ..errors import LemlistError
from ..state import Team

router = APIRouter()

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
        field = _FILTER_FIELDS.get(item.get("filterId"))
        if field is None:
            raise LemlistError(400, f"Unknown filterId {item.get('filterId')!r}")
        value = str(row.get(field, "")).lower()
        include = [str(v).lower() for v in item.get("in") or []]
        exclude = [str(v).lower() for v in item.get("out") or []]
        if include and not any(v == value or v in value for v in include):
            return False
        if any(v == value or v in value for v in exclude):
            return False
    return True


async def _query(request: Request, max_size: int) -> tuple[list, int, int, str]:
    body = await json_object(request, allow_empty=True)
    filters = body.get("filters") or []
    page, size = body.get("page", 1), body.get("size", 20)
    if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
        raise LemlistError(400, "filters must be an array of {filterId, in, out}")
    if not isinstance(page, int) or page < 1 or not isinstance(size, int) or not 1 <= size <= max_size:
        raise LemlistError(400, f"page must be >= 1 and size between 1 and {max_size}")
    return filters, page, size, str(body.get("search") or "")


@router.get("/database/filters")
async def database_filters(team: Team = Depends(current_team)) -> list[dict]:
    return FILTERS


@router.post("/database/people")
async def search_people(request: Request, team: Team = Depends(current_team)) -> dict:
    filters, page, size, search = await _query(request, 100)
    body = await request.json() if await request.body() else {}
    excludes = set(map(str, body.get("excludes") or []))
    rows = [p for p in _PEOPLE if _matches(p, filters) and str(p["id"]) not in excludes]
    if search:
        rows = [p for p in rows if search.lower() in f"{p['name']} {p['title']} {p['company']}".lower()]
    start = (page - 1) * size
    results = [
        {
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
        for p in rows[start : start + size]
    ]
    return {
        "results": results,
        "total": len(rows),
        "took": 3,
        "page": page,
        "size": size,
        "search": search,
        "limitation": 10_000,
        "team": team.id,
    }


@router.post("/database/companies")
async def search_companies(request: Request, team: Team = Depends(current_team)) -> dict:
    filters, page, size, search = await _query(request, 100)
    rows = [c for c in _COMPANY_ROWS if _matches(c, filters)]
    if search:
        rows = [c for c in rows if search.lower() in c["company"].lower()]
    start = (page - 1) * size
    results = [
        {
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
        for c in rows[start : start + size]
    ]
    return {
        "results": results,
        "total": len(rows),
        "took": 2,
        "page": page,
        "size": size,
        "search": search,
        "limitation": 10_000,
        "team": team.id,
    }

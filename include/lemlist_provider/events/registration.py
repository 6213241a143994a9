"""Make lemlist's webhooks match a declared list: the plan (create / keep / delete), computed without I/O.

lemlist identifies nothing as "ours": ``GET /hooks`` answers every hook of the team (Zapier's, n8n's,
another Airflow's) and never shows a hook's secret. So the hooks this project creates carry a marker in their
target URL's query, ``airflow_lemlist=<owner>``; a hook is ours exactly when its URL carries our owner tag.
The receiver ignores the parameter. Only our hooks are ever deleted; a hook without the marker, or with
another owner's tag (a staging deployment on the same lemlist team), is reported and left alone.

A declared hook matches an existing one of ours on (target URL, set of types, campaign, isFirst), the same
identity lemlist uses to refuse a duplicate (409), so applying a plan twice creates nothing the second time.
lemlist allows 200 hooks per team, counting every hook: a plan that would end above that is refused whole
before any write, and deletions run before creations so the count never passes the cap on the way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .families import EVENT_TYPES

MAX_HOOKS = 200
OWNER_PARAM = "airflow_lemlist"
CONN_PARAM = "conn_id"
DEFAULT_OWNER = "default"
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


class PlanError(ValueError):
    """A declared hook is invalid (unknown type, bad campaign id or URL): nothing is planned."""


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, no trailing slash, query sorted, no fragment: how URLs are compared."""
    parts = urlsplit(url.strip())
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def owner_of(url: str) -> str | None:
    """The owner tag in a hook's target URL, or None when the hook was not created by this project."""
    values = [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == OWNER_PARAM]
    return values[0] if len(values) == 1 else None


def receiver_target(receiver_url: str, *, owner: str, conn_id: str | None = None) -> str:
    """The receiver URL with our owner marker (and the connection to verify against) in its query."""
    if not ID_PATTERN.match(owner):
        raise PlanError("owner must be 1-100 letters, digits, '_' or '-'")
    parts = urlsplit(receiver_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PlanError("the receiver URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise PlanError("the receiver URL must not carry credentials")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k not in (OWNER_PARAM, CONN_PARAM)
    ]
    if conn_id:
        query.append((CONN_PARAM, conn_id))
    query.append((OWNER_PARAM, owner))
    return canonical_url(urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")))


def parse_types(value: str | Iterable[str] | None) -> frozenset[str]:
    """Event types from a list or lemlist's comma-separated string; empty means every event."""
    if value is None:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else value
    return frozenset(t.strip() for t in items if isinstance(t, str) and t.strip())


@dataclass(frozen=True)
class HookSpec:
    """One hook as lemlist identifies it. ``types`` empty = all events; ``campaign_id`` None = all campaigns."""

    target_url: str
    types: frozenset[str] = frozenset()
    campaign_id: str | None = None
    is_first: bool = False

    @property
    def identity(self) -> tuple:
        return (canonical_url(self.target_url), self.types, self.campaign_id or None, bool(self.is_first))

    def describe(self) -> dict[str, Any]:
        """JSON-native, for the plan report (no secret: a spec never holds one)."""
        return {
            "target_url": self.target_url,
            "types": sorted(self.types) or "all",
            "campaign_id": self.campaign_id,
            "is_first": self.is_first,
        }

    def create_kwargs(self, secret: str) -> dict[str, Any]:
        """Arguments of ``LemlistHook.create_webhook`` for this hook (the secret goes in the body only)."""
        return {
            "target_url": self.target_url,
            "type": sorted(self.types) or None,
            "campaign_id": self.campaign_id,
            "is_first": True if self.is_first else None,
            "secret": secret,
        }


def declared_hook(item: Mapping[str, Any], *, target_url: str) -> HookSpec:
    """A declared hook (``{"types", "campaign_id", "is_first"}``) checked and bound to the receiver URL."""
    unknown = set(item) - {"types", "campaign_id", "is_first"}
    if unknown:
        raise PlanError(f"unknown key(s) in a declared hook: {', '.join(sorted(unknown))}")
    types = parse_types(item.get("types"))
    bad = sorted(types - EVENT_TYPES)
    if bad:
        raise PlanError(f"unknown lemlist event type(s): {', '.join(bad[:10])}")
    campaign_id = item.get("campaign_id") or None
    if campaign_id is not None and (not isinstance(campaign_id, str) or not ID_PATTERN.match(campaign_id)):
        raise PlanError("campaign_id must be a lemlist id (letters, digits, '_' or '-')")
    is_first = item.get("is_first", False)
    if not isinstance(is_first, bool):
        raise PlanError("is_first must be true or false")
    return HookSpec(target_url=target_url, types=types, campaign_id=campaign_id, is_first=is_first)


def declared_hooks(
    items: Iterable[Mapping[str, Any]],
    *,
    receiver_url: str,
    owner: str = DEFAULT_OWNER,
    conn_id: str | None = None,
) -> list[HookSpec]:
    """Every declared hook bound to the receiver's URL (with our owner marker); ``PlanError`` names the entry."""
    target = receiver_target(receiver_url, owner=owner, conn_id=conn_id)
    specs = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise PlanError(f"declared hook #{index} must be an object")
        try:
            specs.append(declared_hook(item, target_url=target))
        except PlanError as exc:
            raise PlanError(f"declared hook #{index}: {exc}") from None
    return specs


def existing_hook(hook: Mapping[str, Any]) -> HookSpec:
    """The spec of a hook as ``GET /hooks`` lists it (``types`` list or ``type`` string, either spelling)."""
    types = hook.get("types") if isinstance(hook.get("types"), list) else hook.get("type")
    return HookSpec(
        target_url=str(hook.get("targetUrl") or ""),
        types=parse_types(types),
        campaign_id=hook.get("campaignId") or None,
        is_first=bool(hook.get("isFirst")),
    )


@dataclass
class HookPlan:
    """What to do; ``problems`` non-empty means the plan must not be applied."""

    owner: str
    create: list[HookSpec] = field(default_factory=list)
    keep: list[dict[str, Any]] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)
    foreign: list[dict[str, Any]] = field(default_factory=list)
    declared_twice: int = 0
    existing_total: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def total_after(self) -> int:
        return self.existing_total - len(self.delete) + len(self.create)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> dict[str, Any]:
        """JSON-native summary for logs and XCom: counts, and each hook's id and identity, never a secret."""

        def view(hook: Mapping[str, Any]) -> dict[str, Any]:
            return {"id": hook.get("_id"), **existing_hook(hook).describe()}

        return {
            "owner": self.owner,
            "ok": self.ok,
            "problems": list(self.problems),
            "counts": {
                "create": len(self.create),
                "keep": len(self.keep),
                "delete": len(self.delete),
                "foreign": len(self.foreign),
                "declared_twice": self.declared_twice,
                "hooks_before": self.existing_total,
                "hooks_after": self.total_after,
                "max_hooks": MAX_HOOKS,
            },
            "create": [spec.describe() for spec in self.create],
            "keep": [view(h) for h in self.keep],
            "delete": [view(h) for h in self.delete],
            "foreign": [view(h) for h in self.foreign],
        }


def plan_hooks(
    declared: Iterable[HookSpec],
    existing: Iterable[Mapping[str, Any]],
    *,
    owner: str,
    recreate: bool = False,
    max_hooks: int = MAX_HOOKS,
) -> HookPlan:
    """Compare the declared hooks with lemlist's list.

    - a declared hook with an identical hook of ours is kept (the first one; identical extras are deleted);
    - a declared hook without one is created; a hook of ours that is not declared is deleted;
    - ``recreate`` deletes and creates every hook of ours (after the webhook secret changed: lemlist never
      shows a hook's secret, so a stale one cannot be detected);
    - hooks of other owners are never touched.
    """
    plan = HookPlan(owner=owner)
    wanted: dict[tuple, HookSpec] = {}
    for spec in declared:
        if spec.identity in wanted:
            plan.declared_twice += 1
        wanted.setdefault(spec.identity, spec)

    matched: set[tuple] = set()
    for hook in existing:
        plan.existing_total += 1
        if owner_of(str(hook.get("targetUrl") or "")) != owner:
            plan.foreign.append(dict(hook))
            continue
        identity = existing_hook(hook).identity
        if identity in wanted and identity not in matched and not recreate:
            matched.add(identity)
            plan.keep.append(dict(hook))
        else:
            plan.delete.append(dict(hook))
    plan.create = [spec for identity, spec in wanted.items() if identity not in matched]

    if plan.total_after > max_hooks:
        plan.problems.append(
            f"the plan would leave {plan.total_after} hooks on the lemlist team, which allows {max_hooks} "
            f"({len(plan.foreign)} of them not managed by owner {owner!r}): declare fewer hooks "
            "(one hook may list several types) or remove unused hooks in lemlist"
        )
    return plan

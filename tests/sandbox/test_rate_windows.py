"""The three kinds of rate window (``sliding``, ``fixed``, ``fixed-aligned``): the same budget and the same
four headers, different moments when slots free up. On a fake clock for the exact moments, then over real
HTTP for the headers and the settings (``SandboxServer``, the control route, the CLI)."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

import pytest
import requests

from lemlist_sandbox import SandboxServer
from lemlist_sandbox.__main__ import parse_args
from lemlist_sandbox.ratelimit import WINDOW_KINDS, make_limiter

JS_DATE = re.compile(r"^\w{3} \w{3} \d{2} \d{4} \d{2}:\d{2}:\d{2} GMT\+0000 \(Coordinated Universal Time\)$")
HEADERS = ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def fill(limiter, clock: Clock, *, start: float, step: float, count: int = 20) -> list:
    decisions = []
    for i in range(count):
        clock.now = start + i * step
        decisions.append(limiter.check("key"))
    return decisions


# kind -> when the 21st request (after 20 at 1001.5 + i * 0.01) may go: the moment a slot frees.
FREES_AT = {"sliding": 1003.5, "fixed": 1003.5, "fixed-aligned": 1002.0}


@pytest.mark.parametrize("kind", WINDOW_KINDS)
def test_the_21st_request_in_a_window_waits_until_a_slot_frees(kind):
    clock = Clock(0)
    limiter = make_limiter(kind, 20, 2.0, clock=clock)
    allowed = fill(limiter, clock, start=1001.5, step=0.01)
    assert [d.allowed for d in allowed] == [True] * 20
    assert [d.remaining for d in allowed] == list(range(19, -1, -1))
    clock.now = 1001.7
    refused = limiter.check("key")
    assert not refused.allowed and refused.remaining == 0 and refused.limit == 20
    assert refused.reset_at == pytest.approx(FREES_AT[kind])
    assert refused.retry_after == max(1, math.ceil(FREES_AT[kind] - clock.now))
    clock.now = FREES_AT[kind] - 0.001
    assert not limiter.check("key").allowed
    clock.now = FREES_AT[kind] + 0.001
    assert limiter.check("key").allowed


@pytest.mark.parametrize("kind", WINDOW_KINDS)
def test_when_a_window_ends_fixed_kinds_free_every_slot_at_once(kind):
    """20 requests spread over the window; just after it: fixed kinds take 20 again, sliding one."""
    clock = Clock(0)
    limiter = make_limiter(kind, 20, 2.0, clock=clock)
    fill(limiter, clock, start=1000.0, step=0.09)  # 1000.00 .. 1001.71, one fixed window [1000, 1002)
    burst = fill(limiter, clock, start=1002.05, step=0.0)
    freed = sum(d.allowed for d in burst)
    assert freed == (1 if kind == "sliding" else 20)
    if kind != "sliding":
        assert [d.remaining for d in burst] == list(range(19, -1, -1))


def test_fixed_starts_with_the_first_request_aligned_starts_on_the_clock():
    clocks = {kind: Clock(0) for kind in ("fixed", "fixed-aligned")}
    limiters = {kind: make_limiter(kind, 20, 2.0, clock=clocks[kind]) for kind in clocks}
    for kind, limiter in limiters.items():
        fill(limiter, clocks[kind], start=1001.9, step=0.001)  # fills [1001.9, 1003.9) or [1000, 1002)
        clocks[kind].now = 1002.5
    assert limiters["fixed-aligned"].check("key").allowed
    assert not limiters["fixed"].check("key").allowed


def test_every_key_has_its_own_window():
    clock = Clock(1000.0)
    limiter = make_limiter("fixed", 2, 2.0, clock=clock)
    assert [limiter.check("a").allowed for _ in range(3)] == [True, True, False]
    assert limiter.check("b").allowed


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="sliding, fixed, fixed-aligned"):
        make_limiter("lunar", 20, 2.0)
    with pytest.raises(ValueError):
        SandboxServer(rate_window_kind="lunar")


def _reset_at(value: str) -> float:
    return datetime.strptime(value[:24], "%a %b %d %Y %H:%M:%S").replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize("kind", WINDOW_KINDS)
def test_over_http_each_kind_answers_the_four_headers_and_429_the_21st(kind):
    with SandboxServer(rate_window_kind=kind) as server:
        session = requests.Session()
        session.auth = ("", "sandbox-api-key")
        answers = [session.get(f"{server.base_url}/team", timeout=5) for _ in range(21)]
        now = time.time()
    assert [a.status_code for a in answers] == [200] * 20 + [429]
    for answer in answers:
        assert all(header in answer.headers for header in HEADERS)
        assert JS_DATE.match(answer.headers["X-RateLimit-Reset"])
        assert answer.headers["X-RateLimit-Limit"] == "20"
        assert now - 1 <= _reset_at(answer.headers["X-RateLimit-Reset"]) <= now + 2.5
    assert [int(a.headers["X-RateLimit-Remaining"]) for a in answers] == [*range(19, -1, -1), 0]
    assert [a.headers["Retry-After"] for a in answers[:20]] == ["0"] * 20
    assert 1 <= int(answers[20].headers["Retry-After"]) <= 2
    if kind != "sliding":  # one window: every answer names the same reset
        assert len({a.headers["X-RateLimit-Reset"] for a in answers}) <= 2  # a second may tick in between


def test_the_kind_is_a_setting_of_the_control_route_and_the_cli(fresh_sandbox):
    settings = fresh_sandbox.set_faults(rate_window_kind="fixed-aligned", rate_limit=3)
    assert (settings["rate_window_kind"], settings["rate_limit"]) == ("fixed-aligned", 3)
    assert fresh_sandbox.sandbox.limiter.aligned is True
    assert parse_args(["--rate-window-kind", "fixed"]).rate_window_kind == "fixed"
    assert parse_args([]).rate_window_kind == "sliding"
    with pytest.raises(SystemExit):
        parse_args(["--rate-window-kind", "lunar"])

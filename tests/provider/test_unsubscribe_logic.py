"""Normalisation and the sync plan: pure logic, no network."""

from __future__ import annotations

import pytest

from lemlist_provider.unsubscribes import (
    Entry,
    Invalid,
    RemovalLimits,
    Side,
    check_removals,
    normalise,
    plan_sync,
)


@pytest.mark.parametrize(
    ("raw", "value", "kind"),
    [
        ("  John.Doe@Example.COM ", "john.doe@example.com", "email"),
        ("mailto:a@b.io", "a@b.io", "email"),
        ("@Acme.Example", "@acme.example", "domain"),
        ("https://www.linkedin.com/in/Jane-Doe/", "https://www.linkedin.com/in/Jane-Doe/", "linkedinUrl"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78", "phone"),
    ],
)
def test_valid_values_are_normalised(raw, value, kind):
    entry = normalise(raw, source="crm")
    assert isinstance(entry, Entry) and (entry.value, entry.kind, entry.source, entry.raw) == (
        value,
        kind,
        "crm",
        raw,
    )


@pytest.mark.parametrize(
    "raw", ["", "   ", "broken@", "a@b", "@nodot", "acme.com", "hello world", "a@@b.io", None]
)
def test_invalid_values_are_reported_with_a_reason(raw):
    bad = normalise(raw)
    assert isinstance(bad, Invalid) and bad.reason


def test_bare_domain_reason_tells_how_to_write_it():
    assert "@domain" in normalise("acme.com").reason


def _side(*values: str, source: str = "") -> Side:
    return Side.collect(normalise(v, source=source) for v in values)


def test_add_only_plans_the_union_and_never_removes():
    local = _side("A@x.io", "b@x.io", "@d.io", "bad@")
    remote = _side("a@x.io", "c@x.io", source="lead")
    plan = plan_sync(local, remote)
    assert [e.value for e in plan.to_remote] == ["@d.io", "b@x.io"]
    assert [e.value for e in plan.to_local] == ["c@x.io"]
    assert not plan.remove_remote and not plan.remove_local and plan.in_both == 1
    assert [i.raw for i in plan.local_invalid] == ["bad@"]


def test_duplicates_in_one_side_are_counted_once():
    side = _side("a@x.io", "A@X.IO", " a@x.io")
    assert len(side.entries) == 1 and side.duplicates == 2


def test_mirror_local_truth_keeps_what_the_person_did():
    local = _side("a@x.io")
    remote = Side.collect(
        [normalise("a@x.io", "api"), normalise("link@x.io", "lead"), normalise("old@x.io", "api"),
         normalise("bounce@x.io", "bounced"), normalise("ui@x.io", "user")]
    )  # fmt: skip
    plan = plan_sync(local, remote, mode="mirror", truth="local")
    assert {e.value for e in plan.remove_remote} == {"old@x.io", "ui@x.io"}
    assert (
        {e.value for e in plan.kept_protected}
        == {"link@x.io", "bounce@x.io"}
        == {e.value for e in plan.to_local}
    )


def test_mirror_lemlist_truth_removes_local_only_and_pushes_nothing():
    plan = plan_sync(_side("a@x.io", "b@x.io"), _side("a@x.io", "c@x.io"), mode="mirror", truth="lemlist")
    assert not plan.to_remote and [e.value for e in plan.remove_local] == ["b@x.io"]
    assert [e.value for e in plan.to_local] == ["c@x.io"]


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError):
        plan_sync(Side(), Side(), mode="sync_everything")


@pytest.mark.parametrize(
    ("unicode", "ascii_form"),
    [("User@Exämple.DE", "user@xn--exmple-cua.de"), ("@Bücher.example", "@XN--BCHER-KVA.example"),
     ("jörg@straße.de", "JÖRG@xn--strae-oqa.de"), ("x@пример.рф", "x@xn--e1afmkfd.xn--p1ai")],
)  # fmt: skip
def test_unicode_and_idna_spellings_are_one_entry(unicode, ascii_form):
    entry, other = normalise(unicode), normalise(ascii_form)
    assert isinstance(entry, Entry) and isinstance(other, Entry)
    assert entry.value == unicode.lower()  # pushed as the list spells it
    assert entry.key == other.key and entry.kind == other.kind
    side = _side(unicode, ascii_form)
    assert len(side.entries) == 1 and side.duplicates == 1


def _mirror(local: list[str], remote: list[str], truth: str = "local"):
    return plan_sync(_side(*local), _side(*remote, source="api"), mode="mirror", truth=truth)


@pytest.mark.parametrize(
    ("local", "remote", "truth", "guard"),
    [
        ([], [f"r{i}@x.io" for i in range(30)], "local", "empty_truth"),
        (["bad@"] * 2 + [f"r{i}@x.io" for i in range(1, 99)], [f"r{i}@x.io" for i in range(100)], "local",
         "invalid_share"),
        ([f"r{i}@x.io" for i in range(94)], [f"r{i}@x.io" for i in range(100)], "local", "removal_share"),
        ([f"r{i}@x.io" for i in range(30)], [], "lemlist", "empty_truth"),
        ([f"r{i}@x.io" for i in range(100)], [f"r{i}@x.io" for i in range(90)], "lemlist", "removal_share"),
    ],
)  # fmt: skip
def test_removal_guards_refuse_in_order(local, remote, truth, guard):
    refusal = check_removals(_mirror(local, remote, truth), RemovalLimits(), "csv:list.csv")
    assert refusal is not None and refusal.guard == guard
    assert f"refused by the {guard} guard" in refusal.message and "Nothing was changed" in refusal.message


def test_removal_guards_pass_within_the_limits_and_the_cap_counts_too():
    plan = _mirror([f"r{i}@x.io" for i in range(95)], [f"r{i}@x.io" for i in range(100)])  # 5 of 100: 5 %
    assert check_removals(plan, RemovalLimits(), "csv:list.csv") is None
    capped = check_removals(plan, RemovalLimits(max_removals=4), "csv:list.csv")
    assert capped is not None and capped.guard == "removal_cap"
    add_only = plan_sync(_side(), _side("r@x.io"))
    assert check_removals(add_only, RemovalLimits(), "csv:list.csv") is None  # nothing to remove

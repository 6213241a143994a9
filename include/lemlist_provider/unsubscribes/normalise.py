"""Normalising suppression entries the way lemlist compares them.

Emails and ``@domain`` entries are trimmed, put in Unicode NFC and lower-cased; an internationalised domain
may be written in Unicode (``@exämple.de``) or in its IDNA form (``@xn--exmple-cua.de``). LinkedIn URLs and
phones are carried as they are (trimmed only). Every entry also has a comparison ``key``: for emails and
domains the one form of :mod:`lemlist_provider.emails` (so the two spellings of a domain are one entry and
match each other on both sides), for the rest the lower-cased text, because lemlist itself lower-cases every
stored value: two spellings that lemlist would store once must never make the sync push twice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from lemlist_provider.emails import domain_key, suppression_key

#: the local part of an address: ASCII atext or any Unicode letter or digit (internationalised mailboxes)
LOCAL_RE = re.compile(r"^[\w.!#$%&'*+/=?^`{|}~-]+$")
#: a host name in its ASCII (IDNA) form; a top-level domain may itself be an A-label (``xn--p1ai``)
HOST_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
ADDRESS_KINDS = ("email", "domain")
LINKEDIN_RE = re.compile(
    r"^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/(?:in|company|pub)/[^\s/?#]+/?$", re.I
)
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]{4,}[0-9]$")


@dataclass(frozen=True)
class Entry:
    """One valid suppression value. ``key`` is what both sides are compared on."""

    value: str
    kind: str
    source: str = ""
    created_at: str = ""
    raw: str = field(default="", compare=False)  # as the side stored it, to remove exactly that row
    key: str = field(default="", compare=False, init=False)

    def __post_init__(self) -> None:
        key = suppression_key(self.value) if self.kind in ADDRESS_KINDS else None
        object.__setattr__(self, "key", key or self.value.lower())


@dataclass(frozen=True)
class Invalid:
    """An entry that is reported, never pushed: the raw text and why it was refused."""

    raw: str
    reason: str
    source: str = ""


def normalise(raw: object, source: str = "", created_at: str = "") -> Entry | Invalid:
    """Classify and clean one raw value: an ``Entry`` or an ``Invalid`` with a reason a person can act on."""
    if not isinstance(raw, str):
        return Invalid(repr(raw), "not a text value", source)
    text = unicodedata.normalize("NFC", raw).strip().strip('"').strip()
    if not text:
        return Invalid(raw, "empty value", source)
    lowered = text.lower()
    if lowered.startswith("mailto:"):
        text = text[7:]
        lowered = lowered[7:]
    if "linkedin.com/" in lowered:
        if LINKEDIN_RE.match(text):
            return Entry(text, "linkedinUrl", source, created_at, raw)
        return Invalid(raw, "not a LinkedIn profile or company URL", source)
    if lowered.startswith("@"):
        if _is_host(lowered[1:]):
            return Entry(lowered, "domain", source, created_at, raw)
        return Invalid(raw, "not a valid @domain (write a domain as @acme.com)", source)
    if "@" in lowered:
        local, _, host = lowered.rpartition("@")
        if LOCAL_RE.match(local) and ".." not in local and _is_host(host):
            return Entry(lowered, "email", source, created_at, raw)
        return Invalid(raw, "not a valid email address", source)
    digits = sum(ch.isdigit() for ch in text)
    if PHONE_RE.match(text) and 6 <= digits <= 16:
        return Entry(text, "phone", source, created_at, raw)
    if "." in lowered and " " not in lowered:
        return Invalid(
            raw, "looks like a bare domain: write it as @domain to suppress the whole domain", source
        )
    return Invalid(raw, "not an email, @domain, LinkedIn URL or phone", source)


def _is_host(host: str) -> bool:
    """A domain name, in Unicode or in IDNA spelling."""
    ascii_host = None if host.endswith(".") else domain_key(host)
    return ascii_host is not None and bool(HOST_RE.match(ascii_host))

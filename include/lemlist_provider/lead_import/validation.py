"""Email normalisation and checks: syntax (email-validator), in-file duplicates, lemlist's unsubscribe list."""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email

from lemlist_provider.emails import domain_of, email_key, suppression_key


def normalise_email(value: str | None) -> tuple[str | None, str | None]:
    """``(email, None)`` trimmed and lower-cased when the syntax is valid, else ``(None, reason)``.

    Syntax only (``check_deliverability=False``): a DNS lookup per row would be slow and flaky, and
    lemlist's own ``verifyEmail`` enrichment is the tool for deliverability.
    """
    text = (value or "").strip()
    if not text:
        return None, "missing email"
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"invalid email: {exc}"
    return result.normalized.lower(), None


class SeenEmails:
    """Remembers emails already taken from the file, in about 24 bytes per row.

    An open-addressing table in two flat arrays (64-bit BLAKE2 digest of the email → first row number)
    instead of a dict of strings: a 100,000-row file costs ~3 MB here. Digest collisions (odds ~1e-9 for
    100,000 emails) would only mark a row as a duplicate; the report would show which row it matched.
    """

    def __init__(self, capacity: int = 1024) -> None:
        size = 1 << max(capacity - 1, 1).bit_length()
        self._keys = array("Q", bytes(8 * size))
        self._rows = array("I", bytes(4 * size))
        self._mask = size - 1
        self._count = 0

    @staticmethod
    def _key(email: str) -> int:
        """The digest of the email's comparison form: two spellings of one address are one person."""
        canonical = email_key(email) or email
        key = int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest(), "big")
        return key or 1  # 0 marks an empty slot

    def __len__(self) -> int:
        return self._count

    def first_row(self, email: str, row: int) -> int | None:
        """The row that already had this email, or ``None`` (and remember ``row`` as its first)."""
        key = self._key(email)
        keys, mask = self._keys, self._mask
        slot = key & mask
        while True:
            found = keys[slot]
            if found == 0:
                break
            if found == key:
                return self._rows[slot]
            slot = (slot + 1) & mask
        keys[slot] = key
        self._rows[slot] = row
        self._count += 1
        if self._count * 2 > len(keys):
            self._grow()
        return None

    def _grow(self) -> None:
        old_keys, old_rows = self._keys, self._rows
        size = len(old_keys) * 2
        self._keys = array("Q", bytes(8 * size))
        self._rows = array("I", bytes(4 * size))
        self._mask = size - 1
        for key, row in zip(old_keys, old_rows, strict=True):
            if key:
                slot = key & self._mask
                while self._keys[slot]:
                    slot = (slot + 1) & self._mask
                self._keys[slot] = key
                self._rows[slot] = row


class Unsubscribes:
    """lemlist's unsubscribe list: exact emails and whole ``@domain`` entries, held and matched in their
    comparison form (:mod:`lemlist_provider.emails`: case, Unicode and IDNA spellings are one)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self.emails: set[str] = set()
        self.domains: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        key = suppression_key(value)
        if key is None:
            return
        if key.startswith("@"):
            self.domains.add(key[1:])
        else:
            self.emails.add(key)

    def __len__(self) -> int:
        return len(self.emails) + len(self.domains)

    def match(self, email: str) -> str | None:
        """Why ``email`` must be skipped (the matching entry), or ``None``."""
        key = email_key(email)
        if key is None:
            return None
        if key in self.emails:
            return f"unsubscribed: {email} is on the team's unsubscribe list"
        domain = domain_of(key)
        if domain in self.domains:
            return f"unsubscribed: domain @{domain} is on the team's unsubscribe list"
        return None

    @classmethod
    def from_entries(cls, entries: Iterable[dict | str]) -> Unsubscribes:
        """Build from ``GET /unsubscribes`` items (``value`` or ``email``) or plain strings."""
        found = cls()
        for entry in entries:
            if isinstance(entry, str):
                found.add(entry)
            elif isinstance(entry, dict):
                found.add(entry.get("value") or entry.get("email"))
        return found

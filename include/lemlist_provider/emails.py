"""The one comparison form of an email address or an ``@domain``: how every pipeline matches people.

A CRM, a trigger form, lemlist and the email validator spell the same address in different ways:
``Ada@EXÄMPLE.de``, ``ada@exämple.de`` (what ``email-validator`` hands back) and ``ada@xn--exmple-cua.de``
(the IDNA form lemlist or a mail server may store) are one mailbox. Compared as typed, an address on the
unsubscribe list in one spelling would not stop the same person in another, and the person would be
emailed after asking not to be. So the lead import, the enrichment and the unsubscribe sync compare people
only through :func:`email_key` / :func:`suppression_key`:

- the whole text in Unicode NFC, trimmed;
- the local part lower-cased (lemlist lower-cases every stored value);
- the domain lower-cased and written in its IDNA ASCII form (UTS 46 mapping, as ``email-validator`` and
  browsers do), without a trailing dot.

The key is for comparing only: what is sent to lemlist stays the spelling the user gave (normalised by the
validator), because that is what lemlist stores and shows.
"""

from __future__ import annotations

import unicodedata

import idna


def domain_key(domain: str) -> str | None:
    """``domain`` in its comparison form (ASCII, lower case), or ``None`` when it is not a domain name."""
    text = unicodedata.normalize("NFC", domain.strip()).rstrip(".").lower()
    if not text:
        return None
    if text.isascii():  # already ASCII (an A-label stays one): lower case is the whole mapping
        return text
    try:
        return idna.encode(text, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError):
        return None


def email_key(value: str | None) -> str | None:
    """``local@domain`` in its comparison form, or ``None`` when ``value`` has no usable ``@domain``."""
    text = unicodedata.normalize("NFC", value or "").strip()
    local, at, domain = text.rpartition("@")
    if not at or not local.strip():
        return None
    ascii_domain = domain_key(domain)
    return f"{local.lower()}@{ascii_domain}" if ascii_domain else None


def suppression_key(value: str | None) -> str | None:
    """The comparison form of an unsubscribe entry that names people by address: an email or ``@domain``.

    ``None`` for anything else (a LinkedIn URL, a phone): those are compared by their own text.
    """
    text = unicodedata.normalize("NFC", value or "").strip()
    if text.startswith("@"):
        ascii_domain = domain_key(text[1:])
        return f"@{ascii_domain}" if ascii_domain else None
    return email_key(text)


def domain_of(key: str) -> str:
    """The domain part of an :func:`email_key`."""
    return key.rpartition("@")[2]

"""Header mapping: file columns onto lemlist's lead fields; every other column becomes a custom variable."""

from __future__ import annotations

import re

#: lemlist's own lead fields (``POST /campaigns/{id}/leads/`` body), in their canonical spelling.
LEAD_FIELDS: tuple[str, ...] = (
    "email",
    "firstName",
    "lastName",
    "companyName",
    "companyDomain",
    "jobTitle",
    "linkedinUrl",
    "picture",
    "phone",
    "icebreaker",
    "timezone",
    "contactOwner",
)

_ALIASES: dict[str, str] = {
    "emailaddress": "email",
    "mail": "email",
    "company": "companyName",
    "domain": "companyDomain",
    "title": "jobTitle",
    "linkedin": "linkedinUrl",
    "linkedinprofile": "linkedinUrl",
    "phonenumber": "phone",
}
_CANONICAL = {name.lower(): name for name in LEAD_FIELDS} | _ALIASES
_NOISE = re.compile(r"[\s_\-.]+")


def canonical_field(header: str) -> str | None:
    """The lemlist field a header means, or ``None`` for a custom variable.

    Case, spaces, ``_``, ``-`` and ``.`` are ignored, so ``First Name``, ``first_name`` and ``FIRSTNAME``
    all mean ``firstName``; ``E-mail`` means ``email``.
    """
    key = _NOISE.sub("", header.strip().lower())
    return _CANONICAL.get(key)


class HeaderMap:
    """Maps one file's headers once, then turns each raw row into a lemlist lead body.

    Two columns that mean the same thing (``email`` and ``Email ``, or one custom variable twice) cannot both
    be sent: ``duplicates`` names them, by column number, and the readers refuse such a header.
    """

    def __init__(self, headers: list[str]) -> None:
        self.headers = [h.strip() if isinstance(h, str) else h for h in headers]
        self.mapping: dict[str, str] = {}
        columns: dict[str, list[int]] = {}
        for number, header in enumerate(self.headers, start=1):
            if not header:
                continue
            # Custom variables keep the column's name as written (trimmed): that is the {{name}} users write.
            name = canonical_field(header) or header
            self.mapping.setdefault(header, name)
            columns.setdefault(name, []).append(number)
        self.duplicates = {name: numbers for name, numbers in columns.items() if len(numbers) > 1}
        self.has_email = "email" in columns

    def duplicates_message(self) -> str:
        """What is wrong with a header that has duplicates: column numbers and our own field names only."""
        return "; ".join(
            f"columns {', '.join(map(str, numbers))} all mean "
            + (f"the lead field {name}" if name in LEAD_FIELDS else "the same custom variable")
            for name, numbers in self.duplicates.items()
        )

    def lead(self, raw: dict) -> dict[str, str]:
        """The lead body for one row: known fields and custom variables, empty values dropped."""
        body: dict[str, str] = {}
        for header, value in raw.items():
            if header is None or value is None:
                continue
            name = self.mapping.get(header.strip()) if isinstance(header, str) else None
            if name is None:
                name = canonical_field(header) or header.strip()
            text = value if isinstance(value, str) else str(value)
            text = text.strip()
            if text and name not in body:
                body[name] = text
        return body

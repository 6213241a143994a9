"""The admin's allow-lists applied to what a trigger form names: lemlist connections, SQL connections, tables.

A Param that names a connection or a table is free text in the trigger form, and whoever may trigger a DAG
is not whoever may choose which credentials it uses or which database tables it creates, fills or empties.
So each such value must be on a list an admin configured in ``[lemlist]`` (see
:mod:`lemlist_provider.settings`): ``lemlist_conn_ids``, ``sql_conn_ids``, ``sql_tables``. Anything else
fails the task at once and without retries (a retry would ask for the same value) with a message naming the
Param, the value and the allowed list. Table and column names are also checked as plain SQL identifiers,
since they are the parts of a statement that cannot be bound parameters.

Operators call these before they build a hook or send anything; code that writes to a SQL connection of its
own (the warehouse, an event DAG) calls :func:`sql_connection` and :func:`sql_table` the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from lemlist_provider import settings

#: a table or column name, optionally ``schema.name``: letters, digits and ``_``, not starting with a digit
SQL_NAME = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?\Z")
SHOWN_CHARS = 120


class NotAllowedError(AirflowFailException):
    """A connection or table the admin's allow-list does not hold, or a name that is not an identifier."""


def _shown(value: Any) -> str:
    """The value as the message quotes it: ``repr`` (control characters escaped), cut to a readable length."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 5] + "...'"


def _check(param: str, value: Any, key: str, what: str, allowed: Callable[[str], bool]) -> str:
    listed = getattr(settings, key)()
    text = value.strip() if isinstance(value, str) else ""
    if text and allowed(text):
        return text
    raise NotAllowedError(
        f"{param}={_shown(value)} is not an allowed {what}; allowed: {', '.join(listed) or 'none'} (an admin "
        f"sets them in [{settings.SECTION}] {key}, env AIRFLOW__{settings.SECTION.upper()}__{key.upper()})"
    )


def lemlist_connection(param: str, value: Any) -> str:
    """``value`` if it is one of ``[lemlist] lemlist_conn_ids``; else :class:`NotAllowedError`."""
    return _check(param, value, "lemlist_conn_ids", "lemlist connection",
                  lambda text: text in settings.lemlist_conn_ids())  # fmt: skip


def sql_connection(param: str, value: Any) -> str:
    """``value`` if it is one of ``[lemlist] sql_conn_ids``; else :class:`NotAllowedError`."""
    return _check(
        param, value, "sql_conn_ids", "SQL connection", lambda text: text in settings.sql_conn_ids()
    )


def sql_identifier(param: str, value: Any) -> str:
    """``value`` if it is a plain SQL name (``name`` or ``schema.name``); else :class:`NotAllowedError`."""
    text = value.strip() if isinstance(value, str) else ""
    if SQL_NAME.match(text):
        return text
    raise NotAllowedError(
        f"{param}={_shown(value)} is not a valid SQL name: use letters, digits and _ (not first), at most 63, "
        "optionally schema.name"
    )


def sql_table(param: str, value: Any) -> str:
    """``value`` if it is a plain SQL name matching one of ``[lemlist] sql_tables`` (``*`` patterns, case
    ignored as unquoted SQL names are); else :class:`NotAllowedError`."""
    name = sql_identifier(param, value).lower()
    return _check(param, value, "sql_tables", "table",
                  lambda _: any(fnmatchcase(name, pattern.lower()) for pattern in settings.sql_tables()))  # fmt: skip


def examples(key: str) -> list[str]:
    """The listed values that are not patterns: proposals for a trigger form field (``examples``)."""
    return [value for value in getattr(settings, key)() if "*" not in value]

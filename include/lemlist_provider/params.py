"""The kinds of trigger-form field the lemlist DAGs share, each described once.

Every Param gets a title and a description (the form shows both); optional fields accept ``null`` so an
empty form field means "use the default", which the operators resolve at run time.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param


def flag(title: str, description: str, default: bool = False) -> Param:
    return Param(default, type="boolean", title=title, description=description)


def text(
    title: str, description: str, default: str | None = None, *, nullable: bool | None = None, **schema: Any
) -> Param:
    """A string field; ``null`` (left empty) is allowed when there is no default, or when ``nullable``."""
    kind = ["null", "string"] if (default is None if nullable is None else nullable) else "string"
    return Param(default, type=kind, title=title, description=description, **schema)


def choice(default: str, options: list[str], title: str, description: str) -> Param:
    return Param(default, type="string", enum=options, title=title, description=description)


def seconds(default: float, title: str, description: str) -> Param:
    """A delay; values under the admin's floor (``[lemlist] min_poll_seconds``) are raised to it at run time."""
    return Param(default, type="number", minimum=0, title=title, description=description)

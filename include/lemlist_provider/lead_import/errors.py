"""Errors of the lead import that end a task with a message a user can act on."""

from __future__ import annotations


class LeadFileError(ValueError):
    """The source file cannot be used at all (missing, not UTF-8, no email column, empty).

    The message always names the file and the problem, because it is what the user reads in the task log.
    A bad *row* never raises this: it goes to the report as ``invalid``.
    """


class OutputLocationError(ValueError):
    """Neither the source's folder nor ``output_uri`` can take the report and the staging files."""

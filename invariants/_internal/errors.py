"""The suite's user-facing errors: what the CLI reports as bad usage (exit 2) rather than as a bug.

Anything else that escapes a command is an internal error (exit 3, with its traceback): a defect of the
suite, never the user's input.
"""

from __future__ import annotations


class UsageError(ValueError):
    """Bad input from the user (a flag, an ID, a file); the message names it and what is allowed."""


class UnknownClaim(UsageError, KeyError):
    """A claim ID that is not registered; the message lists the nearest known IDs."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StageError(Exception):
    """A stage of a workflow could not run (a subprocess that stopped early), as opposed to a claim that
    failed; ``exit_code`` is what the CLI exits with (2 when the stage's own failure was a usage error)."""

    def __init__(self, message: str, exit_code: int = 3) -> None:
        super().__init__(message)
        self.exit_code = exit_code

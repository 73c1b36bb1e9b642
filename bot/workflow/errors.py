"""What can go wrong when someone asks the procedure to move, in words a user can read."""

from __future__ import annotations


class WorkflowError(Exception):
    """Base: the action was refused and nothing changed."""


class NotAllowed(WorkflowError):
    """The actor does not hold the role this step needs."""


class WrongState(WorkflowError):
    """The case is not (or no longer) where this step applies — e.g. a stale button."""


class NotFound(WorkflowError):
    pass


class InvalidInput(WorkflowError):
    """Field-level problems, keyed by the input's block id, for inline modal errors."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))

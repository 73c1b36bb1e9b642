"""The procedure (PROCEDURE.md) as code: states, steps, who may take them, deadlines.

Knows nothing of Slack: handlers, the scheduler, the CLI and tests drive the same `Desk`.
"""

from bot.workflow.errors import InvalidInput, NotAllowed, NotFound, WorkflowError, WrongState
from bot.workflow.intake import IntakeForm, validate_intake
from bot.workflow.procedure import Desk
from bot.workflow.roles import SYSTEM, Actor, Role

__all__ = [
    "SYSTEM",
    "Actor",
    "Desk",
    "IntakeForm",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
    "Role",
    "WorkflowError",
    "WrongState",
    "validate_intake",
]

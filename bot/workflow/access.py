"""Who may read a case: one rule for `/complaint show`, `list`, the Home tab and every
export (a report or register made for a person asks `can_read` for each case).

A case holds a customer's contact, the defect, the findings and the timeline: by default
it is readable by the procedure's three roles (Marketing, Technical Quality, Management),
the members of its responsible units and its reporter. References are sequential, so
anyone could guess one; a refusal therefore says the same whether or not the case exists.
`CASE_VISIBILITY=workspace` opens every case to everyone in the workspace."""

from __future__ import annotations

from collections.abc import Iterable

from bot.i18n import N_, _
from bot.models import Case
from bot.workflow.roles import Actor, Role

ROLES = "roles"
WORKSPACE = "workspace"
VISIBILITIES = (ROLES, WORKSPACE)
# how many of the newest open cases a list for someone without a role looks through
READABLE_SCAN = 500

# the one answer for "no such case" and "not yours": they must not be told apart
REFUSAL = N_(
    "There is no case {ref} that you can see. Cases are visible to Marketing, Technical "
    "Quality, Management, the case's responsible units and its reporter."
)


def can_read(actor: Actor, case: Case, visibility: str = ROLES) -> bool:
    """Whether `actor` may read `case` (everything in it: fields, timeline, reports)."""
    if visibility == WORKSPACE:
        return True
    return (
        any(actor.has(role) for role in Role)
        or actor.user_id == case.reporter_id
        or actor.in_unit(list(case.units or []))
    )


def sees_every_case(actor: Actor, visibility: str = ROLES) -> bool:
    """Whether `can_read` holds for `actor` on any case, whatever the case (a list can then
    be read from the database without looking at each case)."""
    return visibility == WORKSPACE or any(actor.has(role) for role in Role)


def readable(
    actor: Actor, cases: Iterable[Case], visibility: str = ROLES, limit: int | None = None
) -> list[Case]:
    """The cases of `cases` that `actor` may read, in order, at most `limit`."""
    out = [c for c in cases if can_read(actor, c, visibility)]
    return out if limit is None else out[:limit]


def refusal(ref: str) -> str:
    return _(REFUSAL, ref=ref.strip()[:30])

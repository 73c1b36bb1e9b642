"""A to-do for each person (issue 12, point 1): what is waiting for them, by role, by
unit or as a named owner; what awaits their approval; what is overdue; what they
reported.

"Your open cases" used to mean the cases you reported, so Technical Quality's Home said
"none" while two cases waited on it. Here the question is the procedure's: whose is the
next step? The owners of each state (`NEXT_OWNER`) and the corrective action's named
owner answer it; bot/workflow/access.py still decides what a person may read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import defer

from bot.models import DEADLINE_COLUMNS, LONG_COLUMNS, Case, Status
from bot.workflow import steps as st
from bot.workflow.access import can_read
from bot.workflow.clocks import RunningClock, action_owners, running_clocks, targets_for
from bot.workflow.roles import Actor, Role

# how many of the newest open cases a to-do looks through
SCAN = 2000
BATCH = 200  # of them read at a time
ROLE_OF = {"quality": Role.QUALITY, "marketing": Role.MARKETING, "management": Role.MANAGEMENT}
SEVERITIES = ("A", "B", "C")
_NEVER = datetime.max.replace(tzinfo=UTC)
T = TypeVar("T")


def holds(actor: Actor, target: str) -> bool:
    """Whether `actor` is behind a target ("role:quality", "unit:production", "user:U1")."""
    kind, _, ident = target.partition(":")
    if kind == "user":
        return ident == actor.user_id
    if kind == "unit":
        return actor.in_unit([ident])
    if kind == "role":
        role = ROLE_OF.get(ident)
        return role is not None and actor.has(role)
    return False


@dataclass
class Item:
    """One line of a to-do: the case, the clock the person owes (if any), and the step
    they can take now (the button)."""

    case: Case
    clock: RunningClock | None
    steps: list[Any] = field(default_factory=list)
    action_owner: bool = False  # waiting for them as the corrective action's owner

    def sort_key(self) -> tuple[Any, ...]:
        due = self.clock.due_at if self.clock else None
        return (due is None, due or _NEVER, -self.case.id)


@dataclass
class Lists(Generic[T]):
    """A person's four lists, of whole lines (`Todo`) or of entries to sort and count."""

    waiting: list[T] = field(default_factory=list)
    approval: list[T] = field(default_factory=list)
    overdue: list[T] = field(default_factory=list)
    reported: list[T] = field(default_factory=list)


Todo = Lists[Item]


def owes(actor: Actor, case: Case) -> bool:
    """Whether the next step of the case is the actor's, by role, unit or name."""
    return any(holds(actor, t) for t in targets_for(Status(case.status), case))


def their_steps(actor: Actor, case: Case) -> list[Any]:
    """The steps the actor may take on the case now, the main one first."""
    return [s for s in st.available_steps(case) if s.who(actor, case)]  # main one first


def owed_clock(actor: Actor, case: Case, *, mine: bool) -> RunningClock | None:
    """The clock a line shows: the earliest the person owes (`mine`), else the earliest;
    at a tie, the clock of the step the case waits for now."""
    clocks = running_clocks(case)
    if mine:  # a corrective action's clock is owed by its own owner only
        clocks = [
            c
            for c in clocks
            if not c.name.startswith("action") or any(holds(actor, t) for t in c.owners)
        ]
    return min(clocks, key=lambda c: (c.due_at, c.name != case.clock_name), default=None)


def item(actor: Actor, case: Case, now: datetime, *, mine: bool) -> Item:
    return Item(
        case=case,
        clock=owed_clock(actor, case, mine=mine),
        steps=their_steps(actor, case),
        action_owner=actor.user_id in action_owners(case),
    )


# what a to-do never shows or needs: left in the database (reading one raises), so that a
# Home over thousands of open cases does not decode their texts and JSON (issue 10, 7(e))
_NOT_NEEDED = (*LONG_COLUMNS, Case.lots)


def _open_query(limit: int) -> Any:
    return (
        select(Case)
        .options(*(defer(c, raiseload=True) for c in _NOT_NEEDED))
        .where(Case.is_open.is_(True))
        .order_by(Case.id.desc())
        .limit(limit)
    )


def open_cases(session: Any, limit: int = SCAN) -> list[Case]:
    return list(session.scalars(_open_query(limit)))


def cases_by_id(session: Any, ids: list[int]) -> list[Case]:
    """The cases of `ids`, in that order (those still open or not), read as a to-do reads
    them."""
    q = select(Case).options(*(defer(c, raiseload=True) for c in _NOT_NEEDED))
    found = {c.id: c for c in session.scalars(q.where(Case.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


# what sorting a case into the lists reads (sort_case, owed_clock and what they call): the
# Home reads these columns as plain rows, without building a mapped case for each
_SORTING = (
    Case.id,
    Case.status,
    Case.is_open,
    Case.step,
    Case.reporter_id,
    Case.units,
    *DEADLINE_COLUMNS,
    Case.clock_since,
    Case.action_items,
    Case.action_owner,
)


@dataclass(frozen=True)
class Entry:
    """A line of a to-do before it is shown: enough to sort and count it. The Home shows a
    page of each list, so only those lines need their case, clock and buttons."""

    case_id: int
    due: datetime | None
    mine: bool

    def sort_key(self) -> tuple[Any, ...]:
        return (self.due is None, self.due or _NEVER, -self.case_id)


Entries = Lists[Entry]


def entries_for(session: Any, actor: Actor, now: datetime, visibility: str) -> Entries:
    """The person's lists as entries, sorted, from the newest open cases, which are read a
    batch at a time, as rows of the columns sorting needs, and let go: a Home at 10,000
    open cases held 2,000 mapped cases at once, and the process kept some 10 MB of it
    (issue 10, 7(e)). The same lists as `todo_for`."""
    out = Entries()
    q = (
        select(*_SORTING)
        .where(Case.is_open.is_(True))
        .order_by(Case.id.desc())
        .limit(SCAN)
        .execution_options(yield_per=BATCH)
    )
    for case in session.execute(q):  # rows, not mapped cases: the same attributes
        for name, mine in sort_case(actor, case, now, visibility):
            clock = owed_clock(actor, case, mine=mine)
            due = clock.due_at if clock is not None else None
            getattr(out, name).append(Entry(case.id, due, mine))
    for entries in (out.waiting, out.approval, out.overdue, out.reported):
        entries.sort(key=Entry.sort_key)
    return out


def sort_case(actor: Actor, case: Case, now: datetime, visibility: str) -> list[tuple[str, bool]]:
    """The lists the case is in for the person, each with whether the line is theirs to do:
    at most one of waiting, approval and overdue (the first that applies), and "reported"
    if they reported it."""
    status = Status(case.status)
    if not status.is_open:
        return []
    out: list[tuple[str, bool]] = []
    if status is Status.APPROVAL and actor.has(Role.MANAGEMENT):
        out.append(("approval", True))
    elif owes(actor, case) or actor.user_id in action_owners(case):
        out.append(("waiting", True))
    elif any(c.overdue(now) for c in running_clocks(case)) and can_read(actor, case, visibility):
        out.append(("overdue", False))
    if case.reporter_id == actor.user_id:
        out.append(("reported", False))
    return out


def todo_for(actor: Actor, cases: list[Case], now: datetime, visibility: str) -> Todo:
    """Sort the open cases into the person's lists; a case is in at most one of waiting,
    approval and overdue (the first that applies), and also in "reported" if theirs."""
    out = Todo()
    for case in cases:
        for name, mine in sort_case(actor, case, now, visibility):
            getattr(out, name).append(item(actor, case, now, mine=mine))
    for items in (out.waiting, out.approval, out.overdue, out.reported):
        items.sort(key=Item.sort_key)
    return out


def filtered(
    actor: Actor, cases: list[Case], now: datetime, visibility: str, query: str
) -> tuple[str, list[Item]]:
    """`/complaint list [all|overdue|A|B|C|<customer>]`: the open cases the person may
    read, filtered; returns (which filter, items). Empty: what is waiting for them."""
    q = query.strip()
    if not q:
        todo = todo_for(actor, cases, now, visibility)
        return "waiting", sorted(todo.approval + todo.waiting, key=Item.sort_key)
    readable = [c for c in cases if can_read(actor, c, visibility)]
    if q.lower() == "all":
        kind, chosen = "all", readable
    elif q.lower() == "overdue":
        kind = "overdue"
        chosen = [c for c in readable if any(k.overdue(now) for k in running_clocks(c))]
    elif q.upper() in SEVERITIES:
        kind, chosen = "severity", [c for c in readable if (c.severity or "") == q.upper()]
    else:
        needle = q.casefold()
        kind, chosen = "customer", [c for c in readable if needle in (c.customer or "").casefold()]
    items = [item(actor, c, now, mine=owes(actor, c)) for c in chosen]
    return kind, sorted(items, key=Item.sort_key)

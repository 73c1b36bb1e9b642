"""Criterion B's lots (issue 12, point 3(a)): three *consecutive, distinct* lots produced
after the countermeasure, without the same problem (PROCEDURE.md, Closure B).

Counting every "ok" lot check let the same lot recorded three times close a case. A lot
counts once, only in the current loop (a lot with the same problem sends the case back,
and the count starts again after the new countermeasure), and never when it is one of
the lots the customer complained about: those were made before the countermeasure.
"""

from __future__ import annotations

import re

from bot.models import Case

_SPLIT = re.compile(r"[\s,;，；、/]+")


def lot_key(lot: str) -> str:
    """Lot numbers compared as people write them: case and surrounding blanks aside."""
    return lot.strip().casefold()


def complained_lots(case: Case) -> set[str]:
    return {lot_key(x) for x in _SPLIT.split(case.lots or "") if x.strip()}


def why_not_counted(case: Case, lot: str) -> str | None:
    """Why a clean check of `lot` would not count now: "complained", "repeated" or None.
    Call it before the check is added to the case."""
    key = lot_key(lot)
    if key in complained_lots(case):
        return "complained"
    seen = {lot_key(c.lot) for c in case.lot_checks if c.loop == case.rework_count}
    return "repeated" if key in seen else None


def clean_lots(case: Case) -> int:
    """Distinct clean lots checked in the current loop, the complained ones aside."""
    complained = complained_lots(case)
    seen: set[str] = set()
    for check in case.lot_checks:
        if check.loop != case.rework_count or check.result != "ok":
            continue
        key = lot_key(check.lot)
        if key not in complained:
            seen.add(key)
    return len(seen)

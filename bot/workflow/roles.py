"""Roles of the procedure and the person acting."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Role(enum.StrEnum):
    MARKETING = "marketing"
    QUALITY = "quality"
    MANAGEMENT = "management"


@dataclass(frozen=True)
class Actor:
    """Who is acting and with which roles. `units` are the responsible units they belong
    to. `everyone` is set when no roles are configured at all (a trial install)."""

    user_id: str
    roles: frozenset[Role] = frozenset()
    units: frozenset[str] = frozenset()
    everyone: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def has(self, role: Role) -> bool:
        return self.everyone or role in self.roles

    def in_unit(self, units: list[str] | tuple[str, ...]) -> bool:
        return self.everyone or bool(self.units.intersection(units))


SYSTEM = Actor("system", frozenset(Role), everyone=True)

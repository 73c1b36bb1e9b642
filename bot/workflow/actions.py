"""Each corrective action has its own owner and planned date (issue 12, point 3(j)).

A corrective-action report used to carry one owner and one date for all its actions, so
only one person was ever reminded. The form keeps its first action (`actions`, `owner`,
`planned`) and offers EXTRA_ACTIONS more rows (`action_2`, `owner_2`, `planned_2`, …);
the report records them all as `action_items`, and each gets its own clock
(bot/workflow/clocks.py): its owner is nudged, Technical Quality told when it passes.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.workflow.text import clean_text

EXTRA_ACTIONS = 2  # rows on the form beyond the first action


def action_items(
    data: dict[str, Any], today: date, errors: dict[str, str], first: dict[str, Any]
) -> list[dict[str, Any]]:
    """The report's actions: the first (already checked) and each further row filled in.
    A further row needs all three: what, who and by when (not in the past)."""
    items = [{"n": 1, **first}]
    for n in range(2, 2 + EXTRA_ACTIONS):
        text = clean_text(data.get(f"action_{n}") or "").strip()
        owner = clean_text(data.get(f"owner_{n}") or "").strip()
        raw = clean_text(data.get(f"planned_{n}") or "").strip()
        if not (text or owner or raw):
            continue
        if not text:
            errors[f"action_{n}"] = "Say what this action is, or clear its owner and date."
        elif len(text) > 3000:
            errors[f"action_{n}"] = "Please keep this under 3000 characters."
        if not owner:
            errors[f"owner_{n}"] = "Who owns this action?"
        planned = None
        try:
            planned = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[f"planned_{n}"] = "That is not a date."
        if raw and planned is None and f"planned_{n}" not in errors:
            errors[f"planned_{n}"] = "That is not a date."
        if not raw:
            errors[f"planned_{n}"] = "Give the planned completion date."
        elif planned is not None and planned < today:
            errors[f"planned_{n}"] = "The planned date cannot be in the past."
        items.append(
            {
                "n": n,
                "text": text,
                "owner": owner[:32],
                "planned": planned.isoformat() if planned else None,
            }
        )
    return items


def items_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A report's actions, also for reports written before `action_items` existed."""
    items = report.get("action_items")
    if isinstance(items, list) and items:
        return [i for i in items if isinstance(i, dict)]
    return [
        {
            "n": 1,
            "text": report.get("actions") or "",
            "owner": report.get("owner") or "",
            "planned": report.get("planned"),
        }
    ]

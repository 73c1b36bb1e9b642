"""The complaint taxonomy (issue 14): categories from COMPLAINT_CATEGORIES, chosen by
Technical Quality when it confirms the information. Codes are stored; names are shown in
the reader's language, so renaming a category never rewrites history."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, _, current_locale
from bot.workflow.errors import InvalidInput
from bot.workflow.text import clean_text

UNCATEGORISED = N_("Not categorised")


def category_names(categories: tuple[tuple[str, str, str], ...]) -> dict[str, str]:
    """{code: name in the current language}, in the configured order."""
    zh = current_locale() == "zh-CN"
    return {code: (z if zh else en) for code, en, z in categories}


def category_name(categories: tuple[tuple[str, str, str], ...], code: str | None) -> str:
    """The name of `code`; a code no longer configured is shown as itself."""
    if not code:
        return _(UNCATEGORISED)
    return category_names(categories).get(code, code)


def check_category(data: dict[str, Any], categories: tuple[tuple[str, str, str], ...]) -> str:
    """The chosen category's code, or InvalidInput on the form's `category` field."""
    code = clean_text(data.get("category") or "").strip()
    if code not in {c for c, _en, _zh in categories}:
        raise InvalidInput({"category": _("Choose the complaint category.")})
    return code

"""The message catalog: every string the code shows has its Chinese, with the same
placeholders, and nothing in the catalog is left over; dates read naturally per language.

The msgids are found the way `pybabel extract` finds them (babel.cfg): Babel's Python
extractor over bot/ and blocks/, keywords `_`, `N_` and `ngettext`."""

from __future__ import annotations

import ast
import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import (
    _,
    current_locale,
    fmt_date,
    fmt_datetime,
    fmt_number,
    in_locale,
    ngettext,
    normalise,
    use_locale,
)

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "bot" / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
SOURCES = ("bot", "blocks")


def _extracted() -> dict[str, tuple[str, ...]]:
    """msgid -> (msgid, plural?) for every marked string, with where it was found."""
    out: dict[str, tuple[str, ...]] = {}
    for top in SOURCES:
        for _fn, _line, msg, _c, _ctx in extract_from_dir(
            ROOT / top, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            ids = msg if isinstance(msg, tuple) else (msg,)
            if ids and ids[0]:
                out.setdefault(ids[0], tuple(ids))
    return out


def _catalog() -> dict[str, object]:
    with PO.open("rb") as fh:
        cat = read_po(fh, locale="zh_CN")
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in cat if m.id}


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_extraction_finds_the_strings() -> None:
    found = _extracted()
    # a few from different corners, so an extractor that silently finds nothing fails
    assert "Complaint digest — {day}" in found
    assert "Invalid settings:" in found
    assert found["{n} working day past the deadline and still open."][1].startswith("{n}")
    assert len(found) > 200


def test_every_string_has_its_chinese_with_the_same_placeholders() -> None:
    found, cat = _extracted(), _catalog()
    missing = [m for m in found if m not in cat]
    assert not missing, f"no zh-CN entry for {len(missing)} msgids, e.g. {missing[:5]}"
    problems = []
    for msgid, ids in found.items():
        entry = cat[msgid]
        strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
        if not all(s and s.strip() for s in strings) or entry.fuzzy:
            problems.append(f"empty or fuzzy: {msgid!r}")
            continue
        want = _fields(ids[-1]) | _fields(ids[0])
        for s in strings:
            if _fields(s) != want:
                problems.append(f"placeholders {sorted(_fields(s))} != {sorted(want)}: {msgid!r}")
    assert not problems, "\n".join(problems)


def test_no_stale_or_duplicate_entries() -> None:
    found = _extracted()
    stale = [m for m in _catalog() if m not in found]
    assert not stale, f"entries no code uses any more: {stale[:10]}"
    # a msgid written twice (two branches adding the same string) is one entry too many
    text = PO.read_text(encoding="utf-8")
    ids = re.findall(r'^msgid "(.*)"\n((?:".*"\n)*)', text, flags=re.M)
    joined = [a + "".join(re.findall(r'"(.*)"', b)) for a, b in ids]
    dupes = sorted({m for m in joined if joined.count(m) > 1})
    assert not dupes, f"msgids written twice in messages.po: {dupes[:10]}"


def test_no_fstring_or_concatenation_inside_the_markers() -> None:
    """`_(f"...")` or `_("a" + x)` would look up a msgid no catalog holds."""
    bad = []
    for top in SOURCES:
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in KEYWORDS
                    and node.args
                    and isinstance(node.args[0], ast.JoinedStr | ast.BinOp)
                ):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad


def test_lookup_renders_both_languages_and_plurals() -> None:
    assert _("Open cases") == "Open cases" and current_locale() == "en"
    with use_locale("zh-CN"):
        assert _("Open cases") == "未结案件"
        assert _("Which case? `{example}`", example="/x") == "哪个案件？`/x`"
        one = ngettext(
            "{n} working day past the deadline and still open.",
            "{n} working days past the deadline and still open.",
            2,
        )
        assert one == "已超过期限 2 个工作日，仍未完成。"
    assert in_locale("zh-CN", "Complaint register") == "客诉台账"
    assert (
        ngettext(
            "{n} working day past the deadline and still open.",
            "{n} working days past the deadline and still open.",
            1,
        )
        == "1 working day past the deadline and still open."
    )
    with use_locale("fr"):  # anything else is English
        assert _("Open cases") == "Open cases"


@pytest.mark.parametrize(
    ("tag", "ours"),
    [
        ("zh-CN", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("zh-TW", None),
        ("ja-JP", None),
        ("", None),
        (None, None),
    ],
)
def test_slack_locales_map_to_ours(tag: str | None, ours: str | None) -> None:
    assert normalise(tag) == ours


def test_dates_read_naturally_in_each_language() -> None:
    from blocks.text import when

    at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai, a Sunday
    assert when(at) == fmt_datetime(at) == "Sun 6 Dec 17:30"
    assert fmt_date(date(2026, 12, 6)) == "Sun 6 Dec"
    assert fmt_number(12345.5, digits=1) == "12,345.5"
    with use_locale("zh-CN"):
        assert when(at) == "12月6日 周日 17:30"
        assert fmt_date(date(2026, 12, 6)) == "12月6日 周日"
        assert fmt_date(date(2026, 12, 6), long=True) == "2026年12月6日"
    assert when(None) == "—"


def test_a_date_kept_once_formatted_follows_the_language_and_the_zone() -> None:
    """Formatted dates are kept (bot/i18n.py): the same time must still read in the
    language and the time zone in force when it is asked for, not in the first ones."""
    from bot.i18n import configure

    at = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    assert fmt_datetime(at) == "Sun 6 Dec 17:30"
    with use_locale("zh-CN"):
        assert fmt_datetime(at) == "12月6日 周日 17:30"
    assert fmt_datetime(at) == "Sun 6 Dec 17:30"
    try:
        configure("Europe/Berlin")
        assert fmt_datetime(at) == "Sun 6 Dec 10:30"
        assert fmt_datetime(at.replace(tzinfo=None)) == "Sun 6 Dec 10:30"  # naive is UTC
    finally:
        configure("Asia/Shanghai")
    assert fmt_datetime(at) == "Sun 6 Dec 17:30"

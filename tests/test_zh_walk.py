"""The desk in 中文 (issue 11, languages): LANGUAGE=zh-CN, people whose Slack language is
zh-CN, Chinese user data everywhere, a full walk from `/complaint new` to 结案 through
signed HTTP against the fake Slack. And a mixed team: each person reads their own
surfaces in their own language while the channel follows LANGUAGE.

What a surface shows is read the way Slack shows it: every plain_text/mrkdwn text of its
blocks, titles, buttons, options, confirm dialogs and the notification text; never ids,
values or URLs."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from blocks.stats import chart_spec
from blocks.text import (
    BUTTON_TEXT,
    HEADER_TEXT,
    MESSAGE_BLOCKS,
    MODAL_TITLE,
    OPTION_TEXT,
    SECTION_TEXT,
    VIEW_BLOCKS,
)
from bot.doctor import run_checks
from bot.i18n import in_locale, use_locale
from bot.sandbox.fakeslack import FakeSlack
from bot.workflow.reminders import deadline_label, run_tick
from bot.workflow.stats import month_of
from bot.workflow.taxonomy import category_names
from tests.conftest import (
    COMPLAINTS,
    DEV,
    MANAGEMENT,
    MGR,
    MGR2,
    MKT,
    MKT2,
    OUTSIDER,
    PROD,
    TQ,
    TQ2,
    Clock,
    Running,
    make_settings,
    run_bot,
)
from tests.procedure import case_now, ephemerals, take, walk_to_approval
from tests.test_first_start import free_port
from tests.test_intake import open_form
from tests.test_paths import open_home

UNITS = "生产部=U0PROD1;研发部=U0DEV1;采购部=;仓库="
PEOPLE = (MKT, MKT2, TQ, TQ2, MGR, MGR2, PROD, DEV, OUTSIDER)
INTAKE = {
    "customer": "苏州精密电子有限公司",
    "contact": "李伟，021-5555-0101",
    "product": "控制板 PCB-7731 C版",
    "lots": "L0211、L0212",
    "quantity": "1,200",
    "via": "email",
    "description": "来料检验发现 U3 第4-5脚连锡。",
    "deadline": None,
    "urgent": [],
    "notes": "客户要求三天内回复",
}
CA = {
    "category": "machine",
    "why": "连锡\n钢网磨损\n没有钢网寿命管理",
    "disposition": "sort",
    "actions": "更换钢网；全检 L0211-L0212",
    "owner": PROD,
    "planned": "2026-03-20",
}
PA = {
    "m_machine": "钢网寿命计数，满两万次强制停机",
    "m_method": "控制计划增加 U3 区域锡膏检测",
    "documents": ["control_plan", "work_instruction"],
}
# a run of three or more English words: an untranslated sentence. User data here is
# Chinese; refs (CC-2026-0001), lots (L0211), ids, commands in `code` and emoji names are
# not words of a sentence and are taken out first.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ ,/]+[A-Za-z][A-Za-z'’]+){2,}")
NOT_WORDS = re.compile(r"`[^`]*`|<[^>]*>|:[a-z0-9_+-]+:|https?://\S+")


# a single English word is a label left untranslated ("Function", "Overdue"), unless it
# is one of these abbreviations (documents, formats; or user data of the walk: PCB, SMT)
# or a filter typed in a command (`customer:`, `status:open|closed`)
ABBREVIATIONS = {"CC", "PCB", "SMT", "PDF", "XLSX", "CSV", "JSON", "FMEA", "WI", "Slack"}
TYPED_FILTER = re.compile(r"\b[a-z]+:[a-z|]*")


def stray_words(texts: list[str]) -> list[str]:
    """English words shown in a Chinese surface, with the text they are in."""
    out = []
    for t in texts:
        bare = TYPED_FILTER.sub(" ", NOT_WORDS.sub(" ", t))
        out += [f"{w!r} in {t[:100]!r}" for w in re.findall(r"[A-Za-z]{2,}", bare)]
    return sorted({w for w in out if w.split("'")[1] not in ABBREVIATIONS})


def _texts(node: Any) -> Iterator[str]:
    """The text a person sees in a block tree (or a view, or a message)."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node["text"]
        for key, value in node.items():
            if key in ("action_id", "block_id", "value", "url", "private_metadata", "ts"):
                continue
            yield from _texts(value)
    elif isinstance(node, list):
        for v in node:
            yield from _texts(v)


def shown(body: str) -> str:
    """What an acknowledgement shows: its text, or its blocks' texts."""
    try:
        msg = json.loads(body)
    except ValueError:
        return body
    return "\n".join([str(msg.get("text") or ""), *_texts(msg.get("blocks") or [])])


def english(text: str) -> list[str]:
    return ENGLISH_RUN.findall(NOT_WORDS.sub(" ", text))


def limits(surface: dict[str, Any], *, view: bool) -> list[str]:
    """Block Kit's limits, as Slack enforces them."""
    bad = []
    blocks = surface.get("blocks") or []
    if len(blocks) > (VIEW_BLOCKS if view else MESSAGE_BLOCKS):
        bad.append(f"{len(blocks)} blocks")
    if view and len((surface.get("title") or {}).get("text", "")) > MODAL_TITLE:
        bad.append(f"title {surface['title']['text']!r}")
    for key in ("submit", "close"):
        if view and len((surface.get(key) or {}).get("text", "")) > BUTTON_TEXT:
            bad.append(f"{key} {surface[key]['text']!r}")

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            text = (node.get("text") or {}) if isinstance(node.get("text"), dict) else {}
            if kind == "button" and len(text.get("text", "")) > BUTTON_TEXT:
                bad.append(f"button {text['text']!r}")
            if kind == "header" and len(text.get("text", "")) > HEADER_TEXT:
                bad.append(f"header {text['text']!r}")
            if kind == "section" and len(text.get("text", "")) > SECTION_TEXT:
                bad.append("section over 3000")
            for opt in node.get("options") or []:
                if len(opt.get("text", {}).get("text", "")) > OPTION_TEXT:
                    bad.append(f"option {opt['text']['text']!r}")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(blocks)
    return bad


def _files(value: Any) -> list[dict[str, Any]]:
    """files.completeUploadExternal's `files`, sent as JSON text or as a list."""
    if isinstance(value, str):
        value = json.loads(value)
    return [f for f in value or [] if isinstance(f, dict)]


class Seen:
    """Every surface the walk produced, by kind, read off the fake Slack's calls."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake

    def surfaces(self) -> Iterator[tuple[str, dict[str, Any], bool]]:
        for call in self.fake.calls:
            a = call.args
            if call.method in ("views.open", "views.push", "views.update", "views.publish"):
                yield f"modal ({call.method})", a.get("view") or {}, True
            elif call.method in ("chat.postMessage", "chat.update"):
                ch = str(a.get("channel", ""))
                kind = (
                    "thread post"
                    if a.get("thread_ts")
                    else "card"
                    if ch == COMPLAINTS
                    else "alert"
                    if ch == MANAGEMENT
                    else "DM"
                )
                blocks = a.get("blocks")
                if isinstance(blocks, str):
                    blocks = json.loads(blocks)
                yield kind, {"blocks": blocks or [], "text": a.get("text", "")}, False
            elif call.method == "chat.postEphemeral":
                yield "ephemeral", {"blocks": a.get("blocks") or [], "text": a.get("text")}, False
            elif call.method == "files.completeUploadExternal":
                titles = [str(f.get("title") or "") for f in _files(a.get("files"))]
                text = "\n".join([str(a.get("initial_comment") or ""), *titles])
                yield "file", {"blocks": [], "text": text}, False

    def english(self, kinds: tuple[str, ...]) -> list[str]:
        found = []
        for kind, surface, _view in self.surfaces():
            if not kind.startswith(kinds):
                continue
            texts = list(_texts(surface)) + [str(surface.get("text") or "")]
            for t in texts:
                for run in english(t):
                    found.append(f"{kind}: {run!r} in {t[:120]!r}")
        return sorted(set(found))

    def over_limits(self) -> list[str]:
        return [
            f"{kind}: {problem}"
            for kind, surface, view in self.surfaces()
            for problem in limits(surface, view=view)
        ]


@pytest.fixture
def zh(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[Running]:
    """LANGUAGE=zh-CN, Chinese unit names, and everyone's Slack language is zh-CN."""
    for uid in PEOPLE:
        slack.set_user(uid, locale="zh-CN")
    settings = make_settings(database_url, slack.url, LANGUAGE="zh-CN", RESPONSIBLE_UNITS=UNITS)
    yield from _serve(settings, clock, slack)
    _english_again(slack)


@pytest.fixture
def en(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[Running]:
    """LANGUAGE=en, everyone's Slack in English; the same Chinese unit names and data."""
    _english_again(slack)
    settings = make_settings(database_url, slack.url, LANGUAGE="en", RESPONSIBLE_UNITS=UNITS)
    yield from _serve(settings, clock, slack)


@pytest.fixture
def mixed(database_url: str, slack: FakeSlack, clock: Clock) -> Iterator[Running]:
    """LANGUAGE=zh-CN for the channel; Marketing and a manager read Chinese, Technical
    Quality and the other manager English."""
    for uid in (MKT, MGR):
        slack.set_user(uid, locale="zh-CN")
    for uid in (TQ, MGR2):
        slack.set_user(uid, locale="en-US")
    settings = make_settings(database_url, slack.url, LANGUAGE="zh-CN")
    yield from _serve(settings, clock, slack)
    _english_again(slack)


def _english_again(slack: FakeSlack) -> None:
    """The fake Slack is shared by the session and keeps its users: the other tests
    expect people in Slack's default language."""
    for uid in PEOPLE:
        slack.set_user(uid, locale="en-US")


_serve = run_bot  # the shared fixture body (tests/conftest.py)


def _file(r: Running) -> Any:
    """`/complaint new`, the form filled in Chinese and submitted by Marketing."""
    view = open_form(r, MKT)
    reply = r.client.submit(MKT, view, INTAKE)
    assert reply.status == 200 and not reply.body, reply.body
    r.settle()
    return r.desk.find_case("CC-2026-0001")


def _to_closure(r: Running, case_id: int) -> Any:
    """From a filed complaint to 结案 on criterion B, every form filled in Chinese."""
    walk_to_approval(
        r,
        case_id,
        unit="生产部",
        member=PROD,
        reason="本公司 SMT 线体问题",
        containment="冻结 L0211-L0212 全部库存",
        corrective=CA,
        preventive=PA,
    )
    take(r, MGR, case_id, "approve_report")
    take(r, TQ, case_id, "send_to_customer", {"method": "email"})
    take(r, MKT, case_id, "record_customer_acceptance", {"accepted": "yes", "note": "客户接受"})
    for n in range(3):
        lot = {"lot": f"L03{n}", "quantity": "500", "result": "ok", "notes": "无异常"}
        take(r, TQ, case_id, "record_lot_check", lot)
    take(r, TQ, case_id, "close_case", {"criterion": "B"})
    case = case_now(r, case_id)
    assert case.status == "closed" and case.closure == "B"
    return case


def _walk_to_closure(r: Running) -> Any:
    """From `/complaint new` to 结案 on criterion B, every form filled in Chinese."""
    return _to_closure(r, _file(r).id)


def _tick(r: Running, moment: datetime) -> None:
    """The scheduler's tick at `moment` (Shanghai time), then everything it queued sent."""
    r.clock.now = moment
    run_tick(r.desk, moment, worker="test")
    r.settle()


def _sh(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 3, d, h, mi, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def test_zh_walk_to_closure_keeps_chinese_data_and_block_kit_limits(zh: Running) -> None:
    """The walk in zh-CN reaches 结案; Chinese user data (customer, product, lots, unit
    生产部, every text field) is kept and shown on the card and in the exports; dates on
    the card are Chinese; every surface stays within Block Kit's limits."""
    r = zh
    case = _walk_to_closure(r)
    assert case.customer == INTAKE["customer"] and case.units == ["生产部"]
    assert case.product == INTAKE["product"] and case.lots == INTAKE["lots"]
    seen = Seen(r.fake)
    assert not seen.over_limits(), seen.over_limits()

    card = r.fake.messages[(COMPLAINTS, case.card_ts)]
    shown = "\n".join(_texts(card.get("blocks", [])))
    for value in (INTAKE["customer"], INTAKE["product"], INTAKE["lots"], "生产部"):
        assert value in shown, value
    # dates on the card read the Chinese way ("3月4日 周三 17:30"), never "Wed 4 Mar"
    assert re.search(r"\d{1,2}月\d{1,2}日 周[一二三四五六日] \d\d:\d\d", shown), shown
    assert not re.search(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}\b", shown)

    # /complaint replies in Chinese: help, list, and the register by DM
    reply = r.client.command(TQ, "help")
    assert "客户抱怨" in reply.body and not english(reply.body)
    reply = r.client.command(MGR, "register 2026-03")
    assert "客诉台账" in reply.body, reply.body
    r.settle()
    xlsx, csv_file = r.fake.uploaded("D" + MGR[1:])
    assert "客诉台账" in xlsx["comment"] or "客诉台账" in str(xlsx.get("title"))
    ws = load_workbook(io.BytesIO(xlsx["content"])).active
    head = [c.value for c in ws[1]]
    row = dict(zip(head, [c.value for c in ws[2]], strict=True))
    assert head[0] == "编号" and row["客户"] == INTAKE["customer"]
    assert row["产品"] == INTAKE["product"] and row["责任单位"] == "生产部"
    assert row["状态"] == "已结案" and row["原因 (人、机、料、法、环)"] == "机"
    rows = list(csv.reader(io.StringIO(csv_file["content"].decode("utf-8-sig"))))
    assert rows[1][2] == INTAKE["customer"] and "生产部" in rows[1]


def _long_walk(r: Running) -> tuple[Seen, list[str]]:
    """The walk to 结案 with, on the way, the first step's nudge and its overdue alert, the
    next morning's digest, the Home tab, and the `/complaint` replies (help, list, list
    overdue, show, stats with its charts by DM, a refused show, refused registers).
    Returns the Slack calls seen and the replies as shown."""
    case = _file(r)  # Tue 3 Mar 10:00: confirming the information is due at 17:30
    _tick(r, _sh(3, 15, 30))  # two working hours before: Technical Quality is nudged
    _tick(r, _sh(3, 17, 30))  # due: overdue, alerted to Management
    _tick(r, _sh(4, 8, 45))  # the morning digest
    assert open_home(r, TQ) is not None
    commands = [
        (MKT, "help"),
        (TQ, "list"),
        (TQ, "list overdue"),
        (MGR, "list all"),
        (TQ, f"show {case.ref}"),
        (MGR, "stats 2026-03"),
    ]
    replies = [r.client.command(user, text) for user, text in commands]
    r.settle()
    _to_closure(r, case.id)
    for user, text in (
        (MKT, f"show {case.ref}"),
        (OUTSIDER, "show CC-2026-0002"),
        (MGR, "register 2026-03-05..2026-03-01"),
        (MGR, "register 三月"),
    ):
        replies.append(r.client.command(user, text))
    assert all(reply.status == 200 for reply in replies)
    seen = Seen(r.fake)
    kinds = {kind.split(" (")[0] for kind, _s, _v in seen.surfaces()}
    # the walk did reach every kind of surface it checks
    assert {"card", "thread post", "modal", "DM", "alert", "file"} <= kinds, kinds
    return seen, [shown(reply.body) for reply in replies]


ISO_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")
EN_DATE = re.compile(
    r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r"\b( \d\d:\d\d)?"
)
ZH_DATE = re.compile(r"\d{1,2}月\d{1,2}日 周[一二三四五六日]( \d\d:\d\d)?")


def _dates(texts: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(ISO dates, English dates, Chinese dates) shown, commands in `code` left out."""
    iso, en, zh = [], [], []
    for t in texts:
        t = NOT_WORDS.sub(" ", t)
        iso += [f"{m.group(0)} in {t[:100]!r}" for m in ISO_DATE.finditer(t)]
        en += [m.group(0) for m in EN_DATE.finditer(t)]
        zh += [m.group(0) for m in ZH_DATE.finditer(t)]
    return iso, en, zh


def _all_texts(seen: Seen, replies: list[str]) -> list[str]:
    return [
        t
        for _kind, surface, _v in seen.surfaces()
        for t in [*_texts(surface), str(surface.get("text") or "")]
    ] + replies


def test_zh_walk_shows_no_english_sentence(zh: Running) -> None:
    """No card, thread post, modal, Home tab, DM, alert, file comment or ephemeral reply
    of the zh-CN walk shows a run of three English words, nor a date the English or the
    ISO way: dates read `3月3日 周二 17:30`, periods `2026年3月`."""
    r = zh
    seen, replies = _long_walk(r)
    channel = [c.args for c in r.fake.calls_to("chat.postMessage")]
    digest = [a for a in channel if "客户抱怨日报" in str(a.get("text"))]
    assert digest and "已逾期" in json.dumps(digest[0]["blocks"], ensure_ascii=False), channel
    assert any("已逾期" in str(a) and a["channel"] == MANAGEMENT for a in channel)
    nudges = [a for a in channel if a.get("thread_ts") and "提醒" in str(a.get("text"))]
    assert nudges and any(a["channel"] == TQ for a in channel), "no nudge, or no nudge DM"
    found = seen.english(("card", "thread post", "modal", "DM", "alert", "ephemeral", "file"))
    for text in replies:
        found += [f"reply: {run!r} in {text[:120]!r}" for run in english(text)]
    assert not found, "\n".join(found[:40])

    assert not stray_words(_all_texts(seen, replies)), stray_words(_all_texts(seen, replies))
    # the charts sent by DM are PNGs: what they are drawn with, in LANGUAGE
    with use_locale("zh-CN"):
        figures = r.desk.kpis(month_of(date(2026, 3, 1)), r.desk.now())
        spec = chart_spec(figures, category_names(r.desk.settings.categories))
    labels = [spec["title"]] + [
        str(t)
        for p in spec["panels"]
        for t in [p["title"], p.get("ylabel"), p.get("cumulative"), p.get("empty"), *p["labels"]]
        if t
    ]
    assert "机" in labels and not stray_words(labels) and not english(" ".join(labels)), labels
    iso, en, zh_dates = _dates(_all_texts(seen, replies))
    assert not iso and not en, (iso[:10], en[:10])
    assert "3月3日 周二 17:30" in zh_dates and "3月20日 周五" in zh_dates
    assert any("客诉统计 2026年3月" in t for t in replies), replies


def test_zh_other_paths_show_no_english_sentence(zh: Running) -> None:
    """The procedure's other paths in zh-CN: more information asked for and added, the
    customer's responsibility (closed, then reopened), severity A with its alert, stock
    held in three places, a rejected report and its rework, approval from the manager's
    DM, a customer who does not accept, a lot with the same problem, closure on the
    actions shown to work (A), and a refusal to someone not allowed to act. No surface
    shows an English sentence or an English or ISO date."""
    r = zh
    first = _file(r)
    take(r, TQ, first.id, "request_information", {"missing": "缺少不良品照片"})
    take(r, MKT, first.id, "provide_information", {"info": "客户已补充照片"})
    take(r, TQ, first.id, "confirm_information")
    decision = {"party": "customer", "reason": "照片显示为客户治具压伤"}
    take(r, TQ, first.id, "decide_responsibility", decision)
    take(r, TQ2, first.id, "confirm_customer_informed")  # only Marketing may: refused
    informed = {"told": "已向客户说明为客户治具压伤，附照片", "reaction": "accepted"}
    take(r, MKT, first.id, "confirm_customer_informed", informed, expect_modal=True)
    assert case_now(r, first.id).closure == "not_ours"

    view = open_form(r, MKT)
    assert r.client.submit(MKT, view, {**INTAKE, "urgent": ["urgent"]}).status == 200
    r.settle()
    case = r.desk.find_case("CC-2026-0002")
    # the same customer and product: the card says it may be CC-2026-0001's problem again
    card = "\n".join(_texts(r.fake.messages[(COMPLAINTS, case.card_ts)]["blocks"]))
    assert "CC-2026-0001" in card and "2026年3月3日" in card, card
    take(r, TQ, first.id, "reopen_case", {"reason": "客户再次投诉同一问题"})
    take(r, TQ, case.id, "confirm_information")
    decision = {"party": "ours", "units": ["生产部"], "reason": "本公司 SMT 线体问题"}
    take(r, TQ, case.id, "decide_responsibility", decision)
    take(r, TQ, case.id, "classify_severity", {"severity": "A", "note": "功能丧失"})
    stock = {
        "warehouse_qty": "800",
        "warehouse_disposition": "sort",
        "transit_qty": "200",
        "transit_disposition": "return",
        "customer_qty": "1200",
        "customer_disposition": "sort",
        "actions": "冻结全部库存",
    }
    take(r, PROD, case.id, "record_containment", stock)
    take(r, PROD, case.id, "submit_corrective_action", CA)
    take(r, PROD, case.id, "submit_preventive_action", PA)
    take(r, MGR, case.id, "reject_report", {"reason": "原因分析不够深入"})
    take(r, PROD, case.id, "submit_corrective_action", {**CA, "why": CA["why"] + "\n没有点检"})
    take(r, PROD, case.id, "submit_preventive_action", PA)
    c = case_now(r, case.id)
    reply = r.client.click(MGR2, "step:approve_report", f"{c.id}:{c.step}", channel="D0MGR2")
    assert reply.status == 200
    r.settle()
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "no", "note": "客户不接受"})
    take(r, PROD, case.id, "submit_corrective_action", CA)
    take(r, PROD, case.id, "submit_preventive_action", PA)
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes", "note": "客户接受"})
    lot = {"lot": "L0400", "quantity": "100", "result": "same_problem", "notes": "再次连锡"}
    take(r, TQ, case.id, "record_lot_check", lot)
    take(r, PROD, case.id, "submit_corrective_action", CA)
    take(r, PROD, case.id, "submit_preventive_action", PA)
    take(r, MGR, case.id, "approve_report")
    take(r, TQ, case.id, "send_to_customer", {"method": "email"})
    take(r, MKT, case.id, "record_customer_acceptance", {"accepted": "yes", "note": "客户接受"})
    close = {"criterion": "A", "evidence": "客户端验证有效", "no_negative_impact": ["yes"]}
    take(r, TQ, case.id, "close_case", close)
    c = case_now(r, case.id)
    assert c.status == "closed" and c.closure == "A" and c.rework_count >= 3
    assert any("市场部" in t for t in ephemerals(r, TQ2)), ephemerals(r, TQ2)
    seen = Seen(r.fake)
    found = seen.english(("card", "thread post", "modal", "DM", "alert", "ephemeral", "file"))
    assert not found, "\n".join(found[:40])
    assert not seen.over_limits(), seen.over_limits()
    assert not stray_words(_all_texts(seen, [])), stray_words(_all_texts(seen, []))
    iso, en_dates, _zh = _dates(_all_texts(seen, []))
    assert not iso and not en_dates, (iso[:10], en_dates[:10])


def test_en_walk_dates_read_the_english_way(en: Running) -> None:
    """The same walk with LANGUAGE=en and everyone's Slack in English: every date reads
    `Tue 3 Mar 17:30`, periods `March 2026`; never Chinese, never ISO."""
    seen, replies = _long_walk(en)
    iso, en_dates, zh_dates = _dates(_all_texts(seen, replies))
    assert not iso and not zh_dates, (iso[:10], zh_dates[:10])
    assert "Tue 3 Mar 17:30" in en_dates and "Fri 20 Mar" in en_dates
    assert any("Complaint figures March 2026" in t for t in replies), replies


def test_each_person_reads_their_own_language_the_channel_reads_language(
    mixed: Running,
) -> None:
    """LANGUAGE=zh-CN: the card's dates are Chinese whoever acts; `/complaint` replies and
    direct messages follow each person's Slack language (zh-CN or en)."""
    r = mixed
    view = open_form(r, MKT)
    assert r.client.submit(MKT, view, INTAKE).status == 200
    r.settle()
    case = r.desk.find_case("CC-2026-0001")
    card = "\n".join(_texts(r.fake.messages[(COMPLAINTS, case.card_ts)]["blocks"]))
    # received Tue 3 Mar 10:00 Shanghai: the card says it in LANGUAGE
    assert "3月3日 周二 10:00" in card and "Tue 3 Mar" not in card

    zh_help = r.client.command(MKT, "help").body
    en_help = r.client.command(TQ, "help").body
    assert "登记新的客户抱怨" in zh_help and not english(zh_help)
    assert "record a new customer complaint" in en_help and "客户" not in en_help

    # the same case shown to each: dates in the reader's language
    zh_show = shown(r.client.command(MKT, f"show {case.ref}").body)
    en_show = shown(r.client.command(TQ, f"show {case.ref}").body)
    assert "3月3日 周二 10:00" in zh_show and "Tue 3 Mar 10:00" in en_show

    # direct messages: the register's comment in each manager's own language
    assert "客诉台账" in r.client.command(MGR, "register 2026-03").body
    assert "complaint register" in r.client.command(MGR2, "register 2026-03").body
    r.settle()
    zh_file = r.fake.uploaded("D" + MGR[1:])[0]
    en_file = r.fake.uploaded("D" + MGR2[1:])[0]
    assert zh_file["comment"].startswith("客诉台账") and "complaint register" in en_file["comment"]


def test_the_form_opens_in_the_persons_language(mixed: Running) -> None:
    zh_view = open_form(r := mixed, MKT)
    en_view = open_form(r, TQ)
    zh_text = [t for t in _texts(zh_view) if t.strip()]
    en_text = [t for t in _texts(en_view) if t.strip()]
    assert not [run for t in zh_text for run in english(t)], zh_text
    assert any(english(t) for t in en_text) or "Customer" in en_text, en_text
    assert not limits(zh_view, view=True) and not limits(en_view, view=True)


def test_the_english_detector_sees_sentences_not_refs_or_commands() -> None:
    assert english("*Next:* Technical Quality decides responsibility") != []
    assert english("Approve the report?") == ["Approve the report"]
    clean = "`/complaint show CC-2026-0001` :alarm_clock: <@U0TQ1> <https://x/y|CC-2026-0001>"
    assert english(clean + " L0211 批号 PDF 和 XLSX") == []
    assert limits({"title": {"text": "客" * 25}, "blocks": []}, view=True) != []
    button = {"type": "button", "text": {"type": "plain_text", "text": "x" * 76}}
    assert limits({"blocks": [{"type": "actions", "elements": [button]}]}, view=False)


def test_reply_deadline_labels_are_in_the_catalog() -> None:
    """An overdue alert names the reply it waits for (both, when they fall due together):
    each name is a msgid with its Chinese."""
    for names, zh_label in (
        (["ca"], "矫正措施回复"),
        (["pa"], "预防措施回复"),
        (["ca", "pa"], "矫正措施和预防措施回复"),
        ([], "回复"),
    ):
        label = deadline_label(names)
        assert in_locale("zh-CN", label) == zh_label, (names, label)


def test_doctor_speaks_chinese(database_url: str, slack: FakeSlack) -> None:
    """`complaint-bot doctor` with LANGUAGE=zh-CN: every check's name, finding and fix in
    Chinese — Slack unreachable (connection refused, TLS, DNS), the token refused, and a
    healthy deployment. Setting names and Slack's own words (`invalid_auth`) stay as is."""
    closed = f"http://127.0.0.1:{free_port()}/api/"
    tls = slack.url.replace("http://", "https://")
    dns = "http://complaint-desk-test.invalid/api/"
    lines = []
    with use_locale("zh-CN"):
        for url in (closed, tls, dns, slack.url):
            checks = run_checks(make_settings(database_url, url, LANGUAGE="zh-CN"))
            lines += [f"{c.name}: {c.detail} {c.fix or ''}" for c in checks]
        slack.error_next("auth.test", "invalid_auth")
        checks = run_checks(make_settings(database_url, slack.url, LANGUAGE="zh-CN"))
        lines += [f"{c.name}: {c.detail} {c.fix or ''}" for c in checks]
    assert any("DNS" in line and "无法解析" in line for line in lines), lines
    assert any("invalid_auth" in line for line in lines), lines
    # not ours to translate: the system's own error text, and Slack's English screens
    elsewhere = re.compile(
        r"\[(Errno|SSL)[^\]]*\][^（）()]*(\([^)]*\))?|Bot User OAuth Token|OAuth & Permissions"
    )
    found = [
        f"{run!r} in {line[:160]!r}" for line in lines for run in english(elsewhere.sub(" ", line))
    ]
    assert not found, "\n".join(found)

"""The surfaces this branch renders itself, in both languages: reminders and the digest
(within Block Kit's limits however much Chinese they carry), nudges by DM in each
recipient's own language while the thread follows LANGUAGE, and the settings' problems in
the LANGUAGE they ask for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from blocks import reminders as rb
from bot.config import SettingsError, load_settings
from bot.handlers.commands import help_text, register_help
from bot.i18n import use_locale
from bot.sandbox.fakeslack import FakeSlack, validate_blocks
from bot.slack.delivery import Delivery
from bot.slack.directory import Directory
from bot.slack.gateway import Gateway
from bot.slack.outbox import OutboxSender
from tests.test_reminders import make_world, sh
from tests.test_zh_walk import _texts, english

LONG = "苏州精密电子有限公司（华东区汽车电子事业部第二工厂）" * 12


def _vm() -> dict[str, Any]:
    return {
        "id": 1,
        "ref": "CC-2025-0001",
        "customer": LONG,
        "product": "控制板",
        "lots": "L0211",
        "quantity": 10,
        "status_label": "矫正措施",
        "severity": "A",
        "severity_text": "严重",
        "next_text": "责任单位提交矫正措施报告",
        "is_open": True,
        "step": 5,
    }


def _shown(msg: dict[str, Any]) -> str:
    return "\n".join([msg.get("text", ""), *_texts(msg["blocks"])])


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_reminders_and_digest_fit_block_kit_in_both_languages(locale: str) -> None:
    info = {"deadlines": ["ca", "pa"], "point": "2h", "due_at": sh(10, 9, 17, 30).isoformat()}
    now = sh(10, 9, 15, 30)
    items = [
        {
            "id": i,
            "ref": f"CC-2025-{i:04d}",
            "customer": LONG,
            "severity": "A",
            "status": "Corrective action",
            "deadline": "ca",
            "due_at": info["due_at"],
        }
        for i in range(500)
    ]
    with use_locale(locale):
        msgs = [
            rb.nudge_thread(_vm(), info, ["unit:生产部", "user:U0TQ"], now),
            rb.overdue_thread(_vm(), info, ["unit:生产部"], sh(10, 9, 18)),
            rb.nudge_dm(_vm(), info, "https://x.slack.com/archives/C1/p1", now),
            rb.digest(
                {
                    "date": "2025-10-09",
                    "overdue": items,
                    "overdue_total": 500,
                    "due_today": items[:3],
                    "due_today_total": 3,
                }
            ),
            rb.digest({"date": "2025-10-09"}),
        ]
    for msg in msgs:
        assert validate_blocks(msg["blocks"], surface="message") == [], msg
        assert len(msg["text"]) <= 3000
    shown = [_shown(m) for m in msgs]
    if locale == "zh-CN":
        assert all(not english(s) for s in shown), [english(s) for s in shown]
        assert "提醒" in shown[0] and "还剩 2 个工作小时" in shown[0]
        assert "10月9日 周四 17:30" in shown[1] and "已逾期" in shown[1]
        assert "客户抱怨日报 — 10月9日 周四" in shown[3] and "还有 460 件" in shown[3]
        assert "没有逾期或今日到期的案件" in shown[4]
    else:
        assert "2 working hours left" in shown[0] and "Thu 9 Oct 17:30" in shown[1]
        assert "Complaint digest — Thu 9 Oct" in shown[3] and "and 460 more" in shown[3]


def test_help_is_in_each_language() -> None:
    assert "/complaint new" in help_text() and "record a new" in help_text()
    with use_locale("zh-CN"):
        zh = help_text() + register_help()
    assert "登记新的客户抱怨" in zh and "/complaint register 2026-03" in zh
    assert not english(zh)


def test_settings_problems_are_said_in_language() -> None:
    env = {"SLACK_BOT_TOKEN": "nope", "COMPLAINTS_CHANNEL": "#complaints", "PORT": "x"}
    with pytest.raises(SettingsError) as en:
        load_settings(env, dotenv=False)
    with pytest.raises(SettingsError) as zh:
        load_settings({**env, "LANGUAGE": "zh-CN"}, dotenv=False)
    assert "must be a bot token starting with xoxb-" in str(en.value)
    assert "SLACK_BOT_TOKEN 必须是以 xoxb- 开头的机器人令牌" in zh.value.problems
    assert str(zh.value).startswith("设置有误：")
    assert any("不是频道 ID" in p and "'#complaints'" in p for p in zh.value.problems)


def test_nudge_dms_follow_each_recipient_the_thread_follows_language(tmp_path: Any) -> None:
    """LANGUAGE=en: the nudge in the case thread is English; of the two people in
    Technical Quality, the one whose Slack is in Chinese gets the DM in Chinese."""
    gen = make_world(
        tmp_path,
        {"QUALITY_USERS": "U0TQ,U0TQ2", "MARKETING_USERS": "U0MKT", "MANAGEMENT_USERS": "U0BOSS"},
    )
    w = next(gen)
    with FakeSlack() as fake:
        fake.set_user("U0TQ", locale="zh-CN")
        fake.set_user("U0TQ2", locale="en-US")
        gateway = Gateway("xoxb-test", fake.url)
        delivery = Delivery(w.desk, gateway, Directory(w.settings, gateway))
        bot = SimpleNamespace(
            desk=w.desk, settings=w.settings, sender=SimpleNamespace(delivery=delivery)
        )
        from bot.scheduler import install_reminders

        install_reminders(bot)
        sender = OutboxSender(
            w.desk.sessions,
            delivery,
            clock=lambda: datetime.now(UTC),
            channel_interval=0,
            base_delay=0.01,
        )
        try:
            case = w.file(sh(9, 30, 10), customer="华东汽车")
            assert sender.drain(10)
            w.tick(sh(10, 9, 15, 30))
            assert sender.drain(10)
        finally:
            sender.stop()
        case = w.desk.get_case(case.id)
        thread = [m["text"] for m in fake.thread("C0COMPLAIN", case.card_ts)]
        assert any(t.startswith("Reminder:") for t in thread), thread

        def dm(user: str) -> str:
            [call] = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == user]
            return json.dumps(call.args.get("blocks"), ensure_ascii=False) + call.args["text"]

        assert "提醒" in dm("U0TQ") and "华东汽车" in dm("U0TQ") and "Reminder" not in dm("U0TQ")
        assert "Reminder" in dm("U0TQ2") and "提醒" not in dm("U0TQ2")
    gen.close()


def test_a_slow_users_info_never_holds_an_ack(tmp_path: Any) -> None:
    """The person's language before an ack: a cold cache waits on users.info at most a
    moment, then answers in LANGUAGE while the call fills the cache for next time; known
    people are answered from the cache without a call, stale ones refreshed behind."""
    import time

    from tests.conftest import make_settings

    with FakeSlack() as fake:
        fake.set_user("U0ZH", locale="zh-CN")
        settings = make_settings(f"sqlite:///{tmp_path}/d.sqlite3", fake.url, LANGUAGE="en")
        directory = Directory(settings, Gateway("xoxb-test", fake.url))
        fake.delay_responses("users.info", 1.5)
        started = time.monotonic()
        assert directory.request_locale("U0ZH", wait=0.2) == "en"  # Slack is slow: LANGUAGE
        assert time.monotonic() - started < 1.0
        deadline = time.monotonic() + 10
        while directory.request_locale("U0ZH", wait=0.2) != "zh-CN":  # the cache filled
            assert time.monotonic() < deadline, "the lookup never filled the cache"
            time.sleep(0.1)
        calls = len(fake.calls_to("users.info"))
        assert calls == 1  # one call, however often it was asked while it ran
        fake.delay_responses("users.info", 0)
        assert directory.request_locale("U0ZH") == "zh-CN"
        assert directory.request_locale(None) == "en"
        assert len(fake.calls_to("users.info")) == calls  # from the cache

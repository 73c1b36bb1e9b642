"""Issue 14, the quality manager's view: every KPI figure against a dataset worked out by
hand (cases across the 2026 New Year holiday and its make-up working day, Sun 4 Jan), the
charts' PNG and the register's figures sheet read back, the monthly report's day, and the
recurrence search at intake with its link.

The dataset (Asia/Shanghai; 1 Jan holiday, 2 Jan substituted day off, 3 Jan Saturday,
Sun 4 Jan a make-up working day; working hours 08:30-17:30):

- C1, Wed 31 Dec 10:00, Acme/P1, appearance, ours B: corrective Sun 4 16:00 (due Sun 4
  17:30, on time), preventive Sun 4 17:00; rejected Mon 5 09:00 (rework: corrective due
  Thu 8, preventive Mon 12); v2 Tue 6 09:00 and 10:00; approved, sent, accepted, closed
  Wed 7 10:00 (7.0 days). Cause: people in v1, machine in v2 (the latest counts).
- C2, Wed 31 Dec 11:00, Acme/P1, appearance, ours A: corrective Mon 5 09:00 (due Sun 4
  17:30, the make-up day: late), preventive Mon 5 10:00 (due Tue 6 17:30: on time);
  linked to C1 Mon 5 11:00; its own report says method, its investigation (C1) machine.
- C3, Fri 2 Jan 10:00 (a day off), Beta/P2, packaging, the customer's: informed Mon 5
  10:00 (closed), reopened Wed 7 10:00 (a recurrence, open again).
- C4, Mon 5 Jan 09:00, Acme/P3, dimension, ours C: corrective Thu 8 11:00 (due Tue 6
  17:30: late), cause material; preventive due Thu 8 17:30 (not yet due).
- C5, Tue 6 Jan 10:00, Gamma/P1, function, undecided: corrective due Wed 7 17:30 missed.
- C6, Wed 31 Dec 09:00, Delta/P4, service, the customer's: informed Wed 31 Dec 15:00
  (closed after 0.25 days).

Figures at Thu 8 Jan 12:00 for 2025-12-29..2026-01-09: 6 complaints; severity none 3,
A 1, B 1, C 1; categories appearance 2, then 1 each; customers Acme 3, Beta 1, Delta 1,
Gamma 1; products P1 3, P2 1, P3 1, P4 1; corrective on time 1 of 4 (C1 yes; C2, C4, C5
late; C3, C6 not ours) = 25 %; preventive on time 2 of 2 (C1, C2; C4 and C5 not yet due);
closed C1 7.0 and C6 0.25 days: median 3.625, 90th percentile 0.25 + 0.9 × 6.75 = 6.325;
open 4 (C2, C3, C4, C5), overdue 1 (C5: C4's corrective is in, its preventive not yet
due; C3's reopened deadlines are in the future); rework loops 1 (C1); recurrences 2 (C2
linked, C3 reopened) = 1/3; causes machine 2 (C1, and C2 through C1), material 1 (C4).
"""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from bot.db import migrate
from bot.models import make_engine, make_session_factory
from bot.records.make import Maker
from bot.workflow import Actor, Desk, IntakeForm, Role, validate_intake
from bot.workflow.records import RegisterQuery
from bot.workflow.stats import Period, pareto, parse_period
from tests.conftest import make_settings
from tests.procedure import INFORMED

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))
SH = ZoneInfo("Asia/Shanghai")
TQ = Actor("U0TQ1", frozenset({Role.QUALITY}))
MKT = Actor("U0MKT1", frozenset({Role.MARKETING}))
MGR = Actor("U0MGR1", frozenset({Role.MANAGEMENT}))
PROD = Actor("U0PROD1", units=frozenset({"production"}))
PERIOD = Period(date(2025, 12, 29), date(2026, 1, 9))


def sh(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    year = 2025 if month == 12 else 2026
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


NOW = sh(1, 8, 12)


def desk_for(database_url: str, **env: str) -> Desk:
    settings = make_settings(database_url, "http://127.0.0.1:9/api/", **env)
    engine = make_engine(settings.database_url)
    migrate(engine)
    return Desk(make_session_factory(engine), settings, clock=lambda: NOW)


def file(desk: Desk, at: datetime, customer: str, product: str, description: str) -> Any:
    form = IntakeForm(
        customer=customer,
        contact="Li",
        product=product,
        lots="L1",
        quantity="10",
        via="email",
        description=description,
    )
    return desk.file_complaint(validate_intake(form, today=date(2025, 12, 1)), MKT, at)


def ca(cause: str) -> dict[str, Any]:
    return {
        "category": cause,
        "why": "why 1\nwhy 2",
        "disposition": "rework",
        "actions": "fix",
        "owner": "U0PROD1",
        "planned": "2026-12-01",
    }


PA = {"m_method": "Update WI-12 with a torque check", "documents": ["work_instruction"]}
OURS = {"party": "ours", "units": ["production"], "reason": "our process"}
THEIRS = {"party": "customer", "reason": "their jig"}


def ours_to_corrective(desk: Desk, case_id: int, at: datetime, category: str, sev: str) -> None:
    desk.take("confirm_information", case_id, TQ, at, {"category": category})
    desk.take("decide_responsibility", case_id, TQ, at, OURS)
    desk.take("classify_severity", case_id, TQ, at, {"severity": sev})
    desk.take("record_containment", case_id, PROD, at, {"actions": "hold stock"})


def dataset(desk: Desk) -> dict[str, Any]:
    """The six cases of the module docstring, taken through the desk at their times."""
    c6 = file(desk, sh(12, 31, 9), "Delta", "P4", "Label printed upside down on the carton")
    desk.take("confirm_information", c6.id, TQ, sh(12, 31, 9, 30), {"category": "service"})
    desk.take("decide_responsibility", c6.id, TQ, sh(12, 31, 10), THEIRS)
    desk.take("confirm_customer_informed", c6.id, MKT, sh(12, 31, 15), INFORMED)

    c1 = file(desk, sh(12, 31, 10), "Acme", "P1", "Solder bridges on U3 pins 4-5")
    c2 = file(desk, sh(12, 31, 11), "Acme", "P1", "Bridged solder joints on U3, lot 0212")
    assert c2.recurrence is not None and c2.recurrence["ref"] == c1.ref

    ours_to_corrective(desk, c1.id, sh(12, 31, 11), "appearance", "B")
    ours_to_corrective(desk, c2.id, sh(12, 31, 13), "appearance", "A")
    desk.take("submit_corrective_action", c1.id, PROD, sh(1, 4, 16), ca("people"))
    desk.take("submit_preventive_action", c1.id, PROD, sh(1, 4, 17), PA)
    desk.take("reject_report", c1.id, MGR, sh(1, 5, 9), {"reason": "why-why stops too early"})
    desk.take("submit_corrective_action", c1.id, PROD, sh(1, 6, 9), ca("machine"))
    desk.take("submit_preventive_action", c1.id, PROD, sh(1, 6, 10), PA)
    desk.take("approve_report", c1.id, MGR, sh(1, 6, 11), {})
    desk.take("send_to_customer", c1.id, TQ, sh(1, 6, 12), {"method": "email"})
    desk.take("record_customer_acceptance", c1.id, MKT, sh(1, 6, 13), {"accepted": "yes"})
    desk.take(
        "close_case",
        c1.id,
        TQ,
        sh(1, 7, 10),
        {"criterion": "A", "evidence": "0 of 500 bridged", "no_negative_impact": ["yes"]},
    )

    desk.take("submit_corrective_action", c2.id, PROD, sh(1, 5, 9), ca("method"))
    desk.take("submit_preventive_action", c2.id, PROD, sh(1, 5, 10), PA)
    desk.link_recurrence(c2.id, TQ, sh(1, 5, 11))  # at approval: it takes nothing more

    c3 = file(desk, sh(1, 2, 10), "Beta", "P2", "Cartons crushed in transit, 12 boxes")
    desk.take("confirm_information", c3.id, TQ, sh(1, 4, 9), {"category": "packaging"})
    desk.take("decide_responsibility", c3.id, TQ, sh(1, 4, 10), THEIRS)
    desk.take("confirm_customer_informed", c3.id, MKT, sh(1, 5, 10), INFORMED)
    desk.take("reopen_case", c3.id, TQ, sh(1, 7, 10), {"reason": "crushed again"})

    c4 = file(desk, sh(1, 5, 9), "Acme", "P3", "Housing 0.3 mm too wide at the flange")
    ours_to_corrective(desk, c4.id, sh(1, 5, 10), "dimension", "C")
    desk.take("submit_corrective_action", c4.id, PROD, sh(1, 8, 11), ca("material"))

    c5 = file(desk, sh(1, 6, 10), "Gamma", "P1", "Display flickers after ten minutes")
    desk.take("confirm_information", c5.id, TQ, sh(1, 6, 11), {"category": "function"})
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6}


@pytest.fixture
def desk(database_url: str) -> Desk:
    d = desk_for(database_url)
    dataset(d)
    return d


def test_every_figure_matches_the_hand_computed_dataset(desk: Desk) -> None:
    f = desk.kpis(PERIOD, NOW)
    assert f.total == 6
    assert f.by_severity == [(None, 3), ("A", 1), ("B", 1), ("C", 1)]
    assert f.by_category == [
        ("appearance", 2),
        ("dimension", 1),
        ("function", 1),
        ("packaging", 1),
        ("service", 1),
    ]
    assert f.by_customer == [("Acme", 3), ("Beta", 1), ("Delta", 1), ("Gamma", 1)]
    assert f.by_product == [("P1", 3), ("P2", 1), ("P3", 1), ("P4", 1)]
    assert f.other_customers == f.other_products == 0
    # the make-up Sunday decides C2: its corrective reply on Monday was late
    assert (f.ca_on_time, f.ca_due, f.ca_rate) == (1, 4, 0.25)
    assert (f.pa_on_time, f.pa_due, f.pa_rate) == (2, 2, 1.0)
    assert f.closed == 2
    assert f.close_days_median == pytest.approx(3.625, abs=1e-3)
    assert f.close_days_p90 == pytest.approx(6.325, abs=1e-3)
    assert (f.open_now, f.overdue_now) == (4, 1)
    assert (f.rework_loops, f.reworked_cases) == (1, 1)
    assert f.recurrences == 2 and f.recurrence_rate == pytest.approx(1 / 3)
    assert f.by_cause == [("machine", 2), ("material", 1)]
    assert pareto(f.by_cause) == [("machine", 2, 2 / 3), ("material", 1, 1.0)]


def test_figures_follow_the_period_and_the_clock(desk: Desk) -> None:
    # only what was received in January: C3, C4, C5
    jan = desk.kpis(Period(date(2026, 1, 1), date(2026, 1, 31)), NOW)
    assert jan.total == 3 and jan.by_customer == [("Acme", 1), ("Beta", 1), ("Gamma", 1)]
    assert (jan.ca_on_time, jan.ca_due) == (0, 2)  # C4 and C5 late; C3 not ours
    assert jan.closed == 0 and jan.close_days_median is None
    # `now` decides only the replies still missing: asked with the clock at Tue 6 Jan
    # 09:00, C5's (due Wed 7 17:30) is not late yet; C4's, given late since, counts
    early = desk.kpis(PERIOD, sh(1, 6, 9))
    assert (early.ca_on_time, early.ca_due) == (1, 3)
    assert early.overdue_now == 0  # C5's corrective reply was not due yet
    empty = desk.kpis(Period(date(2024, 1, 1), date(2024, 1, 31)), NOW)
    assert empty.total == 0 and empty.ca_rate is None and empty.by_cause == []


def test_periods_of_the_command() -> None:
    today = date(2026, 5, 20)
    assert parse_period("", today) == Period(date(2026, 5, 1), date(2026, 5, 31))
    assert parse_period("quarter", today) == Period(date(2026, 4, 1), date(2026, 6, 30))
    assert parse_period("2026-Q1", today) == Period(date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("2026-02", today) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period("2026-01-05..2026-01-09", today).end == date(2026, 1, 9)
    from bot.workflow import InvalidInput

    for bad in ("yesterday", "2026-13", "2026-03-09..2026-03-01"):
        with pytest.raises(InvalidInput):
            parse_period(bad, today)


def test_monthly_report_on_the_first_working_day(database_url: str) -> None:
    """January 2026's first working day is Sun 4 Jan, the make-up day after New Year."""
    desk = desk_for(database_url)
    assert desk.first_working_day(date(2026, 1, 20)) == date(2026, 1, 4)
    assert desk.monthly_report(sh(1, 2, 10)) is None  # a day off
    assert desk.monthly_report(sh(1, 4, 9)) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert desk.monthly_report(sh(1, 4, 15)) is None  # once
    assert desk.monthly_report(sh(1, 5, 9)) is None  # not the first working day
    assert desk.monthly_report(sh(2, 2, 9)) == Period(date(2026, 1, 1), date(2026, 1, 31))
    off = desk_for(database_url, MONTHLY_REPORT="false")
    assert off.monthly_report(sh(3, 2, 9)) is None


def test_chart_png_and_the_register_sheet(desk: Desk, database_url: str) -> None:
    """Writes test-artifacts/kpi-charts-<lang>.png (git-ignored) to look at."""
    from PIL import Image

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in ("en", "zh-CN"):
        d = desk if language == "en" else desk_for(database_url, LANGUAGE=language)
        maker = Maker(d, lambda u: u)
        png = maker.charts(d.kpis(PERIOD, NOW))
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and png.filename.endswith(".png")
        image = Image.open(io.BytesIO(png.content))
        assert image.size == (1200, 800)
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128]) / (grey.width * grey.height)
        assert 0.01 < dark < 0.5, dark  # bars, text and axes; not blank, not a black box
        if "postgresql" not in database_url:
            image.save(ARTIFACTS / f"kpi-charts-{language}.png")

    zh = desk_for(database_url, LANGUAGE="zh-CN")
    files = Maker(zh, lambda u: u).register(RegisterQuery(PERIOD.start, PERIOD.end))
    book = load_workbook(io.BytesIO(files[0].content))
    assert len(book.sheetnames) == 2
    sheet = book[book.sheetnames[1]]
    rows = {r[0]: r[1] for r in sheet.iter_rows(values_only=True)}
    assert rows["客诉数量"] == "6"
    assert rows["矫正措施按时回复率 (1 个工作日)"] == "25.0 % (1/4)"
    assert rows["重复发生率 (关联或重开)"] == "33.3 % (2/6)"
    assert rows["原因柏拉图 (人/机/料/法/环)"] == "机 2 (67 %), 料 1 (100 %)"


def test_recurrence_by_wording_across_customers(database_url: str) -> None:
    desk = desk_for(database_url)
    first = file(desk, sh(1, 5, 9), "Acme", "P1", "Solder bridges on U3 pins 4-5 after reflow")
    other = file(desk, sh(1, 6, 9), "Beta", "P7", "Solder bridges on U3 pins 4 and 5 after reflow")
    unrelated = file(desk, sh(1, 6, 10), "Gamma", "P8", "Paint peels off the front cover")
    assert other.recurrence is not None and other.recurrence["ref"] == first.ref
    assert other.recurrence["score"] > 0.45 and other.recurrence["closed"] is None
    assert unrelated.recurrence is None
    # Chinese has no spaces: bigrams still find it
    zh1 = file(desk, sh(1, 6, 11), "苏州精密", "PCB-9", "U3 引脚桥接，回流焊后发现")
    zh2 = file(desk, sh(1, 6, 12), "深圳电子", "PCB-2", "回流焊后 U3 引脚桥接")
    assert zh2.recurrence is not None and zh2.recurrence["ref"] == zh1.ref
    # a case linked to another points a later one at the investigation it joined
    desk.link_recurrence(other.id, TQ, sh(1, 6, 13))
    again = file(desk, sh(1, 7, 9), "Beta", "P7", "Something else entirely: wrong colour")
    assert again.recurrence is not None and again.recurrence["id"] == first.id
    from bot.workflow import NotAllowed, WrongState

    with pytest.raises(NotAllowed):
        desk.link_recurrence(again.id, MKT, sh(1, 7, 10))
    with pytest.raises(WrongState):
        desk.link_recurrence(unrelated.id, TQ, sh(1, 7, 10))
    with pytest.raises(WrongState):
        desk.link_recurrence(other.id, TQ, sh(1, 7, 10))  # linked already


def test_the_hint_names_the_closed_case_and_its_root_cause(database_url: str) -> None:
    desk = desk_for(database_url)
    cases = dataset(desk)
    later = file(desk, sh(1, 8, 9), "Acme", "P1", "Solder bridges again on U3")
    hint = later.recurrence
    assert hint["ref"] in (cases["c1"].ref, cases["c2"].ref)
    assert hint["id"] == cases["c1"].id  # C2 joined C1's investigation
    assert hint["closed"] == "2026-01-07" and hint["cause"] == "machine"
    assert hint["why"] == "why 1"


def test_categories_are_configurable_with_names_in_both_languages() -> None:
    from bot.config import SettingsError, load_settings
    from bot.i18n import use_locale
    from bot.workflow.taxonomy import category_name, category_names

    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "COMPLAINTS_CHANNEL": "C0X1"}
    default = load_settings(base, dotenv=False).categories
    assert [c for c, _en, _zh in default][:3] == ["appearance", "dimension", "function"]
    own = load_settings(
        {**base, "COMPLAINT_CATEGORIES": "rust=Rust|锈蚀; noise=Noise"}, dotenv=False
    ).categories
    assert own == (("rust", "Rust", "锈蚀"), ("noise", "Noise", "Noise"))
    assert category_names(own) == {"rust": "Rust", "noise": "Noise"}
    with use_locale("zh-CN"):
        assert category_names(own) == {"rust": "锈蚀", "noise": "Noise"}
        assert category_name(own, None) == "未分类"
        assert category_name(own, "gone") == "gone"  # a code no longer configured
    with pytest.raises(SettingsError) as e:
        load_settings({**base, "COMPLAINT_CATEGORIES": "Bad Code=x;ok=OK;ok=again"}, dotenv=False)
    assert len(e.value.problems) == 2


def test_linked_complaints_share_one_investigation(database_url: str) -> None:
    """One corrective and preventive report serves both; approval, the customer's answer
    and closure stay each complaint's own."""
    desk = desk_for(database_url)
    first = file(desk, sh(3, 2, 9), "Acme", "P1", "Solder bridges on U3 pins 4-5")
    second = file(desk, sh(3, 2, 10), "Acme", "P1", "Bridged joints on U3")
    desk.link_recurrence(second.id, TQ, sh(3, 2, 11))
    ours_to_corrective(desk, first.id, sh(3, 2, 12), "appearance", "B")
    ours_to_corrective(desk, second.id, sh(3, 2, 13), "appearance", "B")
    assert desk.get_case(second.id).status == "corrective"  # nothing to take yet
    desk.take("submit_corrective_action", first.id, PROD, sh(3, 3, 9), ca("machine"))
    got = desk.get_case(second.id)
    assert got.status == "preventive" and got.ca_done_at == sh(3, 3, 9)
    shared = got.latest_report("corrective").data
    assert (shared["shared_from"], shared["shared_version"], shared["category"]) == (
        first.ref,
        1,
        "machine",
    )
    desk.take("submit_preventive_action", first.id, PROD, sh(3, 3, 10), PA)
    got = desk.get_case(second.id)
    assert got.status == "approval" and got.pa_done_at == sh(3, 3, 10)
    assert got.events[-1].kind == "investigation_shared"
    # each keeps its own approval: management sends the second back …
    desk.take("reject_report", second.id, MGR, sh(3, 3, 11), {"reason": "say more about lot 0212"})
    assert desk.get_case(second.id).status == "corrective"  # not the same version again
    # … and a new version of the shared corrective report reaches it
    desk.take("submit_corrective_action", first.id, PROD, sh(3, 3, 12), ca("method"))
    got = desk.get_case(second.id)
    assert got.status == "preventive"
    assert got.latest_report("corrective").data["shared_version"] == 2
    desk.take("approve_report", first.id, MGR, sh(3, 3, 13), {})
    assert desk.get_case(first.id).status == "approved"
    assert desk.get_case(second.id).status == "preventive"  # its own approval to come


@given(
    mine=st.sets(st.integers(0, 40), max_size=25),
    codes=st.dictionaries(
        st.integers(1, 60), st.lists(st.integers(0, 40), max_size=25, unique=True), max_size=30
    ),
    threshold=st.sampled_from([0.0, 0.45]),
)
def test_the_pruned_search_finds_what_scoring_every_candidate_finds(
    mine: set[int], codes: dict[int, list[int]], threshold: float
) -> None:
    """recurrence.best_match skips candidates that cannot win; it must pick what scoring
    them all picks: the best Dice score reaching the threshold, the latest case at a tie."""
    from array import array

    from bot.workflow.recurrence import best_match

    kept = {cid: array("Q", sorted(c)) for cid, c in codes.items()}
    want = None
    for cid, theirs in kept.items():
        score = 2 * len(mine & set(theirs)) / (len(mine) + len(theirs)) if mine else 0.0
        if score >= threshold and (want is None or (score, cid) > want):
            want = (score, cid)
    assert best_match(mine, kept, threshold) == want

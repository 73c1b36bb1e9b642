"""The files themselves: the 8D report in English, Chinese and both, with its footer on every
page and a subset CJK font; a PNG of page 1 for a person to look at; the CLI commands that
need only DATABASE_URL; and the web process, which never loads the file libraries."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from bot.db import migrate
from bot.models import make_engine, make_session_factory
from bot.records.make import Maker
from bot.workflow import Desk, IntakeForm, validate_intake
from bot.workflow.records import RegisterQuery, parse_register_query
from tests.conftest import make_settings
from tests.test_workflow import MGR, MKT, NOW, PROD, TQ, WrongState

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "test-artifacts"))
NAMES = {"U0MGR1": "王建国", "U0PROD1": "Zhang Wei", "U0TQ1": "Li Na", "U0MKT1": "Chen Jie"}
CUSTOMER = "苏州精密电子有限公司"
ROOT_CAUSE = "钢网磨损导致锡膏过量"


def names(user_id: str) -> str:
    return NAMES.get(user_id, user_id)


def desk_for(database_url: str, **env: str) -> Desk:
    settings = make_settings(database_url, "http://127.0.0.1:9/api/", **env)
    engine = make_engine(settings.database_url)
    migrate(engine)
    return Desk(make_session_factory(engine), settings, clock=lambda: NOW)


def approved_case(desk: Desk) -> Any:
    form = IntakeForm(
        customer=CUSTOMER,
        contact="李伟",
        product="PCB-7731 rev C",
        lots="L0211, L0212",
        quantity="1200",
        via="email",
        description="U3 引脚 4-5 桥接 (solder bridges), found at incoming inspection",
        evidence=[{"id": "F0PHOTO01", "name": "桥接照片.jpg"}],
    )
    case = desk.file_complaint(validate_intake(form, today=NOW.date()), MKT, NOW)
    ca = {
        "category": "machine",
        "why": f"桥接\n{ROOT_CAUSE}\n没有钢网寿命管理",
        "disposition": "rework",
        "actions": "更换钢网, 返工 L0211",
        "owner": "U0PROD1",
        "planned": "2026-03-20",
        "escape": "AOI 程序未覆盖 U3",
    }
    pa = {
        "m_machine": "钢网计数器, 2 万次强制更换",
        "m_method": "控制计划增加 SPI",
        "documents": ["control_plan", "fmea"],
        "revisions": "CP-7731 rev D; PFMEA rev 5",
    }
    contain = {"warehouse_qty": "800", "warehouse_disposition": "sort", "actions": "冻结库存"}
    steps = [
        ("confirm_information", TQ, {"category": "function"}),
        ("decide_responsibility", TQ, {"party": "ours", "units": ["production"], "reason": "r"}),
        ("classify_severity", TQ, {"severity": "A"}),
        ("record_containment", PROD, contain),
        ("submit_corrective_action", PROD, ca),
        ("submit_preventive_action", PROD, pa),
        ("reject_report", MGR, {"reason": "Why-why stops too early"}),
        ("submit_corrective_action", PROD, ca),
        ("submit_preventive_action", PROD, pa),
        ("approve_report", MGR, {}),
    ]
    for name, actor, data in steps:
        case = desk.take(name, case.id, actor, NOW, data)
    return case


@pytest.mark.parametrize(
    ("language", "bilingual", "headings"),
    [
        ("en", "false", ["D1 Team", "D4 Root cause", "D8 Approval", "Page 1 of"]),
        ("zh-CN", "false", ["D1 小组成员", "D4 根本原因", "D8 审核", "第 1 页"]),
        ("en", "true", ["D4 Root cause / D4 根本原因", "Page 1 of ", " / 第 1 页 / 共 "]),
    ],
)
def test_report_pdf_reads_back_in_each_language(
    database_url: str, language: str, bilingual: str, headings: list[str]
) -> None:
    desk = desk_for(database_url, LANGUAGE=language, REPORT_BILINGUAL=bilingual)
    case = approved_case(desk)
    made = Maker(desk, names).report(case.id)
    assert made.filename == f"{case.ref}-improvement-report-v2.2.pdf"
    reader = PdfReader(io.BytesIO(made.content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for expected in (CUSTOMER, ROOT_CAUSE, "王建国", "Zhang Wei", "桥接照片.jpg", *headings):
        assert expected in text, expected
    assert "CP-7731 rev D; PFMEA rev 5" in text and "Why-why stops too early" in text
    assert "U0MGR1" not in text and "U0PROD1" not in text  # names, not ids
    assert "2026-03-03 10:00" in text  # local time (the clock says 02:00 UTC)
    # every page: ref, version, "page n of m" and the same content hash
    pages = len(reader.pages)
    footers = [p.extract_text().split("\n")[-1] for p in reader.pages]
    numbers = [re.search(r"(?:Page (\d+) of (\d+)|第 (\d+) 页 / 共 (\d+) 页)", f) for f in footers]
    assert [tuple(int(g) for g in m.groups() if g) for m in numbers if m] == [
        (n, pages) for n in range(1, pages + 1)
    ]
    assert all(f.startswith("CC-2026-0001 · ") and " 2.2 · " in f for f in footers)
    assert len({re.search(r"[0-9a-f]{16}$", f).group(0) for f in footers}) == 1
    # the font is embedded as a subset: a tag before its name, and only the glyphs shown
    fonts = {
        f["/BaseFont"]: f["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        for p in reader.pages
        for f in (v.get_object() for v in p["/Resources"]["/Font"].values())
    }
    for base, descriptor in fonts.items():
        assert re.match(r"^/[A-Z]{6}\+", base), base
        assert len(descriptor["/FontFile2"].get_object().get_data()) < 400_000
    # the same record gives the same hash, and a new render stays byte-comparable in text
    again = Maker(desk, names).report(case.id)
    assert (
        PdfReader(io.BytesIO(again.content)).pages[0].extract_text()
        == reader.pages[0].extract_text()
    )


def test_report_page_one_as_png_for_a_person(database_url: str) -> None:
    """Writes test-artifacts/report-page1-<lang>.png (git-ignored) to look at."""
    import pypdfium2

    if "postgresql" in database_url:
        pytest.skip("the picture does not depend on the database; drawn once, on SQLite")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for language in ("en", "zh-CN"):
        desk = desk_for(database_url, LANGUAGE=language)
        case = approved_case(desk) if language == "en" else desk.find_case("CC-2026-0001")
        made = Maker(desk, names).report(case.id)
        page = pypdfium2.PdfDocument(made.content)[0]
        image = page.render(scale=1.5).to_pil()
        out = ARTIFACTS / f"report-page1-{language}.png"
        image.save(out)
        # not blank: dark text and the dark heading bars take a real share of the page
        grey = image.convert("L")
        dark = sum(grey.histogram()[:128]) / (grey.width * grey.height)
        assert 0.02 < dark < 0.5, dark
        assert out.stat().st_size > 20_000


def test_register_covers_its_period_and_filters(database_url: str) -> None:
    desk = desk_for(database_url)
    case = approved_case(desk)
    today = NOW.date()
    assert parse_register_query("", today) == RegisterQuery(
        today.replace(day=1), today.replace(day=31)
    )
    q = parse_register_query("2026-03 severity:A unit:production customer:苏州", today)
    assert q.filters == {"severity": "A", "unit": "production", "customer": "苏州"}
    assert [c.ref for c in desk.register_cases(q)] == [case.ref]
    for other in ("severity:B", "unit:development", "customer:Acme", "status:closed"):
        assert desk.register_cases(parse_register_query(f"2026-03 {other}", today)) == []
    assert desk.register_cases(parse_register_query("2026-02", today)) == []
    for bad in ("2026-13", "2026-03-05..2026-03-01", "status:maybe", "hello"):
        with pytest.raises(Exception, match="register"):
            parse_register_query(bad, today)
    zh = desk_for(database_url, LANGUAGE="zh-CN")
    xlsx, _csv = Maker(zh, names).register(q)
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert (
        ws["A1"].value == "编号" and ws["G2"].value == "A" and ws["K2"].value == "已审核 — 待提交"
    )


def test_cli_report_and_register_need_only_database_url(database_url: str, tmp_path: Path) -> None:
    desk = desk_for(database_url)
    approved_case(desk)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATABASE_URL": database_url}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            cwd=tmp_path,  # no .env there
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    done = cli("report", "CC-2026-0001", "-o", "r.pdf")
    assert done.returncode == 0, done.stderr
    assert CUSTOMER in PdfReader(tmp_path / "r.pdf").pages[0].extract_text()
    done = cli("register", "--from", "2026-03-01", "--to", "2026-03-31", "-o", "reg.xlsx")
    assert done.returncode == 0, done.stderr
    assert load_workbook(tmp_path / "reg.xlsx").active["A2"].value == "CC-2026-0001"
    done = cli("register", "--from", "2026-03-01", "--to", "2026-03-31", "-o", "reg.csv")
    assert (tmp_path / "reg.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert cli("report", "CC-2026-9999", "-o", "x.pdf").returncode == 1
    done = cli("export", "CC-2026-0001")  # export, too, needs only DATABASE_URL
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["case"]["ref"] == "CC-2026-0001"


def test_web_process_never_loads_the_file_libraries(database_url: str, tmp_path: Path) -> None:
    """The web role answers `/complaint report` and `register` (it stores the request);
    fpdf2, fontTools, openpyxl and matplotlib (`/complaint stats`' charts) stay out of its
    memory."""
    script = f"""
import sys
from bot.app import build
from tests.conftest import make_settings, serve, TQ
from tests.slackclient import SlackClient
from tests.conftest import SECRET
from bot.sandbox.fakeslack import FakeSlack
fake = FakeSlack().start()
settings = make_settings({database_url!r}, fake.url)
bot = build(settings, role="web")
server, url = serve(bot)
client = SlackClient(url + "/slack/events", SECRET)
assert client.command(TQ, "register 2026-03").status == 200
assert client.command(TQ, "report CC-2026-0001").status == 200
assert client.command(TQ, "stats 2026-03").status == 200
bot.listeners.wait_idle()
heavy = ("fpdf", "fontTools", "openpyxl", "pypdf", "matplotlib", "PIL")
print(sorted(m for m in heavy if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_send_to_customer_needs_how(database_url: str) -> None:
    desk = desk_for(database_url)
    case = approved_case(desk)
    from bot.workflow import InvalidInput

    with pytest.raises(InvalidInput) as e:
        desk.take("send_to_customer", case.id, TQ, NOW, {"method": "pigeon"})
    assert set(e.value.errors) == {"method"}
    with pytest.raises(InvalidInput) as e:
        desk.take(
            "send_to_customer", case.id, TQ, NOW, {"method": "email", "sent_on": "2026-03-04"}
        )
    assert set(e.value.errors) == {"sent_on"}
    with pytest.raises(WrongState):
        desk.take("send_to_customer", case.id, MKT, NOW, {"method": "email"}, expected_step=1)

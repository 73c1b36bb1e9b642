"""Run by tests/test_faults.py in a child process that is then killed with SIGKILL."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime

from bot.models import make_engine, make_session_factory
from bot.workflow import Actor, Desk, IntakeForm, Role, validate_intake
from tests.conftest import make_settings
from tests.test_workflow import ROUTE


def main() -> None:
    settings = make_settings(os.environ["DATABASE_URL"], os.environ["SLACK_API_URL"])
    engine = make_engine(settings.database_url)
    now = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
    desk = Desk(make_session_factory(engine), settings, clock=lambda: now)
    mkt = Actor("U0MKT1", frozenset({Role.MARKETING}))
    print("ready", flush=True)
    for i in itertools.count():
        form = IntakeForm(
            customer=f"C{i}",
            contact="c",
            product="P",
            lots="L",
            quantity="1",
            via="phone",
            description="d",
        )
        case = desk.file_complaint(validate_intake(form, today=now.date()), mkt, now)
        for name, actor, data in ROUTE:
            case = desk.take(name, case.id, actor, now, data)


if __name__ == "__main__":
    main()

"""Evidence of a case (PROCEDURE.md flow step 1: samples, photos): the Slack files given in
the intake form or posted in the case thread, recorded by id, name, who and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Case, CaseFile


def record_files(
    s: Session,
    case: Case,
    files: list[dict[str, Any]],
    user_id: str,
    now: datetime,
    source: str,
) -> list[dict[str, str]]:
    """Record the files not yet on the case (a file shared twice is one piece of evidence);
    returns what was recorded, for the audit event."""
    wanted = {
        str(f.get("id")): str(f.get("name") or f.get("title") or "")[:500]
        for f in files
        if isinstance(f, dict) and f.get("id")
    }
    if not wanted:
        return []
    known = set(
        s.scalars(
            select(CaseFile.file_id).where(
                CaseFile.case_id == case.id, CaseFile.file_id.in_(list(wanted))
            )
        )
    )
    out = []
    for file_id, name in wanted.items():
        if file_id in known or len(file_id) > 32:
            continue
        s.add(
            CaseFile(
                case_id=case.id, file_id=file_id, name=name, user_id=user_id, at=now, source=source
            )
        )
        out.append({"id": file_id, "name": name})
    s.flush()
    return out

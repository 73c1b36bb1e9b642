"""Records that leave Slack: the evidence files of a case and the documents kept for it.

Evidence (PROCEDURE.md, flow step 1: samples, photos) is recorded by its Slack file id,
name, who gave it and when; fetching the bodies is a later step. Documents are the files
the bot made and uploaded (the improvement report at approval, the archive at closure),
kept here byte for byte under records control, so the archive does not depend on Slack.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime


class CaseFile(Base):
    """One evidence file: attached in the intake form or posted in the case thread."""

    __tablename__ = "case_files"
    __table_args__ = (UniqueConstraint("case_id", "file_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    file_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(16))  # intake | thread


class CaseDocument(Base):
    """A file the bot produced for a case and uploaded into its thread."""

    __tablename__ = "case_documents"
    __table_args__ = (Index("ix_case_documents_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(16))  # report | record | record_json
    version: Mapped[str] = mapped_column(String(16))  # the improvement report's version
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    slack_file_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

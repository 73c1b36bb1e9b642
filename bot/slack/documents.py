"""Deliver documents through the outbox: make the file in the worker, keep it, upload it.

An upload is three calls: files.getUploadURLExternal, a POST of the bytes to the URL it
gives, and files.completeUploadExternal, which shares the files into the channel or
thread. Only the last is seen by people, and it is made once: the row's result records it
before anything else happens, and a retry that finds it done does nothing. A retry after a
failure before it starts the upload over (an upload never completed is dropped by Slack).
The files kept for the case are stored before the upload, once per outbox row, so a retry
sends the very bytes kept."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from blocks import posts
from blocks.stats import stats_text
from blocks.text import escape
from bot.i18n import _, use_locale
from bot.models import Outbox
from bot.records.make import File, Maker
from bot.workflow.records import RegisterQuery
from bot.workflow.stats import Period
from bot.workflow.taxonomy import category_names

log = logging.getLogger(__name__)


class Documents:
    def __init__(self, delivery: Any) -> None:
        self.delivery = delivery
        self.desk = delivery.desk
        self.gateway = delivery.gateway
        self.maker = Maker(self.desk, delivery.directory.name)

    def kinds(self) -> dict[str, Any]:
        return {"upload": self.upload, "dm_file": self.dm_file, "kpi_report": self.kpi_report}

    # -- kinds ---------------------------------------------------------------------------
    def upload(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """Into the case thread: the report at approval, the archive at closure."""
        if done.get("completed"):
            return done
        from bot.slack.delivery import NoCard

        case = self.desk.get_case(int(row.case_id or 0), full=False)
        if not case.card_ts or not case.channel_id:
            raise NoCard(case.ref)
        what = row.payload.get("what")
        kept = [
            (d.id, File(d.filename, d.content, d.kind, d.filename))
            for d in self.desk.kept_for(row.id)
        ]
        if len(kept) != (1 if what == "report" else 3):  # not made yet (or cut short)
            made = [self.maker.report(case.id)] if what == "report" else self.maker.archive(case.id)
            kept = [self._keep(case.id, row, f) for f in made]
        if what == "report":
            comment = _(
                "Improvement report *{ref}*, version {version} as approved — the PDF to "
                "send to the customer.",
                ref=escape(case.ref),
                version=escape(row.payload["version"]),
            )
        else:
            comment = _(
                "*{ref}* is closed. Archived under records control: the final report, the "
                "whole record (timeline) as PDF, and as JSON.",
                ref=escape(case.ref),
            )
        if row.payload.get("event_id"):  # the step's thread post, with its files
            post = self.delivery.step_post(case, row.payload)
            if post is not None:
                comment = posts.as_text(post) + "\n\n" + comment
        ids = self._send(row, done, kept, case.channel_id, case.card_ts, comment)
        for (doc_id, _f), fid in zip(kept, ids, strict=False):
            self.desk.document_uploaded(doc_id, fid)
        return {"completed": True, "files": ids, "documents": [d for d, _f in kept]}

    def dm_file(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """To one person by direct message: `/complaint report` and `/complaint register`."""
        if done.get("completed"):
            return done
        p = row.payload
        if p.get("what") == "report":
            case = self.desk.get_case(int(p["case_id"]), full=False)
            files = [self.maker.report(case.id)]
            with self.delivery.personal(p["user"]):
                comment = _("The latest improvement report of *{ref}*.", ref=escape(case.ref))
        elif p.get("what") == "stats":  # issue 14: `/complaint stats`, its charts
            f = self.maker.figures(
                Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))
            )
            files = [self.maker.charts(f)]
            with self.delivery.personal(p["user"]):
                comment = _("Complaint figures {period}", period=escape(f.period.describe()))
        else:
            query = RegisterQuery.from_payload(p)
            files = self.maker.register(query)
            with self.delivery.personal(p["user"]):
                comment = _(
                    "The complaint register, {what}: XLSX, and CSV (UTF-8) if you prefer.",
                    what=escape(query.describe()),
                )
        channel = self.gateway.call("conversations.open", users=p["user"])["channel"]["id"]
        ids = self._send(row, done, [(None, f) for f in files], channel, None, comment)
        return {"completed": True, "files": ids}

    def kpi_report(self, row: Outbox, done: dict[str, Any]) -> dict[str, Any]:
        """The monthly report (issue 14): the figures as text with the charts, in the
        management channel, in the team's language."""
        if done.get("completed"):
            return done
        p = row.payload
        f = self.maker.figures(Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"])))
        chart = self.maker.charts(f)
        with use_locale(self.desk.settings.language):
            comment = stats_text(f, category_names(self.desk.settings.categories))
        ids = self._send(row, done, [(None, chart)], p["channel"], None, comment)
        return {"completed": True, "files": ids}

    # -- helpers -------------------------------------------------------------------------
    def _keep(self, case_id: int, row: Outbox, f: File) -> tuple[int, File]:
        doc = self.desk.keep_document(
            case_id,
            kind=f.kind,
            version=str(row.payload.get("version") or ""),
            filename=f.filename,
            content=f.content,
            sha256=f.sha256,
            outbox_id=row.id,
            now=self.desk.now(),
        )
        # a retry sends what was kept the first time, byte for byte
        return doc.id, File(doc.filename, doc.content, doc.kind, f.title)

    def _send(
        self,
        row: Outbox,
        done: dict[str, Any],
        files: list[tuple[int | None, File]],
        channel: str,
        thread_ts: str | None,
        comment: str,
    ) -> list[str]:
        ids = []
        for _doc, f in files:
            got = self.gateway.call(
                "files.getUploadURLExternal", filename=f.filename, length=len(f.content)
            )
            self.gateway.post_bytes(got["upload_url"], f.content)
            ids.append(got["file_id"])
        resp = self.gateway.call(
            "files.completeUploadExternal",
            files=[{"id": fid, "title": f.title} for fid, (_d, f) in zip(ids, files, strict=True)],
            channel_id=channel,
            thread_ts=thread_ts,
            initial_comment=comment,
        )
        # recorded at once: from here on a retry must not share the files again
        row.result = {**done, "completed": True, "files": ids}
        self.delivery.progress(row)
        log.info("uploaded %s to %s", [f.filename for _d, f in files], channel)
        return [str(f.get("id")) for f in resp.get("files", [])] or ids

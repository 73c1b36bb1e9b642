"""Recurrence at intake (issue 14): has this defect been reported before?

A fuzzy matcher over a bounded candidate set, the same on SQLite and PostgreSQL: the
latest cases of the same customer and product (an index), of the same customer, of the
same product, and the latest cases overall. Descriptions are compared by their character
bigrams (Dice coefficient), which works for Chinese, which has no spaces, as well as for
English. The bound keeps the search within a few milliseconds at 100k cases (bench/stats.py);
an old defect of another customer and product is outside it by design.

Linking makes the new complaint join the found case's investigation: that case's
corrective and preventive report serves both, and each keeps its own customer reply,
acceptance and closure."""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
import weakref
from array import array
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, bindparam, func, select, union_all
from sqlalchemy.orm import Session

from bot.i18n import _
from bot.models import Case, Report, Status
from bot.workflow import effects
from bot.workflow.desk import DeskBase
from bot.workflow.errors import NotAllowed, WrongState
from bot.workflow.roles import Actor, Role

SAME_PAIR = 20  # latest cases of the same customer and product looked at
SAME_ONE = 100  # … of the same customer, and of the same product
LATEST = 400  # … of all customers
TEXT = 400  # characters of each description compared
THRESHOLD = 0.45  # Dice similarity for a match on the description alone
NAME_SCAN = 5000  # distinct customer / product names the suggestions look at
SUGGESTIONS = 20

_SPACE = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case, width (全角/半角) and punctuation folded away."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text or "").casefold()).strip()


def bigrams(text: str) -> set[str]:
    t = normalise(text)
    if len(t) < 2:
        return {t} if t else set()
    return {t[i : i + 2] for i in range(len(t) - 1)}


def similarity(a: set[Any], b: set[Any]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def gram_codes(text: str) -> set[int]:
    """`bigrams(text)` as integers (two code points in 42 bits): the same Dice figure,
    kept compactly."""
    return {(ord(g[0]) << 21) | ord(g[-1]) if len(g) == 2 else ord(g) for g in bigrams(text)}


class _GramCache:
    """The bigram codes of earlier cases' descriptions (which never change), by case id:
    consecutive filings look at mostly the same latest cases, so each description is
    normalised once, not at every filing (issue 10, 7(b): the search was two thirds of a
    filing's CPU at 100k cases). About 2.5 kB a case; the oldest entries go first."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.codes: dict[int, array[int]] = {}
        self._lock = threading.Lock()

    def put(self, case_id: int, text: str) -> array[int]:
        codes = array("Q", sorted(gram_codes(text)))
        with self._lock:
            self.codes[case_id] = codes
            extra = len(self.codes) - self.size
            if extra > 0:
                for old in list(itertools.islice(self.codes, extra)):
                    self.codes.pop(old, None)
        return codes


# one per database (an engine): case ids only mean something within one
_GRAMS: weakref.WeakKeyDictionary[Any, _GramCache] = weakref.WeakKeyDictionary()
_GRAMS_LOCK = threading.Lock()


def _grams_of(s: Session) -> _GramCache:
    bind = s.get_bind()
    engine = getattr(bind, "engine", bind)
    with _GRAMS_LOCK:
        cache = _GRAMS.get(engine)
        if cache is None:
            cache = _GRAMS[engine] = _GramCache()
        return cache


def _candidate_queries() -> tuple[Select[tuple[int]], CompoundSelect]:
    """Built once, with the names as parameters: building them at every filing (three
    subqueries, their aliases and cache keys) cost more of the worker's CPU than running
    them (issue 10, 7(b)). Each part walks its own (name, id) index newest first and stops
    at its limit; `self_id` leaves out the case itself (-1 for one not stored yet)."""
    customer, product = bindparam("customer"), bindparam("product")
    not_self = Case.id != bindparam("self_id")
    newest = Case.id.desc()
    pair = (
        select(Case.id)
        .where(not_self, Case.customer == customer, Case.product == product)
        .order_by(newest)
        .limit(SAME_PAIR)
    )
    # one part per name, not an OR: each walks its own (name, id) index newest first, and
    # the three go to the database as one statement
    others = union_all(
        *(
            select(part.c.id)
            for part in (
                select(Case.id).where(not_self, *where).order_by(newest).limit(limit).subquery()
                for where, limit in (
                    ((Case.customer == customer,), SAME_ONE),
                    ((Case.product == product,), SAME_ONE),
                    ((), LATEST),
                )
            )
        )
    )
    return pair, others


_PAIR, _OTHERS = _candidate_queries()
# the start of the descriptions not kept yet (usually the one case filed since the last)
_TEXTS = select(Case.id, func.substr(Case.description, 1, TEXT)).where(
    Case.id.in_(bindparam("ids", expanding=True))
)
# what the card says about an earlier case, in one statement: the columns the hint shows,
# the case its investigation belongs to, and its latest corrective report's data (the
# cause); a whole case and a whole report were two reads and two ORM loads per filing
_HINT = select(
    Case.id,
    Case.ref,
    Case.status,
    Case.closed_at,
    Case.linked_to_id,
    select(Report.data)
    .where(Report.case_id == Case.id, Report.kind == "corrective")
    .order_by(Report.version.desc())
    .limit(1)
    .scalar_subquery()
    .label("cause"),
).where(Case.id == bindparam("case_id"))


def _candidates(s: Session, case: Case) -> tuple[set[int], dict[int, array[int]]]:
    """The earlier cases looked at: (those of the same customer and product, the bigram
    codes of all of them). A case of the same pair outranks any match by wording, so the
    wider sets are looked at only when there is none. Descriptions are read only for the
    cases whose codes are not kept yet."""
    # a case not stored yet (at filing, looked for before its insert) is not among them
    params = {
        "self_id": case.id if case.id is not None else -1,
        "customer": case.customer,
        "product": case.product,
    }
    # on the session's connection, not through the ORM: up to 600 plain ids, and the ORM's
    # result processing per row cost more than the query
    conn = s.connection()
    same = set(conn.execute(_PAIR, params).scalars())
    ids = set(same)
    if not same:  # a case of the same pair outranks any other: the others are not needed
        ids.update(conn.execute(_OTHERS, params).scalars())
    cache = _grams_of(s)
    kept = cache.codes
    # .get: another thread's put may drop an old entry between a test and a read
    codes = {cid: c for cid in ids if (c := kept.get(cid)) is not None}
    missing = sorted(ids - codes.keys())
    for i in range(0, len(missing), 500):
        for cid, t in conn.execute(_TEXTS, {"ids": missing[i : i + 500]}):
            codes[cid] = cache.put(cid, t or "")
    return same, codes


def find_similar(s: Session, case: Case) -> tuple[int, float] | None:
    """The earlier case most likely to be the same problem, and how alike the descriptions
    are (the same customer and product counts as a match whatever the wording)."""
    got = _similar(s, case)
    return (got[0].id, got[1]) if got else None


def _similar(s: Session, case: Case) -> tuple[Any, float] | None:
    """`find_similar`, with the earlier case's `_HINT` row (the hint is made from it: read
    once)."""
    same, codes = _candidates(s, case)  # only the same pair's, when there are any
    mine = gram_codes(case.description[:TEXT])
    best = best_match(mine, codes, threshold=0.0 if same else THRESHOLD)
    if best is None:
        return None
    score, cid = best
    conn = s.connection()
    found = conn.execute(_HINT, {"case_id": cid}).first()
    if found is not None and found.linked_to_id:  # its investigation is another case's
        found = conn.execute(_HINT, {"case_id": found.linked_to_id}).first()
    return (found, round(score, 3)) if found is not None else None


def best_match(
    mine: set[int], codes: dict[int, Any], threshold: float = THRESHOLD
) -> tuple[float, int] | None:
    """(score, case id) of the best Dice score at least `threshold`, the latest case at a
    tie; None if none reaches it.

    The candidates are scored newest first, and one is skipped when even the most its size
    allows (all of the shorter set shared) could not beat the best so far: an older case
    needs a strictly better score. A complaint repeated in the same words (a score of 1)
    ends the search there. The answer is the same as scoring them all (a property test)."""
    n = len(mine)
    best: tuple[float, int] | None = None
    for cid in sorted(codes, reverse=True):
        theirs = codes[cid]
        total = n + len(theirs)
        if best is not None and n and 2 * min(n, len(theirs)) / total <= best[0]:
            continue  # cannot beat the best so far, which is newer
        score = 2 * len(mine.intersection(theirs)) / total if n else 0.0
        if score < threshold:
            continue
        if best is None or score > best[0]:
            best = (score, cid)
    return best


def hint(found: Any, score: float, tz: Any = UTC) -> dict[str, Any]:
    """What the card says about the earlier case (kept with the new case at intake), from
    its `_HINT` row."""
    cause = found.cause if isinstance(found.cause, dict) else None
    why = (cause.get("why") or [""])[0] if cause is not None else ""
    return {
        "id": found.id,
        "ref": found.ref,
        "status": found.status,
        "closed": found.closed_at.astimezone(tz).date().isoformat() if found.closed_at else None,
        "cause": cause.get("category") if cause is not None else None,
        "why": str(why)[:200],
        "score": score,
        "linked": False,
    }


def note_recurrence(s: Session, case: Case, tz: Any = UTC) -> None:
    """At filing, in its transaction, before the case is stored (so the hint goes in with
    its insert): remember a likely earlier case."""
    got = _similar(s, case)
    case.recurrence = hint(got[0], got[1], tz) if got else None


def name_suggestions(s: Session, field: str, query: str) -> list[str]:
    """Existing customer or product names for the intake form, best match first: names
    starting with what was typed, then containing it, then alike by bigrams."""
    col = Case.customer if field == "customer" else Case.product
    n = func.count()
    names = [
        str(v)
        for v in s.scalars(select(col).group_by(col).order_by(n.desc(), col).limit(NAME_SCAN))
    ]
    q = normalise(query)
    if not q:
        return names[:SUGGESTIONS]
    qg = bigrams(q)
    scored = []
    for rank, name in enumerate(names):
        nn = normalise(name)
        if nn.startswith(q):
            score = 3.0
        elif q in nn:
            score = 2.0
        else:
            score = similarity(qg, bigrams(nn))
            if score < 0.3:
                continue
        scored.append((-score, rank, name))
    return [name for _s, _r, name in sorted(scored)[:SUGGESTIONS]]


class RecurrenceDesk(DeskBase):
    """The desk's side: suggestions for the form, Technical Quality's link, and the shared
    investigation of linked complaints (bot/workflow/investigation.py, a desk hook)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scheduler_hooks.append(self._share_investigation)

    def _share_investigation(self, s: Session, case: Case, now: datetime) -> None:
        from bot.workflow.investigation import share_investigation

        share_investigation(self, s, case, now)

    def suggest_names(self, field: str, query: str) -> list[str]:
        with self.readers() as s:
            return name_suggestions(s, field, query)

    def link_recurrence(
        self, case_id: int, actor: Actor, now: datetime, *, expected_step: int | None = None
    ) -> Case:
        """Join the earlier case's investigation (one corrective and preventive report for
        both). Recorded on both audit trails; the new case counts as a recurrence."""
        with self.transaction() as s:
            case = self._lock(s, case_id)
            if not actor.has(Role.QUALITY):
                raise NotAllowed(_("Only Technical Quality can link complaints."))
            if expected_step is not None and case.step != expected_step:
                raise WrongState(
                    _("{ref} has moved on since this was shown. Nothing was changed.", ref=case.ref)
                )
            hint_ = dict(case.recurrence or {})
            if not hint_ or case.linked_to_id is not None or Status(case.status) is Status.CLOSED:
                raise WrongState(
                    _("{ref} cannot be linked now. Nothing was changed.", ref=case.ref)
                )
            primary = s.get(Case, int(hint_["id"]))
            assert primary is not None
            case.linked_to_id = primary.id
            case.recurrence = {**hint_, "linked": True}
            case.step += 1
            ev = self._event(
                s, case, actor, "link_recurrence", {"to": primary.ref}, now, step=case.step
            )
            self._event(s, primary, actor, "recurrence_linked", {"from": case.ref}, now)
            effects.card_update(s, case, now)
            effects.thread_post(s, case, now, event_id=ev.id)
            self._after_change(s, case, now)  # takes the joined case's reports if due
            s.flush()
            return self._reload(s, case.id)


def investigation_id(case: Case) -> int:
    """The case whose reports serve this complaint."""
    return case.linked_to_id or case.id

"""Who holds which role: settings user ids plus Slack user groups, cached."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from slack_sdk.errors import SlackApiError

from bot.config import RoleMembers, Settings
from bot.i18n import normalise
from bot.slack.gateway import Gateway
from bot.workflow.roles import Actor, Role

log = logging.getLogger(__name__)
# a person's name and Slack language are looked up again after an hour (one users.info
# call per active person per hour, Tier 4): a changed language shows within the hour
NAME_TTL = 3600.0
# how long a request waits for users.info before it answers in LANGUAGE instead: the
# ack must reach Slack within 3 s; only someone not seen yet can make a request wait
LOCALE_WAIT = 0.8


class Directory:
    """Resolves user groups through `usergroups.users.list` (cached for `ttl` seconds).

    That method needs a paid plan (`plan_upgrade_required`); then the group counts as
    empty and a warning says to list user ids instead."""

    def __init__(self, settings: Settings, gateway: Gateway, ttl: float = 300.0) -> None:
        self.settings = settings
        self.gateway = gateway
        self.ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}
        self._people: dict[str, tuple[float, tuple[str, str | None]]] = {}
        self._lookups: dict[str, Future[tuple[str, str | None]]] = {}
        self._pool: ThreadPoolExecutor | None = None

    def group_members(self, group_id: str) -> frozenset[str]:
        hit = self._fresh(group_id)
        if hit is not None:
            return hit
        # one call per group at a time: at a cold start every request needs the groups at
        # once, and usergroups.users.list is rate-limited at Tier 2
        with self._lock:
            fetching = self._fetching.setdefault(group_id, threading.Lock())
        with fetching:
            hit = self._fresh(group_id)  # filled while this thread waited
            if hit is not None:
                return hit
            with self._lock:
                stale = self._cache.get(group_id)
            try:
                users = frozenset(
                    self.gateway.call("usergroups.users.list", usergroup=group_id).get("users", [])
                )
            except (SlackApiError, OSError) as exc:
                log.warning(
                    "cannot resolve user group %s (%s); list user ids in the role settings instead",
                    group_id,
                    getattr(getattr(exc, "response", None), "data", exc),
                )
                users = stale[1] if stale else frozenset()
            with self._lock:
                self._cache[group_id] = (time.monotonic(), users)
            return users

    def name(self, user_id: str) -> str:
        """A person's name for documents people read (users.info, cached for a day); the
        id itself when Slack cannot say (a deleted user, an outage)."""
        return self._person(user_id)[0]

    def locale(self, user_id: str) -> str:
        """The language of this person's own surfaces (modals, ephemeral replies, DMs,
        Home): their Slack locale when it is one of ours, else the `LANGUAGE` setting."""
        return normalise(self._person(user_id)[1]) or self.settings.language

    def request_locale(self, user_id: str | None, wait: float = LOCALE_WAIT) -> str:
        """The person's language for a request being acknowledged: from the cache (a stale
        entry is answered at once and refreshed in the background), or for someone not
        seen yet a `users.info` call waited on for at most `wait` seconds. A slower Slack
        answers in `LANGUAGE` this once; the call goes on and fills the cache."""
        if not user_id:
            return self.settings.language
        with self._lock:
            hit = self._people.get(user_id)
            fresh = hit is not None and time.monotonic() - hit[0] < NAME_TTL
            future = None if fresh else self._lookups.get(user_id)
            if not fresh and future is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(2, thread_name_prefix="locale")
                future = self._pool.submit(self._person, user_id)
                self._lookups[user_id] = future
                future.add_done_callback(lambda _f: self._forget(user_id))
        if hit is not None:  # known: answer now; a stale answer is refreshed behind it
            return normalise(hit[1][1]) or self.settings.language
        assert future is not None
        try:
            return normalise(future.result(timeout=wait)[1]) or self.settings.language
        except FutureTimeout:
            log.info("users.info for %s is slow: answering in %s", user_id, self.settings.language)
            return self.settings.language

    def _forget(self, user_id: str) -> None:
        with self._lock:
            self._lookups.pop(user_id, None)

    def _person(self, user_id: str) -> tuple[str, str | None]:
        """(name, Slack locale) from one `users.info` call with `include_locale`, cached
        for a day; on failure the last known answer, or the id and no locale."""
        with self._lock:
            hit = self._people.get(user_id)
        if hit and time.monotonic() - hit[0] < NAME_TTL:
            return hit[1]
        try:
            user = (
                self.gateway.call("users.info", user=user_id, include_locale=True).get("user") or {}
            )
        except (SlackApiError, OSError) as exc:
            log.info("no name for %s: %s", user_id, exc)
            return hit[1] if hit else (user_id, None)
        profile = user.get("profile") or {}
        name = (
            profile.get("real_name")
            or profile.get("display_name")
            or user.get("real_name")
            or user.get("name")
            or user_id
        )
        answer = (str(name), user.get("locale"))
        with self._lock:
            self._people[user_id] = (time.monotonic(), answer)
        return answer

    def _fresh(self, group_id: str) -> frozenset[str] | None:
        with self._lock:
            hit = self._cache.get(group_id)
        return hit[1] if hit and time.monotonic() - hit[0] < self.ttl else None

    def members(self, role: RoleMembers) -> frozenset[str]:
        out = set(role.users)
        for g in role.groups:
            out |= self.group_members(g)
        return frozenset(out)

    def _holds(self, role: RoleMembers, user_id: str) -> bool:
        if user_id in role.users:
            return True
        return any(user_id in self.group_members(g) for g in role.groups)

    def actor(self, user_id: str) -> Actor:
        s = self.settings
        if not s.roles_configured:
            return Actor(user_id, frozenset(Role), frozenset(s.units), everyone=True)
        roles = {
            r
            for r, m in (
                (Role.MARKETING, s.marketing),
                (Role.QUALITY, s.quality),
                (Role.MANAGEMENT, s.management),
            )
            if self._holds(m, user_id)
        }
        units = {name for name, m in s.units.items() if self._holds(m, user_id)}
        return Actor(user_id, frozenset(roles), frozenset(units))

    def role_members(self, target: str) -> frozenset[str]:
        """Users behind a target like "role:management", "unit:production", "user:U1"."""
        kind, _, ident = target.partition(":")
        if kind == "user":
            return frozenset({ident})
        return self.members(self._role(kind, ident))

    def _role(self, kind: str, ident: str) -> RoleMembers:
        s = self.settings
        if kind == "role":
            return {"marketing": s.marketing, "quality": s.quality, "management": s.management}.get(
                ident, RoleMembers()
            )
        if kind == "unit":
            return s.units.get(ident, RoleMembers())
        return RoleMembers()

    def mention_targets(self, targets: list[str]) -> list[str]:
        """Targets as renderable mentions: user groups ping the group, users the user; a
        role with nobody configured is named in bold instead."""
        out: list[str] = []
        for t in targets:
            kind, _, ident = t.partition(":")
            if kind == "user":
                out.append(t)
                continue
            m = self._role(kind, ident)
            if m.empty:
                out.append(t)
            out.extend(f"group:{g}" for g in sorted(m.groups))
            out.extend(f"user:{u}" for u in sorted(m.users))
        return list(dict.fromkeys(out))

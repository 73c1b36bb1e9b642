"""A local fake of the Slack Web API, served over real HTTP on loopback, for tests.

Why a real server rather than mocks: the bot only talks to Slack through ``slack_sdk.WebClient``.
Pointing its ``base_url`` at this server exercises the genuine client stack (JSON vs form
encoding, auth header, error mapping to ``SlackApiError``, retry handlers) so tests catch the
mistakes mocks would hide. The fake keeps just enough state (messages, threads, views, DMs) for
post -> update -> permalink -> thread flows to be coherent, validates Block Kit the way Slack
does (so a layout Slack would refuse fails in CI instead of in production), and injects faults
(HTTP 5xx, ``ok: false`` errors, 429 rate limits) deterministically.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.sandbox import blockkeys
from bot.sandbox.scopes import PUBLIC_WRITE_METHODS, manifest_scopes, missing_scope

# the token has exactly the scopes the app's manifest asks for
DEFAULT_SCOPES = manifest_scopes()
TRIGGER_SECONDS = 3.0  # Slack: a trigger_id works once, within 3 s of the interaction
BOT_ID = "B0000TEST"
APP_ID = "A0000TEST"
# Arguments slack_sdk JSON-encodes into a string when it sends a form body.
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
UPLOAD_PATH = "/upload/"  # where files.getUploadURLExternal's upload_url points
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
_DM_ID = re.compile(r"D[A-Z0-9]{2,}")

# ---------------------------------------------------------------------------------------------
# Block Kit validation
# ---------------------------------------------------------------------------------------------

BLOCK_LIMITS = {"message": 50, "modal": 100, "home": 100}
_BLOCKS = "section divider header actions context input image rich_text file video"
BLOCK_TYPES = frozenset(_BLOCKS.split())
_SELECTS = {f"{k}_select" for k in ("static", "external", "users", "conversations", "channels")}
_MENUS = _SELECTS | {"multi_" + s for s in _SELECTS}
_COMMON = _MENUS | {"button", "checkboxes", "datepicker", "overflow", "radio_buttons", "timepicker"}
SECTION_ACCESSORIES = _COMMON | {"image"}
ACTIONS_ELEMENTS = _COMMON | {"datetimepicker", "rich_text_input"}
_INPUT_ONLY = "datetimepicker plain_text_input email_text_input url_text_input number_input"
INPUT_ELEMENTS = (_COMMON - {"button", "overflow"}) | {*_INPUT_ONLY.split(), "file_input"}
INPUT_ELEMENTS |= {"rich_text_input"}


def _same_option(a: Any, b: dict) -> bool:
    """Slack matches initial options against options by value and text."""
    if not isinstance(a, dict):
        return False
    text_a, text_b = a.get("text"), b.get("text")
    same_text = isinstance(text_a, dict) and isinstance(text_b, dict)
    return a.get("value") == b.get("value") and same_text and text_a["text"] == text_b["text"]


class _Validator:
    """Walks one block set collecting errors; block_id is unique per set, action_id per block."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()
        self.action_ids: set[str] = set()

    def err(self, ptr: str, msg: str) -> None:
        # Same shape as Slack's own messages: "<problem> [json-pointer:/blocks/0/text]".
        self.errors.append(f"{msg} [json-pointer:{ptr}]")

    def keys(self, obj: dict, allowed: frozenset[str], ptr: str) -> None:
        """Slack refuses properties it does not know for the type."""
        for key in blockkeys.unknown_keys(obj, allowed):
            self.err(f"{ptr}/{key}", f"invalid additional property: {key}")

    def string(self, val: Any, ptr: str, max_len: int, *, required: bool = False) -> None:
        if val is None:
            if required:
                self.err(ptr, "missing required field")
        elif not isinstance(val, str):
            self.err(ptr, "must be a string")
        elif len(val) > max_len:
            self.err(ptr, f"must be less than {max_len + 1} characters")

    def text(self, obj: Any, ptr: str, max_len: int, *, plain: bool = False) -> None:
        """A composition text object; Slack rejects empty text and `emoji` on mrkdwn."""
        if not isinstance(obj, dict):
            self.err(ptr, "must provide a text object")
            return
        kind = obj.get("type")
        self.keys(obj, blockkeys.OBJECT_KEYS["text"], ptr)
        allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
        if kind not in allowed:
            self.err(f"{ptr}/type", f"must be one of {', '.join(allowed)}")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.err(f"{ptr}/text", "must be more than 0 characters")
        elif len(text) > max_len:
            self.err(f"{ptr}/text", f"must be less than {max_len + 1} characters")
        if "emoji" in obj and kind != "plain_text":
            self.err(f"{ptr}/emoji", "emoji is only allowed on plain_text")
        if "verbatim" in obj and kind != "mrkdwn":
            self.err(f"{ptr}/verbatim", "verbatim is only allowed on mrkdwn")

    def option(self, opt: Any, ptr: str, *, mrkdwn: bool = False, url: bool = False) -> None:
        if not isinstance(opt, dict):
            self.err(ptr, "must be an option object")
            return
        self.keys(opt, blockkeys.OBJECT_KEYS["option"], ptr)
        self.text(opt.get("text"), f"{ptr}/text", 75, plain=not mrkdwn)
        self.string(opt.get("value"), f"{ptr}/value", 150, required=True)
        if "description" in opt:
            self.text(opt["description"], f"{ptr}/description", 75, plain=not mrkdwn)
        if "url" in opt and not url:
            self.err(f"{ptr}/url", "url is only allowed on overflow options")
        self.string(opt.get("url"), f"{ptr}/url", 3000)

    def options(self, container: dict, ptr: str, lo: int, hi: int, **kw: bool) -> list[dict]:
        opts = container.get("options")
        if not isinstance(opts, list) or not lo <= len(opts) <= hi:
            self.err(f"{ptr}/options", f"must provide between {lo} and {hi} items")
            return []
        for i, opt in enumerate(opts):
            self.option(opt, f"{ptr}/options/{i}", **kw)
        return [o for o in opts if isinstance(o, dict)]

    def initial(self, el: dict, ptr: str, opts: list[dict], *, multi: bool) -> None:
        key = "initial_options" if multi else "initial_option"
        if key not in el:
            return
        chosen = el[key] if multi else [el[key]]
        if not isinstance(chosen, list):
            self.err(f"{ptr}/{key}", "must be an array")
            return
        for c in chosen:
            if not any(_same_option(c, o) for o in opts):
                self.err(f"{ptr}/{key}", "must match one of the provided options")

    def image(self, el: dict, ptr: str) -> None:
        if "image_url" not in el and not isinstance(el.get("slack_file"), dict):
            self.err(ptr, "must provide image_url or slack_file")
        self.string(el.get("image_url"), f"{ptr}/image_url", 3000)
        self.string(el.get("alt_text"), f"{ptr}/alt_text", 2000, required=True)

    def element(self, el: Any, ptr: str, allowed: frozenset[str] | set[str]) -> None:
        if not isinstance(el, dict):
            self.err(ptr, "must be an element object")
            return
        kind = el.get("type")
        if kind not in allowed:
            self.err(f"{ptr}/type", f"element type {kind!r} is not allowed here")
            return
        self.keys(el, blockkeys.ELEMENT_KEYS.get(kind, frozenset({"type"})), ptr)
        if kind == "image":
            self.image(el, ptr)
            return
        action_id = el.get("action_id")
        self.string(action_id, f"{ptr}/action_id", 255)
        if isinstance(action_id, str):
            if action_id in self.action_ids:
                self.err(f"{ptr}/action_id", f"duplicate action_id {action_id!r}")
            self.action_ids.add(action_id)
        if "placeholder" in el:
            self.text(el["placeholder"], f"{ptr}/placeholder", 150, plain=True)
        if "confirm" in el:
            confirm = el["confirm"] if isinstance(el["confirm"], dict) else {}
            self.keys(confirm, blockkeys.OBJECT_KEYS["confirm"], f"{ptr}/confirm")
            self.text(confirm.get("title"), f"{ptr}/confirm/title", 100, plain=True)
            self.text(confirm.get("text"), f"{ptr}/confirm/text", 300)
            self.text(confirm.get("confirm"), f"{ptr}/confirm/confirm", 30, plain=True)
            self.text(confirm.get("deny"), f"{ptr}/confirm/deny", 30, plain=True)
        self.element_fields(el, ptr, kind)

    def element_fields(self, el: dict, ptr: str, kind: str) -> None:
        """Per-type limits from the Block Kit reference."""
        if kind == "button":
            self.text(el.get("text"), f"{ptr}/text", 75, plain=True)
            self.string(el.get("value"), f"{ptr}/value", 2000)
            self.string(el.get("url"), f"{ptr}/url", 3000)
            if "style" in el and el["style"] not in ("primary", "danger"):
                self.err(f"{ptr}/style", "must be one of primary, danger")
        elif kind in ("static_select", "multi_static_select"):
            if ("options" in el) == ("option_groups" in el):
                self.err(ptr, "must provide exactly one of options or option_groups")
                return
            opts = self.options(el, ptr, 1, 100) if "options" in el else []
            groups = el.get("option_groups")
            if groups is not None:
                if not isinstance(groups, list) or not 1 <= len(groups) <= 100:
                    self.err(f"{ptr}/option_groups", "must provide between 1 and 100 items")
                    groups = []
                for i, group in enumerate(groups):
                    gptr = f"{ptr}/option_groups/{i}"
                    group = group if isinstance(group, dict) else {}
                    self.keys(group, blockkeys.OBJECT_KEYS["option_group"], gptr)
                    self.text(group.get("label"), f"{gptr}/label", 75, plain=True)
                    opts += self.options(group, gptr, 1, 100)
            self.initial(el, ptr, opts, multi=kind.startswith("multi_"))
        elif kind in ("checkboxes", "radio_buttons"):
            opts = self.options(el, ptr, 1, 10, mrkdwn=True)
            self.initial(el, ptr, opts, multi=kind == "checkboxes")
        elif kind == "overflow":
            self.options(el, ptr, 1, 5, url=True)
        elif kind == "plain_text_input":
            for key, lo in (("max_length", 1), ("min_length", 0)):
                val = el.get(key)
                if val is not None and (not isinstance(val, int) or not lo <= val <= 3000):
                    self.err(f"{ptr}/{key}", f"must be an integer between {lo} and 3000")
            self.string(el.get("initial_value"), f"{ptr}/initial_value", 3000)
        elif kind == "datepicker" and "initial_date" in el:
            try:
                datetime.date.fromisoformat(str(el["initial_date"]))
                ok = re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(el["initial_date"])) is not None
            except ValueError:
                ok = False
            if not ok:
                self.err(f"{ptr}/initial_date", "must be a date in the format YYYY-MM-DD")
        elif kind == "timepicker" and "initial_time" in el:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(el["initial_time"])):
                self.err(f"{ptr}/initial_time", "must be a time in the format HH:mm")
        elif kind == "datetimepicker" and "initial_date_time" in el:
            if not isinstance(el["initial_date_time"], int):
                self.err(f"{ptr}/initial_date_time", "must be a UNIX timestamp in seconds")
        elif kind == "number_input" and not isinstance(el.get("is_decimal_allowed"), bool):
            self.err(f"{ptr}/is_decimal_allowed", "missing required boolean field")
        elif kind == "file_input":
            types = el.get("filetypes", [])
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                self.err(f"{ptr}/filetypes", "must be an array of strings")
            max_files = el.get("max_files", 10)
            if not isinstance(max_files, int) or not 1 <= max_files <= 10:
                self.err(f"{ptr}/max_files", "must be an integer between 1 and 10")
        elif kind.startswith("multi_") and "max_selected_items" in el:
            max_items = el["max_selected_items"]
            if not isinstance(max_items, int) or max_items < 1:
                self.err(f"{ptr}/max_selected_items", "must be an integer of at least 1")

    def elements(self, b: dict, ptr: str, hi: int, allowed: frozenset[str] | set[str]) -> None:
        els = b.get("elements")
        if not isinstance(els, list) or not 1 <= len(els) <= hi:
            self.err(f"{ptr}/elements", f"must provide between 1 and {hi} items")
            return
        for i, el in enumerate(els):
            eptr = f"{ptr}/elements/{i}"
            if b["type"] == "context" and isinstance(el, dict) and el.get("type") != "image":
                self.text(el, eptr, 3000)
            else:
                self.element(el, eptr, allowed)

    def block(self, b: Any, ptr: str) -> None:
        if not isinstance(b, dict):
            self.err(ptr, "must be a block object")
            return
        kind = b.get("type")
        if kind not in BLOCK_TYPES:
            self.err(f"{ptr}/type", f"unknown block type {kind!r}")
            return
        self.action_ids = set()  # Slack: action_id must be unique within its block
        self.keys(b, blockkeys.BLOCK_KEYS.get(kind, frozenset({"type"})), ptr)
        block_id = b.get("block_id")
        self.string(block_id, f"{ptr}/block_id", 255)
        if isinstance(block_id, str):
            if block_id in self.block_ids:
                self.err(f"{ptr}/block_id", f"duplicate block_id {block_id!r}")
            self.block_ids.add(block_id)
        if kind == "section":
            if "text" not in b and "fields" not in b:
                self.err(ptr, "must provide text or fields")
            if "text" in b:
                self.text(b["text"], f"{ptr}/text", 3000)
            if "fields" in b:
                fields = b["fields"]
                if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                    self.err(f"{ptr}/fields", "must provide between 1 and 10 items")
                else:
                    for i, f in enumerate(fields):
                        self.text(f, f"{ptr}/fields/{i}", 2000)
            if "accessory" in b:
                self.element(b["accessory"], f"{ptr}/accessory", SECTION_ACCESSORIES)
        elif kind == "header":
            self.text(b.get("text"), f"{ptr}/text", 150, plain=True)
        elif kind == "context":
            self.elements(b, ptr, 10, {"image"})
        elif kind == "actions":
            self.elements(b, ptr, 25, ACTIONS_ELEMENTS)
        elif kind == "input":
            self.text(b.get("label"), f"{ptr}/label", 2000, plain=True)
            if "element" not in b:
                self.err(f"{ptr}/element", "missing required field")
            else:
                self.element(b["element"], f"{ptr}/element", INPUT_ELEMENTS)
            if "hint" in b:
                self.text(b["hint"], f"{ptr}/hint", 2000, plain=True)
            if "optional" in b and not isinstance(b["optional"], bool):
                self.err(f"{ptr}/optional", "must be a boolean")
        elif kind == "image":
            self.image(b, ptr)
            if "title" in b:
                self.text(b["title"], f"{ptr}/title", 2000, plain=True)
        elif kind == "rich_text":
            for eptr, msg in blockkeys.rich_text_errors(b, ptr):
                self.err(eptr, msg)
        elif kind == "file":
            self.string(b.get("external_id"), f"{ptr}/external_id", 255, required=True)
            if b.get("source") != "remote":
                self.err(f"{ptr}/source", "must be remote")
        elif kind == "video":
            self.string(b.get("alt_text"), f"{ptr}/alt_text", 2000, required=True)
            self.text(b.get("title"), f"{ptr}/title", 200, plain=True)
            for key in ("thumbnail_url", "video_url"):
                self.string(b.get(key), f"{ptr}/{key}", 3000, required=True)

    def blocks(self, blocks: Any, surface: str, ptr: str) -> None:
        if not isinstance(blocks, list):
            self.err(ptr, "must be an array")
            return
        if len(blocks) > BLOCK_LIMITS[surface]:
            self.err(ptr, f"no more than {BLOCK_LIMITS[surface]} items allowed")
        for i, b in enumerate(blocks):
            self.block(b, f"{ptr}/{i}")


def validate_blocks(blocks: list, *, surface: str, sdk: bool = True) -> list[str]:
    """Errors Slack would report for ``blocks`` on ``surface`` (message/modal/home); [] if
    fine. With `sdk`, slack_sdk's Block Kit models give a second opinion (their errors are
    marked ``slack_sdk:``)."""
    if surface not in BLOCK_LIMITS:
        raise ValueError(f"surface must be one of {sorted(BLOCK_LIMITS)}")
    v = _Validator()
    v.blocks(blocks, surface, "/blocks")
    if sdk and not v.errors:
        return blockkeys.sdk_block_errors(blocks)
    return v.errors


def validate_view(view: dict, *, sdk: bool = True) -> list[str]:
    """Errors Slack would report for a modal or home tab view payload; [] if fine (with
    `sdk`, slack_sdk's view model gives a second opinion, as in `validate_blocks`)."""
    v = _Validator()
    if not isinstance(view, dict):
        return ["must be a view object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return ["type must be one of modal, home [json-pointer:/view/type]"]
    v.keys(view, blockkeys.OBJECT_KEYS[kind], "/view")
    v.blocks(view.get("blocks"), kind, "/view/blocks")
    if kind == "modal":
        v.text(view.get("title"), "/view/title", 24, plain=True)
        for key in ("submit", "close"):
            if key in view:
                v.text(view[key], f"/view/{key}", 24, plain=True)
        blocks = view.get("blocks") if isinstance(view.get("blocks"), list) else []
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            v.err("/view/submit", "a modal containing input blocks must provide submit")
    v.string(view.get("callback_id"), "/view/callback_id", 255)
    v.string(view.get("private_metadata"), "/view/private_metadata", 3000)
    v.string(view.get("external_id"), "/view/external_id", 255)
    if sdk and not v.errors:
        return blockkeys.sdk_view_errors(view)
    return v.errors


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request as the fake saw it; tests assert on these instead of mocking the client."""

    method: str
    args: dict[str, Any]
    at: float
    status: int = 200
    error: str | None = None


class _ApiError(Exception):
    """Raised by method handlers to answer HTTP 200 ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _invalid(errors: list[str], error: str = "invalid_arguments") -> _ApiError:
    """Slack puts validation details both in ``errors`` and ``response_metadata.messages``."""
    msgs = [f"[ERROR] {e}" for e in errors]
    return _ApiError(error, errors=errors, response_metadata={"messages": msgs})


Response = tuple[int, dict[str, Any], dict[str, str]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    """Decodes a Web API request (query string + form or JSON body) and hands it to the fake."""

    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, as slack.com; every answer has a length

    def setup(self) -> None:
        super().setup()
        # headers and body are two writes: without this, Nagle's algorithm holds the body
        # back for the client's delayed ACK (40 ms) on a kept-alive connection
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.fake._lock:
            self.server.fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _serve(self, body: bytes) -> None:
        parts = urlsplit(self.path)
        if parts.path.startswith(UPLOAD_PATH):
            status, text = self.server.fake._receive_upload(parts.path[len(UPLOAD_PATH) :], body)
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        bad_body = False
        try:
            if body and "json" in self.headers.get("Content-Type", ""):
                parsed = json.loads(body)
                if not isinstance(parsed, dict):
                    raise ValueError("JSON body must be an object")
                args.update(parsed)
            elif body:
                form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                args.update({k: v[-1] for k, v in form.items()})
        except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
            bad_body = True
        auth = self.headers.get("Authorization", "")
        fake = self.server.fake
        status, payload, headers = fake._dispatch(parts.path, args, auth, bad_body)
        hold = fake.response_delays.get(parts.path.rsplit("/", 1)[-1], 0.0)
        if hold:  # done, but the answer is late: a client that dies now never learns it
            time.sleep(hold)
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, val in headers.items():
            self.send_header(key, val)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)  # a client killed while its answer was held


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


class FakeSlack:
    """In-process Slack Web API on 127.0.0.1 with state, Block Kit checks and fault injection."""

    def __init__(
        self,
        *,
        seed: int = 0,
        bot_user_id: str = "UBOT000001",
        team_id: str = "T0000TEST",
        scopes: str = DEFAULT_SCOPES,
        channels: dict[str, dict] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seed = seed
        # seconds, for trigger expiry; tests may pass a clock they move instead of sleeping
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.scopes = scopes
        self.url = ""
        self.calls: list[Call] = []
        self.connections = 0  # TCP connections accepted (a client keeping them alive reuses)
        self.rejected: list[Call] = []
        self.messages: dict[tuple[str, str], dict] = {}
        self.fail_rate: float = 0.0
        # method -> seconds to hold the answer after the method has acted (delay_responses)
        self.response_delays: dict[str, float] = {}
        # Unknown channels are only an error when the test declared which channels exist.
        self._strict_channels = channels is not None
        self._channels: dict[str, dict] = {k: dict(v) for k, v in (channels or {}).items()}
        self._users: dict[str, dict[str, Any]] = {}
        self._groups: dict[str, list[str]] = {}
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket_mode: Any = None  # started on first use (see the socket_mode property)
        self._clear_state()

    def _clear_state(self) -> None:
        self.calls.clear()
        self.rejected.clear()
        self.messages.clear()
        self.fail_rate = 0.0
        self._rng = random.Random(self.seed)
        self._fail_queue: list[list[Any]] = []  # [remaining, status, method | None]
        self._error_queue: list[list[Any]] = []  # [remaining, error, method]
        self._limits: dict[str | None, tuple[float, int, float]] = {}
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._views: dict[str, dict] = {}
        self._external_ids: dict[str, str] = {}
        self._home_views: dict[str, str] = {}
        self._used_triggers: set[str] = set()
        self._triggers: dict[str, float] = {}  # trigger id -> when it was issued (clock)
        self._dms: dict[str, str] = {}  # DM channel id -> user id(s)
        # uploads: file id -> {"name", "length", "content", "channel", "thread_ts", ...}
        self.files: dict[str, dict[str, Any]] = {}
        self._last_ts_us = 0
        self._counter = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        """Bind an ephemeral port and serve in a daemon thread; sets ``url``."""
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        # A short poll interval keeps stop() (and so every test fixture teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
        return self

    def stop(self) -> None:
        if self._socket_mode is not None:
            self._socket_mode.stop()
            self._socket_mode = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection and setup -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def reset(self) -> None:
        """Forget calls, faults, messages and views (users/channels/groups stay configured)."""
        with self._lock:
            self._clear_state()

    def thread(self, channel: str, ts: str) -> list[dict]:
        """Replies posted with ``thread_ts == ts`` in ``channel``, oldest first."""
        with self._lock:
            return [
                dict(m)
                for (ch, mts), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1]))
                if ch == channel and m.get("thread_ts") == ts and mts != ts
            ]

    def fail_next(self, n: int, *, status: int = 500, method: str | None = None) -> None:
        """The next ``n`` calls (of ``method`` if given) get HTTP ``status``, unapplied."""
        if not 500 <= status <= 599:
            raise ValueError("status must be a 5xx code")
        with self._lock:
            self._fail_queue.append([n, status, method])

    def error_next(self, method: str, error: str, n: int = 1) -> None:
        """The next ``n`` calls of ``method`` get HTTP 200 ``{"ok": false, "error": error}``."""
        with self._lock:
            self._error_queue.append([n, error, method])

    def delay_responses(self, method: str, seconds: float) -> None:
        """Act on `method` at once but answer `seconds` later (0 to stop): the window in
        which a client that crashes cannot know whether its call took effect."""
        with self._lock:
            if seconds > 0:
                self.response_delays[method] = seconds
            else:
                self.response_delays.pop(method, None)

    def rate_limit(
        self,
        *,
        per_second: float,
        retry_after: int = 1,
        method: str | None = None,
        burst: float | None = None,
    ) -> None:
        """Token bucket per (method, channel), burst ``max(1, per_second)`` unless given
        (Slack's "short bursts" for posts); excess gets 429."""
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            cap = max(1.0, per_second if burst is None else burst)
            self._limits[method] = (per_second, retry_after, cap)
            self._buckets.clear()

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        with self._lock:
            self._groups[group_id] = list(users)

    def set_user(self, user_id: str, **profile: Any) -> None:
        """Top-level user fields (name, real_name, tz, is_bot, ...) or profile fields (email...)."""
        with self._lock:
            self._users.setdefault(user_id, {}).update(profile)

    def set_channel(
        self, channel_id: str, *, name: str, members: list[str], is_private: bool = False
    ) -> None:
        with self._lock:
            self._channels.setdefault(channel_id, {}).update(
                name=name, members=list(members), is_private=is_private
            )

    def issue_trigger(self) -> str:
        """A trigger id as Slack puts in an interaction payload; views.open/push accept it
        once, within TRIGGER_SECONDS of now on `clock`."""
        with self._lock:
            trigger = f"{self._next_id('')}.{int(time.time())}.{uuid.uuid4().hex[:10]}"
            self._triggers[trigger] = self.clock()
            return trigger

    # -- request pipeline -----------------------------------------------------------------------

    def _dispatch(self, path: str, raw: dict[str, Any], auth: str, bad_body: bool) -> Response:
        """Auth, then faults (HTTP fault, fail_rate, rate limit, error_next), then the method."""
        method = path[len("/api/") :] if path.startswith("/api/") else path.strip("/")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        token = token or str(raw.get("token") or "")
        args = {k: v for k, v in raw.items() if k != "token"}
        for key in JSON_FIELDS & args.keys():
            if isinstance(args[key], str) and args[key][:1] in ("[", "{"):
                with contextlib.suppress(ValueError):  # leave it as-is; validation reports it
                    args[key] = json.loads(args[key])
        call = Call(method=method, args=args, at=time.monotonic())
        with self._lock:
            if bad_body:
                return self._reject(call, 200, "invalid_form_data")
            if not token:
                return self._reject(call, 200, "not_authed")
            if not token.startswith(("xox", "xapp-")):
                return self._reject(call, 200, "invalid_auth")
            # apps.connections.open takes the app-level token, and no other method does
            if token.startswith("xapp-") != (method == "apps.connections.open"):
                return self._reject(call, 200, "not_allowed_token_type")
            needed = missing_scope(method, set(self.scopes.split(",")))
            if needed:
                return self._reject(
                    call, 200, "missing_scope", extra={"needed": needed, "provided": self.scopes}
                )
            status = self._take_fault(method)
            if status:
                return self._reject(call, status, f"http_{status}")
            retry_after = self._throttled(method, str(args.get("channel") or ""))
            if retry_after is not None:
                return self._reject(call, 429, "ratelimited", {"Retry-After": str(retry_after)})
            error = self._take_error(method)
            if error:
                return self._reject(call, 200, error)
            # Only ``_api_<method with dots as underscores>`` attributes are reachable from HTTP.
            handler = getattr(self, "_api_" + method.replace(".", "_"), None)
            if handler is None:
                return self._reject(call, 200, "unknown_method")
            try:
                result = handler(args)
            except _ApiError as exc:
                return self._reject(call, 200, exc.error, extra=exc.extra)
            self.calls.append(call)
            return 200, {"ok": True, **result}, self._headers()

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        # Real Slack sends the token's scopes on every response; slack_sdk exposes resp.headers.
        return {"x-oauth-scopes": self.scopes, **(extra or {})}

    def _reject(
        self,
        call: Call,
        status: int,
        error: str,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        call.status, call.error = status, error
        self.rejected.append(call)
        return status, {"ok": False, "error": error, **(extra or {})}, self._headers(headers)

    def _take_fault(self, method: str) -> int:
        for entry in self._fail_queue:
            if entry[0] > 0 and entry[2] in (None, method):
                entry[0] -= 1
                return int(entry[1])
        if self.fail_rate > 0 and self._rng.random() < self.fail_rate:
            return 500
        return 0

    def _take_error(self, method: str) -> str:
        for entry in self._error_queue:
            if entry[0] > 0 and entry[2] == method:
                entry[0] -= 1
                return str(entry[1])
        return ""

    def _throttled(self, method: str, channel: str) -> int | None:
        cfg = self._limits.get(method) or self._limits.get(None)
        if cfg is None:
            return None
        rate, retry_after, cap = cfg
        now, key = time.monotonic(), (method, channel)
        tokens, last = self._buckets.get(key, (cap, now))
        tokens = min(cap, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return retry_after
        self._buckets[key] = (tokens - 1, now)
        return None

    # -- helpers --------------------------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter:09d}"

    def _next_ts(self) -> str:
        """Slack ts strings: unique, increasing, ``seconds.microseconds``."""
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _dm_for(self, users: str) -> str:
        """Stable DM id per user (``U123`` -> ``D123``); multi-person DMs get a ``G`` id."""
        for dm, who in self._dms.items():
            if who == users:
                return dm
        dm = f"D{users[1:]}" if "," not in users else self._next_id("G")
        self._dms[dm] = users
        return dm

    def _channel(self, args: dict[str, Any], key: str = "channel") -> str:
        """Resolve ``channel`` like Slack: ids, ``#names``, and user ids (-> their DM)."""
        raw = str(args.get(key) or "")
        if not raw:
            raise _ApiError("channel_not_found")
        if _USER_ID.fullmatch(raw):
            return self._dm_for(raw)
        if raw in self._channels or _DM_ID.fullmatch(raw):
            return raw
        for cid, info in self._channels.items():
            if info.get("name") == raw.lstrip("#"):
                return cid
        if self._strict_channels:
            raise _ApiError("channel_not_found")
        return raw

    def _member_of(self, channel: str, method: str) -> None:
        """Slack: a bot writes only where it is a member (not_in_channel), except that
        chat:write.public lets chat.postMessage into a public channel. DMs are the bot's."""
        info = self._channels.get(channel)
        if info is None or self.bot_user_id in info.get("members", []):
            return
        public_write = "chat:write.public" in self.scopes.split(",")
        if public_write and method in PUBLIC_WRITE_METHODS and not info.get("is_private"):
            return
        raise _ApiError("channel_not_found" if info.get("is_private") else "not_in_channel")

    def _check_content(self, args: dict[str, Any]) -> None:
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            raise _ApiError("no_text")
        if len(str(args.get("text") or "")) > 40000:
            raise _ApiError("msg_too_long")
        if args.get("blocks"):
            errors = validate_blocks(args["blocks"], surface="message")
            if errors:
                raise _invalid(errors, "invalid_blocks")

    @staticmethod
    def _public(msg: dict) -> dict:
        """A message as Slack returns it (no channel key, no null thread_ts)."""
        return {k: v for k, v in msg.items() if k != "channel" and v is not None}

    # -- methods --------------------------------------------------------------------------------

    def _api_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Test",
            "user": "complaintbot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._member_of(channel, "chat.postMessage")
        self._check_content(args)
        ts = self._next_ts()
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        msg = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": args.get("text") or "",
            "blocks": args.get("blocks") or [],
            "thread_ts": thread_ts,
            "user": self.bot_user_id,
            "bot_id": BOT_ID,
            "team": self.team_id,
        }
        if isinstance(args.get("metadata"), dict):  # returned with include_all_metadata
            meta = args["metadata"]
            if not isinstance(meta.get("event_type"), str) or not isinstance(
                meta.get("event_payload"), dict
            ):
                raise _ApiError("invalid_metadata_format")
            msg["metadata"] = {
                "event_type": meta["event_type"],
                "event_payload": meta["event_payload"],
            }
        parent = self.messages.get((channel, thread_ts or ""))
        if parent is not None:  # Slack marks the parent as a thread root and counts replies.
            parent["thread_ts"] = thread_ts
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = ts
        self.messages[(channel, ts)] = msg
        return {"channel": channel, "ts": ts, "message": self._public(msg)}

    def _api_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        self._member_of(channel, "chat.update")
        ts = str(args.get("ts") or "")
        msg = self.messages.get((channel, ts))
        if msg is None:
            raise _ApiError("message_not_found")
        self._check_content(args)
        for key in ("text", "blocks"):
            if key in args:
                msg[key] = args[key] or ("" if key == "text" else [])
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel, "ts": ts, "text": msg["text"], "message": self._public(msg)}

    def _api_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._member_of(self._channel(args), "chat.postEphemeral")
        if not args.get("user"):
            raise _ApiError("user_not_found")
        self._check_content(args)
        return {"message_ts": self._next_ts()}

    def _api_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("message_ts") or "")
        if not ts:
            raise _ApiError("message_not_found")
        link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        msg = self.messages.get((channel, ts))
        if msg is not None and msg.get("thread_ts") not in (None, ts):
            link += f"?thread_ts={msg['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _check_view(self, args: dict[str, Any], kind: str) -> dict:
        view = args.get("view")
        errors = validate_view(view) if view is not None else ["missing required field: view"]
        if not errors and view.get("type") != kind:
            errors = [f"type must be {kind} [json-pointer:/view/type]"]
        if errors:
            raise _invalid(errors)
        return view

    def _store_view(self, view: dict, view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or self._next_id("V")
        old = self._views.get(view_id, {})
        stored = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{self._next_id('h')}",
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "external_id": view.get("external_id", ""),
            "previous_view_id": None,
            "root_view_id": old.get("root_view_id", view_id),
            "app_id": APP_ID,
            "app_installed_team_id": self.team_id,
            "bot_id": BOT_ID,
        }
        self._views[view_id] = stored
        if stored["external_id"]:
            self._external_ids[stored["external_id"]] = view_id
        return {"view": json.loads(json.dumps(stored))}

    def _use_trigger(self, args: dict[str, Any], kind: str) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or "")
        if not trigger:
            raise _invalid(["missing required field: trigger_id"])
        if trigger in self._used_triggers:
            raise _ApiError("exchanged_trigger_id")
        issued = self._triggers.get(trigger)
        if issued is None:
            raise _ApiError("invalid_trigger_id")
        if self.clock() - issued > TRIGGER_SECONDS:
            raise _ApiError("expired_trigger_id")
        view = self._check_view(args, kind)
        self._used_triggers.add(trigger)  # consumed only when the view was accepted
        return self._store_view(view)

    def _api_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._use_trigger(args, "modal")

    def _api_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._use_trigger(args, "modal")

    def _api_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "")
        external_id = str(args.get("external_id") or "")
        if not view_id and not external_id:
            raise _invalid(["must provide view_id or external_id"])
        view_id = view_id or self._external_ids.get(external_id, "")
        if view_id not in self._views:
            raise _ApiError("not_found")
        if args.get("hash") and args["hash"] != self._views[view_id]["hash"]:
            raise _ApiError("hash_conflict")
        return self._store_view(self._check_view(args, self._views[view_id]["type"]), view_id)

    def _api_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        if not user:
            raise _invalid(["missing required field: user_id"])
        result = self._store_view(self._check_view(args, "home"), self._home_views.get(user))
        self._home_views[user] = result["view"]["id"]
        return result

    def _api_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            return {"channel": {"id": self._channel(args)}, "already_open": True}
        users = args.get("users")
        users = ",".join(users) if isinstance(users, list) else str(users or "")
        if not users:
            raise _ApiError("users_list_not_supplied")
        return {"channel": {"id": self._dm_for(users)}, "no_op": False, "already_open": False}

    def _api_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = str(args.get("channel") or "")
        if cid in self._dms:
            user = self._dms[cid]
            is_im = cid.startswith("D")
            return {"channel": {"id": cid, "is_im": is_im, "is_mpim": not is_im, "user": user}}
        if cid not in self._channels:
            raise _ApiError("channel_not_found")
        info = self._channels[cid]
        members = list(info.get("members", []))
        private = bool(info.get("is_private", False))
        channel = {
            "id": cid,
            "name": info.get("name", cid.lower()),
            "is_channel": not private,
            "is_group": private,
            "is_im": False,
            "is_private": private,
            "is_archived": False,
            "is_member": info.get("is_member", self.bot_user_id in members),
            "num_members": len(members),
        }
        channel.update({k: v for k, v in info.items() if k != "members"})
        return {"channel": channel}

    def _api_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = str(args.get("channel") or "")
        if cid in self._dms:
            members = self._dms[cid].split(",") + [self.bot_user_id]
        elif cid in self._channels:
            members = list(self._channels[cid].get("members", []))
        else:
            raise _ApiError("channel_not_found")
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def _api_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(args), str(args.get("ts") or "")
        parent = self.messages.get((channel, ts))
        msgs = ([parent] if parent else []) + list(self.thread(channel, ts))
        if not msgs:
            raise _ApiError("thread_not_found")
        meta = _truthy(args.get("include_all_metadata"))
        return {
            "messages": [self._listed(m, meta) for m in msgs],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _api_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Top-level messages of a channel, newest first, `oldest`/`latest`/`limit` as
        Slack reads them (no cursor: `has_more` says when the limit cut the list)."""
        channel = self._channel(args)
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        limit = min(999, int(args.get("limit") or 100))
        msgs = sorted(
            (
                m
                for (ch, ts), m in list(self.messages.items())
                if ch == channel
                and oldest <= float(ts) <= latest
                and m.get("thread_ts") in (None, ts)
            ),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        meta = _truthy(args.get("include_all_metadata"))
        return {
            "messages": [self._listed(m, meta) for m in msgs[:limit]],
            "has_more": len(msgs) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _listed(self, msg: dict, with_metadata: bool) -> dict:
        out = self._public(msg)
        if not with_metadata:
            out.pop("metadata", None)
        return out

    def _api_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("user") or "")
        if not uid:
            raise _ApiError("user_not_found")
        extra = self._users.get(uid, {})
        name = extra.get("name", f"user_{uid.lower()}")
        real = extra.get("real_name", f"User {uid}")
        user: dict[str, Any] = {
            "id": uid,
            "team_id": self.team_id,
            "name": name,
            "real_name": real,
            "deleted": False,
            "is_bot": uid == self.bot_user_id,
            "is_admin": False,
            "tz": "Asia/Shanghai",
            "tz_label": "China Standard Time",
            "tz_offset": 28800,
        }
        profile = {"real_name": real, "display_name": name, "team": self.team_id}
        for key, val in extra.items():
            if key != "locale":
                (user if key in user else profile)[key] = val
        user["profile"] = profile
        # Slack returns the person's locale only when asked (`include_locale=true`)
        if str(args.get("include_locale", "")).lower() in ("1", "true"):
            user["locale"] = extra.get("locale", "en-US")
        return {"user": user}

    def _api_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup") or "")
        if group not in self._groups:
            raise _ApiError("no_such_subteam")
        return {"users": list(self._groups[group])}

    def _api_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        fid = str(args.get("file") or "")
        if not fid:
            raise _ApiError("file_not_found")
        file = {
            "id": fid,
            "name": f"{fid}.txt",
            "title": fid,
            "mimetype": "text/plain",
            "filetype": "text",
            "size": 0,
            "created": 0,
            "user": self.bot_user_id,
            "is_public": False,
            "url_private": f"https://files.fake.slack.com/files-pri/{self.team_id}-{fid}/file.txt",
        }
        return {"file": file, "comments": [], "response_metadata": {"next_cursor": ""}}

    # -- Socket Mode ----------------------------------------------------------------------------

    @property
    def socket_mode(self) -> Any:
        """The Socket Mode endpoint that `apps.connections.open` leads to (a
        bot.sandbox.socketmode.SocketModeServer), started on first use."""
        with self._lock:
            if self._socket_mode is None:
                from bot.sandbox.socketmode import SocketModeServer

                self._socket_mode = SocketModeServer(app_id=APP_ID).start()
            return self._socket_mode

    def _api_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket_mode.new_url()}

    # -- file uploads (files.getUploadURLExternal -> POST bytes -> completeUploadExternal) ---

    def uploaded(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Completed uploads, oldest first (in ``channel`` if given), with their bytes."""
        with self._lock:
            done = [dict(f) for f in self.files.values() if f.get("completed")]
        return [f for f in done if channel is None or f["channel"] == channel]

    def _receive_upload(self, file_id: str, body: bytes) -> tuple[int, str]:
        with self._lock:
            file = self.files.get(file_id)
            if file is None:
                return 404, "not found"
            if file.get("completed"):
                return 400, "already completed"
            file["content"] = body
            self.calls.append(Call(method="upload", args={"file": file_id}, at=time.monotonic()))
            return 200, f"OK - {len(body)}"

    def _api_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        name, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not name or not length.isdigit():
            raise _invalid(["filename and length are required"])
        fid = self._next_id("F")
        self.files[fid] = {"id": fid, "name": name, "length": int(length), "content": None}
        base = self.url[: -len("api/")] if self.url.endswith("api/") else self.url
        return {"upload_url": f"{base.rstrip('/')}{UPLOAD_PATH}{fid}", "file_id": fid}

    def _api_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if isinstance(files, str):
            try:
                files = json.loads(files)
            except ValueError:
                raise _invalid(["files must be a JSON array"]) from None
        if not isinstance(files, list) or not files:
            raise _invalid(["files is required"])
        channel = self._channel(args, "channel_id") if args.get("channel_id") else None
        out = []
        for f in files:
            file = self.files.get(str((f or {}).get("id")))
            if file is None or file.get("completed"):
                raise _ApiError("file_not_found")
            if file["content"] is None or len(file["content"]) != file["length"]:
                raise _ApiError("file_upload_size_mismatch")
        for f in files:
            file = self.files[str(f["id"])]
            file.update(
                completed=True,
                title=f.get("title") or file["name"],
                channel=channel,
                thread_ts=args.get("thread_ts"),
                comment=args.get("initial_comment"),
            )
            out.append({"id": file["id"], "title": file["title"], "name": file["name"]})
        if channel:  # the files appear as one message, in the thread when one is given
            ts = self._next_ts()
            self.messages[(channel, ts)] = {
                "type": "message",
                "channel": channel,
                "ts": ts,
                "thread_ts": args.get("thread_ts"),
                "user": self.bot_user_id,
                "text": str(args.get("initial_comment") or ""),
                "files": [{"id": f["id"], "name": f["name"]} for f in out],
            }
        return {"files": out}

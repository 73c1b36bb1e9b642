"""The document a renderer lays out: plain data, no database.

Apart from `content.py` (which builds it from a case, and so imports the models and
SQLAlchemy) because the records helper process unpickles it: importing `content` there
would load some 34 MB the helper never uses (bot/records/isolated.py)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from bot.records.words import Words

# ("h", heading) | ("kv", [(label, value)]) | ("p", text) | ("table", headers, rows)
Block = tuple[Any, ...]


@dataclass
class Doc:
    title: str
    ref: str
    version: str
    words: Words
    blocks: list[Block] = field(default_factory=list)

    def digest(self) -> str:
        """First 16 hex digits of the SHA-256 of the content (not of the PDF bytes, which
        also hold a creation date): two renders of one record show the same hash."""
        raw = json.dumps([self.title, self.ref, self.version, self.blocks], ensure_ascii=False)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]

    def text(self) -> str:
        """Every string of the document, for search and for tests."""
        return json.dumps(self.blocks, ensure_ascii=False)

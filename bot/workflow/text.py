"""What text from Slack becomes before anything stores it.

PostgreSQL refuses NUL in text and JSON, and lone surrogates cannot be encoded as UTF-8:
text that passed validation and was acknowledged would then fail in the worker, and the
complaint Slack was told is accepted would be lost. So every field is cleaned here, once,
at validation, in intake and in every step form (and thread replies): control characters
other than tab and newline are dropped, carriage returns become newlines, and the text is
put in Unicode NFC, so that the same words typed on two keyboards compare equal."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# C0 controls except \t and \n, DEL, C1 controls, and surrogates (which only a forged
# JSON escape can produce: Slack's clients never send them)
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: Any) -> str:
    """Text fit to store: no control characters but tab and newline, NFC."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", _DROP.sub("", text))


def clean_data(value: Any) -> Any:
    """`clean_text` applied to every string inside a form's values (lists, dicts)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [clean_data(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): clean_data(v) for k, v in value.items()}
    return value

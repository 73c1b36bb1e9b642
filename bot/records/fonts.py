"""Which font draws the report, and a prepared cut of it that makes rendering fast.

A CJK font holds some 30,000–50,000 glyphs, and fpdf2 reads all of them each time a PDF
uses the font: seconds per report. So the font is cut once (per machine, kept in the
temporary directory) to the characters reports use nearly always: Latin, punctuation
and the 6,763 hanzi of GB 2312. A report then reads only that cut, and only a report
with a rarer character also loads the whole font, for those characters. Either way the
PDF embeds a subset: only the glyphs it shows, with a ToUnicode map so its text can be
searched and copied. `.ci/run` and the Dockerfile install Debian's fonts-wqy-microhei."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading

# TrueType fonts with CJK and Latin glyphs, by Debian package; the first one found is used
SEARCH = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",  # macOS
    "C:/Windows/Fonts/simsun.ttc",  # Windows
)
CUT_VERSION = "1"
_lock = threading.Lock()
_cuts: dict[str, tuple[str, frozenset[int]]] = {}


class FontMissing(RuntimeError):
    pass


def find_font(configured: str = "") -> str:
    """REPORT_FONT when set, else the first font of SEARCH that exists."""
    if configured:
        if not os.path.isfile(configured):
            raise FontMissing(f"REPORT_FONT {configured!r} is not a file")
        return configured
    for path in SEARCH:
        if os.path.isfile(path):
            return path
    raise FontMissing(
        "no font with Chinese glyphs found: install Debian's fonts-wqy-microhei "
        "(apt-get install fonts-wqy-microhei) or set REPORT_FONT to a .ttf/.ttc file"
    )


def common_characters() -> list[int]:
    """Latin, punctuation, CJK punctuation, full-width forms and GB 2312's hanzi."""
    cps = [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2000, 0x2070)]
    cps += [*range(0x2190, 0x2200), *range(0x2460, 0x2500), *range(0x25A0, 0x2600)]
    cps += [*range(0x3000, 0x3040), *range(0xFF00, 0xFFF0)]
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                cps.append(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return cps


def prepared(font: str) -> tuple[str, frozenset[int]]:
    """The cut of `font` (its path, and the characters it has), made on first use."""
    with _lock:
        hit = _cuts.get(font)
        if hit is not None:
            return hit
        st = os.stat(font)
        key = hashlib.sha256(f"{font}|{st.st_size}|{st.st_mtime_ns}|{CUT_VERSION}".encode())
        folder = os.path.join(tempfile.gettempdir(), "complaint-desk-fonts")
        path = os.path.join(folder, key.hexdigest()[:24] + ".ttf")
        if not os.path.isfile(path):
            os.makedirs(folder, exist_ok=True)
            _cut(font, path)
        _cuts[font] = (path, _characters(path))
        return _cuts[font]


def font_for(font: str, characters: set[str]) -> str:
    """The font file a document is drawn with: the prepared cut when it has every
    character; else a cut of the whole font to just these characters (slower, rare)."""
    cut, has = prepared(font)
    wanted = {ord(c) for c in characters if c >= " "}
    if wanted <= has:
        return cut
    key = hashlib.sha256(f"{font}|{sorted(wanted)}".encode()).hexdigest()[:24]
    path = os.path.join(os.path.dirname(cut), f"doc-{key}.ttf")
    if not os.path.isfile(path):
        _cut(font, path, sorted(wanted | has))
    return path


def _cut(font: str, path: str, characters: list[int] | None = None) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    tt = TTFont(font, fontNumber=0, lazy=True, recalcTimestamp=False)
    opts = subset.Options()
    opts.notdef_outline = True
    opts.name_IDs = ["*"]
    opts.layout_features = []
    opts.hinting = False
    opts.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(opts)
    subsetter.populate(unicodes=characters or common_characters())
    subsetter.subset(tt)
    part = f"{path}.{os.getpid()}.part"  # two processes may cut at once: the last rename wins
    tt.save(part)
    os.replace(part, path)


def _characters(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(path, lazy=True).getBestCmap())

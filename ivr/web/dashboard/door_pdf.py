"""The door-to-door list as a PDF to print, drawn with fpdf2 and a CJK font from the system.

fpdf2 is pure Python and embeds only the glyphs used, so the file stays small and no browser
runs on the server; the font is ``PINGAN_PDF_FONT`` (Debian's Noto Sans CJK by default).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from fontTools.ttLib import TTCollection
from fpdf import FPDF

from ivr.web.dashboard.door_data import Building

Words = Callable[[str], str]  # a code (colour, need, heading) → the viewer's words
FONT = "cjk"
_SIMPLIFIED = " SC"  # the face of a Noto CJK collection for simplified Chinese


class FontMissing(RuntimeError):
    """No usable CJK font: the PDF would print boxes instead of Chinese."""


@functools.cache
def face_number(path: str) -> int:
    """Which face of a font collection to use (0 for a single font)."""
    if not path.lower().endswith(".ttc"):
        return 0
    for number, font in enumerate(TTCollection(path).fonts):
        if _SIMPLIFIED in str(font["name"].getDebugName(1)):
            return number
    return 0


def render(title: str, buildings: list[Building], words: Words, font: str) -> bytes:
    if not Path(font).is_file():
        raise FontMissing(font)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font(FONT, fname=font, collection_font_number=face_number(font))
    pdf.add_page()
    pdf.set_font(FONT, size=15)
    pdf.cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    for building in buildings:
        pdf.set_font(FONT, size=12)
        pdf.cell(0, 8, building.name or words("no_building"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, size=10)
        for door in building.doors:
            line = "　".join(
                part
                for part in (
                    "□",
                    door.door or door.address,
                    door.name or "",
                    words(door.colour),
                    words("visit") if door.visit else "",
                    " ".join(words(n) for n in door.deliveries),
                    words("garbage") if door.garbage_order else "",
                )
                if part
            )
            pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())

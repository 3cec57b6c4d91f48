"""Printable tickets: the QR code of a ticket as SVG and a one-page A4 PDF.

Pure functions of their inputs (no database, no I/O except reading a system font once).

Fonts: fpdf2's core fonts only cover windows-1252, so the PDF embeds DejaVu Sans (regular, bold and
mono) when the machine has it (``fonts-dejavu-core`` on Debian/Ubuntu, ``dejavu-sans-fonts`` on
Fedora) and falls back to the core Helvetica/Courier otherwise. Either way every text is first
reduced to characters the chosen font can draw: letters it lacks are transliterated where that is
lossless enough ("Łódź" -> "Lódz" with the core fonts) and replaced by "?" otherwise (CJK and emoji
with either font), so no input can make rendering fail or leave invisible glyphs. Right-to-left
scripts are drawn unshaped in logical order (fpdf2 shapes text only with the optional uharfbuzz).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF
from fpdf.drawing import PaintedPath
from fpdf.enums import Align, PathPaintRule, WrapMode, XPos, YPos
from fpdf.fonts import TTFFont


@dataclass(frozen=True, slots=True)
class PrintableTicket:
    code: str  # the ticket's secret code (what the QR encodes)
    ticket_id: str
    event_title: str
    starts_at: datetime  # aware, UTC
    ends_at: datetime
    timezone: str  # IANA zone of the event: local times are shown in it
    venue: str | None  # "Name, Address, City" already joined, or None for an online event
    online_url: str | None
    attendee_name: str
    ticket_type_name: str
    price_label: str  # e.g. "EUR 25.00" or "Free", formatted by the caller
    order_id: str
    organizer: str


# --- QR code -------------------------------------------------------------------------------------

QR_ERROR = "m"
QR_BORDER = 4  # modules of quiet zone on every side (the minimum the QR specification asks for)
SVG_SCALE = 8  # pixels per module in the SVG's width/height; the drawing itself is vector


def _qr(code: str) -> segno.QRCode:
    """The QR code (never a Micro QR, which phone scanners rarely read) at error level M."""
    if not code:
        raise ValueError("a ticket code must not be empty")
    return segno.make_qr(code, error=QR_ERROR, boost_error=False)


def _runs(matrix: tuple[bytearray, ...]) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as ``(row, column, length)``, symbol coordinates."""
    runs: list[tuple[int, int, int]] = []
    for row, line in enumerate(matrix):
        col, size = 0, len(line)
        while col < size:
            if line[col]:
                start = col
                while col < size and line[col]:
                    col += 1
                runs.append((row, start, col - start))
            else:
                col += 1
    return runs


def qr_svg(code: str) -> bytes:
    """The QR code of ``code`` as a standalone SVG document (UTF-8, no external references).

    One unit of the viewBox is one module; the quiet zone is painted white so that the code stays
    scannable on dark backgrounds, and ``crispEdges`` keeps module edges sharp when scaled.
    """
    qr = _qr(code)
    side = len(qr.matrix) + 2 * QR_BORDER
    path = "".join(
        f"M{col + QR_BORDER} {row + QR_BORDER}h{length}v1h-{length}z"
        for row, col, length in _runs(qr.matrix)
    )
    svg = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" viewBox="0 0 {side} {side}"'
        f' width="{side * SVG_SCALE}" height="{side * SVG_SCALE}" shape-rendering="crispEdges">'
        "<title>Ticket code</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path fill="#000" d="{path}"/>'
        "</svg>\n"
    )
    return svg.encode()


# --- Text that the font can draw -----------------------------------------------------------------

# Letters without a Unicode decomposition, and punctuation, for fonts that lack them.
_TRANSLITERATIONS = {
    **dict(zip("ŁłĐđĦħıŦŧŊŋÐðØø‘’‚“”„–—−•×", "LlDdHhiTtNnDdOo'',\"\"\"---*x", strict=True)),  # noqa: RUF001
    "Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "ß": "ss", "Þ": "Th", "þ": "th",
    "…": "...", "€": "EUR", "→": "->", "←": "<-",
}  # fmt: skip
_REPLACEMENT = "?"
_DROPPED_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})  # format, surrogate, private, unassigned
_MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me"})


def _is_emoji_modifier(char: str) -> bool:
    return "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tones, meaningless on their own


def clean_text(text: str) -> str:
    """One line of text: no control or format characters, no lone surrogates, single spaces."""
    kept = []
    for char in unicodedata.normalize("NFC", text):
        category = unicodedata.category(char)
        if category == "Cc" or category in {"Zl", "Zp"}:
            kept.append(" ")
        elif category not in _DROPPED_CATEGORIES:
            kept.append(char)
    return " ".join("".join(kept).split())


def fit_text(text: str, supported: Callable[[str], bool]) -> str:
    """``text`` cleaned and reduced to the characters ``supported`` accepts (never raises)."""
    out: list[str] = []
    for char in clean_text(text):
        if supported(char):
            out.append(char)
        elif unicodedata.category(char) in _MARK_CATEGORIES or _is_emoji_modifier(char):
            continue  # an accent or variation selector the font lacks: the base letter stays
        elif (swap := _TRANSLITERATIONS.get(char)) is not None and all(map(supported, swap)):
            out.append(swap)
        else:
            decomposed = "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if unicodedata.category(part) not in _MARK_CATEGORIES
            )
            if decomposed.strip() and all(map(supported, decomposed)):
                out.append(decomposed)
            else:
                out.append(_REPLACEMENT)
    return "".join(out)


# --- Fonts ---------------------------------------------------------------------------------------

FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
    Path("/opt/homebrew/share/fonts"),
)
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "mono": "DejaVuSansMono.ttf"}
_SANS, _MONO = "ticket-sans", "ticket-mono"
_CORE_ENCODING = "windows-1252"


@functools.cache
def unicode_font_files() -> dict[str, Path] | None:
    """DejaVu Sans regular, bold and mono on this machine, or None when one is missing or broken.

    Looked up once per process; a trial load makes sure fpdf2 can read the files.
    """
    wanted = set(_FONT_FILES.values())
    found: dict[str, Path] = {}
    for root in FONT_DIRS:
        try:
            for path in sorted(root.rglob("DejaVuSans*.ttf")):
                if path.name in wanted and path.is_file():
                    found.setdefault(path.name, path)
        except OSError:
            continue
    if not wanted <= found.keys():
        return None
    files = {style: found[name] for style, name in _FONT_FILES.items()}
    try:
        _add_fonts(FPDF(), files)
    except Exception:  # a truncated or unreadable file: the core fonts will do
        return None
    return files


def _add_fonts(pdf: FPDF, files: dict[str, Path]) -> None:
    pdf.add_font(_SANS, "", files[""])
    pdf.add_font(_SANS, "B", files["B"])
    pdf.add_font(_MONO, "", files["mono"])


@dataclass(frozen=True, slots=True)
class _Fonts:
    sans: str
    mono: str
    sans_supports: Callable[[str], bool]
    mono_supports: Callable[[str], bool]


def _core_supports(char: str) -> bool:
    try:
        char.encode(_CORE_ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _ttf_supports(pdf: FPDF, family: str) -> Callable[[str], bool]:
    font = pdf.fonts[family]
    assert isinstance(font, TTFFont)
    cmap = frozenset(font.cmap)
    return lambda char: ord(char) in cmap


def _load_fonts(pdf: FPDF) -> _Fonts:
    files = unicode_font_files()
    if files is not None:
        _add_fonts(pdf, files)
        return _Fonts(_SANS, _MONO, _ttf_supports(pdf, _SANS), _ttf_supports(pdf, _MONO))
    pdf.core_fonts_encoding = _CORE_ENCODING
    return _Fonts("helvetica", "courier", _core_supports, _core_supports)


# --- Dates ---------------------------------------------------------------------------------------

_EN_DASH = "\u2013"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _zone(name: str) -> tuple[tzinfo, str]:
    try:
        return ZoneInfo(name), name
    except (KeyError, ValueError, OSError):  # unknown or malformed: show UTC and say so
        return UTC, "UTC"


def _day(moment: datetime) -> str:
    weekday, month = _WEEKDAYS[moment.weekday()], _MONTHS[moment.month - 1]
    return f"{weekday}, {moment.day} {month} {moment.year}"


def _local(moment: datetime, zone: tzinfo) -> datetime:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone)


def format_when(starts_at: datetime, ends_at: datetime, timezone: str) -> tuple[str, str]:
    """The local date/time range (lines separated by newlines) and the line naming the zone."""
    zone, zone_name = _zone(timezone)
    start, end = _local(starts_at, zone), _local(ends_at, zone)
    if start.date() == end.date():
        when = f"{_day(start)}\n{start:%H:%M} {_EN_DASH} {end:%H:%M}"
    else:
        when = f"{_day(start)}, {start:%H:%M} {_EN_DASH}\n{_day(end)}, {end:%H:%M}"
    abbreviations = list(dict.fromkeys(a for a in (start.tzname(), end.tzname()) if a))
    if abbreviations and abbreviations != [zone_name]:
        return when, f"Local time, {zone_name} ({' / '.join(abbreviations)})"
    return when, f"Local time, {zone_name}"


# --- PDF -----------------------------------------------------------------------------------------

_PAGE_W = 210.0  # A4, mm
_MARGIN = 15.0
_CONTENT_W = _PAGE_W - 2 * _MARGIN
_QR_BOX = 64.0  # the QR code including its quiet zone; the symbol itself is >= 46 mm
_GAP = 6.0
_TEXT_W = _CONTENT_W - _QR_BOX - _GAP
_INK = (20, 20, 20)
_MUTED = (105, 105, 105)
_SAFE_URL = re.compile(r"https?://[\x21-\x7e]+")


class _Writer:
    def __init__(self, pdf: FPDF, fonts: _Fonts) -> None:
        self.pdf = pdf
        self.fonts = fonts

    def font(self, size: float, *, bold: bool = False, mono: bool = False) -> None:
        family = self.fonts.mono if mono else self.fonts.sans
        self.pdf.set_font(family, "B" if bold and not mono else "", size)

    def supports(self, *, mono: bool) -> Callable[[str], bool]:
        return self.fonts.mono_supports if mono else self.fonts.sans_supports

    def lines(
        self, text: str, width: float, max_lines: int, wrap: WrapMode, *, mono: bool
    ) -> list[str]:
        """``text`` (already fitted, current font) wrapped to ``width``, cut with an ellipsis.

        Words longer than a line are broken between characters; ``WrapMode.CHAR`` breaks anywhere
        (codes, ids, URLs). Wrapping stops once the line budget is exceeded, so the cost is bounded
        whatever the length of the input.
        """
        width_of = self.pdf.get_string_width
        lines: list[str] = []
        for paragraph in text.split("\n"):
            line = ""
            words = list(paragraph) if wrap is WrapMode.CHAR else paragraph.split(" ")
            for word in words:
                joined = f"{line} {word}" if line and wrap is not WrapMode.CHAR else line + word
                if width_of(joined) <= width:
                    line = joined
                    continue
                if line:
                    lines.append(line)
                    line = ""
                for char in word:  # a word that does not fit on a line of its own
                    if line and width_of(line + char) > width:
                        lines.append(line)
                        line = ""
                    line += char
                if len(lines) > max_lines:
                    break
            lines.append(line)
            if len(lines) > max_lines:
                break
        if len(lines) <= max_lines:
            return lines
        ellipsis = "…" if self.supports(mono=mono)("…") else "..."
        last = lines[max_lines - 1].rstrip()
        while last and width_of(last + ellipsis) > width:
            last = last[:-1].rstrip()
        return [*lines[: max_lines - 1], last + ellipsis]

    def block(
        self,
        text: str,
        *,
        x: float,
        width: float,
        size: float,
        max_lines: int,
        bold: bool = False,
        mono: bool = False,
        color: tuple[int, int, int] = _INK,
        align: Align = Align.L,
        wrap: WrapMode = WrapMode.WORD,
        link: str = "",
    ) -> None:
        """Draw ``text`` at (x, current y) in at most ``max_lines`` lines; y moves below it."""
        self.font(size, bold=bold, mono=mono)
        self.pdf.set_text_color(*color)
        fitted = "\n".join(fit_text(part, self.supports(mono=mono)) for part in text.split("\n"))
        line_height = size * 0.45  # pt to mm is 0.353; leave some leading
        for line in self.lines(fitted or "-", width, max_lines, wrap, mono=mono):
            self.pdf.set_x(x)
            self.pdf.cell(
                width, line_height, line, align=align, link=link,
                new_x=XPos.LEFT, new_y=YPos.NEXT,
            )  # fmt: skip

    def field(
        self,
        label: str,
        value: str,
        *,
        size: float,
        max_lines: int,
        bold: bool = False,
        wrap: WrapMode = WrapMode.WORD,
        note: str = "",
        note_wrap: WrapMode = WrapMode.WORD,
        note_link: str = "",
    ) -> None:
        """A small grey label, the value and optionally a grey note line, in the left column."""
        self.block(label.upper(), x=_MARGIN, width=_TEXT_W, size=7.5, max_lines=1, color=_MUTED)
        self.pdf.set_y(self.pdf.get_y() + 0.6)
        self.block(
            value, x=_MARGIN, width=_TEXT_W, size=size, max_lines=max_lines, bold=bold, wrap=wrap
        )
        if note:
            self.pdf.set_y(self.pdf.get_y() + 0.6)
            self.block(
                note, x=_MARGIN, width=_TEXT_W, size=9, max_lines=2, color=_MUTED,
                wrap=note_wrap, link=note_link,
            )  # fmt: skip
        self.pdf.set_y(self.pdf.get_y() + 3.2)


def _draw_qr(pdf: FPDF, code: str, x: float, y: float) -> None:
    """The QR code as one filled vector path filling the ``_QR_BOX`` square at (x, y)."""
    qr = _qr(code)
    module = _QR_BOX / (len(qr.matrix) + 2 * QR_BORDER)
    origin_x, origin_y = x + QR_BORDER * module, y + QR_BORDER * module
    path = PaintedPath()
    path.style.paint_rule = PathPaintRule.FILL_NONZERO
    path.style.fill_color = "#000000"
    for row, col, length in _runs(qr.matrix):
        path.rectangle(origin_x + col * module, origin_y + row * module, length * module, module)
    with pdf.drawing_context() as context:  # one path: no hairline seams between modules
        context.add_item(path, clone=False)


def ticket_pdf(ticket: PrintableTicket, *, compress: bool = True) -> bytes:
    """A one-page A4 ticket to print or show at the door. ``compress=False`` eases inspection."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_compression(compress)
    pdf.set_auto_page_break(auto=False)  # every block is capped in lines: one page, always
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.c_margin = 0
    title = clean_text(ticket.event_title) or "Ticket"
    pdf.set_title(f"Ticket: {title}")
    pdf.set_subject(f"Ticket {clean_text(ticket.ticket_id)} for {title}")
    pdf.set_author(clean_text(ticket.organizer))
    pdf.set_creator("Boxoffice")
    fonts = _load_fonts(pdf)
    pdf.add_page()
    out = _Writer(pdf, fonts)

    # Header: what this is, then the event title.
    pdf.set_y(_MARGIN)
    out.block("E-TICKET", x=_MARGIN, width=_CONTENT_W, size=9, bold=True, max_lines=1, color=_MUTED)
    pdf.set_y(pdf.get_y() + 2)
    out.block(ticket.event_title, x=_MARGIN, width=_CONTENT_W, size=22, bold=True, max_lines=3)
    pdf.set_y(pdf.get_y() + 3)
    pdf.set_draw_color(*_MUTED)
    pdf.set_line_width(0.3)
    pdf.line(_MARGIN, pdf.get_y(), _PAGE_W - _MARGIN, pdf.get_y())
    body_top = pdf.get_y() + 6

    # Right column: the QR code and the code itself, for typing in when a scan fails.
    qr_x = _PAGE_W - _MARGIN - _QR_BOX
    _draw_qr(pdf, ticket.code, qr_x, body_top)
    pdf.set_y(body_top + _QR_BOX + 1)
    out.block("Ticket code", x=qr_x, width=_QR_BOX, size=7.5, max_lines=1, color=_MUTED,
              align=Align.C)  # fmt: skip
    pdf.set_y(pdf.get_y() + 0.6)
    out.block(ticket.code, x=qr_x, width=_QR_BOX, size=9, mono=True, max_lines=4,
              align=Align.C, wrap=WrapMode.CHAR)  # fmt: skip

    # Left column: everything a person at the door or the attendee wants to read.
    pdf.set_y(body_top)
    when, zone_line = format_when(ticket.starts_at, ticket.ends_at, ticket.timezone)
    out.field("When", when, size=12, bold=True, max_lines=2, note=zone_line)
    venue = clean_text(ticket.venue or "")
    url = clean_text(ticket.online_url or "")
    out.field(
        "Where", venue or "Online", size=12, max_lines=3, note=url, note_wrap=WrapMode.CHAR,
        note_link=url if _SAFE_URL.fullmatch(url) else "",
    )  # fmt: skip
    out.field("Attendee", ticket.attendee_name, size=14, bold=True, max_lines=2)
    out.field("Ticket type", ticket.ticket_type_name, size=12, max_lines=2)
    out.field("Price", ticket.price_label, size=12, max_lines=1)
    out.field("Organizer", ticket.organizer, size=12, max_lines=2)
    out.field("Order", ticket.order_id, size=10, max_lines=1, wrap=WrapMode.CHAR)
    out.field("Ticket ID", ticket.ticket_id, size=10, max_lines=1, wrap=WrapMode.CHAR)

    # Footer: fixed text, so it cannot collide with anything above.
    pdf.set_y(297 - _MARGIN - 14)
    pdf.line(_MARGIN, pdf.get_y() - 3, _PAGE_W - _MARGIN, pdf.get_y() - 3)
    out.block(
        "Show this ticket at the entrance, printed or on your phone. Each code admits once: "
        "keep it private, anyone holding it can use it.",
        x=_MARGIN, width=_CONTENT_W, size=9, max_lines=3, color=_MUTED,
    )  # fmt: skip
    return bytes(pdf.output())


__all__ = ["PrintableTicket", "qr_svg", "ticket_pdf"]

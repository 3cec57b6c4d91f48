"""Printable tickets: QR codes read back to the ticket code; the PDF is one page whatever the text.

The QR codes are checked with a small decoder written here (versions 1-10, level M, clean symbols)
rather than against segno alone, so a wrong mode, level or drawing would be caught. The PDF text is
read back through the fonts' ToUnicode maps, as a text extractor or screen reader would.
"""

from __future__ import annotations

import logging
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import segno

from boxoffice.ticketing import rendering
from boxoffice.ticketing.rendering import (
    PrintableTicket,
    clean_text,
    fit_text,
    format_when,
    qr_svg,
    ticket_pdf,
)

TOKEN = "Xq3vJ0bK9mLr2sT8uYwZ1aBcDeFgHiJkLmNoPqRsTuV"  # like secrets.token_urlsafe(32)
CODES = [TOKEN, "TICKET-2025-ABC", "0123456789012", "a", "x" * 120]
SVG_NS = "{http://www.w3.org/2000/svg}"


def make_ticket(**changes: object) -> PrintableTicket:
    fields: dict[str, object] = {
        "code": TOKEN,
        "ticket_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
        "event_title": "Open-Air Jazz Night in Zürich",
        "starts_at": datetime(2025, 6, 14, 17, 0, tzinfo=UTC),
        "ends_at": datetime(2025, 6, 14, 21, 30, tzinfo=UTC),
        "timezone": "Europe/Zurich",
        "venue": "Kaufleuten, Pelikanstrasse 18, Zürich",
        "online_url": None,
        "attendee_name": "Zoë Łukasiewicz",
        "ticket_type_name": "Early bird",
        "price_label": "EUR 25.00",
        "order_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "organizer": "Jazz Verein Zürich",
    }
    fields.update(changes)
    return PrintableTicket(**fields)  # type: ignore[arg-type]


# --- A minimal QR decoder -------------------------------------------------------------------------

Matrix = list[list[int]]

ALIGNMENT = {
    1: [], 2: [6, 18], 3: [6, 22], 4: [6, 26], 5: [6, 30], 6: [6, 34],
    7: [6, 22, 38], 8: [6, 24, 42], 9: [6, 26, 46], 10: [6, 28, 50],
}  # fmt: skip
# Level M: error correction codewords per block, data codewords of each block.
BLOCKS_M = {
    1: (10, [16]), 2: (16, [28]), 3: (26, [44]), 4: (18, [32] * 2), 5: (24, [43] * 2),
    6: (16, [27] * 4), 7: (18, [31] * 4), 8: (22, [38] * 2 + [39] * 2),
    9: (22, [36] * 3 + [37] * 2), 10: (26, [43] * 4 + [44]),
}  # fmt: skip
LEVELS = {0b01: "L", 0b00: "M", 0b11: "Q", 0b10: "H"}
MASKS: list[Callable[[int, int], bool]] = [
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
]
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def function_modules(version: int, size: int) -> list[list[bool]]:
    marked = [[False] * size for _ in range(size)]

    def mark(top: int, left: int, height: int, width: int) -> None:
        for r in range(top, top + height):
            for c in range(left, left + width):
                marked[r][c] = True

    mark(0, 0, 9, 9)  # finders with separators and format information
    mark(0, size - 8, 9, 8)
    mark(size - 8, 0, 8, 9)
    mark(6, 0, 1, size)  # timing
    mark(0, 6, size, 1)
    centres = ALIGNMENT[version]
    for r in centres:
        for c in centres:
            if (r, c) not in {(6, 6), (6, centres[-1]), (centres[-1], 6)}:
                mark(r - 2, c - 2, 5, 5)
    if version >= 7:
        mark(0, size - 11, 6, 3)
        mark(size - 11, 0, 3, 6)
    return marked


def format_bits(matrix: Matrix) -> int:
    size = len(matrix)
    first = [matrix[i][8] for i in range(6)] + [matrix[7][8], matrix[8][8], matrix[8][7]]
    first += [matrix[8][14 - i] for i in range(9, 15)]
    second = [matrix[8][size - 1 - i] for i in range(8)]
    second += [matrix[size - 15 + i][8] for i in range(8, 15)]
    assert first == second, "the two copies of the format information differ"
    return sum(bit << i for i, bit in enumerate(second))


def decode_qr(matrix: Matrix) -> tuple[int, str, str]:
    """(version, error correction level, text) of a clean QR symbol of version 1-10."""
    size = len(matrix)
    version = (size - 17) // 4
    assert size == 17 + 4 * version and version in BLOCKS_M
    assert matrix[size - 8][8] == 1, "dark module"
    info = (format_bits(matrix) ^ 0x5412) >> 10
    level, mask = LEVELS[info >> 3], MASKS[info & 7]
    assert level == "M", f"the decoder only knows level M, got {level}"

    function = function_modules(version, size)
    bits: list[int] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = ((right + 1) & 2) == 0
        for vertical in range(size):
            row = size - 1 - vertical if upward else vertical
            for col in (right, right - 1):
                if not function[row][col]:
                    bits.append(matrix[row][col] ^ int(mask(row, col)))
        right -= 2

    ec_per_block, data_lengths = BLOCKS_M[version]
    total = sum(data_lengths) + ec_per_block * len(data_lengths)
    codewords = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, total * 8, 8)]
    blocks: list[list[int]] = [[] for _ in data_lengths]
    stream = iter(codewords)
    for i in range(max(data_lengths)):
        for block, length in zip(blocks, data_lengths, strict=True):
            if i < length:
                block.append(next(stream))
    data = "".join(f"{cw:08b}" for block in blocks for cw in block)

    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        value = int(data[pos : pos + n], 2)
        pos += n
        return value

    text = ""
    while pos + 4 <= len(data) and (mode := take(4)) != 0:
        if mode == 0b0100:
            count = take(8 if version < 10 else 16)
            text += bytes(take(8) for _ in range(count)).decode()
        elif mode == 0b0010:
            count = take(9 if version < 10 else 11)
            for _ in range(count // 2):
                high, low = divmod(take(11), 45)
                text += ALPHANUMERIC[high] + ALPHANUMERIC[low]
            if count % 2:
                text += ALPHANUMERIC[take(6)]
        elif mode == 0b0001:
            count = take(10 if version < 10 else 12)
            for _ in range(count // 3):
                text += f"{take(10):03d}"
            if count % 3 == 2:
                text += f"{take(7):02d}"
            elif count % 3 == 1:
                text += str(take(4))
        else:
            raise AssertionError(f"unexpected mode {mode:04b}")
    return version, level, text


def segno_matrix(code: str) -> Matrix:
    return [list(row) for row in segno.make_qr(code, error="m", boost_error=False).matrix]


# --- Reading the SVG and the PDF back ------------------------------------------------------------


def svg_matrix(svg: bytes) -> tuple[Matrix, int]:
    """The symbol drawn by ``qr_svg`` (quiet zone cut off) and the quiet zone's width."""
    root = ET.fromstring(svg)
    side = int(root.attrib["viewBox"].split()[2])
    grid = [[0] * side for _ in range(side)]
    (path,) = root.iter(f"{SVG_NS}path")
    d = path.attrib["d"]
    runs = re.findall(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z", d)
    assert "".join(f"M{x} {y}h{w}v1h-{w2}z" for x, y, w, w2 in runs) == d
    for x, y, w, _ in runs:
        for col in range(int(x), int(x) + int(w)):
            assert grid[int(y)][col] == 0, "runs overlap"
            grid[int(y)][col] = 1
    dark = [(r, c) for r in range(side) for c in range(side) if grid[r][c]]
    border = min(min(position) for position in dark)
    assert max(max(position) for position in dark) == side - 1 - border
    return [row[border : side - border] for row in grid[border : side - border]], border


def pdf_qr(pdf: bytes) -> tuple[Matrix, float]:
    """The QR symbol drawn in an uncompressed ticket PDF and its side in mm."""
    rects = [
        tuple(map(float, m.groups()))
        for m in re.finditer(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re\b", pdf)
    ]
    assert rects
    module = min(h for _, _, _, h in rects)
    assert all(abs(h - module) < 1e-3 for _, _, _, h in rects)
    left, top = min(x for x, *_ in rects), min(y for _, y, *_ in rects)
    side = max(x + w for x, _, w, _ in rects) - left
    size = round(side / module)
    grid = [[0] * size for _ in range(size)]
    for x, y, w, _ in rects:
        row, col = round((y - top) / module), round((x - left) / module)
        for c in range(col, col + round(w / module)):
            grid[row][c] = 1
    return grid, side


def _unescape(literal: bytes) -> bytes:
    simple = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

    def replace(m: re.Match[bytes]) -> bytes:
        escaped = m.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return simple.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", replace, literal, flags=re.DOTALL)


def pdf_text(pdf: bytes) -> list[tuple[float, str]]:
    """(font size, text) of every string an uncompressed ticket PDF shows, in drawing order."""
    objects = {
        int(m.group(1)): m.group(2)
        for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", pdf, flags=re.DOTALL)
    }

    def stream(number: int) -> bytes:
        body = objects[number]
        return body[body.index(b"stream") + 7 : body.rindex(b"endstream")]

    fonts: dict[bytes, dict[int, str] | None] = {}
    for name, number in re.findall(rb"/(F\d+) (\d+) 0 R", pdf):
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", objects[int(number)])
        if to_unicode is None:
            fonts[name] = None  # a core font: windows-1252 bytes
            continue
        cmap = stream(int(to_unicode.group(1)))
        assert b"beginbfrange" not in cmap
        fonts[name] = {
            int(src, 16): bytes.fromhex(dst.decode()).decode("utf-16-be")
            for src, dst in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap)
        }

    shown: list[tuple[float, str]] = []
    font: dict[int, str] | None = None
    size = 0.0
    for m in re.finditer(rb"/(F\d+) ([\d.]+) Tf|\(((?:\\.|[^\\)])*)\) Tj", pdf, flags=re.DOTALL):
        if m.group(1) is not None:
            font, size = fonts[m.group(1)], float(m.group(2))
            continue
        raw = _unescape(m.group(3))
        if font is None:
            shown.append((size, raw.decode("cp1252")))
        else:
            glyphs = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
            shown.append((size, "".join(font[g] for g in glyphs)))
    return shown


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


def baselines(pdf: bytes) -> list[float]:
    """Heights of the text lines above the bottom of the page, in points."""
    return [float(y) for y in re.findall(rb"BT [\d.]+ ([\d.]+) Td", pdf)]


@pytest.fixture(params=["unicode-font", "core-fonts"])
def font_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "core-fonts":
        monkeypatch.setattr(rendering, "unicode_font_files", lambda: None)
    elif rendering.unicode_font_files() is None:
        pytest.skip("DejaVu Sans is not installed: only the core-font fallback can be tested")
    yield request.param


# --- QR code as SVG ------------------------------------------------------------------------------


class TestQrSvg:
    @pytest.mark.parametrize("code", CODES)
    def test_the_svg_decodes_back_to_the_code_at_level_m(self, code: str) -> None:
        matrix, border = svg_matrix(qr_svg(code))

        assert decode_qr(matrix)[1:] == ("M", code)
        assert matrix == segno_matrix(code)
        assert border == 4

    def test_it_is_a_standalone_svg_document_sized_in_whole_pixels_per_module(self) -> None:
        svg = qr_svg(TOKEN)
        root = ET.fromstring(svg)
        side = len(segno_matrix(TOKEN)) + 8

        assert svg.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        assert root.tag == f"{SVG_NS}svg"
        assert root.attrib["viewBox"] == f"0 0 {side} {side}"
        assert root.attrib["width"] == root.attrib["height"] == str(side * 8)
        assert root.attrib["shape-rendering"] == "crispEdges"
        background = root.find(f"{SVG_NS}rect")
        assert background is not None
        assert background.attrib["fill"] == "#fff"  # the quiet zone is white, not transparent
        attributes = " ".join(" ".join(e.attrib) for e in root.iter())
        assert "href" not in attributes
        assert b"url(" not in svg
        assert {e.tag for e in root.iter()} == {
            f"{SVG_NS}{t}" for t in ("svg", "title", "rect", "path")
        }

    def test_different_codes_give_different_svgs_and_the_same_code_the_same(self) -> None:
        assert qr_svg("code-a") != qr_svg("code-b")
        assert qr_svg(TOKEN) == qr_svg(TOKEN)

    def test_short_numeric_codes_are_full_qr_codes_not_micro_qr(self) -> None:
        matrix, _ = svg_matrix(qr_svg("123"))

        assert len(matrix) == 21
        assert decode_qr(matrix) == (1, "M", "123")

    def test_an_empty_code_is_refused(self) -> None:
        with pytest.raises(ValueError, match="empty"):
            qr_svg("")


# --- The PDF -------------------------------------------------------------------------------------


class TestTicketPdf:
    def test_one_a4_page_with_every_detail(self, font_mode: str) -> None:
        pdf = ticket_pdf(make_ticket(), compress=False)
        text = "\n".join(s for _, s in pdf_text(pdf))

        assert pdf.startswith(b"%PDF-")
        assert page_count(pdf) == 1
        assert b"/MediaBox [0 0 595.28 841.89]" in pdf
        for expected in [
            "Open-Air Jazz Night in Zürich",
            "Saturday, 14 June 2025",
            "19:00 \u2013 23:30",
            "Europe/Zurich (CEST)",
            "Kaufleuten, Pelikanstrasse 18, Zürich",
            "Early bird",
            "EUR 25.00",
            "Jazz Verein Zürich",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
        ]:
            assert expected in text
        assert ("Zoë Łukasiewicz" if font_mode == "unicode-font" else "Zoë Lukasiewicz") in text
        assert TOKEN in text.replace("\n", "")  # the code may wrap under the QR code

    def test_the_title_is_the_largest_text(self) -> None:
        shown = pdf_text(ticket_pdf(make_ticket(), compress=False))

        assert max(shown) == (22.0, "Open-Air Jazz Night in Zürich")

    def test_the_code_is_set_in_a_monospace_font(self) -> None:
        pdf = ticket_pdf(make_ticket(), compress=False)

        assert re.search(rb"/BaseFont /(\w+\+DejaVuSansMono\w*|Courier)\b", pdf)

    def test_the_qr_code_is_a_vector_drawing_that_decodes_to_the_code(self, font_mode: str) -> None:
        matrix, side_mm = pdf_qr(ticket_pdf(make_ticket(), compress=False))

        assert decode_qr(matrix)[1:] == ("M", TOKEN)
        assert side_mm >= 45
        assert b"/Subtype /Image" not in ticket_pdf(make_ticket(), compress=False)

    @pytest.mark.parametrize("code", ["a", "x" * 120])
    def test_small_and_large_codes_keep_the_symbol_between_45_and_64_mm(self, code: str) -> None:
        matrix, side_mm = pdf_qr(ticket_pdf(make_ticket(code=code), compress=False))

        assert decode_qr(matrix)[2] == code
        assert 45 <= side_mm <= 64

    def test_metadata_carries_the_title(self) -> None:
        pdf = ticket_pdf(make_ticket(event_title="Łódź Live 東京 🎷"), compress=False)
        title = re.search(rb"/Title <feff([0-9a-f]+)>", pdf)

        assert title is not None
        assert bytes.fromhex(title.group(1).decode()).decode("utf-16-be") == (
            "Ticket: Łódź Live 東京 🎷"
        )
        assert b"/Creator (Boxoffice)" in pdf

    def test_streams_are_compressed_by_default(self) -> None:
        compressed = ticket_pdf(make_ticket())

        assert compressed.startswith(b"%PDF-")
        assert b"/Filter /FlateDecode" in compressed
        assert b"Early bird" not in compressed
        assert len(compressed) < len(ticket_pdf(make_ticket(), compress=False))

    def test_the_same_ticket_gives_the_same_bytes_but_for_the_dates(self) -> None:
        def stable(pdf: bytes) -> bytes:
            pdf = re.sub(rb"/CreationDate \(D:[^)]*\)", b"", pdf)
            return re.sub(rb"/ID \[<\w+><\w+>\]", b"", pdf)

        assert stable(ticket_pdf(make_ticket())) == stable(ticket_pdf(make_ticket()))

    def test_an_online_event_shows_online_and_a_link(self) -> None:
        url = "https://stream.example.com/live/jazz?ticket=1"
        pdf = ticket_pdf(make_ticket(venue=None, online_url=url), compress=False)
        text = [s for _, s in pdf_text(pdf)]

        assert "Online" in text
        assert url in "".join(text)
        assert f"/URI ({url})".encode() in pdf

    def test_only_http_links_become_clickable(self) -> None:
        pdf = ticket_pdf(make_ticket(venue=None, online_url="javascript:alert(1)"), compress=False)

        assert b"/URI" not in pdf
        assert "javascript:alert(1)" in "".join(s for _, s in pdf_text(pdf))

    def test_a_venue_without_url_shows_no_link(self) -> None:
        assert b"/URI" not in ticket_pdf(make_ticket(), compress=False)

    def test_a_long_title_is_cut_to_three_lines_with_an_ellipsis(self, font_mode: str) -> None:
        title = " ".join(["Unbelievably long festival name"] * 12)
        shown = pdf_text(ticket_pdf(make_ticket(event_title=title), compress=False))
        title_lines = [s for size, s in shown if size == 22.0]

        assert len(title_lines) == 3
        assert title_lines[-1].endswith("…")
        assert " ".join(title_lines).startswith("Unbelievably long festival name Unbelievably")


HOSTILE = [
    "🎉🎷👨‍👩‍👧 Party 👍🏽 ❤️",
    "東京ジャズフェスティバル 2025 — 서울 — 北京",
    "حفلة موسيقية في القاهرة \u202eevil\u202c הופעה בתל אביב",
    "W" * 300,
    "lorem ipsum " * 25,
    "Z̴̢̛̯͚̓a̶̧̛l̸̨g̷̢o̴ " * 20,
    "\x00\x07tab\tnew\nline\r\x1b[31m\x7f\x85",
    "lone \ud83d surrogate \udc00 private \ue000 nonchar \uffff bom \ufeff zwsp \u200b",
    "",
    "   ",
    "\u2028\u2029",
]


class TestHostileText:
    @pytest.mark.parametrize("text", HOSTILE)
    def test_any_text_in_every_field_gives_one_page_without_missing_glyphs(
        self, text: str, font_mode: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        ticket = make_ticket(
            event_title=text,
            venue=text,
            online_url=text,
            attendee_name=text,
            ticket_type_name=text,
            price_label=text,
            order_id=text,
            ticket_id=text,
            organizer=text,
            timezone=text,
        )
        with caplog.at_level(logging.WARNING, logger="fpdf"):
            pdf = ticket_pdf(ticket, compress=False)

        assert pdf.startswith(b"%PDF-")
        assert page_count(pdf) == 1
        assert decode_qr(pdf_qr(pdf)[0])[2] == TOKEN
        assert not [r for r in caplog.records if "missing" in r.getMessage()]
        shown = pdf_text(pdf)
        assert len([s for size, s in shown if size == 22.0]) <= 3
        # Everything stays on the page, above the footer (its at most 3 lines start 32 mm up).
        assert min(baselines(pdf)) > 15 / 25.4 * 72
        assert len([y for y in baselines(pdf) if y < 32 / 25.4 * 72]) <= 3

    def test_compressed_output_survives_hostile_text_too(self) -> None:
        pdf = ticket_pdf(make_ticket(event_title=HOSTILE[0] + HOSTILE[2], attendee_name="\ud800"))

        assert pdf.startswith(b"%PDF-")
        assert page_count(pdf) == 1

    def test_characters_the_font_lacks_become_question_marks(self, font_mode: str) -> None:
        shown = pdf_text(ticket_pdf(make_ticket(event_title="Live 東京 🎷"), compress=False))

        assert max(shown) == (22.0, "Live ?? ?")


class TestFonts:
    def test_dejavu_is_found_in_any_folder_below_the_font_dirs(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        installed = rendering.unicode_font_files()
        if installed is None:
            pytest.skip("DejaVu Sans is not installed")
        for path in installed.values():
            (tmp_path / "deep" / "er").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, tmp_path / "deep" / "er" / path.name)
        monkeypatch.setattr(rendering, "FONT_DIRS", (tmp_path / "missing", tmp_path))

        found = rendering.unicode_font_files.__wrapped__()

        assert found is not None
        assert {p.parent for p in found.values()} == {tmp_path / "deep" / "er"}

    def test_broken_or_incomplete_font_files_mean_core_fonts(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(rendering, "FONT_DIRS", (tmp_path,))
        (tmp_path / "DejaVuSans.ttf").write_bytes(b"not a font")
        assert rendering.unicode_font_files.__wrapped__() is None

        for name in ("DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"):
            (tmp_path / name).write_bytes(b"not a font either")
        assert rendering.unicode_font_files.__wrapped__() is None


# --- Text helpers --------------------------------------------------------------------------------


def latin(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


class TestText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("  Open\tAir\n\nNight  ", "Open Air Night"),
            ("Zu\u0308rich", "Zürich"),  # composed
            ("a\u200db\ufeffc\u202ed", "abcd"),  # format characters
            ("lone \ud800 surrogate", "lone surrogate"),
            ("line\u2028break", "line break"),
        ],
    )
    def test_clean_text(self, text: str, expected: str) -> None:
        assert clean_text(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Zoë in Zürich", "Zoë in Zürich"),
            ("Łódź", "Lódz"),
            ("Kraków – Gdańsk", "Kraków – Gdansk"),  # noqa: RUF001 -- the en dash is in cp1252
            ("ﬁnale", "finale"),
            ("Ｔｏｋｙｏ", "Tokyo"),  # noqa: RUF001
            ("東京", "??"),
            ("👍🏽❤️", "??"),
            ("İstanbul", "Istanbul"),
            ("Œuvre → ∞", "Œuvre -> ?"),
        ],
    )
    def test_fit_text_to_windows_1252(self, text: str, expected: str) -> None:
        assert fit_text(text, latin) == expected

    def test_fit_text_keeps_whatever_the_font_has(self) -> None:
        assert fit_text("Łódź 東京", lambda char: True) == "Łódź 東京"


class TestWhen:
    def test_same_day_in_the_event_zone(self) -> None:
        when = format_when(
            datetime(2025, 6, 14, 17, 0, tzinfo=UTC),
            datetime(2025, 6, 14, 21, 30, tzinfo=UTC),
            "Europe/Zurich",
        )

        assert when == (
            "Saturday, 14 June 2025\n19:00 \u2013 23:30",
            "Local time, Europe/Zurich (CEST)",
        )

    def test_overnight_across_a_clock_change_names_both_offsets(self) -> None:
        when = format_when(
            datetime(2025, 10, 25, 20, 0, tzinfo=UTC),
            datetime(2025, 10, 26, 3, 0, tzinfo=UTC),
            "Europe/Berlin",
        )

        assert when == (
            "Saturday, 25 October 2025, 22:00 \u2013\nSunday, 26 October 2025, 04:00",
            "Local time, Europe/Berlin (CEST / CET)",
        )

    def test_local_midnight_moves_the_date(self) -> None:
        when, zone = format_when(
            datetime(2025, 12, 31, 15, 0, tzinfo=UTC),
            datetime(2025, 12, 31, 18, 0, tzinfo=UTC),
            "Asia/Tokyo",
        )

        assert when == "Thursday, 1 January 2026\n00:00 \u2013 03:00"
        assert zone == "Local time, Asia/Tokyo (JST)"

    @pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "\x00", "\ud800"])
    def test_an_unknown_zone_falls_back_to_utc(self, zone: str) -> None:
        when, zone_line = format_when(
            datetime(2025, 6, 14, 17, 0, tzinfo=UTC), datetime(2025, 6, 14, 18, 0, tzinfo=UTC), zone
        )

        assert when == "Saturday, 14 June 2025\n17:00 \u2013 18:00"
        assert zone_line == "Local time, UTC"

    def test_naive_datetimes_are_taken_as_utc(self) -> None:
        when, _ = format_when(datetime(2025, 6, 14, 17, 0), datetime(2025, 6, 14, 18, 0), "UTC")  # noqa: DTZ001

        assert when == "Saturday, 14 June 2025\n17:00 \u2013 18:00"

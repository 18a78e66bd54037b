"""Drawing ticket layouts with reportlab: fonts, QR codes and barcodes, images and the organizer's background PDF.

What keeps it fast (measured in ``../shared/notes/pdf-spike.md`` and ``bench/pdf_tickets.py``):

* the bundled TrueType fonts are registered once per process;
* with reportlab's C accelerator installed (``reportlab[accel]``) and ASCII85 off, streams are written as binary;
* a QR code is encoded by zxing-cpp (C++, mask search included) and drawn as one inline 1-bit image mask;
* a background PDF is parsed once per process with pypdf and put into each document as a form XObject that every
  page draws — no per-ticket pypdf merging.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zxingcpp
from pypdf import PdfReader
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)
from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from boxoffice.kernel.i18n import localize

MM = 72 / 25.4
FONT_DIR = Path(__file__).parent / "fonts"
DEFAULT_FAMILY = "DejaVu Sans"
# family → (bold, italic) → font file stem; a family without a style falls back to its closest one.
FONT_FAMILIES: dict[str, dict[tuple[bool, bool], str]] = {
    "DejaVu Sans": {
        (False, False): "DejaVuSans",
        (True, False): "DejaVuSans-Bold",
        (False, True): "DejaVuSans-Oblique",
        (True, True): "DejaVuSans-BoldOblique",
    },
    "DejaVu Serif": {(False, False): "DejaVuSerif", (True, False): "DejaVuSerif-Bold"},
    "DejaVu Sans Mono": {(False, False): "DejaVuSansMono"},
}
QR_QUIET_ZONE = 4
BACKGROUND_CACHE_SIZE = 32
WRAPPED_CACHE_SIZE = 4096

_fonts_lock = threading.Lock()
_fonts_ready = False


def prepare_process() -> None:
    """Register the bundled fonts and switch off ASCII85 stream encoding, once per process.

    Registration parses the font files (a few hundred milliseconds), so it must not happen per ticket. ASCII85
    only makes PDFs larger and slower to write; turning it off affects every reportlab user of the process, which
    is harmless (binary streams are what every PDF reader expects).
    """
    global _fonts_ready
    if _fonts_ready:
        return
    with _fonts_lock:
        if _fonts_ready:
            return
        rl_config.useA85 = 0
        for styles in FONT_FAMILIES.values():
            for stem in styles.values():
                if stem not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont(stem, str(FONT_DIR / f"{stem}.ttf")))
        _fonts_ready = True


def font_for(family: str | None, bold: bool, italic: bool) -> str:
    styles = FONT_FAMILIES.get(family or "", FONT_FAMILIES[DEFAULT_FAMILY])
    for wanted in ((bold, italic), (bold, False), (False, italic), (False, False)):
        if wanted in styles:
            return styles[wanted]
    return FONT_FAMILIES[DEFAULT_FAMILY][(False, False)]


# --- QR codes ------------------------------------------------------------------------------------------------------

# A row of modules as zxing-cpp gives it (0x00 dark, 0xff light) → the bits of a PDF image mask (0 paints).
_MODULE_BITS = bytes.maketrans(b"\x00\xff", b"01")


@dataclass(frozen=True)
class QrSymbol:
    """The modules of a QR code: ``size`` rows of ``size`` bytes each in ``rows``, ``0`` for a dark module."""

    size: int
    rows: bytes


def qr_symbol(data: str) -> QrSymbol:
    """The QR code of ``data`` with error correction M.

    zxing-cpp's C++ encoder does what a pure-Python encoder spent most of a ticket's time on — the search for the
    best of the eight masks included — in a fraction of a millisecond, so nothing needs to be remembered per secret.
    """
    barcode = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = memoryview(barcode.to_image(scale=1, add_quiet_zones=False))
    return QrSymbol(image.shape[0], image.tobytes())  # type: ignore[index]


def qr_image_mask(symbol: QrSymbol) -> str:
    """``symbol`` as a PDF inline image mask (one bit per module, rows padded to whole bytes, hex-encoded), drawn
    into the unit square in the current fill colour."""
    size, rows = symbol.size, symbol.rows
    padding = -size % 8
    width = (size + padding) // 8
    packed = b"".join(
        (int(rows[start : start + size].translate(_MODULE_BITS), 2) << padding).to_bytes(width, "big")
        for start in range(0, size * size, size)
    )
    return f"BI /W {size} /H {size} /IM true /BPC 1 /F /AHx ID\n{packed.hex()}>\nEI"


def draw_qr(canvas: Canvas, data: str, x: float, y: float, size: float, quiet_zone: bool, color: Any) -> None:
    """A square QR code of ``size`` points with its lower left corner at ``(x, y)``, on a white square when
    ``quiet_zone`` (the four-module margin scanners need). The modules are one image mask: a hundred bytes per
    code, and nothing per module to compute or write."""
    symbol = qr_symbol(data)
    border = QR_QUIET_ZONE if quiet_zone else 0
    module = size / (symbol.size + 2 * border)
    operators = ["q"]
    if quiet_zone:
        operators.append(f"1 1 1 rg {fp_str(x, y, size, size)} re f")
    operators.append(f"{fp_str(*color[:3])} rg")
    side = module * symbol.size
    operators.append(f"{fp_str(side, 0, 0, side, x + border * module, y + border * module)} cm")
    operators.append(qr_image_mask(symbol))
    operators.append("Q")
    canvas.addLiteral("\n".join(operators))


def draw_code128(canvas: Canvas, data: str, x: float, y: float, width: float, height: float, color: Any) -> None:
    """A Code 128 barcode filling ``width`` x ``height`` points."""
    natural = Code128(data, barWidth=1, quiet=False).width
    barcode = Code128(data, barWidth=width / natural, barHeight=height, quiet=False, humanReadable=False)
    canvas.setFillColorRGB(*color[:3])
    barcode.drawOn(canvas, x, y)


# --- backgrounds ---------------------------------------------------------------------------------------------------


@dataclass
class Background:
    """A background PDF parsed once: its pages (pypdf objects) and their sizes in points."""

    digest: str
    pages: list[Any]
    sizes: list[tuple[float, float]]
    contents: list[bytes]
    """Each page's content stream, compressed once here instead of in every document that draws it."""


_backgrounds: OrderedDict[str, Background] = OrderedDict()
_backgrounds_lock = threading.Lock()


def background_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:32]


def load_background(digest: str, content: Callable[[], bytes | None]) -> Background | None:
    """The parsed background with this digest; ``content`` is called only when it is not parsed yet."""
    with _backgrounds_lock:
        found = _backgrounds.get(digest)
        if found is not None:
            _backgrounds.move_to_end(digest)
            return found
    data = content()
    if data is None:
        return None
    reader = PdfReader(io.BytesIO(data))
    pages = list(reader.pages)
    sizes = [(float(page.mediabox.width), float(page.mediabox.height)) for page in pages]
    contents = []
    for page in pages:
        stream = page.get_contents()
        contents.append(zlib.compress(stream.get_data() if stream is not None else b"", 6))
    parsed = Background(digest, pages, sizes, contents)
    with _backgrounds_lock:
        _backgrounds[digest] = parsed
        if len(_backgrounds) > BACKGROUND_CACHE_SIZE:
            _backgrounds.popitem(last=False)
    return parsed


def check_background(content: bytes) -> str | None:
    """Why ``content`` cannot serve as a background (None when it can)."""
    if not content.startswith(b"%PDF"):
        return "The background must be a PDF file."
    try:
        reader = PdfReader(io.BytesIO(content))
        if not reader.pages:
            return "The background PDF has no pages."
        for page in reader.pages:
            page.get_contents()
    except Exception:
        return "The background PDF cannot be read."
    return None


class _FormBridge:
    """Copies pypdf objects of a background page into one reportlab document as a form XObject.

    reportlab cannot import PDF pages itself; the page's content stream (still encoded) and resources become
    reportlab objects once per document, and each ticket page then draws the form with one operator.
    """

    SKIPPED_KEYS = frozenset({"/Parent", "/P", "/Annots", "/B", "/Dest"})

    def __init__(self, canvas: Canvas, background: Background) -> None:
        self.document = canvas._doc
        self.background = background
        self.prefix = f"bg{background.digest[:12]}"

    def convert(self, obj: Any) -> Any:
        if isinstance(obj, IndirectObject):
            name = f"{self.prefix}o{obj.idnum}"
            if name not in self.document.idToObject:
                # Registered before converting, so that objects referring back to it resolve.
                placeholder = pdfdoc.PDFDictionary({})
                self.document.Reference(placeholder, name)
                converted = self.convert(obj.get_object())
                self.document.idToObject[name] = converted
                if isinstance(converted, pdfdoc.PDFObject):
                    converted.__InternalName__ = name
            return pdfdoc.PDFObjectReference(name)
        if isinstance(obj, StreamObject):
            dictionary = pdfdoc.PDFDictionary(
                {key[1:]: self.convert(value) for key, value in obj.items() if key != "/Length"}
            )
            return pdfdoc.PDFStream(dictionary, obj._data, filters=[])
        if isinstance(obj, DictionaryObject):
            return pdfdoc.PDFDictionary(
                {key[1:]: self.convert(value) for key, value in obj.items() if key not in self.SKIPPED_KEYS}
            )
        if isinstance(obj, ArrayObject):
            return pdfdoc.PDFArray([self.convert(value) for value in obj])
        if isinstance(obj, BooleanObject):
            return "true" if obj else "false"
        if isinstance(obj, NameObject):
            return str(obj)
        if isinstance(obj, NumberObject):
            return int(obj)
        if isinstance(obj, FloatObject):
            return float(obj)
        if isinstance(obj, TextStringObject):
            return pdfdoc.PDFString(obj.original_bytes, enc="raw")
        if isinstance(obj, ByteStringObject):
            return pdfdoc.PDFString(bytes(obj), enc="raw")
        if isinstance(obj, NullObject) or obj is None:
            return "null"
        return str(obj)

    def form(self, index: int) -> str:
        """The form name of background page ``index`` in this document (built on first use)."""
        name = f"{self.prefix}p{index}"
        if not self.document.hasForm(name):
            page = self.background.pages[index]
            box = page.mediabox
            resources = page.get("/Resources")
            dictionary = pdfdoc.PDFDictionary(
                {
                    "Type": "/XObject",
                    "Subtype": "/Form",
                    "BBox": pdfdoc.PDFArray([float(box.left), float(box.bottom), float(box.right), float(box.top)]),
                    "Resources": self.convert(resources) if resources is not None else pdfdoc.PDFDictionary({}),
                    "Filter": "/FlateDecode",
                }
            )
            stream = pdfdoc.PDFStream(dictionary, self.background.contents[index], filters=[])
            self.document.Reference(stream, pdfdoc.xObjectName(name))
        return name


# --- layouts -------------------------------------------------------------------------------------------------------


def _number(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _color(value: Any) -> tuple[float, float, float]:
    if isinstance(value, list | tuple) and len(value) >= 3:
        return tuple(max(0.0, min(1.0, _number(part) / 255)) for part in value[:3])  # type: ignore[return-value]
    return (0.0, 0.0, 0.0)


@dataclass
class TicketData:
    """What one ticket page shows, independent of the database (so previews and tests can draw without one)."""

    secret: str
    text: Callable[[str], str]
    """Renders a template with placeholders for this ticket."""
    image: Callable[[str], bytes | None] = lambda name: None
    """Returns the bytes of a named image (``item_picture``) or None."""
    extra: Mapping[str, Any] = field(default_factory=dict)


class LayoutDrawer:
    """Draws one layout (its elements on its background) for any number of tickets."""

    def __init__(self, elements: Sequence[Mapping[str, Any]], background: Background | None) -> None:
        prepare_process()
        self.elements = [element for element in elements if isinstance(element, Mapping)]
        self.background = background
        pages = [int(_number(element.get("page"), 1)) for element in self.elements] or [1]
        self.page_count = max(max(pages), len(background.pages) if background else 1, 1)
        self.by_page: dict[int, list[Mapping[str, Any]]] = {}
        self._wrapped: dict[tuple[str, str, float, float], list[str]] = {}
        for element in self.elements:
            self.by_page.setdefault(max(1, int(_number(element.get("page"), 1))), []).append(element)

    def page_size(self, index: int) -> tuple[float, float]:
        if self.background is not None and self.background.sizes:
            return self.background.sizes[min(index, len(self.background.sizes) - 1)]
        return A4

    def draw(self, canvas: Canvas, ticket: TicketData, bridges: dict[str, _FormBridge]) -> int:
        """Draw every page of the layout for ``ticket`` (each ends with ``showPage``); returns the page count."""
        for index in range(self.page_count):
            canvas.setPageSize(self.page_size(index))
            if self.background is not None and index < len(self.background.pages):
                bridge = bridges.get(self.background.digest)
                if bridge is None:
                    bridge = bridges[self.background.digest] = _FormBridge(canvas, self.background)
                canvas.doForm(bridge.form(index))
            for element in self.by_page.get(index + 1, ()):
                self._element(canvas, element, ticket)
            canvas.showPage()
        return self.page_count

    def _element(self, canvas: Canvas, element: Mapping[str, Any], ticket: TicketData) -> None:
        kind = element.get("type")
        if kind == "textarea":
            self._text(canvas, element, ticket)
        elif kind == "barcodearea":
            self._barcode(canvas, element, ticket)
        elif kind == "imagearea":
            self._image(canvas, element, ticket)

    @staticmethod
    def _template(element: Mapping[str, Any]) -> str:
        content = str(element.get("content") or "other")
        if content == "other":
            i18n = element.get("text_i18n")
            if isinstance(i18n, Mapping) and any(i18n.values()):
                return localize(i18n)
            return str(element.get("text") or "")
        return "{" + content + "}"

    def _lines(self, text: str, font: str, size: float, width: float) -> list[str]:
        """``text`` broken into lines that fit ``width``; remembered, since texts of the event (its name, date,
        location) are the same on every ticket of a batch."""
        key = (text, font, size, width)
        lines = self._wrapped.get(key)
        if lines is None:
            if len(self._wrapped) >= WRAPPED_CACHE_SIZE:
                self._wrapped.clear()
            lines = []
            for paragraph in text.split("\n"):
                lines += simpleSplit(paragraph, font, size, width) or [""]
            self._wrapped[key] = lines
        return lines

    def _text(self, canvas: Canvas, element: Mapping[str, Any], ticket: TicketData) -> None:
        text = ticket.text(self._template(element))
        if not text:
            return
        size = max(1.0, _number(element.get("fontsize"), 12))
        font = font_for(element.get("fontfamily"), bool(element.get("bold")), bool(element.get("italic")))
        width = max(1.0, _number(element.get("width"), 100) * MM)
        leading = size * 1.2 * max(0.1, _number(element.get("lineheight"), 1))
        lines = self._lines(text, font, size, width)
        canvas.saveState()
        canvas.translate(_number(element.get("left")) * MM, _number(element.get("bottom")) * MM)
        rotation = _number(element.get("rotation"))
        if rotation:
            canvas.rotate(rotation)
        canvas.setFillColorRGB(*_color(element.get("color")))
        canvas.setFont(font, size, leading)
        align = element.get("align") or "left"
        downward = bool(element.get("downward"))
        for index, line in enumerate(lines):
            # Downward texts hang from the given point; others sit on it with the last line.
            baseline = -size - index * leading if downward else (len(lines) - 1 - index) * leading
            if align == "center":
                canvas.drawCentredString(width / 2, baseline, line)
            elif align == "right":
                canvas.drawRightString(width, baseline, line)
            else:
                canvas.drawString(0, baseline, line)
        canvas.restoreState()

    def _barcode(self, canvas: Canvas, element: Mapping[str, Any], ticket: TicketData) -> None:
        content = str(element.get("content") or "secret")
        data = ticket.secret if content == "secret" else ticket.text(self._template(element))
        if not data:
            return
        left, bottom = _number(element.get("left")) * MM, _number(element.get("bottom")) * MM
        size = max(1.0, _number(element.get("size"), 50)) * MM
        color = _color(element.get("color"))
        if element.get("barcode") == "code128":
            height = max(1.0, _number(element.get("height"), 15)) * MM
            draw_code128(canvas, data, left, bottom, size, height, color)
        else:
            draw_qr(canvas, data, left, bottom, size, not element.get("nowhitespace"), color)

    def _image(self, canvas: Canvas, element: Mapping[str, Any], ticket: TicketData) -> None:
        content = ticket.image(str(element.get("content") or ""))
        if not content:
            return
        try:
            image = ImageReader(io.BytesIO(content))
        except Exception:
            return
        canvas.drawImage(
            image,
            _number(element.get("left")) * MM,
            _number(element.get("bottom")) * MM,
            max(1.0, _number(element.get("width"), 30)) * MM,
            max(1.0, _number(element.get("height"), 30)) * MM,
            preserveAspectRatio=True,
            anchor="c",
            mask="auto",
        )


def new_canvas(target: Any, title: str = "Tickets") -> Canvas:
    canvas = Canvas(target, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("boxoffice")
    return canvas

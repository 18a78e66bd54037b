"""Drawing ticket layouts with reportlab: fonts, QR codes and barcodes, images and the organizer's background PDF.

What keeps it fast (measured in ``../shared/notes/pdf-spike.md`` and ``bench/pdf_tickets.py``):

* the bundled TrueType fonts are registered once per process;
* with reportlab's C accelerator installed (``reportlab[accel]``) and ASCII85 off, streams are written as binary;
* a QR code is one filled path of horizontal runs, and the mask segno chose for a secret is remembered, so the
  expensive mask search runs once per secret and process;
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
from typing import Any, Protocol

import segno
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
QR_MASK_CACHE_SIZE = 100_000
BACKGROUND_CACHE_SIZE = 32

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

_qr_masks: OrderedDict[str, int] = OrderedDict()
_qr_lock = threading.Lock()


class MaskStore(Protocol):
    """Where QR masks chosen for data are kept beyond the process (the plugin keeps them in its table)."""

    def get(self, data: str) -> int | None: ...

    def put(self, data: str, mask: int) -> None: ...


def qr_matrix(data: str, store: MaskStore | None = None) -> Sequence[Sequence[int]]:
    """The modules of the QR code (error correction M) for ``data``, without quiet zone.

    segno spends most of its time choosing the best of eight masks; the choice depends only on the data, so it
    is looked up (process memory, then ``store``) and passed back, which gives the identical symbol in a quarter of
    the time. A mask chosen here is remembered in both.
    """
    with _qr_lock:
        mask = _qr_masks.get(data)
        if mask is not None:
            _qr_masks.move_to_end(data)
    if mask is None and store is not None:
        mask = store.get(data)
    code = segno.make_qr(data, error="m", mask=mask)
    if mask is None and store is not None:
        store.put(data, code.mask)
    if mask is None or data not in _qr_masks:
        with _qr_lock:
            _qr_masks[data] = code.mask
            if len(_qr_masks) > QR_MASK_CACHE_SIZE:
                _qr_masks.popitem(last=False)
    return code.matrix


def draw_qr(
    canvas: Canvas,
    data: str,
    x: float,
    y: float,
    size: float,
    quiet_zone: bool,
    color: Any,
    store: MaskStore | None = None,
) -> None:
    """A square QR code of ``size`` points with its lower left corner at ``(x, y)``, as one path of runs."""
    matrix = qr_matrix(data, store)
    count = len(matrix)
    border = QR_QUIET_ZONE if quiet_zone else 0
    module = size / (count + 2 * border)
    if quiet_zone:
        canvas.setFillColorRGB(1, 1, 1)
        canvas.rect(x, y, size, size, stroke=0, fill=1)
    canvas.setFillColorRGB(*color[:3])
    path = canvas.beginPath()
    top = y + size - border * module
    for row_index, row in enumerate(matrix):
        row_y = top - (row_index + 1) * module
        column = 0
        while column < count:
            if row[column]:
                start = column
                while column < count and row[column]:
                    column += 1
                path.rect(x + (border + start) * module, row_y, (column - start) * module, module)
            else:
                column += 1
    canvas.drawPath(path, stroke=0, fill=1)


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
    masks: MaskStore | None = None
    """Where QR masks are looked up and stored beyond the process."""
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

    def _text(self, canvas: Canvas, element: Mapping[str, Any], ticket: TicketData) -> None:
        text = ticket.text(self._template(element))
        if not text:
            return
        size = max(1.0, _number(element.get("fontsize"), 12))
        font = font_for(element.get("fontfamily"), bool(element.get("bold")), bool(element.get("italic")))
        width = max(1.0, _number(element.get("width"), 100) * MM)
        leading = size * 1.2 * max(0.1, _number(element.get("lineheight"), 1))
        lines: list[str] = []
        for paragraph in text.split("\n"):
            lines += simpleSplit(paragraph, font, size, width) or [""]
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
            draw_qr(canvas, data, left, bottom, size, not element.get("nowhitespace"), color, ticket.masks)

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

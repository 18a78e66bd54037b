"""Reading what the PDF output produced: pages, sizes, the text layer and QR codes (rendered with PDFium, decoded
with zxing-cpp), plus making PDFs to use as backgrounds."""

from __future__ import annotations

import io
from typing import Any

import pypdfium2
import zxingcpp
from pypdf import PdfReader
from reportlab.pdfgen.canvas import Canvas

MM = 72 / 25.4


def reader(content: bytes) -> PdfReader:
    assert content.startswith(b"%PDF"), content[:100]
    return PdfReader(io.BytesIO(content))


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() for page in reader(content).pages]


def page_sizes_mm(content: bytes) -> list[tuple[int, int]]:
    return [(round(float(p.mediabox.width) / MM), round(float(p.mediabox.height) / MM)) for p in reader(content).pages]


def qr_codes(content: bytes, page: int = 0, scale: float = 3) -> list[str]:
    """The texts of the QR codes on one page, read from a rendering of it."""
    document = pypdfium2.PdfDocument(content)
    try:
        image: Any = document[page].render(scale=scale).to_pil()
    finally:
        document.close()
    return [found.text for found in zxingcpp.read_barcodes(image) if found.format == zxingcpp.BarcodeFormat.QRCode]


def barcodes(content: bytes, page: int = 0, scale: float = 3) -> list[tuple[str, str]]:
    document = pypdfium2.PdfDocument(content)
    try:
        image: Any = document[page].render(scale=scale).to_pil()
    finally:
        document.close()
    return [(str(found.format), found.text) for found in zxingcpp.read_barcodes(image)]


def background_pdf(width_mm: float = 148, height_mm: float = 105, pages: int = 1, label: str = "BACKDROP") -> bytes:
    """A vector background: a frame, a circle and a label per page."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width_mm * MM, height_mm * MM))
    for number in range(1, pages + 1):
        canvas.rect(5 * MM, 5 * MM, (width_mm - 10) * MM, (height_mm - 10) * MM)
        canvas.circle(20 * MM, 20 * MM, 10 * MM, fill=1)
        canvas.setFont("Helvetica", 10)
        canvas.drawString(10 * MM, (height_mm - 12) * MM, f"{label} {number}")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()

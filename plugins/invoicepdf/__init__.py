"""The ``classic`` invoice layout: a reportlab PDF in the invoice's language (amounts and dates through babel) that
carries its Factur-X / ZUGFeRD XML (profile EN 16931) as an embedded file, so the same document is also a
machine-readable e-invoice.

Core-like: always installed, not switchable, since every event that issues invoices needs one layout. It uses only
the public plugin API and the kernel's documented i18n helpers.
"""

from __future__ import annotations

import io
from collections import defaultdict
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from babel import Locale, UnknownLocaleError
from facturx import generate_xmp_bytes
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, NameObject, TextStringObject
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from boxoffice.hookspecs import PluginMeta, hookimpl
from boxoffice.hookspecs.providers import GeneratedFile, InvoiceRenderer
from boxoffice.kernel.i18n import format_date, format_decimal, format_money
from boxoffice.plugins.invoicepdf.facturx import FILENAME, LEVEL, build_xml

plugin_meta = PluginMeta(
    name="PDF invoices",
    description="Invoice PDFs with an embedded Factur-X / ZUGFeRD e-invoice.",
    category="FORMAT",
    level="global",
    togglable=False,
)

# The layout's fixed words, per language; other languages fall back to English.
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "cancellation": "Cancellation",
        "number": "Invoice number",
        "date": "Invoice date",
        "order": "Order",
        "cancels": "Cancels invoice {number} of {date}",
        "description": "Description",
        "tax_rate": "Tax rate",
        "net": "Net",
        "gross": "Gross",
        "net_total": "Net total",
        "tax": "{name} {rate} %",
        "total": "Total",
        "period": "Date",
        "attendee": "Attendee",
        "vat_id": "VAT ID",
        "tax_id": "Tax number",
        "page": "Page {page}",
    },
    "de": {
        "invoice": "Rechnung",
        "cancellation": "Stornorechnung",
        "number": "Rechnungsnummer",
        "date": "Rechnungsdatum",
        "order": "Bestellung",
        "cancels": "Storniert Rechnung {number} vom {date}",
        "description": "Beschreibung",
        "tax_rate": "Steuersatz",
        "net": "Netto",
        "gross": "Brutto",
        "net_total": "Summe netto",
        "tax": "{name} {rate} %",
        "total": "Gesamtbetrag",
        "period": "Datum",
        "attendee": "Teilnehmer",
        "vat_id": "USt-IdNr.",
        "tax_id": "Steuernummer",
        "page": "Seite {page}",
    },
}


def labels(locale: str) -> dict[str, str]:
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return {**LABELS["en"], **LABELS.get(language, {})}


def country_name(code: str, locale: str) -> str:
    """The country's name in the invoice's language (``DE`` → ``Deutschland``), or the code babel does not know."""
    if not code:
        return ""
    try:
        return Locale.parse(locale.replace("_", "-"), sep="-").territories.get(code.upper(), code)
    except (ValueError, UnknownLocaleError):
        return code


def _paragraph(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or "").replace("\n", "<br/>"), style)


class ClassicInvoice(InvoiceRenderer):
    """A4, sender and recipient on top, one table row per line, tax per rate, totals, texts and a page footer."""

    identifier = "classic"

    @property
    def verbose_name(self) -> str:
        return "Classic PDF invoice with Factur-X"

    def generate(self, invoice: Any) -> GeneratedFile:
        pdf = self.render_pdf(invoice)
        xml = build_xml(invoice, paid=bool(invoice.payment_provider_stamp))
        document = embed_xml(pdf, xml, invoice)
        return f"{invoice.number}.pdf", "application/pdf", document

    def render_pdf(self, invoice: Any) -> bytes:
        locale = invoice.locale
        words = labels(locale)
        currency = invoice.currency
        styles = getSampleStyleSheet()
        normal = ParagraphStyle("invoice", parent=styles["Normal"], fontSize=9, leading=12)
        title = ParagraphStyle("title", parent=styles["Heading1"], fontSize=16, spaceAfter=4 * mm)

        def money(value: Decimal) -> str:
            return format_money(value, currency, locale)

        sender_lines = [
            invoice.invoice_from_name,
            invoice.invoice_from,
            " ".join(part for part in (invoice.invoice_from_zipcode, invoice.invoice_from_city) if part),
            country_name(invoice.invoice_from_country, locale),
        ]
        if invoice.invoice_from_vat_id:
            sender_lines.append(f"{words['vat_id']}: {invoice.invoice_from_vat_id}")
        if invoice.invoice_from_tax_id:
            sender_lines.append(f"{words['tax_id']}: {invoice.invoice_from_tax_id}")
        header = Table(
            [
                [
                    _paragraph(invoice.invoice_to, normal),
                    _paragraph("\n".join(line for line in sender_lines if line), normal),
                ]
            ],
            colWidths=[95 * mm, 75 * mm],
        )
        header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story: list[Any] = [header, Spacer(1, 12 * mm)]
        heading = words["cancellation"] if invoice.is_cancellation else words["invoice"]
        story.append(_paragraph(f"{heading} {invoice.number}", title))
        facts = [
            [words["number"], invoice.number],
            [words["date"], format_date(invoice.date, locale, "long")],
            [words["order"], invoice.order.code],
        ]
        facts_table = Table(facts, colWidths=[45 * mm, 125 * mm])
        facts_table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 9)]))
        story.append(facts_table)
        if invoice.is_cancellation and invoice.refers is not None:
            text = words["cancels"].format(
                number=invoice.refers.number, date=format_date(invoice.refers.date, locale, "long")
            )
            story += [Spacer(1, 3 * mm), _paragraph(text, normal)]
        if invoice.introductory_text:
            story += [Spacer(1, 6 * mm), _paragraph(invoice.introductory_text, normal)]
        story.append(Spacer(1, 6 * mm))

        rows: list[list[Any]] = [
            ["#", words["description"], words["tax_rate"], words["net"], words["gross"]],
        ]
        taxes: dict[tuple[str, Decimal], Decimal] = defaultdict(Decimal)
        for line in invoice.lines:
            details = [line.description]
            if line.period_start is not None:
                details.append(f"{words['period']}: {format_date(line.period_start, locale, 'medium')}")
            if line.attendee_name:
                details.append(f"{words['attendee']}: {line.attendee_name}")
            rows.append(
                [
                    str(line.position),
                    _paragraph("\n".join(details), normal),
                    f"{format_decimal(line.tax_rate, locale, 2)} %",
                    money(line.net_value),
                    money(line.gross_value),
                ]
            )
            taxes[(line.tax_name, Decimal(line.tax_rate))] += line.tax_value
        table = Table(rows, colWidths=[10 * mm, 85 * mm, 22 * mm, 26 * mm, 27 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
                ]
            )
        )
        story.append(table)
        total = sum((line.gross_value for line in invoice.lines), Decimal(0))
        tax_total = sum((line.tax_value for line in invoice.lines), Decimal(0))
        sums: list[list[str]] = [[words["net_total"], money(total - tax_total)]]
        for (name, rate), amount in sorted(taxes.items(), key=lambda entry: entry[0][1]):
            if rate or amount:
                label = words["tax"].format(name=name or "VAT", rate=format_decimal(rate, locale, 2))
                sums.append([label, money(amount)])
        sums.append([words["total"], money(total)])
        totals = Table(sums, colWidths=[143 * mm, 27 * mm])
        totals.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("ALIGN", (0, 0), (-1, -1), "RIGHT"),
                    ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                    ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                ]
            )
        )
        story += [Spacer(1, 2 * mm), totals, Spacer(1, 6 * mm)]
        if invoice.payment_provider_stamp:
            stamp = ParagraphStyle("stamp", parent=title, textColor=colors.darkgreen, fontSize=14)
            story.append(_paragraph(invoice.payment_provider_stamp.upper(), stamp))
        for text in (invoice.payment_provider_text, invoice.additional_text):
            if text:
                story += [_paragraph(text, normal), Spacer(1, 4 * mm)]

        footer = invoice.footer_text

        def decorate(canvas: Canvas, document: Any) -> None:
            canvas.saveState()
            canvas.setFont("Helvetica", 7)
            canvas.setFillColor(colors.grey)
            if footer:
                canvas.drawCentredString(A4[0] / 2, 12 * mm, footer.replace("\n", " · "))
            canvas.drawRightString(A4[0] - 20 * mm, 8 * mm, words["page"].format(page=document.page))
            canvas.restoreState()

        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=20 * mm,
            rightMargin=20 * mm,
            topMargin=20 * mm,
            bottomMargin=22 * mm,
            title=f"{heading} {invoice.number}",
            author=invoice.invoice_from_name,
            subject=f"{words['order']} {invoice.order.code}",
        )
        document.build(story, onFirstPage=decorate, onLaterPages=decorate)
        return buffer.getvalue()


def embed_xml(pdf: bytes, xml: bytes, invoice: Any) -> bytes:
    """Attach the XML as ``factur-x.xml`` the way PDF/A-3 wants it: an embedded file marked as the document's
    alternative representation (``/AF`` with relationship ``Data``) and XMP metadata naming the Factur-X level."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    attachment = writer.add_attachment(FILENAME, xml)
    attachment.subtype = NameObject("/text#2Fxml")
    attachment.description = TextStringObject("Factur-X invoice")
    attachment.associated_file_relationship = NameObject("/Data")
    file_spec = attachment.pdf_object
    writer.root_object[NameObject("/AF")] = ArrayObject([file_spec.indirect_reference or file_spec])
    writer.xmp_metadata = generate_xmp_bytes(
        "factur-x",
        LEVEL,
        None,
        {"title": f"{invoice.number}", "author": invoice.invoice_from_name, "subject": f"Invoice {invoice.number}"},
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@hookimpl
def register_invoice_renderers(event: Any) -> type[InvoiceRenderer]:
    return ClassicInvoice

"""The Factur-X / ZUGFeRD XML of an invoice (UN/CEFACT Cross Industry Invoice, profile EN 16931).

Built from the invoice's stored data only, so the machine-readable document says exactly what the printed one says.
A cancellation document becomes a credit note (type 381) with positive amounts referring to the invoice it cancels,
as EN 16931 expects; an ordinary invoice is type 380.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from lxml import etree

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
EN16931_GUIDELINE = "urn:cen.eu:en16931:2017"
FILENAME = "factur-x.xml"
LEVEL = "en16931"
TYPE_INVOICE = "380"
TYPE_CREDIT_NOTE = "381"
CENT = Decimal("0.01")
# Tax codes (EN 16931 categories, with sub-codes for standard rates) → the category code of the XML.
CATEGORIES = {"AE", "E", "G", "K", "L", "M", "O", "S", "Z", "B"}


def tax_category(code: str | None, rate: Decimal) -> str:
    """The EN 16931 VAT category of a line: its tax code's category, else standard-rated or zero-rated."""
    if code:
        category = code.split("/", 1)[0].upper()
        if category in CATEGORIES:
            return category
    return "S" if rate > 0 else "Z"


def _amount(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


def _rate(value: Decimal) -> str:
    return str(Decimal(value).quantize(CENT))


class _Builder:
    def __init__(self) -> None:
        self.root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NAMESPACES)

    @staticmethod
    def add(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
        prefix, _, name = tag.partition(":")
        element = etree.SubElement(parent, f"{{{NAMESPACES[prefix]}}}{name}", **attributes)
        if text is not None:
            element.text = text
        return element


def _address(builder: _Builder, party: Any, zipcode: str, street: str, city: str, country: str, state: str) -> None:
    address = builder.add(party, "ram:PostalTradeAddress")
    if zipcode:
        builder.add(address, "ram:PostcodeCode", zipcode)
    lines = [line for line in (street or "").splitlines() if line.strip()]
    for tag, line in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), lines, strict=False):
        builder.add(address, tag, line.strip())
    if city:
        builder.add(address, "ram:CityName", city)
    # The country is mandatory for both parties (BR-09, BR-11 need it for the seller at least).
    builder.add(address, "ram:CountryID", (country or "").upper() or "ZZ")
    if state:
        builder.add(address, "ram:CountrySubDivisionName", state)


def build_xml(invoice: Any, *, paid: bool) -> bytes:
    """The CII XML of ``invoice``; ``paid`` states that nothing is left to pay (prepaid amount = total)."""
    sign = Decimal(-1) if invoice.is_cancellation else Decimal(1)
    currency = invoice.currency
    builder = _Builder()
    root = builder.root
    context = builder.add(root, "rsm:ExchangedDocumentContext")
    guideline = builder.add(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    builder.add(guideline, "ram:ID", EN16931_GUIDELINE)

    document = builder.add(root, "rsm:ExchangedDocument")
    builder.add(document, "ram:ID", invoice.number)
    builder.add(document, "ram:TypeCode", TYPE_CREDIT_NOTE if invoice.is_cancellation else TYPE_INVOICE)
    issued = builder.add(document, "ram:IssueDateTime")
    builder.add(issued, "udt:DateTimeString", invoice.date.strftime("%Y%m%d"), format="102")
    for text in (invoice.introductory_text, invoice.additional_text):
        if text:
            note = builder.add(document, "ram:IncludedNote")
            builder.add(note, "ram:Content", text)

    transaction = builder.add(root, "rsm:SupplyChainTradeTransaction")
    groups: dict[tuple[str, Decimal], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    line_total = Decimal(0)
    for line in invoice.lines:
        net = sign * (line.gross_value - line.tax_value)
        tax = sign * line.tax_value
        category = tax_category(line.tax_code, line.tax_rate)
        groups[(category, Decimal(line.tax_rate))][0] += net
        groups[(category, Decimal(line.tax_rate))][1] += tax
        line_total += net
        item = builder.add(transaction, "ram:IncludedSupplyChainTradeLineItem")
        builder.add(builder.add(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(line.position))
        builder.add(builder.add(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description or "-")
        agreement = builder.add(item, "ram:SpecifiedLineTradeAgreement")
        price = builder.add(agreement, "ram:NetPriceProductTradePrice")
        builder.add(price, "ram:ChargeAmount", _amount(net))
        delivery = builder.add(item, "ram:SpecifiedLineTradeDelivery")
        builder.add(delivery, "ram:BilledQuantity", "1", unitCode="C62")
        settlement = builder.add(item, "ram:SpecifiedLineTradeSettlement")
        line_tax = builder.add(settlement, "ram:ApplicableTradeTax")
        builder.add(line_tax, "ram:TypeCode", "VAT")
        builder.add(line_tax, "ram:CategoryCode", category)
        builder.add(line_tax, "ram:RateApplicablePercent", _rate(line.tax_rate))
        if line.period_start is not None:
            period = builder.add(settlement, "ram:BillingSpecifiedPeriod")
            start = builder.add(period, "ram:StartDateTime")
            builder.add(start, "udt:DateTimeString", line.period_start.strftime("%Y%m%d"), format="102")
            if line.period_end is not None:
                end = builder.add(period, "ram:EndDateTime")
                builder.add(end, "udt:DateTimeString", line.period_end.strftime("%Y%m%d"), format="102")
        summation = builder.add(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        builder.add(summation, "ram:LineTotalAmount", _amount(net))

    agreement = builder.add(transaction, "ram:ApplicableHeaderTradeAgreement")
    if invoice.internal_reference:
        builder.add(agreement, "ram:BuyerReference", invoice.internal_reference)
    seller = builder.add(agreement, "ram:SellerTradeParty")
    builder.add(seller, "ram:Name", invoice.invoice_from_name or "-")
    _address(
        builder,
        seller,
        invoice.invoice_from_zipcode,
        invoice.invoice_from,
        invoice.invoice_from_city,
        invoice.invoice_from_country,
        invoice.invoice_from_state,
    )
    if invoice.invoice_from_vat_id:
        registration = builder.add(seller, "ram:SpecifiedTaxRegistration")
        builder.add(registration, "ram:ID", invoice.invoice_from_vat_id, schemeID="VA")
    if invoice.invoice_from_tax_id:
        registration = builder.add(seller, "ram:SpecifiedTaxRegistration")
        builder.add(registration, "ram:ID", invoice.invoice_from_tax_id, schemeID="FC")
    buyer = builder.add(agreement, "ram:BuyerTradeParty")
    builder.add(buyer, "ram:Name", invoice.invoice_to_company or invoice.invoice_to_name or "-")
    _address(
        builder,
        buyer,
        invoice.invoice_to_zipcode,
        invoice.invoice_to_street,
        invoice.invoice_to_city,
        invoice.invoice_to_country,
        invoice.invoice_to_state or "",
    )
    if invoice.invoice_to_vat_id:
        registration = builder.add(buyer, "ram:SpecifiedTaxRegistration")
        builder.add(registration, "ram:ID", invoice.invoice_to_vat_id, schemeID="VA")
    builder.add(transaction, "ram:ApplicableHeaderTradeDelivery")

    settlement = builder.add(transaction, "ram:ApplicableHeaderTradeSettlement")
    builder.add(settlement, "ram:InvoiceCurrencyCode", currency)
    tax_total = Decimal(0)
    for (category, rate), (basis, tax) in sorted(groups.items()):
        tax_total += tax
        header_tax = builder.add(settlement, "ram:ApplicableTradeTax")
        builder.add(header_tax, "ram:CalculatedAmount", _amount(tax))
        builder.add(header_tax, "ram:TypeCode", "VAT")
        if category in ("E", "AE", "K", "G", "O"):
            builder.add(header_tax, "ram:ExemptionReason", _EXEMPTION_REASONS[category])
        builder.add(header_tax, "ram:BasisAmount", _amount(basis))
        builder.add(header_tax, "ram:CategoryCode", category)
        builder.add(header_tax, "ram:RateApplicablePercent", _rate(rate))
    grand_total = line_total + tax_total
    totals = builder.add(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    builder.add(totals, "ram:LineTotalAmount", _amount(line_total))
    builder.add(totals, "ram:TaxBasisTotalAmount", _amount(line_total))
    builder.add(totals, "ram:TaxTotalAmount", _amount(tax_total), currencyID=currency)
    builder.add(totals, "ram:GrandTotalAmount", _amount(grand_total))
    prepaid = grand_total if paid and not invoice.is_cancellation else Decimal(0)
    if prepaid:
        builder.add(totals, "ram:TotalPrepaidAmount", _amount(prepaid))
    builder.add(totals, "ram:DuePayableAmount", _amount(grand_total - prepaid))
    if invoice.is_cancellation and invoice.refers is not None:
        referenced = builder.add(settlement, "ram:InvoiceReferencedDocument")
        builder.add(referenced, "ram:IssuerAssignedID", invoice.refers.number)
        issued = builder.add(referenced, "ram:FormattedIssueDateTime")
        builder.add(issued, "qdt:DateTimeString", invoice.refers.date.strftime("%Y%m%d"), format="102")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


_EXEMPTION_REASONS = {
    "E": "Exempt from tax",
    "AE": "Reverse charge",
    "K": "Intra-community supply",
    "G": "Export outside the EU",
    "O": "Not subject to VAT",
}

"""Bank statement files → statement lines: CSV with configurable columns, ISO 20022 camt.053 (also the camt.052
and camt.054 variants, which share the entry structure) and SWIFT MT940.

MT940 is read by the maintained ``mt-940`` library. camt has no maintained reader on PyPI, so it is read with
lxml (entities and network access off) by element names in any camt namespace version. Only incoming money
(credits) becomes a line: debits and reversals on the same statement are the organizer's own transfers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import mt940
from lxml import etree

FORMATS = ("csv", "camt053", "mt940")
CSV_FIELDS = ("payer", "reference", "amount", "date", "iban", "bic", "external_id", "currency")
MAX_LINES = 50_000


class StatementError(ValueError):
    """The file cannot be read as the given format; the message is meant for the uploader."""


@dataclass(frozen=True)
class StatementLine:
    """One incoming transfer as a bank file reports it."""

    payer: str
    reference: str
    amount: Decimal
    date: str
    iban: str = ""
    bic: str = ""
    external_id: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ParsedStatement:
    lines: list[StatementLine]
    skipped_debits: int = 0


def parse_amount(text: str, decimal_separator: str = ".") -> Decimal:
    """A money amount as banks write it (``1.234,56``, ``-12.00 EUR``, ``+57``); ``ValueError`` otherwise."""
    cleaned = re.sub(r"[^\d,.\-+]", "", text.strip())
    thousands = "," if decimal_separator == "." else "."
    cleaned = cleaned.replace(thousands, "").replace(decimal_separator, ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount.") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not an amount.")
    return value


def detect_format(content: bytes) -> str:
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "camt053"
    if b":20:" in content[:4096] and b":61:" in content:
        return "mt940"
    return "csv"


def decode(content: bytes, encoding: str | None = None) -> str:
    if encoding:
        try:
            return content.decode(encoding)
        except (LookupError, UnicodeDecodeError) as problem:
            raise StatementError(f"The file cannot be read as {encoding}: {problem}") from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Bank exports outside UTF-8 are nearly always Windows-1252 / Latin-1, which decode any byte.
        return content.decode("cp1252", errors="replace")


def parse(
    content: bytes, file_format: str | None = None, csv_options: Mapping[str, Any] | None = None
) -> ParsedStatement:
    chosen = file_format or detect_format(content)
    if chosen == "camt053":
        parsed = parse_camt(content)
    elif chosen == "mt940":
        parsed = parse_mt940(content)
    elif chosen == "csv":
        parsed = parse_csv(content, csv_options or {})
    else:
        raise StatementError(f"Unknown format, choose one of: {', '.join(FORMATS)}.")
    if len(parsed.lines) > MAX_LINES:
        raise StatementError(f"The file has more than {MAX_LINES} transactions; split it.")
    return parsed


# --- MT940 -------------------------------------------------------------------------------------------------------


def parse_mt940(content: bytes) -> ParsedStatement:
    text = decode(content)
    try:
        transactions = mt940.parse(text, options=mt940.Options.all())
    except Exception as problem:  # the library raises plain exceptions of several kinds for malformed input
        raise StatementError(f"The file is not a readable MT940 statement: {problem}") from None
    lines: list[StatementLine] = []
    skipped = 0
    for transaction in transactions:
        data = transaction.data
        amount_obj = data.get("amount")
        if amount_obj is None:
            continue
        amount = Decimal(amount_obj.amount)
        if amount <= 0:
            skipped += 1
            continue
        reference = " ".join(
            part
            for part in (data.get("purpose"), data.get("end_to_end_reference"), data.get("transaction_details"))
            if part
        )
        booked = data.get("date")
        lines.append(
            StatementLine(
                payer=str(data.get("applicant_name") or ""),
                reference=reference.strip(),
                amount=amount,
                date=booked.isoformat() if booked is not None else "",
                iban=str(data.get("applicant_iban") or data.get("gvc_applicant_iban") or ""),
                bic=str(data.get("applicant_bin") or data.get("gvc_applicant_bin") or ""),
                currency=str(amount_obj.currency or "") or None,
            )
        )
    if not lines and not skipped:
        raise StatementError("The file contains no MT940 transactions.")
    return ParsedStatement(lines, skipped)


# --- camt.053 / .052 / .054 ----------------------------------------------------------------------------------------

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _first(element: Any, *paths: str) -> str:
    for path in paths:
        value = _text(element, path)
        if value:
            return value
    return ""


def parse_camt(content: bytes) -> ParsedStatement:
    try:
        root = etree.fromstring(content, parser=_XML_PARSER)
    except etree.XMLSyntaxError as problem:
        raise StatementError(f"The file is not well-formed XML: {problem}") from None
    if not isinstance(root.tag, str) or etree.QName(root).localname != "Document":
        raise StatementError("The file is not an ISO 20022 camt document.")
    statements = root.findall("./{*}BkToCstmrStmt/{*}Stmt")
    statements += root.findall("./{*}BkToCstmrAcctRpt/{*}Rpt") + root.findall("./{*}BkToCstmrDbtCdtNtfctn/{*}Ntfctn")
    if not statements:
        raise StatementError("The file contains no camt statement, report or notification.")
    lines: list[StatementLine] = []
    skipped = 0
    for statement in statements:
        for entry in statement.findall("./{*}Ntry"):
            if _text(entry, "./{*}CdtDbtInd") != "CRDT" or _text(entry, "./{*}RvslInd").lower() == "true":
                skipped += 1
                continue
            lines += _entry_lines(entry)
    return ParsedStatement(lines, skipped)


def _entry_lines(entry: Any) -> list[StatementLine]:
    entry_amount = entry.find("./{*}Amt")
    entry_currency = entry_amount.get("Ccy") if entry_amount is not None else None
    booked = _first(entry, "./{*}BookgDt/{*}Dt", "./{*}BookgDt/{*}DtTm", "./{*}ValDt/{*}Dt", "./{*}ValDt/{*}DtTm")
    entry_ref = _text(entry, "./{*}AcctSvcrRef")
    details = entry.findall("./{*}NtryDtls/{*}TxDtls")
    if not details:
        details = [None]
    lines: list[StatementLine] = []
    for index, detail in enumerate(details):
        scope = detail if detail is not None else entry
        # A batch booking lists each transfer's own amount; a single one is the entry's amount.
        amount_element = entry_amount
        if detail is not None and len(details) > 1:
            amount_element = detail.find("./{*}AmtDtls/{*}TxAmt/{*}Amt")
            if amount_element is None:
                amount_element = detail.find("./{*}Amt")
        if amount_element is None or not (amount_element.text or "").strip():
            raise StatementError("A camt entry has no amount.")
        try:
            amount = Decimal(amount_element.text.strip())
        except InvalidOperation:
            raise StatementError(f"A camt entry has an invalid amount {amount_element.text!r}.") from None
        reference_parts = [
            (element.text or "").strip() for element in scope.findall("./{*}RmtInf/{*}Ustrd") if element.text
        ]
        structured = _text(scope, "./{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref")
        end_to_end = _text(scope, "./{*}Refs/{*}EndToEndId")
        reference = " ".join(
            part for part in [*reference_parts, structured, end_to_end if end_to_end != "NOTPROVIDED" else ""] if part
        )
        bank_ref = _first(scope, "./{*}Refs/{*}AcctSvcrRef", "./{*}Refs/{*}TxId") or entry_ref
        external_id = None
        if bank_ref:
            external_id = bank_ref if len(details) == 1 or bank_ref != entry_ref else f"{bank_ref}/{index + 1}"
        lines.append(
            StatementLine(
                payer=_first(
                    scope,
                    "./{*}RltdPties/{*}Dbtr/{*}Nm",
                    "./{*}RltdPties/{*}Dbtr/{*}Pty/{*}Nm",
                    "./{*}RltdPties/{*}UltmtDbtr/{*}Nm",
                ),
                reference=reference,
                amount=amount,
                date=booked[:10],
                iban=_text(scope, "./{*}RltdPties/{*}DbtrAcct/{*}Id/{*}IBAN"),
                bic=_first(
                    scope,
                    "./{*}RltdAgts/{*}DbtrAgt/{*}FinInstnId/{*}BIC",
                    "./{*}RltdAgts/{*}DbtrAgt/{*}FinInstnId/{*}BICFI",
                ),
                external_id=external_id,
                currency=amount_element.get("Ccy") or entry_currency,
            )
        )
    return lines


# --- CSV -----------------------------------------------------------------------------------------------------------


def _column_index(header: Sequence[str] | None, column: Any, field: str) -> int:
    if isinstance(column, int) and not isinstance(column, bool):
        if column < 0:
            raise StatementError(f"Column of {field} must be 0 or more.")
        return column
    if isinstance(column, str) and column.strip().isdigit() and (header is None or column not in header):
        return int(column.strip())
    if isinstance(column, str) and header is not None:
        wanted = column.strip().lower()
        for index, name in enumerate(header):
            if name.strip().lower() == wanted:
                return index
        raise StatementError(f"The file has no column {column!r} (for {field}).")
    raise StatementError(f"Column of {field} must be a column name or a 0-based number.")


def parse_csv(content: bytes, options: Mapping[str, Any]) -> ParsedStatement:
    """Read CSV with columns chosen by ``options``: each field of :data:`CSV_FIELDS` → header name or 0-based
    index (``reference`` may list several columns, joined), plus ``delimiter`` (sniffed when absent),
    ``decimal`` (``.`` or ``,``), ``encoding`` and ``has_header`` (default true)."""
    columns = {field: options[field] for field in CSV_FIELDS if options.get(field) not in (None, "", [])}
    for required in ("amount", "reference"):
        if required not in columns:
            raise StatementError(f"Say which column holds the {required} (csv option {required!r}).")
    text = decode(content, options.get("encoding") or None)
    delimiter = options.get("delimiter") or _sniff_delimiter(text)
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise StatementError("The delimiter must be one character.")
    decimal_separator = options.get("decimal") or "."
    if decimal_separator not in (".", ","):
        raise StatementError("The decimal separator must be '.' or ','.")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    has_header = options.get("has_header", True) not in (False, "false", "0", 0)
    header = rows[0] if has_header and rows else None
    body = rows[1:] if has_header else rows
    indexes: dict[str, list[int]] = {}
    for field, column in columns.items():
        wanted = column if isinstance(column, list) and field == "reference" else [column]
        indexes[field] = [_column_index(header, single, field) for single in wanted]
    lines: list[StatementLine] = []
    skipped = 0
    for number, row in enumerate(body, start=2 if has_header else 1):
        if not any(cell.strip() for cell in row):
            continue

        def cell(field: str, row: list[str] = row) -> str:
            return " ".join(row[i].strip() for i in indexes.get(field, []) if i < len(row) and row[i].strip())

        raw_amount = cell("amount")
        try:
            amount = parse_amount(raw_amount, decimal_separator)
        except ValueError:
            raise StatementError(f"Line {number}: {raw_amount!r} is not an amount.") from None
        if amount <= 0:
            skipped += 1
            continue
        lines.append(
            StatementLine(
                payer=cell("payer"),
                reference=cell("reference"),
                amount=amount,
                date=cell("date"),
                iban=cell("iban").replace(" ", ""),
                bic=cell("bic"),
                external_id=cell("external_id") or None,
                currency=cell("currency").upper() or None,
            )
        )
    return ParsedStatement(lines, skipped)


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=";,\t|").delimiter
    except csv.Error:
        return ","


def unknown_csv_options(options: Iterable[str]) -> list[str]:
    return [name for name in options if name not in (*CSV_FIELDS, "delimiter", "decimal", "encoding", "has_header")]

"""Statement parsers: amounts as banks write them, CSV column mappings, camt variants, MT940, format detection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boxoffice.plugins.banktransfer.parsers import StatementError, detect_format, parse, parse_amount


@pytest.mark.parametrize(
    ("text", "separator", "expected"),
    [
        ("1.234,56", ",", "1234.56"),
        ("1,234.56", ".", "1234.56"),
        ("-12,00 EUR", ",", "-12.00"),
        ("+57", ".", "57"),
        ("€ 23.5", ".", "23.5"),
    ],
)
def test_amounts_as_banks_write_them(text, separator, expected):
    assert parse_amount(text, separator) == Decimal(expected)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3,4,5"])
def test_unreadable_amounts_are_refused(text):
    with pytest.raises(ValueError):
        parse_amount(text, ",")


def test_csv_without_header_by_column_index():
    content = b"2031-04-01\tJane\tDEMOCON-ABC12\t35.00\tEUR\n2031-04-02\tJohn\tX\t-3.00\tEUR\n"
    parsed = parse(
        content, "csv", {"date": 0, "payer": 1, "reference": 2, "amount": 3, "currency": 4, "has_header": False}
    )
    assert parsed.skipped_debits == 1
    (line,) = parsed.lines
    assert (line.payer, line.reference, line.amount, line.currency, line.date) == (
        "Jane",
        "DEMOCON-ABC12",
        Decimal("35.00"),
        "EUR",
        "2031-04-01",
    )


def test_csv_needs_amount_and_reference_columns():
    with pytest.raises(StatementError, match="amount"):
        parse(b"a;b\n1;2\n", "csv", {"reference": "a"})
    with pytest.raises(StatementError, match="no column"):
        parse(b"a;b\n1;2\n", "csv", {"reference": "a", "amount": "c"})


NOTIFICATION = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
 <BkToCstmrDbtCdtNtfctn><Ntfctn>
  <Ntry><Amt Ccy="CHF">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><ValDt><Dt>2031-05-02</Dt></ValDt>
   <NtryDtls><TxDtls><Refs><TxId>T-9</TxId></Refs>
    <RltdPties><Dbtr><Pty><Nm>Anna</Nm></Pty></Dbtr></RltdPties>
    <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
  <Ntry><Amt Ccy="CHF">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>true</RvslInd></Ntry>
 </Ntfctn></BkToCstmrDbtCdtNtfctn>
</Document>"""


def test_camt054_notification_with_structured_reference():
    parsed = parse(NOTIFICATION)
    assert parsed.skipped_debits == 1
    (line,) = parsed.lines
    assert (line.payer, line.reference, line.amount, line.currency, line.external_id, line.date) == (
        "Anna",
        "RF18539007547034",
        Decimal("12.50"),
        "CHF",
        "T-9",
        "2031-05-02",
    )


def test_xml_entities_are_not_expanded():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>
<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<NtryDtls><TxDtls><RmtInf><Ustrd>&b;</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"""
    (line,) = parse(bomb).lines
    assert "aaaaaaaaaa" not in line.reference


def test_mt940_without_structured_details():
    content = b""":20:REF
:25:DE89370400440532013000
:28C:1
:60F:C310101EUR0,00
:61:3101020102C12,00NTRFNONREF
:86:DEMOCON-ABC12 Max Mustermann
:62F:C310102EUR12,00
"""
    (line,) = parse(content).lines
    assert line.amount == Decimal("12.00") and "DEMOCON-ABC12" in line.reference and line.currency == "EUR"


def test_format_detection():
    assert detect_format(b"\xef\xbb\xbf<?xml version='1.0'?><Document/>") == "camt053"
    assert detect_format(b":20:X\r\n:25:Y\r\n:61:Z") == "mt940"
    assert detect_format(b"a,b\n1,2\n") == "csv"

"""The bank transfer REST resources: import jobs (pretix's ``bankimportjobs``), statement file uploads, refund
exports; permissions; the plugin-disabled case; queued jobs when a broker is configured."""

from __future__ import annotations

import json
import os
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import select

from boxoffice.apps.api import create_app
from boxoffice.kernel.models import Event, Item, LogEntry, Organizer
from boxoffice.kernel.models.orders import OrderRefund
from boxoffice.plugins.banktransfer.models import ImportJob

REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "")
JOBS = "/api/v1/organizers/demo/bankimportjobs/"
UPLOAD = JOBS + "upload/"
EXPORTS = "/api/v1/organizers/demo/bankrefundexports/"
SPEC_TRANSACTION_FIELDS = {
    "amount",
    "comment",
    "date",
    "payer",
    "order",
    "external_id",
    "iban",
    "bic",
    "checksum",
    "reference",
    "state",
    "message",
}


def test_import_job_round_trip(api):
    code = api.shop.order()
    response = api.post(
        JOBS,
        {
            "event": "democon",
            "transactions": [
                {"payer": "Foo", "reference": f"DEMOCON-{code}", "amount": "35.00", "date": "2031-04-01"},
                {"payer": "Bar", "reference": "rent", "amount": "23.00", "date": "2031-04-01"},
            ],
        },
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert set(job) >= {"id", "event", "created", "state", "transactions"}
    assert job["event"] == "democon" and job["state"] == "completed" and job["created"].endswith("Z")
    matched, unmatched = job["transactions"]
    assert set(matched) >= SPEC_TRANSACTION_FIELDS
    assert (matched["state"], matched["order"], matched["amount"], matched["payer"]) == ("valid", code, "35.00", "")
    assert (unmatched["state"], unmatched["order"], unmatched["payer"]) == ("nomatch", None, "Bar")
    assert len(matched["checksum"]) == 40
    assert api.shop.get(code).status == "p"

    detail = api.get(f"{JOBS}{job['id']}/")
    assert detail.status_code == 200 and detail.json() == job
    listing = api.get(JOBS).json()
    assert (listing["count"], listing["next"], listing["previous"]) == (1, None, None)
    assert listing["results"] == [job]
    assert api.get(JOBS, params={"event": "usacon"}).json()["count"] == 0
    assert api.get(JOBS, params={"state": "completed"}).json()["count"] == 1
    assert api.get(JOBS, params={"state": "pending"}).json()["count"] == 0
    assert api.get(f"{JOBS}{job['id'] + 1}/").status_code == 404
    with api.kernel.db.session() as session:
        entry = session.scalar(
            select(LogEntry).where(LogEntry.action_type == "boxoffice.plugins.banktransfer.import.created")
        )
        assert entry.data["transactions"] == 2 and entry.actor_type == "token"
        assert (
            session.scalar(select(LogEntry).where(LogEntry.action_type == "boxoffice.event.order.paid")).actor_type
            == "token"
        )


def test_organizer_wide_job_and_pagination(api):
    codes = [api.shop.order() for _ in range(3)]
    for code in codes:
        response = api.post(JOBS, {"transactions": [{"reference": code, "amount": "35.00"}]})
        assert response.status_code == 201 and response.json()["event"] is None
    first = api.get(JOBS, params={"page_size": 2}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"].endswith("page=2")
    second = api.client.get(first["next"], headers=api.headers(None)).json()
    assert len(second["results"]) == 1 and second["previous"] is not None
    assert api.get(JOBS, params={"page": 5}).status_code == 404


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"transactions": ["This field is required."]}),
        ({"transactions": []}, {"transactions": ["This list may not be empty."]}),
        ({"transactions": [{"reference": "x"}]}, {"transactions": [{"amount": ["This field is required."]}]}),
        ({"transactions": [{"amount": "abc"}]}, {"transactions": [{"amount": ["A valid number is required."]}]}),
        (
            {"transactions": [{"amount": "1.234"}]},
            {"transactions": [{"amount": ["Enter an amount with at most two decimals."]}]},
        ),
        (
            {"transactions": [{"amount": "1.00"}, {"amount": "1", "currency": "EURO"}]},
            {"transactions": [{}, {"currency": ["Enter an ISO 4217 currency code."]}]},
        ),
        ({"event": "nope", "transactions": [{"amount": "1"}]}, {"event": ["Object with slug=nope does not exist."]}),
        (
            {"event": "off", "transactions": [{"amount": "1"}]},
            {"event": ["Bank transfer is not enabled for this event."]},
        ),
    ],
)
def test_bad_input_is_a_400_with_field_messages(api, body, errors):
    response = api.post(JOBS, body)
    assert response.status_code == 400, response.text
    assert response.json() == errors


def test_permissions(api):
    assert api.client.get(JOBS).status_code == 401
    assert api.client.post(JOBS, json={"transactions": [{"amount": "1"}]}).status_code == 401
    rival = api.make_token("lonely")
    assert api.get(JOBS, token=rival).status_code == 403
    reader = api.make_token(all_event_permissions=False, limit_event_permissions=["event.orders:read"])
    assert api.get(JOBS, token=reader).status_code == 200
    assert api.post(JOBS, {"transactions": [{"amount": "1"}]}, token=reader).status_code == 403
    limited = api.make_token(all_events=False, events=("democon",))
    # Organizer-wide jobs touch every event: only callers with access to all events may create or see them.
    assert api.post(JOBS, {"transactions": [{"amount": "1"}]}, token=limited).status_code == 403
    own = api.post(JOBS, {"event": "democon", "transactions": [{"amount": "1"}]}, token=limited)
    assert own.status_code == 201
    wide = api.post(JOBS, {"transactions": [{"amount": "1"}]})
    assert api.get(JOBS, token=limited).json()["count"] == 1
    assert api.get(f"{JOBS}{wide.json()['id']}/", token=limited).status_code == 404
    assert api.post(JOBS, {"event": "usacon", "transactions": [{"amount": "1"}]}, token=limited).status_code == 400


def test_plugin_disabled_organizer_and_event(api):
    token = api.make_token("lonely")
    for path in ("/api/v1/organizers/lonely/bankimportjobs/", "/api/v1/organizers/lonely/bankrefundexports/"):
        assert api.get(path, token=token).status_code == 404
        assert api.post(path, {"transactions": [{"amount": "1"}]}, token=token).status_code == 404
    assert api.get("/api/v1/organizers/nobody/bankimportjobs/").status_code == 404
    # Switching the plugin off on the last event takes the resources away.
    with api.kernel.db.session() as session:
        for event in session.scalars(select(Event).join(Organizer).where(Organizer.slug == "demo")):
            event.plugins = []
    assert api.get(JOBS).status_code == 404
    # ... and the provider is no longer offered on those events.
    with api.kernel.db.session() as session:
        item_id = session.scalar(select(Item.id).join(Event).where(Event.slug == "democon"))
    checkout = api.post(
        "/api/v1/organizers/demo/events/democon/orders/",
        {"positions": [{"item": item_id}], "payment_provider": "banktransfer", "email": "a@example.org"},
    )
    assert checkout.status_code == 400
    assert checkout.json() == {"payment_provider": ['The payment provider "banktransfer" is not known.']}


CSV_STATEMENT = """Buchungstag;Empfänger;Verwendungszweck;Betrag;IBAN
01.04.2031;Jane Doe;Ticket DEMOCON-{code};35,00;DE89 3704 0044 0532 0130 00
02.04.2031;Shop;Miete;-500,00;DE02120300000000202051
03.04.2031;John Roe;Spende;1.234,50;
"""


def test_csv_upload_with_configured_columns(api):
    code = api.shop.order()
    columns = {"payer": "Empfänger", "reference": "Verwendungszweck", "amount": "Betrag", "date": 0, "iban": "IBAN"}
    response = api.client.post(
        UPLOAD,
        headers=api.headers(None),
        files={"file": ("statement.csv", CSV_STATEMENT.format(code=code).encode("cp1252"), "text/csv")},
        data={"format": "csv", "event": "democon", "csv": json.dumps({**columns, "decimal": ","})},
    )
    assert response.status_code == 201, response.text
    transactions = response.json()["transactions"]
    assert [t["state"] for t in transactions] == ["valid", "nomatch"]
    assert transactions[1]["amount"] == "1234.50" and transactions[1]["payer"] == "John Roe"
    assert transactions[1]["date"] == "03.04.2031"
    payment = next(p for p in api.shop.get(code).payments if p.provider == "banktransfer")
    assert payment.info["iban"] == "DE89370400440532013000" and payment.info["payer"] == "Jane Doe"
    with api.kernel.db.session() as session:
        assert session.scalar(select(ImportJob.message)) == "1 outgoing transfers skipped."


def test_csv_columns_default_from_the_organizer_setting(api):
    code = api.shop.order()
    with api.kernel.db.session() as session:
        organizer = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
        api.kernel.settings_for(session, organizer=organizer).set(
            "banktransfer_csv_columns", {"reference": ["Text1", "Text2"], "amount": "Amount", "delimiter": ","}
        )
    content = f"Text1,Text2,Amount\nHello,DEMOCON {code},35.00\n".encode()
    response = api.client.post(UPLOAD, headers=api.headers(None), files={"file": ("s.csv", content, "text/csv")})
    assert response.status_code == 201, response.text
    assert [t["state"] for t in response.json()["transactions"]] == ["valid"]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>1</MsgId><CreDtTm>2031-04-02T10:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>S1</Id>
   <Ntry>
    <Amt Ccy="EUR">35.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2031-04-01</Dt></BookgDt><AcctSvcrRef>BANKREF-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
     <RltdPties><Dbtr><Nm>Jane Doe</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct></RltdPties>
     <RltdAgts><DbtrAgt><FinInstnId><BIC>COBADEFFXXX</BIC></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>DEMOCON-{first}</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">70.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2031-04-01</Dt></BookgDt><AcctSvcrRef>BATCH-7</AcctSvcrRef>
    <NtryDtls>
     <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">35.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Max</Nm></Dbtr></RltdPties><RmtInf><Ustrd>{second}</Ustrd></RmtInf></TxDtls>
     <TxDtls><AmtDtls><TxAmt><Amt Ccy="EUR">35.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Nm>Eve</Nm></Dbtr></RltdPties><RmtInf><Ustrd>no code here</Ustrd></RmtInf></TxDtls>
    </NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">12.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2031-04-01</Dt></BookgDt>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>
"""


def test_camt053_upload_and_reupload(api):
    first, second = api.shop.order(), api.shop.order()
    content = CAMT.format(first=first, second=second).encode()

    def upload() -> list[dict]:
        response = api.client.post(
            UPLOAD, headers=api.headers(None), files={"file": ("camt.xml", content, "application/xml")}
        )
        assert response.status_code == 201, response.text
        return response.json()["transactions"]

    transactions = upload()
    assert [(t["state"], t["external_id"]) for t in transactions] == [
        ("valid", "BANKREF-1"),
        ("valid", "BATCH-7/1"),
        ("nomatch", "BATCH-7/2"),
    ]
    assert transactions[0]["iban"] == "DE89370400440532013000" and transactions[0]["bic"] == "COBADEFFXXX"
    assert transactions[0]["date"] == "2031-04-01"
    # The same statement again (a bank download that overlaps the last one) pays nothing twice.
    assert [t["state"] for t in upload()] == ["already", "already", "nomatch"]


MT940 = """:20:STARTUMS
:25:10020030/1234567
:28C:0
:60F:C310331EUR1000,00
:61:3104010401C35,00NTRFNONREF//123456
:86:166?00GUTSCHRIFT?20EREF+DEMOCON-{code}?21SVWZ+Ticket DEMOCON-{code}
?30COBADEFFXXX?31DE89370400440532013000?32Jane Doe
:61:3104020402D10,00NTRFNONREF
:86:Lastschrift
:62F:C310402EUR1025,00
"""


def test_mt940_upload(api):
    code = api.shop.order()
    response = api.client.post(
        UPLOAD,
        headers=api.headers(None),
        files={"file": ("statement.sta", MT940.format(code=code).encode(), "text/plain")},
        data={"format": "mt940"},
    )
    assert response.status_code == 201, response.text
    (transaction,) = response.json()["transactions"]
    assert (transaction["state"], transaction["order"], transaction["iban"]) == (
        "valid",
        code,
        "DE89370400440532013000",
    )
    payment = next(p for p in api.shop.get(code).payments if p.provider == "banktransfer")
    assert payment.info["payer"] == "Jane Doe"


@pytest.mark.parametrize(
    ("content", "data", "field"),
    [
        (b"", {}, "file"),
        (b"<Document><broken>", {}, "file"),
        (b'<?xml version="1.0"?><Other/>', {}, "file"),
        (b":20:X\n:61:garbage\n", {"format": "mt940"}, "file"),
        (b"a,b\n1,2\n", {"format": "csv"}, "file"),
        (b"a,b\n1,2\n", {"format": "csv", "csv": '{"amount": "zz", "reference": "a"}'}, "file"),
        (b"a,b\n1,2\n", {"format": "csv", "csv": "not json"}, "csv"),
        (b"a,b\n1,2\n", {"format": "csv", "csv": '{"colour": 1}'}, "csv"),
        (b"a,b\n1,2\n", {"format": "pdf"}, "format"),
        (b"a,b\nx,y\n", {"csv": '{"amount": "b", "reference": "a"}'}, "file"),
    ],
)
def test_bad_files_are_400s(api, content, data, field):
    response = api.client.post(
        UPLOAD, headers=api.headers(None), files={"file": ("f", content, "application/octet-stream")}, data=data
    )
    assert response.status_code == 400, response.text
    assert list(response.json()) == [field]


def test_refund_export_round_trip(api):
    code = api.shop.order()
    paid = api.post(
        JOBS,
        {
            "transactions": [
                {"payer": "Jäne Doe", "reference": code, "amount": "35.00", "iban": "DE89 3704 0044 0532 0130 00"}
            ]
        },
    )
    assert paid.json()["transactions"][0]["state"] == "valid"
    local_id = next(p for p in api.shop.get(code).payments if p.provider == "banktransfer").local_id
    order_path = f"/api/v1/organizers/demo/events/democon/orders/{code}/"
    refund = api.post(f"{order_path}payments/{local_id}/refund/", {"amount": "20.00"})
    assert refund.status_code == 200, refund.text
    assert refund.json()["state"] == "created"
    # A refund recorded with the payer's account through the refunds resource waits for the export as well.
    manual = api.post(
        f"{order_path}refunds/",
        {
            "amount": "5.00",
            "provider": "banktransfer",
            "info": {"payer": "Jane Doe", "iban": "DE02120300000000202051", "bic": "BYLADEM1001"},
        },
    )
    assert manual.status_code == 201, manual.text
    broken = api.post(f"{order_path}refunds/", {"amount": "1.00", "provider": "banktransfer", "info": {"iban": "X"}})
    assert broken.status_code == 201

    export = api.post(EXPORTS, {})
    assert export.status_code == 201, export.text
    body = export.json()
    assert body["total"] == "25.00" and body["currency"] == "EUR" and not body["done"]
    assert [(r["payer"], r["iban"], r["amount"]) for r in body["refunds"]] == [
        ("Jaene Doe", "DE89370400440532013000", "20.00"),
        ("Jane Doe", "DE02120300000000202051", "5.00"),
    ]
    assert len(body["skipped"]) == 1 and "IBAN" in body["skipped"][0]["reason"]
    # Nothing is put into two files.
    again = api.post(EXPORTS, {})
    assert again.status_code == 400 and "no bank transfer refunds" in again.json()["non_field_errors"][0]

    download = api.get(f"{EXPORTS}{body['id']}/download/")
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/xml")
    assert "attachment" in download.headers["content-disposition"]
    document = etree.fromstring(download.content)
    namespace = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=namespace) == "2"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=namespace) == "25.00"
    assert document.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=namespace) == "DE89370400440532013000"
    creditors = document.findall(".//p:CdtTrfTxInf", namespaces=namespace)
    assert [c.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=namespace) for c in creditors] == [
        "DE89370400440532013000",
        "DE02120300000000202051",
    ]
    newer = api.get(f"{EXPORTS}{body['id']}/download/", params={"schema": "pain.001.001.09"})
    assert b"pain.001.001.09" in newer.content
    assert api.get(f"{EXPORTS}{body['id']}/download/", params={"schema": "pain.002"}).status_code == 400

    done = api.post(f"{EXPORTS}{body['id']}/mark_done/")
    assert done.status_code == 200 and done.json()["done"]
    with api.kernel.db.session() as session:
        refunds = {r.amount: r.state for r in session.scalars(select(OrderRefund))}
    assert refunds == {Decimal("20.00"): "done", Decimal("5.00"): "done", Decimal("1.00"): "created"}
    assert api.get(EXPORTS).json()["count"] == 1
    assert api.get(f"{EXPORTS}{body['id']}/").json()["done"] is True


def test_refund_export_needs_the_organizers_account(api):
    with api.kernel.db.session() as session:
        organizer = session.scalar(select(Organizer).where(Organizer.slug == "demo"))
        api.kernel.settings_for(session, organizer=organizer).set("payment_banktransfer_iban", "")
    response = api.post(EXPORTS, {})
    assert response.status_code == 400 and "IBAN" in response.json()["non_field_errors"][0]


def test_settings_refuse_an_invalid_iban(api):
    response = api.client.patch(
        "/api/v1/organizers/demo/events/democon/settings/",
        json={"payment_banktransfer_iban": "DE00 1234"},
        headers=api.headers(None),
    )
    assert response.status_code == 400
    assert "payment_banktransfer_iban" in response.json()


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="BOXOFFICE_TEST_REDIS_URL is not set")
def test_with_a_broker_the_job_is_queued_and_a_worker_completes_it(api, make_kernel):
    from litestar.testing import TestClient

    queued = make_kernel(config_overrides={"redis_url": REDIS_URL})
    code = api.shop.order()
    with TestClient(app=create_app(queued)) as client:
        response = client.post(
            JOBS, json={"transactions": [{"reference": code, "amount": "35.00"}]}, headers=api.headers(None)
        )
        assert response.status_code == 201, response.text
        job = response.json()
        assert (job["state"], job["transactions"]) == ("pending", [])
        # What a worker does with the task: run the recorded job.
        from boxoffice.kernel.models import JobRecord

        with queued.db.session() as session:
            record_id = session.scalar(select(JobRecord.id).where(JobRecord.name == "banktransfer.import"))
        queued.jobs.run(record_id)
        finished = client.get(f"{JOBS}{job['id']}/", headers=api.headers(None)).json()
        assert finished["state"] == "completed" and finished["transactions"][0]["state"] == "valid"

"""REST resources of the bank transfer plugin, mounted under ``/api/v1/organizers/{organizer}/``:

* ``bankimportjobs/`` — list, fetch and create import jobs (pretix's bank transfer API); ``bankimportjobs/upload/``
  takes a statement file (CSV, camt.053, MT940) as ``multipart/form-data`` and creates a job from it;
* ``bankrefundexports/`` — collect pending bank transfer refunds into a SEPA credit-transfer (pain.001) file,
  download it (``…/{id}/download/``) and mark its refunds done (``…/{id}/mark_done/``).

The plumbing is the API toolkit's, as for core resources: ``in_call`` authenticates and runs each request in one
unit of work, the ``Call`` scopes the organizer, checks permissions, paginates and audit-logs; errors are pretix's
shape. The rest is the plugin's public surface: the kernel's job runner, settings and provider steps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from boxoffice.apps.api.errors import FieldErrors, Problems, forbidden, not_found
from boxoffice.apps.api.toolkit import Call, Page, in_call
from boxoffice.hookspecs.providers import ValidationFailure
from boxoffice.kernel import clock
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.orders import Order, OrderRefund
from boxoffice.plugins.banktransfer import sepa
from boxoffice.plugins.banktransfer.matching import JOB_NAME, checksum, plugin_events
from boxoffice.plugins.banktransfer.models import BankTransaction, ExportedRefund, ImportJob, RefundExport
from boxoffice.plugins.banktransfer.parsers import CSV_FIELDS, StatementError, parse, unknown_csv_options
from boxoffice.plugins.banktransfer.provider import CSV_COLUMNS_KEY, IDENTIFIER, PREFIX, BankTransfer

MAX_TRANSACTIONS = 50_000
MAX_FILE_BYTES = 20 * 1024 * 1024
READ = "event.orders:read"
WRITE = "event.orders:write"
AMOUNT_LIMIT = Decimal("99999999999.99")


# --- shapes -----------------------------------------------------------------------------------------------------


class TransactionIn(msgspec.Struct):
    amount: Decimal
    payer: str = ""
    reference: str = ""
    date: str = ""
    iban: str = ""
    bic: str = ""
    external_id: str | None = None
    currency: str | None = None


class JobIn(msgspec.Struct):
    transactions: list[TransactionIn]
    event: str | None = None


class TransactionOut(msgspec.Struct):
    state: str
    message: str
    checksum: str
    payer: str
    reference: str
    amount: str
    currency: str | None
    iban: str
    bic: str
    date: str
    external_id: str | None
    order: str | None
    comment: str


class JobOut(msgspec.Struct):
    id: int
    event: str | None
    created: datetime
    state: str
    transactions: list[TransactionOut]


class ExportIn(msgspec.Struct):
    event: str | None = None


class ExportRow(msgspec.Struct):
    refund: int
    order: str
    event: str
    payer: str
    iban: str
    bic: str
    amount: str
    reference: str


class ExportOut(msgspec.Struct):
    id: int
    event: str | None
    created: datetime
    currency: str
    total: str
    done: bool
    refunds: list[ExportRow]
    skipped: list[dict[str, str]] = msgspec.field(default_factory=list)


@dataclass
class UploadForm:
    file: UploadFile
    format: str | None = None
    event: str | None = None
    csv: str | None = None


# --- helpers -----------------------------------------------------------------------------------------------------


def organizer_for(call: Call, organizer_slug: str, permission: str, *, all_events: bool = False) -> Organizer:
    """The caller's organizer once the caller holds ``permission``; organizer-wide work needs access to all events."""
    organizer = call.organizer(organizer_slug)
    call.require_event_permission(permission)
    if all_events and not call.principal.all_events:
        raise forbidden()
    return organizer


def visible(call: Call, event_id: int | None) -> bool:
    """Organizer-wide objects need access to all events; event ones access to that event."""
    return call.principal.all_events if event_id is None else call.principal.can_see_event(event_id)


def find_event(call: Call, organizer: Organizer, slug: str | None) -> Event | None:
    """The event a job or export is limited to; 400 when it is unknown, not visible or without bank transfer."""
    if slug is None:
        return None
    event = call.session.scalar(select(Event).where(Event.organizer_id == organizer.id, Event.slug == slug))
    if event is None or not call.principal.can_see_event(event.id):
        raise ValidationFailure("Object with slug=" + slug + " does not exist.", field="event")
    if IDENTIFIER not in call.kernel.plugins.active_for_event(event):
        raise ValidationFailure("Bank transfer is not enabled for this event.", field="event")
    return event


def visible_events(call: Call, statement: Select[Any], column: Any, event_slugs: dict[int, str]) -> Select[Any]:
    if call.principal.all_events:
        return statement
    return statement.where(column.in_([event_id for event_id in event_slugs if call.principal.can_see_event(event_id)]))


def transaction_out(transaction: BankTransaction) -> TransactionOut:
    return TransactionOut(
        state=transaction.state,
        message=transaction.message,
        checksum=transaction.checksum,
        payer=transaction.payer,
        reference=transaction.reference,
        amount=f"{Decimal(transaction.amount):.2f}",
        currency=transaction.currency,
        iban=transaction.iban,
        bic=transaction.bic,
        date=transaction.date,
        external_id=transaction.external_id,
        order=transaction.order_code,
        comment=transaction.comment,
    )


def job_out(job: ImportJob, event_slugs: dict[int, str]) -> JobOut:
    # The spec shows transactions only once processing started.
    transactions = [] if job.state == "pending" else [transaction_out(t) for t in job.transactions]
    return JobOut(
        id=job.id,
        event=event_slugs.get(job.event_id) if job.event_id is not None else None,
        created=job.created,
        state=job.state,
        transactions=transactions,
    )


def slugs(call: Call, organizer: Organizer) -> dict[int, str]:
    rows = call.session.execute(select(Event.id, Event.slug).where(Event.organizer_id == organizer.id))
    return {event_id: slug for event_id, slug in rows}


TEXT_LIMITS = (("payer", 2000), ("reference", 4000), ("date", 64), ("iban", 64), ("bic", 64), ("external_id", 190))


def check_transactions(transactions: Sequence[TransactionIn]) -> None:
    """400 naming every bad transaction field, nested like the input (``{"transactions": [{}, {"amount": […]}]}``)."""
    if not transactions:
        raise FieldErrors.single("transactions", "This list may not be empty.")
    if len(transactions) > MAX_TRANSACTIONS:
        raise FieldErrors.single("transactions", f"At most {MAX_TRANSACTIONS} transactions per job.")
    problems: dict[int, Problems] = {}
    for index, transaction in enumerate(transactions):
        found = problems[index] = Problems()
        amount = transaction.amount
        if not amount.is_finite() or abs(amount) > AMOUNT_LIMIT or amount != amount.quantize(Decimal("0.01")):
            found.add("amount", "Enter an amount with at most two decimals.")
        for field, limit in TEXT_LIMITS:
            value = getattr(transaction, field)
            if value is not None and (len(value) > limit or "\x00" in value):
                found.add(field, f"At most {limit} characters.")
        if transaction.currency is not None and (len(transaction.currency) != 3 or not transaction.currency.isalpha()):
            found.add("currency", "Enter an ISO 4217 currency code.")
    last = max((index for index, found in problems.items() if found.errors), default=None)
    if last is not None:
        raise FieldErrors({"transactions": [problems[index].errors for index in range(last + 1)]})


def create_job(
    call: Call,
    organizer: Organizer,
    event: Event | None,
    transactions: Sequence[TransactionIn],
    source: str,
    note: str = "",
) -> JobOut:
    """Store a job with its transactions and commit, which starts matching; answer the job as it is then (already
    ``completed`` when jobs run in-process)."""
    actor = call.principal.actor
    job = ImportJob(
        organizer_id=organizer.id,
        event_id=event.id if event is not None else None,
        created=clock.now(),
        state="pending",
        message=note,
        actor_type=actor.type,
        actor_id=actor.id,
        source=source,
    )
    call.session.add(job)
    call.session.flush()
    call.session.bulk_save_objects(
        [
            BankTransaction(
                job_id=job.id,
                organizer_id=organizer.id,
                state="imported",
                message="",
                checksum=checksum(t.payer, t.reference, t.amount, t.date),
                payer=t.payer,
                reference=t.reference,
                amount=t.amount,
                currency=t.currency.upper() if t.currency else None,
                iban=t.iban.replace(" ", "").upper(),
                bic=t.bic.replace(" ", "").upper(),
                date=t.date,
                external_id=t.external_id or None,
                comment="",
            )
            for t in transactions
        ]
    )
    call.log(
        organizer,
        "boxoffice.plugins.banktransfer.import.created",
        {"job": job.id, "event": event.slug if event is not None else None, "transactions": len(transactions)},
    )
    call.kernel.jobs.enqueue_on_commit(call.session, JOB_NAME, import_job_id=job.id)
    job_id = job.id
    call.session.commit()
    call.session.expire_all()  # the job ran (or is queued) in its own unit of work: read what it left
    stored = call.session.scalar(
        select(ImportJob).where(ImportJob.id == job_id).options(selectinload(ImportJob.transactions))
    )
    if stored is None:  # deleted with its event in the meantime
        raise not_found()
    return job_out(stored, slugs(call, organizer))


# --- import jobs -------------------------------------------------------------------------------------------------


@get("/bankimportjobs/")
async def list_import_jobs(request: Request, organizer_slug: FromPath[str]) -> Response[Page[JobOut]]:
    """Import jobs of the organizer, newest first; ``?event=<slug>`` and ``?state=`` filter."""

    def work(call: Call) -> Page[JobOut]:
        organizer = organizer_for(call, organizer_slug, READ)
        event_slugs = slugs(call, organizer)
        statement = (
            select(ImportJob)
            .where(ImportJob.organizer_id == organizer.id)
            .options(selectinload(ImportJob.transactions))
        )
        statement = visible_events(call, statement, ImportJob.event_id, event_slugs)
        if "event" in call.query:
            wanted = [i for i, s in event_slugs.items() if s == call.query["event"]]
            statement = statement.where(ImportJob.event_id.in_(wanted))
        if "state" in call.query:
            statement = statement.where(ImportJob.state == call.query["state"])
        return call.paginate(statement, lambda job: job_out(job, event_slugs), default_ordering=[ImportJob.id.desc()])

    return await in_call(request, work)


@get("/bankimportjobs/{job_id:int}/")
async def get_import_job(request: Request, organizer_slug: FromPath[str], job_id: FromPath[int]) -> Response[JobOut]:
    """One import job with its transactions and their states."""

    def work(call: Call) -> JobOut:
        organizer = organizer_for(call, organizer_slug, READ)
        job = call.get(ImportJob, job_id, organizer_id=organizer.id)
        if not visible(call, job.event_id):
            raise not_found()
        return job_out(job, slugs(call, organizer))

    return await in_call(request, work)


@post("/bankimportjobs/", status_code=201)
async def create_import_job(request: Request, organizer_slug: FromPath[str], data: JSONBody[JobIn]) -> Response[JobOut]:
    """Hand in bank transactions for matching. Answers 201 with the job: already ``completed`` when jobs run
    in-process, ``pending`` (without transactions) while a worker has it queued."""

    def work(call: Call) -> JobOut:
        organizer = organizer_for(call, organizer_slug, WRITE, all_events=data.event is None)
        check_transactions(data.transactions)
        event = find_event(call, organizer, data.event)
        return create_job(call, organizer, event, data.transactions, "api")

    return await in_call(request, work, status_code=201)


def _form_options(call: Call, form: UploadForm, organizer: Organizer) -> dict[str, Any]:
    options = dict(call.settings(organizer=organizer).get(CSV_COLUMNS_KEY) or {})
    if form.csv:
        try:
            given = json.loads(form.csv)
        except ValueError:
            raise ValidationFailure("Enter the CSV options as a JSON object.", field="csv") from None
        if not isinstance(given, dict):
            raise ValidationFailure("Enter the CSV options as a JSON object.", field="csv")
        unknown = unknown_csv_options(given)
        if unknown:
            raise ValidationFailure(
                f"Unknown CSV option {unknown[0]!r}; use {', '.join(CSV_FIELDS)}, delimiter, decimal, encoding, "
                "has_header.",
                field="csv",
            )
        options.update(given)
    return options


@post("/bankimportjobs/upload/", status_code=201, request_max_body_size=MAX_FILE_BYTES + 64 * 1024)
async def upload_statement(
    request: Request,
    organizer_slug: FromPath[str],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[JobOut]:
    """Create an import job from a bank statement file (``multipart/form-data``): ``file``, ``format`` (``csv``,
    ``camt053`` or ``mt940``; recognised from the content when left out), ``event`` (slug, optional) and for CSV
    ``csv``: a JSON object naming the columns (defaults from the organizer setting ``banktransfer_csv_columns``)."""
    content = await data.file.read()

    def work(call: Call) -> JobOut:
        organizer = organizer_for(call, organizer_slug, WRITE, all_events=data.event is None)
        if not content:
            raise ValidationFailure("The submitted file is empty.", field="file")
        if data.format not in (None, "", "csv", "camt053", "mt940"):
            raise ValidationFailure("Choose one of: csv, camt053, mt940.", field="format")
        event = find_event(call, organizer, data.event or None)
        try:
            parsed = parse(content, data.format or None, _form_options(call, data, organizer))
        except StatementError as problem:
            raise ValidationFailure(str(problem), field="file") from None
        if not parsed.lines:
            raise ValidationFailure("The file contains no incoming transfers.", field="file")
        transactions = [
            TransactionIn(
                amount=line.amount.quantize(Decimal("0.01")),
                payer=line.payer[:2000],
                reference=line.reference[:4000],
                date=line.date[:64],
                iban=line.iban[:64],
                bic=line.bic[:64],
                external_id=line.external_id[:190] if line.external_id else None,
                currency=line.currency if line.currency and len(line.currency) == 3 else None,
            )
            for line in parsed.lines
        ]
        note = f"{parsed.skipped_debits} outgoing transfers skipped." if parsed.skipped_debits else ""
        return create_job(call, organizer, event, transactions, "file", note)

    return await in_call(request, work, status_code=201)


# --- refund exports ------------------------------------------------------------------------------------------------


def export_out(
    export: RefundExport, event_slugs: dict[int, str], skipped: list[dict[str, str]] | None = None
) -> ExportOut:
    return ExportOut(
        id=export.id,
        event=event_slugs.get(export.event_id) if export.event_id is not None else None,
        created=export.created,
        currency=export.currency,
        total=f"{Decimal(export.total):.2f}",
        done=export.done,
        refunds=[ExportRow(**row) for row in export.rows],
        skipped=skipped or [],
    )


def _find_export(call: Call, organizer: Organizer, export_id: int) -> RefundExport:
    export = call.get(RefundExport, export_id, organizer_id=organizer.id)
    if not visible(call, export.event_id):
        raise not_found()
    return export


@get("/bankrefundexports/")
async def list_refund_exports(request: Request, organizer_slug: FromPath[str]) -> Response[Page[ExportOut]]:
    """Refund exports of the organizer, newest first."""

    def work(call: Call) -> Page[ExportOut]:
        organizer = organizer_for(call, organizer_slug, READ)
        event_slugs = slugs(call, organizer)
        statement = select(RefundExport).where(RefundExport.organizer_id == organizer.id)
        statement = visible_events(call, statement, RefundExport.event_id, event_slugs)
        return call.paginate(
            statement, lambda export: export_out(export, event_slugs), default_ordering=[RefundExport.id.desc()]
        )

    return await in_call(request, work)


@get("/bankrefundexports/{export_id:int}/")
async def get_refund_export(
    request: Request, organizer_slug: FromPath[str], export_id: FromPath[int]
) -> Response[ExportOut]:
    def work(call: Call) -> ExportOut:
        organizer = organizer_for(call, organizer_slug, READ)
        return export_out(_find_export(call, organizer, export_id), slugs(call, organizer))

    return await in_call(request, work)


@post("/bankrefundexports/", status_code=201)
async def create_refund_export(
    request: Request, organizer_slug: FromPath[str], data: JSONBody[ExportIn | None] = None
) -> Response[ExportOut]:
    """Collect every bank transfer refund that waits to be sent (state ``created`` or ``transit``, not exported
    before, in EUR with a valid IBAN) into a new export; the others are listed as ``skipped`` with the reason."""
    body = data or ExportIn()

    def work(call: Call) -> ExportOut:
        organizer = organizer_for(call, organizer_slug, WRITE, all_events=body.event is None)
        event = find_event(call, organizer, body.event)
        events = [event] if event is not None else plugin_events(call.kernel, call.session, organizer)
        debtor = sepa.debtor_account(call.settings(event=event, organizer=organizer).sandbox(PREFIX))
        refunds = call.session.scalars(
            select(OrderRefund)
            .join(Order, Order.id == OrderRefund.order_id)
            .outerjoin(ExportedRefund, ExportedRefund.refund_id == OrderRefund.id)
            .where(
                Order.event_id.in_([e.id for e in events]),
                OrderRefund.provider == IDENTIFIER,
                OrderRefund.state.in_(("created", "transit")),
                ExportedRefund.id.is_(None),
            )
            .options(selectinload(OrderRefund.order).selectinload(Order.event))
            .order_by(OrderRefund.id)
        ).all()
        rows, skipped = sepa.export_rows(refunds)
        if not rows:
            raise ValidationFailure(
                "There are no bank transfer refunds to export."
                + (f" {len(skipped)} could not be exported, see their orders." if skipped else "")
            )
        export = RefundExport(
            organizer_id=organizer.id,
            event_id=event.id if event is not None else None,
            created=clock.now(),
            currency=sepa.CURRENCY,
            total=sum((Decimal(row["amount"]) for row in rows), Decimal("0.00")),
            rows=rows,
            done=False,
            downloads=0,
        )
        call.session.add(export)
        call.session.flush()
        call.session.add_all(ExportedRefund(export_id=export.id, refund_id=row["refund"]) for row in rows)
        call.log(
            organizer,
            "boxoffice.plugins.banktransfer.refundexport.created",
            {"export": export.id, "refunds": [row["refund"] for row in rows], "debtor": debtor["IBAN"]},
        )
        call.session.flush()
        return export_out(export, slugs(call, organizer), skipped)

    return await in_call(request, work, status_code=201)


@get("/bankrefundexports/{export_id:int}/download/")
async def download_refund_export(
    request: Request, organizer_slug: FromPath[str], export_id: FromPath[int]
) -> Response[bytes]:
    """The export as a SEPA credit-transfer file; ``?schema=`` picks the pain.001 version (default
    ``pain.001.001.03``, also ``pain.001.001.09``). Validated against the schema."""
    filename = ""

    def work(call: Call) -> bytes:
        nonlocal filename
        organizer = organizer_for(call, organizer_slug, READ)
        schema = call.query.get("schema", sepa.DEFAULT_SCHEMA)
        if schema not in sepa.SCHEMAS:
            raise ValidationFailure(f"Choose one of: {', '.join(sepa.SCHEMAS)}.", field="schema")
        export = _find_export(call, organizer, export_id)
        event = call.session.get(Event, export.event_id) if export.event_id is not None else None
        debtor = sepa.debtor_account(call.settings(event=event, organizer=organizer).sandbox(PREFIX))
        content = sepa.pain001(export, debtor, schema)
        export.downloads += 1
        filename = f"{organizer.slug}-refunds-{export.id}.xml"
        return content

    response = await in_call(request, work)
    return Response(
        response.content,
        media_type="application/xml",
        headers={**response.headers, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post("/bankrefundexports/{export_id:int}/mark_done/", status_code=200)
async def mark_refund_export_done(
    request: Request, organizer_slug: FromPath[str], export_id: FromPath[int]
) -> Response[ExportOut]:
    """The bank executed the file: every refund of the export still open becomes ``done`` (through the bank
    transfer provider, so the payment becomes ``refunded`` once fully refunded)."""

    def work(call: Call) -> ExportOut:
        organizer = organizer_for(call, organizer_slug, WRITE)
        export = _find_export(call, organizer, export_id)
        refund_ids = [row["refund"] for row in export.rows]
        refunds = call.session.scalars(
            select(OrderRefund)
            .where(OrderRefund.id.in_(refund_ids))
            .options(selectinload(OrderRefund.order).selectinload(Order.event))
        ).all()
        providers: dict[int, BankTransfer] = {}
        marked: list[int] = []
        with call.kernel.provider_step(call.session, call.principal.actor):
            for refund in refunds:
                if refund.state not in ("created", "transit"):
                    continue
                event = refund.order.event
                if event.id not in providers:
                    providers[event.id] = BankTransfer(event, call.settings(event=event).sandbox(PREFIX))
                providers[event.id].refund_sent(refund)
                marked.append(refund.id)
        export.done = True
        call.log(
            organizer, "boxoffice.plugins.banktransfer.refundexport.done", {"export": export.id, "refunds": marked}
        )
        return export_out(export, slugs(call, organizer))

    return await in_call(request, work)


ORGANIZER_ROUTES = [
    list_import_jobs,
    get_import_job,
    create_import_job,
    upload_statement,
    list_refund_exports,
    get_refund_export,
    create_refund_export,
    download_refund_export,
    mark_refund_export_done,
]

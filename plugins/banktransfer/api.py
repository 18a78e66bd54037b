"""REST resources of the bank transfer plugin, mounted under ``/api/v1/organizers/{organizer}/``:

* ``bankimportjobs/`` — list, fetch and create import jobs (pretix's bank transfer API); ``bankimportjobs/upload/``
  takes a statement file (CSV, camt.053, MT940) as ``multipart/form-data`` and creates a job from it;
* ``bankrefundexports/`` — collect pending bank transfer refunds into a SEPA credit-transfer (pain.001) file,
  download it (``…/{id}/download/``) and mark its refunds done (``…/{id}/mark_done/``).

Everything runs on the plugin's public surface: the ``kernel``, ``organizer`` and ``principal`` dependencies of
organizer-level plugin routes, the kernel's job runner, settings, audit log and provider steps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import Body, FromPath, JSONBody
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from boxoffice.hookspecs.providers import ValidationFailure
from boxoffice.kernel import clock
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.models import Event, Organizer
from boxoffice.kernel.models.orders import Order, OrderRefund
from boxoffice.plugins.banktransfer import sepa
from boxoffice.plugins.banktransfer.matching import JOB_NAME, checksum, plugin_events
from boxoffice.plugins.banktransfer.models import BankTransaction, ExportedRefund, ImportJob, RefundExport
from boxoffice.plugins.banktransfer.parsers import CSV_FIELDS, StatementError, parse, unknown_csv_options
from boxoffice.plugins.banktransfer.provider import CSV_COLUMNS_KEY, IDENTIFIER, PREFIX, BankTransfer

T = TypeVar("T")
PAGE_SIZE = 50
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


class PageOut(msgspec.Struct):
    count: int
    next: str | None
    previous: str | None
    results: list[Any]


@dataclass
class UploadForm:
    file: UploadFile
    format: str | None = None
    event: str | None = None
    csv: str | None = None


# --- helpers -----------------------------------------------------------------------------------------------------


def forbidden() -> HTTPException:
    return HTTPException(status_code=403, detail="You do not have permission to perform this action.")


def not_found() -> HTTPException:
    return HTTPException(status_code=404, detail="Not found.")


def check_caller(principal: Any, organizer: Organizer, permission: str, *, all_events: bool = False) -> None:
    if principal.organizer_id != organizer.id or not principal.has_event_permission(permission):
        raise forbidden()
    if all_events and not principal.all_events:
        raise forbidden()


def visible(principal: Any, event_id: int | None) -> bool:
    """Organizer-wide objects need access to all events; event ones access to that event."""
    return principal.all_events if event_id is None else principal.can_see_event(event_id)


def paginate(request: Request, session: Session, statement: Any, serialize: Callable[[Any], T]) -> PageOut:
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("page_size", str(PAGE_SIZE)))
    except ValueError:
        raise HTTPException(status_code=404, detail="Invalid page.") from None
    size = max(1, min(size, PAGE_SIZE))
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    if page < 1 or (page > 1 and (page - 1) * size >= count):
        raise HTTPException(status_code=404, detail="Invalid page.")
    rows = session.scalars(statement.limit(size).offset((page - 1) * size)).all()

    def url(number: int) -> str:
        base = str(request.url).partition("?")[0]
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        if number > 1:
            params["page"] = str(number)
        return f"{base}?{urlencode(params)}" if params else base

    return PageOut(
        count=count,
        next=url(page + 1) if page * size < count else None,
        previous=url(page - 1) if page > 1 else None,
        results=[serialize(row) for row in rows],
    )


def find_event(session: Session, kernel: Any, organizer: Organizer, slug: str | None, principal: Any) -> Event | None:
    """The event a job or export is limited to; 400 when it is unknown, not visible or without bank transfer."""
    if slug is None:
        return None
    event = session.scalar(select(Event).where(Event.organizer_id == organizer.id, Event.slug == slug))
    if event is None or not principal.can_see_event(event.id):
        raise ValidationFailure("Object with slug=" + slug + " does not exist.", field="event")
    if IDENTIFIER not in kernel.plugins.active_for_event(event):
        raise ValidationFailure("Bank transfer is not enabled for this event.", field="event")
    return event


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


def slugs(session: Session, organizer: Organizer) -> dict[int, str]:
    rows = session.execute(select(Event.id, Event.slug).where(Event.organizer_id == organizer.id))
    return {event_id: slug for event_id, slug in rows}


def _text(value: str | None, field: str, index: int, limit: int, problems: list[dict[str, str]]) -> None:
    if value is not None and (len(value) > limit or "\x00" in value):
        problems.append({"key": f"transactions[{index}].{field}", "message": f"At most {limit} characters."})


def check_transactions(transactions: Sequence[TransactionIn]) -> None:
    if not transactions:
        raise ValidationFailure("This list may not be empty.", field="transactions")
    if len(transactions) > MAX_TRANSACTIONS:
        raise ValidationFailure(f"At most {MAX_TRANSACTIONS} transactions per job.", field="transactions")
    problems: list[dict[str, str]] = []
    for index, transaction in enumerate(transactions):
        amount = transaction.amount
        if not amount.is_finite() or abs(amount) > AMOUNT_LIMIT or amount != amount.quantize(Decimal("0.01")):
            problems.append(
                {"key": f"transactions[{index}].amount", "message": "Enter an amount with at most two decimals."}
            )
        for field, limit in (("payer", 2000), ("reference", 4000), ("date", 64), ("iban", 64), ("bic", 64)):
            _text(getattr(transaction, field), field, index, limit, problems)
        _text(transaction.external_id, "external_id", index, 190, problems)
        if transaction.currency is not None and (len(transaction.currency) != 3 or not transaction.currency.isalpha()):
            problems.append({"key": f"transactions[{index}].currency", "message": "Enter an ISO 4217 currency code."})
    if problems:
        raise ValidationException(extra=[{**p, "source": "body"} for p in problems])


def create_job(
    kernel: Any,
    session: Session,
    organizer: Organizer,
    event: Event | None,
    principal: Any,
    transactions: Sequence[TransactionIn],
    source: str,
    note: str = "",
) -> int:
    """Store a job with its transactions and start matching once this unit of work commits."""
    job = ImportJob(
        organizer_id=organizer.id,
        event_id=event.id if event is not None else None,
        created=clock.now(),
        state="pending",
        message=note,
        actor_type=principal.actor.type,
        actor_id=principal.actor.id,
        source=source,
    )
    session.add(job)
    session.flush()
    session.bulk_save_objects(
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
    kernel.log_action(
        session,
        organizer,
        "boxoffice.plugins.banktransfer.import.created",
        actor=principal.actor,
        data={"job": job.id, "event": event.slug if event is not None else None, "transactions": len(transactions)},
    )
    kernel.jobs.enqueue_on_commit(session, JOB_NAME, import_job_id=job.id)
    return job.id


def read_job(kernel: Any, organizer: Organizer, job_id: int) -> JobOut:
    with kernel.db.session() as session:
        job = session.scalar(
            select(ImportJob).where(ImportJob.id == job_id).options(selectinload(ImportJob.transactions))
        )
        if job is None:  # deleted with its event in the meantime
            raise not_found()
        return job_out(job, slugs(session, organizer))


# --- import jobs -------------------------------------------------------------------------------------------------


@get("/bankimportjobs/")
async def list_import_jobs(
    request: Request,
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
) -> PageOut:
    """Import jobs of the organizer, newest first; ``?event=<slug>`` and ``?state=`` filter."""

    def work() -> PageOut:
        check_caller(principal, organizer, READ)
        with kernel.db.session() as session:
            event_slugs = slugs(session, organizer)
            statement = (
                select(ImportJob)
                .where(ImportJob.organizer_id == organizer.id)
                .options(selectinload(ImportJob.transactions))
                .order_by(ImportJob.id.desc())
            )
            if not principal.all_events:
                visible_ids = [event_id for event_id in event_slugs if principal.can_see_event(event_id)]
                statement = statement.where(ImportJob.event_id.in_(visible_ids))
            if "event" in request.query_params:
                wanted = [i for i, s in event_slugs.items() if s == request.query_params["event"]]
                statement = statement.where(ImportJob.event_id.in_(wanted))
            if "state" in request.query_params:
                statement = statement.where(ImportJob.state == request.query_params["state"])
            return paginate(request, session, statement, lambda job: job_out(job, event_slugs))

    return await sync_to_thread(work)


@get("/bankimportjobs/{job_id:int}/")
async def get_import_job(
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    job_id: FromPath[int],
) -> JobOut:
    """One import job with its transactions and their states."""

    def work() -> JobOut:
        check_caller(principal, organizer, READ)
        with kernel.db.session() as session:
            job = session.get(ImportJob, job_id) if 0 < job_id < 2**31 else None
            if job is None or job.organizer_id != organizer.id or not visible(principal, job.event_id):
                raise not_found()
        return read_job(kernel, organizer, job_id)

    return await sync_to_thread(work)


@post("/bankimportjobs/", status_code=201)
async def create_import_job(
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    data: JSONBody[JobIn],
) -> JobOut:
    """Hand in bank transactions for matching. Answers 201 with the job: already ``completed`` when jobs run
    in-process, ``pending`` (without transactions) while a worker has it queued."""

    def work() -> JobOut:
        check_caller(principal, organizer, WRITE, all_events=data.event is None)
        check_transactions(data.transactions)
        with kernel.db.session() as session:
            event = find_event(session, kernel, organizer, data.event, principal)
            job_id = create_job(kernel, session, organizer, event, principal, data.transactions, "api")
        return read_job(kernel, organizer, job_id)

    return await sync_to_thread(work)


def _form_options(form: UploadForm, session: Session, kernel: Any, organizer: Organizer) -> dict[str, Any]:
    options = dict(kernel.settings_for(session, organizer=organizer).get(CSV_COLUMNS_KEY) or {})
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
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> JobOut:
    """Create an import job from a bank statement file (``multipart/form-data``): ``file``, ``format`` (``csv``,
    ``camt053`` or ``mt940``; recognised from the content when left out), ``event`` (slug, optional) and for CSV
    ``csv``: a JSON object naming the columns (defaults from the organizer setting ``banktransfer_csv_columns``)."""
    content = await data.file.read()

    def work() -> JobOut:
        check_caller(principal, organizer, WRITE, all_events=data.event is None)
        if not content:
            raise ValidationFailure("The submitted file is empty.", field="file")
        if data.format not in (None, "", "csv", "camt053", "mt940"):
            raise ValidationFailure("Choose one of: csv, camt053, mt940.", field="format")
        with kernel.db.session() as session:
            event = find_event(session, kernel, organizer, data.event or None, principal)
            try:
                parsed = parse(content, data.format or None, _form_options(data, session, kernel, organizer))
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
            job_id = create_job(kernel, session, organizer, event, principal, transactions, "file", note)
        return read_job(kernel, organizer, job_id)

    return await sync_to_thread(work)


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


def _find_export(session: Session, organizer: Organizer, principal: Any, export_id: int) -> RefundExport:
    export = session.get(RefundExport, export_id) if 0 < export_id < 2**31 else None
    if export is None or export.organizer_id != organizer.id or not visible(principal, export.event_id):
        raise not_found()
    return export


@get("/bankrefundexports/")
async def list_refund_exports(
    request: Request,
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
) -> PageOut:
    """Refund exports of the organizer, newest first."""

    def work() -> PageOut:
        check_caller(principal, organizer, READ)
        with kernel.db.session() as session:
            event_slugs = slugs(session, organizer)
            statement = (
                select(RefundExport).where(RefundExport.organizer_id == organizer.id).order_by(RefundExport.id.desc())
            )
            if not principal.all_events:
                visible_ids = [event_id for event_id in event_slugs if principal.can_see_event(event_id)]
                statement = statement.where(RefundExport.event_id.in_(visible_ids))
            return paginate(request, session, statement, lambda export: export_out(export, event_slugs))

    return await sync_to_thread(work)


@get("/bankrefundexports/{export_id:int}/")
async def get_refund_export(
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    export_id: FromPath[int],
) -> ExportOut:
    def work() -> ExportOut:
        check_caller(principal, organizer, READ)
        with kernel.db.session() as session:
            return export_out(_find_export(session, organizer, principal, export_id), slugs(session, organizer))

    return await sync_to_thread(work)


@post("/bankrefundexports/", status_code=201)
async def create_refund_export(
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    data: JSONBody[ExportIn | None] = None,
) -> ExportOut:
    """Collect every bank transfer refund that waits to be sent (state ``created`` or ``transit``, not exported
    before, in EUR with a valid IBAN) into a new export; the others are listed as ``skipped`` with the reason."""
    body = data or ExportIn()

    def work() -> ExportOut:
        check_caller(principal, organizer, WRITE, all_events=body.event is None)
        with kernel.db.session() as session:
            event = find_event(session, kernel, organizer, body.event, principal)
            events = [event] if event is not None else plugin_events(kernel, session, organizer)
            settings = kernel.settings_for(session, event=event, organizer=organizer)
            debtor = sepa.debtor_account(settings.sandbox(PREFIX))
            refunds = session.scalars(
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
            session.add(export)
            session.flush()
            session.add_all(ExportedRefund(export_id=export.id, refund_id=row["refund"]) for row in rows)
            kernel.log_action(
                session,
                organizer,
                "boxoffice.plugins.banktransfer.refundexport.created",
                actor=principal.actor,
                data={"export": export.id, "refunds": [row["refund"] for row in rows], "debtor": debtor["IBAN"]},
            )
            session.flush()
            return export_out(export, slugs(session, organizer), skipped)

    return await sync_to_thread(work)


@get("/bankrefundexports/{export_id:int}/download/")
async def download_refund_export(
    request: Request,
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    export_id: FromPath[int],
) -> Response[bytes]:
    """The export as a SEPA credit-transfer file; ``?schema=`` picks the pain.001 version (default
    ``pain.001.001.03``, also ``pain.001.001.09``). Validated against the schema."""
    schema = request.query_params.get("schema", sepa.DEFAULT_SCHEMA)

    def work() -> tuple[str, bytes]:
        check_caller(principal, organizer, READ)
        if schema not in sepa.SCHEMAS:
            raise ValidationFailure(f"Choose one of: {', '.join(sepa.SCHEMAS)}.", field="schema")
        with kernel.db.session() as session:
            export = _find_export(session, organizer, principal, export_id)
            event = session.get(Event, export.event_id) if export.event_id is not None else None
            debtor = sepa.debtor_account(kernel.settings_for(session, event=event, organizer=organizer).sandbox(PREFIX))
            content = sepa.pain001(export, debtor, schema)
            export.downloads += 1
            return f"{organizer.slug}-refunds-{export.id}.xml", content

    filename, content = await sync_to_thread(work)
    return Response(
        content,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@post("/bankrefundexports/{export_id:int}/mark_done/", status_code=200)
async def mark_refund_export_done(
    kernel: NamedDependency[Kernel],
    organizer: NamedDependency[Organizer],
    principal: NamedDependency[Any],
    export_id: FromPath[int],
) -> ExportOut:
    """The bank executed the file: every refund of the export still open becomes ``done`` (through the bank
    transfer provider, so the payment becomes ``refunded`` once fully refunded)."""

    def work() -> ExportOut:
        check_caller(principal, organizer, WRITE)
        with kernel.db.session() as session:
            export = _find_export(session, organizer, principal, export_id)
            refund_ids = [row["refund"] for row in export.rows]
            refunds = session.scalars(
                select(OrderRefund)
                .where(OrderRefund.id.in_(refund_ids))
                .options(selectinload(OrderRefund.order).selectinload(Order.event))
            ).all()
            providers: dict[int, BankTransfer] = {}
            marked: list[int] = []
            with kernel.provider_step(session, principal.actor):
                for refund in refunds:
                    if refund.state not in ("created", "transit"):
                        continue
                    event = refund.order.event
                    if event.id not in providers:
                        providers[event.id] = BankTransfer(
                            event, kernel.settings_for(session, event=event).sandbox(PREFIX)
                        )
                    providers[event.id].refund_sent(refund)
                    marked.append(refund.id)
            export.done = True
            kernel.log_action(
                session,
                organizer,
                "boxoffice.plugins.banktransfer.refundexport.done",
                actor=principal.actor,
                data={"export": export.id, "refunds": marked},
            )
            return export_out(export, slugs(session, organizer))

    return await sync_to_thread(work)


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

"""The device side of device authentication: the one-time handshake (``initialize``), reporting new software
versions (``update``), device and server information, rolling and revoking the API token, and the server's
suggestion which event a device should work on (``eventselection``).

Everything but ``initialize`` authenticates with ``Authorization: Device <api token>``. Only the SHA-256 digest of
a device's API token is stored; answers that repeat the token echo the one the device sent.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime, timedelta
from importlib import metadata
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import JSONBody
from sqlalchemy import Table, select, update

from boxoffice.apps.api.auth import NOT_PROVIDED, parse_authorization
from boxoffice.apps.api.errors import ApiError, FieldErrors, not_found
from boxoffice.apps.api.toolkit import Call, in_call, sent_fields
from boxoffice.kernel import clock
from boxoffice.kernel.audit import Actor
from boxoffice.kernel.core import Kernel
from boxoffice.kernel.db import Base
from boxoffice.kernel.i18n import localize
from boxoffice.kernel.models import Event
from boxoffice.kernel.models.devices import Device
from boxoffice.kernel.tokens import new_token, token_digest

# Clients decide which features to use from the pretix version a server reports; we report the pretix release
# whose API dialect we speak, and our own version next to it.
PRETIX_COMPATIBLE_VERSION = (2026, 5, 0)
TEXT_MAX = 190
PUBKEY_MAX = 10_000
INFO_MAX_BYTES = 65_536
# A device is offered an event from shortly before admission until the event ends.
SELECTION_LEAD = timedelta(hours=2)
PEM = re.compile(r"^-----BEGIN (RSA )?PUBLIC KEY-----\s+([A-Za-z0-9+/=\s]+?)\s*-----END (RSA )?PUBLIC KEY-----\s*$")


class Gate(msgspec.Struct):
    id: int
    name: str


class DeviceInfo(msgspec.Struct):
    organizer: str
    device_id: int
    unique_serial: str
    api_token: str
    name: str
    gate: Gate | None


class ServerVersion(msgspec.Struct):
    pretix: str
    pretix_numeric: int
    boxoffice: str


class ServerInfo(msgspec.Struct):
    version: ServerVersion


class InfoOut(msgspec.Struct):
    device: DeviceInfo
    server: ServerInfo
    medium_key_sets: list[dict[str, Any]]


class InitializeIn(msgspec.Struct):
    token: str
    hardware_brand: str | None = None
    hardware_model: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    software_brand: str | None = None
    software_version: str | None = None
    rsa_pubkey: str | None = None
    info: dict[str, Any] | None = None


class UpdateIn(msgspec.Struct):
    hardware_brand: str | msgspec.UnsetType | None = msgspec.UNSET
    hardware_model: str | msgspec.UnsetType | None = msgspec.UNSET
    os_name: str | msgspec.UnsetType | None = msgspec.UNSET
    os_version: str | msgspec.UnsetType | None = msgspec.UNSET
    software_brand: str | msgspec.UnsetType | None = msgspec.UNSET
    software_version: str | msgspec.UnsetType | None = msgspec.UNSET
    rsa_pubkey: str | msgspec.UnsetType | None = msgspec.UNSET
    info: dict[str, Any] | msgspec.UnsetType | None = msgspec.UNSET


class SelectedEvent(msgspec.Struct):
    name: str
    slug: str


class EventSelectionOut(msgspec.Struct):
    event: SelectedEvent
    subevent: int | None
    checkinlist: int | None


TEXT_FIELDS = ("hardware_brand", "hardware_model", "os_name", "os_version", "software_brand", "software_version")


# --- helpers ------------------------------------------------------------------------------------------------------


def numeric_version(major: int, minor: int, patch: int) -> int:
    """pretix's integer form of a release version, which clients compare against feature thresholds."""
    final_release = 9000
    return major * 10**10 + minor * 10**7 + patch * 10**4 + final_release


def device_info(device: Device, api_token: str) -> DeviceInfo:
    return DeviceInfo(
        organizer=device.organizer.slug,
        device_id=device.device_id,
        unique_serial=device.unique_serial,
        api_token=api_token,
        name=device.name,
        gate=Gate(id=device.gate.id, name=device.gate.name) if device.gate is not None else None,
    )


def _reported_fields(values: dict[str, Any], current_pubkey: str | None) -> dict[str, Any]:
    """Validate what a device reports about itself; 400 with every problem at once."""
    errors: dict[str, list[str]] = {}
    for field in TEXT_FIELDS:
        value = values.get(field)
        if value is None:
            continue
        if len(value) > TEXT_MAX:
            errors[field] = [f"Ensure this field has no more than {TEXT_MAX} characters."]
        elif "\x00" in value:
            errors[field] = ["Null characters are not allowed."]
    pubkey = values.get("rsa_pubkey")
    if pubkey is not None:
        if not _valid_pubkey(pubkey):
            errors["rsa_pubkey"] = ["This is not a valid PEM-encoded public key."]
        elif current_pubkey and pubkey.strip() != current_pubkey.strip():
            # Medium keys are encrypted for this key: letting a token holder swap it would leak them.
            errors["rsa_pubkey"] = ["The public key of a device cannot be changed once it is set."]
    if values.get("info") is not None and len(msgspec.json.encode(values["info"])) > INFO_MAX_BYTES:
        errors["info"] = [f"Ensure this value is smaller than {INFO_MAX_BYTES} bytes as JSON."]
    elif values.get("info") is not None and "\\u0000" in msgspec.json.encode(values["info"]).decode():
        errors["info"] = ["Null characters are not allowed."]
    if errors:
        raise FieldErrors(errors)
    return values


def _valid_pubkey(value: str) -> bool:
    if len(value) > PUBKEY_MAX:
        return False
    match = PEM.match(value.strip() + "\n")
    if match is None:
        return False
    try:
        der = base64.b64decode("".join(match.group(2).split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    # Every DER public key is an ASN.1 SEQUENCE of a reasonable size.
    return der[:1] == b"\x30" and len(der) >= 32


def _require_device(call: Call) -> Device:
    """The calling device; other credentials get the answer pretix gives when device credentials are missing."""
    if not call.principal.is_device:
        raise ApiError(401, NOT_PROVIDED, {"WWW-Authenticate": "Device"})
    device = call.session.get(Device, call.principal.device_pk)
    assert device is not None  # authenticate() just found it
    return device


def _sent_token(request: Request) -> str:
    try:
        return parse_authorization(request.headers.get("authorization"))[1]
    except ApiError:
        return ""  # in_call rejects the request before this value is used


def _log(call: Call, device: Device, action: str, data: dict[str, Any] | None = None) -> None:
    call.log(device, f"boxoffice.organizer.device.{action}", data)


# --- handshake ----------------------------------------------------------------------------------------------------


@post("/api/v1/device/initialize", tags=["device authentication"], status_code=200, security=[{}])
async def initialize(request: Request, data: JSONBody[InitializeIn]) -> Response[DeviceInfo]:
    """Exchange a device's one-time initialization token for its API token (no other credentials needed).

    A token works once: a second handshake with it is a 400 on ``token``.
    """
    kernel: Kernel = request.app.state.kernel
    values = sent_fields(data)

    def run() -> DeviceInfo:
        if not data.token or len(data.token) > TEXT_MAX or "\x00" in data.token:
            raise FieldErrors.single("token", "Unknown initialization token.")
        with kernel.db.session() as session:
            device = session.scalar(select(Device).where(Device.initialization_token == data.token))
            if device is None:
                raise FieldErrors.single("token", "Unknown initialization token.")
            if device.initialized is not None:
                raise FieldErrors.single("token", "This initialization token has already been used.")
            if device.revoked:
                raise FieldErrors.single("token", "This initialization token has been revoked.")
            reported = _reported_fields({k: v for k, v in values.items() if k != "token"}, None)
            api_token = new_token()
            # Conditional on "not initialized yet" so two concurrent handshakes cannot both succeed.
            claimed = session.execute(
                update(Device)
                .where(Device.id == device.id, Device.initialized.is_(None))
                .values(initialized=clock.now(), api_token_digest=token_digest(api_token), **reported)
            )
            if claimed.rowcount != 1:
                raise FieldErrors.single("token", "This initialization token has already been used.")
            session.refresh(device)
            kernel.log_action(
                session,
                device,
                "boxoffice.organizer.device.initialized",
                actor=Actor("device", str(device.id)),
                data={key: value for key, value in reported.items() if key in TEXT_FIELDS},
            )
            return device_info(device, api_token)

    return Response(await sync_to_thread(run), status_code=200)


@post("/api/v1/device/update", tags=["device authentication"], status_code=200)
async def update_device_info(request: Request, data: JSONBody[UpdateIn]) -> Response[DeviceInfo]:
    """Report new hardware/software versions and free-form ``info``; fields left out stay as they are."""
    sent_token = _sent_token(request)

    def work(call: Call) -> DeviceInfo:
        device = _require_device(call)
        values = _reported_fields(sent_fields(data), device.rsa_pubkey)
        changed = {key: value for key, value in values.items() if getattr(device, key) != value}
        for key, value in changed.items():
            setattr(device, key, value)
        if changed:
            _log(call, device, "updated", {key: value for key, value in changed.items() if key in TEXT_FIELDS})
        return device_info(device, sent_token)

    return await in_call(request, work)


@get("/api/v1/device/info", tags=["device authentication"])
async def get_device_info(request: Request) -> Response[InfoOut]:
    """The calling device, the server's version and the device's medium key sets (none without an RSA key)."""
    sent_token = _sent_token(request)

    def work(call: Call) -> InfoOut:
        device = _require_device(call)
        version = ServerVersion(
            pretix=".".join(str(part) for part in PRETIX_COMPATIBLE_VERSION),
            pretix_numeric=numeric_version(*PRETIX_COMPATIBLE_VERSION),
            boxoffice=metadata.version("boxoffice"),
        )
        # Reusable media key sets are not part of boxoffice yet, so there are none to hand out.
        return InfoOut(device=device_info(device, sent_token), server=ServerInfo(version=version), medium_key_sets=[])

    return await in_call(request, work)


@post("/api/v1/device/roll", tags=["device authentication"], status_code=200)
async def roll_token(request: Request) -> Response[DeviceInfo]:
    """Replace the device's API token; the old one stops working at once. The answer holds the new token."""

    def work(call: Call) -> DeviceInfo:
        device = _require_device(call)
        api_token = new_token()
        device.api_token_digest = token_digest(api_token)
        _log(call, device, "keyroll")
        return device_info(device, api_token)

    return await in_call(request, work)


@post("/api/v1/device/revoke", tags=["device authentication"], status_code=200)
async def revoke(request: Request) -> Response[DeviceInfo]:
    """Revoke the device's access for good (a new device has to be set up to work again)."""
    sent_token = _sent_token(request)

    def work(call: Call) -> DeviceInfo:
        device = _require_device(call)
        device.revoked = True
        _log(call, device, "revoked")
        return device_info(device, sent_token)

    return await in_call(request, work)


# --- event selection ----------------------------------------------------------------------------------------------


def _day_end(moment: datetime, timezone: str) -> datetime:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(moment.tzinfo)


def _window(
    date_from: datetime, date_to: datetime | None, date_admission: datetime | None, timezone: str
) -> tuple[datetime, datetime]:
    """When a device should work on a date: from shortly before admission to the end (or end of its day)."""
    start = min(date_admission or date_from, date_from) - SELECTION_LEAD
    return start, date_to or _day_end(date_from, timezone)


def _subevent_table() -> Table | None:
    # Sub-events belong to another area of the model; read them through the shared metadata when they exist.
    table = Base.metadata.tables.get("subevent")
    needed = {"id", "event_id", "active", "date_from", "date_to", "date_admission"}
    return table if table is not None and needed <= set(table.columns.keys()) else None


def _running(call: Call, device: Device) -> list[tuple[datetime, Event, int | None]]:
    """Dates running now among the device's events: (window start, event, sub-event id or None)."""
    now = clock.now()
    statement = select(Event).where(Event.organizer_id == device.organizer_id)
    if not device.all_events:
        statement = statement.where(Event.id.in_([event.id for event in device.limit_events] or [-1]))
    events = list(call.session.scalars(statement))
    found: list[tuple[datetime, Event, int | None]] = []
    subevents = _subevent_table()
    series = [event for event in events if event.has_subevents]
    dates: dict[int, list[Any]] = {}
    if subevents is not None and series:
        rows = call.session.execute(
            select(subevents).where(
                subevents.c.event_id.in_([event.id for event in series]), subevents.c.active.is_(True)
            )
        )
        for row in rows:
            dates.setdefault(row.event_id, []).append(row)
    for event in events:
        if event.has_subevents and subevents is not None:
            for row in dates.get(event.id, []):
                start, end = _window(row.date_from, row.date_to, row.date_admission, event.timezone)
                if start <= now <= end:
                    found.append((start, event, row.id))
            continue
        start, end = _window(event.date_from, event.date_to, event.date_admission, event.timezone)
        if start <= now <= end:
            found.append((start, event, None))
    return found


@get("/api/v1/device/eventselection", tags=["device authentication"])
async def event_selection(request: Request) -> Response[EventSelectionOut]:
    """Which event (and series date) the device should work on now: 200 with a suggestion, 304 when the current
    choice (``current_event``, ``current_subevent``) still fits, 404 when nothing is running."""
    query = request.query_params

    def work(call: Call) -> EventSelectionOut | None:
        device = _require_device(call)
        running = _running(call, device)
        if not running:
            raise not_found()
        current_event = query.get("current_event")
        current_subevent = query.get("current_subevent")
        for _, event, subevent_id in running:
            if event.slug == current_event and (subevent_id is None or str(subevent_id) == current_subevent):
                return None
        # The date that began last is the most specific one (an evening show within a festival day).
        _, event, subevent_id = max(running, key=lambda entry: (entry[0], entry[1].id, entry[2] or 0))
        return EventSelectionOut(
            event=SelectedEvent(name=localize(event.name), slug=event.slug), subevent=subevent_id, checkinlist=None
        )

    response = await in_call(request, work)
    if response.content is None:
        return Response(None, status_code=304)  # type: ignore[arg-type]
    return response  # type: ignore[return-value]


ROUTES = [initialize, update_device_info, get_device_info, roll_token, revoke, event_selection]

"""Devices of an organizer (scanners, POS terminals): list, detail, create (with a one-time initialization token)
and update; and the organizer's gates (entrances) devices are assigned to. The devices themselves talk to
``/api/v1/device/…`` (see ``device_auth``)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from boxoffice.apps.api.errors import ApiError, FieldErrors, not_found
from boxoffice.apps.api.resources.teams import NAME_MAX, resolve_event_slugs, text_problem
from boxoffice.apps.api.toolkit import Call, Page, decode_body, in_call, possible_id, sent_fields
from boxoffice.kernel.models import Organizer
from boxoffice.kernel.models.devices import Device, Gate
from boxoffice.kernel.tokens import new_token

READ = "organizer.devices:read"
WRITE = "organizer.devices:write"
# The profiles pretix clients know. Their allow-lists of API calls are not enforced yet: every profile acts as
# ``full`` (which is still bounded by the fixed device permissions).
SECURITY_PROFILES = (
    "full",
    "pretixscan",
    "pretixscan_online_kiosk",
    "pretixscan_online_noorders",
    "pretixpos",
)
_SERIAL_ALPHABET = string.ascii_uppercase + string.digits


class DeviceOut(msgspec.Struct):
    device_id: int
    unique_serial: str
    # Only shown to callers who may change devices: whoever has it can take over the device's identity.
    initialization_token: str | None
    all_events: bool
    limit_events: list[str]
    revoked: bool
    name: str
    created: datetime
    initialized: datetime | None
    security_profile: str
    hardware_brand: str | None
    hardware_model: str | None
    os_name: str | None
    os_version: str | None
    software_brand: str | None
    software_version: str | None
    # boxoffice's addition to pretix's device resource: the id of the gate the device is assigned to.
    gate: int | None


class DeviceIn(msgspec.Struct):
    """Writable device fields (the hardware and software fields are reported by the device itself)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    all_events: bool | msgspec.UnsetType = msgspec.UNSET
    limit_events: list[str] | msgspec.UnsetType = msgspec.UNSET
    security_profile: str | msgspec.UnsetType = msgspec.UNSET
    gate: int | msgspec.UnsetType | None = msgspec.UNSET


def serialize_device(call: Call, device: Device) -> DeviceOut:
    return DeviceOut(
        device_id=device.device_id,
        unique_serial=device.unique_serial,
        initialization_token=device.initialization_token if call.principal.has_organizer_permission(WRITE) else None,
        all_events=device.all_events,
        limit_events=sorted(event.slug for event in device.limit_events),
        revoked=device.revoked,
        name=device.name,
        created=device.created,
        initialized=device.initialized,
        security_profile=device.security_profile,
        hardware_brand=device.hardware_brand,
        hardware_model=device.hardware_model,
        os_name=device.os_name,
        os_version=device.os_version,
        software_brand=device.software_brand,
        software_version=device.software_version,
        gate=device.gate_id,
    )


def _validated(call: Call, organizer: Organizer, values: dict[str, object], creating: bool) -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    if "name" in values:
        problem = text_problem(str(values["name"]), NAME_MAX)
        if problem:
            errors["name"] = [problem]
    elif creating:
        errors["name"] = ["This field is required."]
    if "security_profile" in values and values["security_profile"] not in SECURITY_PROFILES:
        errors["security_profile"] = [f'"{values["security_profile"]}" is not a valid choice.']
    if "limit_events" in values:
        slugs = values["limit_events"]
        assert isinstance(slugs, list)
        events, problems = resolve_event_slugs(call, organizer, slugs)
        if problems:
            errors["limit_events"] = problems
        values["limit_events"] = events
    if "gate" in values:
        gate_id = values.pop("gate")
        if gate_id is not None and (
            not possible_id(gate_id)
            or call.session.scalar(select(Gate.id).where(Gate.id == gate_id, Gate.organizer_id == organizer.id)) is None
        ):
            errors["gate"] = [f'Invalid pk "{gate_id}" - object does not exist.']
        values["gate_id"] = gate_id
    if errors:
        raise FieldErrors(errors)
    return values


def _device(call: Call, organizer: str, device_id: int, permission: str) -> Device:
    owner = call.organizer(organizer, permission)
    if not possible_id(device_id):
        raise not_found()
    device = call.session.scalar(select(Device).where(Device.organizer_id == owner.id, Device.device_id == device_id))
    if device is None:
        raise not_found()
    return device


def _unique(call: Call, column: InstrumentedAttribute[Any], make: Callable[[], str]) -> str:
    """A random value not used in ``column`` yet (collisions are astronomically rare, but cheap to rule out)."""
    while True:
        value = make()
        if call.session.scalar(select(func.count()).where(column == value)) == 0:
            return value


def _new_serial() -> str:
    return "".join(secrets.choice(_SERIAL_ALPHABET) for _ in range(16))


def _load_limit_events(call: Call, devices: list[Device]) -> None:
    ids = [device.id for device in devices]
    if ids:
        list(call.session.scalars(select(Device).where(Device.id.in_(ids)).options(selectinload(Device.limit_events))))


def _changes(device: Device) -> dict[str, object]:
    return {
        "name": device.name,
        "all_events": device.all_events,
        "limit_events": sorted(event.slug for event in device.limit_events),
        "security_profile": device.security_profile,
        "gate": device.gate_id,
    }


@get("/api/v1/organizers/{organizer:str}/devices/", tags=["devices"])
async def list_devices(request: Request, organizer: FromPath[str]) -> Response[Page[DeviceOut]]:
    """Devices of the organizer, by device number."""

    def work(call: Call) -> Page[DeviceOut]:
        owner = call.organizer(organizer, READ)
        return call.paginate(
            select(Device).where(Device.organizer_id == owner.id),
            lambda device: serialize_device(call, device),
            ordering={"device_id": Device.device_id, "name": Device.name, "created": Device.created},
            default_ordering=[Device.device_id],
            prepare=lambda rows: _load_limit_events(call, rows),
        )

    return await in_call(request, work)


@get("/api/v1/organizers/{organizer:str}/devices/{device_id:int}/", tags=["devices"])
async def get_device(request: Request, organizer: FromPath[str], device_id: FromPath[int]) -> Response[DeviceOut]:
    """One device, addressed by its number within the organizer."""
    return await in_call(request, lambda call: serialize_device(call, _device(call, organizer, device_id, READ)))


@post("/api/v1/organizers/{organizer:str}/devices/", tags=["devices"], status_code=201)
async def create_device(request: Request, organizer: FromPath[str], data: JSONBody[DeviceIn]) -> Response[DeviceOut]:
    """Create a device. The answer holds the ``initialization_token`` the device uses once to get its API token."""

    def work(call: Call) -> DeviceOut:
        owner = call.organizer(organizer, WRITE)
        values = _validated(call, owner, sent_fields(data), creating=True)
        device = Device(
            organizer_id=owner.id,
            unique_serial=_unique(call, Device.unique_serial, _new_serial),
            initialization_token=_unique(call, Device.initialization_token, lambda: new_token(16)),
            all_events=False,
            limit_events=[],
            security_profile="full",
            revoked=False,
        )
        for key, value in values.items():
            setattr(device, key, value)
        for attempt in range(5):
            # Numbers are handed out as max + 1; a concurrent create may take the same one first.
            device.device_id = (
                call.session.scalar(select(func.max(Device.device_id)).where(Device.organizer_id == owner.id)) or 0
            ) + 1
            try:
                with call.session.begin_nested():
                    call.session.add(device)
                    call.session.flush()
                break
            except IntegrityError:
                if attempt == 4:
                    raise ApiError(409, "Another device was created at the same time, please retry.") from None
        call.log(device, "boxoffice.organizer.device.added", {"device_id": device.device_id, **_changes(device)})
        return serialize_device(call, device)

    return await in_call(request, work, status_code=201)


@patch("/api/v1/organizers/{organizer:str}/devices/{device_id:int}/", tags=["devices"])
async def update_device(
    request: Request, organizer: FromPath[str], device_id: FromPath[int], data: JSONBody[DeviceIn]
) -> Response[DeviceOut]:
    """Change name, event access or security profile of a device."""

    def work(call: Call) -> DeviceOut:
        device = _device(call, organizer, device_id, WRITE)
        values = _validated(call, device.organizer, sent_fields(data), creating=False)
        before = _changes(device)
        for key, value in values.items():
            setattr(device, key, value)
        call.session.flush()
        changed = {key: value for key, value in _changes(device).items() if before[key] != value}
        if changed:
            call.log(device, "boxoffice.organizer.device.changed", changed)
        return serialize_device(call, device)

    return await in_call(request, work)


# --- gates -------------------------------------------------------------------------------------------------------
# pretix manages gates only in its back office; this resource follows the dialect of the organizer API.

GATES = "/api/v1/organizers/{organizer:str}/gates/"
GATE = GATES + "{id:int}/"


class GateOut(msgspec.Struct):
    id: int
    name: str
    identifier: str


class GateIn(msgspec.Struct, forbid_unknown_fields=False):
    name: str | msgspec.UnsetType = msgspec.UNSET
    identifier: str | msgspec.UnsetType = msgspec.UNSET


def serialize_gate(gate: Gate) -> GateOut:
    return GateOut(id=gate.id, name=gate.name, identifier=gate.identifier)


def _gate(call: Call, organizer: str, gate_id: int, permission: str) -> Gate:
    owner = call.organizer(organizer, permission)
    return call.get(Gate, gate_id, organizer_id=owner.id)


def _gate_values(call: Call, organizer: Organizer, gate: Gate | None, raw: bytes) -> dict[str, Any]:
    values = sent_fields(decode_body(raw, GateIn))
    errors: dict[str, list[str]] = {}
    for field in ("name", "identifier"):
        if field in values:
            problem = text_problem(str(values[field]), NAME_MAX)
            if problem:
                errors[field] = [problem]
        elif gate is None:
            errors[field] = ["This field is required."]
    if "identifier" in values and "identifier" not in errors:
        taken = call.session.scalar(
            select(Gate.id).where(
                Gate.organizer_id == organizer.id,
                Gate.identifier == values["identifier"],
                Gate.id != (gate.id if gate is not None else -1),
            )
        )
        if taken is not None:
            errors["identifier"] = ["A gate with this identifier already exists."]
    if errors:
        raise FieldErrors(errors)
    return values


@get(GATES, tags=["devices"])
async def list_gates(request: Request, organizer: FromPath[str]) -> Response[Page[GateOut]]:
    """The organizer's gates (entrances), by id; ``ordering`` by ``id``, ``name`` or ``identifier``."""

    def work(call: Call) -> Page[GateOut]:
        owner = call.organizer(organizer, READ)
        return call.paginate(
            select(Gate).where(Gate.organizer_id == owner.id),
            serialize_gate,
            ordering={"id": Gate.id, "name": Gate.name, "identifier": Gate.identifier},
            default_ordering=[Gate.id],
        )

    return await in_call(request, work)


@get(GATE, tags=["devices"])
async def get_gate(request: Request, organizer: FromPath[str], id: FromPath[int]) -> Response[GateOut]:
    """One gate."""
    return await in_call(request, lambda call: serialize_gate(_gate(call, organizer, id, READ)))


@post(GATES, tags=["devices"], status_code=201)
async def create_gate(request: Request, organizer: FromPath[str]) -> Response[GateOut]:
    """Create a gate: ``name`` and ``identifier`` (unique within the organizer)."""
    raw = await request.body()

    def work(call: Call) -> GateOut:
        owner = call.organizer(organizer, WRITE)
        values = _gate_values(call, owner, None, raw)
        gate = Gate(organizer_id=owner.id, **values)
        call.session.add(gate)
        call.session.flush()
        call.log(gate, "boxoffice.organizer.gate.added", values)
        return serialize_gate(gate)

    return await in_call(request, work, status_code=201)


@patch(GATE, tags=["devices"])
async def update_gate(request: Request, organizer: FromPath[str], id: FromPath[int]) -> Response[GateOut]:
    """Rename a gate or change its identifier."""
    raw = await request.body()

    def work(call: Call) -> GateOut:
        gate = _gate(call, organizer, id, WRITE)
        owner = call.organizer(organizer, WRITE)
        values = _gate_values(call, owner, gate, raw)
        changed = {key: value for key, value in values.items() if getattr(gate, key) != value}
        for key, value in changed.items():
            setattr(gate, key, value)
        if changed:
            call.session.flush()
            call.log(gate, "boxoffice.organizer.gate.changed", changed)
        return serialize_gate(gate)

    return await in_call(request, work)


@delete(GATE, tags=["devices"], status_code=204)
async def delete_gate(request: Request, organizer: FromPath[str], id: FromPath[int]) -> Response[None]:
    """Delete a gate: its devices are then assigned to no gate, and check-in lists no longer name it (a list
    whose only gate it was is then used at every gate). Past check-ins keep the gate's id."""

    def work(call: Call) -> None:
        gate = _gate(call, organizer, id, WRITE)
        call.log(gate, "boxoffice.organizer.gate.deleted", {"id": gate.id, "name": gate.name})
        call.session.delete(gate)

    return await in_call(request, work, status_code=204)


ROUTES = [
    list_devices,
    get_device,
    create_device,
    update_device,
    list_gates,
    get_gate,
    create_gate,
    update_gate,
    delete_gate,
]

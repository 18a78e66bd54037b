"""Organizers and organizer settings."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, patch
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from boxoffice.apps.api.errors import FieldErrors
from boxoffice.apps.api.settings_api import read_settings, write_settings
from boxoffice.apps.api.toolkit import Call, Page, in_call, sent_fields
from boxoffice.kernel.activation import set_plugins
from boxoffice.kernel.models import Organizer
from boxoffice.kernel.plugins import PluginError


class OrganizerOut(msgspec.Struct):
    name: str
    slug: str
    public_url: str
    plugins: list[str]


class OrganizerPatch(msgspec.Struct):
    plugins: list[str] | msgspec.UnsetType = msgspec.UNSET


def serialize(call: Call, organizer: Organizer) -> OrganizerOut:
    base = call.kernel.config.site_url.rstrip("/")
    return OrganizerOut(organizer.name, organizer.slug, f"{base}/{organizer.slug}/", list(organizer.plugins or []))


@get("/api/v1/organizers/", tags=["organizers"])
async def list_organizers(request: Request) -> Response[Page[OrganizerOut]]:
    """Organizers the credentials can access (a token or device belongs to exactly one)."""

    def work(call: Call) -> Page[OrganizerOut]:
        statement = select(Organizer).where(Organizer.id == call.principal.organizer_id)
        return call.paginate(
            statement,
            lambda organizer: serialize(call, organizer),
            ordering={"slug": Organizer.slug, "name": Organizer.name},
            default_ordering=[Organizer.slug],
        )

    return await in_call(request, work)


@get("/api/v1/organizers/{organizer:str}/", tags=["organizers"])
async def get_organizer(request: Request, organizer: FromPath[str]) -> Response[OrganizerOut]:
    return await in_call(request, lambda call: serialize(call, call.organizer(organizer)))


@patch("/api/v1/organizers/{organizer:str}/", tags=["organizers"])
async def patch_organizer(
    request: Request, organizer: FromPath[str], data: JSONBody[OrganizerPatch]
) -> Response[OrganizerOut]:
    """Only ``plugins`` is writable: enables/disables organizer-level plugins."""

    def work(call: Call) -> OrganizerOut:
        target = call.organizer(organizer, "organizer.settings.general:write")
        changes = sent_fields(data)
        if "plugins" in changes:
            try:
                set_plugins(call.kernel, call.session, target, changes["plugins"], actor=call.principal.actor)
            except PluginError as error:
                raise FieldErrors.single("plugins", str(error)) from None
        return serialize(call, target)

    return await in_call(request, work)


@get("/api/v1/organizers/{organizer:str}/settings/", tags=["organizers"])
async def get_organizer_settings(request: Request, organizer: FromPath[str]) -> Response[dict[str, Any]]:
    """Organizer-level settings; ``?explain=true`` adds label and help text per key."""

    def work(call: Call) -> dict[str, Any]:
        return read_settings(call, call.settings(organizer=call.organizer(organizer)))

    return await in_call(request, work)


@patch("/api/v1/organizers/{organizer:str}/settings/", tags=["organizers"])
async def patch_organizer_settings(
    request: Request, organizer: FromPath[str], data: JSONBody[dict[str, Any]]
) -> Response[dict[str, Any]]:
    """Change organizer settings; ``null`` resets a key to its inherited value."""

    def work(call: Call) -> dict[str, Any]:
        target = call.organizer(organizer, "organizer.settings.general:write")
        settings = call.settings(organizer=target)
        write_settings(call, settings, data, target)
        return read_settings(call, settings)

    return await in_call(request, work)


ROUTES = [list_organizers, get_organizer, patch_organizer, get_organizer_settings, patch_organizer_settings]

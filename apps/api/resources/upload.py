"""File upload: ``POST /api/v1/upload`` takes raw bytes and answers with ``file:<uuid>``, which the same
credentials can put into file fields (e.g. an item's ``picture``) for 24 hours.

Resources accepting such references resolve them with :func:`find_upload` and the request's
:func:`~boxoffice.apps.api.auth.credentials_key`.
"""

from __future__ import annotations

import re
import uuid
from email.message import Message

import msgspec
from litestar import Request, Response, post
from sqlalchemy.orm import Session

from boxoffice.apps.api.auth import credentials_key
from boxoffice.apps.api.errors import ApiError
from boxoffice.apps.api.toolkit import Call, in_call
from boxoffice.kernel import clock
from boxoffice.kernel.models.api_state import UPLOAD_LIFETIME, UploadedFile

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREFIX = "file:"
FILENAME_MAX = 255
CONTENT_TYPE_MAX = 255
MEDIA_TYPE = re.compile(r"^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$")
TOO_LARGE = f"The uploaded file is too large, the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB."


class UploadOut(msgspec.Struct):
    id: str


def find_upload(session: Session, reference: str, credentials: str) -> UploadedFile | None:
    """The file behind a ``file:<uuid>`` reference if it was uploaded with the same credentials less than 24 hours
    ago; None for anything else (malformed, unknown, foreign or expired)."""
    if not reference.startswith(PREFIX):
        return None
    try:
        file_id = str(uuid.UUID(reference.removeprefix(PREFIX)))
    except ValueError:
        return None
    upload = session.get(UploadedFile, file_id)
    if upload is None or upload.credentials != credentials or upload.created < clock.now() - UPLOAD_LIFETIME:
        return None
    return upload


def _filename(disposition: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*`` per RFC 5987 included), without any path."""
    if not disposition:
        return None
    message = Message()
    message["content-disposition"] = disposition
    name = message.get_filename()
    if not name:
        return None
    name = re.split(r"[/\\]", str(name))[-1].replace("\x00", "").strip()
    if not name or name in (".", ".."):
        return None
    if len(name) > FILENAME_MAX:
        _, dot, extension = name.rpartition(".")
        keep = extension if dot and len(extension) < 20 else ""
        name = name[: FILENAME_MAX - len(keep) - 1] + "." + keep if keep else name[:FILENAME_MAX]
    return name


def _content_type(header: str | None) -> str:
    value = (header or "").strip()
    media_type = value.split(";", 1)[0].strip()
    if not media_type or not MEDIA_TYPE.match(media_type):
        raise ApiError(400, "A Content-Type header with the file's media type is required.")
    if len(value) > CONTENT_TYPE_MAX or "\x00" in value:
        raise ApiError(400, "The Content-Type header is too long.")
    return value


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise ApiError(413, TOO_LARGE)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPLOAD_BYTES:
            raise ApiError(413, TOO_LARGE)
    return bytes(body)


@post("/api/v1/upload", tags=["upload"], status_code=201, request_max_body_size=None)
async def upload_file(request: Request) -> Response[UploadOut]:
    """Store the raw request body as a file. ``Content-Type`` (the file's media type) and ``Content-Disposition``
    with a ``filename`` are required; at most 20 MiB. Answers ``{"id": "file:<uuid>"}``, usable for 24 hours by
    the same credentials."""
    # Credentials first, so that nobody gets to send us 20 MiB without them.
    await in_call(request, lambda call: None)
    content_type = _content_type(request.headers.get("content-type"))
    filename = _filename(request.headers.get("content-disposition"))
    if filename is None:
        raise ApiError(400, "A Content-Disposition header with a filename is required.")
    content = await _read_body(request)
    if not content:
        raise ApiError(400, "The submitted file is empty.")
    credentials = credentials_key(request.headers.get("authorization"), request.headers.get("cookie"))

    def work(call: Call) -> UploadOut:
        upload = UploadedFile(
            id=str(uuid.uuid4()),
            credentials=credentials,
            filename=filename,
            content_type=content_type,
            content=content,
        )
        call.session.add(upload)
        return UploadOut(id=PREFIX + upload.id)

    return await in_call(request, work, status_code=201)


ROUTES = [upload_file]

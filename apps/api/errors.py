"""Errors in pretix's shape: ``{"detail": "…"}`` for client errors, ``{"field": ["message", …]}`` for invalid input
(nested like the input: ``{"variations": [{}, {"price": ["…"]}]}``), never a stack trace."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from boxoffice.hookspecs.providers import ValidationFailure
from boxoffice.kernel.i18n import get_locale
from boxoffice.kernel.jobs import JobError
from boxoffice.kernel.orders.errors import LockTimeout, OrderError, insert_error
from boxoffice.kernel.plugins import PluginError
from boxoffice.kernel.settings import SettingsError

logger = logging.getLogger(__name__)

NON_FIELD = "non_field_errors"


class ApiError(Exception):
    """A client error with a status code and a ``detail`` message (403, 404, 409 …)."""

    def __init__(self, status_code: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}


class FieldErrors(Exception):
    """Invalid input: 400 with ``{field: [messages]}`` (values may nest for nested input)."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors

    @classmethod
    def single(cls, field: str, message: str) -> FieldErrors:
        return cls({field: [message]})


class Problems:
    """Collects field errors so that one response names every problem (values may nest, like the input)."""

    def __init__(self) -> None:
        self.errors: dict[str, Any] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def forbidden() -> ApiError:
    return ApiError(403, "You do not have permission to perform this action.")


def not_found() -> ApiError:
    return ApiError(404, "Not found.")


# msgspec's wording → the messages pretix clients know.
_MESSAGES = [
    (re.compile(r"^Expected `int`"), "A valid integer is required."),
    (re.compile(r"^Expected `(float|decimal)`|^Invalid decimal"), "A valid number is required."),
    (re.compile(r"^Expected `bool`"), "Must be a valid boolean."),
    (re.compile(r"^Expected `str`"), "Not a valid string."),
    (re.compile(r"^Expected `array`"), "Expected a list of items."),
    (re.compile(r"^Expected `object`"), "Expected a dictionary of items."),
    (re.compile(r"^Expected `datetime`|^Invalid RFC3339"), "Datetime has wrong format. Use ISO 8601."),
    (re.compile(r"^Expected `date`"), "Date has wrong format. Use YYYY-MM-DD."),
    (re.compile(r"^Expected `null`"), "This field may not be null."),
]
_MISSING = re.compile(r"Object missing required field `([^`]+)`")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+|\.\.\.)\]")


def friendly(message: str) -> str:
    for pattern, replacement in _MESSAGES:
        if pattern.search(message):
            return replacement
    return message


def errors_from_validation(extra: Any) -> dict[str, Any]:
    """Turn Litestar/msgspec validation problems (``key`` like ``variations[0].price``) into nested field errors."""
    tree: dict[str, Any] = {}
    for problem in extra if isinstance(extra, list) else []:
        if not isinstance(problem, dict):
            tree.setdefault(NON_FIELD, []).append(str(problem))
            continue
        message = str(problem.get("message", ""))
        key = str(problem.get("key") or "")
        path: list[str | int] = []
        for name, index in _PATH_PART.findall(key):
            if name:
                path.append(name)
            elif index.isdigit():
                path.append(int(index))
        if path and path[0] == "data":
            path = path[1:]
        if not path and message == "'data'":
            # Litestar's wording for a request without a body.
            message = "No data provided."
        missing = _MISSING.search(message)
        if missing:
            path.append(missing.group(1))
            message = "This field is required."
        if not path or problem.get("source") not in (None, "body"):
            # Query and path parameters are named by the key itself.
            path = [key or NON_FIELD] if problem.get("source") not in (None, "body") else [NON_FIELD]
        insert_error(tree, path, friendly(message))
    return tree


def _translate(request: Request, text: str) -> str:
    return request.app.state.kernel.i18n.gettext(text, get_locale())


def _field_errors(_request: Request, error: FieldErrors) -> Response[dict[str, Any]]:
    return Response(error.errors, status_code=400, media_type=MediaType.JSON)


def _validation_error(_request: Request, error: ValidationException) -> Response[dict[str, Any]]:
    body = errors_from_validation(error.extra) or {"detail": "Invalid input."}
    return Response(body, status_code=400, media_type=MediaType.JSON)


def _api_error(request: Request, error: ApiError) -> Response[dict[str, Any]]:
    return Response({"detail": _translate(request, error.detail)}, status_code=error.status_code, headers=error.headers)


# Litestar's own wording for router errors, mapped onto what pretix clients see.
_ROUTER_DETAILS = {"Not Found": "Not found."}


def _http_error(request: Request, error: HTTPException) -> Response[dict[str, Any]]:
    detail = _ROUTER_DETAILS.get(error.detail, error.detail)
    if error.status_code == 405:
        detail = f'Method "{request.method}" not allowed.'
    return Response({"detail": _translate(request, detail)}, status_code=error.status_code, headers=error.headers)


def _internal_error(request: Request, error: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return Response({"detail": "Internal server error."}, status_code=HTTP_500_INTERNAL_SERVER_ERROR)


def _validation_failure(_request: Request, error: ValidationFailure) -> Response[dict[str, Any]]:
    """A plugin validator or provider refused the input."""
    return Response({error.field or NON_FIELD: [error.message]}, status_code=400, media_type=MediaType.JSON)


def _settings_error(_request: Request, error: SettingsError) -> Response[dict[str, Any]]:
    return Response({error.key: [error.message]}, status_code=400, media_type=MediaType.JSON)


def _kernel_refusal(request: Request, error: Exception) -> Response[dict[str, Any]]:
    return Response({"detail": _translate(request, str(error))}, status_code=400, media_type=MediaType.JSON)


def _order_error(_request: Request, error: OrderError) -> Response[dict[str, Any]]:
    return Response(error.body(), status_code=409 if isinstance(error, LockTimeout) else 400, media_type=MediaType.JSON)


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    OrderError: _order_error,
    ValidationFailure: _validation_failure,
    SettingsError: _settings_error,
    PluginError: _kernel_refusal,
    JobError: _kernel_refusal,
    FieldErrors: _field_errors,
    ApiError: _api_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}
